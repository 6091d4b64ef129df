//! The command line (clap derive). Each command parses all of its input before touching the
//! database, so bad input exits 2 and writes nothing.

mod activity;
mod args;
mod calendar;
mod chat;
mod checkin;
pub mod dbcopy;
pub mod demo;
pub mod doctor;
pub mod import;
mod mail;
mod member;
mod offline;
pub mod reference;
mod team;
mod token;
mod webhook;

pub use args::*;

use std::io::Read;

use anyhow::{Context, anyhow};
use chrono::{DateTime, NaiveDate, Utc};

use crate::config::{Config, LogFormat};
use crate::domain::rfc3339;
use crate::domain::schedule::{local_date, parse_tz};
use crate::domain::token::{generate_api_token, hash_api_token};
use crate::domain::{
    AwayRange, Cadence, EmailAddress, LocalTime, MemberView, Schedule, Workdays, parse_team_name,
};
use crate::jobs::Ctx;
use crate::mail::extract;
use crate::store::{MemberChange, Store, StoreError};

/// Bad input or configuration: exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Some parts of a pass failed while the others did their work: exit code 3. The failures
/// were already printed.
#[derive(Debug, thiserror::Error)]
#[error("{failed} of {parts} parts of the pass failed")]
pub struct PartlyFailed {
    pub failed: usize,
    pub parts: usize,
}

fn usage(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(msg.into()))
}

pub fn load_config(cli: &Cli) -> anyhow::Result<Config> {
    let env: Vec<(String, String)> = std::env::vars().collect();
    let (mut cfg, _) =
        Config::load(cli.config.as_deref(), &env).map_err(|e| usage(e.to_string()))?;
    if let Some(f) = cli.log_format {
        cfg.log.format = match f {
            LogFormatArg::Human => LogFormat::Human,
            LogFormatArg::Json => LogFormat::Json,
        };
    }
    Ok(cfg)
}

fn parse_email(s: &str) -> anyhow::Result<EmailAddress> {
    EmailAddress::parse(s).map_err(|e| usage(e.to_string()))
}

fn parse_rfc3339(s: &str, what: &str) -> anyhow::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|_| {
            usage(format!(
                "invalid {what} {s:?}: expected RFC 3339 such as 2026-03-08T07:30:00Z"
            ))
        })
}

fn parse_date(s: &str) -> anyhow::Result<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| usage(format!("invalid date {s:?}: expected YYYY-MM-DD")))
}

fn store_err(e: StoreError) -> anyhow::Error {
    match e {
        StoreError::Conflict(m) | StoreError::NotFound(m) | StoreError::Limit(m) => usage(m),
        StoreError::Other(e) => e,
    }
}

/// The member with `email`, or a usage error naming the address.
async fn member_named(s: &Store, email: &EmailAddress) -> anyhow::Result<crate::domain::Member> {
    s.member_by_email(email)
        .await
        .map_err(store_err)?
        .ok_or_else(|| usage(format!("no member with email {email}")))
}

async fn open_store(cfg: &Config) -> anyhow::Result<Store> {
    let store = Store::connect(&cfg.database.url.0, cfg.database.max_connections)
        .await?
        .with_web_base(&cfg.web.base_url);
    migrate_shown(&store).await?;
    Ok(store)
}

