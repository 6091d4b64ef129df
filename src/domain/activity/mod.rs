//! A member's activity feeds, read into a draft of their "Done" section. Pure logic, no I/O:
//! the caller fetches each feed and hands over its bytes.
//!
//! Each member may give the addresses of their own activity feeds: GitHub
//! (`https://github.com/USER.atom`), GitLab (the user activity Atom with a `feed_token`),
//! Forgejo/Gitea (`https://HOST/USER.rss`), Jira activity streams, or any RSS 0.9x–2.0, Atom or
//! JSON Feed document. Before the member's update request, the caller reads them with [`read`]
//! (an error page served with status 200 is an error, so it never replaces the last good
//! copy), then builds a [`draft::Draft`]: numbered lines grouped by
//! project, the member's replies `keep` or `keep 1 3 4` picking which of them become their
//! "Done" section ([`draft::parse_keep`], [`draft::kept`], [`draft::done_line`]). Automated
//! entries (bots, dependency bumps) are left out by default ([`noise`]); a member may mute a
//! project or a kind of entry ([`noise::is_muted`]).
//!
//! Reading an entry ([`Entry`]):
//! * `title`: plain text (tags stripped, references decoded, whitespace collapsed), at most
//!   [`TITLE_CHARS`] characters, without the member's name in front ("ana-lima pushed to main
//!   in tidings/tidings" → "pushed to main") nor the project at the end when `project` holds it;
//!   with the number and subject of the issue or pull request when the entry tells them
//!   reliably ("opened pull request #212: Stream the outbox"). Details per service are in
//!   `shape.rs`.
//! * `link`: the entry's alternate link, made absolute against the feed's own link when it is
//!   site-relative (Forgejo writes compare links so), kept only when http or https; Jira's
//!   `streamsSourceProduct` tracking parameter is removed.
//! * `project`: a JSON Feed item's first tag; else read from the link ("owner/repo" for
//!   GitHub, Forgejo and Gitea pages, "group/sub/project" before GitLab's `/-/`, "KEY" for
//!   Jira's `/browse/KEY-123`); else from the title ("… in owner/repo", "owner/repo#12").
//! * `kind`: from GitHub's event id (`tag:github.com,2008:PushEvent/…` → "push"), "issue" or
//!   "comment" for Jira, else from the title's verb ("merged …" → "merge", "opened merge
//!   request …" → "pull request"); None when it cannot be told.
//! * `at`: published, else updated; `key`: the entry id, else its link, else its title.

use chrono::{DateTime, Utc};
use feed_rs::model::{self, FeedType};
use feed_rs::parser::{ParseErrorKind, ParseFeedError};
use serde::{Deserialize, Serialize};
use url::Url;

pub mod draft;
mod html;
pub mod noise;
mod project;
mod shape;

#[cfg(test)]
mod tests;

pub use draft::{DRAFT_LINES, Draft, DraftLine, Keep, done_line, draft, groups, kept, parse_keep};
pub use noise::{DEFAULT_BOT_AUTHORS, DEFAULT_BOT_TITLES, NoiseRules, is_automated, is_muted};

/// The longest title kept, in characters (longer ones end with '…').
pub const TITLE_CHARS: usize = 160;

/// Query parameters that only track where a link was clicked (Jira activity streams).
const TRACKING_PARAMS: &[&str] = &["streamsSourceProduct"];

/// One entry read from a feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Stable identity for dedup: the feed entry's id, else its link, else its title.
    pub key: String,
    /// Short, plain-text title: HTML tags stripped, entities decoded, whitespace collapsed, at
    /// most 160 chars (cut with '…').
    pub title: String,
    /// The entry's link (http/https only; anything else dropped to None).
    pub link: Option<String>,
    /// Repository or project where the feed says so: "owner/repo" for GitHub/Forgejo/Gitea,
    /// "group/sub/project" for GitLab, the Jira project key ("TID") for Jira, a JSON Feed
    /// item's first tag or none.
    pub project: Option<String>,
    /// Kind of entry in lower case, one word or two: "push", "pull request", "issue",
    /// "comment", "review", "release", "create", "delete", "fork", "star", "wiki", "merge",
    /// "commit", ... None when it cannot be told.
    pub kind: Option<String>,
    /// Author name as the feed gives it (e.g. `dependabot[bot]`).
    pub author: Option<String>,
    /// Published or updated time; entries without any date get None.
    pub at: Option<DateTime<Utc>>,
}

/// Why a document could not be read as a feed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeedError {
    /// The bytes are not an Atom, RSS or JSON Feed document; the reason is short and meant
    /// for the member ("an HTML page (a sign-in or error page?)").
    #[error("not a feed: {0}")]
    NotAFeed(String),
}

