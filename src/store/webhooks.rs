//! Webhook endpoints and their deliveries: added, listed, removed, paused and resumed by the
//! admin; deliveries claimed under a lease and recorded like the outbox's emails (see
//! [`super::events`] for how they are queued).

use sqlx::{AssertSqlSafe, Row};

use super::{Backend, Store, StoreError, StoreResult};
use crate::domain::webhook::{PING, envelope};

/// An endpoint as the admin sees it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: i64,
    /// `None`: every team.
    pub team: Option<String>,
    pub url: String,
    pub events: Vec<String>,
    pub created_at: i64,
    pub last_success_at: Option<i64>,
    pub failing_since: Option<i64>,
    pub last_error: Option<String>,
    pub paused_at: Option<i64>,
    pub pause_reason: Option<String>,
    /// Deliveries waiting (pending or being sent) and given up on.
    pub waiting: i64,
    pub failed: i64,
}

/// A claimed delivery, with what sending it needs.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: i64,
    /// The attempt this claim counted (1 for the first).
    pub attempt: i64,
    pub webhook_id: i64,
    pub url: String,
    pub secret: String,
    pub msg_id: String,
    pub event: String,
    pub payload: String,
}

/// What became of a delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookOutcome {
    /// The receiver answered 2xx at `at`.
    Sent { at: i64 },
    /// It failed and is tried again at `at`.
    Retry { at: i64, error: String },
    /// It failed for the last time (attempts used up, or the receiver answered 410 Gone).
    Failed { error: String },
}

/// A delivery as `outbox list` and the admin see it.
#[derive(Debug, Clone)]
pub struct DeliveryRow {
    pub id: i64,
    pub webhook_id: i64,
    pub msg_id: String,
    pub event: String,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

/// `hooks.slack.com …abcd`: what may be shown of an address Tidings posts to (a webhook
/// endpoint, a chat room's incoming webhook, whose path is its secret): its host and the last
/// four characters of its path, enough to tell two apart.
pub fn shown(url: &str) -> String {
    let parsed = url::Url::parse(url).ok();
    let host = parsed
        .as_ref()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    let path = parsed
        .as_ref()
        .map(|u| u.path().trim_end_matches('/').to_string())
        .unwrap_or_default();
    let chars: Vec<char> = path.chars().collect();
    let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    format!("{host} …{tail}")
}

/// `ok`, `failing` (its last delivery failed) or `paused`.
pub fn state_of(h: &Webhook) -> &'static str {
    if h.paused_at.is_some() {
        "paused"
    } else if h.failing_since.is_some() {
        "failing"
    } else {
        "ok"
    }
}

