//! Member schedules: when, in UTC, a member's local wall-clock time comes round.
//!
//! This module owns the value types a schedule is made of ([`LocalTime`],
//! [`Workdays`], an IANA zone parsed by [`parse_tz`]) and the arithmetic that
//! turns a [`Schedule`] into UTC fire instants. It does no I/O.
//!
//! # Time rules (PRODUCT.md, "Time rules")
//!
//! * A schedule is a local wall-clock time (`HH:MM`) in an IANA zone, on chosen
//!   weekdays (Monday to Friday by default). The weekday is the weekday of the
//!   *local* date the fire belongs to.
//! * A local time that does not exist (spring-forward gap) fires at the first
//!   instant after the gap, shifted by the gap length: the instant is the local
//!   time read with the offset in force just before the gap
//!   (`naive - offset_before`). 02:30 on 2026-03-08 in America/New_York fires
//!   at 03:30 EDT, `2026-03-08T07:30:00Z`.
//! * A local time that occurs twice (fall-back) fires once, at the first
//!   (earlier) occurrence.
//! * A local date that does not exist at all in the zone (Pacific/Apia skipped
//!   2011-12-30) has no fire.
//! * Fire instants are distinct: if two local dates would yield the same
//!   instant (only possible around day-long gaps) it is fired once, for the
//!   earlier date.
//!
//! All arithmetic is checked: no function here panics, whatever the zone or date.

use std::fmt;

use chrono::{
    DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc,
    Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// Seconds in a day; every UTC offset is strictly smaller than this in magnitude.
const DAY_SECS: i64 = 86_400;

/// Why a schedule component could not be parsed.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ScheduleError {
    /// Not a wall-clock time `HH:MM` between 00:00 and 23:59.
    #[error("invalid time {0:?}: expected HH:MM between 00:00 and 23:59")]
    BadTime(String),
    /// Not a weekday name (or an empty weekday list).
    #[error("unknown weekday {0:?}: expected mon, tue, wed, thu, fri, sat or sun")]
    BadWeekday(String),
    /// Not a digest cadence (`daily`, `weekly`, `weekly:fri`, `off`).
    #[error(
        "unknown digest cadence {0:?}: expected daily, weekly (or weekly:mon … weekly:sun) or off"
    )]
    BadCadence(String),
    /// Not an IANA time-zone name known to chrono-tz, or an abbreviation: the message says
    /// which zones were probably meant.
    #[error("{0}")]
    BadZone(String),
}

// ---------------------------------------------------------------------------
// LocalTime
// ---------------------------------------------------------------------------

/// A wall-clock time of day with minute precision, `00:00` to `23:59`.
///
/// Parses `"08:30"` and `"8:30"`; displays and serializes as `"08:30"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LocalTime(u16);

impl LocalTime {
    /// `00:00`: the start of a day.
    pub const MIDNIGHT: LocalTime = LocalTime(0);

    /// Parses `H:MM` or `HH:MM` (surrounding whitespace allowed).
    pub fn parse(s: &str) -> Result<Self, ScheduleError> {
        let bad = || ScheduleError::BadTime(s.to_string());
        let (h, m) = s.trim().split_once(':').ok_or_else(bad)?;
        let digits = |x: &str, max_len: usize| {
            !x.is_empty() && x.len() <= max_len && x.bytes().all(|b| b.is_ascii_digit())
        };
        if !digits(h, 2) || !digits(m, 2) || m.len() != 2 {
            return Err(bad());
        }
        let h: u32 = h.parse().map_err(|_| bad())?;
        let m: u32 = m.parse().map_err(|_| bad())?;
        Self::new(h, m).map_err(|_| bad())
    }

    /// A time from hour (0–23) and minute (0–59).
    pub fn new(h: u32, m: u32) -> Result<Self, ScheduleError> {
        if h > 23 || m > 59 {
            return Err(ScheduleError::BadTime(format!("{h:02}:{m:02}")));
        }
        // h * 60 + m <= 1439 fits in u16.
        Ok(Self((h * 60 + m) as u16))
    }

    /// The time as a chrono [`NaiveTime`] (seconds zero).
    pub fn naive(self) -> NaiveTime {
        // The invariant (< 24h) makes this always Some.
        NaiveTime::from_hms_opt(self.hour(), self.minute(), 0).unwrap_or(NaiveTime::MIN)
    }

    /// Hour, 0–23.
    pub fn hour(self) -> u32 {
        u32::from(self.0 / 60)
    }

    /// Minute, 0–59.
    pub fn minute(self) -> u32 {
        u32::from(self.0 % 60)
    }

    /// Seconds since local midnight.
    fn secs(self) -> i64 {
        i64::from(self.0) * 60
    }
}

impl fmt::Display for LocalTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.hour(), self.minute())
    }
}

impl std::str::FromStr for LocalTime {
    type Err = ScheduleError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for LocalTime {
    type Error = ScheduleError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<LocalTime> for String {
    fn from(t: LocalTime) -> Self {
        t.to_string()
    }
}

// ---------------------------------------------------------------------------
// Workdays
// ---------------------------------------------------------------------------

pub(crate) const SHORT_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// A set of weekdays (bit 0 = Monday … bit 6 = Sunday). Default: Monday–Friday.
///
/// Parses `"mon,tue,fri"`, with `,` `;` or whitespace as separators, full names
/// (`"monday"`), any case, and ranges (`"mon-fri"`, wrapping `"fri-mon"`).
/// Displays as `"mon,tue,wed"`; serializes as a list of short names
/// (`["mon","tue"]`) and also deserializes from a string such as `"mon-fri"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "WorkdaysRepr")]
pub struct Workdays(u8);

impl Workdays {
    /// Parses a weekday list; an empty list or an unknown name is an error.
    pub fn parse(s: &str) -> Result<Self, ScheduleError> {
        // Glue "mon - fri" into "mon-fri" so whitespace can also separate.
        let mut norm = String::with_capacity(s.len());
        let mut after_dash = false;
        for c in s.chars() {
            if c == '-' {
                let trimmed = norm.trim_end().len();
                norm.truncate(trimmed);
                norm.push('-');
                after_dash = true;
            } else if after_dash && c.is_whitespace() {
                continue;
            } else {
                after_dash = false;
                norm.push(c);
            }
        }
        let mut bits = 0u8;
        for token in norm
            .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
            .filter(|t| !t.is_empty())
        {
            match token.split_once('-') {
                Some((a, b)) => {
                    let from = weekday_from_name(a)?;
                    let to = weekday_from_name(b)?;
                    let mut d = from;
                    loop {
                        bits |= day_bit(d);
                        if d == to {
                            break;
                        }
                        d = d.succ();
                    }
                }
                None => bits |= day_bit(weekday_from_name(token)?),
            }
        }
        if bits == 0 {
            return Err(ScheduleError::BadWeekday(s.trim().to_string()));
        }
        Ok(Self(bits))
    }

    /// Whether `d` is in the set.
    pub fn contains(self, d: Weekday) -> bool {
        self.0 & day_bit(d) != 0
    }

    /// Short names of the days in the set, Monday first.
    pub fn names(self) -> Vec<&'static str> {
        (0..7)
            .filter(|i| self.0 & (1 << i) != 0)
            .map(|i| SHORT_NAMES[i])
            .collect()
    }

    /// The storage form: bit 0 = Monday … bit 6 = Sunday.
    pub fn bits(self) -> u8 {
        self.0
    }

    /// From the storage form; bit 7 is ignored.
    pub fn from_bits(b: u8) -> Self {
        Self(b & 0x7f)
    }

    /// Whether no day is chosen (such a schedule never fires).
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Every day of the week.
    pub fn all() -> Self {
        Self(0x7f)
    }
}

impl Default for Workdays {
    fn default() -> Self {
        Self(0x1f)
    }
}

impl fmt::Display for Workdays {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.names().join(","))
    }
}

