//! Outgoing mail through the real Postfix of the rig, on SQLite and on PostgreSQL: a digest
//! holds exactly the updates its reader has not seen (late and edited ones marked) and a second
//! pass sends nothing; a 4xx (the rig's deferred recipient, or Postfix stopped) is retried and
//! delivered once; a 5xx is recorded as failed and never retried; every message delivered
//! carries our headers; the List-Unsubscribe URL works with one POST.
//!
//! The tests share one rig and one of them stops Postfix, so they run one at a time (`SERIAL`).

mod support;

use chrono::{DateTime, NaiveDate, Utc};
use support::{at, member_defaults, rig, rig_config, text_of, wait_maildir};
use tidings::config::Config;
use tidings::domain::EmailAddress;
use tidings::domain::token::ReplyToken;
use tidings::jobs::{self, Ctx, compose};
use tidings::store::{DueKind, MemberChange, OutboxRow};

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const BIN: &str = env!("CARGO_BIN_EXE_tidings");

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

struct App {
    ctx: Ctx,
    db_url: String,
    _dir: tempfile::TempDir,
}

async fn app(rig: &rig::Rig, postgres: bool) -> App {
    app_with(rig, postgres, |_| {}).await
}

async fn app_with(rig: &rig::Rig, postgres: bool, tweak: impl FnOnce(&mut Config)) -> App {
    let dir = tempfile::tempdir().unwrap();
    let db_url = if postgres {
        rig.fresh_pg_url()
    } else {
        format!("sqlite://{}", dir.path().join("t.db").display())
    };
    let mut c = rig_config(rig, &db_url, dir.path(), "updates");
    c.mail.smtp.timeout_secs = 10;
    tweak(&mut c);
    let ctx = Ctx::build(c).await.expect("ctx");
    App {
        ctx,
        db_url,
        _dir: dir,
    }
}

impl App {
    async fn member(&self, email: &str, name: &str, tz: &str) -> i64 {
        let ch = MemberChange {
            name: Some(name.into()),
            tz: Some(tz.parse().unwrap()),
            teams: Some(vec!["core".into()]),
            ..Default::default()
        };
        let d = member_defaults();
        self.ctx
            .store
            .add_member(&EmailAddress::parse(email).unwrap(), &ch, &d)
            .await
            .unwrap()
    }

    async fn tick(&self, now: DateTime<Utc>) -> (jobs::plan::PlanReport, jobs::send::SendReport) {
        let p = jobs::plan::run(&self.ctx, now).await.expect("plan");
        let s = jobs::send::run(&self.ctx, now).await.expect("send");
        (p, s)
    }

    async fn row(&self, key: &str) -> Option<OutboxRow> {
        self.ctx
            .store
            .list_outbox(false, 1000)
            .await
            .unwrap()
            .into_iter()
            .find(|r| r.idem_key == key)
    }

    /// Every row of `kind` to `member` in the outbox, by local date.
    async fn sent_rows(&self, member: i64, kind: &str) -> Vec<OutboxRow> {
        let mut rows: Vec<OutboxRow> = self
            .ctx
            .store
            .list_outbox(false, 5000)
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.member_id == Some(member) && r.kind == kind)
            .collect();
        rows.sort_by(|x, y| x.local_date.cmp(&y.local_date));
        rows
    }

    async fn update(&self, member: i64, date: &str, text: &str) {
        self.ctx
            .store
            .upsert_update(member, d(date), text, &[], "api", None, false, 0)
            .await
            .unwrap();
    }
}

/// The messages in `user`'s Maildir carrying `message_id`, waiting up to 20 s for at least
/// `want` of them (Postfix delivers asynchronously after accepting).
fn delivered(rig: &rig::Rig, user: &str, message_id: &str, want: usize) -> Vec<String> {
    let needle = format!("<{message_id}>");
    wait_maildir(rig, user, want, |s| {
        s.lines()
            .any(|l| l.starts_with("Message-ID:") && l.contains(&needle))
    })
}

