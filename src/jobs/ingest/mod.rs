//! Ingesting replies: store the raw bytes first, then parse, drop automatic mail, find and
//! verify the token, check the sender, apply commands or store the update, and send a receipt.
//! Mail that cannot be used is quarantined with its reason, never silently dropped.

mod activity;
mod calendar;
mod classify;
mod commands;
mod comment;
mod confirm;
mod decide;
mod identify;
mod notices;
mod shape;

pub use confirm::{CONFIRM_DAYS, ConfirmError, confirm, confirm_url};

use decide::{decide, store_update, with_attachments};

use chrono::{DateTime, NaiveDate, Utc};

use super::Ctx;
use crate::config::{ImapConfig, Transport};
use crate::domain::Member;
use crate::domain::schedule::local_date;
use crate::mail::{inbound, parse};
use crate::store::{InboundStatus, Store};

/// What happened to one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Duplicate,
    Accepted { update_id: i64, edited: bool },
    Command(String),
    Ignored(String),
    Quarantined(String),
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct IngestReport {
    pub fetched: usize,
    pub accepted: usize,
    pub commands: usize,
    pub ignored: usize,
    pub quarantined: usize,
    pub duplicates: usize,
}

impl IngestReport {
    fn add(&mut self, o: &Outcome) {
        match o {
            Outcome::Duplicate => self.duplicates += 1,
            Outcome::Accepted { .. } => self.accepted += 1,
            Outcome::Command(_) => self.commands += 1,
            Outcome::Ignored(_) => self.ignored += 1,
            Outcome::Quarantined(_) => self.quarantined += 1,
        }
    }
}

/// Reads the configured mailbox (IMAP or Maildir) once and processes every new message. A
/// message whose processing hits an infrastructure error stays in the mailbox for next time.
pub async fn poll(ctx: &Ctx, now: DateTime<Utc>) -> anyhow::Result<IngestReport> {
    let mut report = IngestReport::default();
    recover_stale(ctx, now, &mut report).await?;
    match ctx.config.mail.transport {
        Transport::Maildir => {
            for path in inbound::maildir_new(&ctx.config.mail.maildir.inbox)? {
                let Ok(raw) = std::fs::read(&path) else {
                    continue;
                };
                report.fetched += 1;
                match process(ctx, &raw, "maildir", now).await {
                    Ok(o) => {
                        report.add(&o);
                        inbound::maildir_done(&path)?;
                    }
                    Err(e) => {
                        tracing::warn!(file = %path.display(), error = %format!("{e:#}"), "inbound message not processed; left in new/")
                    }
                }
            }
        }
        Transport::Smtp => {
            let cfg = &ctx.config.mail.imap;
            let mut imap = open_imap(&ctx.store, cfg).await?;
            let mut done = Vec::new();
            loop {
                let batch = imap.next_batch(50).await?;
                if batch.is_empty() {
                    break;
                }
                for (uid, raw) in batch {
                    report.fetched += 1;
                    match process(ctx, &raw, "imap", now).await {
                        Ok(o) => {
                            report.add(&o);
                            done.push(uid);
                        }
                        Err(e) => {
                            tracing::warn!(uid, error = %format!("{e:#}"), "inbound message not processed; left in the mailbox")
                        }
                    }
                }
            }
            finish_imap(&ctx.store, cfg, imap, &done).await?;
        }
    }
    Ok(report)
}

/// Opens a poll of the IMAP mailbox from the position stored for it.
pub async fn open_imap(store: &Store, cfg: &ImapConfig) -> anyhow::Result<inbound::ImapPoll> {
    let cursor =
        store
            .mailbox_state(&inbound::cursor_key(cfg))
            .await?
            .map(|(uidvalidity, last_uid)| inbound::Cursor {
                uidvalidity,
                last_uid,
            });
    inbound::ImapPoll::open(cfg, cursor).await
}

/// Moves the handled messages out of the mailbox and stores the position reached.
pub async fn finish_imap(
    store: &Store,
    cfg: &ImapConfig,
    poll: inbound::ImapPoll,
    done: &[u32],
) -> anyhow::Result<()> {
    if let Some(c) = poll.finish(cfg, done).await {
        store
            .set_mailbox_state(&inbound::cursor_key(cfg), c.uidvalidity, c.last_uid)
            .await?;
    }
    Ok(())
}

