//! Recurrence expansion with the `rrule` crate.
//!
//! RRULEs are expanded on wall-clock time: DTSTART's local reading is handed to `rrule` as
//! if it were UTC, so a weekly 09:00 in Europe/Berlin stays 09:00 across DST changes and no
//! occurrence is lost in a gap; callers turn each wall-clock start into an instant in the
//! event's own zone afterwards. UNTIL is taken out of the rule and converted here: a DATE
//! means "through that day", a UTC DATE-TIME is converted to the event zone's wall clock, a
//! local one is taken as written (the `rrule` crate would read it in the host's zone).
//! Semantics otherwise follow `rrule` (a port of python-dateutil): DTSTART is an occurrence
//! only when it matches the rule.

use std::str::FromStr;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone};
use chrono_tz::Tz;
use rrule::{RRule, Unvalidated};

use super::CalendarError;
use super::ics::{When, parse_when_str};
use super::zones::Zone;

/// Wall-clock starts of a recurrence, up to a stop time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Expansion {
    pub walls: Vec<NaiveDateTime>,
    /// Stopped at the occurrence cap before reaching the stop time.
    pub truncated: bool,
}

/// Expands `rule` (an RRULE value, with or without the `RRULE:` prefix) from wall-clock
/// `dtstart` through wall-clock `stop`, at most `cap` occurrences. `zone` converts a UTC
/// UNTIL; `all_day` is for DATE-valued events. Errors carry a reason for the user.
pub(crate) fn expand_walls(
    dtstart: NaiveDateTime,
    rule: &str,
    zone: &Zone,
    all_day: bool,
    stop: NaiveDateTime,
    cap: usize,
) -> Result<Expansion, String> {
    let (rest, until) = split_until(rule)?;
    let until = match until {
        None => None,
        Some(u) => Some(until_wall(&u, zone, all_day).ok_or_else(|| format!("bad UNTIL {u:?}"))?),
    };
    let empty = Expansion {
        walls: Vec::new(),
        truncated: false,
    };
    if until.is_some_and(|u| u < dtstart) {
        return Ok(empty);
    }
    let mut parsed = RRule::<Unvalidated>::from_str(&rest).map_err(|e| e.to_string())?;
    if let Some(u) = until {
        parsed = parsed.until(rrule::Tz::UTC.from_utc_datetime(&u));
    }
    let set = parsed
        .build(rrule::Tz::UTC.from_utc_datetime(&dtstart))
        .map_err(|e| e.to_string())?
        .limit();
    let mut walls = Vec::new();
    for occ in &set {
        let wall = occ.naive_utc();
        if wall > stop {
            return Ok(Expansion {
                walls,
                truncated: false,
            });
        }
        if walls.len() >= cap {
            return Ok(Expansion {
                walls,
                truncated: true,
            });
        }
        walls.push(wall);
    }
    Ok(Expansion {
        walls,
        truncated: false,
    })
}

/// Cleans an RRULE value (prefix, whitespace as in `BYDAY=MO, TU`, empty parts, case) and
/// splits off its UNTIL. BYDAY ordinals (`1MO`) are dropped unless FREQ is MONTHLY or
/// YEARLY, as dateutil does: RFC 5545 forbids them there, and the `rrule` crate would
/// otherwise ignore such a BYDAY and give every day of the week.
fn split_until(rule: &str) -> Result<(String, Option<String>), String> {
    let rule: String = rule.chars().filter(|c| !c.is_whitespace()).collect();
    let rule = rule.to_ascii_uppercase();
    let rule = rule.strip_prefix("RRULE:").unwrap_or(&rule);
    let ordinals = rule
        .split(';')
        .any(|p| p == "FREQ=MONTHLY" || p == "FREQ=YEARLY");
    let mut until = None;
    let mut kept = Vec::new();
    for part in rule.split(';').filter(|p| !p.is_empty()) {
        if let Some(u) = part.strip_prefix("UNTIL=") {
            until = Some(u.to_string());
        } else if let Some(days) = part.strip_prefix("BYDAY=").filter(|_| !ordinals) {
            let mut plain: Vec<&str> = Vec::new();
            for day in days.split(',') {
                let day =
                    day.trim_start_matches(|c: char| c == '+' || c == '-' || c.is_ascii_digit());
                if !plain.contains(&day) {
                    plain.push(day);
                }
            }
            kept.push(format!("BYDAY={}", plain.join(",")));
        } else {
            kept.push(part.to_string());
        }
    }
    if kept.is_empty() {
        return Err("empty rule".to_string());
    }
    Ok((kept.join(";"), until))
}

/// The last wall-clock time an UNTIL admits.
fn until_wall(u: &str, zone: &Zone, all_day: bool) -> Option<NaiveDateTime> {
    match parse_when_str(u, None, false)? {
        When::Date(d) => d
            .succ_opt()?
            .and_time(NaiveTime::MIN)
            .checked_sub_signed(TimeDelta::seconds(1)),
        When::Utc(w) => {
            if all_day {
                // An all-day series ended with a UTC DATE-TIME (Exchange: the last day's local
                // midnight, `UNTIL=20200916T230000Z` in London): through the date of the
                // nearest midnight, right for producers in UTC-12 … UTC+12.
                let last = (w + TimeDelta::hours(12)).date();
                Some(last.succ_opt()?.and_time(NaiveTime::MIN) - TimeDelta::seconds(1))
            } else {
                Some(zone.wall(w.and_utc()))
            }
        }
        When::Floating(w) | When::Zoned(w, _) => Some(w),
    }
}

/// The local dates (in `tz`, wall-clock) on which `rrule` starts an occurrence from
/// `dtstart_local`, within `from..=to`, sorted and distinct; occurrences whose start equals
/// one of `exdates` are left out. Meant to be checked against python-dateutil's
/// `rrulestr(rule, dtstart=…)` with the same exdates.
pub fn expand_rrule_dates(
    dtstart_local: NaiveDateTime,
    tz: Tz,
    rrule: &str,
    exdates: &[NaiveDateTime],
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<NaiveDate>, CalendarError> {
    let stop = to
        .succ_opt()
        .map(|d| d.and_time(NaiveTime::MIN) - TimeDelta::seconds(1))
        .unwrap_or(NaiveDateTime::MAX);
    let e = expand_walls(
        dtstart_local,
        rrule,
        &Zone::Iana(tz),
        false,
        stop,
        1_000_000,
    )
    .map_err(|reason| CalendarError::BadRule {
        rule: rrule.to_string(),
        reason,
    })?;
    let mut dates: Vec<NaiveDate> = e
        .walls
        .into_iter()
        .filter(|w| !exdates.contains(w))
        .map(|w| w.date())
        .filter(|d| *d >= from && *d <= to)
        .collect();
    dates.dedup();
    Ok(dates)
}
