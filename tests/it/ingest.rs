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
    a_reply_without_token_matches_by_in_reply_to_and_a_fresh_email_by_sender,
    |app| {
        let (_, mid) = setup(&app).await;
        let raw = gmail_reply(
            "ann@example.test",
            "someone-else@example.test",
            &mid,
            "irt@mail.test",
            "Matched by thread.",
        );
        let r = app.deliver("i", &raw, at("2026-03-09T17:00:00Z")).await;
        assert_eq!(r.accepted, 1, "{r:?}");
        let fresh = b"From: Bob <bob@example.test>\r\nTo: updates@example.test\r\nSubject: my update\r\nMessage-ID: <fresh@mail.test>\r\n\r\nWrote docs all day.\r\n";
        let r = app.deliver("f", fresh, at("2026-03-09T17:00:00Z")).await;
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
