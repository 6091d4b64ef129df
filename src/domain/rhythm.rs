//! Rhythms: how often a member's digest comes ([`Cadence`]), and which kind of digest a fire
//! sends ([`DigestKind`]): the usual daily one, the weekly summary, or the catch-up after
//! time away. Pure logic; the planner asks [`digest_kind`] for each fire.

use std::fmt;

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

use super::schedule::{SHORT_NAMES, ScheduleError, day_bit, weekday_from_name};
use super::{AwayRange, Schedule, Workdays};

/// How often a member's digest comes. Stored and written as `daily`, `weekly:fri` or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Cadence {
    /// Every workday at the digest time (the default).
    #[default]
    Daily,
    /// Once a week, on this local weekday at the digest time: one summary of the week.
    Weekly(Weekday),
    /// No digest (the team log and feeds still have everything).
    Off,
}

impl Cadence {
    /// Parses `daily`, `off`, `weekly` (Friday), `weekly:mon`, `weekly mon`, `weekly on
    /// Monday`, any case.
    pub fn parse(s: &str) -> Result<Self, ScheduleError> {
        let lower = s.trim().to_ascii_lowercase();
        let words: Vec<&str> = lower
            .split(|c: char| c == ':' || c.is_whitespace())
            .filter(|w| !w.is_empty())
            .collect();
        match words.as_slice() {
            ["daily"] => Ok(Cadence::Daily),
            ["off"] | ["none"] | ["never"] => Ok(Cadence::Off),
            ["weekly"] => Ok(Cadence::Weekly(Weekday::Fri)),
            ["weekly", d] | ["weekly", "on", d] => {
                Ok(Cadence::Weekly(weekday_from_name(d.trim_end_matches('s'))?))
            }
            _ => Err(ScheduleError::BadCadence(s.trim().to_string())),
        }
    }

    /// The local weekdays the digest comes on, given the member's workdays.
    pub fn days(self, workdays: Workdays) -> Workdays {
        match self {
            Cadence::Daily => workdays,
            Cadence::Weekly(d) => Workdays::from_bits(day_bit(d)),
            Cadence::Off => Workdays::from_bits(0),
        }
    }

    /// The weekday of a weekly cadence.
    pub fn weekday(self) -> Option<Weekday> {
        match self {
            Cadence::Weekly(d) => Some(d),
            _ => None,
        }
    }

    /// `daily`, `weekly` or `off`, without the day.
    pub fn name(self) -> &'static str {
        match self {
            Cadence::Daily => "daily",
            Cadence::Weekly(_) => "weekly",
            Cadence::Off => "off",
        }
    }

    /// As a person reads it: "daily", "weekly on Friday", "off".
    pub fn describe(self) -> String {
        match self {
            Cadence::Weekly(d) => format!("weekly on {}", weekday_name(d)),
            other => other.name().to_string(),
        }
    }
}

/// `Monday` … `Sunday`.
pub fn weekday_name(d: Weekday) -> &'static str {
    [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ][d.num_days_from_monday() as usize]
}

impl fmt::Display for Cadence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cadence::Weekly(d) => {
                write!(
                    f,
                    "weekly:{}",
                    SHORT_NAMES[d.num_days_from_monday() as usize]
                )
            }
            other => f.write_str(other.name()),
        }
    }
}

