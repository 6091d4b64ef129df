//! Criterion micro-benchmarks of the pure hot paths, for `cargo bench`: reply extraction (one
//! reply of each kind from the labelled corpus layout, plus the whole corpus when it is there),
//! schedule computation (next fire instant in zones with and without DST, on a gap day),
//! digest rendering (text, HTML and the complete multipart message of a 100-member team), and
//! calendars (each fixture of tests/fixtures/calendars read into one member's away days over
//! the calendar job's window of about 13 months), and activity feeds (each fixture of
//! tests/fixtures/feeds read into entries, and the draft of all of them together).
//!
//!   cargo bench --bench micro                  all of them
//!   cargo bench --bench micro -- schedule      only those whose name contains "schedule"
//!
//! The figures of `scripts/bench` (fan-out, planning, ingest) are separate programs; see the
//! manual's Benchmarks (docs/src/development/benchmarks.md).

#[path = "support/mod.rs"]
mod support;

use std::hint::black_box;

use chrono::{NaiveDate, TimeZone, Utc};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use tidings::domain::schedule::{LocalTime, Schedule, Workdays, parse_tz};
use tidings::domain::{EmailAddress, MailKind};
use tidings::mail::extract::{detect_format, extract};
use tidings::mail::outbound::{Outgoing, build};
use tidings::render::{
    DigestEntry, DigestSection, DigestView, digest_html, digest_subject, digest_text,
};

/// Replies written the way common clients write them; always available, so the bench runs
/// without the shared corpus too.
const GMAIL_TEXT: &str = "Done: shipped the importer fix and reviewed two PRs.\nNext: the nightly export.\nBlockers: none\n\nOn Tue, 10 Mar 2026 at 16:30, Tidings <updates@example.test> wrote:\n> What did you get done today?\n> What is next?\n> Anything blocking you?\n>\n> -- \n> Change your preferences: http://127.0.0.1:8080/p/abc\n";
const OUTLOOK_HTML: &str = "<html><body><div>Finished the billing migration.<br>Next: on call.</div><div><br></div><div>Best,<br>Ann</div><div id=\"appendonsend\"></div><hr style=\"display:inline-block;width:98%\"><div id=\"divRplyFwdMsg\"><b>From:</b> Tidings &lt;updates@example.test&gt;<br><b>Sent:</b> Tuesday, March 10, 2026 4:30 PM<br><b>Subject:</b> Your update for Tue 10 Mar</div><div>What did you get done today?</div></body></html>";

fn extraction(c: &mut Criterion) {
    let mut g = c.benchmark_group("extract");
    for (name, input) in [("gmail_text", GMAIL_TEXT), ("outlook_html", OUTLOOK_HTML)] {
        g.throughput(Throughput::Elements(1));
        g.bench_function(name, |b| {
            b.iter(|| extract(black_box(input.as_bytes()), detect_format(input.as_bytes())))
        });
    }
    // Without the shared corpus (a checkout of this repository alone) the group still runs.
    let corpus = support::corpus_inputs(&support::corpus_dir()).unwrap_or_default();
    if !corpus.is_empty() {
        g.throughput(Throughput::Elements(corpus.len() as u64));
        g.bench_function(format!("corpus_{}_replies", corpus.len()), |b| {
            b.iter(|| {
                corpus
                    .iter()
                    .map(|c| extract(black_box(c), detect_format(c)).len())
                    .sum::<usize>()
            })
        });
    }
    g.finish();
}

fn schedule(c: &mut Criterion) {
    let mut g = c.benchmark_group("schedule");
    let after = Utc.with_ymd_and_hms(2026, 3, 7, 12, 0, 0).single();
    let Some(after) = after else { return };
    let cases: [(&str, &str, &str, &str); 4] = [
        ("next_utc_weekdays", "UTC", "08:30", "mon,tue,wed,thu,fri"),
        (
            "next_berlin_weekdays",
            "Europe/Berlin",
            "08:30",
            "mon,tue,wed,thu,fri",
        ),
        // 02:30 on 8 March 2026 does not exist in New York: the gap rule runs.
        ("next_new_york_gap_day", "America/New_York", "02:30", "sun"),
        (
            "next_lord_howe_daily",
            "Australia/Lord_Howe",
            "16:30",
            "mon,tue,wed,thu,fri,sat,sun",
        ),
    ];
    for (name, tz, at, days) in cases {
        let s = Schedule {
            tz: parse_tz(tz).expect("zone"),
            at: LocalTime::parse(at).expect("time"),
            days: Workdays::parse(days).expect("days"),
        };
        g.bench_function(name, |b| {
            b.iter(|| black_box(&s).next_after(black_box(after)))
        });
    }
    let s = Schedule {
        tz: parse_tz("America/New_York").expect("zone"),
        at: LocalTime::parse("16:30").expect("time"),
        days: Workdays::parse("mon,tue,wed,thu,fri").expect("days"),
    };
    g.throughput(Throughput::Elements(365));
    g.bench_function("next_365_new_york", |b| {
        b.iter(|| black_box(&s).next_n(black_box(after), 365))
    });
    g.finish();
}

