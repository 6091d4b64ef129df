//! The command line (clap derive). Each command parses all of its input before touching the
//! database, so bad input exits 2 and writes nothing.

pub mod dbcopy;
pub mod demo;
pub mod doctor;
pub mod import;

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, anyhow};
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::{Config, LogFormat};
use crate::domain::schedule::{local_date, parse_tz};
use crate::domain::token::{generate_api_token, hash_api_token};
use crate::domain::{
    AwayRange, EmailAddress, LocalTime, MemberView, Schedule, Workdays, parse_team_name,
};
use crate::jobs::Ctx;
use crate::mail::extract;
use crate::store::{MemberChange, MemberDefaults, Store, StoreError};

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

#[derive(Parser, Debug)]
#[command(
    name = "tidings",
    version,
    about = "Asynchronous stand-ups by email: update requests and digests at each member's local time."
)]
pub struct Cli {
    /// Config file (else $TIDINGS_CONFIG, else ./tidings.toml, else built-in defaults).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Log format (overrides log.format).
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormatArg>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormatArg {
    Human,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the scheduler, the inbound poller and the web server until SIGTERM or Ctrl-C.
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Configuration commands.
    Config {
        #[command(subcommand)]
        cmd: ConfigCmd,
    },
    /// Check the database, SMTP, IMAP, clock and web settings; say what is wrong and how to fix it.
    Doctor {
        /// Also send a test email to this address.
        #[arg(long, value_name = "ADDRESS")]
        send_test: Option<String>,
    },
    /// Run a sample team through two simulated days, offline, with the Maildir transport.
    Demo {
        /// Folder for the demo's database and mail (default: a new temporary folder).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Manage members.
    Member {
        #[command(subcommand)]
        cmd: MemberCmd,
    },
    /// Manage teams.
    Team {
        #[command(subcommand)]
        cmd: TeamCmd,
    },
    /// API tokens.
    Token {
        #[command(subcommand)]
        cmd: TokenCmd,
    },
    /// One pass: read new replies, queue what is due, send the outbox; then exit.
    ///
    /// Each part runs whatever became of the others. Exit status: 0 every part did its work;
    /// 3 a part failed (stderr names it and what to check) while the others ran; 1 nothing
    /// could be done (the database cannot be opened or written, or every part failed);
    /// 2 bad configuration or arguments.
    RunDue {
        /// Pretend it is this instant (RFC 3339), e.g. 2026-03-09T07:30:00Z.
        #[arg(long, value_name = "RFC3339")]
        now: Option<String>,
    },
    /// Reply parsing tools.
    Reply {
        #[command(subcommand)]
        cmd: ReplyCmd,
    },
    /// Schedule tools.
    Schedule {
        #[command(subcommand)]
        cmd: ScheduleCmd,
    },
    /// Show an email without sending it.
    Preview {
        #[command(subcommand)]
        cmd: PreviewCmd,
    },
    /// Inspect the outbox.
    Outbox {
        #[command(subcommand)]
        cmd: OutboxCmd,
    },
    /// Inbound mail.
    Inbox {
        #[command(subcommand)]
        cmd: InboxCmd,
    },
    /// Database tools (moving from SQLite to PostgreSQL).
    Db {
        #[command(subcommand)]
        cmd: DbCmd,
    },
}

#[derive(Subcommand, Debug)]
pub enum DbCmd {
    /// Copy every table (ids, the server secret, raw inbound mail) from one database into a
    /// new, empty one, in one transaction; e.g. from SQLite to PostgreSQL.
    ///
    /// Stop `tidings serve` and back up first. TO_URL is migrated by the command; it is
    /// refused (exit 2, nothing written) when it already holds members or other data, or when
    /// FROM_URL is not fully migrated. Afterwards point `database.url` at TO_URL. Neither URL
    /// is read from the configuration.
    Copy {
        /// The database to copy from, e.g. sqlite:///var/lib/tidings/var/tidings.db.
        #[arg(value_name = "FROM_URL")]
        from: String,
        /// The new, empty database to copy into, e.g. postgres://tidings:PASSWORD@localhost/tidings.
        #[arg(value_name = "TO_URL")]
        to: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum InboxCmd {
    /// Messages that could not be used, with the reason.
    Quarantine {
        #[command(subcommand)]
        cmd: QuarantineCmd,
    },
}

#[derive(Subcommand, Debug)]
pub enum QuarantineCmd {
    /// List quarantined messages, newest first: id, received, sender, reason.
    List {
        /// As a JSON array.
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// Show a quarantined message: its reason and the raw message.
    Show { id: i64 },
    /// Store the message's text as MEMBER's update (for DATE, default the member's local date
    /// when it arrived), overriding the checks that failed.
    Release {
        id: i64,
        #[arg(long, value_name = "EMAIL")]
        member: String,
        #[arg(long, value_name = "YYYY-MM-DD")]
        date: Option<String>,
    },
    /// Run the normal pipeline again (e.g. after adding an alias), on one message or all.
    Reprocess {
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<i64>,
        #[arg(long)]
        all: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum ConfigCmd {
    /// Validate and print the effective configuration (secrets hidden).
    Check,
}

#[derive(Args, Debug, Default, Clone)]
pub struct MemberOpts {
    /// Display name.
    #[arg(long)]
    pub name: Option<String>,
    /// IANA time zone, e.g. Europe/Berlin.
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<String>,
    /// Local time of the update request (HH:MM, default 16:30).
    #[arg(long, value_name = "HH:MM")]
    pub request_at: Option<String>,
    /// Local time of the digest (HH:MM, default 08:30).
    #[arg(long, value_name = "HH:MM")]
    pub digest_at: Option<String>,
    /// Workdays, e.g. mon,tue,wed,thu,fri (the default).
    #[arg(long, value_name = "DAYS")]
    pub days: Option<String>,
    /// Team (repeat for several; created when missing). With `set`, replaces the member's teams.
    #[arg(long, value_name = "TEAM")]
    pub team: Vec<String>,
}

#[derive(Subcommand, Debug)]
pub enum MemberCmd {
    /// Add a member.
    Add {
        email: String,
        #[command(flatten)]
        opts: MemberOpts,
    },
    /// Change a member's preferences.
    Set {
        email: String,
        #[command(flatten)]
        opts: MemberOpts,
        /// Pause (true) or resume (false) all mail.
        #[arg(long, value_name = "BOOL")]
        paused: Option<bool>,
        /// Unsubscribe (true) or resubscribe (false).
        #[arg(long, value_name = "BOOL")]
        unsubscribed: Option<bool>,
        /// Time away, FROM..TO in local dates (repeat; replaces the list; "none" clears it).
        #[arg(long, value_name = "FROM..TO")]
        away: Vec<String>,
        /// Add another address the member may reply from.
        #[arg(long, value_name = "EMAIL")]
        alias: Vec<String>,
    },
    /// Remove a member and their updates.
    Remove { email: String },
    /// Import members from CSV (header: email,name,timezone,request_at,digest_at,workdays,team); all or nothing.
    Import { file: PathBuf },
    /// Print a signed preferences link for a member.
    Link { email: String },
    /// List members.
    List {
        /// As a JSON array.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum TeamCmd {
    /// Add a team.
    Add {
        name: String,
        /// A question this team's update requests ask (repeat, in order; default: schedule.questions).
        #[arg(long, value_name = "TEXT")]
        question: Vec<String>,
    },
    /// Change a team: its own questions, or back to the configured ones.
    Set {
        name: String,
        /// A question this team's update requests ask (repeat, in order; replaces the list).
        #[arg(
            long,
            value_name = "TEXT",
            required_unless_present = "default_questions"
        )]
        question: Vec<String>,
        /// Ask the configured schedule.questions again.
        #[arg(long, conflicts_with = "question")]
        default_questions: bool,
    },
    /// List teams with their member counts.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Add a team holiday (no requests or digests that local date).
    Holiday { name: String, date: String },
}

#[derive(Subcommand, Debug)]
pub enum TokenCmd {
    /// Create an API token for a member; it is printed once.
    Create {
        #[arg(long, value_name = "EMAIL")]
        member: String,
    },
    /// List API tokens (ids, owners, state; never the tokens themselves).
    List {
        /// Only the tokens of this member.
        #[arg(long, value_name = "EMAIL")]
        member: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Revoke one token by id (from `token list`), or every token of a member.
    Revoke {
        /// The token id.
        #[arg(required_unless_present = "member", conflicts_with = "member")]
        id: Option<i64>,
        /// Revoke all tokens of this member instead.
        #[arg(long, value_name = "EMAIL")]
        member: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    Auto,
    Eml,
    Text,
    Html,
}

#[derive(Subcommand, Debug)]
pub enum ReplyCmd {
    /// Print only the new text of a reply (an RFC 5322 message, a text body or an HTML body).
    Extract {
        #[arg(long, value_enum, default_value = "auto")]
        format: FormatArg,
        /// File to read, or - for standard input (the default).
        file: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum ScheduleCmd {
    /// Print the next fire instants (UTC, RFC 3339), one per line.
    Next {
        #[arg(long, value_name = "ZONE")]
        tz: String,
        #[arg(long, value_name = "HH:MM")]
        at: String,
        /// Weekdays (default mon,tue,wed,thu,fri).
        #[arg(long, value_name = "DAYS")]
        days: Option<String>,
        /// Instants strictly after this one (RFC 3339).
        #[arg(long, value_name = "RFC3339")]
        after: String,
        #[arg(long, default_value_t = 1)]
        count: usize,
    },
}

#[derive(Subcommand, Debug)]
pub enum PreviewCmd {
    /// Show the digest a member would get (nothing is recorded or sent).
    Digest {
        #[arg(long, value_name = "EMAIL")]
        member: String,
        /// Local date of the digest (default: the member's today).
        #[arg(long, value_name = "YYYY-MM-DD")]
        date: Option<String>,
        #[arg(long, conflicts_with = "text")]
        html: bool,
        #[arg(long)]
        text: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum OutboxCmd {
    /// List outgoing mail, newest first.
    List {
        /// Only permanently failed mail.
        #[arg(long)]
        failed: bool,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
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

/// Turns options into a change, validating every value (all before any database access).
fn member_change(o: &MemberOpts) -> anyhow::Result<MemberChange> {
    let mut ch = MemberChange::default();
    if let Some(n) = &o.name {
        let n = crate::domain::clean_name(n);
        if n.is_empty() {
            return Err(usage("invalid name: it must not be empty"));
        }
        ch.name = Some(n);
    }
    if let Some(z) = &o.tz {
        ch.tz = Some(parse_tz(z).map_err(|e| usage(e.to_string()))?);
    }
    if let Some(t) = &o.request_at {
        ch.request_at = Some(LocalTime::parse(t).map_err(|e| usage(format!("--request-at: {e}")))?);
    }
    if let Some(t) = &o.digest_at {
        ch.digest_at = Some(LocalTime::parse(t).map_err(|e| usage(format!("--digest-at: {e}")))?);
    }
    if let Some(d) = &o.days {
        ch.workdays = Some(Workdays::parse(d).map_err(|e| usage(format!("--days: {e}")))?);
    }
    if !o.team.is_empty() {
        ch.teams = Some(
            o.team
                .iter()
                .map(|t| parse_team_name(t).map_err(usage))
                .collect::<Result<_, _>>()?,
        );
    }
    Ok(ch)
}

/// `--question` values: trimmed, single-line, not empty, at most 20 of 300 characters each.
fn parse_questions(qs: &[String]) -> anyhow::Result<Vec<String>> {
    if qs.len() > 20 {
        return Err(usage("--question: at most 20 questions"));
    }
    qs.iter()
        .map(|q| {
            let q: String = q.chars().filter(|c| !c.is_control()).collect();
            let q = q.trim().to_string();
            if q.is_empty() || q.chars().count() > 300 {
                Err(usage(format!(
                    "--question {q:?}: expected 1 to 300 characters"
                )))
            } else {
                Ok(q)
            }
        })
        .collect()
}

fn defaults(cfg: &Config) -> MemberDefaults {
    MemberDefaults {
        tz: cfg.default_tz(),
        request_at: cfg.default_request_at(),
        digest_at: cfg.default_digest_at(),
        workdays: cfg.default_workdays(),
    }
}

fn store_err(e: StoreError) -> anyhow::Error {
    match e {
        StoreError::Conflict(m) | StoreError::NotFound(m) => usage(m),
        StoreError::Other(e) => e,
    }
}

async fn open_store(cfg: &Config) -> anyhow::Result<Store> {
    let store = Store::connect(&cfg.database.url.0, cfg.database.max_connections).await?;
    store.migrate().await?;
    Ok(store)
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

/// The one line `run-due` prints: each part's counts, or `failed` for a part that failed.
fn run_due_summary(now: DateTime<Utc>, pass: &crate::app::PassReport) -> String {
    let inbound = match &pass.inbound {
        Some(Ok(i)) => format!(
            "inbound {} (accepted {}, commands {}, ignored {}, quarantined {})",
            i.fetched, i.accepted, i.commands, i.ignored, i.quarantined
        ),
        _ => "inbound failed".to_string(),
    };
    let plan = match &pass.plan {
        Ok(p) => format!(
            "planned {}, requests {}, reminders {}, digests {}, skipped {}",
            p.planned, p.requests, p.reminders, p.digests, p.skipped
        ),
        Err(_) => "queueing failed".to_string(),
    };
    let send = match &pass.send {
        Ok(s) => format!(
            "sent {}, retried {}, failed {}",
            s.sent, s.retried, s.failed
        ),
        Err(_) => "sending failed".to_string(),
    };
    format!(
        "run-due {}: {inbound}; {plan}; {send}",
        now.format("%Y-%m-%dT%H:%M:%SZ")
    )
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

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    // Commands that need no configuration or database.
    match &cli.command {
        Command::Reply {
            cmd: ReplyCmd::Extract { format, file },
        } => return reply_extract(*format, file.as_deref()),
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
            return schedule_next(tz, at, days.as_deref(), after, *count);
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
            return db_copy(from, to).await;
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
        Command::Member { cmd } => member(cfg, cmd).await,
        Command::Team { cmd } => team(cfg, cmd).await,
        Command::Token {
            cmd: TokenCmd::List { member, json },
        } => {
            let email = member.as_deref().map(parse_email).transpose()?;
            with_store(&cfg, async |s| {
                let owner = match &email {
                    Some(e) => Some(
                        s.member_by_email(e)
                            .await
                            .map_err(store_err)?
                            .ok_or_else(|| usage(format!("no member with email {e}")))?
                            .id,
                    ),
                    None => None,
                };
                let rows = s.list_api_tokens(owner).await.map_err(store_err)?;
                let when = |t: i64| {
                    DateTime::from_timestamp(t, 0)
                        .unwrap_or_default()
                        .format("%Y-%m-%dT%H:%M:%SZ")
                        .to_string()
                };
                if json {
                    let v: Vec<_> = rows
                        .iter()
                        .map(|r| {
                            serde_json::json!({
                                "id": r.id,
                                "member": r.member_email,
                                "created_at": when(r.created_at),
                                "revoked_at": r.revoked_at.map(when),
                            })
                        })
                        .collect();
                    crate::outln!("{}", serde_json::to_string_pretty(&v)?);
                } else if rows.is_empty() {
                    crate::outln!(
                        "no API tokens: create one with `tidings token create --member EMAIL`"
                    );
                } else {
                    for r in rows {
                        crate::outln!(
                            "{:>6}  {:<32} created {}  {}",
                            r.id,
                            r.member_email,
                            when(r.created_at),
                            r.revoked_at
                                .map(|t| format!("revoked {}", when(t)))
                                .unwrap_or_else(|| "active".into())
                        );
                    }
                }
                Ok(())
            })
            .await
        }
        Command::Token {
            cmd: TokenCmd::Revoke { id, member },
        } => {
            let email = member.as_deref().map(parse_email).transpose()?;
            with_store(&cfg, async |s| {
                match (id, &email) {
                    (Some(id), _) => {
                        let changed = s
                            .revoke_api_token(id, Utc::now().timestamp())
                            .await
                            .map_err(store_err)?;
                        crate::outln!(
                            "{}",
                            if changed {
                                format!("revoked token {id}")
                            } else {
                                format!("token {id} was already revoked")
                            }
                        );
                    }
                    (None, Some(e)) => {
                        let m = s
                            .member_by_email(e)
                            .await
                            .map_err(store_err)?
                            .ok_or_else(|| usage(format!("no member with email {e}")))?;
                        let n = s.revoke_api_tokens(m.id).await.map_err(store_err)?;
                        crate::outln!("revoked {n} token{} of {e}", if n == 1 { "" } else { "s" });
                    }
                    (None, None) => return Err(usage("give a token id or --member EMAIL")),
                }
                Ok(())
            })
            .await
        }
        Command::Token {
            cmd: TokenCmd::Create { member },
        } => {
            let email = parse_email(&member)?;
            with_store(&cfg, async |s| {
                let m = s
                    .member_by_email(&email)
                    .await
                    .map_err(store_err)?
                    .ok_or_else(|| usage(format!("no member with email {email}")))?;
                let token = generate_api_token();
                s.add_api_token(m.id, &hash_api_token(&token))
                    .await
                    .map_err(store_err)?;
                crate::outln!("{token}");
                Ok(())
            })
            .await
        }
        Command::RunDue { now } => {
            let now = match now {
                Some(n) => parse_rfc3339(&n, "--now")?,
                None => Utc::now(),
            };
            with_ctx(cfg, async |ctx| {
                let pass = crate::app::run_pass(ctx, now, "run-due", true).await;
                crate::outln!("{}", run_due_summary(now, &pass));
                let failures = pass.failures(&ctx.config);
                for f in &failures {
                    eprintln!("error: {}: {}", f.part, f.error);
                    eprintln!("  {}", f.hint);
                }
                if failures.is_empty() {
                    Ok(())
                } else if pass.nothing_could_run(&ctx.config) {
                    Err(anyhow::anyhow!("nothing could be done in this pass"))
                } else {
                    Err(anyhow::Error::new(PartlyFailed {
                        failed: failures.len(),
                        parts: pass.parts(),
                    }))
                }
            })
            .await
        }
        Command::Preview {
            cmd:
                PreviewCmd::Digest {
                    member,
                    date,
                    html,
                    text: _,
                },
        } => {
            let email = parse_email(&member)?;
            let date = date.as_deref().map(parse_date).transpose()?;
            with_ctx(cfg, async |ctx| {
                let m = ctx
                    .store
                    .member_by_email(&email)
                    .await
                    .map_err(store_err)?
                    .ok_or_else(|| usage(format!("no member with email {email}")))?;
                let now = Utc::now();
                let date = date.unwrap_or_else(|| local_date(m.tz, now));
                let data = crate::jobs::plan::digest_view_data(
                    ctx,
                    &m,
                    date,
                    &mut crate::jobs::plan::TeamCache::default(),
                )
                .await?;
                let prefs = ctx.prefs_url(m.id, now);
                let view = crate::render::DigestView {
                    reader_name: &m.name,
                    date,
                    local_hour: Some(chrono::Timelike::hour(&now.with_timezone(&m.tz))),
                    sections: data.sections,
                    prefs_url: &prefs,
                };
                if html {
                    crate::outln!("{}", crate::render::digest_html(&view));
                } else {
                    crate::outln!(
                        "Subject: {}\n\n{}",
                        crate::render::digest_subject(&view),
                        crate::render::digest_text(&view)
                    );
                }
                Ok(())
            })
            .await
        }
        Command::Outbox {
            cmd: OutboxCmd::List { failed, limit },
        } => {
            with_store(&cfg, async |s| {
                let rows = s.list_outbox(failed, limit).await.map_err(store_err)?;
                if rows.is_empty() {
                    crate::outln!(
                        "{}",
                        if failed {
                            "no failed mail"
                        } else {
                            "the outbox is empty"
                        }
                    );
                }
                for r in rows {
                    let when = DateTime::from_timestamp(r.sent_at.unwrap_or(r.created_at), 0)
                        .unwrap_or_default();
                    crate::outln!(
                        "{:>6}  {:<8} {:<9} {:<32} {}  attempts={}{}",
                        r.id,
                        r.state,
                        r.kind,
                        r.recipient,
                        when.format("%Y-%m-%d %H:%M:%SZ"),
                        r.attempts,
                        r.last_error
                            .map(|e| format!("  error: {e}"))
                            .unwrap_or_default()
                    );
                }
                Ok(())
            })
            .await
        }
        Command::Inbox {
            cmd: InboxCmd::Quarantine { cmd },
        } => quarantine(cfg, cmd).await,
        Command::Reply { .. }
        | Command::Schedule { .. }
        | Command::Demo { .. }
        | Command::Db { .. } => Ok(()),
    }
}

async fn member(cfg: Config, cmd: MemberCmd) -> anyhow::Result<()> {
    match cmd {
        MemberCmd::Add { email, opts } => {
            let email = parse_email(&email)?;
            if opts.name.is_none() {
                return Err(usage("--name is required"));
            }
            if opts.tz.is_none() {
                return Err(usage(
                    "--tz is required (an IANA zone such as Europe/Berlin)",
                ));
            }
            let ch = member_change(&opts)?;
            let d = defaults(&cfg);
            with_store(&cfg, async |s| {
                s.add_member(&email, &ch, &d).await.map_err(store_err)?;
                let m = s
                    .member_by_email(&email)
                    .await
                    .map_err(store_err)?
                    .ok_or_else(|| anyhow!("member vanished"))?;
                crate::outln!("added {}", describe(&m));
                Ok(())
            })
            .await
        }
        MemberCmd::Set {
            email,
            opts,
            paused,
            unsubscribed,
            away,
            alias,
        } => {
            let email = parse_email(&email)?;
            let mut ch = member_change(&opts)?;
            ch.paused = paused;
            ch.unsubscribed = unsubscribed;
            if !away.is_empty() {
                let mut ranges = Vec::new();
                for a in &away {
                    if a.eq_ignore_ascii_case("none") {
                        continue;
                    }
                    let (f, t) = a.split_once("..").ok_or_else(|| {
                        usage(format!(
                            "--away {a:?}: expected FROM..TO such as 2026-12-01..2026-12-03"
                        ))
                    })?;
                    let (from, to) = (parse_date(f)?, parse_date(t)?);
                    if to < from {
                        return Err(usage(format!("--away {a:?}: the end is before the start")));
                    }
                    ranges.push(AwayRange { from, to });
                }
                ch.away = Some(ranges);
            }
            let aliases = alias
                .iter()
                .map(|a| parse_email(a))
                .collect::<Result<Vec<_>, _>>()?;
            with_store(&cfg, async |s| {
                let m = s.update_member(&email, &ch).await.map_err(store_err)?;
                for a in &aliases {
                    s.add_alias(m.id, a).await.map_err(store_err)?;
                }
                let m = s
                    .member_by_id(m.id)
                    .await
                    .map_err(store_err)?
                    .ok_or_else(|| anyhow!("member vanished"))?;
                crate::outln!("updated {}", describe(&m));
                Ok(())
            })
            .await
        }
        MemberCmd::Remove { email } => {
            let email = parse_email(&email)?;
            with_store(&cfg, async |s| {
                s.remove_member(&email).await.map_err(store_err)?;
                crate::outln!("removed {email}");
                Ok(())
            })
            .await
        }
        MemberCmd::Import { file } => {
            let rows = crate::cli::import::read_csv(&file, &defaults(&cfg)).map_err(usage)?;
            let d = defaults(&cfg);
            with_store(&cfg, async |s| {
                let bar = progress_bar(rows.members.len() as u64, "importing members");
                let tick = |n: usize| bar.set_position(n as u64);
                let n = s
                    .add_members(&rows.members, &d, &tick)
                    .await
                    .map_err(|(i, e)| {
                        let line = rows.lines.get(i.wrapping_sub(1)).copied().unwrap_or(0);
                        match e {
                            StoreError::Other(e) => {
                                e.context(format!("{}: line {line}", file.display()))
                            }
                            e => usage(format!("{}: line {line}: {e}", file.display())),
                        }
                    })?;
                bar.finish_and_clear();
                crate::outln!("imported {n} members from {}", file.display());
                Ok(())
            })
            .await
        }
        MemberCmd::Link { email } => {
            let email = parse_email(&email)?;
            with_ctx(cfg, async |ctx| {
                let m = ctx
                    .store
                    .member_by_email(&email)
                    .await
                    .map_err(store_err)?
                    .ok_or_else(|| usage(format!("no member with email {email}")))?;
                crate::outln!("{}", ctx.prefs_url(m.id, Utc::now()));
                Ok(())
            })
            .await
        }
        MemberCmd::List { json } => with_store(&cfg, async |s| {
            let members = s.list_members().await.map_err(store_err)?;
            if json {
                let views: Vec<MemberView> = members.iter().map(MemberView::from).collect();
                crate::outln!("{}", serde_json::to_string_pretty(&views)?);
            } else if members.is_empty() {
                crate::outln!(
                    "no members yet: add one with `tidings member add EMAIL --name NAME --tz ZONE`"
                );
            } else {
                for m in &members {
                    crate::outln!("{}", describe(m));
                }
            }
            Ok(())
        })
        .await,
    }
}

fn outcome_line(id: i64, o: &crate::jobs::ingest::Outcome) -> String {
    use crate::jobs::ingest::Outcome;
    match o {
        Outcome::Duplicate => format!("{id}: already being processed"),
        Outcome::Accepted { update_id, edited } => format!(
            "{id}: accepted as update {update_id}{}",
            if *edited { " (edited)" } else { "" }
        ),
        Outcome::Command(m) => format!("{id}: command applied: {m}"),
        Outcome::Ignored(r) => format!("{id}: ignored: {r}"),
        Outcome::Quarantined(r) => format!("{id}: still quarantined: {r}"),
    }
}

fn unix_rfc3339(t: i64) -> String {
    DateTime::from_timestamp(t, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

async fn quarantine(cfg: Config, cmd: QuarantineCmd) -> anyhow::Result<()> {
    use crate::store::InboundStatus;
    match cmd {
        QuarantineCmd::List { json, limit } => {
            with_store(&cfg, async |s| {
                let rows = s
                    .inbound_with_status(InboundStatus::Quarantined, limit)
                    .await
                    .map_err(store_err)?;
                if json {
                    let v: Vec<serde_json::Value> = rows
                        .iter()
                        .map(|r| {
                            serde_json::json!({
                                "id": r.id,
                                "received": unix_rfc3339(r.received_at),
                                "sender": r.sender,
                                "reason": r.reason,
                                "message_id": r.message_id,
                            })
                        })
                        .collect();
                    crate::outln!("{}", serde_json::to_string_pretty(&v)?);
                    return Ok(());
                }
                if rows.is_empty() {
                    crate::outln!("the quarantine is empty");
                }
                for r in rows {
                    crate::outln!(
                        "{:>6}  {}  {:<32}  {}",
                        r.id,
                        unix_rfc3339(r.received_at),
                        r.sender.as_deref().unwrap_or("-"),
                        r.reason.as_deref().unwrap_or("-")
                    );
                }
                Ok(())
            })
            .await
        }
        QuarantineCmd::Show { id } => {
            with_store(&cfg, async |s| {
                let r = s
                    .inbound(id)
                    .await
                    .map_err(store_err)?
                    .filter(|r| r.status == InboundStatus::Quarantined.as_str())
                    .ok_or_else(|| usage(format!("no quarantined message with id {id}")))?;
                crate::outln!("id:       {}", r.id);
                crate::outln!("received: {}", unix_rfc3339(r.received_at));
                crate::outln!("sender:   {}", r.sender.as_deref().unwrap_or("-"));
                crate::outln!("reason:   {}", r.reason.as_deref().unwrap_or("-"));
                crate::outln!();
                crate::out!("{}", String::from_utf8_lossy(&r.raw));
                Ok(())
            })
            .await
        }
        QuarantineCmd::Release { id, member, date } => {
            let email = parse_email(&member)?;
            let date = date.as_deref().map(parse_date).transpose()?;
            with_ctx(cfg, async |ctx| {
                let m = ctx
                    .store
                    .member_by_email(&email)
                    .await
                    .map_err(store_err)?
                    .ok_or_else(|| usage(format!("no member with email {email}")))?;
                use crate::jobs::ingest::ReleaseError;
                match crate::jobs::ingest::release(ctx, id, &m, date, Utc::now()).await {
                    Ok((update, date)) => {
                        crate::outln!(
                            "{id}: released as update {update} of {} for {date}",
                            m.email
                        );
                        Ok(())
                    }
                    Err(ReleaseError::Other(e)) => Err(e),
                    Err(e) => Err(usage(e.to_string())),
                }
            })
            .await
        }
        QuarantineCmd::Reprocess { id, all } => {
            with_ctx(cfg, async |ctx| {
                let ids = if all {
                    ctx.store
                        .inbound_ids_with_status(InboundStatus::Quarantined)
                        .await
                        .map_err(store_err)?
                } else {
                    let id = id.ok_or_else(|| usage("give an ID or --all"))?;
                    let known = ctx
                        .store
                        .inbound(id)
                        .await
                        .map_err(store_err)?
                        .is_some_and(|r| r.status == InboundStatus::Quarantined.as_str());
                    if !known {
                        return Err(usage(format!("no quarantined message with id {id}")));
                    }
                    vec![id]
                };
                if ids.is_empty() {
                    crate::outln!("the quarantine is empty");
                }
                let now = Utc::now();
                let bar = progress_bar(ids.len() as u64, "reprocessing");
                for id in ids {
                    if let Some(o) = crate::jobs::ingest::reprocess(ctx, id, now).await? {
                        // Printed above the bar on a terminal, plainly when piped.
                        bar.suspend(|| crate::outln!("{}", outcome_line(id, &o)));
                    }
                    bar.inc(1);
                }
                bar.finish_and_clear();
                // Receipts and notices go out with the next `run-due` or `serve` tick.
                Ok(())
            })
            .await
        }
    }
}

fn describe(m: &crate::domain::Member) -> String {
    let mut flags = Vec::new();
    if m.paused {
        flags.push("paused".to_string());
    }
    if m.unsubscribed {
        flags.push("unsubscribed".to_string());
    }
    if m.bounces > 0 {
        flags.push(format!("{} hard bounces", m.bounces));
    }
    for a in &m.away {
        flags.push(format!("away {}..{}", a.from, a.to));
    }
    format!(
        "{} ({}) tz={} request={} digest={} days={} teams={}{}",
        m.email,
        m.name,
        m.tz.name(),
        m.request_at,
        m.digest_at,
        m.workdays,
        if m.teams.is_empty() {
            "-".to_string()
        } else {
            m.teams.join(",")
        },
        if flags.is_empty() {
            String::new()
        } else {
            format!(" [{}]", flags.join("; "))
        }
    )
}

async fn team(cfg: Config, cmd: TeamCmd) -> anyhow::Result<()> {
    match cmd {
        TeamCmd::Add { name, question } => {
            let name = parse_team_name(&name).map_err(usage)?;
            let questions = parse_questions(&question)?;
            with_store(&cfg, async |s| {
                s.add_team(&name).await.map_err(store_err)?;
                if !questions.is_empty() {
                    s.set_team_questions(&name, Some(&questions))
                        .await
                        .map_err(store_err)?;
                }
                crate::outln!("added team {name}");
                Ok(())
            })
            .await
        }
        TeamCmd::Set {
            name,
            question,
            default_questions,
        } => {
            let name = parse_team_name(&name).map_err(usage)?;
            let questions = parse_questions(&question)?;
            with_store(&cfg, async |s| {
                if default_questions {
                    s.set_team_questions(&name, None).await.map_err(store_err)?;
                    crate::outln!("{name}: asks the configured questions");
                } else {
                    s.set_team_questions(&name, Some(&questions))
                        .await
                        .map_err(store_err)?;
                    crate::outln!("{name}: asks {}", questions.join(" / "));
                }
                Ok(())
            })
            .await
        }
        TeamCmd::List { json } => {
            with_store(&cfg, async |s| {
                let teams = s.list_teams().await.map_err(store_err)?;
                let mut questions = Vec::with_capacity(teams.len());
                for (n, _) in &teams {
                    questions.push(s.team_questions(n).await.map_err(store_err)?);
                }
                if json {
                    let v: Vec<_> = teams
                    .iter()
                    .zip(&questions)
                    .map(|((n, c), q)| serde_json::json!({"name": n, "members": c, "questions": q}))
                    .collect();
                    crate::outln!("{}", serde_json::to_string_pretty(&v)?);
                } else if teams.is_empty() {
                    crate::outln!("no teams yet: add one with `tidings team add NAME`");
                } else {
                    for ((n, c), q) in teams.iter().zip(&questions) {
                        let q = match q {
                            Some(q) => format!("; asks: {}", q.join(" / ")),
                            None => String::new(),
                        };
                        crate::outln!("{n} ({c} member{}){q}", if *c == 1 { "" } else { "s" });
                    }
                }
                Ok(())
            })
            .await
        }
        TeamCmd::Holiday { name, date } => {
            let date = parse_date(&date)?;
            with_store(&cfg, async |s| {
                s.add_holiday(&name, date).await.map_err(store_err)?;
                crate::outln!("{name}: {date} is a holiday");
                Ok(())
            })
            .await
        }
    }
}

fn reply_extract(format: FormatArg, file: Option<&std::path::Path>) -> anyhow::Result<()> {
    let mut input = Vec::new();
    match file {
        Some(p) if p.as_os_str() != "-" => {
            input =
                std::fs::read(p).map_err(|e| usage(format!("cannot read {}: {e}", p.display())))?;
        }
        _ => {
            std::io::stdin()
                .read_to_end(&mut input)
                .context("cannot read standard input")?;
        }
    }
    let f = match format {
        FormatArg::Auto => extract::Format::Auto,
        FormatArg::Eml => extract::Format::Eml,
        FormatArg::Text => extract::Format::Text,
        FormatArg::Html => extract::Format::Html,
    };
    let out = extract::extract(&input, f);
    crate::outln!("{}", out.trim_end());
    Ok(())
}

fn schedule_next(
    tz: &str,
    at: &str,
    days: Option<&str>,
    after: &str,
    count: usize,
) -> anyhow::Result<()> {
    let tz = parse_tz(tz).map_err(|e| usage(e.to_string()))?;
    let at = LocalTime::parse(at).map_err(|e| usage(format!("--at: {e}")))?;
    let days = match days {
        Some(d) => Workdays::parse(d).map_err(|e| usage(format!("--days: {e}")))?,
        None => Workdays::default(),
    };
    let after = parse_rfc3339(after, "--after")?;
    let s = Schedule { tz, at, days };
    for t in s.next_n(after, count) {
        crate::outln!("{}", t.format("%Y-%m-%dT%H:%M:%SZ"));
    }
    Ok(())
}

async fn db_copy(from: &str, to: &str) -> anyhow::Result<()> {
    let bar = std::cell::OnceCell::new();
    let r = crate::cli::dbcopy::copy(from, to, |table, done, total| {
        let b = bar.get_or_init(|| progress_bar(total, "copying"));
        b.set_message(table);
        b.set_position(done);
    })
    .await;
    if let Some(b) = bar.get() {
        b.finish_and_clear();
    }
    let report = r.map_err(|e| match e.downcast::<crate::cli::dbcopy::Refused>() {
        Ok(refused) => usage(refused.0),
        Err(e) => e,
    })?;
    for (table, n) in &report.tables {
        crate::outln!("{table:<18} {n:>8}");
    }
    crate::outln!(
        "copied {} rows from {} to {}",
        report.total(),
        crate::config::redact_url(from),
        crate::config::redact_url(to)
    );
    crate::outln!("next: set database.url to the new database and start `tidings serve`");
    Ok(())
}

/// A progress bar for a long command; hidden when stdout is not a terminal (pipes, cron, tests)
/// so that scripted output stays clean.
pub fn progress_bar(len: u64, what: &str) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
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
