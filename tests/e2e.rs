//! One full day through real servers: Postfix (SMTP) and Dovecot (IMAP) started by the test
//! harness on loopback. Three members in Berlin, New York and Tokyo read their update requests
//! over IMAP, reply over SMTP the way real clients do, the service ingests over IMAP, and each
//! digest — read over IMAP — holds the others' words and none of the quoted text. Running the
//! same ticks again sends nothing new.

mod support;

use std::time::{Duration, Instant};

use support::{
    add_rig_member, address_in, at, header, imap_search, of_kind, rig, rig_config, smtp_send,
    text_of, wait_for,
};
use tidings::config::{Config, Security};
use tidings::jobs::{self, Ctx};

/// The service on the rig, reading replies from `updates` over IMAPS (implicit TLS, the
/// rig's CA).
fn config(rig: &rig::Rig, db_url: &str, dir: &std::path::Path) -> Config {
    let mut c = rig_config(rig, db_url, dir, "updates");
    c.mail.imap.port = rig.imaps_port;
    c.mail.imap.security = Security::Tls;
    c.mail.imap.ca_file = rig.ca_pem.display().to_string();
    c.mail.imap.tls_server_name = "localhost".into();
    c
}

/// A reply as a real client writes it: new text on top, the request quoted below an
/// "On … wrote:" line, In-Reply-To and References set.
fn client_reply(from: &str, request: &[u8], style: &str, words: &str) -> Vec<u8> {
    let to = address_in(&header(request, "Reply-To"));
    let mid = header(request, "Message-ID");
    let subject = header(request, "Subject");
    let quoted: String = text_of(request)
        .lines()
        .map(|l| format!("> {l}\r\n"))
        .collect();
    let head = format!(
        "From: {from}\r\nTo: {to}\r\nSubject: Re: {subject}\r\nMessage-ID: <{}@client.example.test>\r\nIn-Reply-To: {mid}\r\nReferences: {mid}\r\nDate: Mon, 09 Mar 2026 18:00:00 +0000\r\nMIME-Version: 1.0\r\n",
        from.split('@').next().unwrap_or("x")
    );
    let on = "On Mon, 9 Mar 2026 at 16:30, Tidings <digest@example.test> wrote:";
    let html_quote: String = text_of(request)
        .lines()
        .map(|l| format!("{l}<br>"))
        .collect();
    match style {
        "multipart" => format!(
            "{head}Content-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{words}\r\n\r\n{on}\r\n{quoted}\r\n--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<div>{words}</div><div class=\"gmail_quote\">{on}<blockquote>{html_quote}</blockquote></div>\r\n--b1--\r\n"
        ),
        "html" => format!(
            "{head}Content-Type: text/html; charset=utf-8\r\n\r\n<html><body><div>{words}</div><br><div class=\"gmail_quote\"><div class=\"gmail_attr\">{on}</div><blockquote class=\"gmail_quote\">{html_quote}</blockquote></div></body></html>\r\n"
        ),
        _ => format!("{head}Content-Type: text/plain; charset=utf-8\r\n\r\n{words}\r\n\r\n-- \r\nCarol\r\n\r\n{on}\r\n{quoted}"),
    }
    .into_bytes()
}

async fn tick(ctx: &Ctx, now: &str) {
    let now = at(now);
    jobs::plan::run(ctx, now).await.expect("plan");
    jobs::send::run(ctx, now).await.expect("send");
}

