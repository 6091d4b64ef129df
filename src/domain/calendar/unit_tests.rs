//! Tests of the parts of `domain::calendar`: title words, wall-clock rules, the Windows
//! zone table, RRULE expansion.

use super::*;
use chrono::NaiveDateTime;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn dt(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
}

#[test]
fn away_words_match_whole_words_and_phrases() {
    let w = AwayWords::default();
    for yes in [
        "Out-of-Office",
        "OOO: conference",
        "PTO/sick",
        "Urlaub",
        "CONGÉ",
        "Vacaciones en Sevilla",
        "Férias",
        "夏季休暇",
        "有給休暇",
        "Отпуск",
        "Elternzeit (parental leave)",
        "假期",
    ] {
        assert!(w.matches(yes), "{yes}");
    }
    for no in [
        "Pool party",
        "Leaves review",
        "Sommerurlaub",
        "Semesterstart",
        "Office hours",
        "",
        "🎄",
    ] {
        assert!(!w.matches(no), "{no}");
    }
    assert!(!AwayWords::new(Vec::<String>::new()).matches("Vacation"));
}

#[test]
fn gap_and_fold_follow_the_scheduler() {
    let ny = chrono_tz::America::New_York;
    // 02:30 on 2026-03-08 does not exist: read with the offset before the gap = 03:30 EDT.
    let gap = zones::iana_instant(ny, dt("2026-03-08 02:30")).unwrap();
    assert_eq!(gap.to_rfc3339(), "2026-03-08T07:30:00+00:00");
    // 01:30 on 2026-11-01 happens twice: the earlier (EDT) one.
    let fold = zones::iana_instant(ny, dt("2026-11-01 01:30")).unwrap();
    assert_eq!(fold.to_rfc3339(), "2026-11-01T05:30:00+00:00");
    // Pacific/Apia skipped 2011-12-30 entirely.
    assert_eq!(
        zones::iana_instant(chrono_tz::Pacific::Apia, dt("2011-12-30 09:00")),
        None
    );
}

#[test]
fn windows_zone_table_is_sorted_and_complete() {
    use windows_zones::{WINDOWS_ZONES, windows_to_iana};
    assert!(
        WINDOWS_ZONES
            .windows(2)
            .all(|p| p[0].0.to_ascii_lowercase() < p[1].0.to_ascii_lowercase())
    );
    for (win, iana) in WINDOWS_ZONES {
        assert!(iana.parse::<Tz>().is_ok(), "{win} -> {iana}");
    }
    assert_eq!(
        windows_to_iana("W. Europe Standard Time"),
        Some("Europe/Berlin")
    );
    assert_eq!(
        windows_to_iana("pacific standard time"),
        Some("America/Los_Angeles")
    );
    assert_eq!(
        windows_to_iana("India Standard Time"),
        Some("Asia/Calcutta")
    );
    assert_eq!(windows_to_iana("Mars Standard Time"), None);
}

#[test]
fn expand_rrule_dates_basics() {
    let ny = chrono_tz::America::New_York;
    let (from, to) = (d("2026-01-01"), d("2026-12-31"));
    let got = |start: &str, rule: &str, ex: &[&str]| {
        let ex: Vec<NaiveDateTime> = ex.iter().map(|s| dt(s)).collect();
        expand_rrule_dates(dt(start), ny, rule, &ex, from, to).unwrap()
    };
    let first_mondays = got("2026-01-05 09:00", "FREQ=MONTHLY;BYDAY=1MO;COUNT=3", &[]);
    assert_eq!(
        first_mondays,
        vec![d("2026-01-05"), d("2026-02-02"), d("2026-03-02")]
    );
    let last_fridays = got(
        "2026-01-30 09:00",
        "RRULE:FREQ=MONTHLY;BYDAY=-1FR;UNTIL=20260401T000000Z",
        &[],
    );
    assert_eq!(
        last_fridays,
        vec![d("2026-01-30"), d("2026-02-27"), d("2026-03-27")]
    );
    let thirty_firsts = got(
        "2026-01-31 09:00",
        "FREQ=MONTHLY;BYMONTHDAY=31;COUNT=3",
        &[],
    );
    assert_eq!(
        thirty_firsts,
        vec![d("2026-01-31"), d("2026-03-31"), d("2026-05-31")]
    );
    let weekly = got(
        "2026-03-02 16:00",
        "FREQ=WEEKLY;INTERVAL=2;COUNT=3",
        &["2026-03-16 16:00"],
    );
    assert_eq!(weekly, vec![d("2026-03-02"), d("2026-03-30")]);
    // UNTIL in UTC, read in New York: 2026-03-10T01:00Z is 21:00 EDT on the 9th.
    let daily = got("2026-03-08 21:00", "FREQ=DAILY;UNTIL=20260310T010000Z", &[]);
    assert_eq!(daily, vec![d("2026-03-08"), d("2026-03-09")]);
    let yearly = got(
        "2020-02-29 09:00",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1",
        &[],
    );
    assert_eq!(yearly, vec![d("2026-02-28")]);
    assert!(matches!(
        expand_rrule_dates(dt("2026-01-01 09:00"), ny, "FREQ=SOMETIMES", &[], from, to),
        Err(CalendarError::BadRule { .. })
    ));
}

#[test]
fn byday_ordinals_outside_monthly_and_yearly_are_read_as_plain_weekdays() {
    // RFC 5545 forbids `1MO` with DAILY or WEEKLY; dateutil reads it as MO. The `rrule` crate
    // alone gave every day of the week (found against dateutil: tests/it/calendar_rrule_prop.rs).
    let ny = chrono_tz::America::New_York;
    let (from, to) = (d("2026-01-01"), d("2026-12-31"));
    let got = |rule: &str| expand_rrule_dates(dt("2026-01-05 09:00"), ny, rule, &[], from, to);
    let mondays = vec![d("2026-01-05"), d("2026-01-12"), d("2026-01-19")];
    assert_eq!(got("FREQ=WEEKLY;BYDAY=1MO;COUNT=3").unwrap(), mondays);
    assert_eq!(
        got("FREQ=DAILY;BYDAY=-1MO,+2MO,MO;COUNT=3").unwrap(),
        mondays
    );
    assert_eq!(
        got("FREQ=MONTHLY;BYDAY=2MO;COUNT=2").unwrap(),
        vec![d("2026-01-12"), d("2026-02-09")]
    );
}

#[test]
fn tzids_resolve_to_iana_zones() {
    let mut zones = zones::Zones::new(Tz::UTC, &[], d("2026-01-01"), d("2026-12-31"));
    for (tzid, want) in [
        ("Europe/Berlin", "Europe/Berlin"),
        ("/mozilla.org/20050126_1/Europe/Berlin", "Europe/Berlin"),
        (
            "/citadel.org/20190914_1/America/New_York",
            "America/New_York",
        ),
        ("tzone://Microsoft/Utc", "UTC"),
        ("W. Europe Standard Time", "Europe/Berlin"),
        ("India Standard Time", "Asia/Calcutta"),
    ] {
        match zones.resolve(tzid) {
            zones::Zone::Iana(tz) => assert_eq!(tz.name(), want, "{tzid}"),
            zones::Zone::Custom(_) => panic!("{tzid}: custom"),
        }
    }
    assert!(zones.problems.is_empty());
    zones.resolve("Somewhere/Else");
    assert_eq!(zones.problems.len(), 1);
}
