//! Chat posts as each platform receives them (#36): a 100-member team with long updates, 12
//! open blockers and 30 people who have not written, posted to one room of every platform on
//! a loopback receiver. Every post the receiver got keeps its platform's published limits and
//! shape (Slack blocks, Discord embeds, Mattermost text, Google Chat widgets, Matrix event
//! size; Teams cards valid against Microsoft's Adaptive Card 1.4 schema, pinned in
//! tests/fixtures/schemas), and nothing is cut silently: every member is named, in order,
//! and a shortened update says how much is left out.

use serde_json::Value;
use tidings::domain::schedule::{LocalTime, Workdays, parse_tz};
use tidings::jobs::chat;
use tidings::render::chat::platforms::*;
use tidings::store::chat::NewRoom;

use crate::helpers::*;
use crate::support::webhooks::Receiver;

fn chars(v: &Value) -> usize {
    v.as_str().map_or(0, |s| s.chars().count())
}

fn body(rec: &Value) -> Value {
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(rec["body"].as_str().unwrap_or_default())
        .expect("base64");
    serde_json::from_slice(&raw).expect("json body")
}

/// What Microsoft's schema says of each card: "ok" or "bad: …".
fn adaptive_card_check(cards: &[Value]) -> Vec<String> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let dir = env!("CARGO_MANIFEST_DIR");
    let mut p = Command::new("/var/cache/tidings-rig/py/bin/python")
        .arg(format!("{dir}/tests/support/json_schema_check.py"))
        .arg(format!(
            "{dir}/tests/fixtures/schemas/adaptive-card-1.4.0.json"
        ))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the rig's python (scripts/rig install)");
    {
        let mut stdin = p.stdin.take().expect("stdin");
        for c in cards {
            writeln!(stdin, "{c}").expect("write");
        }
    }
    let out = p.wait_with_output().expect("checker");
    assert!(
        out.status.success(),
        "the schema check failed (jsonschema_rs missing?)"
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

fn check_limits(kind: &str, m: &Value) {
    match kind {
        "slack" => {
            let blocks = m["blocks"].as_array().expect("blocks");
            assert!(blocks.len() <= SLACK_BLOCKS, "{}", blocks.len());
            for b in blocks {
                let text = match b["type"].as_str() {
                    Some("header") => {
                        assert!(chars(&b["text"]["text"]) <= SLACK_HEADER_CHARS);
                        continue;
                    }
                    Some("section") => &b["text"]["text"],
                    Some("context") => &b["elements"][0]["text"],
                    other => panic!("a block Slack does not take here: {other:?}"),
                };
                assert!(chars(text) <= SLACK_SECTION_CHARS);
            }
            assert!(chars(&m["text"]) > 0, "a notification text");
        }
        "mattermost" => assert!(chars(&m["text"]) <= MATTERMOST_CHARS),
        "discord" => {
            assert!(chars(&m["content"]) <= DISCORD_CONTENT_CHARS);
            let embeds = m["embeds"].as_array().expect("embeds");
            assert!(embeds.len() <= DISCORD_EMBEDS);
            let total: usize = embeds
                .iter()
                .map(|e| chars(&e["title"]) + chars(&e["description"]))
                .sum();
            assert!(total <= DISCORD_TOTAL_CHARS, "{total}");
            assert_eq!(m["allowed_mentions"]["parse"], serde_json::json!([]));
        }
        "teams" => {
            assert!(m.to_string().len() <= 28 * 1024, "{}", m.to_string().len());
            assert_eq!(m["type"], "message");
            assert_eq!(
                m["attachments"][0]["contentType"],
                "application/vnd.microsoft.card.adaptive"
            );
        }
        "google-chat" => {
            assert!(m.to_string().len() <= 32_000);
            let widgets = m["cardsV2"][0]["card"]["sections"][0]["widgets"]
                .as_array()
                .expect("widgets");
            assert!(widgets.len() <= GOOGLE_CHAT_WIDGETS);
        }
        "matrix" => {
            assert!(m.to_string().len() <= 65_536 - 2048);
            assert_eq!(m["format"], "org.matrix.custom.html");
        }
        other => panic!("{other}"),
    }
}

async fn a_hundred_members_on_every_platform(db: Db) {
    let app = TestApp::with(db, |c| {
        c.fetch.allow_private = true;
        c.fetch.allow_http = true;
        c.web.base_url = "https://tidings.example.test".into();
    })
    .await;
    let long = (1..=30)
        .map(|i| format!("- shipped part {i} of the importer, with tests & docs <b>"))
        .collect::<Vec<_>>()
        .join("\n");
    for i in 0..100 {
        let id = app
            .member(
                &format!("m{i:03}@example.test"),
                &format!("Member {i:03}"),
                "UTC",
            )
            .await;
        if i < 12 {
            app.standup(
                id,
                "2026-03-26",
                &format!(
                    "Blockers: waiting on vendor {i}\nand a second line\nand a third\nand a fourth"
                ),
            )
            .await;
        }
        if i < 70 {
            app.standup(id, "2026-03-27", &format!("Done:\n{long}\nNext: part 31"))
                .await;
        }
    }
    let rx = Receiver::start(0, 500);
    let base = rx.url.trim_end_matches("/hooks/tidings").to_string();
    let kinds = [
        "slack",
        "mattermost",
        "discord",
        "teams",
        "google-chat",
        "matrix",
    ];
    for kind in kinds {
        let matrix = kind == "matrix";
        let url = if matrix {
            base.clone()
        } else {
            format!("{base}/{kind}")
        };
        let n = NewRoom {
            team: "core",
            kind,
            url: &url,
            room: matrix.then_some("!r:example.test"),
            token: matrix.then_some("bot-token"),
            at: LocalTime::parse("09:00").expect("time"),
            tz: parse_tz("UTC").expect("zone"),
            days: Workdays::parse("mon-fri").expect("days"),
        };
        app.ctx.store.add_room(&n, 0).await.expect("room");
    }
    let r = chat::run(&app.ctx, at("2026-03-27T09:00:00Z"))
        .await
        .expect("run");
    assert_eq!((r.queued, r.failed, r.retried), (6, 0, 0), "{r:?}");
    let got: Vec<Value> = rx
        .raw()
        .iter()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(got.len(), r.sent);
    for kind in kinds {
        let posts: Vec<Value> = got
            .iter()
            .filter(|g| {
                let p = g["path"].as_str().unwrap_or_default();
                if kind == "matrix" {
                    p.starts_with("/_matrix/")
                } else {
                    p.split('?').next() == Some(&format!("/{kind}"))
                }
            })
            .map(body)
            .collect();
        assert!(!posts.is_empty(), "{kind}: nothing posted");
        for m in &posts {
            check_limits(kind, m);
        }
        let all: String = posts.iter().map(Value::to_string).collect();
        let mut last = 0;
        for i in 70..100 {
            assert!(
                all.contains(&format!("Member {i:03}")),
                "{kind}: Member {i:03} not named"
            );
        }
        for i in 0..70 {
            let at = all[last..]
                .find(&format!("Member {i:03}"))
                .unwrap_or_else(|| panic!("{kind}: Member {i:03} missing or out of order"));
            last += at;
        }
        assert!(
            all.contains("more lines in the log"),
            "{kind}: a cut is said"
        );
        assert!(
            all.contains("waiting on vendor 11"),
            "{kind}: every blocker"
        );
        if kind == "teams" {
            let cards: Vec<Value> = posts
                .iter()
                .map(|m| m["attachments"][0]["content"].clone())
                .collect();
            for line in adaptive_card_check(&cards) {
                assert_eq!(line, "ok", "Microsoft's Adaptive Card 1.4 schema");
            }
        }
        if kind == "google-chat" {
            let path = got
                .iter()
                .find_map(|g| g["path"].as_str().filter(|p| p.starts_with("/google-chat")))
                .unwrap_or_default();
            assert!(path.contains("threadKey=tidings-2026-03-27"), "{path}");
        }
    }
}

#[tokio::test]
async fn a_hundred_members_on_every_platform_sqlite() {
    a_hundred_members_on_every_platform(Db::Sqlite).await
}

#[tokio::test]
async fn a_hundred_members_on_every_platform_postgres() {
    a_hundred_members_on_every_platform(Db::Postgres).await
}
