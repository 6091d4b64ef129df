//! Activity drafts (#35) through the member's other ways in, on both backends: the reply
//! commands (`activity URL` read at once, `activity mute` / `unmute`, a bad address refused,
//! `keep 9` refused saying why, `activity off`), the API (`activity_feeds` and
//! `activity_mutes` in the preferences, `GET /api/v1/me/draft`, `keep_draft`), `member set
//! --activity-feed`, and a feed's address never in a log line or in `doctor`'s warning.

use crate::activity::app_with_feeds;
use crate::helpers::*;
use crate::support::feeds;

/// What the member was told by notices and receipts since the start, newest last.
fn told(app: &TestApp, who: &str) -> Vec<String> {
    app.sent()
        .into_iter()
        .filter(|n| n.starts_with("notice_") || n.starts_with("receipt_"))
        .filter_map(|n| Some((n.split(['_', '.']).nth(1)?.parse::<u64>().ok()?, n)))
        .collect::<std::collections::BTreeMap<u64, String>>()
        .into_values()
        .map(|n| app.read_sent(&n))
        .filter(|raw| raw.contains(who))
        .map(|raw| format!("{}\n{}", subject_of(&raw), text_body(&raw)))
        .collect()
}

async fn command(app: &TestApp, n: &str, words: &str, now: &str) -> String {
    let raw = gmail_reply(
        "ana@example.test",
        "updates@example.test",
        "request@example.test",
        &format!("{n}@client.test"),
        words,
    );
    app.deliver(&format!("{n}.eml"), &vouched("example.test", &raw), at(now))
        .await;
    tidings::jobs::send::run(&app.ctx, at(now))
        .await
        .expect("send");
    // Sent files are named by outbox id: the last one is this command's answer.
    told(app, "ana@example.test").pop().unwrap_or_default()
}

async fn reply_commands(db: Db) {
    let app = app_with_feeds(db).await;
    let base = feeds::serve().await.base;
    let ana = app.member("ana@example.test", "Ana Lima", "UTC").await;
    let said = command(
        &app,
        "c1",
        &format!("activity {base}/f/github.atom"),
        "2026-12-01T09:00:00Z",
    )
    .await;
    assert!(said.contains("Done: your activity feed is added"), "{said}");
    assert!(said.contains("127.0.0.1 …hub.atom"), "{said}");
    assert!(said.contains("Read now: 9 entries."), "{said}");
    assert!(
        !said.contains("/f/github.atom"),
        "the address whole: {said}"
    );
    let said = command(
        &app,
        "c2",
        "activity mute tidings/docs",
        "2026-12-01T09:01:00Z",
    )
    .await;
    assert!(said.contains("\"tidings/docs\" is muted"), "{said}");
    let said = command(&app, "c3", "activity mute star", "2026-12-01T09:02:00Z").await;
    assert!(said.contains("\"star\" is muted"), "{said}");
    let m = app.ctx.store.member_by_id(ana).await.unwrap().unwrap();
    let date = "2026-12-01".parse().unwrap();
    let (_, d) = tidings::jobs::activity::draft_now(&app.ctx, &m, date)
        .await
        .expect("draft")
        .expect("a feed");
    let titles: Vec<&str> = d.lines.iter().map(|l| l.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "pushed to main",
            "opened pull request #212: Stream the outbox",
            "commented on issue #205: Digest skips members in UTC+13"
        ],
        "docs and the star muted: {d:?}"
    );
    let said = command(&app, "c4", "activity unmute star", "2026-12-01T09:03:00Z").await;
    assert!(said.contains("\"star\" is no longer muted"), "{said}");
    // A bad address is refused, saying why, and nothing is added.
    let said = command(
        &app,
        "c5",
        "activity ftp://example.org/x.atom",
        "2026-12-01T09:04:00Z",
    )
    .await;
    assert!(said.contains("Your activity feed was not added"), "{said}");
    assert_eq!(app.ctx.store.activity_feeds(ana).await.unwrap().len(), 1);
    // "keep" with a number not in the draft: nothing saved, the member told why.
    app.tick(at("2026-12-01T16:30:00Z")).await;
    let said = command(&app, "c6", "keep 9", "2026-12-01T17:00:00Z").await;
    assert!(said.contains("Your draft was not kept"), "{said}");
    assert!(said.contains("the draft has 4"), "{said}");
    assert!(app.ctx.store.update_for(ana, date).await.unwrap().is_none());
    let said = command(&app, "c7", "activity off", "2026-12-01T17:01:00Z").await;
    assert!(said.contains("Done: your activity feeds are off"), "{said}");
    assert!(app.ctx.store.activity_feeds(ana).await.unwrap().is_empty());
}

#[tokio::test]
async fn reply_commands_sqlite() {
    reply_commands(Db::Sqlite).await
}

#[tokio::test]
async fn reply_commands_postgres() {
    reply_commands(Db::Postgres).await
}

