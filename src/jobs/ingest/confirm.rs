//! "Was this you?": a message from a member's address that carries no reply token and that our
//! receiving server did not vouch for is quarantined, and the member (at their own address,
//! never the sender's) may get one email an hour with a signed link that releases it. The
//! release runs the message through the pipeline once more, as the member's.

use chrono::{DateTime, Duration, Utc};

use super::{Outcome, run_pipeline};
use crate::domain::Member;
use crate::domain::token::ConfirmToken;
use crate::jobs::Ctx;
use crate::jobs::compose;
use crate::mail::parse;
use crate::store::InboundStatus;

/// How long a "was this you?" link works.
pub const CONFIRM_DAYS: i64 = 7;
/// The idempotency-key prefix of the emails, also how they are counted per hour.
const KEY: &str = "confirm:";

/// The release link of quarantined message `inbound` for `m`.
pub fn confirm_url(ctx: &Ctx, inbound: i64, m: &Member, now: DateTime<Utc>) -> String {
    let t = ConfirmToken {
        inbound,
        member: m.id,
        expires: (now + Duration::days(CONFIRM_DAYS)).timestamp(),
    };
    format!(
        "{}/confirm/{}",
        ctx.config.web.base_url.trim_end_matches('/'),
        t.encode(&ctx.secret, m.epoch)
    )
}

/// Asks `m` whether message `inbound` was theirs, unless they were asked within the hour
/// (or the member is paused or unsubscribed: they asked for no mail).
pub(super) async fn ask(
    ctx: &Ctx,
    inbound: i64,
    m: &Member,
    p: &parse::Inbound,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    if m.unsubscribed {
        return Ok(());
    }
    let hour_ago = (now - Duration::hours(1)).timestamp();
    if ctx.store.mail_with_key_since(m.id, KEY, hour_ago).await? > 0 {
        tracing::info!(member = %m.email, inbound, "not asking \"was this you?\" again within the hour");
        return Ok(());
    }
    let subject = if p.subject.trim().is_empty() {
        "(no subject)".to_string()
    } else {
        p.subject.chars().take(120).collect()
    };
    let text = format!(
        "A message from your address ({}) reached Tidings without the reply address of one of our emails, and your mail server's check could not confirm it was sent by you. It was kept aside, not added to your update, and no command in it was applied.\n\nSubject: {subject}\n\nIf you sent it, open this link within {CONFIRM_DAYS} days and confirm: it is then read as your reply.\n\n{}\n\nIf you did not send it, do nothing: it stays aside. Replies to our emails (which carry your personal reply address) never need this step.\n",
        m.email,
        confirm_url(ctx, inbound, m, now),
    );
    let email = compose::notice(
        ctx,
        m,
        &format!("{KEY}{inbound}"),
        "Was this you? A message from your address is waiting",
        &text,
        None,
        now,
    )?;
    ctx.queue(&email, now).await?;
    Ok(())
}

/// Why a confirmation did nothing.
#[derive(Debug, thiserror::Error)]
pub enum ConfirmError {
    #[error("no such message")]
    NotFound,
    #[error("this message was already confirmed or released")]
    Done,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// Releases quarantined message `inbound` as `m`'s, once: it goes through the pipeline again
/// as if our receiving server had vouched for it.
pub async fn confirm(
    ctx: &Ctx,
    inbound: i64,
    m: &Member,
    now: DateTime<Utc>,
) -> Result<Outcome, ConfirmError> {
    let row = ctx
        .store
        .inbound(inbound)
        .await
        .map_err(anyhow::Error::from)?
        .ok_or(ConfirmError::NotFound)?;
    if row.member_id != Some(m.id) {
        return Err(ConfirmError::NotFound);
    }
    if row.status != InboundStatus::Quarantined.as_str() {
        return Err(ConfirmError::Done);
    }
    let lease = now.timestamp() + super::LEASE_SECS;
    if !ctx
        .store
        .take_quarantined(inbound, lease)
        .await
        .map_err(anyhow::Error::from)?
    {
        return Err(ConfirmError::Done);
    }
    // Read as of when it arrived: a message confirmed the next morning counts for the day
    // it was written, as it would have with a token.
    let received = DateTime::from_timestamp(row.received_at, 0).unwrap_or(now);
    let key = format!("{inbound}-confirmed");
    Ok(run_pipeline(ctx, inbound, &row.raw, &key, true, received).await?)
}
