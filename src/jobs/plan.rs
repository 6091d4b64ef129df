//! The planning pass: fill in missing next instants, then queue what is due. Its cost follows
//! the work due (index range scans on `next_*_at`), not the number of members.
//!
//! Catch-up rule: a request or digest whose planned local date is still the member's local date
//! goes out late; otherwise it is skipped. Either way the next instant is planned after `now`,
//! and the outbox key (kind, member, local date) makes a second queueing a no-op.

use chrono::{DateTime, Duration, Utc};

use super::Ctx;
use crate::domain::schedule::local_date;
use crate::domain::{MailKind, Member};
use crate::mail::{new_message_id, outbound};
use crate::render::{self, DigestEntry, DigestView, RequestView};
use crate::store::{Due, DueKind, NewEmail};

/// Counts of one pass.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PlanReport {
    pub planned: usize,
    pub requests: usize,
    pub digests: usize,
    pub empty_digests: usize,
    pub skipped: usize,
}

const BATCH: i64 = 500;

pub async fn run(ctx: &Ctx, now: DateTime<Utc>) -> anyhow::Result<PlanReport> {
    let mut report = PlanReport::default();
    let ts = now.timestamp();
    loop {
        let members = ctx.store.unplanned_members(BATCH).await?;
        if members.is_empty() {
            break;
        }
        let n = members.len();
        for m in members {
            report.planned += plan_member(ctx, &m, now).await?;
        }
        if (n as i64) < BATCH {
            break;
        }
    }
    for kind in [DueKind::Request, DueKind::Digest] {
        loop {
            let due = ctx.store.due(kind, ts, BATCH).await?;
            let n = due.len();
            for d in due {
                handle_due(ctx, kind, &d, now, &mut report).await?;
            }
            if (n as i64) < BATCH {
                break;
            }
        }
    }
    Ok(report)
}

/// Fills in the missing next instants of one member (after `now`); returns how many it set.
/// The web calls this right after a preference change so the stored instants are current at
/// once instead of at the next tick.
pub async fn plan_member(ctx: &Ctx, m: &Member, now: DateTime<Utc>) -> anyhow::Result<usize> {
    let mut planned = 0;
    for kind in [DueKind::Request, DueKind::Digest] {
        let s = match kind {
            DueKind::Request => m.request_schedule(),
            DueKind::Digest => m.digest_schedule(),
        };
        let next = s.next_after(now).map(|(d, t)| (t.timestamp(), d));
        // Only fills a NULL: a racing planner that got there first wins.
        if ctx.store.set_next(kind, m.id, None, next).await? {
            planned += 1;
        }
    }
    Ok(planned)
}

async fn handle_due(
    ctx: &Ctx,
    kind: DueKind,
    d: &Due,
    now: DateTime<Utc>,
    report: &mut PlanReport,
) -> anyhow::Result<()> {
    let m = &d.member;
    let s = match kind {
        DueKind::Request => m.request_schedule(),
        DueKind::Digest => m.digest_schedule(),
    };
    // After downtime the stored instant may be days old: the fire that counts is the latest one
    // at or before `now` (looking back at most two days, which covers every "same local day").
    let mut fire = d.date;
    let mut cursor = DateTime::from_timestamp(d.at, 0)
        .unwrap_or(now)
        .max(now - Duration::days(2));
    while let Some((date, t)) = s.next_after(cursor) {
        if t > now {
            break;
        }
        fire = date;
        cursor = t;
    }
    let today = local_date(m.tz, now);
    let wanted = fire == today && m.receives_on(fire) && !ctx.store.is_holiday(m.id, fire).await?;
    if wanted {
        match kind {
            DueKind::Request => {
                if queue_request(ctx, m, fire, now).await? {
                    report.requests += 1;
                }
            }
            DueKind::Digest => match queue_digest(ctx, m, fire, now).await? {
                DigestQueued::Queued => report.digests += 1,
                DigestQueued::Empty => report.empty_digests += 1,
                DigestQueued::AlreadyQueued => {}
            },
        }
    } else {
        report.skipped += 1;
    }
    let next = s.next_after(now).map(|(d, t)| (t.timestamp(), d));
    ctx.store.set_next(kind, m.id, Some(d.at), next).await?;
    Ok(())
}

