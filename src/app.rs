//! Start-up and shutdown of `tidings serve`: build everything (failing fast on bad config or an
//! unreachable database), then run the web server, the UTC tick and the inbound poller under one
//! shutdown signal. Mail in flight finishes before the process exits.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio_cron_scheduler::{Job, JobScheduler};
use tracing::Instrument;

use crate::config::{Config, Transport};
use crate::jobs::{self, Ctx};

/// How often `serve` runs the calendar job (each address is still read at most once per
/// `fetch.refresh_minutes`; members' days are computed again only when something changed).
const CALENDAR_EVERY: Duration = Duration::from_secs(300);

pub struct App {
    pub ctx: Ctx,
    listener: TcpListener,
}

impl App {
    /// Opens the database (migrating it) and binds the web port (`127.0.0.1:0` in tests).
    pub async fn build(config: Config) -> anyhow::Result<App> {
        let ctx = Ctx::build(config).await?;
        let listener = TcpListener::bind(&ctx.config.web.bind)
            .await
            .with_context(|| format!("cannot listen on web.bind = {}", ctx.config.web.bind))?;
        Ok(App { ctx, listener })
    }

    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// Runs until `stop` resolves, then shuts down gracefully.
    pub async fn run_until_stopped(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let App { ctx, listener } = self;
        let (stop_tx, stop_rx) = watch::channel(false);

        // One pass at start-up: a restart catches up at once.
        pass(&ctx, "start-up").await;

        // The scheduler only says "tick"; a single worker runs the passes, so a slow pass is
        // never overlapped by the next one (a tick that finds it busy is dropped).
        let (tick_tx, mut tick_rx) = mpsc::channel::<()>(1);
        let mut sched = JobScheduler::new()
            .await
            .context("cannot start the scheduler")?;
        let every = Duration::from_secs(ctx.config.schedule.tick_seconds);
        sched
            .add(Job::new_repeated_async(every, move |_, _| {
                let tx = tick_tx.clone();
                Box::pin(async move {
                    let _ = tx.try_send(());
                })
            })?)
            .await?;
        sched.start().await.context("cannot start the scheduler")?;

        let worker_ctx = ctx.clone();
        let mut worker_stop = stop_rx.clone();
        let worker = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = worker_stop.changed() => break,
                    t = tick_rx.recv() => {
                        if t.is_none() { break; }
                        pass(&worker_ctx, "tick").await;
                    }
                }
            }
        });

        let poll_ctx = ctx.clone();
        let mut poll_stop = stop_rx.clone();
        let poller = tokio::spawn(async move {
            loop {
                let now = Utc::now();
                match ingest_logged(&poll_ctx, now, "poll").await {
                    Ok(r) if r.fetched > 0 => {
                        // Receipts go out right away rather than at the next tick.
                        if let Err(e) =
                            send_logged(&poll_ctx, Utc::now(), "receipts", || false).await
                        {
                            tracing::error!(error = %format!("{e:#}"), "sending receipts failed");
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::error!(error = %format!("{e:#}"), "inbound poll failed; will retry")
                    }
                }
                let wait = Duration::from_secs(poll_ctx.config.mail.imap.poll_interval_secs.max(1));
                let waiter = async {
                    if poll_ctx.config.mail.transport == Transport::Smtp {
                        if let Err(e) =
                            crate::mail::inbound::wait_for_mail(&poll_ctx.config.mail.imap, wait)
                                .await
                        {
                            tracing::warn!(error = %format!("{e:#}"), "IMAP IDLE failed; polling instead");
                            tokio::time::sleep(wait).await;
                        }
                    } else {
                        tokio::time::sleep(wait.min(Duration::from_secs(5))).await;
                    }
                };
                tokio::select! {
                    _ = poll_stop.changed() => break,
                    _ = waiter => {}
                }
            }
        });

        // Calendars and activity feeds on their own timer: the planner reads what was last read and never
        // waits on the network.
        let cal_ctx = ctx.clone();
        let mut cal_stop = stop_rx.clone();
        let calendars = tokio::spawn(async move {
            loop {
                if let Err(e) = calendars_logged(&cal_ctx, Utc::now(), "timer").await {
                    tracing::error!(error = %format!("{e:#}"), "reading calendars failed; will retry");
                }
                if let Err(e) = activity_logged(&cal_ctx, Utc::now(), "timer").await {
                    tracing::error!(error = %format!("{e:#}"), "reading activity feeds failed; will retry");
                }
                tokio::select! {
                    _ = cal_stop.changed() => break,
                    _ = tokio::time::sleep(CALENDAR_EVERY) => {}
                }
            }
        });

        let router = crate::web::router(ctx.clone());
        tracing::info!(addr = %listener.local_addr()?, "tidings is serving");
        let mut web_stop = stop_rx.clone();
        let web_cfg = ctx.config.web.clone();
        let server = tokio::spawn(async move {
            crate::web::serve(listener, router, &web_cfg, async move {
                let _ = web_stop.changed().await;
            })
            .await
        });

        stop.await;
        tracing::info!("shutting down: finishing mail in flight");
        let _ = stop_tx.send(true);
        let _ = sched.shutdown().await;
        let _ = worker.await;
        let _ = poller.await;
        let _ = calendars.await;
        server
            .await
            .context("web server task")?
            .context("web server")?;
        ctx.store.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// One planning and sending pass of `serve`, logged; a part that fails is logged with what to
/// check, the other still runs, and both are tried again next tick.
pub async fn pass(ctx: &Ctx, why: &str) {
    let now = Utc::now();
    let started = std::time::Instant::now();
    let report = run_pass(ctx, now, why, false).await;
    for f in report.failures(&ctx.config) {
        tracing::error!(part = f.part, error = %f.error, check = %f.hint, "{} failed; will retry next tick", f.part);
    }
    ctx.metrics.record_tick(started.elapsed());
    tracing::debug!(ms = started.elapsed().as_millis() as u64, "pass done");
}

/// What became of each part of one pass. A part's failure never stops the others: an IMAP
/// outage must not silence the requests and digests, nor an SMTP outage the replies.
pub struct PassReport {
    /// `None` when the pass did not read the inbox (`serve` polls it on its own).
    pub inbound: Option<anyhow::Result<jobs::ingest::IngestReport>>,
    /// `None` when the pass did not read calendars (`serve` reads them on its own timer).
    pub calendars: Option<anyhow::Result<jobs::calendars::CalendarReport>>,
    /// `None` when the pass did not read activity feeds (`serve` reads them on its own timer).
    pub activity: Option<anyhow::Result<jobs::activity::ActivityReport>>,
    pub plan: anyhow::Result<jobs::plan::PlanReport>,
    pub send: anyhow::Result<jobs::send::SendReport>,
    /// Webhook deliveries, after the emails.
    pub hooks: anyhow::Result<jobs::hooks::HookReport>,
    /// Chat rooms' summaries queued and posted.
    pub chat: anyhow::Result<jobs::chat::ChatReport>,
}

/// One part of a pass that did not do its work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartFailure {
    /// `reading replies`, `queueing` or `sending`.
    pub part: &'static str,
    pub error: String,
    /// What to check, naming the config keys involved.
    pub hint: String,
}

