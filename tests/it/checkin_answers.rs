//! Check-ins' answers (#33): a scale counted for the team's average and never shown with a
//! name, a question's kind kept in its answer (a blockers question's answer is a blocker), and
//! answers kept for the log reaching only the weekly summary.

use tidings::domain::checkin::GoesTo;
use tidings::store::UpdateKey;

use crate::both;
use crate::checkins::{checkin, d, find, header, reply};
use crate::helpers::*;

both!(
    a_scale_shows_as_the_teams_average_from_three_answers,
    |app| {
        let rea = app
            .member_of("rea@example.test", "Rea Reader", "Europe/Berlin", "core")
            .await;
        for (who, name) in [
            ("ana", "Ana Lima"),
            ("ben", "Ben Carter"),
            ("cy", "Cy Young"),
        ] {
            app.member_of(
                &format!("{who}@example.test"),
                name,
                "Europe/Berlin",
                "core",
            )
            .await;
        }
        let team = app
            .ctx
            .store
            .team_id("core")
            .await
            .expect("team")
            .expect("core");
        let pulse = checkin(
            team,
            "Pulse",
            &["scale: How was your day?", "Anything else?"],
            "days:mon,tue,wed,thu,fri",
            "10:00",
            None,
        );
        app.ctx.store.add_checkin(&pulse).await.expect("pulse");
        // Monday: two answer; Tuesday: three. Each next morning's digest to Rea.
        for (day, next, answers) in [
            (
                "2026-11-16",
                "2026-11-17",
                vec![("ana", "4/5"), ("ben", "2")],
            ),
            (
                "2026-11-17",
                "2026-11-18",
                vec![
                    ("ana", "How was your day?\n5 — calm"),
                    ("ben", "3"),
                    ("cy", "★★★★"),
                ],
            ),
        ] {
            app.tick(at(&format!("{day}T09:00:00Z"))).await;
            for (i, (who, text)) in answers.iter().enumerate() {
                let request = find(&app, "request", &format!("{who}@"), "Pulse", day);
                reply(
                    &app,
                    &request,
                    &format!("{who}@example.test"),
                    &format!("{who}-{day}-{i}"),
                    text,
                    &format!("{day}T09:30:00Z"),
                )
                .await;
            }
            app.tick(at(&format!("{next}T07:30:00Z"))).await;
        }
        let monday = text_body(&app.read_sent(&format!("digest_{rea}_2026-11-17.tidings.eml")));
        assert!(monday.contains("### Pulse"), "{monday}");
        assert!(
            monday
                .contains("How was your day? The team's average shows from 3 answers (2 so far)."),
            "{monday}"
        );
        assert!(
            !monday.contains("4/5") && !monday.contains("of 5 on average"),
            "{monday}"
        );
        let tuesday = text_body(&app.read_sent(&format!("digest_{rea}_2026-11-18.tidings.eml")));
        // (5 + 3 + 4) / 3 = 4.0; the words after Ana's number stay, the numbers do not.
        assert!(
            tuesday.contains("How was your day? 4.0 of 5 on average, from 3 answers."),
            "{tuesday}"
        );
        assert!(tuesday.contains("calm"), "{tuesday}");
        assert!(
            !tuesday.contains("★") && !tuesday.contains("5 — calm"),
            "{tuesday}"
        );
        // Ana's receipt names the check-in and says where her number goes.
        let receipt = app
            .sent()
            .into_iter()
            .map(|n| app.read_sent(&n))
            .find(|raw| {
                header(raw, "X-Tidings-Kind") == "receipt" && header(raw, "To").contains("ana@")
            })
            .expect("Ana's receipt");
        assert_eq!(
            subject_of(&receipt),
            "core · Saved: your answer to Pulse for Mon 16 Nov"
        );
        let body = text_body(&receipt);
        assert!(
            body.contains("Thanks! Your answer to Pulse for Monday, 16 November 2026 now reads:"),
            "{body}"
        );
        assert!(
            body.contains(
                "Your 4 for \u{201c}How was your day?\u{201d} counts towards the team's average"
            ),
            "{body}"
        );
        let html = html_of(&app.read_sent(&format!("digest_{rea}_2026-11-18.tidings.eml")));
        assert!(
            html.contains("4.0 of 5 on average, from 3 answers."),
            "{html}"
        );
        // The team log shows the same averages under each day, and no one's number.
        let srv = crate::web::Server::start(&app, |_| {}).await;
        let cookie = srv.signed_in(rea).await;
        let log = srv
            .http
            .get(srv.url("/log/core"))
            .header("cookie", cookie)
            .send()
            .await
            .expect("the log")
            .text()
            .await
            .expect("its text");
        assert!(
            log.contains("Pulse: How was your day? 4.0 of 5 on average, from 3 answers."),
            "{log}"
        );
        assert!(
            log.contains(
                "Pulse: How was your day? The team's average shows from 3 answers (2 so far)."
            ),
            "{log}"
        );
        assert!(!log.contains("4/5") && !log.contains("★"), "{log}");
    }
);

