//! Time off read from the calendars people keep (#34), against a real CalDAV server
//! (Radicale on 127.0.0.1, events PUT through CalDAV, Tidings reading the collection's ICS
//! export): an all-day vacation, a weekly "OOO Fridays" with one exception, a multi-day trip
//! written with a Windows zone name; the requests follow it across the 2026-03-08 US DST
//! change; an event moved in Radicale moves the days at the next refresh; a failing read
//! keeps the last good copy; a team's holiday calendar gives every member the day off.

use chrono::{Duration, NaiveDate};
use tidings::store::calendars::CalendarKind;

use crate::helpers::*;
use crate::support::radicale::Radicale;

const USER: &str = "ann";
const CAL: &str = "work";

fn d(s: &str) -> NaiveDate {
    s.parse().expect("a date")
}

/// US Eastern time as a VTIMEZONE block named `tzid` (Google writes the IANA name, Outlook
/// "Eastern Standard Time"); a CalDAV server wants one for every TZID it is given.
fn eastern(tzid: &str) -> String {
    format!(
        "BEGIN:VTIMEZONE\r\nTZID:{tzid}\r\nBEGIN:STANDARD\r\nDTSTART:16011104T020000\r\nRRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11\r\nTZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\nEND:STANDARD\r\nBEGIN:DAYLIGHT\r\nDTSTART:16010311T020000\r\nRRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n"
    )
}

/// One event in a calendar, with the VTIMEZONE its TZID needs (`zone`: none for dates).
fn vevent_in(zone: Option<&str>, uid: &str, lines: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Tidings tests//EN\r\n{}BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260301T000000Z\r\n{lines}END:VEVENT\r\nEND:VCALENDAR\r\n",
        zone.map(eastern).unwrap_or_default()
    )
}

fn vevent(uid: &str, lines: &str) -> String {
    vevent_in(None, uid, lines)
}

async fn app_with_fetch(db: Db) -> TestApp {
    TestApp::with(db, |c| {
        c.fetch.allow_private = true;
        c.fetch.allow_http = true;
    })
    .await
}

/// The request dates Ann got, as local dates in New York.
fn requests_to(app: &TestApp, who: i64) -> Vec<String> {
    let mut v: Vec<String> = app
        .sent_of(&format!("request_{who}_"))
        .into_iter()
        .map(|n| {
            n.trim_start_matches(&format!("request_{who}_"))
                .trim_end_matches(".tidings.eml")
                .to_string()
        })
        .collect();
    v.sort();
    v
}

/// Ticks every half hour from `from` to `to` (UTC), as `serve` would, reading calendars first
/// as `run-due` does.
async fn walk(app: &TestApp, from: &str, to: &str) {
    let (mut now, end) = (at(from), at(to));
    while now <= end {
        tidings::jobs::calendars::run(&app.ctx, now)
            .await
            .expect("calendars");
        app.tick(now).await;
        now += Duration::minutes(30);
    }
}

