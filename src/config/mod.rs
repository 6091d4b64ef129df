//! Configuration: raw TOML (file, then `TIDINGS_SECTION__KEY` environment overrides, over built-in
//! defaults) → one validated [`Config`], built once at start-up and passed explicitly.
//!
//! Every problem is reported with its key and where it came from, all at once.

mod dkim_key;
mod fetch;
mod load;
mod validate;

pub use dkim_key::load_dkim_key;
pub use load::Source;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use chrono_tz::Tz;

use crate::domain::{EmailAddress, LocalTime, Mailbox, Workdays};
pub use fetch::{ActivityConfig, CalendarsConfig, FetchConfig, WebhooksConfig};

/// A secret string: serialises and prints as `**hidden**` when set.
#[derive(Clone, Default, Deserialize, PartialEq)]
#[serde(transparent)]
pub struct SecretString(String);

impl SecretString {
    pub fn new(s: impl Into<String>) -> Self {
        SecretString(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() {
            "\"\""
        } else {
            "\"**hidden**\""
        })
    }
}

impl Serialize for SecretString {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if self.0.is_empty() { "" } else { "**hidden**" })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[derive(Default)]
pub struct Config {
    pub database: DatabaseConfig,
    pub web: WebConfig,
    pub mail: MailConfig,
    pub schedule: ScheduleConfig,
    pub security: SecurityConfig,
    pub fetch: FetchConfig,
    pub calendars: CalendarsConfig,
    pub activity: ActivityConfig,
    pub webhooks: WebhooksConfig,
    pub log: LogConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://PATH` (created when missing) or `postgres://user:pass@host/db`.
    pub url: SecretUrl,
    pub max_connections: u32,
}

/// A database URL whose password is hidden when printed.
#[derive(Clone, Deserialize, PartialEq)]
#[serde(transparent)]
pub struct SecretUrl(pub String);

impl SecretUrl {
    pub fn redacted(&self) -> String {
        crate::domain::redact_url(&self.0)
    }
}

/// A time zone written as its IANA name.
mod zone_name {
    use chrono_tz::Tz;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(tz: &Tz, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(tz.name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Tz, D::Error> {
        let name = String::deserialize(d)?;
        crate::domain::schedule::parse_tz(&name).map_err(serde::de::Error::custom)
    }
}

fn workdays_text<S: serde::Serializer>(w: &Workdays, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(w)
}

impl std::fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.redacted())
    }
}

impl Serialize for SecretUrl {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.redacted())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebConfig {
    pub bind: String,
    /// The public URL of the web server, used in links inside emails.
    pub base_url: String,
    /// Bearer token for the admin API; empty disables it.
    pub admin_token: SecretString,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// API requests allowed per token per minute (token bucket); 0 turns limiting off.
    pub rate_limit_per_minute: u32,
    /// Seconds a client has to send a request's headers, counted from the connection or the
    /// previous request on it; then the connection is closed (slow-header clients).
    pub header_timeout_secs: u64,
    /// Seconds a client has to send a request's whole body once its headers are in (one
    /// deadline, not restarted by each chunk); then 408.
    pub body_timeout_secs: u64,
    /// After the first 2 seconds, a body must arrive at least this fast on average (bytes a
    /// second), or 408 at once; 0 = only `body_timeout_secs`.
    pub min_body_bytes_per_sec: u64,
    /// Connections served at once; further ones wait in the listen queue.
    pub max_connections: usize,
    /// Connections one client address may hold at once; further ones are closed at once. 0 =
    /// no cap. Connections from `trusted_proxies` are not capped.
    pub max_connections_per_ip: usize,
    /// Reverse proxies in front of Tidings (IP addresses): the client address of their
    /// requests is read from `X-Forwarded-For` (for the per-address limits), and their
    /// connections are not capped per address.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Signing in to the team log with an organisation's OpenID Connect provider.
    pub oidc: OidcConfig,
}