both!(a_checkin_question_of_kind_blockers_is_a_blocker, |app| {
    let rea = app
        .member_of("rea@example.test", "Rea Reader", "Europe/Berlin", "core")
        .await;
    let ana = app
        .member_of("ana@example.test", "Ana Lima", "Europe/Berlin", "core")
        .await;
    let team = app
        .ctx
        .store
        .team_id("core")
        .await
        .expect("team")
        .expect("core");
    let risks = checkin(
        team,
        "Risks",
        &["What shipped?", "blockers: What could stop the release?"],
        "weekly:mon",
        "10:00",
        None,
    );
    let id = app.ctx.store.add_checkin(&risks).await.expect("risks");
    app.tick(at("2026-11-16T09:00:00Z")).await;
    let request = find(&app, "request", "ana@", "Risks", "2026-11-16");
    let text =
        "What shipped?\nThe importer.\n\nWhat could stop the release?\nThe VPN to the lab is down.";
    reply(
        &app,
        &request,
        "ana@example.test",
        "ana-risks",
        text,
        "2026-11-16T10:00:00Z",
    )
    .await;
    let key = UpdateKey {
        member: ana,
        date: d("2026-11-16"),
        checkin: id,
    };
    let stored = app
        .ctx
        .store
        .answer_for(key)
        .await
        .expect("read")
        .expect("stored");
    let kinds: Vec<String> = stored
        .sections
        .iter()
        .map(|s| format!("{:?}", s.kind))
        .collect();
    assert_eq!(kinds, ["Other", "Blockers"], "{:?}", stored.sections);
    app.tick(at("2026-11-17T07:30:00Z")).await;
    let digest = text_body(&app.read_sent(&format!("digest_{rea}_2026-11-17.tidings.eml")));
    assert!(digest.contains("BLOCKERS"), "{digest}");
    assert!(
        digest.contains("Ana Lima: The VPN to the lab is down."),
        "{digest}"
    );
});

