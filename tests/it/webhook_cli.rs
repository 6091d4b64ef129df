//! `tidings webhook` as an admin runs it: a bad address or event exits 2 naming the problem;
//! `add` prints the secret once; `list` never shows the secret or the address's path whole;
//! `test` sends a ping the Standard Webhooks reference library verifies, and no log line at
//! trace level holds the address or the secret; `remove`.

use crate::cli::{BIN, fetching, ok, run, team_with_a};
use crate::support::webhooks::Receiver;

fn err(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

#[test]
fn webhooks_are_added_listed_tested_and_removed() {
    let dir = tempfile::tempdir().expect("dir");
    let db = format!("sqlite://{}", dir.path().join("t.db").display());
    team_with_a(dir.path(), &db);
    let rx = Receiver::start(0, 500);

    // Refused, exit 2, naming why: loopback without fetch.allow_private, a scheme, an event.
    let o = run(
        dir.path(),
        &db,
        &["webhook", "add", "https://127.0.0.1:9/x"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert!(
        err(&o).contains("127.0.0.1 is a loopback") && err(&o).contains("fetch.allow_private"),
        "{}",
        err(&o)
    );
    let o = run(dir.path(), &db, &["webhook", "add", "ftp://example.org/x"]);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    let o = run(
        dir.path(),
        &db,
        &[
            "webhook",
            "add",
            "https://example.org/x",
            "--events",
            "update.deleted",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).contains("--events: unknown event \"update.deleted\""),
        "{}",
        err(&o)
    );
    let o = run(
        dir.path(),
        &db,
        &["webhook", "add", "https://example.org/x", "--team", "nope"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("no team named \"nope\""), "{}", err(&o));

    let added = fetching(dir.path(), &db)
        .args([
            "webhook",
            "add",
            &rx.url,
            "--team",
            "core",
            "--events",
            "update.created,blocker.opened",
        ])
        .output()
        .expect("runs");
    let out = ok(&added);
    assert!(
        out.contains(
            "webhook 1 added: 127.0.0.1 …ings for team core, events update.created,blocker.opened"
        ),
        "{out}"
    );
    let secret = out
        .lines()
        .find_map(|l| l.strip_prefix("signing secret (shown only now): "))
        .expect("the secret")
        .to_string();
    assert!(secret.starts_with("whsec_"));

    let list = ok(&run(dir.path(), &db, &["webhook", "list"]));
    assert!(
        list.contains("1  127.0.0.1 …ings  core  ok  waiting 0, failed 0"),
        "{list}"
    );
    assert!(
        !list.contains(&secret) && !list.contains("/hooks/tidings"),
        "{list}"
    );
    let json = ok(&run(dir.path(), &db, &["webhook", "list", "--json"]));
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(
        v[0]["events"],
        serde_json::json!(["update.created", "blocker.opened"])
    );
    assert!(!json.contains(&secret));

    let tested = fetching(dir.path(), &db)
        .args(["webhook", "test", "1"])
        .env("TIDINGS_LOG", "trace")
        .output()
        .expect("runs");
    assert!(ok(&tested).contains("webhook 1: ping delivered and accepted"));
    let log = err(&tested);
    assert!(
        !log.contains("/hooks/tidings") && !log.contains(&secret),
        "the address or secret in a log line"
    );
    let v = rx.verified(&secret);
    assert_eq!(v.len(), 1);
    assert!(
        v[0].ok && v[0].kind.as_deref() == Some("ping"),
        "{:?}",
        v[0]
    );
    assert_eq!(v[0].data.as_ref().expect("data")["webhook"]["team"], "core");
    let listed = ok(&run(dir.path(), &db, &["outbox", "list"]));
    assert!(
        listed.contains("sent     ping") && listed.contains("webhook 1"),
        "{listed}"
    );

    let o = run(dir.path(), &db, &["webhook", "test", "9"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("no webhook 9"), "{}", err(&o));
    assert!(ok(&run(dir.path(), &db, &["webhook", "remove", "1"])).contains("webhook 1 removed"));
    assert!(ok(&run(dir.path(), &db, &["webhook", "list"])).contains("no webhooks"));
    let _ = BIN;
}

#[test]
fn a_ping_the_receiver_refuses_exits_1_saying_what_it_answered() {
    let dir = tempfile::tempdir().expect("dir");
    let db = format!("sqlite://{}", dir.path().join("t.db").display());
    team_with_a(dir.path(), &db);
    let rx = Receiver::start(5, 503);
    ok(&fetching(dir.path(), &db)
        .args(["webhook", "add", &rx.url])
        .output()
        .expect("runs"));
    let o = fetching(dir.path(), &db)
        .args(["webhook", "test", "1"])
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(
        err(&o).contains("the ping was not accepted: the server answered 503"),
        "{}",
        err(&o)
    );
    let list = ok(&run(dir.path(), &db, &["webhook", "list"]));
    assert!(
        list.contains("failing") && list.contains("why: the server answered 503"),
        "{list}"
    );
}
