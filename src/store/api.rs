//! Queries behind the HTTP API and `/metrics`: idempotent update posts (the key and the update
//! are written in one transaction), a team's updates for one date, a member's latest digest,
//! and mail counts by kind.

use std::str::FromStr;

use chrono::NaiveDate;
use sqlx::Row;

use super::updates::{UpdateRow, UpsertOutcome, update_from_row, upsert_update_tx};
use super::{Store, StoreError, StoreResult};
use crate::domain::MemberId;

/// How long an `Idempotency-Key` is remembered; a retry after that is a new request.
pub const IDEMPOTENCY_TTL_SECS: i64 = 24 * 3600;

/// What an idempotent post did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Idempotent {
    /// The update was stored now; this is the response recorded under the key.
    Fresh(String),
    /// The key was seen before: the response recorded then, and nothing was written.
    Replayed(String),
}

/// An update with its author, as the API lists it.
#[derive(Debug, Clone)]
pub struct TeamUpdate {
    pub update: UpdateRow,
    pub author_name: String,
    pub author_email: String,
}

/// A digest as queued in the outbox.
#[derive(Debug, Clone)]
pub struct DigestRecord {
    pub subject: String,
    pub local_date: Option<String>,
    /// The complete RFC 5322 message.
    pub raw: Vec<u8>,
    pub state: String,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

impl Store {
    /// Stores an update of `member` for `date` (appended to an existing one, as a second email
    /// reply would be) under the idempotency key `(token_id, key)`.
    ///
    /// The key row and the update are written in one transaction, so a crash between them
    /// cannot leave an update without its key (a retry would append twice) or a key without its
    /// update. A concurrent request with the same key waits on the key's primary key (PostgreSQL
    /// row lock, SQLite write lock) and then finds the committed response.
    /// `respond` builds the response to record from the stored update.
    #[allow(clippy::too_many_arguments)]
    pub async fn post_update_idempotent(
        &self,
        token_id: i64,
        key: &str,
        member: MemberId,
        date: NaiveDate,
        body: &str,
        now: i64,
        respond: impl FnOnce(&UpdateRow, UpsertOutcome) -> String,
    ) -> StoreResult<Idempotent> {
        let mut tx = self.pool.begin().await?;
        // Keys are remembered for a day; expired ones of this token go first so they can be
        // reused (the primary key starts with token_id, so this is an index range).
        sqlx::query("DELETE FROM api_idempotency WHERE token_id = $1 AND created_at < $2")
            .bind(token_id)
            .bind(now - IDEMPOTENCY_TTL_SECS)
            .execute(&mut *tx)
            .await?;
        let claimed = sqlx::query(
            "INSERT INTO api_idempotency (token_id, key, response, created_at) VALUES ($1, $2, '', $3)
             ON CONFLICT (token_id, key) DO NOTHING",
        )
        .bind(token_id)
        .bind(key)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !claimed {
            tx.rollback().await?;
            let stored: String = sqlx::query(
                "SELECT response FROM api_idempotency WHERE token_id = $1 AND key = $2",
            )
            .bind(token_id)
            .bind(key)
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
            if stored.is_empty() {
                // Only visible if the other transaction has not committed, which the key's
                // lock rules out; refuse rather than guess.
                return Err(StoreError::Conflict(
                    "a request with this Idempotency-Key is still being processed".into(),
                ));
            }
            return Ok(Idempotent::Replayed(stored));
        }

        // The same append as a second email reply, inside this transaction.
        let outcome =
            upsert_update_tx(&mut tx, member, date, body, "api", None, false, now).await?;
        let row = sqlx::query(
            "SELECT id, member_id, local_date, body, source, revision, created_at, updated_at FROM updates WHERE id = $1",
        )
        .bind(outcome.id)
        .fetch_one(&mut *tx)
        .await?;
        let update = update_from_row(&row)?;
        let response = respond(&update, outcome);
        sqlx::query("UPDATE api_idempotency SET response = $1 WHERE token_id = $2 AND key = $3")
            .bind(&response)
            .bind(token_id)
            .bind(key)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Idempotent::Fresh(response))
    }

