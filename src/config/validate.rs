//! Validation: every value that types alone cannot check, reported all together, each with
//! its key and source.

use std::net::SocketAddr;
use std::path::Path;

use super::{Config, ConfigError, Source, Transport};

/// The bounds of `mail.inbound.max_message_bytes`.
const MIN_MESSAGE_BYTES: usize = 64 * 1024;
const MAX_MESSAGE_BYTES: usize = 1024 * 1024 * 1024;

impl Config {
    /// Checks every value that types alone cannot; reports all problems together.
    pub fn validate(&self, source: &Source) -> Result<(), ConfigError> {
        let mut p = Vec::new();
        let mut bad = |key: &str, msg: String| p.push(format!("{key} ({source}): {msg}"));
        let url = &self.database.url.0;
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            bad(
                "database.url",
                format!(
                    "expected sqlite://PATH or postgres://…, got {:?}",
                    self.database.url.redacted()
                ),
            );
        }
        if self.fetch.timeout_secs == 0
            || self.fetch.max_bytes == 0
            || self.fetch.refresh_minutes == 0
        {
            let key = if self.fetch.timeout_secs == 0 {
                "fetch.timeout_secs"
            } else if self.fetch.max_bytes == 0 {
                "fetch.max_bytes"
            } else {
                "fetch.refresh_minutes"
            };
            bad(key, "must be at least 1".into());
        }
        if self.webhooks.max_attempts == 0 || self.webhooks.pause_after_hours == 0 {
            let key = if self.webhooks.max_attempts == 0 {
                "webhooks.max_attempts"
            } else {
                "webhooks.pause_after_hours"
            };
            bad(key, "must be at least 1".into());
        }
        if self.mail.smtp.lease_secs <= self.mail.smtp.timeout_secs {
            bad(
                "mail.smtp.lease_secs",
                format!(
                    "must be longer than mail.smtp.timeout_secs ({} s), or a slow send could be claimed and sent twice",
                    self.mail.smtp.timeout_secs
                ),
            );
        }
        let dkim = &self.mail.dkim;
        if !dkim.private_key_file.is_empty() {
            if dkim.selector.is_empty()
                || !dkim.selector.split('.').all(|l| {
                    !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                })
            {
                bad(
                    "mail.dkim.selector",
                    format!(
                        "must be a DNS label such as \"tidings2026\" when mail.dkim.private_key_file is set, got {:?}",
                        dkim.selector
                    ),
                );
            }
            if let Err(e) = super::load_dkim_key(Path::new(&dkim.private_key_file)) {
                bad("mail.dkim.private_key_file", format!("{e:#}"));
            }
        } else if !dkim.selector.is_empty() || !dkim.domain.is_empty() {
            bad(
                "mail.dkim.private_key_file",
                "must be set when mail.dkim.selector or mail.dkim.domain is (or leave all three empty to sign nothing)".into(),
            );
        }
        if self.mail.smtp.timeout_secs == 0 {
            bad("mail.smtp.timeout_secs", "must be at least 1".into());
        }
        if self.database.max_connections == 0 {
            bad("database.max_connections", "must be at least 1".into());
        }
        if self.web.bind.parse::<SocketAddr>().is_err() {
            bad(
                "web.bind",
                format!(
                    "expected HOST:PORT such as 127.0.0.1:8080, got {:?}",
                    self.web.bind
                ),
            );
        }
        if !(self.web.base_url.starts_with("http://") || self.web.base_url.starts_with("https://"))
        {
            bad(
                "web.base_url",
                format!(
                    "expected an http:// or https:// URL, got {:?}",
                    self.web.base_url
                ),
            );
        }
        let oidc = &self.web.oidc;
        if oidc.enabled() {
            match url::Url::parse(&oidc.issuer) {
                Ok(u) if u.scheme() == "https" => {}
                Ok(u) if u.scheme() == "http" && is_loopback_host(u.host_str()) => {}
                Ok(_) => bad(
                    "web.oidc.issuer",
                    "must be an https:// URL (http:// only on a loopback address)".into(),
                ),
                Err(e) => bad("web.oidc.issuer", format!("not a URL: {e}")),
            }
            if oidc.client_id.trim().is_empty() {
                bad(
                    "web.oidc.client_id",
                    "is required when web.oidc.issuer is set".into(),
                );
            }
            if oidc.client_secret.is_empty() {
                bad(
                    "web.oidc.client_secret",
                    "is required when web.oidc.issuer is set (TIDINGS_WEB__OIDC__CLIENT_SECRET=...)".into(),
                );
            }
            if oidc.button.trim().is_empty() {
                bad("web.oidc.button", "must not be empty".into());
            }
        }
        if !self.web.admin_token.is_empty() && self.web.admin_token.expose().len() < 16 {
            bad(
                "web.admin_token",
                "must be at least 16 characters (or empty to disable the admin API)".into(),
            );
        }
        for (key, v) in [
            ("web.header_timeout_secs", self.web.header_timeout_secs),
            ("web.body_timeout_secs", self.web.body_timeout_secs),
            ("web.max_connections", self.web.max_connections as u64),
        ] {
            if v == 0 {
                bad(key, "must be at least 1".into());
            }
        }
        if self.web.max_body_bytes < 1024 {
            bad(
                "web.max_body_bytes",
                format!(
                    "must be at least 1024 (the preferences form needs room), got {}",
                    self.web.max_body_bytes
                ),
            );
        }
        if self.mail.reply_to.as_str().contains('+') {
            bad(
                "mail.reply_to",
                format!(
                    "expected a plain address such as updates@example.com (no +tag), got {:?}",
                    self.mail.reply_to.as_str()
                ),
            );
        }
        if self.mail.transport == Transport::Smtp {
            if self.mail.smtp.host.is_empty() {
                bad(
                    "mail.smtp.host",
                    "must be set when mail.transport = \"smtp\"".into(),
                );
            }
            if self.mail.imap.host.is_empty() {
                bad(
                    "mail.imap.host",
                    "must be set when mail.transport = \"smtp\"".into(),
                );
            }
            if self.mail.imap.username.is_empty() {
                bad(
                    "mail.imap.username",
                    "must be set when mail.transport = \"smtp\" (replies are read over IMAP)"
                        .into(),
                );
            }
        }
        for (key, file) in [
            ("mail.smtp.ca_file", &self.mail.smtp.ca_file),
            ("mail.imap.ca_file", &self.mail.imap.ca_file),
        ] {
            if !file.is_empty() && !Path::new(file).exists() {
                bad(key, format!("file {file:?} does not exist"));
            }
        }
        for id in &self.mail.inbound.trusted_authserv_id {
            let host = id.strip_prefix("*.").unwrap_or(id);
            if host.is_empty()
                || !host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
            {
                bad(
                    "mail.inbound.trusted_authserv_id",
                    format!("{id:?} is not a host name (or *.domain)"),
                );
            }
        }
        if self.mail.inbound.bounce_threshold == 0 {
            bad("mail.inbound.bounce_threshold", "must be at least 1".into());
        }
        // Below 64 KiB a long reply with its quoted thread would be cut; above 1 GiB one
        // message could take the server's memory.
        let max = self.mail.inbound.max_message_bytes;
        if !(MIN_MESSAGE_BYTES..=MAX_MESSAGE_BYTES).contains(&max) {
            bad(
                "mail.inbound.max_message_bytes",
                format!("expected {MIN_MESSAGE_BYTES} to {MAX_MESSAGE_BYTES} bytes, got {max}"),
            );
        }
        if self.mail.smtp.concurrency == 0 {
            bad("mail.smtp.concurrency", "must be at least 1".into());
        }
        if self.mail.smtp.unrecorded_max > self.mail.smtp.concurrency {
            bad(
                "mail.smtp.unrecorded_max",
                format!(
                    "must be at most mail.smtp.concurrency ({}): each session has at most one email accepted and not yet recorded; 0 = one per session, 1 = one for all",
                    self.mail.smtp.concurrency
                ),
            );
        }
        if self.mail.smtp.pool_size == 0 {
            bad("mail.smtp.pool_size", "must be at least 1".into());
        }
        if self.schedule.tick_seconds == 0 || self.schedule.tick_seconds > 3600 {
            bad(
                "schedule.tick_seconds",
                format!("expected 1 to 3600, got {}", self.schedule.tick_seconds),
            );
        }
        if self.schedule.questions.is_empty() {
            bad(
                "schedule.questions",
                "at least one question is needed".into(),
            );
        }
        if self.schedule.reminder_after_hours > 23 {
            bad(
                "schedule.reminder_after_hours",
                format!(
                    "expected 0 (off) to 23, got {} (a reminder goes out the same local day)",
                    self.schedule.reminder_after_hours
                ),
            );
        }
        if self.security.link_ttl_days == 0 {
            bad("security.link_ttl_days", "must be at least 1".into());
        }
        if !self.security.secret.is_empty() && self.security.secret.expose().len() < 16 {
            bad(
                "security.secret",
                "must be at least 16 characters (or empty to generate one)".into(),
            );
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log.level) {
            bad("log.level", format!("{e}"));
        }
        if p.is_empty() {
            Ok(())
        } else {
            Err(ConfigError { problems: p })
        }
    }
}

