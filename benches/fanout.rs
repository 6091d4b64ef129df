//! Digest fan-out benchmark (not a test): N members in teams of T, one update each, every
//! digest due at once; one planning pass queues the digests and the outbox drains them over
//! SMTP. Prints `name value unit` lines; `scripts/bench` runs it against the rig's Postfix and
//! against Postfix's `smtp-sink`, next to `smtp-source` with the same size and concurrency.
//!
//!   cargo bench --bench fanout -- --smtp 127.0.0.1:PORT [--name fanout_smtp] [--members 10000]
//!       [--team-size 100] [--concurrency 10] [--domain blackhole.test] [--db sqlite|postgres://…]
//!       [--unrecorded-max N]   (mail.smtp.unrecorded_max; 0, the default: one per session)
//!       [--phases]   (queue everything, then send; times each phase and prints the CPU the
//!                     sending took per digest, `<name>_send_cpu_ms_per_digest`)
//!   cargo bench --bench fanout -- --digest-html   (only `digest_html_kb_100`: the HTML of a
//!       100-member team's digest with 6-line updates; no database, no SMTP)
//!
//! Recipients are `m<i>@<domain>`; the rig's Postfix accepts `blackhole.test` and discards it,
//! so the figure is "due → accepted by Postfix". Also prints the mean digest size (for
//! `smtp-source -l`) and the process's peak resident memory.

#[path = "support/mod.rs"]
mod support;

use std::time::Instant;

use chrono::{Duration, Utc};
use sqlx::AssertSqlSafe;
use support::{arg, series, sql_false};
use tidings::config::{Config, SecretString, SecretUrl, Security, Transport};
use tidings::jobs::Ctx;
use tidings::store::Backend;

fn num(args: &[String], name: &str, default: i64) -> anyhow::Result<i64> {
    Ok(arg(args, name)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(default))
}

/// Peak resident set size of this process in MB (VmHWM), the figure `rss_fanout_mb` reports.
pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

/// CPU time (user + system, all threads) this process used so far, in ms, from
/// `/proc/self/stat` (clock ticks of 10 ms: Linux's USER_HZ is 100).
fn cpu_ms() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // After the command name in parentheses: state is field 3, utime 14, stime 15.
            let rest = s.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ticks = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
            Some(ticks * 10.0)
        })
        .unwrap_or(f64::NAN)
}

/// The HTML size (KB) of one reader's digest in a team of `size` where every teammate wrote a
/// 6-line update (two lines each of done, next and, for every third, blockers): the figure
/// Gmail's clipping at about 102 KB is about.
fn digest_html_kb(size: usize) -> f64 {
    use tidings::render::{DigestEntry, DigestSection, DigestView, digest_parts};
    let date = chrono::NaiveDate::from_ymd_opt(2026, 3, 10).unwrap_or_default();
    let entries = (1..size)
        .map(|i| {
            let blockers = if i % 3 == 0 {
                "Blockers: waiting for access to the staging database since Monday\nand for the vendor's answer on the SSO callback URL"
            } else {
                "Next: on-call handover notes for the weekend\nand the quarterly capacity review with the SRE team"
            };
            DigestEntry {
                update_id: i as i64,
                revision: 1,
                author_id: i as i64,
                author: format!("Member {i}"),
                author_tz: "Europe/Berlin".into(),
                local_date: date,
                sections: tidings::domain::sections::split(
                    &format!(
                        "Done: reviewed PR #{i} for the billing service\nand fixed two flaky tests in the importer\nNext: pair with the data team on the nightly export\nthen write the migration notes for the release\n{blockers}"
                    ),
                    &[],
                )
                .into(),
                edited: false,
                late: false,
                resolved: false,
                resolved_on: None,
                        followed: false,
            folded: false,
}
        })
        .collect();
    let prefs = "https://tidings.example.test/p/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let view = DigestView {
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
        }],
        prefs_url: prefs,
        needs_only: false,
    };
    digest_parts(&view).1.len() as f64 / 1024.0
}

