//! Delivering webhooks: claims the due deliveries (under a lease, as the outbox's emails),
//! signs each by the Standard Webhooks specification and POSTs it through the one safe
//! client ([`crate::fetch`]: no private addresses unless `fetch.allow_private`, a timeout),
//! then records what became of it. A failed attempt is retried on the spec's schedule with
//! the same `webhook-id` and body, up to `webhooks.max_attempts`; an endpoint failing for
//! `webhooks.pause_after_hours` is paused until the admin resumes it.
//!
//! An endpoint's address may hold a secret (chat webhooks do): logs name its host only.

use chrono::{DateTime, Utc};
use futures::StreamExt;

use super::Ctx;
use crate::domain::webhook::{backoff_secs, secret_key, sign};
use crate::fetch::{FetchError, Fetcher, normalise};
use crate::store::webhooks::{Delivery, HookOutcome};

/// Deliveries claimed at once.
const BATCH: i64 = 16;
/// Endpoints served at once.
const IN_FLIGHT: usize = 4;

/// What one run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct HookReport {
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
    /// Endpoints paused by this run.
    pub paused: usize,
}

impl HookReport {
    fn count(&mut self, o: &HookOutcome, paused: bool) {
        match o {
            HookOutcome::Sent { .. } => self.sent += 1,
            HookOutcome::Retry { .. } => self.retried += 1,
            HookOutcome::Failed { .. } => self.failed += 1,
        }
        self.paused += usize::from(paused);
    }
}

/// How long a claim holds: longer than one attempt can take.
fn lease_secs(ctx: &Ctx) -> i64 {
    ctx.config.fetch.timeout_secs as i64 * 2 + 30
}

/// Delivers every due webhook (due by the job's clock `now`).
pub async fn run(ctx: &Ctx, now: DateTime<Utc>) -> anyhow::Result<HookReport> {
    let mut report = HookReport::default();
    let mut fetcher = None;
    loop {
        let wall = Utc::now().timestamp();
        let claimed = ctx
            .store
            .claim_deliveries((now.timestamp(), wall), lease_secs(ctx), BATCH, None)
            .await?;
        if claimed.is_empty() {
            return Ok(report);
        }
        let f = match &fetcher {
            Some(f) => f,
            None => fetcher.insert(Fetcher::new(&ctx.config.fetch)?),
        };
        // One endpoint's deliveries go one after the other, in the order they were queued;
        // several endpoints are served at once.
        let mut by_hook: std::collections::BTreeMap<i64, Vec<Delivery>> = Default::default();
        for d in claimed {
            by_hook.entry(d.webhook_id).or_default().push(d);
        }
        let done: Vec<anyhow::Result<HookReport>> = futures::stream::iter(by_hook.into_values())
            .map(|list| async move {
                let mut r = HookReport::default();
                let mut failing = false;
                for d in &list {
                    // An endpoint that just failed is not tried again in this run: a dead
                    // receiver costs one timeout per pass, not one per waiting delivery.
                    if failing {
                        let at = now.timestamp() + backoff_secs(1);
                        ctx.store.release_delivery(d, at).await?;
                        continue;
                    }
                    let o = attempt(ctx, f, d, now).await;
                    let paused = record(ctx, d, &o, now).await?;
                    failing = !matches!(o, HookOutcome::Sent { .. });
                    r.count(&o, paused);
                }
                Ok(r)
            })
            .buffer_unordered(IN_FLIGHT)
            .collect()
            .await;
        for r in done {
            let r = r?;
            report.sent += r.sent;
            report.retried += r.retried;
            report.failed += r.failed;
            report.paused += r.paused;
        }
    }
}