/// The header checks every outgoing message must pass, by kind.
fn check_headers(ctx: &Ctx, row: &OutboxRow, raw: &str) {
    let m = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .expect("parses");
    let h = |name: &str| {
        m.header_raw(name)
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|| panic!("{} lacks {name}:\n{raw}", row.idem_key))
    };
    assert_eq!(m.message_id(), Some(row.message_id.as_str()), "{raw}");
    assert_eq!(h("X-Tidings-Kind"), row.kind);
    assert_eq!(h("Auto-Submitted"), "auto-generated");
    // Out-of-office replies to requests and reminders come through (they mark the member
    // away); everything else suppresses every automatic answer.
    let suppress = if ["request", "reminder"].contains(&row.kind.as_str()) {
        "DR, RN, NRN"
    } else {
        "All"
    };
    assert_eq!(h("X-Auto-Response-Suppress"), suppress);
    assert!(m.date().is_some(), "{raw}");
    if row.kind == "receipt" {
        // A reply to a receipt ("replace") lands in the mailbox Tidings reads, for that day.
        let rt = h("Reply-To");
        assert!(rt.contains("+m"), "a token address: {rt}");
        assert!(
            m.in_reply_to().as_text().is_some(),
            "threaded under the reply"
        );
    }
    if ["request", "reminder", "digest"].contains(&row.kind.as_str()) {
        let id = h("List-Id");
        assert!(
            id.starts_with("\"Tidings: ") && id.ends_with(".tidings.example.test>"),
            "one list per team: {id}"
        );
        let lu = h("List-Unsubscribe");
        assert!(
            lu.starts_with("<http") && lu.contains("/u/") && lu.ends_with('>'),
            "{lu}"
        );
        assert_eq!(h("List-Unsubscribe-Post"), "List-Unsubscribe=One-Click");
        assert!(
            m.body_html(0).is_some(),
            "{} has an HTML part",
            row.idem_key
        );
        assert!(
            !text_of(raw.as_bytes()).contains('<'),
            "the text part is real text, not HTML"
        );
    }
    // Every text part is format=flowed, wrapped at 72: no line longer (the soft break's space
    // aside) unless it is one word, such as a URL, which is never split.
    let part = m
        .text_body
        .first()
        .and_then(|&id| m.part(id))
        .expect("a text part");
    let ct = mail_parser::MimeHeaders::content_type(part).expect("a content type");
    assert_eq!(ct.attribute("format"), Some("flowed"), "{}", row.idem_key);
    let wire = m.body_text(0).map(|t| t.to_string()).unwrap_or_default();
    for line in wire.lines() {
        let words = line.split(' ').filter(|w| !w.is_empty()).count();
        assert!(
            line.chars().count() <= 73 || words <= 1 || line.starts_with('>'),
            "{}: a line of {} characters: {line:?}",
            row.idem_key,
            line.chars().count()
        );
    }
    for url in wire.split_whitespace().filter(|w| w.starts_with("http")) {
        assert!(
            text_of(raw.as_bytes()).contains(url),
            "{}: {url} is whole",
            row.idem_key
        );
    }
    if ["request", "reminder"].contains(&row.kind.as_str()) {
        let rt = m
            .reply_to()
            .and_then(|a| a.first())
            .and_then(|a| a.address.as_deref())
            .unwrap_or_default()
            .to_string();
        let token = rt
            .strip_prefix("updates+")
            .and_then(|r| r.strip_suffix("@example.test"))
            .unwrap_or_else(|| panic!("Reply-To {rt:?} is not sub-addressed"));
        let t = ReplyToken::verify(token, &ctx.secret).expect("the reply token verifies");
        assert_eq!(Some(t.member), row.member_id);
    }
}

/// Every sent row of the outbox arrived exactly once and passes the header checks.
async fn all_sent_mail_passes_the_header_checks(rig: &rig::Rig, a: &App) -> usize {
    let rows = a.ctx.store.list_outbox(false, 1000).await.unwrap();
    let mut n = 0;
    for r in rows.iter().filter(|r| r.state == "sent") {
        let user = r.recipient.split('@').next().unwrap();
        let got = delivered(rig, user, &r.message_id, 1);
        assert_eq!(got.len(), 1, "{} delivered once", r.idem_key);
        check_headers(&a.ctx, r, &got[0]);
        n += 1;
    }
    n
}

macro_rules! on_both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(false).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(true).await
            }
        }
    };
}

