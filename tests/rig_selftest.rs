//! Proof that the test rig (tests/support/rig.rs + scripts/rig) works: real Postfix, Dovecot
//! and PostgreSQL, driven with raw protocol dialogues over std::net::TcpStream.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::Command;
use std::sync::RwLock;
use std::time::{Duration, Instant};
use support::rig::{self, Rig};

/// Tests that talk SMTP take this shared; the Postfix outage test takes it exclusively.
static SMTP: RwLock<()> = RwLock::new(());

struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Conn {
    fn open(port: u16) -> Conn {
        let s = TcpStream::connect(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("connect 127.0.0.1:{port}: {e}"));
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        Conn {
            reader: BufReader::new(s.try_clone().unwrap()),
            writer: s,
        }
    }
    fn send(&mut self, line: &str) {
        self.writer
            .write_all(format!("{line}\r\n").as_bytes())
            .unwrap();
    }
    fn line(&mut self) -> String {
        let mut l = String::new();
        let n = self.reader.read_line(&mut l).expect("read from server");
        assert!(n > 0, "server closed the connection");
        l.trim_end().to_string()
    }
    /// A (possibly multi-line) SMTP reply: (code, all lines).
    fn smtp_reply(&mut self) -> (u16, String) {
        let mut all = String::new();
        loop {
            let l = self.line();
            all.push_str(&l);
            all.push('\n');
            if l.len() < 4 || l.as_bytes()[3] != b'-' {
                return (l[..3].parse().unwrap_or(0), all);
            }
        }
    }
    fn smtp(&mut self, cmd: &str) -> (u16, String) {
        self.send(cmd);
        self.smtp_reply()
    }
    /// IMAP: sends `tag cmd`, returns every line up to and including the tagged status.
    fn imap(&mut self, tag: &str, cmd: &str) -> String {
        self.send(&format!("{tag} {cmd}"));
        let mut all = String::new();
        loop {
            let l = self.line();
            all.push_str(&l);
            all.push('\n');
            if l.starts_with(&format!("{tag} ")) {
                return all;
            }
        }
    }
}

fn smtp_session(rig: &Rig) -> Conn {
    let mut c = Conn::open(rig.smtp_port);
    let (code, banner) = c.smtp_reply();
    assert_eq!(code, 220, "greeting: {banner}");
    let (code, ehlo) = c.smtp("EHLO selftest.local");
    assert_eq!(code, 250, "EHLO: {ehlo}");
    c
}

fn psql(url: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args(["-X", "-At", "-d", url, "-c", sql])
        .output()
        .expect("run psql");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn token() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{}x{nanos}", std::process::id())
}