/// Sends delivery `id` (a queued ping) now, whatever its time and even to a paused endpoint,
/// once; `None` when it was not waiting.
pub async fn send_one(
    ctx: &Ctx,
    id: i64,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<HookOutcome>> {
    let wall = Utc::now().timestamp();
    let Some(d) = ctx
        .store
        .claim_deliveries((now.timestamp(), wall), lease_secs(ctx), 1, Some(id))
        .await?
        .pop()
    else {
        return Ok(None);
    };
    let f = Fetcher::new(&ctx.config.fetch)?;
    // A test is answered now: a ping that fails is not tried again later.
    let o = match attempt(ctx, &f, &d, now).await {
        HookOutcome::Retry { error, .. } => HookOutcome::Failed { error },
        o => o,
    };
    record(ctx, &d, &o, now).await?;
    Ok(Some(o))
}

/// Records `o` for `d`, logging failures by host; true when the endpoint was paused now.
async fn record(
    ctx: &Ctx,
    d: &Delivery,
    o: &HookOutcome,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let hours = i64::from(ctx.config.webhooks.pause_after_hours);
    let pause_before = now.timestamp() - hours * 3600;
    let paused = ctx
        .store
        .record_delivery(d, o, (now.timestamp(), pause_before))
        .await?;
    let host = crate::fetch::host(&d.url);
    match o {
        HookOutcome::Sent { .. } => {}
        HookOutcome::Retry { error, .. } | HookOutcome::Failed { error } => tracing::warn!(
            webhook = d.webhook_id,
            host,
            event = d.event,
            attempt = d.attempt,
            "webhook delivery failed: {error}"
        ),
    }
    if paused {
        tracing::warn!(
            webhook = d.webhook_id,
            host,
            "webhook paused after failing for {hours} h: `tidings webhook resume {}` once it is fixed",
            d.webhook_id
        );
    }
    Ok(paused)
}

/// One attempt of `d`: signed now (the receiver checks the timestamp against its clock).
async fn attempt(ctx: &Ctx, f: &Fetcher, d: &Delivery, now: DateTime<Utc>) -> HookOutcome {
    let failed = |error: String| HookOutcome::Failed { error };
    let url = match normalise(&d.url, ctx.config.fetch.allow_http) {
        Ok(u) => u,
        Err(e) => return failed(e.to_string()),
    };
    let key = match secret_key(&d.secret) {
        Ok(k) => k,
        Err(e) => return failed(e),
    };
    let ts = Utc::now().timestamp();
    let headers = [
        ("webhook-id", d.msg_id.clone()),
        ("webhook-timestamp", ts.to_string()),
        (
            "webhook-signature",
            sign(&key, &d.msg_id, ts, d.payload.as_bytes()),
        ),
    ];
    let result = f
        .post_json(&url, &headers, d.payload.clone().into_bytes())
        .await;
    outcome(result, d.attempt, ctx.config.webhooks.max_attempts, now)
}

/// What an attempt's result means: 2xx sent; 410 Gone, a refused address or the last
/// attempt failed; anything else retried on the schedule.
fn outcome(
    result: Result<u16, FetchError>,
    attempt: i64,
    max_attempts: u32,
    now: DateTime<Utc>,
) -> HookOutcome {
    let error = match result {
        Ok(_) => {
            return HookOutcome::Sent {
                at: now.timestamp(),
            };
        }
        Err(FetchError::Status(410)) => {
            return HookOutcome::Failed {
                error: "the receiver answered 410 Gone".into(),
            };
        }
        Err(e @ (FetchError::Refused { .. } | FetchError::BadAddress(_))) => {
            return HookOutcome::Failed {
                error: e.to_string(),
            };
        }
        Err(e) => e.to_string(),
    };
    if attempt >= i64::from(max_attempts) {
        HookOutcome::Failed {
            error: format!("{error} (attempt {attempt} of {max_attempts})"),
        }
    } else {
        HookOutcome::Retry {
            at: now.timestamp() + backoff_secs(attempt),
            error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_follow_the_schedule_and_give_up() {
        let now = DateTime::from_timestamp(1_000_000, 0).unwrap_or_default();
        assert_eq!(
            outcome(Ok(204), 1, 8, now),
            HookOutcome::Sent { at: 1_000_000 }
        );
        assert_eq!(
            outcome(Err(FetchError::Status(500)), 2, 8, now),
            HookOutcome::Retry {
                at: 1_000_300,
                error: "the server answered 500".into()
            }
        );
        assert!(matches!(
            outcome(Err(FetchError::Status(500)), 8, 8, now),
            HookOutcome::Failed { error } if error.ends_with("(attempt 8 of 8)")
        ));
        assert!(matches!(
            outcome(Err(FetchError::Status(410)), 1, 8, now),
            HookOutcome::Failed { .. }
        ));
        assert!(matches!(
            outcome(Err(FetchError::Timeout(20)), 1, 8, now),
            HookOutcome::Retry { at: 1_000_005, .. }
        ));
    }
}