impl PassReport {
    /// The parts that failed, in the order they ran. Sending counts as failed when it returned
    /// an error or when emails were due and none got through (the server is unreachable or
    /// refuses everything); a single recipient's 4xx or 5xx is not a failure of the pass.
    pub fn failures(&self, cfg: &Config) -> Vec<PartFailure> {
        let mut out = Vec::new();
        if let Some(Err(e)) = &self.inbound {
            let hint = match cfg.mail.transport {
                Transport::Smtp => {
                    "check mail.imap.* and that the IMAP server answers (`tidings doctor`); replies wait in the mailbox and are read on the next pass"
                }
                Transport::Maildir => {
                    "check mail.maildir.inbox (`tidings doctor`); replies wait there and are read on the next pass"
                }
            };
            out.push(PartFailure {
                part: "reading replies",
                error: format!("{e:#}"),
                hint: hint.into(),
            });
        }
        if let Some(Err(e)) = &self.calendars {
            out.push(PartFailure {
                part: "reading calendars",
                error: format!("{e:#}"),
                hint: "check database.url (`tidings doctor`); a calendar that cannot be fetched is not a failure of the pass: its last good copy is used and the member's page says why".into(),
            });
        }
        if let Some(Err(e)) = &self.activity {
            out.push(PartFailure {
                part: "reading activity feeds",
                error: format!("{e:#}"),
                hint: "check database.url (`tidings doctor`); a feed that cannot be fetched is not a failure of the pass: the request goes out without a draft from it and the member's page says why".into(),
            });
        }
        if let Err(e) = &self.chat {
            out.push(PartFailure {
                part: "posting to chat rooms",
                error: format!("{e:#}"),
                hint: "check database.url (`tidings doctor`); a room that fails is not a failure of the pass: its posts are retried and `tidings team chat list` says why".into(),
            });
        }
        if let Err(e) = &self.hooks {
            out.push(PartFailure {
                part: "delivering webhooks",
                error: format!("{e:#}"),
                hint: "check database.url (`tidings doctor`); a receiver that fails is not a failure of the pass: its deliveries are retried and `tidings webhook list` says why".into(),
            });
        }
        if let Err(e) = &self.plan {
            out.push(PartFailure {
                part: "queueing",
                error: format!("{e:#}"),
                hint: "check database.url and that the database accepts writes (`tidings doctor`); what is due is queued on the next pass if it is still the same local day".into(),
            });
        }
        let smtp_hint = match cfg.mail.transport {
            Transport::Smtp => {
                "check mail.smtp.* and that the SMTP server answers (`tidings doctor`); the emails stay queued and are retried with backoff"
            }
            Transport::Maildir => {
                "check mail.maildir.sent (`tidings doctor`); the emails stay queued and are retried with backoff"
            }
        };
        match &self.send {
            Err(e) => out.push(PartFailure {
                part: "sending",
                error: format!("{e:#}"),
                hint: smtp_hint.into(),
            }),
            Ok(r) if r.nothing_delivered() => out.push(PartFailure {
                part: "sending",
                error: format!(
                    "none of {} due email{} could be sent: {}",
                    r.retried + r.failed,
                    if r.retried + r.failed == 1 { "" } else { "s" },
                    r.last_transient.as_deref().unwrap_or("no answer")
                ),
                hint: smtp_hint.into(),
            }),
            Ok(_) => {}
        }
        out
    }

