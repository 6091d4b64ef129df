//! Check-ins managed through the admin API (#33): added, listed with the stand-up first,
//! refused when a name is taken or a zone unknown, replaced (and its members planned again),
//! removed; the stand-up is neither replaced nor removed.

use crate::both;
use crate::checkins::{checkin, d};
use crate::helpers::*;

both!(
    the_admin_api_adds_lists_replaces_and_removes_checkins,
    |app| {
        use reqwest::Method;
        use serde_json::json;
        let ana = app
            .member_of("ana@example.test", "Ana Lima", "Europe/Berlin", "core")
            .await;
        let srv = crate::web::Server::start(&app, |_| {}).await;
        let admin = Some(crate::web::ADMIN);
        let base = "/api/v1/admin/teams/core/checkins";
        let wins = json!({"name": "Friday wins", "rhythm": "weekly:fri", "at": "15:00",
        "questions": [{"kind": "text", "text": "What went well?"}, {"kind": "scale", "text": "How was your week?"}]});
        let (s, v) = srv.send(Method::POST, base, admin, wins.clone()).await;
        assert_eq!(s, reqwest::StatusCode::CREATED, "{v}");
        assert_eq!(
            v["description"],
            "Friday wins — every Friday at 15:00 in each member's zone; asks everyone: What went well? / scale: How was your week? (answers in the daily digest)"
        );
        // The same name again, any case: 409; a zone that is not one: 422 naming it.
        let (s, _) = srv
        .send(Method::POST, base, admin, json!({"name": "friday WINS", "rhythm": "weekly:fri", "at": "15:00", "questions": [{"kind": "text", "text": "?"}]}))
        .await;
        assert_eq!(s, reqwest::StatusCode::CONFLICT);
        let (s, v) = srv
        .send(Method::POST, base, admin, json!({"name": "Leads", "rhythm": "monthly:first-mon", "at": "10:00", "tz": "CET", "questions": [{"kind": "text", "text": "What did you learn?"}]}))
        .await;
        assert_eq!(s, reqwest::StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .starts_with("tz:"),
            "{v}"
        );
        // Listed, the stand-up first.
        let (s, v) = srv.get(base, admin).await;
        assert_eq!(s, reqwest::StatusCode::OK, "{v}");
        let names: Vec<&str> = v
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|c| c["name"].as_str())
            .collect();
        assert_eq!(names, ["Daily stand-up", "Friday wins"]);
        // Replaced: its members are planned again for the new rhythm.
        app.tick(at("2026-11-16T00:00:00Z")).await;
        let id = app
            .ctx
            .store
            .team_id("core")
            .await
            .expect("team")
            .expect("core");
        let c = app
            .ctx
            .store
            .checkin_named(id, "friday wins")
            .await
            .expect("read")
            .expect("wins");
        assert!(
            app.ctx
                .store
                .checkin_planned(c.id, ana)
                .await
                .expect("plan")
                .is_some()
        );
        let mut thursday = wins.clone();
        thursday["rhythm"] = json!("weekly:thu");
        thursday["to"] = json!("own");
        let (s, v) = srv
            .send(
                Method::PUT,
                &format!("{base}/Friday%20wins"),
                admin,
                thursday,
            )
            .await;
        assert_eq!(s, reqwest::StatusCode::OK, "{v}");
        assert_eq!(v["rhythm"], "weekly:thu");
        assert_eq!(v["to"], "own");
        assert!(
            v["description"]
                .as_str()
                .is_some_and(|d| d.ends_with("(answers in a digest of its own)")),
            "{v}"
        );
        assert_eq!(
            app.ctx
                .store
                .checkin_planned(c.id, ana)
                .await
                .expect("plan"),
            None
        );
        app.tick(at("2026-11-16T00:05:00Z")).await;
        let (_, date) = app
            .ctx
            .store
            .checkin_planned(c.id, ana)
            .await
            .expect("plan")
            .expect("planned again");
        assert_eq!(date, d("2026-11-19"), "the next Thursday");
        // The stand-up is neither replaced nor removed; a check-in that is not: 404.
        let (s, _) = srv
            .send(
                Method::DELETE,
                &format!("{base}/Daily%20stand-up"),
                admin,
                json!(null),
            )
            .await;
        assert_eq!(s, reqwest::StatusCode::CONFLICT);
        let (s, _) = srv
            .send(Method::DELETE, &format!("{base}/nope"), admin, json!(null))
            .await;
        assert_eq!(s, reqwest::StatusCode::NOT_FOUND);
        let (s, _) = srv
            .send(
                Method::DELETE,
                &format!("{base}/Friday%20wins"),
                admin,
                json!(null),
            )
            .await;
        assert_eq!(s, reqwest::StatusCode::NO_CONTENT);
        let (_, v) = srv.get(base, admin).await;
        assert_eq!(v.as_array().map(Vec::len), Some(1), "{v}");
        // Without the admin token: 401.
        let (s, _) = srv.get(base, None).await;
        assert_eq!(s, reqwest::StatusCode::UNAUTHORIZED);
    }
);

