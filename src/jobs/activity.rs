//! The activity job (#35): reads the members' activity feeds that are due (each at most once
//! per `fetch.refresh_minutes`) through the one safe fetcher, and keeps the entries of each
//! one's last good copy. It runs on its own: `run-due` runs it before planning, `serve` on
//! the calendar timer; a request only reads what was stored, so it never waits on the
//! network, and a failing feed means no draft, never a missing request.
//!
//! The draft a request shows ([`draft_for_request`]) is made once per member and day and
//! stored: what the member saw is what `keep 1 3` keeps.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use futures::StreamExt;

use super::Ctx;
use crate::domain::activity::{self, DRAFT_LINES, Draft, Entry, Keep};
use crate::domain::schedule::{Schedule, local_date};
use crate::domain::sections::{self, Kind};
use crate::domain::{LocalTime, Member, MemberId};
use crate::fetch::{FetchError, Fetched, Fetcher};
use crate::store::activity::{DueFeed, FeedBody};

/// Feeds read per batch, and at once.
const BATCH: i64 = 100;
const AT_ONCE: usize = 4;
/// The most lines a draft keeps (a request shows the first [`DRAFT_LINES`]; the member's
/// draft page, the API and `keep 14` reach the rest).
const STORED_LINES: usize = 100;
/// A draft looks back at most this many days (a member back from two weeks away).
const LOOK_BACK_DAYS: i64 = 14;

/// What one run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ActivityReport {
    /// Feeds read with a new copy, found unchanged, or failing (the last copy kept).
    pub read: usize,
    pub unchanged: usize,
    pub failed: usize,
}

/// One run at `now`: read every feed that is due.
pub async fn run(ctx: &Ctx, now: DateTime<Utc>) -> anyhow::Result<ActivityReport> {
    let refresh = i64::try_from(ctx.config.fetch.refresh_minutes)
        .unwrap_or(i64::MAX / 120)
        .saturating_mul(60);
    read_due(ctx, now, now.timestamp().saturating_sub(refresh), None).await
}

/// Reads `member`'s feeds that were never read, now: what the `activity` command, the API and
/// the preferences page do, so the member is told at once what was read.
pub async fn refresh_member(
    ctx: &Ctx,
    member: MemberId,
    now: DateTime<Utc>,
) -> anyhow::Result<ActivityReport> {
    // Never tried: tried_at IS NULL, which "not tried since the dawn of time" selects.
    read_due(ctx, now, i64::MIN, Some(member)).await
}

async fn read_due(
    ctx: &Ctx,
    now: DateTime<Utc>,
    before: i64,
    only: Option<MemberId>,
) -> anyhow::Result<ActivityReport> {
    let mut report = ActivityReport::default();
    let mut fetcher = None;
    loop {
        let due = ctx.store.due_activity_feeds(before, only, BATCH).await?;
        if due.is_empty() {
            return Ok(report);
        }
        let n = due.len();
        let f = match &fetcher {
            Some(f) => f,
            None => fetcher.insert(Fetcher::new(&ctx.config.fetch)?),
        };
        let reads: Vec<(DueFeed, Result<Option<ReadCopy>, FetchError>)> =
            futures::stream::iter(due.into_iter().map(|d| async move {
                let got = read_one(f, &d).await;
                (d, got)
            }))
            .buffer_unordered(AT_ONCE)
            .collect()
            .await;
        for (d, got) in reads {
            record(ctx, &d, got, now, &mut report).await?;
        }
        if (n as i64) < BATCH {
            return Ok(report);
        }
    }
}

/// A new copy of a feed, read.
struct ReadCopy {
    entries: Vec<Entry>,
    etag: Option<String>,
    last_modified: Option<String>,
}

