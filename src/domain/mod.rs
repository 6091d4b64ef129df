//! Pure domain types and rules: email addresses, members and their preferences, schedules
//! (next fire instant in a member's zone), reply tokens and signed links. No I/O here.

pub mod activity;
pub mod blockers;
pub mod calendar;
pub mod checkin;
pub mod checkin_answer;
pub mod collate;
pub mod command;
mod idn;
mod list_id;
pub mod mention;
pub mod reaction;
pub mod rhythm;
pub mod schedule;
pub mod search;
pub mod sections;
pub mod shape;
pub mod text;
pub mod token;
mod tz_links;
pub mod webhook;
pub mod zone;

pub use list_id::list_id;

use std::fmt;

use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

pub use rhythm::{Cadence, DigestKind};
pub use schedule::{LocalTime, Schedule, ScheduleError, Workdays};

/// A validated, lower-cased email address (`local@domain`), safe to put in a header.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct EmailAddress(String);

/// Why a string is not an acceptable email address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid email address {0:?}: expected name@domain")]
pub struct BadEmail(pub String);

impl EmailAddress {
    /// Parses `name@domain`; rejects whitespace, control characters, angle brackets and
    /// anything that could inject a header.
    pub fn parse(s: &str) -> Result<Self, BadEmail> {
        let t = s.trim();
        let bad = || BadEmail(s.to_string());
        if t.len() > 254 || t.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(bad());
        }
        if t.contains(['<', '>', ',', ';', '"', '(', ')', '[', ']', '\\']) {
            return Err(bad());
        }
        let (local, domain) = t.rsplit_once('@').ok_or_else(bad)?;
        if local.is_empty()
            || local.contains('@')
            || domain.is_empty()
            || !domain.contains('.') && domain != "localhost"
        {
            return Err(bad());
        }
        if domain.starts_with('.') || domain.ends_with('.') || domain.contains("..") {
            return Err(bad());
        }
        Ok(EmailAddress(t.to_lowercase()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map(|(l, _)| l).unwrap_or(&self.0)
    }
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
    }
    /// The sub-address `local+tag@domain` of this address.
    pub fn with_tag(&self, tag: &str) -> EmailAddress {
        let base = self.local_part().split('+').next().unwrap_or_default();
        EmailAddress(format!("{base}+{tag}@{}", self.domain()))
    }
    /// The tag of a sub-address (`updates+TAG@…`) when this address is a sub-address of `base`.
    pub fn tag_of(&self, base: &EmailAddress) -> Option<&str> {
        if self.domain() != base.domain() {
            return None;
        }
        let (l, tag) = self.local_part().split_once('+')?;
        (l == base.local_part()).then_some(tag)
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for EmailAddress {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        EmailAddress::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A mailbox as a `From:` header names it: an optional display name and an address
/// (`Tidings <tidings@example.com>`, or a bare `tidings@example.com`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    pub name: Option<String>,
    pub address: EmailAddress,
}

/// Why a string is not an acceptable mailbox.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected an address such as \"Tidings <tidings@example.com>\", got {0:?}")]
pub struct BadMailbox(pub String);

impl Mailbox {
    /// Parses `Name <addr>` or a bare `addr`; the name is cleaned as [`clean_name`] does.
    pub fn parse(s: &str) -> Result<Mailbox, BadMailbox> {
        let bad = || BadMailbox(s.to_string());
        let t = s.trim();
        if let (Some(lt), true) = (t.rfind('<'), t.ends_with('>')) {
            let address = EmailAddress::parse(&t[lt + 1..t.len() - 1]).map_err(|_| bad())?;
            let name = clean_name(t[..lt].trim().trim_matches('"'));
            return Ok(Mailbox {
                name: (!name.is_empty()).then_some(name),
                address,
            });
        }
        EmailAddress::parse(t)
            .map(|address| Mailbox {
                name: None,
                address,
            })
            .map_err(|_| bad())
    }

    /// The display name, or `""`.
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or("")
    }
}

impl std::str::FromStr for Mailbox {
    type Err = BadMailbox;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Mailbox::parse(s)
    }
}

impl fmt::Display for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(n) => write!(f, "{n} <{}>", self.address),
            None => write!(f, "{}", self.address),
        }
    }
}

