//! Rhythms through the real Postfix, on both backends: a weekly digest and a catch-up after
//! time away, each delivered exactly once at the reader's local time across a DST change, and
//! an observer who receives digests but is never asked for an update.

use super::*;
use tidings::domain::{AwayRange, Cadence};

async fn change(a: &App, email: &str, ch: MemberChange) {
    a.ctx
        .store
        .update_member(&EmailAddress::parse(email).unwrap(), &ch)
        .await
        .unwrap();
}

on_both!(weekly_and_catch_up_digests_go_out_once_across_dst_and_observers_are_never_asked);
/// Europe/Berlin moves to CEST on Sunday 2026-03-29. Alice reads weekly on Mondays at 08:30:
/// 07:30Z on the 23rd, 06:30Z on the 30th. Dave is away Mon 23 – Fri 27: his first digest
/// back, Monday the 30th, is a catch-up over the absence; Tuesday's is daily again. Carol is
/// an observer. The clock runs every 30 minutes for nine days, and the key instants again.
async fn weekly_and_catch_up_digests_go_out_once_across_dst_and_observers_are_never_asked(
    pg: bool,
) {
    let _serial = SERIAL.lock().await;
    let rig = rig::Rig::shared();
    let a = app(rig, pg).await;
    let alice = a
        .member("alice@example.test", "Alice", "Europe/Berlin")
        .await;
    let bob = a.member("bob@example.test", "Bob", "Europe/Berlin").await;
    let carol = a
        .member("carol@example.test", "Carol", "Europe/Berlin")
        .await;
    let dave = a.member("dave@example.test", "Dave", "Europe/Berlin").await;
    change(
        &a,
        "alice@example.test",
        MemberChange {
            cadence: Some(Cadence::Weekly(chrono::Weekday::Mon)),
            ..Default::default()
        },
    )
    .await;
    change(
        &a,
        "carol@example.test",
        MemberChange {
            observer: Some(true),
            ..Default::default()
        },
    )
    .await;
    change(
        &a,
        "dave@example.test",
        MemberChange {
            away: Some(vec![AwayRange {
                from: d("2026-03-23"),
                to: d("2026-03-27"),
            }]),
            ..Default::default()
        },
    )
    .await;

    a.tick(at("2026-03-22T00:00:00Z")).await;
    assert_eq!(
        a.ctx.store.planned(DueKind::Digest, alice).await.unwrap(),
        Some((at("2026-03-23T07:30:00Z").timestamp(), d("2026-03-23"))),
        "Monday 08:30 CET"
    );
    let mut now = at("2026-03-22T00:30:00Z");
    while now <= at("2026-03-31T12:00:00Z") {
        a.tick(now).await;
        // Bob writes every workday at 17:00 UTC, after his request.
        if now.format("%H:%M").to_string() == "17:00" {
            let date = now.date_naive();
            let day = date.format("%a").to_string();
            if !["Sat", "Sun"].contains(&day.as_str()) {
                let blockers = if day == "Fri" {
                    "waiting on the DNS change"
                } else {
                    "none"
                };
                a.update(
                    bob,
                    &date.to_string(),
                    &format!(
                        "Done:\n- Bob's {day} work\nNext:\n- more on {day}\nBlockers: {blockers}"
                    ),
                )
                .await;
            }
        }
        if now == at("2026-03-23T08:00:00Z") {
            assert_eq!(
                a.ctx.store.planned(DueKind::Digest, alice).await.unwrap(),
                Some((at("2026-03-30T06:30:00Z").timestamp(), d("2026-03-30"))),
                "next Monday 08:30 CEST"
            );
        }
        now += chrono::Duration::minutes(30);
    }
    // The key instants again, as after a restart with the clock replayed: nothing new.
    for t in [
        "2026-03-30T06:30:00Z",
        "2026-03-30T07:30:00Z",
        "2026-03-31T06:30:00Z",
    ] {
        let (p, s) = a.tick(at(t)).await;
        assert_eq!(
            (p.digests, p.requests, s.sent),
            (0, 0, 0),
            "{t}: {p:?} {s:?}"
        );
    }

    // Alice: one weekly digest, the 30th at 08:30 CEST (06:30Z); the 23rd had nothing new.
    let weekly = a.sent_rows(alice, "digest").await;
    assert_eq!(weekly.len(), 1, "{weekly:?}");
    let w = &weekly[0];
    assert_eq!(w.local_date.as_deref(), Some("2026-03-30"));
    assert_eq!(w.created_at, at("2026-03-30T06:30:00Z").timestamp());
    assert!(
        w.subject.starts_with(
            "core digest · week to Mon 30 Mar: 5 updates from 1 person, 1 person blocked"
        ),
        "{}",
        w.subject
    );
    let got = delivered(rig, "alice", &w.message_id, 1);
    assert_eq!(got.len(), 1, "delivered once");
    let text = text_of(got[0].as_bytes());
    let bob_at = text
        .find("Bob — 5 updates, Mon 23 Mar – Fri 27 Mar")
        .expect(&text);
    let part = &text[bob_at..];
    let done = part
        .find("Done:\n  - Mon: Bob's Mon work\n  - Tue: Bob's Tue work\n  - Wed: Bob's Wed work\n  - Thu: Bob's Thu work\n  - Fri: Bob's Fri work\n")
        .expect(part);
    let next = part.find("Next: more on Fri").expect(part);
    assert!(done < next, "{part}");
    assert!(
        !part.contains("more on Thu"),
        "only the latest plan: {part}"
    );
    assert!(
        part.contains("Blocked: waiting on the DNS change"),
        "{part}"
    );
    // An observer is never listed as not having written.
    assert!(!text.contains("Carol"), "{text}");

    // Carol, the observer: never asked, not even reminded; her digests come daily.
    assert!(a.sent_rows(carol, "request").await.is_empty());
    assert!(a.sent_rows(carol, "reminder").await.is_empty());
    let carol_digests = a.sent_rows(carol, "digest").await;
    assert!(carol_digests.len() >= 5, "{carol_digests:?}");

    // Dave: nothing while away, one catch-up on Monday the 30th, a daily digest on Tuesday.
    let dave_digests = a.sent_rows(dave, "digest").await;
    let dates: Vec<&str> = dave_digests
        .iter()
        .filter_map(|r| r.local_date.as_deref())
        .collect();
    assert_eq!(dates, ["2026-03-30", "2026-03-31"], "{dave_digests:?}");
    let c = &dave_digests[0];
    assert!(
        c.subject.starts_with(
            "core digest · while you were away, Mon 23 Mar – Mon 30 Mar: 5 updates from 1 person"
        ),
        "{}",
        c.subject
    );
    assert_eq!(c.created_at, at("2026-03-30T06:30:00Z").timestamp());
    let got = delivered(rig, "dave", &c.message_id, 1);
    assert_eq!(got.len(), 1, "delivered once");
    let text = text_of(got[0].as_bytes());
    assert!(text.contains("welcome back"), "{text}");
    assert!(text.contains("Bob — 5 updates"), "{text}");
    assert!(
        dave_digests[1]
            .subject
            .starts_with("core digest · Tue 31 Mar"),
        "{}",
        dave_digests[1].subject
    );
    assert!(
        a.sent_rows(dave, "request")
            .await
            .iter()
            .all(|r| r.local_date.as_deref() >= Some("2026-03-30"))
    );

    let n = all_sent_mail_passes_the_header_checks(rig, &a).await;
    assert!(
        n >= 20,
        "requests of three writers, digests of three readers: {n}"
    );
}
