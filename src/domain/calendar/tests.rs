//! Tests of `domain::calendar` against fixtures shaped like real exports
//! (`tests/fixtures/calendars/*.ics`; each names its source in `X-SOURCE`).

use super::*;
use chrono::{Datelike, Weekday};

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/calendars/",
            $name
        ))
        .as_slice()
    };
}

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn t(s: &str) -> NaiveTime {
    NaiveTime::parse_from_str(s, "%H:%M").unwrap()
}

fn dates(list: &[&str]) -> BTreeSet<NaiveDate> {
    list.iter().map(|s| d(s)).collect()
}

fn range(first: &str, last: &str) -> Vec<String> {
    d(first)
        .iter_days()
        .take_while(|x| *x <= d(last))
        .map(|x| x.to_string())
        .collect()
}

/// A member and a window; `run` reads a calendar for them.
struct Member {
    tz: Tz,
    request: NaiveTime,
    digest: NaiveTime,
    words: AwayWords,
    ignore: BTreeSet<String>,
    from: NaiveDate,
    to: NaiveDate,
}

impl Member {
    fn berlin() -> Self {
        Member {
            tz: chrono_tz::Europe::Berlin,
            request: t("09:00"),
            digest: t("17:00"),
            words: AwayWords::default(),
            ignore: BTreeSet::new(),
            from: d("2026-01-01"),
            to: d("2026-12-31"),
        }
    }

    fn run(&self, ics: &[u8], kind: CalendarKind) -> AwayReport {
        let q = AwayQuery {
            tz: self.tz,
            request_at: self.request,
            digest_at: self.digest,
            words: &self.words,
            ignore_uids: &self.ignore,
            from: self.from,
            to: self.to,
        };
        away_days(ics, kind, &q).unwrap()
    }

    fn dates(&self, ics: &[u8], kind: CalendarKind) -> BTreeSet<NaiveDate> {
        let report = self.run(ics, kind);
        assert_eq!(report.problems, vec![], "unexpected problems");
        report.dates()
    }
}

#[test]
fn google_personal_calendar() {
    let m = Member::berlin();
    let mut want: Vec<String> = range("2026-08-03", "2026-08-14");
    want.extend(["2026-03-16", "2026-03-17", "2026-03-18", "2026-04-20"].map(String::from));
    let want: Vec<&str> = want.iter().map(String::as_str).collect();
    assert_eq!(
        m.dates(fixture!("google_personal.ics"), CalendarKind::Personal),
        dates(&want)
    );
    // Transparent "Osterferien (holidays)", cancelled "Vacation Lisbon", the evening
    // "Holiday party" (covers neither 09:00 nor 17:00) and plain meetings do not count.
}

#[test]
fn ignored_uid_drops_every_date_of_that_event() {
    let mut m = Member::berlin();
    m.ignore
        .insert("5lqc0p0ej3c6s6uu0jm1v1l1kb@google.com".to_string());
    let got = m.dates(fixture!("google_personal.ics"), CalendarKind::Personal);
    assert_eq!(
        got,
        dates(&["2026-03-16", "2026-03-17", "2026-03-18", "2026-04-20"])
    );
}

#[test]
fn weekly_ooo_fridays_with_exdate_and_moved_occurrence() {
    let m = Member::berlin();
    let report = m.run(fixture!("ooo_fridays.ics"), CalendarKind::Personal);
    assert_eq!(report.problems, vec![]);
    // Fridays from 9 Jan through 27 Feb; 23 Jan deleted; 6 Feb moved to Thursday 5 Feb.
    let want = [
        "2026-01-09",
        "2026-01-16",
        "2026-01-30",
        "2026-02-05",
        "2026-02-13",
        "2026-02-20",
        "2026-02-27",
    ];
    assert_eq!(report.dates(), dates(&want));
    assert!(report.days.iter().all(|x| x.summary == "OOO Fridays"));
    assert!(
        report
            .days
            .iter()
            .all(|x| x.date.weekday() == Weekday::Fri || x.date == d("2026-02-05"))
    );
}

