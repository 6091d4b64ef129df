//! The team log over the API and the CLI, on SQLite and PostgreSQL: a member reads their own
//! teams only (another team and an unknown one get the same 404), pages follow the cursor
//! without gaps or repeats, filters (author, dates, blockers), ranked search with phrases,
//! exclusions and highlighted snippets, ETag / If-None-Match, and exports that read back (JSON
//! by serde, CSV by Python's csv module, Markdown by its headings).

use chrono::NaiveDate;
use reqwest::StatusCode;
use serde_json::Value;
use tidings::store::MemberChange;

use crate::both;
use crate::helpers::*;
use crate::web::Server;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

async fn in_team(app: &TestApp, email: &str, name: &str, team: &str) -> i64 {
    let ch = MemberChange {
        name: Some(name.into()),
        tz: Some("Europe/Berlin".parse().unwrap()),
        teams: Some(vec![team.into()]),
        ..Default::default()
    };
    app.ctx
        .store
        .add_member(&addr(email), &ch, &defaults())
        .await
        .unwrap()
}

async fn write(app: &TestApp, member: i64, date: &str, text: &str) {
    app.ctx
        .store
        .upsert_update(
            member,
            d(date),
            text,
            &[],
            "api",
            None,
            false,
            1_700_000_000,
        )
        .await
        .unwrap();
}

/// Ann and Bob in core, Cy in ops; updates over a week.
async fn seed(app: &TestApp) -> (i64, i64, i64) {
    let ann = in_team(app, "ann@example.test", "Ann", "core").await;
    let bob = in_team(app, "bob@example.test", "Bob", "core").await;
    let cy = in_team(app, "cy@example.test", "Cy", "ops").await;
    write(
        app,
        ann,
        "2026-11-30",
        "Done: the importer retries\nNext: the exporter",
    )
    .await;
    write(
        app,
        bob,
        "2026-11-30",
        "Done: reviewed the importer\nBlockers: waiting on the staging database",
    )
    .await;
    write(
        app,
        ann,
        "2026-12-01",
        "Done: importer importer importer, all day on the importer",
    )
    .await;
    write(
        app,
        bob,
        "2026-12-01",
        "Done: database staging notes\nNext: holidays",
    )
    .await;
    write(
        app,
        ann,
        "2026-12-02",
        "Done: wrote the runbook\nBlockers: none",
    )
    .await;
    write(
        app,
        bob,
        "2026-12-03",
        "Done: =SUM(A1) found in a spreadsheet, fixed the exporter",
    )
    .await;
    write(
        app,
        cy,
        "2026-12-01",
        "Done: the importer in ops, secret ops words",
    )
    .await;
    (ann, bob, cy)
}

