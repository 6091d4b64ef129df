//! The calendar job (#34): reads the calendar addresses that are due (each at most once per
//! `fetch.refresh_minutes`, whatever the number of members who gave it), keeps the last good
//! copy of each, and computes each member's days away and days off from what was last read.
//! It runs on its own: `run-due` runs it before planning, `serve` on its own timer; the
//! planner only reads the days it stored, so it never waits on the network.
//!
//! A member's days are computed again only when what they depend on changed (a new body, the
//! member's zone or times, an event ignored, the local date): see [`fingerprint`].

use chrono::{DateTime, Duration, NaiveDate, Utc};
use futures::StreamExt;
use sha2::{Digest, Sha256};

use super::Ctx;
use crate::domain::Member;
use crate::domain::schedule::local_date;
use crate::fetch::{FetchError, Fetched, Fetcher};
use crate::store::calendars::{CalendarDay, CalendarKind, DueSource, SourceBody};

/// Sources read per batch, and at once.
const BATCH: i64 = 100;
const AT_ONCE: usize = 4;
/// The days computed: a week back (a catch-up digest looks back), about a year ahead.
const BACK_DAYS: i64 = 7;
const AHEAD_DAYS: i64 = 400;

/// What one run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CalendarReport {
    /// Addresses read with a new body, found unchanged, or failing (the last copy kept).
    pub read: usize,
    pub unchanged: usize,
    pub failed: usize,
    /// Members whose days were computed again, and of those whose days changed.
    pub computed: usize,
    pub changed: usize,
}

/// One run at `now`: read what is due, then compute the days of every member whose inputs
/// changed.
pub async fn run(ctx: &Ctx, now: DateTime<Utc>) -> anyhow::Result<CalendarReport> {
    let mut report = CalendarReport::default();
    read_due(ctx, now, &mut report).await?;
    compute_days(ctx, now, &mut report).await?;
    Ok(report)
}

async fn read_due(
    ctx: &Ctx,
    now: DateTime<Utc>,
    report: &mut CalendarReport,
) -> anyhow::Result<()> {
    let refresh = i64::try_from(ctx.config.fetch.refresh_minutes)
        .unwrap_or(i64::MAX / 120)
        .saturating_mul(60);
    let before = now.timestamp().saturating_sub(refresh);
    let mut fetcher = None;
    loop {
        let due = ctx.store.due_sources(before, BATCH).await?;
        if due.is_empty() {
            return Ok(());
        }
        let n = due.len();
        let f = match &fetcher {
            Some(f) => f,
            None => fetcher.insert(Fetcher::new(&ctx.config.fetch)?),
        };
        let reads: Vec<(DueSource, Result<Fetched, FetchError>)> =
            futures::stream::iter(due.into_iter().map(|d| async move {
                let got = read_one(f, &d).await;
                (d, got)
            }))
            .buffer_unordered(AT_ONCE)
            .collect()
            .await;
        for (d, got) in reads {
            record(ctx, &d, got, now, report).await?;
        }
        if (n as i64) < BATCH {
            return Ok(());
        }
    }
}

async fn read_one(f: &Fetcher, d: &DueSource) -> Result<Fetched, FetchError> {
    let url = url::Url::parse(&d.url).map_err(|e| FetchError::BadAddress(e.to_string()))?;
    let got = f
        .get(&url, d.etag.as_deref(), d.last_modified.as_deref())
        .await?;
    // A login page or an error page served with 200 is not a calendar: the last good copy
    // stays.
    if let Fetched::Body { bytes, .. } = &got
        && let Err(e) = crate::domain::calendar::check(bytes)
    {
        return Err(FetchError::Other(format!("not a calendar: {e}")));
    }
    Ok(got)
}

