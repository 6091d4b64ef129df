//! Activity feeds (#35): the feed addresses a member gave (each read at most once per refresh
//! interval, the entries of its last good copy kept as JSON), what the member muted, and the
//! draft each request showed (what `keep` keeps). An address is a secret: [`FeedLink::shown`]
//! is all any page or command shows of it; nothing here is ever shown to another member.

use chrono::NaiveDate;
use sqlx::Row;

use super::*;
use crate::domain::MemberId;
use crate::domain::activity::{Draft, Entry};

/// A feed as a page shows it: never its whole address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedLink {
    pub id: i64,
    /// `github.com …a.atom`: the host and the last characters.
    pub shown: String,
    /// When it was last read (or found unchanged).
    pub fetched_at: Option<i64>,
    /// Entries in its last good copy.
    pub entries: usize,
    /// Why the last read failed, and since when reads fail.
    pub error: Option<String>,
    pub failing_since: Option<i64>,
}

/// A feed due for a read.
#[derive(Debug, Clone)]
pub struct DueFeed {
    pub id: i64,
    pub url: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// A new copy of a feed: its entries and the validators to send next time.
#[derive(Debug, Clone, Copy)]
pub struct FeedBody<'a> {
    pub entries: &'a [Entry],
    pub etag: Option<&'a str>,
    pub last_modified: Option<&'a str>,
}

/// `github.com …lima.atom`: what may be shown of feed address `url` — its host and the last
/// eight characters of its path (a token in the query is never shown).
pub fn shown(url: &str) -> String {
    let parsed = url::Url::parse(url).ok();
    let host = parsed
        .as_ref()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    let path = parsed
        .as_ref()
        .map(|u| u.path().trim_end_matches('/').to_string())
        .unwrap_or_default();
    let chars: Vec<char> = path.chars().collect();
    let tail: String = chars[chars.len().saturating_sub(8)..].iter().collect();
    format!("{host} …{tail}")
}

fn feed_link(r: &sqlx::any::AnyRow) -> StoreResult<FeedLink> {
    let url: String = r.try_get("url")?;
    let entries: Option<String> = r.try_get("entries")?;
    Ok(FeedLink {
        id: r.try_get("id")?,
        shown: shown(&url),
        fetched_at: r.try_get("fetched_at")?,
        entries: entries
            .and_then(|j| serde_json::from_str::<Vec<Entry>>(&j).ok())
            .map_or(0, |v| v.len()),
        error: r.try_get("error")?,
        failing_since: r.try_get("failing_since")?,
    })
}

fn due_feed(r: &sqlx::any::AnyRow) -> StoreResult<DueFeed> {
    Ok(DueFeed {
        id: r.try_get("id")?,
        url: r.try_get("url")?,
        etag: r.try_get("etag")?,
        last_modified: r.try_get("last_modified")?,
    })
}

const LINK_COLUMNS: &str = "id, url, entries, fetched_at, error, failing_since";

