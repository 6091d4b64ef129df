//! Chat rooms a team's daily summary is posted to, and their posts: added, listed and removed
//! by the admin; a day's posts queued once (one per message of the summary), claimed under a
//! lease and recorded like the outbox's emails.

use chrono::NaiveDate;
use sqlx::{AssertSqlSafe, Row};

use super::{Backend, Store, StoreError, StoreResult};
use crate::domain::schedule::{LocalTime, Workdays, parse_tz};

/// A room as the admin set it (its address and token are secrets: never shown whole).
#[derive(Debug, Clone)]
pub struct ChatRoom {
    pub id: i64,
    pub team: String,
    /// `slack`, `mattermost`, `discord`, `teams`, `google-chat` or `matrix`.
    pub kind: String,
    pub url: String,
    /// Matrix: the room id (`!abc:example.org`).
    pub room: Option<String>,
    /// Matrix: the bot's access token.
    pub token: Option<String>,
    pub at: LocalTime,
    pub tz: chrono_tz::Tz,
    pub days: Workdays,
    pub last_success_at: Option<i64>,
    pub failing_since: Option<i64>,
    pub last_error: Option<String>,
    /// Paused after failing for `webhooks.pause_after_hours`: nothing is posted until resumed.
    pub paused_at: Option<i64>,
    pub pause_reason: Option<String>,
    /// Posts waiting and given up on.
    pub waiting: i64,
    pub failed: i64,
}

impl ChatRoom {
    /// `ok`, `failing` (its last post failed) or `paused`.
    pub fn state(&self) -> &'static str {
        if self.paused_at.is_some() {
            "paused"
        } else if self.failing_since.is_some() {
            "failing"
        } else {
            "ok"
        }
    }
}

/// A room to add.
#[derive(Debug, Clone)]
pub struct NewRoom<'a> {
    pub team: &'a str,
    pub kind: &'a str,
    pub url: &'a str,
    pub room: Option<&'a str>,
    pub token: Option<&'a str>,
    pub at: LocalTime,
    pub tz: chrono_tz::Tz,
    pub days: Workdays,
}

/// A claimed post, with what sending it needs.
#[derive(Debug, Clone)]
pub struct ChatPost {
    pub id: i64,
    pub attempt: i64,
    pub room_id: i64,
    pub local_date: String,
    pub part: i64,
    pub txn_id: String,
    pub payload: String,
}

