//! Check-ins: the questions a team is asked, on which rhythm, at what local time, of whom, and
//! where the answers go. Every team has the daily stand-up (its questions, each member's own
//! request time and workdays, answers in the daily digest); a team may add others ("Friday
//! wins", a monthly question for the leads). Pure logic: parsing, storing as text, and the
//! dates and instants a check-in fires on (the schedule module's gap and fold rules hold).

use std::fmt;

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::schedule::{
    LocalTime, SHORT_NAMES, Schedule, ScheduleError, Workdays, local_date, weekday_from_name,
};

pub use super::checkin_answer::{ScaleSummary, parse_scale, scale_summary, take_scores};

/// A check-in's row id.
pub type CheckinId = i64;

/// The kind of answer a question asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum QuestionKind {
    /// What got done (a stand-up's first question).
    Done,
    /// What comes next.
    Next,
    /// What is in the way (carried and escalated like the stand-up's).
    Blockers,
    /// Free text.
    Text,
    /// A number from 1 to 5, shown only as the team's aggregate.
    Scale,
    /// Yes or no.
    YesNo,
}

impl QuestionKind {
    pub const ALL: [QuestionKind; 6] = [
        QuestionKind::Done,
        QuestionKind::Next,
        QuestionKind::Blockers,
        QuestionKind::Text,
        QuestionKind::Scale,
        QuestionKind::YesNo,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            QuestionKind::Done => "done",
            QuestionKind::Next => "next",
            QuestionKind::Blockers => "blockers",
            QuestionKind::Text => "text",
            QuestionKind::Scale => "scale",
            QuestionKind::YesNo => "yes-no",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        let s = s.trim().to_ascii_lowercase();
        let s = if s == "yesno" || s == "yes/no" {
            "yes-no".to_string()
        } else {
            s
        };
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One question of a check-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Question {
    pub kind: QuestionKind,
    /// 1 to 300 characters, no control characters.
    #[schema(
        min_length = 1,
        max_length = 300,
        pattern = r"^[^\s\x00-\x1f\x7f]([^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f])?$"
    )]
    pub text: String,
}

impl Question {
    /// `TEXT` (free text) or `KIND: TEXT` with KIND one of done, next, blockers, text, scale,
    /// yes-no: `scale: How was your week?`.
    pub fn parse(s: &str) -> Result<Self, CheckinError> {
        let s = s.trim();
        let (kind, text) = match s.split_once(':') {
            Some((k, rest)) => match QuestionKind::parse(k) {
                Some(kind) => (kind, rest.trim()),
                None => (QuestionKind::Text, s),
            },
            None => (QuestionKind::Text, s),
        };
        if text.is_empty() {
            return Err(CheckinError::EmptyQuestion);
        }
        if text.chars().count() > 300 {
            return Err(CheckinError::LongQuestion);
        }
        Ok(Question {
            kind,
            text: text.to_string(),
        })
    }
}

impl fmt::Display for Question {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            QuestionKind::Text => f.write_str(&self.text),
            k => write!(f, "{}: {}", k.as_str(), self.text),
        }
    }
}

/// Which day of a month a monthly check-in comes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MonthDay {
    /// The first such weekday of the month (`first-mon`).
    First(Weekday),
    /// The last such weekday of the month (`last-fri`).
    Last(Weekday),
    /// The month's last day that is one of the member's workdays (`last-workday`).
    LastWorkday,
    /// Day N (1–31); in a shorter month, its last day.
    Day(u8),
}

/// On which local dates a check-in comes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rhythm {
    /// Each member's own workdays (the daily stand-up).
    Workdays,
    /// These weekdays, whatever the member's workdays.
    Days(Workdays),
    /// Once every `every` weeks on `day`, counted from the week (Monday) of `anchor`.
    Weekly {
        day: Weekday,
        every: u8,
        anchor: NaiveDate,
    },
    /// Once a month.
    Monthly(MonthDay),
}

/// Why a check-in could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckinError {
    #[error("a question is empty")]
    EmptyQuestion,
    #[error("a question is longer than 300 characters")]
    LongQuestion,
    #[error("a check-in asks at least one question")]
    NoQuestions,
    #[error("a check-in asks at most 10 questions")]
    TooManyQuestions,
    #[error(
        "invalid rhythm {0:?}: expected days:mon,tue,…, weekly:DAY, weekly:DAY:N (every N weeks) or monthly:first-mon|last-fri|last-workday|N"
    )]
    BadRhythm(String),
    #[error("every N weeks: N is 1 to 52, not {0}")]
    BadEvery(String),
    #[error("day of the month {0:?}: expected 1 to 31")]
    BadMonthDay(String),
    #[error(
        "invalid audience {0:?}: expected all, leads or a comma-separated list of member addresses"
    )]
    BadWho(String),
    #[error("invalid destination {0:?}: expected digest, own or log")]
    BadGoesTo(String),
    #[error("{0}")]
    Schedule(#[from] ScheduleError),
}

