//! Crash safety and several instances, with the real binary, Postfix and Dovecot of the rig:
//! `tidings serve` killed with SIGKILL again and again while mail is due loses nothing and
//! duplicates at most one email per kill (the sender's commit point); three `serve` on one PostgreSQL send
//! each member exactly one digest; a poll killed mid-way loses no reply and stores none twice;
//! PostgreSQL restarted under load is survived without a restart of `serve`; a full disk and a
//! read-only database stop work with a clear error and leave the data intact.
//! Each test prints its counts (`lost`, `duplicates`).

mod support;

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
/// Emails sent at once: the most that can be accepted by Postfix and not yet recorded at a kill.
const CONCURRENCY: usize = 4;

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

#[tokio::test(flavor = "multi_thread")]
async fn serve_killed_five_times_while_2000_requests_are_due_loses_nothing() {
    let rig = rig::Rig::shared();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("crash.db").display());
    let s = store(&db).await;
    let n = 2000;
    seed(&s, n, 100, "alice", "request").await;
    let cfg = write_config(dir.path(), &db, rig, "digest");
    let mut rng = Rng::new();
    let kills = 5;
    for k in 0..kills {
        let child = serve(dir.path(), &cfg);
        // Kill at a random moment: during start-up, planning or sending.
        let ms = 300 + rng.below(2500);
        tokio::time::sleep(Duration::from_millis(ms)).await;
        kill9(child);
        eprintln!(
            "kill {} after {ms} ms: {} queued, {} open",
            k + 1,
            outbox_total(&s, "request").await,
            outbox_open(&s).await
        );
    }
    let mut child = serve(dir.path(), &cfg);
    wait_drained(&s, n, "request").await;
    sigterm(&mut child);
    assert_eq!(
        outbox_total(&s, "request").await,
        n,
        "one outbox row per member"
    );
    let counts = wait_delivered(rig, "alice", "request", n as usize);
    let (lost, duplicates) = report("crash", n, &counts, kills);
    assert_eq!(lost, 0, "no member may miss their request");
    // A commit point per session: each has at most one email accepted by the server and
    // not yet recorded, so each kill repeats at most one per session.
    assert!(
        duplicates <= kills * CONCURRENCY,
        "at most one email per session may repeat per kill: {duplicates} for {kills} kills"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn three_instances_on_postgres_send_each_of_5000_digests_once() {
    let _pg = PG.lock().await;
    let rig = rig::Rig::shared();
    let dir = tempfile::tempdir().unwrap();
    let db = rig.fresh_pg_url();
    let s = store(&db).await;
    let n = 5000;
    seed(&s, n, 5, "bob", "digest").await;
    let cfg = write_config(dir.path(), &db, rig, "digest");
    let mut children: Vec<Serve> = (0..3).map(|_| serve(dir.path(), &cfg)).collect();
    wait_drained(&s, n, "digest").await;
    for c in &mut children {
        sigterm(c);
    }
    assert_eq!(
        outbox_total(&s, "digest").await,
        n,
        "one digest row per member"
    );
    let counts = wait_delivered(rig, "bob", "digest", n as usize);
    let (lost, duplicates) = report("three instances", n, &counts, 0);
    assert_eq!(lost, 0);
    assert_eq!(duplicates, 0, "no kill, so no duplicate at all");
}

/// A reply from member `<mailbox>+m<i>` to their token address `<to_box>+TOKEN`, via Postfix.
fn send_reply(rig: &rig::Rig, mailbox: &str, to_box: &str, i: i64, token: &str) {
    use std::io::{BufRead, BufReader, Write};
    let stream = std::net::TcpStream::connect(("127.0.0.1", rig.smtp_port)).expect("smtp");
    let mut r = BufReader::new(stream.try_clone().expect("clone"));
    let mut w = stream;
    let mut line = String::new();
    let mut expect = |w: &mut std::net::TcpStream, cmd: Option<String>| {
        if let Some(c) = cmd {
            w.write_all(c.as_bytes()).expect("write");
        }
        loop {
            line.clear();
            r.read_line(&mut line).expect("read");
            assert!(
                line.starts_with('2') || line.starts_with('3'),
                "SMTP said {line}"
            );
            if line.as_bytes().get(3) != Some(&b'-') {
                break;
            }
        }
    };
    expect(&mut w, None);
    expect(&mut w, Some("EHLO client.test\r\n".into()));
    expect(
        &mut w,
        Some(format!("MAIL FROM:<{mailbox}+m{i}@example.test>\r\n")),
    );
    expect(
        &mut w,
        Some(format!("RCPT TO:<{to_box}+{token}@example.test>\r\n")),
    );
    expect(&mut w, Some("DATA\r\n".into()));
    let msg = format!(
        "From: Member {i} <{mailbox}+m{i}@example.test>\r\nTo: {to_box}+{token}@example.test\r\nSubject: Re: your update\r\nMessage-ID: <crash-reply-{i}@client.test>\r\nDate: {}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nReply marker {i}: shipped it.\r\n\r\nOn Mon, 9 Mar 2026 at 16:30, Tidings <tidings@example.test> wrote:\r\n> What did you get done?\r\n.\r\n",
        Utc::now().to_rfc2822()
    );
    expect(&mut w, Some(msg));
    expect(&mut w, Some("QUIT\r\n".into()));
}

/// Sends one reply from each member `<from_box>+m1..n` to their signed token address
/// `<to_box>+TOKEN` through Postfix, and waits until all n are in `to_box`'s Maildir.
fn send_replies(rig: &rig::Rig, from_box: &str, to_box: &str, n: i64) {
    let secret = Secret::new(SECRET.as_bytes().to_vec());
    let today = Utc::now().date_naive();
    for i in 1..=n {
        let token = ReplyToken {
            member: i,
            date: today,
        }
        .encode(&secret);
        send_reply(rig, from_box, to_box, i, &token);
    }
    let count = || {
        ["new", "cur"]
            .iter()
            .map(|d| {
                std::fs::read_dir(rig.maildir(to_box).join(d))
                    .map(|r| r.count())
                    .unwrap_or(0)
            })
            .sum::<usize>()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while count() < n as usize && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        count() >= n as usize,
        "replies delivered to {to_box}'s mailbox"
    );
}

/// Replies stored as updates, and how many of them hold their reply's text more than once.
async fn stored_replies(s: &Store) -> (i64, usize) {
    let bodies: Vec<(i64, String)> =
        sqlx::query_as("SELECT member_id, body FROM updates WHERE source = 'email'")
            .fetch_all(s.pool())
            .await
            .expect("updates");
    let duplicates = bodies
        .iter()
        .map(|(i, b)| {
            b.matches(&format!("Reply marker {i}:"))
                .count()
                .saturating_sub(1)
        })
        .sum();
    (bodies.len() as i64, duplicates)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_poll_killed_mid_way_loses_no_reply_and_stores_none_twice() {
    let rig = rig::Rig::shared();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("ingest.db").display());
    let s = store(&db).await;
    let n = 300;
    // Members with nothing due, so only the poller works.
    seed(&s, n, 100, "carol", "none").await;
    send_replies(rig, "carol", "updates", n);

    let cfg = write_config(dir.path(), &db, rig, "updates");
    let mut rng = Rng::new();
    let kills = 5;
    for _ in 0..kills {
        let child = serve(dir.path(), &cfg);
        tokio::time::sleep(Duration::from_millis(400 + rng.below(1500))).await;
        kill9(child);
    }
    let mut child = serve(dir.path(), &cfg);
    let deadline = Instant::now() + Duration::from_secs(120);
    let accepted = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM updates WHERE source = 'email'")
            .fetch_one(s.pool())
            .await
            .expect("count")
    };
    while accepted().await < n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // A little longer: a duplicate would show up now.
    tokio::time::sleep(Duration::from_secs(3)).await;
    sigterm(&mut child);
    let (stored, duplicates) = stored_replies(&s).await;
    let lost = n - stored;
    let inbound: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM inbound_messages")
        .fetch_one(s.pool())
        .await
        .expect("inbound");
    eprintln!(
        "ingest crash: replies {n}, kills {kills}, stored {stored}, raw kept {inbound}, lost {lost}, duplicates {duplicates}"
    );
    assert_eq!(lost, 0, "every reply is stored");
    assert_eq!(duplicates, 0, "no reply is stored twice");
    assert_eq!(inbound, n, "each raw message kept once");
}

