//! Mentions: who an update mentions, and the mentions a reader's next digest still owes them.

use chrono::NaiveDate;
use sqlx::Row;

use super::*;
use crate::domain::MemberId;
use crate::domain::sections::{self, Section};

/// An update that mentions a reader and has not reached them yet.
#[derive(Debug, Clone)]
pub struct PendingMention {
    pub update_id: i64,
    pub author_name: String,
    pub local_date: NaiveDate,
    pub sections: Vec<Section>,
}

impl Store {
    /// Records that update `update` mentions `members`; a member it mentioned before is not
    /// recorded (nor told) again.
    pub async fn record_mentions(
        &self,
        update: i64,
        members: &[MemberId],
        now: i64,
    ) -> StoreResult<()> {
        for m in members {
            sqlx::query(
                "INSERT INTO mentions (update_id, member_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(update)
            .bind(*m)
            .bind(now)
            .execute(&self.pool)
            .await?;
        }
        Ok(())
    }

    /// Marks the mention of `member` in `update` delivered (sent at once by email).
    pub async fn mention_delivered(
        &self,
        update: i64,
        member: MemberId,
        now: i64,
    ) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await?;
        deliver_mentions_on(&mut conn, member, &[update], now).await
    }

    /// The mentions of `member` no digest has carried yet, oldest first.
    pub async fn pending_mentions(&self, member: MemberId) -> StoreResult<Vec<PendingMention>> {
        let rows = sqlx::query(
            "SELECT u.id, a.name, u.local_date, u.body, u.sections FROM mentions x
             JOIN updates u ON u.id = x.update_id JOIN members a ON a.id = u.member_id
             WHERE x.member_id = $1 AND x.delivered_at IS NULL ORDER BY u.local_date, u.id",
        )
        .bind(member)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let d: String = r.try_get(2)?;
            let body: String = r.try_get(3)?;
            let stored: Option<String> = r.try_get(4)?;
            out.push(PendingMention {
                update_id: r.try_get(0)?,
                author_name: r.try_get(1)?,
                local_date: d.parse().map_err(|e| {
                    StoreError::Other(anyhow::anyhow!("bad stored date {d:?}: {e}"))
                })?,
                sections: sections::from_stored(stored.as_deref(), &body),
            });
        }
        Ok(out)
    }
}

/// Marks the mentions of `reader` in `updates` delivered, inside the transaction that queues
/// the digest carrying them.
pub(super) async fn deliver_mentions_on(
    conn: &mut sqlx::AnyConnection,
    reader: MemberId,
    updates: &[i64],
    now: i64,
) -> StoreResult<()> {
    for u in updates {
        sqlx::query(
            "UPDATE mentions SET delivered_at = $1 WHERE member_id = $2 AND update_id = $3 AND delivered_at IS NULL",
        )
        .bind(now)
        .bind(reader)
        .bind(*u)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
