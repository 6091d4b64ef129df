//! `calendars` in the member's preferences through the API (#34): written as host and last
//! characters with an id, never the address; a GET body sent back keeps them; an item
//! without an id adds an address (read by the calendar job, not in the request); one left
//! out is removed; a bad address or a stranger's id is 422 naming the item.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::both;
use crate::web::Server;

const SECRET: &str = "private-0123456789abcdef";

both!(calendars_in_the_preferences_api, |app| {
    let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
    let srv = Server::start(&app, |_| {}).await;
    let t = srv.token_for(ann).await;
    let path = "/api/v1/me/preferences";
    let (s, mine) = srv.get(path, Some(&t)).await;
    assert_eq!(s, StatusCode::OK, "{mine}");
    assert_eq!(mine["calendars"], json!([]));
    assert_eq!(mine["calendar_away"], json!([]));
    let url = format!("https://calendar.google.com/calendar/ical/ann/{SECRET}/basic.ics");
    let (s, v) = srv
        .send(
            Method::PUT,
            path,
            Some(&t),
            json!({"calendars": [{"address": url}]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let cals = v["calendars"].as_array().cloned().unwrap_or_default();
    assert_eq!(cals.len(), 1, "{v}");
    assert_eq!(cals[0]["address"], "calendar.google.com …cdef");
    assert_eq!(cals[0]["kind"], "personal");
    assert!(
        cals[0].get("read_at").is_none(),
        "not read in the request: {v}"
    );
    assert!(!v.to_string().contains(SECRET), "{v}");
    // The GET body sent back as it is keeps the calendar.
    let (_, mine) = srv.get(path, Some(&t)).await;
    let (s, v) = srv.send(Method::PUT, path, Some(&t), mine.clone()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["calendars"], mine["calendars"]);
    // 422, naming the item, and nothing changed.
    for (body, says) in [
        (
            json!({"calendars": [{"address": "ftp://example.org/x.ics"}]}),
            "calendars[0].address",
        ),
        (
            json!({"calendars": [{"id": 999, "address": "x"}]}),
            "calendars[0].id: 999 is not one of your calendars",
        ),
        (
            json!({"calendars": [{"address": "https://example.org/x.ics", "kind": "work"}]}),
            "calendars[0].kind",
        ),
    ] {
        let (s, v) = srv.send(Method::PUT, path, Some(&t), body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains(says),
            "{v}"
        );
    }
    assert_eq!(
        app.ctx
            .store
            .member_calendars(ann)
            .await
            .expect("links")
            .len(),
        1
    );
    // Left out: removed.
    let (s, v) = srv
        .send(Method::PUT, path, Some(&t), json!({"calendars": []}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["calendars"], json!([]));
    assert!(
        app.ctx
            .store
            .member_calendars(ann)
            .await
            .expect("links")
            .is_empty()
    );
    // The document lists the field, and calendar_away as read-only.
    let (_, doc) = srv.get("/api/v1/openapi.json", None).await;
    let text = doc.to_string();
    assert!(
        text.contains("\"calendar_away\":{\"description\":\"Read from the member's calendars"),
        "calendar_away read-only"
    );
});

both!(a_teams_holiday_calendars_through_the_admin_api, |app| {
    app.member("ann@example.test", "Ann", "Europe/Berlin").await;
    let srv = Server::start(&app, |_| {}).await;
    let admin = Some(crate::web::ADMIN);
    let path = "/api/v1/admin/teams/core/calendars";
    let (s, v) = srv.get(path, admin).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v, json!({"team": "core", "calendars": []}));
    let url = "webcal://calendar.google.com/calendar/ical/en.german%23holiday%40group.v.calendar.google.com/public/basic.ics";
    let (s, v) = srv
        .send(
            Method::PUT,
            path,
            admin,
            json!({"calendars": [{"address": url}]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["calendars"][0]["kind"], "holidays");
    assert_eq!(v["calendars"][0]["address"], "calendar.google.com …blic");
    // Sent back as it is: kept; a stranger's id: 422; no team: 404; no token: 401.
    let (s, again) = srv.send(Method::PUT, path, admin, v.clone()).await;
    assert_eq!((s, &again), (StatusCode::OK, &v));
    let (s, e) = srv
        .send(
            Method::PUT,
            path,
            admin,
            json!({"calendars": [{"id": 999, "address": "x"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    // `team` is read-only: another name is a 422 (Schemathesis found "×ø\u{9b}" taken).
    let (s, e) = srv
        .send(
            Method::PUT,
            path,
            admin,
            json!({"team": "other", "calendars": []}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let (s, _) = srv.get("/api/v1/admin/teams/nope/calendars", admin).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = srv.get(path, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, v) = srv
        .send(Method::PUT, path, admin, json!({"calendars": []}))
        .await;
    assert_eq!((s, v["calendars"].clone()), (StatusCode::OK, json!([])));
});
