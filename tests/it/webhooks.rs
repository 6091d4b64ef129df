//! Signed webhooks (#36), on both backends, into a real HTTP receiver on loopback whose every
//! delivery is verified by the Standard Webhooks reference library (Python `standardwebhooks`),
//! not by our code: each event a reply, a resolved blocker, a comment and a reaction make,
//! once; a tampered or replayed delivery refused; a receiver answering 500 then 204 gets the
//! event with the same `webhook-id`; an endpoint failing for a day paused, tested and
//! resumed; a loopback receiver refused without `fetch.allow_private`.

use chrono::Duration;
use serde_json::Value;
use tidings::domain::webhook::{EVENTS, new_secret};
use tidings::jobs::hooks::{self, HookReport};
use tidings::store::webhooks::HookOutcome;

use crate::helpers::*;
use crate::support::webhooks::{Receiver, Verified, schema_check};

/// `name_sqlite` and `name_postgres` tests of `async fn name(db: Db)`.
macro_rules! both_dbs {
    ($name:ident) => {
        paste_tests!($name);
    };
}

macro_rules! paste_tests {
    ($name:ident) => {
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name(crate::helpers::Db::Sqlite).await
            }
            #[tokio::test]
            async fn postgres() {
                super::$name(crate::helpers::Db::Postgres).await
            }
        }
    };
}

async fn hook_app(db: Db) -> TestApp {
    TestApp::with(db, |c| {
        // The receiver is on loopback, over http: allowed here, as for one on the LAN.
        c.fetch.allow_private = true;
        c.fetch.allow_http = true;
        c.fetch.timeout_secs = 3;
        c.web.base_url = "https://tidings.example.test".into();
    })
    .await
}

async fn add(app: &TestApp, url: &str, team: Option<&str>, events: &[&str]) -> (i64, String) {
    let secret = new_secret();
    let id = app
        .ctx
        .store
        .add_webhook(team, url, &secret, events, 0)
        .await
        .expect("webhook added");
    (id, secret)
}

async fn deliver(app: &TestApp, now: &str) -> HookReport {
    hooks::run(&app.ctx, at(now)).await.expect("webhooks run")
}

fn kinds(v: &[Verified]) -> Vec<String> {
    v.iter()
        .map(|d| d.kind.clone().unwrap_or_default())
        .collect()
}

fn data<'a>(v: &'a [Verified], kind: &str) -> &'a Value {
    v.iter()
        .find(|d| d.kind.as_deref() == Some(kind))
        .and_then(|d| d.data.as_ref())
        .unwrap_or_else(|| panic!("no {kind} in {:?}", kinds(v)))
}