both!(
    answers_kept_for_the_log_reach_only_the_weekly_summary,
    |app| {
        let rea = app
            .member_of("rea@example.test", "Rea Reader", "Europe/Berlin", "core")
            .await;
        let wes = app
            .member_of("wes@example.test", "Wes Weekly", "Europe/Berlin", "core")
            .await;
        app.ctx
            .store
            .update_member(
                &addr("wes@example.test"),
                &tidings::store::MemberChange {
                    cadence: Some(tidings::domain::Cadence::Weekly(chrono::Weekday::Fri)),
                    ..Default::default()
                },
            )
            .await
            .expect("weekly");
        let ana = app
            .member_of("ana@example.test", "Ana Lima", "Europe/Berlin", "core")
            .await;
        let team = app
            .ctx
            .store
            .team_id("core")
            .await
            .expect("team")
            .expect("core");
        let mut notes = checkin(
            team,
            "Notes",
            &["Anything to note?"],
            "weekly:mon",
            "10:00",
            None,
        );
        notes.goes_to = GoesTo::Log;
        app.ctx.store.add_checkin(&notes).await.expect("notes");
        app.tick(at("2026-11-16T09:00:00Z")).await;
        let request = find(&app, "request", "ana@", "Notes", "2026-11-16");
        reply(
            &app,
            &request,
            "ana@example.test",
            "ana-notes",
            "The lab moves on Thursday.",
            "2026-11-16T10:00:00Z",
        )
        .await;
        app.ctx
            .store
            .upsert_update(
                ana,
                d("2026-11-16"),
                "Done: the importer",
                &[],
                "api",
                None,
                false,
                0,
            )
            .await
            .expect("stand-up");
        app.tick(at("2026-11-17T07:30:00Z")).await;
        let daily = text_body(&app.read_sent(&format!("digest_{rea}_2026-11-17.tidings.eml")));
        assert!(daily.contains("the importer"), "{daily}");
        assert!(!daily.contains("The lab moves"), "{daily}");
        app.tick(at("2026-11-20T07:30:00Z")).await;
        let weekly = text_body(&app.read_sent(&format!("digest_{wes}_2026-11-20.tidings.eml")));
        assert!(weekly.contains("The lab moves on Thursday."), "{weekly}");
    }
);

both!(
    an_operator_releases_a_quarantined_message_as_an_answer_to_a_checkin,
    |app| {
        let ana = app
            .member_of("ana@example.test", "Ana Lima", "Europe/Berlin", "core")
            .await;
        let team = app.team("core").await;
        let pulse = checkin(
            team,
            "Pulse",
            &["scale: How was your day?", "Anything else?"],
            "days:mon,tue,wed,thu,fri",
            "10:00",
            None,
        );
        let pulse_id = app.ctx.store.add_checkin(&pulse).await.expect("pulse");
        // Sent from an address that is not hers: quarantined.
        let raw = b"From: ana.lima@home.test\r\nTo: updates@example.test\r\nSubject: Pulse\r\nMessage-ID: <pulse-home@home.test>\r\n\r\n4\r\n\r\nThe lab moved.\r\n";
        app.deliver("home", raw, at("2026-11-16T12:00:00Z")).await;
        let q = app
            .ctx
            .store
            .inbound_with_status(tidings::store::InboundStatus::Quarantined, 10)
            .await
            .expect("quarantine");
        assert_eq!(q.len(), 1);
        let m = app
            .ctx
            .store
            .member_by_id(ana)
            .await
            .expect("read")
            .expect("Ana");
        let now = at("2026-11-16T13:00:00Z");
        // A check-in her teams do not have: refused, naming those they have.
        let e = tidings::jobs::ingest::release(&app.ctx, q[0].id, &m, (None, Some("wins")), now)
            .await
            .expect_err("no such check-in");
        assert_eq!(
            e.to_string(),
            "none of ana@example.test's teams has a check-in named \"wins\" (they have: Daily stand-up, Pulse)"
        );
        let (_, date) =
            tidings::jobs::ingest::release(&app.ctx, q[0].id, &m, (None, Some("pulse")), now)
                .await
                .expect("released");
        assert_eq!(date, d("2026-11-16"));
        let stored = app
            .ctx
            .store
            .answer_for(UpdateKey {
                member: ana,
                date,
                checkin: pulse_id,
            })
            .await
            .expect("read")
            .expect("filed under Pulse");
        // Her number is counted, not kept in the text; nothing went to the stand-up.
        assert_eq!(stored.body.trim(), "The lab moved.");
        assert_eq!(
            app.ctx
                .store
                .scores_of(pulse_id, date)
                .await
                .expect("scores"),
            [(0, 4)]
        );
        assert!(
            app.ctx
                .store
                .update_for(ana, date)
                .await
                .expect("read")
                .is_none()
        );
    }
);