impl std::str::FromStr for Cadence {
    type Err = ScheduleError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Cadence {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cadence {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Cadence::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Which digest a fire sends. A weekly summary and a catch-up are both summaries: per person,
/// the period in a few lines ("Done" lines first), then a link to the team log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DigestKind {
    /// The usual digest: each new update whole.
    #[default]
    Daily,
    /// The weekly summary of the local dates `from` to the digest's date.
    Weekly { from: NaiveDate },
    /// The first digest after time away: the absence, from `from` (its first day).
    CatchUp { from: NaiveDate },
}

impl DigestKind {
    /// The first local date a summary covers; `None` for a daily digest.
    pub fn from(self) -> Option<NaiveDate> {
        match self {
            DigestKind::Daily => None,
            DigestKind::Weekly { from } | DigestKind::CatchUp { from } => Some(from),
        }
    }
}

/// The longest absence a catch-up covers (older updates are in the team log).
pub const CATCH_UP_DAYS: u64 = 62;

/// The digest that the fire of `schedule` for local date `date` sends to a reader with
/// `cadence` and time away `away`:
///
/// * a catch-up when the reader was away on the digest's previous fire date (so that digest
///   was not sent): it covers the absence from its first day (at most [`CATCH_UP_DAYS`]);
/// * else a weekly summary for a weekly cadence, from the same weekday a week before (the
///   update written after last week's digest is in this one);
/// * else the daily digest.
pub fn digest_kind(
    cadence: Cadence,
    schedule: &Schedule,
    away: &[AwayRange],
    date: NaiveDate,
) -> DigestKind {
    let earliest = date.checked_sub_days(Days::new(CATCH_UP_DAYS));
    if let Some(prev) = previous_fire_date(schedule, date)
        && let Some(r) = away.iter().find(|a| a.contains(prev))
    {
        let from = match earliest {
            Some(e) => r.from.max(e),
            None => r.from,
        };
        return DigestKind::CatchUp { from };
    }
    match cadence {
        Cadence::Weekly(_) => DigestKind::Weekly {
            from: date.checked_sub_days(Days::new(7)).unwrap_or(date),
        },
        _ => DigestKind::Daily,
    }
}

/// The latest local date before `date` on which `schedule` fires (its days, and a date that
/// exists in its zone), looking back at most [`CATCH_UP_DAYS`].
fn previous_fire_date(schedule: &Schedule, date: NaiveDate) -> Option<NaiveDate> {
    let mut d = date;
    for _ in 0..CATCH_UP_DAYS {
        d = d.pred_opt()?;
        if schedule.days.contains(d.weekday()) && schedule.instant_on(d).is_some() {
            return Some(d);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::LocalTime;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn sched(days: Workdays) -> Schedule {
        Schedule {
            tz: chrono_tz::Europe::Berlin,
            at: LocalTime::parse("08:30").unwrap(),
            days,
        }
    }

    #[test]
    fn cadences_parse_and_print() {
        assert_eq!(Cadence::parse("daily"), Ok(Cadence::Daily));
        assert_eq!(Cadence::parse(" OFF "), Ok(Cadence::Off));
        assert_eq!(Cadence::parse("weekly"), Ok(Cadence::Weekly(Weekday::Fri)));
        assert_eq!(
            Cadence::parse("weekly:mon"),
            Ok(Cadence::Weekly(Weekday::Mon))
        );
        assert_eq!(
            Cadence::parse("Weekly on Mondays"),
            Ok(Cadence::Weekly(Weekday::Mon))
        );
        assert_eq!(
            Cadence::parse("weekly sun"),
            Ok(Cadence::Weekly(Weekday::Sun))
        );
        assert!(matches!(
            Cadence::parse("monthly"),
            Err(ScheduleError::BadCadence(_))
        ));
        assert!(matches!(
            Cadence::parse("weekly:funday"),
            Err(ScheduleError::BadWeekday(_))
        ));
        for c in [Cadence::Daily, Cadence::Off, Cadence::Weekly(Weekday::Tue)] {
            assert_eq!(Cadence::parse(&c.to_string()), Ok(c));
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(serde_json::from_str::<Cadence>(&json).unwrap(), c);
        }
        assert_eq!(Cadence::Weekly(Weekday::Fri).to_string(), "weekly:fri");
        assert_eq!(Cadence::Weekly(Weekday::Fri).describe(), "weekly on Friday");
    }

    #[test]
    fn a_cadence_chooses_the_digest_days() {
        let wd = Workdays::default();
        assert_eq!(Cadence::Daily.days(wd), wd);
        assert_eq!(
            Cadence::Weekly(Weekday::Sun).days(wd),
            Workdays::parse("sun").unwrap()
        );
        assert!(Cadence::Off.days(wd).is_empty());
    }

    #[test]
    fn the_kind_of_a_digest() {
        let daily = sched(Workdays::default());
        let away = vec![AwayRange {
            from: d("2026-11-23"),
            to: d("2026-11-27"),
        }];
        // Monday 30 Nov: the previous fire (Fri 27) was a day away: a catch-up from the 23rd.
        assert_eq!(
            digest_kind(Cadence::Daily, &daily, &away, d("2026-11-30")),
            DigestKind::CatchUp {
                from: d("2026-11-23")
            }
        );
        // Tuesday: Monday's digest went out, so a daily one again.
        assert_eq!(
            digest_kind(Cadence::Daily, &daily, &away, d("2026-12-01")),
            DigestKind::Daily
        );
        // Away over a weekend only: no digest was missed.
        let weekend = vec![AwayRange {
            from: d("2026-11-28"),
            to: d("2026-11-29"),
        }];
        assert_eq!(
            digest_kind(Cadence::Daily, &daily, &weekend, d("2026-11-30")),
            DigestKind::Daily
        );
        // Weekly on Friday: from the Friday before.
        let weekly = sched(Cadence::Weekly(Weekday::Fri).days(Workdays::default()));
        assert_eq!(
            digest_kind(Cadence::Weekly(Weekday::Fri), &weekly, &[], d("2026-12-04")),
            DigestKind::Weekly {
                from: d("2026-11-27")
            }
        );
        // Weekly, and away on the last weekly fire: a catch-up over the absence.
        assert_eq!(
            digest_kind(
                Cadence::Weekly(Weekday::Fri),
                &weekly,
                &away,
                d("2026-12-04")
            ),
            DigestKind::CatchUp {
                from: d("2026-11-23")
            }
        );
        // A long absence is covered for CATCH_UP_DAYS at most.
        let long = vec![AwayRange {
            from: d("2026-01-01"),
            to: d("2026-11-27"),
        }];
        assert_eq!(
            digest_kind(Cadence::Daily, &daily, &long, d("2026-11-30")),
            DigestKind::CatchUp {
                from: d("2026-09-29")
            }
        );
    }
}