async fn calendar_time_off_is_time_away(db: Db) {
    let cal = Radicale::start();
    cal.create_calendar(USER, CAL).await;
    // Monday 9 March: a day of vacation (all-day, DTEND exclusive).
    cal.put_event(
        USER,
        CAL,
        "vac-1",
        &vevent(
            "vac-1",
            "SUMMARY:Vacation\r\nDTSTART;VALUE=DATE:20260310\r\nDTEND;VALUE=DATE:20260311\r\n",
        ),
    )
    .await;
    // Out of office every Friday 09:00–17:00 New York time, except 13 March.
    cal.put_event(USER, CAL, "ooo-fri", &vevent_in(
        Some("America/New_York"),
        "ooo-fri",
        "SUMMARY:OOO Fridays\r\nDTSTART;TZID=America/New_York:20260306T090000\r\nDTEND;TZID=America/New_York:20260306T170000\r\nRRULE:FREQ=WEEKLY;BYDAY=FR\r\nEXDATE;TZID=America/New_York:20260313T090000\r\n",
    ))
    .await;
    // A trip, written as Outlook writes zones, marked out of office.
    cal.put_event(USER, CAL, "trip", &vevent_in(
        Some("Eastern Standard Time"),
        "trip",
        "SUMMARY:Customer visit\r\nX-MICROSOFT-CDO-BUSYSTATUS:OOF\r\nDTSTART;TZID=Eastern Standard Time:20260317T070000\r\nDTEND;TZID=Eastern Standard Time:20260318T200000\r\n",
    ))
    .await;
    // A free (transparent) "holiday party" never counts.
    cal.put_event(USER, CAL, "party", &vevent(
        "party",
        "SUMMARY:Holiday party\r\nTRANSP:TRANSPARENT\r\nDTSTART;VALUE=DATE:20260311\r\nDTEND;VALUE=DATE:20260312\r\n",
    ))
    .await;

    let app = app_with_fetch(db).await;
    let ann = app
        .member("ann@example.test", "Ann Avery", "America/New_York")
        .await;
    let url = cal.export_url(USER, CAL);
    assert!(
        app.ctx
            .store
            .add_member_calendar(ann, &url, CalendarKind::Personal)
            .await
            .expect("calendar added")
    );
    // Read once, before the week starts (Sunday 8 March, after the change to EDT).
    let r = tidings::jobs::calendars::run(&app.ctx, at("2026-03-08T12:00:00Z"))
        .await
        .expect("calendars");
    assert_eq!(
        (r.read, r.failed, r.computed, r.changed),
        (1, 0, 1, 1),
        "{r:?}"
    );
    let away: Vec<String> = app
        .ctx
        .store
        .calendar_days(ann)
        .await
        .expect("days")
        .into_iter()
        .filter(|x| x.day <= d("2026-03-20"))
        .map(|x| format!("{} {}", x.day, x.summary))
        .collect();
    assert_eq!(
        away,
        [
            "2026-03-06 OOO Fridays",
            "2026-03-10 Vacation",
            "2026-03-17 Customer visit",
            "2026-03-18 Customer visit",
            "2026-03-20 OOO Fridays",
        ]
    );
    // Ann's requests at 16:30 New York (20:30 UTC in EDT): none on the 10th, one on Friday
    // the 13th (the exception), none on the 17th, 18th and 20th.
    walk(&app, "2026-03-09T00:00:00Z", "2026-03-21T03:00:00Z").await;
    assert_eq!(
        requests_to(&app, ann),
        [
            "2026-03-09",
            "2026-03-11",
            "2026-03-12",
            "2026-03-13",
            "2026-03-16",
            "2026-03-19"
        ]
    );
    // Replaying the instants sends nothing more.
    walk(&app, "2026-03-19T20:00:00Z", "2026-03-19T21:00:00Z").await;
    assert_eq!(requests_to(&app, ann).len(), 6);

    // The vacation moves to Tuesday the 24th in Radicale: read at the next refresh, not
    // before (each address at most once per fetch.refresh_minutes).
    cal.put_event(
        USER,
        CAL,
        "vac-1",
        &vevent(
            "vac-1",
            "SUMMARY:Vacation\r\nDTSTART;VALUE=DATE:20260324\r\nDTEND;VALUE=DATE:20260325\r\n",
        ),
    )
    .await;
    let soon = at("2026-03-21T03:10:00Z");
    let r = tidings::jobs::calendars::run(&app.ctx, soon)
        .await
        .expect("calendars");
    assert_eq!(
        r.read + r.unchanged + r.failed,
        0,
        "read again within the hour: {r:?}"
    );
    let later = soon + Duration::minutes(61);
    let r = tidings::jobs::calendars::run(&app.ctx, later)
        .await
        .expect("calendars");
    assert_eq!((r.read, r.changed), (1, 1), "{r:?}");
    let m = app
        .ctx
        .store
        .member_by_id(ann)
        .await
        .expect("read")
        .expect("Ann");
    assert!(m.is_away_on(d("2026-03-24")) && !m.is_away_on(d("2026-03-10")));

    // The calendar goes away on the server: the read fails, the last good copy stays, and
    // the member's calendars say why (never the address).
    cal.delete_event(USER, CAL, "vac-1").await;
    drop(cal);
    let r = tidings::jobs::calendars::run(&app.ctx, later + Duration::minutes(61))
        .await
        .expect("calendars");
    assert_eq!(r.failed, 1, "{r:?}");
    let m = app
        .ctx
        .store
        .member_by_id(ann)
        .await
        .expect("read")
        .expect("Ann");
    assert!(
        m.is_away_on(d("2026-03-24")),
        "the last good copy still counts"
    );
    let links = app.ctx.store.member_calendars(ann).await.expect("links");
    assert_eq!(links.len(), 1);
    let error = links[0].error.clone().unwrap_or_default();
    assert!(error.starts_with("cannot connect to 127.0.0.1"), "{error}");
    assert!(!error.contains("/ann/work"), "{error}");
    assert!(links[0].failing_since.is_some());
    assert!(!links[0].shown.contains("/ann/work"), "{}", links[0].shown);
    // Counted for monitoring.
    let srv = crate::web::Server::start(&app, |_| {}).await;
    // On the admin page, as its host and last characters, since when and why.
    let admin = srv
        .http
        .get(srv.url("/"))
        .header("authorization", format!("Bearer {}", crate::web::ADMIN))
        .send()
        .await
        .expect("admin page")
        .text()
        .await
        .unwrap_or_default();
    assert!(
        admin.contains("<table id=\"calendars-failing\">")
            && admin.contains("<code>127.0.0.1 …work</code>")
            && admin.contains("cannot connect to 127.0.0.1"),
        "{admin}"
    );
    assert!(!admin.contains("/ann/work"), "{admin}");
    let metrics = srv.get_text("/metrics").await;
    assert!(
        metrics.contains("tidings_calendars{state=\"failing\"} 1")
            && metrics.contains("tidings_calendars{state=\"ok\"} 0"),
        "{metrics}"
    );
}

