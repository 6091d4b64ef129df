//! Time zones of calendar values: TZID resolution and wall-clock ⇄ instant conversion.
//!
//! A `TZID` is resolved, first match wins, to:
//! 1. the IANA zone of that name (`Europe/Berlin`, `UTC`);
//! 2. the IANA name in its VTIMEZONE's `X-LIC-LOCATION` (Thunderbird, Google, iCloud);
//! 3. an IANA name ending a globally unique TZID (`/mozilla.org/20050126_1/Europe/Berlin`,
//!    Outlook.com's `tzone://Microsoft/Utc`);
//! 4. the CLDR mapping of a Windows zone ID (`W. Europe Standard Time`, any ASCII case);
//! 5. the rules of its VTIMEZONE block (`Customized Time Zone`, `GMT +0100 (Standard) / …`):
//!    the STANDARD and DAYLIGHT onsets (DTSTART, RRULE, RDATE) are expanded for the years
//!    around the window and each wall-clock time takes the TZOFFSETTO of the latest onset
//!    before it (a [`Problem::ApproximateZone`] says so);
//! 6. otherwise the member's own zone, with a [`Problem::UnknownZone`].
//!
//! Wall-clock → instant uses the same rules as the scheduler (`domain::schedule`): a
//! wall-clock time in a spring-forward gap is read with the offset in force just before the
//! gap (02:30 → 03:30 EDT), one that occurs twice takes the earlier instant.

use std::collections::BTreeMap;
use std::rc::Rc;

use chrono::{
    DateTime, Datelike, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, Offset, TimeDelta,
    TimeZone, Utc,
};
use chrono_tz::Tz;

use super::Problem;
use super::ics::{Node, When, parse_when, parse_when_list};
use super::recur::expand_walls;
use super::windows_zones::windows_to_iana;

/// The zone a calendar value is read in.
#[derive(Debug, Clone)]
pub(crate) enum Zone {
    Iana(Tz),
    Custom(Rc<CustomZone>),
}

/// A VTIMEZONE with no IANA equivalent: its offset changes near the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CustomZone {
    /// `(onset as wall-clock time in the old offset, offset before, offset after)`, sorted.
    transitions: Vec<(NaiveDateTime, i32, i32)>,
    /// The offset before the first transition (the STANDARD offset if there is one).
    initial: i32,
}

impl Zone {
    /// The instant of wall-clock time `wall` in this zone (gap: offset before it; fold: earlier).
    pub fn instant(&self, wall: NaiveDateTime) -> Option<DateTime<Utc>> {
        match self {
            Zone::Iana(tz) => iana_instant(*tz, wall),
            Zone::Custom(c) => {
                let off = c.offset_at_wall(wall);
                Some(
                    wall.checked_sub_signed(TimeDelta::seconds(i64::from(off)))?
                        .and_utc(),
                )
            }
        }
    }

    /// The wall-clock time of instant `t` in this zone.
    pub fn wall(&self, t: DateTime<Utc>) -> NaiveDateTime {
        match self {
            Zone::Iana(tz) => t.with_timezone(tz).naive_local(),
            Zone::Custom(c) => {
                let utc = t.naive_utc();
                let off = c.offset_at_utc(utc);
                utc.checked_add_signed(TimeDelta::seconds(i64::from(off)))
                    .unwrap_or(utc)
            }
        }
    }
}

/// `wall` in IANA zone `tz`, with the scheduler's gap and fold rules. `None` only when the
/// whole local date is missing from the zone (Pacific/Apia, 2011-12-30) or out of range.
pub(crate) fn iana_instant(tz: Tz, wall: NaiveDateTime) -> Option<DateTime<Utc>> {
    let minus = |o: FixedOffset| {
        wall.checked_sub_signed(TimeDelta::seconds(i64::from(o.local_minus_utc())))
    };
    let utc = match tz.offset_from_local_datetime(&wall) {
        LocalResult::Single(o) => minus(o.fix())?,
        LocalResult::Ambiguous(a, b) => minus(a.fix())?.min(minus(b.fix())?),
        LocalResult::None => {
            // The latest wall-clock time before the gap that exists carries the offset in
            // force before it (gaps are shorter than a day; step back a minute at a time).
            let before = (1..=26 * 60).find_map(|m| {
                let p = wall.checked_sub_signed(TimeDelta::minutes(m))?;
                match tz.offset_from_local_datetime(&p) {
                    LocalResult::Single(o) | LocalResult::Ambiguous(_, o) => Some(o.fix()),
                    LocalResult::None => None,
                }
            })?;
            let utc = minus(before)?;
            // A date wholly inside a gap does not exist: no instant on it.
            if utc.and_utc().with_timezone(&tz).date_naive() != wall.date() {
                return None;
            }
            utc
        }
    };
    Some(utc.and_utc())
}