#[test]
fn outlook_published_calendar() {
    let mut m = Member::berlin();
    m.to = d("2027-01-31");
    let report = m.run(fixture!("outlook_published.ics"), CalendarKind::Personal);
    let mut want: Vec<String> = range("2026-12-21", "2027-01-01");
    want.extend(
        [
            "2026-05-18",
            "2026-05-19",
            "2026-05-20", // OOF, W. Europe Standard Time
            "2026-06-10",
            "2026-06-11", // ALLDAYEVENT written as midnight DATE-TIMEs
            "2026-07-07", // "Customized Time Zone" (Pacific rules): 07:30 PDT = 16:30 CEST
            "2026-09-14", // India Standard Time: 12:00 IST = 08:30 CEST
            "2026-10-05",
            "2026-10-06",
            "2026-10-12",
            "2026-10-13", // parental leave, BYDAY=MO, TU
            "2026-10-19",
            "2026-10-20",
            "2026-10-26",
            "2026-10-27", // all-day UNTIL …T230000Z
            "2026-11-02", // Pacific Standard Time, no VTIMEZONE: 08:00 PST = 17:00 CET
        ]
        .map(String::from),
    );
    let want: Vec<&str> = want.iter().map(String::as_str).collect();
    assert_eq!(report.dates(), dates(&want));
    assert_eq!(
        report.problems,
        vec![Problem::ApproximateZone {
            tzid: "Customized Time Zone".to_string()
        }]
    );
    let christmas = report
        .spans()
        .into_iter()
        .find(|s| s.summary == "Christmas break")
        .unwrap();
    assert_eq!(
        (christmas.first, christmas.last),
        (d("2026-12-21"), d("2027-01-01"))
    );
}

#[test]
fn icloud_calendar() {
    let m = Member::berlin();
    let got = m.dates(fixture!("icloud.ics"), CalendarKind::Personal);
    // Not: the transparent yearly birthday, "Semesterstart" (no whole word), the VTODO.
    let want = [
        "2026-05-26",
        "2026-05-27",
        "2026-05-28",
        "2026-05-29",
        "2026-07-03",
    ];
    assert_eq!(got, dates(&want));
}

#[test]
fn nextcloud_calendar_with_exdates_rdate_and_cancelled_override() {
    let m = Member::berlin();
    let got = m.dates(fixture!("nextcloud.ics"), CalendarKind::Personal);
    let want = [
        "2026-01-05",
        "2026-02-02",
        "2026-04-06",
        "2026-05-04", // 1st Mondays; 2 Mar EXDATE (UTC)
        "2026-01-07",
        "2026-01-14",
        "2026-01-28",
        "2026-02-11",
        "2026-02-18", // Wednesdays, COUNT=10
        "2026-03-04",
        "2026-03-11",
        "2026-03-13", // … minus EXDATEs and cancelled 25 Feb, plus RDATE
        "2026-01-30",
        "2026-03-27",
        "2026-05-29", // last Friday every 2nd month, COUNT=3
        "2026-12-24", // yearly since 2020
    ];
    assert_eq!(got, dates(&want));
}

#[test]
fn google_holiday_calendar_counts_transparent_all_day_events() {
    let m = Member::berlin();
    let report = m.run(
        fixture!("google_holidays_de_2026.ics"),
        CalendarKind::Holidays,
    );
    assert_eq!(report.problems, vec![]);
    assert_eq!(report.days.len(), 21);
    for (date, name) in [
        ("2026-01-06", "Epiphany"),
        ("2026-04-03", "Good Friday"),
        ("2026-06-04", "Corpus Christi"),
        ("2026-08-15", "Assumption Day"),
        ("2026-11-18", "Repentance Day"),
        ("2026-12-24", "Christmas Eve"),
    ] {
        assert!(
            report
                .days
                .iter()
                .any(|x| x.date == d(date) && x.summary == name),
            "{name}"
        );
    }
    // All-day dates are dates: the same for a member on the other side of the world.
    let mut la = Member::berlin();
    la.tz = chrono_tz::America::Los_Angeles;
    assert_eq!(
        la.run(
            fixture!("google_holidays_de_2026.ics"),
            CalendarKind::Holidays
        )
        .dates(),
        report.dates()
    );
    // As a personal calendar nothing counts: every event is transparent.
    assert!(
        m.dates(
            fixture!("google_holidays_de_2026.ics"),
            CalendarKind::Personal
        )
        .is_empty()
    );
}

#[test]
fn holiday_mode_timed_events_count_every_local_date_they_touch() {
    let mut m = Member::berlin();
    m.to = d("2027-01-31");
    let berlin = [
        "2026-06-12",
        "2026-07-10",
        "2026-09-30",
        "2026-12-24",
        "2026-12-31",
        "2027-01-01",
    ];
    assert_eq!(
        m.dates(fixture!("company_closures.ics"), CalendarKind::Holidays),
        dates(&berlin)
    );
    m.tz = chrono_tz::America::New_York;
    let new_york = [
        "2026-06-12",
        "2026-07-10",
        "2026-09-29",
        "2026-09-30",
        "2026-12-24",
        "2026-12-31",
    ];
    assert_eq!(
        m.dates(fixture!("company_closures.ics"), CalendarKind::Holidays),
        dates(&new_york)
    );
}

