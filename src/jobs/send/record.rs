//! Recording what became of each email: sent, retried later with backoff, failed for good, or
//! (after an end of data that got no answer) left to its lease. One recorder task writes them
//! in group commits: one transaction per flush, at 64 results, ~2 ms after the first, or at
//! once when a session waits for its record. Every record is guarded by its claim, so a row
//! another worker claimed after this one's lease lapsed is not overwritten. When a flush
//! fails, nothing of it is acknowledged and the drain stops: every session stops before its
//! next end of data, and what was claimed waits for its lease.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, mpsc, oneshot};

use super::{Drain, SendReport, backoff_secs};
use crate::mail::outbound::SendError;
use crate::store::{Claim, OutboxRow, Outcome};

/// Results written in one transaction at most.
const FLUSH_MAX: usize = 64;
/// How long the first result of a flush waits for company when no session is waiting.
const FLUSH_AFTER: Duration = Duration::from_millis(2);

/// What `r`, the result of sending `row`, means for its outbox row (logged here once).
pub(super) fn outcome(d: &Drain, row: &OutboxRow, r: Result<(), SendError>) -> Outcome {
    let now = d.now.timestamp();
    match r {
        Ok(()) => Outcome::Sent { at: now },
        Err(SendError::Transient(e)) if (row.attempts as u32) < d.max_attempts => {
            tracing::warn!(id = row.id, kind = %row.kind, attempts = row.attempts, error = %e, "send failed; will retry");
            Outcome::Retry {
                at: now + backoff_secs(row.attempts - 1),
                error: e,
            }
        }
        Err(SendError::Unconfirmed(e)) if (row.attempts as u32) < d.max_attempts => {
            tracing::warn!(id = row.id, kind = %row.kind, error = %e, "no answer to the end of data: the email may have been delivered; it is sent again only when its lease lapses");
            Outcome::Unconfirmed {
                error: format!("may have been delivered: {e}"),
            }
        }
        Err(e) => {
            tracing::error!(id = row.id, kind = %row.kind, error = %e, "send failed permanently");
            Outcome::Failed {
                error: e.to_string(),
            }
        }
    }
}

/// One result on its way to the database.
struct Done {
    claim: Claim,
    outcome: Outcome,
    /// Answered once it is recorded; dropped unanswered when the flush fails.
    ack: oneshot::Sender<()>,
    /// The email's place at the commit point, let go once it is recorded.
    _commit: Option<OwnedSemaphorePermit>,
}

/// The sessions' way to the recorder.
#[derive(Clone)]
pub(super) struct Recorder {
    tx: mpsc::UnboundedSender<Done>,
    waiting: Arc<Waiting>,
}

/// Sessions waiting for a record (theirs, or a place at the commit point), so the recorder
/// flushes at once instead of waiting for company.
#[derive(Default)]
struct Waiting {
    count: AtomicUsize,
    wake: tokio::sync::Notify,
}

/// Counts a session as waiting for as long as it lives.
pub(super) struct WaitGuard(Arc<Waiting>);

impl Drop for WaitGuard {
    fn drop(&mut self) {
        self.0.count.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Recorder {
    /// Hands a result over; the answer comes once it is recorded (an error: it never will be).
    pub(super) fn submit(
        &self,
        claim: Claim,
        outcome: Outcome,
        commit: Option<OwnedSemaphorePermit>,
    ) -> oneshot::Receiver<()> {
        let (ack, answer) = oneshot::channel();
        // A recorder that has stopped drops the result, and with it the answer.
        let _ = self.tx.send(Done {
            claim,
            outcome,
            ack,
            _commit: commit,
        });
        answer
    }

    /// Marks the caller as waiting for a record until the guard is dropped.
    pub(super) fn waiting(&self) -> WaitGuard {
        self.waiting.count.fetch_add(1, Ordering::SeqCst);
        self.waiting.wake.notify_one();
        WaitGuard(self.waiting.clone())
    }
}

/// Starts the recorder; it ends, with the counts of what it recorded, once every [`Recorder`]
/// is dropped or a flush fails.
pub(super) fn start(d: &Arc<Drain>) -> (Recorder, tokio::task::JoinHandle<SendReport>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let waiting = Arc::new(Waiting::default());
    let task = tokio::spawn(run(d.clone(), rx, waiting.clone()));
    (Recorder { tx, waiting }, task)
}

async fn run(d: Arc<Drain>, mut rx: mpsc::UnboundedReceiver<Done>, w: Arc<Waiting>) -> SendReport {
    let mut report = SendReport::default();
    while let Some(first) = rx.recv().await {
        let batch = gather(first, &mut rx, &w).await;
        if let Err(e) = flush(&d, batch, &mut report).await {
            d.flow.fail(e);
            break;
        }
    }
    report
}

/// The results of one flush: `first`, and whatever comes until the flush is full, ~2 ms
/// passed, or a session waits.
async fn gather(first: Done, rx: &mut mpsc::UnboundedReceiver<Done>, w: &Waiting) -> Vec<Done> {
    let mut batch = vec![first];
    let deadline = tokio::time::Instant::now() + FLUSH_AFTER;
    while batch.len() < FLUSH_MAX {
        if w.count.load(Ordering::SeqCst) > 0 {
            // Whoever waits has handed its result over already: take what is there.
            while batch.len() < FLUSH_MAX
                && let Ok(d) = rx.try_recv()
            {
                batch.push(d);
            }
            break;
        }
        tokio::select! {
            next = rx.recv() => match next {
                Some(d) => batch.push(d),
                None => break,
            },
            () = w.wake.notified() => {}
            () = tokio::time::sleep_until(deadline) => break,
        }
    }
    batch
}

/// Writes `batch` in one transaction, then lets each claim go and answers each session.
async fn flush(d: &Drain, batch: Vec<Done>, report: &mut SendReport) -> anyhow::Result<()> {
    let rows: Vec<(Claim, Outcome)> = batch.iter().map(|b| (b.claim, b.outcome.clone())).collect();
    let ours =
        d.ctx.store.record_outcomes(&rows).await.map_err(|e| {
            anyhow::Error::from(e).context("cannot record the outcome of sent emails")
        })?;
    for (done, ours) in batch.into_iter().zip(ours) {
        d.held.release(done.claim.id);
        if !ours {
            tracing::warn!(
                id = done.claim.id,
                "the outbox lease lapsed before the email was recorded: another worker may send it again"
            );
        }
        report.count(done.outcome);
        let _ = done.ack.send(());
    }
    Ok(())
}
