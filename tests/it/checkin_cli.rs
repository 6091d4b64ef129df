//! `tidings checkin` as a user runs it (#33): the README's examples on a fresh SQLite file,
//! listed as JSON with where each check-in's answers go; a bad destination exits 2 naming the
//! option and what it takes, and changes nothing.

use crate::cli::{ok, run};

#[test]
fn checkins_are_added_listed_changed_and_removed_from_the_command_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let p = dir.path();
    let db = format!("sqlite://{}", p.join("t.db").display());
    ok(&run(p, &db, &["team", "add", "core"]));
    ok(&run(
        p,
        &db,
        &[
            "checkin",
            "add",
            "core",
            "Friday wins",
            "--question",
            "What went well this week?",
            "--question",
            "scale: How was your week?",
            "--weekly",
            "fri",
            "--at",
            "15:00",
            "--to",
            "own",
        ],
    ));
    ok(&run(
        p,
        &db,
        &[
            "checkin",
            "add",
            "core",
            "Leads",
            "--question",
            "What did you learn?",
            "--monthly",
            "first-mon",
            "--at",
            "10:00",
            "--tz",
            "Europe/Berlin",
            "--who",
            "leads",
            "--to",
            "log",
        ],
    ));
    let list = || -> serde_json::Value {
        serde_json::from_str(&ok(&run(p, &db, &["checkin", "list", "core", "--json"])))
            .expect("JSON")
    };
    let v = list();
    let rows: Vec<(String, String, String)> = v
        .as_array()
        .expect("a list")
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap_or_default().to_string(),
                c["rhythm"].as_str().unwrap_or_default().to_string(),
                c["to"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("Daily stand-up".into(), "workdays".into(), "digest".into()),
            ("Friday wins".into(), "weekly:fri".into(), "own".into()),
            ("Leads".into(), "monthly:first-mon".into(), "log".into()),
        ],
        "{v}"
    );
    let text = ok(&run(p, &db, &["checkin", "list", "core"]));
    assert!(text.contains("(answers in a digest of its own)"), "{text}");
    // A destination that is none: exit 2, the option and the choices named, nothing changed.
    let bad = run(
        p,
        &db,
        &["checkin", "set", "core", "Friday wins", "--to", "chat"],
    );
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("--to") && err.contains("digest, own or log"),
        "{err}"
    );
    assert_eq!(list(), v);
    // Back to the daily digest, then removed.
    ok(&run(
        p,
        &db,
        &["checkin", "set", "core", "friday wins", "--to", "digest"],
    ));
    assert_eq!(list()[1]["to"], "digest");
    ok(&run(p, &db, &["checkin", "remove", "core", "Friday wins"]));
    assert_eq!(list().as_array().map(Vec::len), Some(2));
}
