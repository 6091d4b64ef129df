//! Inbound messages: raw bytes stored first (unique by Message-ID), then the outcome of
//! processing — accepted, ignored (auto-replies) or quarantined with a reason.

use sqlx::{AssertSqlSafe, Row};

use super::{Store, StoreResult};

/// Where a stored message is in processing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundStatus {
    New,
    Accepted,
    Command,
    Ignored,
    Quarantined,
}

impl InboundStatus {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            InboundStatus::New => "new",
            InboundStatus::Accepted => "accepted",
            InboundStatus::Command => "command",
            InboundStatus::Ignored => "ignored",
            InboundStatus::Quarantined => "quarantined",
        }
    }
}

/// A stored inbound message and its outcome.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InboundRow {
    pub id: i64,
    pub message_id: String,
    pub raw: Vec<u8>,
    pub source: String,
    pub status: String,
    pub reason: Option<String>,
    pub sender: Option<String>,
    pub member_id: Option<i64>,
    pub update_id: Option<i64>,
    pub received_at: i64,
}

/// A quarantined message as listed: no raw bytes.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QuarantineItem {
    pub id: i64,
    pub received_at: i64,
    pub sender: Option<String>,
    pub reason: Option<String>,
}

const COLS: &str =
    "id, message_id, raw, source, status, reason, sender, member_id, update_id, received_at";

impl Store {
    /// Stores raw bytes before anything else and claims the message for processing until
    /// `lease_until`. `None` when this Message-ID was stored before and is finished or claimed
    /// by another worker (a re-delivery, or a second poller on the same mailbox). A message
    /// stored earlier whose processing never finished (a crash) is claimed again once its lease
    /// has expired, so nothing is lost.
    pub async fn insert_inbound(
        &self,
        message_id: &str,
        raw: &[u8],
        source: &str,
        now: i64,
        lease_until: i64,
    ) -> StoreResult<Option<i64>> {
        // The unique Message-ID decides which of two concurrent pollers gets the message.
        let r = sqlx::query(
            "INSERT INTO inbound_messages (message_id, raw, source, status, received_at, lease_until) VALUES ($1, $2, $3, 'new', $4, $5)
             ON CONFLICT (message_id) DO NOTHING RETURNING id",
        )
        .bind(message_id)
        .bind(raw.to_vec())
        .bind(source)
        .bind(now)
        .bind(lease_until)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(r) = r {
            return Ok(Some(r.try_get::<i64, _>(0)?));
        }
        // A single UPDATE is the claim: only one worker can move an expired lease forward.
        let r = sqlx::query(
            "UPDATE inbound_messages SET lease_until = $1 WHERE message_id = $2 AND status = 'new'
             AND (lease_until IS NULL OR lease_until < $3) RETURNING id",
        )
        .bind(lease_until)
        .bind(message_id)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(r.map(|r| r.try_get::<i64, _>(0)).transpose()?)
    }

    /// Claims a stored message for processing again (`reprocess`, `release`): `false` when
    /// another worker holds it right now.
    pub async fn claim_inbound(&self, id: i64, now: i64, lease_until: i64) -> StoreResult<bool> {
        let r = sqlx::query(
            "UPDATE inbound_messages SET lease_until = $1 WHERE id = $2
             AND (status <> 'new' OR lease_until IS NULL OR lease_until < $3)",
        )
        .bind(lease_until)
        .bind(id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Takes quarantined message `id` back for processing, once: false when it is no longer
    /// quarantined (confirmed or released before). One statement, so two clicks at once
    /// release it once.
    pub async fn take_quarantined(&self, id: i64, lease_until: i64) -> StoreResult<bool> {
        let r = sqlx::query(
            "UPDATE inbound_messages SET status = 'new', lease_until = $1 WHERE id = $2 AND status = 'quarantined'",
        )
        .bind(lease_until)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// The first 16 KiB (the headers) of the `limit` most recently stored messages, newest
    /// first (`tidings doctor` looks at their `Authentication-Results`).
    pub async fn recent_inbound_heads(&self, limit: i64) -> StoreResult<Vec<Vec<u8>>> {
        let rows = sqlx::query(
            "SELECT substr(raw, 1, 16384) FROM inbound_messages ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok(r.try_get::<Vec<u8>, _>(0)?))
            .collect()
    }

    /// Ids of the stored messages with `status`, oldest first (`reprocess --all`).
    pub async fn inbound_ids_with_status(&self, status: InboundStatus) -> StoreResult<Vec<i64>> {
        let rows = sqlx::query("SELECT id FROM inbound_messages WHERE status = $1 ORDER BY id")
            .bind(status.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok(r.try_get::<i64, _>(0)?)).collect()
    }

    /// Records how a message was handled and releases its claim.
    #[allow(clippy::too_many_arguments)]
    pub async fn set_inbound_outcome(
        &self,
        id: i64,
        status: InboundStatus,
        reason: Option<&str>,
        sender: Option<&str>,
        member: Option<i64>,
        update: Option<i64>,
        now: i64,
    ) -> StoreResult<()> {
        // Reasons quote message content; PostgreSQL text cannot hold NUL, and a refused update
        // would leave the message unfinished, fetched again on every poll.
        let reason = reason.map(|r| r.replace('\0', ""));
        let sender = sender.map(|s| s.replace('\0', ""));
        sqlx::query(
            "UPDATE inbound_messages SET status = $1, reason = $2, sender = $3, member_id = $4, update_id = $5, processed_at = $6, lease_until = NULL WHERE id = $7",
        )
        .bind(status.as_str())
        .bind(reason)
        .bind(sender)
        .bind(member)
        .bind(update)
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// One stored message.
    pub async fn inbound(&self, id: i64) -> StoreResult<Option<InboundRow>> {
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {COLS} FROM inbound_messages WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Messages with a given status, newest first.
    pub async fn inbound_with_status(
        &self,
        status: InboundStatus,
        limit: i64,
    ) -> StoreResult<Vec<InboundRow>> {
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {COLS} FROM inbound_messages WHERE status = $1 ORDER BY id DESC LIMIT $2"
        )))
        .bind(status.as_str())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The latest quarantined messages, newest first, without their raw bytes (the admin page
    /// lists them; raw messages can be large): id, received (unix seconds), sender, reason.
    pub async fn quarantine_summary(&self, limit: i64) -> StoreResult<Vec<QuarantineItem>> {
        Ok(sqlx::query_as(
            "SELECT id, received_at, sender, reason FROM inbound_messages WHERE status = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(InboundStatus::Quarantined.as_str())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// How many stored messages have each status.
    pub async fn inbound_counts(&self) -> StoreResult<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT status, COUNT(*) FROM inbound_messages GROUP BY status ORDER BY status",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }
}

impl Store {
    pub async fn mailbox_state(&self, mailbox: &str) -> StoreResult<Option<(u32, u32)>> {
        let row = sqlx::query("SELECT uidvalidity, last_uid FROM mailbox_state WHERE mailbox = $1")
            .bind(mailbox)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok((
                r.try_get::<i64, _>(0)? as u32,
                r.try_get::<i64, _>(1)? as u32,
            ))
        })
        .transpose()
    }

    pub async fn set_mailbox_state(
        &self,
        mailbox: &str,
        uidvalidity: u32,
        last_uid: u32,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO mailbox_state (mailbox, uidvalidity, last_uid) VALUES ($1, $2, $3)
             ON CONFLICT (mailbox) DO UPDATE SET uidvalidity = excluded.uidvalidity, last_uid = excluded.last_uid",
        )
        .bind(mailbox)
        .bind(uidvalidity as i64)
        .bind(last_uid as i64)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
