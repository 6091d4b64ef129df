//! A check-in with a digest of its own (#33, `--to own`): its answers leave the daily digest
//! and reach each reader at their digest time in one email of their own — named for the
//! check-in and its team, marked with `X-Tidings-Checkin`, each answer once, its scale as the
//! team's average — and never to a reader who asked for only what needs them.

use tidings::domain::checkin::GoesTo;

use crate::both;
use crate::checkins::{checkin, d, find, header, reply};
use crate::helpers::*;

both!(a_check_in_with_a_digest_of_its_own, |app| {
    let rea = app
        .member_of("rea@example.test", "Rea Reader", "Europe/Berlin", "core")
        .await;
    let nia = app
        .member_of("nia@example.test", "Nia Needs", "Europe/Berlin", "core")
        .await;
    let mut ids = Vec::new();
    for (who, name) in [
        ("ana", "Ana Lima"),
        ("ben", "Ben Carter"),
        ("cy", "Cy Young"),
    ] {
        ids.push(
            app.member_of(
                &format!("{who}@example.test"),
                name,
                "Europe/Berlin",
                "core",
            )
            .await,
        );
    }
    let ana = ids[0];
    // Nia takes only what needs her.
    let only = tidings::domain::shape::DigestShape {
        needs_only: true,
        ..Default::default()
    };
    app.ctx
        .store
        .set_digest_shape(nia, &only)
        .await
        .expect("shape");
    let team = app.team("core").await;
    let mut wins = checkin(
        team,
        "Wins",
        &["What went well?", "scale: How was your week?"],
        "weekly:thu",
        "15:00",
        None,
    );
    wins.goes_to = GoesTo::Own;
    let wins_id = app.ctx.store.add_checkin(&wins).await.expect("wins");
    app.tick(at("2026-11-19T14:00:00Z")).await;
    for (who, text) in [
        ("ana", "Shipped the importer.\n\n4"),
        ("ben", "Paired with Cy on the exporter.\n\n3"),
        ("cy", "Fixed the flaky test.\n\n5"),
    ] {
        let request = find(&app, "request", &format!("{who}@"), "Wins", "2026-11-19");
        reply(
            &app,
            &request,
            &format!("{who}@example.test"),
            &format!("{who}-wins"),
            text,
            "2026-11-19T15:00:00Z",
        )
        .await;
    }
    app.standup(ana, "2026-11-19", "Done: the stand-up part")
        .await;
    // Friday 08:30 in Berlin: Rea's digest and, apart, the wins.
    app.tick(at("2026-11-20T07:30:00Z")).await;
    let daily = app.read_sent(&format!("digest_{rea}_2026-11-20.tidings.eml"));
    let daily_text = text_body(&daily);
    assert!(daily_text.contains("the stand-up part"), "{daily_text}");
    for answer in ["Shipped the importer", "Paired with Cy", "Fixed the flaky"] {
        assert!(!daily_text.contains(answer), "{answer} in:\n{daily_text}");
    }
    assert!(!daily_text.contains("### Wins"), "{daily_text}");
    let own_name = format!("digest_c{wins_id}_{rea}_2026-11-20.tidings.eml");
    let own = app.read_sent(&own_name);
    assert_eq!(header(&own, "X-Tidings-Kind"), "digest");
    assert_eq!(header(&own, "X-Tidings-Checkin"), "Wins");
    assert_eq!(subject_of(&own), "core Wins · Fri 20 Nov: 3 answers");
    let text = text_body(&own);
    assert!(
        text.contains("Rea, here are the new answers to core Wins for"),
        "{text}"
    );
    assert!(text.contains("3 answers you have not read."), "{text}");
    for answer in ["Shipped the importer", "Paired with Cy", "Fixed the flaky"] {
        assert!(text.contains(answer), "{answer} missing:\n{text}");
    }
    assert!(!text.contains("the stand-up part"), "{text}");
    assert!(
        text.contains("How was your week? 4.0 of 5 on average, from 3 answers."),
        "{text}"
    );
    // Not marked late (the check-in is weekly), no one listed as missing.
    assert!(
        !text.contains("late") && !text.contains("No update yet"),
        "{text}"
    );
    let html = html_of(&own);
    assert!(html.contains(">core Wins</h1>"), "{html}");
    // Ana reads the two others' answers, not her own.
    let ana_own =
        text_body(&app.read_sent(&format!("digest_c{wins_id}_{ana}_2026-11-20.tidings.eml")));
    assert!(
        ana_own.contains("2 answers you have not read."),
        "{ana_own}"
    );
    assert!(!ana_own.contains("Shipped the importer"), "{ana_own}");
    // Nia asked for only what needs her: no digest of the wins.
    assert!(
        app.sent_of(&format!("digest_c{wins_id}_{nia}_")).is_empty(),
        "{:?}",
        app.sent()
    );
    // Replayed, and the next morning: each answer reached each reader once.
    let before = app.sent_of("digest_c");
    // Rea, Ana, Ben and Cy; not Nia.
    assert_eq!(before.len(), 4, "{before:?}");
    app.tick(at("2026-11-20T07:30:00Z")).await;
    app.tick(at("2026-11-23T07:30:00Z")).await;
    assert_eq!(app.sent_of("digest_c"), before);
    // The answers are in the team log, under the check-in.
    let log = app
        .ctx
        .store
        .answer_for(tidings::store::UpdateKey {
            member: ana,
            date: d("2026-11-19"),
            checkin: wins_id,
        })
        .await
        .expect("read")
        .expect("Ana's answer");
    assert!(log.body.contains("Shipped the importer"), "{}", log.body);
});
