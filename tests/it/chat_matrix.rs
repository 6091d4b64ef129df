//! A Matrix room on a real Synapse (#36), on both backends: the bot posts team core's day at
//! 09:00 in Berlin before and after the 2026-03-29 EU change (08:00Z, then 07:00Z); the
//! reader reads the room back over the client-server API and finds the blockers first; a
//! crash after Synapse took a post but before Tidings recorded it (the row left `sending`,
//! its lease lapsed, as a SIGKILL leaves it) sends it again under the same transaction id, and
//! the room still holds one message for that day.

use sqlx::Executor;
use tidings::domain::schedule::{LocalTime, Workdays, parse_tz};
use tidings::jobs::chat;
use tidings::store::chat::NewRoom;

use crate::helpers::*;
use crate::support::synapse::Synapse;

async fn day_on(hs: &Synapse, db: Db) {
    let room = hs.room();
    let app = TestApp::with(db, |c| {
        c.fetch.allow_private = true;
        c.fetch.allow_http = true;
        c.web.base_url = "https://tidings.example.test".into();
    })
    .await;
    let ana = app
        .member("ana@example.test", "Ana Lima", "Europe/Berlin")
        .await;
    let ben = app
        .member("ben@example.test", "Ben Carter", "America/New_York")
        .await;
    let _cy = app.member("cy@example.test", "Cy Park", "UTC").await;
    let n = NewRoom {
        team: "core",
        kind: "matrix",
        url: &hs.base,
        room: Some(&room.room_id),
        token: Some(&room.bot_token),
        at: LocalTime::parse("09:00").expect("time"),
        tz: parse_tz("Europe/Berlin").expect("zone"),
        days: Workdays::parse("mon-fri").expect("days"),
    };
    app.ctx.store.add_room(&n, 0).await.expect("room");
    app.standup(
        ana,
        "2026-03-27",
        "Done: the importer\nBlockers: waiting on legal",
    )
    .await;
    app.standup(ben, "2026-03-27", "Done: the docs").await;

    let run = |t: &'static str| {
        let ctx = app.ctx.clone();
        async move { chat::run(&ctx, at(t)).await.expect("chat run") }
    };
    assert_eq!(
        run("2026-03-27T07:59:00Z").await.sent,
        0,
        "{db:?}: 08:59 in Berlin"
    );
    let r = run("2026-03-27T08:00:00Z").await;
    assert_eq!((r.queued, r.sent, r.failed), (1, 1, 0), "{db:?}: {r:?}");
    assert_eq!(
        run("2026-03-30T06:59:00Z").await.sent,
        0,
        "{db:?}: 08:59 CEST"
    );
    assert_eq!(
        run("2026-03-30T07:00:00Z").await.sent,
        1,
        "{db:?}: 09:00 CEST"
    );
    // The crash: Monday's post was taken by Synapse, its record never written.
    app.ctx
        .store
        .pool()
        .execute("UPDATE chat_posts SET state = 'sending', lease_until = 0 WHERE local_date = '2026-03-30'")
        .await
        .expect("crash left");
    assert_eq!(
        run("2026-03-30T07:05:00Z").await.sent,
        1,
        "{db:?}: sent again"
    );

    let msgs = hs.messages(&room.reader_token, &room.room_id);
    let bodies: Vec<&str> = msgs
        .iter()
        .filter_map(|m| m["content"]["body"].as_str())
        .collect();
    assert_eq!(
        bodies.len(),
        2,
        "{db:?}: one message a day, the resend included: {bodies:?}"
    );
    assert!(msgs.iter().all(|m| {
        m["sender"]
            .as_str()
            .is_some_and(|s| s.starts_with("@tidings"))
    }));
    assert!(
        bodies[0].starts_with("core · Fri 27 Mar: 2 of 3 wrote, 1 blocker open"),
        "{db:?}: {}",
        bodies[0]
    );
    let b = bodies[0].find("waiting on legal").expect("the blocker");
    let u = bodies[0].find("the importer").expect("the update");
    assert!(b < u, "{db:?}: blockers first: {}", bodies[0]);
    assert!(bodies[0].contains("Not written yet: Cy Park"));
    assert!(
        bodies[1].starts_with("core · Mon 30 Mar: 0 of 3 wrote, 1 blocker open"),
        "{}",
        bodies[1]
    );
    assert_eq!(msgs[0]["content"]["msgtype"], "m.notice");
    assert!(
        msgs[0]["content"]["formatted_body"]
            .as_str()
            .unwrap_or_default()
            .contains("<strong>Ana Lima</strong>")
    );
}

#[tokio::test]
async fn a_matrix_room_on_synapse_across_dst_and_a_crash() {
    let hs = Synapse::start();
    for db in [Db::Sqlite, Db::Postgres] {
        day_on(&hs, db).await;
    }
}
