//! Activity drafts through real servers (#35), on both backends: the members' feeds (the
//! GitHub and JSON Feed fixtures) served over HTTP on loopback and read by the feed job; each
//! request sent through the rig's Postfix and read over IMAP from Dovecot carries the draft;
//! replies written the way real clients write them go back through Postfix — a Gmail-style top
//! post `keep`, a NeoMutt `format=flowed` top post `keep` (the captured client's shape in
//! `tests/corpus/clients`), an s-nail bottom post `keep 2`, and a top post that quotes the draft
//! without `keep` — and are read over IMAP: the kept lines are Done with their links, the
//! unkept draft is nowhere, and the next digest shows the kept titles as links.

mod support;

use std::time::{Duration, Instant};

use support::{
    add_rig_member, address_in, at, feeds, header, html_of, imap_clear, of_kind, rig, rig_config,
    smtp_send, text_of, wait_for,
};
use tidings::domain::sections::Kind;
use tidings::jobs::{self, Ctx};

const PR: &str = "https://github.com/tidings/tidings/pull/212";
const PR_LINE: &str = "tidings/tidings: opened pull request #212: Stream the outbox";

/// The headers of a reply from `user` to `request`, as every client here writes them.
fn head(user: &str, request: &[u8], n: &str, extra: &str) -> String {
    let to = address_in(&header(request, "Reply-To"));
    let mid = header(request, "Message-ID");
    format!(
        "Date: Tue, 01 Dec 2026 17:00:00 +0000\nFrom: {user} <{user}@example.test>\nTo: {to}\nSubject: Re: {}\nMessage-ID: <{n}@example.test>\nIn-Reply-To: {mid}\nReferences: {mid}\n{extra}",
        header(request, "Subject")
    )
}

/// `words` on top of the request, quoted as Gmail quotes a text part.
fn gmail(user: &str, request: &[u8], n: &str, words: &str) -> String {
    let quoted: String = text_of(request)
        .lines()
        .map(|l| format!("> {l}\n"))
        .collect();
    format!(
        "{}MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n{words}\n\nOn Tue, 1 Dec 2026 at 16:30, Tidings <tidings@example.test> wrote:\n{quoted}",
        head(user, request, n, "")
    )
}

/// `words` on top, the shape of `neomutt_flowed_top.eml`: format=flowed with soft breaks
/// (a trailing space), the request quoted with `>` and no space, as NeoMutt writes it.
fn neomutt(user: &str, request: &[u8], n: &str, words: &str) -> String {
    let quoted: String = text_of(request)
        .lines()
        .map(|l| match l.strip_prefix("> ") {
            Some(q) => format!(">>{q}\n"),
            None if l.is_empty() => ">\n".to_string(),
            None => format!(">{l}\n"),
        })
        .collect();
    format!(
        "{}MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii; format=flowed\nContent-Disposition: inline\n\n{words}\n\nOn Tue, Dec 01, 2026 at 04:30:00PM +0000, Tidings wrote:\n{quoted}",
        head(user, request, n, "")
    )
}

/// `words` under the whole request, the shape of `snail_bottom.eml`: no MIME headers at all,
/// an attribution line, then the answer at the bottom.
fn snail(user: &str, request: &[u8], n: &str, words: &str) -> String {
    let quoted: String = text_of(request)
        .lines()
        .map(|l| {
            if l.is_empty() {
                "> \n".to_string()
            } else {
                format!("> {l}\n")
            }
        })
        .collect();
    format!(
        "{}User-Agent: s-nail v14.9.24\n\nTidings <tidings@example.test> wrote:\n\n{quoted}\n{words}\n",
        head(user, request, n, "")
    )
}

async fn tick(ctx: &Ctx, t: &str) {
    jobs::plan::run(ctx, at(t)).await.expect("plan");
    let s = jobs::send::run(ctx, at(t)).await.expect("send");
    assert_eq!(s.failed, 0, "{s:?}");
}

async fn sections(ctx: &Ctx, who: i64) -> Vec<(Kind, String)> {
    ctx.store
        .update_for(who, "2026-12-01".parse().expect("date"))
        .await
        .expect("read")
        .unwrap_or_else(|| panic!("no update of member {who}"))
        .sections
        .into_iter()
        .map(|s| (s.kind, s.text))
        .collect()
}