async fn every_event_once_and_verified(db: Db) {
    let app = hook_app(db).await;
    let rx = Receiver::start(0, 500);
    let (_, secret) = add(&app, &rx.url, None, EVENTS).await;
    let ana = app
        .member("ana@example.test", "Ana Lima", "Europe/Berlin")
        .await;
    let ben = app.member("ben@example.test", "Ben Carter", "UTC").await;
    // A reply to Ana's request, as her mail client sends it (read from the inbox).
    let raw = gmail_reply(
        "ana@example.test",
        "updates@example.test",
        "request@example.test",
        "r1@client.test",
        "Done: the importer\nBlockers: waiting on the DBA for the replica",
    );
    let token_to = app
        .ctx
        .reply_address(ana, "2026-03-09".parse().expect("date"));
    let raw = swap(&raw, "updates@example.test", token_to.as_str());
    let r = app
        .deliver(
            "r1.eml",
            &vouched("example.test", &raw),
            at("2026-03-09T16:00:00Z"),
        )
        .await;
    assert_eq!(r.accepted, 1, "{r:?}");
    let update = app
        .ctx
        .store
        .update_for(ana, "2026-03-09".parse().expect("date"))
        .await
        .expect("read")
        .expect("stored")
        .id;
    // The same reply in the inbox again: a duplicate, no second event.
    let again = app
        .deliver(
            "r1-again.eml",
            &vouched("example.test", &raw),
            at("2026-03-09T16:01:00Z"),
        )
        .await;
    assert_eq!((again.accepted, again.duplicates), (0, 1), "{again:?}");
    app.standup(ana, "2026-03-09", "Also: reviewed Ben's change")
        .await;
    let s = &app.ctx.store;
    s.add_comment(
        update,
        ben,
        "I can ask the DBA",
        "<c1@client.test>",
        at("2026-03-09T17:00:00Z").timestamp(),
    )
    .await
    .expect("comment");
    assert!(
        s.add_reaction(update, ben, "+1", at("2026-03-09T17:01:00Z").timestamp())
            .await
            .expect("reaction")
    );
    assert!(
        !s.add_reaction(update, ben, "+1", at("2026-03-09T17:02:00Z").timestamp())
            .await
            .expect("again")
    );
    s.resolve_blocker_at(ana, at("2026-03-10T09:00:00Z").timestamp())
        .await
        .expect("resolved")
        .expect("one was open");

    // Ben's reply stored twice (its worker died before recording that it was): one event.
    let date = "2026-03-10".parse().expect("date");
    for _ in 0..2 {
        let t = at("2026-03-10T08:00:00Z").timestamp();
        s.upsert_update(
            ben,
            date,
            "Done: the docs",
            &[],
            "email",
            Some("<b1@client.test>"),
            false,
            t,
        )
        .await
        .expect("stored");
    }

    let r = deliver(&app, "2026-03-10T09:00:05Z").await;
    assert_eq!((r.sent, r.retried, r.failed), (7, 0, 0), "{r:?}");
    assert_eq!(
        deliver(&app, "2026-03-10T09:10:00Z").await,
        HookReport::default()
    );
    let v = rx.verified(&secret);
    let mut got = kinds(&v);
    got.sort();
    assert_eq!(
        got,
        [
            "blocker.opened",
            "blocker.resolved",
            "comment.created",
            "reaction.added",
            "update.created",
            "update.created",
            "update.revised",
        ]
    );
    for d in &v {
        assert!(d.ok, "{d:?}");
        assert!(d.tampered_refused && d.replay_refused, "{d:?}");
    }
    // Each body is what the OpenAPI document's `webhooks` section says it is.
    let payloads: Vec<Value> = v.iter().filter_map(|d| d.payload.clone()).collect();
    for line in schema_check(tidings::web::openapi::document(), &payloads) {
        assert!(line.starts_with("ok "), "{line}");
    }
    let ids: std::collections::HashSet<_> = v.iter().map(|d| d.id.clone()).collect();
    assert_eq!(ids.len(), 7, "one webhook-id per event");

    let created = &data(&v, "update.created")["update"];
    assert_eq!(created["author"]["email"], "ana@example.test");
    assert_eq!(created["teams"], serde_json::json!(["core"]));
    assert_eq!(created["date"], "2026-03-09");
    assert_eq!(created["revision"], 1);
    assert_eq!(
        created["url"],
        format!("https://tidings.example.test/log/core?from=2026-03-09&to=2026-03-09#u{update}")
    );
    assert!(
        created["text"]
            .as_str()
            .unwrap_or("")
            .contains("the importer")
    );
    assert_eq!(data(&v, "update.revised")["update"]["revision"], 2);
    let opened = &data(&v, "blocker.opened")["blocker"];
    assert_eq!(opened["since"], "2026-03-09");
    assert_eq!(
        opened["lines"],
        serde_json::json!(["waiting on the DBA for the replica"])
    );
    let resolved = data(&v, "blocker.resolved");
    assert_eq!(resolved["resolved_by"]["how"], "command");
    assert_eq!(
        data(&v, "comment.created")["comment"]["text"],
        "I can ask the DBA"
    );
    assert_eq!(data(&v, "reaction.added")["member"]["name"], "Ben Carter");
}
both_dbs!(every_event_once_and_verified);

