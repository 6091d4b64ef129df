//! The calendar rules of the planner, each driven by an injected clock and each run twice with
//! the mail counted: missed digests after downtime, a zone change mid-day, team holidays,
//! unsubscribed members, preference changes replanning at once, and local times across DST.

use crate::both;
use crate::helpers::*;
use chrono::NaiveDate;
use tidings::store::{DueKind, MemberChange};

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// Ben (Berlin) writes an update for Monday 2026-03-09 at 17:00 local.
async fn ben_writes(app: &TestApp, ben: i64, date: &str, text: &str, at_utc: &str) {
    app.ctx
        .store
        .upsert_update(
            ben,
            d(date),
            text,
            &[],
            "api",
            None,
            false,
            at(at_utc).timestamp(),
        )
        .await
        .unwrap();
}

both!(a_missed_digest_goes_out_late_the_same_local_day, |app| {
    let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
    let ben = app.member("ben@example.test", "Ben", "Europe/Berlin").await;
    app.tick(at("2026-03-09T00:00:00Z")).await;
    ben_writes(
        &app,
        ben,
        "2026-03-09",
        "Wrote the plan.",
        "2026-03-09T16:00:00Z",
    )
    .await;
    // Down from Monday 17:00Z until Tuesday 20:00Z (21:00 in Berlin: still Tuesday there).
    app.tick(at("2026-03-10T20:00:00Z")).await;
    app.tick(at("2026-03-10T20:01:00Z")).await;
    let name = format!("digest_{ann}_2026-03-10.tidings.eml");
    assert_eq!(app.sent_of(&format!("digest_{ann}")), vec![name.clone()]);
    assert!(text_body(&app.read_sent(&name)).contains("Wrote the plan."));
});

both!(
    a_missed_digest_from_an_earlier_day_is_skipped_and_its_updates_wait,
    |app| {
        let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
        let ben = app.member("ben@example.test", "Ben", "Europe/Berlin").await;
        app.tick(at("2026-03-09T00:00:00Z")).await;
        ben_writes(
            &app,
            ben,
            "2026-03-09",
            "Wrote the plan.",
            "2026-03-09T16:00:00Z",
        )
        .await;
        // Down until Wednesday 06:00Z (07:00 Berlin): Tuesday's digest is skipped, not sent late.
        app.tick(at("2026-03-11T06:00:00Z")).await;
        app.tick(at("2026-03-11T06:00:00Z")).await;
        assert!(app.sent_of(&format!("digest_{ann}")).is_empty());
        // Wednesday's digest at 08:30 Berlin carries the update Ann has not received yet.
        app.tick(at("2026-03-11T07:30:00Z")).await;
        app.tick(at("2026-03-11T07:31:00Z")).await;
        let name = format!("digest_{ann}_2026-03-11.tidings.eml");
        assert_eq!(app.sent_of(&format!("digest_{ann}")), vec![name.clone()]);
        assert!(text_body(&app.read_sent(&name)).contains("Wrote the plan."));
    }
);

