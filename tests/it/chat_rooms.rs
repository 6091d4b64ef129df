//! Chat rooms (#36), on both backends, into a receiver on loopback: a Slack room and a Matrix
//! room of team core, each at 09:00 in Berlin on workdays, get the day's summary exactly at
//! that local time before and after the 2026-03-29 EU change (08:00Z, then 07:00Z), once
//! each (a replay posts nothing); the Slack post is Block Kit with the blockers first and who
//! has not written; the Matrix post is a PUT under a transaction id fixed per room, day and
//! part, with the bot's token; `team chat add` refuses what it must.

use serde_json::Value;
use tidings::domain::schedule::{LocalTime, Workdays, parse_tz};
use tidings::jobs::chat;
use tidings::store::chat::NewRoom;

use crate::cli::{fetching, ok, run, team_with_a};
use crate::helpers::*;
use crate::support::webhooks::Receiver;

async fn rooms_app(db: Db) -> TestApp {
    TestApp::with(db, |c| {
        c.fetch.allow_private = true;
        c.fetch.allow_http = true;
        c.web.base_url = "https://tidings.example.test".into();
    })
    .await
}

/// Adds a room of team core (no Matrix room or token) at `at` in `tz` on workdays.
pub(crate) async fn add_room(app: &TestApp, kind: &str, url: &str, at: &str, tz: &str) -> i64 {
    let n = NewRoom {
        team: "core",
        kind,
        url,
        room: None,
        token: None,
        at: LocalTime::parse(at).expect("time"),
        tz: parse_tz(tz).expect("zone"),
        days: Workdays::parse("mon-fri").expect("days"),
    };
    app.ctx.store.add_room(&n, 0).await.expect("room")
}

/// The admin page as the admin token reads it.
pub(crate) async fn admin_page(srv: &crate::web::Server) -> String {
    srv.http
        .get(srv.url("/"))
        .header("authorization", format!("Bearer {}", crate::web::ADMIN))
        .send()
        .await
        .expect("admin page")
        .text()
        .await
        .unwrap_or_default()
}

fn logged(rx: &Receiver) -> Vec<Value> {
    rx.raw()
        .iter()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect()
}

fn body(rec: &Value) -> Value {
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(rec["body"].as_str().unwrap_or_default())
        .expect("base64");
    serde_json::from_slice(&raw).expect("json body")
}

