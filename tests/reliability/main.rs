//! Crash safety and several instances, with the real binary and real servers (the rig's
//! Postfix, Dovecot and PostgreSQL; Postfix's `smtp-sink`, which keeps every message it
//! accepts as a file of its own): `tidings serve` killed with SIGKILL again and again while
//! mail is due loses nothing and repeats at most one email per SMTP session per kill, each
//! repeat byte-identical (one per kill with `mail.smtp.unrecorded_max = 1`); three `serve` on
//! one PostgreSQL send each member exactly one digest; a server that stalls after the end of
//! data gets no immediate resend; a poll killed mid-way loses no reply and stores none twice;
//! PostgreSQL restarted under load is survived without a restart of `serve`; a full disk and a
//! read-only database stop work with a clear error and leave the data intact. Each test
//! prints its counts (`lost`, `duplicates`).
//!
//! `sending`: the outbox under crashes and several instances; `replies`: the inbound side;
//! `database`: the database going away, read-only or full.

#[path = "../support/mod.rs"]
mod support;

mod database;
mod replies;
mod sending;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use sqlx::AssertSqlSafe;
use support::{Serve, closed_port, rig, serve};
use tidings::domain::token::{ReplyToken, Secret};
use tidings::store::{Backend, Store};

const BIN: &str = env!("CARGO_BIN_EXE_tidings");
const SECRET: &str = "reliability-test-secret-0123456789";
/// SMTP sessions: the most emails accepted by the server and not yet recorded at a kill.
const CONCURRENCY: usize = 10;

/// Tests that restart the rig's PostgreSQL or load it heavily take this, so they do not break
/// each other (the rig is shared by every test of this binary).
static PG: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A small pseudo-random sequence (xorshift), seeded from the clock and printed, so a failing
/// run can be repeated with RELIABILITY_SEED.
struct Rng(u64);
impl Rng {
    fn new() -> Rng {
        let seed = std::env::var("RELIABILITY_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| Utc::now().timestamp_micros() as u64 | 1);
        eprintln!("RELIABILITY_SEED={seed}");
        Rng(seed)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// A config for `serve` on `db`, sending through the rig's Postfix and reading replies from
/// the rig mailbox `imap_user` (each test its own, so their pollers never take each other's
/// mail).
fn write_config(dir: &Path, db: &str, rig: &rig::Rig, imap_user: &str) -> PathBuf {
    let path = dir.join("tidings.toml");
    let toml = format!(
        r#"[database]
url = "{db}"
max_connections = 8

[web]
bind = "127.0.0.1:0"
base_url = "https://tidings.example.test"

[mail]
transport = "smtp"
from = "Tidings <tidings@example.test>"
reply_to = "updates@example.test"

[mail.smtp]
host = "127.0.0.1"
port = {smtp}
security = "none"
concurrency = {CONCURRENCY}
pool_size = {CONCURRENCY}
unrecorded_max = 0
timeout_secs = 5
# A killed worker's claims come back after 6 s instead of 5 minutes.
lease_secs = 6

[mail.imap]
host = "127.0.0.1"
port = {imap}
security = "none"
username = "{imap_user}@example.test"
password = "{imap_password}"
poll_interval_secs = 1

[schedule]
tick_seconds = 1

[security]
secret = "{SECRET}"
"#,
        smtp = rig.smtp_port,
        imap = rig.imap_port,
        imap_password = rig.password(imap_user),
    );
    std::fs::write(&path, toml).expect("config written");
    path
}

/// SIGKILL, as a crash: the drop kills and reaps the process.
fn kill9(c: Serve) {
    drop(c);
}

fn sigterm(c: &mut Serve) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(c.0.id().to_string())
        .status();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = c.0.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("serve did not stop within 60 s of SIGTERM");
}

async fn store(db: &str) -> Store {
    let s = Store::connect(db, 4).await.expect("database");
    s.migrate().await.expect("migrations");
    s
}

/// Inserts `n` members `<mailbox>+m<i>@example.test` in teams of `team_size`, all in UTC on
/// every weekday, and makes `kind` ("request" or "digest") due now for today.
async fn seed(s: &Store, n: i64, team_size: i64, mailbox: &str, kind: &str) {
    let ts = Utc::now().timestamp();
    let today = Utc::now().date_naive();
    let far = ts + 30 * 86_400;
    let series = match s.backend() {
        Backend::Sqlite => format!(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {n}) SELECT x FROM c"
        ),
        Backend::Postgres => format!("SELECT x FROM generate_series(1, {n}) AS x"),
    };
    let f = if s.backend() == Backend::Postgres {
        "FALSE"
    } else {
        "0"
    };
    let (req, dig) = if kind == "request" {
        (ts - 60, far)
    } else {
        (far, ts - 60)
    };
    let teams = (n + team_size - 1) / team_size;
    let team_series = series.replace(&n.to_string(), &teams.to_string());
    for sql in [
        format!("INSERT INTO teams (name, created_at) SELECT 'team' || x, {ts} FROM ({team_series}) s"),
        format!(
            "INSERT INTO members (email, name, timezone, request_at, digest_at, workdays, paused, unsubscribed,
               next_request_at, next_request_date, next_digest_at, next_digest_date, created_at, updated_at)
             SELECT '{mailbox}+m' || x || '@example.test', 'Member ' || x, 'UTC', '16:30', '08:30', 127, {f}, {f},
               {req}, '{today}', {dig}, '{today}', {ts}, {ts} FROM ({series}) s"
        ),
        format!(
            "INSERT INTO team_members (team_id, member_id)
             SELECT t.id, m.id FROM members m JOIN teams t ON t.name = 'team' || ((m.id - 1) / {team_size} + 1)"
        ),
        format!(
            "INSERT INTO updates (member_id, local_date, body, source, revision, created_at, updated_at)
             SELECT x, '{}', 'Update number ' || x, 'api', 1, {ts} - 3600, {ts} - 3600 FROM ({series}) s",
            today - chrono::Duration::days(1)
        ),
        // Each update's revision as written: digests are composed from these when sent.
        "INSERT INTO update_revisions (update_id, revision, body, sections, created_at)
         SELECT id, revision, body, sections, updated_at FROM updates"
            .to_string(),
    ] {
        sqlx::query(AssertSqlSafe(sql))
            .execute(s.pool())
            .await
            .expect("seed");
    }
}

