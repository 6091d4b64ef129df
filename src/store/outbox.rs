//! The outbox: every outgoing email is a row with a unique idempotency key and a stored
//! Message-ID, moving pending → sending (leased claim) → sent | failed.

use sqlx::{AssertSqlSafe, Row};

use super::{Backend, Store, StoreResult};
use crate::domain::MemberId;

/// An email to queue.
#[derive(Debug, Clone)]
pub struct NewEmail {
    /// Unique natural key, e.g. `digest:12:2026-03-08`; a second insert with it is a no-op.
    pub idem_key: String,
    pub kind: &'static str,
    pub member_id: Option<i64>,
    pub local_date: Option<String>,
    pub recipient: String,
    pub message_id: String,
    pub subject: String,
    /// The complete RFC 5322 message; empty for an email composed when it is sent.
    pub body: Vec<u8>,
    /// What an email composed when it is sent (a digest) is made of, instead of its bytes
    /// (see `jobs::compose::Manifest`).
    pub manifest: Option<String>,
    /// The check-in a request, reminder or receipt is about (`None`: the stand-up, or not a
    /// request): a reply that finds its way by References is filed under it.
    pub checkin: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxState {
    Pending,
    Sending,
    Sent,
    Failed,
}

impl OutboxState {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::Sending => "sending",
            OutboxState::Sent => "sent",
            OutboxState::Failed => "failed",
        }
    }
}

/// A stored outbox row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: i64,
    pub idem_key: String,
    pub kind: String,
    pub member_id: Option<i64>,
    pub local_date: Option<String>,
    pub recipient: String,
    pub message_id: String,
    pub subject: String,
    /// Not a column of `outbox`: read from `outbox_bodies` (empty until then, and for an email
    /// composed when it is sent).
    #[sqlx(skip)]
    pub body: Vec<u8>,
    /// Set for an email composed when it is sent (a digest): what it is made of.
    pub manifest: Option<String>,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

/// The columns of the small outbox row; the message bytes live in `outbox_bodies` (written once
/// when queued, read once when claimed), so a state change never copies them.
const COLS: &str = "id, idem_key, kind, member_id, local_date, recipient, message_id, subject, manifest, state, attempts, next_attempt_at, last_error, created_at, sent_at";

/// Inserts the row and its body (none for an email composed when sent) in the caller's
/// transaction; `None` when the idempotency key exists already (then nothing is written).
pub(super) async fn insert(
    conn: &mut sqlx::AnyConnection,
    e: &NewEmail,
    now: i64,
) -> StoreResult<Option<i64>> {
    let r = sqlx::query(
        "INSERT INTO outbox (idem_key, kind, member_id, local_date, recipient, message_id, subject, manifest, checkin, state, attempts, next_attempt_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $9, $10, 'pending', 0, $8, $8) ON CONFLICT (idem_key) DO NOTHING RETURNING id",
    )
    .bind(&e.idem_key)
    .bind(e.kind)
    .bind(e.member_id)
    .bind(e.local_date.clone())
    .bind(&e.recipient)
    .bind(&e.message_id)
    .bind(&e.subject)
    .bind(now)
    .bind(e.manifest.as_deref())
    .bind(e.checkin)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(id) = r.map(|r| r.try_get::<i64, _>(0)).transpose()? else {
        return Ok(None);
    };
    if e.manifest.is_some() {
        return Ok(Some(id));
    }
    sqlx::query("INSERT INTO outbox_bodies (outbox_id, body) VALUES ($1, $2)")
        .bind(id)
        .bind(e.body.as_slice())
        .execute(&mut *conn)
        .await?;
    Ok(Some(id))
}

/// Fills in the bodies of `rows` with one query (none when all are composed when sent).
async fn with_bodies(
    pool: &sqlx::AnyPool,
    mut rows: Vec<OutboxRow>,
) -> StoreResult<Vec<OutboxRow>> {
    let stored: Vec<i64> = rows
        .iter()
        .filter(|r| r.manifest.is_none())
        .map(|r| r.id)
        .collect();
    if stored.is_empty() {
        return Ok(rows);
    }
    let sql = format!(
        "SELECT outbox_id, body FROM outbox_bodies WHERE outbox_id IN ({})",
        super::placeholders(1, stored.len())
    );
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for id in stored {
        q = q.bind(id);
    }
    let mut bodies: std::collections::HashMap<i64, Vec<u8>> = q
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<StoreResult<_>>()?;
    for r in &mut rows {
        r.body = bodies.remove(&r.id).unwrap_or_default();
    }
    Ok(rows)
}

