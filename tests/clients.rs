//! Replies written by real mail clients, replayed through the real servers. The messages in
//! `tests/corpus/clients/` are what NeoMutt (format=flowed, soft line breaks) and s-nail
//! (no MIME at all) sent when a person answered an update request under each quoted
//! question, or top/bottom-posted with labels (see that folder's README for how they were
//! captured). Each is sent through the rig's Postfix with only its addresses changed to
//! the rig's (the body stays byte for byte as the client wrote it), read over IMAP from
//! Dovecot, stored as its sections, and the team's digest shows every blocker and none of
//! the quoted request.

mod support;

use std::time::{Duration, Instant};

use support::{add_rig_member, address_in, at, header, of_kind, rig, rig_config, smtp_send};
use support::{imap_clear, text_of, wait_for};
use tidings::domain::EmailAddress;
use tidings::domain::sections::Kind;
use tidings::jobs::{self, Ctx};

const LONG: &str = "Shipped the CSV importer and wrote the migration guide for the billing team, which took longer than planned because the old schema had three undocumented columns.";

/// The sections an update must be stored as: (kind, answer).
type Sections = &'static [(Kind, &'static str)];

/// (rig user, captured message, the sections it must be stored as).
const CASES: &[(&str, &str, Sections)] = &[
    (
        "alice",
        "neomutt_interleaved.eml",
        &[
            (Kind::Done, LONG),
            (Kind::Next, "Review PR #42."),
            (Kind::Blockers, "Waiting on staging credentials from ops."),
        ],
    ),
    (
        "bob",
        "neomutt_flowed_top.eml",
        &[
            (Kind::Done, LONG),
            (Kind::Next, "Review PR #42."),
            (Kind::Blockers, "none"),
        ],
    ),
    (
        "carol",
        "snail_interleaved.eml",
        &[
            (Kind::Done, LONG),
            (Kind::Next, "Review PR #42."),
            (Kind::Blockers, "Waiting on staging credentials from ops."),
        ],
    ),
    (
        "erin",
        "snail_bottom.eml",
        &[
            (Kind::Done, LONG),
            (Kind::Next, "Review PR #42."),
            (Kind::Blockers, "Waiting on staging credentials."),
        ],
    ),
];