async fn day_on(backend: &str) {
    let rig = rig::Rig::shared();
    let dir = tempfile::tempdir().expect("temp dir");
    let db = match backend {
        "sqlite" => format!("sqlite://{}", dir.path().join("drafts.db").display()),
        _ => rig.fresh_pg_url(),
    };
    let mut cfg = rig_config(rig, &db, dir.path(), "updates");
    // The feed server is on loopback, as a forge on the LAN would be.
    cfg.fetch.allow_private = true;
    cfg.fetch.allow_http = true;
    let ctx = Ctx::build(cfg).await.expect("service builds");
    let feeds = feeds::serve().await;
    let users = ["alice", "bob", "carol", "dave", "erin"];
    for u in users {
        imap_clear(rig, u).await;
    }
    imap_clear(rig, "updates").await;
    let mut ids = Vec::new();
    for u in users {
        ids.push(add_rig_member(&ctx, u, u, "UTC").await);
    }
    // Erin reads the digest and has no feed.
    for who in &ids[..4] {
        for f in ["github.atom", "feed.json"] {
            ctx.store
                .add_activity_feed(*who, &feeds.url(f))
                .await
                .expect("feed");
        }
    }
    let r = jobs::activity::run(&ctx, at("2026-12-01T16:00:00Z"))
        .await
        .expect("feeds read");
    assert_eq!((r.read, r.failed), (8, 0), "{backend}: {r:?}");
    tick(&ctx, "2026-12-01T16:30:00Z").await;

    let mut requests = Vec::new();
    for u in users {
        let got = wait_for(rig, u, &of_kind("request"), 1).await;
        requests.push(got.into_iter().next().expect("a request"));
    }
    let text = text_of(&requests[0]);
    assert!(
        text.contains("From your activity since Mon 30 Nov:\n> tidings/docs\n> 1. "),
        "{backend}: {text}"
    );
    assert!(
        text.contains(&format!(
            "> 4. opened pull request #212: Stream the outbox <{PR}>"
        )),
        "{backend}: {text}"
    );
    assert!(html_of(&requests[0]).contains(&format!("href=\"{PR}\"")));
    assert!(!text_of(&requests[4]).contains("From your activity"));

    let replies = [
        gmail(
            "alice",
            &requests[0],
            &format!("a-{backend}"),
            "keep\nAlso paired with Erin on the importer.",
        ),
        neomutt(
            "bob",
            &requests[1],
            &format!("b-{backend}"),
            "keep\nAnd reviewed Carol's docs, which took \nlonger than planned.",
        ),
        snail("carol", &requests[2], &format!("c-{backend}"), "keep 2"),
        gmail(
            "dave",
            &requests[3],
            &format!("d-{backend}"),
            "Worked on the importer all day.",
        ),
    ];
    for (u, raw) in users.iter().zip(&replies) {
        let raw = raw.replace('\n', "\r\n");
        let to = address_in(&header(raw.as_bytes(), "To"));
        smtp_send(rig, &format!("{u}@example.test"), &to, raw.as_bytes()).await;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut accepted = 0;
    while accepted < replies.len() {
        let r = jobs::ingest::poll(&ctx, at("2026-12-01T17:05:00Z"))
            .await
            .expect("IMAP poll");
        assert_eq!(r.quarantined, 0, "{backend}: {r:?}");
        accepted += r.accepted;
        assert!(
            Instant::now() < deadline,
            "{backend}: only {accepted} replies"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let alice = sections(&ctx, ids[0]).await;
    assert_eq!(alice.len(), 1, "{backend}: {alice:?}");
    assert_eq!(alice[0].0, Kind::Done);
    assert!(
        alice[0].1.contains(&format!("- {PR_LINE} <{PR}>\n")),
        "{backend}: {alice:?}"
    );
    assert_eq!(
        alice[0].1.matches("\n- ").count() + 1,
        7,
        "all seven lines: {alice:?}"
    );
    assert!(
        alice[0]
            .1
            .ends_with("\nAlso paired with Erin on the importer."),
        "{alice:?}"
    );
    let bob = sections(&ctx, ids[1]).await;
    assert!(
        bob[0].1.contains(&format!("- {PR_LINE} <{PR}>\n")),
        "{backend}: {bob:?}"
    );
    assert!(
        bob[0]
            .1
            .ends_with("\nAnd reviewed Carol's docs, which took longer than planned."),
        "flowed, unwrapped: {bob:?}"
    );
    let carol = sections(&ctx, ids[2]).await;
    assert_eq!(
        carol,
        vec![(
            Kind::Done,
            "- tidings/docs: pushed to main <https://github.com/tidings/docs/compare/a41c0d9f3e...e27b5c8d10>".to_string()
        )],
        "{backend}: keep 2"
    );
    let dave = sections(&ctx, ids[3]).await;
    assert_eq!(
        dave,
        vec![(Kind::Other, "Worked on the importer all day.".to_string())],
        "{backend}: the draft quoted without keep is not stored"
    );

    // Wednesday's digest for Erin: Alice's and Bob's kept pull request as a link, Dave's
    // unkept draft nowhere.
    tick(&ctx, "2026-12-02T08:30:00Z").await;
    let digest = wait_for(rig, "erin", &of_kind("digest"), 1).await;
    let html = html_of(&digest[0]);
    assert_eq!(
        html.matches(&format!("<a href=\"{PR}\">{PR_LINE}</a>"))
            .count(),
        2,
        "{backend}: {html}"
    );
    let text = text_of(&digest[0]);
    assert_eq!(
        text.matches("Stream the outbox").count(),
        2,
        "{backend}: {text}"
    );
    assert!(text.contains("Worked on the importer all day."), "{text}");
    ctx.store.close().await;
}

#[tokio::test]
async fn drafts_kept_by_reply_through_postfix_and_dovecot() {
    for backend in ["sqlite", "postgres"] {
        day_on(backend).await;
    }
}
