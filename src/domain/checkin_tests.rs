use chrono::{DateTime, NaiveDate, Utc, Weekday};

use super::*;

fn d(s: &str) -> NaiveDate {
    s.parse().expect("a date")
}

fn t(s: &str) -> DateTime<Utc> {
    s.parse().expect("an instant")
}

fn clock(tz: &str) -> MemberClock {
    MemberClock {
        tz: tz.parse().expect("zone"),
        request_at: LocalTime::parse("16:30").expect("time"),
        workdays: Workdays::default(),
    }
}

fn checkin(rhythm: &str, at: Option<&str>, tz: Option<&str>) -> Checkin {
    Checkin {
        id: 2,
        team_id: 1,
        name: "x".into(),
        standup: false,
        questions: vec![Question::parse("What went well?").expect("q")],
        rhythm: Rhythm::parse(rhythm, d("2026-01-05")).expect("rhythm"),
        at: at.map(|a| LocalTime::parse(a).expect("time")),
        tz: tz.map(|z| z.parse().expect("zone")),
        who: Who::All,
        goes_to: GoesTo::Digest,
    }
}

/// Every fire from `from` up to `to`, as (local date, UTC instant).
fn fires(c: &Checkin, m: MemberClock, from: &str, to: &str) -> Vec<(String, String)> {
    let (mut cursor, end) = (t(from), t(to));
    let mut out = Vec::new();
    while let Some((date, at)) = c.next_after(m, cursor) {
        if at > end {
            break;
        }
        out.push((date.to_string(), at.format("%Y-%m-%dT%H:%MZ").to_string()));
        cursor = at;
    }
    out
}

#[test]
fn rhythms_read_and_write_the_same_text() {
    for s in [
        "workdays",
        "days:mon,tue,wed,thu,fri",
        "weekly:fri",
        "weekly:mon:2:2026-01-05",
        "monthly:first-mon",
        "monthly:last-fri",
        "monthly:last-workday",
        "monthly:31",
    ] {
        let r = Rhythm::parse(s, d("2026-12-07")).expect(s);
        assert_eq!(r.to_string(), s);
    }
    // Every N weeks without an anchor counts from this week's Monday.
    let r = Rhythm::parse("weekly:thu:3", d("2026-12-10")).expect("every 3");
    assert_eq!(r.to_string(), "weekly:thu:3:2026-12-07");
    for bad in [
        "daily",
        "days:",
        "weekly:fun",
        "weekly:mon:0",
        "monthly:32",
        "monthly:first-x",
    ] {
        assert!(Rhythm::parse(bad, d("2026-12-07")).is_err(), "{bad}");
    }
}

#[test]
fn questions_carry_their_kind() {
    let q = Question::parse("scale: How was your week?").expect("scale");
    assert_eq!(
        (q.kind, q.text.as_str()),
        (QuestionKind::Scale, "How was your week?")
    );
    let q = Question::parse("Re: the launch, how did it go?").expect("text");
    assert_eq!(q.kind, QuestionKind::Text);
    assert_eq!(q.to_string(), "Re: the launch, how did it go?");
    assert_eq!(
        Question::parse("yes-no: Shipped?").expect("yn").kind,
        QuestionKind::YesNo
    );
    assert!(Question::parse("scale:  ").is_err());
}

#[test]
fn monthly_days_are_the_ones_a_calendar_shows() {
    let any = Workdays::default();
    let first = Rhythm::Monthly(MonthDay::First(Weekday::Mon));
    assert!(first.matches(d("2026-03-02"), any));
    assert!(!first.matches(d("2026-03-09"), any));
    let last = Rhythm::Monthly(MonthDay::LastWorkday);
    // 2026-05-31 is a Sunday: the last workday is Friday the 29th.
    assert!(last.matches(d("2026-05-29"), any));
    assert!(!last.matches(d("2026-05-28"), any));
    // A member working Sunday to Thursday: Sunday the 31st.
    let sun_thu = Workdays::parse("sun,mon,tue,wed,thu").expect("days");
    assert!(last.matches(d("2026-05-31"), sun_thu));
    // Day 31 in a 30-day month is its last day; February's is the 28th.
    let day31 = Rhythm::Monthly(MonthDay::Day(31));
    assert!(day31.matches(d("2026-04-30"), any));
    assert!(day31.matches(d("2026-02-28"), any));
    assert!(!day31.matches(d("2026-03-30"), any));
    let last_fri = Rhythm::Monthly(MonthDay::Last(Weekday::Fri));
    assert!(last_fri.matches(d("2026-12-25"), any));
    assert!(!last_fri.matches(d("2026-12-18"), any));
}

