//! The `tidings` binary as a user runs it: names, outputs and exit codes of PRODUCT.md, on
//! SQLite and PostgreSQL; bad input exits 2 and leaves the database byte-for-byte unchanged.

use std::path::Path;
use std::process::{Command, Output};

use sha2::{Digest, Sha256};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_tidings");

pub(crate) fn run(dir: &Path, db: &str, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("TIDINGS_CONFIG")
        .env("TIDINGS_DATABASE__URL", db)
        .env(
            "TIDINGS_MAIL__INBOUND__TRUSTED_AUTHSERV_ID",
            "mx.example.test",
        )
        .env("TIDINGS_LOG", "warn")
        .output()
        .expect("binary runs")
}

/// The binary on database `db` in `dir`, allowed to fetch from loopback over http (a test's
/// own calendar or feed server): for runs whose logs a test reads.
pub(crate) fn fetching(dir: &Path, db: &str) -> Command {
    let mut c = Command::new(BIN);
    c.current_dir(dir)
        .env_remove("TIDINGS_CONFIG")
        .env("TIDINGS_DATABASE__URL", db)
        .env("TIDINGS_FETCH__ALLOW_PRIVATE", "true")
        .env("TIDINGS_FETCH__ALLOW_HTTP", "true");
    c
}

/// Team `core` with member `a@example.com` (A, UTC) on database `db`.
pub(crate) fn team_with_a(dir: &Path, db: &str) {
    ok(&run(dir, db, &["team", "add", "core"]));
    ok(&run(
        dir,
        db,
        &[
            "member",
            "add",
            "a@example.com",
            "--name",
            "A",
            "--tz",
            "UTC",
            "--team",
            "core",
        ],
    ));
}

pub(crate) fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn digest_of(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).expect("db file")))
}

fn member_add_then_list(db: &str, dir: &Path) {
    ok(&run(
        dir,
        db,
        &[
            "member",
            "add",
            "alice@example.com",
            "--name",
            "Alice",
            "--tz",
            "Europe/Berlin",
            "--digest-at",
            "08:30",
        ],
    ));
    ok(&run(
        dir,
        db,
        &[
            "member",
            "add",
            "bob@example.com",
            "--name",
            "Bob",
            "--tz",
            "Asia/Tokyo",
            "--request-at",
            "17:00",
            "--days",
            "mon,wed",
            "--team",
            "core",
        ],
    ));
    let out = ok(&run(dir, db, &["member", "list", "--json"]));
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let a = &v[0];
    assert_eq!(a["email"], "alice@example.com");
    assert_eq!(a["name"], "Alice");
    assert_eq!(a["timezone"], "Europe/Berlin");
    assert_eq!(a["request_at"], "16:30");
    assert_eq!(a["digest_at"], "08:30");
    assert_eq!(
        a["workdays"],
        serde_json::json!(["mon", "tue", "wed", "thu", "fri"])
    );
    assert_eq!(a["paused"], false);
    assert_eq!(a["away"], serde_json::json!([]));
    assert!(a["team"].is_null());
    assert_eq!(v[1]["workdays"], serde_json::json!(["mon", "wed"]));
    assert_eq!(v[1]["team"], "core");
    assert_eq!(v[1]["request_at"], "17:00");
}

#[test]
fn member_add_and_list_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("t.db").display());
    member_add_then_list(&db, dir.path());
}

#[test]
fn member_add_and_list_on_postgres() {
    let dir = tempfile::tempdir().unwrap();
    member_add_then_list(&crate::rig::fresh_pg_url(), dir.path());
}

#[test]
fn the_default_database_is_var_tidings_db_in_the_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(BIN)
        .args(["member", "list", "--json"])
        .current_dir(dir.path())
        .env_remove("TIDINGS_CONFIG")
        .output()
        .unwrap();
    assert_eq!(ok(&o).trim(), "[]");
    assert!(dir.path().join("var/tidings.db").exists());
}