const HOOK_COLS: &str = "w.id, t.name, w.url, w.events, w.created_at, w.last_success_at, w.failing_since, w.last_error, w.paused_at, w.pause_reason,
    (SELECT COUNT(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.state IN ('pending', 'sending')),
    (SELECT COUNT(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.state = 'failed')
    FROM webhooks w LEFT JOIN teams t ON t.id = w.team_id";

fn hook_from_row(r: &sqlx::any::AnyRow) -> StoreResult<Webhook> {
    let events: String = r.try_get(3)?;
    Ok(Webhook {
        id: r.try_get(0)?,
        team: r.try_get(1)?,
        url: r.try_get(2)?,
        events: events
            .split(',')
            .filter(|e| !e.is_empty())
            .map(str::to_string)
            .collect(),
        created_at: r.try_get(4)?,
        last_success_at: r.try_get(5)?,
        failing_since: r.try_get(6)?,
        last_error: r.try_get(7)?,
        paused_at: r.try_get(8)?,
        pause_reason: r.try_get(9)?,
        waiting: r.try_get(10)?,
        failed: r.try_get(11)?,
    })
}

impl Store {
    /// Adds an endpoint for `team` (`None`: every team) hearing `events`, signed with
    /// `secret`; returns its id. An unknown team is `NotFound`.
    pub async fn add_webhook(
        &self,
        team: Option<&str>,
        url: &str,
        secret: &str,
        events: &[&str],
        now: i64,
    ) -> StoreResult<i64> {
        let team_id: Option<i64> = match team {
            None => None,
            Some(name) => Some(
                sqlx::query("SELECT id FROM teams WHERE name = $1")
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await?
                    .ok_or_else(|| StoreError::NotFound(format!("no team named {name:?}")))?
                    .try_get(0)?,
            ),
        };
        let r = sqlx::query(
            "INSERT INTO webhooks (team_id, url, secret, events, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(team_id)
        .bind(url)
        .bind(secret)
        .bind(events.join(","))
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        Ok(r.try_get(0)?)
    }

    /// Every endpoint, oldest first.
    pub async fn webhooks(&self) -> StoreResult<Vec<Webhook>> {
        let rows = sqlx::query(AssertSqlSafe(format!("SELECT {HOOK_COLS} ORDER BY w.id")))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(hook_from_row).collect()
    }

    /// Endpoint `id`.
    pub async fn webhook(&self, id: i64) -> StoreResult<Option<Webhook>> {
        let r = sqlx::query(AssertSqlSafe(format!("SELECT {HOOK_COLS} WHERE w.id = $1")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        r.as_ref().map(hook_from_row).transpose()
    }

    /// Removes endpoint `id` and its deliveries; false when there was none.
    pub async fn remove_webhook(&self, id: i64) -> StoreResult<bool> {
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM webhook_deliveries WHERE webhook_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let gone = sqlx::query("DELETE FROM webhooks WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        tx.commit().await?;
        Ok(gone)
    }

    /// Resumes a paused endpoint: its waiting deliveries are due now (`now`), and it counts
    /// as failing from its next failure only. False when there is no such endpoint.
    pub async fn resume_webhook(&self, id: i64, now: i64) -> StoreResult<bool> {
        let mut tx = self.write_tx().await?;
        let found = sqlx::query(
            "UPDATE webhooks SET paused_at = NULL, pause_reason = NULL, failing_since = NULL WHERE id = $1",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        sqlx::query("UPDATE webhook_deliveries SET next_attempt_at = $2 WHERE webhook_id = $1 AND state = 'pending'")
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(found)
    }

    /// Queues a `ping` to endpoint `id` (`webhook test`); returns the delivery's id.
    pub async fn queue_ping(&self, id: i64, now: i64) -> StoreResult<i64> {
        let hook = self
            .webhook(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no webhook {id}")))?;
        let data = serde_json::json!({
            "webhook": { "id": hook.id, "team": hook.team, "events": hook.events },
            "message": "A test delivery from Tidings: this endpoint is reached and can verify the signature.",
        });
        let payload = envelope(PING, now, data);
        let mut tx = self.write_tx().await?;
        let key = format!("{id}:ping:{}", crate::domain::webhook::new_message_id());
        super::events::insert_delivery(&mut tx, id, &key, PING, &payload, now).await?;
        let r = sqlx::query("SELECT id FROM webhook_deliveries WHERE idem_key = $1")
            .bind(&key)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(r.try_get(0)?)
    }

    /// Claims up to `limit` deliveries due at `due_at` (the job's clock) or whose lease lapsed
    /// (the wall clock `wall`), of endpoints not paused; `only` claims that one delivery
    /// whatever its time (`webhook test`).
    pub async fn claim_deliveries(
        &self,
        (due_at, wall): (i64, i64),
        lease_secs: i64,
        limit: i64,
        only: Option<i64>,
    ) -> StoreResult<Vec<Delivery>> {
        let lock = if self.backend == Backend::Postgres {
            "FOR UPDATE SKIP LOCKED"
        } else {
            ""
        };
        // `only` (a test ping) is sent even to a paused endpoint: that is how the admin checks
        // it before resuming it.
        let which = if only.is_some() {
            "d.id = $5 AND d.state = 'pending' AND $2 = $2 AND $3 = $3"
        } else {
            "w.paused_at IS NULL AND $5 = 0 AND ((d.state = 'pending' AND d.next_attempt_at <= $2)
             OR (d.state = 'sending' AND d.lease_until < $3))"
        };
        let sql = format!(
            "UPDATE webhook_deliveries SET state = 'sending', lease_until = $1, attempts = attempts + 1
             WHERE id IN (SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
                          WHERE {which}
                          ORDER BY d.next_attempt_at, d.id LIMIT $4 {lock})
             RETURNING id, attempts, webhook_id, msg_id, event, payload"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(wall + lease_secs)
            .bind(due_at)
            .bind(wall)
            .bind(limit)
            .bind(only.unwrap_or(0))
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let hook: i64 = r.try_get(2)?;
            let h = sqlx::query("SELECT url, secret FROM webhooks WHERE id = $1")
                .bind(hook)
                .fetch_one(&self.pool)
                .await?;
            out.push(Delivery {
                id: r.try_get(0)?,
                attempt: r.try_get(1)?,
                webhook_id: hook,
                url: h.try_get(0)?,
                secret: h.try_get(1)?,
                msg_id: r.try_get(3)?,
                event: r.try_get(4)?,
                payload: r.try_get(5)?,
            });
        }
        out.sort_by_key(|d| d.id);
        Ok(out)
    }

    /// Gives back a claimed delivery that was not attempted (its endpoint just failed in
    /// this run): pending again from `at`, the claim's attempt not counted.
    pub async fn release_delivery(&self, d: &Delivery, at: i64) -> StoreResult<()> {
        sqlx::query(
            "UPDATE webhook_deliveries SET state = 'pending', attempts = attempts - 1, lease_until = NULL, next_attempt_at = $3
             WHERE id = $1 AND attempts = $2 AND state = 'sending'",
        )
        .bind(d.id)
        .bind(d.attempt)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records what became of delivery `d` (guarded by its claim: a delivery claimed again
    /// meanwhile is left alone), and its endpoint's health: a success clears its failing
    /// state; a failure starts it, and pauses the endpoint once it has been failing since
    /// before `pause_before`. Returns whether the endpoint was paused now.
    pub async fn record_delivery(
        &self,
        d: &Delivery,
        outcome: &HookOutcome,
        (now, pause_before): (i64, i64),
    ) -> StoreResult<bool> {
        let mut tx = self.write_tx().await?;
        let (sql, at, error): (&str, Option<i64>, Option<&str>) = match outcome {
            HookOutcome::Sent { at } => (
                "UPDATE webhook_deliveries SET state = 'sent', sent_at = $3, lease_until = NULL, last_error = NULL WHERE id = $1 AND attempts = $2 AND state = 'sending'",
                Some(*at),
                None,
            ),
            HookOutcome::Retry { at, error } => (
                "UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = $3, lease_until = NULL, last_error = $4 WHERE id = $1 AND attempts = $2 AND state = 'sending'",
                Some(*at),
                Some(error),
            ),
            HookOutcome::Failed { error } => (
                "UPDATE webhook_deliveries SET state = 'failed', lease_until = NULL, last_error = $3 WHERE id = $1 AND attempts = $2 AND state = 'sending'",
                None,
                Some(error),
            ),
        };
        let mut q = sqlx::query(sql).bind(d.id).bind(d.attempt);
        if let Some(at) = at {
            q = q.bind(at);
        }
        if let Some(e) = error {
            q = q.bind(e);
        }
        q.execute(&mut *tx).await?;
        let paused = match error {
            None => {
                sqlx::query("UPDATE webhooks SET failing_since = NULL, last_error = NULL, last_success_at = $2 WHERE id = $1")
                    .bind(d.webhook_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                false
            }
            Some(e) => {
                sqlx::query("UPDATE webhooks SET failing_since = COALESCE(failing_since, $2), last_error = $3 WHERE id = $1")
                    .bind(d.webhook_id)
                    .bind(now)
                    .bind(e)
                    .execute(&mut *tx)
                    .await?;
                let reason = format!("failing for a day: {e}");
                sqlx::query("UPDATE webhooks SET paused_at = $2, pause_reason = $3 WHERE id = $1 AND paused_at IS NULL AND failing_since <= $4")
                    .bind(d.webhook_id)
                    .bind(now)
                    .bind(reason)
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

    /// The latest deliveries (failed ones only when `only_failed`), newest first.
    pub async fn list_deliveries(
        &self,
        only_failed: bool,
        limit: i64,
    ) -> StoreResult<Vec<DeliveryRow>> {
        let filter = if only_failed {
            "WHERE state = 'failed'"
        } else {
            ""
        };
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT id, webhook_id, msg_id, event, state, attempts, next_attempt_at, last_error, created_at, sent_at
             FROM webhook_deliveries {filter} ORDER BY id DESC LIMIT $1"
        )))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DeliveryRow {
                    id: r.try_get(0)?,
                    webhook_id: r.try_get(1)?,
                    msg_id: r.try_get(2)?,
                    event: r.try_get(3)?,
                    state: r.try_get(4)?,
                    attempts: r.try_get(5)?,
                    next_attempt_at: r.try_get(6)?,
                    last_error: r.try_get(7)?,
                    created_at: r.try_get(8)?,
                    sent_at: r.try_get(9)?,
                })
            })
            .collect()
    }

    /// Deliveries by state, for `/metrics`.
    pub async fn delivery_counts(&self) -> StoreResult<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT state, COUNT(*) FROM webhook_deliveries GROUP BY state ORDER BY state",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }
}