fn restart_postgres(rig: &rig::Rig) {
    let data = rig.dir.join("pg/data");
    let log = rig.dir.join("log/pg.log");
    let st = Command::new("runuser")
        .args([
            "-u",
            "mailrig",
            "--",
            "/usr/lib/postgresql/15/bin/pg_ctl",
            "-D",
        ])
        .arg(&data)
        .arg("-l")
        .arg(&log)
        .args(["-m", "fast", "-w", "-t", "30", "restart"])
        .stdout(Stdio::null())
        .status()
        .expect("pg_ctl runs");
    assert!(st.success(), "pg_ctl restart failed; see {}", log.display());
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_restarted_under_load_is_survived_without_restarting_serve() {
    let _pg = PG.lock().await;
    let rig = rig::Rig::shared();
    let dir = tempfile::tempdir().unwrap();
    let db = rig.fresh_pg_url();
    let s = store(&db).await;
    let n = 2000;
    seed(&s, n, 100, "erin", "request").await;
    s.close().await;
    let cfg = write_config(dir.path(), &db, rig, "digest");
    let mut child = serve(dir.path(), &cfg);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // Mid-pass: every connection of the pool is cut and refused for a moment.
    restart_postgres(rig);
    let s = store(&db).await;
    eprintln!(
        "after the restart: {} queued, {} open",
        outbox_total(&s, "request").await,
        outbox_open(&s).await
    );
    wait_drained(&s, n, "request").await;
    assert!(
        child.0.try_wait().expect("wait").is_none(),
        "serve kept running through the database restart"
    );
    sigterm(&mut child);
    assert_eq!(outbox_total(&s, "request").await, n);
    let counts = wait_delivered(rig, "erin", "request", n as usize);
    let (lost, duplicates) = report("postgres restart", n, &counts, 1);
    assert_eq!(lost, 0, "nothing lost");
    assert!(
        duplicates <= CONCURRENCY,
        "at most the emails in flight when the database went away: {duplicates}"
    );
}

/// `tidings run-due` on `db` with the default Maildir transport (mail in `dir/var/mail/sent`),
/// so a test is about the database alone.
fn run_due(dir: &Path, db: &str) -> std::process::Output {
    Command::new(BIN)
        .args(["run-due"])
        .current_dir(dir)
        .env_remove("TIDINGS_CONFIG")
        .env("TIDINGS_DATABASE__URL", db)
        .env("TIDINGS_SECURITY__SECRET", SECRET)
        .env("TIDINGS_LOG", "off")
        .output()
        .expect("binary runs")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_only_database_stops_work_with_a_clear_error_and_resumes_after() {
    let _pg = PG.lock().await;
    let rig = rig::Rig::shared();
    let dir = tempfile::tempdir().unwrap();
    let db = rig.fresh_pg_url();
    let s = store(&db).await;
    seed(&s, 50, 10, "dave", "request").await;
    let name = db.rsplit('/').next().unwrap_or_default().to_string();
    let admin = Store::connect(&rig.pg_admin_url(), 1).await.expect("admin");
    let set_ro = |on: bool| {
        sqlx::query(AssertSqlSafe(format!(
            "ALTER DATABASE \"{name}\" SET default_transaction_read_only = {}",
            if on { "on" } else { "off" }
        )))
    };
    set_ro(true).execute(admin.pool()).await.expect("read-only");
    s.close().await;
    let o = run_due(dir.path(), &db);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("read-only"), "the error says why: {err}");
    let sent = dir.path().join("var/mail/sent/new");
    let files = || std::fs::read_dir(&sent).map(|d| d.count()).unwrap_or(0);
    assert_eq!(
        files(),
        0,
        "nothing sent from a database that cannot record it"
    );
    set_ro(false)
        .execute(admin.pool())
        .await
        .expect("read-write");
    let o = run_due(dir.path(), &db);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        files(),
        50,
        "every due request once the database is writable"
    );
    let o = run_due(dir.path(), &db);
    assert!(o.status.success());
    assert_eq!(files(), 50, "and never twice");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_disk_stops_work_with_a_clear_error_and_corrupts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("small");
    std::fs::create_dir_all(&mnt).unwrap();
    let st = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=32m", "tmpfs"])
        .arg(&mnt)
        .status()
        .expect("mount runs");
    assert!(
        st.success(),
        "mounting a 32 MB tmpfs needs root (run scripts/test as root)"
    );
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(mnt.clone());
    let db = format!("sqlite://{}", mnt.join("t.db").display());
    let s = store(&db).await;
    seed(&s, 500, 50, "dave", "request").await;
    s.close().await;
    // Fill the disk, leaving no room for the outbox.
    let filler = mnt.join("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 64 * 1024];
        while f.write_all(&block).is_ok() {}
        let small = vec![0u8; 512];
        while f.write_all(&small).is_ok() {}
        let _ = f.sync_all();
    }
    let o = run_due(dir.path(), &db);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("full") || err.contains("free space"),
        "the error points at the full disk: {err}"
    );
    std::fs::remove_file(&filler).unwrap();
    let s = store(&db).await;
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(s.pool())
        .await
        .expect("integrity check");
    assert_eq!(check, "ok", "the database is intact");
    s.close().await;
    let o = run_due(dir.path(), &db);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let sent = dir.path().join("var/mail/sent/new");
    assert_eq!(
        std::fs::read_dir(&sent).map(|d| d.count()).unwrap_or(0),
        500,
        "every due request once there is room again"
    );
}