#[test]
fn bad_input_exits_2_and_leaves_the_database_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.db");
    let db = format!("sqlite://{}", file.display());
    ok(&run(
        dir.path(),
        &db,
        &[
            "member",
            "add",
            "alice@example.com",
            "--name",
            "Alice",
            "--tz",
            "Europe/Berlin",
        ],
    ));
    let before = digest_of(&file);
    let bad: &[&[&str]] = &[
        &[
            "member",
            "add",
            "bob@example.com",
            "--name",
            "Bob",
            "--tz",
            "Mars/Olympus",
        ],
        &[
            "member",
            "add",
            "bob@example.com",
            "--name",
            "Bob",
            "--tz",
            "UTC",
            "--digest-at",
            "25:00",
        ],
        &[
            "member",
            "add",
            "bob@example.com",
            "--name",
            "Bob",
            "--tz",
            "UTC",
            "--days",
            "mon,funday",
        ],
        &[
            "member",
            "add",
            "alice@example.com",
            "--name",
            "Again",
            "--tz",
            "UTC",
        ],
        &[
            "member",
            "add",
            "not-an-email",
            "--name",
            "X",
            "--tz",
            "UTC",
        ],
        &["member", "set", "nobody@example.com", "--tz", "UTC"],
        &["member", "remove", "nobody@example.com"],
    ];
    for args in bad {
        let o = run(dir.path(), &db, args);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(err.trim().lines().count(), 1, "one clear line: {err}");
        assert_eq!(digest_of(&file), before, "{args:?} changed the database");
    }
}