on_both!(a_digest_holds_exactly_the_unseen_updates_and_a_second_pass_sends_nothing);
async fn a_digest_holds_exactly_the_unseen_updates_and_a_second_pass_sends_nothing(pg: bool) {
    let _serial = SERIAL.lock().await;
    let rig = rig::Rig::shared();
    let a = app(rig, pg).await;
    let alice = a
        .member("alice@example.test", "Alice", "Europe/Berlin")
        .await;
    let bob = a
        .member("bob@example.test", "Bob", "America/New_York")
        .await;
    let carol = a.member("carol@example.test", "Carol", "Asia/Tokyo").await;
    a.tick(at("2026-03-09T00:00:00Z")).await;
    a.update(
        bob,
        "2026-03-09",
        "Bob Monday: shipped the retry path.\nBlockers: waiting on DNS",
    )
    .await;
    // Late: Carol writes about last Thursday only now.
    a.update(carol, "2026-03-05", "Carol Thursday: wrote the runbook.")
        .await;
    a.update(alice, "2026-03-09", "Alice Monday: her own words.")
        .await;

    // Tuesday 08:30 in Berlin.
    let (_, s) = a.tick(at("2026-03-10T07:30:00Z")).await;
    assert!(s.sent >= 1 && s.failed == 0 && s.retried == 0, "{s:?}");
    let row = a.row(&format!("digest:{alice}:2026-03-10")).await.unwrap();
    assert_eq!(row.state, "sent");
    let got = delivered(rig, "alice", &row.message_id, 1);
    assert_eq!(got.len(), 1);
    let text = text_of(got[0].as_bytes());
    assert!(
        text.contains("Bob Monday: shipped the retry path."),
        "{text}"
    );
    assert!(
        text.contains("Carol — Thu 5 Mar (Asia/Tokyo) [late]"),
        "{text}"
    );
    // His blocker is in the box; his entry says so instead of repeating it.
    assert!(
        text.contains("Bob — Mon 9 Mar (America/New_York) [blocked ↑]\n"),
        "{text}"
    );
    assert_eq!(text.matches("waiting on DNS").count(), 1, "{text}");
    assert!(
        text.find("BLOCKERS").unwrap() < text.find("Bob — ").unwrap(),
        "{text}"
    );
    assert!(!text.contains("her own words"), "{text}");

    // The same pass again, and a minute later: nothing new is queued or sent.
    let before = a.ctx.store.list_outbox(false, 1000).await.unwrap().len();
    for now in ["2026-03-10T07:30:00Z", "2026-03-10T07:31:00Z"] {
        let (p, s) = a.tick(at(now)).await;
        assert_eq!((p.digests, p.requests, s.sent), (0, 0, 0), "{p:?} {s:?}");
    }
    assert_eq!(
        a.ctx.store.list_outbox(false, 1000).await.unwrap().len(),
        before
    );

    // Bob edits Monday's update, Carol writes for Tuesday: Wednesday's digest has exactly those.
    a.update(bob, "2026-03-09", "Bob again: also fixed the build.")
        .await;
    a.update(carol, "2026-03-10", "Carol Tuesday: reviewed the PR.")
        .await;
    a.tick(at("2026-03-11T07:30:00Z")).await;
    let row = a.row(&format!("digest:{alice}:2026-03-11")).await.unwrap();
    let text = text_of(delivered(rig, "alice", &row.message_id, 1)[0].as_bytes());
    assert!(
        text.contains("Bob — Mon 9 Mar (America/New_York) [edited, blocked ↑]")
            && text.contains("Bob again: also fixed the build."),
        "{text}"
    );
    assert!(text.contains("Carol Tuesday: reviewed the PR."), "{text}");
    assert!(
        !text.contains("Carol Thursday") && !text.contains("Carol — Thu"),
        "{text}"
    );
    // Thursday: nothing new for Alice, so no digest.
    a.tick(at("2026-03-12T07:30:00Z")).await;
    assert!(a.row(&format!("digest:{alice}:2026-03-12")).await.is_none());

    let n = all_sent_mail_passes_the_header_checks(rig, &a).await;
    assert!(n >= 6, "requests and digests of three members: {n}");
}