/// A TCP proxy to `upstream` that cuts each connection once the server has sent more than
/// the current `limit` bytes (usize::MAX: never): an IMAP connection dropped mid-fetch.
async fn cutting_proxy(
    upstream: u16,
    limit: std::sync::Arc<std::sync::atomic::AtomicUsize>,
) -> u16 {
    use std::sync::atomic::Ordering;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = l.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((client, _)) = l.accept().await {
            let cut = limit.load(Ordering::SeqCst);
            tokio::spawn(async move {
                let Ok(server) = tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await
                else {
                    return;
                };
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let up = tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut cr, &mut sw).await;
                });
                let mut sent = 0usize;
                let mut buf = vec![0u8; 512];
                loop {
                    let n = match sr.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    let n = n.min(cut.saturating_sub(sent));
                    if n == 0 || cw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                    sent += n;
                }
                up.abort();
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread")]
async fn an_imap_connection_dropped_mid_fetch_loses_no_reply() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tidings::config::{Config, SecretString, SecretUrl, Security, Transport};
    let rig = rig::Rig::shared();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("drop.db").display());
    let s = store(&db).await;
    let n = 20;
    seed(&s, n, 10, "alice", "none").await;
    send_replies(rig, "alice", "dave", n);
    // Greeting, login, SELECT and the start of the first FETCH fit in 3 KB; 20 replies do not.
    let limit = Arc::new(AtomicUsize::new(3000));
    let port = cutting_proxy(rig.imap_port, limit.clone()).await;
    let mut cfg = Config::default();
    cfg.database.url = SecretUrl(db.clone());
    cfg.mail.transport = Transport::Smtp;
    cfg.mail.from = "Tidings <tidings@example.test>".parse().unwrap();
    cfg.mail.reply_to = tidings::domain::EmailAddress::parse("dave@example.test").unwrap();
    cfg.mail.smtp.port = rig.smtp_port;
    cfg.mail.imap.port = port;
    cfg.mail.imap.security = Security::None;
    cfg.mail.imap.username = "dave@example.test".into();
    cfg.mail.imap.password = SecretString::new(rig.password("dave"));
    cfg.security.secret = SecretString::new(SECRET);
    let ctx = tidings::jobs::Ctx::build(cfg).await.expect("ctx");
    let first = tidings::jobs::ingest::poll(&ctx, Utc::now()).await;
    eprintln!("poll over a connection cut after 3000 bytes: {first:?}");
    assert!(first.is_err(), "the cut is reported, not swallowed");
    limit.store(usize::MAX, Ordering::SeqCst);
    let (mut stored, mut duplicates) = (0, 0);
    for _ in 0..5 {
        tidings::jobs::ingest::poll(&ctx, Utc::now())
            .await
            .expect("healthy poll");
        (stored, duplicates) = stored_replies(&s).await;
        if stored == n {
            break;
        }
    }
    eprintln!(
        "imap drop: replies {n}, stored {stored}, lost {}, duplicates {duplicates}",
        n - stored
    );
    assert_eq!(stored, n, "no reply lost");
    assert_eq!(duplicates, 0, "none stored twice");
}