both!(
    a_member_who_changes_zone_mid_day_gets_one_digest_that_day,
    |app| {
        let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
        let ben = app.member("ben@example.test", "Ben", "Europe/Berlin").await;
        app.tick(at("2026-03-09T00:00:00Z")).await;
        ben_writes(
            &app,
            ben,
            "2026-03-09",
            "Monday's work.",
            "2026-03-09T16:00:00Z",
        )
        .await;
        // Tuesday 08:30 Berlin = 07:30Z: the digest goes out.
        app.tick(at("2026-03-10T07:30:00Z")).await;
        assert_eq!(app.sent_of(&format!("digest_{ann}")).len(), 1);
        // Ben writes again, then Ann flies to New York, where it is still early Tuesday: her
        // 08:30 there (12:30Z) would be a second Tuesday digest, with news in it.
        ben_writes(
            &app,
            ben,
            "2026-03-10",
            "Tuesday's work.",
            "2026-03-10T07:40:00Z",
        )
        .await;
        app.ctx
            .store
            .update_member(
                &addr("ann@example.test"),
                &MemberChange {
                    tz: Some(chrono_tz::America::New_York),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let mut t = at("2026-03-10T08:00:00Z");
        while t <= at("2026-03-10T23:00:00Z") {
            app.tick(t).await;
            t += chrono::Duration::minutes(15);
        }
        assert_eq!(
            app.sent_of(&format!("digest_{ann}")),
            vec![format!("digest_{ann}_2026-03-10.tidings.eml")],
            "at most one digest per local day"
        );
        // Wednesday 08:30 in New York (12:30Z) brings Tuesday's news.
        app.tick(at("2026-03-11T12:30:00Z")).await;
        let text = text_body(&app.read_sent(&format!("digest_{ann}_2026-03-11.tidings.eml")));
        assert!(text.contains("Tuesday's work."), "{text}");
    }
);

both!(a_team_holiday_sends_nothing_that_day, |app| {
    let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
    let ben = app.member("ben@example.test", "Ben", "Europe/Berlin").await;
    app.ctx
        .store
        .add_holiday("core", d("2026-03-11"))
        .await
        .unwrap();
    let mut t = at("2026-03-10T00:00:00Z");
    while t <= at("2026-03-10T09:00:00Z") {
        app.tick(t).await;
        t += chrono::Duration::minutes(30);
    }
    ben_writes(
        &app,
        ben,
        "2026-03-10",
        "Before the holiday.",
        "2026-03-10T10:00:00Z",
    )
    .await;
    let mut t = at("2026-03-10T10:00:00Z");
    while t <= at("2026-03-12T16:00:00Z") {
        app.tick(t).await;
        t += chrono::Duration::minutes(30);
    }
    assert_eq!(
        app.sent_of("request"),
        vec![
            format!("request_{ann}_2026-03-10.tidings.eml"),
            format!("request_{ann}_2026-03-12.tidings.eml"),
            format!("request_{ben}_2026-03-10.tidings.eml"),
            format!("request_{ben}_2026-03-12.tidings.eml"),
        ]
    );
    // Ann's Wednesday digest is skipped; Thursday's carries Ben's Tuesday update.
    assert_eq!(
        app.sent_of(&format!("digest_{ann}")),
        vec![format!("digest_{ann}_2026-03-12.tidings.eml")]
    );
});

both!(an_unsubscribed_member_gets_nothing, |app| {
    app.member("ann@example.test", "Ann", "Europe/Berlin").await;
    app.ctx
        .store
        .update_member(
            &addr("ann@example.test"),
            &MemberChange {
                unsubscribed: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut t = at("2026-03-09T00:00:00Z");
    while t <= at("2026-03-11T00:00:00Z") {
        app.tick(t).await;
        t += chrono::Duration::minutes(30);
    }
    assert!(app.sent().is_empty(), "{:?}", app.sent());
});

both!(changing_a_preference_replans_the_next_instant, |app| {
    let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
    app.tick(at("2026-03-09T05:00:00Z")).await;
    let s = &app.ctx.store;
    // 16:30 Berlin (UTC+1) = 15:30Z; 08:30 = 07:30Z, still ahead on Monday.
    assert_eq!(
        s.planned(DueKind::Request, ann).await.unwrap(),
        Some((at("2026-03-09T15:30:00Z").timestamp(), d("2026-03-09")))
    );
    assert_eq!(
        s.planned(DueKind::Digest, ann).await.unwrap(),
        Some((at("2026-03-09T07:30:00Z").timestamp(), d("2026-03-09")))
    );
    s.update_member(
        &addr("ann@example.test"),
        &MemberChange {
            request_at: Some("09:00".parse().unwrap()),
            tz: Some(chrono_tz::Asia::Tokyo),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    // The next pass (the very next tick) plans from the new preferences: 09:00 in Tokyo is
    // already past on Monday (05:00Z = 14:00 JST) but it is still Monday there and nothing
    // was sent for it, so Monday's request goes out now (the catch-up rule), and the next
    // one is Tuesday 09:00 JST = 00:00Z.
    app.tick(at("2026-03-09T05:01:00Z")).await;
    assert_eq!(
        s.planned(DueKind::Request, ann).await.unwrap(),
        Some((at("2026-03-10T00:00:00Z").timestamp(), d("2026-03-10")))
    );
    assert_eq!(
        app.sent_of("request").len(),
        1,
        "today's missed request, once"
    );
    // Replanning again the same day sends nothing more: today's request went out.
    s.update_member(
        &addr("ann@example.test"),
        &MemberChange {
            request_at: Some("10:00".parse().unwrap()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    app.tick(at("2026-03-09T05:02:00Z")).await;
    assert_eq!(
        s.planned(DueKind::Request, ann).await.unwrap(),
        Some((at("2026-03-10T01:00:00Z").timestamp(), d("2026-03-10")))
    );
    assert_eq!(
        app.sent_of("request").len(),
        1,
        "nothing sent twice by replanning"
    );
});

both!(
    a_member_added_after_todays_request_time_still_gets_todays_request,
    |app| {
        // Added at 12:23 Berlin with a request time of 12:22 while nothing ran: the first
        // pass still sends today's request (same local day), then plans tomorrow's.
        let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
        app.ctx
            .store
            .update_member(
                &addr("ann@example.test"),
                &MemberChange {
                    request_at: Some("12:22".parse().unwrap()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        app.tick(at("2026-03-09T11:23:00Z")).await;
        assert_eq!(app.sent_of("request").len(), 1, "today's request");
        assert_eq!(
            app.ctx.store.planned(DueKind::Request, ann).await.unwrap(),
            Some((at("2026-03-10T11:22:00Z").timestamp(), d("2026-03-10")))
        );
        app.tick(at("2026-03-09T11:24:00Z")).await;
        assert_eq!(app.sent_of("request").len(), 1, "and only once");
        // A member added after the local day of the fire has ended gets none for it.
        let bob = app
            .member("bob@example.test", "Bob", "Pacific/Auckland")
            .await;
        // 16:30 Monday in Auckland (NZDT, UTC+13) is 03:30Z; at 11:25Z it is already
        // Tuesday 00:25 there, so Monday's request is gone and Tuesday's is planned.
        app.tick(at("2026-03-09T11:25:00Z")).await;
        assert_eq!(
            app.sent_of("request").len(),
            1,
            "no request for a day that is over"
        );
        assert_eq!(
            app.ctx.store.planned(DueKind::Request, bob).await.unwrap(),
            Some((at("2026-03-10T03:30:00Z").timestamp(), d("2026-03-10")))
        );
    }
);

both!(
    requests_keep_their_local_time_across_the_dst_change,
    |app| {
        // Europe/Berlin moves to CEST on Sunday 2026-03-29: 16:30 is 15:30Z on Friday the 27th
        // and 14:30Z on Monday the 30th.
        let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
        app.tick(at("2026-03-27T12:00:00Z")).await;
        app.tick(at("2026-03-27T15:29:00Z")).await;
        assert!(app.sent_of("request").is_empty());
        app.tick(at("2026-03-27T15:30:00Z")).await;
        app.tick(at("2026-03-30T14:29:00Z")).await;
        assert_eq!(app.sent_of("request").len(), 1, "nothing over the weekend");
        app.tick(at("2026-03-30T14:30:00Z")).await;
        app.tick(at("2026-03-30T14:30:00Z")).await;
        assert_eq!(
            app.sent_of("request"),
            vec![
                format!("request_{ann}_2026-03-27.tidings.eml"),
                format!("request_{ann}_2026-03-30.tidings.eml"),
            ]
        );
    }
);
