//! Member sign-in: sessions (a cookie's token, stored hashed) and one-time sign-in links.

use sqlx::{AssertSqlSafe, Row};

use super::*;
use crate::domain::MemberId;

impl Store {
    /// Starts a session for `member` under the token hash `hash`, ending at `expires_at`.
    /// Sessions that ended more than a day ago are cleared on the way.
    pub async fn add_session(
        &self,
        member: MemberId,
        hash: &str,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()> {
        self.add_expiring("member_sessions", member, hash, now, expires_at)
            .await
    }

    /// Inserts a token hash of `member` into `table` (sessions or sign-in links), after
    /// clearing that table's rows that expired more than a day ago.
    async fn add_expiring(
        &self,
        table: &'static str,
        member: MemberId,
        hash: &str,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()> {
        sqlx::query(AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE expires_at < $1"
        )))
        .bind(now - 86_400)
        .execute(&self.pool)
        .await?;
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO {table} (hash, member_id, created_at, expires_at) VALUES ($1, $2, $3, $4)"
        )))
        .bind(hash)
        .bind(member)
        .bind(now)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The member of a live session (not expired, not revoked).
    pub async fn session_member(&self, hash: &str, now: i64) -> StoreResult<Option<MemberId>> {
        let r = sqlx::query(
            "SELECT member_id FROM member_sessions WHERE hash = $1 AND revoked_at IS NULL AND expires_at > $2",
        )
        .bind(hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        r.map(|r| Ok(r.try_get(0)?)).transpose()
    }

    /// Ends one session (signing out). True when it was live.
    pub async fn revoke_session(&self, hash: &str, now: i64) -> StoreResult<bool> {
        Ok(sqlx::query(
            "UPDATE member_sessions SET revoked_at = $1 WHERE hash = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(hash)
        .execute(&self.pool)
        .await?
        .rows_affected()
            == 1)
    }

    /// Ends every live session of `member`; returns how many.
    pub async fn revoke_sessions(&self, member: MemberId, now: i64) -> StoreResult<u64> {
        Ok(sqlx::query(
            "UPDATE member_sessions SET revoked_at = $1 WHERE member_id = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(member)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    /// Stores a one-time sign-in link (its token's hash) for `member`.
    pub async fn add_signin_link(
        &self,
        member: MemberId,
        hash: &str,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()> {
        self.add_expiring("signin_links", member, hash, now, expires_at)
            .await
    }

    /// The member a sign-in link is for, while it is unused and unexpired (nothing changes).
    pub async fn signin_link_member(&self, hash: &str, now: i64) -> StoreResult<Option<MemberId>> {
        let r = sqlx::query(
            "SELECT member_id FROM signin_links WHERE hash = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        r.map(|r| Ok(r.try_get(0)?)).transpose()
    }

    /// Uses up a sign-in link: its member, once; `None` when it was used, expired or unknown.
    /// One statement, so two clicks at once sign in once.
    pub async fn use_signin_link(&self, hash: &str, now: i64) -> StoreResult<Option<MemberId>> {
        let r = sqlx::query(
            "UPDATE signin_links SET used_at = $1 WHERE hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING member_id",
        )
        .bind(now)
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        r.map(|r| Ok(r.try_get(0)?)).transpose()
    }

    /// Whether a sign-in link with this hash was ever sent (used or not, expired or not).
    pub async fn signin_link_exists(&self, hash: &str) -> StoreResult<bool> {
        Ok(sqlx::query("SELECT 1 FROM signin_links WHERE hash = $1")
            .bind(hash)
            .fetch_optional(&self.pool)
            .await?
            .is_some())
    }

    /// Raises `member`'s epoch: every link, session start and feed URL signed over an earlier
    /// one stops working (`member signout`).
    pub async fn end_feeds(&self, member: MemberId) -> StoreResult<()> {
        sqlx::query("UPDATE members SET feed_epoch = feed_epoch + 1 WHERE id = $1")
            .bind(member)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The name of team `id`.
    pub async fn team_name(&self, id: i64) -> StoreResult<Option<String>> {
        let r = sqlx::query("SELECT name FROM teams WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        r.map(|r| Ok(r.try_get(0)?)).transpose()
    }
}
