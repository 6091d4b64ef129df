//! The web side over a real port: API tokens (good, missing, wrong, revoked), idempotent
//! posts, preferences over the API, body and rate limits, the admin API, the preferences page
//! (own link only, CSRF, Origin, expired links, fresh links by email), one-click unsubscribe,
//! `/metrics`, and the OpenAPI document against the router. On SQLite and PostgreSQL.

use chrono::Utc;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tidings::app::App;
use tidings::config::{Config, SecretString};
use tidings::domain::token::{LinkToken, generate_api_token, hash_api_token};
use tidings::jobs::Ctx;

use crate::both;
use crate::helpers::*;

pub const ADMIN: &str = "admin-token-for-tests-0123456789";

/// A running `tidings serve` (web, scheduler, poller) on 127.0.0.1 over the test's database.
pub struct Server {
    pub base: String,
    pub ctx: Ctx,
    pub http: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Server {
    pub async fn start(app: &TestApp, tweak: impl FnOnce(&mut Config)) -> Server {
        let mut cfg = (*app.ctx.config).clone();
        cfg.web.bind = "127.0.0.1:0".into();
        cfg.web.admin_token = SecretString::new(ADMIN);
        tweak(&mut cfg);
        let a = App::build(cfg).await.expect("the app builds");
        let addr = a.local_addr().expect("bound");
        let ctx = a.ctx.clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(a.run_until_stopped(async {
            let _ = rx.await;
        }));
        Server {
            base: format!("http://{addr}"),
            ctx,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            _stop: tx,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A preferences link path for `member` expiring at `expires` (unix seconds).
    pub fn link(&self, member: i64, expires: i64) -> String {
        format!(
            "/p/{}",
            LinkToken {
                member,
                expires,
                epoch: 0
            }
            .encode(&self.ctx.secret)
        )
    }

    /// The body of a GET of `path` (a page), whatever its status.
    pub async fn get_text(&self, path: &str) -> String {
        self.http
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    pub fn fresh_link(&self, member: i64) -> String {
        self.link(member, Utc::now().timestamp() + 3600)
    }

    /// A session cookie for `member` (`Cookie` header value), from an email's signed link.
    pub async fn signed_in(&self, member: i64) -> String {
        let r = self
            .http
            .get(self.url(&format!("{}/log", self.fresh_link(member))))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        r.headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("tidings_session="))
            .and_then(|c| c.split(';').next())
            .expect("a session cookie")
            .to_string()
    }

    pub async fn token_for(&self, member: i64) -> String {
        let t = generate_api_token();
        self.ctx
            .store
            .add_api_token(member, &hash_api_token(&t))
            .await
            .unwrap();
        t
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        let mut r = self.http.get(self.url(path));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        json_of(r.send().await.unwrap()).await
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> (StatusCode, Value) {
        let mut r = self.http.request(method, self.url(path)).json(&body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        json_of(r.send().await.unwrap()).await
    }
}

async fn json_of(r: reqwest::Response) -> (StatusCode, Value) {
    let s = r.status();
    let text = r.text().await.unwrap();
    (
        s,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}

both!(api_tokens_good_missing_wrong_and_revoked, |app| {
    let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
    let srv = Server::start(&app, |_| {}).await;
    let token = srv.token_for(ann).await;

    let (s, v) = srv.get("/api/v1/me/preferences", Some(&token)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["email"], "ann@example.test");
    assert_eq!(v["timezone"], "Europe/Berlin");
    assert_eq!(v["workdays"], json!(["mon", "tue", "wed", "thu", "fri"]));
    assert_eq!(v["team"], "core");

    let (s, v) = srv.get("/api/v1/me/preferences", None).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNAUTHORIZED, "missing_token"),
        "{v}"
    );
    let (s, v) = srv
        .get("/api/v1/me/preferences", Some("tdg_not_a_token"))
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNAUTHORIZED, "invalid_token"),
        "{v}"
    );

    // Stored hashed: the table holds no token.
    let rows = app.ctx.store.list_api_tokens(Some(ann)).await.unwrap();
    assert_eq!(rows.len(), 1);
    let (stored,): (String,) = sqlx::query_as("SELECT hash FROM api_tokens")
        .fetch_one(app.ctx.store.pool())
        .await
        .unwrap();
    assert_eq!(stored, hash_api_token(&token));
    assert_ne!(stored, token);

    assert!(app.ctx.store.revoke_api_token(rows[0].id, 1).await.unwrap());
    let (s, v) = srv.get("/api/v1/me/preferences", Some(&token)).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNAUTHORIZED, "invalid_token"),
        "{v}"
    );
});

