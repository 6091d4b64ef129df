//! `expand_rrule_dates` against python-dateutil (`rrulestr`, the reference the `rrule` crate
//! ports), on generated recurring events: DTSTART a local date-time in 2025–2027 at any
//! hour and minute, in Europe/Berlin, America/New_York, Asia/Kolkata, Australia/Sydney or UTC;
//! FREQ DAILY/WEEKLY/MONTHLY/YEARLY with an optional INTERVAL 1–4, COUNT 1–30 or UNTIL (local,
//! or UTC `Z`, often exactly on an occurrence), BYDAY (1–3 weekdays, all plain or all with an
//! ordinal 1–5, -1, -2: 1MO, -1FR; within the month for MONTHLY and YEARLY with BYMONTH, as in
//! Thanksgiving's BYMONTH=11;BYDAY=4TH, within the year for YEARLY without, and with DAILY and
//! WEEKLY, where RFC 5545 forbids them, read as plain weekdays), BYMONTHDAY (1–28, 31, -1),
//! BYMONTH; up to three EXDATEs taken from the first occurrences (some a minute off, which
//! must exclude nothing); a window within 2025-01-01..2028-12-31, near DTSTART. The local
//! dates must be the same, exactly.
//!
//! UNTIL as `recur.rs` reads it: a local DATE-TIME as written, a UTC one converted to the
//! event zone's wall clock. dateutil refuses a UTC UNTIL with a naive DTSTART, so the checker
//! converts it itself (`zoneinfo`, the system's tz database, not chrono-tz) and passes dateutil
//! a local UNTIL.
//!
//! Not generated, because the two differ or agree on something wrong:
//! * a BYDAY mixing ordinal and plain days (`2MO,TH`): dateutil and the `rrule` crate both give
//!   no occurrence at all (they apply the two as filters one after the other); RFC 5545 means
//!   the second Monday and every Thursday;
//! * `-5MO` with MONTHLY: the `rrule` crate refuses it (it allows -4..=5), dateutil does not;
//! * BYMONTHDAY with WEEKLY (RFC 5545 forbids it): the `rrule` crate refuses the rule,
//!   dateutil filters by it;
//! * a DATE UNTIL with a DATE-TIME DTSTART (not RFC 5545): we read "through that day",
//!   dateutil reads that day's midnight.
//!
//! All cases go through one Python process (the rig's venv, `scripts/rig install`; JSON lines
//! in, JSON lines out), so proptest cannot shrink: the values come from proptest's
//! deterministic runner (the same cases on every run), and a mismatch prints each failing case
//! whole (DTSTART, zone, RRULE, EXDATEs, window, both answers) instead of a shrunk one.
//! `RRULE_PROP_CASES=5000` runs more cases (the default is 200).

use std::io::Write;
use std::process::{Command, Stdio};

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone};
use chrono_tz::Tz;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::{Value, json};
use tidings::domain::calendar::expand_rrule_dates;

const PY: &str = "/var/cache/tidings-rig/py/bin/python";

const ZONES: [Tz; 5] = [
    chrono_tz::Europe::Berlin,
    chrono_tz::America::New_York,
    chrono_tz::Asia::Kolkata,
    chrono_tz::Australia::Sydney,
    chrono_tz::UTC,
];

const FREQS: [&str; 4] = ["DAILY", "WEEKLY", "MONTHLY", "YEARLY"];
const WEEKDAYS: [&str; 7] = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];
const ORDINALS: [i8; 7] = [1, 2, 3, 4, 5, -1, -2];

/// The checker: one JSON case a line in, one JSON answer a line out.
const CHECKER: &str = r#"
import datetime, json, sys
from zoneinfo import ZoneInfo
from dateutil.rrule import rrulestr, rruleset

# dateutil looks for the next occurrence period by period up to datetime.MAXYEAR, so a rule
# that never matches again (BYMONTH=4;BYMONTHDAY=31) scans 8,000 years of days. Nothing after
# the window (2028) matters here: stop the scan after 2100.
datetime.MAXYEAR = 2100

