//! Security properties not covered elsewhere (spoofed From, tampered tokens and expired links
//! are in `ingest.rs`, `web.rs` and `tests/inbound.rs`): a token address without a valid token,
//! a token replayed on a later day, header and HTML injection from member names and update
//! text into every outgoing email and HTML view, SQL metacharacters in every field, and a
//! 10 MB API body. On SQLite and PostgreSQL.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tidings::store::InboundStatus;

use crate::both;
use crate::helpers::*;
use crate::web::{ADMIN, Server};

async fn request_of(app: &TestApp, member: i64) -> (String, String) {
    reply_headers(&app.read_sent(&format!("request_{member}_2026-03-09.tidings.eml")))
}

async fn monday_requests(app: &TestApp) {
    app.tick(at("2026-03-09T00:00:00Z")).await;
    app.tick(at("2026-03-09T15:30:00Z")).await;
}

fn quarantined_reason(rows: &[tidings::store::InboundRow], marker: &str) -> String {
    rows.iter()
        .find(|r| String::from_utf8_lossy(&r.raw).contains(marker))
        .and_then(|r| r.reason.clone())
        .unwrap_or_else(|| panic!("{marker} not quarantined"))
}

both!(
    a_member_writing_to_a_token_address_without_a_valid_token_is_quarantined,
    |app| {
        app.member("ann@example.test", "Ann", "Europe/Berlin").await;
        monday_requests(&app).await;
        // Ann herself, but the sub-address is empty or not a token, and the message is not a
        // reply to anything we sent: nothing ties it to a request.
        for (to, marker) in [
            ("updates+@example.test", "MARK-EMPTY"),
            ("updates+hello@example.test", "MARK-WORD"),
            ("updates+m1-20260309@example.test", "MARK-NOSIG"),
        ] {
            let raw = format!(
                "From: Ann <ann@example.test>\r\nTo: {to}\r\nSubject: update\r\nMessage-ID: <{marker}@mail.test>\r\n\r\n{marker} did things\r\n"
            );
            let r = app
                .deliver(marker, raw.as_bytes(), at("2026-03-09T17:00:00Z"))
                .await;
            assert_eq!(r.quarantined, 1, "{to}: {r:?}");
        }
        let q = app
            .ctx
            .store
            .inbound_with_status(InboundStatus::Quarantined, 10)
            .await
            .unwrap();
        for m in ["MARK-EMPTY", "MARK-WORD", "MARK-NOSIG"] {
            let why = quarantined_reason(&q, m);
            assert!(why.contains("invalid reply token"), "{m}: {why}");
        }
        assert!(
            app.ctx
                .store
                .update_for(1, "2026-03-09".parse().unwrap())
                .await
                .unwrap()
                .is_none()
        );
    }
);

both!(
    a_token_replayed_on_a_later_day_only_ever_writes_its_own_day,
    |app| {
        let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
        monday_requests(&app).await;
        let (rt, mid) = request_of(&app, ann).await;
        // Thursday, with Monday's token: a late answer to Monday, never Thursday's update.
        let raw = gmail_reply(
            "ann@example.test",
            &rt,
            &mid,
            "late@mail.test",
            "Monday, written on Thursday.",
        );
        let r = app.deliver("late", &raw, at("2026-03-12T10:00:00Z")).await;
        assert_eq!(r.accepted, 1, "{r:?}");
        let store = &app.ctx.store;
        let mon = store
            .update_for(ann, "2026-03-09".parse().unwrap())
            .await
            .unwrap()
            .expect("stored for the token's day");
        assert_eq!(mon.body, "Monday, written on Thursday.");
        for day in ["2026-03-10", "2026-03-11", "2026-03-12"] {
            assert!(
                store
                    .update_for(ann, day.parse().unwrap())
                    .await
                    .unwrap()
                    .is_none(),
                "{day}"
            );
        }
        // The token with Thursday's date written in is a forgery, not a replay.
        let forged = rt.replace("20260309", "20260312");
        let raw = gmail_reply("ann@example.test", &forged, "none@x", "f@mail.test", "X");
        let r = app
            .deliver("forged", &raw, at("2026-03-12T10:01:00Z"))
            .await;
        assert_eq!(r.quarantined, 1, "{r:?}");
    }
);

