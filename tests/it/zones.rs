//! One answer to a zone that is not one, wherever it is typed: the CLI, the preferences page,
//! a reply command and the API each refuse an abbreviation and suggest the zone meant (#30).

use reqwest::StatusCode;
use serde_json::json;

use crate::both;
use crate::helpers::*;
use crate::web::{Server, csrf_of};

/// What people type, and a zone each answer must name.
const TYPED: [(&str, &str); 5] = [
    ("EST", "America/New_York"),
    ("Berlin", "Europe/Berlin"),
    ("aukland", "Pacific/Auckland"),
    ("New York", "America/New_York"),
    ("Europe/Pariss", "Europe/Paris"),
];

both!(
    every_way_of_setting_a_zone_refuses_the_same_inputs_with_the_same_suggestions,
    |app| {
        let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
        let (rt, mid) = {
            app.tick(at("2026-03-09T00:00:00Z")).await;
            app.tick(at("2026-03-09T15:30:00Z")).await;
            reply_headers(&app.read_sent("request_1_2026-03-09.tidings.eml"))
        };
        // (The request first: the running server plans on the real clock.)
        let srv = Server::start(&app, |_| {}).await;
        let token = srv.token_for(ann).await;
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
        for (i, (typed, meant)) in TYPED.iter().enumerate() {
            // The CLI.
            let o = crate::cli::run(
                app.dir.path(),
                &app.db_url,
                &["member", "set", "ann@example.test", "--tz", typed],
            );
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "{typed}: {err}");
            assert!(err.contains(meant), "CLI {typed}: {err}");
            // The API.
            let (s, v) = srv
                .send(
                    reqwest::Method::PUT,
                    "/api/v1/me/preferences",
                    Some(&token),
                    json!({"timezone": typed}),
                )
                .await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{typed}: {v}");
            assert!(v.to_string().contains(meant), "API {typed}: {v}");
            // The preferences page.
            let r = srv
                .http
                .post(srv.url(&link))
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("action", "save"),
                    ("timezone", typed),
                    ("request_at", "16:30"),
                    ("digest_at", "08:30"),
                    ("day_mon", "on"),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{typed}");
            let body = r.text().await.unwrap();
            assert!(body.contains(meant), "page {typed}: {body}");
            // A reply command: not applied, and the member is told the same.
            let raw = gmail_reply(
                "ann@example.test",
                &rt,
                &mid,
                &format!("tz{i}@mail.test"),
                &format!("timezone {typed}"),
            );
            let r = app
                .deliver(&format!("tz{i}"), &raw, at("2026-03-09T17:00:00Z"))
                .await;
            assert_eq!(r.quarantined, 1, "{typed}: {r:?}");
            let row = app
                .ctx
                .store
                .inbound_with_status(tidings::store::InboundStatus::Quarantined, 50)
                .await
                .unwrap()
                .into_iter()
                .find(|r| r.message_id == format!("tz{i}@mail.test"))
                .unwrap();
            assert!(
                row.reason.unwrap_or_default().contains(meant),
                "reply {typed}"
            );
        }
        let m = app.ctx.store.member_by_id(ann).await.unwrap().unwrap();
        assert_eq!(m.tz.name(), "Europe/Berlin", "nothing was changed");
    }
);
