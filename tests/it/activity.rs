//! Activity drafts (#35), on both backends, with the feeds served by a real HTTP server on
//! loopback (ETag and 304) in the exact formats GitHub, GitLab, Forgejo, Jira and JSON Feed
//! write (`tests/fixtures/feeds/`, each naming its source): the request quotes the draft;
//! a top-posted `keep` stores its lines as Done with their links, and the digest and the log
//! show them as links; `keep 2` keeps one line; a reply that quotes the draft without `keep`
//! stores none of it; feeds that are malformed, a login page, oversized, slow, answering 500
//! or redirecting to a metadata address give no draft, the request still goes out, and the
//! member's page says why; nothing of a feed reaches another member (the other ways in:
//! `activity_api.rs`).

use tidings::domain::sections::Kind;

use crate::helpers::*;
use crate::support::feeds;

pub(crate) async fn app_with_feeds(db: Db) -> TestApp {
    TestApp::with(db, |c| {
        // The feed server is on loopback: allowed here, as for a forge on the LAN.
        c.fetch.allow_private = true;
        c.fetch.allow_http = true;
        c.fetch.timeout_secs = 2;
        c.fetch.max_bytes = 200_000;
    })
    .await
}

/// The one request `who` got for `date`.
fn request_of(app: &TestApp, who: i64, date: &str) -> String {
    let name = format!("request_{who}_{date}.tidings.eml");
    assert!(app.sent().contains(&name), "no {name} in {:?}", app.sent());
    app.read_sent(&name)
}

/// A reply from `from` to the request `raw` with `words` on top and the whole request
/// quoted below (`quote`), or the plain Gmail shape of the helpers.
async fn answer(app: &TestApp, raw: &str, from: &str, n: &str, words: &str, now: &str) {
    let (reply_to, mid) = reply_headers(raw);
    let quoted: String = text_body(raw)
        .lines()
        .map(|l| format!("> {l}\r\n"))
        .collect();
    let msg = format!(
        "From: {from}\r\nTo: {reply_to}\r\nSubject: Re: stand-up\r\nMessage-ID: <{n}@client.test>\r\nIn-Reply-To: {mid}\r\nReferences: {mid}\r\nDate: Tue, 1 Dec 2026 17:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{words}\r\n\r\nOn Tue, 1 Dec 2026 at 16:30, Tidings <updates@example.test> wrote:\r\n{quoted}"
    );
    let r = app
        .deliver(
            &format!("{n}.eml"),
            &vouched("example.test", msg.as_bytes()),
            at(now),
        )
        .await;
    assert_eq!((r.accepted, r.quarantined), (1, 0), "{n}: {r:?}");
}

async fn done_of(app: &TestApp, who: i64, date: &str) -> Vec<(Kind, String)> {
    app.ctx
        .store
        .update_for(who, date.parse().expect("date"))
        .await
        .expect("read")
        .unwrap_or_else(|| panic!("no update of {who} for {date}"))
        .sections
        .into_iter()
        .map(|s| (s.kind, s.text))
        .collect()
}

const PR: &str = "https://github.com/tidings/tidings/pull/212";

