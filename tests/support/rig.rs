//! Real servers for integration tests: Postfix (SMTP), Dovecot (IMAP) and PostgreSQL 15 on
//! 127.0.0.1, started by `scripts/rig` in a throwaway directory under /tmp.
//!
//! Use from a test binary (`tests/foo.rs`), through the shared support module:
//!
//! ```ignore
//! mod support;
//! use support::rig;
//!
//! #[test]
//! fn sends_mail() {
//!     let rig = rig::Rig::shared();          // starts the rig on first use (~2-3 s)
//!     let db = rig.fresh_pg_url();           // a new, empty database
//!     // SMTP 127.0.0.1:rig.smtp_port, IMAP 127.0.0.1:rig.imap_port, users alice@example.test ...
//! }
//! ```
//!
//! * One rig per test binary, shared by all its tests, started lazily.  It is a child process
//!   (`scripts/rig serve DIR --parent <our pid> --rm`): when this process exits or dies, the
//!   rig notices (EOF on its stdin, or the PID check every 0.5 s), stops every server and
//!   deletes DIR, within about 2 s.  `RIG_KEEP=1` keeps DIR (configs, Maildirs, logs).
//! * The rig needs root and the Debian packages that `scripts/test` installs.  When it cannot
//!   start, this module PANICS with the reason and the log tails; it never skips a test.
//! * Mail users (domain example.test, password `<user>-secret`): alice bob carol dave erin frank grace
//!   digest updates defer bench.  `+` addressing works (`updates+TOKEN@example.test` is
//!   delivered to `updates`).  Unknown users get 550 at RCPT; other domains get 554 (nothing
//!   leaves the box); `blackhole.test` accepts anything and discards it.
//! * TLS: SMTPS/IMAPS (implicit TLS) and STARTTLS use a per-rig CA at `ca_pem`; the
//!   certificate is valid for `localhost`, `mail.example.test` and `127.0.0.1`.
//! * PostgreSQL: user `postgres`, no password (trust), only on 127.0.0.1.
//!
//! Uses only std; runs the `scripts/rig` and `psql` binaries.
#![allow(dead_code)]

use std::collections::HashMap;
use std::fs;
use std::hash::{BuildHasher, Hasher};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// `scripts/rig`, found at compile time (the crate root of the package under test).
const RIG_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/rig");
const START_TIMEOUT: Duration = Duration::from_secs(60);
const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

const HOW_TO_FIX: &str = "How to fix: run the tests as root with `scripts/test` (it installs \
postfix, dovecot, postgresql-15 etc. when missing, via `scripts/rig install`, then runs \
`cargo test`). The rig binds 127.0.0.1 only and stops itself when the test binary exits.";

/// A running rig (all servers of one test binary).
pub struct Rig {
    /// The rig directory (configs, `log/`, `mail/`, `pg/`, `tls/`); deleted after the test
    /// binary exits unless `RIG_KEEP=1`.
    pub dir: PathBuf,
    /// SMTP, plaintext with optional STARTTLS; AUTH PLAIN/LOGIN is offered but not required.
    pub smtp_port: u16,
    /// SMTP with implicit TLS.
    pub smtps_port: u16,
    /// IMAP, plaintext (LOGIN allowed) with optional STARTTLS.
    pub imap_port: u16,
    /// IMAP with implicit TLS.
    pub imaps_port: u16,
    /// PostgreSQL 15, user `postgres`, trust auth.
    pub pg_port: u16,
    /// The CA that signed the servers' certificate (PEM).
    pub ca_pem: PathBuf,
    /// `DIR/mail/example.test`: Maildirs, one per user (`new/`, `cur/`, `tmp/`, `.Archive/`...).
    pub maildir_root: PathBuf,
    /// `example.test`.
    pub domain: String,
    pg_only: bool,
    /// The `scripts/rig serve` child.  Its stdin pipe must stay open as long as we live:
    /// EOF on it tells the rig that we are gone.
    serve: Mutex<Child>,
}

static SHARED: OnceLock<Result<Rig, String>> = OnceLock::new();
static PG_ONLY: OnceLock<Result<Rig, String>> = OnceLock::new();

