//! API tokens (stored as hashes).

use sqlx::Row;

use super::*;
use crate::domain::MemberId;

impl Store {
    pub async fn add_api_token(&self, member: MemberId, hash: &str) -> StoreResult<()> {
        sqlx::query("INSERT INTO api_tokens (member_id, hash, created_at) VALUES ($1, $2, $3)")
            .bind(member)
            .bind(hash)
            .bind(now_unix())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The member and token id behind a token hash, unless revoked.
    pub async fn api_token_member(&self, hash: &str) -> StoreResult<Option<(i64, MemberId)>> {
        let row = sqlx::query(
            "SELECT id, member_id FROM api_tokens WHERE hash = $1 AND revoked_at IS NULL",
        )
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
    }

    pub async fn revoke_api_tokens(&self, member: MemberId) -> StoreResult<u64> {
        Ok(sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE member_id = $2 AND revoked_at IS NULL",
        )
        .bind(now_unix())
        .bind(member)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }
}

/// An API token as `token list` shows it (never the token itself, only its row).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiTokenRow {
    pub id: i64,
    pub member_email: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

impl Store {
    /// Every API token, newest first, optionally of one member.
    pub async fn list_api_tokens(&self, member: Option<MemberId>) -> StoreResult<Vec<ApiTokenRow>> {
        Ok(sqlx::query_as(
            "SELECT t.id, m.email AS member_email, t.created_at, t.revoked_at FROM api_tokens t
             JOIN members m ON m.id = t.member_id
             WHERE $1 IS NULL OR t.member_id = $1 ORDER BY t.id DESC",
        )
        .bind(member)
        .fetch_all(&self.pool)
        .await?)
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
}
