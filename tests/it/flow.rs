//! The daily loop driven by an injected clock: requests at local times, catch-up after
//! downtime, digests with each update exactly once, preference changes. Every idempotent path
//! is run twice and the mail counted.

use crate::both;
use crate::helpers::*;
use chrono::NaiveDate;
use tidings::store::MemberChange;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

// Monday 2026-03-09: Berlin is UTC+1 (16:30 = 15:30Z), New York is already on EDT (UTC-4,
// 16:30 = 20:30Z), Tokyo UTC+9 (16:30 = 07:30Z).

both!(a_request_goes_out_once_at_the_local_time, |app| {
    app.member("ann@example.test", "Ann", "Europe/Berlin").await;
    app.tick(at("2026-03-09T15:00:00Z")).await;
    assert!(
        app.sent_of("request").is_empty(),
        "nothing before 16:30 Berlin"
    );
    app.tick(at("2026-03-09T15:29:59Z")).await;
    assert!(app.sent_of("request").is_empty());
    app.tick(at("2026-03-09T15:30:00Z")).await;
    app.tick(at("2026-03-09T15:30:00Z")).await;
    app.tick(at("2026-03-09T15:31:00Z")).await;
    assert_eq!(
        app.sent_of("request"),
        vec!["request_1_2026-03-09.tidings.eml"]
    );
    let raw = app.read_sent("request_1_2026-03-09.tidings.eml");
    for h in [
        "X-Tidings-Kind: request",
        "Auto-Submitted: auto-generated",
        "X-Auto-Response-Suppress: DR, RN, NRN",
        "List-Id: \"Tidings: core\" <core.tidings.example.test>",
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
    ] {
        assert!(raw.contains(h), "{h}");
    }
    let (reply_to, _) = reply_headers(&raw);
    assert!(
        reply_to.starts_with("updates+m1-20260309-") && reply_to.ends_with("@example.test"),
        "{reply_to}"
    );
    let outbox = app.ctx.store.list_outbox(false, 10).await.unwrap();
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].state, "sent");
});

both!(a_missed_request_goes_out_late_the_same_local_day, |app| {
    app.member("ann@example.test", "Ann", "Europe/Berlin").await;
    app.tick(at("2026-03-09T09:00:00Z")).await;
    // The service was down from 09:00Z to 21:00Z (22:00 in Berlin, still Monday there).
    app.tick(at("2026-03-09T21:00:00Z")).await;
    app.tick(at("2026-03-09T21:01:00Z")).await;
    assert_eq!(
        app.sent_of("request"),
        vec!["request_1_2026-03-09.tidings.eml"]
    );
});

both!(
    a_missed_request_from_an_earlier_day_is_skipped_not_sent,
    |app| {
        app.member("ann@example.test", "Ann", "Europe/Berlin").await;
        app.tick(at("2026-03-09T09:00:00Z")).await;
        // Down until Tuesday morning: Monday's request is skipped, Tuesday's goes out on time.
        app.tick(at("2026-03-10T06:00:00Z")).await;
        assert!(app.sent_of("request").is_empty());
        app.tick(at("2026-03-10T15:30:00Z")).await;
        app.tick(at("2026-03-10T15:30:00Z")).await;
        assert_eq!(
            app.sent_of("request"),
            vec!["request_1_2026-03-10.tidings.eml"]
        );
    }
);

