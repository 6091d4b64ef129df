//! Jobs are plain functions with an injected clock — `plan::run(&ctx, now)`,
//! `send::run(&ctx, now)`, `ingest::poll(&ctx, now)` — called alike by the scheduler in `serve`,
//! by `run-due`, by the demo and by tests.

pub mod activity;
pub mod calendars;
pub mod chat;
pub mod checkins;
pub mod compose;
pub mod digest;
pub mod hooks;
pub mod ingest;
pub mod log;
pub mod members;
pub mod mentions;
pub mod plan;
pub mod send;
pub mod shape;

use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};

use crate::config::Config;
use crate::domain::token::{LinkToken, ReplyToken, Secret};
use crate::domain::{EmailAddress, Member, MemberId};
use crate::mail::outbound::Sender;
use crate::store::{NewEmail, Store};

/// What every job needs, built once.
#[derive(Clone)]
pub struct Ctx {
    pub config: Arc<Config>,
    pub store: Store,
    pub secret: Secret,
    pub sender: Sender,
    /// Tick timings for `/metrics`, shared by the scheduler and the web server.
    pub metrics: Arc<crate::telemetry::Metrics>,
}

impl Ctx {
    /// Opens the database, applies migrations, loads (or creates once) the server secret and
    /// sets up the outgoing transport.
    pub async fn build(config: Config) -> anyhow::Result<Ctx> {
        let store = Store::connect(&config.database.url.0, config.database.max_connections)
            .await?
            .with_web_base(&config.web.base_url);
        store.migrate().await?;
        let secret = load_secret(&config, &store).await?;
        let sender = Sender::from_config(&config)?;
        Ok(Ctx {
            config: Arc::new(config),
            store,
            secret,
            sender,
            metrics: Arc::default(),
        })
    }

    /// The sub-addressed reply address that carries the signed token for (member, date).
    pub fn reply_address(&self, member: MemberId, date: NaiveDate) -> EmailAddress {
        self.answer_address(member, date, 0)
    }

    /// The reply address of a request of check-in `checkin` (0: the stand-up).
    pub fn answer_address(&self, member: MemberId, date: NaiveDate, checkin: i64) -> EmailAddress {
        let token = ReplyToken {
            member,
            date,
            checkin,
        };
        self.config.reply_to().with_tag(&token.encode(&self.secret))
    }

    /// The address of a digest entry's "Reply to …" link: a reply to it is `reader`'s comment
    /// on update `update`.
    pub fn comment_address(&self, reader: MemberId, update: i64) -> EmailAddress {
        self.config
            .reply_to()
            .with_tag(&crate::domain::token::CommentToken { reader, update }.encode(&self.secret))
    }

    /// A signed, expiring preferences link for `m` (over their current link epoch).
    pub fn prefs_url(&self, m: &Member, now: DateTime<Utc>) -> String {
        self.link_url(m.id, m.epoch, now)
    }

    /// A signed, expiring preferences link for `member` over link epoch `epoch`.
    pub fn link_url(&self, member: MemberId, epoch: i64, now: DateTime<Utc>) -> String {
        let expires = now.timestamp() + i64::from(self.config.security.link_ttl_days) * 86_400;
        let t = LinkToken {
            member,
            expires,
            epoch,
        }
        .encode(&self.secret);
        format!("{}/p/{t}", self.config.web.base_url.trim_end_matches('/'))
    }

    /// The one-click unsubscribe URL (RFC 8058) for `member`.
    pub fn unsubscribe_url(&self, member: MemberId, now: DateTime<Utc>) -> String {
        // Unsubscribe links must keep working long after the email was sent (a signout does
        // not end them: see `web::unsubscribe`); epoch 0 keeps their bytes stable.
        let expires = now.timestamp() + 365 * 86_400;
        let t = LinkToken {
            member,
            expires,
            epoch: 0,
        }
        .encode(&self.secret);
        format!("{}/u/{t}", self.config.web.base_url.trim_end_matches('/'))
    }

    pub fn from_address(&self) -> EmailAddress {
        self.config.mail.from.address.clone()
    }

    /// Queues `email` (built by [`compose`]); false when its key was queued before.
    pub async fn queue(&self, email: &NewEmail, now: DateTime<Utc>) -> anyhow::Result<bool> {
        Ok(self.store.enqueue(email, now.timestamp()).await?.is_some())
    }

    /// The `List-Id` of `m`'s requests and digests: their first team by name.
    pub fn list_id(&self, m: &Member) -> String {
        crate::domain::list_id(
            m.teams.iter().min().map(String::as_str),
            &self.mail_domain(),
        )
    }

    pub fn mail_domain(&self) -> String {
        self.from_address().domain().to_string()
    }

    /// The questions `member`'s update request asks: their team's own (see
    /// `tidings team set NAME --question ...`), else `schedule.questions`.
    pub async fn questions_for(&self, member: &Member) -> anyhow::Result<Vec<String>> {
        Ok(self
            .store
            .questions_for_member(member.id)
            .await?
            .filter(|q| !q.is_empty())
            .unwrap_or_else(|| self.config.schedule.questions.clone()))
    }
}

async fn load_secret(config: &Config, store: &Store) -> anyhow::Result<Secret> {
    if !config.security.secret.is_empty() {
        return Ok(Secret::new(
            config.security.secret.expose().as_bytes().to_vec(),
        ));
    }
    let fresh: [u8; 32] = rand::random();
    let stored = store
        .setting_or_insert("server_secret", &hex::encode(fresh))
        .await
        .context("cannot store the server secret")?;
    Ok(Secret::new(
        hex::decode(stored).context("the stored server secret is not hex")?,
    ))
}
