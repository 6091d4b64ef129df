//! `tidings doctor` as an operator runs it: against the real rig every check passes; against
//! closed ports, a wrong password or a missing mailbox each failure is named with its fix and
//! the exit code is non-zero.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::{closed_port, rig, wait_maildir};

const BIN: &str = env!("CARGO_BIN_EXE_tidings");

struct Setup<'a> {
    db: String,
    smtp_port: u16,
    smtp_password: String,
    imap_port: u16,
    imap_password: String,
    mailbox: &'a str,
}

fn write_config(dir: &Path, s: &Setup<'_>, rig: &rig::Rig) -> std::path::PathBuf {
    let path = dir.join("tidings.toml");
    let toml = format!(
        r#"[database]
url = "{db}"

[web]
base_url = "https://tidings.example.test"

[mail]
transport = "smtp"
from = "Tidings <tidings@example.test>"
reply_to = "updates@example.test"

[mail.smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "starttls"
username = "updates@example.test"
password = "{smtp_password}"
ca_file = "{ca}"
tls_server_name = "localhost"
timeout_secs = 5

[mail.imap]
host = "127.0.0.1"
port = {imap_port}
security = "none"
username = "updates@example.test"
password = "{imap_password}"
mailbox = "{mailbox}"
"#,
        db = s.db,
        smtp_port = s.smtp_port,
        smtp_password = s.smtp_password,
        imap_port = s.imap_port,
        imap_password = s.imap_password,
        mailbox = s.mailbox,
        ca = rig.ca_pem.display(),
    );
    std::fs::write(&path, toml).expect("config written");
    path
}

fn doctor(dir: &Path, config: &Path, extra: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--config")
        .arg(config)
        .arg("doctor")
        .args(extra)
        .current_dir(dir)
        .env_remove("TIDINGS_CONFIG")
        .env("TIDINGS_LOG", "warn")
        .output()
        .expect("binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn migrate(dir: &Path, config: &Path) {
    let o = Command::new(BIN)
        .arg("--config")
        .arg(config)
        .arg("migrate")
        .current_dir(dir)
        .env("TIDINGS_LOG", "warn")
        .output()
        .expect("binary runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn arrived(rig: &rig::Rig, user: &str, subject: &str) -> bool {
    !wait_maildir(rig, user, 1, |s| s.contains(subject)).is_empty()
}

fn good<'a>(rig: &rig::Rig, db: String) -> Setup<'a> {
    Setup {
        db,
        smtp_port: rig.smtp_port,
        smtp_password: rig.password("updates"),
        imap_port: rig.imap_port,
        imap_password: rig.password("updates"),
        mailbox: "INBOX",
    }
}

#[test]
fn every_check_passes_against_the_rig_on_postgres_and_a_test_email_arrives() {
    let rig = rig::Rig::shared();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &good(rig, rig.fresh_pg_url()), rig);
    migrate(dir.path(), &cfg);
    let o = doctor(dir.path(), &cfg, &["--send-test", "erin@example.test"]);
    let out = stdout(&o);
    assert!(
        o.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for line in [
        "ok    database",
        "ok    migrations: all applied",
        "ok    smtp",
        "ok    imap",
        "ok    mailbox: INBOX exists",
        "ok    clock",
        "ok    web.base_url: https://tidings.example.test",
        "ok    test email: accepted for erin@example.test",
        "all checks passed",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    assert!(!out.contains("FAIL"), "{out}");
    assert!(
        arrived(rig, "erin", "Tidings test email"),
        "the test email reached erin's Maildir"
    );
    assert!(
        !out.contains(&rig.password("updates")),
        "no secret in the output"
    );
}

#[test]
fn an_unmigrated_sqlite_database_is_reported_with_the_fix() {
    let rig = rig::Rig::shared();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("t.db").display());
    let cfg = write_config(dir.path(), &good(rig, db), rig);
    let o = doctor(dir.path(), &cfg, &[]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("FAIL  migrations"), "{out}");
    assert!(out.contains("fix: run `tidings migrate`"), "{out}");
    assert!(out.contains("ok    smtp"), "{out}");
}

#[test]
fn unreachable_servers_each_fail_with_what_to_fix() {
    let rig = rig::Rig::shared();
    let dir = tempfile::tempdir().unwrap();
    let s = Setup {
        db: format!("postgres://postgres@127.0.0.1:{}/nothing", closed_port()),
        smtp_port: closed_port(),
        imap_port: closed_port(),
        ..good(rig, String::new())
    };
    let cfg = write_config(dir.path(), &s, rig);
    let o = doctor(dir.path(), &cfg, &[]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    for (check, fix) in [
        ("FAIL  database", "fix: check database.url"),
        ("FAIL  smtp", "fix: check mail.smtp.host"),
        ("FAIL  imap", "fix: check mail.imap.host"),
    ] {
        assert!(out.contains(check), "missing {check:?} in:\n{out}");
        assert!(out.contains(fix), "missing {fix:?} in:\n{out}");
    }
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("3 checks failed"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn a_wrong_password_and_a_missing_mailbox_are_named() {
    let rig = rig::Rig::shared();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("t.db").display());
    let s = Setup {
        smtp_password: "not-the-password".into(),
        ..good(rig, db.clone())
    };
    let cfg = write_config(dir.path(), &s, rig);
    migrate(dir.path(), &cfg);
    let out = stdout(&doctor(dir.path(), &cfg, &[]));
    assert!(out.contains("FAIL  smtp"), "{out}");
    assert!(out.contains("app password"), "{out}");
    assert!(out.contains("ok    imap"), "{out}");
    assert!(!out.contains("not-the-password"), "no secret in the output");

    let s = Setup {
        imap_password: "not-the-password".into(),
        ..good(rig, db.clone())
    };
    let cfg = write_config(dir.path(), &s, rig);
    let out = stdout(&doctor(dir.path(), &cfg, &[]));
    assert!(out.contains("FAIL  imap"), "{out}");
    assert!(out.contains("ok    smtp"), "{out}");

    let s = Setup {
        mailbox: "NoSuchFolder",
        ..good(rig, db)
    };
    let cfg = write_config(dir.path(), &s, rig);
    let o = doctor(dir.path(), &cfg, &[]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("FAIL  mailbox: cannot open NoSuchFolder"),
        "{out}"
    );
}

fn doctor_env(dir: &Path, config: &Path, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(BIN);
    c.arg("--config")
        .arg(config)
        .arg("doctor")
        .args(extra)
        .current_dir(dir)
        .env_remove("TIDINGS_CONFIG")
        .env("TIDINGS_LOG", "warn");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("binary runs")
}

#[test]
fn deliverability_problems_are_explained_and_dkim_prints_its_record() {
    let rig = rig::Rig::shared();
    let dir = tempfile::tempdir().unwrap();
    let s = good(
        rig,
        format!("sqlite://{}", dir.path().join("t.db").display()),
    );
    let cfg = write_config(dir.path(), &s, rig);
    migrate(dir.path(), &cfg);
    let o = doctor_env(
        dir.path(),
        &cfg,
        &[],
        &[
            ("TIDINGS_WEB__BASE_URL", "http://tidings.example.test"),
            ("TIDINGS_MAIL__FROM", "Tidings <tidings@localhost>"),
            ("TIDINGS_MAIL__REPLY_TO", "updates@bounces.other.test"),
        ],
    );
    let out = stdout(&o);
    assert!(o.status.success(), "warnings are not failures: {out}");
    for (check, why) in [
        ("warn  unsubscribe", "wants HTTPS"),
        ("warn  mail.from", "\"localhost\""),
        ("warn  alignment", "not aligned with the From domain"),
    ] {
        assert!(
            out.contains(check) && out.contains(why),
            "missing {check:?} in:\n{out}"
        );
    }
    // Unsigned mail to another host (a name that does not resolve: no traffic leaves).
    let o = doctor_env(
        dir.path(),
        &cfg,
        &[],
        &[("TIDINGS_MAIL__SMTP__HOST", "smtp.invalid")],
    );
    let out = stdout(&o);
    assert!(
        out.contains("warn  dkim: mail goes to smtp.invalid unsigned"),
        "{out}"
    );
    // With a key: the record to publish, and the test email goes out signed.
    let pem = dir.path().join("dkim.pem");
    let st = Command::new("openssl")
        .args(["genpkey", "-algorithm", "ed25519", "-out"])
        .arg(&pem)
        .status()
        .expect("openssl runs");
    assert!(st.success());
    let o = doctor_env(
        dir.path(),
        &cfg,
        &["--send-test", "erin@example.test"],
        &[
            ("TIDINGS_MAIL__DKIM__SELECTOR", "t1"),
            (
                "TIDINGS_MAIL__DKIM__PRIVATE_KEY_FILE",
                pem.to_str().unwrap(),
            ),
        ],
    );
    let out = stdout(&o);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.contains("ok    dkim: signing as d=example.test, s=t1; publish TXT t1._domainkey.example.test \"v=DKIM1; k=ed25519; p="),
        "{out}"
    );
    assert!(!out.contains("warn  dkim"), "{out}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let signed = loop {
        let found = ["new", "cur"].iter().any(|sub| {
            std::fs::read_dir(rig.maildir("erin").join(sub))
                .into_iter()
                .flatten()
                .flatten()
                .any(|e| {
                    std::fs::read_to_string(e.path()).is_ok_and(|s| {
                        s.contains("Tidings test email")
                            && s.contains("DKIM-Signature: v=1; a=ed25519-sha256")
                    })
                })
        });
        if found || std::time::Instant::now() > deadline {
            break found;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(signed, "the test email arrived DKIM-signed");
}

#[test]
fn the_trusted_authserv_id_is_reported_unset_unseen_and_seen_on_recent_mail() {
    let rig = rig::Rig::shared();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("t.db").display());
    let cfg = write_config(dir.path(), &good(rig, db.clone()), rig);
    migrate(dir.path(), &cfg);
    let key = "mail.inbound.trusted_authserv_id";
    let out = stdout(&doctor(dir.path(), &cfg, &[]));
    assert!(out.contains(&format!("warn  {key}: empty")), "{out}");
    let env = [(
        "TIDINGS_MAIL__INBOUND__TRUSTED_AUTHSERV_ID",
        "mail.example.test",
    )];
    let out = stdout(&doctor_env(dir.path(), &cfg, &[], &env));
    assert!(
        out.contains(&format!(
            "ok    {key}: mail.example.test (no mail received yet"
        )),
        "{out}"
    );
    // Mail stamped by another server only: the id is probably wrong.
    let store = |raw: &'static str, id: &'static str| {
        let db = db.clone();
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(async move {
                let s = tidings::store::Store::connect(&db, 1).await.unwrap();
                s.insert_inbound(id, raw.as_bytes(), "imap", 1, 2)
                    .await
                    .unwrap();
                s.close().await;
            })
    };
    store(
        "Authentication-Results: mx.other.test; dmarc=pass header.from=example.test\r\nFrom: a@example.test\r\n\r\nx\r\n",
        "d1@x",
    );
    let out = stdout(&doctor_env(dir.path(), &cfg, &[], &env));
    assert!(
        out.contains(&format!(
            "warn  {key}: none of the last 1 messages carries Authentication-Results from mail.example.test (seen: mx.other.test)"
        )),
        "{out}"
    );
    store(
        "Authentication-Results: mail.example.test; dmarc=pass header.from=example.test\r\nFrom: a@example.test\r\n\r\nx\r\n",
        "d2@x",
    );
    let out = stdout(&doctor_env(dir.path(), &cfg, &[], &env));
    assert!(
        out.contains(&format!(
            "ok    {key}: mail.example.test: seen on 1 of the last 2 messages"
        )),
        "{out}"
    );
}