#[test]
fn smtp_delivers_to_maildir_and_imap_sees_it() {
    let _g = SMTP.read().unwrap_or_else(|e| e.into_inner());
    let rig = Rig::shared();
    let tag = token();

    let mut c = smtp_session(rig);
    assert_eq!(c.smtp("MAIL FROM:<digest@example.test>").0, 250);
    let (code, r) = c.smtp("RCPT TO:<alice@example.test>");
    assert_eq!(code, 250, "RCPT alice: {r}");
    assert_eq!(c.smtp("DATA").0, 354);
    c.send("From: digest@example.test");
    c.send("To: alice@example.test");
    c.send(&format!("Subject: rig selftest {tag}"));
    c.send(&format!("Message-ID: <{tag}@selftest.example.test>"));
    c.send("");
    c.send(&format!("hello alice {tag}"));
    let (code, r) = c.smtp(".");
    assert_eq!(code, 250, "end of DATA: {r}");
    let _ = c.smtp("QUIT");

    // delivered into alice's Maildir new/
    let new = rig.maildir("alice").join("new");
    let deadline = Instant::now() + Duration::from_secs(30);
    let found = loop {
        let hit = std::fs::read_dir(&new)
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| std::fs::read_to_string(e.path()).is_ok_and(|s| s.contains(&tag)));
        if hit || Instant::now() > deadline {
            break hit;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(found, "message {tag} not in {} after 30 s", new.display());

    // IMAP: plain LOGIN, SELECT INBOX shows it
    let mut i = Conn::open(rig.imap_port);
    let greeting = i.line();
    assert!(greeting.starts_with("* OK"), "IMAP greeting: {greeting}");
    let r = i.imap("a", &format!("LOGIN alice {}", rig.password("alice")));
    assert!(r.lines().last().unwrap().starts_with("a OK"), "LOGIN: {r}");
    let r = i.imap("b", "SELECT INBOX");
    assert!(r.lines().last().unwrap().starts_with("b OK"), "SELECT: {r}");
    let exists: u32 = r
        .lines()
        .find_map(|l| {
            l.strip_prefix("* ")
                .and_then(|l| l.strip_suffix(" EXISTS"))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or_else(|| panic!("no EXISTS in SELECT response: {r}"));
    assert!(exists >= 1, "{r}");
    let r = i.imap("c", &format!("SEARCH HEADER Message-ID {tag}"));
    assert!(
        r.lines().any(|l| l.starts_with("* SEARCH ") && l.len() > 9),
        "SEARCH: {r}"
    );
    i.imap("d", "LOGOUT");
}

#[test]
fn plus_address_reaches_updates_mailbox() {
    let _g = SMTP.read().unwrap_or_else(|e| e.into_inner());
    let rig = Rig::shared();
    let mut c = smtp_session(rig);
    assert_eq!(c.smtp("MAIL FROM:<alice@example.test>").0, 250);
    let (code, r) = c.smtp("RCPT TO:<updates+tok123@example.test>");
    assert_eq!(code, 250, "RCPT updates+tok123: {r}");
    let (code, r) = c.smtp("RCPT TO:<nobody@example.test>");
    assert_eq!(code, 550, "unknown user: {r}");
    let (code, r) = c.smtp("RCPT TO:<someone@gmail.com>");
    assert!(code == 554 || code == 454, "relay must be denied: {r}");
    let _ = c.smtp("QUIT");
}

#[test]
fn fresh_databases_are_distinct_and_usable() {
    let rig = Rig::shared();
    let a = rig.fresh_pg_url();
    let b = rig.fresh_pg_url();
    assert_ne!(a, b);
    assert_eq!(psql(&a, "SELECT 1"), "1");
    assert_eq!(psql(&b, "SELECT 1"), "1");
    assert_ne!(
        psql(&a, "SELECT current_database()"),
        psql(&b, "SELECT current_database()")
    );
    psql(&a, "CREATE TABLE t (x int); INSERT INTO t VALUES (42)");
    assert_eq!(psql(&a, "SELECT x FROM t"), "42");
    assert_eq!(
        psql(&b, "SELECT count(*) FROM pg_tables WHERE tablename = 't'"),
        "0"
    );
}

#[test]
fn pg_only_rig_gives_fresh_databases() {
    let a = rig::fresh_pg_url();
    let b = rig::fresh_pg_url();
    assert_ne!(a, b);
    assert_eq!(psql(&a, "SELECT 1"), "1");
    assert_eq!(psql(&b, "SELECT 1"), "1");
}

#[test]
fn recipient_access_makes_one_address_temporary_fail() {
    let _g = SMTP.read().unwrap_or_else(|e| e.into_inner());
    let rig = Rig::shared();
    rig.set_recipient_access("defer@example.test", Some("450 4.2.0 try later"));
    let mut c = smtp_session(rig);
    assert_eq!(c.smtp("MAIL FROM:<digest@example.test>").0, 250);
    let (code, r) = c.smtp("RCPT TO:<defer@example.test>");
    assert_eq!(code, 450, "RCPT defer: {r}");
    assert!(r.contains("try later"), "{r}");
    let (code, r) = c.smtp("RCPT TO:<bob@example.test>");
    assert_eq!(code, 250, "RCPT bob unaffected: {r}");
    let _ = c.smtp("QUIT");

    rig.set_recipient_access("defer@example.test", Some("550 5.7.1 go away"));
    let mut c = smtp_session(rig);
    assert_eq!(c.smtp("MAIL FROM:<digest@example.test>").0, 250);
    assert_eq!(c.smtp("RCPT TO:<defer@example.test>").0, 550);
    let _ = c.smtp("QUIT");

    rig.set_recipient_access("defer@example.test", None);
    let mut c = smtp_session(rig);
    assert_eq!(c.smtp("MAIL FROM:<digest@example.test>").0, 250);
    assert_eq!(c.smtp("RCPT TO:<defer@example.test>").0, 250);
    let _ = c.smtp("QUIT");
}

#[test]
fn postfix_outage_and_recovery() {
    let _g = SMTP.write().unwrap_or_else(|e| e.into_inner());
    let rig = Rig::shared();
    rig.stop_postfix();
    assert!(
        TcpStream::connect(("127.0.0.1", rig.smtp_port)).is_err(),
        "SMTP port must refuse connections while Postfix is stopped"
    );
    // IMAP unaffected
    let mut i = Conn::open(rig.imap_port);
    assert!(i.line().starts_with("* OK"));
    rig.start_postfix();
    let mut c = smtp_session(rig);
    assert_eq!(c.smtp("MAIL FROM:<digest@example.test>").0, 250);
    assert_eq!(c.smtp("RCPT TO:<bob@example.test>").0, 250);
    let _ = c.smtp("QUIT");
}