/// Applies the pending migrations one at a time, each named on a progress bar (on a terminal;
/// one can take minutes on a large database).
async fn migrate_shown(store: &Store) -> anyhow::Result<()> {
    let pending = store.pending_migrations().await?;
    if pending.is_empty() {
        return Ok(());
    }
    let bar = progress_bar(pending.len() as u64, "migrating");
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    for (version, description) in &pending {
        bar.set_message(format!("migrating: {version} {description}"));
        store.migrate_to(*version).await?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    // Anything the steps did not cover (there is none when they all ran) is applied here.
    store.migrate().await
}

/// Runs `f` with an open store and always closes it (so SQLite checkpoints its WAL and the
/// database file is left tidy, also after an error).
async fn with_store<T>(
    cfg: &Config,
    f: impl AsyncFnOnce(&Store) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let store = open_store(cfg).await?;
    let r = f(&store).await;
    store.close().await;
    r
}

async fn with_ctx<T>(
    cfg: Config,
    f: impl AsyncFnOnce(&Ctx) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let ctx = Ctx::build(cfg).await?;
    let r = f(&ctx).await;
    ctx.store.close().await;
    r
}

/// `--quiet`: no progress bars.
static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A count of things done for a long command whose total is not known beforehand (a spinner
/// and the count); hidden like [`progress_bar`].
pub fn progress_count(what: &str) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if QUIET.load(std::sync::atomic::Ordering::Relaxed) || !std::io::stdout().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new_spinner();
    if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {msg}: {pos} ({elapsed})")
    {
        bar.set_style(style);
    }
    bar.set_message(what.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    QUIET.store(cli.quiet, std::sync::atomic::Ordering::Relaxed);
    // Commands that need no configuration or database.
    match &cli.command {
        Command::Reply {
            cmd:
                ReplyCmd::Extract {
                    format,
                    file,
                    sections,
                    json,
                },
        } => {
            let shape = match (sections, json) {
                (_, true) => offline::Shape::Json,
                (true, _) => offline::Shape::Sections,
                _ => offline::Shape::Text,
            };
            return offline::reply_extract(*format, file.as_deref(), shape);
        }
        Command::Openapi => {
            let doc = serde_json::to_string_pretty(crate::web::openapi::document())?;
            crate::outln!("{doc}");
            return Ok(());
        }
        Command::Completions { shell } => return reference::completions(*shell),
        Command::Man { dir } => return reference::man_pages(dir),
        Command::Schedule {
            cmd:
                ScheduleCmd::Next {
                    tz,
                    at,
                    days,
                    after,
                    count,
                },
        } => {
            return offline::schedule_next(tz, at, days.as_deref(), after, *count);
        }
        Command::Demo { dir } => {
            crate::telemetry::init(LogFormat::Human, "warn");
            return crate::cli::demo::run(dir.clone()).await;
        }
        // Both databases are named on the command line: the configured one may be either.
        Command::Db {
            cmd: DbCmd::Copy { from, to },
        } => {
            crate::telemetry::init(LogFormat::Human, "warn");
            return dbcopy::db_copy(from, to).await;
        }
        _ => {}
    }
    let cfg = load_config(&cli)?;
    crate::telemetry::init(cfg.log.format, &cfg.log.level);
    match cli.command {
        Command::Serve => {
            let app = crate::app::App::build(cfg).await?;
            app.run_until_stopped(crate::app::shutdown_signal()).await
        }
        Command::Migrate => {
            with_store(&cfg, async |_| Ok(())).await?;
            crate::outln!("database migrated: {}", cfg.database.url.redacted());
            Ok(())
        }
        Command::Config {
            cmd: ConfigCmd::Check,
        } => {
            crate::out!("{}", cfg.to_redacted_toml());
            Ok(())
        }
        Command::Doctor { send_test } => crate::cli::doctor::run(cfg, send_test).await,
        Command::Member { cmd } => member::run(cfg, cmd).await,
        Command::Team { cmd } => team::run(cfg, cmd).await,
        Command::Checkin { cmd } => checkin::run(cfg, cmd).await,
        Command::Token { cmd } => token::run(cfg, cmd).await,
        Command::Webhook { cmd } => webhook::run(cfg, cmd).await,
        Command::RunDue { now } => mail::run_due(cfg, now).await,
        Command::Preview {
            cmd:
                PreviewCmd::Digest {
                    member,
                    date,
                    html,
                    text: _,
                },
        } => mail::preview_digest(cfg, member, date, html).await,
        Command::Outbox {
            cmd: OutboxCmd::List { failed, limit },
        } => mail::outbox_list(cfg, failed, limit).await,
        Command::Export(a) => mail::export(cfg, a).await,
        Command::Inbox {
            cmd: InboxCmd::Quarantine { cmd },
        } => mail::quarantine(cfg, cmd).await,
        Command::Reply { .. }
        | Command::Schedule { .. }
        | Command::Openapi
        | Command::Completions { .. }
        | Command::Man { .. }
        | Command::Demo { .. }
        | Command::Db { .. } => Ok(()),
    }
}

/// A progress bar for a long command; hidden when stdout is not a terminal (pipes, cron, tests)
/// so that scripted output stays clean.
pub fn progress_bar(len: u64, what: &str) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if QUIET.load(std::sync::atomic::Ordering::Relaxed) || !std::io::stdout().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    bar
}