/// Queues the update request of `m` for local date `date`; false when it was queued before.
pub async fn queue_request(
    ctx: &Ctx,
    m: &Member,
    date: chrono::NaiveDate,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let questions = ctx.questions_for(m);
    let prefs = ctx.prefs_url(m.id, now);
    let view = RequestView {
        member_name: &m.name,
        local_date: date,
        questions: &questions,
        prefs_url: &prefs,
        reminder: false,
    };
    let subject = render::request_subject(&view);
    let message_id = new_message_id("request", &ctx.mail_domain());
    let reply_to = ctx.reply_address(m.id, date);
    let unsub = ctx.unsubscribe_url(m.id, now);
    let raw = outbound::build(&outbound::Outgoing {
        kind: MailKind::Request,
        from: &ctx.config.mail.from,
        to_name: &m.name,
        to: &m.email,
        reply_to: Some(&reply_to),
        subject: &subject,
        message_id: &message_id,
        in_reply_to: None,
        text: render::request_text(&view),
        html: Some(render::request_html(&view)),
        unsubscribe_url: Some(&unsub),
        date: now.timestamp(),
    })?;
    let email = NewEmail {
        idem_key: format!("request:{}:{date}", m.id),
        kind: MailKind::Request.as_str(),
        member_id: Some(m.id),
        local_date: Some(date.to_string()),
        recipient: m.email.to_string(),
        message_id: message_id.trim_matches(['<', '>']).to_string(),
        subject,
        body: raw,
    };
    Ok(ctx.store.enqueue(&email, now.timestamp()).await?.is_some())
}

#[derive(Debug, PartialEq, Eq)]
pub enum DigestQueued {
    Queued,
    Empty,
    AlreadyQueued,
}

/// Builds the digest view for reader `m` on local date `date` (also used by `preview digest`).
pub async fn digest_view_data(
    ctx: &Ctx,
    m: &Member,
    date: chrono::NaiveDate,
) -> anyhow::Result<(Vec<DigestEntry>, Vec<(i64, i64)>, Vec<String>)> {
    let since = date - Duration::days(7);
    let items = ctx.store.digest_items(m.id, since).await?;
    let recent = date - Duration::days(1);
    let mut entries = Vec::with_capacity(items.len());
    let mut keys = Vec::with_capacity(items.len());
    for i in &items {
        entries.push(DigestEntry {
            author: i.author_name.clone(),
            author_tz: i.author_tz.clone(),
            local_date: i.local_date,
            body: i.body.clone(),
            edited: i.edited,
            // Late: a first revision for an older day (an edit is marked edited instead).
            late: !i.edited && i.local_date < recent,
        });
        keys.push((i.update_id, i.revision));
    }
    let with_updates = ctx.store.members_with_updates_since(recent).await?;
    let missing = ctx
        .store
        .teammates(m.id)
        .await?
        .into_iter()
        .filter(|t| {
            !t.paused && !t.unsubscribed && !with_updates.contains(&t.id) && !t.is_away_on(recent)
        })
        .map(|t| t.name)
        .collect();
    Ok((entries, keys, missing))
}

pub async fn queue_digest(
    ctx: &Ctx,
    m: &Member,
    date: chrono::NaiveDate,
    now: DateTime<Utc>,
) -> anyhow::Result<DigestQueued> {
    let (entries, keys, missing) = digest_view_data(ctx, m, date).await?;
    if entries.is_empty() && !ctx.config.schedule.send_empty_digest {
        return Ok(DigestQueued::Empty);
    }
    let prefs = ctx.prefs_url(m.id, now);
    let view = DigestView {
        reader_name: &m.name,
        date,
        entries,
        missing,
        prefs_url: &prefs,
    };
    let subject = render::digest_subject(&view);
    let message_id = new_message_id("digest", &ctx.mail_domain());
    let unsub = ctx.unsubscribe_url(m.id, now);
    let raw = outbound::build(&outbound::Outgoing {
        kind: MailKind::Digest,
        from: &ctx.config.mail.from,
        to_name: &m.name,
        to: &m.email,
        reply_to: None,
        subject: &subject,
        message_id: &message_id,
        in_reply_to: None,
        text: render::digest_text(&view),
        html: Some(render::digest_html(&view)),
        unsubscribe_url: Some(&unsub),
        date: now.timestamp(),
    })?;
    let email = NewEmail {
        idem_key: format!("digest:{}:{date}", m.id),
        kind: MailKind::Digest.as_str(),
        member_id: Some(m.id),
        local_date: Some(date.to_string()),
        recipient: m.email.to_string(),
        message_id: message_id.trim_matches(['<', '>']).to_string(),
        subject,
        body: raw,
    };
    Ok(
        match ctx
            .store
            .enqueue_digest(&email, m.id, &keys, now.timestamp())
            .await?
        {
            Some(_) => DigestQueued::Queued,
            None => DigestQueued::AlreadyQueued,
        },
    )
}
