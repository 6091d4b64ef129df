//! Check-ins (#33, part 1): a team with three check-ins — its daily stand-up (each member's
//! 16:30, Mon–Fri), "Friday wins" at 15:00 in each member's zone, and a leads-only monthly
//! question on the first Monday at 10:00 Europe/Berlin — walked with the injected clock
//! across the 2026-03-08 US and 2026-03-29 Europe DST changes: every member gets exactly the
//! requests their check-ins define, each once and at its local time; a reply to each is filed
//! under its own check-in; digests carry each check-in's answers under its own heading; and
//! replaying the key instants sends nothing.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use tidings::domain::checkin::{Checkin, GoesTo, Question, Rhythm, Who};
use tidings::domain::schedule::LocalTime;
use tidings::store::UpdateKey;

use crate::both;
use crate::helpers::*;

pub(crate) fn d(s: &str) -> NaiveDate {
    s.parse().expect("a date")
}

/// The sent emails of a kind as (To, X-Tidings-Checkin, Date as RFC 3339 UTC), sorted.
pub(crate) fn requests(app: &TestApp, kind: &str) -> Vec<(String, String, String)> {
    let mut out: Vec<_> = app
        .sent()
        .into_iter()
        .map(|n| app.read_sent(&n))
        .filter(|raw| header(raw, "X-Tidings-Kind") == kind)
        .map(|raw| {
            let to = crate::support::address_in(&header(&raw, "To"));
            let date = DateTime::parse_from_rfc2822(&header(&raw, "Date"))
                .expect("a Date header")
                .with_timezone(&Utc)
                .format("%Y-%m-%dT%H:%MZ")
                .to_string();
            (to, header(&raw, "X-Tidings-Checkin"), date)
        })
        .collect();
    out.sort();
    out
}

pub(crate) fn header(raw: &str, name: &str) -> String {
    crate::support::header(raw.as_bytes(), name)
}

/// The sent email of `kind` to `to` asking check-in `checkin` on `date` (UTC day of its Date).
pub(crate) fn find(app: &TestApp, kind: &str, to: &str, checkin: &str, day: &str) -> String {
    app.sent()
        .into_iter()
        .map(|n| app.read_sent(&n))
        .find(|raw| {
            header(raw, "X-Tidings-Kind") == kind
                && header(raw, "To").contains(to)
                && header(raw, "X-Tidings-Checkin") == checkin
                && DateTime::parse_from_rfc2822(&header(raw, "Date"))
                    .is_ok_and(|t| t.with_timezone(&Utc).date_naive() == d(day))
        })
        .unwrap_or_else(|| panic!("no {kind} {checkin} to {to} on {day}"))
}

pub(crate) fn checkin(
    team: i64,
    name: &str,
    q: &[&str],
    rhythm: &str,
    at: &str,
    tz: Option<&str>,
) -> Checkin {
    Checkin {
        id: 0,
        team_id: team,
        name: name.into(),
        standup: false,
        questions: q
            .iter()
            .map(|q| Question::parse(q).expect("question"))
            .collect(),
        rhythm: Rhythm::parse(rhythm, d("2026-03-02")).expect("rhythm"),
        at: Some(LocalTime::parse(at).expect("time")),
        tz: tz.map(|z| z.parse().expect("zone")),
        who: Who::All,
        goes_to: GoesTo::Digest,
    }
}

/// Ticks every half hour of each day in `days` (UTC), as `serve` would.
async fn walk(app: &TestApp, days: &[&str], seen: &mut BTreeSet<DateTime<Utc>>) {
    for day in days {
        let start = at(&format!("{day}T00:00:00Z"));
        for i in 0..48 {
            let now = start + Duration::minutes(30 * i);
            app.tick(now).await;
            seen.insert(now);
        }
    }
}

pub(crate) async fn reply(
    app: &TestApp,
    raw_request: &str,
    from: &str,
    n: &str,
    text: &str,
    now: &str,
) {
    let (reply_to, mid) = reply_headers(raw_request);
    let raw = gmail_reply(
        from,
        &reply_to,
        mid.trim_matches(['<', '>']),
        &format!("{n}@client.test"),
        text,
    );
    let r = app
        .deliver(&format!("{n}.eml"), &vouched("example.test", &raw), at(now))
        .await;
    assert_eq!((r.accepted, r.quarantined), (1, 0), "{n}: {r:?}");
}

