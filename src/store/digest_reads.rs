//! What digests read of updates: which teammates' updates a reader has not received (a few
//! numbers per update, read per reader), and what those updates say (read once per pass and
//! shared by every reader of a team: [`Store::update_contents`], [`Store::revisions`]).

use std::str::FromStr;
use std::sync::Arc;

use chrono::NaiveDate;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::{Store, StoreError, StoreResult};
use crate::domain::MemberId;
use crate::domain::sections::{self, Section};

/// Which of a reader's digests: the daily digest (the stand-up's answers and those of the
/// check-ins that go to it; `with_log`, for a weekly summary: those kept for the log too), or
/// the digest of its own of one check-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestScope {
    Main { with_log: bool },
    Own(crate::domain::checkin::CheckinId),
}

/// An update a reader has not received in its current revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DigestKey {
    pub update_id: i64,
    pub revision: i64,
    /// An earlier revision of this update already reached this reader.
    pub seen_before: bool,
}

/// What an update says in its current revision, with its author as they are now: the same
/// for every reader, so a pass reads it once.
#[derive(Debug, Clone)]
pub struct UpdateContent {
    pub update_id: i64,
    pub revision: i64,
    pub author_id: MemberId,
    pub author_name: String,
    pub author_tz: String,
    pub local_date: NaiveDate,
    pub sections: Arc<[Section]>,
    /// The check-in it answers, by name; `None` for the stand-up.
    pub checkin: Option<Arc<str>>,
    /// The check-in it answers, by id: 0 for the stand-up.
    pub checkin_id: i64,
    /// When its author marked its blocker resolved (Unix seconds), if they did.
    pub resolved_at: Option<i64>,
}

/// One revision of an update as it was written, with its author as they are now.
#[derive(Debug, Clone)]
pub struct Revision {
    pub update_id: i64,
    pub revision: i64,
    pub author_id: MemberId,
    pub author_name: String,
    pub author_tz: String,
    pub local_date: NaiveDate,
    pub sections: Arc<[Section]>,
    /// The check-in it answers, by name; `None` for the stand-up.
    pub checkin: Option<Arc<str>>,
}

/// Updates per query of [`Store::revisions`] and [`Store::update_contents`].
const CHUNK: usize = 500;

fn date_of(d: &str) -> StoreResult<NaiveDate> {
    NaiveDate::from_str(d).map_err(|e| StoreError::Other(anyhow::anyhow!("stored date {d:?}: {e}")))
}

impl Store {
    /// Updates of `reader`'s teammates that this reader has not received in their current
    /// revision, for local dates on or after `since`, of the digest `scope` names.
    pub async fn digest_keys(
        &self,
        reader: MemberId,
        since: NaiveDate,
        scope: DigestScope,
    ) -> StoreResult<Vec<DigestKey>> {
        let which = match scope {
            DigestScope::Main { with_log: true } => "(u.checkin = 0 OR u.checkin IN (
                    SELECT c.id FROM checkins c JOIN team_members tm ON tm.team_id = c.team_id
                    WHERE tm.member_id = $1 AND c.goes_to IN ('digest', 'log')))"
                .to_string(),
            DigestScope::Main { with_log: false } => "(u.checkin = 0 OR u.checkin IN (
                    SELECT c.id FROM checkins c JOIN team_members tm ON tm.team_id = c.team_id
                    WHERE tm.member_id = $1 AND c.goes_to = 'digest'))"
                .to_string(),
            // An id, not text from outside.
            DigestScope::Own(c) => format!("u.checkin = {c}"),
        };
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT u.id, u.revision,
                    EXISTS (SELECT 1 FROM digest_deliveries d WHERE d.reader_id = $1 AND d.update_id = u.id) AS seen_before
             FROM updates u
             WHERE u.member_id <> $1 AND u.local_date >= $2
               AND u.member_id IN (SELECT tm2.member_id FROM team_members tm1
                                   JOIN team_members tm2 ON tm1.team_id = tm2.team_id WHERE tm1.member_id = $1)
               AND NOT EXISTS (SELECT 1 FROM digest_deliveries d
                               WHERE d.reader_id = $1 AND d.update_id = u.id AND d.revision = u.revision)
               AND {which}
             ORDER BY u.id"
        )))
        .bind(reader)
        .bind(since.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DigestKey {
                    update_id: r.try_get(0)?,
                    revision: r.try_get(1)?,
                    seen_before: super::get_bool(r, "seen_before")?,
                })
            })
            .collect()
    }

    /// The updates `ids` (those that still exist) as they read now, with their authors.
    pub async fn update_contents(&self, ids: &[i64]) -> StoreResult<Vec<UpdateContent>> {
        let rows = self
            .by_ids(
                "SELECT u.id, u.revision, m.id, m.name, m.timezone, u.local_date, u.body, u.sections,
                        u.blocker_resolved_at, c.name, u.checkin
                 FROM updates u JOIN members m ON m.id = u.member_id
                 LEFT JOIN checkins c ON c.id = u.checkin
                 WHERE u.id IN",
                ids,
            )
            .await?;
        rows.iter()
            .map(|r| {
                let w = revision_of(r)?;
                Ok(UpdateContent {
                    update_id: w.update_id,
                    revision: w.revision,
                    author_id: w.author_id,
                    author_name: w.author_name,
                    author_tz: w.author_tz,
                    local_date: w.local_date,
                    sections: w.sections,
                    checkin: w.checkin,
                    checkin_id: r.try_get::<i64, _>(10)?,
                    resolved_at: r.try_get::<Option<i64>, _>(8)?,
                })
            })
            .collect()
    }

    /// Every stored revision of the updates `ids` (those that still exist), with their authors.
    pub async fn revisions(&self, ids: &[i64]) -> StoreResult<Vec<Revision>> {
        let rows = self
            .by_ids(
                "SELECT r.update_id, r.revision, m.id, m.name, m.timezone, u.local_date, r.body, r.sections,
                        u.blocker_resolved_at, c.name
                 FROM update_revisions r JOIN updates u ON u.id = r.update_id JOIN members m ON m.id = u.member_id
                 LEFT JOIN checkins c ON c.id = u.checkin
                 WHERE r.update_id IN",
                ids,
            )
            .await?;
        rows.iter().map(revision_of).collect()
    }

    /// The rows of `select`, a query ending in `IN`, for `ids`, [`CHUNK`] ids a query.
    async fn by_ids(&self, select: &str, ids: &[i64]) -> StoreResult<Vec<AnyRow>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(CHUNK) {
            let sql = format!("{select} ({})", super::placeholders(1, chunk.len()));
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for id in chunk {
                q = q.bind(id);
            }
            out.extend(q.fetch_all(&self.pool).await?);
        }
        Ok(out)
    }
}

/// An update's id, revision, author (id, name, zone), local date, text and sections, in that
/// order, as written in that revision.
fn revision_of(r: &AnyRow) -> StoreResult<Revision> {
    Ok(Revision {
        update_id: r.try_get(0)?,
        revision: r.try_get(1)?,
        author_id: r.try_get(2)?,
        author_name: r.try_get(3)?,
        author_tz: r.try_get(4)?,
        local_date: date_of(&r.try_get::<String, _>(5)?)?,
        // The text only for an update stored before its sections were.
        sections: sections::from_stored(
            r.try_get::<Option<String>, _>(7)?.as_deref(),
            &r.try_get::<String, _>(6)?,
        )
        .into(),
        checkin: r.try_get::<Option<String>, _>(9)?.map(Arc::from),
    })
}
