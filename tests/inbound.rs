//! Unusable replies through the real servers: sent over SMTP to Postfix, read over IMAP from
//! Dovecot by the service. A spoofed From with a real token, a token replayed by another
//! member, a DMARC failure, a tampered token, an auto-reply, a bounce and a malformed message
//! each end as described in PRODUCT.md, and the raw message is kept in every case. Two pollers
//! on one mailbox never store a reply twice.

mod support;

use std::time::{Duration, Instant};

use support::{
    add_rig_member, address_in, at, header, imap_search, rig, rig_config, smtp_send, wait_for,
};
use tidings::domain::EmailAddress;
use tidings::jobs::{self, Ctx};
use tidings::store::{InboundRow, InboundStatus};

/// `updates+TOKEN@example.test` and the Message-ID of a request.
fn reply_address(request: &[u8]) -> (String, String) {
    (
        address_in(&header(request, "Reply-To")),
        header(request, "Message-ID"),
    )
}

fn reply(from: &str, to: &str, irt: &str, id: &str, extra: &str, text: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: Re: Your update\r\nMessage-ID: <{id}@client.test>\r\nIn-Reply-To: {irt}\r\nReferences: {irt}\r\nDate: Mon, 09 Mar 2026 18:00:00 +0000\r\n{extra}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n\r\nOn Mon, 9 Mar 2026 at 16:30, Tidings <digest@example.test> wrote:\r\n> What did you get done?\r\n"
    )
    .into_bytes()
}

/// Every stored inbound message whose raw bytes contain `marker`.
async fn stored_with(ctx: &Ctx, marker: &str) -> InboundRow {
    let mut all = Vec::new();
    for s in [
        InboundStatus::Accepted,
        InboundStatus::Ignored,
        InboundStatus::Quarantined,
        InboundStatus::Command,
        InboundStatus::New,
    ] {
        all.extend(ctx.store.inbound_with_status(s, 1000).await.unwrap());
    }
    let found: Vec<InboundRow> = all
        .into_iter()
        .filter(|r| String::from_utf8_lossy(&r.raw).contains(marker))
        .collect();
    assert_eq!(found.len(), 1, "one stored message contains {marker:?}");
    found.into_iter().next().unwrap()
}

