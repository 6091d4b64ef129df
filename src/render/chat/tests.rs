//! The room summary on every platform: within each documented limit, in order, nothing
//! silently cut (a 100-member team with long updates, 12 open blockers, 30 not written).

use chrono::NaiveDate;
use serde_json::Value;

use super::platforms::*;
use super::*;
use crate::domain::sections::split;

fn d(s: &str) -> NaiveDate {
    s.parse().expect("date")
}

fn big_team() -> RoomSummary {
    let long = (1..=30)
        .map(|i| format!("- shipped part {i} of the importer, with tests & docs <b>"))
        .collect::<Vec<_>>()
        .join("\n");
    let updates = (0..70)
        .map(|i| {
            let text = format!("Done:\n{long}\nNext: part 31\nBlockers: none");
            RoomUpdate::condensed(
                &format!("Member {i:03}"),
                &split(&text, &[]),
                Some(format!(
                    "https://t.example.org/log/core?from=2026-03-09#u{i}"
                )),
            )
        })
        .collect();
    let blockers = (0..12)
        .map(|i| {
            RoomBlocker::new(
                &format!("Member {i:03}"),
                d("2026-03-02"),
                &(0..5)
                    .map(|l| format!("waiting on vendor {l}"))
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    RoomSummary {
        team: "core".into(),
        date: d("2026-03-09"),
        asked: 100,
        blockers,
        updates,
        missing: (70..100).map(|i| format!("Member {i:03}")).collect(),
        log_url: Some("https://t.example.org/log/core?from=2026-03-09&to=2026-03-09".into()),
    }
}

fn chars(v: &Value) -> usize {
    v.as_str().map_or(0, |s| s.chars().count())
}

/// Every member's name, in the order of the summary, and every "more lines" note, somewhere.
fn complete(platform: Platform, msgs: &[Value]) {
    let all: String = msgs.iter().map(Value::to_string).collect();
    for i in 0..100 {
        assert!(
            all.contains(&format!("Member {i:03}")),
            "{platform:?}: Member {i:03}"
        );
    }
    assert!(
        all.contains("more lines in the log"),
        "{platform:?}: the cut is said"
    );
    let b = all.find("waiting on vendor 0").expect("blocker");
    let u = all.find("shipped part 1 ").expect("update");
    assert!(b < u, "{platform:?}: blockers first");
    assert!(all.contains("Not written yet: Member 070"), "{platform:?}");
}

#[test]
fn slack_keeps_block_kit_limits() {
    let msgs = messages(Platform::Slack, &big_team());
    assert!(msgs.len() >= 2, "split: {}", msgs.len());
    for m in &msgs {
        let blocks = m["blocks"].as_array().expect("blocks");
        assert!(blocks.len() <= SLACK_BLOCKS);
        for b in blocks {
            match b["type"].as_str() {
                Some("header") => assert!(chars(&b["text"]["text"]) <= SLACK_HEADER_CHARS),
                Some("section") => assert!(chars(&b["text"]["text"]) <= SLACK_SECTION_CHARS),
                Some("context") => assert!(chars(&b["elements"][0]["text"]) <= SLACK_SECTION_CHARS),
                other => panic!("block {other:?}"),
            }
        }
        assert!(!m.to_string().contains("<b>"), "escaped: {m}");
    }
    complete(Platform::Slack, &msgs);
}

#[test]
fn discord_keeps_embed_limits() {
    let msgs = messages(Platform::Discord, &big_team());
    for m in &msgs {
        assert!(chars(&m["content"]) <= DISCORD_CONTENT_CHARS);
        let embeds = m["embeds"].as_array().expect("embeds");
        assert!(embeds.len() <= DISCORD_EMBEDS);
        let total: usize = embeds
            .iter()
            .map(|e| chars(&e["title"]) + chars(&e["description"]))
            .sum();
        assert!(total <= DISCORD_TOTAL_CHARS, "{total}");
        for e in embeds {
            assert!(chars(&e["title"]) <= DISCORD_TITLE_CHARS);
            assert!(chars(&e["description"]) <= DISCORD_DESCRIPTION_CHARS);
        }
        assert_eq!(
            m["allowed_mentions"]["parse"],
            serde_json::json!([]),
            "no @everyone"
        );
    }
    complete(Platform::Discord, &msgs);
}

#[test]
fn mattermost_teams_google_chat_and_matrix_keep_their_sizes() {
    let s = big_team();
    for m in messages(Platform::Mattermost, &s) {
        assert!(chars(&m["text"]) <= MATTERMOST_CHARS);
    }
    complete(Platform::Mattermost, &messages(Platform::Mattermost, &s));
    let teams = messages(Platform::Teams, &s);
    for m in &teams {
        assert!(
            m.to_string().len() <= TEAMS_BYTES + 1000,
            "{}",
            m.to_string().len()
        );
        assert_eq!(m["attachments"][0]["content"]["type"], "AdaptiveCard");
    }
    complete(Platform::Teams, &teams);
    let chat = messages(Platform::GoogleChat, &s);
    for m in &chat {
        assert!(m.to_string().len() <= GOOGLE_CHAT_BYTES + 1000);
        let widgets = m["cardsV2"][0]["card"]["sections"][0]["widgets"]
            .as_array()
            .expect("widgets");
        assert!(widgets.len() <= GOOGLE_CHAT_WIDGETS);
    }
    complete(Platform::GoogleChat, &chat);
    let mx = messages(Platform::Matrix, &s);
    for m in &mx {
        assert!(m.to_string().len() <= 65_536 - 1024);
        assert_eq!(m["msgtype"], "m.notice");
    }
    complete(Platform::Matrix, &mx);
}

#[test]
fn a_small_day_is_one_message_and_reads_well() {
    let s = RoomSummary {
        team: "core".into(),
        date: d("2026-03-09"),
        asked: 3,
        blockers: vec![RoomBlocker::new(
            "Ana Lima",
            d("2026-03-05"),
            &["waiting on legal".into()],
        )],
        updates: vec![RoomUpdate::condensed(
            "Ana Lima",
            &split("Done: the importer\nBlockers: waiting on legal", &[]),
            None,
        )],
        missing: vec!["Ben Carter".into(), "Cy Park".into()],
        log_url: Some("https://t.example.org/log/core".into()),
    };
    assert_eq!(
        s.headline(),
        "core · Mon 9 Mar: 1 of 3 wrote, 1 blocker open"
    );
    for p in Platform::ALL {
        assert_eq!(messages(p, &s).len(), 1, "{p:?}");
        assert_eq!(Platform::parse(p.as_str()), Some(p));
    }
    let mx = &messages(Platform::Matrix, &s)[0];
    assert_eq!(
        mx["body"],
        "core · Mon 9 Mar: 1 of 3 wrote, 1 blocker open\n\nOpen blockers (1)\n\nAna Lima (since Thu 5 Mar): waiting on legal\n\nAna Lima\nDone: the importer\nBlockers: waiting on legal\n\nNot written yet: Ben Carter, Cy Park\n\nThe team log: https://t.example.org/log/core"
    );
}