/// How long one worker may hold a stored message before another may take it over (a worker
/// that crashed mid-message). Processing one message takes milliseconds, so a minute is far
/// beyond a live worker; with ten minutes, a reply whose worker was killed between storing
/// it and recording the outcome waited ten minutes for the next poll to take it.
const LEASE_SECS: i64 = 60;

/// Processes one raw message. Errors only for infrastructure failures (database down); the
/// caller then leaves the message in the mailbox for the next poll.
pub async fn process(
    ctx: &Ctx,
    raw: &[u8],
    source: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Outcome> {
    let ts = now.timestamp();
    let message_id = parse::message_id_of(raw);
    // A message beyond the cap is kept up to it and read no further.
    let max = ctx.config.mail.inbound.max_message_bytes;
    let kept = &raw[..raw.len().min(max)];
    // Nothing else happens before the raw bytes are stored.
    let Some(id) = ctx
        .store
        .insert_inbound(&message_id, kept, source, ts, ts + LEASE_SECS)
        .await?
    else {
        return Ok(Outcome::Duplicate);
    };
    if raw.len() > max {
        return quarantine_oversized(ctx, id, kept, raw.len(), max, now).await;
    }
    run_pipeline(ctx, id, raw, &id.to_string(), false, now).await
}

/// Quarantines a message larger than `mail.inbound.max_message_bytes` (stored cut at the cap)
/// with the reason and its sender, unread otherwise.
async fn quarantine_oversized(
    ctx: &Ctx,
    id: i64,
    kept: &[u8],
    size: usize,
    max: usize,
    now: DateTime<Utc>,
) -> anyhow::Result<Outcome> {
    let reason =
        format!("message is {size} bytes; at most {max} are read (mail.inbound.max_message_bytes)");
    let sender = mail_parser::MessageParser::default()
        .parse_headers(kept)
        .and_then(|m| m.from()?.first()?.address().map(str::to_lowercase));
    ctx.store
        .set_inbound_outcome(
            id,
            InboundStatus::Quarantined,
            Some(&reason),
            sender.as_deref(),
            None,
            None,
            now.timestamp(),
        )
        .await?;
    tracing::warn!(inbound = id, size, max, "message too large; quarantined");
    Ok(Outcome::Quarantined(reason))
}

/// Finishes messages whose worker died between storing the raw bytes and recording the
/// outcome, from the stored bytes, once their lease has expired. The mailbox copy cannot be
/// relied on: a poll that saw it while the lease still ran took it for a duplicate and moved
/// it away, so without this the reply stayed stored but unprocessed for good. Same key as
/// the first attempt, so a receipt that attempt queued is not queued twice.
async fn recover_stale(
    ctx: &Ctx,
    now: DateTime<Utc>,
    report: &mut IngestReport,
) -> anyhow::Result<()> {
    let ts = now.timestamp();
    for id in ctx
        .store
        .inbound_ids_with_status(InboundStatus::New)
        .await?
    {
        // Fails while a live worker's lease runs: that worker finishes it.
        if !ctx.store.claim_inbound(id, ts, ts + LEASE_SECS).await? {
            continue;
        }
        // Finished by another worker since it was listed (the claim also takes finished
        // rows, for `reprocess`): nothing to do.
        let Some(row) = ctx.store.inbound(id).await? else {
            continue;
        };
        if row.status != InboundStatus::New.as_str() {
            continue;
        }
        tracing::info!(id, "finishing a message a crashed worker had stored");
        let o = run_pipeline(ctx, id, &row.raw, &id.to_string(), false, now).await?;
        report.add(&o);
    }
    Ok(())
}

/// Runs the normal pipeline again on a stored message (`tidings inbox quarantine reprocess`),
/// e.g. after an alias was added. `None` when there is no such message.
pub async fn reprocess(ctx: &Ctx, id: i64, now: DateTime<Utc>) -> anyhow::Result<Option<Outcome>> {
    let Some(row) = ctx.store.inbound(id).await? else {
        return Ok(None);
    };
    let ts = now.timestamp();
    if !ctx.store.claim_inbound(id, ts, ts + LEASE_SECS).await? {
        anyhow::bail!("inbound message {id} is being processed by another worker");
    }
    // A fresh key per attempt: the first attempt's notice must not swallow this receipt.
    run_pipeline(ctx, id, &row.raw, &format!("{id}-r{ts}"), false, now)
        .await
        .map(Some)
}

/// Why `release` refused.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error("no inbound message with id {0}")]
    NotFound(i64),
    #[error("inbound message {0} is {1}, not quarantined")]
    NotQuarantined(i64, String),
    #[error("inbound message {0} has no text to store")]
    Empty(i64),
    #[error("none of {0}'s teams has a check-in named {1:?} (they have: {2})")]
    NoCheckin(String, String, String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// Stores the text of a quarantined message as `member`'s update for `date` (default: the
/// member's local date when the message arrived), or their answer to the check-in named
/// `checkin` of one of their teams (default: the daily stand-up): an operator's decision that
/// overrides the sender and token checks for this one message, so it names the member
/// explicitly.
pub async fn release(
    ctx: &Ctx,
    id: i64,
    member: &Member,
    (date, checkin): (Option<NaiveDate>, Option<&str>),
    now: DateTime<Utc>,
) -> Result<(i64, NaiveDate), ReleaseError> {
    let checkin = match checkin {
        None => 0,
        Some(name) => checkin_of(ctx, member, name).await?,
    };
    let row = ctx
        .store
        .inbound(id)
        .await
        .map_err(anyhow::Error::from)?
        .ok_or(ReleaseError::NotFound(id))?;
    if row.status != InboundStatus::Quarantined.as_str() {
        return Err(ReleaseError::NotQuarantined(id, row.status));
    }
    let received = DateTime::from_timestamp(row.received_at, 0).unwrap_or(now);
    let date = date.unwrap_or_else(|| local_date(member.tz, received));
    let (text, attachments, message_id) = match parse::parse(&row.raw) {
        Ok(p) => (p.text.trim().to_string(), p.attachments, p.message_id),
        // An unreadable message may still be a readable body: extract from the bytes.
        Err(_) => (
            crate::mail::extract::extract(&row.raw, crate::mail::extract::Format::Auto)
                .trim()
                .to_string(),
            Vec::new(),
            row.message_id.clone(),
        ),
    };
    if text.trim().is_empty() {
        return Err(ReleaseError::Empty(id));
    }
    let text = with_attachments(ctx, text, &attachments);
    let key = format!("{id}-release{}", now.timestamp());
    let d = store_update(
        ctx,
        &key,
        member,
        (date, checkin),
        &text,
        &message_id,
        false,
        (&attachments, ""),
        now,
    )
    .await?;
    ctx.store
        .set_inbound_outcome(
            id,
            d.status,
            Some("released by an operator"),
            row.sender.as_deref(),
            d.member,
            d.update,
            now.timestamp(),
        )
        .await
        .map_err(anyhow::Error::from)?;
    match d.outcome {
        Outcome::Accepted { update_id, .. } => Ok((update_id, date)),
        _ => Err(ReleaseError::Empty(id)),
    }
}

/// The check-in named `name` (any case) of one of `m`'s teams: 0 for the daily stand-up.
async fn checkin_of(ctx: &Ctx, m: &Member, name: &str) -> Result<i64, ReleaseError> {
    let mut known = Vec::new();
    for team in &m.teams {
        match ctx
            .store
            .checkin_filter(team, name)
            .await
            .map_err(anyhow::Error::from)?
        {
            Ok(id) => return Ok(id),
            Err(names) => known.extend(names),
        }
    }
    known.sort();
    known.dedup();
    Err(ReleaseError::NoCheckin(
        m.email.to_string(),
        name.to_string(),
        known.join(", "),
    ))
}

async fn run_pipeline(
    ctx: &Ctx,
    id: i64,
    raw: &[u8],
    key: &str,
    confirmed: bool,
    now: DateTime<Utc>,
) -> anyhow::Result<Outcome> {
    let d = decide(ctx, id, key, raw, confirmed, now).await?;
    ctx.store
        .set_inbound_outcome(
            id,
            d.status,
            d.reason(),
            d.sender.as_deref(),
            d.member,
            d.update,
            now.timestamp(),
        )
        .await?;
    if let Outcome::Quarantined(r) = &d.outcome {
        tracing::warn!(inbound = id, reason = %r, "reply quarantined");
    }
    Ok(d.outcome)
}
