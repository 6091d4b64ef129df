//! Golden replay: one ordinary day of team "core" (three members in three zones, reminders
//! on) replayed with the injected clock; every email sent is compared byte for byte with the
//! recordings in `tests/golden/standup-day/` once [`normalise`] has replaced the values that
//! differ from run to run. `TIDINGS_RECORD_GOLDEN=1` (re)writes the recordings instead.
//! SQLite and PostgreSQL are held to the same files.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use regex::Regex;

use crate::helpers::*;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/standup-day")
}

/// `who` replies by email to the request or reminder `sent`, vouched for by our receiving
/// server, and the receipt goes out at once.
async fn reply(app: &TestApp, who: &str, sent: &str, text: &str, now: DateTime<Utc>) {
    let (reply_to, in_reply_to) = reply_headers(&app.read_sent(sent));
    let raw = gmail_reply(
        &format!("{who}@example.test"),
        &reply_to,
        &in_reply_to,
        &format!("{who}-1@client.test"),
        text,
    );
    let r = app
        .deliver(&format!("{who}-1.eml"), &vouched("example.test", &raw), now)
        .await;
    assert_eq!(r.accepted, 1, "{who}'s reply is stored: {r:?}");
    tidings::jobs::send::run(&app.ctx, now).await.expect("send");
}

/// Monday 16 November 2026 (no DST change near) and Tuesday morning. Requests at 16:30 local:
/// Kolkata 11:00Z, Berlin 15:30Z, New York 21:30Z; reminders three hours later; digests at
/// 08:30 local on Tuesday: 03:00Z, 07:30Z, 13:30Z. Ana replies to her request, Ben to his
/// reminder, Priya writes nothing.
async fn replay(app: &TestApp) {
    let ana = app
        .member("ana@example.test", "Ana Lima", "Europe/Berlin")
        .await;
    let ben = app
        .member("ben@example.test", "Ben Carter", "America/New_York")
        .await;
    app.member("priya@example.test", "Priya Rao", "Asia/Kolkata")
        .await;
    for t in ["00:00", "11:00", "14:00", "15:30"] {
        app.tick(at(&format!("2026-11-16T{t}:00Z"))).await;
    }
    let ana_request = format!("request_{ana}_2026-11-16.tidings.eml");
    let words = "Done: the importer\nNext: the runbook\nBlockers: waiting for staging access";
    reply(app, "ana", &ana_request, words, at("2026-11-16T16:05:00Z")).await;
    for t in ["2026-11-16T18:30", "2026-11-16T21:30", "2026-11-17T00:30"] {
        app.tick(at(&format!("{t}:00Z"))).await;
    }
    let ben_reminder = format!("reminder_{ben}_2026-11-16.tidings.eml");
    let words = "Done: billing export\nNext: review @ana's importer";
    reply(app, "ben", &ben_reminder, words, at("2026-11-17T01:00:00Z")).await;
    for t in ["03:00", "07:30", "11:00", "13:30"] {
        app.tick(at(&format!("2026-11-17T{t}:00Z"))).await;
    }
}

/// `raw` with the values that differ between runs replaced by fixed words. Everything else,
/// the text and HTML of every part included, is compared as it is.
fn normalise(raw: &str) -> String {
    // The Date header: left out of the comparison by design (the emails are compared, not the
    // instant they went out). Only the first match, the message's own header: a "Date:" line
    // in someone's update is content. (Set from the injected clock, it is the same every run.)
    let date = Regex::new(r"(?m)^Date: [^\r\n]*").expect("regex");
    // Message-IDs we generate (`<request.<32 hex>@…>`, in Message-ID and in any In-Reply-To or
    // References that point at one of ours) are random per message. The ids of the members'
    // replies, chosen by this test, are kept: a receipt must thread under the reply.
    let msg_id = Regex::new(r"<([a-z]+)\.[0-9a-f]{32}@").expect("regex");
    // MIME boundaries are a hash of the Message-ID (src/mail/outbound.rs), so they change with it.
    let boundary = Regex::new(r"tidings\.[0-9a-f]{32}").expect("regex");
    let s = date.replacen(raw, 1, "Date: <date>");
    let s = msg_id.replace_all(&s, "<$1.<message-id>@");
    boundary.replace_all(&s, "tidings.<boundary>").into_owned()
}