async fn drafts_in_requests_and_keep(db: Db) {
    let app = app_with_feeds(db).await;
    let feeds = feeds::serve().await;
    let base = feeds.base.clone();
    let ana = app.member("ana@example.test", "Ana Lima", "UTC").await;
    let ben = app.member("ben@example.test", "Ben Carter", "UTC").await;
    let cy = app.member("cy@example.test", "Cy Park", "UTC").await;
    let dee = app.member("dee@example.test", "Dee Roy", "UTC").await;
    for who in [ana, ben, cy] {
        for f in ["github.atom", "feed.json"] {
            app.ctx
                .store
                .add_activity_feed(who, &format!("{base}/f/{f}"))
                .await
                .expect("feed");
        }
    }
    // Read before the requests (as run-due does), then Tuesday 1 Dec at 16:30 UTC.
    let r = tidings::jobs::activity::run(&app.ctx, at("2026-12-01T16:00:00Z"))
        .await
        .expect("feeds read");
    assert_eq!((r.read, r.failed), (6, 0), "{r:?}");
    app.tick(at("2026-12-01T16:30:00Z")).await;

    let raw = request_of(&app, ana, "2026-12-01");
    let text = text_body(&raw);
    assert!(
        text.contains("From your activity since Mon 30 Nov:\n> tidings/docs\n> 1. Reviewed the onboarding guide with Bea <"),
        "{text}"
    );
    assert!(
        text.contains("> tidings/tidings\n> 3. pushed to main <"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "> 4. opened pull request #212: Stream the outbox <{PR}>"
        )),
        "{text}"
    );
    assert!(text.contains("> Other\n> 7. Paired with Bea"), "{text}");
    assert!(text.contains("Reply \"keep\" on the first line"), "{text}");
    // Before Mon 30 Nov, and the dependency bump, are left out.
    assert!(!text.contains("Bump serde"), "{text}");
    let html = html_of(&raw);
    assert!(html.contains(&format!("<a href=\"{PR}\"")), "{html}");
    // Dee has no feed: no draft.
    assert!(!text_body(&request_of(&app, dee, "2026-12-01")).contains("From your activity"));

    // Ana keeps it all and adds a line; Ben keeps line 2; Cy quotes the draft without keep.
    answer(
        &app,
        &raw,
        "ana@example.test",
        "a1",
        "keep\nAlso paired with Dee on the importer.",
        "2026-12-01T17:00:00Z",
    )
    .await;
    let ben_raw = request_of(&app, ben, "2026-12-01");
    answer(
        &app,
        &ben_raw,
        "ben@example.test",
        "b1",
        "keep 2",
        "2026-12-01T17:00:00Z",
    )
    .await;
    let cy_raw = request_of(&app, cy, "2026-12-01");
    answer(
        &app,
        &cy_raw,
        "cy@example.test",
        "c1",
        "Worked on the importer all day.",
        "2026-12-01T17:00:00Z",
    )
    .await;

    let ana_done = done_of(&app, ana, "2026-12-01").await;
    assert_eq!(ana_done.len(), 1, "{ana_done:?}");
    assert_eq!(ana_done[0].0, Kind::Done);
    assert!(
        ana_done[0].1.contains(&format!(
            "\n- tidings/tidings: opened pull request #212: Stream the outbox <{PR}>\n"
        )),
        "{ana_done:?}"
    );
    assert!(
        ana_done[0]
            .1
            .ends_with("Also paired with Dee on the importer."),
        "{ana_done:?}"
    );
    let ben_done = done_of(&app, ben, "2026-12-01").await;
    assert_eq!(
        ben_done,
        vec![(
            Kind::Done,
            "- tidings/docs: pushed to main <https://github.com/tidings/docs/compare/a41c0d9f3e...e27b5c8d10>".to_string()
        )],
        "line 2 alone"
    );
    let cy_done = done_of(&app, cy, "2026-12-01").await;
    assert_eq!(
        cy_done,
        vec![(Kind::Other, "Worked on the importer all day.".to_string())]
    );
    tidings::jobs::send::run(&app.ctx, at("2026-12-01T17:01:00Z"))
        .await
        .expect("send");
    let receipt = app
        .sent_of("receipt_")
        .into_iter()
        .map(|n| app.read_sent(&n))
        .find(|r| r.contains("ben@example.test"))
        .expect("Ben's receipt");
    assert!(
        text_body(&receipt).contains("Kept from your draft: line 2, as your Done."),
        "{}",
        text_body(&receipt)
    );

    // Wednesday's digest for Dee: the kept lines as links; nothing Cy did not keep.
    app.tick(at("2026-12-02T08:30:00Z")).await;
    let digest = app.read_sent(&format!("digest_{dee}_2026-12-02.tidings.eml"));
    let html = html_of(&digest);
    assert!(
        html.contains(&format!(
            "<a href=\"{PR}\">tidings/tidings: opened pull request #212: Stream the outbox</a>"
        )),
        "{html}"
    );
    // Ana's alone: Ben kept another line, Cy none.
    assert_eq!(
        text_body(&digest).matches("Stream the outbox").count(),
        1,
        "{}",
        text_body(&digest)
    );
    assert!(text_body(&digest).contains("Worked on the importer all day."));
    assert!(text_body(&digest).contains(&format!("<{PR}>")));

    // The next read after the refresh interval: every feed answers 304.
    let r = tidings::jobs::activity::run(&app.ctx, at("2026-12-01T18:00:00Z"))
        .await
        .expect("feeds read");
    assert_eq!((r.unchanged, r.read), (6, 0), "{r:?}");
    assert_eq!(feeds.revalidated(), 6);
    // The team log shows the kept titles as links too (the server reads feeds on its own
    // timer, at today's date: after the reads above).
    let srv = crate::web::Server::start(&app, |_| {}).await;
    let cookie = srv.signed_in(dee).await;
    let log = srv
        .http
        .get(srv.url("/log/core"))
        .header("cookie", cookie)
        .send()
        .await
        .expect("the log")
        .text()
        .await
        .expect("its text");
    assert!(
        log.contains(&format!(
            "<a href=\"{PR}\">tidings/tidings: opened pull request #212: Stream the outbox</a>"
        )),
        "{log}"
    );
}

