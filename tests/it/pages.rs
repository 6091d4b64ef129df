//! The pages as a new member meets them (issue #30): the header with the team and its pages,
//! the log's empty state, a search whose words are marked where they are (comments too), the
//! blockers page and its empty state, the preferences page's groups and reply commands.

use reqwest::StatusCode;

use crate::both;
use crate::web::Server;

async fn page(srv: &Server, path: &str, cookie: &str) -> String {
    let r = srv
        .http
        .get(srv.url(path))
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    r.text().await.unwrap()
}

both!(
    a_new_teams_log_says_who_is_asked_when_and_the_blockers_page_is_empty,
    |app| {
        let ann = app
            .member_of("ann@example.test", "Ann", "Europe/Berlin", "core")
            .await;
        app.member_of("raj@example.test", "Raj", "Asia/Kolkata", "core")
            .await;
        let srv = Server::start(&app, |_| {}).await;
        let cookie = srv.signed_in(ann).await;
        let log = page(&srv, "/log/core", &cookie).await;
        // The header: Tidings, the team, its pages (this one current) and Sign out.
        assert!(
            log.contains(r#"<span class="team">core</span>"#)
                && log.contains(r#"<a href="/log/core" aria-current="page">Updates</a>"#)
                && log.contains(r#"<a href="/log/core/blockers">Blockers</a>"#)
                && log.contains(r#"action="/signout""#),
            "{log}"
        );
        assert!(log.contains("No updates yet."), "{log}");
        assert!(!log.contains("updates match"), "no filter is set: {log}");
        assert!(
            log.contains("Ann is asked at 16:30 their time") && log.contains("(Europe/Berlin)"),
            "{log}"
        );
        assert!(log.contains("Raj is asked at 16:30 their time"), "{log}");

        let blockers = page(&srv, "/log/core/blockers", &cookie).await;
        assert!(blockers.contains("No open blockers."), "{blockers}");
        assert!(
            blockers.contains(r#"<a href="/log/core/blockers" aria-current="page">Blockers</a>"#),
            "{blockers}"
        );
        // A digest's link straight to the blockers page: the team asked for when it is the
        // member's, else their first.
        for (query, to) in [
            ("?team=core", "/log/core/blockers"),
            ("?team=ops", "/log/core/blockers"),
            ("", "/log/core/blockers"),
        ] {
            let r = srv
                .http
                .get(srv.url(&format!("{}/blockers{query}", srv.fresh_link(ann))))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::SEE_OTHER, "{query}");
            assert_eq!(r.headers()["location"], to, "{query}");
        }
    }
);

both!(
    a_search_marks_its_words_where_they_are_finds_comments_and_can_be_cleared,
    |app| {
        let ann = app
            .member_of("ann@example.test", "Ann", "Europe/Berlin", "core")
            .await;
        let bob = app
            .member_of("bob@example.test", "Bob", "Europe/Berlin", "core")
            .await;
        let store = &app.ctx.store;
        let day = "2026-12-01".parse().unwrap();
        let with_word = store
            .upsert_update(
                ann,
                day,
                "Done:\n- moved the dashboard\n- fixed tests\nNext: release\nBlockers: waiting on keys",
                &[],
                "api",
                None,
                false,
                1_700_000_000,
            )
            .await
            .unwrap()
            .id;
        let commented = store
            .upsert_update(bob, day, "Done: wrote docs", &[], "api", None, false, 0)
            .await
            .unwrap()
            .id;
        store
            .add_comment(
                commented,
                ann,
                "Which Dashboard is that?",
                "<c1@x>",
                1_700_000_100,
            )
            .await
            .unwrap();
        let srv = Server::start(&app, |_| {}).await;
        let cookie = srv.signed_in(ann).await;

        let hits = page(&srv, "/log/core?q=dashboard", &cookie).await;
        assert!(hits.contains("2 updates match"), "{hits}");
        assert!(hits.contains(r#"<a href="/log/core">clear</a>"#), "{hits}");
        // Marked inside its section, as a list item; the update is not repeated as a snippet.
        assert!(
            hits.contains("<li>moved the <mark>dashboard</mark></li>"),
            "{hits}"
        );
        assert_eq!(hits.matches("moved the").count(), 1, "{hits}");
        // Found by its comment, the comment's word marked too.
        assert!(hits.contains(&format!(r#"id="u{commented}""#)), "{hits}");
        assert!(
            hits.contains("Which <mark>Dashboard</mark> is that?"),
            "{hits}"
        );
        // Text matches first.
        let (a, b) = (
            hits.find(&format!(r#"id="u{with_word}""#)).unwrap(),
            hits.find(&format!(r#"id="u{commented}""#)).unwrap(),
        );
        assert!(a < b, "{hits}");
        // The comment help once per page, however many updates.
        assert_eq!(hits.matches("is the comment").count(), 1, "{hits}");
        assert_eq!(hits.matches("Comment by email").count(), 3, "{hits}");
        // The filters are behind a disclosure, open only when one is set.
        assert!(hits.contains("<details class=\"filters\">"), "{hits}");
        let filtered = page(&srv, "/log/core?blockers=on", &cookie).await;
        assert!(
            filtered.contains("<details class=\"filters\" open>")
                && filtered.contains("1 update matches"),
            "{filtered}"
        );
        let none = page(&srv, "/log/core?q=nothinglikethis", &cookie).await;
        assert!(none.contains("Nothing matches."), "{none}");
        // A comment-only match still honours an excluded word.
        let excluded = page(&srv, "/log/core?q=dashboard+-which", &cookie).await;
        assert!(
            !excluded.contains(&format!(r#"id="u{commented}""#)),
            "{excluded}"
        );
    }
);

both!(
    the_preferences_page_is_grouped_with_save_first_and_lists_every_command,
    |app| {
        let ann = app
            .member_of("ann@example.test", "Ann", "Europe/Berlin", "core")
            .await;
        let srv = Server::start(&app, |_| {}).await;
        let link = srv.fresh_link(ann);
        let r = srv.http.get(srv.url(&link)).send().await.unwrap();
        let p = r.text().await.unwrap();
        let order: Vec<usize> = [
            "<legend>When</legend>",
            "<legend>What you get</legend>",
            r#"id="save" class="primary""#,
            "<h2>Time away</h2>",
            "<h2>Stop emails</h2>",
            r#"<h2 id="commands">Reply commands</h2>"#,
        ]
        .iter()
        .map(|s| p.find(s).unwrap_or_else(|| panic!("{s} missing: {p}")))
        .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
        assert!(p.contains(r#"value="unsubscribe" class="quiet""#), "{p}");
        assert!(p.contains(r#"<div class="weekly-only">"#), "{p}");
        for (c, _) in tidings::domain::command::HELP {
            assert!(p.contains(&format!("<dt><code>{c}</code></dt>")), "{c}");
        }
        assert!(
            p.contains(&format!(r#"<a href="{link}/log">Team log</a>"#)),
            "{p}"
        );
    }
);

both!(
    a_resolved_blocker_shows_the_day_its_author_resolved_it_in_their_own_calendar,
    |app| {
        let raj = app
            .member_of("raj@example.test", "Raj", "Asia/Kolkata", "core")
            .await;
        app.ctx
            .store
            .upsert_update(
                raj,
                "2026-12-02".parse().unwrap(),
                "Done: tests\nBlockers: no dashboard access",
                &[],
                "api",
                None,
                false,
                1_700_000_000,
            )
            .await
            .unwrap();
        // 20:00 UTC on Wednesday is 01:30 on Thursday in Kolkata: the digests say Thursday.
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-02T20:00:00Z")
            .unwrap()
            .timestamp();
        assert!(
            app.ctx
                .store
                .resolve_blocker_at(raj, at)
                .await
                .unwrap()
                .is_some()
        );
        let srv = Server::start(&app, |_| {}).await;
        let cookie = srv.signed_in(raj).await;
        let log = page(&srv, "/log/core", &cookie).await;
        assert!(
            log.contains(r#"<span class="pill pill-resolved">resolved Thu 3 Dec</span>"#),
            "{log}"
        );
        assert!(log.contains(r#"class="section blocker resolved""#), "{log}");
    }
);