/// Reads an Atom, RSS or JSON Feed document (feed-rs) into entries, newest first. Errors on
/// anything that is not a feed (HTML login pages, garbage), with a short human reason.
///
/// Entries without a title, link or summary to show are skipped; entries without a date are
/// kept (with `at` None) after the dated ones.
pub fn read(bytes: &[u8]) -> Result<Vec<Entry>, FeedError> {
    let feed = feed_rs::parser::parse(bytes).map_err(|e| not_a_feed(bytes, &e))?;
    let base = feed_base(&feed);
    let json = feed.feed_type == FeedType::JSON;
    let mut entries: Vec<Entry> = feed
        .entries
        .iter()
        .filter_map(|e| entry(e, base.as_ref(), json))
        .collect();
    entries.sort_by_key(|e| std::cmp::Reverse(e.at));
    Ok(entries)
}

/// The member-readable reason why `bytes` failed to parse.
fn not_a_feed(bytes: &[u8], err: &ParseFeedError) -> FeedError {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(1024)]);
    let head = text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .to_ascii_lowercase();
    let reason = if head.is_empty() {
        "the document is empty"
    } else if head.starts_with("<!doctype html")
        || head.starts_with("<html")
        || head.contains("<html")
    {
        "an HTML page (a sign-in or error page?)"
    } else {
        match err {
            ParseFeedError::ParseError(ParseErrorKind::NoFeedRoot) => {
                "no Atom, RSS or JSON Feed in it"
            }
            ParseFeedError::XmlReader(_) | ParseFeedError::IoError(_) => "broken or cut-off XML",
            ParseFeedError::JsonSerde(_) => "broken JSON, or JSON that is not a JSON Feed",
            ParseFeedError::JsonUnsupportedVersion(_) => "an unsupported JSON Feed version",
            ParseFeedError::ParseError(_) => "a feed with broken parts",
        }
    };
    FeedError::NotAFeed(reason.to_string())
}

/// The feed's own web address, against which site-relative entry links are resolved.
fn feed_base(feed: &model::Feed) -> Option<Url> {
    let alternate = feed
        .links
        .iter()
        .find(|l| matches!(l.rel.as_deref(), None | Some("alternate")));
    alternate
        .into_iter()
        .chain(feed.links.iter())
        .find_map(|l| Url::parse(&l.href).ok().filter(is_web))
}

/// Whether a URL is http or https.
fn is_web(u: &Url) -> bool {
    matches!(u.scheme(), "http" | "https")
}

/// The entry's alternate link: absolute, http(s) only, without tracking parameters.
fn entry_link(e: &model::Entry, base: Option<&Url>) -> Option<Url> {
    let alternate = e
        .links
        .iter()
        .find(|l| matches!(l.rel.as_deref(), None | Some("alternate")));
    let href = alternate.or(e.links.first())?.href.trim();
    let mut url = match Url::parse(href) {
        Ok(u) => u,
        Err(url::ParseError::RelativeUrlWithoutBase) => base?.join(href).ok()?,
        Err(_) => return None,
    };
    if !is_web(&url) {
        return None;
    }
    if url.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| !TRACKING_PARAMS.contains(&k.as_ref()))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if pairs.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(pairs);
        }
    }
    Some(url)
}

/// One feed entry read into an [`Entry`]; None when it has nothing to show.
fn entry(e: &model::Entry, base: Option<&Url>, json: bool) -> Option<Entry> {
    let link = entry_link(e, base);
    let author = e
        .authors
        .iter()
        .find_map(|p| p.name.as_deref().map(str::trim).filter(|n| !n.is_empty()));
    let title = e
        .title
        .as_ref()
        .map(|t| html::plain(&t.content))
        .unwrap_or_default();
    let summary = e.summary.as_ref().map(|s| s.content.as_str());
    let title = if title.is_empty() {
        summary
            .map(html::plain)
            .filter(|s| !s.is_empty())
            .or_else(|| link.as_ref().map(Url::to_string))?
    } else {
        title
    };
    let tag = if json {
        e.categories.first().map(|c| c.term.as_str())
    } else {
        None
    };
    let shaped = shape::shape(&shape::Input {
        id: &e.id,
        title,
        link: link.as_ref(),
        author,
        tag,
        content: e.content.as_ref().and_then(|c| c.body.as_deref()),
        summary,
    });
    let link = link.map(String::from);
    let key = [Some(e.id.trim()), link.as_deref()]
        .into_iter()
        .flatten()
        .find(|k| !k.is_empty())
        .unwrap_or(&shaped.title)
        .to_string();
    Some(Entry {
        key,
        title: html::truncate(&shaped.title, TITLE_CHARS),
        link,
        project: shaped.project,
        kind: shaped.kind,
        author: author.map(str::to_string),
        at: e.published.or(e.updated),
    })
}