    /// How many parts ran in this pass.
    pub fn parts(&self) -> usize {
        4 + usize::from(self.inbound.is_some())
            + usize::from(self.calendars.is_some())
            + usize::from(self.activity.is_some())
    }

    /// True when nothing could be done: every part failed, or queueing and sending both
    /// returned errors. Those two share only the database (sending records an SMTP failure
    /// per email and returns an error only when the outbox cannot be claimed or written),
    /// so then the database cannot be used.
    pub fn nothing_could_run(&self, cfg: &Config) -> bool {
        (self.plan.is_err() && self.send.is_err()) || self.failures(cfg).len() == self.parts()
    }
}

/// One pass: read new replies, calendars and activity feeds (when `inbound`), then queue what
/// is due while sending the outbox. Every part runs whatever became of the ones before it; `run-due`, `serve` and
/// the demo all go through here.
pub async fn run_pass(
    ctx: &Ctx,
    now: chrono::DateTime<Utc>,
    why: &str,
    inbound: bool,
) -> PassReport {
    let (inbound, calendars, activity) = if inbound {
        (
            Some(ingest_logged(ctx, now, why).await),
            Some(calendars_logged(ctx, now, why).await),
            Some(activity_logged(ctx, now, why).await),
        )
    } else {
        (None, None, None)
    };
    let (plan, send) = plan_and_send_logged(ctx, now, why).await;
    let hooks = hooks_logged(ctx, now, why).await;
    let chat = chat_logged(ctx, now, why).await;
    PassReport {
        inbound,
        calendars,
        activity,
        plan,
        send,
        hooks,
        chat,
    }
}

/// The chat rooms' summaries in their own span, logging their counts when there were any.
pub async fn chat_logged(
    ctx: &Ctx,
    now: chrono::DateTime<Utc>,
    why: &str,
) -> anyhow::Result<jobs::chat::ChatReport> {
    async {
        let r = jobs::chat::run(ctx, now).await?;
        if r.queued + r.sent + r.retried + r.failed > 0 {
            tracing::info!(
                queued = r.queued,
                sent = r.sent,
                retried = r.retried,
                failed = r.failed,
                "chat rooms"
            );
        }
        Ok(r)
    }
    .instrument(tracing::info_span!("chat", why))
    .await
}

/// The webhook deliveries in their own span, logging their counts when there were any.
pub async fn hooks_logged(
    ctx: &Ctx,
    now: chrono::DateTime<Utc>,
    why: &str,
) -> anyhow::Result<jobs::hooks::HookReport> {
    async {
        let r = jobs::hooks::run(ctx, now).await?;
        if r.sent + r.retried + r.failed > 0 {
            tracing::info!(
                sent = r.sent,
                retried = r.retried,
                failed = r.failed,
                paused = r.paused,
                "webhooks delivered"
            );
        }
        Ok(r)
    }
    .instrument(tracing::info_span!("webhooks", why))
    .await
}

/// The activity feed job in its own span, logging its counts when it did anything.
pub async fn activity_logged(
    ctx: &Ctx,
    now: chrono::DateTime<Utc>,
    why: &str,
) -> anyhow::Result<jobs::activity::ActivityReport> {
    async {
        let r = jobs::activity::run(ctx, now).await?;
        if r.read + r.unchanged + r.failed > 0 {
            tracing::info!(
                read = r.read,
                unchanged = r.unchanged,
                failed = r.failed,
                "activity feeds"
            );
        }
        Ok(r)
    }
    .instrument(tracing::info_span!("activity", why))
    .await
}

