//! The mail commands: `run-due` (one pass), `preview digest`, `outbox list`,
//! `inbox quarantine`, and `export` (a team's updates).

use super::*;
use crate::domain::text::escape_controls;

pub(super) async fn run_due(cfg: Config, now: Option<String>) -> anyhow::Result<()> {
    let now = match now {
        Some(n) => parse_rfc3339(&n, "--now")?,
        None => Utc::now(),
    };
    with_ctx(cfg, async |ctx| {
        let pass = crate::app::run_pass(ctx, now, "run-due", true).await;
        crate::outln!("{}", run_due_summary(now, &pass));
        let failures = pass.failures(&ctx.config);
        for f in &failures {
            eprintln!("error: {}: {}", f.part, f.error);
            eprintln!("  {}", f.hint);
        }
        if failures.is_empty() {
            Ok(())
        } else if pass.nothing_could_run(&ctx.config) {
            Err(anyhow::anyhow!("nothing could be done in this pass"))
        } else {
            Err(anyhow::Error::new(PartlyFailed {
                failed: failures.len(),
                parts: pass.parts(),
            }))
        }
    })
    .await
}

pub(super) async fn preview_digest(
    cfg: Config,
    member: String,
    date: Option<String>,
    html: bool,
) -> anyhow::Result<()> {
    let email = parse_email(&member)?;
    let date = date.as_deref().map(parse_date).transpose()?;
    with_ctx(cfg, async |ctx| {
        let m = member_named(&ctx.store, &email).await?;
        let now = Utc::now();
        let date = date.unwrap_or_else(|| local_date(m.tz, now));
        let data = crate::jobs::digest::digest_view_data(
            ctx,
            &m,
            date,
            now,
            &mut crate::jobs::digest::TeamCache::default(),
        )
        .await?;
        let prefs = ctx.prefs_url(&m, now);
        let mut view = crate::jobs::compose::digest_view(&m, date, now, data, &prefs);
        view.comment_to = crate::jobs::compose::comment_links(ctx, m.id, &view);
        if html {
            crate::outln!("{}", crate::render::digest_html(&view));
        } else {
            crate::outln!(
                "Subject: {}\n\n{}",
                crate::render::digest_subject(&view),
                crate::render::digest_text(&view)
            );
        }
        Ok(())
    })
    .await
}

pub(super) async fn outbox_list(cfg: Config, failed: bool, limit: i64) -> anyhow::Result<()> {
    with_store(&cfg, async |s| {
        let rows = s.list_outbox(failed, limit).await.map_err(store_err)?;
        if rows.is_empty() {
            crate::outln!(
                "{}",
                if failed {
                    "no failed mail"
                } else {
                    "the outbox is empty"
                }
            );
        }
        for r in rows {
            let when =
                DateTime::from_timestamp(r.sent_at.unwrap_or(r.created_at), 0).unwrap_or_default();
            crate::outln!(
                "{:>6}  {:<8} {:<9} {:<32} {}  attempts={}{}",
                r.id,
                r.state,
                r.kind,
                r.recipient,
                when.format("%Y-%m-%d %H:%M:%SZ"),
                r.attempts,
                r.last_error
                    .map(|e| format!("  error: {e}"))
                    .unwrap_or_default()
            );
        }
        let posts = s.list_posts(failed, limit).await.map_err(store_err)?;
        if !posts.is_empty() {
            crate::outln!("chat room posts:");
        }
        for p in posts {
            let when =
                DateTime::from_timestamp(p.sent_at.unwrap_or(p.created_at), 0).unwrap_or_default();
            crate::outln!(
                "{:>6}  {:<8} room {:<4} {} part {}  {}  attempts={}{}",
                p.id,
                p.state,
                p.room_id,
                p.local_date,
                p.part,
                when.format("%Y-%m-%d %H:%M:%SZ"),
                p.attempts,
                p.last_error
                    .map(|e| format!("  error: {e}"))
                    .unwrap_or_default()
            );
        }
        let hooks = s.list_deliveries(failed, limit).await.map_err(store_err)?;
        if !hooks.is_empty() {
            crate::outln!("webhook deliveries:");
        }
        for d in hooks {
            let when =
                DateTime::from_timestamp(d.sent_at.unwrap_or(d.created_at), 0).unwrap_or_default();
            crate::outln!(
                "{:>6}  {:<8} {:<17} webhook {:<4} {}  {}  attempts={}{}",
                d.id,
                d.state,
                d.event,
                d.webhook_id,
                d.msg_id,
                when.format("%Y-%m-%d %H:%M:%SZ"),
                d.attempts,
                d.last_error
                    .map(|e| format!("  error: {e}"))
                    .unwrap_or_default()
            );
        }
        Ok(())
    })
    .await
}

