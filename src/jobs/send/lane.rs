//! One sending session of the drain: it takes the next ready email as soon as it is free and
//! hands it to the transport all but the end of its data; then, once its previous email is
//! recorded and a place at the commit point is free, it ends the data and hands the result to
//! the recorder. So each session has at most one email accepted by the server and not yet
//! recorded, and all of them together at most `mail.smtp.unrecorded_max`.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, oneshot};

use super::Drain;
use super::prepare::Ready;
use super::record::{Recorder, outcome};
use crate::domain::EmailAddress;
use crate::mail::outbound::{Prepared, SendError, Staged};
use crate::store::OutboxRow;

/// The sessions' shared queue of ready emails.
pub(super) type Queue = Arc<tokio::sync::Mutex<tokio::sync::mpsc::Receiver<Ready>>>;

/// Sends ready emails until the queue closes or the drain stops.
pub(super) async fn run(d: Arc<Drain>, queue: Queue, recorder: Recorder) {
    // The record of this session's last ended email, awaited before it ends another.
    let mut previous: Option<oneshot::Receiver<()>> = None;
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
        let staged = match begin(&d, &row, msg).await {
            Ok(staged) => staged,
            Err(e) => {
                // Nothing reached the server: no need to wait for its record.
                drop(recorder.submit(row.claim(), outcome(&d, &row, Err(e)), None));
                continue;
            }
        };
        let Some(commit) = commit_point(&d, &recorder, previous.take()).await else {
            // Dropped before its end of data: the server discards it.
            drop(staged);
            break;
        };
        let r = staged.finish().await;
        previous = Some(recorder.submit(row.claim(), outcome(&d, &row, r), Some(commit)));
    }
}

/// Hands `row` as `msg` to the transport, all but the end of its data.
async fn begin(
    d: &Drain,
    row: &OutboxRow,
    msg: Result<Prepared, SendError>,
) -> Result<Staged, SendError> {
    let to =
        EmailAddress::parse(&row.recipient).map_err(|e| SendError::Permanent(e.to_string()))?;
    d.ctx.sender.begin(&d.from, &to, &row.idem_key, msg?).await
}

/// Waits until this session's `previous` email is recorded and a place at the commit point is
/// free, and takes it. `None` when the drain stopped (a record failed): no end of data may go
/// out then.
async fn commit_point(
    d: &Drain,
    recorder: &Recorder,
    previous: Option<oneshot::Receiver<()>>,
) -> Option<OwnedSemaphorePermit> {
    if let Some(previous) = previous {
        let _waiting = recorder.waiting();
        previous.await.ok()?;
    }
    let place = match d.unrecorded.clone().try_acquire_owned() {
        Ok(place) => place,
        Err(_) => {
            let _waiting = recorder.waiting();
            d.unrecorded.clone().acquire_owned().await.ok()?
        }
    };
    (!d.flow.stopped()).then_some(place)
}
