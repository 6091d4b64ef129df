//! Comments and reactions on updates, by email: storing them once per message (and a reaction
//! once per person), who is owed each comment, and what a digest still owes a reader.

use std::collections::HashMap;

use chrono::NaiveDate;
use sqlx::{AssertSqlSafe, Row};

use super::*;
use crate::domain::MemberId;

/// A comment a reader's next digest owes them.
#[derive(Debug, Clone)]
pub struct PendingComment {
    pub comment_id: i64,
    /// Who wrote it.
    pub who: String,
    pub body: String,
    /// The update it answers: its id, author and day.
    pub update_id: i64,
    pub update_author: MemberId,
    pub update_author_name: String,
    pub update_date: NaiveDate,
    /// When it was written (Unix seconds).
    pub created_at: i64,
}

impl Store {
    /// Stores a comment of `author` on `update` (from the message `message_id`) and owes it to
    /// the update's author and everyone who commented on it before (the commenter aside).
    /// `None` when that message was stored before (read again after a crash).
    pub async fn add_comment(
        &self,
        update: i64,
        author: MemberId,
        body: &str,
        message_id: &str,
        now: i64,
    ) -> StoreResult<Option<i64>> {
        let mut tx = self.write_tx().await?;
        let inserted = sqlx::query(
            "INSERT INTO comments (update_id, author_id, body, message_id, created_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (message_id) DO NOTHING",
        )
        .bind(update)
        .bind(author)
        .bind(body)
        .bind(message_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            return Ok(None);
        }
        let id: i64 = sqlx::query("SELECT id FROM comments WHERE message_id = $1")
            .bind(message_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        let owed = sqlx::query(
            "SELECT member_id FROM updates WHERE id = $1
             UNION SELECT author_id FROM comments WHERE update_id = $1",
        )
        .bind(update)
        .fetch_all(&mut *tx)
        .await?;
        for r in &owed {
            let m: i64 = r.try_get(0)?;
            if m == author {
                continue;
            }
            sqlx::query(
                "INSERT INTO comment_deliveries (comment_id, member_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(id)
            .bind(m)
            .execute(&mut *tx)
            .await?;
        }
        let u = sqlx::query("SELECT member_id, checkin FROM updates WHERE id = $1")
            .bind(update)
            .fetch_one(&mut *tx)
            .await?;
        let on = (update, u.try_get(0)?, u.try_get(1)?);
        let base = self.web_base.as_deref();
        super::events::comment_created(&mut tx, base, on, (id, author, body), now).await?;
        tx.commit().await?;
        Ok(Some(id))
    }

    /// Who is still owed comment `comment` (no digest or email carried it yet).
    pub async fn comment_owed_to(&self, comment: i64) -> StoreResult<Vec<MemberId>> {
        sqlx::query(
            "SELECT member_id FROM comment_deliveries WHERE comment_id = $1 AND delivered_at IS NULL ORDER BY member_id",
        )
        .bind(comment)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| r.try_get(0).map_err(Into::into))
        .collect()
    }

    /// Marks comment `comment` delivered to `member` (sent at once by email).
    pub async fn comment_delivered(
        &self,
        comment: i64,
        member: MemberId,
        now: i64,
    ) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await?;
        deliver_comments_on(&mut conn, member, &[comment], now).await
    }