#[tokio::test]
async fn one_full_day_through_postfix_and_dovecot() {
    let rig = rig::Rig::shared();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("e2e.db").display());
    let ctx = Ctx::build(config(rig, &db, dir.path()))
        .await
        .expect("service builds");
    let people = [
        ("alice", "Alice", "Europe/Berlin"),
        ("bob", "Bob", "America/New_York"),
        ("carol", "Carol", "Asia/Tokyo"),
    ];
    for (user, name, tz) in people {
        add_rig_member(&ctx, user, name, tz).await;
    }

    // Monday 9 March 2026: 16:30 in Tokyo (07:30Z), Berlin (15:30Z) and New York (20:30Z, EDT).
    tick(&ctx, "2026-03-09T00:00:00Z").await;
    let words = [
        (
            "alice",
            "multipart",
            "Alice: finished the billing migration; next is the load test.",
        ),
        (
            "bob",
            "html",
            "Bob: customer interviews done, notes in the wiki.",
        ),
        (
            "carol",
            "plain",
            "Carol: fixed the Lord Howe DST bug in the export.",
        ),
    ];
    for t in [
        "2026-03-09T07:30:00Z",
        "2026-03-09T15:30:00Z",
        "2026-03-09T20:30:00Z",
    ] {
        tick(&ctx, t).await;
    }
    for (user, style, text) in words {
        let requests = wait_for(rig, user, &of_kind("request"), 1).await;
        // One request each so far, with the headers PRODUCT.md requires.
        let req = &requests[0];
        assert_eq!(header(req, "Auto-Submitted"), "auto-generated");
        assert!(
            header(req, "Reply-To").contains("updates+m"),
            "{}",
            header(req, "Reply-To")
        );
        let from = format!("{user}@example.test");
        let reply = client_reply(&from, req, style, text);
        let to = header(&reply, "To");
        smtp_send(rig, &from, &to, &reply).await;
    }

    // The service reads its mailbox over IMAP (TLS) until all three replies are in.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut accepted = 0;
    while accepted < 3 {
        let r = jobs::ingest::poll(&ctx, at("2026-03-09T21:00:00Z"))
            .await
            .expect("IMAP poll");
        assert_eq!(r.quarantined, 0, "{r:?}");
        accepted += r.accepted;
        assert!(
            Instant::now() < deadline,
            "only {accepted} replies ingested"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Processed replies were moved out of the INBOX.
    assert!(
        imap_search(rig, "updates", &of_kind("request"))
            .await
            .is_empty()
    );

    // Tuesday's digests: Tokyo 08:30 = Mon 23:30Z, Berlin 07:30Z, New York 12:30Z.
    for t in [
        "2026-03-09T23:30:00Z",
        "2026-03-10T07:30:00Z",
        "2026-03-10T12:30:00Z",
    ] {
        tick(&ctx, t).await;
    }
    for (user, _, own) in words {
        let digests = wait_for(rig, user, &of_kind("digest"), 1).await;
        let text = text_of(&digests[0]);
        for (other, _, theirs) in words {
            if other != user {
                assert!(
                    text.contains(theirs),
                    "{user}'s digest lacks {other}'s words:\n{text}"
                );
            }
        }
        assert!(
            !text.contains(own),
            "{user}'s digest repeats their own update"
        );
        for quoted in ["wrote:", "What did you get done?", "> ", "Carol\n\nOn"] {
            assert!(
                !text.contains(quoted),
                "{user}'s digest has quoted text {quoted:?}:\n{text}"
            );
        }
        let html = String::from_utf8_lossy(&digests[0]).to_string();
        assert!(html.contains("text/html"), "the digest has an HTML part");
    }

    // Running the same ticks again sends nothing new. (Tokyo's Tuesday request fell due at
    // 07:30Z Tuesday, so Carol has two requests.)
    let counts = |kind: &'static str| async move {
        let mut v = Vec::new();
        for (user, _, _) in words {
            v.push(imap_search(rig, user, &of_kind(kind)).await.len());
        }
        v
    };
    let before = ctx.store.list_outbox(false, 1000).await.unwrap().len();
    let (requests, digests, receipts) = (
        counts("request").await,
        counts("digest").await,
        counts("receipt").await,
    );
    assert_eq!(
        (requests.clone(), digests.clone(), receipts.clone()),
        (vec![1, 1, 2], vec![1, 1, 1], vec![1, 1, 1])
    );
    for t in [
        "2026-03-09T07:30:00Z",
        "2026-03-09T15:30:00Z",
        "2026-03-09T20:30:00Z",
        "2026-03-09T23:30:00Z",
        "2026-03-10T07:30:00Z",
        "2026-03-10T12:30:00Z",
    ] {
        tick(&ctx, t).await;
    }
    jobs::ingest::poll(&ctx, at("2026-03-10T12:31:00Z"))
        .await
        .unwrap();
    assert_eq!(
        ctx.store.list_outbox(false, 1000).await.unwrap().len(),
        before,
        "no new outbox rows"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        (
            counts("request").await,
            counts("digest").await,
            counts("receipt").await
        ),
        (requests, digests, receipts)
    );
    ctx.store.close().await;
}