on_both!(a_digest_is_composed_when_sent_and_a_retry_is_the_same_bytes);
/// A digest is queued as what it is made of (no bytes stored) and composed when it is sent.
/// Composed twice, or sent after a 4xx, it is the same message byte for byte, and an edit of an
/// entry made after it was queued does not change it: the edit reaches the reader in the next
/// digest, marked edited (the rule in the manual, docs/src/member/digests.md).
async fn a_digest_is_composed_when_sent_and_a_retry_is_the_same_bytes(pg: bool) {
    let _serial = SERIAL.lock().await;
    let rig = rig::Rig::shared();
    let a = app(rig, pg).await;
    let grace = a
        .member("grace@example.test", "Grace", "Europe/Berlin")
        .await;
    let dave = a
        .member("dave@example.test", "Dave", "America/New_York")
        .await;
    a.tick(at("2026-03-09T00:00:00Z")).await;
    a.update(
        dave,
        "2026-03-09",
        "Dave Monday: first words.\nBlockers: the VPN",
    )
    .await;

    // Tuesday 08:30 in Berlin: Grace's digest is queued, and her server defers her for now.
    rig.set_recipient_access("grace@example.test", Some("450 4.2.0 try later"));
    let t0 = at("2026-03-10T07:30:00Z");
    let p = jobs::plan::run(&a.ctx, t0).await.unwrap();
    assert!(p.digests >= 1, "{p:?}");
    let key = format!("digest:{grace}:2026-03-10");
    let row = a.row(&key).await.unwrap();
    assert!(row.body.is_empty(), "no bytes stored for a digest");
    let manifest = row
        .manifest
        .clone()
        .expect("a digest row holds its manifest");
    assert!(manifest.len() < 400, "{} bytes: {manifest}", manifest.len());
    let first = compose::message_of(&a.ctx, &row).await.unwrap();
    assert_eq!(compose::message_of(&a.ctx, &row).await.unwrap(), first);

    // Dave edits Monday's update after the digest was queued; a new teammate writes too.
    a.update(dave, "2026-03-09", "Dave again: the edit.").await;
    let frank = a.member("frank@example.test", "Frank", "Asia/Tokyo").await;
    a.update(frank, "2026-03-10", "Frank Tuesday: hello.").await;
    assert_eq!(
        compose::message_of(&a.ctx, &row).await.unwrap(),
        first,
        "composed after the edit, the queued digest is unchanged"
    );

    let (_, s) = a.tick(t0).await;
    assert!(s.retried >= 1 && s.failed == 0, "{s:?}");
    let r = a.row(&key).await.unwrap();
    assert_eq!((r.state.as_str(), r.attempts), ("pending", 1), "{r:?}");
    rig.set_recipient_access("grace@example.test", None);
    let mut tries = 0;
    while a.row(&key).await.unwrap().state != "sent" {
        tries += 1;
        assert!(tries <= 4, "still not delivered: {:?}", a.row(&key).await);
        let next = a.row(&key).await.unwrap().next_attempt_at;
        a.tick(DateTime::from_timestamp(next, 0).unwrap()).await;
    }
    let got = delivered(rig, "grace", &row.message_id, 1);
    assert_eq!(got.len(), 1);
    // Postfix puts its trace headers (Return-Path, Delivered-To, Received) in front and
    // stores lines with LF; everything after them is what was composed when queued.
    let ours = String::from_utf8(first).unwrap().replace("\r\n", "\n");
    assert!(
        got[0].ends_with(&ours),
        "the delivered digest is the one composed first:\n{}\n---\n{ours}",
        got[0]
    );
    let text = text_of(got[0].as_bytes());
    assert!(text.contains("Dave Monday: first words."), "{text}");
    assert!(
        !text.contains("the edit") && !text.contains("Frank"),
        "{text}"
    );

    // Wednesday: the edit, marked edited, and Frank's update.
    a.tick(at("2026-03-11T07:30:00Z")).await;
    let row = a.row(&format!("digest:{grace}:2026-03-11")).await.unwrap();
    let text = text_of(delivered(rig, "grace", &row.message_id, 1)[0].as_bytes());
    assert!(
        text.contains("Dave — Mon 9 Mar (America/New_York) [edited, blocked ↑]")
            && text.contains("Dave again: the edit."),
        "{text}"
    );
    assert!(text.contains("Frank Tuesday: hello."), "{text}");
    all_sent_mail_passes_the_header_checks(rig, &a).await;
}