def until_local(value, tz):
    if not value.endswith('Z'):
        return value
    u = datetime.datetime.strptime(value, '%Y%m%dT%H%M%SZ').replace(tzinfo=datetime.timezone.utc)
    return u.astimezone(ZoneInfo(tz)).replace(tzinfo=None).strftime('%Y%m%dT%H%M%S')

for line in sys.stdin:
    c = json.loads(line)
    try:
        parts = []
        for part in c['rrule'].split(';'):
            k, _, v = part.partition('=')
            parts.append(k + '=' + (until_local(v, c['tz']) if k == 'UNTIL' else v))
        rs = rruleset()
        rs.rrule(rrulestr(';'.join(parts), dtstart=datetime.datetime.fromisoformat(c['dtstart'])))
        for e in c['exdates']:
            rs.exdate(datetime.datetime.fromisoformat(e))
        lo = datetime.datetime.fromisoformat(c['from'])
        hi = datetime.datetime.fromisoformat(c['to']) + datetime.timedelta(days=1)
        dates = []
        for occ in rs:
            if occ >= hi:
                break
            d = occ.date().isoformat()
            if occ >= lo and (not dates or dates[-1] != d):
                dates.append(d)
        out = {'dates': dates}
    except Exception as e:
        out = {'error': type(e).__name__ + ': ' + str(e)}
    print(json.dumps(out))
"#;

/// How a generated rule ends.
#[derive(Debug, Clone)]
enum End {
    Never,
    Count(u32),
    /// UNTIL `days` after DTSTART's date, at DTSTART's time (on an occurrence when that day
    /// has one) moved by `minutes`; written in UTC when `utc`.
    Until {
        days: i64,
        minutes: i64,
        utc: bool,
    },
}

/// The raw choices of one case; [`build`] turns them into a [`Case`].
#[derive(Debug, Clone)]
struct Spec {
    start_day: i64,
    hour: u32,
    minute: u32,
    zone: usize,
    freq: usize,
    interval: Option<u32>,
    end: End,
    /// (weekday, ordinal): all with an ordinal or all without.
    byday: Option<Vec<(usize, Option<i8>)>>,
    bymonthday: Option<Vec<i32>>,
    bymonth: Option<Vec<u32>>,
    /// (which of the first occurrences, a minute off)
    exdates: Vec<(usize, bool)>,
    /// The window: its first day's distance from DTSTART's date, and its length in days
    /// (both cut to 2025-01-01..2028-12-31).
    window: (i64, i64),
}

#[derive(Debug, Clone)]
struct Case {
    dtstart: NaiveDateTime,
    tz: Tz,
    rrule: String,
    exdates: Vec<NaiveDateTime>,
    from: NaiveDate,
    to: NaiveDate,
}

fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 1, 1).unwrap()
}

fn last_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2028, 12, 31).unwrap()
}

