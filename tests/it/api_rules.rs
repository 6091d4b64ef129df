//! The three points Schemathesis raised (issue 29), held here directly, on SQLite and
//! PostgreSQL: what a member cannot change is `readOnly` in the document and may be sent back
//! unchanged; when `team` and `teams` are both sent, `teams` says; and the document says that
//! a future `date` is refused, as the server does.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both;
use crate::web::{ADMIN, Server};

/// The extra rules the document puts on operation `id`'s JSON body (its `allOf` branch).
fn body_rules<'a>(doc: &'a Value, path: &str, method: &str) -> &'a Value {
    &doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]["allOf"][1]
}

both!(
    the_document_and_the_server_agree_on_the_three_points,
    |app| {
        let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
        let srv = Server::start(&app, |_| {}).await;
        let t = srv.token_for(ann).await;
        let (_, doc) = srv.get("/api/v1/openapi.json", None).await;

        // 1. What a member cannot change is readOnly, and a GET body goes back as it is.
        let rules = body_rules(&doc, "/api/v1/me/preferences", "put");
        for f in ["email", "aliases", "team", "teams", "observer"] {
            assert_eq!(rules["properties"][f]["readOnly"], true, "{f}: {rules}");
        }
        let (_, mine) = srv.get("/api/v1/me/preferences", Some(&t)).await;
        let (s, v) = srv
            .send(
                Method::PUT,
                "/api/v1/me/preferences",
                Some(&t),
                mine.clone(),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (s, v) = srv
            .send(
                Method::PUT,
                "/api/v1/me/preferences",
                Some(&t),
                json!({"email": "someone.else@example.test"}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        let rules = body_rules(&doc, "/api/v1/admin/members/{email}", "put");
        for f in ["email", "aliases"] {
            assert_eq!(rules["properties"][f]["readOnly"], true, "{f}: {rules}");
        }

        // 2. `teams` says; `team` beside it is not read (it was a 422 when they differed).
        for name in ["ops", "infra"] {
            let (s, v) = srv
                .send(
                    Method::POST,
                    "/api/v1/admin/teams",
                    Some(ADMIN),
                    json!({"name": name}),
                )
                .await;
            assert!(s.is_success(), "{v}");
        }
        for (path, method) in [
            ("/api/v1/admin/members", Method::POST),
            ("/api/v1/admin/members/bob@example.test", Method::PUT),
        ] {
            let (s, v) = srv
                .send(
                    method.clone(),
                    path,
                    Some(ADMIN),
                    json!({"email": "bob@example.test", "name": "Bob", "timezone": "Asia/Tokyo",
                       "team": "ops", "teams": ["core", "infra"]}),
                )
                .await;
            assert!(s.is_success(), "{method} {path}: {v}");
            assert_eq!(v["teams"], json!(["core", "infra"]), "{v}");
            assert_eq!(v["team"], "core", "{v}");
        }
        let (_, v) = srv
            .send(
                Method::PUT,
                "/api/v1/admin/members/bob@example.test",
                Some(ADMIN),
                json!({"team": "ops"}),
            )
            .await;
        assert_eq!(
            v["teams"],
            json!(["ops"]),
            "`team` alone still sets one: {v}"
        );
        let schema = &doc["components"]["schemas"]["MemberPatch"]["properties"]["team"];
        let said = schema.to_string().replace("\\n", " ");
        assert!(said.contains("Not read when `teams` is given"), "{said}");

        // 3. A future date is refused, and the document says so.
        let date = &doc["components"]["schemas"]["NewUpdate"]["properties"]["date"]["description"];
        assert!(
            date.as_str()
                .unwrap_or_default()
                .contains("Not in the future"),
            "{date}"
        );
        let (s, v) = srv
            .send(
                Method::POST,
                "/api/v1/updates",
                Some(&t),
                json!({"text": "Done: time travel", "date": "2999-01-01"}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    }
);