async fn retried_with_the_same_id_until_it_recovers(db: Db) {
    let app = hook_app(db).await;
    let rx = Receiver::start(2, 500);
    let ana = app.member("ana@example.test", "Ana Lima", "UTC").await;
    let _other = app
        .member_of("zed@example.test", "Zed Other", "UTC", "other")
        .await;
    let (id, secret) = add(&app, &rx.url, Some("core"), &["update.created"]).await;
    app.standup(ana, "2026-03-09", "Done: one").await;
    // Another team's update and an event the endpoint did not ask for: nothing queued.
    app.standup(_other, "2026-03-09", "Done: elsewhere").await;
    app.standup(ana, "2026-03-09", "Done: two").await;
    let t0 = at("2026-03-09T12:00:00Z");
    let r = hooks::run(&app.ctx, t0).await.expect("run");
    assert_eq!((r.sent, r.retried), (0, 1), "{r:?}");
    // Not due again before its backoff (5 s), then 500 again, then 5 min later accepted.
    assert_eq!(
        hooks::run(&app.ctx, t0 + Duration::seconds(4))
            .await
            .expect("run")
            .retried,
        0
    );
    let r = hooks::run(&app.ctx, t0 + Duration::seconds(5))
        .await
        .expect("run");
    assert_eq!((r.sent, r.retried), (0, 1), "{r:?}");
    let hook = app
        .ctx
        .store
        .webhook(id)
        .await
        .expect("read")
        .expect("hook");
    assert!(
        hook.failing_since.is_some()
            && hook.last_error.as_deref() == Some("the server answered 500"),
        "{hook:?}"
    );
    let r = hooks::run(&app.ctx, t0 + Duration::seconds(5 + 300))
        .await
        .expect("run");
    assert_eq!((r.sent, r.retried), (1, 0), "{r:?}");
    let v = rx.verified(&secret);
    assert_eq!(
        v.iter().map(|d| d.status).collect::<Vec<_>>(),
        [500, 500, 204]
    );
    assert!(
        v.iter()
            .all(|d| d.ok && d.kind.as_deref() == Some("update.created"))
    );
    assert!(
        v.windows(2).all(|w| w[0].id == w[1].id),
        "the same webhook-id: {v:?}"
    );
    let raw: Vec<Value> = rx
        .raw()
        .iter()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert!(
        raw.windows(2).all(|w| w[0]["body"] == w[1]["body"]),
        "the same body each time"
    );
    let hook = app
        .ctx
        .store
        .webhook(id)
        .await
        .expect("read")
        .expect("hook");
    assert_eq!(
        (hook.failing_since, hook.waiting, hook.failed),
        (None, 0, 0),
        "{hook:?}"
    );
}
both_dbs!(retried_with_the_same_id_until_it_recovers);