fn spec() -> impl Strategy<Value = Spec> {
    let end = prop_oneof![
        1 => Just(End::Never),
        1 => (1u32..=30).prop_map(End::Count),
        2 => (-20i64..900, prop_oneof![3 => Just(0i64), 1 => -90i64..90], any::<bool>())
            .prop_map(|(days, minutes, utc)| End::Until { days, minutes, utc }),
    ];
    let byday = prop::option::weighted(
        0.5,
        (
            prop::collection::btree_set(0usize..7, 1..=3),
            prop::option::weighted(0.6, prop::collection::vec(0usize..ORDINALS.len(), 3)),
        )
            .prop_map(|(days, ords)| {
                days.into_iter()
                    .enumerate()
                    .map(|(i, day)| (day, ords.as_ref().map(|o| ORDINALS[o[i]])))
                    .collect::<Vec<_>>()
            }),
    );
    let monthday = prop_oneof![8 => 1i32..=28, 1 => Just(31i32), 1 => Just(-1i32)];
    let bymonthday = prop::option::weighted(
        0.3,
        prop::collection::btree_set(monthday, 1..=2).prop_map(|s| s.into_iter().collect()),
    );
    let bymonth = prop::option::weighted(
        0.3,
        prop::collection::btree_set(1u32..=12, 1..=3).prop_map(|s| s.into_iter().collect()),
    );
    let exdates = prop::collection::vec((0usize..8, prop::bool::weighted(0.2)), 0..=3);
    let window = (-120i64..400, 0i64..800);
    (
        (0i64..1095, 0u32..24, 0u32..60, 0..ZONES.len()),
        (
            0..FREQS.len(),
            prop::option::of(1u32..=4),
            end,
            byday,
            bymonthday,
            bymonth,
        ),
        exdates,
        window,
    )
        .prop_map(
            |(
                (start_day, hour, minute, zone),
                (freq, interval, end, byday, bymonthday, bymonth),
                exdates,
                window,
            )| Spec {
                start_day,
                hour,
                minute,
                zone,
                freq,
                interval,
                end,
                byday,
                bymonthday,
                bymonth,
                exdates,
                window,
            },
        )
}

fn build(s: &Spec) -> Case {
    let tz = ZONES[s.zone];
    let time = NaiveTime::from_hms_opt(s.hour, s.minute, 0).unwrap();
    let dtstart = (first_day() + TimeDelta::days(s.start_day)).and_time(time);
    let freq = FREQS[s.freq];
    let mut parts = vec![format!("FREQ={freq}")];
    if let Some(n) = s.interval {
        parts.push(format!("INTERVAL={n}"));
    }
    if let Some(months) = &s.bymonth {
        let m: Vec<String> = months.iter().map(u32::to_string).collect();
        parts.push(format!("BYMONTH={}", m.join(",")));
    }
    // Not BYMONTHDAY with WEEKLY (see the header).
    if let Some(days) = s.bymonthday.as_ref().filter(|_| freq != "WEEKLY") {
        let d: Vec<String> = days.iter().map(i32::to_string).collect();
        parts.push(format!("BYMONTHDAY={}", d.join(",")));
    }
    if let Some(days) = &s.byday {
        let d: Vec<String> = days
            .iter()
            .map(|(day, ord)| match ord {
                Some(n) => format!("{n}{}", WEEKDAYS[*day]),
                None => WEEKDAYS[*day].to_string(),
            })
            .collect();
        parts.push(format!("BYDAY={}", d.join(",")));
    }
    match s.end {
        End::Never => {}
        End::Count(n) => parts.push(format!("COUNT={n}")),
        End::Until { days, minutes, utc } => {
            let wall = dtstart + TimeDelta::days(days) + TimeDelta::minutes(minutes);
            let until = if utc {
                // A wall time in a spring-forward gap has no instant; an hour later has.
                let instant = tz
                    .from_local_datetime(&wall)
                    .earliest()
                    .or_else(|| {
                        tz.from_local_datetime(&(wall + TimeDelta::hours(1)))
                            .earliest()
                    })
                    .unwrap();
                instant.naive_utc().format("%Y%m%dT%H%M%SZ").to_string()
            } else {
                wall.format("%Y%m%dT%H%M%S").to_string()
            };
            // Right after FREQ, not last: UNTIL is taken out of the rule wherever it stands.
            parts.insert(1, format!("UNTIL={until}"));
        }
    }
    let rrule = parts.join(";");
    // EXDATEs among the first occurrences (as we expand them; both sides get the same values).
    let series = match s.exdates.is_empty() {
        true => Vec::new(),
        false => expand_rrule_dates(dtstart, tz, &rrule, &[], dtstart.date(), last_day())
            .unwrap_or_default(),
    };
    let mut exdates: Vec<NaiveDateTime> = Vec::new();
    for &(i, off) in &s.exdates {
        if let Some(day) = series.get(i.min(series.len().saturating_sub(1))) {
            let mut e = day.and_time(time);
            if off {
                e += TimeDelta::minutes(1);
            }
            if !exdates.contains(&e) {
                exdates.push(e);
            }
        }
    }
    let from = (dtstart.date() + TimeDelta::days(s.window.0)).clamp(first_day(), last_day());
    let to = (from + TimeDelta::days(s.window.1)).min(last_day());
    Case {
        dtstart,
        tz,
        rrule,
        exdates,
        from,
        to,
    }
}