/// `tidings run-due` with `config`, plus environment overrides.
fn run_due_with(dir: &Path, config: &Path, env: &[(&str, String)]) -> std::process::Output {
    let mut c = Command::new(BIN);
    c.arg("--config")
        .arg(config)
        .arg("run-due")
        .current_dir(dir)
        .env("TIDINGS_LOG", "off");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("binary runs")
}

#[tokio::test(flavor = "multi_thread")]
async fn run_due_with_imap_closed_still_queues_and_sends() {
    let rig = rig::Rig::shared();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("cron.db").display());
    let s = store(&db).await;
    seed(&s, 20, 10, "frank", "request").await;
    s.close().await;
    let cfg = write_config(dir.path(), &db, rig, "frank");
    let o = run_due_with(
        dir.path(),
        &cfg,
        &[("TIDINGS_MAIL__IMAP__PORT", closed_port().to_string())],
    );
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert_eq!(o.status.code(), Some(3), "a part failed: {out}{err}");
    assert!(
        err.contains("reading replies") && err.contains("mail.imap"),
        "the failed part and what to check: {err}"
    );
    assert!(
        out.contains("inbound failed") && out.contains("requests 20") && out.contains("sent 20"),
        "{out}"
    );
    let counts = wait_delivered(rig, "frank", "request", 20);
    let (lost, duplicates) = report("run-due with IMAP closed", 20, &counts, 0);
    assert_eq!((lost, duplicates), (0, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn run_due_with_smtp_closed_still_reads_replies_and_queues() {
    let rig = rig::Rig::shared();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("cron.db").display());
    let s = store(&db).await;
    seed(&s, 5, 5, "grace", "request").await;
    send_replies(rig, "grace", "grace", 5);
    let cfg = write_config(dir.path(), &db, rig, "grace");
    let o = run_due_with(
        dir.path(),
        &cfg,
        &[
            ("TIDINGS_MAIL__SMTP__PORT", closed_port().to_string()),
            ("TIDINGS_MAIL__REPLY_TO", "grace@example.test".to_string()),
        ],
    );
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert_eq!(o.status.code(), Some(3), "a part failed: {out}{err}");
    assert!(
        err.contains("sending") && err.contains("mail.smtp") && err.contains("none of 10"),
        "the failed part and what to check: {err}"
    );
    assert!(
        out.contains("accepted 5")
            && out.contains("requests 5")
            && out.contains("sent 0, retried 10"),
        "{out}"
    );
    let (stored, duplicates) = stored_replies(&s).await;
    assert_eq!((stored, duplicates), (5, 0), "every reply stored once");
    assert_eq!(
        outbox_total(&s, "request").await,
        5,
        "the requests are queued"
    );
    assert_eq!(outbox_total(&s, "receipt").await, 5, "and the receipts");
    assert_eq!(outbox_open(&s).await, 10, "all waiting for their retry");
}

#[test]
fn run_due_with_the_database_unreachable_fails_at_once_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let o = Command::new(BIN)
        .arg("run-due")
        .current_dir(dir.path())
        .env_remove("TIDINGS_CONFIG")
        .env(
            "TIDINGS_DATABASE__URL",
            format!("postgres://postgres@127.0.0.1:{}/tidings", closed_port()),
        )
        .env("TIDINGS_LOG", "off")
        .output()
        .expect("binary runs");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("cannot connect to the database") && err.contains("database.url"),
        "says what failed and what to check: {err}"
    );
    // Not a timing assertion on the work itself: the pool alone would wait its 30 s acquire
    // timeout before saying only "timed out".
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "failed at once, not after the pool's timeout: {:?}",
        started.elapsed()
    );
    assert!(
        !dir.path().join("var/mail/sent/new").exists()
            || std::fs::read_dir(dir.path().join("var/mail/sent/new"))
                .map(|d| d.count())
                .unwrap_or(0)
                == 0
    );
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

    /// Accepted messages of `kind`, counted per recipient `m<i>@sink.test`.
    fn counts(&self, kind: &str) -> HashMap<i64, usize> {
        let marker = format!("X-Tidings-Kind: {kind}");
        let mut counts = HashMap::new();
        for e in std::fs::read_dir(&self.dir).into_iter().flatten().flatten() {
            let Ok(raw) = std::fs::read_to_string(e.path()) else {
                continue;
            };
            if !raw.contains(&marker) {
                continue;
            }
            let id = raw
                .lines()
                .find(|l| l.starts_with("X-Rcpt-Args: <m"))
                .and_then(|l| l.strip_prefix("X-Rcpt-Args: <m"))
                .and_then(|r| r.split('@').next())
                .and_then(|n| n.parse::<i64>().ok());
            if let Some(id) = id {
                *counts.entry(id).or_insert(0) += 1;
            }
        }
        counts
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn members_imported_while_down_get_todays_request_once_despite_five_kills() {
    let rig = rig::Rig::shared();
    let dir = tempfile::tempdir().unwrap();
    let sink = Sink::start(&dir.path().join("sink"));
    let db = format!("sqlite://{}", dir.path().join("import.db").display());
    // A zone where it is mid-day now, so "a few minutes ago" and "in half an hour" are today.
    let utc = Utc::now();
    let tz = if (2..=21).contains(&chrono::Timelike::hour(&utc)) {
        "UTC"
    } else {
        "Etc/GMT+6"
    };
    let local = utc.with_timezone(&tidings::domain::schedule::parse_tz(tz).unwrap());
    let request_at = (local - chrono::Duration::minutes(3)).format("%H:%M");
    let digest_at = (local + chrono::Duration::minutes(30)).format("%H:%M");
    let n = 2000;
    let mut csv = String::from("email,name,timezone,request_at,digest_at,workdays,team\n");
    for i in 1..=n {
        csv.push_str(&format!(
            "m{i}@sink.test,Member {i},{tz},{request_at},{digest_at},mon;tue;wed;thu;fri;sat;sun,team{}\n",
            i % 20
        ));
    }
    let csv_path = dir.path().join("members.csv");
    std::fs::write(&csv_path, csv).unwrap();
    let cfg = write_config(dir.path(), &db, rig, "digest");
    let toml = std::fs::read_to_string(&cfg).unwrap().replace(
        &format!("port = {}\n", rig.smtp_port),
        &format!("port = {}\n", sink.port),
    );
    std::fs::write(&cfg, toml).unwrap();
    // Imported while no `serve` runs, after today's request time had passed.
    let o = Command::new(BIN)
        .arg("--config")
        .arg(&cfg)
        .args(["member", "import"])
        .arg(&csv_path)
        .output()
        .expect("import runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s = store(&db).await;
    let mut rng = Rng::new();
    let kills = 5;
    for k in 0..kills {
        let before = (
            outbox_total(&s, "request").await,
            sink.counts("request").values().sum::<usize>(),
        );
        let child = serve(dir.path(), &cfg);
        // 0.3–1.5 s into the work, not into the start-up (a debug build takes about a second
        // to start): wait until this process queued or sent something.
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline
            && (
                outbox_total(&s, "request").await,
                sink.counts("request").values().sum::<usize>(),
            ) == before
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let ms = 300 + rng.below(1200);
        tokio::time::sleep(Duration::from_millis(ms)).await;
        kill9(child);
        eprintln!(
            "kill {} after {ms} ms: {} queued, {} open, {} accepted by the sink",
            k + 1,
            outbox_total(&s, "request").await,
            outbox_open(&s).await,
            sink.counts("request").values().sum::<usize>()
        );
    }
    let started = Instant::now();
    let mut child = serve(dir.path(), &cfg);
    let deadline = started + Duration::from_secs(180);
    let mut counts = sink.counts("request");
    while counts.len() < n as usize && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        counts = sink.counts("request");
    }
    let all_in = started.elapsed();
    // Stragglers (duplicates) would land right after.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let counts = sink.counts("request");
    sigterm(&mut child);
    let (lost, duplicates) = report("imported while down", n, &counts, kills);
    eprintln!(
        "all {} delivered {:.1} s after the last start (lease 6 s, tick 1 s)",
        counts.len(),
        all_in.as_secs_f64()
    );
    assert_eq!(lost, 0, "today's request reaches every imported member");
    assert_eq!(outbox_total(&s, "request").await, n, "one row per member");
    // A commit point per session: each has at most one email accepted by the server and
    // not yet recorded, so each kill repeats at most one per session.
    assert!(
        duplicates <= kills * CONCURRENCY,
        "at most one email per session may repeat per kill: {duplicates} for {kills} kills"
    );
    // Generous for the sending itself; a crashed worker's claims wait one lease (6 s), not
    // the 5 minutes they waited before the heartbeat made a short lease safe.
    assert!(
        all_in < Duration::from_secs(6 + 1 + 90),
        "claimed mail of the killed workers waited {all_in:?}"
    );
}

/// An SMTP server on loopback that accepts everything up to the end of the data and then
/// never answers it (a server that stalls, or a connection lost, after the final `.`).
/// Returns its port and how many ends of data it read.
async fn stalling_server() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::Ordering;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = l.local_addr().expect("addr").port();
    let ends = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = ends.clone();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let (r, mut w) = s.into_split();
                let mut lines = BufReader::new(r).lines();
                let _ = w.write_all(b"220 stall.test ESMTP\r\n").await;
                let mut in_data = false;
                while let Ok(Some(line)) = lines.next_line().await {
                    let reply: &[u8] = if in_data {
                        if line != "." {
                            continue;
                        }
                        // The end of the data: counted, never answered.
                        seen.fetch_add(1, Ordering::SeqCst);
                        in_data = false;
                        continue;
                    } else if line.starts_with("EHLO") {
                        b"250-stall.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n"
                    } else if line.starts_with("DATA") {
                        in_data = true;
                        b"354 go on\r\n"
                    } else {
                        b"250 ok\r\n"
                    };
                    if w.write_all(reply).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    (port, ends)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_stalls_after_the_end_of_data_gets_no_immediate_resend() {
    use std::sync::atomic::Ordering;
    use tidings::config::{Config, SecretString, SecretUrl, Security, Transport};
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("stall.db").display());
    let (port, ends) = stalling_server().await;
    let mut cfg = Config::default();
    cfg.database.url = SecretUrl(db.clone());
    cfg.mail.transport = Transport::Smtp;
    cfg.mail.smtp.port = port;
    cfg.mail.smtp.security = Security::None;
    cfg.mail.smtp.timeout_secs = 1;
    cfg.mail.smtp.lease_secs = 4;
    cfg.security.secret = SecretString::new(SECRET);
    let ctx = tidings::jobs::Ctx::build(cfg).await.expect("ctx");
    let now = Utc::now();
    let email = tidings::store::NewEmail {
        idem_key: "notice:stall".into(),
        kind: "notice",
        member_id: None,
        local_date: None,
        recipient: "reader@example.test".into(),
        message_id: "stall@example.test".into(),
        subject: "s".into(),
        body: b"From: t@example.test\r\nTo: reader@example.test\r\nSubject: s\r\n\r\nhello\r\n"
            .to_vec(),
        manifest: None,
    };
    ctx.store.enqueue(&email, now.timestamp()).await.unwrap();
    let first = tidings::jobs::send::run(&ctx, now).await.expect("drain");
    eprintln!("stalled after the end of data: {first:?}");
    assert_eq!(
        (first.sent, first.retried, first.failed, first.unconfirmed),
        (0, 0, 0, 1),
        "neither sent nor put back for a retry: it may have been delivered"
    );
    assert_eq!(
        ends.load(Ordering::SeqCst),
        1,
        "the end of data went out once"
    );
    let (state, error): (String, Option<String>) =
        sqlx::query_as("SELECT state, last_error FROM outbox WHERE idem_key = 'notice:stall'")
            .fetch_one(ctx.store.pool())
            .await
            .unwrap();
    assert_eq!(state, "sending", "left to its lease");
    assert!(
        error
            .as_deref()
            .unwrap_or_default()
            .contains("may have been delivered"),
        "{error:?}"
    );
    // A pass right after does not send it again: only the lapsed lease would.
    let again = tidings::jobs::send::run(&ctx, Utc::now())
        .await
        .expect("drain");
    assert_eq!(again, tidings::jobs::send::SendReport::default());
    assert_eq!(ends.load(Ordering::SeqCst), 1, "no immediate resend");
    // Once the lease lapsed (4 s), the next pass sends it again, at its next attempt.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let later = tidings::jobs::send::run(&ctx, Utc::now())
        .await
        .expect("drain");
    assert_eq!(later.unconfirmed, 1, "{later:?}");
    assert_eq!(ends.load(Ordering::SeqCst), 2, "sent again after its lease");
}