/// Fetches and reads one feed: `None` when unchanged (304). A login page or an error page
/// served with 200 is not a feed: an error, and the last good copy stays.
async fn read_one(f: &Fetcher, d: &DueFeed) -> Result<Option<ReadCopy>, FetchError> {
    let url = url::Url::parse(&d.url).map_err(|e| FetchError::BadAddress(e.to_string()))?;
    match f
        .get(&url, d.etag.as_deref(), d.last_modified.as_deref())
        .await?
    {
        Fetched::NotModified => Ok(None),
        Fetched::Body {
            bytes,
            etag,
            last_modified,
        } => {
            let entries = activity::read(&bytes).map_err(|e| FetchError::Other(e.to_string()))?;
            Ok(Some(ReadCopy {
                entries,
                etag,
                last_modified,
            }))
        }
    }
}

/// Stores the outcome of one read; logs a failure by feed id and host, never its address.
async fn record(
    ctx: &Ctx,
    d: &DueFeed,
    got: Result<Option<ReadCopy>, FetchError>,
    now: DateTime<Utc>,
    report: &mut ActivityReport,
) -> anyhow::Result<()> {
    let now = now.timestamp();
    match got {
        Ok(Some(c)) => {
            let body = FeedBody {
                entries: &c.entries,
                etag: c.etag.as_deref(),
                last_modified: c.last_modified.as_deref(),
            };
            ctx.store
                .record_feed_read(d.id, Ok(Some(body)), now)
                .await?;
            report.read += 1;
        }
        Ok(None) => {
            ctx.store.record_feed_read(d.id, Ok(None), now).await?;
            report.unchanged += 1;
        }
        Err(e) => {
            let host = crate::fetch::host(&d.url);
            tracing::warn!(feed = d.id, %host, error = %e, "an activity feed could not be read; no draft from it until it can");
            ctx.store
                .record_feed_read(d.id, Err(&e.to_string()), now)
                .await?;
            report.failed += 1;
        }
    }
    Ok(())
}

/// Where `m`'s draft for local date `date` starts: when they wrote their previous update
/// (before `date`), else the start of their previous workday; never more than
/// [`LOOK_BACK_DAYS`] back.
pub async fn since(ctx: &Ctx, m: &Member, date: NaiveDate) -> anyhow::Result<DateTime<Utc>> {
    let day_start = |d: NaiveDate| {
        Schedule {
            tz: m.tz,
            at: LocalTime::MIDNIGHT,
            days: m.workdays,
        }
        .instant_on(d)
    };
    let floor = day_start(date - Duration::days(LOOK_BACK_DAYS)).unwrap_or(DateTime::UNIX_EPOCH);
    let previous = ctx.store.latest_update_before(m.id, date).await?;
    let start = match previous.and_then(|u| DateTime::from_timestamp(u.created_at, 0)) {
        Some(t) => t,
        None => {
            let workday = (1..=7)
                .map(|n| date - Duration::days(n))
                .find(|d| m.workdays.contains(d.weekday()))
                .unwrap_or(date - Duration::days(1));
            day_start(workday).unwrap_or(floor)
        }
    };
    Ok(start.max(floor))
}

/// `m`'s draft as of `now` for the day `date` (their current one), made from what was last
/// read: `None` when they have no feeds.
pub async fn draft_now(
    ctx: &Ctx,
    m: &Member,
    date: NaiveDate,
) -> anyhow::Result<Option<(DateTime<Utc>, Draft)>> {
    if !ctx.store.has_activity_feeds(m.id).await? {
        return Ok(None);
    }
    make_draft(ctx, m, date).await.map(Some)
}

/// [`draft_now`] for a member known to have feeds.
async fn make_draft(
    ctx: &Ctx,
    m: &Member,
    date: NaiveDate,
) -> anyhow::Result<(DateTime<Utc>, Draft)> {
    let since = since(ctx, m, date).await?;
    let entries = ctx.store.activity_entries(m.id).await?;
    let mutes = ctx.store.activity_mutes(m.id).await?;
    let rules = ctx.config.activity.rules();
    Ok((
        since,
        activity::draft(&entries, since, &mutes, &rules, STORED_LINES),
    ))
}