#[tokio::test]
async fn unusable_mail_through_postfix_and_dovecot_is_kept_with_its_reason() {
    let rig = rig::Rig::shared();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("in.db").display());
    let ctx = Ctx::build(rig_config(rig, &db, dir.path(), "updates"))
        .await
        .expect("service builds");
    add_rig_member(&ctx, "alice", "Alice", "Europe/Berlin").await;
    add_rig_member(&ctx, "bob", "Bob", "Europe/Berlin").await;
    for t in ["2026-03-09T00:00:00Z", "2026-03-09T15:30:00Z"] {
        jobs::plan::run(&ctx, at(t)).await.unwrap();
        let s = jobs::send::run(&ctx, at(t)).await.unwrap();
        assert_eq!(s.failed, 0, "{s:?}");
    }
    let req = wait_for(rig, "alice", "HEADER X-Tidings-Kind request", 1).await;
    let (alice_to, alice_mid) = reply_address(&req[0]);
    assert!(alice_to.starts_with("updates+m"), "{alice_to}");

    // 1. Spoofed: a real token, From someone who is not its member.
    let spoof = reply(
        "Dave <dave@example.test>",
        &alice_to,
        &alice_mid,
        "spoof",
        "",
        "MARK-SPOOF I am Alice.",
    );
    smtp_send(rig, "dave@example.test", &alice_to, &spoof).await;
    // 2. Replayed: Bob, a member, answers with Alice's token.
    let replay = reply(
        "Bob <bob@example.test>",
        &alice_to,
        &alice_mid,
        "replay",
        "",
        "MARK-REPLAY Bob's words on Alice's request.",
    );
    smtp_send(rig, "bob@example.test", &alice_to, &replay).await;
    // 3. From Alice to the base address (no token), with an Authentication-Results that
    //    claims our receiving server vouched for her: written by the sender, so the server
    //    removes it and stamps its own (scripts/rig), and it counts for nothing.
    let forged = reply(
        "Alice <alice@example.test>",
        "updates@example.test",
        "<nothing@client.test>",
        "forged",
        "Authentication-Results: mail.example.test; dkim=pass header.d=example.test; dmarc=pass header.from=example.test\r\n",
        "MARK-DMARC I am Alice, trust me.",
    );
    smtp_send(rig, "mallory@example.test", "updates@example.test", &forged).await;
    // 4. Tampered: the token's date changed, so the signature no longer matches.
    let (body, rest) = alice_to.split_once('@').unwrap();
    let mut parts: Vec<String> = body.split('-').map(str::to_string).collect();
    parts[1] = "20260310".into();
    let tampered_to = format!("{}@{rest}", parts.join("-"));
    let tampered = reply(
        "Alice <alice@example.test>",
        &tampered_to,
        "<nothing@example.test>",
        "tampered",
        "",
        "MARK-TAMPER Tomorrow's update today.",
    );
    smtp_send(rig, "alice@example.test", &tampered_to, &tampered).await;
    // 5. An out-of-office auto-reply with a return date.
    let ooo = format!(
        "From: Alice <alice@example.test>\r\nTo: {alice_to}\r\nSubject: Out of Office: Your update\r\nAuto-Submitted: auto-replied\r\nMessage-ID: <ooo@client.test>\r\nIn-Reply-To: {alice_mid}\r\nDate: Mon, 09 Mar 2026 16:31:00 +0100\r\n\r\nMARK-OOO I am out of the office until 20 March and will answer when I am back.\r\n"
    );
    smtp_send(rig, "alice@example.test", &alice_to, ooo.as_bytes()).await;
    // 6. A bounce for Bob's address, to the envelope sender of our mail.
    let dsn = "From: MAILER-DAEMON@mx.example.test (Mail Delivery System)\r\nTo: updates@example.test\r\nSubject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn1@mx.example.test>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nMARK-BOUNCE Your message could not be delivered.\r\n\r\n--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.test\r\n\r\nFinal-Recipient: rfc822; bob@example.test\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--B--\r\n";
    smtp_send(rig, "", "updates@example.test", dsn.as_bytes()).await;
    // 7. Malformed: MIME that claims base64 and multipart but holds neither.
    let malformed = b"Content-Type: multipart/mixed\r\nContent-Transfer-Encoding: base64\r\n\r\n\x01\x02\x03 MARK-MALFORMED \x00\xfe\xff garbage without a boundary\r\n";
    smtp_send(rig, "alice@example.test", "updates@example.test", malformed).await;

    wait_for(rig, "updates", "ALL", 7).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut fetched = 0;
    while fetched < 7 {
        let r = jobs::ingest::poll(&ctx, at("2026-03-09T18:00:00Z"))
            .await
            .expect("IMAP poll");
        assert_eq!(r.accepted, 0, "nothing here is an update: {r:?}");
        fetched += r.fetched;
        assert!(Instant::now() < deadline, "only {fetched} fetched");
    }
    assert!(
        imap_search(rig, "updates", "ALL").await.is_empty(),
        "all moved"
    );

    let cases = [
        (
            "MARK-SPOOF",
            InboundStatus::Quarantined,
            "dave@example.test",
        ),
        (
            "MARK-REPLAY",
            InboundStatus::Quarantined,
            "bob@example.test",
        ),
        ("MARK-DMARC", InboundStatus::Quarantined, "no reply token"),
        ("MARK-TAMPER", InboundStatus::Quarantined, "token"),
        (
            "MARK-OOO",
            InboundStatus::Ignored,
            "marked away until 2026-03-20",
        ),
        ("MARK-BOUNCE", InboundStatus::Ignored, "hard bounce 1 of 3"),
        ("MARK-MALFORMED", InboundStatus::Quarantined, ""),
    ];
    for (marker, status, why) in cases {
        let row = stored_with(&ctx, marker).await;
        let reason = row.reason.clone().unwrap_or_default();
        assert_eq!(row.status, status.as_str(), "{marker}: {reason}");
        assert!(reason.contains(why), "{marker}: {reason}");
    }
    // The raw bytes are the delivered message: what we sent, below the servers' headers.
    let row = stored_with(&ctx, "MARK-REPLAY").await;
    let raw = String::from_utf8_lossy(&row.raw).to_string();
    assert!(raw.contains(std::str::from_utf8(&replay).unwrap()), "{raw}");
    assert!(raw.contains("Received:"), "{raw}");
    // The malformed message's bytes survive as delivered, invalid UTF-8 included (Postfix
    // itself drops the NUL).
    let row = stored_with(&ctx, "MARK-MALFORMED").await;
    assert!(row.raw.windows(3).any(|w| w == b"\x01\x02\x03"));
    assert!(row.raw.windows(2).any(|w| w == b"\xfe\xff"));

    let alice = ctx
        .store
        .member_by_email(&EmailAddress::parse("alice@example.test").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(alice.is_away_on("2026-03-20".parse().unwrap()));
    let bob = ctx
        .store
        .member_by_email(&EmailAddress::parse("bob@example.test").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bob.bounces, 1);
    for id in [1, 2] {
        assert!(
            ctx.store
                .update_for(id, "2026-03-09".parse().unwrap())
                .await
                .unwrap()
                .is_none()
        );
    }
    // Bob, a member whose mail carried a valid token, is told why. Dave is no member and
    // Alice's tampered token passed no check: their From may be forged, so they are not
    // answered (no backscatter); automatic mail gets nothing. (Alice's own address gets one
    // "Was this you?" for the messages sent as her to the base address without our server's
    // word: member notices go to the member's stored address, never to an unchecked From.)
    let notices: Vec<(String, String)> = ctx
        .store
        .list_outbox(false, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.kind == "notice")
        .map(|r| (r.recipient, r.subject))
        .collect();
    let not_accepted: Vec<&str> = notices
        .iter()
        .filter(|(_, s)| s.contains("not accepted"))
        .map(|(r, _)| r.as_str())
        .collect();
    assert_eq!(not_accepted, vec!["bob@example.test"], "{notices:?}");
    assert!(
        notices.iter().all(|(r, s)| r == "bob@example.test"
            || (r == "alice@example.test" && s.starts_with("core · Was this you?"))),
        "{notices:?}"
    );
    jobs::send::run(&ctx, at("2026-03-09T18:01:00Z"))
        .await
        .unwrap();
    wait_for(rig, "bob", "HEADER X-Tidings-Kind notice", 1).await;
    assert_eq!(
        imap_search(rig, "updates", "HEADER X-Tidings-Kind notice")
            .await
            .len(),
        0
    );
    ctx.store.close().await;
}