/// The calendar job in its own span, logging its counts when it did anything.
pub async fn calendars_logged(
    ctx: &Ctx,
    now: chrono::DateTime<Utc>,
    why: &str,
) -> anyhow::Result<jobs::calendars::CalendarReport> {
    async {
        let r = jobs::calendars::run(ctx, now).await?;
        if r.read + r.unchanged + r.failed + r.computed > 0 {
            tracing::info!(
                read = r.read,
                unchanged = r.unchanged,
                failed = r.failed,
                computed = r.computed,
                changed = r.changed,
                "calendars"
            );
        }
        Ok(r)
    }
    .instrument(tracing::info_span!("calendars", why))
    .await
}

/// The planning job in its own span, logging its counts when it did anything. Shared by
/// `serve` and `run-due` so both log alike.
pub async fn plan_logged(
    ctx: &Ctx,
    now: chrono::DateTime<Utc>,
    why: &str,
) -> anyhow::Result<jobs::plan::PlanReport> {
    async {
        let r = jobs::plan::run(ctx, now).await?;
        if r.requests + r.digests + r.skipped + r.planned > 0 {
            tracing::info!(
                planned = r.planned,
                requests = r.requests,
                digests = r.digests,
                empty_digests = r.empty_digests,
                skipped = r.skipped,
                "planning pass"
            );
        }
        Ok(r)
    }
    // One span per job, so every line a job logs carries the job's name.
    .instrument(tracing::info_span!("plan", why))
    .await
}

/// The outbox drain in its own span, logging its counts when it sent anything; while `more`
/// says more is being queued beside it, it waits for more instead of ending.
pub async fn send_logged(
    ctx: &Ctx,
    now: chrono::DateTime<Utc>,
    why: &str,
    more: impl Fn() -> bool + Send + 'static,
) -> anyhow::Result<jobs::send::SendReport> {
    async {
        let r = jobs::send::drain(ctx, now, more).await?;
        if r.sent + r.retried + r.failed + r.unconfirmed > 0 {
            tracing::info!(
                sent = r.sent,
                retried = r.retried,
                failed = r.failed,
                unconfirmed = r.unconfirmed,
                "outbox drained"
            );
        }
        Ok(r)
    }
    .instrument(tracing::info_span!("send", why))
    .await
}

/// Planning and sending at the same time: the outbox drains while the planner is still
/// queueing, so the first digests of a large fan-out are on the wire long before the last is
/// rendered. The drain runs as a task of its own, so rendering and SMTP share the runtime's
/// threads instead of taking turns on one. It ends once the outbox is empty after planning
/// finished, so nothing queued by this pass waits for the next tick.
pub async fn plan_and_send_logged(
    ctx: &Ctx,
    now: chrono::DateTime<Utc>,
    why: &str,
) -> (
    anyhow::Result<jobs::plan::PlanReport>,
    anyhow::Result<jobs::send::SendReport>,
) {
    let planning_done = Arc::new(AtomicBool::new(false));
    let send = {
        let ctx = ctx.clone();
        let planning_done = planning_done.clone();
        let why = why.to_string();
        async move {
            send_logged(&ctx, now, &why, move || {
                !planning_done.load(Ordering::SeqCst)
            })
            .await
        }
    };
    // Aborted if this pass is dropped (shutdown): an email whose send was cut off keeps its
    // leased claim and goes out once the lease expires.
    let mut send = AbortOnDrop(tokio::spawn(send.in_current_span()));
    let planned = plan_logged(ctx, now, why).await;
    planning_done.store(true, Ordering::SeqCst);
    let sent = match (&mut send.0).await {
        Ok(r) => r,
        Err(e) => Err(anyhow::anyhow!("the sending task failed: {e}")),
    };
    (planned, sent)
}

/// A spawned task that does not outlive its owner.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The inbound poll in its own span, logging its counts when it fetched anything.
pub async fn ingest_logged(
    ctx: &Ctx,
    now: chrono::DateTime<Utc>,
    why: &str,
) -> anyhow::Result<jobs::ingest::IngestReport> {
    async {
        let r = jobs::ingest::poll(ctx, now).await?;
        if r.fetched > 0 {
            tracing::info!(
                fetched = r.fetched,
                accepted = r.accepted,
                commands = r.commands,
                ignored = r.ignored,
                quarantined = r.quarantined,
                duplicates = r.duplicates,
                "inbound poll"
            );
        }
        Ok(r)
    }
    .instrument(tracing::info_span!("ingest", why))
    .await
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
