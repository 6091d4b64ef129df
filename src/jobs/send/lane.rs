//! One sending session of the drain: it takes the next ready email as soon as it is free, hands
//! it to the transport all but its end, takes a place at the commit point, ends it, and records
//! what became of it before it ends another. So each session has at most one email accepted
//! by the server and not yet recorded, and all of them together at most
//! `mail.smtp.unrecorded_max`.

use std::sync::Arc;

use tokio::sync::OwnedSemaphorePermit;

use super::prepare::Ready;
use super::{Drain, SendReport, record};
use crate::domain::EmailAddress;
use crate::mail::outbound::SendError;

/// The sessions' shared queue of ready emails.
pub(super) type Queue = Arc<tokio::sync::Mutex<tokio::sync::mpsc::Receiver<Ready>>>;

/// Sends ready emails until the queue closes or the drain stops; returns its counts.
pub(super) async fn run(d: Arc<Drain>, queue: Queue) -> SendReport {
    let mut report = SendReport::default();
    loop {
        let next = queue.lock().await.recv().await;
        let Some(Ready { row, msg }) = next else {
            break;
        };
        d.flow.took_one();
        if d.flow.stopped() {
            // Not sent: its claim lapses with its lease.
            break;
        }
        let Some((r, commit)) = deliver(&d, &row, msg).await else {
            break;
        };
        match record::one(&d, &row, r).await {
            Ok(recorded) => report.count(recorded),
            Err(e) => {
                d.flow.fail(e);
                break;
            }
        }
        // The commit point is let go only once the email is recorded.
        drop(commit);
    }
    report
}

/// Sends `row` as `msg`: everything but the end of its data first, then, holding a place at
/// the commit point (at most `mail.smtp.unrecorded_max` emails are ended and not yet recorded
/// at any moment), the end. `None` when the drain stopped before the end went out (nothing
/// was delivered; the claim lapses with its lease).
async fn deliver(
    d: &Drain,
    row: &crate::store::OutboxRow,
    msg: Result<crate::mail::outbound::Prepared, SendError>,
) -> Option<(Result<(), SendError>, Option<OwnedSemaphorePermit>)> {
    let begun = async {
        let to =
            EmailAddress::parse(&row.recipient).map_err(|e| SendError::Permanent(e.to_string()))?;
        d.ctx.sender.begin(&d.from, &to, &row.idem_key, msg?).await
    };
    let staged = match begun.await {
        Ok(staged) => staged,
        Err(e) => return Some((Err(e), None)),
    };
    let commit = d.unrecorded.clone().acquire_owned().await.ok()?;
    if d.flow.stopped() {
        return None;
    }
    Some((staged.finish().await, Some(commit)))
}
