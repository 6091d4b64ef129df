//! Away days from a calendar: which of a member's local dates an ICS calendar marks as time
//! off. Pure logic, no I/O: the caller fetches the calendar and hands over its bytes.
//!
//! Two kinds of calendar ([`CalendarKind`]):
//!
//! * **Personal** (a member's private export: Google "secret address in iCal format",
//!   Outlook/Exchange published calendar, iCloud, Nextcloud …). An event counts when it is
//!   not `STATUS:CANCELLED`, not `TRANSP:TRANSPARENT` (shown as free), and either marked out
//!   of office (`X-MICROSOFT-CDO-BUSYSTATUS:OOF`) or titled with a time-off word
//!   ([`AwayWords`], default [`DEFAULT_AWAY_WORDS`]). An all-day event covers each of its
//!   dates (DTEND exclusive; one day without DTEND; DURATION honoured). A timed event covers
//!   local date D when its `[start, end)` holds D at the member's request time or D at their
//!   digest time, both read in the member's zone with the scheduler's rules (a time in a
//!   spring-forward gap is read with the offset before the gap; a repeated time is the
//!   earlier instant).
//! * **Holidays** (a public-holiday feed such as Google's "Holidays in Germany", whose events
//!   are all `TRANSP:TRANSPARENT`): every event that is not cancelled counts, whatever its
//!   title or transparency; all-day events cover their dates, timed ones every local date
//!   they touch.
//!
//! Recurrences (RRULE, RDATE, EXDATE, RECURRENCE-ID overrides) are expanded up to the
//! window's end with the `rrule` crate (`recur.rs`); an override replaces its occurrence and is
//! judged on its own (moved, retitled, or cancelled). Floating times are read in the
//! member's zone; TZIDs may be IANA names, Windows names or custom VTIMEZONEs (`zones.rs`).
//! Text is read by a tolerant line reader (`ics.rs`). Problems that only affect one event are
//! reported in [`AwayReport::problems`]; only text that is not a calendar is an error.
//!
//! Details, as producers write them:
//! * Outlook's all-day events written as midnight DATE-TIMEs with
//!   `X-MICROSOFT-CDO-ALLDAYEVENT:TRUE` are all-day; an all-day series' EXDATE or
//!   RECURRENCE-ID is matched on the date as written (Exchange writes TZID midnights), and
//!   its UTC UNTIL (Exchange: the last day's local midnight) means the date of the nearest
//!   midnight.
//! * An override without DTEND/DURATION keeps its series' length. `RANGE=THISANDFUTURE` is
//!   not applied (the override replaces one occurrence).
//! * Expansion follows python-dateutil: DTSTART counts only when it matches the rule; UNTIL
//!   before DTSTART leaves no occurrence. At most 100,000 occurrences per event and
//!   1,000,000 per calendar are expanded ([`Problem::TooManyOccurrences`]).
//! * An event without a UID gets `no-uid:<DTSTART>:<SUMMARY>`, stable across fetches.

use std::collections::BTreeSet;

use chrono::{NaiveDate, NaiveTime, TimeDelta};
use chrono_tz::Tz;

mod events;
mod ics;
mod recur;
mod windows_zones;
mod words;
mod zones;

pub use recur::expand_rrule_dates;
pub use words::{AwayWords, DEFAULT_AWAY_WORDS};

use events::{Event, Series, covered_dates, read_event};
use zones::Zones;

/// Which rules apply to a calendar's events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CalendarKind {
    /// A member's own calendar: only out-of-office or time-off-titled busy events count.
    Personal,
    /// A public-holiday calendar: every event counts.
    Holidays,
}

impl CalendarKind {
    /// As stored: `personal`, `holidays`.
    pub fn as_str(self) -> &'static str {
        match self {
            CalendarKind::Personal => "personal",
            CalendarKind::Holidays => "holidays",
        }
    }

    /// A stored kind (anything but `holidays` is a personal calendar).
    pub fn parse(s: &str) -> CalendarKind {
        if s == "holidays" {
            CalendarKind::Holidays
        } else {
            CalendarKind::Personal
        }
    }
}

/// Whether `ics` reads as a calendar at all (what a read is checked with before it replaces
/// the last good copy: a login page served with 200 is not one).
pub fn check(ics: &[u8]) -> Result<(), CalendarError> {
    ics::parse(ics).map(|_| ())
}

/// Whose days to compute, and over which window.
#[derive(Debug, Clone, Copy)]
pub struct AwayQuery<'a> {
    /// The member's zone.
    pub tz: Tz,
    /// The member's local update-request time.
    pub request_at: NaiveTime,
    /// The member's local digest time.
    pub digest_at: NaiveTime,
    /// Time-off words for titles (personal calendars only).
    pub words: &'a AwayWords,
    /// UIDs of events the member chose to ignore (all occurrences).
    pub ignore_uids: &'a BTreeSet<String>,
    /// First local date of the window (inclusive).
    pub from: NaiveDate,
    /// Last local date of the window (inclusive).
    pub to: NaiveDate,
}

/// One away date and the event that makes it one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AwayDay {
    pub date: NaiveDate,
    pub uid: String,
    /// The event's title (SUMMARY, unescaped; empty when it has none).
    pub summary: String,
}