#[tokio::test]
async fn calendar_time_off_is_time_away_on_sqlite() {
    calendar_time_off_is_time_away(Db::Sqlite).await;
}

#[tokio::test]
async fn calendar_time_off_is_time_away_on_postgres() {
    calendar_time_off_is_time_away(Db::Postgres).await;
}

async fn a_teams_holiday_calendar_is_a_day_off_for_everyone(db: Db) {
    let cal = Radicale::start();
    cal.create_calendar("holidays", "de-by").await;
    // As Google's "Holidays in Germany" writes them: free all-day events.
    cal.put_event("holidays", "de-by", "epiphany", &vevent(
        "epiphany",
        "SUMMARY:Epiphany (Bavaria)\r\nTRANSP:TRANSPARENT\r\nDTSTART;VALUE=DATE:20260106\r\nDTEND;VALUE=DATE:20260107\r\n",
    ))
    .await;
    let app = app_with_fetch(db).await;
    let ben = app
        .member("ben@example.test", "Ben Berg", "Europe/Berlin")
        .await;
    let cy = app
        .member("cy@example.test", "Cy Chen", "Europe/Berlin")
        .await;
    let team = app.team("core").await;
    app.ctx
        .store
        .add_team_calendar(team, &cal.export_url("holidays", "de-by"))
        .await
        .expect("team calendar");
    walk(&app, "2026-01-05T00:00:00Z", "2026-01-07T23:30:00Z").await;
    for who in [ben, cy] {
        assert_eq!(
            requests_to(&app, who),
            ["2026-01-05", "2026-01-07"],
            "no request on the holiday"
        );
    }
    // The team's calendar taken away: the day off goes with it.
    app.ctx
        .store
        .remove_team_calendars(team)
        .await
        .expect("removed");
    tidings::jobs::calendars::run(&app.ctx, at("2026-01-08T00:00:00Z"))
        .await
        .expect("calendars");
    assert!(
        !app.ctx
            .store
            .is_holiday(ben, d("2026-01-06"))
            .await
            .expect("read")
    );
}

#[tokio::test]
async fn a_teams_holiday_calendar_is_a_day_off_on_sqlite() {
    a_teams_holiday_calendar_is_a_day_off_for_everyone(Db::Sqlite).await;
}

#[tokio::test]
async fn a_teams_holiday_calendar_is_a_day_off_on_postgres() {
    a_teams_holiday_calendar_is_a_day_off_for_everyone(Db::Postgres).await;
}