impl Rig {
    /// The one rig of this test binary: started on first use (spawns
    /// `scripts/rig serve DIR --parent <our pid>`, waits for DIR/run.ready), shared by all
    /// tests of the binary.  Panics, with the log tails and how to fix it, when the servers
    /// cannot be started.
    pub fn shared() -> &'static Rig {
        match SHARED.get_or_init(|| start(false)) {
            Ok(rig) => rig,
            Err(e) => panic!("{e}"),
        }
    }

    /// Password of a rig mail user: `<user>-secret`.
    pub fn password(&self, user: &str) -> String {
        let user = user.split('@').next().unwrap_or(user);
        format!("{user}-secret")
    }

    /// The Maildir of `user` (`DIR/mail/example.test/<user>`); new mail lands in `new/`
    /// until an IMAP client opens the mailbox (Dovecot then moves it to `cur/`).
    pub fn maildir(&self, user: &str) -> PathBuf {
        let user = user.split('@').next().unwrap_or(user);
        self.maildir_root.join(user)
    }

    /// `user@example.test`.
    pub fn address(&self, user: &str) -> String {
        format!("{user}@{}", self.domain)
    }

    /// A fresh, empty PostgreSQL database (`CREATE DATABASE t_<random>`) as a `postgres://`
    /// URL.  With `TEST_DATABASE_URL` set, the database is created on that server instead.
    pub fn fresh_pg_url(&self) -> String {
        match test_database_url() {
            Some(url) => create_database(&url),
            None => create_database(&self.pg_admin_url()),
        }
    }

    /// `postgres://postgres@127.0.0.1:<pg_port>/postgres` (this rig's server).
    pub fn pg_admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.pg_port)
    }

    /// Make Postfix answer RCPT TO `address` with `action` (a Postfix access(5) action, e.g.
    /// `"450 4.2.0 try later"` or `"550 5.1.1 no such user"`); `None` removes the entry.
    /// Effective for every SMTP session opened after this returns (`scripts/rig access`
    /// rebuilds a hash: table atomically; smtpd restarts on it before its next connection).
    /// Sessions already open keep the old answer.  `user@domain` also covers `user+tag@domain`.
    pub fn set_recipient_access(&self, address: &str, action: Option<&str>) {
        self.assert_full("set_recipient_access");
        let dir = self.dir.to_string_lossy().into_owned();
        let mut args = vec!["access", dir.as_str(), address];
        if let Some(a) = action {
            args.push(a);
        }
        run_rig(&args);
    }

    /// Stop Postfix (an SMTP outage): when this returns, the SMTP ports refuse connections.
    /// Dovecot and PostgreSQL keep running.
    pub fn stop_postfix(&self) {
        self.assert_full("stop_postfix");
        run_rig(&["postfix-stop", &self.dir.to_string_lossy()]);
    }

    /// Start Postfix again after [`Rig::stop_postfix`]; returns once it greets with 220.
    /// Mail queued before the outage is still delivered.
    pub fn start_postfix(&self) {
        self.assert_full("start_postfix");
        run_rig(&["postfix-start", &self.dir.to_string_lossy()]);
    }

    fn assert_full(&self, what: &str) {
        assert!(
            !self.pg_only,
            "rig: {what} needs Rig::shared(), not the PostgreSQL-only rig"
        );
    }
}

/// A fresh, empty PostgreSQL database for store tests, without the mail servers: on
/// `TEST_DATABASE_URL` if set, else on a PostgreSQL-only rig started once per test binary.
pub fn fresh_pg_url() -> String {
    if let Some(url) = test_database_url() {
        return create_database(&url);
    }
    match PG_ONLY.get_or_init(|| start(true)) {
        Ok(rig) => create_database(&rig.pg_admin_url()),
        Err(e) => panic!("{e}"),
    }
}

// ------------------------------------------------------------------------------------------

/// `TEST_DATABASE_URL`, if set and not empty.
fn test_database_url() -> Option<String> {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .map(|u| u.trim().to_string())
        .filter(|u| !u.is_empty())
}