fn ids(v: &Value) -> Vec<(String, String)> {
    v["updates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["date"].as_str().unwrap().to_string(),
                u["author"]["name"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

both!(
    a_member_reads_pages_filters_and_searches_of_their_own_team_only,
    |app| {
        let (ann, _bob, cy) = seed(&app).await;
        let srv = Server::start(&app, |_| {}).await;
        let t = srv.token_for(ann).await;

        // Newest first, two a page, following `next` to the end: every core update once.
        let mut seen = Vec::new();
        let mut path = "/api/v1/teams/core/updates?limit=2".to_string();
        loop {
            let (s, v) = srv.get(&path, Some(&t)).await;
            assert_eq!(s, StatusCode::OK, "{v}");
            assert_eq!(v["team"], "core");
            seen.extend(ids(&v));
            match v["next"].as_str() {
                Some(n) => path = n.to_string(),
                None => break,
            }
        }
        let want: Vec<(String, String)> = [
            ("2026-12-03", "Bob"),
            ("2026-12-02", "Ann"),
            ("2026-12-01", "Bob"),
            ("2026-12-01", "Ann"),
            ("2026-11-30", "Bob"),
            ("2026-11-30", "Ann"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert_eq!(seen.len(), 6, "{seen:?}");
        assert_eq!(
            seen.iter().map(|s| &s.0).collect::<Vec<_>>(),
            want.iter().map(|s| &s.0).collect::<Vec<_>>()
        );
        assert!(!seen.iter().any(|(_, a)| a == "Cy"), "{seen:?}");

        // Filters: author, dates, blockers (a "Blockers: none" section does not count as one).
        let (_, v) = srv
            .get(
                "/api/v1/teams/core/updates?member=bob@example.test",
                Some(&t),
            )
            .await;
        assert!(
            ids(&v).iter().all(|(_, a)| a == "Bob") && ids(&v).len() == 3,
            "{v}"
        );
        let (_, v) = srv
            .get(
                "/api/v1/teams/core/updates?from=2026-12-01&to=2026-12-02",
                Some(&t),
            )
            .await;
        assert_eq!(ids(&v).len(), 3, "{v}");
        let (_, v) = srv
            .get("/api/v1/teams/core/updates?blockers=true", Some(&t))
            .await;
        assert_eq!(
            ids(&v),
            vec![("2026-11-30".to_string(), "Bob".to_string())],
            "{v}"
        );

        // Search: ranked (the update that says "importer" four times first), snippets marked,
        // phrases, exclusions; never another team's update.
        let (s, v) = srv
            .get("/api/v1/teams/core/updates?q=importer", Some(&t))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let found = ids(&v);
        assert_eq!(found.len(), 3, "{v}");
        assert_eq!(found[0], ("2026-12-01".into(), "Ann".into()), "{v}");
        let snip = v["updates"][0]["snippet_html"].as_str().unwrap();
        assert!(snip.contains("<mark>importer</mark>"), "{snip}");
        let (_, v) = srv
            .get(
                "/api/v1/teams/core/updates?q=%22staging%20database%22",
                Some(&t),
            )
            .await;
        assert_eq!(
            ids(&v),
            vec![("2026-11-30".to_string(), "Bob".to_string())],
            "{v}"
        );
        let (_, v) = srv
            .get(
                "/api/v1/teams/core/updates?q=importer%20-reviewed",
                Some(&t),
            )
            .await;
        assert_eq!(ids(&v).len(), 2, "{v}");
        let (_, v) = srv
            .get("/api/v1/teams/core/updates?q=secret", Some(&t))
            .await;
        assert_eq!(ids(&v).len(), 0, "another team's words: {v}");
        // Search pages too.
        let (_, v) = srv
            .get("/api/v1/teams/core/updates?q=importer&limit=2", Some(&t))
            .await;
        assert_eq!(ids(&v).len(), 2);
        let (_, v2) = srv.get(v["next"].as_str().unwrap(), Some(&t)).await;
        assert_eq!(ids(&v2).len(), 1, "{v2}");
        assert!(v2["next"].is_null());

        // Access: ops is not Ann's; an unknown team looks the same; Cy cannot read core.
        let (s1, v1) = srv.get("/api/v1/teams/ops/updates", Some(&t)).await;
        let (s2, v2) = srv.get("/api/v1/teams/nope/updates", Some(&t)).await;
        assert_eq!((s1, s2), (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND));
        assert_eq!(v1["error"]["code"], v2["error"]["code"]);
        let tc = srv.token_for(cy).await;
        let (s, _) = srv.get("/api/v1/teams/core/updates", Some(&tc)).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, _) = srv.get("/api/v1/teams/core/export", Some(&tc)).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, _) = srv.get("/api/v1/teams/core/updates", None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        // A filter that matches nothing: an empty page (an author outside the team, dates
        // backwards); bad parameters: a clear 422.
        for none in [
            "from=2026-12-05&to=2026-12-01",
            "member=cy@example.test",
            "member=x@nowhere.test",
        ] {
            let (s, v) = srv
                .get(&format!("/api/v1/teams/core/updates?{none}"), Some(&t))
                .await;
            assert_eq!(s, StatusCode::OK, "{none}: {v}");
            assert_eq!(ids(&v).len(), 0, "{none}: {v}");
        }
        for bad in [
            "cursor=zzz",
            "cursor=",
            "cursor=d20261399.1",
            "limit=0",
            "from=2026-1-5",
        ] {
            let (s, v) = srv
                .get(&format!("/api/v1/teams/core/updates?{bad}"), Some(&t))
                .await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {v}");
            assert!(v["error"]["message"].as_str().is_some(), "{v}");
        }
    }
);

both!(reads_carry_an_etag_and_an_unchanged_page_is_304, |app| {
    let (ann, bob, _) = seed(&app).await;
    let srv = Server::start(&app, |_| {}).await;
    let t = srv.token_for(ann).await;
    let url = srv.url("/api/v1/teams/core/updates");
    let r = srv.http.get(&url).bearer_auth(&t).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let tag = r.headers()["etag"].to_str().unwrap().to_string();
    let r = srv
        .http
        .get(&url)
        .bearer_auth(&t)
        .header("If-None-Match", &tag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(r.headers()["etag"].to_str().unwrap(), tag);
    assert!(r.text().await.unwrap().is_empty());
    // A new revision changes the page and its tag.
    write(&app, bob, "2026-12-03", "Also: one more thing.").await;
    let r = srv
        .http
        .get(&url)
        .bearer_auth(&t)
        .header("If-None-Match", &tag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_ne!(r.headers()["etag"].to_str().unwrap(), tag);
    // The Link header names the next page.
    let r = srv
        .http
        .get(format!("{url}?limit=1"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    let link = r.headers()["link"].to_str().unwrap().to_string();
    assert!(
        link.starts_with("</api/v1/teams/core/updates?limit=1&cursor=")
            && link.ends_with(">; rel=\"next\""),
        "{link}"
    );
});

both!(exports_read_back_as_json_csv_and_markdown, |app| {
    let (ann, _, _) = seed(&app).await;
    let srv = Server::start(&app, |_| {}).await;
    let t = srv.token_for(ann).await;
    let get = |q: &'static str| {
        let r = srv
            .http
            .get(srv.url(&format!("/api/v1/teams/core/export?{q}")))
            .bearer_auth(&t)
            .send();
        async move {
            let r = r.await.unwrap();
            assert_eq!(r.status(), StatusCode::OK, "{q}");
            let ct = r.headers()["content-type"].to_str().unwrap().to_string();
            let cd = r.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .to_string();
            (ct, cd, r.text().await.unwrap())
        }
    };

    // JSON: every core update, oldest first, the same as stored.
    let (ct, cd, body) = get("format=json").await;
    assert_eq!(ct, "application/json");
    assert_eq!(cd, "attachment; filename=\"core-updates.json\"");
    let all: Vec<tidings::render::export::ExportedUpdate> = serde_json::from_str(&body).unwrap();
    assert_eq!(all.len(), 6);
    assert!(
        all.windows(2).all(|w| w[0].date <= w[1].date),
        "oldest first"
    );
    for u in &all {
        let stored = app
            .ctx
            .store
            .readable_update(ann, u.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(u.text, stored.update.body);
        assert_eq!(u.sections, stored.update.sections);
        assert_eq!(u.email, stored.author_email);
    }

    // CSV, read by an independent parser (Python's csv module): the same records.
    let (ct, _, body) = get("format=csv&member=bob@example.test").await;
    assert!(ct.starts_with("text/csv"), "{ct}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.csv");
    std::fs::write(&path, &body).unwrap();
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import csv, json, sys; print(json.dumps(list(csv.DictReader(open(sys.argv[1], newline='')))))",
        ])
        .arg(&path)
        .output()
        .expect("python3 runs (the rig installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(rows[0]["date"], "2026-11-30");
    assert_eq!(rows[0]["author"], "Bob");
    assert_eq!(rows[0]["done"], "reviewed the importer");
    assert_eq!(rows[0]["blockers"], "waiting on the staging database");
    // A formula-looking answer is kept as text, defused with an apostrophe.
    assert_eq!(
        rows[2]["done"], "'=SUM(A1) found in a spreadsheet, fixed the exporter",
        "{rows:?}"
    );

    // Markdown: a heading per day, the author under it.
    let (ct, _, body) = get("format=md&from=2026-12-01&to=2026-12-01").await;
    assert!(ct.starts_with("text/markdown"), "{ct}");
    assert!(body.starts_with("# core: updates\n"), "{body}");
    assert_eq!(body.matches("\n## ").count(), 1, "{body}");
    assert!(
        body.contains("\n## Tuesday 1 December 2026\n\n### Ann\n"),
        "{body}"
    );
    assert!(!body.contains("secret ops"), "{body}");

    // An unknown format is a 422.
    let r = srv
        .http
        .get(srv.url("/api/v1/teams/core/export?format=xlsx"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
});

/// The `tidings_session` cookie an answer sets, as a `Cookie` header value.
fn session_cookie(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("tidings_session="))
        .map(|c| c.split(';').next().unwrap_or_default().to_string())
}

both!(
    members_sign_in_to_read_their_teams_log_pages_and_sessions_end,
    |app| {
        let (ann, bob, _cy) = seed(&app).await;
        write(&app, ann, "2026-12-03", "Blockers: waiting on legal").await;
        write(
            &app,
            ann,
            "2026-12-04",
            "Done: nothing new\nBlockers: still waiting on legal",
        )
        .await;
        let srv = Server::start(&app, |_| {}).await;
        let get = |path: String, cookie: Option<String>| {
            let mut r = srv.http.get(srv.url(&path));
            if let Some(c) = cookie {
                r = r.header("Cookie", c);
            }
            async move { r.send().await.unwrap() }
        };
        // Not signed in: sent to sign in.
        let r = get("/log/core".into(), None).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()["location"], "/signin");

        // An email's signed link starts a session and leads to the team's log.
        let r = get(format!("{}/log", srv.fresh_link(ann)), None).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()["location"], "/log/core");
        let set = r.headers()["set-cookie"].to_str().unwrap().to_string();
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Lax"),
            "{set}"
        );
        let cookie = session_cookie(&r).unwrap();

        let r = get("/log/core".into(), Some(cookie.clone())).await;
        assert_eq!(r.status(), StatusCode::OK);
        let page = r.text().await.unwrap();
        assert!(page.contains("core: team log"), "{page}");
        assert!(page.contains("Tuesday 1 December 2026"), "{page}");
        assert!(page.contains("reviewed the importer"), "{page}");
        // A day in the reader's calendar: today's is "Today". An update first written after
        // its day had ended (its author's time) is marked late, in the page and the API.
        let today = chrono::Utc::now()
            .with_timezone(&chrono_tz::Europe::Berlin)
            .date_naive();
        write(&app, bob, &today.to_string(), "Done: written today").await;
        app.ctx
            .store
            .upsert_update(
                ann,
                d("2026-11-25"),
                "Done: the late one",
                &[],
                "api",
                None,
                false,
                at("2026-11-27T10:00:00Z").timestamp(),
            )
            .await
            .unwrap();
        let page = get("/log/core?from=2026-11-25".into(), Some(cookie.clone()))
            .await
            .text()
            .await
            .unwrap();
        assert!(
            page.contains(&format!("Today, {}", today.format("%A %-d %B %Y"))),
            "{page}"
        );
        let article = |needle: &str| -> String {
            page.split("<article")
                .find(|a| a.contains(needle))
                .unwrap_or_else(|| panic!("{needle} in {page}"))
                .to_string()
        };
        assert!(article("the late one").contains(">late<"), "{page}");
        // Comments and reactions under an update, and the reader's own address to comment.
        let late = app
            .ctx
            .store
            .update_for(ann, d("2026-11-25"))
            .await
            .unwrap()
            .unwrap()
            .id;
        app.ctx
            .store
            .add_comment(late, bob, "Better late than never", "c@x.test", 1)
            .await
            .unwrap();
        assert!(
            app.ctx
                .store
                .add_reaction(late, bob, "👍", 1)
                .await
                .unwrap()
        );
        assert!(
            !app.ctx
                .store
                .add_reaction(late, bob, "👍", 2)
                .await
                .unwrap()
        );
        let page = get("/log/core?from=2026-11-25".into(), Some(cookie.clone()))
            .await
            .text()
            .await
            .unwrap();
        let art = page
            .split("<article")
            .find(|a| a.contains("the late one"))
            .unwrap()
            .to_string();
        assert!(art.contains("Better late than never"), "{art}");
        assert!(
            art.contains("👍 1</span> (Bob)"),
            "counted once, with the name: {art}"
        );
        assert!(art.contains("mailto:updates+c"), "{art}");
        assert!(
            article("the late one").contains("Europe/Berlin"),
            "the author's zone"
        );
        assert!(
            !article("reviewed the importer").contains(">late<"),
            "{page}"
        );
        assert!(!page.contains("secret ops"), "{page}");
        // Search, a person, the other team.
        let page = get("/log/core?q=importer".into(), Some(cookie.clone()))
            .await
            .text()
            .await
            .unwrap();
        assert!(page.contains("<mark>importer</mark>"), "{page}");
        let page = get(
            "/log/core?member=bob%40example.test".into(),
            Some(cookie.clone()),
        )
        .await
        .text()
        .await
        .unwrap();
        assert!(
            page.contains("reviewed the importer") && !page.contains("the importer retries"),
            "{page}"
        );
        let r = get("/log/ops".into(), Some(cookie.clone())).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        // Open blockers: Ann's, open since Thursday; Bob's of Monday is carried (his later
        // updates do not mention blockers). Only Ann's own row has the button.
        let page = get("/log/core/blockers".into(), Some(cookie.clone()))
            .await
            .text()
            .await
            .unwrap();
        assert!(
            page.contains("still waiting on legal") && page.contains("Thu 3 Dec"),
            "{page}"
        );
        assert!(
            page.contains("waiting on the staging database") && page.contains("Mon 30 Nov"),
            "{page}"
        );
        assert_eq!(page.matches("Mark resolved").count(), 1, "{page}");
        // Ann resolves hers with the button: it is gone, Bob's stays.
        let r = srv
            .http
            .post(srv.url("/log/core/blockers/resolve"))
            .header("Cookie", cookie.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()["location"], "/log/core/blockers");
        let page = get("/log/core/blockers".into(), Some(cookie.clone()))
            .await
            .text()
            .await
            .unwrap();
        assert!(!page.contains("waiting on legal"), "{page}");
        assert!(page.contains("waiting on the staging database"), "{page}");
        // From another site: refused, nothing resolved.
        let r = srv
            .http
            .post(srv.url("/log/core/blockers/resolve"))
            .header("Cookie", cookie.clone())
            .header("Origin", "https://evil.example")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);

        // Signing out ends this session; the cookie no longer works.
        let r = srv
            .http
            .post(srv.url("/signout"))
            .header("Cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let r = get("/log/core".into(), Some(cookie.clone())).await;
        assert_eq!(
            r.status(),
            StatusCode::SEE_OTHER,
            "a signed-out session is refused"
        );

        // A one-time link by email: the GET shows a button and uses nothing; the POST signs in
        // once; a second POST is refused.
        let r = srv
            .http
            .post(srv.url("/signin"))
            .form(&[("email", "ann@example.test")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let r = srv
            .http
            .post(srv.url("/signin"))
            .form(&[("email", "nobody@example.test")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "the same answer for anyone");
        // Sent after the answer (its timing tells nothing), by then within moments.
        let mut mails = Vec::new();
        for _ in 0..100 {
            mails = app.sent_of("signin");
            if !mails.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(mails.len(), 1, "{mails:?}");
        let text = text_body(&app.read_sent(&mails[0]));
        let url = text
            .split_whitespace()
            .find(|w| w.contains("/signin/"))
            .unwrap()
            .to_string();
        let path = &url[url.find("/signin/").unwrap()..];
        for _ in 0..2 {
            let r = get(path.to_string(), None).await;
            assert_eq!(r.status(), StatusCode::OK);
            assert!(r.text().await.unwrap().contains("Sign in"));
        }
        let r = srv.http.post(srv.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let cookie = session_cookie(&r).unwrap();
        let r = srv.http.post(srv.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::GONE, "used once");
        let r = get("/log/core".into(), Some(cookie.clone())).await;
        assert_eq!(r.status(), StatusCode::OK);

        // Revoked (`tidings member signout`): refused.
        let n = app
            .ctx
            .store
            .revoke_sessions(ann, chrono::Utc::now().timestamp())
            .await
            .unwrap();
        assert!(n >= 1);
        let r = get("/log/core".into(), Some(cookie)).await;
        assert_eq!(
            r.status(),
            StatusCode::SEE_OTHER,
            "a revoked session is refused"
        );
    }
);

both!(the_cli_exports_a_team_and_signs_a_member_out, |app| {
    let (ann, _, _) = seed(&app).await;
    let dir = app.dir.path();
    let out = crate::cli::ok(&crate::cli::run(
        dir,
        &app.db_url,
        &[
            "export",
            "--team",
            "core",
            "--format",
            "json",
            "--member",
            "ann@example.test",
        ],
    ));
    let rows: Vec<tidings::render::export::ExportedUpdate> = serde_json::from_str(&out).unwrap();
    assert_eq!(
        rows.iter().map(|r| r.date.to_string()).collect::<Vec<_>>(),
        ["2026-11-30", "2026-12-01", "2026-12-02"]
    );
    assert!(rows.iter().all(|r| r.email == "ann@example.test"));
    // A search, to a file, as Markdown.
    let file = dir.join("core.md");
    crate::cli::ok(&crate::cli::run(
        dir,
        &app.db_url,
        &[
            "export",
            "--team",
            "core",
            "--search",
            "runbook",
            "--format",
            "md",
            "-o",
            file.to_str().unwrap(),
        ],
    ));
    let md = std::fs::read_to_string(&file).unwrap();
    assert!(
        md.contains("wrote the runbook") && !md.contains("importer"),
        "{md}"
    );
    // Mistakes are named, exit 2.
    for (args, says) in [
        (vec!["export", "--team", "nope"], "no team named"),
        (
            vec!["export", "--team", "core", "--member", "cy@example.test"],
            "not a member of team",
        ),
        (
            vec!["export", "--team", "core", "--from", "2026-13-01"],
            "2026-13-01",
        ),
    ] {
        let o = crate::cli::run(dir, &app.db_url, &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(says),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    // `member signout` ends every session of the member.
    let now = chrono::Utc::now().timestamp();
    app.ctx
        .store
        .add_session(ann, "h1", now, now + 3600)
        .await
        .unwrap();
    app.ctx
        .store
        .add_session(ann, "h2", now, now + 3600)
        .await
        .unwrap();
    let out = crate::cli::ok(&crate::cli::run(
        dir,
        &app.db_url,
        &["member", "signout", "ann@example.test"],
    ));
    assert!(out.contains("2 sessions ended"), "{out}");
    assert_eq!(app.ctx.store.session_member("h1", now).await.unwrap(), None);
});

/// Parses `xml` with Python's feedparser (the rig's venv): (bozo, feed title, entry titles,
/// entry ids, entry links).
fn feedparser(xml: &str) -> Value {
    const PY: &str = "/var/cache/tidings-rig/py/bin/python";
    assert!(
        std::path::Path::new(PY).exists(),
        "{PY} is missing: run scripts/test as root (scripts/rig install makes the venv)"
    );
    let mut child = std::process::Command::new(PY)
        .args([
            "-c",
            "import sys, json, feedparser\nd = feedparser.parse(sys.stdin.buffer.read())\nprint(json.dumps({'bozo': int(d.bozo), 'version': d.version, 'title': d.feed.get('title'), 'titles': [e.title for e in d.entries], 'ids': [e.id for e in d.entries], 'links': [e.link for e in d.entries], 'content': [e.content[0].value for e in d.entries]}))",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(xml.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

both!(
    atom_feeds_of_a_team_and_a_person_parse_and_end_with_signout,
    |app| {
        let (ann, bob, cy) = seed(&app).await;
        write(
            &app,
            bob,
            "2026-12-04",
            "Done: <script>alert(1)</script> & \"quotes\"",
        )
        .await;
        let srv = Server::start(&app, |_| {}).await;
        let m = app.ctx.store.member_by_id(ann).await.unwrap().unwrap();
        let core = app.ctx.store.team_id("core").await.unwrap().unwrap();
        let ops = app.ctx.store.team_id("ops").await.unwrap().unwrap();
        use tidings::web::feed::{Scope, feed_url};
        let path = |url: String| url[url.find("/feeds/").unwrap()..].to_string();
        let team = path(feed_url(&app.ctx, &m, Scope::Team(core)));
        let r = srv.http.get(srv.url(&team)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/atom+xml")
        );
        let xml = r.text().await.unwrap();
        let f = feedparser(&xml);
        assert_eq!(f["bozo"], 0, "{f}\n{xml}");
        assert_eq!(f["version"], "atom10");
        assert_eq!(f["title"], "core: team log");
        assert_eq!(f["titles"].as_array().unwrap().len(), 7, "{f}");
        assert_eq!(f["titles"][0], "Bob — Fri 4 Dec 2026", "newest first: {f}");
        assert!(
            f["content"][0]
                .as_str()
                .unwrap()
                .contains("<script>alert(1)</script> & \"quotes\""),
            "the text as written, escaped in the XML: {f}"
        );
        assert!(!xml.contains("<script>"), "{xml}");
        assert!(!xml.contains("secret ops"));
        // A person's feed: only theirs.
        let person = path(feed_url(
            &app.ctx,
            &m,
            Scope::Person {
                author: bob,
                team: core,
            },
        ));
        let f = feedparser(
            &srv.http
                .get(srv.url(&person))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
        );
        assert_eq!(f["titles"].as_array().unwrap().len(), 4, "{f}");
        assert!(
            f["titles"]
                .as_array()
                .unwrap()
                .iter()
                .all(|t| t.as_str().unwrap().starts_with("Bob"))
        );
        // Not Ann's team, someone outside the team, a forged signature: the same 404.
        for bad in [
            path(feed_url(&app.ctx, &m, Scope::Team(ops))),
            path(feed_url(
                &app.ctx,
                &m,
                Scope::Person {
                    author: cy,
                    team: core,
                },
            )),
            team.replace(&team[team.len() - 4..], "0000"),
            "/feeds/nonsense".to_string(),
            // The same address spelled another way is no address.
            team.replacen("/feeds/", "/feeds/0", 1),
            team.replacen("/feeds/", "/feeds/+", 1),
        ] {
            let r = srv.http.get(srv.url(&bad)).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "{bad}");
        }
        // `member signout` ends the feed addresses too.
        crate::cli::ok(&crate::cli::run(
            app.dir.path(),
            &app.db_url,
            &["member", "signout", "ann@example.test"],
        ));
        let r = srv.http.get(srv.url(&team)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::GONE, "ended by signout");
    }
);
