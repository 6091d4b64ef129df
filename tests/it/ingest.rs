//! Replies through the Maildir inbox: matched by token, quotes removed, idempotent, and every
//! unusable message quarantined with its raw bytes kept.

use crate::both;
use crate::helpers::*;
use tidings::store::InboundStatus;

/// Sends Ann's Monday request and returns (reply-to address, request Message-ID).
async fn request_for_ann(app: &TestApp) -> (String, String) {
    app.tick(at("2026-03-09T00:00:00Z")).await;
    app.tick(at("2026-03-09T15:30:00Z")).await;
    let raw = app.read_sent("request_1_2026-03-09.tidings.eml");
    reply_headers(&raw)
}

async fn setup(app: &TestApp) -> (String, String) {
    app.member("ann@example.test", "Ann", "Europe/Berlin").await;
    app.member("bob@example.test", "Bob", "Europe/Berlin").await;
    request_for_ann(app).await
}

both!(
    a_reply_is_matched_stripped_stored_and_acknowledged_once,
    |app| {
        let (rt, mid) = setup(&app).await;
        let raw = gmail_reply(
            "ann@example.test",
            &rt,
            &mid,
            "r1@mail.test",
            "Finished the migration.\nNext: load tests.",
        );
        let r = app.deliver("r1", &raw, at("2026-03-09T17:00:00Z")).await;
        assert_eq!(r.accepted, 1, "{r:?}");
        // The same message again (a re-delivery) is not stored twice.
        let r = app
            .deliver("r1-again", &raw, at("2026-03-09T17:01:00Z"))
            .await;
        assert_eq!((r.accepted, r.duplicates), (0, 1), "{r:?}");
        let u = app
            .ctx
            .store
            .update_for(1, "2026-03-09".parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(u.body, "Finished the migration.\nNext: load tests.");
        assert_eq!(u.revision, 1);
        app.tick(at("2026-03-09T17:02:00Z")).await;
        let receipts = app.sent_of("receipt");
        assert_eq!(receipts.len(), 1);
        let text = text_body(&app.read_sent(&receipts[0]));
        assert!(text.contains("Finished the migration."), "{text}");
        assert!(!text.contains("wrote:"), "{text}");
    }
);

both!(
    a_second_reply_the_same_day_is_appended_and_marked_edited,
    |app| {
        let (rt, mid) = setup(&app).await;
        app.deliver(
            "a",
            &gmail_reply("ann@example.test", &rt, &mid, "a@mail.test", "First part."),
            at("2026-03-09T17:00:00Z"),
        )
        .await;
        app.deliver(
            "b",
            &gmail_reply("ann@example.test", &rt, &mid, "b@mail.test", "Second part."),
            at("2026-03-09T18:00:00Z"),
        )
        .await;
        let u = app
            .ctx
            .store
            .update_for(1, "2026-03-09".parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(u.body, "First part.\n\nSecond part.");
        assert_eq!(u.revision, 2);
        app.deliver(
            "c",
            &gmail_reply(
                "ann@example.test",
                &rt,
                &mid,
                "c@mail.test",
                "replace\nOnly this.",
            ),
            at("2026-03-09T19:00:00Z"),
        )
        .await;
        let u = app
            .ctx
            .store
            .update_for(1, "2026-03-09".parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(u.body, "Only this.");
    }
);

both!(
    a_spoofed_sender_with_a_real_token_is_quarantined_and_kept,
    |app| {
        let (rt, mid) = setup(&app).await;
        let raw = gmail_reply(
            "bob@example.test",
            &rt,
            &mid,
            "spoof@mail.test",
            "I am Ann, honest.",
        );
        let r = app.deliver("s", &raw, at("2026-03-09T17:00:00Z")).await;
        assert_eq!(r.quarantined, 1, "{r:?}");
        let q = app
            .ctx
            .store
            .inbound_with_status(InboundStatus::Quarantined, 10)
            .await
            .unwrap();
        assert_eq!(q.len(), 1);
        assert_eq!(q[0].raw, raw, "the raw message is kept");
        assert!(
            q[0].reason
                .as_deref()
                .unwrap_or("")
                .contains("bob@example.test"),
            "{:?}",
            q[0].reason
        );
        assert!(
            app.ctx
                .store
                .update_for(1, "2026-03-09".parse().unwrap())
                .await
                .unwrap()
                .is_none()
        );
    }
);

both!(a_tampered_token_is_quarantined, |app| {
    let (rt, mid) = setup(&app).await;
    // Point Ann's token at another day.
    let tampered = rt.replace("20260309", "20260310");
    let raw = gmail_reply(
        "ann@example.test",
        &tampered,
        "unknown@x",
        "t@mail.test",
        "Update.",
    );
    let _ = mid;
    let r = app.deliver("t", &raw, at("2026-03-09T17:00:00Z")).await;
    assert_eq!(r.quarantined, 1, "{r:?}");
    let q = app
        .ctx
        .store
        .inbound_with_status(InboundStatus::Quarantined, 10)
        .await
        .unwrap();
    assert!(
        q[0].reason.as_deref().unwrap_or("").contains("token"),
        "{:?}",
        q[0].reason
    );
});

both!(auto_replies_are_never_updates, |app| {
    let (rt, mid) = setup(&app).await;
    let raw = format!(
        "From: ann@example.test\r\nTo: {rt}\r\nSubject: Automatic reply: Your update\r\nAuto-Submitted: auto-replied\r\nMessage-ID: <ooo@mail.test>\r\nIn-Reply-To: <{mid}>\r\n\r\nI am out of the office until Monday.\r\n"
    );
    let r = app
        .deliver("o", raw.as_bytes(), at("2026-03-09T17:00:00Z"))
        .await;
    assert_eq!(r.ignored, 1, "{r:?}");
    assert!(
        app.ctx
            .store
            .update_for(1, "2026-03-09".parse().unwrap())
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        app.ctx
            .store
            .inbound_with_status(InboundStatus::Ignored, 10)
            .await
            .unwrap()
            .len(),
        1
    );
});

both!(garbage_is_quarantined_with_its_bytes, |app| {
    setup(&app).await;
    let raw = b"\x00\x01\x02 not an email at all \xff\xfe".to_vec();
    let r = app.deliver("g", &raw, at("2026-03-09T17:00:00Z")).await;
    assert_eq!(r.quarantined, 1, "{r:?}");
    let q = app
        .ctx
        .store
        .inbound_with_status(InboundStatus::Quarantined, 10)
        .await
        .unwrap();
    assert_eq!(q[0].raw, raw);
});

both!(
    without_a_token_a_reply_by_in_reply_to_or_a_fresh_email_counts_only_when_the_receiving_server_vouches,
    |app| {
        let (_, mid) = setup(&app).await;
        let t = at("2026-03-09T17:00:00Z");
        // Matched by its thread, or written fresh to the base address: anybody can write
        // Ann's From and References, so without our server's word neither is hers.
        let by_thread = gmail_reply(
            "ann@example.test",
            "someone-else@example.test",
            &mid,
            "irt@mail.test",
            "Matched by thread.",
        );
        let r = app.deliver("i", &by_thread, t).await;
        assert_eq!((r.accepted, r.quarantined), (0, 1), "{r:?}");
        let fresh = b"From: Bob <bob@example.test>\r\nTo: updates@example.test\r\nSubject: my update\r\nMessage-ID: <fresh@mail.test>\r\n\r\nWrote docs all day.\r\n";
        let r = app.deliver("f", fresh, t).await;
        assert_eq!((r.accepted, r.quarantined), (0, 1), "{r:?}");
        // A pass written by the sender below a trusted header, or by another server: ignored.
        let mut lower = b"Authentication-Results: mx.example.test; spf=none\r\n".to_vec();
        lower.extend(vouched("example.test", &swap(&fresh[..], "<fresh@", "<fresh2@")));
        let r = app.deliver("f2", &lower, t).await;
        assert_eq!(r.quarantined, 1, "{r:?}");
        for who in ["ann", "bob"] {
            let u = app
                .ctx
                .store
                .update_for(if who == "ann" { 1 } else { 2 }, "2026-03-09".parse().unwrap())
                .await
                .unwrap();
            assert!(u.is_none(), "{who}: {u:?}");
        }
        // With our receiving server's aligned DMARC pass on top, both count.
        let r = app
            .deliver(
                "i3",
                &vouched("example.test", &swap(&by_thread[..], "<irt@", "<irt3@")),
                t,
            )
            .await;
        assert_eq!(r.accepted, 1, "{r:?}");
        let r = app
            .deliver(
                "f3",
                &vouched("example.test", &swap(&fresh[..], "<fresh@", "<fresh3@")),
                t,
            )
            .await;
        assert_eq!(r.accepted, 1, "{r:?}");
        let u = app
            .ctx
            .store
            .update_for(2, "2026-03-09".parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(u.body, "Wrote docs all day.");
    }
);

both!(a_command_changes_preferences_and_is_confirmed, |app| {
    let (rt, mid) = setup(&app).await;
    let raw = gmail_reply(
        "ann@example.test",
        &rt,
        &mid,
        "cmd@mail.test",
        "digest at 07:15",
    );
    let r = app.deliver("c", &raw, at("2026-03-09T17:00:00Z")).await;
    assert_eq!(r.commands, 1, "{r:?}");
    let m = app
        .ctx
        .store
        .member_by_email(&addr("ann@example.test"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.digest_at.to_string(), "07:15");
    assert!(
        app.ctx
            .store
            .update_for(1, "2026-03-09".parse().unwrap())
            .await
            .unwrap()
            .is_none()
    );
    app.tick(at("2026-03-09T17:01:00Z")).await;
    assert_eq!(app.sent_of("receipt").len(), 1);
});

both!(
    resolved_by_reply_closes_the_blocker_and_keeps_the_rest,
    |app| {
        let (rt, mid) = setup(&app).await;
        let ann = member_row(&app, "ann@example.test").await.id;
        app.ctx
            .store
            .upsert_update(
                ann,
                "2026-03-06".parse().unwrap(),
                "Done: x\nBlockers: waiting on the DNS change",
                &[],
                "api",
                None,
                false,
                0,
            )
            .await
            .unwrap();
        assert!(
            app.ctx
                .store
                .open_blockers(&[ann])
                .await
                .unwrap()
                .contains_key(&ann)
        );
        // "resolved" on the first line, the day's update after it.
        let raw = gmail_reply(
            "ann@example.test",
            &rt,
            &mid,
            "res@mail.test",
            "Resolved.\nDone: the DNS change is live",
        );
        let r = app.deliver("r", &raw, at("2026-03-09T17:00:00Z")).await;
        assert_eq!(r.accepted, 1, "the rest is the update: {r:?}");
        assert!(
            app.ctx
                .store
                .open_blockers(&[ann])
                .await
                .unwrap()
                .is_empty()
        );
        let u = app
            .ctx
            .store
            .update_for(ann, "2026-03-09".parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(u.body, "Done: the DNS change is live");
        app.tick(at("2026-03-09T17:01:00Z")).await;
        // The notice (its outbox key `resolved:<message>`), beside the receipt of the update.
        let notice = app.sent_of("resolved");
        assert_eq!(notice.len(), 1, "{:?}", app.sent());
        assert_eq!(app.sent_of("receipt").len(), 1, "{:?}", app.sent());
        let text = text_body(&app.read_sent(&notice[0]));
        assert!(
            text.contains("Resolved: your blocker since Fri 6 Mar"),
            "{text}"
        );
        // Alone, when nothing is open: told so, nothing stored.
        let raw = gmail_reply("ann@example.test", &rt, &mid, "res2@mail.test", "unblocked");
        let r = app.deliver("r2", &raw, at("2026-03-09T17:05:00Z")).await;
        assert_eq!(r.commands, 1, "{r:?}");
    }
);

both!(
    a_reply_that_mentions_someone_says_when_they_read_it,
    |app| {
        let (rt, mid) = setup(&app).await;
        let raw = gmail_reply(
            "ann@example.test",
            &rt,
            &mid,
            "m1@mail.test",
            "Done: the runbook\nNext: review with @bob, and @zed",
        );
        let r = app.deliver("m1", &raw, at("2026-03-09T17:00:00Z")).await;
        assert_eq!(r.accepted, 1, "{r:?}");
        app.tick(at("2026-03-09T17:01:00Z")).await;
        let receipt = app.sent_of("receipt");
        let text = text_body(&app.read_sent(&receipt[0]));
        // Bob's digest: Tuesday 08:30 in Berlin (07:30Z), 14.5 hours on.
        assert!(
            text.contains(
                "Bob will read this at 08:30 Europe/Berlin time (Tue 10 Mar), in about 15 hours."
            ),
            "{text}"
        );
        assert!(
            text.contains("No member is @zed: nobody was told."),
            "{text}"
        );
        // His digest has it on top, under "Needs you".
        app.tick(at("2026-03-10T07:30:00Z")).await;
        let bob = member_row(&app, "bob@example.test").await.id;
        let digest = text_body(&app.read_sent(&format!("digest_{bob}_2026-03-10.tidings.eml")));
        assert!(
            digest.contains(
                "NEEDS YOU\n* Ann mentioned you (Mon 9 Mar):\n    review with @bob, and @zed"
            ),
            "{digest}"
        );
    }
);

both!(comments_and_mentions_come_at_once_when_chosen, |app| {
    let (rt, mid) = setup(&app).await;
    // Ann chooses both at once, by reply commands.
    for (n, cmd) in ["comments immediate", "mentions immediate"]
        .iter()
        .enumerate()
    {
        let raw = gmail_reply(
            "ann@example.test",
            &rt,
            &mid,
            &format!("p{n}@mail.test"),
            cmd,
        );
        let r = app
            .deliver(&format!("p{n}"), &raw, at("2026-03-09T16:50:00Z"))
            .await;
        assert_eq!(r.commands, 1, "{cmd}: {r:?}");
    }
    let ann = member_row(&app, "ann@example.test").await;
    let bob = member_row(&app, "bob@example.test").await;
    assert_eq!(
        (ann.comments, ann.mentions),
        (
            tidings::domain::Delivery::Immediate,
            tidings::domain::Delivery::Immediate
        )
    );
    let raw = gmail_reply(
        "ann@example.test",
        &rt,
        &mid,
        "u1@mail.test",
        "Done: the runbook",
    );
    app.deliver("u1", &raw, at("2026-03-09T17:00:00Z")).await;
    let update = app
        .ctx
        .store
        .update_for(ann.id, "2026-03-09".parse().unwrap())
        .await
        .unwrap()
        .unwrap()
        .id;
    // Bob's comment, to his own "Reply to Ann" address.
    let to = app.ctx.comment_address(bob.id, update);
    let raw = format!(
        "From: Bob <bob@example.test>\r\nTo: {to}\r\nSubject: Re: Ann's update\r\nMessage-ID: <c9@mail.test>\r\nDate: Mon, 9 Mar 2026 17:10:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nLooks good, ship it.\r\n"
    )
    .into_bytes();
    let r = app.deliver("c9", &raw, at("2026-03-09T17:10:00Z")).await;
    assert_eq!(r.commands, 1, "{r:?}");
    app.tick(at("2026-03-09T17:11:00Z")).await;
    let sent = app.sent_of("comment");
    assert_eq!(sent.len(), 1, "{:?}", app.sent());
    let text = text_body(&app.read_sent(&sent[0]));
    assert!(
        text.contains("Bob commented:") && text.contains("Looks good, ship it."),
        "{text}"
    );
    assert!(
        app.ctx
            .store
            .pending_comments(ann.id)
            .await
            .unwrap()
            .is_empty(),
        "not again in the digest"
    );
    // Bob mentions @ann: an email now, the receipt says so, nothing for her digest.
    app.ctx
        .store
        .upsert_update(
            bob.id,
            "2026-03-09".parse().unwrap(),
            "Next: pair with @ann",
            &[],
            "api",
            None,
            false,
            0,
        )
        .await
        .unwrap();
    let bu = app
        .ctx
        .store
        .update_for(bob.id, "2026-03-09".parse().unwrap())
        .await
        .unwrap()
        .unwrap()
        .id;
    let now = at("2026-03-09T17:20:00Z");
    let report = tidings::jobs::mentions::record(&app.ctx, &bob, bu, "Next: pair with @ann", now)
        .await
        .unwrap();
    let lines = tidings::jobs::mentions::receipt_lines(&report, now);
    assert!(lines.contains("Ann gets this now, by email"), "{lines}");
    app.tick(at("2026-03-09T17:21:00Z")).await;
    assert_eq!(app.sent_of("mention").len(), 1, "{:?}", app.sent());
    assert!(
        app.ctx
            .store
            .pending_mentions(ann.id)
            .await
            .unwrap()
            .is_empty()
    );
});

/// A DSN as Postfix writes it: multipart/report with a message/delivery-status part.
pub fn dsn(msg_id: &str, recipient: &str, status: &str) -> Vec<u8> {
    format!(
        "From: MAILER-DAEMON@mx.example.test (Mail Delivery System)\r\nTo: tidings@example.test\r\nSubject: Undelivered Mail Returned to Sender\r\nMessage-ID: <{msg_id}>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you that your message could not be delivered.\r\n\r\n--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.test\r\nArrival-Date: Mon,  9 Mar 2026 15:30:01 +0000\r\n\r\nFinal-Recipient: rfc822; {recipient}\r\nOriginal-Recipient: rfc822;{recipient}\r\nAction: failed\r\nStatus: {status}\r\nDiagnostic-Code: smtp; 550 5.1.1 <{recipient}>: Recipient address rejected\r\n\r\n--B\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: Tidings <tidings@example.test>\r\nTo: {recipient}\r\nSubject: Your update\r\n\r\n--B--\r\n"
    )
    .into_bytes()
}

async fn member_row(app: &TestApp, email: &str) -> tidings::domain::Member {
    app.ctx
        .store
        .member_by_email(&addr(email))
        .await
        .unwrap()
        .unwrap()
}

both!(
    hard_bounces_pause_an_address_after_the_threshold_and_are_never_updates,
    |app| {
        setup(&app).await;
        // A temporary failure does not count.
        let r = app
            .deliver(
                "soft",
                &dsn("soft@mx", "ann@example.test", "4.2.2"),
                at("2026-03-09T16:00:00Z"),
            )
            .await;
        assert_eq!(r.ignored, 1, "{r:?}");
        assert_eq!(member_row(&app, "ann@example.test").await.bounces, 0);
        for i in 1..=3 {
            let raw = dsn(&format!("b{i}@mx"), "ann@example.test", "5.1.1");
            let r = app
                .deliver(&format!("b{i}"), &raw, at("2026-03-09T16:00:00Z"))
                .await;
            assert_eq!(r.ignored, 1, "{r:?}");
            // The same bounce delivered again is not counted twice.
            app.deliver(&format!("b{i}-again"), &raw, at("2026-03-09T16:00:00Z"))
                .await;
            let m = member_row(&app, "ann@example.test").await;
            assert_eq!(m.bounces, i);
            assert_eq!(m.paused, i >= 3, "paused after the third hard bounce");
        }
        let ignored = app
            .ctx
            .store
            .inbound_with_status(InboundStatus::Ignored, 10)
            .await
            .unwrap();
        assert_eq!(ignored.len(), 4);
        assert_eq!(ignored[0].raw, dsn("b3@mx", "ann@example.test", "5.1.1"));
        let reason = ignored[0].reason.clone().unwrap_or_default();
        assert!(
            reason.contains("bounce") && reason.contains("paused"),
            "{reason}"
        );
        assert_eq!(ignored[0].member_id, Some(1));
        // Bob is not affected; replying "resume" clears Ann's count.
        assert_eq!(member_row(&app, "bob@example.test").await.bounces, 0);
        app.ctx
            .store
            .update_member(
                &addr("ann@example.test"),
                &tidings::store::MemberChange {
                    paused: Some(false),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(member_row(&app, "ann@example.test").await.bounces, 0);
    }
);

both!(
    an_out_of_office_reply_with_a_return_date_marks_the_member_away,
    |app| {
        let (rt, mid) = setup(&app).await;
        let ooo = format!(
            "From: Ann <ann@example.test>\r\nTo: {rt}\r\nSubject: Abwesenheitsnotiz: Your update\r\nAuto-Submitted: auto-replied\r\nMessage-ID: <ooo-ann@mail.test>\r\nIn-Reply-To: <{mid}>\r\nDate: Mon, 9 Mar 2026 17:00:00 +0100\r\n\r\nIch bin bis 20.3. nicht im Büro und ab dem 23.03. wieder da.\r\n"
        );
        let r = app
            .deliver("ooo", ooo.as_bytes(), at("2026-03-09T16:00:00Z"))
            .await;
        assert_eq!(r.ignored, 1, "{r:?}");
        let m = member_row(&app, "ann@example.test").await;
        assert!(m.is_away_on("2026-03-20".parse().unwrap()), "{:?}", m.away);
        assert!(!m.is_away_on("2026-03-23".parse().unwrap()), "{:?}", m.away);
        assert!(
            app.ctx
                .store
                .update_for(1, "2026-03-09".parse().unwrap())
                .await
                .unwrap()
                .is_none()
        );
        // Someone else's auto-reply carrying Ann's token does not mark her away, and neither
        // does an out-of-office from an address that is no member.
        let other = format!(
            "From: mallory@elsewhere.test\r\nTo: {rt}\r\nSubject: Out of office\r\nAuto-Submitted: auto-replied\r\nMessage-ID: <ooo-m@mail.test>\r\n\r\nI am out of the office until 14 December.\r\n"
        );
        app.deliver("ooo2", other.as_bytes(), at("2026-03-09T16:00:00Z"))
            .await;
        let m = member_row(&app, "ann@example.test").await;
        assert!(!m.is_away_on("2026-12-14".parse().unwrap()), "{:?}", m.away);
        // Bob's own out-of-office, fresh to the base address, counts for Bob.
        // (only when our receiving server vouches for it: anybody can write Bob's From).
        let bob = b"From: bob@example.test\r\nTo: updates@example.test\r\nSubject: Automatic reply: back on 2026-03-16\r\nX-Autoreply: yes\r\nMessage-ID: <ooo-b@mail.test>\r\n\r\nThanks for your message.\r\n";
        app.deliver("ooo3", bob, at("2026-03-09T16:00:00Z")).await;
        let m = member_row(&app, "bob@example.test").await;
        assert!(!m.is_away_on("2026-03-15".parse().unwrap()), "{:?}", m.away);
        let bob = vouched("example.test", &swap(&bob[..], "<ooo-b@", "<ooo-b2@"));
        app.deliver("ooo4", &bob, at("2026-03-09T16:00:00Z")).await;
        let m = member_row(&app, "bob@example.test").await;
        assert!(m.is_away_on("2026-03-15".parse().unwrap()), "{:?}", m.away);
        assert!(!m.is_away_on("2026-03-16".parse().unwrap()), "{:?}", m.away);
        // No notice goes to automatic mail.
        app.tick(at("2026-03-09T16:05:00Z")).await;
        assert!(app.sent_of("notice").is_empty(), "{:?}", app.sent());
    }
);

both!(
    a_quarantined_reply_is_reprocessed_after_an_alias_is_added_or_released,
    |app| {
        let (rt, mid) = setup(&app).await;
        let raw = gmail_reply(
            "ann.private@home.test",
            &rt,
            &mid,
            "alias@mail.test",
            "Worked from home today.",
        );
        let r = app.deliver("a", &raw, at("2026-03-09T17:00:00Z")).await;
        assert_eq!(r.quarantined, 1, "{r:?}");
        let id = app
            .ctx
            .store
            .inbound_with_status(InboundStatus::Quarantined, 1)
            .await
            .unwrap()[0]
            .id;
        app.ctx
            .store
            .add_alias(1, &addr("ann.private@home.test"))
            .await
            .unwrap();
        let o = tidings::jobs::ingest::reprocess(&app.ctx, id, at("2026-03-09T17:05:00Z"))
            .await
            .unwrap();
        assert!(
            matches!(o, Some(tidings::jobs::ingest::Outcome::Accepted { .. })),
            "{o:?}"
        );
        let u = app
            .ctx
            .store
            .update_for(1, "2026-03-09".parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(u.body, "Worked from home today.");

        // A stranger's message released by an operator as Bob's update.
        let stranger = b"From: intern@agency.test\r\nTo: updates@example.test\r\nSubject: Bob's update\r\nMessage-ID: <rel@mail.test>\r\n\r\nBob asked me to send: shipped the docs.\r\n";
        app.deliver("s", stranger, at("2026-03-09T17:10:00Z")).await;
        let q = app
            .ctx
            .store
            .inbound_with_status(InboundStatus::Quarantined, 10)
            .await
            .unwrap();
        assert_eq!(q.len(), 1);
        let bob = member_row(&app, "bob@example.test").await;
        let (_, date) = tidings::jobs::ingest::release(
            &app.ctx,
            q[0].id,
            &bob,
            (None, None),
            at("2026-03-09T18:00:00Z"),
        )
        .await
        .unwrap();
        assert_eq!(date.to_string(), "2026-03-09");
        let u = app.ctx.store.update_for(2, date).await.unwrap().unwrap();
        assert_eq!(u.body, "Bob asked me to send: shipped the docs.");
        // Released once: a second release is refused.
        assert!(
            tidings::jobs::ingest::release(
                &app.ctx,
                q[0].id,
                &bob,
                (None, None),
                at("2026-03-09T18:00:00Z")
            )
            .await
            .is_err()
        );
    }
);

both!(
    a_message_stored_by_a_crashed_worker_is_processed_after_its_lease,
    |app| {
        let (rt, mid) = setup(&app).await;
        let raw = gmail_reply(
            "ann@example.test",
            &rt,
            &mid,
            "crash@mail.test",
            "Survived.",
        );
        // A worker stored the raw bytes and died before recording an outcome.
        let t0 = at("2026-03-09T17:00:00Z").timestamp();
        app.ctx
            .store
            .insert_inbound("crash@mail.test", &raw, "imap", t0, t0 + 600)
            .await
            .unwrap()
            .unwrap();
        // While its lease runs, the re-delivered message is left to that worker.
        let r = app.deliver("c1", &raw, at("2026-03-09T17:05:00Z")).await;
        assert_eq!(r.duplicates, 1, "{r:?}");
        let r = app.deliver("c2", &raw, at("2026-03-09T17:11:00Z")).await;
        assert_eq!(r.accepted, 1, "{r:?}");
    }
);

both!(two_pollers_on_one_database_store_one_update, |app| {
    let (rt, mid) = setup(&app).await;
    let other = tidings::jobs::Ctx::build((*app.ctx.config).clone())
        .await
        .unwrap();
    let inbox = &app.ctx.config.mail.maildir.inbox;
    tidings::mail::outbound::ensure_maildir(inbox).unwrap();
    for i in 0..10 {
        let raw = gmail_reply(
            "ann@example.test",
            &rt,
            &mid,
            &format!("p{i}@mail.test"),
            &format!("Part {i}."),
        );
        std::fs::write(inbox.join("new").join(format!("m{i}")), raw).unwrap();
    }
    let now = at("2026-03-09T17:00:00Z");
    let (a, b) = tokio::join!(
        tidings::jobs::ingest::poll(&app.ctx, now),
        tidings::jobs::ingest::poll(&other, now)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.accepted + b.accepted, 10, "{a:?} {b:?}");
    let u = app
        .ctx
        .store
        .update_for(1, "2026-03-09".parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(u.revision, 10);
    for i in 0..10 {
        assert_eq!(
            u.body.matches(&format!("Part {i}.")).count(),
            1,
            "{}",
            u.body
        );
    }
    other.store.close().await;
});

both!(a_10_mb_reply_is_stored_and_its_text_kept, |app| {
    let (rt, mid) = setup(&app).await;
    let mut raw = gmail_reply("ann@example.test", &rt, &mid, "big@mail.test", "Big day.");
    // Up to the default mail.inbound.max_message_bytes (10 MiB), not past it.
    while raw.len() < 10 * 1024 * 1024 - 64 {
        raw.extend_from_slice(b"> an old quoted line repeated to make the message huge\r\n");
    }
    let r = app.deliver("big", &raw, at("2026-03-09T17:00:00Z")).await;
    assert_eq!(r.accepted, 1, "{r:?}");
    let u = app
        .ctx
        .store
        .update_for(1, "2026-03-09".parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(u.body, "Big day.");
    let stored = app
        .ctx
        .store
        .inbound_with_status(InboundStatus::Accepted, 1)
        .await
        .unwrap();
    assert_eq!(
        stored[0].raw.len(),
        raw.len(),
        "the raw message is kept whole"
    );
});

/// The recipients of queued notices.
async fn notice_recipients(app: &TestApp) -> Vec<String> {
    let mut r: Vec<String> = app
        .ctx
        .store
        .list_outbox(false, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.kind == "notice")
        .map(|r| r.recipient)
        .collect();
    r.sort();
    r
}

both!(
    notices_go_only_to_members_whose_mail_passed_the_token_or_dmarc,
    |app| {
        let (rt, mid) = setup(&app).await;
        let t = at("2026-03-09T17:00:00Z");
        // A stranger writing to the base address, and a stranger with Ann's real token: a
        // forged From may be anybody, so neither is answered (no backscatter).
        let stranger = b"From: someone@elsewhere.test\r\nTo: updates@example.test\r\nSubject: hi\r\nMessage-ID: <s1@elsewhere.test>\r\n\r\nBuy now.\r\n";
        app.deliver("s1", stranger, t).await;
        app.deliver(
            "s2",
            &gmail_reply("forged@elsewhere.test", &rt, &mid, "s2@mail.test", "Hi"),
            t,
        )
        .await;
        assert_eq!(notice_recipients(&app).await, Vec::<String>::new());
        // Bob, a member, with Ann's valid token: told why.
        app.deliver(
            "b1",
            &gmail_reply("bob@example.test", &rt, &mid, "b1@mail.test", "Mine"),
            t,
        )
        .await;
        assert_eq!(notice_recipients(&app).await, vec!["bob@example.test"]);
        // Ann with an altered token: not told, unless the receiving server vouches for her
        // From with DMARC (the topmost Authentication-Results only).
        let (user, domain) = rt.split_once('@').unwrap();
        let last = user.chars().last().unwrap();
        let bad = format!(
            "{}{}@{domain}",
            &user[..user.len() - 1],
            if last == 'A' { 'B' } else { 'A' }
        );
        app.deliver(
            "a1",
            &gmail_reply("ann@example.test", &bad, &mid, "a1@mail.test", "Mine"),
            t,
        )
        .await;
        let mut lower = b"Authentication-Results: mx.example.test; spf=none\r\nAuthentication-Results: forged.test; dmarc=pass\r\n".to_vec();
        lower.extend(gmail_reply(
            "ann@example.test",
            &bad,
            &mid,
            "a2@mail.test",
            "Mine",
        ));
        app.deliver("a2", &lower, t).await;
        assert_eq!(notice_recipients(&app).await, vec!["bob@example.test"]);
        let mut passed =
            b"Authentication-Results: mx.example.test; dkim=pass; dmarc=pass header.from=example.test\r\n"
                .to_vec();
        passed.extend(gmail_reply(
            "ann@example.test",
            &bad,
            &mid,
            "a3@mail.test",
            "Mine",
        ));
        app.deliver("a3", &passed, t).await;
        assert_eq!(
            notice_recipients(&app).await,
            vec!["ann@example.test", "bob@example.test"]
        );
        // Every one of them is kept, quarantined with its reason.
        let q = app
            .ctx
            .store
            .inbound_with_status(InboundStatus::Quarantined, 10)
            .await
            .unwrap();
        assert_eq!(q.len(), 6, "{q:?}");
        assert!(q.iter().all(|r| r.reason.is_some()));
    }
);

both!(
    a_reply_to_the_receipt_with_replace_replaces_that_days_update,
    |app| {
        let (rt, mid) = setup(&app).await;
        app.deliver(
            "r1",
            &gmail_reply("ann@example.test", &rt, &mid, "r1@mail.test", "Shipped X."),
            at("2026-03-09T17:00:00Z"),
        )
        .await;
        app.tick(at("2026-03-09T17:01:00Z")).await;
        let receipts = app.sent_of("receipt");
        assert_eq!(receipts.len(), 1);
        let receipt = app.read_sent(&receipts[0]);
        assert!(receipt.contains("In-Reply-To: <r1@mail.test>"), "{receipt}");
        // The receipt's Reply-To is Ann's token address for that day, not the bare base.
        let (receipt_rt, receipt_mid) = reply_headers(&receipt);
        assert!(
            receipt_rt.starts_with("updates+m1-20260309-"),
            "{receipt_rt}"
        );
        let r = app
            .deliver(
                "r2",
                &gmail_reply(
                    "ann@example.test",
                    &receipt_rt,
                    &receipt_mid,
                    "r2@mail.test",
                    "replace\nShipped X and Y.",
                ),
                // The next morning: the token's date decides, not the day it arrives.
                at("2026-03-10T07:00:00Z"),
            )
            .await;
        assert_eq!(r.accepted, 1, "{r:?}");
        let u = app
            .ctx
            .store
            .update_for(1, "2026-03-09".parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(u.body, "Shipped X and Y.");
        assert!(
            app.ctx
                .store
                .update_for(1, "2026-03-10".parse().unwrap())
                .await
                .unwrap()
                .is_none()
        );
    }
);

both!(
    a_member_writing_from_another_address_is_told_how_to_get_it_added,
    |app| {
        let (rt, mid) = setup(&app).await;
        let t = at("2026-03-09T17:00:00Z");
        // Ann's valid token, from her private address, and the receiving server vouches for
        // that From with DMARC: not forged, so told what to do (without naming Ann's address).
        let mut raw =
            b"Authentication-Results: mx.example.test; dkim=pass; dmarc=pass header.from=home.test\r\n"
                .to_vec();
        raw.extend(gmail_reply(
            "ann@home.test",
            &rt,
            &mid,
            "h1@home.test",
            "Done: x",
        ));
        app.deliver("h1", &raw, t).await;
        assert_eq!(notice_recipients(&app).await, vec!["ann@home.test"]);
        app.tick(at("2026-03-09T17:01:00Z")).await;
        let notices = app.sent_of("notice");
        assert_eq!(notices.len(), 1);
        let text = text_body(&app.read_sent(&notices[0]));
        assert!(text.contains("--alias ann@home.test"), "{text}");
        assert!(
            text.contains("Reply from the address the request was sent to"),
            "{text}"
        );
        assert!(!text.contains("ann@example.test"), "{text}");
    }
);

both!(
    a_reply_to_a_full_update_is_kept_raw_and_the_member_told,
    |app| {
        use tidings::store::MAX_UPDATE_REVISIONS;
        let (rt, mid) = setup(&app).await;
        let date = "2026-03-09".parse().unwrap();
        for i in 0..MAX_UPDATE_REVISIONS {
            app.ctx
                .store
                .upsert_update(1, date, &format!("part {i}"), &[], "api", None, false, 0)
                .await
                .unwrap();
        }
        let raw = gmail_reply(
            "ann@example.test",
            &rt,
            &mid,
            "full@mail.test",
            "One more thing.",
        );
        let r = app.deliver("full", &raw, at("2026-03-09T17:00:00Z")).await;
        assert_eq!(r.accepted, 0, "{r:?}");
        let q = app
            .ctx
            .store
            .inbound_with_status(InboundStatus::Quarantined, 10)
            .await
            .unwrap();
        assert_eq!(q.len(), 1, "{q:?}");
        assert_eq!(q[0].raw, raw, "kept raw");
        assert!(
            q[0].reason.as_deref().unwrap_or_default().contains("full"),
            "{:?}",
            q[0].reason
        );
        let u = app.ctx.store.update_for(1, date).await.unwrap().unwrap();
        assert!(!u.body.contains("One more thing."), "{}", u.body);
        app.tick(at("2026-03-09T17:01:00Z")).await;
        let notices = app.sent_of("notice");
        assert_eq!(notices.len(), 1, "{notices:?}");
        let text = text_body(&app.read_sent(&notices[0]));
        assert!(text.contains("\"replace\""), "{text}");
        // "replace" still works on a full day.
        let raw = gmail_reply(
            "ann@example.test",
            &rt,
            &mid,
            "rep@mail.test",
            "replace\nThe whole day, rewritten.",
        );
        let r = app.deliver("rep", &raw, at("2026-03-09T17:05:00Z")).await;
        assert_eq!(r.accepted, 1, "{r:?}");
        let u = app.ctx.store.update_for(1, date).await.unwrap().unwrap();
        assert_eq!(u.body, "The whole day, rewritten.");
    }
);

both!(
    a_reply_to_a_digest_never_becomes_the_senders_update,
    |app| {
        let (rt, mid) = setup(&app).await;
        // Ann writes her Monday update; Bob's digest on Tuesday morning carries it.
        let raw = gmail_reply(
            "ann@example.test",
            &rt,
            &mid,
            "a1@mail.test",
            "Shipped the importer.",
        );
        app.deliver("a1", &raw, at("2026-03-09T17:00:00Z")).await;
        app.tick(at("2026-03-10T07:30:00Z")).await;
        let digests = app.sent_of("digest");
        let bobs: Vec<String> = digests
            .iter()
            .map(|n| app.read_sent(n))
            .filter(|d| {
                d.contains("To: Bob <bob@example.test>") || d.contains("To: bob@example.test")
            })
            .collect();
        assert_eq!(bobs.len(), 1, "{digests:?}");
        let digest_id = mail_parser::MessageParser::default()
            .parse(bobs[0].as_bytes())
            .and_then(|m| m.message_id().map(str::to_string))
            .expect("the digest has a Message-ID");
        // Bob answers the digest (to the address it came from, no token).
        let reply = format!(
            "From: Bob <bob@example.test>\r\nTo: updates@example.test\r\nSubject: Re: digest\r\nMessage-ID: <b1@mail.test>\r\nIn-Reply-To: <{digest_id}>\r\nReferences: <{digest_id}>\r\nDate: Tue, 10 Mar 2026 08:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nAnn: I have the staging credentials, ping me.\r\n\r\nOn Tue, 10 Mar 2026, Tidings wrote:\r\n> Shipped the importer.\r\n"
        );
        // (vouched for by our receiving server: only then is a stranger's word not at stake).
        let r = app
            .deliver(
                "b1",
                &vouched("example.test", reply.as_bytes()),
                at("2026-03-10T08:00:00Z"),
            )
            .await;
        assert_eq!(r.accepted, 0, "{r:?}");
        let bob_update = app
            .ctx
            .store
            .update_for(2, "2026-03-10".parse().unwrap())
            .await
            .unwrap();
        assert!(bob_update.is_none(), "{bob_update:?}");
        let ignored = app
            .ctx
            .store
            .inbound_with_status(InboundStatus::Ignored, 10)
            .await
            .unwrap();
        assert_eq!(ignored.len(), 1, "kept, with its reason: {ignored:?}");
        assert!(
            ignored[0]
                .reason
                .as_deref()
                .unwrap_or_default()
                .contains("digest")
        );
        app.tick(at("2026-03-10T08:01:00Z")).await;
        let told: Vec<String> = app
            .sent_of("notice")
            .iter()
            .map(|n| app.read_sent(n))
            .filter(|t| {
                t.contains("bob@example.test") && text_body(t).contains("was not sent to anyone")
            })
            .collect();
        assert_eq!(told.len(), 1, "Bob is told where replies go");
    }
);

both!(
    an_interleaved_reply_keeps_its_questions_and_its_blocker_reaches_the_digest,
    |app| {
        let (rt, mid) = setup(&app).await;
        // Answered under each quoted question, as mutt, neomutt, s-nail and aerc users do.
        let raw = format!(
            "From: Ann <ann@example.test>\r\nTo: {rt}\r\nSubject: Re: Your update\r\nMessage-ID: <il1@mail.test>\r\nIn-Reply-To: <{mid}>\r\nReferences: <{mid}>\r\nDate: Mon, 9 Mar 2026 17:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nOn Mon, Mar 09, 2026 at 04:30:00PM +0100, Tidings wrote:\r\n> Hi Ann,\r\n>\r\n> * What did you get done?\r\nShipped the CSV importer.\r\n\r\n> * What's next?\r\nReview PR #42.\r\n\r\n> * Anything blocking you?\r\nWaiting on staging credentials.\r\n\r\n> Just reply to this email.\r\n"
        );
        let r = app
            .deliver("il1", raw.as_bytes(), at("2026-03-09T17:00:00Z"))
            .await;
        assert_eq!(r.accepted, 1, "{r:?}");
        let u = app
            .ctx
            .store
            .update_for(1, "2026-03-09".parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert!(
            u.body
                .contains("What did you get done?\nShipped the CSV importer."),
            "{}",
            u.body
        );
        assert!(
            u.body
                .contains("Anything blocking you?\nWaiting on staging credentials."),
            "{}",
            u.body
        );
        app.tick(at("2026-03-10T07:30:00Z")).await;
        let bobs: Vec<String> = app
            .sent_of("digest")
            .iter()
            .map(|n| app.read_sent(n))
            .filter(|d| d.contains("bob@example.test"))
            .collect();
        assert_eq!(bobs.len(), 1);
        let subject = mail_parser::MessageParser::default()
            .parse(bobs[0].as_bytes())
            .and_then(|m| m.subject().map(str::to_string))
            .unwrap_or_default();
        assert!(subject.ends_with("1 blocker"), "{subject}");
        let text = text_body(&bobs[0]);
        let box_at = text.find("BLOCKERS").expect("a blockers box");
        assert!(
            text[box_at..].contains("Waiting on staging credentials."),
            "{text}"
        );
    }
);

both!(
    the_filing_rule_a_reply_counts_for_its_request_or_the_date_it_names,
    |app| {
        // Ann's Monday request, answered after midnight Berlin time: still Monday's update.
        let (rt, mid) = setup(&app).await;
        let r = app
            .deliver(
                "late",
                &gmail_reply(
                    "ann@example.test",
                    &rt,
                    &mid,
                    "late@mail.test",
                    "Late night work.",
                ),
                at("2026-03-09T23:30:00Z"),
            )
            .await;
        assert_eq!(r.accepted, 1, "{r:?}");
        let day = |d: &str| d.parse::<chrono::NaiveDate>().unwrap();
        let monday = app
            .ctx
            .store
            .update_for(1, day("2026-03-09"))
            .await
            .unwrap();
        assert_eq!(monday.unwrap().body, "Late night work.");
        assert!(
            app.ctx
                .store
                .update_for(1, day("2026-03-10"))
                .await
                .unwrap()
                .is_none()
        );

        // "for DATE" on the first line files the rest for that (past) day instead, with the
        // usual receipt; "replace" may follow it.
        let r = app
            .deliver(
                "for",
                &gmail_reply(
                    "ann@example.test",
                    &rt,
                    &mid,
                    "for@mail.test",
                    "For 2026-03-06:\nFriday's work, written up late.",
                ),
                at("2026-03-10T08:00:00Z"),
            )
            .await;
        assert_eq!(r.accepted, 1, "{r:?}");
        let friday = app
            .ctx
            .store
            .update_for(1, day("2026-03-06"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(friday.body, "Friday's work, written up late.");
        app.deliver(
            "for-replace",
            &gmail_reply(
                "ann@example.test",
                &rt,
                &mid,
                "for2@mail.test",
                "for 2026-03-06\nreplace\nFriday, rewritten.",
            ),
            at("2026-03-10T08:05:00Z"),
        )
        .await;
        let friday = app
            .ctx
            .store
            .update_for(1, day("2026-03-06"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(friday.body, "Friday, rewritten.");
        let monday = app
            .ctx
            .store
            .update_for(1, day("2026-03-09"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(monday.body, "Late night work.", "Monday's is untouched");

        // A day that has not begun where Ann is: nothing saved, kept with the reason, told why.
        let r = app
            .deliver(
                "future",
                &gmail_reply(
                    "ann@example.test",
                    &rt,
                    &mid,
                    "future@mail.test",
                    "for 2026-03-11\nTomorrow's plan.",
                ),
                at("2026-03-10T08:10:00Z"),
            )
            .await;
        assert_eq!((r.accepted, r.quarantined), (0, 1), "{r:?}");
        assert!(
            app.ctx
                .store
                .update_for(1, day("2026-03-11"))
                .await
                .unwrap()
                .is_none()
        );
        app.tick(at("2026-03-10T08:11:00Z")).await;
        let told = app
            .sent_of("receipt")
            .iter()
            .map(|f| text_body(&app.read_sent(f)))
            .any(|t| t.contains("has not begun where you are"));
        assert!(told, "a notice says why");
    }
);

// ----------------------------------------------------------------- pre-fill and extraction
// Here, not beside the extraction: `mail` may not import `render` (the manual,
// docs/src/development/architecture.md).

/// The request as Tidings writes it with a pre-filled plan, quoted by a mail client.
fn quoted_request_with_a_plan() -> String {
    let questions = [
        "What did you get done?".to_string(),
        "What's next?".to_string(),
        "Anything blocking you?".to_string(),
    ];
    let request = tidings::render::request_text(&tidings::render::RequestView {
        what: "stand-up",
        member_name: "Ann",
        teams: &["core".to_string()],
        local_date: chrono::NaiveDate::from_ymd_opt(2026, 3, 10).unwrap(),
        questions: &questions,
        prefs_url: "https://t.example/p/x",
        reminder: false,
        last_plan: Some((
            chrono::NaiveDate::from_ymd_opt(2026, 3, 9).unwrap(),
            vec![
                "Roll out the importer to 10%".to_string(),
                "Done: review PR #42".to_string(),
            ],
        )),
        draft: None,
    });
    assert!(
        request.contains("Last time (Mon 9 Mar) you planned:\n> Roll out the importer to 10%\n")
    );
    request
        .lines()
        .map(|l| {
            if l.is_empty() {
                ">".to_string()
            } else {
                format!("> {l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_pre_filled_plan_quoted_in_a_reply_is_never_the_answer() {
    let quoted = quoted_request_with_a_plan();
    let attribution = "On Tue, 10 Mar 2026 at 16:30, Tidings <updates@example.test> wrote:";
    // Top-posted, as most clients do.
    let top = format!("Rolled it out to 10%.\n\n{attribution}\n{quoted}\n");
    assert_eq!(
        tidings::mail::extract::reply_text(&top),
        "Rolled it out to 10%."
    );
    // Written right under the quoted plan, then under each question: the plan and its
    // heading are history, the questions head the answers.
    let mut inter = format!("{attribution}\n");
    for l in quoted.lines() {
        inter.push_str(l);
        inter.push('\n');
        if l.contains("Done: review PR #42") {
            inter.push_str("Both done.\n");
        } else if l.contains("What did you get done?") {
            inter.push_str("Rolled it out.\n");
        } else if l.contains("Anything blocking you?") {
            inter.push_str("Nothing.\n");
        }
    }
    let text = tidings::mail::extract::reply_text(&inter);
    assert!(!text.contains("Roll out the importer"), "{text}");
    assert!(!text.contains("review PR #42"), "{text}");
    assert!(!text.contains("Last time"), "{text}");
    assert!(text.starts_with("Both done."), "{text}");
    assert!(
        text.contains("What did you get done?\nRolled it out.")
            && text.contains("Anything blocking you?\nNothing."),
        "{text}"
    );
    // Bottom-posted under the whole request.
    let bottom = format!("{attribution}\n{quoted}\n\nShipped the importer.\n");
    assert_eq!(
        tidings::mail::extract::reply_text(&bottom),
        "Shipped the importer."
    );
}

/// The request as Tidings writes it with a draft from the GitHub fixture feed (#35), quoted
/// by a mail client; and the draft's lines.
fn quoted_request_with_a_draft() -> (String, Vec<String>) {
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/feeds/github.atom"
    ))
    .expect("fixture");
    let entries = tidings::domain::activity::read(&bytes).expect("a feed");
    let since = "2026-11-30T00:00:00Z".parse().expect("instant");
    let rules = tidings::domain::activity::NoiseRules::defaults();
    let draft = tidings::domain::activity::draft(&entries, since, &[], &rules, 12);
    assert!(draft.lines.len() >= 3, "{draft:?}");
    let titles = draft.lines.iter().map(|l| l.title.clone()).collect();
    let questions = [
        "What did you get done?".to_string(),
        "What's next?".to_string(),
    ];
    let request = tidings::render::request_text(&tidings::render::RequestView {
        what: "stand-up",
        member_name: "Ana Lima",
        teams: &["core".to_string()],
        local_date: chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
        questions: &questions,
        prefs_url: "https://t.example/p/x",
        reminder: false,
        last_plan: None,
        draft: Some(tidings::render::draft::DraftView {
            since: "Mon 30 Nov".into(),
            draft: &draft,
            url: "https://t.example/p/x/draft".into(),
        }),
    });
    assert!(
        request.contains("From your activity since Mon 30 Nov:\n> tidings/"),
        "{request}"
    );
    let quoted = request
        .lines()
        .map(|l| {
            if l.is_empty() {
                ">".to_string()
            } else {
                format!("> {l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    (quoted, titles)
}

#[test]
fn a_draft_quoted_in_a_reply_is_never_the_answer() {
    let (quoted, titles) = quoted_request_with_a_draft();
    let attribution = "On Tue, 1 Dec 2026 at 16:30, Tidings <updates@example.test> wrote:";
    let none_of_the_draft = |text: &str| {
        for t in &titles {
            assert!(!text.contains(t.as_str()), "{t:?} kept:\n{text}");
        }
        for h in ["From your activity", "keep", "github.com"] {
            assert!(!text.contains(h), "{h:?} kept:\n{text}");
        }
    };
    // Top-posted.
    let top = format!("Paired with Bea on the importer.\n\n{attribution}\n{quoted}\n");
    let text = tidings::mail::extract::reply_text(&top);
    assert_eq!(text, "Paired with Bea on the importer.");
    // Interleaved: an answer under the draft's first line and under each question.
    let mut inter = format!("{attribution}\n");
    let mut answered = false;
    for l in quoted.lines() {
        inter.push_str(l);
        inter.push('\n');
        // Set off by blank lines, as mutt users write (a line right under a long quoted
        // line without one reads as that line wrapped by a client).
        if !answered && l.starts_with("> > 1. ") {
            inter.push_str("\nThat one took all day.\n\n");
            answered = true;
        } else if l.contains("What's next?") {
            inter.push_str("The release.\n");
        }
    }
    assert!(answered, "{quoted}");
    let text = tidings::mail::extract::reply_text(&inter);
    none_of_the_draft(&text);
    assert!(text.starts_with("That one took all day."), "{text}");
    assert!(text.contains("What's next?\nThe release."), "{text}");
    // Bottom-posted.
    let bottom = format!("{attribution}\n{quoted}\n\nShipped the importer.\n");
    let text = tidings::mail::extract::reply_text(&bottom);
    none_of_the_draft(&text);
    assert_eq!(text, "Shipped the importer.");
    // "keep" on top stays the first line, for ingest to read.
    let keep = format!("keep 1 3\nAlso paired with Bea.\n\n{attribution}\n{quoted}\n");
    assert_eq!(
        tidings::mail::extract::reply_text(&keep),
        "keep 1 3\nAlso paired with Bea."
    );
}