/// The one line `run-due` prints: each part's counts, or `failed` for a part that failed.
fn run_due_summary(now: DateTime<Utc>, pass: &crate::app::PassReport) -> String {
    let inbound = match &pass.inbound {
        Some(Ok(i)) => format!(
            "inbound {} (accepted {}, commands {}, ignored {}, quarantined {})",
            i.fetched, i.accepted, i.commands, i.ignored, i.quarantined
        ),
        _ => "inbound failed".to_string(),
    };
    let calendars = match &pass.calendars {
        Some(Ok(c)) => format!(
            "calendars read {}, unchanged {}, failing {}",
            c.read, c.unchanged, c.failed
        ),
        Some(Err(_)) => "calendars failed".to_string(),
        None => String::new(),
    };
    let activity = match &pass.activity {
        Some(Ok(a)) => format!(
            "; feeds read {}, unchanged {}, failing {}",
            a.read, a.unchanged, a.failed
        ),
        Some(Err(_)) => "; feeds failed".to_string(),
        None => String::new(),
    };
    let plan = match &pass.plan {
        Ok(p) => format!(
            "planned {}, requests {}, reminders {}, digests {}, skipped {}",
            p.planned, p.requests, p.reminders, p.digests, p.skipped
        ),
        Err(_) => "queueing failed".to_string(),
    };
    let send = match &pass.send {
        Ok(s) => format!(
            "sent {}, retried {}, failed {}",
            s.sent, s.retried, s.failed
        ),
        Err(_) => "sending failed".to_string(),
    };
    let hooks = match &pass.hooks {
        Ok(h) if h.sent + h.retried + h.failed == 0 => String::new(),
        Ok(h) => format!(
            "; webhooks sent {}, retried {}, failed {}",
            h.sent, h.retried, h.failed
        ),
        Err(_) => "; webhooks failed".to_string(),
    };
    let chat = match &pass.chat {
        Ok(c) if c.queued + c.sent + c.retried + c.failed == 0 => String::new(),
        Ok(c) => format!(
            "; chat rooms {}, posts sent {}, retried {}, failed {}",
            c.queued, c.sent, c.retried, c.failed
        ),
        Err(_) => "; chat failed".to_string(),
    };
    format!(
        "run-due {}: {inbound}; {calendars}{activity}; {plan}; {send}{hooks}{chat}",
        now.format("%Y-%m-%dT%H:%M:%SZ")
    )
}

fn outcome_line(id: i64, o: &crate::jobs::ingest::Outcome) -> String {
    use crate::jobs::ingest::Outcome;
    match o {
        Outcome::Duplicate => format!("{id}: already being processed"),
        Outcome::Accepted { update_id, edited } => format!(
            "{id}: accepted as update {update_id}{}",
            if *edited { " (edited)" } else { "" }
        ),
        Outcome::Command(m) => format!("{id}: command applied: {m}"),
        Outcome::Ignored(r) => format!("{id}: ignored: {r}"),
        Outcome::Quarantined(r) => format!("{id}: still quarantined: {r}"),
    }
}

pub(super) async fn quarantine(cfg: Config, cmd: QuarantineCmd) -> anyhow::Result<()> {
    use crate::store::InboundStatus;
    match cmd {
        QuarantineCmd::List { json, limit } => {
            with_store(&cfg, async |s| {
                let rows = s
                    .inbound_with_status(InboundStatus::Quarantined, limit)
                    .await
                    .map_err(store_err)?;
                if json {
                    let v: Vec<serde_json::Value> = rows
                        .iter()
                        .map(|r| {
                            serde_json::json!({
                                "id": r.id,
                                "received": rfc3339(r.received_at),
                                "sender": r.sender,
                                "reason": r.reason,
                                "message_id": r.message_id,
                            })
                        })
                        .collect();
                    crate::outln!("{}", serde_json::to_string_pretty(&v)?);
                    return Ok(());
                }
                if rows.is_empty() {
                    crate::outln!("the quarantine is empty");
                }
                for r in rows {
                    crate::outln!(
                        "{:>6}  {}  {:<32}  {}",
                        r.id,
                        rfc3339(r.received_at),
                        escape_controls(r.sender.as_deref().unwrap_or("-")),
                        escape_controls(r.reason.as_deref().unwrap_or("-"))
                    );
                }
                Ok(())
            })
            .await
        }
        QuarantineCmd::Show { id } => {
            with_store(&cfg, async |s| {
                let r = s
                    .inbound(id)
                    .await
                    .map_err(store_err)?
                    .filter(|r| r.status == InboundStatus::Quarantined.as_str())
                    .ok_or_else(|| usage(format!("no quarantined message with id {id}")))?;
                // A stranger's message, for the operator's terminal: its escape sequences
                // (clear the screen, OSC 52 clipboard writes) are shown, never run.
                crate::outln!("id:       {}", r.id);
                crate::outln!("received: {}", rfc3339(r.received_at));
                crate::outln!(
                    "sender:   {}",
                    escape_controls(r.sender.as_deref().unwrap_or("-"))
                );
                crate::outln!(
                    "reason:   {}",
                    escape_controls(r.reason.as_deref().unwrap_or("-"))
                );
                crate::outln!();
                crate::out!("{}", escape_controls(&String::from_utf8_lossy(&r.raw)));
                Ok(())
            })
            .await
        }
        QuarantineCmd::Release {
            id,
            member,
            date,
            checkin,
        } => {
            let email = parse_email(&member)?;
            let date = date.as_deref().map(parse_date).transpose()?;
            with_ctx(cfg, async |ctx| {
                let m = member_named(&ctx.store, &email).await?;
                use crate::jobs::ingest::ReleaseError;
                let to = (date, checkin.as_deref());
                match crate::jobs::ingest::release(ctx, id, &m, to, Utc::now()).await {
                    Ok((update, date)) => {
                        crate::outln!(
                            "{id}: released as update {update} of {} for {date}",
                            m.email
                        );
                        Ok(())
                    }
                    Err(ReleaseError::Other(e)) => Err(e),
                    Err(e) => Err(usage(e.to_string())),
                }
            })
            .await
        }
        QuarantineCmd::Reprocess { id, all } => {
            with_ctx(cfg, async |ctx| {
                let ids = if all {
                    ctx.store
                        .inbound_ids_with_status(InboundStatus::Quarantined)
                        .await
                        .map_err(store_err)?
                } else {
                    let id = id.ok_or_else(|| usage("give an ID or --all"))?;
                    let known = ctx
                        .store
                        .inbound(id)
                        .await
                        .map_err(store_err)?
                        .is_some_and(|r| r.status == InboundStatus::Quarantined.as_str());
                    if !known {
                        return Err(usage(format!("no quarantined message with id {id}")));
                    }
                    vec![id]
                };
                if ids.is_empty() {
                    crate::outln!("the quarantine is empty");
                }
                let now = Utc::now();
                let bar = progress_bar(ids.len() as u64, "reprocessing");
                for id in ids {
                    if let Some(o) = crate::jobs::ingest::reprocess(ctx, id, now).await? {
                        // Printed above the bar on a terminal, plainly when piped.
                        bar.suspend(|| crate::outln!("{}", outcome_line(id, &o)));
                    }
                    bar.inc(1);
                }
                bar.finish_and_clear();
                // Receipts and notices go out with the next `run-due` or `serve` tick.
                Ok(())
            })
            .await
        }
    }
}

