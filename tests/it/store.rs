//! The store on both backends: members, teams, aliases, conflicts, all-or-nothing imports,
//! compare-and-set planning and leased outbox claims.

use crate::both;
use crate::helpers::*;
use tidings::store::{DueKind, MemberChange, NewEmail, Outcome, StoreError};

both!(members_are_added_listed_changed_and_removed, |app| {
    let s = &app.ctx.store;
    app.member("ann@example.test", "Ann", "Europe/Berlin").await;
    app.member("bob@example.test", "Bob", "America/New_York")
        .await;
    let list = s.list_members().await.unwrap();
    assert_eq!(
        list.iter().map(|m| m.email.as_str()).collect::<Vec<_>>(),
        ["ann@example.test", "bob@example.test"]
    );
    assert_eq!(list[0].tz, chrono_tz::Europe::Berlin);
    assert_eq!(list[0].teams, vec!["core".to_string()]);

    let m = s
        .update_member(
            &addr("ann@example.test"),
            &MemberChange {
                paused: Some(true),
                digest_at: Some("07:15".parse().unwrap()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(m.paused);
    assert_eq!(m.digest_at.to_string(), "07:15");

    s.add_alias(m.id, &addr("ann.private@example.test"))
        .await
        .unwrap();
    let by_alias = s
        .member_by_email(&addr("ann.private@example.test"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_alias.id, m.id);

    s.remove_member(&addr("bob@example.test")).await.unwrap();
    assert_eq!(s.list_members().await.unwrap().len(), 1);
    assert!(matches!(
        s.remove_member(&addr("bob@example.test")).await,
        Err(StoreError::NotFound(_))
    ));
});

both!(a_duplicate_email_is_a_conflict_and_changes_nothing, |app| {
    app.member("ann@example.test", "Ann", "Europe/Berlin").await;
    let r = app
        .ctx
        .store
        .add_member(
            &addr("ann@example.test"),
            &MemberChange::default(),
            &defaults(),
        )
        .await;
    assert!(matches!(r, Err(StoreError::Conflict(_))), "{r:?}");
    assert_eq!(app.ctx.store.list_members().await.unwrap().len(), 1);
});

both!(an_import_is_all_or_nothing, |app| {
    app.member("ann@example.test", "Ann", "Europe/Berlin").await;
    let rows = vec![
        (addr("new1@example.test"), MemberChange::default()),
        (addr("ann@example.test"), MemberChange::default()),
    ];
    let r = app.ctx.store.add_members(&rows, &defaults(), &|_| {}).await;
    assert!(matches!(r, Err((2, StoreError::Conflict(_)))), "{r:?}");
    assert_eq!(
        app.ctx.store.list_members().await.unwrap().len(),
        1,
        "the first row must be rolled back"
    );
});

both!(planned_instants_are_compare_and_set, |app| {
    let id = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
    let s = &app.ctx.store;
    let d = chrono::NaiveDate::from_ymd_opt(2026, 3, 9).unwrap();
    assert!(
        s.set_next(DueKind::Request, id, None, Some((100, d)))
            .await
            .unwrap()
    );
    assert!(
        !s.set_next(DueKind::Request, id, None, Some((200, d)))
            .await
            .unwrap(),
        "only a NULL is filled"
    );
    assert!(
        !s.set_next(DueKind::Request, id, Some(999), Some((300, d)))
            .await
            .unwrap(),
        "wrong expectation"
    );
    assert!(
        s.set_next(DueKind::Request, id, Some(100), Some((400, d)))
            .await
            .unwrap()
    );
    let due = s.due(DueKind::Request, 400, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!((due[0].at, due[0].date), (400, d));
    assert!(s.due(DueKind::Request, 399, 10).await.unwrap().is_empty());
});

both!(the_server_secret_is_generated_once, |app| {
    let a = app.ctx.store.setting_or_insert("k", "first").await.unwrap();
    let b = app
        .ctx
        .store
        .setting_or_insert("k", "second")
        .await
        .unwrap();
    assert_eq!((a.as_str(), b.as_str()), ("first", "first"));
});

fn email(key: &str) -> NewEmail {
    NewEmail {
        idem_key: key.into(),
        kind: "notice",
        member_id: None,
        local_date: None,
        recipient: "x@example.test".into(),
        message_id: format!("{key}@example.test"),
        subject: "s".into(),
        body: b"raw".to_vec(),
        manifest: None,
        checkin: None,
    }
}

both!(
    a_renewed_lease_is_not_claimed_again_and_a_lapsed_one_is,
    |app| {
        let s = &app.ctx.store;
        for i in 1..=3 {
            s.enqueue(&email(&format!("h{i}")), 0).await.unwrap();
        }
        let now = chrono::Utc::now().timestamp();
        let claimed = s.claim_outbox(now, now, 10, 50).await.unwrap();
        let ids: Vec<i64> = claimed.iter().map(|r| r.id).collect();
        let claims: Vec<_> = claimed.iter().map(|r| r.claim()).collect();
        assert_eq!(ids.len(), 3);
        // The worker is alive: its heartbeat moves the lease on before it lapses.
        assert_eq!(s.renew_claims(&claims, now + 25).await.unwrap(), 3);
        assert!(
            s.claim_outbox(now + 15, now + 15, 10, 50)
                .await
                .unwrap()
                .is_empty(),
            "a renewed claim is not taken by another worker"
        );
        s.outbox_sent(ids[0], now + 16).await.unwrap();
        // The worker died: its lease lapses and the two unsent rows are claimed again.
        let again = s.claim_outbox(now + 26, now + 26, 10, 50).await.unwrap();
        assert_eq!(
            again.iter().map(|r| r.id).collect::<Vec<_>>(),
            ids[1..].to_vec()
        );
        // The first worker's heartbeat no longer moves them: they are claimed again, under
        // another attempt (nor the one recorded as sent).
        assert_eq!(s.renew_claims(&claims, now + 90).await.unwrap(), 0);
        // Nor can it record them any more: the new claim's records stand.
        let late = [
            (claims[1], Outcome::Sent { at: now + 27 }),
            (
                again[1].claim(),
                Outcome::Failed {
                    error: "550".into(),
                },
            ),
        ];
        assert_eq!(s.record_outcomes(&late).await.unwrap(), vec![false, true]);
        // Leases are on the wall clock: a pass on a simulated clock in the past still holds
        // its claim for the lease from now.
        assert!(
            s.claim_outbox(0, now + 27, 10, 50)
                .await
                .unwrap()
                .is_empty(),
            "claimed at now + 26 with a 10 s lease"
        );
    }
);

both!(
    the_outbox_is_idempotent_by_key_and_claims_do_not_overlap,
    |app| {
        let s = &app.ctx.store;
        assert!(s.enqueue(&email("k1"), 0).await.unwrap().is_some());
        assert!(
            s.enqueue(&email("k1"), 0).await.unwrap().is_none(),
            "same key, no second row"
        );
        for i in 2..=20 {
            s.enqueue(&email(&format!("k{i}")), 0).await.unwrap();
        }
        let now = chrono::Utc::now().timestamp();
        let (a, b) = tokio::join!(
            s.claim_outbox(now, now, 300, 15),
            s.claim_outbox(now, now, 300, 15)
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        let mut ids: Vec<i64> = a.iter().chain(b.iter()).map(|r| r.id).collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n, "no email claimed twice");
        assert_eq!(n, 20);
        assert!(
            s.claim_outbox(now, now, 300, 50).await.unwrap().is_empty(),
            "leased rows are not claimed again"
        );
        // A crashed worker's lease expires and the row is claimed again.
        let again = s.claim_outbox(now + 301, now + 301, 300, 50).await.unwrap();
        assert_eq!(again.len(), 20);
        assert!(again.iter().all(|r| r.attempts == 2));
    }
);

both!(
    a_reply_stored_once_is_not_appended_again_when_finished_again,
    |app| {
        // A worker that died after storing a reply and before recording it: the reply is finished
        // again from its raw bytes, and storing it again must change nothing.
        let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
        let day = chrono::NaiveDate::from_ymd_opt(2026, 3, 9).unwrap();
        let s = &app.ctx.store;
        let first = s
            .upsert_update(ann, day, "Done: A", &[], "email", Some("<a@x>"), false, 1)
            .await
            .unwrap();
        let second = s
            .upsert_update(ann, day, "Done: B", &[], "email", Some("<b@x>"), false, 2)
            .await
            .unwrap();
        for (mid, text) in [("<a@x>", "Done: A"), ("<b@x>", "Done: B")] {
            let again = s
                .upsert_update(ann, day, text, &[], "email", Some(mid), false, 3)
                .await
                .unwrap();
            assert_eq!((again.id, again.revision), (second.id, 2), "{mid}");
        }
        assert_eq!(first.id, second.id);
        let u = s.update_for(ann, day).await.unwrap().unwrap();
        assert_eq!((u.body.as_str(), u.revision), ("Done: A\n\nDone: B", 2));
    }
);
