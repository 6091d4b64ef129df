//! `[fetch]`: how Tidings reads addresses people give it (calendars, activity feeds): the one
//! fetcher's limits and its rule against private addresses (SSRF). `[calendars]`: how
//! calendars are read once fetched. `[activity]`: which feed entries are automated.
//! `[webhooks]`: how signed webhook deliveries are retried (they go through the same fetcher's
//! client rules: no private addresses, a timeout).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FetchConfig {
    /// Allow loopback, private (RFC 1918, unique-local), link-local and carrier-grade NAT
    /// addresses: for a calendar server on the LAN. Cloud metadata addresses stay refused.
    pub allow_private: bool,
    /// Allow plain `http://` addresses (default: https only; `webcal://` is read as https).
    pub allow_http: bool,
    /// The most bytes one response may have.
    pub max_bytes: u64,
    /// The most seconds one fetch may take, connecting and reading included.
    pub timeout_secs: u64,
    /// Each address is read at most once per this many minutes, whatever the number of
    /// members who gave it.
    pub refresh_minutes: u64,
}

impl Default for FetchConfig {
    fn default() -> Self {
        FetchConfig {
            allow_private: false,
            allow_http: false,
            max_bytes: 5_000_000,
            timeout_secs: 20,
            refresh_minutes: 60,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CalendarsConfig {
    /// Words for time off in event titles (any case, whole words or phrases); empty: the
    /// built-in list in several languages ([`crate::domain::calendar::DEFAULT_AWAY_WORDS`]).
    pub away_words: Vec<String>,
}

impl CalendarsConfig {
    /// The words in force.
    pub fn away_words(&self) -> crate::domain::calendar::AwayWords {
        if self.away_words.is_empty() {
            crate::domain::calendar::AwayWords::default()
        } else {
            crate::domain::calendar::AwayWords::new(&self.away_words)
        }
    }
}

/// `[activity]`: which entries of members' activity feeds never reach a draft.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ActivityConfig {
    /// Authors whose entries are automated (any case, part of the name); empty: the built-in
    /// list ([`crate::domain::activity::noise::DEFAULT_BOT_AUTHORS`]).
    pub bot_authors: Vec<String>,
    /// Title fragments that mark an automated entry (any case); empty: the built-in list
    /// ([`crate::domain::activity::noise::DEFAULT_BOT_TITLES`]).
    pub bot_titles: Vec<String>,
}

impl ActivityConfig {
    /// The rules in force: each list given replaces its built-in one.
    pub fn rules(&self) -> crate::domain::activity::noise::NoiseRules {
        let mut r = crate::domain::activity::noise::NoiseRules::defaults();
        if !self.bot_authors.is_empty() {
            r.authors = self.bot_authors.clone();
        }
        if !self.bot_titles.is_empty() {
            r.titles = self.bot_titles.clone();
        }
        r
    }
}

/// `[webhooks]`: retrying signed webhook deliveries (`tidings webhook add`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhooksConfig {
    /// Attempts of one delivery before it is given up as failed (the Standard Webhooks
    /// schedule: at once, 5 s, 5 min, 30 min, 2 h, 5 h, then every 10 h).
    pub max_attempts: u32,
    /// An endpoint whose deliveries have all failed for this many hours is paused until the
    /// admin resumes it (`tidings webhook resume ID`); its deliveries wait meanwhile.
    pub pause_after_hours: u32,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        WebhooksConfig {
            max_attempts: 8,
            pause_after_hours: 24,
        }
    }
}
