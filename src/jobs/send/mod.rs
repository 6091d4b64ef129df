//! Draining the outbox as a stream: a claimer keeps a few claimed emails per session waiting
//! (one heartbeat renews every claim held), composers build them off the async threads, and
//! each SMTP session takes the next ready email as soon as it is free, so nothing waits for a
//! batch's slowest. Every email is sent outside any transaction; one recorder writes the
//! outcomes in group commits. Transient failures back off exponentially with jitter,
//! permanent ones are final.
//!
//! The commit point: the end of an email's data (after which the server has it) goes out
//! only while fewer than `mail.smtp.unrecorded_max` ended emails wait for their record, so a
//! crash can leave at most that many delivered and unrecorded, each sent again (byte-identical,
//! same Message-ID) when its lease lapses.

mod claim;
mod lane;
mod prepare;
mod record;

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::Ctx;
use crate::domain::EmailAddress;
use crate::store::Outcome;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SendReport {
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
    /// Ended without an answer from the server (it may have them): left to their leases.
    pub unconfirmed: usize,
    /// The server's answer (or the connection error) of the last email put back for a retry.
    pub last_transient: Option<String>,
}

impl SendReport {
    /// Adds another drain's counts to these.
    pub fn add(&mut self, other: SendReport) {
        self.sent += other.sent;
        self.retried += other.retried;
        self.failed += other.failed;
        self.unconfirmed += other.unconfirmed;
        if other.last_transient.is_some() {
            self.last_transient = other.last_transient;
        }
    }

    /// Counts one recorded outcome.
    fn count(&mut self, o: Outcome) {
        match o {
            Outcome::Sent { .. } => self.sent += 1,
            Outcome::Retry { error, .. } => {
                self.retried += 1;
                self.last_transient = Some(error);
            }
            Outcome::Failed { .. } => self.failed += 1,
            Outcome::Unconfirmed { .. } => self.unconfirmed += 1,
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

/// What the parts of one drain share.
struct Drain {
    ctx: Ctx,
    /// The job's clock: what is due, and the time recorded as sent.
    now: DateTime<Utc>,
    /// The envelope sender (Return-Path) is the mailbox the inbound poller reads, so delivery
    /// status notifications come back to it and count against the bouncing address.
    from: EmailAddress,
    concurrency: usize,
    lease_secs: i64,
    max_attempts: u32,
    flow: claim::Flow,
    held: claim::Held,
    /// Places at the commit point (`mail.smtp.unrecorded_max`): one is held from before an
    /// email's end of data until its outcome is recorded.
    unrecorded: Arc<tokio::sync::Semaphore>,
}

/// Sends what is due in the outbox until nothing is.
pub async fn run(ctx: &Ctx, now: DateTime<Utc>) -> anyhow::Result<SendReport> {
    drain(ctx, now, || false).await
}

/// Sends what is due in the outbox; while `more` says more is being queued beside it (a
/// planning pass), an empty outbox is looked at again shortly instead of ending the drain.
pub async fn drain(
    ctx: &Ctx,
    now: DateTime<Utc>,
    more: impl Fn() -> bool + Send + 'static,
) -> anyhow::Result<SendReport> {
    let smtp = &ctx.config.mail.smtp;
    let concurrency = smtp.concurrency.max(1);
    let d = Arc::new(Drain {
        ctx: ctx.clone(),
        now,
        from: ctx.config.reply_to(),
        concurrency,
        lease_secs: i64::try_from(smtp.lease_secs).unwrap_or(i64::MAX / 4),
        max_attempts: smtp.max_attempts,
        flow: claim::Flow::default(),
        held: claim::Held::default(),
        unrecorded: Arc::new(tokio::sync::Semaphore::new(smtp.unrecorded_bound())),
    });
    let _heartbeat = claim::Heartbeat::start(&d);
    let (recorder, recorded) = record::start(&d);
    let (to_compose, rows) = std::sync::mpsc::channel();
    let (ready_tx, ready_rx) = tokio::sync::mpsc::channel(4 * concurrency);
    let composers = prepare::start(&d, composers(concurrency), rows, ready_tx);
    let queue: lane::Queue = Arc::new(tokio::sync::Mutex::new(ready_rx));
    let mut recorded = Part(recorded);
    let mut lanes: Vec<_> = (0..concurrency)
        .map(|_| {
            Part(tokio::spawn(lane::run(
                d.clone(),
                queue.clone(),
                recorder.clone(),
            )))
        })
        .collect();
    drop((queue, recorder));
    claim::claimer(d.clone(), to_compose, more).await;
    for l in &mut lanes {
        if let Err(e) = (&mut l.0).await {
            d.flow.fail(anyhow::anyhow!("a sending task failed: {e}"));
        }
    }
    for c in composers {
        let _ = c.await;
    }
    // Every session is done, so the recorder ends once it wrote what it was handed.
    let report = (&mut recorded.0)
        .await
        .map_err(|e| anyhow::anyhow!("the recording task failed: {e}"))?;
    match d.flow.take_error() {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

/// A task of the drain, aborted if the drain is dropped before it ends (a pass cut off): the
/// emails it held keep their claims and go out once the leases lapse.
struct Part<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for Part<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Composers for `concurrency` sessions: one per core, at most one per session.
fn composers(concurrency: usize) -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(1, 4)
        .min(concurrency)
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