impl std::str::FromStr for Workdays {
    type Err = ScheduleError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Workdays {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.names())
    }
}

/// What serde accepts for [`Workdays`]: a list of names, or one string.
#[derive(Deserialize)]
#[serde(untagged)]
enum WorkdaysRepr {
    List(Vec<String>),
    Text(String),
}

impl TryFrom<WorkdaysRepr> for Workdays {
    type Error = ScheduleError;
    fn try_from(r: WorkdaysRepr) -> Result<Self, Self::Error> {
        match r {
            WorkdaysRepr::Text(s) => Self::parse(&s),
            WorkdaysRepr::List(items) => {
                let mut bits = 0u8;
                for item in &items {
                    bits |= Self::parse(item)?.0;
                }
                Ok(Self(bits))
            }
        }
    }
}

pub(crate) fn day_bit(d: Weekday) -> u8 {
    1 << d.num_days_from_monday()
}

pub(crate) fn weekday_from_name(name: &str) -> Result<Weekday, ScheduleError> {
    let lower = name.to_ascii_lowercase();
    let d = match lower.as_str() {
        "mon" | "monday" => Weekday::Mon,
        "tue" | "tues" | "tuesday" => Weekday::Tue,
        "wed" | "wednesday" => Weekday::Wed,
        "thu" | "thur" | "thurs" | "thursday" => Weekday::Thu,
        "fri" | "friday" => Weekday::Fri,
        "sat" | "saturday" => Weekday::Sat,
        "sun" | "sunday" => Weekday::Sun,
        _ => return Err(ScheduleError::BadWeekday(name.to_string())),
    };
    Ok(d)
}

// ---------------------------------------------------------------------------
// Zones
// ---------------------------------------------------------------------------

pub use super::zone::suggest_zones;

/// Parses an IANA zone name (exact spelling, surrounding whitespace allowed). An
/// abbreviation (EST, CET, IST, …) is refused even where the zone database has a zone of
/// that name: it would be a fixed offset without the place's daylight-saving rules. The
/// error says why and which zones were probably meant (the one suggester of the CLI, the
/// preferences page, reply commands and the API).
pub fn parse_tz(s: &str) -> Result<Tz, ScheduleError> {
    if let Some(why) = super::zone::abbreviation(s) {
        return Err(ScheduleError::BadZone(why));
    }
    let tz = s
        .trim()
        .parse::<Tz>()
        .map_err(|_| ScheduleError::BadZone(super::zone::unknown(s)))?;
    Ok(canonical(tz))
}

/// The zone a legacy or alternate name stands for (`US/Pacific` → `America/Los_Angeles`,
/// `CET` → `Europe/Brussels`, `Asia/Calcutta` → `Asia/Kolkata`), so it is stored and shown
/// under its current name; any other zone as it is. The same rules either way: a link is
/// another name for the same zone.
pub fn canonical(tz: Tz) -> Tz {
    legacy_target(tz.name())
        .and_then(|t| t.parse().ok())
        .unwrap_or(tz)
}

/// The current name of a legacy or alternate zone name, `None` for a current name.
pub fn legacy_target(name: &str) -> Option<&'static str> {
    let links = super::tz_links::LINKS;
    links
        .binary_search_by(|(alias, _)| (*alias).cmp(name))
        .ok()
        .map(|i| links[i].1)
}

/// Every zone under its current name, by name (what a zone picker offers).
pub fn current_zones() -> impl Iterator<Item = &'static str> {
    chrono_tz::TZ_VARIANTS
        .iter()
        .map(|z| z.name())
        .filter(|n| legacy_target(n).is_none())
}

/// The local date, in the zone named `tz` (as stored), of unix time `t`: the day a member's
/// blocker was resolved or an update first written, in its author's calendar. `None` for a
/// zone or a time that cannot be read.
pub fn local_date_at(tz: &str, t: i64) -> Option<NaiveDate> {
    Some(local_date(
        parse_tz(tz).ok()?,
        DateTime::from_timestamp(t, 0)?,
    ))
}