async fn at_the_rooms_hour_across_dst(db: Db) {
    let app = rooms_app(db).await;
    let ana = app
        .member("ana@example.test", "Ana Lima", "Europe/Berlin")
        .await;
    let ben = app
        .member("ben@example.test", "Ben Carter", "America/New_York")
        .await;
    let _cy = app.member("cy@example.test", "Cy Park", "UTC").await;
    let rx = Receiver::start(0, 500);
    let base = rx.url.trim_end_matches("/hooks/tidings").to_string();
    for (kind, url, matrix) in [
        ("slack", rx.url.clone(), false),
        ("matrix", base.clone(), true),
    ] {
        let n = NewRoom {
            team: "core",
            kind,
            url: &url,
            room: matrix.then_some("!r:example.test"),
            token: matrix.then_some("bot-token"),
            at: LocalTime::parse("09:00").expect("time"),
            tz: parse_tz("Europe/Berlin").expect("zone"),
            days: Workdays::parse("mon-fri").expect("days"),
        };
        app.ctx.store.add_room(&n, 0).await.expect("room");
    }
    app.standup(
        ana,
        "2026-03-27",
        "Done: the importer\nBlockers: waiting on legal",
    )
    .await;
    app.standup(ben, "2026-03-27", "Done: the docs").await;

    let r = chat::run(&app.ctx, at("2026-03-27T07:59:00Z"))
        .await
        .expect("run");
    assert_eq!(r, chat::ChatReport::default(), "08:59 in Berlin: not yet");
    let r = chat::run(&app.ctx, at("2026-03-27T08:00:00Z"))
        .await
        .expect("run");
    assert_eq!((r.queued, r.sent, r.failed), (2, 2, 0), "{r:?}");
    let r = chat::run(&app.ctx, at("2026-03-27T08:05:00Z"))
        .await
        .expect("run");
    assert_eq!(r, chat::ChatReport::default(), "once a day");
    // The weekend: nothing; Monday after the change: 09:00 CEST is 07:00Z.
    assert_eq!(
        chat::run(&app.ctx, at("2026-03-28T08:00:00Z"))
            .await
            .expect("run")
            .queued,
        0
    );
    assert_eq!(
        chat::run(&app.ctx, at("2026-03-30T06:59:00Z"))
            .await
            .expect("run")
            .queued,
        0
    );
    assert_eq!(
        chat::run(&app.ctx, at("2026-03-30T07:00:00Z"))
            .await
            .expect("run")
            .queued,
        2
    );

    let got = logged(&rx);
    assert_eq!(got.len(), 4, "{got:?}");
    let slack: Vec<&Value> = got
        .iter()
        .filter(|r| r["path"] == "/hooks/tidings")
        .collect();
    let matrix: Vec<&Value> = got.iter().filter(|r| r["method"] == "PUT").collect();
    assert_eq!((slack.len(), matrix.len()), (2, 2));
    assert_eq!(slack[0]["method"], "POST");
    let friday = body(slack[0]);
    let blocks = friday["blocks"].as_array().expect("blocks");
    assert_eq!(
        blocks[0]["text"]["text"],
        "core · Fri 27 Mar: 2 of 3 wrote, 1 blocker open"
    );
    let text = friday.to_string();
    let b = text.find("waiting on legal").expect("the blocker");
    let u = text.find("the importer").expect("the update");
    assert!(b < u, "blockers first: {text}");
    assert!(text.contains("Not written yet: Cy Park"), "{text}");
    assert!(
        text.contains("https://tidings.example.test/log/core?from=2026-03-27&to=2026-03-27"),
        "{text}"
    );
    assert!(
        body(slack[1])["blocks"][0]["text"]["text"]
            .as_str()
            .unwrap_or_default()
            .starts_with("core · Mon 30 Mar: 0 of 3 wrote, 1 blocker open")
    );
    let room_id = app.ctx.store.rooms().await.expect("rooms")[1].id;
    assert_eq!(
        matrix[0]["path"],
        format!(
            "/_matrix/client/v3/rooms/%21r%3Aexample.test/send/m.room.message/tidings.{room_id}.2026-03-27.1"
        )
    );
    assert_eq!(matrix[0]["headers"]["authorization"], "Bearer bot-token");
    let m = body(matrix[0]);
    assert_eq!(m["msgtype"], "m.notice");
    assert!(
        m["formatted_body"]
            .as_str()
            .unwrap_or_default()
            .contains("<strong>Ana Lima</strong>")
    );
}

#[tokio::test]
async fn at_the_rooms_hour_across_dst_sqlite() {
    at_the_rooms_hour_across_dst(Db::Sqlite).await
}

#[tokio::test]
async fn at_the_rooms_hour_across_dst_postgres() {
    at_the_rooms_hour_across_dst(Db::Postgres).await
}

async fn a_failing_room_keeps_its_posts_in_order(db: Db) {
    let app = rooms_app(db).await;
    let _ana = app.member("ana@example.test", "Ana Lima", "UTC").await;
    let rx = Receiver::start(1, 500);
    add_room(&app, "discord", &rx.url, "09:00", "UTC").await;
    let r = chat::run(&app.ctx, at("2026-03-27T09:00:00Z"))
        .await
        .expect("run");
    assert_eq!((r.queued, r.sent, r.retried), (1, 0, 1), "{r:?}");
    let rooms = app.ctx.store.rooms().await.expect("rooms");
    assert_eq!(
        rooms[0].last_error.as_deref(),
        Some("the server answered 500")
    );
    assert_eq!(rooms[0].waiting, 1);
    let listed = ok(&run(app.dir.path(), &app.db_url, &["outbox", "list"]));
    assert!(
        listed.contains("chat room posts:")
            && listed.contains("pending  room 1    2026-03-27 part 1"),
        "{listed}"
    );
    assert!(
        listed.contains("error: the server answered 500"),
        "{listed}"
    );
    let r = chat::run(&app.ctx, at("2026-03-27T09:00:05Z"))
        .await
        .expect("run");
    assert_eq!((r.queued, r.sent, r.retried), (0, 1, 0), "{r:?}");
    let got = logged(&rx);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0]["body"], got[1]["body"], "the same post again");
    let d = body(&got[1]);
    assert_eq!(d["allowed_mentions"]["parse"], serde_json::json!([]));
}

