//! Tests of `activity` against feeds shaped like the services' own
//! (`tests/fixtures/feeds/*`; each names its source in a leading comment or `_tidings_fixture`).

use chrono::{DateTime, Utc};

use super::*;

/// The bytes of fixture `name`, read at test time so the module works wherever it is copied.
fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/feeds/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

fn entries(name: &str) -> Vec<Entry> {
    read(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("test time")
        .with_timezone(&Utc)
}

fn titles(d: &Draft) -> Vec<(usize, Option<&str>, &str)> {
    d.lines
        .iter()
        .map(|l| (l.n, l.project.as_deref(), l.title.as_str()))
        .collect()
}

fn find<'a>(es: &'a [Entry], title: &str) -> &'a Entry {
    es.iter()
        .find(|e| e.title == title)
        .unwrap_or_else(|| panic!("no entry {title:?}"))
}

fn assert_newest_first(es: &[Entry]) {
    assert!(
        es.windows(2).all(|w| w[0].at >= w[1].at),
        "not newest first"
    );
}

#[test]
fn github_feed() {
    let es = entries("github.atom");
    assert_eq!(es.len(), 9);
    assert_newest_first(&es);
    let pr = &es[1];
    assert_eq!(pr.title, "opened pull request #212: Stream the outbox");
    assert_eq!(
        pr.link.as_deref(),
        Some("https://github.com/tidings/tidings/pull/212")
    );
    assert_eq!(pr.project.as_deref(), Some("tidings/tidings"));
    assert_eq!(pr.kind.as_deref(), Some("pull request"));
    assert_eq!(pr.author.as_deref(), Some("ana-lima"));
    assert_eq!(pr.at, Some(at("2026-12-01T11:20:05Z")));
    assert_eq!(pr.key, "tag:github.com,2008:PullRequestEvent/46718832015");

    let push = &es[0];
    assert_eq!(
        (push.title.as_str(), push.kind.as_deref()),
        ("pushed to main", Some("push"))
    );
    let comment = find(
        &es,
        "commented on issue #205: Digest skips members in UTC+13",
    );
    assert_eq!(comment.kind.as_deref(), Some("comment"));
    let star = find(&es, "starred feed-rs/feed-rs");
    assert_eq!(
        (star.project.as_deref(), star.kind.as_deref()),
        (Some("feed-rs/feed-rs"), Some("star"))
    );
    let branch = find(&es, "created branch outbox-batches");
    assert_eq!(branch.kind.as_deref(), Some("create"));
    let issue = find(&es, "opened issue #31: Document activity feeds");
    assert_eq!(
        (issue.project.as_deref(), issue.kind.as_deref()),
        (Some("tidings/docs"), Some("issue"))
    );
    let bump = find(
        &es,
        "merged pull request #209: Bump serde from 1.0.210 to 1.0.215",
    );
    assert!(is_automated(bump, &NoiseRules::defaults()));
}

#[test]
fn gitlab_feed() {
    let es = entries("gitlab.atom");
    assert_eq!(es.len(), 6);
    assert_newest_first(&es);
    let mr = &es[1];
    assert_eq!(mr.title, "opened merge request !42: Stream the outbox");
    assert_eq!(
        mr.link.as_deref(),
        Some("https://gitlab.com/tidings/tidings/-/merge_requests/42")
    );
    assert_eq!(mr.project.as_deref(), Some("tidings/tidings"));
    assert_eq!(mr.kind.as_deref(), Some("pull request"));
    assert_eq!(mr.author.as_deref(), Some("Ana Lima"));
    assert_eq!(mr.at, Some(at("2026-12-01T09:41:10Z")));

    assert_eq!(
        (es[0].title.as_str(), es[0].kind.as_deref()),
        ("pushed to main", Some("push"))
    );
    let closed = find(&es, "closed issue #17: Digest time ignores DST");
    assert_eq!(closed.project.as_deref(), Some("tidings/infra/deploy"));
    assert_eq!(closed.kind.as_deref(), Some("issue"));
    assert_eq!(
        find(&es, "commented on merge request !40").kind.as_deref(),
        Some("comment")
    );
    assert_eq!(
        find(&es, "accepted merge request !39: Split the scheduler")
            .kind
            .as_deref(),
        Some("merge")
    );
    assert_eq!(
        find(&es, "pushed new branch outbox-batches")
            .kind
            .as_deref(),
        Some("push")
    );
}