pub(super) async fn export(cfg: Config, a: super::args::ExportArgs) -> anyhow::Result<()> {
    use crate::jobs::log::{self, LogError, Reader};
    use crate::render::export::Format;
    let from = a.from.as_deref().map(parse_date).transpose()?;
    let to = a.to.as_deref().map(parse_date).transpose()?;
    let member = a.member.as_deref().map(parse_email).transpose()?;
    let search = crate::domain::search::Search::parse(a.search.as_deref().unwrap_or_default())
        .map_err(|e| usage(format!("--search: {e}")))?;
    let format = match a.format {
        super::args::ExportFormat::Csv => Format::Csv,
        super::args::ExportFormat::Json => Format::Json,
        super::args::ExportFormat::Md => Format::Md,
    };
    let text = with_ctx(cfg, async |ctx| {
        let in_team = |e: LogError| match e {
            LogError::Other(e) => e,
            e => usage(e.to_string()),
        };
        let members = log::team_for(ctx, Reader::Admin, &a.team)
            .await
            .map_err(|e| match e {
                LogError::NoTeam(_) => usage(format!("no team named {:?}", a.team)),
                e => in_team(e),
            })?;
        let member = match &member {
            Some(e) => Some(
                log::author_in(ctx, &a.team, &members, e)
                    .await
                    .map_err(in_team)?,
            ),
            None => None,
        };
        let q = crate::store::LogQuery {
            team: a.team.clone(),
            member,
            from,
            to,
            text: search,
            blockers: a.blockers,
            checkin: match &a.checkin {
                Some(name) => Some(checkin_id(ctx, &a.team, name).await?),
                None => None,
            },
            ..Default::default()
        };
        let bar = super::progress_count(&format!("exporting {}: updates read", a.team));
        let text = log::export_counted(ctx, Reader::Admin, &q, format, &mut |n| {
            bar.set_position(n as u64)
        })
        .await
        .map_err(in_team);
        bar.finish_and_clear();
        text
    })
    .await?;
    match &a.output {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        // Text and CSV on a terminal: members' text shows its control characters as escapes
        // (piped or written to a file, the export is the stored text).
        None if format != Format::Json && std::io::IsTerminal::is_terminal(&std::io::stdout()) => {
            crate::out!("{}", escape_controls(&text))
        }
        None => crate::out!("{text}"),
    }
    Ok(())
}

/// The id of team `team`'s check-in `name` (0: the daily stand-up), or a usage error that
/// lists the team's check-ins.
async fn checkin_id(ctx: &Ctx, team: &str, name: &str) -> anyhow::Result<i64> {
    ctx.store
        .checkin_filter(team, name)
        .await?
        .map_err(|names| {
            usage(format!(
                "--checkin: team {team} has no check-in named {name:?} (it has: {})",
                names.join(", ")
            ))
        })
}
