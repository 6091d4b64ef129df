//! Recording what became of each email: sent, retried later with backoff, failed for good, or
//! (after an end of data that got no answer) left to its lease. Every record is guarded by
//! its claim, so a row another worker claimed after this one's lease lapsed is not overwritten.

use super::{Drain, backoff_secs};
use crate::mail::outbound::SendError;
use crate::store::{OutboxRow, Outcome};

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
        Err(SendError::Unconfirmed(e)) => {
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

/// Records the result `r` of sending `row` and lets its claim go.
pub(super) async fn one(
    d: &Drain,
    row: &OutboxRow,
    r: Result<(), SendError>,
) -> anyhow::Result<Outcome> {
    let o = outcome(d, row, r);
    let ours = d
        .ctx
        .store
        .record_outcomes(&[(row.claim(), o.clone())])
        .await
        .map_err(|e| anyhow::Error::from(e).context("cannot record a sent email"))?;
    d.held.release(row.id);
    if ours.first() == Some(&false) {
        tracing::warn!(
            id = row.id,
            "the outbox lease lapsed before the email was recorded: another worker may send it again"
        );
    }
    Ok(o)
}
