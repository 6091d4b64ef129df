//! Planning-pass benchmark (not a test): one pass over a database of N members with none due,
//! then with K due, on SQLite or PostgreSQL. Prints `name value unit` lines.
//!
//!   cargo bench --bench plan -- [--members 1000000] [--due 10000] [--db sqlite|postgres://…]
//!
//! Members are seeded with one set-based INSERT (a recursive CTE on SQLite, generate_series on
//! PostgreSQL) across four zones; their next instants lie in the coming day, so an idle pass
//! finds nothing due. Then K members are made due for their local today and one pass queues
//! their requests (rendering, signing and inserting each email).

#[path = "support/mod.rs"]
mod support;

use std::time::Instant;

use chrono::{Duration, Utc};
use sqlx::AssertSqlSafe;
use support::{arg, series, sql_false};
use tidings::config::{Config, SecretString, SecretUrl, Transport};
use tidings::domain::schedule::local_date;
use tidings::jobs::{Ctx, plan};
use tidings::store::Backend;

const ZONES: [&str; 4] = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo"];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let members: i64 = arg(&args, "--members")
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let due: i64 = arg(&args, "--due")
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(10_000);
    let db = arg(&args, "--db").unwrap_or_else(|| "sqlite".into());
    let dir = tempfile::tempdir()?;
    let (url, suffix) = if db == "sqlite" {
        (
            format!("sqlite://{}", dir.path().join("bench.db").display()),
            "",
        )
    } else {
        (db.clone(), "_pg")
    };
    let mut cfg = Config::default();
    cfg.database.url = SecretUrl(url);
    cfg.mail.transport = Transport::Maildir;
    cfg.mail.maildir.sent = dir.path().join("sent");
    cfg.mail.maildir.inbox = dir.path().join("inbox");
    cfg.security.secret = SecretString::new("bench-secret-0123456789abcdef");
    let ctx = Ctx::build(cfg).await?;
    let now = Utc::now();
    let ts = now.timestamp();
    let label = human(members);

    let t = Instant::now();
    seed(&ctx, members, ts).await?;
    eprintln!(
        "seeded {members} members in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    // Idle: nothing due. The first pass warms caches; report the median of five.
    plan::run(&ctx, now).await?;
    let mut idle = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let r = plan::run(&ctx, now).await?;
        assert_eq!(
            r.requests + r.digests + r.planned,
            0,
            "an idle pass must do nothing: {r:?}"
        );
        idle.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    idle.sort_by(|a, b| a.total_cmp(b));
    println!("plan_idle_{label}_ms{suffix} {:.2} ms", idle[2]);

    // K due now, for their local today.
    let mut case = String::from("CASE timezone");
    for z in ZONES {
        let d = local_date(z.parse().map_err(|e| anyhow::anyhow!("{e}"))?, now);
        case.push_str(&format!(" WHEN '{z}' THEN '{d}'"));
    }
    case.push_str(" END");
    sqlx::query(AssertSqlSafe(format!(
        "UPDATE members SET next_request_at = {}, next_request_date = {case} WHERE id <= {due}",
        ts - 60
    )))
    .execute(ctx.store.pool())
    .await?;
    let t = Instant::now();
    let r = plan::run(&ctx, now).await?;
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(
        r.requests as i64, due,
        "every due member gets a request: {r:?}"
    );
    println!("plan_due_{}_ms{suffix} {ms:.0} ms", human(due));
    println!(
        "plan_due_per_s{suffix} {:.0} members/s",
        due as f64 / (ms / 1000.0)
    );
    ctx.store.close().await;
    Ok(())
}

fn human(n: i64) -> String {
    if n % 1_000_000 == 0 {
        format!("{}m", n / 1_000_000)
    } else if n % 1000 == 0 {
        format!("{}k", n / 1000)
    } else {
        n.to_string()
    }
}

async fn seed(ctx: &Ctx, n: i64, now: i64) -> anyhow::Result<()> {
    let zone = "CASE x % 4 WHEN 0 THEN 'UTC' WHEN 1 THEN 'Europe/Berlin' WHEN 2 THEN 'America/New_York' ELSE 'Asia/Tokyo' END";
    let tomorrow = (Utc::now() + Duration::days(1)).date_naive();
    let cols = "email, name, timezone, request_at, digest_at, workdays, paused, unsubscribed, next_request_at, next_request_date, next_digest_at, next_digest_date, created_at, updated_at";
    let vals = format!(
        "'m' || x || '@bench.test', 'Member ' || x, {zone}, '16:30', '08:30', 31, {f}, {f}, {now} + 3600 + x % 80000, '{tomorrow}', {now} + 7200 + x % 80000, '{tomorrow}', {now}, {now}",
        f = sql_false(ctx.store.backend())
    );
    let sql = format!(
        "INSERT INTO members ({cols}) SELECT {vals} FROM ({}) s",
        series(ctx.store.backend(), n)
    );
    sqlx::query(AssertSqlSafe(sql))
        .execute(ctx.store.pool())
        .await?;
    if ctx.store.backend() == Backend::Postgres {
        sqlx::query("ANALYZE members")
            .execute(ctx.store.pool())
            .await?;
    }
    Ok(())
}