fn short(d: Weekday) -> &'static str {
    SHORT_NAMES[d.num_days_from_monday() as usize]
}

/// The Monday of `d`'s week.
fn week_start(d: NaiveDate) -> NaiveDate {
    d - Days::new(u64::from(d.weekday().num_days_from_monday()))
}

fn last_of_month(d: NaiveDate) -> NaiveDate {
    let (y, m) = if d.month() == 12 {
        (d.year() + 1, 1)
    } else {
        (d.year(), d.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
        .and_then(|first| first.pred_opt())
        .unwrap_or(d)
}

impl MonthDay {
    fn parse(s: &str) -> Result<Self, CheckinError> {
        let s = s.trim().to_ascii_lowercase();
        if s == "last-workday" || s == "last-work-day" {
            return Ok(MonthDay::LastWorkday);
        }
        if let Some(d) = s.strip_prefix("first-") {
            return Ok(MonthDay::First(weekday_from_name(d)?));
        }
        if let Some(d) = s.strip_prefix("last-") {
            return Ok(MonthDay::Last(weekday_from_name(d)?));
        }
        match s.parse::<u8>() {
            Ok(n) if (1..=31).contains(&n) => Ok(MonthDay::Day(n)),
            _ => Err(CheckinError::BadMonthDay(s)),
        }
    }

    fn matches(self, d: NaiveDate, workdays: Workdays) -> bool {
        let last = last_of_month(d);
        match self {
            MonthDay::First(w) => d.weekday() == w && d.day() <= 7,
            MonthDay::Last(w) => d.weekday() == w && d.day() + 7 > last.day(),
            MonthDay::Day(n) => d.day() == u32::from(n).min(last.day()),
            MonthDay::LastWorkday => {
                let days = if workdays.is_empty() {
                    Workdays::default()
                } else {
                    workdays
                };
                // No later day of the month is a workday.
                days.contains(d.weekday())
                    && d.iter_days()
                        .skip(1)
                        .take_while(|n| *n <= last)
                        .all(|n| !days.contains(n.weekday()))
            }
        }
    }
}

impl fmt::Display for MonthDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MonthDay::First(w) => write!(f, "first-{}", short(*w)),
            MonthDay::Last(w) => write!(f, "last-{}", short(*w)),
            MonthDay::LastWorkday => f.write_str("last-workday"),
            MonthDay::Day(n) => write!(f, "{n}"),
        }
    }
}

impl Rhythm {
    /// Reads the stored form (see [`fmt::Display`]): `workdays`, `days:mon,wed`, `weekly:fri`,
    /// `weekly:fri:2:2026-12-07`, `monthly:first-mon`, `monthly:last-workday`, `monthly:15`.
    /// `today` anchors an every-N-weeks rhythm written without its anchor.
    pub fn parse(s: &str, today: NaiveDate) -> Result<Self, CheckinError> {
        let bad = || CheckinError::BadRhythm(s.trim().to_string());
        let lower = s.trim().to_ascii_lowercase();
        let mut parts = lower.splitn(2, ':');
        let head = parts.next().unwrap_or_default();
        let rest = parts.next();
        match (head, rest) {
            ("workdays", None) => Ok(Rhythm::Workdays),
            ("days", Some(list)) => {
                let days = Workdays::parse(list)?;
                if days.is_empty() {
                    return Err(bad());
                }
                Ok(Rhythm::Days(days))
            }
            ("weekly", Some(rest)) => {
                let mut p = rest.split(':');
                let day = weekday_from_name(p.next().unwrap_or_default())?;
                let every = match p.next() {
                    None => 1,
                    Some(n) => parse_every(n)?,
                };
                let anchor = match p.next() {
                    None => week_start(today),
                    Some(a) => week_start(a.parse().map_err(|_| bad())?),
                };
                if p.next().is_some() {
                    return Err(bad());
                }
                Ok(Rhythm::Weekly { day, every, anchor })
            }
            ("monthly", Some(rest)) => Ok(Rhythm::Monthly(MonthDay::parse(rest)?)),
            _ => Err(bad()),
        }
    }