#[tokio::test]
async fn a_failing_room_keeps_its_posts_in_order_sqlite() {
    a_failing_room_keeps_its_posts_in_order(Db::Sqlite).await
}

#[tokio::test]
async fn a_failing_room_keeps_its_posts_in_order_postgres() {
    a_failing_room_keeps_its_posts_in_order(Db::Postgres).await
}

#[test]
fn team_chat_add_refuses_what_it_must_and_lists_masked() {
    let dir = tempfile::tempdir().expect("dir");
    let db = format!("sqlite://{}", dir.path().join("t.db").display());
    team_with_a(dir.path(), &db);
    let add = |args: &[&str]| {
        let mut all = vec!["team", "chat", "add"];
        all.extend_from_slice(args);
        run(dir.path(), &db, &all)
    };
    for (args, says) in [
        (
            vec![
                "core",
                "irc",
                "https://x.example/h",
                "--at",
                "09:00",
                "--tz",
                "UTC",
            ],
            "unknown platform \"irc\"",
        ),
        (
            vec![
                "core",
                "slack",
                "https://127.0.0.1/h",
                "--at",
                "09:00",
                "--tz",
                "UTC",
            ],
            "127.0.0.1 is a loopback",
        ),
        (
            vec![
                "core",
                "slack",
                "https://x.example/h",
                "--at",
                "9am",
                "--tz",
                "UTC",
            ],
            "--at:",
        ),
        (
            vec![
                "core",
                "slack",
                "https://x.example/h",
                "--at",
                "09:00",
                "--tz",
                "Mars/Base",
            ],
            "--tz:",
        ),
        (
            vec![
                "core",
                "matrix",
                "https://m.example",
                "--at",
                "09:00",
                "--tz",
                "UTC",
            ],
            "needs --room",
        ),
        (
            vec![
                "nope",
                "slack",
                "https://x.example/h",
                "--at",
                "09:00",
                "--tz",
                "UTC",
            ],
            "no team named",
        ),
    ] {
        let o = add(&args);
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    let token = dir.path().join("token");
    std::fs::write(&token, "syt_secret_token\n").expect("token");
    let out = ok(&fetching(dir.path(), &db)
        .args([
            "team",
            "chat",
            "add",
            "core",
            "matrix",
            "http://127.0.0.1:8008",
            "--at",
            "09:30",
            "--tz",
            "Europe/Berlin",
            "--room",
            "!r:example.test",
            "--token-file",
        ])
        .arg(&token)
        .output()
        .expect("runs"));
    assert!(
        out.contains("room 1: team core's summary to matrix"),
        "{out}"
    );
    let out = ok(&fetching(dir.path(), &db)
        .args([
            "team",
            "chat",
            "add",
            "core",
            "slack",
            "https://hooks.slack.example/services/T0/B0/SECRETxyz1234",
            "--at",
            "09:00",
            "--tz",
            "UTC",
        ])
        .output()
        .expect("runs"));
    assert!(out.contains("room 2"), "{out}");
    let list = ok(&run(dir.path(), &db, &["team", "chat", "list"]));
    assert!(
        list.contains("1  core  matrix") && list.contains("at 09:30 Europe/Berlin"),
        "{list}"
    );
    assert!(
        !list.contains("syt_secret_token") && !list.contains("SECRET"),
        "{list}"
    );
    assert!(ok(&run(dir.path(), &db, &["team", "chat", "remove", "1"])).contains("room 1 removed"));
    let o = run(dir.path(), &db, &["team", "chat", "remove", "1"]);
    assert_eq!(o.status.code(), Some(2));
}

async fn the_admin_page_and_metrics_show_a_failing_room(db: Db) {
    let app = rooms_app(db).await;
    let _ana = app.member("ana@example.test", "Ana Lima", "UTC").await;
    let rx = Receiver::start(1000, 503);
    add_room(&app, "slack", &rx.url, "09:00", "UTC").await;
    let r = chat::run(&app.ctx, at("2026-03-27T09:00:00Z"))
        .await
        .expect("run");
    assert_eq!((r.queued, r.retried), (1, 1), "{r:?}");
    // The admin page and the metrics say so, without the address's path.
    let srv = crate::web::Server::start(&app, |_| {}).await;
    let admin = admin_page(&srv).await;
    assert!(admin.contains("<table id=\"chat-rooms\">"), "{admin}");
    // Failing; or paused, when the server's own pass at the real time (months after the
    // job clock's Friday) tried it again.
    assert!(
        (admin.contains("<tr class=\"state-failing\">")
            || admin.contains("<tr class=\"state-paused\">"))
            && admin.contains("the server answered 503"),
        "{admin}"
    );
    assert!(!admin.contains("/hooks/tidings"), "{admin}");
    let metrics = srv.get_text("/metrics").await;
    // At least Friday's post waits (the server's own pass at the real time may add today's).
    let pending: i64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("tidings_chat_posts{state=\"pending\"} "))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(pending >= 1, "{metrics}");
}