#[tokio::test]
async fn two_pollers_on_one_imap_mailbox_store_each_reply_once() {
    let rig = rig::Rig::shared();
    let dir = tempfile::tempdir().unwrap();
    let db = rig.fresh_pg_url();
    let cfg = rig_config(rig, &db, dir.path(), "bench");
    let a = Ctx::build(cfg.clone()).await.expect("first service");
    let b = Ctx::build(cfg).await.expect("second service");
    add_rig_member(&a, "erin", "Erin", "Europe/Berlin").await;
    for t in ["2026-03-09T00:00:00Z", "2026-03-09T15:30:00Z"] {
        jobs::plan::run(&a, at(t)).await.unwrap();
        jobs::send::run(&a, at(t)).await.unwrap();
    }
    let req = wait_for(rig, "erin", "HEADER X-Tidings-Kind request", 1).await;
    let (to, mid) = reply_address(&req[0]);
    assert!(to.starts_with("bench+m"), "{to}");
    let n = 8;
    for i in 0..n {
        let raw = reply(
            "Erin <erin@example.test>",
            &to,
            &mid,
            &format!("part{i}"),
            "",
            &format!("Part {i} of the day."),
        );
        smtp_send(rig, "erin@example.test", &to, &raw).await;
    }
    wait_for(rig, "bench", "ALL", n).await;
    let now = at("2026-03-09T18:00:00Z");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut accepted = 0;
    while accepted < n {
        let (ra, rb) = tokio::join!(jobs::ingest::poll(&a, now), jobs::ingest::poll(&b, now));
        for r in [ra, rb] {
            match r {
                Ok(r) => accepted += r.accepted,
                // The loser of a race to move a message may see it gone; the next poll is clean.
                Err(e) => eprintln!("poll: {e:#}"),
            }
        }
        assert!(Instant::now() < deadline, "only {accepted} accepted");
    }
    // One more pair of polls finds nothing new.
    let (ra, rb) = tokio::join!(jobs::ingest::poll(&a, now), jobs::ingest::poll(&b, now));
    assert_eq!(ra.unwrap().accepted + rb.unwrap().accepted, 0);
    assert_eq!(accepted, n);
    let u = a
        .store
        .update_for(1, "2026-03-09".parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(u.revision, n as i64);
    for i in 0..n {
        assert_eq!(
            u.body.matches(&format!("Part {i} of the day.")).count(),
            1,
            "{}",
            u.body
        );
    }
    a.store.close().await;
    b.store.close().await;
}

/// Forged mail through the rig's Postfix (which stamps `Authentication-Results:
/// mail.example.test` like a receiving server running OpenDMARC, see scripts/rig): a
/// member's From written by someone else acts on nothing, on both backends.
#[tokio::test]
async fn forged_mail_acts_on_nothing_and_the_same_mail_vouched_for_by_the_server_counts() {
    let rig = rig::Rig::shared();
    for db in ["sqlite", "postgres"] {
        let dir = tempfile::tempdir().unwrap();
        let url = match db {
            "sqlite" => format!("sqlite://{}", dir.path().join("f.db").display()),
            _ => rig.fresh_pg_url(),
        };
        forged_mail_on(rig, &url, dir.path(), db).await;
    }
}

async fn forged_mail_on(rig: &rig::Rig, url: &str, dir: &std::path::Path, db: &str) {
    // Its own mailbox (frank@) and member (carol), apart from the other tests of this binary.
    support::imap_clear(rig, "frank").await;
    support::imap_clear(rig, "carol").await;
    let ctx = Ctx::build(rig_config(rig, url, dir, "frank"))
        .await
        .expect("service builds");
    add_rig_member(&ctx, "carol", "Carol", "Europe/Berlin").await;
    for t in ["2026-03-09T00:00:00Z", "2026-03-09T15:30:00Z"] {
        jobs::plan::run(&ctx, at(t)).await.unwrap();
        jobs::send::run(&ctx, at(t)).await.unwrap();
    }
    let req = wait_for(rig, "carol", "HEADER X-Tidings-Kind request", 1).await;
    let (token_to, mid) = reply_address(&req.last().unwrap().clone());
    let base = "frank@example.test";
    let carol = "Carol <carol@example.test>";
    // Each: (marker, From, To, extra headers, text). None carries our server's pass.
    let forged: Vec<(&str, &str, &str, String, &str)> = vec![
        ("F-PAUSE", carol, base, String::new(), "pause"),
        ("F-AWAY", carol, base, String::new(), "away until 2027-06-30"),
        ("F-DIGEST", carol, base, String::new(), "digest off"),
        ("F-FOR", carol, base, String::new(), "for 2026-03-06\nBackdated words."),
        ("F-REPLACE", carol, base, String::new(), "replace\nOverwritten."),
        // Matched by References alone (no token): still only the sender's word.
        ("F-REFS", carol, base, String::new(), "away until 2027-01-31"),
        // Several From addresses, and a Sender other than From, even with the real token.
        (
            "F-TWO",
            "carol@example.test, mallory@evil.test",
            &token_to,
            String::new(),
            "Two of us.",
        ),
        (
            "F-SENDER",
            carol,
            &token_to,
            "Sender: mallory@evil.test\r\n".into(),
            "On her behalf.",
        ),
        // A pass written by the sender under our server's id.
        (
            "F-SPOOFED-AR",
            carol,
            base,
            "Authentication-Results: mail.example.test; dkim=pass header.d=example.test; dmarc=pass header.from=example.test\r\n".into(),
            "Trust me.",
        ),
        // A stranger with Carol's real token.
        ("F-STRANGER", "Mallory <mallory@evil.test>", &token_to, String::new(), "Hi."),
    ];
    for (marker, from, to, extra, text) in &forged {
        let irt = if *marker == "F-REFS" {
            mid.as_str()
        } else {
            "<none@client.test>"
        };
        let raw = reply(
            from,
            to,
            irt,
            &format!("{marker}-{db}"),
            extra,
            &format!("{text}\n{marker}"),
        );
        smtp_send(rig, "mallory@evil.test", to, &raw).await;
    }
    wait_for(rig, "frank", "ALL", forged.len()).await;
    let r = jobs::ingest::poll(&ctx, at("2026-03-09T18:00:00Z"))
        .await
        .expect("IMAP poll");
    assert_eq!(
        (r.fetched, r.quarantined, r.accepted, r.commands),
        (forged.len(), forged.len(), 0, 0),
        "{db}: {r:?}"
    );
    for (marker, ..) in &forged {
        let row = stored_with(&ctx, marker).await;
        assert_eq!(row.status, "quarantined", "{db} {marker}: {:?}", row.reason);
    }
    let email = EmailAddress::parse("carol@example.test").unwrap();
    let m = ctx.store.member_by_email(&email).await.unwrap().unwrap();
    assert!(!m.paused && m.away.is_empty(), "{db}: {m:?}");
    assert_eq!(m.cadence, tidings::domain::Cadence::Daily, "{db}");
    for d in ["2026-03-06", "2026-03-09"] {
        let u = ctx
            .store
            .update_for(m.id, d.parse().unwrap())
            .await
            .unwrap();
        assert!(u.is_none(), "{db} {d}: {u:?}");
    }
    // No receipt to anybody, nothing to the strangers; Carol is asked once (within the
    // hour) whether the unverified messages were hers.
    let mail: Vec<(String, String, String)> = ctx
        .store
        .list_outbox(false, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.kind != "request")
        .map(|r| (r.kind, r.recipient, r.subject))
        .collect();
    assert_eq!(mail.len(), 1, "{db}: {mail:?}");
    assert_eq!(mail[0].1, "carol@example.test", "{db}: {mail:?}");
    assert!(
        mail[0].2.starts_with("core · Was this you?"),
        "{db}: {mail:?}"
    );

    // The same kind of message, sent by Carol after logging in to the server (the rig's
    // stand-in for a valid DKIM signature): the server's pass on top, so it counts.
    let vouched = reply(
        carol,
        base,
        "<none@client.test>",
        &format!("V-{db}"),
        "",
        "Shipped the importer.",
    );
    support::smtp_send_as(rig, "carol", base, &vouched).await;
    wait_for(rig, "frank", "ALL", 1).await;
    let r = jobs::ingest::poll(&ctx, at("2026-03-09T18:05:00Z"))
        .await
        .expect("IMAP poll");
    assert_eq!((r.fetched, r.accepted), (1, 1), "{db}: {r:?}");
    let u = ctx
        .store
        .update_for(m.id, "2026-03-09".parse().unwrap())
        .await
        .unwrap()
        .expect("the vouched-for update");
    assert!(u.body.contains("Shipped the importer."), "{db}: {}", u.body);
    let raw = String::from_utf8_lossy(&stored_with(&ctx, &format!("V-{db}")).await.raw).to_string();
    let topmost = raw
        .lines()
        .find(|l| l.starts_with("Authentication-Results:"))
        .unwrap_or_default();
    assert!(
        topmost.starts_with("Authentication-Results: mail.example.test; dkim=pass"),
        "{db}: {raw}"
    );
    ctx.store.close().await;
}