const EVIL_NAME: &str = "Eve\r\nBcc: victim@x.test\r\n<script>alert('name')</script>";
const EVIL_TEXT: &str = "Done <script>alert('text')</script>\r\nBcc: victim@x.test\r\n\"><img src=x onerror=alert(1)> &amp;";

/// The unfolded header lines of a raw message.
fn header_lines(raw: &str) -> Vec<String> {
    let head = raw.split("\r\n\r\n").next().unwrap_or("");
    let mut out: Vec<String> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.push_str(line);
            }
        } else {
            out.push(line.to_string());
        }
    }
    out
}

/// Checks that a sent message has exactly the recipients it should and no injected header.
fn assert_no_injection(name: &str, raw: &str, to: &str) {
    let head = raw.split("\r\n\r\n").next().unwrap_or("");
    assert!(
        !head.replace("\r\n", "").contains(['\r', '\n']),
        "{name}: bare CR or LF in the header block"
    );
    for l in header_lines(raw) {
        let n = l.split(':').next().unwrap_or("").to_ascii_lowercase();
        assert!(!["bcc", "cc"].contains(&n.as_str()), "{name}: injected {l}");
        assert!(!l.starts_with('<'), "{name}: injected {l}");
    }
    let msg = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .expect("parses");
    assert!(msg.bcc().is_none() && msg.cc().is_none(), "{name}");
    let rcpts: Vec<String> = msg
        .to()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.address.as_deref())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(rcpts, vec![to.to_string()], "{name}");
    let html = msg.body_html(0).map(|h| h.to_string()).unwrap_or_default();
    let lower = html.to_lowercase();
    assert!(
        !lower.contains("<script") && !lower.contains("<img src=x"),
        "{name}: member text unescaped in HTML"
    );
}

both!(
    names_and_text_never_inject_headers_or_markup_anywhere,
    |app| {
        // The store keeps a name as given (entry points clean them too); mail must be safe
        // even so.
        let eve = app
            .member("eve@example.test", EVIL_NAME, "Europe/Berlin")
            .await;
        let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
        monday_requests(&app).await;
        let (rt, mid) = request_of(&app, eve).await;
        let raw = gmail_reply("eve@example.test", &rt, &mid, "eve1@mail.test", EVIL_TEXT);
        let r = app.deliver("eve", &raw, at("2026-03-09T17:00:00Z")).await;
        assert_eq!(r.accepted, 1, "{r:?}");
        // A command: the confirmation is a notice addressed by name.
        let raw = gmail_reply(
            "eve@example.test",
            &rt,
            &mid,
            "eve2@mail.test",
            "digest at 08:30",
        );
        let r = app.deliver("eve2", &raw, at("2026-03-09T17:00:00Z")).await;
        assert_eq!(r.commands, 1, "{r:?}");
        app.tick(at("2026-03-09T17:01:00Z")).await;
        // Tuesday 08:30 Berlin: digests (Ann's carries Eve's update).
        app.tick(at("2026-03-10T07:30:00Z")).await;
        app.tick(at("2026-03-10T07:31:00Z")).await;

        let sent = app.sent();
        let outbox = app.ctx.store.list_outbox(false, 100).await.unwrap();
        assert_eq!(outbox.len(), sent.len(), "{outbox:?}");
        for kind in ["request", "receipt", "digest", "notice"] {
            assert!(
                outbox.iter().any(|r| r.kind == kind),
                "no {kind} among {sent:?}"
            );
        }
        for row in &outbox {
            let name = format!("{} {} {}", row.kind, row.recipient, row.id);
            assert_eq!(row.state, "sent", "{name}");
            let bytes = tidings::jobs::compose::message_of(&app.ctx, row)
                .await
                .unwrap();
            assert!(!bytes.is_empty(), "{name}");
            let raw = String::from_utf8_lossy(&bytes).to_string();
            assert_no_injection(&name, &raw, &row.recipient);
        }
        // Ann's digest shows Eve's name and text, escaped.
        let digest = app.read_sent(&format!("digest_{ann}_2026-03-10.tidings.eml"));
        let msg = mail_parser::MessageParser::default()
            .parse(digest.as_bytes())
            .unwrap();
        let html = msg.body_html(0).unwrap().to_string();
        assert!(html.contains("&lt;script&gt;alert("), "{html}");
        assert!(
            html.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "{html}"
        );
        assert!(
            html.contains("&amp;amp;"),
            "an entity in the text is text: {html}"
        );
        let text = text_body(&digest);
        assert!(text.contains("<script>alert('text')</script>"), "{text}");

        // The preferences page and the latest digest over the API: escaped as well.
        let srv = Server::start(&app, |_| {}).await;
        let page = srv
            .http
            .get(srv.url(&srv.fresh_link(eve)))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("&lt;script&gt;alert("), "{page}");
        assert!(!page.contains("<script>alert("), "{page}");
        let t = srv.token_for(ann).await;
        let v: Value = srv
            .http
            .get(srv.url("/api/v1/digests/latest"))
            .bearer_auth(&t)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let html = v["digest"]["html"]
            .as_str()
            .or(v["html"].as_str())
            .unwrap_or_default();
        assert!(!html.is_empty(), "{v}");
        assert!(!html.to_lowercase().contains("<script"), "{html}");
    }
);