on_both!(a_4xx_is_retried_with_backoff_and_delivered_once);
async fn a_4xx_is_retried_with_backoff_and_delivered_once(pg: bool) {
    let _serial = SERIAL.lock().await;
    let rig = rig::Rig::shared();
    let a = app(rig, pg).await;
    let id = a.member("defer@example.test", "Dee", "Europe/Berlin").await;
    let key = format!("request:{id}:2026-03-09");
    a.tick(at("2026-03-09T00:00:00Z")).await;
    rig.set_recipient_access("defer@example.test", Some("450 4.2.0 try later"));
    let t0 = at("2026-03-09T15:30:00Z");
    let (_, s) = a.tick(t0).await;
    assert_eq!((s.sent, s.retried, s.failed), (0, 1, 0), "{s:?}");
    let r = a.row(&key).await.unwrap();
    assert_eq!((r.state.as_str(), r.attempts), ("pending", 1));
    assert!(
        r.last_error.as_deref().unwrap_or("").contains("450"),
        "{r:?}"
    );
    let wait = r.next_attempt_at - t0.timestamp();
    assert!((30..=38).contains(&wait), "backoff 30 s + jitter: {wait}");
    // Not due yet: nothing is tried.
    let (_, s) = a.tick(t0 + chrono::Duration::seconds(10)).await;
    assert_eq!((s.sent, s.retried), (0, 0));
    rig.set_recipient_access("defer@example.test", None);
    // Retry at each backoff instant until delivered (an SMTP session opened before the change
    // may still answer 450 once).
    let mut tries = 0;
    loop {
        let r = a.row(&key).await.unwrap();
        if r.state == "sent" {
            break;
        }
        assert_eq!(r.state, "pending", "{r:?}");
        tries += 1;
        assert!(tries <= 4, "still not delivered: {r:?}");
        a.tick(DateTime::from_timestamp(r.next_attempt_at, 0).unwrap())
            .await;
    }
    let r = a.row(&key).await.unwrap();
    assert!(r.attempts >= 2);
    let (_, s) = a.tick(at("2026-03-09T18:00:00Z")).await;
    assert_eq!(s.sent, 0);
    assert_eq!(delivered(rig, "defer", &r.message_id, 2).len(), 1);
    all_sent_mail_passes_the_header_checks(rig, &a).await;
}

on_both!(an_smtp_outage_is_retried_and_delivered_once_postfix_is_back);
async fn an_smtp_outage_is_retried_and_delivered_once_postfix_is_back(pg: bool) {
    let _serial = SERIAL.lock().await;
    let rig = rig::Rig::shared();
    let a = app(rig, pg).await;
    let id = a.member("erin@example.test", "Erin", "Europe/Berlin").await;
    let key = format!("request:{id}:2026-03-09");
    a.tick(at("2026-03-09T00:00:00Z")).await;
    rig.stop_postfix();
    let t0 = at("2026-03-09T15:30:00Z");
    let (_, s1) = a.tick(t0).await;
    let r = a.row(&key).await.unwrap();
    let (_, s2) = a
        .tick(DateTime::from_timestamp(r.next_attempt_at, 0).unwrap())
        .await;
    rig.start_postfix();
    assert_eq!((s1.retried, s2.retried, s1.failed + s2.failed), (1, 1, 0));
    let r = a.row(&key).await.unwrap();
    assert_eq!((r.state.as_str(), r.attempts), ("pending", 2), "{r:?}");
    assert!(
        r.next_attempt_at - t0.timestamp() >= 30 + 60,
        "the second wait doubles"
    );
    let mut tries = 0;
    while a.row(&key).await.unwrap().state != "sent" {
        tries += 1;
        assert!(tries <= 4, "not delivered after the outage");
        let r = a.row(&key).await.unwrap();
        a.tick(DateTime::from_timestamp(r.next_attempt_at, 0).unwrap())
            .await;
    }
    let r = a.row(&key).await.unwrap();
    a.tick(at("2026-03-09T20:00:00Z")).await;
    assert_eq!(delivered(rig, "erin", &r.message_id, 2).len(), 1);
    all_sent_mail_passes_the_header_checks(rig, &a).await;
}