    /// Whether local date `d` is one of this rhythm's days, for a member working `workdays`.
    pub fn matches(&self, d: NaiveDate, workdays: Workdays) -> bool {
        match *self {
            Rhythm::Workdays => workdays.contains(d.weekday()),
            Rhythm::Days(days) => days.contains(d.weekday()),
            Rhythm::Weekly { day, every, anchor } => {
                if d.weekday() != day {
                    return false;
                }
                let weeks = (week_start(d) - anchor).num_days().div_euclid(7);
                weeks.rem_euclid(i64::from(every.max(1))) == 0
            }
            Rhythm::Monthly(md) => md.matches(d, workdays),
        }
    }

    /// As a person reads it: "Mon–Fri", "every Friday", "every 2 weeks on Monday", "monthly,
    /// the first Monday".
    pub fn describe(&self) -> String {
        use super::rhythm::weekday_name;
        match *self {
            Rhythm::Workdays => "each member's workdays".into(),
            Rhythm::Days(days) => days.names().join(", "),
            Rhythm::Weekly { day, every: 1, .. } => format!("every {}", weekday_name(day)),
            Rhythm::Weekly { day, every, .. } => {
                format!("every {every} weeks on {}", weekday_name(day))
            }
            Rhythm::Monthly(MonthDay::First(w)) => {
                format!("monthly, the first {}", weekday_name(w))
            }
            Rhythm::Monthly(MonthDay::Last(w)) => format!("monthly, the last {}", weekday_name(w)),
            Rhythm::Monthly(MonthDay::LastWorkday) => "monthly, the last workday".into(),
            Rhythm::Monthly(MonthDay::Day(n)) => format!("monthly, on day {n}"),
        }
    }
}

fn parse_every(n: &str) -> Result<u8, CheckinError> {
    match n.trim().parse::<u8>() {
        Ok(v) if (1..=52).contains(&v) => Ok(v),
        _ => Err(CheckinError::BadEvery(n.trim().to_string())),
    }
}

impl fmt::Display for Rhythm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rhythm::Workdays => f.write_str("workdays"),
            Rhythm::Days(days) => write!(f, "days:{}", days.names().join(",")),
            Rhythm::Weekly { day, every: 1, .. } => write!(f, "weekly:{}", short(*day)),
            Rhythm::Weekly { day, every, anchor } => {
                write!(f, "weekly:{}:{every}:{anchor}", short(*day))
            }
            Rhythm::Monthly(md) => write!(f, "monthly:{md}"),
        }
    }
}

/// Who a check-in asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    /// Every member of the team who writes updates (not observers).
    All,
    /// The team's leads.
    Leads,
    /// These members (addresses, lower case).
    Members(Vec<String>),
}

impl Who {
    pub fn parse(s: &str) -> Result<Self, CheckinError> {
        let lower = s.trim().to_ascii_lowercase();
        match lower.as_str() {
            "all" | "everyone" => Ok(Who::All),
            "leads" => Ok(Who::Leads),
            _ => {
                let list: Vec<String> = lower
                    .split(',')
                    .map(str::trim)
                    .filter(|a| !a.is_empty())
                    .map(String::from)
                    .collect();
                if list.is_empty() || list.iter().any(|a| !a.contains('@')) {
                    return Err(CheckinError::BadWho(s.trim().to_string()));
                }
                Ok(Who::Members(list))
            }
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Who::All => "everyone".into(),
            Who::Leads => "the leads".into(),
            Who::Members(list) => list.join(", "),
        }
    }
}

impl fmt::Display for Who {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Who::All => f.write_str("all"),
            Who::Leads => f.write_str("leads"),
            Who::Members(list) => f.write_str(&list.join(",")),
        }
    }
}

/// Where a check-in's answers go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GoesTo {
    /// The readers' daily digest, under the check-in's heading.
    #[default]
    Digest,
    /// A digest of its own: at each reader's digest time, one email with only this
    /// check-in's answers they have not read (not in the daily digest).
    Own,
    /// Only the team log, its feeds and the weekly summary.
    Log,
}

impl GoesTo {
    pub fn parse(s: &str) -> Result<Self, CheckinError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "digest" => Ok(GoesTo::Digest),
            "own" => Ok(GoesTo::Own),
            "log" => Ok(GoesTo::Log),
            _ => Err(CheckinError::BadGoesTo(s.trim().to_string())),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            GoesTo::Digest => "digest",
            GoesTo::Own => "own",
            GoesTo::Log => "log",
        }
    }
}