impl CustomZone {
    fn offset_at_wall(&self, wall: NaiveDateTime) -> i32 {
        let mut off = self.initial;
        for &(onset, before, after) in &self.transitions {
            // A wall time inside a spring-forward gap still reads with the old offset.
            let effective = if after > before {
                onset + TimeDelta::seconds(i64::from(after - before))
            } else {
                onset
            };
            if effective > wall {
                break;
            }
            off = after;
        }
        off
    }

    fn offset_at_utc(&self, utc: NaiveDateTime) -> i32 {
        let mut off = self.initial;
        for &(onset, before, after) in &self.transitions {
            if onset - TimeDelta::seconds(i64::from(before)) > utc {
                break;
            }
            off = after;
        }
        off
    }
}

/// Resolves TZIDs against the VTIMEZONEs of one calendar, caching results and reporting each
/// unknown or approximate zone once.
pub(crate) struct Zones<'a> {
    member: Tz,
    vtimezones: BTreeMap<String, &'a Node>,
    years: (i32, i32),
    cache: BTreeMap<String, Zone>,
    pub problems: Vec<Problem>,
}

impl<'a> Zones<'a> {
    /// `vtimezones`: every VTIMEZONE of the calendar; `from..=to`: the window (custom zones
    /// are expanded for the years around it).
    pub fn new(member: Tz, vtimezones: &[&'a Node], from: NaiveDate, to: NaiveDate) -> Self {
        let vtimezones = vtimezones
            .iter()
            .filter_map(|n| Some((n.value("TZID")?.to_string(), *n)))
            .collect();
        Zones {
            member,
            vtimezones,
            years: (from.year() - 2, to.year() + 2),
            cache: BTreeMap::new(),
            problems: Vec::new(),
        }
    }

    /// The member's zone (for floating times and all-day events).
    pub fn member(&self) -> Zone {
        Zone::Iana(self.member)
    }

    /// The zone `when` is to be read in.
    pub fn zone_of(&mut self, when: &When) -> Zone {
        match when {
            When::Date(_) | When::Floating(_) => self.member(),
            When::Utc(_) => Zone::Iana(Tz::UTC),
            When::Zoned(_, tzid) => self.resolve(tzid),
        }
    }

    /// The instant of `when` (a DATE is its midnight in the member's zone).
    pub fn instant_of(&mut self, when: &When) -> Option<DateTime<Utc>> {
        let zone = self.zone_of(when);
        zone.instant(wall_of(when))
    }

    /// Resolves one TZID (see the module documentation for the order).
    pub fn resolve(&mut self, tzid: &str) -> Zone {
        if let Some(z) = self.cache.get(tzid) {
            return z.clone();
        }
        let zone = self.resolve_uncached(tzid);
        self.cache.insert(tzid.to_string(), zone.clone());
        zone
    }

    fn resolve_uncached(&mut self, tzid: &str) -> Zone {
        let vtz = self.vtimezones.get(tzid).copied();
        let lic = vtz.and_then(|n| n.value("X-LIC-LOCATION"));
        let iana = iana(tzid)
            .or_else(|| lic.and_then(iana))
            .or_else(|| iana_suffix(tzid))
            .or_else(|| windows_to_iana(tzid).and_then(iana));
        if let Some(tz) = iana {
            return Zone::Iana(tz);
        }
        if let Some(custom) = vtz.and_then(|n| custom_zone(n, self.years)) {
            self.problems.push(Problem::ApproximateZone {
                tzid: tzid.to_string(),
            });
            return Zone::Custom(Rc::new(custom));
        }
        self.problems.push(Problem::UnknownZone {
            tzid: tzid.to_string(),
        });
        self.member()
    }
}

/// The wall-clock reading of `when` (a DATE reads as its midnight).
pub(crate) fn wall_of(when: &When) -> NaiveDateTime {
    match when {
        When::Date(d) => d.and_time(chrono::NaiveTime::MIN),
        When::Floating(w) | When::Utc(w) | When::Zoned(w, _) => *w,
    }
}

fn iana(name: &str) -> Option<Tz> {
    let name = name.trim();
    if ["UTC", "GMT", "Z"]
        .iter()
        .any(|u| name.eq_ignore_ascii_case(u))
    {
        return Some(Tz::UTC);
    }
    name.parse::<Tz>().ok()
}

/// `/mozilla.org/20050126_1/Europe/Berlin` → `Europe/Berlin`.
fn iana_suffix(tzid: &str) -> Option<Tz> {
    tzid.match_indices('/')
        .filter_map(|(i, _)| tzid.get(i + 1..))
        .find_map(iana)
}

/// Parses `+0100`, `-0530`, `+013045` into seconds east of UTC.
fn parse_offset(s: &str) -> Option<i32> {
    let s = s.trim();
    let (sign, digits) = match s.get(..1)? {
        "+" => (1, s.get(1..)?),
        "-" => (-1, s.get(1..)?),
        _ => return None,
    };
    let h: i32 = digits.get(..2)?.parse().ok()?;
    let m: i32 = digits.get(2..4)?.parse().ok()?;
    let sec: i32 = digits.get(4..6).map_or(Some(0), |x| x.parse().ok())?;
    (digits.len() == 4 || digits.len() == 6).then_some(sign * (h * 3600 + m * 60 + sec))
}

/// The transitions of a VTIMEZONE's STANDARD / DAYLIGHT parts for `years` (inclusive).
fn custom_zone(vtz: &Node, years: (i32, i32)) -> Option<CustomZone> {
    let (first, last) = years;
    let from = NaiveDate::from_ymd_opt(first, 1, 1)?;
    let stop = NaiveDate::from_ymd_opt(last, 12, 31)?.and_hms_opt(23, 59, 59)?;
    let mut transitions = Vec::new();
    let mut standard = None;
    let mut any = None;
    for part in &vtz.children {
        let (Some(before), Some(after)) = (
            part.value("TZOFFSETFROM").and_then(parse_offset),
            part.value("TZOFFSETTO").and_then(parse_offset),
        ) else {
            continue;
        };
        any = any.or(Some(after));
        if part.name == "STANDARD" {
            standard = standard.or(Some(after));
        }
        let Some(start) = part
            .prop("DTSTART")
            .and_then(parse_when)
            .map(|w| wall_of(&w))
        else {
            continue;
        };
        let mut onsets = vec![start];
        if let Some(rule) = part.value("RRULE") {
            // Yearly rules from 1601 and the like: start near the window to keep expansion short.
            let shifted = if start.year() < first && !rule.to_ascii_uppercase().contains("COUNT=") {
                start.with_year(first).unwrap_or(start)
            } else {
                start
            };
            if let Ok(e) = expand_walls(shifted, rule, &Zone::Iana(Tz::UTC), false, stop, 1_000) {
                onsets.extend(e.walls);
            }
        }
        for rdate in part.props_named("RDATE") {
            onsets.extend(parse_when_list(rdate).0.iter().map(|e| wall_of(&e.start)));
        }
        let from_wall = from.and_time(chrono::NaiveTime::MIN);
        transitions.extend(
            onsets
                .into_iter()
                .filter(|o| *o >= from_wall && *o <= stop)
                .map(|o| (o, before, after)),
        );
    }
    transitions.sort();
    transitions.dedup();
    let initial = transitions.first().map(|t| t.1).or(standard).or(any)?;
    Some(CustomZone {
        transitions,
        initial,
    })
}