/// Check-ins through the rig's Postfix, on both backends: a team with its stand-up (16:30 each
/// member's own), "Friday wins" (15:00 in each member's zone) and a leads-only monthly question
/// (first Monday, 10:00 Europe/Berlin) walked across the 2026-03-08 US and 2026-03-29 Europe
/// changes. What reaches each Maildir through Postfix is exactly the requests the check-ins
/// define, each once (a resend would be a second file), and replaying the walk sends nothing.
#[tokio::test]
async fn checkins_across_both_dst_changes_through_postfix() {
    use tidings::domain::checkin::{Checkin, GoesTo, Question, Rhythm, Who};
    use tidings::domain::schedule::LocalTime;
    let rig = rig::Rig::shared();
    for backend in ["sqlite", "postgres"] {
        let dir = tempfile::tempdir().unwrap();
        let db = match backend {
            "sqlite" => format!("sqlite://{}", dir.path().join("walk.db").display()),
            _ => rig.fresh_pg_url(),
        };
        let ctx = Ctx::build(config(rig, &db, dir.path()))
            .await
            .expect("service builds");
        // A team of its own per backend, named in every subject: the Maildirs are shared.
        let team = format!("walk-{backend}");
        let mut ids = Vec::new();
        for (user, tz) in [
            ("erin", "Europe/Berlin"),
            ("frank", "America/New_York"),
            ("grace", "Europe/Berlin"),
        ] {
            let ch = tidings::store::MemberChange {
                name: Some(user.into()),
                tz: Some(tz.parse().expect("zone")),
                teams: Some(vec![team.clone()]),
                ..Default::default()
            };
            let id = ctx
                .store
                .add_member(
                    &support::addr(&format!("{user}@example.test")),
                    &ch,
                    &support::member_defaults(),
                )
                .await
                .expect("member");
            ids.push(id);
        }
        ctx.store
            .set_team_leads(&team, &ids[2..])
            .await
            .expect("leads");
        let team_id = ctx.store.team_id(&team).await.unwrap().expect("team");
        let new = |name: &str, rhythm: &str, at: &str, tz: Option<&str>, who: Who| Checkin {
            id: 0,
            team_id,
            name: name.into(),
            standup: false,
            questions: vec![Question::parse("What went well?").expect("question")],
            rhythm: Rhythm::parse(rhythm, "2026-03-02".parse().unwrap()).expect("rhythm"),
            at: Some(LocalTime::parse(at).expect("time")),
            tz: tz.map(|z| z.parse().expect("zone")),
            who,
            goes_to: GoesTo::Digest,
        };
        ctx.store
            .add_checkin(&new("Friday wins", "weekly:fri", "15:00", None, Who::All))
            .await
            .unwrap();
        ctx.store
            .add_checkin(&new(
                "Leads",
                "monthly:first-mon",
                "10:00",
                Some("Europe/Berlin"),
                Who::Leads,
            ))
            .await
            .unwrap();
        let days = [
            "2026-03-02",
            "2026-03-06",
            "2026-03-09",
            "2026-03-13",
            "2026-03-27",
            "2026-04-03",
            "2026-04-06",
        ];
        let mut instants = Vec::new();
        for day in days {
            for i in 0..48 {
                instants.push(at(&format!("{day}T00:00:00Z")) + chrono::Duration::minutes(30 * i));
            }
        }
        for now in &instants {
            jobs::plan::run(&ctx, *now).await.expect("plan");
            jobs::send::run(&ctx, *now).await.expect("send");
        }
        // What the check-ins define (see tests/it/checkins.rs for the same walk, reasoned).
        let mut want: Vec<(String, String, String)> = Vec::new();
        for day in days {
            let friday = matches!(
                day,
                "2026-03-06" | "2026-03-13" | "2026-03-27" | "2026-04-03"
            );
            let summer_eu = day > "2026-03-29";
            let summer_us = day > "2026-03-08";
            for user in ["erin", "grace"] {
                let (s, w) = if summer_eu {
                    ("14:30", "13:00")
                } else {
                    ("15:30", "14:00")
                };
                want.push((user.into(), "Daily stand-up".into(), format!("{day}T{s}")));
                if friday {
                    want.push((user.into(), "Friday wins".into(), format!("{day}T{w}")));
                }
            }
            let (s, w) = if summer_us {
                ("20:30", "19:00")
            } else {
                ("21:30", "20:00")
            };
            want.push((
                "frank".into(),
                "Daily stand-up".into(),
                format!("{day}T{s}"),
            ));
            if friday {
                want.push(("frank".into(), "Friday wins".into(), format!("{day}T{w}")));
                // Thursday's stand-up, still Thursday evening in New York at 00:00 UTC.
                want.push((
                    "frank".into(),
                    "Daily stand-up".into(),
                    format!("{day}T00:00"),
                ));
            }
        }
        want.push(("grace".into(), "Leads".into(), "2026-03-02T09:00".into()));
        want.push(("grace".into(), "Leads".into(), "2026-04-06T08:00".into()));
        want.sort();
        let subject_team = format!("{team} ");
        let delivered = || {
            let mut got = Vec::new();
            for user in ["erin", "frank", "grace"] {
                for m in support::maildir_messages(rig, user) {
                    let raw = m.as_bytes();
                    if header(raw, "X-Tidings-Kind") != "request"
                        || !support::subject_of(raw).starts_with(&subject_team)
                    {
                        continue;
                    }
                    let date = chrono::DateTime::parse_from_rfc2822(&header(raw, "Date"))
                        .expect("a Date")
                        .with_timezone(&chrono::Utc)
                        .format("%Y-%m-%dT%H:%M")
                        .to_string();
                    got.push((user.to_string(), header(raw, "X-Tidings-Checkin"), date));
                }
            }
            got.sort();
            got
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while delivered().len() < want.len() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        assert_eq!(delivered(), want, "{backend}");
        // Replaying every instant sends nothing more.
        for now in &instants {
            jobs::plan::run(&ctx, *now).await.expect("plan");
            jobs::send::run(&ctx, *now).await.expect("send");
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(delivered(), want, "{backend}: after the replay");
        ctx.store.close().await;
    }
}

/// One all-day or timed event as a calendar file (a VTIMEZONE for US Eastern when `eastern`).
fn calendar_event(uid: &str, lines: &str, eastern: bool) -> String {
    let tz = if eastern {
        "BEGIN:VTIMEZONE\r\nTZID:America/New_York\r\nBEGIN:STANDARD\r\nDTSTART:16011104T020000\r\nRRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11\r\nTZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\nEND:STANDARD\r\nBEGIN:DAYLIGHT\r\nDTSTART:16010311T020000\r\nRRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n"
    } else {
        ""
    };
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Tidings e2e//EN\r\n{tz}BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260301T000000Z\r\n{lines}END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

/// Calendars through real servers (#34): Frank's own calendar and the team's holiday
/// calendar on a real CalDAV server (Radicale), read over HTTP; the requests and digests
/// that Postfix delivers follow them across the 2026-03-08 US DST change — no request on a
/// day of vacation, an out-of-office Friday or the holiday, one on the Friday excepted from
/// the series, and a catch-up digest after the vacation.
#[tokio::test]
async fn calendars_through_radicale_and_postfix_across_the_us_dst_change() {
    let rig = rig::Rig::shared();
    let cal = support::radicale::Radicale::start();
    cal.create_calendar("frank", "personal").await;
    cal.put_event(
        "frank",
        "personal",
        "vac",
        &calendar_event(
            "vac",
            "SUMMARY:Vacation\r\nDTSTART;VALUE=DATE:20260310\r\nDTEND;VALUE=DATE:20260312\r\n",
            false,
        ),
    )
    .await;
    cal.put_event("frank", "personal", "ooo", &calendar_event(
        "ooo",
        "SUMMARY:OOO Fridays\r\nDTSTART;TZID=America/New_York:20260306T090000\r\nDTEND;TZID=America/New_York:20260306T170000\r\nRRULE:FREQ=WEEKLY;BYDAY=FR\r\nEXDATE;TZID=America/New_York:20260313T090000\r\n",
        true,
    ))
    .await;
    cal.create_calendar("team", "holidays").await;
    cal.put_event("team", "holidays", "h", &calendar_event(
        "h",
        "SUMMARY:Founders' day\r\nTRANSP:TRANSPARENT\r\nDTSTART;VALUE=DATE:20260316\r\nDTEND;VALUE=DATE:20260317\r\n",
        false,
    ))
    .await;
    for backend in ["sqlite", "postgres"] {
        let dir = tempfile::tempdir().unwrap();
        let db = match backend {
            "sqlite" => format!("sqlite://{}", dir.path().join("cal.db").display()),
            _ => rig.fresh_pg_url(),
        };
        let mut cfg = config(rig, &db, dir.path());
        cfg.fetch.allow_private = true;
        cfg.fetch.allow_http = true;
        let ctx = Ctx::build(cfg).await.expect("service builds");
        let team = format!("cal-{backend}");
        let mut ids = Vec::new();
        for (user, tz) in [("erin", "Europe/Berlin"), ("frank", "America/New_York")] {
            let ch = tidings::store::MemberChange {
                name: Some(user.into()),
                tz: Some(tz.parse().expect("zone")),
                teams: Some(vec![team.clone()]),
                ..Default::default()
            };
            ids.push(
                ctx.store
                    .add_member(
                        &support::addr(&format!("{user}@example.test")),
                        &ch,
                        &support::member_defaults(),
                    )
                    .await
                    .expect("member"),
            );
        }
        use tidings::store::calendars::CalendarKind;
        ctx.store
            .add_member_calendar(
                ids[1],
                &cal.export_url("frank", "personal"),
                CalendarKind::Personal,
            )
            .await
            .expect("Frank's calendar");
        let team_id = ctx.store.team_id(&team).await.unwrap().expect("team");
        ctx.store
            .add_team_calendar(team_id, &cal.export_url("team", "holidays"))
            .await
            .expect("the team's holidays");
        let walk = |from: &'static str, to: &'static str| {
            let ctx = ctx.clone();
            async move {
                let (mut now, end) = (at(from), at(to));
                while now <= end {
                    jobs::calendars::run(&ctx, now).await.expect("calendars");
                    jobs::plan::run(&ctx, now).await.expect("plan");
                    jobs::send::run(&ctx, now).await.expect("send");
                    now += chrono::Duration::minutes(30);
                }
            }
        };
        walk("2026-03-05T00:00:00Z", "2026-03-09T23:30:00Z").await;
        // Erin's update of Monday: Frank reads it after his vacation.
        ctx.store
            .upsert_update(
                ids[0],
                "2026-03-09".parse().unwrap(),
                "Done: the importer",
                &[],
                "api",
                None,
                false,
                0,
            )
            .await
            .expect("update");
        walk("2026-03-10T00:00:00Z", "2026-03-16T23:30:00Z").await;
        let subject_team = format!("{team} ");
        let delivered = |kind: &str| {
            let mut got = Vec::new();
            for user in ["erin", "frank"] {
                for m in support::maildir_messages(rig, user) {
                    let raw = m.as_bytes();
                    if header(raw, "X-Tidings-Kind") != kind
                        || !support::subject_of(raw).starts_with(&subject_team)
                    {
                        continue;
                    }
                    let date = chrono::DateTime::parse_from_rfc2822(&header(raw, "Date"))
                        .expect("a Date")
                        .with_timezone(&chrono::Utc)
                        .format("%Y-%m-%dT%H:%M")
                        .to_string();
                    got.push((user.to_string(), date, support::subject_of(raw)));
                }
            }
            got.sort();
            got
        };
        let mut want: Vec<(String, String)> = [
            "2026-03-05T15:30",
            "2026-03-06T15:30",
            "2026-03-09T15:30",
            "2026-03-10T15:30",
            "2026-03-11T15:30",
            "2026-03-12T15:30",
            "2026-03-13T15:30",
        ]
        .iter()
        .map(|d| ("erin".to_string(), d.to_string()))
        .chain(
            [
                // Wednesday's, still Wednesday evening in New York when the walk starts.
                "2026-03-05T00:00",
                "2026-03-05T21:30",
                "2026-03-09T20:30",
                "2026-03-12T20:30",
                "2026-03-13T20:30",
            ]
            .iter()
            .map(|d| ("frank".to_string(), d.to_string())),
        )
        .collect();
        want.sort();
        let requests = || -> Vec<(String, String)> {
            delivered("request")
                .into_iter()
                .map(|(u, d, _)| (u, d))
                .collect()
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while requests().len() < want.len() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        assert_eq!(requests(), want, "{backend}");
        // Frank's digests: none while away, a catch-up the morning after.
        let digests: Vec<(String, String)> = delivered("digest")
            .into_iter()
            .filter(|(u, _, _)| u == "frank")
            .map(|(_, d, s)| (d, s))
            .collect();
        assert!(
            !digests
                .iter()
                .any(|(d, _)| d.starts_with("2026-03-10") || d.starts_with("2026-03-11")),
            "{backend}: {digests:?}"
        );
        let after = digests
            .iter()
            .find(|(d, _)| d.starts_with("2026-03-12"))
            .unwrap_or_else(|| panic!("{backend}: no digest on the 12th: {digests:?}"));
        assert!(
            after.1.contains("while you were away"),
            "{backend}: {after:?}"
        );
        ctx.store.close().await;
    }
}