/// The receipts and notices sent to `addr`, as text, oldest first.
fn notes_to(app: &TestApp, addr: &str) -> Vec<String> {
    let mut found: Vec<(u64, String)> = app
        .sent()
        .into_iter()
        .filter(|n| n.starts_with("notice_") || n.starts_with("receipt_"))
        .filter_map(|n| {
            let raw = app.read_sent(&n);
            let to = raw.lines().find(|l| l.starts_with("To:"))?.to_string();
            let id = n.split(['_', '.']).nth(1)?.parse().ok()?;
            to.contains(addr)
                .then(|| (id, format!("{}\n{}", subject_of(&raw), text_body(&raw))))
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, t)| t).collect()
}

async fn say(app: &TestApp, n: usize, words: &str, now: chrono::DateTime<chrono::Utc>) {
    let raw = gmail_reply(
        "ann@example.test",
        "updates@example.test",
        "request@example.test",
        &format!("ann-cal-{n}@client.test"),
        words,
    );
    let r = app
        .deliver(
            &format!("ann-cal-{n}.eml"),
            &vouched("example.test", &raw),
            now,
        )
        .await;
    assert_eq!(r.quarantined, 0, "{words}: {r:?}");
    tidings::jobs::send::run(&app.ctx, now).await.expect("send");
}

async fn the_calendar_reply_command(db: Db) {
    let cal = Radicale::start();
    cal.create_calendar(USER, CAL).await;
    cal.put_event(
        USER,
        CAL,
        "vac-2",
        &vevent(
            "vac-2",
            "SUMMARY:Vacation\r\nDTSTART;VALUE=DATE:20261222\r\nDTEND;VALUE=DATE:20270102\r\n",
        ),
    )
    .await;
    let app = app_with_fetch(db).await;
    let ann = app
        .member("ann@example.test", "Ann Avery", "America/New_York")
        .await;
    let url = cal.export_url(USER, CAL);
    let secret_path = format!("/{USER}/{CAL}/");
    // Pasted as a mail client shows it, in angle brackets.
    let now = at("2026-12-07T15:00:00Z");
    say(&app, 1, &format!("calendar <{url}>"), now).await;
    let note = notes_to(&app, "ann@example.test").pop().expect("a receipt");
    assert!(
        note.starts_with("core · Done: your calendar is added"),
        "{note}"
    );
    assert!(
        note.contains("From your calendar:\n- away Tue 22 Dec – Fri 1 Jan (Vacation)"),
        "{note}"
    );
    assert!(!note.contains(&secret_path), "{note}");
    let m = app
        .ctx
        .store
        .member_by_id(ann)
        .await
        .expect("read")
        .expect("Ann");
    assert!(m.is_away_on(d("2026-12-24")) && !m.is_away_on(d("2027-01-04")));
    // An address Tidings cannot read: told why, nothing added.
    say(&app, 2, "calendar ftp://example.org/cal.ics", now).await;
    let note = notes_to(&app, "ann@example.test").pop().expect("a receipt");
    assert!(
        note.starts_with("core · Your calendar was not added"),
        "{note}"
    );
    assert_eq!(
        app.ctx
            .store
            .member_calendars(ann)
            .await
            .expect("links")
            .len(),
        1
    );
    // "calendar off": no calendars, no days from them.
    say(&app, 3, "calendar off", now).await;
    let note = notes_to(&app, "ann@example.test").pop().expect("a receipt");
    assert!(
        note.starts_with("core · Done: your calendars are off"),
        "{note}"
    );
    let m = app
        .ctx
        .store
        .member_by_id(ann)
        .await
        .expect("read")
        .expect("Ann");
    assert!(!m.is_away_on(d("2026-12-24")));
    assert!(
        app.ctx
            .store
            .member_calendars(ann)
            .await
            .expect("links")
            .is_empty()
    );
}

#[tokio::test]
async fn the_calendar_reply_command_on_sqlite() {
    the_calendar_reply_command(Db::Sqlite).await;
}

#[tokio::test]
async fn the_calendar_reply_command_on_postgres() {
    the_calendar_reply_command(Db::Postgres).await;
}