async fn through_the_api(db: Db) {
    use reqwest::{Method, StatusCode};
    use serde_json::json;
    let app = app_with_feeds(db).await;
    let base = feeds::serve().await.base;
    let ana = app.member("ana@example.test", "Ana Lima", "UTC").await;
    let ben = app.member("ben@example.test", "Ben Carter", "UTC").await;
    let srv = crate::web::Server::start(&app, |_| {}).await;
    let t = srv.token_for(ana).await;
    let path = "/api/v1/me/preferences";
    // No feed: an empty draft, and keep_draft is refused.
    let (s, d) = srv.get("/api/v1/me/draft", Some(&t)).await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["lines"], json!([]), "{d}");
    assert!(d.get("since").is_none(), "{d}");
    let (s, v) = srv
        .send(
            Method::POST,
            "/api/v1/updates",
            Some(&t),
            json!({"keep_draft": true}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("no draft"),
        "{v}"
    );
    // Feeds and mutes through the preferences.
    let body = json!({
        "activity_feeds": [{"address": format!("{base}/f/github.atom")}, {"address": format!("{base}/f/gitlab.atom")}],
        "activity_mutes": ["star"],
    });
    let (s, v) = srv.send(Method::PUT, path, Some(&t), body).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let feeds = v["activity_feeds"].as_array().cloned().unwrap_or_default();
    assert_eq!(feeds.len(), 2, "{v}");
    assert_eq!(feeds[0]["address"], "127.0.0.1 …hub.atom");
    assert!(!v.to_string().contains("/f/github.atom"), "{v}");
    assert_eq!(v["activity_mutes"], json!(["star"]));
    // 422 naming the item, nothing changed.
    for (body, says) in [
        (
            json!({"activity_feeds": [{"address": "ftp://example.org/x"}]}),
            "activity_feeds[0].address",
        ),
        (
            json!({"activity_feeds": [{"id": 999, "address": "x"}]}),
            "activity_feeds[0].id: 999 is not one of your feeds",
        ),
        (json!({"activity_mutes": [" "]}), "activity_mutes[0]"),
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
    // The GET body sent back keeps them; Ben's token sees none of Ana's.
    let (_, mine) = srv.get(path, Some(&t)).await;
    let (s, v) = srv.send(Method::PUT, path, Some(&t), mine.clone()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["activity_feeds"], mine["activity_feeds"]);
    let tb = srv.token_for(ben).await;
    let (_, theirs) = srv.get(path, Some(&tb)).await;
    assert_eq!(theirs["activity_feeds"], json!([]));
    // Read now; today's draft is Ana's alone (the fixtures' entries are of late 2026, so
    // what it holds depends on today: only its shape is checked here).
    tidings::jobs::activity::refresh_member(&app.ctx, ana, chrono::Utc::now())
        .await
        .expect("read");
    let (_, v) = srv.get(path, Some(&t)).await;
    assert_eq!(v["activity_feeds"][0]["entries"], 9, "{v}");
    let (s, d) = srv.get("/api/v1/me/draft", Some(&t)).await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert!(d["since"].is_string(), "{d}");
    assert_eq!(d["sent"], false, "{d}");
    let (_, d) = srv.get("/api/v1/me/draft", Some(&tb)).await;
    assert_eq!(d["lines"], json!([]), "Ben sees nothing of Ana's: {d}");
    // keep_draft on a day with a draft: the request's stored draft for 1 Dec.
    let m = app.ctx.store.member_by_id(ana).await.unwrap().unwrap();
    let date: chrono::NaiveDate = "2026-12-01".parse().unwrap();
    let since = "2026-11-30T00:00:00Z"
        .parse::<chrono::DateTime<chrono::Utc>>()
        .unwrap();
    let entries = app.ctx.store.activity_entries(ana).await.unwrap();
    let rules = tidings::domain::activity::NoiseRules::defaults();
    let draft = tidings::domain::activity::draft(&entries, since, &["star".into()], &rules, 100);
    app.ctx
        .store
        .save_draft(ana, date, since.timestamp(), &draft)
        .await
        .expect("saved");
    let kept = tidings::jobs::activity::kept_text(
        &app.ctx,
        &m,
        date,
        &tidings::domain::activity::Keep::All,
        "Also: reviews.",
    )
    .await
    .expect("read")
    .expect("kept");
    assert!(kept.0.starts_with("What did you get done?\n- "), "{kept:?}");
    assert!(
        kept.0.contains("opened merge request !42"),
        "GitLab's: {kept:?}"
    );
    let (s, v) = srv
        .send(
            Method::POST,
            "/api/v1/updates",
            Some(&t),
            json!({"keep_draft": true, "text": "Also: reviews.", "date": "2026-12-01"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["update"]["sections"][0]["kind"], "done", "{v}");
    assert_eq!(v["update"]["text"], kept.0, "{v}");
    // The member's draft page shows today's stored draft whole, grouped and numbered as the
    // request does; another member's page shows none of it.
    let today = chrono::Utc::now().date_naive();
    app.ctx
        .store
        .save_draft(ana, today, since.timestamp(), &draft)
        .await
        .expect("saved");
    let page = srv
        .get_text(&format!("{}/draft", srv.fresh_link(ana)))
        .await;
    assert!(
        page.contains(&format!("Your draft for {}", today.format("%a %-d %b"))),
        "{page}"
    );
    assert!(
        page.contains("From your activity since Mon 30 Nov:"),
        "{page}"
    );
    assert!(page.contains("<h2>tidings/tidings</h2>"), "{page}");
    assert!(
        page.contains("<a href=\"https://github.com/tidings/tidings/pull/212\">opened pull request #212: Stream the outbox</a>"),
        "{page}"
    );
    let theirs = srv
        .get_text(&format!("{}/draft", srv.fresh_link(ben)))
        .await;
    assert!(theirs.contains("You have no activity feed"), "{theirs}");
    assert!(!theirs.contains("Stream the outbox"), "{theirs}");
}

#[tokio::test]
async fn through_the_api_sqlite() {
    through_the_api(Db::Sqlite).await
}

#[tokio::test]
async fn through_the_api_postgres() {
    through_the_api(Db::Postgres).await
}

#[test]
fn feeds_from_the_command_line() {
    use crate::cli::{ok, run};
    let dir = tempfile::tempdir().expect("temp dir");
    let p = dir.path();
    let db = format!("sqlite://{}", p.join("t.db").display());
    crate::cli::team_with_a(p, &db);
    let url = "https://gitlab.example.com/a.atom?feed_token=glft-s3cr3t";
    let out = ok(&run(
        p,
        &db,
        &[
            "member",
            "set",
            "a@example.com",
            "--activity-feed",
            url,
            "--activity-mute",
            "star",
        ],
    ));
    assert!(
        out.contains("activity feed: gitlab.example.com …/a.atom (not read yet"),
        "{out}"
    );
    assert!(out.contains("muted in drafts: star"), "{out}");
    assert!(!out.contains("glft-s3cr3t"), "{out}");
    for bad in ["http://gitlab.example.com/a.atom", "not an address"] {
        let o = run(
            p,
            &db,
            &["member", "set", "a@example.com", "--activity-feed", bad],
        );
        assert_eq!(o.status.code(), Some(2), "{bad}");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("--activity-feed"),
            "{bad}"
        );
    }
    let out = ok(&run(
        p,
        &db,
        &[
            "member",
            "set",
            "a@example.com",
            "--no-activity-feeds",
            "--activity-unmute",
            "star",
        ],
    ));
    assert!(out.contains("no activity feeds"), "{out}");
    assert!(!out.contains("muted in drafts"), "{out}");
}

#[test]
fn a_feed_address_never_reaches_the_logs_even_at_trace_level() {
    use crate::cli::run;
    const SECRET: &str = "glft-0123456789abcdef";
    let dir = tempfile::tempdir().expect("temp dir");
    let p = dir.path();
    let db = format!("sqlite://{}", p.join("t.db").display());
    let port =
        crate::calendar_cli::serve_once_per_connection(include_str!("../fixtures/feeds/feed.json"));
    crate::cli::team_with_a(p, &db);
    let cmd = || crate::cli::fetching(p, &db);
    for url in [
        format!("http://127.0.0.1:{port}/a.atom?feed_token={SECRET}"),
        format!("http://127.0.0.1:1/{SECRET}/a.atom"),
        format!("http://127.0.0.1:{port}/{SECRET}/feed.json"),
    ] {
        let o = cmd()
            .args(["member", "set", "a@example.com", "--activity-feed", &url])
            .output()
            .expect("runs");
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success() && !out.contains(SECRET), "{out}");
    }
    let o = cmd()
        .env("TIDINGS_LOG", "trace")
        .args(["run-due", "--now", "2026-12-01T12:00:00Z"])
        .output()
        .expect("runs");
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert!(
        out.contains("feeds read 2, unchanged 0, failing 1"),
        "{out}\n{err}"
    );
    assert!(err.lines().count() > 20, "trace logging is on: {err}");
    assert!(!err.contains(SECRET) && !out.contains(SECRET), "{err}");
    // doctor warns about the one that fails, by member and host, never its address.
    let doctor = String::from_utf8_lossy(&run(p, &db, &["doctor"]).stdout).to_string();
    assert!(
        doctor.contains("warn  activity feeds: 1 of 3 cannot be read (member 1's 127.0.0.1 …f/a.atom since 2026-12-01T12:00:00Z: cannot connect to 127.0.0.1)"),
        "{doctor}"
    );
    assert!(!doctor.contains(SECRET), "{doctor}");
}