/// The one difference allowed once requests are planned with check-ins: that change adds an
/// `X-Tidings-Checkin:` header to every request and reminder, and nothing else may change. The
/// header (with any folded continuation lines) is dropped from the header section before
/// comparing, so the recordings made without it still hold.
fn drop_checkin_header(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let (mut in_head, mut dropping) = (true, false);
    for line in raw.split_inclusive('\n') {
        if in_head && line.trim_end_matches(['\r', '\n']).is_empty() {
            in_head = false;
        }
        if in_head && !line.starts_with([' ', '\t']) {
            dropping = line
                .get(..18)
                .is_some_and(|name| name.eq_ignore_ascii_case("X-Tidings-Checkin:"));
        }
        if !(in_head && dropping) {
            out.push_str(line);
        }
    }
    out
}

/// Where two texts first differ, as `line N: expected … / actual …`.
fn first_difference(expected: &str, actual: &str) -> String {
    let (mut e, mut a) = (expected.split('\n'), actual.split('\n'));
    for n in 1.. {
        match (e.next(), a.next()) {
            (Some(x), Some(y)) if x == y => continue,
            (None, None) => break,
            (x, y) => {
                let show = |l: Option<&str>| l.map_or("<end of file>".into(), |l| format!("{l:?}"));
                return format!(
                    "line {n}:\n    expected {}\n    actual   {}",
                    show(x),
                    show(y)
                );
            }
        }
    }
    "no difference".into()
}

/// The golden name of a sent file: `request_1_2026-11-16.tidings.eml` → `request_1_2026-11-16.eml`.
fn golden_name(sent: &str) -> String {
    format!("{}.eml", sent.trim_end_matches(".tidings.eml"))
}

async fn run(db: Db) {
    let app = TestApp::with(db, |c| c.schedule.reminder_after_hours = 3).await;
    replay(&app).await;
    let emails: Vec<(String, String)> = app
        .sent()
        .iter()
        .map(|n| {
            (
                golden_name(n),
                drop_checkin_header(&normalise(&app.read_sent(n))),
            )
        })
        .collect();
    let dir = golden_dir();
    if std::env::var("TIDINGS_RECORD_GOLDEN").as_deref() == Ok("1") {
        std::fs::create_dir_all(&dir).expect("golden dir");
        for old in std::fs::read_dir(&dir).expect("golden dir").flatten() {
            let name = old.file_name().to_string_lossy().to_string();
            if name.ends_with(".eml") && !emails.iter().any(|(n, _)| *n == name) {
                std::fs::remove_file(old.path()).expect("stale golden file removed");
            }
        }
        for (name, text) in &emails {
            // Through a temporary name: the other backend's test may be writing the same file.
            let tmp = dir.join(format!(".{name}.{db:?}.tmp"));
            std::fs::write(&tmp, text).expect("golden file written");
            std::fs::rename(&tmp, dir.join(name)).expect("golden file moved");
        }
        println!(
            "recorded {} emails ({db:?}) in {}",
            emails.len(),
            dir.display()
        );
        return;
    }
    let mut recorded: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| {
            panic!(
                "no recordings in {} ({e}): record them with TIDINGS_RECORD_GOLDEN=1",
                dir.display()
            )
        })
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".eml"))
        .collect();
    recorded.sort();
    let sent: Vec<String> = emails.iter().map(|(n, _)| n.clone()).collect();
    assert_eq!(
        sent, recorded,
        "the emails sent ({db:?}) are not the emails recorded"
    );
    let mut differences = Vec::new();
    for (name, actual) in &emails {
        let expected = std::fs::read_to_string(dir.join(name)).expect("golden file");
        let expected = drop_checkin_header(&expected);
        if expected != *actual {
            differences.push(format!("{name}: {}", first_difference(&expected, actual)));
        }
    }
    assert!(
        differences.is_empty(),
        "{} of {} emails ({db:?}) differ from the recordings in {}:\n{}",
        differences.len(),
        emails.len(),
        dir.display(),
        differences.join("\n")
    );
}

// The pair `both!` makes, written out: this day needs reminders on (`TestApp::with`).
mod a_day_of_the_standup_is_the_same_emails_as_recorded {
    use super::*;

    #[tokio::test]
    async fn sqlite() {
        run(Db::Sqlite).await
    }

    #[tokio::test]
    async fn postgres() {
        run(Db::Postgres).await
    }
}

/// The allowed difference is exactly the header: folded lines go with it, the same words in a
/// body stay, and an email without it is unchanged.
#[test]
fn only_the_checkin_header_is_dropped() {
    let with = "From: a\r\nX-Tidings-Checkin: 3;\r\n at=16:30\r\nSubject: s\r\n\r\nX-Tidings-Checkin: 1\r\n";
    let without = "From: a\r\nSubject: s\r\n\r\nX-Tidings-Checkin: 1\r\n";
    assert_eq!(drop_checkin_header(with), without);
    assert_eq!(drop_checkin_header(without), without);
}