on_both!(a_5xx_is_recorded_as_failed_and_never_retried);
async fn a_5xx_is_recorded_as_failed_and_never_retried(pg: bool) {
    let _serial = SERIAL.lock().await;
    let rig = rig::Rig::shared();
    let a = app(rig, pg).await;
    let id = a
        .member("nobody@example.test", "No Body", "Europe/Berlin")
        .await;
    let key = format!("request:{id}:2026-03-09");
    a.tick(at("2026-03-09T00:00:00Z")).await;
    let (_, s) = a.tick(at("2026-03-09T15:30:00Z")).await;
    assert_eq!((s.sent, s.retried, s.failed), (0, 0, 1), "{s:?}");
    for later in ["2026-03-09T16:00:00Z", "2026-03-09T23:00:00Z"] {
        let (_, s) = a.tick(at(later)).await;
        assert_eq!((s.sent, s.retried, s.failed), (0, 0, 0), "{s:?}");
    }
    let r = a.row(&key).await.unwrap();
    assert_eq!((r.state.as_str(), r.attempts), ("failed", 1), "{r:?}");
    assert!(
        r.last_error.as_deref().unwrap_or("").contains("550"),
        "{r:?}"
    );

    let out = outbox_list_failed(&a.db_url);
    assert!(
        out.contains("failed") && out.contains("nobody@example.test") && out.contains("550"),
        "{out}"
    );
}

fn outbox_list_failed(db_url: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let o = std::process::Command::new(BIN)
        .args(["outbox", "list", "--failed"])
        .current_dir(dir.path())
        .env_remove("TIDINGS_CONFIG")
        .env("TIDINGS_DATABASE__URL", db_url)
        .env("TIDINGS_LOG", "warn")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).to_string()
}

