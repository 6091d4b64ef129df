//! Ingesting replies: store the raw bytes first, then parse, drop automatic mail, find and
//! verify the token, check the sender, apply commands or store the update, and send a receipt.
//! Mail that cannot be used is quarantined with its reason, never silently dropped.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::Ctx;
use crate::config::{AttachmentPolicy, ImapConfig, Transport};
use crate::domain::command::{Command, parse_command};
use crate::domain::schedule::local_date;
use crate::domain::token::ReplyToken;
use crate::domain::{AwayRange, EmailAddress, MailKind, Member};
use crate::mail::{inbound, new_message_id, outbound, parse};
use crate::render;
use crate::store::{InboundStatus, MemberChange, NewEmail, Store};

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
    // Nothing else happens before the raw bytes are stored.
    let Some(id) = ctx
        .store
        .insert_inbound(&message_id, raw, source, ts, ts + LEASE_SECS)
        .await?
    else {
        return Ok(Outcome::Duplicate);
    };
    run_pipeline(ctx, id, raw, &id.to_string(), now).await
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
        let o = run_pipeline(ctx, id, &row.raw, &id.to_string(), now).await?;
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
    run_pipeline(ctx, id, &row.raw, &format!("{id}-r{ts}"), now)
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
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// Stores the text of a quarantined message as `member`'s update for `date` (default: the
/// member's local date when the message arrived): an operator's decision that overrides the
/// sender and token checks for this one message, so it names the member explicitly.
pub async fn release(
    ctx: &Ctx,
    id: i64,
    member: &Member,
    date: Option<NaiveDate>,
    now: DateTime<Utc>,
) -> Result<(i64, NaiveDate), ReleaseError> {
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
    let (status, outcome, _, m, u) = store_update(
        ctx,
        &key,
        member,
        date,
        &text,
        &message_id,
        false,
        &attachments,
        now,
    )
    .await?;
    ctx.store
        .set_inbound_outcome(
            id,
            status,
            Some("released by an operator"),
            row.sender.as_deref(),
            m,
            u,
            now.timestamp(),
        )
        .await
        .map_err(anyhow::Error::from)?;
    match outcome {
        Outcome::Accepted { update_id, .. } => Ok((update_id, date)),
        _ => Err(ReleaseError::Empty(id)),
    }
}