/// A realistic update: done / next / a blocker for every tenth member.
fn update_sql(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => {
            "'Done: reviewed PR #' || x || ' for the billing service and fixed two flaky tests in the importer.' || char(10) || 'Next: pair with the data team on the nightly export; write the migration notes.' || CASE WHEN x % 10 = 0 THEN char(10) || 'Blocked: waiting for access to the staging database.' ELSE '' END"
        }
        Backend::Postgres => {
            "'Done: reviewed PR #' || x || ' for the billing service and fixed two flaky tests in the importer.' || chr(10) || 'Next: pair with the data team on the nightly export; write the migration notes.' || CASE WHEN x % 10 = 0 THEN chr(10) || 'Blocked: waiting for access to the staging database.' ELSE '' END"
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--digest-html") {
        println!("digest_html_kb_100 {:.1} KB", digest_html_kb(100));
        return Ok(());
    }
    let members = num(&args, "--members", 10_000)?;
    let team_size = num(&args, "--team-size", 100)?.max(1);
    let concurrency = num(&args, "--concurrency", 10)?.max(1) as usize;
    let name = arg(&args, "--name").unwrap_or_else(|| "fanout_smtp".into());
    let domain = arg(&args, "--domain").unwrap_or_else(|| "blackhole.test".into());
    let smtp = arg(&args, "--smtp").ok_or_else(|| {
        anyhow::anyhow!("--smtp HOST:PORT is required (scripts/bench passes the rig's Postfix)")
    })?;
    let (host, port) = smtp
        .rsplit_once(':')
        .ok_or_else(|| anyhow::anyhow!("--smtp wants HOST:PORT, got {smtp}"))?;
    let db = arg(&args, "--db").unwrap_or_else(|| "sqlite".into());
    let dir = tempfile::tempdir()?;
    let url = if db == "sqlite" {
        format!("sqlite://{}", dir.path().join("fanout.db").display())
    } else {
        db.clone()
    };

    let mut cfg = Config::default();
    cfg.database.url = SecretUrl(url);
    cfg.mail.transport = Transport::Smtp;
    cfg.mail.from = "Tidings <tidings@example.test>".parse().unwrap();
    cfg.mail.reply_to = tidings::domain::EmailAddress::parse("updates@example.test").unwrap();
    cfg.mail.smtp.host = host.into();
    cfg.mail.smtp.port = port.parse()?;
    cfg.mail.smtp.security = Security::None;
    cfg.mail.smtp.pool_size = concurrency as u32;
    cfg.mail.smtp.concurrency = concurrency;
    cfg.mail.smtp.unrecorded_max = num(&args, "--unrecorded-max", 0)? as usize;
    cfg.security.secret = SecretString::new("bench-secret-0123456789abcdef");
    let ctx = Ctx::build(cfg).await?;
    let backend = ctx.store.backend();

    // Seed: teams, members (digest due now, request far away), one update each for yesterday.
    let now = Utc::now();
    let ts = now.timestamp();
    let today = now.date_naive();
    let yesterday = today - Duration::days(1);
    let teams = (members + team_size - 1) / team_size;
    let t = Instant::now();
    let series = |n: i64| series(backend, n);
    let f = sql_false(backend);
    let statements = [
        format!(
            "INSERT INTO teams (name, created_at) SELECT 'team' || x, {ts} FROM ({}) s",
            series(teams)
        ),
        format!(
            "INSERT INTO members (email, name, timezone, request_at, digest_at, workdays, paused, unsubscribed,
               next_request_at, next_request_date, next_digest_at, next_digest_date, created_at, updated_at)
             SELECT 'm' || x || '@{domain}', 'Member ' || x, 'UTC', '16:30', '08:30', 127, {f}, {f},
               {far}, '{today}', {due}, '{today}', {ts}, {ts} FROM ({}) s",
            series(members),
            far = ts + 30 * 86_400,
            due = ts - 60,
        ),
        format!(
            "INSERT INTO team_members (team_id, member_id)
             SELECT t.id, m.id FROM members m JOIN teams t ON t.name = 'team' || ((m.id - 1) / {team_size} + 1)"
        ),
        format!(
            "INSERT INTO updates (member_id, local_date, body, source, revision, created_at, updated_at)
             SELECT x, '{yesterday}', {body}, 'api', 1, {ts} - 3600, {ts} - 3600 FROM ({}) s",
            series(members),
            body = update_sql(backend),
        ),
        // Each update's revision as written: digests are composed from these when sent.
        "INSERT INTO update_revisions (update_id, revision, body, sections, created_at)
         SELECT id, revision, body, sections, updated_at FROM updates"
            .to_string(),
    ];
    for sql in statements {
        sqlx::query(AssertSqlSafe(sql))
            .execute(ctx.store.pool())
            .await?;
    }
    if backend == Backend::Postgres {
        sqlx::query("ANALYZE").execute(ctx.store.pool()).await?;
    }
    eprintln!(
        "seeded {members} members in {teams} teams in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    // Due → queued → accepted by the SMTP server, in the same pass as `serve` runs: planning
    // and sending at once.
    let t = Instant::now();
    let (p, s) = if args.iter().any(|a| a == "--phases") {
        // Diagnostics: queue everything first, then send, and time each phase.
        let p = tidings::jobs::plan::run(&ctx, now).await?;
        let queued = t.elapsed().as_secs_f64();
        let cpu = cpu_ms();
        let s = tidings::jobs::send::run(&ctx, now).await?;
        let cpu = cpu_ms() - cpu;
        let sent = t.elapsed().as_secs_f64() - queued;
        println!(
            "{name}_queue_per_s {:.0} digests/s",
            members as f64 / queued
        );
        println!("{name}_send_per_s {:.0} digests/s", members as f64 / sent);
        println!(
            "{name}_send_cpu_ms_per_digest {:.2} ms",
            cpu / s.sent.max(1) as f64
        );
        (p, s)
    } else {
        let (p, s) = tidings::app::plan_and_send_logged(&ctx, now, "bench").await;
        (p?, s?)
    };
    let total = t.elapsed().as_secs_f64();
    anyhow::ensure!(
        p.digests as i64 == members && s.sent as i64 == members && s.failed == 0,
        "every member gets one digest: plan {p:?}, send {s:?}"
    );
    // The size of a digest as sent (composed again from its row: the same bytes).
    let rows = ctx.store.list_outbox(false, 1).await?;
    let row = rows
        .first()
        .ok_or_else(|| anyhow::anyhow!("no digest queued"))?;
    let bytes = tidings::jobs::compose::message_of(&ctx, row).await?.len();
    // What the outbox stores per reader: the row's own columns and any stored body (a digest
    // stores its manifest instead of bytes); the ledger of what reached whom is not counted.
    let stored: i64 = sqlx::query_scalar(
        "SELECT CAST(SUM(LENGTH(idem_key) + LENGTH(kind) + LENGTH(recipient) + LENGTH(message_id)
                + LENGTH(subject) + COALESCE(LENGTH(local_date), 0) + COALESCE(LENGTH(manifest), 0)
                + COALESCE(LENGTH(last_error), 0) + 8 * 8
                + COALESCE((SELECT LENGTH(b.body) FROM outbox_bodies b WHERE b.outbox_id = outbox.id), 0))
                AS BIGINT)
         FROM outbox WHERE kind = 'digest'",
    )
    .fetch_one(ctx.store.pool())
    .await?;
    eprintln!("queued and sent {} digests in {total:.1} s", p.digests);
    println!("{name}_per_s {:.0} digests/s", members as f64 / total);
    println!("{name}_digest_bytes {bytes} bytes");
    println!(
        "{name}_bytes_per_reader {:.0} bytes",
        stored as f64 / members as f64
    );
    println!("rss_{name}_mb {:.0} MB", peak_rss_mb());
    ctx.store.close().await;
    Ok(())
}
