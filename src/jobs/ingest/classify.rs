//! Automatic mail (bounces, out-of-office and other auto-replies) is never an update: a
//! bounce counts against the address it reports on, an out-of-office reply with a return
//! date marks its member away.

use chrono::{DateTime, Utc};

use super::decide::Decision;
use super::identify::{Identity, Via, identify};
use crate::domain::AwayRange;
use crate::domain::schedule::local_date;
use crate::jobs::Ctx;
use crate::mail::parse;

/// Automatic mail is never an update. A bounce counts against the address it reports on; an
/// out-of-office reply with a return date marks its member away until then.
pub(super) async fn automatic(
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
        return Ok(Decision::ignored(reason, sender, member_id));
    }
    let mut reason = format!("automatic message: {why}");
    let mut member_id = None;
    if p.auto_reply
        && let Some(from) = &p.from
    {
        // Only a member we can tie to the message, writing from their own address, may be
        // marked away: a forwarded or forged notice must not silence someone else. Tied by
        // their reply token, or vouched for by our receiving server (anybody can write a
        // member's From, and References, to the base address).
        let vouched = p
            .verdict(&ctx.config.mail.inbound.trusted_authserv_id)
            .passed();
        let member = match identify(ctx, p, from, now).await? {
            Identity::Found(m, _, _, Via::Token) => Some(m),
            Identity::Found(m, _, _, _) if vouched => Some(m),
            _ if vouched => ctx.store.member_by_email(from).await?,
            _ => None,
        }
        .filter(|m| m.owns_address(from) && p.from_count == 1);
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
    Ok(Decision::ignored(reason, sender, member_id))
}