async fn run_pipeline(
    ctx: &Ctx,
    id: i64,
    raw: &[u8],
    key: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Outcome> {
    let (status, outcome, sender, member, update) = decide(ctx, key, raw, now).await?;
    let reason = match &outcome {
        Outcome::Ignored(r) | Outcome::Quarantined(r) | Outcome::Command(r) => Some(r.as_str()),
        _ => None,
    };
    ctx.store
        .set_inbound_outcome(
            id,
            status,
            reason,
            sender.as_deref(),
            member,
            update,
            now.timestamp(),
        )
        .await?;
    if let Outcome::Quarantined(r) = &outcome {
        tracing::warn!(inbound = id, reason = %r, "reply quarantined");
    }
    Ok(outcome)
}

type Decision = (
    InboundStatus,
    Outcome,
    Option<String>,
    Option<i64>,
    Option<i64>,
);

/// Who a message is from and for which day, before the From check.
enum Identity {
    Found(Member, NaiveDate),
    BadToken(String),
    GoneMember,
    Stranger,
    Unmatched,
}

/// The token in a sub-address, else a reply to one of our emails, else a fresh email from a
/// known member to the base address.
async fn identify(
    ctx: &Ctx,
    p: &parse::Inbound,
    from: &EmailAddress,
    now: DateTime<Utc>,
) -> anyhow::Result<Identity> {
    let base = ctx.config.reply_to();
    let tag = p
        .recipients
        .iter()
        .find_map(|r| r.tag_of(&base).map(str::to_string));
    if let Some(tag) = tag {
        return Ok(match ReplyToken::verify(&tag, &ctx.secret) {
            Ok(t) => match ctx.store.member_by_id(t.member).await? {
                Some(m) => Identity::Found(m, t.date),
                None => Identity::GoneMember,
            },
            Err(e) => Identity::BadToken(e.to_string()),
        });
    }
    if let Some((m, d)) = by_references(ctx, &p.references).await? {
        return Ok(Identity::Found(m, d));
    }
    if p.recipients.iter().any(|r| r == &base) {
        return Ok(match ctx.store.member_by_email(from).await? {
            Some(m) => {
                let d = local_date(m.tz, now);
                Identity::Found(m, d)
            }
            None => Identity::Stranger,
        });
    }
    Ok(Identity::Unmatched)
}

fn with_attachments(ctx: &Ctx, mut text: String, attachments: &[String]) -> String {
    if !attachments.is_empty() && ctx.config.mail.inbound.attachments == AttachmentPolicy::List {
        text.push_str(&format!("\n\n(attachments: {})", attachments.join(", ")));
    }
    text
}

/// Automatic mail is never an update. A bounce counts against the address it reports on; an
/// out-of-office reply with a return date marks its member away until then.
async fn automatic(
    ctx: &Ctx,
    p: &parse::Inbound,
    why: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Decision> {
    let sender = p.from.as_ref().map(|f| f.to_string());
    if p.bounce {
        let mut notes = Vec::new();
        let mut member_id = None;
        for b in &p.bounced {
            let Some(m) = ctx.store.member_by_email(&b.address).await? else {
                notes.push(format!("{} ({}) is not a member", b.address, b.status));
                continue;
            };
            member_id = Some(m.id);
            if !b.is_hard() {
                notes.push(format!("{} {} is temporary", b.address, b.status));
                continue;
            }
            let threshold = i64::from(ctx.config.mail.inbound.bounce_threshold);
            let (count, paused) = ctx
                .store
                .record_hard_bounce(m.id, threshold, now.timestamp())
                .await?;
            if paused {
                tracing::warn!(member = %m.email, count, "address is bouncing; mail paused");
                notes.push(format!(
                    "{} hard bounce {count} of {threshold} ({}): bouncing, mail paused",
                    b.address, b.status
                ));
            } else {
                notes.push(format!(
                    "{} hard bounce {count} of {threshold} ({})",
                    b.address, b.status
                ));
            }
        }
        let reason = if notes.is_empty() {
            format!("{why}; no recipient found in the report")
        } else {
            format!("{why}: {}", notes.join("; "))
        };
        return Ok((
            InboundStatus::Ignored,
            Outcome::Ignored(reason),
            sender,
            member_id,
            None,
        ));
    }
    let mut reason = format!("automatic message: {why}");
    let mut member_id = None;
    if p.auto_reply
        && let Some(from) = &p.from
    {
        // Only a member we can tie to the message, writing from their own address, may be
        // marked away: a forwarded or forged notice must not silence someone else.
        let member = match identify(ctx, p, from, now).await? {
            Identity::Found(m, _) => Some(m),
            _ => ctx.store.member_by_email(from).await?,
        }
        .filter(|m| m.owns_address(from));
        if let Some(m) = member {
            member_id = Some(m.id);
            let sent = local_date(m.tz, p.date.unwrap_or(now));
            let text = format!("{}\n{}", p.subject, p.text);
            if let Some(until) = crate::mail::ooo::away_until(&text, sent) {
                ctx.store
                    .add_away(
                        m.id,
                        &AwayRange {
                            from: sent,
                            to: until,
                        },
                    )
                    .await?;
                reason.push_str(&format!("; {} marked away until {until}", m.email));
            }
        }
    }
    Ok((
        InboundStatus::Ignored,
        Outcome::Ignored(reason),
        sender,
        member_id,
        None,
    ))
}

async fn decide(ctx: &Ctx, key: &str, raw: &[u8], now: DateTime<Utc>) -> anyhow::Result<Decision> {
    let quarantine = |r: String, sender: Option<String>, member: Option<i64>| -> Decision {
        (
            InboundStatus::Quarantined,
            Outcome::Quarantined(r),
            sender,
            member,
            None,
        )
    };
    let p = match parse::parse(raw) {
        Ok(p) => p,
        Err(e) => return Ok(quarantine(format!("malformed message: {e}"), None, None)),
    };
    let sender = p.from.as_ref().map(|f| f.to_string());
    if let Some(why) = &p.automatic {
        return automatic(ctx, &p, why, now).await;
    }
    if p.garbled {
        return Ok(quarantine(
            "malformed message: the text is not readable (binary data or a broken encoding)".into(),
            sender,
            None,
        ));
    }
    let Some(from) = p.from.clone() else {
        return Ok(quarantine(
            "the message has no usable From address".into(),
            None,
            None,
        ));
    };
    let (member, date) = match identify(ctx, &p, &from, now).await? {
        Identity::Found(m, d) => (m, d),
        Identity::BadToken(e) => {
            notify_sender(ctx, key, &p, &from, false, "Your reply could not be matched to an update request (its reply address was altered). Please reply to the latest request email directly.", now).await?;
            return Ok(quarantine(
                format!("invalid reply token: {e}"),
                sender,
                None,
            ));
        }
        Identity::GoneMember => {
            return Ok(quarantine(
                "the token names a member who no longer exists".into(),
                sender,
                None,
            ));
        }
        Identity::Stranger => {
            return Ok(quarantine(
                format!("{from} is not a member and the message carries no reply token"),
                sender,
                None,
            ));
        }
        Identity::Unmatched => {
            notify_sender(ctx, key, &p, &from, false, "Your message was not accepted: it is not a reply to an update request. Please reply to the latest request email directly.", now).await?;
            return Ok(quarantine(
                "no reply token and not a reply to a Tidings email".into(),
                sender,
                None,
            ));
        }
    };
    if !member.owns_address(&from) {
        notify_sender(ctx, key, &p, &from, true, "Your message was not accepted: it came from an address that does not belong to the member the reply address was made for.", now).await?;
        return Ok(quarantine(
            format!(
                "sender {from} is not {} (the token's member) or one of their aliases",
                member.email
            ),
            sender,
            Some(member.id),
        ));
    }
    // No notice here: the From of a message that fails DMARC is probably forged, and telling
    // the forged address would be backscatter.
    if p.dmarc_fail {
        return Ok(quarantine(
            "Authentication-Results reports dmarc=fail".into(),
            sender,
            Some(member.id),
        ));
    }
    let mut text = p.text.trim().to_string();
    let mut replace = false;
    if let Some(cmd) = parse_command(&text) {
        match cmd {
            Ok(Command::Replace) => {
                replace = true;
                text = text
                    .trim_start()
                    .split_once('\n')
                    .map(|(_, r)| r.trim().to_string())
                    .unwrap_or_default();
            }
            Ok(c) => {
                let msg = apply_command(ctx, &member, c, now).await?;
                queue_member_mail(
                    ctx,
                    MailKind::Notice,
                    &member,
                    &format!("receipt:{key}"),
                    "Done: your preferences changed",
                    &msg,
                    None,
                    now,
                )
                .await?;
                return Ok((
                    InboundStatus::Command,
                    Outcome::Command(msg),
                    sender,
                    Some(member.id),
                    None,
                ));
            }
            Err(e) => {
                let msg = format!("That looked like a command, but: {e}");
                queue_member_mail(
                    ctx,
                    MailKind::Notice,
                    &member,
                    &format!("receipt:{key}"),
                    "Your command was not understood",
                    &msg,
                    None,
                    now,
                )
                .await?;
                return Ok(quarantine(msg, sender, Some(member.id)));
            }
        }
    }
    // Attachments alone are not an update: without text there is nothing to show in a digest.
    if text.trim().is_empty() {
        queue_member_mail(ctx, MailKind::Notice, &member, &format!("receipt:{key}"), "Your reply was empty", "We found no new text above the quoted request, so nothing was saved. Type your update above the quoted text and send it again.", Some(Thread { date, in_reply_to: &p.message_id }), now).await?;
        return Ok(quarantine(
            "no new text in the reply".into(),
            sender,
            Some(member.id),
        ));
    }
    let text = with_attachments(ctx, text, &p.attachments);
    let (status, outcome, _, m, u) = store_update(
        ctx,
        key,
        &member,
        date,
        &text,
        &p.message_id,
        replace,
        &p.attachments,
        now,
    )
    .await?;
    Ok((status, outcome, sender, m, u))
}

/// Stores (or appends to) a member's update and queues the receipt.
#[allow(clippy::too_many_arguments)]
async fn store_update(
    ctx: &Ctx,
    key: &str,
    member: &Member,
    date: NaiveDate,
    text: &str,
    message_id: &str,
    replace: bool,
    attachments: &[String],
    now: DateTime<Utc>,
) -> anyhow::Result<Decision> {
    let out = ctx
        .store
        .upsert_update(
            member.id,
            date,
            text,
            "email",
            Some(message_id),
            replace,
            now.timestamp(),
        )
        .await?;
    let kept = ctx
        .store
        .update_for(member.id, date)
        .await?
        .map(|u| u.body)
        .unwrap_or_else(|| text.to_string());
    let receipt = render::receipt_text(
        &member.name,
        date,
        &kept,
        out.edited,
        attachments,
        &ctx.prefs_url(member.id, now),
    );
    queue_member_mail(
        ctx,
        MailKind::Receipt,
        member,
        &format!("receipt:{key}"),
        &format!("Saved: your update for {}", date.format("%a %-d %b")),
        &receipt,
        Some(Thread {
            date,
            in_reply_to: message_id,
        }),
        now,
    )
    .await?;
    Ok((
        InboundStatus::Accepted,
        Outcome::Accepted {
            update_id: out.id,
            edited: out.edited,
        },
        None,
        Some(member.id),
        Some(out.id),
    ))
}

async fn by_references(ctx: &Ctx, refs: &[String]) -> anyhow::Result<Option<(Member, NaiveDate)>> {
    for r in refs.iter().rev() {
        if let Some((member, Some(date), kind)) = ctx.store.outbox_by_message_id(r).await? {
            // A reply to a request, a reminder or a receipt counts for that mail's date.
            if kind != MailKind::Request.as_str()
                && kind != MailKind::Reminder.as_str()
                && kind != MailKind::Receipt.as_str()
            {
                continue;
            }
            if let (Some(m), Ok(d)) = (
                ctx.store.member_by_id(member).await?,
                date.parse::<NaiveDate>(),
            ) {
                return Ok(Some((m, d)));
            }
        }
    }
    Ok(None)
}

async fn apply_command(
    ctx: &Ctx,
    m: &Member,
    c: Command,
    now: DateTime<Utc>,
) -> anyhow::Result<String> {
    let today = local_date(m.tz, now);
    let mut ch = MemberChange::default();
    let msg = match c {
        Command::Skip => {
            let mut away = m.away.clone();
            away.push(AwayRange {
                from: today,
                to: today,
            });
            ch.away = Some(away);
            format!("Skipped: no more requests or digests for {today}.")
        }
        Command::Pause => {
            ch.paused = Some(true);
            "Paused: you will get no requests or digests until you reply \"resume\".".to_string()
        }
        Command::Resume => {
            ch.paused = Some(false);
            "Welcome back: requests and digests are on again.".to_string()
        }
        Command::AwayUntil(d) => {
            let mut away = m.away.clone();
            away.push(AwayRange {
                from: today,
                to: d.max(today),
            });
            ch.away = Some(away);
            format!("Noted: you are away until {d}. Enjoy!")
        }
        Command::DigestAt(t) => {
            ch.digest_at = Some(t);
            format!("Your digest now arrives at {t} ({}).", m.tz.name())
        }
        Command::RequestAt(t) => {
            ch.request_at = Some(t);
            format!("Update requests now arrive at {t} ({}).", m.tz.name())
        }
        Command::Timezone(z) => {
            ch.tz = Some(z);
            format!("Your time zone is now {}.", z.name())
        }
        Command::Replace => unreachable!("handled by the caller"),
    };
    ctx.store.update_member(&m.email, &ch).await?;
    Ok(msg)
}

/// The reply a receipt or notice answers: its update's local date and the reply's
/// Message-ID. Such a mail's `Reply-To` is the member's token address for that date, so a
/// reply to it ("replace", or the update an empty reply lacked) lands where Tidings reads and
/// counts for the same day; `In-Reply-To`/`References` thread it under the member's reply.
#[derive(Debug, Clone, Copy)]
pub struct Thread<'a> {
    pub date: NaiveDate,
    pub in_reply_to: &'a str,
}

/// Queues a receipt or notice to a member (idempotent by `key`).
#[allow(clippy::too_many_arguments)]
pub async fn queue_member_mail(
    ctx: &Ctx,
    kind: MailKind,
    m: &Member,
    key: &str,
    subject: &str,
    text: &str,
    thread: Option<Thread<'_>>,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let prefs = ctx.prefs_url(m.id, now);
    let body = if kind == MailKind::Receipt {
        text.to_string()
    } else {
        render::notice_text(&m.name, text, &prefs)
    };
    queue_mail(
        ctx,
        kind,
        &m.name,
        &m.email,
        Some(m.id),
        key,
        subject,
        body,
        thread,
        now,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn queue_mail(
    ctx: &Ctx,
    kind: MailKind,
    name: &str,
    to: &EmailAddress,
    member: Option<i64>,
    key: &str,
    subject: &str,
    text: String,
    thread: Option<Thread<'_>>,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let message_id = new_message_id(kind.as_str(), &ctx.mail_domain());
    let reply_to = match (thread, member) {
        (Some(t), Some(id)) => Some(ctx.reply_address(id, t.date)),
        _ => None,
    };
    let in_reply_to = thread
        .filter(|t| !t.in_reply_to.is_empty())
        .map(|t| format!("<{}>", t.in_reply_to.trim_matches(['<', '>'])));
    let raw = outbound::build(&outbound::Outgoing {
        kind,
        from: &ctx.config.mail.from,
        to_name: name,
        to,
        reply_to: reply_to.as_ref(),
        subject,
        message_id: &message_id,
        in_reply_to: in_reply_to.as_deref(),
        text,
        html: None,
        unsubscribe_url: None,
        list_id: None,
        date: now.timestamp(),
    })?;
    ctx.store
        .enqueue(
            &NewEmail {
                idem_key: key.to_string(),
                kind: kind.as_str(),
                member_id: member,
                local_date: thread.map(|t| t.date.to_string()),
                recipient: to.to_string(),
                message_id: message_id.trim_matches(['<', '>']).to_string(),
                subject: subject.to_string(),
                body: raw,
            },
            now.timestamp(),
        )
        .await?;
    Ok(())
}

/// Tells the sender of an unusable message why, at most 3 times an hour per address — but
/// only a member (or one of their aliases) whose message passed the token check
/// (`token_ok`) or DMARC (the topmost `Authentication-Results`). Anyone else may be a forged
/// `From`, and answering it would make Tidings a spam reflector (backscatter): such mail is
/// quarantined with its reason and nobody is told.
async fn notify_sender(
    ctx: &Ctx,
    key: &str,
    p: &parse::Inbound,
    to: &EmailAddress,
    token_ok: bool,
    why: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    if !(token_ok || p.dmarc_pass) || p.dmarc_fail || ctx.store.member_by_email(to).await?.is_none()
    {
        return Ok(());
    }
    let hour_ago = (now - Duration::hours(1)).timestamp();
    if ctx.store.notices_since(to.as_str(), hour_ago).await? >= 3 {
        return Ok(());
    }
    let text = format!("Hello,\n\n{why}\n\nThis is an automatic message from Tidings.\n");
    queue_mail(
        ctx,
        MailKind::Notice,
        "",
        to,
        None,
        &format!("notice:{key}"),
        "Your message to Tidings was not accepted",
        text,
        None,
        now,
    )
    .await
}