both!(
    an_idempotency_key_gives_the_same_result_and_no_second_update,
    |app| {
        let ann = app
            .member("ann@example.test", "Ann", "Pacific/Auckland")
            .await;
        let bob = app
            .member("bob@example.test", "Bob", "America/New_York")
            .await;
        let srv = Server::start(&app, |_| {}).await;
        let t = srv.token_for(ann).await;
        let post = |key: Option<&'static str>, text: &'static str| {
            let mut r = srv
                .http
                .post(srv.url("/api/v1/updates"))
                .bearer_auth(&t)
                .json(&json!({"text": text}));
            if let Some(k) = key {
                r = r.header("Idempotency-Key", k);
            }
            r.send()
        };
        let first = post(Some("k-1"), "Shipped the importer").await.unwrap();
        assert_eq!(first.status(), StatusCode::CREATED);
        assert!(first.headers().get("idempotent-replayed").is_none());
        let first: Value = first.json().await.unwrap();
        let again = post(Some("k-1"), "Shipped the importer").await.unwrap();
        assert_eq!(again.status(), StatusCode::CREATED);
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        let again: Value = again.json().await.unwrap();
        assert_eq!(first, again, "same key, same result");

        // The date defaults to the member's local date (Auckland is ahead of UTC).
        let today = tidings::domain::schedule::local_date(chrono_tz::Pacific::Auckland, Utc::now());
        assert_eq!(first["update"]["date"], today.to_string());
        let u = app.ctx.store.update_for(ann, today).await.unwrap().unwrap();
        assert_eq!((u.revision, u.body.as_str()), (1, "Shipped the importer"));

        // Without a key (or with a new one) a second post appends, as a second email reply would.
        let r: Value = post(None, "Also: fixed the flaky test")
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(r["update"]["revision"], 2);
        assert_eq!(r["update"]["edited"], true);
        let u = app.ctx.store.update_for(ann, today).await.unwrap().unwrap();
        assert_eq!(u.body, "Shipped the importer\n\nAlso: fixed the flaky test");

        // An explicit date, and the team's updates for it.
        let bt = srv.token_for(bob).await;
        let (s, v) = srv
            .send(
                reqwest::Method::POST,
                "/api/v1/updates",
                Some(&bt),
                json!({"text": "Bob's day", "date": "2026-03-09"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let (s, v) = srv.get("/api/v1/updates?date=2026-03-09", Some(&t)).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["updates"].as_array().unwrap().len(), 1);
        assert_eq!(v["updates"][0]["author"]["name"], "Bob");
        assert_eq!(v["updates"][0]["text"], "Bob's day");

        for bad in [
            json!({"text": "  "}),
            json!({"text": "x", "date": "tomorrow"}),
            json!({"text": "x", "date": "2999-01-01"}),
        ] {
            let (s, v) = srv
                .send(
                    reqwest::Method::POST,
                    "/api/v1/updates",
                    Some(&t),
                    bad.clone(),
                )
                .await;
            assert_eq!(
                (s, code(&v)),
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
                "{bad}: {v}"
            );
        }
        let (s, v) = srv
            .send(
                reqwest::Method::POST,
                "/api/v1/updates",
                Some(&t),
                json!({"txt": "x"}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(v["error"]["message"].is_string());
    }
);

both!(preferences_over_the_api_replan_the_next_digest, |app| {
    let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
    let srv = Server::start(&app, |_| {}).await;
    let t = srv.token_for(ann).await;
    let (_, mut body) = srv.get("/api/v1/me/preferences", Some(&t)).await;
    body["digest_at"] = json!("07:15");
    body["workdays"] = json!(["mon", "wed"]);
    body["away"] = json!([{"from": "2026-12-01", "to": "2026-12-03"}]);
    let (s, v) = srv
        .send(
            reqwest::Method::PUT,
            "/api/v1/me/preferences",
            Some(&t),
            body,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["digest_at"], "07:15");
    assert_eq!(v["workdays"], json!(["mon", "wed"]));
    assert_eq!(
        v["away"],
        json!([{"from": "2026-12-01", "to": "2026-12-03"}])
    );
    let m = app.ctx.store.member_by_id(ann).await.unwrap().unwrap();
    assert_eq!(m.digest_at.to_string(), "07:15");
    let (_, next_digest) = app.ctx.store.next_instants(ann).await.unwrap();
    let want = expected_digest_plan(&m, Utc::now());
    assert_eq!(next_digest, Some(want.timestamp()), "planned again at once");

    let (s, v) = srv
        .send(
            reqwest::Method::PUT,
            "/api/v1/me/preferences",
            Some(&t),
            json!({"timezone": "Mars/Olympus"}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
        "{v}"
    );
    let (s, v) = srv
        .send(
            reqwest::Method::PUT,
            "/api/v1/me/preferences",
            Some(&t),
            json!({"email": "eve@example.test"}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
        "{v}"
    );
    let (s, v) = srv
        .send(
            reqwest::Method::PUT,
            "/api/v1/me/preferences",
            Some(&t),
            json!({"team": "other"}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
        "a member cannot move teams: {v}"
    );
    let (s, v) = srv
        .send(
            reqwest::Method::PUT,
            "/api/v1/me/preferences",
            Some(&t),
            json!({"colour": "blue"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");

    let (s, v) = srv.get("/api/v1/digests/latest", Some(&t)).await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"), "{v}");
});

both!(the_latest_digest_is_served, |app| {
    let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
    let bob = app.member("bob@example.test", "Bob", "Europe/Berlin").await;
    app.ctx
        .store
        .upsert_update(
            bob,
            "2026-03-09".parse().unwrap(),
            "Bob wrote <b>this</b>",
            &[],
            "email",
            None,
            false,
            at("2026-03-09T17:00:00Z").timestamp(),
        )
        .await
        .unwrap();
    // Planned before Monday's 08:30 (07:30Z), so the first digest is Tuesday's.
    app.tick(at("2026-03-09T06:00:00Z")).await;
    app.tick(at("2026-03-10T07:30:00Z")).await;
    let srv = Server::start(&app, |_| {}).await;
    let t = srv.token_for(ann).await;
    let (s, v) = srv.get("/api/v1/digests/latest", Some(&t)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["date"], "2026-03-10");
    assert!(
        v["text"]
            .as_str()
            .unwrap()
            .contains("Bob wrote <b>this</b>"),
        "{v}"
    );
    assert!(
        v["html"]
            .as_str()
            .unwrap()
            .contains("Bob wrote &lt;b&gt;this&lt;/b&gt;"),
        "{v}"
    );
});

both!(large_bodies_get_413_and_busy_tokens_get_429, |app| {
    let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
    let srv = Server::start(&app, |c| c.web.rate_limit_per_minute = 3).await;
    let t = srv.token_for(ann).await;
    let big = "x".repeat(70 * 1024);
    let (s, v) = srv
        .send(
            reqwest::Method::POST,
            "/api/v1/updates",
            Some(&t),
            json!({"text": big}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
        "{v}"
    );
    assert!(
        app.ctx
            .store
            .update_for(
                ann,
                tidings::domain::schedule::local_date(chrono_tz::Europe::Berlin, Utc::now())
            )
            .await
            .unwrap()
            .is_none()
    );
    // That was request 1 of 3 this minute.
    for _ in 0..2 {
        let (s, _) = srv.get("/api/v1/me/preferences", Some(&t)).await;
        assert_eq!(s, StatusCode::OK);
    }
    let r = srv
        .http
        .get(srv.url("/api/v1/me/preferences"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().get("retry-after").is_some());
    let v: Value = r.json().await.unwrap();
    assert_eq!(code(&v), "rate_limited");
    // Another token has its own bucket.
    let other = srv.token_for(ann).await;
    let (s, _) = srv.get("/api/v1/me/preferences", Some(&other)).await;
    assert_eq!(s, StatusCode::OK);
});

both!(the_admin_api_manages_members_teams_and_holidays, |app| {
    let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
    let srv = Server::start(&app, |_| {}).await;
    let member_token = srv.token_for(ann).await;
    let a = Some(ADMIN);
    use reqwest::Method as M;

    let (s, v) = srv.get("/api/v1/admin/members", Some(&member_token)).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNAUTHORIZED, "invalid_token"),
        "a member token is not the admin token: {v}"
    );
    let (s, v) = srv.get("/api/v1/admin/members", None).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNAUTHORIZED, "missing_token"),
        "{v}"
    );

    let (s, v) = srv
        .send(
            M::POST,
            "/api/v1/admin/teams",
            a,
            json!({"name": "platform"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = srv
        .send(
            M::POST,
            "/api/v1/admin/teams",
            a,
            json!({"name": "platform"}),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "conflict"), "{v}");
    let (s, v) = srv
        .send(M::POST, "/api/v1/admin/members", a, json!({"email": "cy@example.test", "name": "Cy", "timezone": "Asia/Tokyo", "digest_at": "09:00", "team": "platform"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        (
            v["timezone"].as_str(),
            v["team"].as_str(),
            v["digest_at"].as_str()
        ),
        (Some("Asia/Tokyo"), Some("platform"), Some("09:00"))
    );
    let (s, v) = srv
        .send(
            M::POST,
            "/api/v1/admin/members",
            a,
            json!({"email": "cy@example.test", "name": "Cy", "timezone": "UTC"}),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "conflict"), "{v}");
    let (s, v) = srv
        .send(
            M::POST,
            "/api/v1/admin/members",
            a,
            json!({"email": "dee@example.test"}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
        "{v}"
    );

    let (s, v) = srv
        .send(
            M::PUT,
            "/api/v1/admin/members/ann@example.test",
            a,
            json!({"teams": ["core", "platform"], "paused": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["teams"], json!(["core", "platform"]));
    assert_eq!(v["paused"], true);
    let (s, v) = srv.get("/api/v1/admin/members", a).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v.as_array().unwrap().len(), 2);
    let (s, v) = srv.get("/api/v1/admin/teams", a).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        v.as_array()
            .unwrap()
            .contains(&json!({"name": "platform", "members": 2})),
        "{v}"
    );

    let (s, v) = srv
        .send(
            M::POST,
            "/api/v1/admin/teams/platform/holidays",
            a,
            json!({"date": "2026-12-25"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, v) = srv.get("/api/v1/admin/teams/platform/holidays", a).await;
    assert_eq!(v["holidays"], json!(["2026-12-25"]));
    let (s, v) = srv
        .send(
            M::POST,
            "/api/v1/admin/teams/nope/holidays",
            a,
            json!({"date": "2026-12-25"}),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"), "{v}");

    // Absent keeps the teams; null means no team (serde would fold null into absent).
    let (s, v) = srv
        .send(
            M::PUT,
            "/api/v1/admin/members/ann@example.test",
            a,
            json!({"paused": false}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["teams"], json!(["core", "platform"]), "absent: unchanged");
    let (s, v) = srv
        .send(
            M::PUT,
            "/api/v1/admin/members/ann@example.test",
            a,
            json!({"team": null}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["teams"], json!([]), "null: no team");
    assert_eq!(v["team"], Value::Null);

    let r = srv
        .http
        .delete(srv.url("/api/v1/admin/members/cy@example.test"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (s, v) = srv.get("/api/v1/admin/members/cy@example.test", a).await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"), "{v}");
});

both!(the_admin_api_is_off_without_an_admin_token, |app| {
    let srv = Server::start(&app, |c| c.web.admin_token = SecretString::new("")).await;
    let (s, v) = srv.get("/api/v1/admin/members", Some("anything")).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::FORBIDDEN, "admin_disabled"),
        "{v}"
    );
});

/// The hidden form token on a preferences page.
pub fn csrf_of(page: &str) -> String {
    let i = page
        .find("name=\"csrf\" value=\"")
        .expect("a form token on the page")
        + 19;
    page[i..].split('"').next().unwrap().to_string()
}

fn save_form(csrf: &str, digest_at: &str) -> Vec<(&'static str, String)> {
    vec![
        ("csrf", csrf.to_string()),
        ("action", "save".into()),
        ("timezone", "Europe/Berlin".into()),
        ("request_at", "16:30".into()),
        ("digest_at", digest_at.into()),
        ("day_mon", "on".into()),
        ("day_tue", "on".into()),
    ]
}

both!(a_preferences_link_acts_for_its_own_member_only, |app| {
    let ann = app
        .member("ann@example.test", "Ann <script>", "Europe/Berlin")
        .await;
    let bob = app.member("bob@example.test", "Bob", "Asia/Tokyo").await;
    let srv = Server::start(&app, |_| {}).await;
    let ann_link = srv.fresh_link(ann);
    let r = srv.http.get(srv.url(&ann_link)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("ann@example.test") && page.contains("Ann &lt;script&gt;"),
        "member text escaped"
    );
    assert!(
        page.contains("<datalist id=\"zones\">")
            && page.contains("<option value=\"America/Argentina/Buenos_Aires\">")
    );
    assert!(page.contains("Your next digest: "), "{page}");
    let ann_csrf = csrf_of(&page);

    // Ann's link with Bob's id: the signature no longer matches; the page offers a fresh link.
    let forged = ann_link.replacen(&format!("/p/{ann}."), &format!("/p/{bob}."), 1);
    assert_ne!(forged, ann_link);
    let r = srv.http.get(srv.url(&forged)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("action=\"/link\"") && !page.contains("bob@example.test"),
        "{page}"
    );
    let r = srv
        .http
        .post(srv.url(&forged))
        .form(&save_form(&ann_csrf, "06:00"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // Bob's real link with Ann's form token: refused.
    let bob_link = srv.fresh_link(bob);
    let r = srv
        .http
        .post(srv.url(&bob_link))
        .form(&save_form(&ann_csrf, "06:00"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // No form token, or a form sent from another site: refused.
    let mut no_csrf = save_form("", "06:00");
    no_csrf.remove(0);
    let r = srv
        .http
        .post(srv.url(&ann_link))
        .form(&no_csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = srv
        .http
        .post(srv.url(&ann_link))
        .header("Origin", "https://evil.example")
        .form(&save_form(&ann_csrf, "06:00"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    for id in [ann, bob] {
        let m = app.ctx.store.member_by_id(id).await.unwrap().unwrap();
        assert_eq!(m.digest_at.to_string(), "08:30", "nothing changed");
    }

    // The real thing, from our own origin.
    let r = srv
        .http
        .post(srv.url(&ann_link))
        .header("Origin", &srv.base)
        .form(&save_form(&ann_csrf, "06:45"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], format!("{ann_link}?done=saved"));
    let m = app.ctx.store.member_by_id(ann).await.unwrap().unwrap();
    assert_eq!(m.digest_at.to_string(), "06:45");
    assert_eq!(m.workdays.names(), ["mon", "tue"]);
    assert!(!m.paused);
    let (_, next) = app.ctx.store.next_instants(ann).await.unwrap();
    assert_eq!(next, Some(expected_digest_plan(&m, Utc::now()).timestamp()));
    let b = app.ctx.store.member_by_id(bob).await.unwrap().unwrap();
    assert_eq!(b.digest_at.to_string(), "08:30");

    // Bad input: shown on the page, nothing stored.
    let r = srv
        .http
        .post(srv.url(&ann_link))
        .form(&save_form(&ann_csrf, "25:99"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("HH:MM"));

    // Away: add a range, remove it.
    let away = [
        ("csrf", ann_csrf.as_str()),
        ("action", "add-away"),
        ("away_from", "2026-12-01"),
        ("away_to", "2026-12-03"),
    ];
    let r = srv
        .http
        .post(srv.url(&ann_link))
        .form(&away)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let m = app.ctx.store.member_by_id(ann).await.unwrap().unwrap();
    assert_eq!(m.away.len(), 1);
    let rm = [
        ("csrf", ann_csrf.as_str()),
        ("action", "remove-away:2026-12-01..2026-12-03"),
    ];
    let r = srv
        .http
        .post(srv.url(&ann_link))
        .form(&rm)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(
        app.ctx
            .store
            .member_by_id(ann)
            .await
            .unwrap()
            .unwrap()
            .away
            .is_empty()
    );

    // Pause and unsubscribe through the page.
    let mut pause = save_form(&ann_csrf, "06:45");
    pause.push(("paused", "on".into()));
    srv.http
        .post(srv.url(&ann_link))
        .form(&pause)
        .send()
        .await
        .unwrap();
    assert!(
        app.ctx
            .store
            .member_by_id(ann)
            .await
            .unwrap()
            .unwrap()
            .paused
    );
    let page = srv
        .http
        .get(srv.url(&ann_link))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Paused: no requests or digests"), "{page}");
    let unsub = [("csrf", ann_csrf.as_str()), ("action", "unsubscribe")];
    srv.http
        .post(srv.url(&ann_link))
        .form(&unsub)
        .send()
        .await
        .unwrap();
    assert!(
        app.ctx
            .store
            .member_by_id(ann)
            .await
            .unwrap()
            .unwrap()
            .unsubscribed
    );
});

both!(an_expired_link_never_acts_and_offers_a_fresh_one, |app| {
    let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
    let srv = Server::start(&app, |_| {}).await;
    let expired = srv.link(ann, Utc::now().timestamp() - 60);
    let r = srv.http.get(srv.url(&expired)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::GONE);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("expired") && page.contains("action=\"/link\""),
        "{page}"
    );
    assert!(!page.contains("ann@example.test"));
    // Even with a correct form token for that link, a POST does nothing.
    let token = expired.trim_start_matches("/p/");
    let csrf = tidings::web::prefs::csrf_token(&srv.ctx, ann, token);
    let r = srv
        .http
        .post(srv.url(&expired))
        .form(&save_form(&csrf, "05:00"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::GONE);
    let m = app.ctx.store.member_by_id(ann).await.unwrap().unwrap();
    assert_eq!(m.digest_at.to_string(), "08:30");

    // Asking for a fresh link: the same answer for a member and a stranger; only the member
    // gets mail.
    let ask = |email: &'static str| {
        srv.http
            .post(srv.url("/link"))
            .form(&[("email", email)])
            .send()
    };
    let a = ask("ann@example.test").await.unwrap();
    assert_eq!(a.status(), StatusCode::OK);
    let a = a.text().await.unwrap();
    let b = ask("stranger@example.test")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(a, b, "the answer does not reveal who is a member");
    // Queued after the answer (so its timing reveals nothing either).
    let mut notices = Vec::new();
    for _ in 0..100 {
        notices = app.queued("notice").await;
        if !notices.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(notices[0].recipient, "ann@example.test");
    // A second ask within the hour queues nothing more.
    ask("ann@example.test").await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let n = app
        .ctx
        .store
        .list_outbox(false, 50)
        .await
        .unwrap()
        .iter()
        .filter(|r| r.kind == "notice")
        .count();
    assert_eq!(n, 1);
    // The mail carries a working link.
    let mut found = None;
    for _ in 0..50 {
        if let Some(f) = app.sent_of("link").first() {
            found = Some(app.read_sent(f));
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let mail = found.expect("the notice is sent at once");
    let body = text_body(&mail);
    let i = body.find("/p/").expect("a link in the notice");
    let path: String = body[i..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    let r = srv.http.get(srv.url(&path)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{path}");
});

both!(
    one_click_unsubscribe_and_the_list_unsubscribe_url_both_work,
    |app| {
        let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
        let bob = app.member("bob@example.test", "Bob", "Europe/Berlin").await;
        let srv = Server::start(&app, |_| {}).await;
        let unsub = |id: i64| {
            let t = LinkToken {
                member: id,
                expires: Utc::now().timestamp() + 86_400,
                epoch: 0,
            }
            .encode(&srv.ctx.secret);
            format!("/u/{t}")
        };
        // RFC 8058: the client POSTs List-Unsubscribe=One-Click.
        let r = srv
            .http
            .post(srv.url(&unsub(ann)))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("List-Unsubscribe=One-Click")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(
            app.ctx
                .store
                .member_by_id(ann)
                .await
                .unwrap()
                .unwrap()
                .unsubscribed
        );
        assert!(
            !app.ctx
                .store
                .member_by_id(bob)
                .await
                .unwrap()
                .unwrap()
                .unsubscribed
        );
        let bob_unsubscribed = || async {
            app.ctx
                .store
                .member_by_id(bob)
                .await
                .unwrap()
                .unwrap()
                .unsubscribed
        };
        // Link scanners and previewers fetch every URL: GET and HEAD change nothing.
        let r = srv.http.head(srv.url(&unsub(bob))).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let r = srv.http.get(srv.url(&unsub(bob))).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let page = r.text().await.unwrap();
        assert!(page.contains("Unsubscribe from Tidings?"), "{page}");
        assert!(
            page.contains("no more update requests, reminders or digests"),
            "says what stops: {page}"
        );
        assert!(
            page.contains(r#"name="action" value="unsubscribe""#),
            "{page}"
        );
        assert!(
            !bob_unsubscribed().await,
            "a GET or HEAD never unsubscribes"
        );
        // The List-Unsubscribe URL opened in a browser: the button acts.
        let r = srv
            .http
            .post(srv.url(&unsub(bob)))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("action=unsubscribe")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let page = r.text().await.unwrap();
        assert!(page.contains("You are unsubscribed"), "{page}");
        assert!(page.contains("Subscribe again"), "{page}");
        assert!(bob_unsubscribed().await);
        // Opened again later, the link offers to subscribe again, and that button works.
        let page = srv
            .http
            .get(srv.url(&unsub(bob)))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains(r#"value="resubscribe""#), "{page}");
        let r = srv
            .http
            .post(srv.url(&unsub(bob)))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("action=resubscribe")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.text().await.unwrap().contains("Welcome back"));
        assert!(!bob_unsubscribed().await, "subscribed again");
        let (next_request, next_digest) = app.ctx.store.next_instants(bob).await.unwrap();
        assert!(
            next_request.is_some() && next_digest.is_some(),
            "planned again at once"
        );
        // A form posted from another site changes nothing.
        let r = srv
            .http
            .post(srv.url(&unsub(bob)))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Origin", "https://evil.example")
            .body("action=unsubscribe")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert!(!bob_unsubscribed().await);
        // A bad link in a browser is a page, not JSON.
        let r = srv
            .http
            .get(srv.url("/u/1.99999999999.00"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert!(
            r.text()
                .await
                .unwrap()
                .contains("<h1>This link does not work</h1>")
        );
        // The URL in a real request email is one of these.
        let raw_url = srv.ctx.unsubscribe_url(ann, Utc::now());
        assert!(raw_url.contains("/u/"));
        let r = srv
            .http
            .post(srv.url("/u/1.99999999999.00"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let v: Value = r.json().await.unwrap();
        assert_eq!(code(&v), "bad_link");
    }
);

both!(metrics_report_mail_replies_outbox_and_ticks, |app| {
    app.member("ann@example.test", "Ann", "Europe/Berlin").await;
    // The first pass plans 16:30 Berlin (15:30Z); the second sends it.
    app.tick(at("2026-03-09T15:00:00Z")).await;
    app.tick(at("2026-03-09T15:30:00Z")).await;
    let srv = Server::start(&app, |_| {}).await;
    let r = srv.http.get(srv.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let text = r.text().await.unwrap();
    for want in [
        // The server's own start-up pass may send today's request too: count at least ours.
        "tidings_mail_sent{kind=\"request\"} ",
        "tidings_outbox_depth ",
        "tidings_replies_accepted 0",
        "tidings_replies_quarantined 0",
        "tidings_tick_seconds_count ",
        "# TYPE tidings_mail_failed gauge",
    ] {
        assert!(text.contains(want), "{want} missing from:\n{text}");
    }
    let (s, v) = srv.get("/healthz", None).await;
    assert_eq!((s, v), (StatusCode::OK, json!({"status": "ok"})));
});

both!(the_openapi_document_matches_the_router, |app| {
    let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
    let srv = Server::start(&app, |_| {}).await;
    let t = srv.token_for(ann).await;
    let (s, spec) = srv.get("/api/v1/openapi.json", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(spec["openapi"], "3.1.0");
    let paths = spec["paths"].as_object().unwrap();
    let mut seen = 0;
    for (path, ops) in paths {
        for (method, op) in ops.as_object().unwrap() {
            seen += 1;
            let concrete = path
                .replace("{email}", "nobody@example.test")
                .replace("{name}", "core")
                .replace("{token}", "1.2.3")
                .replace("{id}", "1");
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let admin = op["security"][0].get("adminToken").is_some();
            let r = srv
                .http
                .request(m, srv.url(&concrete))
                .bearer_auth(if admin { ADMIN } else { t.as_str() })
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            let status = r.status();
            let body = r.text().await.unwrap();
            assert_ne!(
                status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}: {body}"
            );
            assert!(
                !body.contains("\"no_route\""),
                "{method} {path} is documented but not routed"
            );
            // The answer is one the document lists for this operation.
            assert!(
                op["responses"].get(status.as_str()).is_some(),
                "{method} {path} answered {status}, which its document does not list: {body}"
            );
        }
    }
    // Every route of the server.
    assert_eq!(
        (paths.len(), seen),
        (46, 65),
        "paths and operations in the document"
    );
    // And an undocumented path is a JSON 404.
    let (s, v) = srv.get("/api/v1/nope", None).await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "no_route"));
});

fn tidings(app: &TestApp, args: &[&str]) -> (i32, String, String) {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_tidings"))
        .args(args)
        .current_dir(app.dir.path())
        .env_remove("TIDINGS_CONFIG")
        .env("TIDINGS_DATABASE__URL", &app.db_url)
        .env("TIDINGS_LOG", "warn")
        .output()
        .expect("the binary runs");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).to_string(),
        String::from_utf8_lossy(&o.stderr).to_string(),
    )
}

both!(tokens_from_the_cli_work_until_revoked, |app| {
    app.member("ann@example.test", "Ann", "Europe/Berlin").await;
    let srv = Server::start(&app, |_| {}).await;
    let (rc, out, err) = tidings(&app, &["token", "create", "--member", "ann@example.test"]);
    assert_eq!(rc, 0, "{err}");
    let token = out.trim().to_string();
    assert!(token.starts_with("tdg_") && token.len() == 52, "{token}");
    let (s, _) = srv.get("/api/v1/me/preferences", Some(&token)).await;
    assert_eq!(s, StatusCode::OK);

    let (rc, out, err) = tidings(&app, &["token", "list", "--json"]);
    assert_eq!(rc, 0, "{err}");
    let list: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list[0]["member"], "ann@example.test");
    assert!(list[0]["revoked_at"].is_null());
    assert!(!out.contains(&token), "the list never shows a token");
    let id = list[0]["id"].as_i64().unwrap().to_string();

    let (rc, out, err) = tidings(&app, &["token", "revoke", &id]);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(out.trim(), format!("revoked token {id}"));
    let (s, v) = srv.get("/api/v1/me/preferences", Some(&token)).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNAUTHORIZED, "invalid_token"),
        "{v}"
    );
    let (_, out, _) = tidings(&app, &["token", "list"]);
    assert!(out.contains("revoked "), "{out}");

    let (rc, _, err) = tidings(&app, &["token", "revoke", "9999"]);
    assert_eq!(rc, 2, "{err}");
    let (rc, _, err) = tidings(&app, &["token", "revoke"]);
    assert_eq!(rc, 2, "{err}");
    let (rc, out, err) = tidings(&app, &["token", "revoke", "--member", "ann@example.test"]);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(out.trim(), "revoked 0 tokens of ann@example.test");
});

both!(
    the_preferences_form_shows_every_problem_beside_its_field_and_keeps_what_was_typed,
    |app| {
        let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
        let srv = Server::start(&app, |_| {}).await;
        let link = srv.fresh_link(ann);
        let page = srv
            .http
            .get(srv.url(&link))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let csrf = csrf_of(&page);
        assert!(
            page.contains("Your next request: "),
            "the next request too: {page}"
        );
        assert!(page.contains("<legend>Workdays</legend>"), "{page}");
        let mut form = save_form(&csrf, "25:00");
        form[2].1 = "berlin".into();
        form[3].1 = "9.30".into();
        form.retain(|(k, _)| !k.starts_with("day_"));
        let r = srv
            .http
            .post(srv.url(&link))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let page = r.text().await.unwrap();
        // All four problems at once, each beside its field and tied to it.
        for (id, msg) in [
            ("timezone", "Did you mean Europe/Berlin?"),
            ("request_at", "must be HH:MM, such as 08:30"),
            ("digest_at", "hours go to 23"),
            ("workdays", "Choose at least one workday"),
        ] {
            assert!(
                page.contains(&format!("id=\"{id}-error\">")) && page.contains(msg),
                "{id}: {msg} in {page}"
            );
            assert!(
                page.contains(&format!("aria-describedby=\"{id}-error\"")),
                "{id} described by its message"
            );
        }
        assert!(page.contains("4 things to fix"), "{page}");
        assert!(page.matches("aria-invalid=\"true\"").count() >= 3, "{page}");
        // What was typed stays in the fields.
        for v in ["value=\"berlin\"", "value=\"9.30\"", "value=\"25:00\""] {
            assert!(page.contains(v), "{v} kept: {page}");
        }
        let m = app.ctx.store.member_by_id(ann).await.unwrap().unwrap();
        assert_eq!(m.digest_at.to_string(), "08:30", "nothing saved");
        // Time away: the add button comes before any remove button (Enter in a date field
        // submits with the first), and each remove button names its range.
        let add = [
            ("csrf", csrf.as_str()),
            ("action", "add-away"),
            ("away_from", "2026-12-01"),
            ("away_to", "2026-12-03"),
        ];
        let r = srv
            .http
            .post(srv.url(&link))
            .form(&add)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let page = srv
            .http
            .get(srv.url(&link))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let away_form = page.split("id=\"away\"").nth(1).unwrap();
        let first_button = away_form.split("<button").nth(1).unwrap();
        assert!(first_button.contains("value=\"add-away\""), "{away_form}");
        assert!(
            away_form.contains("aria-label=\"Remove time away 2026-12-01 to 2026-12-03\""),
            "{away_form}"
        );
        // A time away that ends before it starts: said beside the end date, dates kept.
        let bad = [
            ("csrf", csrf.as_str()),
            ("action", "add-away"),
            ("away_from", "2026-12-10"),
            ("away_to", "2026-12-05"),
        ];
        let page = srv
            .http
            .post(srv.url(&link))
            .form(&bad)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("id=\"away_to-error\""), "{page}");
        assert!(page.contains("value=\"2026-12-10\"") && page.contains("value=\"2026-12-05\""));
    }
);

both!(
    json_arrays_are_not_objects_and_nul_is_refused_on_both_backends,
    |app| {
        let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
        let srv = Server::start(&app, |_| {}).await;
        let t = srv.token_for(ann).await;
        // serde's positional form of a struct: refused, nothing stored or renamed.
        let (s, v) = srv
            .send(
                reqwest::Method::POST,
                "/api/v1/updates",
                Some(&t),
                json!(["posted as a JSON array", null]),
            )
            .await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            "{v}"
        );
        let (s, v) = srv
            .send(
                reqwest::Method::PUT,
                "/api/v1/me/preferences",
                Some(&t),
                json!(["Mallory"]),
            )
            .await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            "{v}"
        );
        let m = app.ctx.store.member_by_id(ann).await.unwrap().unwrap();
        assert_eq!(m.name, "Ann");
        // A NUL character: the same 422 on SQLite and PostgreSQL (whose text cannot hold
        // it), never a 500 or a stored update.
        let (s, v) = srv
            .send(
                reqwest::Method::POST,
                "/api/v1/updates",
                Some(&t),
                json!({"text": "before\u{0}after"}),
            )
            .await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            "{v}"
        );
        assert!(
            v["error"]["message"].as_str().unwrap().contains("NUL"),
            "{v}"
        );
        let (s, v) = srv
            .send(
                reqwest::Method::PUT,
                "/api/v1/me/preferences",
                Some(&t),
                json!({"name": "A\u{0}nn"}),
            )
            .await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            "{v}"
        );
        let today = chrono::Utc::now()
            .with_timezone(&chrono_tz::Europe::Berlin)
            .date_naive();
        assert!(
            app.ctx
                .store
                .update_for(ann, today)
                .await
                .unwrap()
                .is_none()
        );
        // A real object still works.
        let (s, v) = srv
            .send(
                reqwest::Method::POST,
                "/api/v1/updates",
                Some(&t),
                json!({"text": "Shipped it."}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
);

both!(
    slow_clients_are_cut_off_by_the_header_and_body_timeouts,
    |app| {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
        let srv = Server::start(&app, |c| {
            c.web.header_timeout_secs = 2;
            c.web.body_timeout_secs = 2;
        })
        .await;
        let t = srv.token_for(ann).await;
        let addr = srv.base.trim_start_matches("http://").to_string();
        // Half a request line, then nothing (slowloris): the server hangs up.
        let started = std::time::Instant::now();
        let mut c = tokio::net::TcpStream::connect(&addr).await.unwrap();
        c.write_all(b"GET /healthz HT").await.unwrap();
        let mut buf = Vec::new();
        let read =
            tokio::time::timeout(std::time::Duration::from_secs(20), c.read_to_end(&mut buf)).await;
        assert!(read.is_ok(), "the connection was still open after 20 s");
        let waited = started.elapsed();
        eprintln!("half a request line: closed after {waited:?} (header timeout 2 s)");
        assert!(waited >= std::time::Duration::from_secs(1), "{waited:?}");
        // A body shorter than its Content-Length: 408, not a connection held open.
        let mut c = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let head = format!(
            "POST /api/v1/updates HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {t}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"text\":"
        );
        c.write_all(head.as_bytes()).await.unwrap();
        let mut buf = vec![0u8; 1024];
        let n = tokio::time::timeout(std::time::Duration::from_secs(20), c.read(&mut buf))
            .await
            .expect("an answer within 20 s")
            .unwrap();
        let answer = String::from_utf8_lossy(&buf[..n]);
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        // Normal clients are unaffected.
        let r = srv.http.get(srv.url("/healthz")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
);

both!(oversized_login_and_link_forms_get_413, |app| {
    let srv = Server::start(&app, |_| {}).await;
    let big = format!("token={}", "x".repeat(200 * 1024));
    for path in ["/login", "/link"] {
        let r = srv
            .http
            .post(srv.url(path))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(big.replace("token=", if path == "/link" { "email=" } else { "token=" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE, "{path}");
        assert!(
            r.text().await.unwrap().contains("<main id=\"main\">"),
            "{path}: a page"
        );
    }
});

both!(the_api_takes_exactly_what_its_document_states, |app| {
    // Looser forms the CLI and reply commands accept are refused by the API, whose document
    // states HH:MM, YYYY-MM-DD, weekday names and non-null fields.
    let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
    let srv = Server::start(&app, |_| {}).await;
    let t = srv.token_for(ann).await;
    for (body, why) in [
        (json!({"request_at": "7:30"}), "one-digit hour"),
        (json!({"digest_at": "08:30 "}), "trailing space"),
        (json!({"workdays": ["mon-fri"]}), "a weekday range"),
        (json!({"workdays": ["Mon"]}), "a capitalised weekday"),
        (json!({"workdays": []}), "no workday"),
        (json!({"name": null}), "null for a non-nullable field"),
        (json!({"paused": null}), "null for a boolean"),
        (json!({"timezone": " Europe/Berlin"}), "a zone with a space"),
        (
            json!({"away": [{"from": "2026-1-5", "to": "2026-01-09"}]}),
            "a one-digit month",
        ),
        (
            json!({"away": [{"from": " 2026-01-05", "to": "2026-01-09"}]}),
            "a date with a space",
        ),
    ] {
        let (s, v) = srv
            .send(
                reqwest::Method::PUT,
                "/api/v1/me/preferences",
                Some(&t),
                body.clone(),
            )
            .await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            "{why}: {body} → {v}"
        );
    }
    let m = app.ctx.store.member_by_id(ann).await.unwrap().unwrap();
    assert_eq!(
        (m.name.as_str(), m.request_at.to_string()),
        ("Ann", "16:30".into())
    );
    for q in ["2026-1-5", "%202026-01-05", "2026-01-05%20"] {
        let (s, v) = srv
            .get(&format!("/api/v1/updates?date={q}"), Some(&t))
            .await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            "{q}: {v}"
        );
    }
    let (s, v) = srv
        .send(
            reqwest::Method::POST,
            "/api/v1/updates",
            Some(&t),
            json!({"text": "x", "date": null}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
        "{v}"
    );
    // What the document states is taken.
    let (s, v) = srv
        .send(
            reqwest::Method::PUT,
            "/api/v1/me/preferences",
            Some(&t),
            json!({"request_at": "07:30", "workdays": ["mon", "tue"], "away": [{"from": "2026-01-05", "to": "2026-01-09"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["request_at"], "07:30");
    // A path segment that is not UTF-8 gets the JSON error envelope, not axum's plain text.
    let r = srv
        .http
        .get(srv.url("/api/v1/admin/members/%FF%FE"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    let (s, v) = json_of(r).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
        "{v}"
    );
    // A team name with spaces around it is refused by the API (the CLI trims it).
    let (s, v) = srv
        .send(
            reqwest::Method::POST,
            "/api/v1/admin/teams",
            Some(ADMIN),
            json!({"name": " core"}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
        "{v}"
    );
});

both!(
    concurrent_api_writes_never_fail_with_a_locked_database,
    |app| {
        // Many members writing at once: on SQLite a transaction that read first and wrote later
        // used to fail at once with "database is locked" (SQLITE_BUSY_SNAPSHOT) as a 500 when
        // another request had written in between; write transactions now take the lock first.
        let srv = Server::start(&app, |_| {}).await;
        let mut tokens = Vec::new();
        for i in 0..8 {
            let id = app
                .member(
                    &format!("m{i}@example.test"),
                    &format!("M{i}"),
                    "Europe/Berlin",
                )
                .await;
            tokens.push(srv.token_for(id).await);
        }
        let mut tasks = Vec::new();
        for round in 0..5 {
            for t in &tokens {
                let (http, url, t) = (srv.http.clone(), srv.url(""), t.clone());
                tasks.push(tokio::spawn(async move {
                    let a = http
                        .post(format!("{url}/api/v1/updates"))
                        .bearer_auth(&t)
                        .json(&json!({"text": format!("round {round}")}))
                        .send()
                        .await
                        .map(|r| r.status());
                    let b = http
                        .put(format!("{url}/api/v1/me/preferences"))
                        .bearer_auth(&t)
                        .json(&json!({"digest_at": format!("0{}:30", round + 5)}))
                        .send()
                        .await
                        .map(|r| r.status());
                    let c = http
                        .post(format!("{url}/api/v1/admin/members"))
                        .bearer_auth(ADMIN)
                        .json(
                            &json!({"email": format!("new{round}-{}@example.test", &t[4..12]),
                                  "name": "New", "timezone": "Asia/Tokyo", "teams": ["core"]}),
                        )
                        .send()
                        .await
                        .map(|r| r.status());
                    (a, b, c)
                }));
            }
        }
        for task in tasks {
            let (a, b, c) = task.await.unwrap();
            assert_eq!(a.unwrap(), StatusCode::CREATED);
            assert_eq!(b.unwrap(), StatusCode::OK);
            assert_eq!(c.unwrap(), StatusCode::CREATED);
        }
    }
);

both!(a_days_update_is_bounded, |app| {
    use tidings::store::{MAX_UPDATE_BYTES, MAX_UPDATE_REVISIONS};
    let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
    let srv = Server::start(&app, |_| {}).await;
    let t = srv.token_for(ann).await;
    let post = |text: String| {
        let (srv, t) = (&srv, t.clone());
        async move {
            srv.send(
                reqwest::Method::POST,
                "/api/v1/updates",
                Some(&t),
                json!({"text": text}),
            )
            .await
        }
    };
    // One text over the limit is refused whole.
    let (s, v) = post("x".repeat(MAX_UPDATE_BYTES + 1)).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "update_full"),
        "{v}"
    );
    // 20 posts a day are taken, the 21st is not, and the update is unchanged by it.
    for i in 1..=MAX_UPDATE_REVISIONS {
        let (s, v) = post(format!("part {i}")).await;
        assert_eq!(s, StatusCode::CREATED, "post {i}: {v}");
        assert_eq!(v["update"]["revision"], i, "{v}");
    }
    let (s, v) = post("one more".into()).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "update_full"),
        "{v}"
    );
    let (_, v) = srv.get("/api/v1/updates", Some(&t)).await;
    let text = v["updates"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        text.ends_with("part 20") && !text.contains("one more"),
        "{text}"
    );
    // Appends that would pass the size limit are refused too.
    let bob = app.member("bob@example.test", "Bob", "Europe/Berlin").await;
    let tb = srv.token_for(bob).await;
    let half = "y".repeat(MAX_UPDATE_BYTES / 2);
    for (i, want) in [
        (1, StatusCode::CREATED),
        (2, StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let (s, v) = srv
            .send(
                reqwest::Method::POST,
                "/api/v1/updates",
                Some(&tb),
                json!({"text": half}),
            )
            .await;
        assert_eq!(s, want, "append {i}: {v}");
    }
});

both!(
    an_overlong_request_target_or_head_gets_the_json_error,
    |app| {
        let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
        let srv = Server::start(&app, |_| {}).await;
        let t = srv.token_for(ann).await;
        let long = "a".repeat(tidings::web::MAX_URI_BYTES + 1);
        let r = srv
            .http
            .get(srv.url(&format!("/api/v1/updates?x={long}")))
            .bearer_auth(&t)
            .send()
            .await
            .unwrap();
        let (s, v) = json_of(r).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::URI_TOO_LONG, "uri_too_long"),
            "{v}"
        );
        let mut req = srv.http.get(srv.url("/api/v1/updates")).bearer_auth(&t);
        for i in 0..=tidings::web::MAX_HEADERS {
            req = req.header(format!("x-extra-{i}"), "1");
        }
        let (s, v) = json_of(req.send().await.unwrap()).await;
        assert_eq!(
            (s, code(&v)),
            (
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "headers_too_large"
            ),
            "{v}"
        );
        let big = "b".repeat(tidings::web::MAX_HEADER_BYTES);
        let r = srv
            .http
            .get(srv.url("/healthz"))
            .header("x-big", big)
            .send()
            .await
            .unwrap();
        let (s, v) = json_of(r).await;
        assert_eq!(
            (s, code(&v)),
            (
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "headers_too_large"
            ),
            "{v}"
        );
        // Within the limits, served as usual.
        let (s, _) = srv.get("/healthz", None).await;
        assert_eq!(s, StatusCode::OK);
    }
);

both!(updates_are_answered_with_their_sections, |app| {
    let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
    let srv = Server::start(&app, |_| {}).await;
    let t = srv.token_for(ann).await;
    let (s, v) = srv
        .send(
            reqwest::Method::POST,
            "/api/v1/updates",
            Some(&t),
            json!({"text": "Done: shipped the importer.\nNext: review PR #42.\nBlockers: keine."}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        v["update"]["sections"],
        json!([
            {"kind": "done", "label": "Done", "text": "shipped the importer."},
            {"kind": "next", "label": "Next", "text": "review PR #42."},
            {"kind": "blockers", "label": "Blockers", "text": "keine."}
        ])
    );
    let (_, v) = srv.get("/api/v1/updates", Some(&t)).await;
    assert_eq!(v["updates"][0]["sections"][2]["kind"], "blockers", "{v}");
});

both!(
    sections_are_stored_with_the_teams_questions_and_each_post_read_on_its_own,
    |app| {
        let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
        let q = vec![
            "Which customer did you talk to?".to_string(),
            "Anything stuck?".to_string(),
        ];
        app.ctx
            .store
            .set_team_questions("core", Some(&q))
            .await
            .unwrap();
        let srv = Server::start(&app, |_| {}).await;
        let t = srv.token_for(ann).await;
        let post = |text: &'static str| {
            srv.send(
                reqwest::Method::POST,
                "/api/v1/updates",
                Some(&t),
                json!({ "text": text }),
            )
        };
        // The team's own questions are labels: "Anything stuck?" reads as blockers by its words.
        let (s, v) = post("Which customer did you talk to?\nACME\nAnything stuck?\nThe VPN.").await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert_eq!(
            v["update"]["sections"],
            json!([
                {"kind": "done", "label": "Which customer did you talk to?", "text": "ACME"},
                {"kind": "blockers", "label": "Anything stuck?", "text": "The VPN."}
            ])
        );
        // A later post is read on its own: its untitled text is not filed under "Anything stuck?".
        let (_, v) = post("Also fixed the login bug.").await;
        let secs = v["update"]["sections"].as_array().unwrap().clone();
        assert_eq!(secs.len(), 3, "{v}");
        assert_eq!(
            secs[2],
            json!({"kind": "other", "label": null, "text": "Also fixed the login bug."})
        );
        // Stored, not recomputed: the same sections come back from the list.
        let (_, l) = srv.get("/api/v1/updates", Some(&t)).await;
        assert_eq!(l["updates"][0]["sections"], v["update"]["sections"], "{l}");
        let u = app
            .ctx
            .store
            .update_for(ann, v["update"]["date"].as_str().unwrap().parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            tidings::domain::sections::blocker_lines(&u.sections),
            vec!["The VPN."]
        );
    }
);

both!(
    the_read_the_rest_page_shows_a_teammates_update_whole_and_nothing_else,
    |app| {
        let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
        let bob = app
            .member("bob@example.test", "Bob <b>", "Asia/Tokyo")
            .await;
        // Cy is in another team only.
        let cy_ch = tidings::store::MemberChange {
            name: Some("Cy".into()),
            tz: Some("UTC".parse().unwrap()),
            teams: Some(vec!["infra".into()]),
            ..Default::default()
        };
        let cy = app
            .ctx
            .store
            .add_member(
                &tidings::domain::EmailAddress::parse("cy@example.test").unwrap(),
                &cy_ch,
                &defaults(),
            )
            .await
            .unwrap();
        let date: chrono::NaiveDate = "2026-03-09".parse().unwrap();
        let long: String = (1..=30).map(|i| format!("- step {i}\n")).collect();
        let body = format!("Done:\n{long}Blockers: waiting on <keys>");
        let bob_update = app
            .ctx
            .store
            .upsert_update(bob, date, &body, &[], "api", None, false, 0)
            .await
            .unwrap()
            .id;
        let cy_update = app
            .ctx
            .store
            .upsert_update(cy, date, "Cy's secret work", &[], "api", None, false, 0)
            .await
            .unwrap()
            .id;
        let srv = Server::start(&app, |_| {}).await;
        let link = srv.fresh_link(ann);
        let r = srv
            .http
            .get(srv.url(&format!("{link}/updates/{bob_update}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let page = r.text().await.unwrap();
        assert!(
            page.contains("<h1>Bob &lt;b&gt;'s update for Monday, 9 March 2026</h1>"),
            "{page}"
        );
        // Each question's heading, a list written with "- " as a list, and a way back.
        assert!(
            page.contains(r#"<span class="q">Done:</span><ul><li>step 1</li>"#)
                && page.contains("<li>step 30</li></ul>")
                && !page.contains("- step"),
            "{page}"
        );
        assert!(
            page.contains(
                r#"<span class="q">Blockers:</span> <span class="a">waiting on &lt;keys&gt;</span>"#
            ),
            "{page}"
        );
        assert!(
            page.contains(&format!(r#"<a href="{link}/log">"#)),
            "{page}"
        );
        // Another team's update, an unknown id and a malformed id: the same 404.
        for id in [cy_update.to_string(), "999999".into(), "x".into()] {
            let r = srv
                .http
                .get(srv.url(&format!("{link}/updates/{id}")))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "{id}");
            assert!(!r.text().await.unwrap().contains("secret"));
        }
        // A link that is not Ann's: refused like the preferences page.
        let forged = link.replacen(&format!("/p/{ann}."), &format!("/p/{cy}."), 1);
        let r = srv
            .http
            .get(srv.url(&format!("{forged}/updates/{cy_update}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        // Ann's digest carries his blocker (in the box) and the first 12 lines of Bob's update,
        // and the link to the rest.
        let m = app.ctx.store.member_by_id(ann).await.unwrap().unwrap();
        let data = tidings::jobs::digest::digest_view_data(
            &app.ctx,
            &m,
            "2026-03-10".parse().unwrap(),
            chrono::Utc::now(),
            &mut tidings::jobs::digest::TeamCache::default(),
        )
        .await
        .unwrap();
        let now = chrono::Utc::now();
        let prefs = app.ctx.link_url(ann, 0, now);
        let view = tidings::jobs::compose::digest_view(
            &m,
            "2026-03-10".parse().unwrap(),
            now,
            data,
            &prefs,
        );
        let text = tidings::render::digest_text(&view);
        assert!(
            text.contains("- step 12\n") && !text.contains("- step 13"),
            "{text}"
        );
        // Its blocker is in the box, not again in the entry: the 18 steps are what is left.
        assert!(
            text.contains(&format!(
                "18 more lines: read the rest at {prefs}/updates/{bob_update}"
            )),
            "{text}"
        );
        assert!(text.contains("! Bob <b>: waiting on <keys>"), "{text}");
        assert_eq!(text.matches("waiting on <keys>").count(), 1, "{text}");
        assert!(text.contains("[blocked ↑]"), "{text}");
    }
);

both!(
    the_api_sets_the_digest_cadence_refuses_self_made_observers_and_resolves_blockers,
    |app| {
        let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
        let srv = Server::start(&app, |_| {}).await;
        let token = srv.token_for(ann).await;
        let (s, v) = srv.get("/api/v1/me/preferences", Some(&token)).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            (v["digest"].as_str(), v["observer"].as_bool()),
            (Some("daily"), Some(false))
        );
        let put = |body: Value| {
            srv.send(
                reqwest::Method::PUT,
                "/api/v1/me/preferences",
                Some(&token),
                body,
            )
        };
        let (s, v) = put(json!({"digest": "weekly:mon"})).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["digest"], "weekly:mon");
        // Exactly the written form; the reply command and the CLI are kinder.
        let (s, v) = put(json!({"digest": "weekly"})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        // A member may send `observer` back, not change it.
        let (s, _) = put(json!({"observer": false})).await;
        assert_eq!(s, StatusCode::OK);
        let (s, v) = put(json!({"observer": true})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains("observer"),
            "{v}"
        );

        // Comments and mentions: in the digest (default) or at once.
        let (s, v) = put(json!({"comments": "immediate", "mentions": "digest"})).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(
            (v["comments"].as_str(), v["mentions"].as_str()),
            (Some("immediate"), Some("digest"))
        );
        let (s, _) = put(json!({"mentions": "soon"})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        // Resolving a blocker: nothing open, then Ann's.
        let resolve = || {
            srv.send(
                reqwest::Method::POST,
                "/api/v1/me/blockers/resolve",
                Some(&token),
                json!({}),
            )
        };
        let (s, v) = resolve().await;
        assert_eq!((s, v), (StatusCode::OK, json!({"resolved": null})));
        app.ctx
            .store
            .upsert_update(
                ann,
                "2026-12-01".parse().unwrap(),
                "Blockers: waiting on legal",
                &[],
                "api",
                None,
                false,
                0,
            )
            .await
            .unwrap();
        let (s, v) = resolve().await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            v,
            json!({"resolved": {"since": "2026-12-01", "lines": ["waiting on legal"]}})
        );
        let (_, v) = resolve().await;
        assert_eq!(v, json!({"resolved": null}));
    }
);
