//! The command line as clap sees it: every command, its options and their help.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
    /// No progress bars (they are shown only on a terminal anyway; results and errors are
    /// printed as always).
    #[arg(long, short, global = true)]
    pub quiet: bool,
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
    /// Manage a team's check-ins: its daily stand-up and other questions on their own rhythms.
    Checkin {
        #[command(subcommand)]
        cmd: CheckinCmd,
    },
    /// Signed webhooks: updates, blockers, comments and reactions POSTed as they happen to an
    /// address, signed by the Standard Webhooks specification (any of its receiver libraries
    /// verifies them). Delivered by `serve` and `run-due`.
    Webhook {
        #[command(subcommand)]
        cmd: WebhookCmd,
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
    /// Print the HTTP API's OpenAPI 3.1 document (the one `serve` answers at
    /// /api/v1/openapi.json), e.g. to generate a client. Needs no config.
    Openapi,
    /// Print the completion script for SHELL, e.g. `tidings completions bash >
    /// ~/.local/share/bash-completion/completions/tidings` (the Debian package installs them).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write the man pages (tidings.1 and one per command, tidings-member-add.1 …) into DIR.
    #[command(hide = true)]
    Man {
        /// The directory to write them into (created if missing).
        dir: PathBuf,
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
    /// Export a team's updates, oldest first, as CSV, JSON or Markdown.
    ///
    /// Each update is one record with its answers by section (done, next, blockers, other).
    /// CSV is RFC 4180 with every field quoted (a field starting with = + - @ gets a leading
    /// apostrophe, so a spreadsheet never runs it as a formula); JSON is an array of the
    /// updates with their sections and text; Markdown is a page with a heading per day.
    Export(ExportArgs),
    /// Database tools (moving from SQLite to PostgreSQL).
    Db {
        #[command(subcommand)]
        cmd: DbCmd,
    },
}

/// The arguments of `tidings export`.
#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// The team.
    #[arg(long, value_name = "NAME")]
    pub team: String,
    /// Only this member's updates (address or alias).
    #[arg(long, value_name = "EMAIL")]
    pub member: Option<String>,
    /// From this local date (YYYY-MM-DD), included.
    #[arg(long, value_name = "DATE")]
    pub from: Option<String>,
    /// To this local date (YYYY-MM-DD), included.
    #[arg(long, value_name = "DATE")]
    pub to: Option<String>,
    /// Only updates with a blockers section.
    #[arg(long)]
    pub blockers: bool,
    /// Only the answers to this check-in (`tidings checkin list`; "Daily stand-up" for the stand-up).
    #[arg(long, value_name = "NAME")]
    pub checkin: Option<String>,
    /// Only updates matching this search (words all required, "a phrase", -word excluded);
    /// best match first.
    #[arg(long, value_name = "WORDS")]
    pub search: Option<String>,
    #[arg(long, value_enum, default_value = "csv")]
    pub format: ExportFormat,
    /// Write to this file instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// The formats of `tidings export`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Json,
    Md,
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
    Show {
        /// The message's id, as `quarantine list` shows it.
        id: i64,
    },
    /// Store the message's text as MEMBER's update (for DATE, default the member's local date
    /// when it arrived), overriding the checks that failed.
    Release {
        /// The message's id, as `quarantine list` shows it.
        id: i64,
        /// The member whose update it becomes.
        #[arg(long, value_name = "EMAIL")]
        member: String,
        /// The local date of the update (default: the member's local date when it arrived).
        #[arg(long, value_name = "YYYY-MM-DD")]
        date: Option<String>,
        /// File it as the member's answer to this check-in of one of their teams (default:
        /// the daily stand-up).
        #[arg(long, value_name = "NAME")]
        checkin: Option<String>,
    },
    /// Run the normal pipeline again (e.g. after adding an alias), on one message or all.
    Reprocess {
        /// The message's id, as `quarantine list` shows it.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<i64>,
        /// Every quarantined message.
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
    /// How often the digest comes: daily (the default), weekly (on Friday), weekly:mon …
    /// weekly:sun (one summary of the week on that day, at the digest time), or off.
    #[arg(long, value_name = "CADENCE")]
    pub digest: Option<String>,
    /// An observer (true) receives digests and reads the team log but is never asked for
    /// updates; false makes them a member who writes again.
    #[arg(long, value_name = "BOOL")]
    pub observer: Option<bool>,
}

#[derive(Subcommand, Debug)]
pub enum MemberCmd {
    /// Add a member.
    Add {
        /// The member's email address.
        email: String,
        #[command(flatten)]
        opts: MemberOpts,
    },
    /// Change a member's preferences.
    Set {
        /// The member's email address (or one of their aliases).
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
        /// Add a private calendar address (https://, or webcal://): its time off counts as
        /// time away (repeat). A secret: never shown whole.
        #[arg(long, value_name = "URL")]
        calendar: Vec<String>,
        /// Add a holiday calendar for this member (their region's; repeat): each of its
        /// events is a day off.
        #[arg(long, value_name = "URL")]
        holiday_calendar: Vec<String>,
        /// Remove every calendar of the member (before any --calendar given with it).
        #[arg(long)]
        no_calendars: bool,
        #[command(flatten)]
        activity: super::activity::ActivityOpts,
    },
    /// Remove a member and their updates.
    Remove {
        /// The member's email address.
        email: String,
    },
    /// Import members from CSV (header: email,name,timezone,request_at,digest_at,workdays,team,digest,observer; any subset with email); all or nothing.
    Import {
        /// The CSV file.
        file: PathBuf,
    },
    /// Print a signed preferences link for a member.
    Link {
        /// The member's email address.
        email: String,
    },
    /// Sign a member out of the team log everywhere: every session of theirs ends, and so do
    /// their Atom feed addresses.
    Signout {
        /// The member's email address.
        email: String,
    },
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
        /// The team's name.
        name: String,
        /// A question this team's update requests ask (repeat, in order; default: schedule.questions).
        #[arg(long, value_name = "TEXT")]
        question: Vec<String>,
    },
    /// Change a team: its own questions (or back to the configured ones), its leads and when an open blocker goes to them, its holiday calendars.
    Set {
        /// The team's name.
        name: String,
        /// A question this team's update requests ask (repeat, in order; replaces the list).
        #[arg(long, value_name = "TEXT")]
        question: Vec<String>,
        /// Ask the configured schedule.questions again.
        #[arg(long, conflicts_with = "question")]
        default_questions: bool,
        /// A lead of the team (repeat; replaces the leads): a blocker open
        /// --escalate-after workdays goes to the leads' digests under "Needs you".
        #[arg(long, value_name = "EMAIL")]
        lead: Vec<String>,
        /// The team has no leads.
        #[arg(long, conflicts_with = "lead")]
        no_leads: bool,
        /// After how many of its author's workdays an open blocker needs the leads (default 2).
        #[arg(long, value_name = "N")]
        escalate_after: Option<u32>,
        /// Add a holiday calendar address (https:// or webcal://; repeat): each of its events
        /// is a day off for every member of the team.
        #[arg(long, value_name = "URL")]
        holiday_calendar: Vec<String>,
        /// Remove the team's holiday calendars (before any --holiday-calendar given with it).
        #[arg(long)]
        no_holiday_calendars: bool,
    },
    /// List teams with their member counts.
    List {
        /// As a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Add a team holiday (no requests or digests that local date).
    Holiday {
        /// The team's name.
        name: String,
        /// The local date, YYYY-MM-DD.
        date: String,
    },
    /// The chat rooms the team's daily summary is posted to (Slack, Mattermost, Discord,
    /// Microsoft Teams, Google Chat, Matrix). A room's members read what is posted.
    Chat {
        #[command(subcommand)]
        cmd: ChatCmd,
    },
}

#[derive(Subcommand, Debug)]
pub enum ChatCmd {
    /// Post team TEAM's summary to a room at one local time on its days.
    Add {
        team: String,
        /// slack, mattermost, discord, teams, google-chat or matrix.
        kind: String,
        /// The room's incoming webhook address (Matrix: the homeserver's base address).
        url: String,
        /// The local time, HH:MM.
        #[arg(long, value_name = "HH:MM")]
        at: String,
        /// The room's IANA zone.
        #[arg(long, value_name = "ZONE")]
        tz: String,
        /// The days it is posted on (default mon-fri).
        #[arg(long, value_name = "DAYS", default_value = "mon-fri")]
        days: String,
        /// Matrix: the room id (!abc:example.org).
        #[arg(long, value_name = "ROOM")]
        room: Option<String>,
        /// Matrix: a file holding the bot's access token (kept in the database, never shown).
        #[arg(long, value_name = "FILE")]
        token_file: Option<std::path::PathBuf>,
    },
    /// List the rooms: team, platform, time, state (never an address whole or a token).
    List,
    /// Stop posting to a room.
    Remove { id: i64 },
    /// Resume a room paused after failing for a day: what waited is posted at the next pass.
    Resume { id: i64 },
}

/// When a check-in comes: exactly one of --days, --weekly or --monthly (with --every-weeks,
/// --weekly).
#[derive(clap::Args, Debug, Default, Clone)]
pub struct CheckinWhen {
    /// On these weekdays: mon,tue,wed,thu,fri.
    #[arg(long, value_name = "DAYS", conflicts_with_all = ["weekly", "monthly"])]
    pub days: Option<String>,
    /// Once a week on this day (mon … sun).
    #[arg(long, value_name = "DAY", conflicts_with = "monthly")]
    pub weekly: Option<String>,
    /// With --weekly: every N weeks, counted from this week.
    #[arg(long, value_name = "N", requires = "weekly")]
    pub every_weeks: Option<u8>,
    /// Once a month: first-mon (the first Monday), last-fri, last-workday, or a day 1–31.
    #[arg(long, value_name = "WHICH")]
    pub monthly: Option<String>,
    /// The local time, HH:MM (default: each member's own request time).
    #[arg(long, value_name = "HH:MM")]
    pub at: Option<String>,
    /// One zone for everyone (default: each member's own zone).
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<String>,
    /// Who is asked: all (default), leads, or member addresses separated by commas.
    #[arg(long, value_name = "WHO")]
    pub who: Option<String>,
    /// Where the answers go: digest (the daily digest, under the check-in's name; default),
    /// own (a digest of its own at each reader's digest time) or log (only the team log, its
    /// feeds and the weekly summary).
    #[arg(long, value_name = "WHERE")]
    pub to: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum CheckinCmd {
    /// Add a check-in to a team.
    Add {
        /// The team's name.
        team: String,
        /// The check-in's name, e.g. "Friday wins".
        name: String,
        /// A question (repeat, in order). Prefix a kind: "scale: How was your week?" (1–5,
        /// shown only as the team's average from 3 answers), "yes-no: …", "blockers: …",
        /// "done: …", "next: …"; without one, free text.
        #[arg(long, value_name = "TEXT", required = true)]
        question: Vec<String>,
        #[command(flatten)]
        when: CheckinWhen,
    },
    /// Change a check-in: what is given replaces what it had. The daily stand-up is not
    /// changed here: its questions are the team's (`team set --question`), its time and days
    /// each member's own.
    Set {
        team: String,
        name: String,
        /// A new name.
        #[arg(long, value_name = "NAME")]
        rename: Option<String>,
        /// The questions (repeat; replaces the list).
        #[arg(long, value_name = "TEXT")]
        question: Vec<String>,
        #[command(flatten)]
        when: CheckinWhen,
        /// Back to each member's own request time.
        #[arg(long, conflicts_with = "at")]
        member_time: bool,
        /// Back to each member's own zone.
        #[arg(long, conflicts_with = "tz")]
        member_zone: bool,
    },
    /// List a team's check-ins (all teams' without TEAM).
    List {
        team: Option<String>,
        /// As a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Remove a check-in (never the daily stand-up); its answers stay in the team log.
    Remove { team: String, name: String },
}

#[derive(Subcommand, Debug)]
pub enum WebhookCmd {
    /// Add an endpoint; prints its signing secret (whsec_…) once. A receiver on loopback or
    /// the LAN needs fetch.allow_private, a plain http:// address fetch.allow_http.
    Add {
        /// The https:// address events are POSTed to.
        url: String,
        /// Only this team's events (default: every team's).
        #[arg(long, value_name = "TEAM")]
        team: Option<String>,
        /// The events, comma separated (default: all): update.created, update.revised,
        /// blocker.opened, blocker.resolved, comment.created, reaction.added.
        #[arg(long, value_name = "LIST")]
        events: Option<String>,
    },
    /// List the endpoints: team, events, state, deliveries waiting and failed (never a secret;
    /// an address as its host and the end of its path).
    List {
        /// As a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Remove an endpoint and its deliveries.
    Remove { id: i64 },
    /// Send the endpoint a `ping` now (a paused one too) and say what its receiver answered.
    Test { id: i64 },
    /// Resume a paused endpoint: what waited for it is delivered at the next pass.
    Resume { id: i64 },
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
        /// Print the text as the questions it answers (Done/Next/Blockers labels, the default
        /// questions, localised labels; other text untitled), the way receipts and digests
        /// show it. A file carries no team, so a team's own questions are not known here.
        #[arg(long, conflicts_with = "json")]
        sections: bool,
        /// Print {"text": …, "sections": [{"kind", "label", "text"}]} as JSON.
        #[arg(long)]
        json: bool,
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
    /// List outgoing mail, newest first, then chat room posts (room, day, part) and webhook
    /// deliveries (event, endpoint, webhook-id).
    List {
        /// Only permanently failed mail, posts and deliveries.
        #[arg(long)]
        failed: bool,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
}
