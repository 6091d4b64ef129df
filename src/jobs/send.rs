//! Draining the outbox: claim a batch with a lease, send outside any transaction, record the
//! outcome. Transient failures back off exponentially with jitter; permanent ones are final.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};
use futures::StreamExt;

use super::Ctx;
use super::compose::Manifest;
use crate::domain::EmailAddress;
use crate::mail::outbound::SendError;
use crate::store::OutboxRow;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SendReport {
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
    /// The server's answer (or the connection error) of the last email put back for a retry.
    pub last_transient: Option<String>,
}

impl SendReport {
    /// Adds another drain's counts to these.
    pub fn add(&mut self, other: SendReport) {
        self.sent += other.sent;
        self.retried += other.retried;
        self.failed += other.failed;
        if other.last_transient.is_some() {
            self.last_transient = other.last_transient;
        }
    }

    /// True when emails were due but none got through, each put back for a retry: the mail
    /// server is unreachable or refuses everything, as opposed to one recipient's 4xx.
    pub fn nothing_delivered(&self) -> bool {
        self.sent == 0 && self.retried > 0
    }
}

/// Delay before attempt `attempts + 1`: 30 s doubling to at most 1 h, plus up to 25 % jitter
/// so a recovering server is not hit by every retry at once.
pub fn backoff_secs(attempts: i64) -> i64 {
    let base = 30i64
        .saturating_mul(1i64 << attempts.clamp(0, 7) as u32)
        .min(3600);
    base + (rand::random::<u64>() % (base as u64 / 4 + 1)) as i64
}

/// Renews a batch's lease every third of `lease_secs` until dropped (at the end of the batch,
/// or with the worker when it dies).
struct Heartbeat(tokio::task::JoinHandle<()>);