/// A post as `outbox list` shows it.
#[derive(Debug, Clone)]
pub struct PostRow {
    pub id: i64,
    pub room_id: i64,
    pub local_date: String,
    pub part: i64,
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

const ROOM_COLS: &str = "r.id, t.name, r.kind, r.url, r.room, r.token, r.at, r.tz, r.days, r.last_success_at, r.failing_since, r.last_error, r.paused_at, r.pause_reason,
    (SELECT COUNT(*) FROM chat_posts p WHERE p.room_id = r.id AND p.state IN ('pending', 'sending')),
    (SELECT COUNT(*) FROM chat_posts p WHERE p.room_id = r.id AND p.state = 'failed')
    FROM chat_rooms r JOIN teams t ON t.id = r.team_id";

fn room_from_row(r: &sqlx::any::AnyRow) -> StoreResult<ChatRoom> {
    let bad = |what: &str, v: &str| StoreError::Other(anyhow::anyhow!("bad stored {what} {v:?}"));
    let at: String = r.try_get(6)?;
    let tz: String = r.try_get(7)?;
    let days: i64 = r.try_get(8)?;
    Ok(ChatRoom {
        id: r.try_get(0)?,
        team: r.try_get(1)?,
        kind: r.try_get(2)?,
        url: r.try_get(3)?,
        room: r.try_get(4)?,
        token: r.try_get(5)?,
        at: LocalTime::parse(&at).map_err(|_| bad("time", &at))?,
        tz: parse_tz(&tz).map_err(|_| bad("zone", &tz))?,
        days: Workdays::from_bits(u8::try_from(days).unwrap_or(0)),
        last_success_at: r.try_get(9)?,
        failing_since: r.try_get(10)?,
        last_error: r.try_get(11)?,
        paused_at: r.try_get(12)?,
        pause_reason: r.try_get(13)?,
        waiting: r.try_get(14)?,
        failed: r.try_get(15)?,
    })
}

impl Store {
    /// Adds a room; an unknown team is `NotFound`.
    pub async fn add_room(&self, n: &NewRoom<'_>, now: i64) -> StoreResult<i64> {
        let team: i64 = self
            .team_id(n.team)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no team named {:?}", n.team)))?;
        let r = sqlx::query(
            "INSERT INTO chat_rooms (team_id, kind, url, room, token, at, tz, days, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(team)
        .bind(n.kind)
        .bind(n.url)
        .bind(n.room)
        .bind(n.token)
        .bind(n.at.to_string())
        .bind(n.tz.name())
        .bind(i64::from(n.days.bits()))
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        Ok(r.try_get(0)?)
    }

    /// Every room, by id.
    pub async fn rooms(&self) -> StoreResult<Vec<ChatRoom>> {
        let rows = sqlx::query(AssertSqlSafe(format!("SELECT {ROOM_COLS} ORDER BY r.id")))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(room_from_row).collect()
    }

    /// Room `id`.
    pub async fn room(&self, id: i64) -> StoreResult<Option<ChatRoom>> {
        let r = sqlx::query(AssertSqlSafe(format!("SELECT {ROOM_COLS} WHERE r.id = $1")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        r.as_ref().map(room_from_row).transpose()
    }

    /// Removes room `id` and its posts; false when there was none.
    pub async fn remove_room(&self, id: i64) -> StoreResult<bool> {
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM chat_posts WHERE room_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let gone = sqlx::query("DELETE FROM chat_rooms WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        tx.commit().await?;
        Ok(gone)
    }

    /// Whether room `room`'s summary for `date` was queued.
    pub async fn room_posted(&self, room: i64, date: NaiveDate) -> StoreResult<bool> {
        Ok(
            sqlx::query("SELECT 1 FROM chat_posts WHERE room_id = $1 AND local_date = $2")
                .bind(room)
                .bind(date.to_string())
                .fetch_optional(&self.pool)
                .await?
                .is_some(),
        )
    }

    /// Queues room `room`'s summary for `date` as `messages` (in order), all or none; false
    /// when it was queued before.
    pub async fn queue_room_posts(
        &self,
        room: i64,
        date: NaiveDate,
        messages: &[String],
        now: i64,
    ) -> StoreResult<bool> {
        let mut tx = self.write_tx().await?;
        let mut fresh = false;
        for (i, payload) in messages.iter().enumerate() {
            let part = i as i64 + 1;
            let key = format!("{room}:{date}:{part}");
            let r = sqlx::query(
                "INSERT INTO chat_posts (room_id, local_date, part, idem_key, txn_id, payload, state, attempts, next_attempt_at, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, $7) ON CONFLICT (idem_key) DO NOTHING",
            )
            .bind(room)
            .bind(date.to_string())
            .bind(part)
            .bind(&key)
            .bind(format!("tidings.{room}.{date}.{part}"))
            .bind(payload)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            fresh |= r.rows_affected() > 0;
        }
        tx.commit().await?;
        Ok(fresh)
    }

    /// Claims up to `limit` due posts (the job's clock `due_at`) or whose lease lapsed (the
    /// wall clock `wall`), each room's in order of date and part.
    pub async fn claim_posts(
        &self,
        (due_at, wall): (i64, i64),
        lease_secs: i64,
        limit: i64,
    ) -> StoreResult<Vec<ChatPost>> {
        let lock = if self.backend == Backend::Postgres {
            "FOR UPDATE SKIP LOCKED"
        } else {
            ""
        };
        let sql = format!(
            "UPDATE chat_posts SET state = 'sending', lease_until = $1, attempts = attempts + 1
             WHERE id IN (SELECT p.id FROM chat_posts p JOIN chat_rooms r ON r.id = p.room_id
                          WHERE r.paused_at IS NULL AND ((p.state = 'pending' AND p.next_attempt_at <= $2)
                          OR (p.state = 'sending' AND p.lease_until < $3)) ORDER BY p.room_id, p.local_date, p.part LIMIT $4 {lock})
             RETURNING id, attempts, room_id, local_date, part, txn_id, payload"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(wall + lease_secs)
            .bind(due_at)
            .bind(wall)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        let mut out = rows
            .iter()
            .map(|r| {
                Ok(ChatPost {
                    id: r.try_get(0)?,
                    attempt: r.try_get(1)?,
                    room_id: r.try_get(2)?,
                    local_date: r.try_get(3)?,
                    part: r.try_get(4)?,
                    txn_id: r.try_get(5)?,
                    payload: r.try_get(6)?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        out.sort_by(|a, b| {
            (a.room_id, &a.local_date, a.part).cmp(&(b.room_id, &b.local_date, b.part))
        });
        Ok(out)
    }

    /// Records a post's outcome under its claim: sent (`error` None) at `now`, retried at
    /// `retry_at`, or failed (`retry_at` None); and the room's health: a room failing since
    /// before `pause_before` is paused. Returns whether it was paused now.
    pub async fn record_post(
        &self,
        p: &ChatPost,
        (error, retry_at): (Option<&str>, Option<i64>),
        (now, pause_before): (i64, i64),
    ) -> StoreResult<bool> {
        let mut tx = self.write_tx().await?;
        let q = match (error, retry_at) {
            (None, _) => sqlx::query("UPDATE chat_posts SET state = 'sent', sent_at = $3, lease_until = NULL, last_error = NULL WHERE id = $1 AND attempts = $2 AND state = 'sending'").bind(p.id).bind(p.attempt).bind(now),
            (Some(e), Some(at)) => sqlx::query("UPDATE chat_posts SET state = 'pending', next_attempt_at = $3, lease_until = NULL, last_error = $4 WHERE id = $1 AND attempts = $2 AND state = 'sending'").bind(p.id).bind(p.attempt).bind(at).bind(e),
            (Some(e), None) => sqlx::query("UPDATE chat_posts SET state = 'failed', lease_until = NULL, last_error = $3 WHERE id = $1 AND attempts = $2 AND state = 'sending'").bind(p.id).bind(p.attempt).bind(e),
        };
        q.execute(&mut *tx).await?;
        let q = match error {
            None => sqlx::query("UPDATE chat_rooms SET failing_since = NULL, last_error = NULL, last_success_at = $2 WHERE id = $1").bind(p.room_id).bind(now),
            Some(e) => sqlx::query("UPDATE chat_rooms SET failing_since = COALESCE(failing_since, $2), last_error = $3 WHERE id = $1").bind(p.room_id).bind(now).bind(e),
        };
        q.execute(&mut *tx).await?;
        let paused = match error {
            None => false,
            Some(e) => {
                sqlx::query("UPDATE chat_rooms SET paused_at = $2, pause_reason = $3 WHERE id = $1 AND paused_at IS NULL AND failing_since <= $4")
                    .bind(p.room_id)
                    .bind(now)
                    .bind(format!("failing for a day: {e}"))
                    .bind(pause_before)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                    > 0
            }
        };
        tx.commit().await?;
        Ok(paused)
    }

    /// Resumes a paused room: its waiting posts are due now (`now`). False when there is no
    /// such room.
    pub async fn resume_room(&self, id: i64, now: i64) -> StoreResult<bool> {
        let mut tx = self.write_tx().await?;
        let found = sqlx::query("UPDATE chat_rooms SET paused_at = NULL, pause_reason = NULL, failing_since = NULL WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        sqlx::query(
            "UPDATE chat_posts SET next_attempt_at = $2 WHERE room_id = $1 AND state = 'pending'",
        )
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(found)
    }

    /// Keeps `member`'s updates out of chat rooms (`in_rooms` false), or lets them in again.
    pub async fn set_in_rooms(&self, member: i64, in_rooms: bool, now: i64) -> StoreResult<()> {
        let q = if in_rooms {
            sqlx::query("DELETE FROM chat_optouts WHERE member_id = $1").bind(member)
        } else {
            sqlx::query("INSERT INTO chat_optouts (member_id, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(member)
                .bind(now)
        };
        q.execute(&self.pool).await?;
        Ok(())
    }

    /// Whether `member`'s updates may be posted to chat rooms.
    pub async fn in_rooms(&self, member: i64) -> StoreResult<bool> {
        Ok(
            sqlx::query("SELECT 1 FROM chat_optouts WHERE member_id = $1")
                .bind(member)
                .fetch_optional(&self.pool)
                .await?
                .is_none(),
        )
    }

    /// Those of `members` who keep their updates out of chat rooms.
    pub async fn kept_out_of_rooms(
        &self,
        members: &[i64],
    ) -> StoreResult<std::collections::HashSet<i64>> {
        if members.is_empty() {
            return Ok(Default::default());
        }
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT member_id FROM chat_optouts WHERE member_id IN ({})",
            super::id_list(members)
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| r.try_get(0).map_err(Into::into))
            .collect()
    }

    /// Whether any of `member`'s teams posts to a chat room.
    pub async fn has_rooms(&self, member: i64) -> StoreResult<bool> {
        Ok(sqlx::query(
            "SELECT 1 FROM chat_rooms r JOIN team_members tm ON tm.team_id = r.team_id WHERE tm.member_id = $1",
        )
        .bind(member)
        .fetch_optional(&self.pool)
        .await?
        .is_some())
    }

    /// The latest posts (failed ones only when `only_failed`), newest first: (id, room,
    /// local date, part, state, attempts, last error, created, sent).
    pub async fn list_posts(&self, only_failed: bool, limit: i64) -> StoreResult<Vec<PostRow>> {
        let filter = if only_failed {
            "state = 'failed'"
        } else {
            "1 = 1"
        };
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT id, room_id, local_date, part, state, attempts, last_error, created_at, sent_at
             FROM chat_posts WHERE {filter} ORDER BY id DESC LIMIT $1"
        )))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PostRow {
                    id: r.try_get(0)?,
                    room_id: r.try_get(1)?,
                    local_date: r.try_get(2)?,
                    part: r.try_get(3)?,
                    state: r.try_get(4)?,
                    attempts: r.try_get(5)?,
                    last_error: r.try_get(6)?,
                    created_at: r.try_get(7)?,
                    sent_at: r.try_get(8)?,
                })
            })
            .collect()
    }

    /// Posts by state, for `/metrics`.
    pub async fn post_counts(&self) -> StoreResult<Vec<(String, i64)>> {
        let rows =
            sqlx::query("SELECT state, COUNT(*) FROM chat_posts GROUP BY state ORDER BY state")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }
}
