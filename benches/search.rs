//! Team-log search benchmark (not a test): N updates by M members in teams of T, then a set of
//! searches as the log API runs them (one team, ranked, with snippets, 20 a page), each
//! timed. Prints `name value unit` lines; `scripts/bench` runs it on SQLite and PostgreSQL.
//!
//!   cargo bench --bench search -- [--updates 1000000] [--members 2000] [--team-size 100]
//!       [--db sqlite|postgres://…] [--name search]
//!
//! The text is drawn from a vocabulary of 224 words with a skewed frequency (a few words in
//! most updates, most words in few), so the searches range from a word in a third of the
//! updates to one in a few hundred, alone, in pairs and as phrases; each search is one of the
//! words the text holds (an earlier version searched mostly for words it never wrote).

#[path = "support/mod.rs"]
mod support;

use std::time::Instant;

use chrono::Utc;
use sqlx::AssertSqlSafe;
use support::{arg, series, sql_false};
use tidings::config::{Config, SecretString, SecretUrl, Transport};
use tidings::jobs::Ctx;
use tidings::store::{Backend, LogQuery};

const WORDS: &str = "the importer exporter billing staging database migration release review deploy \
rollback incident oncall runbook dashboard metrics alerting latency throughput cache queue worker \
scheduler cron webhook gateway proxy certificate dns firewall vpn kubernetes helm terraform ansible \
docker registry pipeline build test flaky fixture mock integration unit coverage lint format \
refactor cleanup docs readme changelog roadmap planning estimate sprint retro standup sync design \
mockup figma prototype feedback customer support ticket bug crash panic leak memory cpu disk \
network timeout retry backoff jitter lease heartbeat shard replica primary failover backup restore \
snapshot vacuum index query planner schema column table view trigger search ranking snippet \
highlight export import csv json markdown atom feed digest request reminder receipt notice \
quarantine bounce dmarc dkim spf smtp imap postfix dovecot tls rustls openssl ring token session \
cookie login logout oauth oidc saml ldap sso password hash argon scrypt bcrypt secret vault kms \
rotate audit compliance gdpr retention privacy consent invoice payment refund subscription plan \
tier quota limit ratelimit throttle spike load capacity autoscale budget forecast revenue churn \
onboarding signup invite team member observer lead weekly daily catchup holiday timezone dst \
calendar meeting agenda notes minutes decision blocker unblocked resolved escalate mention comment \
reaction thread reply quote signature outlook gmail thunderbird mutt android iphone tablet browser \
chromium firefox safari accessibility lighthouse axe contrast keyboard screenreader aria landmark \
heading focus tabindex zebra quokka";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let num = |name: &str, default: i64| -> anyhow::Result<i64> {
        Ok(arg(&args, name)
            .map(|s| s.parse())
            .transpose()?
            .unwrap_or(default))
    };
    let updates = num("--updates", 1_000_000)?;
    let members = num("--members", 2_000)?.max(1);
    let team_size = num("--team-size", 100)?.max(1);
    let name = arg(&args, "--name").unwrap_or_else(|| "search".into());
    let db = arg(&args, "--db").unwrap_or_else(|| "sqlite".into());
    let dir = tempfile::tempdir()?;
    let (url, suffix) = if db == "sqlite" {
        (
            format!("sqlite://{}", dir.path().join("search.db").display()),
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
    let backend = ctx.store.backend();

    let t = Instant::now();
    seed(&ctx, backend, updates, members, team_size).await?;
    eprintln!(
        "seeded {updates} updates by {members} members in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let words: Vec<&str> = WORDS.split_whitespace().collect();
    // The words `seed` writes are those at k² mod the vocabulary's size (its skew), the small
    // k the most often: common, middling and rare ones, pairs, phrases and an exclusion.
    let word = |k: usize| words[(k * k) % words.len()];
    let mut searches: Vec<String> = Vec::new();
    for k in [1usize, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 200, 233] {
        searches.push(word(k).to_string());
    }
    for (a, b) in [(1usize, 7usize), (2, 40), (10, 90), (60, 150), (3, 230)] {
        searches.push(format!("{} {}", word(a), word(b)));
    }
    searches.push(format!("\"{} {}\"", word(1), word(2)));
    searches.push(format!("\"waiting on {}\"", word(6)));
    searches.push(format!("{} -{}", word(4), word(5)));
    let teams = (members + team_size - 1) / team_size;

    // Warm the caches once, then time every search in three teams each.
    let mut times = Vec::new();
    for round in 0..2 {
        for (i, q) in searches.iter().enumerate() {
            for k in 0..3 {
                let team = format!("team{}", (i as i64 * 7 + k * 13) % teams + 1);
                let query = LogQuery {
                    team,
                    text: tidings::domain::search::Search::parse(q)?,
                    limit: 20,
                    ..Default::default()
                };
                let t = Instant::now();
                let page = ctx.store.team_log(&query).await?;
                let ms = t.elapsed().as_secs_f64() * 1000.0;
                if round == 1 {
                    times.push(ms);
                    if k == 0 {
                        eprintln!(
                            "{q:?}: {} results on the page, {ms:.1} ms",
                            page.entries.len()
                        );
                    }
                }
            }
        }
    }
    times.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| {
        times[((times.len() as f64 * p).ceil() as usize)
            .saturating_sub(1)
            .min(times.len() - 1)]
    };
    println!("{name}_p50_ms{suffix} {:.1} ms", pct(0.50));
    println!("{name}_p95_ms{suffix} {:.1} ms", pct(0.95));
    println!("{name}_max_ms{suffix} {:.1} ms", pct(1.0));

    // The log without a search: the first page of a team, newest first.
    let mut list = Vec::new();
    for k in 0..20 {
        let q = LogQuery {
            team: format!("team{}", k % teams + 1),
            limit: 50,
            ..Default::default()
        };
        let t = Instant::now();
        ctx.store.team_log(&q).await?;
        list.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    list.sort_by(|a, b| a.total_cmp(b));
    println!("log_page_p95_ms{suffix} {:.1} ms", list[18]);
    ctx.store.close().await;
    Ok(())
}

/// `n` updates: member `x % members + 1`, one a day going back, words picked with a skew.
async fn seed(
    ctx: &Ctx,
    backend: Backend,
    n: i64,
    members: i64,
    team_size: i64,
) -> anyhow::Result<()> {
    let now = Utc::now().timestamp();
    let teams = (members + team_size - 1) / team_size;
    let words: Vec<&str> = WORDS.split_whitespace().collect();
    // Every word padded to 16 characters in one string: word i is substr(list, i * 16 + 1, 16).
    let list: String = words.iter().map(|w| format!("{w:<16}")).collect();
    let nw = words.len() as i64;
    // A skewed pick: (k * k) % nw over k spreads unevenly; squaring a smaller range favours the
    // first words. k moves with the day as well as with x, so every member uses the whole
    // vocabulary over time (with x alone, x ≡ member mod `members` fixed most of each
    // member's words, and most words never occurred in a given team).
    let v = format!("(x + ((x - 1) / {members}) * 131)");
    let w = |salt: i64, spread: i64| {
        format!(
            "trim(substr('{list}', (((({v} * {salt}) % {spread}) * (({v} * {salt}) % {spread})) % {nw}) * 16 + 1, 16))"
        )
    };
    let body = format!(
        "'Done: ' || {} || ' ' || {} || ' for the ' || {} || ' ' || {} || ' #' || x || '.' || {nl} || 'Next: ' || {} || ' and ' || {} || ' ' || {} || '.' || CASE WHEN x % 10 = 0 THEN {nl} || 'Blockers: waiting on ' || {} ELSE '' END",
        w(7, 16),
        w(13, 60),
        w(17, 240),
        w(19, 240),
        w(23, 30),
        w(29, 240),
        w(31, 240),
        w(37, 40),
        nl = match backend {
            Backend::Sqlite => "char(10)",
            Backend::Postgres => "chr(10)",
        },
    );
    let f = sql_false(backend);
    // The day: x / members days back, so each member writes once a day.
    let date = match backend {
        Backend::Sqlite => format!("date('now', '-' || ((x - 1) / {members}) || ' days')"),
        Backend::Postgres => {
            format!("to_char(current_date - ((x - 1) / {members})::int, 'YYYY-MM-DD')")
        }
    };
    let statements = [
        format!("INSERT INTO teams (name, created_at) SELECT 'team' || x, {now} FROM ({}) s", series(backend, teams)),
        format!(
            "INSERT INTO members (email, name, timezone, request_at, digest_at, workdays, paused, unsubscribed, created_at, updated_at)
             SELECT 'm' || x || '@bench.test', 'Member ' || x, 'UTC', '16:30', '08:30', 31, {f}, {f}, {now}, {now} FROM ({}) s",
            series(backend, members)
        ),
        format!(
            "INSERT INTO team_members (team_id, member_id)
             SELECT t.id, m.id FROM members m JOIN teams t ON t.name = 'team' || ((m.id - 1) / {team_size} + 1)"
        ),
        format!(
            "INSERT INTO updates (member_id, local_date, body, source, revision, created_at, updated_at)
             SELECT (x - 1) % {members} + 1, {date}, {body}, 'api', 1, {now}, {now} FROM ({}) s",
            series(backend, n)
        ),
    ];
    for sql in statements {
        sqlx::query(AssertSqlSafe(sql))
            .execute(ctx.store.pool())
            .await?;
    }
    sqlx::query("ANALYZE").execute(ctx.store.pool()).await?;
    Ok(())
}