    /// Whether update `id` exists.
    pub async fn update_exists(&self, id: i64) -> StoreResult<bool> {
        Ok(sqlx::query("SELECT 1 FROM updates WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .is_some())
    }

    /// Counts `reaction` of `member` on `update`; false when they had already reacted so.
    pub async fn add_reaction(
        &self,
        update: i64,
        member: MemberId,
        reaction: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let mut tx = self.write_tx().await?;
        let r = sqlx::query(
            "INSERT INTO reactions (update_id, member_id, reaction, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT DO NOTHING",
        )
        .bind(update)
        .bind(member)
        .bind(reaction)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let added = r.rows_affected() > 0;
        if added {
            let base = self.web_base.as_deref();
            super::events::reaction_added(&mut tx, base, update, (member, reaction), now).await?;
        }
        tx.commit().await?;
        Ok(added)
    }

    /// The reactions on `updates`: per update, each reaction with the names of who reacted so,
    /// in the order they did.
    pub async fn reactions(
        &self,
        updates: &[i64],
    ) -> StoreResult<HashMap<i64, Vec<(String, Vec<String>)>>> {
        let mut out: HashMap<i64, Vec<(String, Vec<String>)>> = HashMap::new();
        if updates.is_empty() {
            return Ok(out);
        }
        let ids = super::id_list(updates);
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT r.update_id, r.reaction, m.name FROM reactions r JOIN members m ON m.id = r.member_id
             WHERE r.update_id IN ({ids}) ORDER BY r.update_id, r.created_at, m.name"
        )))
        .fetch_all(&self.pool)
        .await?;
        for r in &rows {
            let (u, reaction, name): (i64, String, String) =
                (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
            let list = out.entry(u).or_default();
            match list.iter_mut().find(|(x, _)| *x == reaction) {
                Some((_, names)) => names.push(name),
                None => list.push((reaction, vec![name])),
            }
        }
        Ok(out)
    }

    /// The comments on `updates`, oldest first: per update, (author's name, text, when).
    pub async fn comments_on(
        &self,
        updates: &[i64],
    ) -> StoreResult<HashMap<i64, Vec<(String, String, i64)>>> {
        let mut out: HashMap<i64, Vec<(String, String, i64)>> = HashMap::new();
        if updates.is_empty() {
            return Ok(out);
        }
        let ids = super::id_list(updates);
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT c.update_id, m.name, c.body, c.created_at FROM comments c JOIN members m ON m.id = c.author_id
             WHERE c.update_id IN ({ids}) ORDER BY c.update_id, c.id"
        )))
        .fetch_all(&self.pool)
        .await?;
        for r in &rows {
            out.entry(r.try_get(0)?).or_default().push((
                r.try_get(1)?,
                r.try_get(2)?,
                r.try_get(3)?,
            ));
        }
        Ok(out)
    }

    /// The comments `member`'s next digest owes them, oldest first.
    pub async fn pending_comments(&self, member: MemberId) -> StoreResult<Vec<PendingComment>> {
        let rows = sqlx::query(
            "SELECT c.id, a.name, c.body, u.member_id, ua.name, u.local_date, c.update_id, c.created_at FROM comment_deliveries d
             JOIN comments c ON c.id = d.comment_id JOIN members a ON a.id = c.author_id
             JOIN updates u ON u.id = c.update_id JOIN members ua ON ua.id = u.member_id
             WHERE d.member_id = $1 AND d.delivered_at IS NULL ORDER BY c.id",
        )
        .bind(member)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let d: String = r.try_get(5)?;
            out.push(PendingComment {
                comment_id: r.try_get(0)?,
                who: r.try_get(1)?,
                body: r.try_get(2)?,
                update_id: r.try_get(6)?,
                update_author: r.try_get(3)?,
                update_author_name: r.try_get(4)?,
                update_date: d.parse().map_err(|e| {
                    StoreError::Other(anyhow::anyhow!("bad stored date {d:?}: {e}"))
                })?,
                created_at: r.try_get(7)?,
            });
        }
        Ok(out)
    }
}

/// Marks `comments` delivered to `reader`, inside the transaction that queues the digest
/// carrying them.
pub(super) async fn deliver_comments_on(
    conn: &mut sqlx::AnyConnection,
    reader: MemberId,
    comments: &[i64],
    now: i64,
) -> StoreResult<()> {
    for c in comments {
        sqlx::query(
            "UPDATE comment_deliveries SET delivered_at = $1 WHERE member_id = $2 AND comment_id = $3 AND delivered_at IS NULL",
        )
        .bind(now)
        .bind(reader)
        .bind(*c)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
