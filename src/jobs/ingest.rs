//! Ingesting replies: store the raw bytes first, then parse, drop automatic mail, find and
//! verify the token, check the sender, apply commands or store the update, and send a receipt.
//! Mail that cannot be used is quarantined with its reason, never silently dropped.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::Ctx;
use crate::config::Transport;
use crate::domain::command::{Command, parse_command};
use crate::domain::schedule::local_date;
use crate::domain::token::ReplyToken;
use crate::domain::{AwayRange, EmailAddress, MailKind, Member};
use crate::mail::{inbound, new_message_id, outbound, parse};
use crate::render;
use crate::store::{InboundStatus, MemberChange, NewEmail};

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
            let mut imap = inbound::ImapPoll::open(cfg, &ctx.store).await?;
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
            imap.finish(cfg, &ctx.store, &done).await?;
        }
    }
    Ok(report)
}

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
    let Some(id) = ctx
        .store
        .insert_inbound(&message_id, raw, source, ts)
        .await?
    else {
        return Ok(Outcome::Duplicate);
    };
    let (status, outcome, sender, member, update) = decide(ctx, id, raw, now).await?;
    let reason = match &outcome {
        Outcome::Ignored(r) | Outcome::Quarantined(r) | Outcome::Command(r) => Some(r.as_str()),
        _ => None,
    };
    ctx.store
        .set_inbound_outcome(id, status, reason, sender.as_deref(), member, update, ts)
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

async fn decide(
    ctx: &Ctx,
    inbound_id: i64,
    raw: &[u8],
    now: DateTime<Utc>,
) -> anyhow::Result<Decision> {
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
        return Ok((
            InboundStatus::Ignored,
            Outcome::Ignored(format!("automatic message: {why}")),
            sender,
            None,
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
    // Who and which day: the token in a sub-address, else a reply to one of our emails, else a
    // fresh email from a known member to the base address.
    let base = ctx.config.reply_to();
    let tag = p
        .recipients
        .iter()
        .find_map(|r| r.tag_of(&base).map(str::to_string));
    let (member, date) = if let Some(tag) = tag {
        match ReplyToken::verify(&tag, &ctx.secret) {
            Ok(t) => match ctx.store.member_by_id(t.member).await? {
                Some(m) => (m, t.date),
                None => {
                    return Ok(quarantine(
                        "the token names a member who no longer exists".into(),
                        sender,
                        None,
                    ));
                }
            },
            Err(e) => {
                let o = quarantine(format!("invalid reply token: {e}"), sender, None);
                notify_sender(ctx, inbound_id, &from, "Your reply could not be matched to an update request (its reply address was altered). Please reply to the latest request email directly.", now).await?;
                return Ok(o);
            }
        }
    } else if let Some((m, d)) = by_references(ctx, &p.references).await? {
        (m, d)
    } else if p.recipients.iter().any(|r| r == &base) {
        match ctx.store.member_by_email(&from).await? {
            Some(m) => {
                let d = local_date(m.tz, now);
                (m, d)
            }
            None => {
                return Ok(quarantine(
                    format!("{from} is not a member and the message carries no reply token"),
                    sender,
                    None,
                ));
            }
        }
    } else {
        return Ok(quarantine(
            "no reply token and not a reply to a Tidings email".into(),
            sender,
            None,
        ));
    };
    if !member.owns_address(&from) {
        notify_sender(ctx, inbound_id, &from, "Your message was not accepted: it came from an address that does not belong to the member the reply address was made for.", now).await?;
        return Ok(quarantine(
            format!(
                "sender {from} is not {} (the token's member) or one of their aliases",
                member.email
            ),
            sender,
            Some(member.id),
        ));
    }
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
                    &format!("receipt:{inbound_id}"),
                    "Done: your preferences changed",
                    &msg,
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
                    &format!("receipt:{inbound_id}"),
                    "Your command was not understood",
                    &msg,
                    now,
                )
                .await?;
                return Ok(quarantine(msg, sender, Some(member.id)));
            }
        }
    }
    if !p.attachments.is_empty() {
        text.push_str(&format!("\n\n(attachments: {})", p.attachments.join(", ")));
    }
    if text.trim().is_empty() {
        queue_member_mail(ctx, MailKind::Notice, &member, &format!("receipt:{inbound_id}"), "Your reply was empty", "We found no new text above the quoted request, so nothing was saved. Type your update above the quoted text and send it again.", now).await?;
        return Ok(quarantine(
            "no new text in the reply".into(),
            sender,
            Some(member.id),
        ));
    }
    let out = ctx
        .store
        .upsert_update(
            member.id,
            date,
            &text,
            "email",
            Some(&p.message_id),
            replace,
            now.timestamp(),
        )
        .await?;
    let kept = ctx
        .store
        .update_for(member.id, date)
        .await?
        .map(|u| u.body)
        .unwrap_or(text);
    let receipt = render::receipt_text(
        &member.name,
        date,
        &kept,
        out.edited,
        &p.attachments,
        &ctx.prefs_url(member.id, now),
    );
    queue_member_mail(
        ctx,
        MailKind::Receipt,
        &member,
        &format!("receipt:{inbound_id}"),
        &format!("Saved: your update for {}", date.format("%a %-d %b")),
        &receipt,
        now,
    )
    .await?;
    Ok((
        InboundStatus::Accepted,
        Outcome::Accepted {
            update_id: out.id,
            edited: out.edited,
        },
        sender,
        Some(member.id),
        Some(out.id),
    ))
}

async fn by_references(ctx: &Ctx, refs: &[String]) -> anyhow::Result<Option<(Member, NaiveDate)>> {
    for r in refs.iter().rev() {
        if let Some((member, Some(date), kind)) = ctx.store.outbox_by_message_id(r).await? {
            if kind != MailKind::Request.as_str() && kind != MailKind::Reminder.as_str() {
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

/// Queues a receipt or notice to a member (idempotent by `key`).
pub async fn queue_member_mail(
    ctx: &Ctx,
    kind: MailKind,
    m: &Member,
    key: &str,
    subject: &str,
    text: &str,
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
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let message_id = new_message_id(kind.as_str(), &ctx.mail_domain());
    let raw = outbound::build(&outbound::Outgoing {
        kind,
        from: &ctx.config.mail.from,
        to_name: name,
        to,
        reply_to: None,
        subject,
        message_id: &message_id,
        in_reply_to: None,
        text,
        html: None,
        unsubscribe_url: None,
        date: now.timestamp(),
    })?;
    ctx.store
        .enqueue(
            &NewEmail {
                idem_key: key.to_string(),
                kind: kind.as_str(),
                member_id: member,
                local_date: None,
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

/// Tells the sender of an unusable message why, at most 3 times an hour per address.
async fn notify_sender(
    ctx: &Ctx,
    inbound_id: i64,
    to: &EmailAddress,
    why: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
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
        &format!("notice:{inbound_id}"),
        "Your message to Tidings was not accepted",
        text,
        now,
    )
    .await
}