/// A draft as stored for a day, or made as of now.
#[derive(Debug, Clone)]
pub struct DayDraft {
    /// Where it starts: the member's previous update, or their previous workday.
    pub since: DateTime<Utc>,
    pub draft: Draft,
    /// Whether it is the one the day's request showed (stored), else made now.
    pub sent: bool,
}

/// A draft as stored (its start in Unix seconds), with its start as an instant.
fn stored((since, draft): (i64, Draft)) -> Option<DayDraft> {
    DateTime::from_timestamp(since, 0).map(|since| DayDraft {
        since,
        draft,
        sent: true,
    })
}

/// The draft `m`'s request for `date` shows: the one stored for that day (a reminder shows
/// what the request showed), else made now and stored. `None` when there is nothing to show.
pub async fn draft_for_request(
    ctx: &Ctx,
    m: &Member,
    date: NaiveDate,
) -> anyhow::Result<Option<(DateTime<Utc>, Draft)>> {
    // Most members have no feed: one lookup, and nothing more.
    if !ctx.store.has_activity_feeds(m.id).await? {
        return Ok(None);
    }
    let kept = match ctx.store.draft_for(m.id, date).await? {
        Some(s) => s,
        None => {
            let (since, d) = make_draft(ctx, m, date).await?;
            if d.lines.is_empty() {
                return Ok(None);
            }
            ctx.store
                .save_draft(m.id, date, since.timestamp(), &d)
                .await?
        }
    };
    Ok(stored(kept)
        .filter(|d| !d.draft.lines.is_empty())
        .map(|d| (d.since, d.draft)))
}

/// The draft `keep` keeps for `m`'s day `date`: the one their request showed, else (an
/// update through the API, a request not sent yet) the one as of now; `None` without feeds.
pub async fn draft_to_keep(
    ctx: &Ctx,
    m: &Member,
    date: NaiveDate,
) -> anyhow::Result<Option<DayDraft>> {
    match ctx.store.draft_for(m.id, date).await? {
        Some(s) => Ok(stored(s)),
        None => Ok(draft_now(ctx, m, date)
            .await?
            .map(|(since, draft)| DayDraft {
                since,
                draft,
                sent: false,
            })),
    }
}

/// `Mon 30 Nov`: the day a draft starts, in `m`'s zone.
pub fn since_label(m: &Member, since: DateTime<Utc>) -> String {
    local_date(m.tz, since).format("%a %-d %b").to_string()
}