impl Heartbeat {
    fn start(ctx: &Ctx, ids: Vec<i64>, until: i64, lease_secs: i64) -> Heartbeat {
        let store = ctx.store.clone();
        let every = std::time::Duration::from_secs((lease_secs / 3).max(1) as u64);
        Heartbeat(tokio::spawn(async move {
            let mut until = until;
            loop {
                tokio::time::sleep(every).await;
                let next = Utc::now().timestamp() + lease_secs;
                match store.renew_leases(&ids, until, next).await {
                    Ok(0) => break,
                    Ok(_) => until = next,
                    // The lease stands until it expires; the next beat tries again.
                    Err(e) => tracing::warn!(error = %e, "cannot renew the outbox lease"),
                }
            }
        }))
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What became of one claimed email.
enum Recorded {
    Delivered,
    /// Put back for a retry, with the server's answer.
    Retried(String),
    Failed,
}

pub async fn run(ctx: &Ctx, now: DateTime<Utc>) -> anyhow::Result<SendReport> {
    let mut report = SendReport::default();
    let concurrency = ctx.config.mail.smtp.concurrency.max(1);
    // The envelope sender (Return-Path) is the mailbox the inbound poller reads, so delivery
    // status notifications come back to it and count against the bouncing address.
    let from = ctx.config.reply_to();
    // Digests are composed here, as they are sent, from parts shared by the whole pass.
    let mut parts = super::compose::SendParts::default();
    loop {
        // A worker that dies mid-send releases its claim when the lease expires; while it
        // lives, a heartbeat keeps the lease ahead, so the lease can be short (a crashed
        // worker's emails go out soon after) however long the batch takes.
        let lease = i64::try_from(ctx.config.mail.smtp.lease_secs).unwrap_or(i64::MAX / 2);
        let wall = Utc::now().timestamp();
        let batch = ctx
            .store
            .claim_outbox(now.timestamp(), wall, lease, (concurrency * 8) as i64)
            .await?;
        if batch.is_empty() {
            break;
        }
        let _heartbeat = Heartbeat::start(
            ctx,
            batch.iter().map(|r| r.id).collect(),
            wall + lease,
            lease,
        );
        // Each result is recorded the moment its SMTP answer arrives, not at the end of the
        // batch, and while it is being recorded no other email's data is ended (the SMTP
        // pool's commit point): a crash can then duplicate only the one email accepted in the
        // instant before the kill, never a whole batch, whatever the concurrency.
        // Once a result cannot be recorded (the database went away), the rest of the batch
        // is not sent: an email sent but not recorded is sent again after its lease, so only
        // those already in flight may repeat. The skipped ones keep their claim and go out
        // when the lease expires.
        // Each send is a task of its own, so building SMTP transactions (dot-stuffing 100 KB
        // digests) spreads over the runtime's threads.
        // Each manifest is read once: for the revisions to load, then to compose.
        let manifests: Vec<anyhow::Result<Option<Manifest>>> =
            batch.iter().map(Manifest::of_row).collect();
        let readable: Vec<&Manifest> = manifests
            .iter()
            .filter_map(|m| m.as_ref().ok()?.as_ref())
            .collect();
        parts.load(ctx, &readable).await?;
        let batch: Vec<(OutboxRow, Option<String>)> = batch
            .into_iter()
            .zip(manifests)
            .map(|(mut row, manifest)| {
                let composed = match manifest {
                    Ok(None) => return (row, None),
                    Ok(Some(m)) => super::compose::queued_digest(ctx, &row, &m, &mut parts),
                    Err(e) => Err(e),
                };
                match composed {
                    Ok(bytes) => {
                        row.body = bytes;
                        (row, None)
                    }
                    Err(e) => (row, Some(format!("cannot compose the digest: {e:#}"))),
                }
            })
            .collect();
        let db_failed = Arc::new(AtomicBool::new(false));
        let outcomes: Vec<anyhow::Result<Recorded>> = futures::stream::iter(batch)
            .map(|(row, uncomposed)| {
                let (ctx, from, db_failed) = (ctx.clone(), from.clone(), db_failed.clone());
                let task = tokio::spawn(async move {
                    if db_failed.load(Ordering::SeqCst) {
                        anyhow::bail!("not sent: the database could not record the previous email");
                    }
                    let r = match (EmailAddress::parse(&row.recipient), uncomposed) {
                        (_, Some(e)) => Err(SendError::Permanent(e)),
                        (Ok(to), None) => {
                            ctx.sender.send(&from, &to, &row.idem_key, &row.body).await
                        }
                        (Err(e), None) => Err(SendError::Permanent(e.to_string())),
                    };
                    // An accepted email holds the commit point until it is recorded: no other
                    // email is accepted meanwhile, so a crash here repeats this one only.
                    let (r, accepted) = match r {
                        Ok(a) => (Ok(()), Some(a)),
                        Err(e) => (Err(e), None),
                    };
                    let recorded = record(&ctx, &row, r, now).await;
                    drop(accepted);
                    if recorded.is_err() {
                        db_failed.store(true, Ordering::SeqCst);
                    }
                    recorded
                });
                async move {
                    task.await
                        .unwrap_or_else(|e| Err(anyhow::anyhow!("the send task failed: {e}")))
                }
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
        for o in outcomes {
            match o? {
                Recorded::Delivered => report.sent += 1,
                Recorded::Retried(e) => {
                    report.retried += 1;
                    report.last_transient = Some(e);
                }
                Recorded::Failed => report.failed += 1,
            }
        }
    }
    Ok(report)
}

/// Records the outcome of one send: sent, retry later with backoff, or failed for good.
async fn record(
    ctx: &Ctx,
    row: &OutboxRow,
    r: Result<(), SendError>,
    now: DateTime<Utc>,
) -> anyhow::Result<Recorded> {
    Ok(match r {
        Ok(()) => {
            ctx.store.outbox_sent(row.id, now.timestamp()).await?;
            Recorded::Delivered
        }
        Err(SendError::Transient(e))
            if (row.attempts as u32) < ctx.config.mail.smtp.max_attempts =>
        {
            tracing::warn!(id = row.id, kind = %row.kind, attempts = row.attempts, error = %e, "send failed; will retry");
            ctx.store
                .outbox_retry(row.id, now.timestamp() + backoff_secs(row.attempts - 1), &e)
                .await?;
            Recorded::Retried(e)
        }
        Err(e) => {
            tracing::error!(id = row.id, kind = %row.kind, error = %e, "send failed permanently");
            ctx.store.outbox_failed(row.id, &e.to_string()).await?;
            Recorded::Failed
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        for a in 0..20 {
            let b = backoff_secs(a);
            let base = (30i64 << a.min(7)).min(3600);
            assert!(b >= base && b <= base + base / 4 + 1, "attempt {a}: {b}");
        }
    }
}