/// The latest fire after `from` and at or before `now` of a rule whose next fire after an
/// instant is `next_after` (a member's schedule, a check-in for one member).
pub fn last_fire_between(
    next_after: impl Fn(DateTime<Utc>) -> Option<(NaiveDate, DateTime<Utc>)>,
    from: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<(NaiveDate, DateTime<Utc>)> {
    let mut cursor = from;
    let mut last = None;
    while let Some((date, t)) = next_after(cursor) {
        if t > now {
            break;
        }
        last = Some((date, t));
        cursor = t;
    }
    last
}

/// The local date in `tz` at instant `t`.
///
/// Saturates to `NaiveDate::MIN`/`MAX` at the very ends of chrono's range
/// instead of panicking.
pub fn local_date(tz: Tz, t: DateTime<Utc>) -> NaiveDate {
    let utc = t.timestamp();
    let wall = utc + offset_at(tz, utc);
    date_of_wall(wall).unwrap_or(if wall < utc {
        NaiveDate::MIN
    } else {
        NaiveDate::MAX
    })
}

/// UTC offset (seconds east) in force at UTC timestamp `utc`.
fn offset_at(tz: Tz, utc: i64) -> i64 {
    match DateTime::from_timestamp(utc, 0) {
        Some(t) => i64::from(
            tz.offset_from_utc_datetime(&t.naive_utc())
                .fix()
                .local_minus_utc(),
        ),
        None => 0,
    }
}

/// The date of a wall-clock timestamp (seconds since 1970-01-01T00:00 local).
fn date_of_wall(wall: i64) -> Option<NaiveDate> {
    DateTime::from_timestamp(wall, 0).map(|d| d.date_naive())
}

/// A wall-clock timestamp: a naive local date-time counted like a UTC timestamp.
fn wall_secs(n: NaiveDateTime) -> i64 {
    n.and_utc().timestamp()
}

/// A spring-forward gap: at UTC `at` the offset jumps from `before` to `after`
/// (`after > before`), so wall-clock `[at + before, at + after)` never occurs.
struct Gap {
    at: i64,
    before: i64,
    after: i64,
}

/// Finds the gap that swallows wall-clock timestamp `wall`, by bisecting the UTC
/// window where the wall clock must cross it. Only called when chrono-tz says
/// `wall` does not exist; `None` if no crossing is found (out-of-range dates).
fn find_gap(tz: Tz, wall: i64) -> Option<Gap> {
    let wall_at = |t: i64| t + offset_at(tz, t);
    // |offset| < 1 day, so the wall clock is below `wall` at `lo` and above at `hi`.
    let mut lo = wall.checked_sub(DAY_SECS + 3_600)?;
    let mut hi = wall.checked_add(DAY_SECS + 3_600)?;
    DateTime::from_timestamp(lo, 0)?;
    DateTime::from_timestamp(hi, 0)?;
    if wall_at(lo) >= wall || wall_at(hi) <= wall {
        return None;
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if wall_at(mid) < wall {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let before = offset_at(tz, lo);
    let after = offset_at(tz, hi);
    (after > before).then_some(Gap {
        at: hi,
        before,
        after,
    })
}

// ---------------------------------------------------------------------------
// Schedule
// ---------------------------------------------------------------------------

/// A member's schedule: local time `at` in zone `tz` on `days`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// The member's IANA zone.
    pub tz: Tz,
    /// The local wall-clock time to fire at.
    pub at: LocalTime,
    /// The local weekdays to fire on.
    pub days: Workdays,
}

impl Schedule {
    /// The instant this schedule fires on local date `date`, ignoring workdays
    /// (gap and fold rules applied). `None` only if `date` does not exist in the
    /// zone (or lies at the very edge of chrono's range).
    pub fn instant_on(&self, date: NaiveDate) -> Option<DateTime<Utc>> {
        let local = date.and_time(self.at.naive());
        let wall = wall_secs(local);
        let utc = match self.tz.offset_from_local_datetime(&local) {
            LocalResult::Single(o) => wall - i64::from(o.fix().local_minus_utc()),
            LocalResult::Ambiguous(a, b) => {
                let a = wall - i64::from(a.fix().local_minus_utc());
                let b = wall - i64::from(b.fix().local_minus_utc());
                a.min(b)
            }
            LocalResult::None => {
                let gap = find_gap(self.tz, wall)?;
                // The whole date inside the gap: the date does not exist.
                let day_start = wall - self.at.secs();
                if gap.at + gap.before <= day_start && gap.at + gap.after >= day_start + DAY_SECS {
                    return None;
                }
                wall - gap.before
            }
        };
        DateTime::from_timestamp(utc, 0)
    }

    /// The first fire strictly after `after` on a workday, with the local date it
    /// belongs to. `None` if `days` is empty. Ties (two dates, one instant) go
    /// to the earlier date.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<(NaiveDate, DateTime<Utc>)> {
        if self.days.is_empty() {
            return None;
        }
        // A fire is `wall - offset` with |offset| < 1 day, and `after` is within a
        // day of its own local date d0, so no date before d0 - 2 can fire after
        // `after`, and date d cannot beat a candidate `best` once
        // wall(d) - 1 day >= best. 19 dates cover a week with skipped days.
        let d0 = local_date(self.tz, after);
        let mut d = d0
            .checked_sub_days(chrono::Days::new(2))
            .unwrap_or(NaiveDate::MIN);
        let mut best: Option<(NaiveDate, DateTime<Utc>)> = None;
        for _ in 0..19 {
            if let Some((_, b)) = best {
                let wall = wall_secs(d.and_time(self.at.naive()));
                if wall - DAY_SECS >= b.timestamp() {
                    break;
                }
            }
            if self.days.contains(d.weekday())
                && let Some(t) = self.instant_on(d)
                && t > after
                && best.is_none_or(|(_, b)| t < b)
            {
                best = Some((d, t));
            }
            d = match d.succ_opt() {
                Some(next) => next,
                None => break,
            };
        }
        best
    }

    /// Up to `count` distinct fire instants strictly after `after`, ascending.
    pub fn next_n(&self, after: DateTime<Utc>, count: usize) -> Vec<DateTime<Utc>> {
        let mut out = Vec::with_capacity(count.min(1024));
        let mut cursor = after;
        while out.len() < count {
            match self.next_after(cursor) {
                Some((_, t)) => {
                    out.push(t);
                    cursor = t;
                }
                None => break,
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn legacy_zone_names_are_read_as_their_current_zone() {
        for (alias, zone) in [
            ("US/Pacific", "America/Los_Angeles"),
            ("Asia/Calcutta", "Asia/Kolkata"),
            ("Europe/Kiev", "Europe/Kyiv"),
            ("America/Buenos_Aires", "America/Argentina/Buenos_Aires"),
        ] {
            assert_eq!(super::parse_tz(alias).unwrap().name(), zone, "{alias}");
        }
        // Abbreviations the database also has as zones are refused (see `zone`): CET would
        // be Europe/Brussels and EST America/Panama, which has no daylight saving.
        for abbr in ["CET", "EST", "EST5EDT", "MST"] {
            assert!(super::parse_tz(abbr).is_err(), "{abbr}");
        }
        // Current names, merged locations and UTC stay as written.
        for zone in [
            "Europe/Berlin",
            "Europe/Oslo",
            "Africa/Accra",
            "UTC",
            "Pacific/Auckland",
        ] {
            assert_eq!(super::parse_tz(zone).unwrap().name(), zone);
        }
        // The table is sorted (binary search) and every name in it is a zone chrono-tz knows.
        let links = super::super::tz_links::LINKS;
        assert!(links.windows(2).all(|w| w[0].0 < w[1].0));
        for (alias, zone) in links {
            assert!(alias.parse::<chrono_tz::Tz>().is_ok(), "{alias}");
            assert!(zone.parse::<chrono_tz::Tz>().is_ok(), "{zone}");
            assert!(super::legacy_target(zone).is_none(), "{zone} is current");
        }
        assert!(super::current_zones().all(|z| z != "US/Pacific"));
        assert!(super::current_zones().any(|z| z == "America/Los_Angeles"));
    }

    use super::*;

    #[test]
    fn zones_are_suggested_for_cities_parts_and_misspellings() {
        assert_eq!(suggest_zones("berlin", 3), vec!["Europe/Berlin"]);
        assert_eq!(suggest_zones("Auckland", 3)[0], "Pacific/Auckland");
        assert_eq!(suggest_zones("new york", 3)[0], "America/New_York");
        assert_eq!(suggest_zones("Europe/Berln", 3)[0], "Europe/Berlin");
        assert_eq!(suggest_zones("aukland", 3)[0], "Pacific/Auckland");
        assert!(suggest_zones("zzzzqqq", 5).is_empty());
        assert!(suggest_zones("", 5).is_empty());
    }
    use chrono::Days;
    use proptest::prelude::*;

    fn utc(s: &str) -> DateTime<Utc> {
        match DateTime::parse_from_rfc3339(s) {
            Ok(t) => t.with_timezone(&Utc),
            Err(e) => panic!("bad test instant {s}: {e}"),
        }
    }

    fn date(s: &str) -> NaiveDate {
        match s.parse() {
            Ok(d) => d,
            Err(e) => panic!("bad test date {s}: {e}"),
        }
    }

    fn sched(zone: &str, at: &str) -> Schedule {
        Schedule {
            tz: parse_tz(zone).expect("zone"),
            at: LocalTime::parse(at).expect("time"),
            days: Workdays::all(),
        }
    }

    fn fire(zone: &str, at: &str, day: &str) -> Option<String> {
        sched(zone, at)
            .instant_on(date(day))
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
    }

    // ---------------------------------------------------------------- named

    #[test]
    fn new_york() {
        let z = "America/New_York";
        assert_eq!(
            fire(z, "02:30", "2026-03-08").as_deref(),
            Some("2026-03-08T07:30:00Z")
        );
        assert_eq!(
            fire(z, "02:00", "2026-03-08").as_deref(),
            Some("2026-03-08T07:00:00Z")
        );
        assert_eq!(
            fire(z, "03:00", "2026-03-08").as_deref(),
            Some("2026-03-08T07:00:00Z")
        );
        assert_eq!(
            fire(z, "01:30", "2026-11-01").as_deref(),
            Some("2026-11-01T05:30:00Z")
        );
        assert_eq!(
            fire(z, "09:00", "2026-06-15").as_deref(),
            Some("2026-06-15T13:00:00Z")
        );
        assert_eq!(
            fire(z, "09:00", "2026-01-15").as_deref(),
            Some("2026-01-15T14:00:00Z")
        );
    }

    #[test]
    fn lord_howe_half_hour_dst() {
        let z = "Australia/Lord_Howe";
        // 02:00 -> 02:30 on 2026-10-04; 02:15 shifted by 30 minutes.
        assert_eq!(
            fire(z, "02:15", "2026-10-04").as_deref(),
            Some("2026-10-03T15:45:00Z")
        );
        // 02:00 -> 01:30 on 2026-04-05; first 01:45 is at +11:00.
        assert_eq!(
            fire(z, "01:45", "2026-04-05").as_deref(),
            Some("2026-04-04T14:45:00Z")
        );
        assert_eq!(
            fire(z, "09:00", "2026-07-01").as_deref(),
            Some("2026-06-30T22:30:00Z")
        );
    }

    #[test]
    fn troll_two_hour_dst() {
        let z = "Antarctica/Troll";
        // 01:00 -> 03:00 on 2026-03-29.
        assert_eq!(
            fire(z, "02:00", "2026-03-29").as_deref(),
            Some("2026-03-29T02:00:00Z")
        );
        assert_eq!(
            fire(z, "01:00", "2026-03-29").as_deref(),
            Some("2026-03-29T01:00:00Z")
        );
        assert_eq!(
            fire(z, "03:00", "2026-03-29").as_deref(),
            Some("2026-03-29T01:00:00Z")
        );
        // 03:00 -> 01:00 on 2026-10-25: 02:00 first at +02.
        assert_eq!(
            fire(z, "02:00", "2026-10-25").as_deref(),
            Some("2026-10-25T00:00:00Z")
        );
        assert_eq!(
            fire(z, "08:00", "2026-01-15").as_deref(),
            Some("2026-01-15T08:00:00Z")
        );
        assert_eq!(
            fire(z, "08:00", "2026-07-15").as_deref(),
            Some("2026-07-15T06:00:00Z")
        );
    }

    #[test]
    fn dublin_negative_dst() {
        let z = "Europe/Dublin";
        assert_eq!(
            fire(z, "01:30", "2026-03-29").as_deref(),
            Some("2026-03-29T01:30:00Z")
        );
        assert_eq!(
            fire(z, "01:30", "2026-10-25").as_deref(),
            Some("2026-10-25T00:30:00Z")
        );
        assert_eq!(
            fire(z, "09:00", "2026-07-01").as_deref(),
            Some("2026-07-01T08:00:00Z")
        );
        assert_eq!(
            fire(z, "09:00", "2026-01-05").as_deref(),
            Some("2026-01-05T09:00:00Z")
        );
    }

    #[test]
    fn apia_skipped_day() {
        let z = "Pacific/Apia";
        assert_eq!(fire(z, "09:00", "2011-12-30"), None);
        assert_eq!(fire(z, "00:00", "2011-12-30"), None);
        assert_eq!(fire(z, "23:59", "2011-12-30"), None);
        assert_eq!(
            fire(z, "09:00", "2011-12-29").as_deref(),
            Some("2011-12-29T19:00:00Z")
        );
        assert_eq!(
            fire(z, "09:00", "2011-12-31").as_deref(),
            Some("2011-12-30T19:00:00Z")
        );
        let s = sched(z, "09:00");
        let got: Vec<String> = s
            .next_n(utc("2011-12-29T00:00:00Z"), 3)
            .iter()
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
            .collect();
        assert_eq!(
            got,
            [
                "2011-12-29T19:00:00Z",
                "2011-12-30T19:00:00Z",
                "2011-12-31T19:00:00Z"
            ]
        );
        // Friday only: Friday 2011-12-30 does not exist, next is 2012-01-06 (+14).
        let fri = Schedule {
            days: Workdays::parse("fri").expect("fri"),
            ..s
        };
        assert_eq!(
            fri.next_after(utc("2011-12-24T00:00:00Z")),
            Some((date("2012-01-06"), utc("2012-01-05T19:00:00Z")))
        );
    }

    #[test]
    fn casablanca_ramadan() {
        let z = "Africa/Casablanca";
        // 03:00 -> 02:00 on 2026-02-15 (Ramadan, +01 -> +00).
        assert_eq!(
            fire(z, "02:30", "2026-02-15").as_deref(),
            Some("2026-02-15T01:30:00Z")
        );
        // 02:00 -> 03:00 on 2026-03-22.
        assert_eq!(
            fire(z, "02:30", "2026-03-22").as_deref(),
            Some("2026-03-22T02:30:00Z")
        );
        assert_eq!(
            fire(z, "09:00", "2026-03-01").as_deref(),
            Some("2026-03-01T09:00:00Z")
        );
        assert_eq!(
            fire(z, "09:00", "2026-06-01").as_deref(),
            Some("2026-06-01T08:00:00Z")
        );
    }

    #[test]
    fn sao_paulo_midnight_transitions() {
        let z = "America/Sao_Paulo";
        // 00:00 -> 01:00 on 2018-11-04.
        assert_eq!(
            fire(z, "00:30", "2018-11-04").as_deref(),
            Some("2018-11-04T03:30:00Z")
        );
        assert_eq!(
            fire(z, "00:00", "2018-11-04").as_deref(),
            Some("2018-11-04T03:00:00Z")
        );
        // 00:00 -> 23:00 (previous day) on 2019-02-17: 23:30 on the 16th twice.
        assert_eq!(
            fire(z, "23:30", "2019-02-16").as_deref(),
            Some("2019-02-17T01:30:00Z")
        );
        assert_eq!(
            fire(z, "09:00", "2026-05-04").as_deref(),
            Some("2026-05-04T12:00:00Z")
        );
    }

    #[test]
    fn chatham_quarter_hour_offsets() {
        let z = "Pacific/Chatham";
        // 02:45 -> 03:45 on 2026-09-27.
        assert_eq!(
            fire(z, "03:00", "2026-09-27").as_deref(),
            Some("2026-09-26T14:15:00Z")
        );
        // 03:45 -> 02:45 on 2026-04-05: first 03:00 at +13:45.
        assert_eq!(
            fire(z, "03:00", "2026-04-05").as_deref(),
            Some("2026-04-04T13:15:00Z")
        );
        assert_eq!(
            fire(z, "09:00", "2026-07-01").as_deref(),
            Some("2026-06-30T20:15:00Z")
        );
    }

    #[test]
    fn kathmandu() {
        let z = "Asia/Kathmandu";
        // 00:00 -> 00:15 on 1986-01-01 (+05:30 -> +05:45).
        assert_eq!(
            fire(z, "00:10", "1986-01-01").as_deref(),
            Some("1985-12-31T18:40:00Z")
        );
        // LMT +05:41:16 -> +05:30 at 1920-01-01 00:00: 23:50 on 1919-12-31 twice.
        assert_eq!(
            fire(z, "23:50", "1919-12-31").as_deref(),
            Some("1919-12-31T18:08:44Z")
        );
        assert_eq!(
            fire(z, "09:00", "2026-01-05").as_deref(),
            Some("2026-01-05T03:15:00Z")
        );
    }

    #[test]
    fn kiritimati() {
        let z = "Pacific/Kiritimati";
        assert_eq!(fire(z, "09:00", "1994-12-31"), None);
        assert_eq!(
            fire(z, "09:00", "1994-12-30").as_deref(),
            Some("1994-12-30T19:00:00Z")
        );
        assert_eq!(
            fire(z, "09:00", "1995-01-01").as_deref(),
            Some("1994-12-31T19:00:00Z")
        );
        // -10:40 -> -10:00 at 1979-10-01 00:00.
        assert_eq!(
            fire(z, "00:20", "1979-10-01").as_deref(),
            Some("1979-10-01T11:00:00Z")
        );
        assert_eq!(
            fire(z, "09:00", "2026-01-05").as_deref(),
            Some("2026-01-04T19:00:00Z")
        );
    }

    #[test]
    fn toronto_gap_across_midnight() {
        // 1919-03-30 23:30 -> 1919-03-31 00:30: the 23:45 of the 30th fires on
        // the 31st, so next_after must look at dates before the local date.
        let s = sched("America/Toronto", "23:45");
        assert_eq!(
            fire("America/Toronto", "23:45", "1919-03-30").as_deref(),
            Some("1919-03-31T04:45:00Z")
        );
        assert_eq!(
            local_date(s.tz, utc("1919-03-31T04:40:00Z")),
            date("1919-03-31")
        );
        assert_eq!(
            s.next_after(utc("1919-03-31T04:40:00Z")),
            Some((date("1919-03-30"), utc("1919-03-31T04:45:00Z")))
        );
        // With only Mondays (the 31st), the Sunday fire is not taken.
        let mon = Schedule {
            days: Workdays::parse("mon").expect("mon"),
            ..s
        };
        assert_eq!(
            mon.next_after(utc("1919-03-31T04:40:00Z")),
            Some((date("1919-03-31"), utc("1919-04-01T03:45:00Z")))
        );
    }

    #[test]
    fn next_after_and_next_n() {
        let mut s = sched("America/New_York", "02:30");
        s.days = Workdays::parse("sun").expect("sun");
        assert_eq!(
            s.next_after(utc("2026-03-01T08:00:00Z")),
            Some((date("2026-03-08"), utc("2026-03-08T07:30:00Z")))
        );
        // Strictly after.
        assert_eq!(
            s.next_after(utc("2026-03-08T07:30:00Z")),
            Some((date("2026-03-15"), utc("2026-03-15T06:30:00Z")))
        );
        let weekdays = Schedule {
            days: Workdays::default(),
            ..sched("Europe/Berlin", "09:00")
        };
        // From 08:00Z on Friday 2026-01-02 (09:00 CET, not strictly after).
        let got = weekdays.next_n(utc("2026-01-02T08:00:00Z"), 3);
        assert_eq!(
            got,
            [
                utc("2026-01-05T08:00:00Z"),
                utc("2026-01-06T08:00:00Z"),
                utc("2026-01-07T08:00:00Z")
            ]
        );
        let none = Schedule {
            days: Workdays::from_bits(0),
            ..weekdays
        };
        assert_eq!(none.next_after(utc("2026-01-02T08:00:00Z")), None);
        assert!(none.next_n(utc("2026-01-02T08:00:00Z"), 5).is_empty());
        assert!(weekdays.next_n(utc("2026-01-02T08:00:00Z"), 0).is_empty());
    }

    #[test]
    fn extremes_do_not_panic() {
        for tz in [
            Tz::UTC,
            Tz::Pacific__Kiritimati,
            Tz::America__Metlakatla,
            Tz::Asia__Manila,
        ] {
            for at in ["00:00", "12:00", "23:59"] {
                let s = Schedule {
                    tz,
                    at: LocalTime::parse(at).expect("time"),
                    days: Workdays::all(),
                };
                for d in [NaiveDate::MIN, NaiveDate::MAX] {
                    let _ = s.instant_on(d);
                    let _ = local_date(tz, d.and_time(NaiveTime::MIN).and_utc());
                }
                for t in [DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC] {
                    let _ = s.next_after(t);
                    let _ = s.next_n(t, 3);
                    let _ = local_date(tz, t);
                }
            }
        }
    }

    // -------------------------------------------------------------- parsing

    #[test]
    fn local_time_parsing() {
        assert_eq!(
            LocalTime::parse("08:30").map(|t| t.to_string()),
            Ok("08:30".into())
        );
        assert_eq!(
            LocalTime::parse("8:30").map(|t| t.to_string()),
            Ok("08:30".into())
        );
        assert_eq!(
            LocalTime::parse(" 23:59 ").map(|t| (t.hour(), t.minute())),
            Ok((23, 59))
        );
        assert_eq!(
            LocalTime::parse("00:00").map(|t| t.naive()),
            Ok(NaiveTime::MIN)
        );
        for bad in [
            "25:00", "24:00", "12:60", "x", "", "8", "8:5", "08:300", "123:00", "-1:00", "+8:30",
            "08-30", "08:30:00", "٨:٣٠",
        ] {
            assert_eq!(
                LocalTime::parse(bad),
                Err(ScheduleError::BadTime(bad.to_string())),
                "{bad:?}"
            );
        }
        assert_eq!(
            LocalTime::new(7, 5).map(|t| t.to_string()),
            Ok("07:05".into())
        );
        assert!(matches!(
            LocalTime::new(24, 0),
            Err(ScheduleError::BadTime(_))
        ));
        assert!(matches!(
            LocalTime::new(0, 60),
            Err(ScheduleError::BadTime(_))
        ));
        assert!(LocalTime::parse("07:59").ok() < LocalTime::parse("08:00").ok());
        let json = serde_json::to_string(&LocalTime::parse("8:05").expect("t")).expect("ser");
        assert_eq!(json, "\"08:05\"");
        assert_eq!(
            serde_json::from_str::<LocalTime>("\"17:45\"").ok(),
            LocalTime::parse("17:45").ok()
        );
        assert!(serde_json::from_str::<LocalTime>("\"17:65\"").is_err());
        assert_eq!(
            ScheduleError::BadTime("25:00".into()).to_string(),
            "invalid time \"25:00\": expected HH:MM between 00:00 and 23:59"
        );
    }

    #[test]
    fn workdays_parsing() {
        let p = |s: &str| Workdays::parse(s).map(|w| w.to_string());
        assert_eq!(p("mon,tue,fri"), Ok("mon,tue,fri".into()));
        assert_eq!(p("fri;mon tue"), Ok("mon,tue,fri".into()));
        assert_eq!(p("Monday, WEDNESDAY  sunday"), Ok("mon,wed,sun".into()));
        assert_eq!(p("mon-fri"), Ok("mon,tue,wed,thu,fri".into()));
        assert_eq!(p("mon - wed, sat"), Ok("mon,tue,wed,sat".into()));
        assert_eq!(p("fri-mon"), Ok("mon,fri,sat,sun".into()));
        assert_eq!(p("sun-sun"), Ok("sun".into()));
        assert_eq!(p("tues,thurs"), Ok("tue,thu".into()));
        assert_eq!(
            Workdays::parse("mon,funday"),
            Err(ScheduleError::BadWeekday("funday".into()))
        );
        assert_eq!(
            Workdays::parse("mon-xyz"),
            Err(ScheduleError::BadWeekday("xyz".into()))
        );
        assert_eq!(
            Workdays::parse(""),
            Err(ScheduleError::BadWeekday(String::new()))
        );
        assert_eq!(
            Workdays::parse(" , "),
            Err(ScheduleError::BadWeekday(",".into()))
        );
        assert_eq!(Workdays::default(), Workdays::parse("mon-fri").expect("d"));
        assert_eq!(Workdays::default().bits(), 0b0001_1111);
        assert_eq!(Workdays::all().names(), SHORT_NAMES.to_vec());
        assert_eq!(Workdays::from_bits(0xff), Workdays::all());
        assert!(Workdays::from_bits(0).is_empty());
        assert_eq!(Workdays::from_bits(0).to_string(), "");
        let w = Workdays::parse("sat,mon").expect("w");
        assert!(w.contains(Weekday::Sat) && w.contains(Weekday::Mon) && !w.contains(Weekday::Sun));
        assert_eq!(w.names(), ["mon", "sat"]);
        assert_eq!(Workdays::from_bits(w.bits()), w);
        assert_eq!(serde_json::to_string(&w).expect("ser"), r#"["mon","sat"]"#);
        assert_eq!(
            serde_json::from_str::<Workdays>(r#"["sat","Monday"]"#).ok(),
            Some(w)
        );
        assert_eq!(
            serde_json::from_str::<Workdays>(r#""mon-fri""#).ok(),
            Some(Workdays::default())
        );
        assert_eq!(
            serde_json::from_str::<Workdays>("[]").ok(),
            Some(Workdays::from_bits(0))
        );
        assert!(serde_json::from_str::<Workdays>(r#"["mon","xmas"]"#).is_err());
        assert_eq!(
            ScheduleError::BadWeekday("xmas".into()).to_string(),
            "unknown weekday \"xmas\": expected mon, tue, wed, thu, fri, sat or sun"
        );
    }

    #[test]
    fn zone_parsing() {
        assert_eq!(parse_tz("Europe/Berlin"), Ok(Tz::Europe__Berlin));
        assert_eq!(parse_tz(" UTC "), Ok(Tz::UTC));
        assert_eq!(
            parse_tz("America/Argentina/Buenos_Aires"),
            Ok(Tz::America__Argentina__Buenos_Aires)
        );
        for bad in ["Mars/Olympus", "", "europe/berlin_", "+02:00"] {
            assert!(
                matches!(parse_tz(bad), Err(ScheduleError::BadZone(_))),
                "{bad}"
            );
        }
        assert_eq!(
            parse_tz("Mars/Olympus").unwrap_err().to_string(),
            "\"Mars/Olympus\" is not a time zone: expected an IANA name such as Europe/Berlin (Region/City)"
        );
    }

    // ------------------------------------------------------------ reference

    /// Brute-force reference, sharing nothing with the code above but
    /// chrono-tz's UTC -> offset lookup: the offset is sampled every UTC minute
    /// (to the second where it changes) into constant-offset segments, and each
    /// date's fire is solved on those segments.
    struct Reference {
        /// `(start, end, offset)`, UTC seconds, contiguous and ascending.
        segs: Vec<(i64, i64, i64)>,
    }

    fn ref_offset(tz: Tz, t: i64) -> i64 {
        let dt = DateTime::from_timestamp(t, 0).expect("reference instant in range");
        i64::from(
            tz.offset_from_utc_datetime(&dt.naive_utc())
                .fix()
                .local_minus_utc(),
        )
    }

    impl Reference {
        fn new(tz: Tz, from: i64, to: i64) -> Self {
            let mut segs = Vec::new();
            let mut start = from;
            let mut cur = ref_offset(tz, from);
            let mut t = from;
            while t < to {
                let next = t + 60;
                let o = ref_offset(tz, next);
                if o != cur {
                    // Walk the minute second by second to the change.
                    let mut s = t + 1;
                    while ref_offset(tz, s) == cur {
                        s += 1;
                    }
                    segs.push((start, s, cur));
                    start = s;
                    cur = ref_offset(tz, s);
                    // Another change inside the same minute? keep walking.
                    if cur != o {
                        t = s;
                        continue;
                    }
                }
                t = next;
            }
            segs.push((start, to + 60, cur));
            Reference { segs }
        }

        /// Wall-clock seconds of the local midnight starting `d`.
        fn midnight(d: NaiveDate) -> i64 {
            (d - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_seconds()
        }

        fn fire(&self, d: NaiveDate, at: LocalTime) -> Option<i64> {
            self.classify(d, at).0
        }

        /// The fire and which rule produced it.
        fn classify(&self, d: NaiveDate, at: LocalTime) -> (Option<i64>, Kind) {
            let day = Self::midnight(d);
            // Does any instant read as date d?
            let exists = self
                .segs
                .iter()
                .any(|&(s, e, o)| s + o < day + DAY_SECS && e + o > day);
            if !exists {
                return (None, Kind::NoDate);
            }
            let target = day + i64::from(at.hour()) * 3600 + i64::from(at.minute()) * 60;
            // First UTC instant whose wall clock reads the target.
            let hits: Vec<i64> = self
                .segs
                .iter()
                .filter(|&&(s, e, o)| s + o <= target && target < e + o)
                .map(|&(_, _, o)| target - o)
                .collect();
            if let Some(&first) = hits.iter().min() {
                let kind = if hits.len() > 1 {
                    Kind::Fold
                } else {
                    Kind::Plain
                };
                return (Some(first), kind);
            }
            // Gap: the first instant where the wall clock jumps past the target,
            // plus how far into the gap the target lay.
            let shifted = self.segs.windows(2).find_map(|w| {
                let (_, e1, o1) = w[0];
                let (_, _, o2) = w[1];
                let wall_before = e1 + o1; // the wall clock the jump starts from
                let wall_after = e1 + o2;
                (wall_before <= target && target < wall_after)
                    .then_some(e1 + (target - wall_before))
            });
            (shifted, Kind::Gap)
        }
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Kind {
        Plain,
        Gap,
        Fold,
        NoDate,
    }

    /// How many checked dates fell under each rule, and how many `next_after`
    /// answers were not on the local date of `after` or the next one.
    static STATS: [std::sync::atomic::AtomicUsize; 5] =
        [const { std::sync::atomic::AtomicUsize::new(0) }; 5];

    fn bump(i: usize) {
        STATS[i].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Reference (date, instant) list for workday dates near `after`, sorted,
    /// deduplicated (earlier date wins), strictly after `after`.
    fn ref_fires(tz: Tz, at: LocalTime, days: Workdays, after: i64) -> Vec<(NaiveDate, i64)> {
        let d0 = ref_date(tz, after);
        let r = Reference::new(
            tz,
            Reference::midnight(d0) - 5 * DAY_SECS,
            Reference::midnight(d0) + 19 * DAY_SECS,
        );
        ref_fires_on(&r, d0, 16, at, days, after)
    }

    fn ref_date(tz: Tz, t: i64) -> NaiveDate {
        DateTime::from_timestamp(t + ref_offset(tz, t), 0)
            .expect("range")
            .date_naive()
    }

    /// As [`ref_fires`], on a prebuilt reference covering dates
    /// `d0 - 3 ..= d0 + ahead` with two days to spare on each side.
    fn ref_fires_on(
        r: &Reference,
        d0: NaiveDate,
        ahead: u64,
        at: LocalTime,
        days: Workdays,
        after: i64,
    ) -> Vec<(NaiveDate, i64)> {
        let first = d0 - Days::new(3);
        let last = d0 + Days::new(ahead);
        let mut out: Vec<(NaiveDate, i64)> = first
            .iter_days()
            .take_while(|d| *d <= last)
            .filter(|d| days.contains(d.weekday()))
            .filter_map(|d| r.fire(d, at).map(|t| (d, t)))
            .filter(|&(_, t)| t > after)
            .collect();
        out.sort_by_key(|&(d, t)| (t, d));
        out.dedup_by_key(|&mut (_, t)| t);
        out
    }

    const DST_HEAVY: &[Tz] = &[
        Tz::America__New_York,
        Tz::Australia__Lord_Howe,
        Tz::Antarctica__Troll,
        Tz::Europe__Dublin,
        Tz::Pacific__Apia,
        Tz::Africa__Casablanca,
        Tz::America__Sao_Paulo,
        Tz::Pacific__Chatham,
        Tz::Asia__Kathmandu,
        Tz::Pacific__Kiritimati,
        Tz::Pacific__Fakaofo,
        Tz::Pacific__Kwajalein,
        Tz::America__Santiago,
        Tz::America__Havana,
        Tz::America__Asuncion,
        Tz::America__St_Johns,
        Tz::America__Godthab,
        Tz::America__Scoresbysund,
        Tz::Asia__Tehran,
        Tz::Asia__Gaza,
        Tz::Asia__Beirut,
        Tz::Africa__Cairo,
        Tz::Europe__Moscow,
        Tz::Europe__London,
        Tz::Europe__Chisinau,
        Tz::Australia__Adelaide,
        Tz::Pacific__Norfolk,
        Tz::America__Caracas,
        Tz::Asia__Pyongyang,
        Tz::America__Metlakatla,
        Tz::America__Juneau,
        Tz::Asia__Manila,
        Tz::Pacific__Tongatapu,
        Tz::Africa__Juba,
        Tz::America__Whitehorse,
        Tz::America__Toronto,
        Tz::America__Goose_Bay,
        Tz::America__Moncton,
        Tz::Pacific__Kanton,
        Tz::Antarctica__Casey,
    ];

    /// Start of 1970 to end of 2037.
    const SPAN: (i64, i64) = (0, 2_145_916_800);
    /// 1900 to 1970: LMT offsets with seconds, early DST experiments.
    const EARLY_SPAN: (i64, i64) = (-2_208_988_800, 0);

    /// The first offset change after `t` (within ~2 years), found by daily steps
    /// and bisection.
    fn next_transition(tz: Tz, t: i64) -> Option<i64> {
        let o = ref_offset(tz, t);
        let mut a = t;
        for _ in 0..800 {
            let b = a + DAY_SECS;
            if ref_offset(tz, b) != o {
                let (mut lo, mut hi) = (a, b);
                while hi - lo > 1 {
                    let m = lo + (hi - lo) / 2;
                    if ref_offset(tz, m) == o {
                        lo = m;
                    } else {
                        hi = m;
                    }
                }
                return Some(hi);
            }
            a = b;
        }
        None
    }

    #[derive(Debug, Clone)]
    struct Case {
        tz: Tz,
        at: LocalTime,
        days: Workdays,
        after: i64,
        count: usize,
        /// The transition the case was built around, if any.
        transition: Option<i64>,
    }

    prop_compose! {
        fn case()(
            zone_pick in 0u32..10,
            heavy in 0..DST_HEAVY.len(),
            any_zone in 0..chrono_tz::TZ_VARIANTS.len(),
            base in prop_oneof![6 => SPAN.0..SPAN.1, 1 => EARLY_SPAN.0..EARLY_SPAN.1],
            near_transition in prop::bool::weighted(0.8),
            jitter_after in -40 * 3600i64..40 * 3600,
            pick_in_range in 0i64..1_000_000,
            use_transition_time in prop::bool::weighted(0.9),
            uniform_minute in 0i64..1440,
            days_bits in prop_oneof![3 => 1u8..128, 1 => Just(0x1fu8), 1 => Just(0x7fu8), 1 => (0u32..7).prop_map(|i| 1u8 << i), 1 => Just(0u8)],
            count in 1usize..6,
        ) -> Case {
            let tz = if zone_pick < 8 { DST_HEAVY[heavy] } else { chrono_tz::TZ_VARIANTS[any_zone] };
            let mut after = base;
            let mut minute = uniform_minute;
            let transition = if near_transition { next_transition(tz, base) } else { None };
            if let Some(tr) = transition {
                after = tr + jitter_after;
                if use_transition_time {
                    // A wall-clock time inside the range the transition skips or
                    // repeats, or up to 10 minutes either side of it.
                    let (o1, o2) = (ref_offset(tz, tr - 1), ref_offset(tz, tr));
                    let lo = (tr + o1.min(o2)).div_euclid(60) - 10;
                    let len = (o1 - o2).abs() / 60 + 20;
                    let wall_min = lo + pick_in_range.rem_euclid(len.max(1));
                    minute = wall_min.rem_euclid(1440);
                }
            }
            let at = LocalTime::new((minute / 60) as u32, (minute % 60) as u32).expect("minute in range");
            Case { tz, at, days: Workdays::from_bits(days_bits), after, count, transition }
        }
    }

    fn check(c: &Case) -> Result<(), TestCaseError> {
        let s = Schedule {
            tz: c.tz,
            at: c.at,
            days: c.days,
        };
        let after = DateTime::from_timestamp(c.after, 0).expect("after in range");
        let expected = ref_fires(c.tz, c.at, c.days, c.after);
        let ts = |v: &[(NaiveDate, i64)]| v.iter().map(|&(_, t)| t).collect::<Vec<_>>();

        // instant_on, every date around `after` (workdays ignored).
        let d0 = local_date(c.tz, after);
        let mut dates: Vec<NaiveDate> = (d0 - Days::new(2)).iter_days().take(5).collect();
        if let Some(tr) = c.transition {
            // The local dates either side of the transition itself.
            for t in [tr - 1, tr] {
                let d = local_date(c.tz, DateTime::from_timestamp(t, 0).expect("range"));
                dates.extend((d - Days::new(1)).iter_days().take(3));
            }
        }
        dates.sort();
        dates.dedup();
        let lo = Reference::midnight(dates[0]) - 3 * DAY_SECS;
        let hi = Reference::midnight(dates[dates.len() - 1]) + 4 * DAY_SECS;
        let r = Reference::new(c.tz, lo, hi);
        for d in dates {
            let (want, kind) = r.classify(d, c.at);
            bump(kind as usize);
            prop_assert_eq!(
                s.instant_on(d).map(|t| t.timestamp()),
                want,
                "instant_on {} {} {}",
                c.tz,
                d,
                c.at
            );
        }

        // next_after
        let got = s.next_after(after).map(|(d, t)| (d, t.timestamp()));
        prop_assert_eq!(got, expected.first().copied(), "next_after {:?}", c);
        if let Some((d, _)) = got
            && d < d0
        {
            bump(4);
        }

        // next_n
        let got: Vec<i64> = s
            .next_n(after, c.count)
            .iter()
            .map(|t| t.timestamp())
            .collect();
        let want: Vec<i64> = ts(&expected).into_iter().take(c.count).collect();
        if c.days.is_empty() {
            prop_assert!(got.is_empty());
        } else if want.len() >= c.count {
            prop_assert_eq!(got, want, "next_n {:?}", c);
        } else {
            // The reference window ran out (one weekday, skipped dates): only
            // compare the prefix it covers.
            prop_assert_eq!(&got[..want.len()], &want[..], "next_n {:?}", c);
        }
        Ok(())
    }

    /// Deterministic sweep: every offset change from 1900 (1970 in debug builds) to 2037 in the
    /// DST-heavy zones, times at the start, middle and end of the skipped or
    /// repeated range, compared with the reference on the dates around it.
    #[test]
    fn every_transition_in_heavy_zones() {
        let mut checked = 0usize;
        for &tz in DST_HEAVY {
            // Unoptimized builds sweep 1970 on only, to keep `cargo test` quick.
            let mut t = if cfg!(debug_assertions) {
                SPAN.0
            } else {
                EARLY_SPAN.0
            };
            while t < SPAN.1 {
                let Some(tr) = next_transition(tz, t) else {
                    t += 700 * DAY_SECS; // none within ~2 years: keep looking
                    continue;
                };
                t = tr;
                let (o1, o2) = (ref_offset(tz, tr - 1), ref_offset(tz, tr));
                let lo = (tr + o1.min(o2)).div_euclid(60);
                let hi = (tr + o1.max(o2)).div_euclid(60);
                let d = local_date(tz, DateTime::from_timestamp(tr, 0).expect("range"));
                let r = Reference::new(
                    tz,
                    Reference::midnight(d) - 7 * DAY_SECS,
                    Reference::midnight(d) + 8 * DAY_SECS,
                );
                for wall_min in [lo - 1, lo, (lo + hi) / 2, hi - 1, hi] {
                    let m = wall_min.rem_euclid(1440);
                    let at = LocalTime::new((m / 60) as u32, (m % 60) as u32).expect("minute");
                    let s = Schedule {
                        tz,
                        at,
                        days: Workdays::all(),
                    };
                    for day in (d - Days::new(2)).iter_days().take(5) {
                        assert_eq!(
                            s.instant_on(day).map(|x| x.timestamp()),
                            r.fire(day, at),
                            "{tz} {day} {at}"
                        );
                        checked += 1;
                    }
                    for after in [tr - 3 * 3600, tr - 1, tr, tr + 1800] {
                        let d0 = ref_date(tz, after);
                        let want = ref_fires_on(&r, d0, 3, at, Workdays::all(), after);
                        let got = s
                            .next_after(DateTime::from_timestamp(after, 0).expect("range"))
                            .map(|(d, x)| (d, x.timestamp()));
                        assert_eq!(got, want.first().copied(), "{tz} {at} after {after}");
                    }
                }
            }
        }
        eprintln!("{checked} transition-day fires checked");
    }

    /// Number of random cases (fewer in unoptimized builds); override with
    /// `PROPTEST_CASES`.
    const CASES: u32 = if cfg!(debug_assertions) { 2000 } else { 5000 };

    #[test]
    fn matches_brute_force_reference() {
        let cases = std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(CASES);
        let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
            cases,
            failure_persistence: None,
            ..ProptestConfig::default()
        });
        if let Err(e) = runner.run(&case(), |c| check(&c)) {
            panic!("{e}");
        }
        let n = |i: usize| STATS[i].load(std::sync::atomic::Ordering::Relaxed);
        eprintln!(
            "{cases} cases; dates checked: {} plain, {} gap, {} fold, {} nonexistent; \
             {} next_after answers on a date before the local date of `after`",
            n(0),
            n(1),
            n(2),
            n(3),
            n(4)
        );
    }
}