#[test]
fn dst_new_york_request_and_digest_times() {
    let mut m = Member::berlin();
    m.tz = chrono_tz::America::New_York;
    m.request = t("16:30");
    m.digest = t("08:30");
    let report = m.run(fixture!("dst_new_york.ics"), CalendarKind::Personal);
    assert_eq!(report.problems, vec![]);
    assert_eq!(
        report.dates(),
        dates(&["2026-03-02", "2026-03-09", "2026-03-11", "2026-03-16"])
    );
    let uids_on = |day: &str| -> Vec<&str> {
        report
            .days
            .iter()
            .filter(|x| x.date == d(day))
            .map(|x| x.uid.as_str())
            .collect()
    };
    // 09:00-17:00 EDT on the Monday after the change covers 16:30, not 08:30: counts.
    assert!(uids_on("2026-03-09").contains(&"dst-covers-request@google.com"));
    // 09:00-16:00 covers neither: the Tuesday is not away.
    assert!(uids_on("2026-03-10").is_empty());
    // A weekly 16:00-17:00 stays 16:00 local across the change.
    assert!(uids_on("2026-03-16").contains(&"dst-weekly-school-run@google.com"));
}

#[test]
fn exchange_cdo_custom_zone_and_spaced_byday() {
    let m = Member {
        words: AwayWords::new(["standup"]),
        request: t("10:15"),
        digest: t("18:00"),
        ..Member::berlin()
    };
    let report = m.run(
        fixture!("exchange_cdo_custom_zone.ics"),
        CalendarKind::Personal,
    );
    // Weekdays 6-17 July 10:00-10:30 at +02:00 (read as UTC they would miss 10:15 Berlin).
    let want: Vec<String> = range("2026-07-06", "2026-07-17")
        .into_iter()
        .filter(|x| !matches!(d(x).weekday(), Weekday::Sat | Weekday::Sun))
        .collect();
    let want: Vec<&str> = want.iter().map(String::as_str).collect();
    assert_eq!(report.dates(), dates(&want));
    assert!(report.days.iter().all(|x| x.uid.starts_with("no-uid:")));
    assert_eq!(
        report.problems,
        vec![Problem::ApproximateZone {
            tzid: "GMT +0100 (Standard) / GMT +0200 (Daylight)".to_string()
        }]
    );
}

#[test]
fn exchange_all_day_series_with_utc_until_and_zoned_recurrence_id() {
    let want = [
        "2026-04-10",
        "2026-04-24",
        "2026-05-08",
        "2026-05-21",
        "2026-06-05",
        "2026-06-19",
        "2026-07-03",
        "2026-07-31",
        "2026-08-14",
        "2026-08-28",
        "2026-09-11",
    ];
    // The same dates wherever the member lives: all-day dates are matched as written.
    for tz in [
        chrono_tz::Europe::London,
        chrono_tz::America::Los_Angeles,
        chrono_tz::Asia::Tokyo,
    ] {
        let m = Member {
            tz,
            ..Member::berlin()
        };
        let got = m.dates(
            fixture!("exchange_allday_series.ics"),
            CalendarKind::Personal,
        );
        assert_eq!(got, dates(&want), "{tz}");
    }
}

#[test]
fn messy_calendar_is_read_with_problems_reported() {
    let m = Member::berlin();
    let report = m.run(fixture!("messy.ics"), CalendarKind::Personal);
    let want = [
        "2026-05-04",
        "2026-05-05",
        "2026-05-11",
        "2026-06-08",
        "2026-06-09",
        "2026-06-15",
    ];
    assert_eq!(report.dates(), dates(&want));
    let p = &report.problems;
    assert!(
        matches!(p.first(), Some(Problem::SkippedLines { count: 1, .. })),
        "{p:?}"
    );
    assert!(
        p.iter()
            .any(|x| matches!(x, Problem::BadRule { uid, .. } if uid == "messy-3"))
    );
    assert!(
        p.iter()
            .any(|x| matches!(x, Problem::BadStart { uid, .. } if uid == "messy-4"))
    );
    assert!(p.contains(&Problem::UnknownZone {
        tzid: "Mars/Olympus_Mons".to_string()
    }));
    assert_eq!(p.len(), 4, "{p:?}");
    assert!(
        report
            .days
            .iter()
            .any(|x| x.summary == "Vacation" && x.uid == "messy-2")
    );
}

