//! Mentions through the real Postfix, on both backends: `@dave` in Bob's update (New York,
//! team core) reaches Dave (Tokyo, team ops only) at the top of his next digest, at 08:30 his
//! time, once; the receipt's lines say when he reads it and that `@nobody` names nobody.

use super::*;

on_both!(a_mention_reaches_its_person_in_another_team_once_at_their_time);
async fn a_mention_reaches_its_person_in_another_team_once_at_their_time(pg: bool) {
    let _serial = SERIAL.lock().await;
    let rig = rig::Rig::shared();
    let a = app(rig, pg).await;
    let bob = a
        .member("bob@example.test", "Bob", "America/New_York")
        .await;
    let carol = a
        .member("carol@example.test", "Carol", "Europe/Berlin")
        .await;
    let dave = a
        .ctx
        .store
        .add_member(
            &EmailAddress::parse("dave@example.test").unwrap(),
            &MemberChange {
                name: Some("Dave".into()),
                tz: Some("Asia/Tokyo".parse().unwrap()),
                teams: Some(vec!["ops".into()]),
                ..Default::default()
            },
            &member_defaults(),
        )
        .await
        .unwrap();
    a.tick(at("2026-11-30T00:00:00Z")).await;
    let text = "Done: the importer\nNext: pairing with @dave on the exporter, ask @nobody";
    a.update(bob, "2026-11-30", text).await;
    let u = a
        .ctx
        .store
        .update_for(bob, d("2026-11-30"))
        .await
        .unwrap()
        .unwrap();
    let author = a.ctx.store.member_by_id(bob).await.unwrap().unwrap();
    let now = at("2026-11-30T22:00:00Z");
    let report = jobs::mentions::record(&a.ctx, &author, u.id, text, now)
        .await
        .unwrap();
    assert_eq!(
        report
            .told
            .iter()
            .map(|(m, t)| (m.id, *t))
            .collect::<Vec<_>>(),
        vec![(dave, Some(at("2026-11-30T23:30:00Z")))],
        "08:30 on Tuesday in Tokyo"
    );
    let lines = jobs::mentions::receipt_lines(&report, now);
    assert!(
        lines.contains(
            "Dave will read this at 08:30 Asia/Tokyo time (Tue 1 Dec), in about 2 hours."
        ),
        "{lines}"
    );
    assert!(
        lines.contains("No member is @nobody: nobody was told."),
        "{lines}"
    );
    // Recording it again (a retried reply) tells nobody twice.
    jobs::mentions::record(&a.ctx, &author, u.id, text, now)
        .await
        .unwrap();

    // Tuesday 08:30 in Tokyo: Dave's digest, though ops wrote nothing, with Bob's mention on top.
    a.tick(at("2026-11-30T23:30:00Z")).await;
    a.tick(at("2026-11-30T23:31:00Z")).await;
    let row = a
        .row(&format!("digest:{dave}:2026-12-01"))
        .await
        .expect("Dave's digest");
    let got = delivered(rig, "dave", &row.message_id, 1);
    assert_eq!(got.len(), 1, "delivered once");
    let t = text_of(got[0].as_bytes());
    assert!(
        t.contains("NEEDS YOU\n* Bob mentioned you (Mon 30 Nov):\n    pairing with @dave on the exporter, ask @nobody\n  Reply to Bob: write to updates+c"),
        "{t}"
    );
    // Carol, Bob's teammate, reads his update as usual, with nothing that needs her.
    a.tick(at("2026-12-01T07:30:00Z")).await;
    let row = a.row(&format!("digest:{carol}:2026-12-01")).await.unwrap();
    let t = text_of(delivered(rig, "carol", &row.message_id, 1)[0].as_bytes());
    assert!(
        t.contains("pairing with @dave") && !t.contains("NEEDS YOU"),
        "{t}"
    );
    // Wednesday in Tokyo: nothing new for Dave, so no digest.
    a.tick(at("2026-12-01T23:30:00Z")).await;
    assert!(a.row(&format!("digest:{dave}:2026-12-02")).await.is_none());
    all_sent_mail_passes_the_header_checks(rig, &a).await;
}