both!(
    the_preferences_page_lists_the_checkins_that_ask_the_member,
    |app| {
        let ana = app
            .member_of("ana@example.test", "Ana Lima", "Europe/Berlin", "core")
            .await;
        let team = app.team("core").await;
        let checkin = |name: &str, rhythm: &str, who| tidings::domain::checkin::Checkin {
            who,
            ..checkin(team, name, &["Anything?"], rhythm, "15:00", None)
        };
        use tidings::domain::checkin::Who;
        app.ctx
            .store
            .add_checkin(&checkin("Friday wins", "weekly:fri", Who::All))
            .await
            .expect("wins");
        app.ctx
            .store
            .add_checkin(&checkin("Leads", "monthly:first-mon", Who::Leads))
            .await
            .expect("leads");
        let srv = crate::web::Server::start(&app, |_| {}).await;
        let page = srv.get_text(&srv.fresh_link(ana)).await;
        assert!(page.contains("Your team also asks you:"), "{page}");
        assert!(
            page.contains(
                "<strong>Friday wins</strong> (core, every Friday at 15:00 in each member's zone)"
            ),
            "{page}"
        );
        assert!(page.contains(" — next: "), "{page}");
        // Ana is not a lead: the leads' question is not hers.
        assert!(!page.contains("<strong>Leads</strong>"), "{page}");
    }
);

both!(a_member_answers_a_checkin_through_the_api, |app| {
    use reqwest::Method;
    use serde_json::json;
    use tidings::domain::checkin::{Checkin, Who};
    let ana = app
        .member_of("ana@example.test", "Ana Lima", "Europe/Berlin", "core")
        .await;
    let team = app.team("core").await;
    let questions = ["What went well?", "scale: How was your week?"];
    let new = |name: &str, who| Checkin {
        who,
        ..checkin(team, name, &questions, "weekly:fri", "15:00", None)
    };
    let wins = app
        .ctx
        .store
        .add_checkin(&new("Friday wins", Who::All))
        .await
        .expect("wins");
    app.ctx
        .store
        .add_checkin(&new("Leads", Who::Leads))
        .await
        .expect("leads");
    let srv = crate::web::Server::start(&app, |_| {}).await;
    let t = srv.token_for(ana).await;
    let (s, v) = srv
        .send(
            Method::POST,
            "/api/v1/updates",
            Some(&t),
            json!({"text": "The importer shipped.\n4/5", "checkin": "friday wins"}),
        )
        .await;
    assert_eq!(s, reqwest::StatusCode::CREATED, "{v}");
    assert_eq!(v["update"]["checkin"], "Friday wins", "{v}");
    let date: chrono::NaiveDate = v["update"]["date"]
        .as_str()
        .expect("date")
        .parse()
        .expect("a date");
    let key = tidings::store::UpdateKey {
        member: ana,
        date,
        checkin: wins,
    };
    let stored = app
        .ctx
        .store
        .answer_for(key)
        .await
        .expect("read")
        .expect("filed under the check-in");
    assert_eq!(stored.body, "The importer shipped.");
    assert!(
        app.ctx
            .store
            .update_for(ana, date)
            .await
            .expect("read")
            .is_none(),
        "not the stand-up"
    );
    assert_eq!(
        app.ctx.store.scores_of(wins, date).await.expect("scores"),
        vec![(1, 4)]
    );
    // A check-in that does not ask Ana, and one no team of hers has: 422 saying so.
    let (s, v) = srv
        .send(
            Method::POST,
            "/api/v1/updates",
            Some(&t),
            json!({"text": "x", "checkin": "Leads"}),
        )
        .await;
    assert_eq!(s, reqwest::StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("does not ask you"),
        "{v}"
    );
    let (s, v) = srv
        .send(
            Method::POST,
            "/api/v1/updates",
            Some(&t),
            json!({"text": "x", "checkin": "Nope"}),
        )
        .await;
    assert_eq!(s, reqwest::StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Friday wins"),
        "{v}"
    );
});