/// Stores the outcome of one read; logs a failure by source id and host, never its address.
async fn record(
    ctx: &Ctx,
    d: &DueSource,
    got: Result<Fetched, FetchError>,
    now: DateTime<Utc>,
    report: &mut CalendarReport,
) -> anyhow::Result<()> {
    let now = now.timestamp();
    match got {
        Ok(Fetched::Body {
            bytes,
            etag,
            last_modified,
        }) => {
            let hash = hex::encode(Sha256::digest(&bytes));
            let body = SourceBody {
                bytes: &bytes,
                hash: &hash,
                etag: etag.as_deref(),
                last_modified: last_modified.as_deref(),
            };
            ctx.store.record_read(d.id, Ok(Some(body)), now).await?;
            report.read += 1;
        }
        Ok(Fetched::NotModified) => {
            ctx.store.record_read(d.id, Ok(None), now).await?;
            report.unchanged += 1;
        }
        Err(e) => {
            let host = crate::fetch::host(&d.url);
            tracing::warn!(calendar = d.id, %host, error = %e, "a calendar could not be read; its last good copy is used");
            ctx.store
                .record_read(d.id, Err(&e.to_string()), now)
                .await?;
            report.failed += 1;
        }
    }
    Ok(())
}

/// What a member's days depend on, as one string: their zone and times, today's date in
/// their zone, each source's rule and body, and the events they ignore.
fn fingerprint(
    m: &Member,
    today: NaiveDate,
    sources: &[(i64, CalendarKind, String)],
    ignored: &[(String, String)],
) -> String {
    let mut h = Sha256::new();
    h.update(format!(
        "{}|{}|{}|{today}|",
        m.tz.name(),
        m.request_at,
        m.digest_at
    ));
    for (id, kind, hash) in sources {
        h.update(format!("{id}:{}:{hash}|", kind.as_str()));
    }
    for (uid, _) in ignored {
        h.update(format!("x:{uid}|"));
    }
    hex::encode(h.finalize())
}

async fn compute_days(
    ctx: &Ctx,
    now: DateTime<Utc>,
    report: &mut CalendarReport,
) -> anyhow::Result<()> {
    let readers = ctx.store.calendar_readers(None).await?;
    for (member, sources) in &readers {
        if let Some(changed) = compute_member(ctx, *member, sources, now).await? {
            report.computed += 1;
            report.changed += usize::from(changed);
        }
    }
    // Members whose last calendar went (a team's holiday calendar removed): no days left.
    for member in ctx.store.calendar_state_members().await? {
        if !readers.contains_key(&member) {
            ctx.store.set_calendar_days(member, "", &[]).await?;
        }
    }
    Ok(())
}

/// Computes `member`'s days from `sources` when their inputs changed since the last time:
/// `None` when nothing changed (or the member is gone), else whether the days changed.
async fn compute_member(
    ctx: &Ctx,
    member: crate::domain::MemberId,
    sources: &[(i64, CalendarKind, String)],
    now: DateTime<Utc>,
) -> anyhow::Result<Option<bool>> {
    let Some(m) = ctx.store.member_by_id(member).await? else {
        return Ok(None);
    };
    let ignored = ctx.store.ignored_events(m.id).await?;
    let today = local_date(m.tz, now);
    let fp = fingerprint(&m, today, sources, &ignored);
    if ctx.store.calendar_fingerprint(m.id).await?.as_deref() == Some(fp.as_str()) {
        return Ok(None);
    }
    let ids: Vec<i64> = sources.iter().map(|(id, _, _)| *id).collect();
    let bodies = ctx.store.source_bodies(&ids).await?;
    let ignored_uids: std::collections::BTreeSet<String> =
        ignored.iter().map(|(u, _)| u.clone()).collect();
    let window = (
        today - Duration::days(BACK_DAYS),
        today + Duration::days(AHEAD_DAYS),
    );
    let mut days: Vec<CalendarDay> = Vec::new();
    for (id, kind, _) in sources {
        let Some(body) = bodies.get(id) else { continue };
        match days_of(ctx, &m, body, *kind, &ignored_uids, window) {
            Ok(found) => days.extend(found),
            // The stored copy was checked when read: only a new rule could fail here.
            Err(e) => {
                tracing::warn!(calendar = id, member = m.id, error = %e, "a stored calendar could not be read")
            }
        }
    }
    Ok(Some(ctx.store.set_calendar_days(m.id, &fp, &days).await?))
}