fn captured(name: &str) -> String {
    let path = format!("{}/tests/corpus/clients/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The captured message with the rig's addresses: the reply address and Message-ID of this
/// member's real request and the member's own From. CRLF on the wire, as an MTA sends it.
fn readdressed(raw: &str, user: &str, request: &[u8]) -> Vec<u8> {
    let to = address_in(&header(request, "Reply-To"));
    let mid = header(request, "Message-ID");
    raw.replace("reply+REPLYTOKEN@example.test", &to)
        .replace("<request-1@example.test>", &mid)
        .replace("alice@example.test", &format!("{user}@example.test"))
        .replace('\n', "\r\n")
        .into_bytes()
}

async fn tick(ctx: &Ctx, t: &str) {
    jobs::plan::run(ctx, at(t)).await.unwrap();
    let s = jobs::send::run(ctx, at(t)).await.unwrap();
    assert_eq!(s.failed, 0, "{s:?}");
}

async fn replay_on(db: &str, dir: &std::path::Path) {
    let rig = rig::Rig::shared();
    let ctx = Ctx::build(rig_config(rig, db, dir, "updates"))
        .await
        .expect("service builds");
    for (user, _, _) in CASES {
        add_rig_member(&ctx, user, user, "UTC").await;
    }
    add_rig_member(&ctx, "frank", "frank", "UTC").await;
    // Requests at 16:30 UTC on Monday 9 March.
    tick(&ctx, "2026-03-09T16:30:00Z").await;
    for (user, file, _) in CASES {
        let req = wait_for(rig, user, &of_kind("request"), 1).await;
        let raw = readdressed(&captured(file), user, &req[0]);
        let to = address_in(&header(&raw, "To"));
        smtp_send(rig, &format!("{user}@example.test"), &to, &raw).await;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut accepted = 0;
    while accepted < CASES.len() {
        let r = jobs::ingest::poll(&ctx, at("2026-03-09T18:00:00Z"))
            .await
            .expect("IMAP poll");
        assert_eq!(r.quarantined, 0, "{r:?}");
        accepted += r.accepted;
        assert!(Instant::now() < deadline, "only {accepted} replies stored");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    for (user, file, want) in CASES {
        let m = ctx
            .store
            .member_by_email(&EmailAddress::parse(&format!("{user}@example.test")).unwrap())
            .await
            .unwrap()
            .unwrap();
        let u = ctx
            .store
            .update_for(m.id, "2026-03-09".parse().unwrap())
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{file}: no update stored"));
        let got: Vec<(Kind, &str)> = u
            .sections
            .iter()
            .map(|s| (s.kind, s.text.as_str()))
            .collect();
        assert_eq!(got, want.to_vec(), "{file}: stored as\n{}", u.body);
        // Nothing of the quoted request, its signature or the attribution line.
        for quoted in [
            "Hi Alice",
            "Reply to this email",
            "wrote:",
            "/p/TOKEN",
            "> ",
        ] {
            assert!(
                !u.body.contains(quoted),
                "{file} kept {quoted:?}:\n{}",
                u.body
            );
        }
    }

    // Tuesday's digest for Frank (08:30 UTC): three blockers (Bob's is "none"), each under
    // its author, every answer under its heading.
    tick(&ctx, "2026-03-10T08:30:00Z").await;
    let digest = wait_for(rig, "frank", &of_kind("digest"), 1).await;
    let subject = support::subject_of(&digest[0]);
    assert_eq!(
        subject, "core digest · Tue 10 Mar: 4 updates, 3 blockers",
        "{subject}"
    );
    let text = text_of(&digest[0]);
    let box_ = text
        .split("BLOCKERS\n")
        .nth(1)
        .and_then(|t| t.split("\n\n").next())
        .unwrap_or_default();
    for who in ["alice", "carol", "erin"] {
        assert!(
            box_.contains(&format!("! {who}: Waiting on staging")),
            "{text}"
        );
    }
    assert!(!box_.contains("bob"), "{text}");
    assert!(text.contains(&format!("Done: {LONG}\n")), "{text}");
    assert!(text.contains("Next: Review PR #42.\n"), "{text}");
    assert!(!text.contains("What did you get done?"), "{text}");
    ctx.store.close().await;
}

#[tokio::test]
async fn replies_from_neomutt_and_s_nail_keep_their_sections_on_sqlite_and_postgres() {
    let rig = rig::Rig::shared();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}", dir.path().join("clients.db").display());
    replay_on(&sqlite, dir.path()).await;
    // The same replies again on PostgreSQL; each run reads only its own members' mail
    // (the earlier run's digests and requests are still in the mailboxes: clear them).
    for user in ["alice", "bob", "carol", "erin", "frank", "updates"] {
        imap_clear(rig, user).await;
    }
    let dir = tempfile::tempdir().unwrap();
    replay_on(&rig.fresh_pg_url(), dir.path()).await;
}

/// Every captured reply, the extra NeoMutt one with its answer left as one 162-character line
/// included, read by extraction alone (no servers): the answers and their questions, nothing
/// of the quoted request, and the sections the digest shows.
#[test]
fn every_captured_reply_extracts_to_its_sections() {
    let mut files: Vec<&str> = CASES.iter().map(|(_, f, _)| *f).collect();
    files.push("neomutt_interleaved_longline.eml");
    for file in files {
        let raw = captured(file);
        let text =
            tidings::mail::extract::extract(raw.as_bytes(), tidings::mail::extract::Format::Eml);
        let got: Vec<(Kind, String)> = tidings::domain::sections::split(&text, &[])
            .into_iter()
            .map(|s| (s.kind, s.text))
            .collect();
        let want = CASES
            .iter()
            .find(|(_, f, _)| *f == file)
            .map_or(CASES[0].2, |(_, _, w)| w);
        let want: Vec<(Kind, String)> = want.iter().map(|(k, t)| (*k, t.to_string())).collect();
        assert_eq!(got, want, "{file}:\n{text}");
        assert!(
            !text.contains("REPLYTOKEN") && !text.contains("wrote:"),
            "{file}:\n{text}"
        );
    }
}