/// One claim of an outbox row: its id and the attempt the claim counted. A later claim of the
/// same row (by another worker, after this one's lease lapsed) has a higher attempt, so the
/// pair tells whether the row is still ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Claim {
    pub id: i64,
    pub attempt: i64,
}

impl OutboxRow {
    /// This row's claim, as [`Store::claim_outbox`] returned it.
    pub fn claim(&self) -> Claim {
        Claim {
            id: self.id,
            attempt: self.attempts,
        }
    }
}

/// What became of a claimed email, as [`Store::record_outcomes`] writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted by the server at `at` (unix seconds).
    Sent { at: i64 },
    /// A transient failure: back to pending, tried again at `at`.
    Retry { at: i64, error: String },
    /// A permanent failure: never tried again.
    Failed { error: String },
    /// The end of the data was sent and no answer came (RFC 1047): it may have been
    /// delivered. Its claim stands and lapses with its lease; only then is it sent again.
    Unconfirmed { error: String },
}

/// Claims bound in one statement (two values each, well under SQLite's 32,766 variables).
const CLAIMS_PER_STATEMENT: usize = 500;

/// `($first, $first+1), ($first+2, $first+3), …` for `n` (id, attempt) pairs.
fn pairs(first: usize, n: usize) -> String {
    (0..n)
        .map(|i| format!("(${}, ${})", first + 2 * i, first + 2 * i + 1))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Marks the emails of `chunk` (index into the caller's list, claim) sent at `at`, in one
/// statement; returns each index with whether its row was still ours.
async fn record_sent(
    tx: &mut sqlx::AnyConnection,
    at: i64,
    chunk: &[(usize, &Claim)],
) -> StoreResult<Vec<(usize, bool)>> {
    let sql = format!(
        "UPDATE outbox SET state = 'sent', sent_at = $1, lease_until = NULL, last_error = NULL
         WHERE state = 'sending' AND (id, attempts) IN (VALUES {}) RETURNING id",
        pairs(2, chunk.len())
    );
    let mut q = sqlx::query(AssertSqlSafe(sql)).bind(at);
    for (_, c) in chunk {
        q = q.bind(c.id).bind(c.attempt);
    }
    let ids: std::collections::HashSet<i64> = q
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    Ok(chunk
        .iter()
        .map(|(i, c)| (*i, ids.contains(&c.id)))
        .collect())
}

impl Store {
    /// Queues an email; `None` when one with the same idempotency key exists already.
    /// `now` is the job's clock: the email is due from then on.
    pub async fn enqueue(&self, e: &NewEmail, now: i64) -> StoreResult<Option<i64>> {
        let mut tx = self.write_tx().await?;
        let id = insert(&mut tx, e, now).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Claims up to `limit` emails due at `due_at` (the job's clock), or whose sender's lease
    /// expired: a crashed worker's claim is picked up again. Leases are on the wall clock
    /// (`wall`): they are about whether a process is alive, not about what is due, and a pass
    /// that runs on a simulated clock must not hand out claims that are already expired. The
    /// claim is one short statement; the send happens outside any transaction. PostgreSQL
    /// skips rows another worker has locked. A live worker renews its claims with
    /// [`Store::renew_leases`].
    pub async fn claim_outbox(
        &self,
        due_at: i64,
        wall: i64,
        lease_secs: i64,
        limit: i64,
    ) -> StoreResult<Vec<OutboxRow>> {
        let lock = if self.backend == Backend::Postgres {
            "FOR UPDATE SKIP LOCKED"
        } else {
            ""
        };
        let sql = format!(
            "UPDATE outbox SET state = 'sending', lease_until = $1, attempts = attempts + 1
             WHERE id IN (SELECT id FROM outbox WHERE (state = 'pending' AND next_attempt_at <= $2)
                          OR (state = 'sending' AND lease_until < $3) ORDER BY next_attempt_at, id LIMIT $4 {lock})
             RETURNING {COLS}"
        );
        let rows = sqlx::query_as(AssertSqlSafe(sql))
            .bind(wall + lease_secs)
            .bind(due_at)
            .bind(wall)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        with_bodies(&self.pool, rows).await
    }

    /// The heartbeat of a live worker: moves the lease of those of `claims` that are still
    /// being sent under that claim to `until`. Rows already recorded, or claimed again by
    /// another worker after this one stalled past its lease (a higher attempt), are left
    /// alone. Returns how many moved.
    pub async fn renew_claims(&self, claims: &[Claim], until: i64) -> StoreResult<u64> {
        let mut moved = 0;
        for chunk in claims.chunks(CLAIMS_PER_STATEMENT) {
            let sql = format!(
                "UPDATE outbox SET lease_until = $1 WHERE state = 'sending' AND (id, attempts) IN (VALUES {})",
                pairs(2, chunk.len())
            );
            let mut q = sqlx::query(AssertSqlSafe(sql)).bind(until);
            for c in chunk {
                q = q.bind(c.id).bind(c.attempt);
            }
            moved += q.execute(&self.pool).await?.rows_affected();
        }
        Ok(moved)
    }

    /// Records what became of claimed emails, all in one transaction (a group commit). Each
    /// record is guarded by its claim: a row whose lease lapsed and was claimed again (or
    /// recorded) meanwhile is not overwritten. Returns, for each entry, whether it was still
    /// ours and is now recorded.
    pub async fn record_outcomes(&self, done: &[(Claim, Outcome)]) -> StoreResult<Vec<bool>> {
        let mut tx = self.write_tx().await?;
        let mut recorded = vec![false; done.len()];
        // Sent emails, the common case: one statement per time and chunk.
        let mut sent: std::collections::BTreeMap<i64, Vec<(usize, &Claim)>> = Default::default();
        for (i, (c, o)) in done.iter().enumerate() {
            if let Outcome::Sent { at } = o {
                sent.entry(*at).or_default().push((i, c));
            }
        }
        for (at, list) in &sent {
            for chunk in list.chunks(CLAIMS_PER_STATEMENT) {
                for (i, ok) in record_sent(&mut tx, *at, chunk).await? {
                    recorded[i] = ok;
                }
            }
        }
        for (i, (c, o)) in done.iter().enumerate() {
            let (sql, at, error) = match o {
                Outcome::Sent { .. } => continue,
                Outcome::Retry { at, error } => (
                    "UPDATE outbox SET state = 'pending', next_attempt_at = $3, lease_until = NULL, last_error = $4 WHERE id = $1 AND attempts = $2 AND state = 'sending'",
                    Some(*at),
                    error,
                ),
                Outcome::Failed { error } => (
                    "UPDATE outbox SET state = 'failed', lease_until = NULL, last_error = $3 WHERE id = $1 AND attempts = $2 AND state = 'sending'",
                    None,
                    error,
                ),
                // The claim and its lease stay: it is sent again only once the lease lapses.
                Outcome::Unconfirmed { error } => (
                    "UPDATE outbox SET last_error = $3 WHERE id = $1 AND attempts = $2 AND state = 'sending'",
                    None,
                    error,
                ),
            };
            let mut q = sqlx::query(sql).bind(c.id).bind(c.attempt);
            if let Some(at) = at {
                q = q.bind(at);
            }
            let q = q.bind(error.as_str());
            recorded[i] = q.execute(&mut *tx).await?.rows_affected() == 1;
        }
        tx.commit().await?;
        Ok(recorded)
    }

    pub async fn outbox_sent(&self, id: i64, now: i64) -> StoreResult<()> {
        sqlx::query("UPDATE outbox SET state = 'sent', sent_at = $1, lease_until = NULL, last_error = NULL WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A transient failure: back to pending, tried again at `next_at`.
    pub async fn outbox_retry(&self, id: i64, next_at: i64, error: &str) -> StoreResult<()> {
        sqlx::query("UPDATE outbox SET state = 'pending', next_attempt_at = $1, lease_until = NULL, last_error = $2 WHERE id = $3")
            .bind(next_at)
            .bind(error)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A permanent failure: recorded, never retried.
    pub async fn outbox_failed(&self, id: i64, error: &str) -> StoreResult<()> {
        sqlx::query(
            "UPDATE outbox SET state = 'failed', lease_until = NULL, last_error = $1 WHERE id = $2",
        )
        .bind(error)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn list_outbox(&self, only_failed: bool, limit: i64) -> StoreResult<Vec<OutboxRow>> {
        let filter = if only_failed {
            "WHERE state = 'failed'"
        } else {
            ""
        };
        let rows = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {COLS} FROM outbox {filter} ORDER BY id DESC LIMIT $1"
        )))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        with_bodies(&self.pool, rows).await
    }

    /// Counts by state (for metrics and the admin page).
    pub async fn outbox_counts(&self) -> StoreResult<Vec<(String, i64)>> {
        let rows = sqlx::query("SELECT state, COUNT(*) FROM outbox GROUP BY state ORDER BY state")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }

    /// Whether an email with this idempotency key was ever queued (whatever became of it).
    pub async fn outbox_has_key(&self, idem_key: &str) -> StoreResult<bool> {
        let r = sqlx::query("SELECT 1 FROM outbox WHERE idem_key = $1")
            .bind(idem_key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(r.is_some())
    }

    /// The member a stored outgoing Message-ID was sent to, with the local date it was for.
    pub async fn outbox_by_message_id(
        &self,
        message_id: &str,
    ) -> StoreResult<Option<(i64, Option<String>, String, Option<i64>)>> {
        let r = sqlx::query("SELECT member_id, local_date, kind, checkin FROM outbox WHERE message_id = $1 AND member_id IS NOT NULL")
            .bind(message_id)
            .fetch_optional(&self.pool)
            .await?;
        r.map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
            .transpose()
    }
}

impl Store {
    /// Notices queued to `recipient` since `since` (rate limit for explanations to strangers).
    /// Receipts and notices queued to `recipient` since `since` (replies' own mail, limited
    /// per hour by `mail.inbound.receipts_per_hour`).
    pub async fn replies_mail_since(&self, recipient: &str, since: i64) -> StoreResult<i64> {
        Ok(sqlx::query("SELECT COUNT(*) FROM outbox WHERE recipient = $1 AND kind IN ('receipt', 'notice') AND created_at >= $2")
            .bind(recipient)
            .bind(since)
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?)
    }

    /// Outbox rows to `member` whose key starts with `prefix`, queued since `since`.
    pub async fn mail_with_key_since(
        &self,
        member: i64,
        prefix: &str,
        since: i64,
    ) -> StoreResult<i64> {
        Ok(sqlx::query("SELECT COUNT(*) FROM outbox WHERE member_id = $1 AND idem_key LIKE $2 AND created_at >= $3")
            .bind(member)
            .bind(format!("{prefix}%"))
            .bind(since)
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?)
    }

    pub async fn notices_since(&self, recipient: &str, since: i64) -> StoreResult<i64> {
        Ok(sqlx::query("SELECT COUNT(*) FROM outbox WHERE recipient = $1 AND kind = 'notice' AND created_at >= $2")
            .bind(recipient)
            .bind(since)
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?)
    }
}

impl Store {
    /// The most recently queued digest of `member`, whatever its delivery state (its body
    /// filled in if it has one; a digest composed when sent has its manifest instead).
    pub async fn latest_digest(&self, member: MemberId) -> StoreResult<Option<OutboxRow>> {
        let row: Option<OutboxRow> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {COLS} FROM outbox WHERE member_id = $1 AND kind = 'digest' ORDER BY created_at DESC, id DESC LIMIT 1"
        )))
        .bind(member)
        .fetch_optional(&self.pool)
        .await?;
        Ok(with_bodies(&self.pool, row.into_iter().collect())
            .await?
            .pop())
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
