//! Mentions: `@ana` in an update is recorded for Ana, whatever team she reads, and goes to the
//! top of her next digest under "Needs you"; the author's receipt says when she will read it.

use chrono::{DateTime, Utc};

use super::Ctx;
use crate::domain::{Delivery, Member, mention};
use crate::store::DueKind;

/// Whom an update's mentions reached, and which did not name anyone.
#[derive(Debug, Default)]
pub struct MentionReport {
    /// Each member mentioned, with their next digest (none: digests off, paused, …).
    pub told: Vec<(Member, Option<DateTime<Utc>>)>,
    /// Handles no member has.
    pub unknown: Vec<String>,
    /// Handles several members answer to, with their names.
    pub ambiguous: Vec<(String, Vec<String>)>,
}

/// Records the mentions in `text` (a reply or post just stored as update `update_id` of
/// `author`). The author mentioning themself tells nobody.
pub async fn record(
    ctx: &Ctx,
    author: &Member,
    update_id: i64,
    text: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<MentionReport> {
    let handles = mention::mentions(text);
    let mut report = MentionReport::default();
    if handles.is_empty() {
        return Ok(report);
    }
    let everyone = ctx.store.list_members().await?;
    let mut ids = Vec::new();
    for h in handles {
        let found: Vec<&Member> = everyone
            .iter()
            .filter(|m| mention::matches(&h, m))
            .collect();
        match found.as_slice() {
            [] => report.unknown.push(h),
            [m] if m.id == author.id => {}
            [m] => {
                if !ids.contains(&m.id) {
                    ids.push(m.id);
                    let next = super::plan::upcoming(ctx, m, DueKind::Digest, now)
                        .await?
                        .map(|(_, t)| t.max(now));
                    report.told.push(((*m).clone(), next));
                }
            }
            many => report
                .ambiguous
                .push((h, many.iter().map(|m| m.name.clone()).collect())),
        }
    }
    ctx.store
        .record_mentions(update_id, &ids, now.timestamp())
        .await?;
    // Those who chose `mentions = immediate`: an email now, and nothing in the digest.
    let lines = crate::render::Mentioned::lines_of(&crate::domain::sections::split(text, &[]));
    for (m, next) in &mut report.told {
        if m.mentions != Delivery::Immediate || m.paused || m.unsubscribed {
            continue;
        }
        let notice = super::compose::at_once(
            ctx,
            m,
            &format!("mention:{update_id}:{}", m.id),
            &format!("{} mentioned you", author.name),
            &format!("{} mentioned you in their update:", author.name),
            lines.iter().map(String::as_str),
            update_id,
            now,
        )?;
        ctx.queue(&notice, now).await?;
        ctx.store
            .mention_delivered(update_id, m.id, now.timestamp())
            .await?;
        *next = Some(now);
    }
    Ok(report)
}

/// The receipt's lines about the mentions: when each person will read it, and the handles
/// that named nobody (or several people). Empty without mentions.
pub fn receipt_lines(r: &MentionReport, now: DateTime<Utc>) -> String {
    let mut s = String::new();
    for (m, next) in &r.told {
        match next {
            // Sent at once (`mentions = immediate`), or due at the next pass.
            Some(t) if *t <= now && m.mentions == Delivery::Immediate => s.push_str(&format!(
                "{} gets this now, by email (they chose mentions at once).\n",
                m.name
            )),
            Some(t) if *t <= now => s.push_str(&format!(
                "{} will read this in their next digest, which goes out within a minute ({} time).\n",
                m.name,
                m.tz.name()
            )),
            Some(t) => {
                let local = t.with_timezone(&m.tz);
                let hours = (*t - now).num_minutes().max(0) as f64 / 60.0;
                let when = if hours < 1.0 {
                    "within the hour".to_string()
                } else {
                    format!("in about {} hours", hours.round() as i64)
                };
                s.push_str(&format!(
                    "{} will read this at {} {} time ({}), {when}.\n",
                    m.name,
                    local.format("%H:%M"),
                    m.tz.name(),
                    local.format("%a %-d %b")
                ));
            }
            None => s.push_str(&format!(
                "{} gets no digest now (paused, unsubscribed or digests off); they will see it in the team log.\n",
                m.name
            )),
        }
    }
    for h in &r.unknown {
        s.push_str(&format!("No member is @{h}: nobody was told.\n"));
    }
    for (h, names) in &r.ambiguous {
        s.push_str(&format!(
            "@{h} could be {}: nobody was told; write their address (@name@example.com).\n",
            names.join(" or ")
        ));
    }
    s
}