#[tokio::test]
async fn the_admin_page_and_metrics_show_a_failing_room_sqlite() {
    the_admin_page_and_metrics_show_a_failing_room(Db::Sqlite).await
}

#[tokio::test]
async fn the_admin_page_and_metrics_show_a_failing_room_postgres() {
    the_admin_page_and_metrics_show_a_failing_room(Db::Postgres).await
}

async fn a_member_who_keeps_out_is_not_in_the_room(db: Db) {
    let app = rooms_app(db).await;
    let ana = app.member("ana@example.test", "Ana Lima", "UTC").await;
    let ben = app.member("ben@example.test", "Ben Carter", "UTC").await;
    let _cy = app.member("cy@example.test", "Cy Park", "UTC").await;
    let rx = Receiver::start(0, 500);
    add_room(&app, "mattermost", &rx.url, "09:00", "UTC").await;
    app.standup(ana, "2026-03-27", "Done: the importer").await;
    app.standup(
        ben,
        "2026-03-27",
        "Done: the secret project\nBlockers: waiting on HR",
    )
    .await;
    // Ben keeps his updates out, on his preferences page, as a browser sends the form.
    let srv = crate::web::Server::start(&app, |_| {}).await;
    let link = srv.fresh_link(ben);
    let page = srv.get_text(&link).await;
    assert!(
        page.contains("id=\"rooms\"")
            && page.contains("Your team posts a daily summary to a chat room"),
        "{page}"
    );
    let csrf = crate::web::csrf_of(&page);
    let r = srv
        .http
        .post(srv.url(&link))
        .form(&[("csrf", csrf.as_str()), ("action", "rooms-off")])
        .send()
        .await
        .expect("posted");
    assert_eq!(r.status(), reqwest::StatusCode::SEE_OTHER);
    assert!(!app.ctx.store.in_rooms(ben).await.expect("read"));
    let page = srv.get_text(&format!("{link}?done=rooms-off")).await;
    assert!(
        page.contains("Your updates are kept out of chat rooms")
            && page.contains("id=\"rooms-on\""),
        "{page}"
    );

    // (The server's own pass may be the one that sends it: either way it is posted.)
    chat::run(&app.ctx, at("2026-03-27T09:00:00Z"))
        .await
        .expect("run");
    // (The server's own pass at the real time may have posted the real today's summary too.)
    let text = logged(&rx)
        .iter()
        .map(|r| body(r)["text"].as_str().unwrap_or_default().to_string())
        .find(|t| t.contains("Fri 27 Mar"))
        .expect("Friday's post");
    assert!(
        text.contains("core · Fri 27 Mar: 1 of 2 wrote, no blockers"),
        "{text}"
    );
    assert!(
        text.contains("the importer") && text.contains("Not written yet: Cy Park"),
        "{text}"
    );
    for never in ["Ben Carter", "secret project", "waiting on HR"] {
        assert!(!text.contains(never), "{never} in {text}");
    }
}

#[tokio::test]
async fn a_member_who_keeps_out_is_not_in_the_room_sqlite() {
    a_member_who_keeps_out_is_not_in_the_room(Db::Sqlite).await
}