#[test]
fn every_two_weeks_counts_from_its_anchor() {
    let c = checkin("weekly:mon:2:2026-01-05", Some("09:00"), Some("UTC"));
    let got = fires(
        &c,
        clock("UTC"),
        "2026-01-01T00:00:00Z",
        "2026-02-03T00:00:00Z",
    );
    let dates: Vec<&str> = got.iter().map(|(d, _)| d.as_str()).collect();
    assert_eq!(dates, ["2026-01-05", "2026-01-19", "2026-02-02"]);
}

/// The three check-ins across the 2026-03-29 Europe and 2026-03-08 US changes.
#[test]
fn three_checkins_keep_local_time_across_both_dst_changes() {
    let daily = checkin("days:mon,tue,wed,thu,fri", Some("16:30"), None);
    let wins = checkin("weekly:fri", Some("15:00"), None);
    let leads = checkin("monthly:first-mon", Some("10:00"), Some("Europe/Berlin"));

    // New York: 16:30 EST is 21:30Z before 8 March, 16:30 EDT 20:30Z after.
    let ny = clock("America/New_York");
    let got = fires(&daily, ny, "2026-03-05T00:00:00Z", "2026-03-10T00:00:00Z");
    assert_eq!(
        got,
        [
            ("2026-03-05".into(), "2026-03-05T21:30Z".into()),
            ("2026-03-06".into(), "2026-03-06T21:30Z".into()),
            ("2026-03-09".into(), "2026-03-09T20:30Z".into()),
        ]
    );
    let got = fires(&wins, ny, "2026-03-01T00:00:00Z", "2026-03-14T00:00:00Z");
    assert_eq!(
        got,
        [
            ("2026-03-06".into(), "2026-03-06T20:00Z".into()),
            ("2026-03-13".into(), "2026-03-13T19:00Z".into()),
        ]
    );
    // Berlin: 15:00 CET is 14:00Z on 27 March, 15:00 CEST 13:00Z on 3 April.
    let berlin = clock("Europe/Berlin");
    let got = fires(
        &wins,
        berlin,
        "2026-03-25T00:00:00Z",
        "2026-04-04T00:00:00Z",
    );
    assert_eq!(
        got,
        [
            ("2026-03-27".into(), "2026-03-27T14:00Z".into()),
            ("2026-04-03".into(), "2026-04-03T13:00Z".into()),
        ]
    );
    // The leads' monthly question is 10:00 Berlin for a lead anywhere: 09:00Z on 2 March,
    // 08:00Z on 6 April (first Monday), whatever the lead's own zone.
    for m in [ny, berlin, clock("Asia/Tokyo")] {
        let got = fires(&leads, m, "2026-02-15T00:00:00Z", "2026-05-01T00:00:00Z");
        assert_eq!(
            got,
            [
                ("2026-03-02".into(), "2026-03-02T09:00Z".into()),
                ("2026-04-06".into(), "2026-04-06T08:00Z".into()),
            ],
            "{}",
            m.tz
        );
    }
}

#[test]
fn a_time_in_the_gap_fires_after_it_and_a_repeated_time_once() {
    // 02:30 does not exist in New York on 8 March 2026 (a Sunday): it fires at 03:30 EDT.
    let c = checkin("days:sun", Some("02:30"), None);
    let got = fires(
        &c,
        clock("America/New_York"),
        "2026-03-07T00:00:00Z",
        "2026-03-09T00:00:00Z",
    );
    assert_eq!(got, [("2026-03-08".into(), "2026-03-08T07:30Z".into())]);
    // 02:30 occurs twice in Berlin on 25 October 2026: once, at the first (CEST).
    let got = fires(
        &c,
        clock("Europe/Berlin"),
        "2026-10-24T00:00:00Z",
        "2026-10-26T00:00:00Z",
    );
    assert_eq!(got, [("2026-10-25".into(), "2026-10-25T00:30Z".into())]);
}

#[test]
fn the_last_fire_in_a_window_is_found_for_catch_up() {
    let wins = checkin("weekly:fri", Some("15:00"), None);
    let berlin = clock("Europe/Berlin");
    let got = wins.last_fire_in(berlin, t("2026-03-25T00:00:00Z"), t("2026-03-27T18:00:00Z"));
    assert_eq!(got, Some((d("2026-03-27"), t("2026-03-27T14:00:00Z"))));
    assert_eq!(
        wins.last_fire_in(berlin, t("2026-03-27T15:00:00Z"), t("2026-03-28T18:00:00Z")),
        None
    );
}

#[test]
fn audiences_and_destinations_are_read() {
    assert_eq!(Who::parse("Leads").expect("leads"), Who::Leads);
    assert_eq!(
        Who::parse("ana@example.test, BEN@example.test").expect("list"),
        Who::Members(vec!["ana@example.test".into(), "ben@example.test".into()])
    );
    assert!(Who::parse("ana").is_err());
    assert_eq!(GoesTo::parse("log").expect("log"), GoesTo::Log);
    assert!(GoesTo::parse("chat").is_err());
}
