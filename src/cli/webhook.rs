//! `tidings webhook`: signed webhook endpoints (add, list, remove, test, resume).

use super::*;
use crate::domain::webhook::{new_secret, parse_events};
use crate::fetch::{Fetcher, normalise};
use crate::store::webhooks::{HookOutcome, Webhook};

/// What may be shown of an endpoint's address (it may hold a secret, as chat webhooks' do).
pub fn shown(url: &str) -> String {
    crate::store::webhooks::shown(url)
}

fn when(t: Option<i64>) -> Option<String> {
    t.and_then(|t| DateTime::from_timestamp(t, 0))
        .map(|t| t.format("%Y-%m-%d %H:%M:%SZ").to_string())
}

fn to_json(h: &Webhook) -> serde_json::Value {
    serde_json::json!({
        "id": h.id,
        "team": h.team,
        "address": shown(&h.url),
        "events": h.events,
        "state": state(h),
        "last_success_at": when(h.last_success_at),
        "failing_since": when(h.failing_since),
        "last_error": h.last_error,
        "paused_at": when(h.paused_at),
        "pause_reason": h.pause_reason,
        "waiting": h.waiting,
        "failed": h.failed,
    })
}

use crate::store::webhooks::state_of as state;

/// The address `url` checked as deliveries will be: scheme, no credentials, no refused IP.
fn checked(cfg: &Config, url: &str) -> anyhow::Result<String> {
    let u = normalise(url, cfg.fetch.allow_http).map_err(|e| usage(e.to_string()))?;
    Fetcher::new(&cfg.fetch)?.check_address(&u).map_err(|e| {
        usage(format!(
            "{e} (set fetch.allow_private = true for a receiver on loopback or the LAN)"
        ))
    })?;
    Ok(u.to_string())
}

pub(super) async fn run(cfg: Config, cmd: WebhookCmd) -> anyhow::Result<()> {
    match cmd {
        WebhookCmd::Add { url, team, events } => {
            let url = checked(&cfg, &url)?;
            let events = parse_events(events.as_deref().unwrap_or(""))
                .map_err(|e| usage(format!("--events: {e}")))?;
            let secret = new_secret();
            with_store(&cfg, async |s| {
                let id = s
                    .add_webhook(
                        team.as_deref(),
                        &url,
                        &secret,
                        &events,
                        Utc::now().timestamp(),
                    )
                    .await
                    .map_err(store_err)?;
                crate::outln!(
                    "webhook {id} added: {} for {}, events {}",
                    shown(&url),
                    team.as_deref()
                        .map_or("every team".to_string(), |t| format!("team {t}")),
                    events.join(",")
                );
                crate::outln!("signing secret (shown only now): {secret}");
                Ok(())
            })
            .await
        }
        WebhookCmd::List { json } => {
            with_store(&cfg, async |s| {
                let hooks = s.webhooks().await.map_err(store_err)?;
                if json {
                    let v: Vec<_> = hooks.iter().map(to_json).collect();
                    crate::outln!("{}", serde_json::to_string_pretty(&v)?);
                    return Ok(());
                }
                if hooks.is_empty() {
                    crate::outln!("no webhooks (add one with `tidings webhook add URL`)");
                }
                for h in &hooks {
                    crate::outln!(
                        "{}  {}  {}  {}  waiting {}, failed {}{}",
                        h.id,
                        shown(&h.url),
                        h.team.as_deref().unwrap_or("(every team)"),
                        state(h),
                        h.waiting,
                        h.failed,
                        h.pause_reason
                            .as_deref()
                            .or(h.last_error.as_deref())
                            .map(|e| format!("  why: {e}"))
                            .unwrap_or_default()
                    );
                    crate::outln!("    events: {}", h.events.join(", "));
                }
                Ok(())
            })
            .await
        }
        WebhookCmd::Remove { id } => {
            with_store(&cfg, async |s| {
                if !s.remove_webhook(id).await.map_err(store_err)? {
                    return Err(usage(format!(
                        "no webhook {id} (see `tidings webhook list`)"
                    )));
                }
                crate::outln!("webhook {id} removed, with its deliveries");
                Ok(())
            })
            .await
        }
        WebhookCmd::Resume { id } => {
            with_store(&cfg, async |s| {
                if !s
                    .resume_webhook(id, Utc::now().timestamp())
                    .await
                    .map_err(store_err)?
                {
                    return Err(usage(format!(
                        "no webhook {id} (see `tidings webhook list`)"
                    )));
                }
                crate::outln!("webhook {id} resumed: what waited is delivered at the next pass");
                Ok(())
            })
            .await
        }
        WebhookCmd::Test { id } => test(cfg, id).await,
    }
}

/// Queues a ping to endpoint `id`, sends it at once and reports the receiver's answer; exit
/// status 1 when it did not accept it.
async fn test(cfg: Config, id: i64) -> anyhow::Result<()> {
    with_ctx(cfg, async |ctx| {
        let now = Utc::now();
        let delivery = ctx
            .store
            .queue_ping(id, now.timestamp())
            .await
            .map_err(|e| match e {
                StoreError::NotFound(_) => {
                    usage(format!("no webhook {id} (see `tidings webhook list`)"))
                }
                e => store_err(e),
            })?;
        match crate::jobs::hooks::send_one(ctx, delivery, now).await? {
            Some(HookOutcome::Sent { .. }) => {
                crate::outln!("webhook {id}: ping delivered and accepted");
                Ok(())
            }
            Some(HookOutcome::Retry { error, .. } | HookOutcome::Failed { error }) => {
                Err(anyhow!("webhook {id}: the ping was not accepted: {error}"))
            }
            None => Err(anyhow!(
                "webhook {id}: the ping was taken by another instance"
            )),
        }
    })
    .await
}