#[test]
fn import_is_all_or_nothing_and_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.db");
    let db = format!("sqlite://{}", file.display());
    ok(&run(dir.path(), &db, &["member", "list"]));
    let before = digest_of(&file);
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "email,name,timezone,request_at,digest_at,workdays,team\na@example.com,A,Europe/Berlin,,,,core\nb@example.com,B,Nowhere/Land,,,,core\n").unwrap();
    let o = run(
        dir.path(),
        &db,
        &["member", "import", bad.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("line 3") && err.contains("timezone"), "{err}");
    assert_eq!(digest_of(&file), before);
    let good = dir.path().join("good.csv");
    std::fs::write(&good, "email,name,timezone,request_at,digest_at,workdays,team\na@example.com,A,Europe/Berlin,,07:45,mon;tue,core\nb@example.com,B,,,,,\n").unwrap();
    let out = ok(&run(
        dir.path(),
        &db,
        &["member", "import", good.to_str().unwrap()],
    ));
    assert!(out.contains("imported 2 members"), "{out}");
    let v: serde_json::Value =
        serde_json::from_str(&ok(&run(dir.path(), &db, &["member", "list", "--json"]))).unwrap();
    assert_eq!(v[0]["digest_at"], "07:45");
    assert_eq!(v[0]["workdays"], serde_json::json!(["mon", "tue"]));
    assert_eq!(v[1]["timezone"], "UTC");
    // Importing the same file again conflicts on line 2 and adds nothing.
    let before = digest_of(&file);
    let o = run(
        dir.path(),
        &db,
        &["member", "import", good.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("line 2"));
    assert_eq!(digest_of(&file), before);
}

#[test]
fn config_check_hides_secrets_and_bad_keys_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("tidings.toml");
    std::fs::write(&cfg, "[mail.smtp]\npassword = \"hunter2hunter2\"\n").unwrap();
    let o = Command::new(BIN)
        .args(["--config", cfg.to_str().unwrap(), "config", "check"])
        .output()
        .unwrap();
    let out = ok(&o);
    assert!(
        out.contains("[mail.smtp]") && !out.contains("hunter2"),
        "{out}"
    );
    std::fs::write(&cfg, "[web]\nbindd = \"127.0.0.1:1\"\n").unwrap();
    let o = Command::new(BIN)
        .args(["--config", cfg.to_str().unwrap(), "config", "check"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("bindd") && err.contains("tidings.toml"),
        "{err}"
    );
    let o = Command::new(BIN)
        .args(["config", "check"])
        .current_dir(dir.path())
        .env("TIDINGS_CONFIG", "/nonexistent/x.toml")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn schedule_next_prints_utc_instants() {
    let o = Command::new(BIN)
        .args([
            "schedule",
            "next",
            "--tz",
            "America/New_York",
            "--at",
            "02:30",
            "--days",
            "sun",
            "--after",
            "2026-03-01T00:00:00Z",
            "--count",
            "3",
        ])
        .output()
        .unwrap();
    assert_eq!(
        ok(&o),
        "2026-03-01T07:30:00Z\n2026-03-08T07:30:00Z\n2026-03-15T06:30:00Z\n"
    );
    let o = Command::new(BIN)
        .args([
            "schedule",
            "next",
            "--tz",
            "Nowhere",
            "--at",
            "02:30",
            "--after",
            "2026-03-01T00:00:00Z",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn reply_extract_reads_stdin_and_files() {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .args(["reply", "extract"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"Done with the tests.\n\nOn Mon, 9 Mar 2026 at 16:30, Tidings <t@example.test> wrote:\n> What did you get done?\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(ok(&out).trim(), "Done with the tests.");
}

#[test]
fn help_lists_every_command() {
    let out = ok(&Command::new(BIN).arg("--help").output().unwrap());
    for c in [
        "serve", "migrate", "config", "doctor", "demo", "member", "team", "token", "run-due",
        "reply", "schedule", "preview", "outbox", "inbox", "db",
    ] {
        assert!(out.contains(c), "--help lacks {c}");
    }
}

#[test]
fn demo_writes_requests_and_digests_without_quoted_history() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("demo");
    let out = ok(&Command::new(BIN)
        .args(["demo", "--dir", d.to_str().unwrap()])
        .output()
        .unwrap());
    assert!(out.contains("digests with quoted history: 0"), "{out}");
    let sent: Vec<String> = std::fs::read_dir(d.join("var/mail/sent/new"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    for who in 1..=3 {
        assert!(
            sent.iter()
                .any(|n| n.starts_with(&format!("request_{who}_"))),
            "{sent:?}"
        );
        assert!(
            sent.iter()
                .any(|n| n.starts_with(&format!("digest_{who}_"))),
            "{sent:?}"
        );
    }
    // The observer (member 5): never asked, one weekly digest, the Wednesday's.
    assert!(
        !sent.iter().any(|n| n.starts_with("request_5_")),
        "{sent:?}"
    );
    let weekly: Vec<&String> = sent.iter().filter(|n| n.starts_with("digest_5_")).collect();
    assert_eq!(weekly, ["digest_5_2026-12-02.tidings.eml"], "{sent:?}");
    let raw = std::fs::read_to_string(d.join("var/mail/sent/new").join(weekly[0])).unwrap();
    assert!(
        crate::support::subject_of(raw.as_bytes()).starts_with("Demo digest · week to Wed 2 Dec: "),
        "{raw}"
    );
    let text = crate::support::text_of(raw.as_bytes());
    // Her two stand-ups and her answer to the demo's second check-in, Tuesday wins.
    assert!(text.contains("Ana Lima — 3 updates"), "{text}");
    assert!(
        out.contains("weekly digest: ") && out.contains("digest_5_2026-12-02"),
        "{out}"
    );
    // A comment by reply and a resolved blocker (#18): Ana's Thursday digest opens with Ben's
    // comment and shows Dev's blocker as resolved.
    assert!(out.contains("comment:       Ben Carter replied"), "{out}");
    assert!(
        out.contains("blocker:       Dev Patel replied \"resolved\""),
        "{out}"
    );
    let ana = std::fs::read_to_string(d.join("var/mail/sent/new/digest_1_2026-12-03.tidings.eml"))
        .unwrap();
    let text = crate::support::text_of(ana.as_bytes());
    assert!(
        text.contains("NEEDS YOU\n* Ben Carter commented on your update of Tue 1 Dec")
            && text.contains("Great numbers!"),
        "{text}"
    );
    // Resolved on the demo's Wednesday, in its clock, struck through in the HTML part.
    assert!(
        text.contains("[resolved Wed 2 Dec]") && !text.contains("BLOCKERS"),
        "{text}"
    );
    assert!(
        crate::support::html_of(ana.as_bytes()).contains("<s>still no access to the analytics"),
        "{ana}"
    );
    // The team log: written as Markdown, its address printed.
    assert!(d.join("team-log.md").exists());
    assert!(out.contains("/log (signs Ana Lima in"), "{out}");
}

#[test]
fn teams_are_added_and_listed() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("t.db").display());
    assert!(ok(&run(dir.path(), &db, &["team", "add", "core"])).contains("added team core"));
    assert_eq!(
        run(dir.path(), &db, &["team", "add", "core"]).status.code(),
        Some(2)
    );
    ok(&run(
        dir.path(),
        &db,
        &[
            "member",
            "add",
            "a@example.com",
            "--name",
            "A",
            "--tz",
            "UTC",
            "--team",
            "core",
        ],
    ));
    let v: serde_json::Value =
        serde_json::from_str(&ok(&run(dir.path(), &db, &["team", "list", "--json"]))).unwrap();
    assert_eq!(
        v,
        serde_json::json!([{"name": "core", "members": 1, "questions": null, "leads": [], "escalate_after": 2}])
    );
}

#[test]
fn a_team_gets_its_own_questions_and_can_go_back_to_the_default() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("t.db").display());
    ok(&run(
        dir.path(),
        &db,
        &["team", "add", "ops", "--question", "Any incidents?"],
    ));
    let list = |dir: &Path| -> serde_json::Value {
        serde_json::from_str(&ok(&run(dir, &db, &["team", "list", "--json"]))).unwrap()
    };
    assert_eq!(
        list(dir.path())[0]["questions"],
        serde_json::json!(["Any incidents?"])
    );
    ok(&run(
        dir.path(),
        &db,
        &[
            "team",
            "set",
            "ops",
            "--question",
            "What shipped?",
            "--question",
            "What's next?",
        ],
    ));
    assert_eq!(
        list(dir.path())[0]["questions"],
        serde_json::json!(["What shipped?", "What's next?"])
    );
    ok(&run(
        dir.path(),
        &db,
        &["team", "set", "ops", "--default-questions"],
    ));
    assert!(list(dir.path())[0]["questions"].is_null());
    // Bad input exits 2: no such team, an empty question, nothing to set.
    for args in [
        &["team", "set", "nope", "--question", "x"][..],
        &["team", "set", "ops", "--question", "  "][..],
        &["team", "set", "ops"][..],
    ] {
        assert_eq!(
            run(dir.path(), &db, args).status.code(),
            Some(2),
            "{args:?}"
        );
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn http_get(port: u16, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

#[test]
fn serve_answers_health_checks_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = Command::new(BIN)
        .arg("serve")
        .current_dir(dir.path())
        .env_remove("TIDINGS_CONFIG")
        .env("TIDINGS_WEB__BIND", format!("127.0.0.1:{port}"))
        .env("TIDINGS_SCHEDULE__TICK_SECONDS", "1")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let health = loop {
        if let Some(r) = http_get(port, "/healthz") {
            break r;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "serve did not come up"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(
        health.starts_with("HTTP/1.1 200") && health.contains("\"ok\""),
        "{health}"
    );
    let metrics = http_get(port, "/metrics").unwrap();
    assert!(metrics.contains("tidings_members 0"), "{metrics}");
    // The built-in defaults: SQLite and the Maildirs under ./var.
    assert!(dir.path().join("var/tidings.db").exists());
    assert!(dir.path().join("var/mail/sent/new").is_dir());
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        if let Some(code) = child.try_wait().unwrap() {
            let mut err = String::new();
            use std::io::Read;
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            assert!(code.success(), "exit {code:?}: {err}");
            assert!(err.contains("stopped"), "{err}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "serve did not stop on SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

fn quarantine_cli(db: &str, dir: &Path) {
    // Two messages to the base address (updates@localhost by default) in the inbox Maildir:
    // one from a stranger who becomes a member later (as delivered by a receiving server
    // that vouches for her From: `run` trusts `mx.example.test`), one that is not mail at all.
    let inbox = dir.join("var/mail/inbox");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(inbox.join(sub)).unwrap();
    }
    std::fs::write(
        inbox.join("new/1.eml"),
        "Authentication-Results: mx.example.test; dkim=pass header.d=example.com; dmarc=pass header.from=example.com\r\nFrom: Carol <carol@example.com>\r\nTo: updates@localhost\r\nSubject: my update\r\nMessage-ID: <c1@example.com>\r\n\r\nReviewed the API design.\r\n",
    )
    .unwrap();
    std::fs::write(inbox.join("new/2.eml"), b"\x00\x01 garbage \xff").unwrap();
    ok(&run(dir, db, &["run-due", "--now", "2026-03-09T12:00:00Z"]));

    let list = ok(&run(dir, db, &["inbox", "quarantine", "list", "--json"]));
    let v: serde_json::Value = serde_json::from_str(&list).expect("JSON");
    let rows = v.as_array().expect("an array");
    assert_eq!(rows.len(), 2, "{list}");
    let carol = rows
        .iter()
        .find(|r| r["sender"] == "carol@example.com")
        .expect("Carol's message");
    assert_eq!(carol["received"], "2026-03-09T12:00:00Z");
    assert!(
        carol["reason"].as_str().unwrap().contains("not a member"),
        "{carol}"
    );
    let carol_id = carol["id"].as_i64().unwrap().to_string();
    let garbage_id = rows
        .iter()
        .find(|r| r["sender"].is_null())
        .expect("the garbage")["id"]
        .as_i64()
        .unwrap()
        .to_string();
    let human = ok(&run(dir, db, &["inbox", "quarantine", "list"]));
    assert!(human.contains("carol@example.com"), "{human}");

    let show = ok(&run(dir, db, &["inbox", "quarantine", "show", &carol_id]));
    assert!(
        show.contains("reason:") && show.contains("not a member"),
        "{show}"
    );
    assert!(show.contains("Reviewed the API design."), "{show}");

    // Unknown ids and members are bad input.
    for args in [
        vec!["inbox", "quarantine", "show", "999"],
        vec!["inbox", "quarantine", "reprocess", "999"],
        vec![
            "inbox",
            "quarantine",
            "release",
            "999",
            "--member",
            "carol@example.com",
        ],
        vec![
            "inbox",
            "quarantine",
            "release",
            &garbage_id,
            "--member",
            "nobody@example.com",
        ],
        vec![
            "inbox",
            "quarantine",
            "release",
            &garbage_id,
            "--member",
            "x",
            "--date",
            "2026-13-01",
        ],
    ] {
        let o = run(dir, db, &args);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }

    // After Carol is added, reprocessing accepts her message.
    ok(&run(
        dir,
        db,
        &[
            "member",
            "add",
            "carol@example.com",
            "--name",
            "Carol",
            "--tz",
            "UTC",
        ],
    ));
    let out = ok(&run(
        dir,
        db,
        &["inbox", "quarantine", "reprocess", "--all"],
    ));
    assert!(out.contains(&format!("{carol_id}: accepted")), "{out}");
    assert!(
        out.contains(&format!("{garbage_id}: still quarantined")),
        "{out}"
    );
    // The garbage has no text to release.
    let o = run(
        dir,
        db,
        &[
            "inbox",
            "quarantine",
            "release",
            &garbage_id,
            "--member",
            "carol@example.com",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    let list = ok(&run(dir, db, &["inbox", "quarantine", "list", "--json"]));
    let v: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1, "{list}");
}

#[test]
fn quarantine_list_show_reprocess_and_release_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("t.db").display());
    quarantine_cli(&db, dir.path());
}

#[test]
fn quarantine_list_show_reprocess_and_release_on_postgres() {
    let dir = tempfile::tempdir().unwrap();
    quarantine_cli(&crate::rig::fresh_pg_url(), dir.path());
}

#[test]
fn a_reader_that_goes_away_ends_the_output_quietly() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("t.db").display());
    let mut csv = String::from("email,name,timezone,request_at,digest_at,workdays,team\n");
    for i in 0..3000 {
        csv.push_str(&format!(
            "m{i}@example.com,Member {i},Europe/Berlin,,,,core\n"
        ));
    }
    let file = dir.path().join("m.csv");
    std::fs::write(&file, csv).unwrap();
    ok(&run(
        dir.path(),
        &db,
        &["member", "import", file.to_str().unwrap()],
    ));
    for args in [&["member", "list"][..], &["member", "list", "--json"][..]] {
        // `tidings member list | head -c 100`: far more than a pipe holds, read a little.
        let mut child = Command::new(BIN)
            .args(args)
            .current_dir(dir.path())
            .env_remove("TIDINGS_CONFIG")
            .env("TIDINGS_DATABASE__URL", &db)
            .env("TIDINGS_LOG", "off")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut head = [0u8; 100];
        child.stdout.take().unwrap().read_exact(&mut head).unwrap();
        let o = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(o.status.code(), Some(0), "{args:?}: {err}");
    }
}

/// GETs `path` on `base`, following a redirect once with the cookie it set: the status at
/// the end.
async fn open(http: &reqwest::Client, base: &str, path: &str) -> (reqwest::StatusCode, String) {
    let r = http.get(format!("{base}{path}")).send().await.unwrap();
    if !r.status().is_redirection() {
        let s = r.status();
        return (s, r.text().await.unwrap_or_default());
    }
    let to = r.headers()["location"].to_str().unwrap().to_string();
    let cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|c| c.to_str().ok())
        .and_then(|c| c.split(';').next())
        .unwrap_or_default()
        .to_string();
    let r = http
        .get(format!("{base}{to}"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    let s = r.status();
    (s, r.text().await.unwrap_or_default())
}

#[tokio::test]
async fn the_demo_is_served_by_the_command_it_prints_and_every_link_it_wrote_opens() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("demo");
    let out = ok(&Command::new(BIN)
        .args(["demo", "--dir", d.to_str().unwrap()])
        .output()
        .unwrap());
    // The counts printed are the files written.
    let sent = d.join("var/mail/sent/new");
    let names: Vec<String> = std::fs::read_dir(&sent)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    for (kind, label) in [
        ("request", "update requests written:"),
        ("digest", "digests written:"),
        ("receipt", "receipts written:"),
    ] {
        let files = names.iter().filter(|n| n.starts_with(kind)).count();
        let printed: usize = out
            .lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("{label} is printed:\n{out}"));
        assert_eq!(printed, files, "{kind}");
    }
    // Every day has its own replies: no update text twice in the log.
    let log = std::fs::read_to_string(d.join("team-log.md")).unwrap();
    let mut seen = std::collections::HashSet::new();
    for l in log.lines().filter(|l| l.len() > 30 && !l.starts_with('#')) {
        assert!(seen.insert(l), "written twice in the log: {l}");
    }
    // The printed command serves it (on another port here, so tests can run side by side).
    let config = out
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("tidings --config ")
                .and_then(|l| l.strip_suffix(" serve"))
        })
        .expect("the serve command is printed")
        .to_string();
    let printed = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("then open "))
        .and_then(|l| l.split_whitespace().next())
        .expect("the link is printed")
        .to_string();
    let port = crate::support::closed_port();
    let _serve = crate::support::Serve(
        Command::new(BIN)
            .args(["--config", &config, "serve"])
            .env("TIDINGS_WEB__BIND", format!("127.0.0.1:{port}"))
            .env("TIDINGS_LOG", "warn")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for _ in 0..100 {
        if http.get(format!("{base}/healthz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let path_of = |url: &str| url.trim_start_matches("http://127.0.0.1:8080").to_string();
    let (s, page) = open(&http, &base, &path_of(&printed)).await;
    assert_eq!(s, reqwest::StatusCode::OK, "{printed}: {page}");
    assert!(
        page.contains("Ana Lima") && page.contains("Sign out"),
        "{page}"
    );
    // Every link in every kind of email the demo wrote.
    let mut kinds = std::collections::BTreeMap::new();
    for n in &names {
        let raw = std::fs::read(sent.join(n)).unwrap();
        let text = crate::support::text_of(&raw);
        for url in text
            .split(|c: char| c.is_whitespace() || c == '<' || c == '>' || c == '(' || c == ')')
            .filter(|w| w.starts_with("http://127.0.0.1:8080/"))
        {
            let kind = n.split('_').next().unwrap().to_string();
            let (s, page) = open(&http, &base, &path_of(url)).await;
            assert_eq!(s, reqwest::StatusCode::OK, "{n}: {url}: {page}");
            *kinds.entry(kind).or_insert(0) += 1;
        }
    }
    for kind in ["request", "digest", "receipt"] {
        assert!(kinds.get(kind).is_some_and(|n| *n > 0), "{kinds:?}");
    }
}

#[test]
fn member_add_says_when_the_first_mail_goes_out_and_warns_about_no_team() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("t.db").display());
    let o = run(
        dir.path(),
        &db,
        &[
            "member",
            "add",
            "ann@example.com",
            "--name",
            "Ann",
            "--tz",
            "Asia/Tokyo",
        ],
    );
    let out = ok(&o);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("warning: ann@example.com is in no team"),
        "{err}"
    );
    assert!(err.contains("--team NAME"), "{err}");
    for label in ["first request: ", "first digest: "] {
        let line = out
            .lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("{label} in:\n{out}"));
        assert!(
            line.contains(" Asia/Tokyo (") && line.ends_with(" here)"),
            "{line}"
        );
    }
    assert!(
        out.contains("16:30 Asia/Tokyo") && out.contains("08:30 Asia/Tokyo"),
        "{out}"
    );
    // In a team: no warning. An observer is never asked.
    let o = run(
        dir.path(),
        &db,
        &[
            "member",
            "add",
            "bo@example.com",
            "--name",
            "Bo",
            "--tz",
            "UTC",
            "--team",
            "core",
            "--observer",
            "true",
        ],
    );
    let out = ok(&o);
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains("warning"),
        "{out}"
    );
    assert!(
        out.contains("first request: never (an observer is not asked)"),
        "{out}"
    );
}