#[tokio::test]
async fn drafts_in_requests_and_keep_sqlite() {
    drafts_in_requests_and_keep(Db::Sqlite).await
}

#[tokio::test]
async fn drafts_in_requests_and_keep_postgres() {
    drafts_in_requests_and_keep(Db::Postgres).await
}

async fn broken_feeds_give_no_draft(db: Db) {
    let app = app_with_feeds(db).await;
    let base = feeds::serve().await.base;
    let cases = [
        ("/f/malformed.xml", "not a feed"),
        ("/f/login.html", "not a feed"),
        ("/broken/big", "larger than 200000 bytes"),
        ("/broken/slow", "no answer within 2 s"),
        ("/broken/500", "the server answered 500"),
        ("/broken/metadata", "169.254.169.254"),
    ];
    let mut members = Vec::new();
    for (i, (path, _)) in cases.iter().enumerate() {
        let who = app
            .member(&format!("m{i}@example.test"), &format!("M{i}"), "UTC")
            .await;
        app.ctx
            .store
            .add_activity_feed(who, &format!("{base}{path}"))
            .await
            .expect("feed");
        members.push(who);
    }
    let r = tidings::jobs::activity::run(&app.ctx, at("2026-12-01T16:00:00Z"))
        .await
        .expect("the job itself does not fail");
    assert_eq!(r.failed, cases.len(), "{r:?}");
    app.tick(at("2026-12-01T16:30:00Z")).await;
    let srv = crate::web::Server::start(&app, |_| {}).await;
    for (who, (path, why)) in members.iter().zip(cases) {
        let text = text_body(&request_of(&app, *who, "2026-12-01"));
        assert!(!text.contains("From your activity"), "{path}: {text}");
        let page = srv.get_text(&srv.fresh_link(*who)).await;
        assert!(page.contains("could not be read since"), "{path}: {page}");
        assert!(page.contains(why), "{path}: wants {why:?} in\n{page}");
        assert!(!page.contains(path), "{path}: the address is shown whole");
    }
    // The admin page and the metrics count them, and list each by host and last characters.
    let admin = srv
        .http
        .get(srv.url("/"))
        .header("authorization", format!("Bearer {}", crate::web::ADMIN))
        .send()
        .await
        .expect("admin page")
        .text()
        .await
        .unwrap_or_default();
    assert!(admin.contains("<table id=\"feeds-failing\">"), "{admin}");
    assert!(admin.contains("…oken/500</code>"), "{admin}");
    assert!(!admin.contains("not a feed: not a feed"), "{admin}");
    assert!(!admin.contains("/broken/500"), "{admin}");
    let metrics = srv.get_text("/metrics").await;
    assert!(
        metrics.contains("tidings_activity_feeds{state=\"failing\"} 6"),
        "{metrics}"
    );
}

#[tokio::test]
async fn broken_feeds_give_no_draft_sqlite() {
    broken_feeds_give_no_draft(Db::Sqlite).await
}

#[tokio::test]
async fn broken_feeds_give_no_draft_postgres() {
    broken_feeds_give_no_draft(Db::Postgres).await
}
