//! What a message may make Tidings send: receipts and notices within the hourly limit per
//! address, a "not accepted" notice only to a sender who is who they say (no backscatter).

use chrono::{DateTime, Duration, Utc};

use crate::domain::EmailAddress;
use crate::jobs::Ctx;
use crate::jobs::compose;
use crate::mail::auth::Verdict;
use crate::mail::parse;

/// Queues a receipt or notice that a message triggered, unless
/// `mail.inbound.receipts_per_hour` of them already went to that address within the hour:
/// however many messages arrive, one address never gets more (counted in `/metrics`).
pub(super) async fn tell(
    ctx: &Ctx,
    email: &crate::store::NewEmail,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let limit = i64::from(ctx.config.mail.inbound.receipts_per_hour);
    if limit > 0 {
        let hour_ago = (now - Duration::hours(1)).timestamp();
        let sent = ctx
            .store
            .replies_mail_since(&email.recipient, hour_ago)
            .await?;
        if sent >= limit {
            ctx.metrics.suppressed_reply_mail();
            tracing::warn!(
                recipient = %email.recipient,
                kind = email.kind,
                limit,
                "not sent: mail.inbound.receipts_per_hour reached for this address"
            );
            return Ok(());
        }
    }
    ctx.queue(email, now).await?;
    Ok(())
}

/// Tells `member` what their command did (or why it was refused): the receipt keyed by the
/// inbound message `key`, sent through [`tell`].
pub(super) async fn tell_member(
    ctx: &Ctx,
    member: &crate::domain::Member,
    key: &str,
    subject: &str,
    text: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let notice = compose::notice(
        ctx,
        member,
        &format!("receipt:{key}"),
        subject,
        text,
        None,
        now,
    )?;
    tell(ctx, &notice, now).await
}

/// Why a message is nobody's, whatever it carries: several From addresses, or a `Sender:`
/// other than its From (mail sent on someone's behalf is not theirs).
pub(super) fn not_one_sender(p: &parse::Inbound, from: &EmailAddress) -> Option<String> {
    if p.from_count > 1 {
        return Some(format!(
            "the From header holds {} addresses; a message from several people is nobody's update",
            p.from_count
        ));
    }
    match &p.sender {
        Some(s) if s != from => Some(format!(
            "Sender: {s} is not the From address {from}; mail sent on someone's behalf is not theirs"
        )),
        _ => None,
    }
}

/// Tells the sender of an unusable message why, at most 3 times an hour per address — but
/// only a member (or one of their aliases) whose message passed the token check
/// (`token_ok`) or DMARC (the topmost `Authentication-Results`). Anyone else may be a forged
/// `From`, and answering it would make Tidings a spam reflector (backscatter): such mail is
/// quarantined with its reason and nobody is told.
/// At most three notices an hour go to one address (a loop of automatic mail, or someone
/// replying again and again, never floods it).
pub(super) async fn under_notice_limit(
    ctx: &Ctx,
    to: &EmailAddress,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let hour_ago = (now - Duration::hours(1)).timestamp();
    Ok(ctx.store.notices_since(to.as_str(), hour_ago).await? < 3)
}

pub(super) async fn notify_sender(
    ctx: &Ctx,
    key: &str,
    verdict: &Verdict,
    to: &EmailAddress,
    token_ok: bool,
    why: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    // Only a sender who is who they say: a valid token, or our receiving server vouches for
    // the From (a forged From must not be answered: backscatter). And only a member, or a
    // sender whose message both carried a valid token and was vouched for (a member writing
    // from another address of theirs).
    let vouched = verdict.passed();
    if !(token_ok || vouched) || verdict.failed() {
        return Ok(());
    }
    if !(token_ok && vouched) && ctx.store.member_by_email(to).await?.is_none() {
        return Ok(());
    }
    if !under_notice_limit(ctx, to, now).await? {
        return Ok(());
    }
    let notice = compose::refusal(ctx, to, &format!("notice:{key}"), why, now)?;
    tell(ctx, &notice, now).await?;
    Ok(())
}
