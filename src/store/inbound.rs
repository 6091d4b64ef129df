//! Inbound messages: raw bytes stored first (unique by Message-ID), then the outcome of
//! processing — accepted, ignored (auto-replies) or quarantined with a reason.

use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::{Store, StoreResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundStatus {
    New,
    Accepted,
    Command,
    Ignored,
    Quarantined,
}

impl InboundStatus {
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

#[derive(Debug, Clone)]
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

const COLS: &str =
    "id, message_id, raw, source, status, reason, sender, member_id, update_id, received_at";

fn row(r: &AnyRow) -> StoreResult<InboundRow> {
    Ok(InboundRow {
        id: r.try_get("id")?,
        message_id: r.try_get("message_id")?,
        raw: r.try_get("raw")?,
        source: r.try_get("source")?,
        status: r.try_get("status")?,
        reason: r.try_get("reason")?,
        sender: r.try_get("sender")?,
        member_id: r.try_get("member_id")?,
        update_id: r.try_get("update_id")?,
        received_at: r.try_get("received_at")?,
    })
}

impl Store {
    /// Stores raw bytes before anything else. `None` when this Message-ID was stored before
    /// (the message is a re-delivery and has been or is being processed).
    pub async fn insert_inbound(
        &self,
        message_id: &str,
        raw: &[u8],
        source: &str,
        now: i64,
    ) -> StoreResult<Option<i64>> {
        let r = sqlx::query(
            "INSERT INTO inbound_messages (message_id, raw, source, status, received_at) VALUES ($1, $2, $3, 'new', $4)
             ON CONFLICT (message_id) DO NOTHING RETURNING id",
        )
        .bind(message_id)
        .bind(raw.to_vec())
        .bind(source)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(r.map(|r| r.try_get::<i64, _>(0)).transpose()?)
    }

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
        sqlx::query(
            "UPDATE inbound_messages SET status = $1, reason = $2, sender = $3, member_id = $4, update_id = $5, processed_at = $6 WHERE id = $7",
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

    pub async fn inbound(&self, id: i64) -> StoreResult<Option<InboundRow>> {
        let r = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLS} FROM inbound_messages WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        r.as_ref().map(row).transpose()
    }

    /// Messages with a given status, newest first.
    pub async fn inbound_with_status(
        &self,
        status: InboundStatus,
        limit: i64,
    ) -> StoreResult<Vec<InboundRow>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLS} FROM inbound_messages WHERE status = $1 ORDER BY id DESC LIMIT $2"
        )))
        .bind(status.as_str())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(row).collect()
    }

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