async fn the_preferences_page_shows_and_changes_calendars(db: Db) {
    let cal = Radicale::start();
    cal.create_calendar(USER, CAL).await;
    cal.put_event(
        USER,
        CAL,
        "vac-3",
        &vevent(
            "vac-3",
            "SUMMARY:Vacation\r\nDTSTART;VALUE=DATE:20261222\r\nDTEND;VALUE=DATE:20270102\r\n",
        ),
    )
    .await;
    let app = app_with_fetch(db).await;
    let ann = app
        .member("ann@example.test", "Ann Avery", "America/New_York")
        .await;
    let srv = crate::web::Server::start(&app, |_| {}).await;
    let link = srv.fresh_link(ann);
    let page = srv.get_text(&link).await;
    assert!(
        page.contains("id=\"calendars\"") && page.contains("No calendar given."),
        "{page}"
    );
    // Posts the form and follows its redirect, as a browser does.
    let post = |fields: Vec<(&'static str, String)>| {
        let (http, url, base) = (srv.http.clone(), srv.url(&link), srv.url(""));
        async move {
            let r = http.post(url).form(&fields).send().await.expect("posted");
            if r.status() != reqwest::StatusCode::SEE_OTHER {
                return (r.status(), r.text().await.unwrap_or_default());
            }
            let to = r
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .unwrap_or_default()
                .to_string();
            let r = http
                .get(format!("{}{to}", base.trim_end_matches('/')))
                .send()
                .await
                .expect("redirected");
            (r.status(), r.text().await.unwrap_or_default())
        }
    };
    let csrf = crate::web::csrf_of(&page);
    // Not an address: 422, the field says why, nothing added.
    let (status, body) = post(vec![
        ("csrf", csrf.clone()),
        ("action", "calendar-add".into()),
        ("calendar_url", "ftp://example.org/x.ics".into()),
    ])
    .await;
    assert_eq!(status, reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("id=\"calendar_url-error\""), "{body}");
    // Added: read at once; the page shows its host and last characters, never the path,
    // and the time away read from it.
    let url = cal.export_url(USER, CAL);
    let (status, page) = post(vec![
        ("csrf", csrf.clone()),
        ("action", "calendar-add".into()),
        ("calendar_url", url.clone()),
    ])
    .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{page}");
    assert!(page.contains("Calendar added and read"), "{page}");
    assert!(
        page.contains("<code>127.0.0.1 …work</code> — read "),
        "{page}"
    );
    assert!(!page.contains(&url), "{page}");
    assert!(
        page.contains("away Tue 22 Dec – Fri 1 Jan (Vacation)"),
        "{page}"
    );
    let m = app
        .ctx
        .store
        .member_by_id(ann)
        .await
        .expect("read")
        .expect("Ann");
    assert!(m.is_away_on(d("2026-12-28")));
    // Ignored: the days go at once; counted again: back.
    let (_, page) = post(vec![
        ("csrf", csrf.clone()),
        ("action", "event-ignore:vac-3".into()),
    ])
    .await;
    assert!(
        page.contains("That event no longer counts") && page.contains("Ignored events:"),
        "{page}"
    );
    let m = app
        .ctx
        .store
        .member_by_id(ann)
        .await
        .expect("read")
        .expect("Ann");
    assert!(!m.is_away_on(d("2026-12-28")));
    let (_, page) = post(vec![
        ("csrf", csrf.clone()),
        ("action", "event-count:vac-3".into()),
    ])
    .await;
    assert!(
        page.contains("away Tue 22 Dec – Fri 1 Jan (Vacation)"),
        "{page}"
    );
    // Removed: no calendar, no days from it.
    let id = app.ctx.store.member_calendars(ann).await.expect("links")[0].source_id;
    let (_, page) = post(vec![
        ("csrf", csrf),
        ("action", format!("calendar-remove:{id}")),
    ])
    .await;
    assert!(
        page.contains("Calendar removed.") && page.contains("No calendar given."),
        "{page}"
    );
    let m = app
        .ctx
        .store
        .member_by_id(ann)
        .await
        .expect("read")
        .expect("Ann");
    assert!(!m.is_away_on(d("2026-12-28")));
}

#[tokio::test]
async fn the_preferences_page_shows_and_changes_calendars_on_sqlite() {
    the_preferences_page_shows_and_changes_calendars(Db::Sqlite).await;
}

#[tokio::test]
async fn the_preferences_page_shows_and_changes_calendars_on_postgres() {
    the_preferences_page_shows_and_changes_calendars(Db::Postgres).await;
}