#[tokio::test]
async fn a_member_who_keeps_out_is_not_in_the_room_postgres() {
    a_member_who_keeps_out_is_not_in_the_room(Db::Postgres).await
}

async fn the_admin_api_adds_lists_and_removes_rooms(db: Db) {
    use reqwest::{Method, StatusCode};
    use serde_json::json;
    let app = rooms_app(db).await;
    let _ana = app.member("ana@example.test", "Ana Lima", "UTC").await;
    let srv = crate::web::Server::start(&app, |_| {}).await;
    let admin = Some(crate::web::ADMIN);
    let base = "/api/v1/admin/teams/core/rooms";
    let (s, v) = srv
        .send(Method::POST, base, admin, json!({"kind": "matrix", "url": "https://m.example.org", "at": "09:00", "tz": "Europe/Berlin"}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = srv
        .send(Method::POST, base, admin, json!({"kind": "slack", "url": "https://hooks.example.org/services/SECRETabcd", "at": "09:00", "tz": "Europe/Berlin", "days": "mon,wed"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["address"], "hooks.example.org …abcd");
    assert_eq!(v["days"], "mon,wed");
    let id = v["id"].as_i64().expect("id");
    let (s, v) = srv
        .send(Method::POST, base, admin, json!({"kind": "matrix", "url": "https://m.example.org", "at": "09:00", "tz": "UTC", "room": "!r:m.example.org", "token": "syt_very_secret"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = srv.get(base, admin).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v.as_array().map(Vec::len), Some(2));
    assert!(
        !v.to_string().contains("syt_very_secret") && !v.to_string().contains("SECRET"),
        "{v}"
    );
    let (s, _) = srv.get("/api/v1/admin/teams/nope/rooms", admin).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = srv
        .send(Method::DELETE, &format!("{base}/{id}"), admin, json!({}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = srv
        .send(Method::DELETE, &format!("{base}/{id}"), admin, json!({}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, v) = srv.get(base, admin).await;
    assert_eq!(v.as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn the_admin_api_adds_lists_and_removes_rooms_sqlite() {
    the_admin_api_adds_lists_and_removes_rooms(Db::Sqlite).await
}

#[tokio::test]
async fn the_admin_api_adds_lists_and_removes_rooms_postgres() {
    the_admin_api_adds_lists_and_removes_rooms(Db::Postgres).await
}

async fn a_room_failing_for_a_day_is_paused_and_resumed(db: Db) {
    let app = TestApp::with(db, |c| {
        c.fetch.allow_private = true;
        c.fetch.allow_http = true;
        c.webhooks.max_attempts = 10;
    })
    .await;
    let _ana = app.member("ana@example.test", "Ana Lima", "UTC").await;
    let rx = Receiver::start(1000, 502);
    let id = add_room(&app, "slack", &rx.url, "09:00", "UTC").await;
    let mut t = at("2026-03-27T09:00:00Z");
    let mut paused = 0;
    for _ in 0..60 {
        paused += chat::run(&app.ctx, t).await.expect("run").paused;
        t += chrono::Duration::minutes(30);
    }
    assert_eq!(paused, 1);
    let room = app.ctx.store.room(id).await.expect("read").expect("room");
    assert_eq!(room.state(), "paused");
    assert!(
        room.pause_reason
            .as_deref()
            .unwrap_or("")
            .contains("the server answered 502"),
        "{room:?}"
    );
    // Paused: nothing is posted, whatever is due (Monday's summary is queued and waits).
    let before = rx.raw().len();
    let r = chat::run(&app.ctx, at("2026-03-30T09:00:00Z"))
        .await
        .expect("run");
    assert_eq!((r.queued, r.sent + r.retried + r.failed), (1, 0), "{r:?}");
    assert_eq!(rx.raw().len(), before);
    assert!(app.ctx.store.resume_room(id, 0).await.expect("resume"));
    let r = chat::run(&app.ctx, at("2026-03-30T09:01:00Z"))
        .await
        .expect("run");
    assert_eq!(
        r.retried, 1,
        "tried again; the room's later post waits behind it: {r:?}"
    );
    let room = app.ctx.store.room(id).await.expect("read").expect("room");
    assert_eq!((room.state(), room.waiting), ("failing", 2));
}

#[tokio::test]
async fn a_room_failing_for_a_day_is_paused_and_resumed_sqlite() {
    a_room_failing_for_a_day_is_paused_and_resumed(Db::Sqlite).await
}

#[tokio::test]
async fn a_room_failing_for_a_day_is_paused_and_resumed_postgres() {
    a_room_failing_for_a_day_is_paused_and_resumed(Db::Postgres).await
}

async fn rooms_off_and_on_by_reply(db: Db) {
    let app = rooms_app(db).await;
    let ana = app.member("ana@example.test", "Ana Lima", "UTC").await;
    for (n, words, now, in_rooms) in [
        ("r1", "Rooms off.", "2026-03-27T10:00:00Z", false),
        ("r2", "rooms on", "2026-03-27T10:05:00Z", true),
    ] {
        let raw = gmail_reply(
            "ana@example.test",
            "updates@example.test",
            "request@example.test",
            &format!("{n}@client.test"),
            words,
        );
        let r = app
            .deliver(&format!("{n}.eml"), &vouched("example.test", &raw), at(now))
            .await;
        assert_eq!(r.commands, 1, "{words}: {r:?}");
        assert_eq!(
            app.ctx.store.in_rooms(ana).await.expect("read"),
            in_rooms,
            "{words}"
        );
    }
    tidings::jobs::send::run(&app.ctx, at("2026-03-27T10:06:00Z"))
        .await
        .expect("send");
    let told: Vec<String> = app
        .sent()
        .into_iter()
        .map(|n| text_body(&app.read_sent(&n)))
        .collect();
    assert!(
        told.iter()
            .any(|t| t.contains("kept out of your teams' chat-room summaries")),
        "{told:?}"
    );
    assert!(
        told.iter()
            .any(|t| t.contains("part of your teams' chat-room summaries again")),
        "{told:?}"
    );
}

#[tokio::test]
async fn rooms_off_and_on_by_reply_sqlite() {
    rooms_off_and_on_by_reply(Db::Sqlite).await
}

#[tokio::test]
async fn rooms_off_and_on_by_reply_postgres() {
    rooms_off_and_on_by_reply(Db::Postgres).await
}

async fn in_rooms_through_the_api(db: Db) {
    use reqwest::{Method, StatusCode};
    use serde_json::json;
    let app = rooms_app(db).await;
    let ana = app.member("ana@example.test", "Ana Lima", "UTC").await;
    let srv = crate::web::Server::start(&app, |_| {}).await;
    let token = srv.token_for(ana).await;
    let (s, v) = srv.get("/api/v1/me/preferences", Some(&token)).await;
    assert_eq!((s, &v["in_rooms"]), (StatusCode::OK, &json!(true)), "{v}");
    let (s, v) = srv
        .send(
            Method::PUT,
            "/api/v1/me/preferences",
            Some(&token),
            json!({"in_rooms": false}),
        )
        .await;
    assert_eq!((s, &v["in_rooms"]), (StatusCode::OK, &json!(false)), "{v}");
    assert!(!app.ctx.store.in_rooms(ana).await.expect("read"));
    // The admin sets it too; absent, it is left as it is.
    let admin = Some(crate::web::ADMIN);
    let path = "/api/v1/admin/members/ana@example.test";
    let (s, _) = srv
        .send(Method::PUT, path, admin, json!({"name": "Ana L."}))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(!app.ctx.store.in_rooms(ana).await.expect("read"));
    let (s, _) = srv
        .send(Method::PUT, path, admin, json!({"in_rooms": true}))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(app.ctx.store.in_rooms(ana).await.expect("read"));
    let (s, v) = srv
        .send(
            Method::PUT,
            "/api/v1/me/preferences",
            Some(&token),
            json!({"in_rooms": null}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
}

#[tokio::test]
async fn in_rooms_through_the_api_sqlite() {
    in_rooms_through_the_api(Db::Sqlite).await
}

#[tokio::test]
async fn in_rooms_through_the_api_postgres() {
    in_rooms_through_the_api(Db::Postgres).await
}