const SQL_TEAM: &str = "q'; DROP TABLE teams; --";
const SQL_NAME: &str = "Robert'); DROP TABLE members; -- \"Bobby\" \\ %_";
const SQL_EMAIL: &str = "o'brien@example.test";
const SQL_TEXT: &str = "'; DROP TABLE members; --\n\" OR 1=1 -- \\' $1 ? %_ `x`";

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

both!(
    sql_metacharacters_round_trip_everywhere_and_the_schema_survives,
    |app| {
        let srv = Server::start(&app, |c| c.web.rate_limit_per_minute = 0).await;
        let admin = Some(ADMIN);
        let (s, v) = send(
            &srv,
            Method::POST,
            "/api/v1/admin/teams",
            admin,
            json!({"name": SQL_TEAM}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let (s, v) = send(
            &srv,
            Method::POST,
            "/api/v1/admin/members",
            admin,
            json!({"email": SQL_EMAIL, "name": SQL_NAME, "timezone": "Europe/Berlin", "teams": [SQL_TEAM]}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert_eq!(
            (v["email"].as_str(), v["name"].as_str()),
            (Some(SQL_EMAIL), Some(SQL_NAME)),
            "{v}"
        );
        let path = format!("/api/v1/admin/members/{}", enc(SQL_EMAIL));
        let (s, v) = send(&srv, Method::GET, &path, admin, Value::Null).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["team"].as_str(), Some(SQL_TEAM), "{v}");
        let hol = format!("/api/v1/admin/teams/{}/holidays", enc(SQL_TEAM));
        let (s, v) = send(
            &srv,
            Method::POST,
            &hol,
            admin,
            json!({"date": "2026-12-24"}),
        )
        .await;
        assert!(s.is_success(), "{s} {v}");
        let (s, v) = send(&srv, Method::GET, &hol, admin, Value::Null).await;
        assert!(
            s.is_success() && v.to_string().contains("2026-12-24"),
            "{s} {v}"
        );

        // The member's own API: the update text and preferences come back unchanged.
        let m = app
            .ctx
            .store
            .member_by_email(&addr(SQL_EMAIL))
            .await
            .unwrap()
            .unwrap();
        let t = srv.token_for(m.id).await;
        let (s, v) = send(
            &srv,
            Method::POST,
            "/api/v1/updates",
            Some(&t),
            json!({"text": SQL_TEXT}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let (s, v) = send(&srv, Method::GET, "/api/v1/updates", Some(&t), Value::Null).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert!(
            v["updates"]
                .as_array()
                .unwrap()
                .iter()
                .any(|u| u["text"].as_str() == Some(SQL_TEXT)),
            "{v}"
        );
        let (s, v) = send(
            &srv,
            Method::PUT,
            "/api/v1/me/preferences",
            Some(&t),
            json!({"name": SQL_NAME, "team": SQL_TEAM}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["name"].as_str(), Some(SQL_NAME), "{v}");

        // By email: a fresh message from the member, its Message-ID full of quotes too.
        let raw = format!(
            "From: \"O'Brien\" <{SQL_EMAIL}>\r\nTo: updates@example.test\r\nSubject: x' OR '1'='1\r\nMessage-ID: <'; DROP TABLE inbound_messages; --@mail.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nreplace\r\n{SQL_TEXT}\r\n"
        );
        let now = chrono::Utc::now();
        let raw = vouched(SQL_EMAIL.rsplit('@').next().unwrap(), raw.as_bytes());
        let r = app.deliver("sql", &raw, now).await;
        assert_eq!(r.accepted, 1, "{r:?}");
        let row = app.ctx.store.inbound(1).await.unwrap().unwrap();
        assert_eq!(
            row.message_id,
            "'; DROP TABLE inbound_messages; --@mail.test"
        );
        assert_eq!(row.raw, &raw[..]);
        assert_eq!(row.sender.as_deref(), Some(SQL_EMAIL));
        let date = tidings::domain::schedule::local_date(m.tz, now);
        let u = app.ctx.store.update_for(m.id, date).await.unwrap().unwrap();
        assert_eq!(u.body, SQL_TEXT);
        // A re-delivery is still recognised by that Message-ID.
        let r = app.deliver("sql-again", &raw, now).await;
        assert_eq!(r.duplicates, 1, "{r:?}");

        // Every table is still there and holds what it should.
        let store = &app.ctx.store;
        assert_eq!(store.count_members().await.unwrap(), 1);
        let m = store
            .member_by_email(&addr(SQL_EMAIL))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(m.name, SQL_NAME);
        assert_eq!(m.teams, vec![SQL_TEAM.to_string()]);
        assert!(
            store
                .list_teams()
                .await
                .unwrap()
                .iter()
                .any(|(n, _)| n == SQL_TEAM)
        );
        assert_eq!(store.list_holidays(SQL_TEAM).await.unwrap().len(), 1);
        store.list_outbox(false, 10).await.unwrap();
        store.inbound_counts().await.unwrap();
        let (s, _) = send(&srv, Method::GET, "/healthz", None, Value::Null).await;
        assert_eq!(s, StatusCode::OK);
    }
);

async fn send(
    srv: &Server,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Value,
) -> (StatusCode, Value) {
    let mut r = srv.http.request(method, srv.url(path));
    if !body.is_null() {
        r = r.json(&body);
    }
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let resp = r.send().await.unwrap();
    let s = resp.status();
    let text = resp.text().await.unwrap();
    (
        s,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

both!(
    a_10_mb_api_body_gets_a_json_413_and_the_server_stays_up,
    |app| {
        let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
        let srv = Server::start(&app, |c| c.web.rate_limit_per_minute = 0).await;
        let t = srv.token_for(ann).await;
        let huge = format!("{{\"text\": \"{}\"}}", "x".repeat(10 << 20));
        for (method, path, token) in [
            (Method::POST, "/api/v1/updates", t.as_str()),
            (Method::PUT, "/api/v1/me/preferences", t.as_str()),
            (Method::POST, "/api/v1/admin/members", ADMIN),
        ] {
            let r = srv
                .http
                .request(method.clone(), srv.url(path))
                .bearer_auth(token)
                .header("content-type", "application/json")
                .body(huge.clone())
                .send()
                .await;
            // The server may answer before reading the whole body; it must answer 413 in JSON.
            let r = r.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
            assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE, "{method} {path}");
            let v: Value = r.json().await.unwrap();
            assert_eq!(v["error"]["code"], "too_large", "{v}");
        }
        // Still up, still working.
        let (s, _) = send(&srv, Method::GET, "/healthz", None, Value::Null).await;
        assert_eq!(s, StatusCode::OK);
        let (s, v) = send(
            &srv,
            Method::POST,
            "/api/v1/updates",
            Some(&t),
            json!({"text": "small"}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
);