fn iso(t: &NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// dateutil's answers, one per case, from one Python process.
fn dateutil(cases: &[Case]) -> Vec<Result<Vec<String>, String>> {
    assert!(
        std::path::Path::new(PY).exists(),
        "{PY} is missing: run scripts/test as root (scripts/rig install makes the venv \
         with python-dateutil)"
    );
    let input: String = cases
        .iter()
        .map(|c| {
            let exdates: Vec<String> = c.exdates.iter().map(iso).collect();
            json!({
                "dtstart": iso(&c.dtstart),
                "tz": c.tz.name(),
                "rrule": c.rrule,
                "exdates": exdates,
                "from": c.from.to_string(),
                "to": c.to.to_string(),
            })
            .to_string()
                + "\n"
        })
        .collect();
    let mut child = Command::new(PY)
        .args(["-c", CHECKER])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{PY}: {e}: run scripts/test as root"));
    // Written from a thread: the answers may fill the stdout pipe before the input is all in.
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the dateutil checker failed ({}); if python-dateutil is missing from the rig's venv, \
         run scripts/test as root (scripts/rig install adds it):\n{stderr}",
        out.status
    );
    writer.join().unwrap().unwrap();
    let answers: Vec<Result<Vec<String>, String>> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            match v["dates"].as_array() {
                Some(d) => Ok(d.iter().map(|d| d.as_str().unwrap().to_string()).collect()),
                None => Err(v["error"].as_str().unwrap_or("?").to_string()),
            }
        })
        .collect();
    assert_eq!(answers.len(), cases.len(), "one answer per case\n{stderr}");
    answers
}

#[test]
fn rrule_expansion_matches_python_dateutil() {
    let n: usize = std::env::var("RRULE_PROP_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let mut runner = TestRunner::deterministic();
    let strategy = spec();
    let cases: Vec<Case> = (0..n)
        .map(|_| build(&strategy.new_tree(&mut runner).unwrap().current()))
        .collect();
    let theirs = dateutil(&cases);
    let mut failures = Vec::new();
    let mut nonempty = 0;
    for (i, (c, want)) in cases.iter().zip(&theirs).enumerate() {
        let ours = expand_rrule_dates(c.dtstart, c.tz, &c.rrule, &c.exdates, c.from, c.to)
            .map(|d| d.iter().map(NaiveDate::to_string).collect::<Vec<_>>())
            .map_err(|e| e.to_string());
        if ours.as_ref().is_ok_and(|d| !d.is_empty()) {
            nonempty += 1;
        }
        if ours.is_err() || want.is_err() || &ours != want {
            failures.push(format!(
                "case {i}: DTSTART {} ({}), RRULE:{}, EXDATE {:?}, window {}..={}\n  \
                 dateutil: {want:?}\n  ours:     {ours:?}",
                iso(&c.dtstart),
                c.tz.name(),
                c.rrule,
                c.exdates.iter().map(iso).collect::<Vec<_>>(),
                c.from,
                c.to,
            ));
        }
    }
    eprintln!("{n} cases, {nonempty} with dates in their window");
    assert!(
        failures.is_empty(),
        "{} of {n} cases differ from python-dateutil (the first 10):\n{}",
        failures.len(),
        failures[..failures.len().min(10)].join("\n")
    );
    // The generator is worth something only if most cases have dates to compare.
    assert!(nonempty * 2 > n, "only {nonempty} of {n} cases had dates");
}
