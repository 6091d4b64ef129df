//! `TestApp`: a fresh database (SQLite file or PostgreSQL) and Maildirs in a temp dir, the
//! same `Ctx` the service uses, and a clock the test sets.

#![allow(dead_code)]

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use tidings::config::{Config, SecretString, SecretUrl, Transport};
use tidings::jobs::Ctx;
use tidings::store::MemberChange;

pub use crate::support::{addr, at, member_defaults as defaults};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub ctx: Ctx,
    pub dir: tempfile::TempDir,
    pub db_url: String,
}

pub fn db_url(db: Db, dir: &std::path::Path) -> String {
    match db {
        Db::Sqlite => format!("sqlite://{}", dir.join("tidings.db").display()),
        Db::Postgres => crate::rig::fresh_pg_url(),
    }
}

pub fn test_config(db_url: &str, dir: &std::path::Path) -> Config {
    let mut cfg = Config::default();
    cfg.database.url = SecretUrl(db_url.to_string());
    cfg.database.max_connections = 4;
    cfg.mail.transport = Transport::Maildir;
    cfg.mail.from = "Tidings <tidings@example.test>".parse().unwrap();
    cfg.mail.reply_to = tidings::domain::EmailAddress::parse("updates@example.test").unwrap();
    cfg.mail.maildir.sent = dir.join("sent");
    cfg.mail.maildir.inbox = dir.join("inbox");
    cfg.security.secret = SecretString::new("integration-test-secret-0123456789");
    // The receiving server the tests stand in for: its Authentication-Results alone count.
    cfg.mail.inbound.trusted_authserv_id = vec!["mx.example.test".into()];
    cfg
}

impl TestApp {
    pub async fn new(db: Db) -> TestApp {
        Self::with(db, |_| {}).await
    }

    pub async fn with(db: Db, tweak: impl FnOnce(&mut Config)) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = db_url(db, dir.path());
        let mut cfg = test_config(&url, dir.path());
        tweak(&mut cfg);
        let ctx = Ctx::build(cfg).await.expect("ctx builds");
        TestApp {
            ctx,
            dir,
            db_url: url,
        }
    }

    /// Adds a member in `tz` with request 16:30 and digest 08:30 on Mon–Fri, in team "core".
    pub async fn member(&self, email: &str, name: &str, tz: &str) -> i64 {
        self.member_of(email, name, tz, "core").await
    }

    /// [`TestApp::member`] in team `team`.
    pub async fn member_of(&self, email: &str, name: &str, tz: &str, team: &str) -> i64 {
        let ch = MemberChange {
            name: Some(name.into()),
            tz: Some(tz.parse().expect("zone")),
            teams: Some(vec![team.into()]),
            ..Default::default()
        };
        self.ctx
            .store
            .add_member(&addr(email), &ch, &defaults())
            .await
            .expect("member added")
    }

    /// The id of team `name`, which must exist.
    pub async fn team(&self, name: &str) -> i64 {
        self.ctx
            .store
            .team_id(name)
            .await
            .expect("read teams")
            .unwrap_or_else(|| panic!("no team {name}"))
    }

    /// Stores `text` as `member`'s stand-up update for `date`, as the API does.
    pub async fn standup(&self, member: i64, date: &str, text: &str) {
        let date = date.parse().expect("a date");
        self.ctx
            .store
            .upsert_update(member, date, text, &[], "api", None, false, 0)
            .await
            .expect("stand-up stored");
    }

    pub fn sent_dir(&self) -> PathBuf {
        self.ctx.config.mail.maildir.sent.join("new")
    }

    /// Names of the files in the sent Maildir, sorted.
    pub fn sent(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.sent_dir())
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().to_string())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    pub fn sent_of(&self, prefix: &str) -> Vec<String> {
        self.sent()
            .into_iter()
            .filter(|n| n.starts_with(prefix))
            .collect()
    }

    pub fn read_sent(&self, name: &str) -> String {
        String::from_utf8_lossy(&std::fs::read(self.sent_dir().join(name)).expect("sent file"))
            .to_string()
    }

    /// The outbox rows of `kind` (request, receipt, notice, …), up to 500.
    pub async fn queued(&self, kind: &str) -> Vec<tidings::store::OutboxRow> {
        self.ctx
            .store
            .list_outbox(false, 500)
            .await
            .expect("outbox")
            .into_iter()
            .filter(|r| r.kind == kind)
            .collect()
    }

    /// Plan and send, as one tick of `serve` at `now`.
    pub async fn tick(&self, now: DateTime<Utc>) {
        tidings::jobs::plan::run(&self.ctx, now)
            .await
            .expect("plan");
        tidings::jobs::send::run(&self.ctx, now)
            .await
            .expect("send");
    }

    /// Drop a raw message into the inbox Maildir and ingest it.
    pub async fn deliver(
        &self,
        name: &str,
        raw: &[u8],
        now: DateTime<Utc>,
    ) -> tidings::jobs::ingest::IngestReport {
        let inbox = &self.ctx.config.mail.maildir.inbox;
        tidings::mail::outbound::ensure_maildir(inbox).unwrap();
        std::fs::write(inbox.join("new").join(name), raw).unwrap();
        tidings::jobs::ingest::poll(&self.ctx, now)
            .await
            .expect("ingest")
    }
}