/// A check-in of a team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkin {
    pub id: CheckinId,
    pub team_id: i64,
    pub name: String,
    /// The daily stand-up: its questions are the team's (`team set --question`), its time and
    /// days each member's own; its updates are the ones every earlier version kept.
    pub standup: bool,
    /// Empty for the stand-up (the team's questions apply).
    pub questions: Vec<Question>,
    pub rhythm: Rhythm,
    /// None: each member's own request time.
    pub at: Option<LocalTime>,
    /// None: each member's own zone.
    pub tz: Option<Tz>,
    pub who: Who,
    pub goes_to: GoesTo,
}

/// What a check-in needs to know of one member to fire for them.
#[derive(Debug, Clone, Copy)]
pub struct MemberClock {
    pub tz: Tz,
    pub request_at: LocalTime,
    pub workdays: Workdays,
}

/// Local dates searched for a check-in's next fire: more than a year, so that a monthly
/// rhythm on day 31 or the first Monday always has one.
const SEARCH_DAYS: usize = 400;

impl Checkin {
    /// The zone and local time this check-in fires at for a member.
    pub fn clock(&self, m: MemberClock) -> (Tz, LocalTime) {
        (self.tz.unwrap_or(m.tz), self.at.unwrap_or(m.request_at))
    }

    /// The first fire strictly after `after` for a member, with the local date (in the
    /// check-in's zone) it belongs to. The schedule module's rules hold: a time in a
    /// spring-forward gap fires just after it, a time that occurs twice fires at its first
    /// occurrence, a date that does not exist has no fire.
    pub fn next_after(
        &self,
        m: MemberClock,
        after: DateTime<Utc>,
    ) -> Option<(NaiveDate, DateTime<Utc>)> {
        let (tz, at) = self.clock(m);
        let s = Schedule {
            tz,
            at,
            days: Workdays::all(),
        };
        let mut d = local_date(tz, after).checked_sub_days(Days::new(2))?;
        for _ in 0..SEARCH_DAYS {
            if self.rhythm.matches(d, m.workdays)
                && let Some(t) = s.instant_on(d)
                && t > after
            {
                return Some((d, t));
            }
            d = d.succ_opt()?;
        }
        None
    }

    /// The last fire at or before `now` and after `since`, with its local date.
    pub fn last_fire_in(
        &self,
        m: MemberClock,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<(NaiveDate, DateTime<Utc>)> {
        super::schedule::last_fire_between(|t| self.next_after(m, t), since, now)
    }

    /// The questions as the labels a reply is read with, each of its kind (done, next and
    /// blockers sections are the stand-up's; the others are free text).
    pub fn labels(&self) -> Vec<(super::sections::Kind, String)> {
        use super::sections::Kind;
        self.questions
            .iter()
            .map(|q| {
                let kind = match q.kind {
                    QuestionKind::Done => Kind::Done,
                    QuestionKind::Next => Kind::Next,
                    QuestionKind::Blockers => Kind::Blockers,
                    _ => Kind::Other,
                };
                (kind, q.text.clone())
            })
            .collect()
    }

    /// One line: `Friday wins — every Friday at 15:00 in each member's zone; asks everyone: What
    /// went well? (answers in the daily digest)`.
    pub fn describe(&self) -> String {
        let c = self;
        if c.standup {
            return format!(
                "{} — each member's workdays at their own request time; asks everyone the team's questions",
                c.name
            );
        }
        let questions: Vec<String> = c.questions.iter().map(|q| q.to_string()).collect();
        let to = match c.goes_to {
            GoesTo::Digest => "answers in the daily digest",
            GoesTo::Own => "answers in a digest of its own",
            GoesTo::Log => "answers in the team log only",
        };
        format!(
            "{} — {} {}; asks {}: {} ({to})",
            c.name,
            c.rhythm.describe(),
            c.describe_time(),
            c.who.describe(),
            questions.join(" / ")
        )
    }

    /// "at 15:00 in each member's zone", "at 10:00 Europe/Berlin", "at each member's request
    /// time".
    pub fn describe_time(&self) -> String {
        match (self.at, self.tz) {
            (Some(at), Some(tz)) => format!("at {at} {}", tz.name()),
            (Some(at), None) => format!("at {at} in each member's zone"),
            (None, Some(tz)) => format!("at each member's request time, {}", tz.name()),
            (None, None) => "at each member's request time".into(),
        }
    }
}

#[cfg(test)]
#[path = "checkin_tests.rs"]
mod tests;