async fn outbox_open(s: &Store) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'sending')")
        .fetch_one(s.pool())
        .await
        .expect("outbox count")
}

async fn outbox_total(s: &Store, kind: &str) -> i64 {
    sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM outbox WHERE kind = '{kind}'"
    )))
    .fetch_one(s.pool())
    .await
    .expect("outbox count")
}

/// Messages of `kind` in a rig Maildir, counted per `+m<i>` recipient tag.
fn delivered(rig: &rig::Rig, mailbox: &str, kind: &str) -> HashMap<i64, usize> {
    let mut counts = HashMap::new();
    let marker = format!("X-Tidings-Kind: {kind}");
    for sub in ["new", "cur"] {
        for e in std::fs::read_dir(rig.maildir(mailbox).join(sub))
            .into_iter()
            .flatten()
            .flatten()
        {
            let Ok(raw) = std::fs::read_to_string(e.path()) else {
                continue;
            };
            let head = raw.split("\r\n\r\n").next().unwrap_or(&raw);
            let head = head.split("\n\n").next().unwrap_or(head);
            if !head.contains(&marker) {
                continue;
            }
            let tag = format!("{mailbox}+m");
            let id = head
                .lines()
                .find(|l| l.starts_with("To:"))
                .and_then(|l| l.split(&tag).nth(1))
                .and_then(|r| r.split('@').next())
                .and_then(|n| n.parse::<i64>().ok());
            if let Some(id) = id {
                *counts.entry(id).or_insert(0) += 1;
            }
        }
    }
    counts
}