/// The text `keep` (or `keep_draft`) stores for `m`'s day `date`: the kept lines of the
/// draft under Done, then `rest` (what the member wrote besides); and the receipt's note.
/// `Err` says, for the member, why nothing can be kept (no draft, a number not in it).
pub async fn kept_text(
    ctx: &Ctx,
    m: &Member,
    date: NaiveDate,
    k: &Keep,
    rest: &str,
) -> anyhow::Result<Result<(String, String), String>> {
    let Some(DayDraft { draft: full, .. }) = draft_to_keep(ctx, m, date).await? else {
        return Ok(Err(format!(
            "there is no draft for {date} to keep: add a feed of your own activity on your preferences page, or reply \"activity https://…\""
        )));
    };
    // "keep" keeps what the request showed; "keep 1 14" any line of the whole draft.
    let shown = email_part(&full);
    let draft = match k {
        Keep::All => &shown,
        Keep::Lines(_) => &full,
    };
    let lines = match activity::kept(draft, k) {
        Ok(l) if !l.is_empty() => l,
        Ok(_) => {
            return Ok(Err(format!(
                "the draft for {date} is empty: nothing was found in your activity since your last update"
            )));
        }
        Err(e) => return Ok(Err(e)),
    };
    let done: Vec<String> = lines.iter().map(|l| activity::done_line(l)).collect();
    let labels = sections::labels_of(&ctx.questions_for(m).await?);
    let note = match k {
        Keep::All => format!(
            "Kept from your draft: {} line{}, as your Done.\n",
            done.len(),
            if done.len() == 1 { "" } else { "s" }
        ),
        Keep::Lines(_) => format!(
            "Kept from your draft: line{} {}, as your Done.\n",
            if lines.len() == 1 { "" } else { "s" },
            lines
                .iter()
                .map(|l| l.n.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        ),
    };
    Ok(Ok((with_kept(rest, &done, &labels), note)))
}

/// The part of a draft a request shows: its first [`DRAFT_LINES`] lines, the rest counted in
/// `more`.
pub fn email_part(d: &Draft) -> Draft {
    let cut = d.lines.len().saturating_sub(DRAFT_LINES);
    Draft {
        lines: d.lines.iter().take(DRAFT_LINES).cloned().collect(),
        more: d.more + cut,
    }
}

/// `rest` (what the member wrote under `keep`) with `done` lines as its Done section, first:
/// under the member's own Done label when the rest starts with one, else under the team's Done
/// question (or `Done:`), the rest following.
pub fn with_kept(rest: &str, done: &[String], labels: &[(Kind, String)]) -> String {
    let rest = rest.trim();
    let bullets: String = done.iter().map(|l| format!("- {l}\n")).collect();
    let (first, after) = rest.split_once('\n').unwrap_or((rest, ""));
    let own = sections::split_labelled(first, labels)
        .into_iter()
        .next()
        .filter(|s| s.kind == Kind::Done && s.label.is_some());
    match own {
        Some(s) => {
            let label = s.label.unwrap_or_default();
            let label = label.trim_end_matches(':');
            let inline = if s.text.is_empty() {
                String::new()
            } else {
                format!("{}\n", s.text)
            };
            format!("{label}:\n{bullets}{inline}{after}")
                .trim_end()
                .to_string()
        }
        None => {
            let label = labels
                .iter()
                .find(|(k, _)| *k == Kind::Done)
                .map_or("Done:".to_string(), |(_, q)| q.clone());
            format!("{label}\n{bullets}{rest}").trim_end().to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<(Kind, String)> {
        sections::labels_of(&[
            "What did you get done?".to_string(),
            "What's next?".to_string(),
        ])
    }

    #[test]
    fn kept_lines_come_first_under_the_teams_done_question() {
        let t = with_kept(
            "Also paired with Ana.\nWhat's next?\nRelease.",
            &["opened #212 <https://x.test/212>".to_string()],
            &labels(),
        );
        assert_eq!(
            t,
            "What did you get done?\n- opened #212 <https://x.test/212>\nAlso paired with Ana.\nWhat's next?\nRelease."
        );
        let s = sections::split_labelled(&t, &labels());
        assert_eq!(s[0].kind, Kind::Done);
        assert!(s[0].text.contains("Also paired"), "{s:?}");
        assert_eq!(s[1].kind, Kind::Next);
    }

    #[test]
    fn the_members_own_done_label_takes_the_kept_lines_first() {
        let t = with_kept(
            "Done: reviewed the docs\nNext: release",
            &["a <https://x.test/a>".to_string()],
            &labels(),
        );
        assert_eq!(
            t,
            "Done:\n- a <https://x.test/a>\nreviewed the docs\nNext: release"
        );
        let s = sections::split_labelled(&t, &labels());
        assert_eq!(s.len(), 2, "{s:?}");
    }

    #[test]
    fn keep_alone_stores_the_lines_under_done() {
        let t = with_kept("", &["a".to_string(), "b".to_string()], &[]);
        assert_eq!(t, "Done:\n- a\n- b");
    }

    #[test]
    fn a_request_shows_the_first_lines_and_counts_the_rest() {
        let line = |n| activity::DraftLine {
            n,
            project: None,
            title: format!("t{n}"),
            link: None,
        };
        let d = Draft {
            lines: (1..=15).map(line).collect(),
            more: 2,
        };
        let e = email_part(&d);
        assert_eq!(e.lines.len(), DRAFT_LINES);
        assert_eq!(e.more, 5);
    }
}