async fn paused_after_a_day_of_failures_then_tested_and_resumed(db: Db) {
    let app = TestApp::with(db, |c| {
        c.fetch.allow_private = true;
        c.fetch.allow_http = true;
        // More attempts than a day holds, so the pause comes first.
        c.webhooks.max_attempts = 10;
    })
    .await;
    let rx = Receiver::start(1000, 503);
    let (id, _) = add(&app, &rx.url, None, &["update.created"]).await;
    let ana = app.member("ana@example.test", "Ana Lima", "UTC").await;
    app.standup(ana, "2026-03-09", "Done: one").await;
    let t0 = at("2026-03-09T12:00:00Z");
    // The schedule: at once, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: the eighth attempt
    // comes 27 h 35 min 5 s after the first, when it has failed for more than a day.
    let mut t = t0;
    let mut attempts = 0;
    let mut paused = 0;
    for _ in 0..60 {
        let r = hooks::run(&app.ctx, t).await.expect("run");
        attempts += r.retried + r.failed;
        paused += r.paused;
        t += Duration::minutes(30);
    }
    assert_eq!((attempts, paused), (8, 1), "attempts up to the pause");
    let hook = app
        .ctx
        .store
        .webhook(id)
        .await
        .expect("read")
        .expect("hook");
    assert!(hook.paused_at.is_some(), "{hook:?}");
    assert!(
        hook.pause_reason
            .as_deref()
            .unwrap_or("")
            .contains("the server answered 503"),
        "{hook:?}"
    );
    assert_eq!(hook.waiting, 1, "the delivery waits while paused: {hook:?}");
    // The admin page and the metrics say so, and why, without the address's path.
    let srv = crate::web::Server::start(&app, |_| {}).await;
    let admin = crate::chat_rooms::admin_page(&srv).await;
    assert!(admin.contains("<table id=\"webhooks\">"), "{admin}");
    assert!(admin.contains("<tr class=\"state-paused\">"), "{admin}");
    assert!(
        admin.contains("failing for a day: the server answered 503"),
        "{admin}"
    );
    assert!(!admin.contains("/hooks/tidings"), "{admin}");
    let metrics = srv.get_text("/metrics").await;
    assert!(
        metrics.contains("tidings_webhooks{state=\"paused\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("tidings_webhook_deliveries{state=\"pending\"} 1"),
        "{metrics}"
    );
    // Nothing is attempted while paused, however long.
    let before = rx.raw().len();
    app.standup(ana, "2026-03-12", "Done: more").await;
    hooks::run(&app.ctx, t + Duration::days(3))
        .await
        .expect("run");
    assert_eq!(rx.raw().len(), before);
    // A test ping goes out even now, and says what the receiver answered.
    let ping = app
        .ctx
        .store
        .queue_ping(id, t.timestamp())
        .await
        .expect("ping");
    let o = hooks::send_one(&app.ctx, ping, t).await.expect("sent");
    assert!(
        matches!(o, Some(HookOutcome::Failed { ref error }) if error.contains("503")),
        "{o:?}"
    );
    assert_eq!(rx.raw().len(), before + 1);
    assert!(
        app.ctx
            .store
            .resume_webhook(id, t.timestamp())
            .await
            .expect("resume")
    );
    let r = hooks::run(&app.ctx, t).await.expect("run");
    assert_eq!(
        r.retried, 1,
        "tried again, and the next one not after it failed: {r:?}"
    );
    let hook = app
        .ctx
        .store
        .webhook(id)
        .await
        .expect("read")
        .expect("hook");
    assert_eq!((hook.waiting, hook.failed), (2, 1), "{hook:?}");
}
both_dbs!(paused_after_a_day_of_failures_then_tested_and_resumed);

async fn a_loopback_receiver_is_refused_without_allow_private(db: Db) {
    let app = TestApp::with(db, |c| c.fetch.allow_http = true).await;
    let rx = Receiver::start(0, 500);
    let (id, _) = add(&app, &rx.url, None, EVENTS).await;
    let ana = app.member("ana@example.test", "Ana Lima", "UTC").await;
    app.standup(ana, "2026-03-09", "Done: one").await;
    let r = hooks::run(&app.ctx, at("2026-03-09T12:00:00Z"))
        .await
        .expect("run");
    assert_eq!(
        (r.sent, r.retried, r.failed),
        (0, 0, 1),
        "refused, not retried: {r:?}"
    );
    assert!(rx.raw().is_empty(), "nothing reached it");
    let hook = app
        .ctx
        .store
        .webhook(id)
        .await
        .expect("read")
        .expect("hook");
    let why = hook.last_error.unwrap_or_default();
    assert!(why.contains("127.0.0.1 is a loopback"), "{why}");
    assert!(
        !why.contains("/hooks/tidings"),
        "never the address's path: {why}"
    );
}
both_dbs!(a_loopback_receiver_is_refused_without_allow_private);

async fn the_admin_api_adds_tests_resumes_and_removes(db: Db) {
    use reqwest::{Method, StatusCode};
    use serde_json::json;
    let app = hook_app(db).await;
    let _ana = app.member("ana@example.test", "Ana Lima", "UTC").await;
    let rx = Receiver::start(0, 500);
    let srv = crate::web::Server::start(&app, |_| {}).await;
    let admin = Some(crate::web::ADMIN);
    let base = "/api/v1/admin/webhooks";
    // Refused: a scheme, an unknown event, an unknown team; a member's token.
    let (s, v) = srv
        .send(
            Method::POST,
            base,
            admin,
            json!({"url": "ftp://example.org/x"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, _) = srv
        .send(
            Method::POST,
            base,
            admin,
            json!({"url": rx.url, "events": ["update.deleted"]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, v) = srv
        .send(
            Method::POST,
            base,
            admin,
            json!({"url": rx.url, "team": "nope"}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let member = srv.token_for(_ana).await;
    let (s, _) = srv.get(base, Some(&member)).await;
    assert!(
        s == StatusCode::UNAUTHORIZED || s == StatusCode::FORBIDDEN,
        "{s}"
    );

    let (s, v) = srv
        .send(
            Method::POST,
            base,
            admin,
            json!({"url": rx.url, "team": "core", "events": ["update.created"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let secret = v["secret"].as_str().expect("the secret").to_string();
    let id = v["webhook"]["id"].as_i64().expect("id");
    assert_eq!(v["webhook"]["address"], "127.0.0.1 …ings");
    assert_eq!(v["webhook"]["state"], "ok");
    let (s, v) = srv.get(base, admin).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        !v.to_string().contains(&secret) && !v.to_string().contains("/hooks/tidings"),
        "{v}"
    );
    assert_eq!(v[0]["events"], json!(["update.created"]));

    let (s, v) = srv
        .send(Method::POST, &format!("{base}/{id}/test"), admin, json!({}))
        .await;
    assert_eq!(
        (s, v["delivered"].as_bool()),
        (StatusCode::OK, Some(true)),
        "{v}"
    );
    let got = rx.verified(&secret);
    assert_eq!(got.len(), 1);
    assert!(
        got[0].ok && got[0].kind.as_deref() == Some("ping"),
        "{:?}",
        got[0]
    );
    let (s, v) = srv
        .send(
            Method::POST,
            &format!("{base}/{id}/resume"),
            admin,
            json!({}),
        )
        .await;
    assert_eq!((s, &v["state"]), (StatusCode::OK, &json!("ok")), "{v}");
    let (s, _) = srv
        .send(Method::POST, &format!("{base}/999/test"), admin, json!({}))
        .await;
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
    assert_eq!(v, json!([]));
}
both_dbs!(the_admin_api_adds_tests_resumes_and_removes);