/// Waits until Postfix has delivered at least `n` messages of `kind` (or 120 s passed).
fn wait_delivered(rig: &rig::Rig, mailbox: &str, kind: &str, n: usize) -> HashMap<i64, usize> {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut last = HashMap::new();
    while Instant::now() < deadline {
        last = delivered(rig, mailbox, kind);
        if last.values().sum::<usize>() >= n {
            // Let stragglers (duplicates) land too.
            std::thread::sleep(Duration::from_secs(2));
            return delivered(rig, mailbox, kind);
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    last
}

/// Waits until the outbox has nothing pending or sending, with `serve` running.
async fn wait_drained(s: &Store, expected: i64, kind: &str) {
    let deadline = Instant::now() + Duration::from_secs(180);
    while Instant::now() < deadline {
        if outbox_total(s, kind).await >= expected && outbox_open(s).await == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!(
        "outbox not drained after 180 s: {} open, {} of {expected} queued",
        outbox_open(s).await,
        outbox_total(s, kind).await
    );
}

fn report(what: &str, n: i64, counts: &HashMap<i64, usize>, kills: usize) -> (i64, usize) {
    let lost = (1..=n).filter(|i| !counts.contains_key(i)).count() as i64;
    let duplicates: usize = counts.values().map(|c| c.saturating_sub(1)).sum();
    eprintln!(
        "{what}: members {n}, kills {kills}, delivered {}, lost {lost}, duplicates {duplicates}",
        counts.values().sum::<usize>()
    );
    (lost, duplicates)
}

/// Postfix's `smtp-sink` on a loopback port, keeping every accepted message as a file of its
/// own (`-d DIR/%H%M%S.` plus a random suffix): unlike a Maildir written by our transport, a
/// resend is a second file, so duplicates can be counted. Killed when dropped.
struct Sink {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Sink {
    fn start(dir: &Path) -> Sink {
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(dir).unwrap();
        // smtp-sink drops root for `nobody`, who must be able to write there.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let port = closed_port();
        let child = Command::new("/usr/sbin/smtp-sink")
            .args(["-u", "nobody", "-d"])
            .arg(format!("{}/%H%M%S.", dir.display()))
            .arg(format!("127.0.0.1:{port}"))
            .arg("256")
            .stdin(Stdio::null())
            .spawn()
            .expect("smtp-sink (Debian postfix) starts: run scripts/test as root");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "smtp-sink listens on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Sink {
            child,
            port,
            dir: dir.to_path_buf(),
        }
    }

    /// Accepted messages of `kind`, counted per recipient (`m<i>@…` or `<box>+m<i>@…`).
    fn counts(&self, kind: &str) -> HashMap<i64, usize> {
        self.messages(kind)
            .into_iter()
            .map(|(id, m)| (id, m.len()))
            .collect()
    }

    /// Accepted messages of `kind` per recipient, each as the client sent it (what smtp-sink
    /// puts before it, its `X-…` lines and its `Received:`, taken off).
    fn messages(&self, kind: &str) -> HashMap<i64, Vec<String>> {
        let marker = format!("X-Tidings-Kind: {kind}");
        let mut found: HashMap<i64, Vec<String>> = HashMap::new();
        for e in std::fs::read_dir(&self.dir).into_iter().flatten().flatten() {
            let Ok(raw) = std::fs::read_to_string(e.path()) else {
                continue;
            };
            if !raw.contains(&marker) {
                continue;
            }
            let id = raw
                .lines()
                .find_map(|l| l.strip_prefix("X-Rcpt-Args: <"))
                .and_then(|r| r.split('@').next())
                .and_then(|local| local.rsplit('m').next())
                .and_then(|n| n.parse::<i64>().ok());
            if let Some(id) = id {
                found
                    .entry(id)
                    .or_default()
                    .push(sent_part(&raw).to_string());
            }
        }
        found
    }
}

/// A message as smtp-sink stored it, without what smtp-sink added before it: its `X-…` lines
/// and its `Received:` header (a first line and indented ones), which differ between copies.
fn sent_part(stored: &str) -> &str {
    let Some(at) = stored.find("\nReceived: ") else {
        return stored;
    };
    let mut rest = &stored[at + 1..];
    loop {
        let Some(end) = rest.find('\n') else {
            return "";
        };
        rest = &rest[end + 1..];
        if !rest.starts_with(['\t', ' ']) {
            return rest;
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