impl Serialize for Mailbox {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Mailbox {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Mailbox::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// `scheme://user:password@host` → `scheme://user:**hidden**@host`: a URL fit for a log line
/// or an error message.
pub fn redact_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://")
        && let Some((creds, host)) = rest.rsplit_once('@')
        && let Some((user, _)) = creds.split_once(':')
    {
        return format!("{scheme}://{user}:**hidden**@{host}");
    }
    url.to_string()
}

/// A display name safe for a header: control characters (CR, LF, …) removed, trimmed, bounded.
pub fn clean_name(name: &str) -> String {
    let s: String = name.chars().filter(|c| !c.is_control()).collect();
    let s = s.trim();
    s.chars().take(100).collect()
}

/// An inclusive range of local dates during which a member is away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AwayRange {
    /// The first day away (YYYY-MM-DD).
    #[schema(value_type = String, format = Date, pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    #[serde(deserialize_with = "strict_date")]
    pub from: NaiveDate,
    /// The last day away, not before `from`.
    #[schema(value_type = String, format = Date, pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    #[serde(deserialize_with = "strict_date")]
    pub to: NaiveDate,
}

/// Unix seconds as RFC 3339 in UTC (`2026-12-04T21:03:00Z`), as the API, exports, feeds and
/// the CLI write times.
pub fn rfc3339(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Parses a date written exactly `YYYY-MM-DD` (no spaces, two-digit month and day), as JSON
/// and the API document state it.
pub fn parse_strict_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

fn strict_date<'de, D: serde::Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
    let s = String::deserialize(d)?;
    parse_strict_date(&s)
        .ok_or_else(|| serde::de::Error::custom(format!("expected a date YYYY-MM-DD, got {s:?}")))
}

impl AwayRange {
    pub fn contains(&self, d: NaiveDate) -> bool {
        self.from <= d && d <= self.to
    }
}

/// Row id of a member.
pub type MemberId = i64;

/// A team member and their delivery preferences, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub id: MemberId,
    pub email: EmailAddress,
    pub name: String,
    pub tz: Tz,
    pub request_at: LocalTime,
    pub digest_at: LocalTime,
    pub workdays: Workdays,
    pub paused: bool,
    pub unsubscribed: bool,
    /// Hard bounces counted for this address since it last resumed.
    pub bounces: i64,
    pub away: Vec<AwayRange>,
    /// Days away read from their own calendars (#34): as typed time away, but not theirs to
    /// edit here (they ignore an event instead).
    pub calendar_away: Vec<AwayRange>,
    pub teams: Vec<String>,
    pub aliases: Vec<EmailAddress>,
    pub created_at: i64,
    /// How often the digest comes (daily, weekly on a day, off).
    pub cadence: Cadence,
    /// Receives digests and reads the log but is never asked for updates.
    pub observer: bool,
    /// Comments on their updates (and threads they joined): at once, or in the next digest.
    pub comments: Delivery,
    /// Updates that mention them: at once, or in the next digest.
    pub mentions: Delivery,
    /// Raised by `tidings member signout`: every link, session and feed address signed over
    /// an older value stops working.
    pub epoch: i64,
    /// How they shape their own digest (follow, mute, only what needs them, quiet days);
    /// boxed: most members keep the default, and a member is passed around a lot.
    pub shape: Box<shape::DigestShape>,
}

/// When comments or mentions reach a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Delivery {
    /// At the top of their next digest.
    #[default]
    Digest,
    /// An email at once.
    Immediate,
}

impl Delivery {
    pub fn parse(s: &str) -> Option<Delivery> {
        match s.trim().to_ascii_lowercase().as_str() {
            "digest" => Some(Delivery::Digest),
            "immediate" | "immediately" | "at once" => Some(Delivery::Immediate),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Digest => "digest",
            Delivery::Immediate => "immediate",
        }
    }
}

