//! Claiming: a queue of claimed emails kept full enough for every session to find its next one
//! ready, and one heartbeat for every claim held.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;

use super::Drain;
use crate::store::{Claim, OutboxRow};

/// Rows handed to a composer at a time: small, so both cores compose at once and the first
/// emails of a claim are ready early.
const COMPOSE_CHUNK: usize = 4;
/// How long an empty outbox is waited on while more is being queued beside the drain.
const IDLE_WAIT: Duration = Duration::from_millis(20);

/// How the parts of one drain keep in step: the count of claimed emails no session has
/// taken yet (the claimer refills below a low mark), and the first failure, which stops all.
#[derive(Default)]
pub(super) struct Flow {
    waiting: AtomicUsize,
    changed: tokio::sync::Notify,
    stopped: AtomicBool,
    error: Mutex<Option<anyhow::Error>>,
}

impl Flow {
    /// A session took one claimed email.
    pub(super) fn took_one(&self) {
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        self.changed.notify_one();
    }

    /// Stops the drain: nothing more is claimed or started. The first error is kept.
    pub(super) fn fail(&self, e: anyhow::Error) {
        if let Ok(mut first) = self.error.lock()
            && first.is_none()
        {
            *first = Some(e);
        }
        self.stopped.store(true, Ordering::SeqCst);
        self.changed.notify_one();
    }

    pub(super) fn stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// The error that stopped the drain, if any.
    pub(super) fn take_error(&self) -> Option<anyhow::Error> {
        self.error.lock().ok().and_then(|mut e| e.take())
    }
}

/// The claims this drain holds (id → attempt), renewed together by one heartbeat.
#[derive(Default)]
pub(super) struct Held(Mutex<HashMap<i64, i64>>);

impl Held {
    fn add(&self, rows: &[OutboxRow]) {
        if let Ok(mut h) = self.0.lock() {
            h.extend(rows.iter().map(|r| (r.id, r.attempts)));
        }
    }

    /// Lets a claim go: recorded, or left to lapse with its lease.
    pub(super) fn release(&self, id: i64) {
        if let Ok(mut h) = self.0.lock() {
            h.remove(&id);
        }
    }

    fn claims(&self) -> Vec<Claim> {
        self.0
            .lock()
            .map(|h| {
                h.iter()
                    .map(|(&id, &attempt)| Claim { id, attempt })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Renews every claim held every third of the lease until dropped (at the end of the drain,
/// or with the worker when it dies): the lease can be short, so a crashed worker's emails go
/// out soon after, however long the drain takes.
pub(super) struct Heartbeat(tokio::task::JoinHandle<()>);

impl Heartbeat {
    pub(super) fn start(d: &Arc<Drain>) -> Heartbeat {
        let d = d.clone();
        let every = Duration::from_secs((d.lease_secs / 3).max(1) as u64);
        Heartbeat(tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let claims = d.held.claims();
                let until = Utc::now().timestamp() + d.lease_secs;
                // On an error the leases stand until they expire; the next beat tries again.
                if let Err(e) = d.ctx.store.renew_claims(&claims, until).await {
                    tracing::warn!(error = %e, "cannot renew the outbox leases");
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

/// Claims due emails for the composers, keeping about two per session waiting, until the
/// outbox has nothing due (and, while `more` says more is being queued, a while after).
pub(super) async fn claimer(
    d: Arc<Drain>,
    to_compose: std::sync::mpsc::Sender<Vec<OutboxRow>>,
    more: impl Fn() -> bool,
) {
    let low = 2 * d.concurrency;
    while !d.flow.stopped() {
        loop {
            let changed = d.flow.changed.notified();
            if d.flow.waiting.load(Ordering::SeqCst) < low || d.flow.stopped() {
                break;
            }
            changed.await;
        }
        // Read before claiming: a claim that comes back empty after the queueing beside us
        // ended has seen all it queued.
        let last = !more();
        let wall = Utc::now().timestamp();
        let rows = match d
            .ctx
            .store
            .claim_outbox(d.now.timestamp(), wall, d.lease_secs, low as i64)
            .await
        {
            Ok(rows) => rows,
            Err(e) => {
                return d
                    .flow
                    .fail(anyhow::Error::from(e).context("cannot claim from the outbox"));
            }
        };
        if rows.is_empty() {
            if last {
                return;
            }
            tokio::time::sleep(IDLE_WAIT).await;
            continue;
        }
        d.held.add(&rows);
        d.flow.waiting.fetch_add(rows.len(), Ordering::SeqCst);
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<OutboxRow> = rows.by_ref().take(COMPOSE_CHUNK).collect();
            if to_compose.send(chunk).is_err() {
                return;
            }
        }
    }
}