#[test]
fn forgejo_feed() {
    let es = entries("forgejo.rss");
    assert_eq!(es.len(), 7);
    assert_newest_first(&es);
    let pr = &es[1];
    assert_eq!(
        pr.title,
        "created pull request #57: Retry SMTP on 421 replies"
    );
    assert_eq!(
        pr.link.as_deref(),
        Some("https://codeberg.org/tidings/tidings/pulls/57")
    );
    assert_eq!(pr.project.as_deref(), Some("tidings/tidings"));
    assert_eq!(pr.kind.as_deref(), Some("pull request"));
    assert_eq!(
        pr.at,
        Some(at("2026-12-01T10:02:31Z")),
        "pubDate +0100 read as UTC"
    );
    assert_eq!(
        pr.key,
        "4815040: https://codeberg.org/tidings/tidings/pulls/57"
    );

    assert_eq!(es[0].title, "pushed to main");
    let relative = find(&es, "pushed to reply-parser");
    assert_eq!(
        relative.link.as_deref(),
        Some(
            "https://codeberg.org/tidings/tidings/compare/\
             0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3...9f8e7d6c5b4a3928171605f4e3d2c1b0a9f8e7d6"
        ),
        "site-relative link made absolute against the channel link"
    );
    assert_eq!(
        find(
            &es,
            "commented on issue #55: Reply parser drops quoted lines"
        )
        .kind
        .as_deref(),
        Some("comment")
    );
    assert_eq!(
        find(&es, "opened issue #55: Reply parser drops quoted lines")
            .kind
            .as_deref(),
        Some("issue")
    );
    let star = find(&es, "starred forgejo/forgejo");
    assert_eq!(
        (star.project.as_deref(), star.kind.as_deref()),
        (Some("forgejo/forgejo"), Some("star"))
    );
    let renovate = find(
        &es,
        "merged pull request #54: Update Rust crate lettre to v0.11.11",
    );
    assert_eq!(renovate.kind.as_deref(), Some("merge"));
    assert!(is_automated(renovate, &NoiseRules::defaults()));
}

#[test]
fn jira_feed() {
    let es = entries("jira.atom");
    assert_eq!(es.len(), 5);
    assert_newest_first(&es);
    let created = &es[0];
    assert_eq!(created.title, "created TID-41: Stream the outbox");
    assert_eq!(
        created.link.as_deref(),
        Some("https://tidings.atlassian.net/browse/TID-41")
    );
    assert_eq!(created.project.as_deref(), Some("TID"));
    assert_eq!(created.kind.as_deref(), Some("issue"));
    assert_eq!(created.author.as_deref(), Some("Ana Lima"));
    assert_eq!(created.at, Some(at("2026-12-01T12:34:56.789Z")));
    assert_eq!(created.key, "urn:uuid:0c5e8f41-7b2d-3a96-8e14-5d9a2c7f3b60");

    let comment = find(&es, "commented on TID-38: Digest skips members in UTC+13");
    assert_eq!(comment.kind.as_deref(), Some("comment"));
    assert_eq!(
        comment.link.as_deref(),
        Some(
            "https://tidings.atlassian.net/browse/TID-38?focusedCommentId=10512\
             &page=com.atlassian.jira.plugin.system.issuetabpanels%3Acomment-tabpanel#comment-10512"
        ),
        "tracking parameter removed, the rest kept"
    );
    let moved = find(
        &es,
        "changed the status to In Progress on TID-43: Keep the last good copy of a feed",
    );
    assert_eq!(moved.kind.as_deref(), Some("issue"));
}

#[test]
fn json_feed() {
    let es = entries("feed.json");
    assert_eq!(es.len(), 5);
    assert_newest_first(&es);
    let docs = &es[0];
    assert_eq!(docs.title, "Reviewed the onboarding guide with Bea");
    assert_eq!(
        docs.link.as_deref(),
        Some("https://ana-lima.dev/log/2026-12-01-onboarding")
    );
    assert_eq!(docs.project.as_deref(), Some("tidings/docs"), "first tag");
    assert_eq!(
        docs.author.as_deref(),
        Some("Ana Lima"),
        "inherited from the feed's authors"
    );
    assert_eq!(docs.at, Some(at("2026-12-01T16:00:00Z")));
    assert_eq!(docs.kind, None, "a free-form title gets no kind");

    let pairing = find(&es, "Paired with Bea on the flaky CI job & its cache");
    assert_eq!(
        (pairing.project.as_deref(), pairing.kind.as_deref()),
        (None, None)
    );
    assert_eq!(
        pairing.at,
        Some(at("2026-11-30T11:00:00Z")),
        "+01:00 read as UTC"
    );
    let undated = es.last().expect("entries");
    assert_eq!(
        (undated.title.as_str(), undated.at),
        ("Ideas for next quarter", None)
    );
}

