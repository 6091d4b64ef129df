//! The planning pass: fill in missing next instants, then queue what is due. Its cost follows
//! the work due (index range scans on `next_*_at`), not the number of members.
//!
//! Catch-up rule: a request or digest whose planned local date is still the member's local date
//! goes out late; otherwise it is skipped. Either way the next instant is planned after `now`,
//! and the outbox key (kind, member, local date) makes a second queueing a no-op.
//!
//! Reminders (`schedule.reminder_after_hours`, off at 0) ride on the same mechanism: queueing a
//! request stores `next_reminder_at`; when it passes, a reminder goes out only if it is still
//! that local date and the member has written nothing for it.

use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;

use super::Ctx;
use super::compose::{self, outbox_key};
use super::digest::{TeamCache, digest_view_data_in, own_digests, snapshot_date};
use crate::domain::schedule::local_date;
use crate::domain::{MailKind, Member};
use crate::store::{Due, DueKind, NextInstant, QueuedDigest, QueuedRequest};

/// Counts of one pass.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PlanReport {
    pub planned: usize,
    pub requests: usize,
    pub digests: usize,
    /// Reminders queued (`schedule.reminder_after_hours`).
    pub reminders: usize,
    pub empty_digests: usize,
    pub skipped: usize,
}

const BATCH: i64 = 500;
/// Requests or digests queued per transaction: one commit for the batch (outbox rows, bodies,
/// digest delivery records, reminders and the members' next instants) instead of two or three
/// per member. The batch's messages are in memory together, about 100 KB each for a digest of
/// a 100-member team.
const PER_COMMIT: usize = 32;
/// Emails of a batch built at once: enough to keep both the database and rendering busy.
const AT_ONCE: usize = 4;

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
    let mut teams = TeamCache::default();
    for kind in [DueKind::Request, DueKind::Digest] {
        loop {
            let due = ctx.store.due(kind, ts, BATCH).await?;
            let n = due.len();
            // Each batch is written by a task of its own while the next one is built; the last
            // write is awaited before the next due query, which must see it.
            let mut writing: Option<tokio::task::JoinHandle<anyhow::Result<usize>>> = None;
            for chunk in due.chunks(PER_COMMIT) {
                let write = if kind == DueKind::Digest {
                    let (digests, moves) =
                        build_due_digests(ctx, chunk, now, &mut report, &mut teams).await?;
                    let ctx = ctx.clone();
                    tokio::spawn(async move {
                        let queued = ctx.store.enqueue_digests(&digests, &moves, ts).await?;
                        Ok(queued.into_iter().filter(|q| *q).count())
                    })
                } else {
                    let (requests, moves) =
                        build_due_requests(ctx, chunk, now, &mut report).await?;
                    let ctx = ctx.clone();
                    tokio::spawn(async move {
                        let queued = ctx.store.enqueue_requests(&requests, &moves, ts).await?;
                        Ok(queued.into_iter().filter(|q| *q).count())
                    })
                };
                if let Some(w) = writing.replace(write) {
                    *counter(kind, &mut report) += join_write(w).await?;
                }
            }
            if let Some(w) = writing.take() {
                *counter(kind, &mut report) += join_write(w).await?;
            }
            if (n as i64) < BATCH {
                break;
            }
        }
    }
    // The check-ins other than the stand-up: their requests and reminders.
    super::checkins::run(ctx, now, &mut report).await?;
    loop {
        let due = ctx.store.due(DueKind::Reminder, ts, BATCH).await?;
        let n = due.len();
        for d in due {
            handle_reminder(ctx, &d, now, &mut report).await?;
        }
        if (n as i64) < BATCH {
            break;
        }
    }
    Ok(report)
}

/// Fills in the missing next instants of one member; returns how many it set. The web calls
/// this right after a preference change so the stored instants are current at once instead of
/// at the next tick.
///
/// The catch-up rule holds for a member planned for the first time (added or imported while
/// the service was down) and after a preference change too: when today's fire has passed, it
/// is still the same local day and nothing was queued for it, that fire is planned (and so
/// sent by this pass); otherwise the next fire after `now`.
pub async fn plan_member(ctx: &Ctx, m: &Member, now: DateTime<Utc>) -> anyhow::Result<usize> {
    let mut planned = 0;
    for kind in [DueKind::Request, DueKind::Digest] {
        let s = schedule_of(m, kind);
        let next = match missed_today(ctx, m, kind, now).await? {
            Some((d, t)) => (t.timestamp(), d),
            None => next_fire(&s, now),
        };
        // Only fills a NULL: a racing planner that got there first wins.
        if ctx.store.set_next(kind, m.id, None, Some(next)).await? {
            planned += 1;
        }
    }
    Ok(planned)
}

