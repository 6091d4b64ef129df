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

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;

use super::Ctx;
use crate::domain::schedule::local_date;
use crate::domain::{MailKind, Member, MemberId};
use crate::mail::{new_message_id, outbound};
use crate::render::{self, DigestEntry, DigestSection, DigestView, RequestView};
use crate::store::{Due, DueKind, NewEmail, NextInstant, QueuedDigest, QueuedRequest};

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
            Some(fire) => Some(fire),
            None => s.next_after(now),
        };
        // Only fills a NULL: a racing planner that got there first wins.
        if ctx
            .store
            .set_next(kind, m.id, None, next.map(|(d, t)| (t.timestamp(), d)))
            .await?
        {
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

/// The request or digest the planner sends `m` next, as the preferences page shows it: today's
/// missed one (which goes out with the next pass), else the next fire on a day the member
/// receives mail (skipping days away and team holidays); none while paused or unsubscribed.
pub async fn upcoming(
    ctx: &Ctx,
    m: &Member,
    kind: DueKind,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<(chrono::NaiveDate, DateTime<Utc>)>> {
    if m.paused || m.unsubscribed {
        return Ok(None);
    }
    if let Some(fire) = missed_today(ctx, m, kind, now).await? {
        return Ok(Some(fire));
    }
    let s = schedule_of(m, kind);
    let mut cursor = now;
    // A year of fires is more than any away range or holiday list skips.
    for _ in 0..370 {
        let Some((date, t)) = s.next_after(cursor) else {
            return Ok(None);
        };
        if !m.is_away_on(date) && !ctx.store.is_holiday(m.id, date).await? {
            return Ok(Some((date, t)));
        }
        cursor = t;
    }
    Ok(None)
}

/// The latest fire of `s` after `from` and at or before `now`.
fn last_fire_in(
    s: &crate::domain::Schedule,
    from: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<(chrono::NaiveDate, DateTime<Utc>)> {
    let mut cursor = from;
    let mut last = None;
    while let Some((date, t)) = s.next_after(cursor) {
        if t > now {
            break;
        }
        last = Some((date, t));
        cursor = t;
    }
    last
}

/// The mail a planned instant sends.
fn mail_kind(kind: DueKind) -> MailKind {
    match kind {
        DueKind::Request => MailKind::Request,
        DueKind::Digest => MailKind::Digest,
        DueKind::Reminder => MailKind::Reminder,
    }
}

/// The outbox key of the email of `kind` to member `id` for local date `date`.
fn outbox_key(kind: MailKind, id: MemberId, date: chrono::NaiveDate) -> String {
    format!("{}:{id}:{date}", kind.as_str())
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
            next: s.next_after(now).map(|(d, t)| (t.timestamp(), d)),
        });
    }
    let built = in_tasks(jobs, "building a request", move |(m, fire)| {
        let ctx = ctx.clone();
        async move {
            if !still_wanted(&ctx, &m, fire, now).await? {
                return Ok(None);
            }
            let email = build_request(&ctx, &m, fire, now, false).await?;
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
        // Team snapshots are shared by the whole pass; fetched here, in order, once per team.
        let snapshot = teams.get(ctx, m, recent_date(fire)).await?;
        jobs.push((m.clone(), fire, snapshot));
        moves.push(NextInstant {
            kind: DueKind::Digest,
            member: m.id,
            expected: Some(d.at),
            next: s.next_after(now).map(|(d, t)| (t.timestamp(), d)),
        });
    }
    let built = in_tasks(jobs, "building a digest", move |(m, fire, snapshot)| {
        let ctx = ctx.clone();
        async move {
            if !still_wanted(&ctx, &m, fire, now).await? {
                return Ok(Built::Skipped);
            }
            Ok(match build_digest(&ctx, &m, fire, now, &snapshot).await? {
                Some(q) => Built::Digest(Box::new(q)),
                None => Built::Empty,
            })
        }
    })
    .await;
    let mut digests = Vec::with_capacity(built.len());
    for b in built {
        match b? {
            Built::Digest(q) => digests.push(*q),
            Built::Empty => report.empty_digests += 1,
            Built::Skipped => report.skipped += 1,
        }
    }
    Ok((digests, moves))
}

/// What became of one reader's passed digest instant.
enum Built {
    Digest(Box<QueuedDigest>),
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
    let email = build_request(ctx, m, date, now, reminder).await?;
    Ok(ctx.store.enqueue(&email, now.timestamp()).await?.is_some())
}

/// The update request (or reminder) email of `m` for local date `date`, ready to queue.
async fn build_request(
    ctx: &Ctx,
    m: &Member,
    date: chrono::NaiveDate,
    now: DateTime<Utc>,
    reminder: bool,
) -> anyhow::Result<NewEmail> {
    let kind = if reminder {
        MailKind::Reminder
    } else {
        MailKind::Request
    };
    let questions = ctx.questions_for(m).await?;
    let prefs = ctx.prefs_url(m.id, now);
    let view = RequestView {
        member_name: &m.name,
        local_date: date,
        questions: &questions,
        prefs_url: &prefs,
        reminder,
    };
    let subject = render::request_subject(&view);
    let message_id = new_message_id(kind.as_str(), &ctx.mail_domain());
    let reply_to = ctx.reply_address(m.id, date);
    let unsub = ctx.unsubscribe_url(m.id, now);
    let list_id = ctx.list_id(m);
    let raw = outbound::build(&outbound::Outgoing {
        kind,
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
        list_id: Some(&list_id),
        date: now.timestamp(),
    })?;
    Ok(member_email(kind, m, date, &message_id, subject, raw))
}

/// The outbox entry of an email of `kind` to member `m` for local date `date`; its key
/// (kind, member, date) makes a second queueing a no-op.
fn member_email(
    kind: MailKind,
    m: &Member,
    date: chrono::NaiveDate,
    message_id: &str,
    subject: String,
    raw: Vec<u8>,
) -> NewEmail {
    NewEmail {
        idem_key: outbox_key(kind, m.id, date),
        kind: kind.as_str(),
        member_id: Some(m.id),
        local_date: Some(date.to_string()),
        recipient: m.email.to_string(),
        message_id: message_id.trim_matches(['<', '>']).to_string(),
        subject,
        body: raw,
    }
}

/// The members of one set of teams and which of them wrote recently, as of one pass.
#[derive(Debug)]
pub struct TeamSnapshot {
    /// Everyone in the teams, the reader included, by name.
    pub members: Vec<Member>,
    /// Who of them has an update for a local date on or after the snapshot's date.
    pub with_updates: HashSet<MemberId>,
}

/// Team snapshots shared by the digests of one planning pass: in a fan-out every reader of a
/// 100-member team would otherwise load the same 99 teammates again. Keyed by the reader's
/// teams and the "recent" date; it lives for one pass only, so it is never staler than the pass.
#[derive(Debug, Default)]
pub struct TeamCache {
    snapshots: HashMap<(Vec<String>, chrono::NaiveDate), std::sync::Arc<TeamSnapshot>>,
}

impl TeamCache {
    async fn get(
        &mut self,
        ctx: &Ctx,
        m: &Member,
        recent: chrono::NaiveDate,
    ) -> anyhow::Result<std::sync::Arc<TeamSnapshot>> {
        let key = (m.teams.clone(), recent);
        if let Some(s) = self.snapshots.get(&key) {
            return Ok(s.clone());
        }
        let members = ctx.store.members_in_teams(&m.teams).await?;
        let with_updates = ctx
            .store
            .team_members_with_updates_since(&m.teams, recent)
            .await?;
        let snap = std::sync::Arc::new(TeamSnapshot {
            members,
            with_updates,
        });
        self.snapshots.insert(key, snap.clone());
        Ok(snap)
    }
}

/// What one reader's digest holds: its sections and the (update, revision) pairs it carries.
#[derive(Debug, Clone, Default)]
pub struct DigestData {
    pub sections: Vec<DigestSection>,
    /// Recorded in `digest_deliveries` when the digest is queued, so each reaches the reader once.
    pub keys: Vec<(i64, i64)>,
}

impl DigestData {
    /// Nothing this reader has not seen yet.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Builds the digest of reader `m` for local date `date` (also used by `preview digest`).
/// A reader in several teams gets one section per team (by name); an update whose author
/// shares several teams with the reader appears once, in the first of them.
pub async fn digest_view_data(
    ctx: &Ctx,
    m: &Member,
    date: chrono::NaiveDate,
    teams: &mut TeamCache,
) -> anyhow::Result<DigestData> {
    let snapshot = teams.get(ctx, m, recent_date(date)).await?;
    digest_view_data_in(ctx, m, date, &snapshot).await
}

/// Updates on or after this date count as "wrote recently" in the digest for `date`; older
/// first revisions are marked late.
fn recent_date(date: chrono::NaiveDate) -> chrono::NaiveDate {
    date - Duration::days(1)
}

/// [`digest_view_data`] with the reader's team snapshot already at hand.
async fn digest_view_data_in(
    ctx: &Ctx,
    m: &Member,
    date: chrono::NaiveDate,
    snapshot: &TeamSnapshot,
) -> anyhow::Result<DigestData> {
    let since = date - Duration::days(7);
    let items = ctx.store.digest_items(m.id, since).await?;
    let recent = recent_date(date);
    let teammates: Vec<&Member> = snapshot.members.iter().filter(|t| t.id != m.id).collect();
    let with_updates = &snapshot.with_updates;
    let teams_of: HashMap<i64, &[String]> = teammates
        .iter()
        .map(|t| (t.id, t.teams.as_slice()))
        .collect();
    let several = m.teams.len() > 1;
    let mut sections: Vec<DigestSection> = if several {
        m.teams
            .iter()
            .map(|t| DigestSection {
                team: Some(t.clone()),
                ..Default::default()
            })
            .collect()
    } else {
        vec![DigestSection::default()]
    };
    let section_of = |author_teams: &[String]| -> usize {
        if !several {
            return 0;
        }
        m.teams
            .iter()
            .position(|t| author_teams.contains(t))
            .unwrap_or(0)
    };
    let mut keys = Vec::with_capacity(items.len());
    for i in &items {
        let idx = section_of(teams_of.get(&i.author_id).copied().unwrap_or(&[]));
        sections[idx].entries.push(DigestEntry {
            author_id: i.author_id,
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
    for t in &teammates {
        if t.paused || t.unsubscribed || with_updates.contains(&t.id) || t.is_away_on(recent) {
            continue;
        }
        for (idx, sec) in sections.iter_mut().enumerate() {
            let in_team = match &sec.team {
                Some(team) => t.teams.contains(team),
                None => idx == 0,
            };
            if in_team {
                sec.missing.push(t.name.clone());
            }
        }
    }
    Ok(DigestData { sections, keys })
}

/// The complete digest email of reader `m` for local date `date`, given the reader's team
/// snapshot, with the update revisions it carries; `None` when it would be empty and
/// `schedule.send_empty_digest` is off.
async fn build_digest(
    ctx: &Ctx,
    m: &Member,
    date: chrono::NaiveDate,
    now: DateTime<Utc>,
    snapshot: &TeamSnapshot,
) -> anyhow::Result<Option<QueuedDigest>> {
    let data = digest_view_data_in(ctx, m, date, snapshot).await?;
    if data.is_empty() && !ctx.config.schedule.send_empty_digest {
        return Ok(None);
    }
    let prefs = ctx.prefs_url(m.id, now);
    let view = DigestView {
        reader_name: &m.name,
        date,
        local_hour: Some(chrono::Timelike::hour(&now.with_timezone(&m.tz))),
        sections: data.sections,
        prefs_url: &prefs,
    };
    let subject = render::digest_subject(&view);
    let message_id = new_message_id("digest", &ctx.mail_domain());
    let unsub = ctx.unsubscribe_url(m.id, now);
    let list_id = ctx.list_id(m);
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
        list_id: Some(&list_id),
        date: now.timestamp(),
    })?;
    Ok(Some(QueuedDigest {
        email: member_email(MailKind::Digest, m, date, &message_id, subject, raw),
        reader: m.id,
        items: data.keys,
    }))
}
