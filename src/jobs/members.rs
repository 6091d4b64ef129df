//! Adding and changing a member while Tidings runs: one path for the API, the preferences
//! page, an unsubscribe link and a command replied by email. The change is stored, the
//! member's next request and digest are planned at once (the store clears them on every
//! change, and the catch-up rule of [`plan::plan_member`] applies: a fire that passed today
//! still goes out when nothing was queued for it), and the member is told when the way in
//! asks for it.
//!
//! The command line (`member add`, `member set`, `member import`) and the demo write through
//! the store alone, with the same [`defaults`]: the store clears the planned instants, and the
//! next pass plans them with its own clock (`run-due --now` included).

use chrono::{DateTime, Utc};

use super::{Ctx, compose, plan};
use crate::config::Config;
use crate::domain::{EmailAddress, Member};
use crate::store::{MemberChange, MemberDefaults, StoreError};

/// What a new member takes for the preferences not given: the `[schedule]` defaults.
pub fn defaults(cfg: &Config) -> MemberDefaults {
    MemberDefaults {
        tz: cfg.schedule.default_timezone,
        request_at: cfg.schedule.default_request_at,
        digest_at: cfg.schedule.default_digest_at,
        workdays: cfg.schedule.default_workdays,
    }
}

/// A notice telling the member what changed, idempotent by `key`.
#[derive(Debug, Clone, Copy)]
pub struct Tell<'a> {
    pub key: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
}

/// Adds a member (`Conflict` when the address is taken) and plans them.
pub async fn add(
    ctx: &Ctx,
    email: &EmailAddress,
    ch: &MemberChange,
    now: DateTime<Utc>,
) -> Result<Member, StoreError> {
    let id = ctx
        .store
        .add_member(email, ch, &defaults(&ctx.config))
        .await?;
    let m = ctx
        .store
        .member_by_id(id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("the member {email} just added")))?;
    plan::plan_member(ctx, &m, now).await?;
    Ok(m)
}

/// Changes the member with address `email` (`NotFound` when there is none), plans them
/// again, and queues `tell` to them when given. Returns the member as changed.
pub async fn change(
    ctx: &Ctx,
    email: &EmailAddress,
    ch: &MemberChange,
    tell: Option<Tell<'_>>,
    now: DateTime<Utc>,
) -> Result<Member, StoreError> {
    let m = ctx.store.update_member(email, ch).await?;
    plan::plan_member(ctx, &m, now).await?;
    if let Some(t) = tell {
        let email = compose::notice(ctx, &m, t.key, t.subject, t.text, None, now)?;
        ctx.queue(&email, now).await?;
    }
    Ok(m)
}