/// `[web.oidc]`: OpenID Connect sign-in (authorization code flow with PKCE). Off while
/// `issuer` is empty. The provider must list `{web.base_url}/signin/oidc/callback` as a
/// redirect URI of the client; a member signs in when the provider vouches for an email
/// address (`email_verified`) that is theirs (or one of their aliases).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OidcConfig {
    /// The provider's issuer URL (its discovery document is `{issuer}/.well-known/openid-configuration`).
    pub issuer: String,
    pub client_id: String,
    pub client_secret: SecretString,
    /// The words of the sign-in button.
    pub button: String,
}

impl Default for OidcConfig {
    fn default() -> Self {
        OidcConfig {
            issuer: String::new(),
            client_id: String::new(),
            client_secret: SecretString::default(),
            button: "Sign in with your organisation".into(),
        }
    }
}

impl OidcConfig {
    /// Whether OIDC sign-in is on.
    pub fn enabled(&self) -> bool {
        !self.issuer.is_empty()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Smtp,
    Maildir,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    pub transport: Transport,
    /// `From:` of every email, e.g. `Tidings <tidings@example.com>`.
    pub from: Mailbox,
    /// The base address that request tokens sub-address (`updates+TOKEN@domain`).
    pub reply_to: EmailAddress,
    pub smtp: SmtpConfig,
    pub imap: ImapConfig,
    pub maildir: MaildirConfig,
    pub inbound: InboundConfig,
    pub dkim: DkimConfig,
}

/// DKIM signing of every outgoing email (`[mail.dkim]`); off while `private_key_file` is
/// empty.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DkimConfig {
    /// The selector: the key's public half is published at `SELECTOR._domainkey.DOMAIN`.
    pub selector: String,
    /// The signing domain (`d=`); empty = the domain of `mail.from` (DMARC alignment).
    pub domain: String,
    /// A PEM private key: RSA (2048 to 4096 bits, PKCS#1 or PKCS#8) or Ed25519 (PKCS#8).
    pub private_key_file: String,
}

/// How replies are handled once read (`[mail.inbound]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InboundConfig {
    /// Hard bounces (DSN status 5.x.x) after which an address counts as bouncing and its
    /// mail is paused.
    pub bounce_threshold: u32,
    /// What an update says about attachments of the reply: `list` their names, or `omit` them.
    /// Attachments themselves are never stored separately (the raw message is kept).
    pub attachments: AttachmentPolicy,
    /// The authserv-ids (RFC 8601) of our own receiving mail server, whose
    /// `Authentication-Results` header alone is believed: mail without a valid reply token is
    /// a member's only when the topmost header of one of these ids shows an aligned DMARC
    /// pass (or a DKIM pass for the From domain). `*.example.com` matches any host of that
    /// domain. A string or a list; empty = no such mail is accepted.
    #[serde(deserialize_with = "one_or_many")]
    pub trusted_authserv_id: Vec<String>,
    /// Receipts and notices that replies may trigger to one address in an hour; beyond it
    /// they are not sent (counted in `/metrics` and logged). 0 = no limit.
    pub receipts_per_hour: u32,
    /// The largest message read: a larger one is kept only up to this many bytes and
    /// quarantined with the reason.
    pub max_message_bytes: usize,
}

/// A list written as one string (an environment variable) or as a TOML array.
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => s
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        OneOrMany::Many(v) => v,
    })
}

/// What to do with the attachments of a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttachmentPolicy {
    /// Append "(attachments: a.pdf, b.png)" to the update.
    List,
    /// Say nothing about them.
    Omit,
}