both!(three_checkins_across_both_dst_changes, |app| {
    let ana = app
        .member_of("ana@example.test", "Ana Lima", "Europe/Berlin", "core")
        .await;
    let ben = app
        .member_of("ben@example.test", "Ben Carter", "America/New_York", "core")
        .await;
    let lea = app
        .member_of("lea@example.test", "Lea Stein", "Europe/Berlin", "core")
        .await;
    let team = app
        .ctx
        .store
        .team_id("core")
        .await
        .expect("team")
        .expect("core");
    app.ctx
        .store
        .set_team_leads("core", &[lea])
        .await
        .expect("leads");
    let wins = checkin(
        team,
        "Friday wins",
        &["What went well?", "scale: How was your week?"],
        "weekly:fri",
        "15:00",
        None,
    );
    let wins_id = app.ctx.store.add_checkin(&wins).await.expect("wins");
    let mut leads = checkin(
        team,
        "Leads",
        &["What did you learn?"],
        "monthly:first-mon",
        "10:00",
        Some("Europe/Berlin"),
    );
    leads.who = Who::Leads;
    let leads_id = app.ctx.store.add_checkin(&leads).await.expect("leads");

    // Mondays and Fridays either side of both changes; the days between are downtime (the
    // catch-up rule skips what is no longer the member's day).
    let days = [
        "2026-03-02",
        "2026-03-06",
        "2026-03-09",
        "2026-03-13",
        "2026-03-27",
        "2026-04-03",
        "2026-04-06",
    ];
    let mut seen = BTreeSet::new();
    walk(&app, &days[..2], &mut seen).await;

    // Friday 6 March: Ana answers the wins (her scale too) and her stand-up, Ben his wins.
    let ana_wins = find(&app, "request", "ana@", "Friday wins", "2026-03-06");
    assert!(
        subject_of(&ana_wins).contains("Friday wins"),
        "{}",
        subject_of(&ana_wins)
    );
    reply(
        &app,
        &ana_wins,
        "ana@example.test",
        "a1",
        "Shipped the importer.\n\n4/5",
        "2026-03-06T16:00:00Z",
    )
    .await;
    let ana_standup = find(&app, "request", "ana@", "Daily stand-up", "2026-03-06");
    reply(
        &app,
        &ana_standup,
        "ana@example.test",
        "a2",
        "Done: reviews\nNext: the release",
        "2026-03-06T16:05:00Z",
    )
    .await;
    let ben_wins = find(&app, "request", "ben@", "Friday wins", "2026-03-06");
    reply(
        &app,
        &ben_wins,
        "ben@example.test",
        "b1",
        "Closed the outage ticket.",
        "2026-03-06T21:00:00Z",
    )
    .await;

    // Each filed under its own check-in.
    let key = |member, checkin| UpdateKey {
        member,
        date: d("2026-03-06"),
        checkin,
    };
    let a_wins = app
        .ctx
        .store
        .answer_for(key(ana, wins_id))
        .await
        .expect("read")
        .expect("Ana's wins");
    assert!(
        a_wins.body.contains("Shipped the importer"),
        "{}",
        a_wins.body
    );
    // Her scale answer is counted, not kept with her name.
    assert!(!a_wins.body.contains("4/5"), "{}", a_wins.body);
    let a_standup = app
        .ctx
        .store
        .update_for(ana, d("2026-03-06"))
        .await
        .expect("read")
        .expect("Ana's stand-up");
    assert!(!a_standup.body.contains("importer"), "{}", a_standup.body);
    assert!(
        app.ctx
            .store
            .answer_for(key(ben, wins_id))
            .await
            .expect("read")
            .is_some()
    );
    assert!(
        app.ctx
            .store
            .update_for(ben, d("2026-03-06"))
            .await
            .expect("read")
            .is_none()
    );

    walk(&app, &days[2..], &mut seen).await;

    // Monday's digest to Lea: the stand-up first, then the wins under their own heading.
    let digest = text_body(&app.read_sent(&format!("digest_{lea}_2026-03-09.tidings.eml")));
    let standup_at = digest
        .find("reviews")
        .expect("Ana's stand-up in the digest");
    let heading = digest
        .find("### Friday wins")
        .unwrap_or_else(|| panic!("{digest}"));
    let importer = digest.find("Shipped the importer").expect("Ana's wins");
    let outage = digest.find("Closed the outage ticket").expect("Ben's wins");
    assert!(
        standup_at < heading && heading < importer.min(outage),
        "{digest}"
    );
    assert!(!digest.contains("4/5"), "{digest}");
    assert!(
        digest.contains("How was your week? The team's average shows from 3 answers (1 so far)."),
        "{digest}"
    );

    // Exactly the requests the check-ins define, each once, at each one's local time.
    let mut want = vec![];
    let berlin = |day: &str, cet: &str, cest: &str| {
        if day < "2026-03-29" {
            cet.to_string()
        } else {
            cest.to_string()
        }
    };
    for day in days {
        let friday = matches!(
            day,
            "2026-03-06" | "2026-03-13" | "2026-03-27" | "2026-04-03"
        );
        for who in ["ana", "lea"] {
            want.push((
                format!("{who}@example.test"),
                "Daily stand-up".to_string(),
                format!("{day}T{}Z", berlin(day, "15:30", "14:30")),
            ));
            if friday {
                want.push((
                    format!("{who}@example.test"),
                    "Friday wins".to_string(),
                    format!("{day}T{}Z", berlin(day, "14:00", "13:00")),
                ));
            }
        }
        let ny = |est: &str, edt: &str| {
            if day < "2026-03-08" {
                est.to_string()
            } else {
                edt.to_string()
            }
        };
        want.push((
            "ben@example.test".into(),
            "Daily stand-up".into(),
            format!("{day}T{}Z", ny("21:30", "20:30")),
        ));
        if friday {
            want.push((
                "ben@example.test".into(),
                "Friday wins".into(),
                format!("{day}T{}Z", ny("20:00", "19:00")),
            ));
            // The catch-up rule: at 00:00 UTC it is still Thursday evening in New York, and
            // Thursday's stand-up (16:30, during the downtime) was never sent: it goes late.
            want.push((
                "ben@example.test".into(),
                "Daily stand-up".into(),
                format!("{day}T00:00Z"),
            ));
        }
    }
    // The leads' question: Lea only, 10:00 Berlin on the first Mondays.
    want.push((
        "lea@example.test".into(),
        "Leads".into(),
        "2026-03-02T09:00Z".into(),
    ));
    want.push((
        "lea@example.test".into(),
        "Leads".into(),
        "2026-04-06T08:00Z".into(),
    ));
    want.sort();
    assert_eq!(requests(&app, "request"), want);
    // One outbox row each: the key (kind, check-in, member, date) is what makes it once.
    assert_eq!(app.queued("request").await.len(), want.len());
    assert!(
        app.ctx
            .store
            .checkin(leads_id)
            .await
            .expect("read")
            .is_some()
    );

    // The team log, the API and the exports carry the check-in and filter by it.
    let srv = crate::web::Server::start(&app, |_| {}).await;
    let t = srv.token_for(lea).await;
    let (status, v) = srv
        .get("/api/v1/teams/core/updates?checkin=friday%20wins", Some(&t))
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{v}");
    let got: Vec<(String, String)> = v["updates"]
        .as_array()
        .expect("updates")
        .iter()
        .map(|u| {
            (
                u["author"]["name"].as_str().unwrap_or_default().to_string(),
                u["checkin"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(got.len(), 2, "{v}");
    assert!(got.iter().all(|(_, c)| c == "Friday wins"), "{v}");
    let (_, v) = srv
        .get(
            "/api/v1/teams/core/updates?checkin=Daily%20stand-up",
            Some(&t),
        )
        .await;
    let standup = v["updates"].as_array().expect("updates");
    assert!(
        !standup.is_empty() && standup.iter().all(|u| u.get("checkin").is_none()),
        "{v}"
    );
    let (status, v) = srv
        .get("/api/v1/teams/core/updates?checkin=wins", Some(&t))
        .await;
    // A name the team has not matches nothing, as an author outside the team does.
    assert_eq!(status, reqwest::StatusCode::OK, "{v}");
    assert_eq!(v["updates"], serde_json::json!([]), "{v}");
    let r = srv
        .http
        .get(srv.url("/api/v1/teams/core/export?format=csv&checkin=Friday%20wins"))
        .bearer_auth(&t)
        .send()
        .await
        .expect("export");
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    let csv = r.text().await.expect("csv");
    assert!(
        csv.lines()
            .next()
            .unwrap_or_default()
            .ends_with("\"checkin\""),
        "{csv}"
    );
    assert_eq!(
        csv.lines()
            .filter(|l| l.ends_with("\"Friday wins\""))
            .count(),
        2,
        "{csv}"
    );

    // Replaying every instant of the walk sends nothing more.
    let before = app.sent().len();
    for now in &seen {
        app.tick(*now).await;
    }
    assert_eq!(app.sent().len(), before, "a replayed instant sent again");
});

/// Reminders, time away and team holidays hold for a check-in as for the stand-up: the
/// reminder goes to who has not answered, with the check-in's header and name; a member away
/// is not asked; a team holiday asks no one.
async fn reminders_away_and_holidays(db: Db) {
    let app = TestApp::with(db, |c| c.schedule.reminder_after_hours = 3).await;
    let ana = app
        .member_of("ana@example.test", "Ana Lima", "Europe/Berlin", "core")
        .await;
    app.member_of("ben@example.test", "Ben Carter", "Europe/Berlin", "core")
        .await;
    let team = app
        .ctx
        .store
        .team_id("core")
        .await
        .expect("team")
        .expect("core");
    let pulse = checkin(
        team,
        "Pulse",
        &["How is it going?"],
        "days:mon,tue,wed,thu,fri",
        "10:00",
        None,
    );
    app.ctx.store.add_checkin(&pulse).await.expect("pulse");
    let away = tidings::domain::AwayRange {
        from: d("2026-11-17"),
        to: d("2026-11-17"),
    };
    app.ctx.store.add_away(ana, &away).await.expect("away");
    app.ctx
        .store
        .add_holiday("core", d("2026-11-18"))
        .await
        .expect("holiday");
    for day in ["2026-11-16", "2026-11-17", "2026-11-18", "2026-11-19"] {
        app.tick(at(&format!("{day}T09:00:00Z"))).await;
        if day == "2026-11-16" {
            let request = find(&app, "request", "ana@", "Pulse", day);
            reply(
                &app,
                &request,
                "ana@example.test",
                "ana-pulse",
                "Good.",
                "2026-11-16T10:00:00Z",
            )
            .await;
        }
        app.tick(at(&format!("{day}T12:00:00Z"))).await;
    }
    let pulse_of = |kind: &str| -> Vec<(String, String)> {
        requests(&app, kind)
            .into_iter()
            .filter(|(_, c, _)| c == "Pulse")
            .map(|(to, _, date)| (to, date))
            .collect()
    };
    assert_eq!(
        pulse_of("request"),
        [
            (
                "ana@example.test".to_string(),
                "2026-11-16T09:00Z".to_string()
            ),
            ("ana@example.test".into(), "2026-11-19T09:00Z".into()),
            ("ben@example.test".into(), "2026-11-16T09:00Z".into()),
            ("ben@example.test".into(), "2026-11-17T09:00Z".into()),
            ("ben@example.test".into(), "2026-11-19T09:00Z".into()),
        ]
    );
    // Ben never answers: reminded each day he was asked, 3 hours later; Ana only on Thursday.
    assert_eq!(
        pulse_of("reminder"),
        [
            (
                "ana@example.test".to_string(),
                "2026-11-19T12:00Z".to_string()
            ),
            ("ben@example.test".into(), "2026-11-16T12:00Z".into()),
            ("ben@example.test".into(), "2026-11-17T12:00Z".into()),
            ("ben@example.test".into(), "2026-11-19T12:00Z".into()),
        ]
    );
    let reminder = find(&app, "reminder", "ben@", "Pulse", "2026-11-16");
    assert_eq!(
        subject_of(&reminder),
        "Reminder: core Pulse · Mon 16 Nov — reply with your update"
    );
}

#[tokio::test]
async fn reminders_away_and_holidays_hold_for_checkins_sqlite() {
    reminders_away_and_holidays(Db::Sqlite).await;
}

#[tokio::test]
async fn reminders_away_and_holidays_hold_for_checkins_postgres() {
    reminders_away_and_holidays(Db::Postgres).await;
}