fn start(pg_only: bool) -> Result<Rig, String> {
    let what = if pg_only {
        "PostgreSQL-only test rig"
    } else {
        "test mail rig (Postfix, Dovecot, PostgreSQL)"
    };
    preflight(pg_only)
        .map_err(|e| format!("\n\nrig: cannot start the {what}: {e}\n\n{HOW_TO_FIX}\n"))?;

    let out = Command::new("mktemp")
        .args(["-d", "-p", "/tmp", "tidings-rig.XXXXXXXX"])
        .output()
        .map_err(|e| format!("rig: mktemp: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "rig: mktemp -d failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("rig: chmod {}: {e}", dir.display()))?;

    let log_path = dir.join("serve.log");
    let log =
        fs::File::create(&log_path).map_err(|e| format!("rig: {}: {e}", log_path.display()))?;
    let log2 = log.try_clone().map_err(|e| format!("rig: {e}"))?;
    let keep = std::env::var("RIG_KEEP").is_ok_and(|v| !v.is_empty() && v != "0");
    let mut cmd = Command::new(RIG_SCRIPT);
    cmd.arg("serve").arg(&dir);
    if pg_only {
        cmd.arg("--pg-only");
    }
    cmd.arg("--parent").arg(std::process::id().to_string());
    if !keep {
        cmd.arg("--rm");
    }
    cmd.stdin(Stdio::piped()).stdout(log).stderr(log2);
    let t0 = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("\n\nrig: cannot run {RIG_SCRIPT}: {e}\n\n{HOW_TO_FIX}\n"))?;

    let failure = loop {
        if dir.join("run.ready").exists() {
            break None;
        }
        if dir.join("run.failed").exists() {
            break Some("the rig reported a failure (run.failed)".to_string());
        }
        if let Ok(Some(status)) = child.try_wait() {
            break Some(format!("`scripts/rig serve` exited early ({status})"));
        }
        if t0.elapsed() > START_TIMEOUT {
            break Some(format!("not ready after {} s", START_TIMEOUT.as_secs()));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    if let Some(why) = failure {
        let mut msg = format!(
            "\n\nrig: the {what} did not start in {}: {why}\n",
            dir.display()
        );
        for f in [
            "serve.log",
            "log/dovecot.log",
            "log/postfix.log",
            "log/pg.log",
            "log/initdb.log",
        ] {
            let tail = tail(&dir.join(f), 25);
            if !tail.is_empty() {
                msg.push_str(&format!("\n--- {f} (last lines) ---\n{tail}"));
            }
        }
        msg.push_str(&format!("\n{HOW_TO_FIX}\n"));
        // closing its stdin makes the rig stop whatever did start (and remove DIR unless
        // RIG_KEEP); if it died before that (bad setup), clean up here
        drop(child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(20);
        while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        if keep {
            msg.push_str(&format!("(RIG_KEEP is set: {} is kept)\n", dir.display()));
        } else if matches!(child.try_wait(), Ok(Some(_))) {
            let _ = fs::remove_dir_all(&dir);
        }
        return Err(msg);
    }

    let env = read_env(&dir.join("rig.env")).map_err(|e| format!("rig: {e}"))?;
    let port = |k: &str| -> Result<u16, String> {
        env.get(k)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("rig: {k} missing in rig.env"))
    };
    let domain = env
        .get("DOMAIN")
        .cloned()
        .unwrap_or_else(|| "example.test".into());
    let rig = Rig {
        smtp_port: port("SMTP_PORT")?,
        smtps_port: port("SMTPS_PORT")?,
        imap_port: port("IMAP_PORT")?,
        imaps_port: port("IMAPS_PORT")?,
        pg_port: port("PG_PORT")?,
        ca_pem: dir.join("tls/ca.pem"),
        maildir_root: dir.join("mail").join(&domain),
        domain,
        pg_only,
        dir,
        serve: Mutex::new(child),
    };
    eprintln!(
        "rig: {} in {:.1} s: {} (SMTP {} SMTPS {} IMAP {} IMAPS {} PG {})",
        if pg_only {
            "PostgreSQL-only rig up"
        } else {
            "mail rig up"
        },
        t0.elapsed().as_secs_f64(),
        rig.dir.display(),
        rig.smtp_port,
        rig.smtps_port,
        rig.imap_port,
        rig.imaps_port,
        rig.pg_port
    );
    Ok(rig)
}

fn preflight(pg_only: bool) -> Result<(), String> {
    if !is_root() {
        return Err(
            "it needs root (Postfix and Dovecot masters start as root and drop privileges; \
                    PostgreSQL runs as the 'mailrig' user), and this test runs as a normal user."
                .into(),
        );
    }
    let mut missing = Vec::new();
    if !Path::new(RIG_SCRIPT).exists() {
        missing.push(RIG_SCRIPT.to_string());
    }
    let mut need = vec![
        format!("{PG_BIN}/pg_ctl"),
        "/usr/bin/psql".to_string(),
        "/usr/bin/python3".to_string(),
    ];
    if !pg_only {
        need.push("/usr/sbin/postfix".into());
        need.push("/usr/sbin/dovecot".into());
    }
    for p in need {
        if !Path::new(&p).exists() {
            missing.push(p);
        }
    }
    if !missing.is_empty() {
        return Err(format!("missing: {}", missing.join(", ")));
    }
    Ok(())
}

fn is_root() -> bool {
    // "Uid:\t<real>\t<effective>\t..." - no libc needed
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

/// Runs `scripts/rig ARGS...`; panics with its output if it fails.
fn run_rig(args: &[&str]) {
    let out = Command::new(RIG_SCRIPT)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("rig: cannot run {RIG_SCRIPT}: {e}"));
    if !out.status.success() {
        panic!(
            "rig: `scripts/rig {}` failed ({}):\n{}{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// CREATE DATABASE t_<random> on the server of `admin_url` (a database we may connect to);
/// returns the URL of the new database.
fn create_database(admin_url: &str) -> String {
    let name = format!("t_{:016x}", random_u64());
    let mut last = String::new();
    for attempt in 0..3 {
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(300));
        }
        let out = Command::new("psql")
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", admin_url, "-c"])
            .arg(format!("CREATE DATABASE {name}"))
            .env("PGCONNECT_TIMEOUT", "10")
            .stdin(Stdio::null())
            .output();
        match out {
            Ok(o) if o.status.success() => return with_database(admin_url, &name),
            Ok(o) => {
                last = format!(
                    "{}: {}",
                    o.status,
                    String::from_utf8_lossy(&o.stderr).trim()
                )
            }
            Err(e) => {
                panic!(
                    "rig: cannot run psql ({e}); install postgresql-client-15 (`scripts/test` as root does)"
                )
            }
        }
    }
    panic!(
        "rig: CREATE DATABASE {name} via {} failed: {last}",
        redact(admin_url)
    )
}

/// `url` with its database (path) replaced by `db`; the query string is kept.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.find('?') {
        Some(i) => (&url[..i], &url[i..]),
        None => (url, ""),
    };
    let host_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[host_start..].find('/') {
        Some(j) => &base[..host_start + j],
        None => base,
    };
    format!("{base}/{db}{query}")
}

fn redact(url: &str) -> String {
    // postgres://user:password@host -> postgres://user:***@host
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let auth = &url[s + 3..at];
            match auth.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &auth[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u32(std::process::id());
    h.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

fn read_env(path: &Path) -> Result<HashMap<String, String>, String> {
    let f = fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut map = HashMap::new();
    for line in BufReader::new(f).lines() {
        let line = line.map_err(|e| e.to_string())?;
        if let Some((k, v)) = line.split_once('=') {
            map.insert(
                k.trim().to_string(),
                v.trim().trim_matches('\'').to_string(),
            );
        }
    }
    Ok(map)
}

fn tail(path: &Path, lines: usize) -> String {
    let mut s = String::new();
    if let Ok(mut f) = fs::File::open(path) {
        let _ = f.read_to_string(&mut s);
    }
    let all: Vec<&str> = s.lines().collect();
    let from = all.len().saturating_sub(lines);
    all[from..].iter().map(|l| format!("{l}\n")).collect()
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn with_database_replaces_the_path() {
        assert_eq!(
            with_database("postgres://u@h:5/postgres", "t_1"),
            "postgres://u@h:5/t_1"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "t_1"),
            "postgres://u:p@h/t_1?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h:5", "t_1"), "postgres://h:5/t_1");
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
    }
}
