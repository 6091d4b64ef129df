//! Blockers carried until resolved, through the real Postfix on both backends: a blocker stays
//! in teammates' digests ("Still blocked … since Mon") after its author's next update says
//! nothing about it; open two workdays, it reaches the team's lead under "Needs you", in one
//! digest a day; `resolved` ends both.

use super::*;

/// The text of the digest of `member` for `date`, delivered exactly once.
async fn digest_text(rig: &rig::Rig, a: &App, user: &str, member: i64, date: &str) -> String {
    let row = a
        .row(&format!("digest:{member}:{date}"))
        .await
        .unwrap_or_else(|| panic!("a digest for {user} on {date}"));
    let got = delivered(rig, user, &row.message_id, 1);
    assert_eq!(got.len(), 1, "{user}'s digest of {date} delivered once");
    text_of(got[0].as_bytes())
}

on_both!(a_blocker_is_carried_escalated_to_the_lead_once_a_day_and_resolved);
/// Ann (Berlin) writes a blocker on Monday 30 Nov and, on Tuesday, an update without a
/// blockers section. Bob reads daily; Carol is the team's lead (escalation after 2 workdays).
async fn a_blocker_is_carried_escalated_to_the_lead_once_a_day_and_resolved(pg: bool) {
    let _serial = SERIAL.lock().await;
    let rig = rig::Rig::shared();
    let a = app(rig, pg).await;
    let ann = a.member("alice@example.test", "Ann", "Europe/Berlin").await;
    let bob = a.member("bob@example.test", "Bob", "Europe/Berlin").await;
    let carol = a
        .member("carol@example.test", "Carol", "Europe/Berlin")
        .await;
    a.ctx.store.set_team_leads("core", &[carol]).await.unwrap();
    a.ctx.store.set_escalate_after("core", 2).await.unwrap();

    a.tick(at("2026-11-29T12:00:00Z")).await;
    a.update(
        ann,
        "2026-11-30",
        "Done: the importer\nBlockers: waiting on the staging database",
    )
    .await;
    // Tuesday 08:30: the blocker is in Monday's entry (no carried line for it).
    a.tick(at("2026-12-01T07:30:00Z")).await;
    let t = digest_text(rig, &a, "bob", bob, "2026-12-01").await;
    assert!(t.contains("waiting on the staging database"), "{t}");
    assert!(!t.contains("Still blocked"), "{t}");
    a.update(ann, "2026-12-01", "Done: the exporter\nNext: the feeds")
        .await;
    // Wednesday: Tuesday's update says nothing of it, so it is carried, since Monday.
    a.tick(at("2026-12-02T07:30:00Z")).await;
    a.tick(at("2026-12-02T07:31:00Z")).await;
    let t = digest_text(rig, &a, "bob", bob, "2026-12-02").await;
    assert!(
        t.contains("Still blocked") && t.contains("Ann, since Mon 30 Nov"),
        "{t}"
    );
    assert!(t.contains("waiting on the staging database"), "{t}");
    assert!(!t.contains("Needs you"), "only leads are asked: {t}");
    // Carol, the lead: open two workdays, so it needs her — once that day.
    let c = digest_text(rig, &a, "carol", carol, "2026-12-02").await;
    assert!(c.contains("NEEDS YOU"), "{c}");
    assert!(
        c.contains("* Ann has been blocked 2 workdays, since Mon 30 Nov — you lead core:\n    waiting on the staging database\n"),
        "{c}"
    );
    // With the open blockers a click away, and said once: not again under "Still blocked".
    assert!(
        c.contains("  See the open blockers: http") && c.contains("/blockers?team=core\n"),
        "{c}"
    );
    assert_eq!(
        c.matches("waiting on the staging database").count(),
        1,
        "{c}"
    );
    let carols: Vec<String> = a
        .sent_rows(carol, "digest")
        .await
        .iter()
        .filter_map(|r| r.local_date.clone())
        .collect();
    assert_eq!(carols, ["2026-12-01", "2026-12-02"], "one digest a day");
    // Thursday: still open, still carried, and Carol is asked again (that day's digest).
    a.update(ann, "2026-12-02", "Done: docs").await;
    a.tick(at("2026-12-03T07:30:00Z")).await;
    let c = digest_text(rig, &a, "carol", carol, "2026-12-03").await;
    assert!(c.contains("blocked 3 workdays, since Mon 30 Nov"), "{c}");

    // Ann resolves it (as a reply command would): gone from Friday's digests.
    let r = a.ctx.store.resolve_blocker(ann).await.unwrap();
    assert_eq!(
        r.map(|o| o.lines),
        Some(vec!["waiting on the staging database".to_string()])
    );
    assert!(
        a.ctx.store.resolve_blocker(ann).await.unwrap().is_none(),
        "nothing left open"
    );
    a.update(ann, "2026-12-03", "Done: the feeds").await;
    a.tick(at("2026-12-04T07:30:00Z")).await;
    let t = digest_text(rig, &a, "bob", bob, "2026-12-04").await;
    assert!(
        !t.contains("Still blocked") && !t.contains("staging database"),
        "{t}"
    );
    let c = digest_text(rig, &a, "carol", carol, "2026-12-04").await;
    assert!(!c.contains("NEEDS YOU"), "{c}");
    // Replaying Wednesday to Friday sends nothing more.
    for t in [
        "2026-12-02T07:30:00Z",
        "2026-12-03T07:30:00Z",
        "2026-12-04T07:30:00Z",
    ] {
        let (p, s) = a.tick(at(t)).await;
        assert_eq!((p.digests, s.sent), (0, 0), "{t}");
    }
    all_sent_mail_passes_the_header_checks(rig, &a).await;
}