both!(no_mail_on_weekends_while_away_or_paused, |app| {
    let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
    app.member("bob@example.test", "Bob", "Europe/Berlin").await;
    app.ctx
        .store
        .update_member(
            &addr("bob@example.test"),
            &MemberChange {
                paused: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let away = vec![tidings::domain::AwayRange {
        from: d("2026-03-16"),
        to: d("2026-03-16"),
    }];
    app.ctx
        .store
        .update_member(
            &addr("ann@example.test"),
            &MemberChange {
                away: Some(away),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // Friday 13th, the weekend, then an away Monday, then Tuesday.
    let mut t = at("2026-03-13T00:00:00Z");
    while t < at("2026-03-18T00:00:00Z") {
        app.tick(t).await;
        t += chrono::Duration::minutes(30);
    }
    assert_eq!(
        app.sent_of("request"),
        vec![
            format!("request_{ann}_2026-03-13.tidings.eml"),
            format!("request_{ann}_2026-03-17.tidings.eml")
        ]
    );
});

both!(a_digest_carries_each_teammate_update_exactly_once, |app| {
    let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
    let ben = app
        .member("ben@example.test", "Ben", "America/New_York")
        .await;
    let cy = app.member("cy@example.test", "Cy", "Asia/Tokyo").await;
    app.tick(at("2026-03-09T00:00:00Z")).await;
    let s = &app.ctx.store;
    s.upsert_update(
        ben,
        d("2026-03-09"),
        "Shipped the <b>spec</b>.",
        &[],
        "api",
        None,
        false,
        at("2026-03-09T21:00:00Z").timestamp(),
    )
    .await
    .unwrap();
    s.upsert_update(
        ann,
        d("2026-03-09"),
        "Reviewed the queue PR.",
        &[],
        "api",
        None,
        false,
        at("2026-03-09T16:00:00Z").timestamp(),
    )
    .await
    .unwrap();
    // Tuesday 08:30 Berlin = 07:30Z.
    app.tick(at("2026-03-10T07:30:00Z")).await;
    app.tick(at("2026-03-10T07:31:00Z")).await;
    let name = format!("digest_{ann}_2026-03-10.tidings.eml");
    assert_eq!(app.sent_of(&format!("digest_{ann}")), vec![name.clone()]);
    let text = text_body(&app.read_sent(&name));
    assert!(text.contains("Shipped the <b>spec</b>."), "{text}");
    assert!(
        !text.contains("Reviewed the queue PR."),
        "the reader's own update is not in their digest"
    );
    assert!(text.contains("No update yet from: Cy"), "{text}");
    let html = app.read_sent(&name);
    assert!(
        !html.contains("<b>spec</b>") || html.contains("&lt;b&gt;"),
        "member text is escaped in HTML"
    );

    // Ben edits his update; Ann's next digest shows it again, marked edited, and nothing else.
    s.upsert_update(
        ben,
        d("2026-03-09"),
        "Also fixed the build.",
        &[],
        "api",
        None,
        false,
        at("2026-03-10T12:00:00Z").timestamp(),
    )
    .await
    .unwrap();
    app.tick(at("2026-03-11T07:30:00Z")).await;
    let text = text_body(&app.read_sent(&format!("digest_{ann}_2026-03-11.tidings.eml")));
    assert!(
        text.contains("[edited]") && text.contains("Also fixed the build."),
        "{text}"
    );
    assert!(!text.contains("Reviewed"), "{text}");
    // Cy's digests: Tuesday 08:30 Tokyo = Monday 23:30Z already has both updates.
    let cy_digests = app.sent_of(&format!("digest_{cy}"));
    assert!(!cy_digests.is_empty());
    // An empty digest is not sent: Ann's Thursday has nothing new.
    app.tick(at("2026-03-12T07:30:00Z")).await;
    assert!(app.sent_of(&format!("digest_{ann}_2026-03-12")).is_empty());
});

both!(
    changing_the_digest_time_after_it_went_out_sends_no_second_one,
    |app| {
        let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
        let ben = app.member("ben@example.test", "Ben", "Europe/Berlin").await;
        app.tick(at("2026-03-09T00:00:00Z")).await;
        app.ctx
            .store
            .upsert_update(
                ben,
                d("2026-03-09"),
                "Done.",
                &[],
                "api",
                None,
                false,
                at("2026-03-09T16:00:00Z").timestamp(),
            )
            .await
            .unwrap();
        app.tick(at("2026-03-10T07:30:00Z")).await;
        assert_eq!(app.sent_of(&format!("digest_{ann}")).len(), 1);
        app.ctx
            .store
            .upsert_update(
                ben,
                d("2026-03-10"),
                "More.",
                &[],
                "api",
                None,
                false,
                at("2026-03-10T07:40:00Z").timestamp(),
            )
            .await
            .unwrap();
        // Later the same morning Ann moves her digest to 10:00, then to 07:00.
        app.ctx
            .store
            .update_member(
                &addr("ann@example.test"),
                &MemberChange {
                    digest_at: Some("10:00".parse().unwrap()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        app.tick(at("2026-03-10T08:00:00Z")).await;
        app.tick(at("2026-03-10T09:00:00Z")).await;
        app.ctx
            .store
            .update_member(
                &addr("ann@example.test"),
                &MemberChange {
                    digest_at: Some("07:00".parse().unwrap()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        app.tick(at("2026-03-10T09:05:00Z")).await;
        assert_eq!(
            app.sent_of(&format!("digest_{ann}")),
            vec![format!("digest_{ann}_2026-03-10.tidings.eml")],
            "one digest that local day"
        );
        // Wednesday at the new time carries the update she has not seen.
        app.tick(at("2026-03-11T06:00:00Z")).await;
        let text = text_body(&app.read_sent(&format!("digest_{ann}_2026-03-11.tidings.eml")));
        assert!(text.contains("More."), "{text}");
    }
);

both!(no_reminder_by_default, |app| {
    app.member("ann@example.test", "Ann", "Europe/Berlin").await;
    app.tick(at("2026-03-09T00:00:00Z")).await;
    app.tick(at("2026-03-09T15:30:00Z")).await;
    app.tick(at("2026-03-09T22:00:00Z")).await;
    assert_eq!(app.sent_of("request").len(), 1);
    assert!(app.sent_of("reminder").is_empty());
});

mod reminders {
    use super::*;

    async fn run(db: Db) {
        let app = TestApp::with(db, |c| c.schedule.reminder_after_hours = 3).await;
        let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
        let ben = app.member("ben@example.test", "Ben", "Europe/Berlin").await;
        // Cy's request is at 22:30 Berlin: three hours later is tomorrow, so no reminder.
        let cy = app.member("cy@example.test", "Cy", "Europe/Berlin").await;
        app.ctx
            .store
            .update_member(
                &addr("cy@example.test"),
                &MemberChange {
                    request_at: Some("22:30".parse().unwrap()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        app.tick(at("2026-03-09T00:00:00Z")).await;
        app.tick(at("2026-03-09T15:30:00Z")).await;
        // Ben answers before the reminder is due.
        app.ctx
            .store
            .upsert_update(
                ben,
                d("2026-03-09"),
                "Done.",
                &[],
                "email",
                None,
                false,
                at("2026-03-09T16:00:00Z").timestamp(),
            )
            .await
            .unwrap();
        app.tick(at("2026-03-09T18:29:00Z")).await;
        assert!(app.sent_of("reminder").is_empty(), "not before 3 hours");
        for t in [
            "2026-03-09T18:30:00Z",
            "2026-03-09T18:30:00Z",
            "2026-03-09T19:00:00Z",
            "2026-03-09T21:30:00Z",
            "2026-03-10T01:00:00Z",
        ] {
            app.tick(at(t)).await;
        }
        assert_eq!(
            app.sent_of("reminder"),
            vec![format!("reminder_{ann}_2026-03-09.tidings.eml")],
            "one reminder, to Ann only (Ben replied, Cy's would fall on the next day)"
        );
        assert_eq!(
            app.sent_of(&format!("request_{cy}")).len(),
            1,
            "Cy's request went out"
        );
        let raw = app.read_sent(&format!("reminder_{ann}_2026-03-09.tidings.eml"));
        for h in [
            "X-Tidings-Kind: reminder",
            "Auto-Submitted: auto-generated",
            "X-Auto-Response-Suppress: DR, RN, NRN",
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
        ] {
            assert!(raw.contains(h), "{h}\n{raw}");
        }
        assert_eq!(
            subject_of(&raw),
            "Reminder: core stand-up · Mon 9 Mar — reply with your update"
        );
        let (reply_to, _) = reply_headers(&raw);
        assert!(
            reply_to.starts_with(&format!("updates+m{ann}-20260309-")),
            "a reply to the reminder counts for Monday: {reply_to}"
        );
        // A reply to the reminder is stored as Monday's update.
        let (_, msg_id) = reply_headers(&raw);
        let r = app
            .deliver(
                "r1.eml",
                &gmail_reply(
                    "ann@example.test",
                    &reply_to,
                    &msg_id,
                    "r1@x.test",
                    "Wrote the report.",
                ),
                at("2026-03-09T19:00:00Z"),
            )
            .await;
        assert_eq!(r.accepted, 1, "{r:?}");
        assert!(
            app.ctx
                .store
                .update_for(ann, d("2026-03-09"))
                .await
                .unwrap()
                .is_some()
        );
    }

    #[tokio::test]
    async fn go_out_once_the_same_local_day_only_to_members_who_have_not_replied_sqlite() {
        run(Db::Sqlite).await
    }

    #[tokio::test]
    async fn go_out_once_the_same_local_day_only_to_members_who_have_not_replied_postgres() {
        run(Db::Postgres).await
    }
}

both!(a_team_can_ask_its_own_questions, |app| {
    let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
    let ben = app.member("ben@example.test", "Ben", "Europe/Berlin").await;
    app.ctx
        .store
        .update_member(
            &addr("ben@example.test"),
            &MemberChange {
                teams: Some(vec!["ops".into()]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let qs = vec![
        "Any incidents?".to_string(),
        "Pager <handover>?".to_string(),
    ];
    app.ctx
        .store
        .set_team_questions("ops", Some(&qs))
        .await
        .unwrap();
    assert_eq!(
        app.ctx.store.team_questions("ops").await.unwrap(),
        Some(qs.clone())
    );
    app.tick(at("2026-03-09T00:00:00Z")).await;
    app.tick(at("2026-03-09T15:30:00Z")).await;
    let ops = app.read_sent(&format!("request_{ben}_2026-03-09.tidings.eml"));
    let text = text_body(&ops);
    assert!(
        text.contains("* Any incidents?") && text.contains("* Pager <handover>?"),
        "{text}"
    );
    assert!(!text.contains("What did you get done?"), "{text}");
    let html = mail_parser::MessageParser::default()
        .parse(ops.as_bytes())
        .and_then(|m| m.body_html(0).map(|h| h.to_string()))
        .unwrap_or_default();
    assert!(
        html.contains("Pager &lt;handover&gt;?"),
        "escaped in HTML: {html}"
    );
    let core = text_body(&app.read_sent(&format!("request_{ann}_2026-03-09.tidings.eml")));
    assert!(
        core.contains("* What did you get done?") && core.contains("* Anything blocking you?"),
        "{core}"
    );
    assert!(
        core.contains(
            "Hi Ann,\n\nReply to this email with your update.\nType above the quoted text"
        ),
        "{core}"
    );
    // Back to the configured questions.
    app.ctx.store.set_team_questions("ops", None).await.unwrap();
    app.tick(at("2026-03-10T15:30:00Z")).await;
    let text = text_body(&app.read_sent(&format!("request_{ben}_2026-03-10.tidings.eml")));
    assert!(text.contains("What did you get done?"), "{text}");
});

both!(a_reader_in_two_teams_gets_one_section_per_team, |app| {
    let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
    let ben = app.member("ben@example.test", "Ben", "Europe/Berlin").await;
    let cy = app.member("cy@example.test", "Cy", "Asia/Tokyo").await;
    let dee = app.member("dee@example.test", "Dee", "Asia/Tokyo").await;
    for (who, teams) in [
        ("ann@example.test", vec!["core", "infra"]),
        ("ben@example.test", vec!["core", "infra"]),
        ("cy@example.test", vec!["infra"]),
        ("dee@example.test", vec!["infra"]),
    ] {
        app.ctx
            .store
            .update_member(
                &addr(who),
                &MemberChange {
                    teams: Some(teams.into_iter().map(String::from).collect()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
    }
    app.tick(at("2026-03-09T00:00:00Z")).await;
    for (who, text) in [(ben, "Ben: core work."), (cy, "Cy: racked servers.")] {
        app.ctx
            .store
            .upsert_update(
                who,
                d("2026-03-09"),
                text,
                &[],
                "api",
                None,
                false,
                at("2026-03-09T12:00:00Z").timestamp(),
            )
            .await
            .unwrap();
    }
    app.tick(at("2026-03-10T07:30:00Z")).await;
    let text = text_body(&app.read_sent(&format!("digest_{ann}_2026-03-10.tidings.eml")));
    let core = text.find("## core").expect("core section");
    let infra = text.find("## infra").expect("infra section");
    let ben_at = text.find("Ben: core work.").unwrap();
    let cy_at = text.find("Cy: racked servers.").unwrap();
    assert!(core < ben_at && ben_at < infra && infra < cy_at, "{text}");
    assert_eq!(
        text.matches("Ben: core work.").count(),
        1,
        "an update shared by two teams appears once"
    );
    assert!(text.contains("No update yet from: Dee"), "{text}");
    // Dee (one team) gets no section headings.
    let _ = dee;
    let dee_text = text_body(&app.read_sent(&format!("digest_{dee}_2026-03-10.tidings.eml")));
    assert!(!dee_text.contains("## "), "{dee_text}");
});

both!(
    digest_entries_are_sorted_by_name_as_people_read_them,
    |app| {
        let ann = app.member("ann@example.test", "Ann", "UTC").await;
        // Byte order would put Łukasz and Élodie after Zoë.
        let mut ids = Vec::new();
        for (email, name) in [
            ("zoe@example.test", "Zoë"),
            ("lukasz@example.test", "Łukasz"),
            ("lars@example.test", "Lars"),
            ("elodie@example.test", "Élodie"),
            ("mia@example.test", "Mia"),
        ] {
            ids.push(app.member(email, name, "UTC").await);
        }
        for id in &ids[..4] {
            app.ctx
                .store
                .upsert_update(
                    *id,
                    d("2026-03-09"),
                    "Done: things",
                    &[],
                    "api",
                    None,
                    false,
                    0,
                )
                .await
                .unwrap();
        }
        let m = app.ctx.store.member_by_id(ann).await.unwrap().unwrap();
        let data = tidings::jobs::digest::digest_view_data(
            &app.ctx,
            &m,
            d("2026-03-10"),
            at("2026-03-10T07:30:00Z"),
            &mut tidings::jobs::digest::TeamCache::default(),
        )
        .await
        .unwrap();
        let order: Vec<&str> = data.sections[0]
            .entries
            .iter()
            .map(|e| e.author.as_str())
            .collect();
        assert_eq!(order, ["Élodie", "Lars", "Łukasz", "Zoë"]);
        assert_eq!(data.sections[0].missing, ["Mia"]);
    }
);