impl Default for InboundConfig {
    fn default() -> Self {
        InboundConfig {
            bounce_threshold: 3,
            attachments: AttachmentPolicy::List,
            trusted_authserv_id: Vec::new(),
            receipts_per_hour: 20,
            max_message_bytes: 10 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    None,
    Starttls,
    Tls,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: String,
    pub password: SecretString,
    /// Extra PEM CA file to trust (a private CA); empty = the public web roots.
    pub ca_file: String,
    /// Name to verify the server certificate against; empty = `host`.
    pub tls_server_name: String,
    /// SMTP connections kept open between emails.
    pub pool_size: u32,
    /// Seconds to connect, and at most for one email's whole SMTP transaction.
    pub timeout_secs: u64,
    /// How many emails are sent at once from the outbox (SMTP sessions).
    pub concurrency: usize,
    /// At most this many emails are accepted by the server and not yet recorded as sent: the
    /// most a crash can send twice. 0 = `concurrency` (one per session); 1 = one at a time
    /// across all sessions (slower).
    pub unrecorded_max: usize,
    pub max_attempts: u32,
    /// Seconds an outbox claim is held without a heartbeat: a live worker renews its claims
    /// every third of this, so an email a crashed worker had claimed is sent again this long
    /// after the crash. Must exceed `timeout_secs`.
    pub lease_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImapConfig {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: String,
    pub password: SecretString,
    pub ca_file: String,
    pub tls_server_name: String,
    pub mailbox: String,
    /// Processed messages are moved here (created when missing).
    pub processed_folder: String,
    pub poll_interval_secs: u64,
    pub idle: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MaildirConfig {
    pub sent: PathBuf,
    pub inbox: PathBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScheduleConfig {
    /// Seconds between scheduler ticks in `serve`.
    pub tick_seconds: u64,
    #[serde(with = "zone_name")]
    pub default_timezone: Tz,
    pub default_request_at: LocalTime,
    pub default_digest_at: LocalTime,
    /// Written as text (`mon,tue,wed,thu,fri`), as in the example config.
    #[serde(serialize_with = "workdays_text")]
    pub default_workdays: Workdays,
    /// Send a digest even when there is nothing new.
    pub send_empty_digest: bool,
    /// Questions asked in every update request (a team can override them).
    pub questions: Vec<String>,
    /// Remind members who have not replied this many hours after their request (same local
    /// day only); 0 turns reminders off.
    pub reminder_after_hours: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityConfig {
    /// HMAC secret for reply tokens and links; empty = generated once and stored in the database.
    pub secret: SecretString,
    pub link_ttl_days: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Auto,
    Human,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A tracing filter, e.g. `info` or `tidings=debug,sqlx=warn`.
    pub level: String,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: SecretUrl("sqlite://./var/tidings.db".into()),
            max_connections: 8,
        }
    }
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            bind: "127.0.0.1:8080".into(),
            base_url: "http://127.0.0.1:8080".into(),
            admin_token: SecretString::default(),
            max_body_bytes: 64 * 1024,
            rate_limit_per_minute: 60,
            header_timeout_secs: 10,
            body_timeout_secs: 30,
            min_body_bytes_per_sec: 512,
            max_connections: 1024,
            max_connections_per_ip: 64,
            trusted_proxies: Vec::new(),
            oidc: OidcConfig::default(),
        }
    }
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            transport: Transport::Maildir,
            from: Mailbox {
                name: Some("Tidings".into()),
                address: EmailAddress::parse("tidings@localhost")
                    .expect("a literal address parses"),
            },
            reply_to: EmailAddress::parse("updates@localhost").expect("a literal address parses"),
            smtp: SmtpConfig::default(),
            imap: ImapConfig::default(),
            maildir: MaildirConfig::default(),
            inbound: InboundConfig::default(),
            dkim: DkimConfig::default(),
        }
    }
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            host: "127.0.0.1".into(),
            port: 25,
            security: Security::None,
            username: String::new(),
            password: SecretString::default(),
            ca_file: String::new(),
            tls_server_name: String::new(),
            pool_size: 4,
            timeout_secs: 30,
            concurrency: 4,
            unrecorded_max: 0,
            max_attempts: 8,
            lease_secs: 60,
        }
    }
}