/// Today's fire of `kind` for `m` when it has passed but still goes out: it is still that
/// local day, the member receives mail then (not paused, away or on a team holiday), and
/// nothing was queued for it yet.
async fn missed_today(
    ctx: &Ctx,
    m: &Member,
    kind: DueKind,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<(chrono::NaiveDate, DateTime<Utc>)>> {
    // Two days back covers every "same local day".
    let Some((date, t)) = last_fire_in(&schedule_of(m, kind), now - Duration::days(2), now) else {
        return Ok(None);
    };
    let wanted = still_wanted(ctx, m, date, now).await?
        && !ctx
            .store
            .outbox_has_key(&outbox_key(mail_kind(kind), m.id, date))
            .await?;
    Ok(wanted.then_some((date, t)))
}

/// The request or digest the planner sends `m` next, as the preferences page (and a mention's
/// receipt) shows it: the instant the planner has stored, when it is on a day the member
/// receives mail (one already passed goes out with the next pass); unplanned (just changed),
/// today's missed one; else the next fire on a day the member receives mail (skipping days
/// away and team holidays). None while paused or unsubscribed, or for a schedule that never
/// fires (an observer's requests, digests off).
pub async fn upcoming(
    ctx: &Ctx,
    m: &Member,
    kind: DueKind,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<(chrono::NaiveDate, DateTime<Utc>)>> {
    if m.paused || m.unsubscribed {
        return Ok(None);
    }
    let mut cursor = now;
    match ctx.store.planned(kind, m.id).await? {
        Some((at, _)) if at == NEVER_AT => return Ok(None),
        Some((at, date)) => {
            if let Some(t) = DateTime::from_timestamp(at, 0) {
                if !m.is_away_on(date) && !ctx.store.is_holiday(m.id, date).await? {
                    return Ok(Some((date, t)));
                }
                // That day is skipped when it comes: the next fire after it.
                cursor = t.max(now);
            }
        }
        None => {
            if let Some(fire) = missed_today(ctx, m, kind, now).await? {
                return Ok(Some(fire));
            }
        }
    }
    let s = schedule_of(m, kind);
    first_kept(ctx, m, cursor, |t| s.next_after(t)).await
}

/// The instant stored for a schedule that never fires (an observer's requests, a digest
/// turned off): never due, and not NULL, which would have the member planned again by every
/// pass.
pub const NEVER_AT: i64 = i64::MAX;

/// The next fire of `s` after `now` as stored: its instant and local date, or [`never`] when
/// it has none.
fn next_fire(s: &crate::domain::Schedule, now: DateTime<Utc>) -> (i64, chrono::NaiveDate) {
    s.next_after(now)
        .map_or_else(never, |(d, t)| (t.timestamp(), d))
}

/// The stored form of "no next fire": [`NEVER_AT`], dated 9999-12-31.
pub(super) fn never() -> (i64, chrono::NaiveDate) {
    (
        NEVER_AT,
        chrono::NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or(chrono::NaiveDate::MAX),
    )
}

/// The latest fire of `s` after `from` and at or before `now`.
fn last_fire_in(
    s: &crate::domain::Schedule,
    from: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<(chrono::NaiveDate, DateTime<Utc>)> {
    crate::domain::schedule::last_fire_between(|t| s.next_after(t), from, now)
}

/// The first fire after `cursor` of a rule whose next fire after an instant is `next_after`,
/// on a day `m` is not away and not a holiday of their teams; a year of fires at most (more
/// than any time away or holiday list skips).
pub(super) async fn first_kept(
    ctx: &Ctx,
    m: &Member,
    mut cursor: DateTime<Utc>,
    next_after: impl Fn(DateTime<Utc>) -> Option<(chrono::NaiveDate, DateTime<Utc>)>,
) -> anyhow::Result<Option<(chrono::NaiveDate, DateTime<Utc>)>> {
    for _ in 0..370 {
        let Some((date, t)) = next_after(cursor) else {
            return Ok(None);
        };
        if !m.is_away_on(date) && !ctx.store.is_holiday(m.id, date).await? {
            return Ok(Some((date, t)));
        }
        cursor = t;
    }
    Ok(None)
}

/// The mail a planned instant sends.
fn mail_kind(kind: DueKind) -> MailKind {
    match kind {
        DueKind::Request => MailKind::Request,
        DueKind::Digest => MailKind::Digest,
        DueKind::Reminder => MailKind::Reminder,
    }
}

/// A passed reminder instant: send the reminder if it still makes sense, then clear it either
/// way. Queue first, clear second, so a crash in between resends nothing (the outbox key
/// `reminder:<member>:<date>` is unique) and loses nothing.
async fn handle_reminder(
    ctx: &Ctx,
    d: &Due,
    now: DateTime<Utc>,
    report: &mut PlanReport,
) -> anyhow::Result<()> {
    let m = &d.member;
    let wanted = ctx.config.schedule.reminder_after_hours > 0
        && local_date(m.tz, now) == d.date
        && m.receives_on(d.date)
        && !ctx.store.is_holiday(m.id, d.date).await?
        && ctx.store.update_for(m.id, d.date).await?.is_none();
    if wanted && queue_request(ctx, m, d.date, now, true).await? {
        report.reminders += 1;
    }
    // Compare-and-set on the instant: a racing planner cannot clear a newer reminder.
    ctx.store
        .set_next(DueKind::Reminder, m.id, Some(d.at), None)
        .await?;
    Ok(())
}

/// When the reminder for a request queued at `now` for local date `date` is due: `after_hours`
/// later, but only while it is still that local date for the member (never the next morning).
pub fn reminder_instant(
    m: &Member,
    date: chrono::NaiveDate,
    now: DateTime<Utc>,
    after_hours: u32,
) -> Option<DateTime<Utc>> {
    if after_hours == 0 {
        return None;
    }
    let at = now + Duration::hours(i64::from(after_hours));
    (local_date(m.tz, at) == date).then_some(at)
}

/// The recurring schedule behind a planned instant. A reminder has none of its own (it follows
/// its request); it is only ever handled by `handle_reminder`.
fn schedule_of(m: &Member, kind: DueKind) -> crate::domain::Schedule {
    match kind {
        DueKind::Request | DueKind::Reminder => m.request_schedule(),
        DueKind::Digest => m.digest_schedule(),
    }
}

/// The local date of the fire that counts for a passed instant. After downtime the stored
/// instant may be days old: it is the latest fire at or before `now` (looking back at most two
/// days, which covers every "same local day").
fn latest_fire(s: &crate::domain::Schedule, d: &Due, now: DateTime<Utc>) -> chrono::NaiveDate {
    let from = DateTime::from_timestamp(d.at, 0)
        .unwrap_or(now)
        .max(now - Duration::days(2));
    last_fire_in(s, from, now).map_or(d.date, |(date, _)| date)
}

/// Whether the fire for local date `fire` still goes out: it is that date for the member now
/// (same-local-day catch-up), a day they receive mail on, and not a holiday of all their teams.
async fn still_wanted(
    ctx: &Ctx,
    m: &Member,
    fire: chrono::NaiveDate,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    Ok(fire == local_date(m.tz, now)
        && m.receives_on(fire)
        && !ctx.store.is_holiday(m.id, fire).await?)
}

/// The report's count of queued emails of `kind`.
fn counter(kind: DueKind, report: &mut PlanReport) -> &mut usize {
    match kind {
        DueKind::Digest => &mut report.digests,
        DueKind::Request | DueKind::Reminder => &mut report.requests,
    }
}

/// Passed request instants, a batch at a time, like [`build_due_digests`]: the emails are
/// built a few at once and returned with the members' next instants, to be written in one
/// transaction (`Store::enqueue_requests`, which also plans each new request's reminder).
async fn build_due_requests(
    ctx: &Ctx,
    due: &[Due],
    now: DateTime<Utc>,
    report: &mut PlanReport,
) -> anyhow::Result<(Vec<QueuedRequest>, Vec<NextInstant>)> {
    let after_hours = ctx.config.schedule.reminder_after_hours;
    let mut moves = Vec::with_capacity(due.len());
    let mut jobs = Vec::with_capacity(due.len());
    for d in due {
        let m = &d.member;
        let s = m.request_schedule();
        jobs.push((m.clone(), latest_fire(&s, d, now)));
        moves.push(NextInstant {
            kind: DueKind::Request,
            member: m.id,
            expected: Some(d.at),
            next: Some(next_fire(&s, now)),
        });
    }
    let built = in_tasks(jobs, "building a request", move |(m, fire)| {
        let ctx = ctx.clone();
        async move {
            if !still_wanted(&ctx, &m, fire, now).await? {
                return Ok(None);
            }
            let email = compose::request(&ctx, &m, fire, now, false).await?;
            let reminder =
                reminder_instant(&m, fire, now, after_hours).map(|t| (t.timestamp(), fire));
            Ok(Some(QueuedRequest {
                email,
                member: m.id,
                reminder,
            }))
        }
    })
    .await;
    let mut requests = Vec::with_capacity(built.len());
    for b in built {
        match b? {
            Some(q) => requests.push(q),
            None => report.skipped += 1,
        }
    }
    Ok((requests, moves))
}

/// The result of a batch's write: how many of its emails were new.
async fn join_write(w: tokio::task::JoinHandle<anyhow::Result<usize>>) -> anyhow::Result<usize> {
    w.await
        .unwrap_or_else(|e| Err(anyhow::anyhow!("queueing emails failed: {e}")))
}

/// Runs `build` on every job, each as a task of its own and [`AT_ONCE`] at a time, and returns
/// the results in job order: a batch is then written in due order, so concurrent planners on
/// PostgreSQL take their row locks in the same order and never deadlock.
async fn in_tasks<J, T, F, Fut>(
    jobs: Vec<J>,
    what: &'static str,
    build: F,
) -> Vec<anyhow::Result<T>>
where
    J: Send + 'static,
    T: Send + 'static,
    F: Fn(J) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>> + Send + 'static,
{
    futures::stream::iter(jobs)
        .map(|job| {
            let task = tokio::spawn(build(job));
            async move {
                task.await
                    .unwrap_or_else(|e| Err(anyhow::anyhow!("{what} failed: {e}")))
            }
        })
        .buffered(AT_ONCE)
        .collect()
        .await
}

/// Passed digest instants, a batch at a time: the readers' digests are built a few at once
/// (queries on several pooled connections, rendering on the runtime's threads). Returns them
/// with the moves of the readers' next instants, to be written in one transaction, in due
/// order (`Store::enqueue_digests`). A passed instant counts for its latest fire
/// ([`latest_fire`]) and only if [`still_wanted`].
async fn build_due_digests(
    ctx: &Ctx,
    due: &[Due],
    now: DateTime<Utc>,
    report: &mut PlanReport,
    teams: &mut TeamCache,
) -> anyhow::Result<(Vec<QueuedDigest>, Vec<NextInstant>)> {
    let mut jobs = Vec::with_capacity(due.len());
    let mut moves = Vec::with_capacity(due.len());
    for d in due {
        let m = &d.member;
        let s = m.digest_schedule();
        let fire = latest_fire(&s, d, now);
        // Daily, weekly summary or catch-up after time away.
        let kind = m.digest_kind(fire);
        // Team snapshots are shared by the whole pass; fetched here, in order, once per team.
        let snapshot = teams.get(ctx, m, snapshot_date(kind, fire)).await?;
        jobs.push((m.clone(), fire, kind, snapshot));
        moves.push(NextInstant {
            kind: DueKind::Digest,
            member: m.id,
            expected: Some(d.at),
            next: Some(next_fire(&s, now)),
        });
    }
    let built = in_tasks(
        jobs,
        "building a digest",
        move |(m, fire, kind, snapshot)| {
            let ctx = ctx.clone();
            async move {
                // Quiet days (`quiet until`) hold the reader's digests, not their requests.
                if m.shape.quiet_on(fire) || !still_wanted(&ctx, &m, fire, now).await? {
                    return Ok(Built::Skipped);
                }
                let data = digest_view_data_in(&ctx, &m, fire, now, kind, &snapshot).await?;
                let mut queued = Vec::new();
                // Nothing new: no digest, unless `schedule.send_empty_digest` asks for one.
                if !data.is_empty() || ctx.config.schedule.send_empty_digest {
                    queued.push(compose::digest(&ctx, &m, fire, now, data)?);
                }
                // The check-ins with a digest of their own: each only when it has answers.
                for own in own_digests(&ctx, &m, fire, kind, &snapshot).await? {
                    queued.push(compose::digest(&ctx, &m, fire, now, own)?);
                }
                if queued.is_empty() {
                    return Ok(Built::Empty);
                }
                Ok(Built::Digests(queued))
            }
        },
    )
    .await;
    let mut digests = Vec::with_capacity(built.len());
    for b in built {
        match b? {
            Built::Digests(q) => digests.extend(q),
            Built::Empty => report.empty_digests += 1,
            Built::Skipped => report.skipped += 1,
        }
    }
    Ok((digests, moves))
}

/// What became of one reader's passed digest instant.
enum Built {
    /// The reader's digest and their check-ins' digests of their own, those with something.
    Digests(Vec<QueuedDigest>),
    Empty,
    Skipped,
}

/// Queues the update request (or, with `reminder`, the reminder) of `m` for local date `date`;
/// false when it was queued before. Both carry a reply token for that date.
pub async fn queue_request(
    ctx: &Ctx,
    m: &Member,
    date: chrono::NaiveDate,
    now: DateTime<Utc>,
    reminder: bool,
) -> anyhow::Result<bool> {
    let email = compose::request(ctx, m, date, now, reminder).await?;
    ctx.queue(&email, now).await
}