impl Member {
    /// When update requests come: on workdays at the request time; never for an observer.
    pub fn request_schedule(&self) -> Schedule {
        Schedule {
            tz: self.tz,
            at: self.request_at,
            days: if self.observer {
                Workdays::from_bits(0)
            } else {
                self.workdays
            },
        }
    }
    /// When digests come: at the digest time on the days of the cadence.
    pub fn digest_schedule(&self) -> Schedule {
        Schedule {
            tz: self.tz,
            at: self.digest_at,
            days: self.cadence.days(self.workdays),
        }
    }
    /// Which digest the fire for local date `date` sends ([`rhythm::digest_kind`]).
    pub fn digest_kind(&self, date: NaiveDate) -> DigestKind {
        // Quiet days end in a catch-up as time away does.
        let mut away = self.away.clone();
        away.extend(self.calendar_away.iter().copied());
        away.extend(self.shape.quiet_range());
        rhythm::digest_kind(self.cadence, &self.digest_schedule(), &away, date)
    }
    pub fn is_away_on(&self, d: NaiveDate) -> bool {
        self.away
            .iter()
            .chain(&self.calendar_away)
            .any(|a| a.contains(d))
    }
    /// Whether mail of any kind may be sent to this member on local date `d`.
    pub fn receives_on(&self, d: NaiveDate) -> bool {
        !self.paused && !self.unsubscribed && !self.is_away_on(d)
    }
    /// Whether `addr` is this member's address or one of their aliases.
    pub fn owns_address(&self, addr: &EmailAddress) -> bool {
        &self.email == addr || self.aliases.contains(addr)
    }
}

/// The JSON shape of a member (`member list --json`, `GET /api/v1/me/preferences`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[schema(as = Member)]
pub struct MemberView {
    #[schema(format = Email)]
    pub email: String,
    pub name: String,
    #[schema(value_type = ZoneName)]
    pub timezone: String,
    /// When the update request comes, in the member's time (HH:MM).
    #[schema(pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$", example = "16:30")]
    pub request_at: String,
    /// When the digest comes, in the member's time (HH:MM).
    #[schema(pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$", example = "08:30")]
    pub digest_at: String,
    #[schema(value_type = Vec<Weekday>)]
    pub workdays: Vec<String>,
    pub paused: bool,
    pub unsubscribed: bool,
    pub away: Vec<AwayRange>,
    /// The first of `teams`, or null.
    #[schema(value_type = Option<TeamName>)]
    pub team: Option<String>,
    #[schema(value_type = Vec<TeamName>)]
    pub teams: Vec<String>,
    /// Other addresses whose replies count as this member's.
    pub aliases: Vec<String>,
    /// How often the digest comes: `daily`, `weekly:fri` (one summary of the week on that
    /// weekday, at `digest_at`) or `off`.
    #[serde(default = "daily")]
    #[schema(
        pattern = r"^(daily|off|weekly:(mon|tue|wed|thu|fri|sat|sun))$",
        example = "daily"
    )]
    pub digest: String,
    /// Receives digests and reads the team log but is never asked for updates.
    #[serde(default)]
    pub observer: bool,
    /// Comments on the member's updates: `digest` (the top of the next one) or `immediate`.
    #[serde(default = "digest")]
    #[schema(pattern = r"^(digest|immediate)$", example = "digest")]
    pub comments: String,
    /// Updates that mention the member: `digest` or `immediate`.
    #[serde(default = "digest")]
    #[schema(pattern = r"^(digest|immediate)$", example = "digest")]
    pub mentions: String,
}

fn digest() -> String {
    "digest".into()
}

fn daily() -> String {
    "daily".into()
}

/// Schema of an IANA time zone name (the API document lists every one).
pub struct ZoneName;

impl utoipa::PartialSchema for ZoneName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("An IANA time zone name (exact spelling)."))
            .enum_values(Some(chrono_tz::TZ_VARIANTS.iter().map(|z| z.name())))
            .examples(["Europe/Berlin"])
            .into()
    }
}

impl utoipa::ToSchema for ZoneName {}

/// Schema of a team name ([`parse_team_name`]: 1 to 64 printable characters; the API takes
/// none with spaces around it).
pub struct TeamName;

impl utoipa::PartialSchema for TeamName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .max_length(Some(64))
            .pattern(Some(TEAM_NAME_PATTERN))
            .examples(["core"])
            .into()
    }
}

impl utoipa::ToSchema for TeamName {}