/// The Reply-To and Message-ID headers of a sent email.
pub fn reply_headers(raw: &str) -> (String, String) {
    let msg = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .expect("parses");
    let rt = msg
        .reply_to()
        .and_then(|a| a.first())
        .and_then(|a| a.address.as_deref())
        .unwrap_or_default()
        .to_string();
    (rt, msg.message_id().unwrap_or_default().to_string())
}

/// A plain-text reply in Gmail style to a request.
pub fn gmail_reply(from: &str, to: &str, in_reply_to: &str, msg_id: &str, text: &str) -> Vec<u8> {
    format!(
        "From: Someone <{from}>\r\nTo: {to}\r\nSubject: Re: Your update\r\nMessage-ID: <{msg_id}>\r\nIn-Reply-To: <{in_reply_to}>\r\nReferences: <{in_reply_to}>\r\nDate: Mon, 9 Mar 2026 17:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n\r\nOn Mon, 9 Mar 2026 at 16:30, Tidings <tidings@example.test> wrote:\r\n> Hi,\r\n> What did you get done?\r\n> What's next?\r\n"
    )
    .into_bytes()
}

/// `raw` as our receiving server (authserv-id `mx.example.test`, trusted in [`test_config`])
/// delivers it when it vouches for a From at `domain`: an aligned DMARC pass on top.
pub fn vouched(domain: &str, raw: &[u8]) -> Vec<u8> {
    let mut v = format!(
        "Authentication-Results: mx.example.test; spf=pass smtp.mailfrom={domain}; dkim=pass header.d={domain}; dmarc=pass (p=reject) header.from={domain}\r\n"
    )
    .into_bytes();
    v.extend_from_slice(raw);
    v
}

/// `raw` with the first `from` replaced by `to` (a message sent again with another
/// Message-ID).
pub fn swap(raw: &[u8], from: &str, to: &str) -> Vec<u8> {
    String::from_utf8_lossy(raw)
        .replacen(from, to, 1)
        .into_bytes()
}

/// The decoded subject of a sent email.
pub fn subject_of(raw: &str) -> String {
    crate::support::subject_of(raw.as_bytes())
}

/// The HTML part of a sent email, decoded.
pub fn html_of(raw: &str) -> String {
    crate::support::html_of(raw.as_bytes())
}

/// Text bodies of a sent email (the text/plain part).
pub fn text_body(raw: &str) -> String {
    crate::support::text_of(raw.as_bytes())
}

/// Runs an async test body on both backends.
#[macro_export]
macro_rules! both {
    ($name:ident, |$app:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn run($app: $crate::helpers::TestApp) $body
            #[tokio::test]
            async fn sqlite() {
                run($crate::helpers::TestApp::new($crate::helpers::Db::Sqlite).await).await
            }
            #[tokio::test]
            async fn postgres() {
                run($crate::helpers::TestApp::new($crate::helpers::Db::Postgres).await).await
            }
        }
    };
}

/// The digest instant a freshly (re)planned member `m` gets at `now`, restated from the rule
/// for the tests (no away time or holidays here): today's fire when it has passed and
/// nothing went out for it (the catch-up rule), else the next fire after `now`.
pub fn expected_digest_plan(m: &tidings::domain::Member, now: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::Datelike;
    let s = m.digest_schedule();
    let today = now.with_timezone(&m.tz).date_naive();
    match s.instant_on(today) {
        Some(t) if t <= now && m.workdays.contains(today.weekday()) && !m.is_away_on(today) => t,
        _ => s.next_after(now).expect("a next fire").1,
    }
}