impl Default for ImapConfig {
    fn default() -> Self {
        ImapConfig {
            host: "127.0.0.1".into(),
            port: 143,
            security: Security::None,
            username: String::new(),
            password: SecretString::default(),
            ca_file: String::new(),
            tls_server_name: String::new(),
            mailbox: "INBOX".into(),
            processed_folder: "Archive".into(),
            poll_interval_secs: 60,
            idle: true,
        }
    }
}

impl Default for MaildirConfig {
    fn default() -> Self {
        MaildirConfig {
            sent: PathBuf::from("./var/mail/sent"),
            inbox: PathBuf::from("./var/mail/inbox"),
        }
    }
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig {
            tick_seconds: 60,
            default_timezone: chrono_tz::UTC,
            default_request_at: LocalTime::new(16, 30).expect("a literal time is valid"),
            default_digest_at: LocalTime::new(8, 30).expect("a literal time is valid"),
            default_workdays: Workdays::default(),
            send_empty_digest: false,
            questions: vec![
                "What did you get done?".into(),
                "What's next?".into(),
                "Anything blocking you?".into(),
            ],
            reminder_after_hours: 0,
        }
    }
}

impl Default for SecurityConfig {
    fn default() -> Self {
        SecurityConfig {
            secret: SecretString::default(),
            link_ttl_days: 30,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Auto,
            level: "info".into(),
        }
    }
}

/// A configuration that could not be loaded: every problem, each naming its key and source.
#[derive(Debug, thiserror::Error)]
#[error("{}", .problems.join("\n"))]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl ConfigError {
    fn one(p: String) -> Self {
        ConfigError { problems: vec![p] }
    }
}

impl Config {
    /// The effective configuration as TOML, secrets hidden.
    pub fn to_redacted_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot print the config: {e}\n"))
    }

    pub fn reply_to(&self) -> EmailAddress {
        self.mail.reply_to.clone()
    }
}

impl SmtpConfig {
    /// `unrecorded_max` with 0 read as one per session.
    pub fn unrecorded_bound(&self) -> usize {
        match self.unrecorded_max {
            0 => self.concurrency.max(1),
            n => n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_toml_with_env(text, &Source::File("t.toml".into()), &env)
    }

    #[test]
    fn oidc_needs_an_https_issuer_a_client_and_its_secret() {
        let e = parse("[web.oidc]\nissuer = \"http://idp.example.com\"\n", &[])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("web.oidc.issuer") && e.contains("https://"),
            "{e}"
        );
        assert!(
            e.contains("web.oidc.client_id") && e.contains("web.oidc.client_secret"),
            "{e}"
        );
        let ok = parse(
            "[web.oidc]\nissuer = \"https://idp.example.com/realms/x\"\nclient_id = \"tidings\"\nclient_secret = \"s3cret-s3cret\"\n",
            &[],
        )
        .unwrap();
        assert!(ok.web.oidc.enabled());
        assert!(
            !format!("{ok:?}").contains("s3cret-s3cret"),
            "the secret is hidden"
        );
        let local = parse(
            "[web.oidc]\nissuer = \"http://127.0.0.1:4711\"\nclient_id = \"t\"\nclient_secret = \"s\"\n",
            &[],
        );
        assert!(local.is_ok(), "plain http on loopback");
        assert!(!Config::default().web.oidc.enabled());
    }

    #[test]
    fn the_example_config_parses_and_equals_the_defaults() {
        let text = include_str!("../../config.example.toml");
        let cfg = parse(text, &[]).expect("config.example.toml must parse");
        let defaults = Config::default();
        assert_eq!(
            toml::to_string(&cfg).unwrap(),
            toml::to_string(&defaults).unwrap()
        );
    }

