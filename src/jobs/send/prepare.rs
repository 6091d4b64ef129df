//! Composing, off the async threads: a few workers on tokio's blocking pool, each with its own
//! share of the pass's parts (the update revisions read once, each entry rendered once), turn
//! claimed rows into wire-ready messages (composed, DKIM-signed, dot-stuffed) for the sessions.

use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};

use super::Drain;
use crate::jobs::compose::{Manifest, SendParts, queued_digest};
use crate::mail::outbound::{Prepared, SendError};
use crate::store::OutboxRow;

/// A claimed email made ready to send (or the reason it cannot be).
pub(super) struct Ready {
    pub row: OutboxRow,
    pub msg: Result<Prepared, SendError>,
}

/// Starts `workers` composers reading rows from `rows` until it closes, sending what they
/// make to `ready`.
pub(super) fn start(
    d: &Arc<Drain>,
    workers: usize,
    rows: Receiver<Vec<OutboxRow>>,
    ready: tokio::sync::mpsc::Sender<Ready>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let rows = Arc::new(Mutex::new(rows));
    let rt = tokio::runtime::Handle::current();
    (0..workers)
        .map(|_| {
            let (d, rows, ready, rt) = (d.clone(), rows.clone(), ready.clone(), rt.clone());
            tokio::task::spawn_blocking(move || worker(&d, &rows, &ready, &rt))
        })
        .collect()
}

fn worker(
    d: &Drain,
    rows: &Mutex<Receiver<Vec<OutboxRow>>>,
    ready: &tokio::sync::mpsc::Sender<Ready>,
    rt: &tokio::runtime::Handle,
) {
    let mut parts = SendParts::default();
    loop {
        let chunk = match rows.lock().map(|r| r.recv()) {
            Ok(Ok(chunk)) => chunk,
            _ => return,
        };
        if d.flow.stopped() {
            return;
        }
        let manifests: Vec<anyhow::Result<Option<Manifest>>> =
            chunk.iter().map(Manifest::of_row).collect();
        let readable: Vec<&Manifest> = manifests
            .iter()
            .filter_map(|m| m.as_ref().ok()?.as_ref())
            .collect();
        // The revisions these digests carry, read once per worker and pass.
        if let Err(e) = rt.block_on(parts.load(&d.ctx, &readable)) {
            return d
                .flow
                .fail(e.context("cannot read the updates the digests carry"));
        }
        for (mut row, manifest) in chunk.into_iter().zip(manifests) {
            let msg = message(d, &mut row, manifest, &mut parts);
            if ready.blocking_send(Ready { row, msg }).is_err() {
                return;
            }
        }
    }
}

/// The row's message ready for the transport: its stored bytes, or the digest composed now.
fn message(
    d: &Drain,
    row: &mut OutboxRow,
    manifest: anyhow::Result<Option<Manifest>>,
    parts: &mut SendParts,
) -> Result<Prepared, SendError> {
    let raw = match manifest {
        Ok(None) => Ok(std::mem::take(&mut row.body)),
        Ok(Some(m)) => queued_digest(&d.ctx, row, &m, parts),
        Err(e) => Err(e),
    }
    .map_err(|e| SendError::Permanent(format!("cannot compose the digest: {e:#}")))?;
    d.ctx.sender.prepare(raw)
}