/// `127.0.0.1`, `::1`, `localhost`: where a plain-http OIDC issuer is allowed (tests, a
/// provider on the same machine).
fn is_loopback_host(host: Option<&str>) -> bool {
    match host {
        Some("localhost") => true,
        Some(h) => h
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fetch_limit_of_zero_is_named() {
        let source = Source::Defaults;
        for key in ["timeout_secs", "max_bytes", "refresh_minutes"] {
            let mut cfg = Config::default();
            match key {
                "timeout_secs" => cfg.fetch.timeout_secs = 0,
                "max_bytes" => cfg.fetch.max_bytes = 0,
                _ => cfg.fetch.refresh_minutes = 0,
            }
            let e = cfg
                .validate(&source)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                e.contains(&format!("fetch.{key}")) && e.contains("at least 1"),
                "{e}"
            );
        }
    }

    #[test]
    fn the_inbound_size_cap_is_bounded_and_named() {
        let mut cfg = Config::default();
        let source = Source::Defaults;
        let about_it = |cfg: &Config| {
            cfg.validate(&source)
                .err()
                .is_some_and(|e| e.to_string().contains("max_message_bytes"))
        };
        assert!(!about_it(&cfg), "the default is valid");
        for bad in [0, MIN_MESSAGE_BYTES - 1, MAX_MESSAGE_BYTES + 1] {
            cfg.mail.inbound.max_message_bytes = bad;
            assert!(about_it(&cfg), "{bad}");
            let e = cfg.validate(&source).unwrap_err().to_string();
            assert!(
                e.contains("mail.inbound.max_message_bytes") && e.contains(&bad.to_string()),
                "{e}"
            );
        }
    }
}