#[test]
fn not_feeds_are_refused_with_a_reason() {
    let reason = |bytes: &[u8]| match read(bytes) {
        Err(FeedError::NotAFeed(r)) => r,
        Ok(es) => panic!("read {} entries", es.len()),
    };
    assert_eq!(reason(&fixture("malformed.xml")), "broken or cut-off XML");
    assert_eq!(
        reason(&fixture("login.html")),
        "an HTML page (a sign-in or error page?)"
    );
    assert_eq!(reason(b""), "the document is empty");
    assert_eq!(reason(b"  \n"), "the document is empty");
    assert_eq!(
        reason(b"Service Unavailable"),
        "no Atom, RSS or JSON Feed in it"
    );
    assert_eq!(
        reason(b"<error><message>token expired</message></error>"),
        "no Atom, RSS or JSON Feed in it"
    );
    assert_eq!(
        reason(br#"{"message":"401 Unauthorized"}"#),
        "broken JSON, or JSON that is not a JSON Feed"
    );
    assert_eq!(
        reason(&[0xff, 0xfe, 0x00, 0x01]),
        "no Atom, RSS or JSON Feed in it"
    );
    let err = read(&fixture("login.html")).expect_err("login page");
    assert_eq!(
        err.to_string(),
        "not a feed: an HTML page (a sign-in or error page?)"
    );
    for good in [
        "github.atom",
        "gitlab.atom",
        "forgejo.rss",
        "jira.atom",
        "feed.json",
    ] {
        assert_eq!(read(&fixture(good)).map(|_| ()), Ok(()), "{good}");
    }
}

#[test]
fn other_feed_shapes() {
    let rss091 = br#"<?xml version="1.0"?><rss version="0.91"><channel><title>t</title>
        <link>https://example.org/</link><description>d</description>
        <item><title>Shipped &lt;b&gt;v2&lt;/b&gt;</title><link>/news/v2</link></item>
        <item><title>Bad link</title><link>javascript:alert(1)</link></item>
        </channel></rss>"#;
    let es = read(rss091).expect("RSS 0.91");
    assert_eq!(es[0].title, "Shipped v2");
    assert_eq!(es[0].link.as_deref(), Some("https://example.org/news/v2"));
    assert_eq!(es[1].link, None);
    assert_eq!(es[0].at, None);

    let empty = br#"<feed xmlns="http://www.w3.org/2005/Atom"><id>x</id><title>t</title></feed>"#;
    assert_eq!(read(empty), Ok(vec![]));

    let long = format!(
        r#"<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>e</id><title>{}</title></entry></feed>"#,
        "word ".repeat(60)
    );
    let es = read(long.as_bytes()).expect("long title");
    assert_eq!(es[0].title.chars().count(), TITLE_CHARS);
    assert!(es[0].title.ends_with("word…"));

    let untitled = br#"<rss version="2.0"><channel><title>t</title><item><link>https://x.org/a</link>
        <guid>g1</guid></item><item><description>only a &lt;i&gt;summary&lt;/i&gt;</description></item>
        <item></item></channel></rss>"#;
    let es = read(untitled).expect("untitled items");
    let shown: Vec<&str> = es.iter().map(|e| e.title.as_str()).collect();
    assert_eq!(shown, vec!["https://x.org/a", "only a summary"]);
    assert_eq!(es[0].key, "g1");
}

#[test]
fn entries_round_trip_through_json() {
    let es = entries("github.atom");
    let text = serde_json::to_string(&es).expect("serialise");
    let back: Vec<Entry> = serde_json::from_str(&text).expect("deserialise");
    assert_eq!(back, es);
}

/// GitHub and JSON Feed entries together, as the caller reads them before a request.
fn github_and_json() -> Vec<Entry> {
    let mut all = entries("github.atom");
    all.extend(entries("feed.json"));
    all
}

#[test]
fn draft_since_monday_from_two_feeds() {
    let d = draft(
        &github_and_json(),
        at("2026-11-30T00:00:00Z"),
        &[],
        &NoiseRules::defaults(),
        DRAFT_LINES,
    );
    assert_eq!(
        titles(&d),
        vec![
            (
                1,
                Some("tidings/docs"),
                "Reviewed the onboarding guide with Bea"
            ),
            (2, Some("tidings/docs"), "pushed to main"),
            (3, Some("tidings/tidings"), "pushed to main"),
            (
                4,
                Some("tidings/tidings"),
                "opened pull request #212: Stream the outbox"
            ),
            (
                5,
                Some("tidings/tidings"),
                "commented on issue #205: Digest skips members in UTC+13"
            ),
            (6, Some("feed-rs/feed-rs"), "starred feed-rs/feed-rs"),
            (7, None, "Paired with Bea on the flaky CI job & its cache"),
        ],
        "the bump is automated, the JSON item on PR 212 and the older push to main are repeats, \
         entries before Monday and without a date are left out"
    );
    assert_eq!(d.more, 0);
    assert_eq!(
        d.lines[3].link.as_deref(),
        Some("https://github.com/tidings/tidings/pull/212")
    );
    assert_eq!(
        d.lines[2].link.as_deref(),
        Some("https://github.com/tidings/tidings/compare/3f9e1c2a7b...8d04b6e519"),
        "the newest of the repeated pushes"
    );
    let shown: Vec<(Option<&str>, usize)> =
        groups(&d).iter().map(|(p, ls)| (*p, ls.len())).collect();
    assert_eq!(
        shown,
        vec![
            (Some("tidings/docs"), 2),
            (Some("tidings/tidings"), 3),
            (Some("feed-rs/feed-rs"), 1),
            (None, 1)
        ]
    );
    assert_eq!(
        done_line(&d.lines[2]),
        "tidings/tidings: pushed to main <https://github.com/tidings/tidings/compare/3f9e1c2a7b...8d04b6e519>"
    );
    let picked = kept(&d, &parse_keep("keep 1, 4 and 7").expect("keep")).expect("lines");
    let done: Vec<String> = picked.into_iter().map(done_line).collect();
    assert_eq!(
        done,
        vec![
            "tidings/docs: Reviewed the onboarding guide with Bea <https://ana-lima.dev/log/2026-12-01-onboarding>",
            "tidings/tidings: opened pull request #212: Stream the outbox <https://github.com/tidings/tidings/pull/212>",
            "Paired with Bea on the flaky CI job & its cache <https://ana-lima.dev/log/2026-11-30-pairing>",
        ]
    );
    assert_eq!(
        kept(&d, &Keep::Lines(vec![2, 9])),
        Err("there is no line 9: the draft has 7".to_string())
    );
}

#[test]
fn dedup_keeps_the_newest_whatever_the_feed_order() {
    let mut all = entries("feed.json");
    all.extend(entries("github.atom"));
    let d = draft(
        &all,
        at("2026-11-30T00:00:00Z"),
        &[],
        &NoiseRules::defaults(),
        DRAFT_LINES,
    );
    let again = draft(
        &github_and_json(),
        at("2026-11-30T00:00:00Z"),
        &[],
        &NoiseRules::defaults(),
        DRAFT_LINES,
    );
    assert_eq!(d, again);

    let mut same_key = entries("github.atom");
    same_key.extend(entries("github.atom"));
    let d = draft(
        &same_key,
        at("2026-11-26T00:00:00Z"),
        &[],
        &NoiseRules::none(),
        DRAFT_LINES,
    );
    assert_eq!(
        d.lines.len() + d.more,
        8,
        "9 entries, one repeated push to main"
    );
}

#[test]
fn muting_a_project_or_a_kind() {
    let since = at("2026-11-30T00:00:00Z");
    let rules = NoiseRules::defaults();
    let mute = |m: &[&str]| m.iter().map(|s| s.to_string()).collect::<Vec<_>>();

    let d = draft(
        &github_and_json(),
        since,
        &mute(&["tidings"]),
        &rules,
        DRAFT_LINES,
    );
    assert_eq!(
        titles(&d),
        vec![
            (1, Some("feed-rs/feed-rs"), "starred feed-rs/feed-rs"),
            (2, None, "Paired with Bea on the flaky CI job & its cache")
        ]
    );

    let d = draft(
        &github_and_json(),
        since,
        &mute(&["Push", "star"]),
        &rules,
        DRAFT_LINES,
    );
    let shown: Vec<&str> = d.lines.iter().map(|l| l.title.as_str()).collect();
    assert_eq!(
        shown,
        vec![
            "Reviewed the onboarding guide with Bea",
            "opened pull request #212: Stream the outbox",
            "commented on issue #205: Digest skips members in UTC+13",
            "Paired with Bea on the flaky CI job & its cache",
        ]
    );

    let d = draft(
        &github_and_json(),
        since,
        &mute(&["tidings/docs"]),
        &rules,
        DRAFT_LINES,
    );
    assert!(
        d.lines
            .iter()
            .all(|l| l.project.as_deref() != Some("tidings/docs"))
    );
    assert_eq!(d.lines.len(), 5);
}

#[test]
fn without_rules_the_bump_is_kept() {
    let d = draft(
        &github_and_json(),
        at("2026-11-30T00:00:00Z"),
        &[],
        &NoiseRules::none(),
        DRAFT_LINES,
    );
    assert!(d.lines.iter().any(|l| l.title.contains("Bump serde")));
    assert_eq!(d.lines.len(), 8);
}