/// A team name in the API: no control characters, no spaces at either end.
pub const TEAM_NAME_PATTERN: &str =
    r"^[^\s\x00-\x1f\x7f-\x9f]([^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f])?$";

/// A weekday as the API and `member list --json` write it.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl From<&Member> for MemberView {
    fn from(m: &Member) -> Self {
        MemberView {
            email: m.email.to_string(),
            name: m.name.clone(),
            timezone: m.tz.name().to_string(),
            request_at: m.request_at.to_string(),
            digest_at: m.digest_at.to_string(),
            workdays: m.workdays.names().iter().map(|s| s.to_string()).collect(),
            paused: m.paused,
            unsubscribed: m.unsubscribed,
            away: m.away.clone(),
            team: m.teams.first().cloned(),
            teams: m.teams.clone(),
            aliases: m.aliases.iter().map(|a| a.to_string()).collect(),
            digest: m.cadence.to_string(),
            observer: m.observer,
            comments: m.comments.as_str().into(),
            mentions: m.mentions.as_str().into(),
        }
    }
}

/// Kinds of outgoing mail; the value of the `X-Tidings-Kind` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MailKind {
    Request,
    Reminder,
    Digest,
    Receipt,
    Notice,
}

impl MailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::Request => "request",
            MailKind::Reminder => "reminder",
            MailKind::Digest => "digest",
            MailKind::Receipt => "receipt",
            MailKind::Notice => "notice",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "request" => MailKind::Request,
            "reminder" => MailKind::Reminder,
            "digest" => MailKind::Digest,
            "receipt" => MailKind::Receipt,
            "notice" => MailKind::Notice,
            _ => return None,
        })
    }
}

/// A team name: 1–64 characters, no control characters.
pub fn parse_team_name(s: &str) -> Result<String, String> {
    let t = s.trim();
    if t.is_empty() || t.chars().count() > 64 || t.chars().any(|c| c.is_control()) {
        return Err(format!(
            "invalid team name {s:?}: expected 1 to 64 printable characters"
        ));
    }
    Ok(t.to_string())
}

/// Where the team log shows `team`'s day `date` (`{base}/log/{team}?from=D&to=D`), at update
/// `update` when given (`#u{id}`); `None` when `base` (`web.base_url`) is not an address.
pub fn day_log_url(base: &str, team: &str, date: &str, update: Option<i64>) -> Option<String> {
    let mut url = url::Url::parse(base).ok()?;
    url.path_segments_mut()
        .ok()?
        .pop_if_empty()
        .push("log")
        .push(team);
    url.query_pairs_mut()
        .append_pair("from", date)
        .append_pair("to", date);
    if let Some(id) = update {
        url.set_fragment(Some(&format!("u{id}")));
    }
    Some(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailboxes_parse_with_and_without_names() {
        let m = Mailbox::parse("Tidings <tidings@example.com>").unwrap();
        assert_eq!(
            (m.name.as_deref(), m.address.as_str()),
            (Some("Tidings"), "tidings@example.com")
        );
        let m = Mailbox::parse("bob@example.com").unwrap();
        assert_eq!((m.name, m.address.as_str()), (None, "bob@example.com"));
        assert!(Mailbox::parse("Nobody <>").is_err());
    }

    #[test]
    fn email_addresses_are_validated_and_lowercased() {
        assert_eq!(
            EmailAddress::parse(" Alice@Example.COM ").unwrap().as_str(),
            "alice@example.com"
        );
        for bad in [
            "",
            "alice",
            "a@",
            "@b.c",
            "a b@c.d",
            "a@b.c\r\nBcc: x@y.z",
            "<a@b.c>",
            "a@b..c",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn sub_addresses_round_trip() {
        let base = EmailAddress::parse("updates@example.test").unwrap();
        let tagged = base.with_tag("abc-123");
        assert_eq!(tagged.as_str(), "updates+abc-123@example.test");
        assert_eq!(tagged.tag_of(&base), Some("abc-123"));
        let other = EmailAddress::parse("other+abc@example.test").unwrap();
        assert_eq!(other.tag_of(&base), None);
    }

    #[test]
    fn names_lose_control_characters() {
        assert_eq!(clean_name("Eve\r\nBcc: x@y.z"), "EveBcc: x@y.z");
    }
}