/// Reads `member`'s calendars that were never read, now, and computes their days: what a
/// `calendar` command and the preferences page do, so the member is told what was read.
pub async fn refresh_member(
    ctx: &Ctx,
    member: crate::domain::MemberId,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let unread = ctx.store.unread_sources_of(member).await?;
    if !unread.is_empty() {
        let f = Fetcher::new(&ctx.config.fetch)?;
        let mut report = CalendarReport::default();
        for d in unread {
            let got = read_one(&f, &d).await;
            record(ctx, &d, got, now, &mut report).await?;
        }
    }
    recompute_member(ctx, member, now).await
}

/// Computes `member`'s days again from what was last read (no network): after their
/// calendars changed.
pub async fn recompute_member(
    ctx: &Ctx,
    member: crate::domain::MemberId,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    match ctx.store.calendar_readers(Some(member)).await?.get(&member) {
        Some(sources) => {
            compute_member(ctx, member, sources, now).await?;
        }
        // Their last calendar went: no days from calendars any more.
        None => {
            ctx.store.set_calendar_days(member, "", &[]).await?;
        }
    }
    Ok(())
}

/// The stretches of days read by `kind`'s rule from `m`'s calendars, from today on, each
/// with its event: what the receipt, the preferences page and the API show.
pub async fn spans(
    ctx: &Ctx,
    m: &Member,
    now: DateTime<Utc>,
    kind: CalendarKind,
) -> anyhow::Result<Vec<crate::domain::calendar::AwaySpan>> {
    use crate::domain::calendar::{AwayDay, AwayReport};
    let today = local_date(m.tz, now);
    let days = ctx.store.calendar_days(m.id).await?;
    Ok(AwayReport {
        days: days
            .into_iter()
            .filter(|d| d.kind == kind && d.day >= today)
            .map(|d| AwayDay {
                date: d.day,
                uid: d.uid,
                summary: d.summary,
            })
            .collect(),
        problems: Vec::new(),
    }
    .spans())
}

/// What a member is told was read: `away Mon 22 Dec – Fri 2 Jan (Vacation)` per stretch of
/// time away from today on (at most `max`), and the calendars that could not be read.
pub async fn summary(
    ctx: &Ctx,
    m: &Member,
    now: DateTime<Utc>,
    max: usize,
) -> anyhow::Result<Vec<String>> {
    let mut out: Vec<String> = spans(ctx, m, now, CalendarKind::Personal)
        .await?
        .into_iter()
        .take(max)
        .map(|s| {
            let what: String = crate::render::team::one_line(&s.summary)
                .chars()
                .take(60)
                .collect();
            if what.is_empty() {
                format!("away {}", s.when())
            } else {
                format!("away {} ({what})", s.when())
            }
        })
        .collect();
    for l in ctx.store.member_calendars(m.id).await? {
        if let Some(e) = &l.error {
            out.push(format!("{} could not be read: {e}", l.shown));
        }
    }
    Ok(out)
}

/// The days one calendar body gives member `m` by `kind`'s rule.
fn days_of(
    ctx: &Ctx,
    m: &Member,
    body: &[u8],
    kind: CalendarKind,
    ignored: &std::collections::BTreeSet<String>,
    (from, to): (NaiveDate, NaiveDate),
) -> anyhow::Result<Vec<CalendarDay>> {
    use crate::domain::calendar;
    let words = ctx.config.calendars.away_words();
    let q = calendar::AwayQuery {
        tz: m.tz,
        request_at: m.request_at.naive(),
        digest_at: m.digest_at.naive(),
        words: &words,
        ignore_uids: ignored,
        from,
        to,
    };
    Ok(calendar::away_days(body, kind, &q)?
        .days
        .into_iter()
        .map(|d| CalendarDay {
            day: d.date,
            kind,
            uid: d.uid,
            summary: d.summary,
        })
        .collect())
}