impl Store {
    /// Gives `member` the feed at `url` (an address already normalised); true when it is new.
    pub async fn add_activity_feed(&self, member: MemberId, url: &str) -> StoreResult<bool> {
        let r = sqlx::query(
            "INSERT INTO activity_feeds (member_id, url, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (member_id, url) DO NOTHING",
        )
        .bind(member)
        .bind(url)
        .bind(now_unix())
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() > 0)
    }

    /// Takes every feed of `member` away (`activity off`), and the drafts made from them.
    pub async fn remove_activity_feeds(&self, member: MemberId) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        for sql in [
            "DELETE FROM activity_feeds WHERE member_id = $1",
            "DELETE FROM activity_drafts WHERE member_id = $1",
        ] {
            sqlx::query(sql).bind(member).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Takes feed `id` of `member` away; false when they had no such feed.
    pub async fn remove_activity_feed(&self, member: MemberId, id: i64) -> StoreResult<bool> {
        let r = sqlx::query("DELETE FROM activity_feeds WHERE member_id = $1 AND id = $2")
            .bind(member)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    /// Whether `member` gave any feed (one indexed lookup: every request asks).
    pub async fn has_activity_feeds(&self, member: MemberId) -> StoreResult<bool> {
        Ok(
            sqlx::query("SELECT 1 FROM activity_feeds WHERE member_id = $1 LIMIT 1")
                .bind(member)
                .fetch_optional(&self.pool)
                .await?
                .is_some(),
        )
    }

    /// `member`'s feeds as shown, in the order given.
    pub async fn activity_feeds(&self, member: MemberId) -> StoreResult<Vec<FeedLink>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {LINK_COLUMNS} FROM activity_feeds WHERE member_id = $1 ORDER BY id"
        )))
        .bind(member)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(feed_link).collect()
    }

    /// `member`'s feed at `url` (an address as normalised when it was added), as shown.
    pub async fn activity_feed(
        &self,
        member: MemberId,
        url: &str,
    ) -> StoreResult<Option<FeedLink>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {LINK_COLUMNS} FROM activity_feeds WHERE member_id = $1 AND url = $2"
        )))
        .bind(member)
        .bind(url)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(feed_link).transpose()
    }

    /// Every feed whose last read failed, as shown, with its member; oldest failure first.
    pub async fn failing_activity_feeds(&self) -> StoreResult<Vec<(MemberId, FeedLink)>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT member_id, {LINK_COLUMNS} FROM activity_feeds WHERE error IS NOT NULL
             ORDER BY failing_since, id"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("member_id")?, feed_link(r)?)))
            .collect()
    }

    /// Feeds by state: `ok`, `failing` (the last good copy is used), `unread`.
    pub async fn activity_feed_states(&self) -> StoreResult<Vec<(&'static str, i64)>> {
        self.fetched_states(super::fetched::Fetched::Feeds).await
    }

    /// Feeds not tried since `before` (Unix seconds), oldest first; `only`: that member's.
    pub async fn due_activity_feeds(
        &self,
        before: i64,
        only: Option<MemberId>,
        limit: i64,
    ) -> StoreResult<Vec<DueFeed>> {
        let rows = sqlx::query(
            "SELECT id, url, etag, last_modified FROM activity_feeds
             WHERE (tried_at IS NULL OR tried_at <= $1) AND ($2 = 0 OR member_id = $2)
             ORDER BY tried_at IS NOT NULL, tried_at, id LIMIT $3",
        )
        .bind(before)
        .bind(only.unwrap_or(0))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(due_feed).collect()
    }

    /// Records a read of feed `id`: a new copy, `None` for "unchanged" (304), or the error
    /// (the last good copy stays).
    pub async fn record_feed_read(
        &self,
        id: i64,
        read: Result<Option<FeedBody<'_>>, &str>,
        now: i64,
    ) -> StoreResult<()> {
        use super::fetched::Fetched::Feeds;
        let b = match read {
            Ok(Some(b)) => b,
            Ok(None) => return self.record_no_copy(Feeds, id, Ok(()), now).await,
            Err(e) => return self.record_no_copy(Feeds, id, Err(e), now).await,
        };
        let entries =
            serde_json::to_string(b.entries).map_err(|e| StoreError::Other(anyhow::anyhow!(e)))?;
        sqlx::query(
            "UPDATE activity_feeds SET entries = $1, etag = $2, last_modified = $3,
             fetched_at = $4, tried_at = $4, error = NULL, failing_since = NULL WHERE id = $5",
        )
        .bind(entries)
        .bind(b.etag.map(str::to_string))
        .bind(b.last_modified.map(str::to_string))
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The entries of every feed of `member`, from each one's last good copy (a copy that no
    /// longer parses counts as none).
    pub async fn activity_entries(&self, member: MemberId) -> StoreResult<Vec<Entry>> {
        let rows = sqlx::query(
            "SELECT entries FROM activity_feeds WHERE member_id = $1 AND entries IS NOT NULL ORDER BY id",
        )
        .bind(member)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for r in rows {
            let j: String = r.try_get(0)?;
            out.extend(serde_json::from_str::<Vec<Entry>>(&j).unwrap_or_default());
        }
        Ok(out)
    }

    /// What `member` muted, sorted.
    pub async fn activity_mutes(&self, member: MemberId) -> StoreResult<Vec<String>> {
        let rows =
            sqlx::query("SELECT what FROM activity_mutes WHERE member_id = $1 ORDER BY what")
                .bind(member)
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| Ok(r.try_get::<String, _>(0)?))
            .collect()
    }

    /// Mutes (or, with `on` false, unmutes) `what` for `member`; true when that changed anything.
    pub async fn set_activity_mute(
        &self,
        member: MemberId,
        what: &str,
        on: bool,
    ) -> StoreResult<bool> {
        let q = if on {
            sqlx::query(
                "INSERT INTO activity_mutes (member_id, what) VALUES ($1, $2)
                 ON CONFLICT (member_id, what) DO NOTHING",
            )
        } else {
            sqlx::query("DELETE FROM activity_mutes WHERE member_id = $1 AND what = $2")
        };
        let r = q.bind(member).bind(what).execute(&self.pool).await?;
        Ok(r.rows_affected() > 0)
    }

    /// The draft shown to `member` for `date`, first come: a second one for the same day is
    /// not stored, and the one stored is returned (what the first request showed is what
    /// `keep` keeps).
    pub async fn save_draft(
        &self,
        member: MemberId,
        date: NaiveDate,
        since: i64,
        draft: &Draft,
    ) -> StoreResult<(i64, Draft)> {
        let json =
            serde_json::to_string(draft).map_err(|e| StoreError::Other(anyhow::anyhow!(e)))?;
        sqlx::query(
            "INSERT INTO activity_drafts (member_id, local_date, since, draft, created_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (member_id, local_date) DO NOTHING",
        )
        .bind(member)
        .bind(date.to_string())
        .bind(since)
        .bind(json)
        .bind(now_unix())
        .execute(&self.pool)
        .await?;
        self.draft_for(member, date)
            .await?
            .ok_or_else(|| StoreError::Other(anyhow::anyhow!("a draft just stored is gone")))
    }

    /// The draft `member`'s request for `date` showed: its start (Unix seconds) and lines.
    pub async fn draft_for(
        &self,
        member: MemberId,
        date: NaiveDate,
    ) -> StoreResult<Option<(i64, Draft)>> {
        let row = sqlx::query(
            "SELECT since, draft FROM activity_drafts WHERE member_id = $1 AND local_date = $2",
        )
        .bind(member)
        .bind(date.to_string())
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let json: String = r.try_get(1)?;
        let draft = serde_json::from_str(&json)
            .map_err(|e| StoreError::Other(anyhow::anyhow!("a stored draft: {e}")))?;
        Ok(Some((r.try_get(0)?, draft)))
    }
}