    #[test]
    fn env_overrides_win_over_the_file() {
        let cfg = parse(
            "[web]\nbind = \"127.0.0.1:1\"\n",
            &[
                ("TIDINGS_WEB__BIND", "127.0.0.1:9000"),
                ("TIDINGS_MAIL__SMTP__PORT", "2525"),
            ],
        )
        .unwrap();
        assert_eq!(cfg.web.bind, "127.0.0.1:9000");
        assert_eq!(cfg.mail.smtp.port, 2525);
    }

    #[test]
    fn unknown_keys_are_rejected_with_their_name() {
        let e = parse("[web]\nbnd = \"x\"\n", &[]).unwrap_err().to_string();
        assert!(e.contains("bnd") && e.contains("t.toml"), "{e}");
        let e = parse("", &[("TIDINGS_WEB__NOPE", "1")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("TIDINGS_WEB__NOPE"), "{e}");
    }

    #[test]
    fn unrecorded_max_is_at_most_the_concurrency_and_0_means_one_per_session() {
        let e = parse("[mail.smtp]\nconcurrency = 4\nunrecorded_max = 5\n", &[])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("mail.smtp.unrecorded_max (t.toml)")
                && e.contains("at most mail.smtp.concurrency (4)"),
            "{e}"
        );
        let cfg = parse("[mail.smtp]\nconcurrency = 10\n", &[]).unwrap();
        assert_eq!(cfg.mail.smtp.unrecorded_bound(), 10, "0: one per session");
        let cfg = parse("[mail.smtp]\nconcurrency = 10\nunrecorded_max = 1\n", &[]).unwrap();
        assert_eq!(cfg.mail.smtp.unrecorded_bound(), 1);
    }

    #[test]
    fn every_problem_is_reported_with_its_key() {
        let e = parse(
            "[web]\nbind = \"nope\"\n[schedule]\ndefault_digest_at = \"25:00\"\n",
            &[],
        )
        .unwrap_err();
        assert_eq!(e.problems.len(), 2, "{e}");
        assert!(e.problems[0].starts_with("web.bind (t.toml)"), "{e}");
        assert!(
            e.problems[1].starts_with("schedule.default_digest_at (t.toml)"),
            "{e}"
        );
    }

    #[test]
    fn dkim_keys_are_checked_at_load_with_their_key_named() {
        let e = parse(
            "[mail.dkim]\nselector = \"s1\"\nprivate_key_file = \"/nonexistent/dkim.pem\"\n",
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("mail.dkim.private_key_file") && e.contains("/nonexistent/dkim.pem"),
            "{e}"
        );
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not a key").unwrap();
        let e = parse(
            &format!(
                "[mail.dkim]\nselector = \"bad selector\"\nprivate_key_file = \"{}\"\n",
                junk.display()
            ),
            &[],
        )
        .unwrap_err();
        assert_eq!(e.problems.len(), 2, "{e}");
        assert!(e.problems[0].starts_with("mail.dkim.selector"), "{e}");
        assert!(
            e.to_string().contains("no unencrypted PEM private key"),
            "{e}"
        );
        let e = parse("[mail.dkim]\nselector = \"s1\"\n", &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("mail.dkim.private_key_file"), "{e}");
    }

    #[test]
    fn secrets_never_print() {
        let cfg = parse("[mail.smtp]\npassword = \"hunter2hunter2\"\n[database]\nurl = \"postgres://u:pw@h/db\"\n[web]\nadmin_token = \"adm1n-adm1n-adm1n\"\n", &[]).unwrap();
        let shown = cfg.to_redacted_toml();
        assert!(
            !shown.contains("hunter2") && !shown.contains(":pw@") && !shown.contains("adm1n"),
            "{shown}"
        );
        assert!(!format!("{cfg:?}").contains("hunter2"));
        assert!(!format!("{cfg:?}").contains("adm1n"));
        let e = parse("[web]\nadmin_token = \"short\"\n", &[]).unwrap_err();
        assert!(e.to_string().contains("web.admin_token"), "{e}");
    }
}