on_both!(the_list_unsubscribe_url_unsubscribes_with_one_post);
async fn the_list_unsubscribe_url_unsubscribes_with_one_post(pg: bool) {
    let _serial = SERIAL.lock().await;
    let rig = rig::Rig::shared();
    let a = app(rig, pg).await;
    let id = a.member("dave@example.test", "Dave", "Europe/Berlin").await;
    a.tick(at("2026-03-09T00:00:00Z")).await;
    a.tick(at("2026-03-09T15:30:00Z")).await;
    let r = a.row(&format!("request:{id}:2026-03-09")).await.unwrap();
    let raw = &delivered(rig, "dave", &r.message_id, 1)[0];
    let m = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .unwrap();
    let lu = m.header_raw("List-Unsubscribe").unwrap().trim().to_string();
    let path = lu
        .trim_matches(['<', '>'])
        .split_once("/u/")
        .map(|(_, t)| format!("/u/{t}"))
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server =
        tokio::spawn(axum::serve(listener, tidings::web::router(a.ctx.clone())).into_future());
    let resp = reqwest::Client::new()
        .post(format!("http://{addr}{path}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    server.abort();
    assert!(resp.status().is_success(), "{}", resp.status());
    let m = a.ctx.store.member_by_id(id).await.unwrap().unwrap();
    assert!(m.unsubscribed);
    // No more requests for an unsubscribed member.
    a.tick(at("2026-03-10T15:30:00Z")).await;
    assert!(a.row(&format!("request:{id}:2026-03-10")).await.is_none());
}

/// `openssl` with `args`, its stdout.
fn openssl(args: &[&str]) -> Vec<u8> {
    let o = std::process::Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    o.stdout
}

/// dkimpy (the rig's venv, made by `scripts/rig install`): verifies every DKIM-Signature of
/// `message` against the TXT `record` published (here: given) at `name`.
fn dkimpy_verifies(message: &[u8], name: &str, record: &str) -> (bool, String) {
    const PY: &str = "/var/cache/tidings-rig/py/bin/python";
    assert!(
        std::path::Path::new(PY).exists(),
        "{PY} is missing: run scripts/test as root (scripts/rig install makes the venv)"
    );
    let script = r#"
import sys, dkim
msg = sys.stdin.buffer.read()
name, record = sys.argv[1], sys.argv[2].encode()
def dnsfunc(q, timeout=5):
    return record if q.decode().rstrip(".").lower() == name.lower() else None
d = dkim.DKIM(msg)
n = sum(1 for k, _ in d.headers if k.lower() == b"dkim-signature")
ok = n > 0 and all(d.verify(idx=i, dnsfunc=dnsfunc) for i in range(n))
print("pass" if ok else "fail", n)
sys.exit(0 if ok else 1)
"#;
    let mut child = std::process::Command::new(PY)
        .args(["-c", script, name, record])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python runs");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(message).unwrap();
    let o = child.wait_with_output().unwrap();
    (
        o.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

#[tokio::test]
async fn dkim_signatures_verify_with_an_independent_verifier_after_postfix() {
    use base64::Engine;
    let _serial = SERIAL.lock().await;
    let rig = rig::Rig::shared();
    let keys = tempfile::tempdir().unwrap();
    for (alg, gen_args, ed) in [
        (
            "rsa",
            &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"][..],
            false,
        ),
        ("ed25519", &["-algorithm", "ed25519"][..], true),
    ] {
        let pem = keys.path().join(format!("{alg}.pem"));
        let pem_s = pem.to_str().unwrap();
        let mut args = vec!["genpkey"];
        args.extend_from_slice(gen_args);
        args.extend_from_slice(&["-out", pem_s]);
        openssl(&args);
        let spki = openssl(&["pkey", "-in", pem_s, "-pubout", "-outform", "DER"]);
        // RSA publishes the SubjectPublicKeyInfo; Ed25519 the raw 32-byte key (RFC 8463).
        let public = if ed {
            &spki[spki.len() - 32..]
        } else {
            &spki[..]
        };
        let p = base64::engine::general_purpose::STANDARD.encode(public);
        let selector = format!("t{alg}");
        let a = app_with(rig, false, |c| {
            c.mail.dkim.selector = selector.clone();
            c.mail.dkim.private_key_file = pem_s.to_string();
        })
        .await;
        let id = a.member("frank@example.test", "Frank", "UTC").await;
        a.tick(at("2026-03-09T00:00:00Z")).await;
        let (_, s) = a.tick(at("2026-03-09T16:30:00Z")).await;
        assert_eq!(s.sent, 1, "{alg}: {s:?}");
        let r = a.row(&format!("request:{id}:2026-03-09")).await.unwrap();
        let raw = &delivered(rig, "frank", &r.message_id, 1)[0];
        let sig = raw
            .lines()
            .find(|l| l.starts_with("DKIM-Signature:"))
            .unwrap_or_else(|| panic!("{alg}: not signed:\n{raw}"))
            .to_string();
        assert!(
            sig.contains(&format!("a={alg}-sha256")) && sig.contains("c=relaxed/relaxed"),
            "{sig}"
        );
        assert!(
            sig.contains("d=example.test") && sig.contains(&format!("s={selector}")),
            "{sig}"
        );
        let signed = raw
            .split("DKIM-Signature:")
            .nth(1)
            .and_then(|r| r.split(";\n\tb=").next().or(Some(r)))
            .unwrap_or_default()
            .to_lowercase();
        for h in [
            "from",
            "to",
            "subject",
            "date",
            "message-id",
            "list-unsubscribe",
            "list-unsubscribe-post",
        ] {
            assert!(signed.contains(h), "{alg}: h= lacks {h}: {sig}");
        }
        // As it went over the wire: CRLF line ends (the Maildir copy has LF).
        let wire = raw.replace("\r\n", "\n").replace('\n', "\r\n");
        let name = format!("{selector}._domainkey.example.test");
        let record = format!("v=DKIM1; k={alg}; p={p}");
        // The record `tidings doctor` prints is the one openssl derives.
        let key = tidings::mail::dkim::load_key(&pem).expect("key loads");
        assert_eq!(tidings::mail::dkim::dns_record(&key), record);
        let (ok, out) = dkimpy_verifies(wire.as_bytes(), &name, &record);
        assert!(ok, "{alg}: dkimpy says {out}\n{wire}");
        // And a changed body fails, so the check can fail.
        let tampered = wire.replacen("Reply to this email", "Reply to th1s email", 1);
        assert_ne!(tampered, wire);
        let (ok, out) = dkimpy_verifies(tampered.as_bytes(), &name, &record);
        assert!(!ok, "{alg}: a changed body must not verify: {out}");
    }
}

// After `on_both!`, which they use.
#[path = "outbound/blockers.rs"]
mod blockers;
#[path = "outbound/comments.rs"]
mod comments;
#[path = "outbound/mentions.rs"]
mod mentions;
#[path = "outbound/rhythms.rs"]
mod rhythms;
