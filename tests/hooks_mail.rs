//! Signed webhooks from replies through real servers (#36), on both backends: each request
//! goes out through the rig's Postfix and is read over IMAP from Dovecot; the members' replies
//! (Gmail-style top posts) go back through Postfix and are read over IMAP; the events they
//! make are POSTed to a receiver on loopback and verified there by the Standard Webhooks
//! reference library (Python `standardwebhooks`): an update with a blocker, a second reply the
//! same day saying it is resolved (which closes it), each event once with its own
//! `webhook-id`, nothing more when the mailbox is read again.

mod support;

use std::time::{Duration, Instant};

use support::webhooks::Receiver;
use support::{
    add_rig_member, address_in, at, header, imap_clear, of_kind, rig, rig_config, smtp_send,
    text_of, wait_for,
};
use tidings::domain::webhook::{EVENTS, new_secret};
use tidings::jobs::{self, Ctx};

/// `words` on top of `request`, quoted as Gmail quotes a text part.
fn gmail(user: &str, request: &[u8], n: &str, words: &str) -> String {
    let to = address_in(&header(request, "Reply-To"));
    let mid = header(request, "Message-ID");
    let quoted: String = text_of(request)
        .lines()
        .map(|l| format!("> {l}\n"))
        .collect();
    format!(
        "Date: Mon, 09 Mar 2026 17:00:00 +0000\nFrom: {user} <{user}@example.test>\nTo: {to}\nSubject: Re: {}\nMessage-ID: <{n}@example.test>\nIn-Reply-To: {mid}\nReferences: {mid}\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n{words}\n\nOn Mon, 9 Mar 2026 at 16:30, Tidings <tidings@example.test> wrote:\n{quoted}",
        header(request, "Subject")
    )
    .replace('\n', "\r\n")
}

/// Reads the updates mailbox until `n` replies are accepted.
async fn read_replies(ctx: &Ctx, n: usize, now: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut accepted = 0;
    while accepted < n {
        let r = jobs::ingest::poll(ctx, at(now)).await.expect("IMAP poll");
        assert_eq!(r.quarantined, 0, "{r:?}");
        accepted += r.accepted;
        assert!(Instant::now() < deadline, "only {accepted} of {n} replies");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn day_on(backend: &str) {
    let rig = rig::Rig::shared();
    let dir = tempfile::tempdir().expect("temp dir");
    let db = match backend {
        "sqlite" => format!("sqlite://{}", dir.path().join("hooks.db").display()),
        _ => rig.fresh_pg_url(),
    };
    let mut cfg = rig_config(rig, &db, dir.path(), "updates");
    // The receiver is on loopback, over http, as one on the LAN would be.
    cfg.fetch.allow_private = true;
    cfg.fetch.allow_http = true;
    let ctx = Ctx::build(cfg).await.expect("service builds");
    let rx = Receiver::start(0, 500);
    for u in ["alice", "updates"] {
        imap_clear(rig, u).await;
    }
    let alice = add_rig_member(&ctx, "alice", "alice", "UTC").await;
    let secret = new_secret();
    ctx.store
        .add_webhook(None, &rx.url, &secret, EVENTS, 0)
        .await
        .expect("webhook");

    jobs::plan::run(&ctx, at("2026-03-09T16:30:00Z"))
        .await
        .expect("plan");
    jobs::send::run(&ctx, at("2026-03-09T16:30:00Z"))
        .await
        .expect("send");
    let request = wait_for(rig, "alice", &of_kind("request"), 1)
        .await
        .into_iter()
        .next()
        .expect("a request");
    let first = gmail(
        "alice",
        &request,
        &format!("h1-{backend}"),
        "Done: the importer\nBlockers: waiting on legal for the licence",
    );
    let to = address_in(&header(first.as_bytes(), "To"));
    smtp_send(rig, "alice@example.test", &to, first.as_bytes()).await;
    read_replies(&ctx, 1, "2026-03-09T17:05:00Z").await;
    let second = gmail(
        "alice",
        &request,
        &format!("h2-{backend}"),
        "Legal said yes.\nBlockers: resolved",
    );
    smtp_send(rig, "alice@example.test", &to, second.as_bytes()).await;
    read_replies(&ctx, 1, "2026-03-09T18:05:00Z").await;
    // The mailbox read again: nothing new, no event twice.
    let again = jobs::ingest::poll(&ctx, at("2026-03-09T18:10:00Z"))
        .await
        .expect("poll");
    assert_eq!(again.accepted, 0, "{backend}: {again:?}");

    let r = jobs::hooks::run(&ctx, at("2026-03-09T18:10:00Z"))
        .await
        .expect("webhooks");
    let v = rx.verified(&secret);
    let mut kinds: Vec<String> = v.iter().filter_map(|d| d.kind.clone()).collect();
    kinds.sort();
    assert_eq!((r.sent, r.retried, r.failed), (4, 0, 0), "{backend}: {r:?}");
    assert_eq!(
        kinds,
        [
            "blocker.opened",
            "blocker.resolved",
            "update.created",
            "update.revised"
        ],
        "{backend}"
    );
    for d in &v {
        assert!(
            d.ok && d.tampered_refused && d.replay_refused,
            "{backend}: {d:?}"
        );
    }
    let ids: std::collections::HashSet<_> = v.iter().map(|d| d.id.clone()).collect();
    assert_eq!(ids.len(), 4, "{backend}: one webhook-id per event");
    let data = |kind: &str| {
        v.iter()
            .find(|d| d.kind.as_deref() == Some(kind))
            .and_then(|d| d.data.clone())
            .unwrap_or_default()
    };
    let created = &data("update.created")["update"];
    assert_eq!(created["author"]["id"], alice, "{backend}");
    assert_eq!(created["source"], "email");
    assert_eq!(
        created["text"], "Done: the importer\nBlockers: waiting on legal for the licence",
        "{backend}: the reply without its quoted request"
    );
    assert_eq!(
        data("blocker.opened")["blocker"]["lines"],
        serde_json::json!(["waiting on legal for the licence"])
    );
    let resolved = data("blocker.resolved");
    assert_eq!(resolved["resolved_by"]["how"], "update", "{backend}");
    assert_eq!(data("update.revised")["update"]["revision"], 2);
    ctx.store.close().await;
}

#[tokio::test]
async fn events_of_replies_through_postfix_and_dovecot_verified_by_the_reference_library() {
    for backend in ["sqlite", "postgres"] {
        day_on(backend).await;
    }
}