    /// Updates for local date `date` by `member` and everyone sharing a team with them, by
    /// author name: what this member may read.
    pub async fn team_updates_on(
        &self,
        member: MemberId,
        date: NaiveDate,
    ) -> StoreResult<Vec<TeamUpdate>> {
        let rows = sqlx::query(
            "SELECT u.id, u.member_id, u.local_date, u.body, u.source, u.revision, u.created_at, u.updated_at,
                    m.name, m.email
             FROM updates u JOIN members m ON m.id = u.member_id
             WHERE u.local_date = $2
               AND (u.member_id = $1 OR u.member_id IN (
                    SELECT tm2.member_id FROM team_members tm1
                    JOIN team_members tm2 ON tm1.team_id = tm2.team_id WHERE tm1.member_id = $1))
             ORDER BY m.name, u.id",
        )
        .bind(member)
        .bind(date.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(TeamUpdate {
                    update: update_from_row(r)?,
                    author_name: r.try_get(8)?,
                    author_email: r.try_get(9)?,
                })
            })
            .collect()
    }

    /// The most recently queued digest of `member`, whatever its delivery state.
    pub async fn latest_digest(&self, member: MemberId) -> StoreResult<Option<DigestRecord>> {
        let r = sqlx::query(
            "SELECT o.subject, o.local_date, b.body, o.state, o.created_at, o.sent_at
             FROM outbox o JOIN outbox_bodies b ON b.outbox_id = o.id
             WHERE o.member_id = $1 AND o.kind = 'digest' ORDER BY o.created_at DESC, o.id DESC LIMIT 1",
        )
        .bind(member)
        .fetch_optional(&self.pool)
        .await?;
        r.map(|r| {
            Ok(DigestRecord {
                subject: r.try_get(0)?,
                local_date: r.try_get(1)?,
                raw: r.try_get(2)?,
                state: r.try_get(3)?,
                created_at: r.try_get(4)?,
                sent_at: r.try_get(5)?,
            })
        })
        .transpose()
    }

    /// Outbox rows by (kind, state), for `/metrics`.
    pub async fn mail_counts(&self) -> StoreResult<Vec<(String, String, i64)>> {
        let rows = sqlx::query(
            "SELECT kind, state, COUNT(*) FROM outbox GROUP BY kind, state ORDER BY kind, state",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect()
    }
}

/// An API token as `token list` shows it (never the token itself, only its row).
#[derive(Debug, Clone)]
pub struct ApiTokenRow {
    pub id: i64,
    pub member_email: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

impl Store {
    /// Every API token, newest first, optionally of one member.
    pub async fn list_api_tokens(&self, member: Option<MemberId>) -> StoreResult<Vec<ApiTokenRow>> {
        let rows = sqlx::query(
            "SELECT t.id, m.email, t.created_at, t.revoked_at FROM api_tokens t
             JOIN members m ON m.id = t.member_id
             WHERE $1 IS NULL OR t.member_id = $1 ORDER BY t.id DESC",
        )
        .bind(member)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ApiTokenRow {
                    id: r.try_get(0)?,
                    member_email: r.try_get(1)?,
                    created_at: r.try_get(2)?,
                    revoked_at: r.try_get(3)?,
                })
            })
            .collect()
    }

    /// Revokes one token by id; `NotFound` when there is no such token, `false` when it was
    /// already revoked.
    pub async fn revoke_api_token(&self, id: i64, now: i64) -> StoreResult<bool> {
        let exists = sqlx::query("SELECT 1 FROM api_tokens WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound(format!("no API token with id {id}")));
        }
        Ok(sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?
        .rows_affected()
            == 1)
    }

    /// The planned next request and digest instants (unix seconds) of a member; `None` while
    /// unplanned (just changed and not yet planned).
    pub async fn next_instants(&self, member: MemberId) -> StoreResult<(Option<i64>, Option<i64>)> {
        let r = sqlx::query("SELECT next_request_at, next_digest_at FROM members WHERE id = $1")
            .bind(member)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no member with id {member}")))?;
        Ok((r.try_get(0)?, r.try_get(1)?))
    }

    /// Holidays of a team, by date.
    pub async fn list_holidays(&self, team: &str) -> StoreResult<Vec<NaiveDate>> {
        let id = self
            .team_id(team)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no team named {team:?}")))?;
        let rows = sqlx::query("SELECT date FROM holidays WHERE team_id = $1 ORDER BY date")
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let d: String = r.try_get(0)?;
                NaiveDate::from_str(&d)
                    .map_err(|e| StoreError::Other(anyhow::anyhow!("stored date {d:?}: {e}")))
            })
            .collect()
    }
}