/// The digest of one reader in a team of `size`: every teammate wrote, every tenth a blocker.
fn team_digest(size: usize) -> DigestView<'static> {
    let date = NaiveDate::from_ymd_opt(2026, 3, 10).expect("date");
    let entries = (1..size)
        .map(|i| DigestEntry {
            checkin: None,
            update_id: i as i64,
            revision: 1,
            author_id: i as i64,
            author: format!("Member {i}"),
            author_tz: "Europe/Berlin".into(),
            local_date: date.pred_opt().unwrap_or(date),
            sections: tidings::domain::sections::split(&format!(
                "Done: reviewed PR #{i} for the billing service and fixed two flaky tests in the importer.\nNext: pair with the data team on the nightly export; write the migration notes.{}",
                if i % 10 == 0 { "\nBlocked: waiting for access to the staging database." } else { "" }
            ), &[]).into(),
            edited: i % 17 == 0,
            late: false,
            resolved: false,
            resolved_on: None,
                followed: false,
        folded: false,
})
        .collect();
    DigestView {
        reader_name: "Member 0",
        teams: &[],
        date,
        local_hour: Some(8),
        kind: Default::default(),
        own: None,
        carried: Vec::new(),
        mentions: Vec::new(),
        comments: Vec::new(),
        comment_to: Default::default(),
        sections: vec![DigestSection {
            team: None,
            entries,
            missing: vec![],
            scales: vec![],
        }],
        prefs_url: "http://127.0.0.1:8080/p/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        needs_only: false,
    }
}

fn rendering(c: &mut Criterion) {
    let mut g = c.benchmark_group("render");
    let to = EmailAddress::parse("m0@example.test").expect("address");
    for size in [10usize, 100] {
        let v = team_digest(size);
        g.throughput(Throughput::Elements(1));
        g.bench_function(format!("digest_text_team_{size}"), |b| {
            b.iter(|| digest_text(black_box(&v)))
        });
        g.bench_function(format!("digest_html_team_{size}"), |b| {
            b.iter(|| digest_html(black_box(&v)))
        });
        // What the planner does per reader: both parts, then the complete message.
        let from: tidings::domain::Mailbox = "Tidings <tidings@example.test>".parse().unwrap();
        g.bench_function(format!("digest_message_team_{size}"), |b| {
            b.iter_batched(
                || (),
                |()| {
                    let subject = digest_subject(&v);
                    build(&Outgoing {
                        kind: MailKind::Digest,
                        checkin: None,
                        from: &from,
                        to_name: "Member 0",
                        to: &to,
                        reply_to: None,
                        subject: &subject,
                        message_id: "<digest.1@example.test>",
                        in_reply_to: None,
                        text: digest_text(&v),
                        html: Some(digest_html(&v)),
                        unsubscribe_url: Some("http://127.0.0.1:8080/u/AAAA"),
                        list_id: Some("\"Tidings: core\" <core.tidings.example.com>"),
                        date: 1_773_100_000,
                    })
                    .map(|m| m.len())
                },
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

/// One member's away days from each calendar fixture, over the job's window (a week back,
/// 400 days ahead), as `jobs::calendars` computes them.
fn calendars(c: &mut Criterion) {
    use tidings::domain::calendar::{AwayQuery, AwayWords, CalendarKind, away_days};
    let mut g = c.benchmark_group("calendar");
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/calendars");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<std::path::PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "ics"))
        .collect();
    files.sort();
    let words = AwayWords::default();
    let ignore = std::collections::BTreeSet::new();
    let from = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default();
    let to = NaiveDate::from_ymd_opt(2027, 2, 5).unwrap_or_default();
    let q = AwayQuery {
        tz: parse_tz("Europe/Berlin").expect("zone"),
        request_at: chrono::NaiveTime::from_hms_opt(16, 30, 0).unwrap_or_default(),
        digest_at: chrono::NaiveTime::from_hms_opt(8, 30, 0).unwrap_or_default(),
        words: &words,
        ignore_uids: &ignore,
        from,
        to,
    };
    for f in files {
        let Ok(bytes) = std::fs::read(&f) else {
            continue;
        };
        let name = f
            .file_stem()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let kind = if name.contains("holidays") {
            CalendarKind::Holidays
        } else {
            CalendarKind::Personal
        };
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_function(format!("away_days_{name}"), |b| {
            b.iter(|| away_days(black_box(&bytes), kind, black_box(&q)))
        });
    }
    g.finish();
}

/// Each feed fixture read into entries (as the feed job does on a new copy), and one draft
/// from the entries of all of them (as a request does).
fn activity(c: &mut Criterion) {
    use tidings::domain::activity::{NoiseRules, draft, read};
    let mut g = c.benchmark_group("activity");
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/feeds");
    let mut all = Vec::new();
    for name in [
        "github.atom",
        "gitlab.atom",
        "forgejo.rss",
        "jira.atom",
        "feed.json",
    ] {
        let Ok(bytes) = std::fs::read(format!("{dir}/{name}")) else {
            continue;
        };
        all.extend(read(&bytes).unwrap_or_default());
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_function(format!("read_{name}"), |b| {
            b.iter(|| read(black_box(&bytes)))
        });
    }
    let rules = NoiseRules::defaults();
    let since = "2026-11-26T00:00:00Z"
        .parse::<chrono::DateTime<chrono::Utc>>()
        .unwrap_or_default();
    let mutes = vec!["star".to_string()];
    g.throughput(Throughput::Elements(all.len() as u64));
    g.bench_function("draft_of_all_fixtures", |b| {
        b.iter(|| draft(black_box(&all), since, &mutes, &rules, 100))
    });
    g.finish();
}

criterion_group!(
    benches, extraction, schedule, rendering, calendars, activity
);
criterion_main!(benches);