/// A run of consecutive away dates from one event ("away Mon 22 Dec – Fri 2 Jan").
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AwaySpan {
    pub first: NaiveDate,
    pub last: NaiveDate,
    pub uid: String,
    pub summary: String,
}

impl AwaySpan {
    /// `Tue 22 Dec – Fri 1 Jan`, or `Tue 22 Dec` for one day.
    pub fn when(&self) -> String {
        let f = |d: NaiveDate| d.format("%a %-d %b").to_string();
        if self.first == self.last {
            f(self.first)
        } else {
            format!("{} – {}", f(self.first), f(self.last))
        }
    }
}

/// What a calendar says about a member's window.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwayReport {
    /// Sorted by date then UID; one entry per (date, UID).
    pub days: Vec<AwayDay>,
    /// Non-fatal problems, in the order met.
    pub problems: Vec<Problem>,
}

impl AwayReport {
    /// The distinct away dates.
    pub fn dates(&self) -> BTreeSet<NaiveDate> {
        self.days.iter().map(|d| d.date).collect()
    }

    /// Consecutive dates of the same event and title merged, sorted by first date.
    pub fn spans(&self) -> Vec<AwaySpan> {
        let mut by_event: Vec<&AwayDay> = self.days.iter().collect();
        by_event.sort_by(|a, b| (&a.uid, &a.summary, a.date).cmp(&(&b.uid, &b.summary, b.date)));
        let mut spans: Vec<AwaySpan> = Vec::new();
        for d in by_event {
            if let Some(s) = spans.last_mut()
                && s.uid == d.uid
                && s.summary == d.summary
                && s.last.succ_opt() == Some(d.date)
            {
                s.last = d.date;
                continue;
            }
            spans.push(AwaySpan {
                first: d.date,
                last: d.date,
                uid: d.uid.clone(),
                summary: d.summary.clone(),
            });
        }
        spans.sort();
        spans
    }
}

/// Why the calendar could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("the calendar is empty")]
    Empty,
    #[error("this is not an iCalendar (.ics) file; it starts with {start:?}")]
    NotIcs { start: String },
    #[error("recurrence rule {rule:?} not understood: {reason}")]
    BadRule { rule: String, reason: String },
}

/// Something in the calendar that was skipped or approximated; the rest still counts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("{count} line(s) that are not calendar lines were skipped (first: line {first_line})")]
    SkippedLines { count: usize, first_line: usize },
    #[error("event {uid}: start {value:?} not understood; event skipped")]
    BadStart { uid: String, value: String },
    #[error("event {uid}: {property} {value:?} not understood; ignored")]
    BadValue {
        uid: String,
        property: String,
        value: String,
    },
    #[error("event {uid}: repeat rule {rule:?} not understood ({reason}); event skipped")]
    BadRule {
        uid: String,
        rule: String,
        reason: String,
    },
    #[error("event {uid}: too many repetitions to expand; stopped after {limit}")]
    TooManyOccurrences { uid: String, limit: usize },
    #[error("time zone {tzid:?} is not known; its times were read in your own zone")]
    UnknownZone { tzid: String },
    #[error("time zone {tzid:?} has no standard name; its offsets were read from the calendar")]
    ApproximateZone { tzid: String },
}

/// The member's away dates in `q.from..=q.to` according to ICS calendar `ics`.
pub fn away_days(
    ics: &[u8],
    kind: CalendarKind,
    q: &AwayQuery<'_>,
) -> Result<AwayReport, CalendarError> {
    let parsed = ics::parse(ics)?;
    let mut problems = Vec::new();
    if parsed.skipped_lines > 0 {
        problems.push(Problem::SkippedLines {
            count: parsed.skipped_lines,
            first_line: parsed.first_skipped,
        });
    }
    let mut vtimezones = Vec::new();
    parsed.root.descendants("VTIMEZONE", &mut vtimezones);
    let mut vevents = Vec::new();
    parsed.root.descendants("VEVENT", &mut vevents);
    let mut zones = Zones::new(q.tz, &vtimezones, q.from, q.to);

    let events: Vec<Event> = vevents
        .iter()
        .filter_map(|n| read_event(n, &mut problems))
        .filter(|e| !q.ignore_uids.contains(&e.uid))
        .collect();
    let series = Series::of(&events);
    // Wall-clock bounds with two days' slack for zone differences.
    let wall = |d: Option<NaiveDate>, or: NaiveDate| d.unwrap_or(or).and_time(NaiveTime::MIN);
    let window = (
        wall(q.from.checked_sub_signed(TimeDelta::days(2)), q.from),
        wall(q.to.checked_add_signed(TimeDelta::days(2)), q.to),
    );
    let mut days = Vec::new();
    for e in events.iter().filter(|e| e.qualifies(kind, q)) {
        let (zone, occurrences) = series.occurrences_of(e, &mut zones, window, &mut problems);
        for o in &occurrences {
            for date in covered_dates(o, &zone, e.all_day, kind, q) {
                days.push(AwayDay {
                    date,
                    uid: e.uid.clone(),
                    summary: e.summary.clone(),
                });
            }
        }
    }
    days.sort();
    days.dedup_by(|a, b| a.date == b.date && a.uid == b.uid);
    problems.append(&mut zones.problems);
    Ok(AwayReport { days, problems })
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;

#[cfg(test)]
#[path = "unit_tests.rs"]
mod unit_tests;