#[test]
fn transparent_never_counts_in_personal_mode() {
    let m = Member::berlin();
    let ics = b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART;VALUE=DATE:20260302\r\n\
        SUMMARY:Vacation\r\nTRANSP:TRANSPARENT\r\nX-MICROSOFT-CDO-BUSYSTATUS:OOF\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    assert!(m.dates(ics, CalendarKind::Personal).is_empty());
    assert_eq!(m.dates(ics, CalendarKind::Holidays), dates(&["2026-03-02"]));
    // And from the fixtures: the transparent events there never count.
    let outlook = m.run(fixture!("outlook_published.ics"), CalendarKind::Personal);
    assert!(
        !outlook
            .days
            .iter()
            .any(|x| x.summary.starts_with("Urlaub Kollegin"))
    );
}

#[test]
fn cancelled_never_counts() {
    let m = Member::berlin();
    let ics = b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART;VALUE=DATE:20260302\r\n\
        SUMMARY:Vacation\r\nSTATUS:CANCELLED\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    assert!(m.dates(ics, CalendarKind::Personal).is_empty());
    assert!(m.dates(ics, CalendarKind::Holidays).is_empty());
    let closures = m.dates(fixture!("company_closures.ics"), CalendarKind::Holidays);
    assert!(!closures.contains(&d("2026-07-03")));
    let google = m.dates(fixture!("google_personal.ics"), CalendarKind::Personal);
    assert!(!google.contains(&d("2026-09-21")));
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    let q = |ics: &[u8]| {
        let words = AwayWords::default();
        let ignore = BTreeSet::new();
        let q = AwayQuery {
            tz: Tz::UTC,
            request_at: t("09:00"),
            digest_at: t("17:00"),
            words: &words,
            ignore_uids: &ignore,
            from: d("2026-01-01"),
            to: d("2026-12-31"),
        };
        away_days(ics, CalendarKind::Personal, &q)
    };
    assert!(
        matches!(q(fixture!("not_ics.html")), Err(CalendarError::NotIcs { start }) if start.starts_with("<!DOCTYPE"))
    );
    assert_eq!(q(fixture!("empty.ics")), Err(CalendarError::Empty));
    assert_eq!(q(b""), Err(CalendarError::Empty));
    assert!(q(&[0xff, 0xfe, 0x00, 0x42]).is_err());
    // Arbitrary truncations of a real calendar never panic.
    let full = fixture!("outlook_published.ics");
    for cut in (0..full.len()).step_by(97) {
        let _ = q(&full[..cut]);
    }
}

#[test]
fn mutated_fixtures_never_panic() {
    let files: [&[u8]; 10] = [
        fixture!("google_personal.ics"),
        fixture!("ooo_fridays.ics"),
        fixture!("outlook_published.ics"),
        fixture!("icloud.ics"),
        fixture!("nextcloud.ics"),
        fixture!("google_holidays_de_2026.ics"),
        fixture!("company_closures.ics"),
        fixture!("dst_new_york.ics"),
        fixture!("exchange_cdo_custom_zone.ics"),
        fixture!("messy.ics"),
    ];
    let m = Member::berlin();
    let words = AwayWords::default();
    let ignore = BTreeSet::new();
    let q = AwayQuery {
        tz: m.tz,
        request_at: m.request,
        digest_at: m.digest,
        words: &words,
        ignore_uids: &ignore,
        from: m.from,
        to: m.to,
    };
    let junk = b"9:;\n ZT-P,=\"0+W";
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        usize::try_from(seed % (n as u64)).unwrap()
    };
    for file in files {
        for _ in 0..150 {
            let mut bytes = file.to_vec();
            for _ in 0..1 + next(4) {
                let at = next(bytes.len());
                bytes[at] = junk[next(junk.len())];
            }
            for kind in [CalendarKind::Personal, CalendarKind::Holidays] {
                let _ = away_days(&bytes, kind, &q);
            }
        }
    }
}

#[test]
fn expansion_is_bounded() {
    let m = Member::berlin();
    let mut ics = String::from("BEGIN:VCALENDAR\r\n");
    for i in 0..15 {
        ics.push_str(&format!(
            "BEGIN:VEVENT\r\nUID:flood-{i}\r\nDTSTART:19000101T000000Z\r\nDURATION:PT1S\r\n\
             RRULE:FREQ=SECONDLY\r\nSUMMARY:OOO\r\nEND:VEVENT\r\n"
        ));
    }
    ics.push_str("END:VCALENDAR\r\n");
    let report = m.run(ics.as_bytes(), CalendarKind::Personal);
    assert!(report.days.is_empty());
    assert_eq!(report.problems.len(), 15);
    assert!(
        report
            .problems
            .iter()
            .all(|p| matches!(p, Problem::TooManyOccurrences { .. }))
    );
}
