//! The activity options of `member set` (#35): feed addresses normalised and checked as the
//! fetcher reads them, shown only as host and last characters; mutes.

use clap::Args;

use crate::config::Config;
use crate::store::Store;
use crate::store::activity::FeedLink;

use super::store_err;

/// `member set`'s activity feed options.
#[derive(Args, Debug, Clone, Default)]
pub struct ActivityOpts {
    /// Add a feed of the member's own activity (an https:// Atom, RSS or JSON Feed: GitHub's
    /// https://github.com/USER.atom, GitLab's, Forgejo's, Jira's; repeat): each request
    /// drafts their Done from it. A secret: never shown whole.
    #[arg(long, value_name = "URL")]
    pub activity_feed: Vec<String>,
    /// Remove every activity feed of the member (before any --activity-feed given with it).
    #[arg(long)]
    pub no_activity_feeds: bool,
    /// Leave a repository or project (tidings/docs), or a kind of entry (push), out of the
    /// member's drafts (repeat).
    #[arg(long, value_name = "WHAT")]
    pub activity_mute: Vec<String>,
    /// Take back an --activity-mute (repeat).
    #[arg(long, value_name = "WHAT")]
    pub activity_unmute: Vec<String>,
}

impl ActivityOpts {
    fn asked(&self) -> bool {
        self.no_activity_feeds
            || !self.activity_feed.is_empty()
            || !self.activity_mute.is_empty()
            || !self.activity_unmute.is_empty()
    }
}

/// One line per feed: `activity feed: github.com …ima.atom (read …, 12 entries)`.
pub(super) fn describe(links: &[FeedLink]) -> Vec<String> {
    links
        .iter()
        .map(|l| {
            let state = match (&l.error, l.fetched_at) {
                (Some(e), _) => format!(
                    "could not be read since {}: {e}",
                    crate::domain::rfc3339(l.failing_since.unwrap_or_default())
                ),
                (None, Some(t)) => {
                    format!("read {}, {} entries", crate::domain::rfc3339(t), l.entries)
                }
                (None, None) => "not read yet: `tidings run-due` or `serve` reads it".into(),
            };
            format!("activity feed: {} ({state})", l.shown)
        })
        .collect()
}

/// `member set`'s activity options for member `id`, addresses already checked
/// ([`super::calendar::addresses`]); prints the member's feeds and mutes after (also when
/// no activity option was given and they have some).
pub(super) async fn set_member(
    s: &Store,
    id: i64,
    o: &ActivityOpts,
    feeds: &[String],
) -> anyhow::Result<()> {
    if o.no_activity_feeds {
        s.remove_activity_feeds(id).await.map_err(store_err)?;
    }
    for url in feeds {
        s.add_activity_feed(id, url).await.map_err(store_err)?;
    }
    for (list, on) in [(&o.activity_mute, true), (&o.activity_unmute, false)] {
        for what in list.iter().map(|w| w.trim()).filter(|w| !w.is_empty()) {
            s.set_activity_mute(id, what, on).await.map_err(store_err)?;
        }
    }
    let links = s.activity_feeds(id).await.map_err(store_err)?;
    if links.is_empty() && o.asked() {
        crate::outln!("no activity feeds");
    }
    for line in describe(&links) {
        crate::outln!("{line}");
    }
    let mutes = s.activity_mutes(id).await.map_err(store_err)?;
    if !mutes.is_empty() {
        crate::outln!("muted in drafts: {}", mutes.join(", "));
    }
    Ok(())
}

/// The feed addresses of `o`, checked as the fetcher reads them.
pub(super) fn addresses(cfg: &Config, o: &ActivityOpts) -> anyhow::Result<Vec<String>> {
    super::calendar::addresses(cfg, "--activity-feed", &o.activity_feed)
}
