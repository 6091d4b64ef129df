//! Chat rooms: at each room's own local time on its days, the team's day is summed up
//! ([`crate::render::chat`]) and queued as that platform's messages, once per room and local
//! date; the queued posts are then sent through the one safe client, each room's in order,
//! retried on the webhooks' schedule. A room is shared: one time in one zone, computed with
//! the same DST rules as every member's own (a 02:30 that does not exist fires at 03:00).

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use super::Ctx;
use crate::domain::schedule::Schedule;
use crate::domain::webhook::backoff_secs;
use crate::fetch::{Fetcher, normalise};
use crate::render::chat::platforms::{Platform, messages};
use crate::render::chat::{RoomBlocker, RoomSummary, RoomUpdate};
use crate::store::LogQuery;
use crate::store::chat::{ChatPost, ChatRoom};

/// What one run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ChatReport {
    /// Rooms whose day was queued.
    pub queued: usize,
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
    /// Rooms paused by this run.
    pub paused: usize,
}

/// Queues the summaries that are due and sends what is queued.
pub async fn run(ctx: &Ctx, now: DateTime<Utc>) -> anyhow::Result<ChatReport> {
    let mut report = ChatReport::default();
    for room in ctx.store.rooms().await? {
        if let Some(date) = due_date(&room, now)
            && !ctx.store.room_posted(room.id, date).await?
        {
            let s = summary(ctx, &room.team, date).await?;
            let Some(platform) = Platform::parse(&room.kind) else {
                continue;
            };
            let msgs: Vec<String> = messages(platform, &s)
                .iter()
                .map(|m| m.to_string())
                .collect();
            if ctx
                .store
                .queue_room_posts(room.id, date, &msgs, now.timestamp())
                .await?
            {
                report.queued += 1;
            }
        }
    }
    send(ctx, now, &mut report).await?;
    Ok(report)
}

/// The room's local date at `now` when its time that day has come and it is one of its
/// days; a summary missed (the service was down) is posted late only the same local day.
pub fn due_date(room: &ChatRoom, now: DateTime<Utc>) -> Option<NaiveDate> {
    let today = now.with_timezone(&room.tz).date_naive();
    let s = Schedule {
        tz: room.tz,
        at: room.at,
        days: room.days,
    };
    let fire = s.instant_on(today)?;
    (room.days.contains(today.weekday()) && fire <= now).then_some(today)
}

/// Team `team`'s day `date` as its rooms are told it.
pub async fn summary(ctx: &Ctx, team: &str, date: NaiveDate) -> anyhow::Result<RoomSummary> {
    let base = ctx.config.web.base_url.trim_end_matches('/').to_string();
    let mut members = ctx.store.members_in_teams(&[team.to_string()]).await?;
    // Those who keep their updates out of rooms are not in a room's summary at all.
    let ids: Vec<i64> = members.iter().map(|m| m.id).collect();
    let out = ctx.store.kept_out_of_rooms(&ids).await?;
    members.retain(|m| !out.contains(&m.id));
    let mut updates = Vec::new();
    let mut q = LogQuery {
        team: team.to_string(),
        from: Some(date),
        to: Some(date),
        checkin: Some(0),
        limit: crate::store::MAX_PAGE,
        ..Default::default()
    };
    loop {
        let page = ctx.store.team_log(&q).await?;
        for e in page
            .entries
            .iter()
            .filter(|e| !out.contains(&e.update.update.member_id))
        {
            let u = &e.update;
            let url = log_url(&base, team, date, Some(u.update.id));
            updates.push(RoomUpdate::condensed(
                &u.author_name,
                &u.update.sections,
                url,
            ));
        }
        match page.next {
            Some(c) => q.after = Some(c),
            None => break,
        }
    }
    // By name, as a reader looks someone up.
    updates.sort_by_key(|u| u.who.to_lowercase());
    let wrote: std::collections::HashSet<&str> = updates.iter().map(|u| u.who.as_str()).collect();
    let asked: Vec<&crate::domain::Member> = members
        .iter()
        .filter(|m| !m.observer && m.workdays.contains(date.weekday()) && m.receives_on(date))
        .collect();
    let missing: Vec<String> = asked
        .iter()
        .filter(|m| !wrote.contains(m.name.as_str()))
        .map(|m| m.name.clone())
        .collect();
    let ids: Vec<i64> = members.iter().map(|m| m.id).collect();
    let open = ctx.store.open_blockers(&ids).await?;
    let mut blockers: Vec<RoomBlocker> = members
        .iter()
        .filter_map(|m| {
            open.get(&m.id)
                .map(|b| RoomBlocker::new(&m.name, b.since, &b.lines))
        })
        .collect();
    blockers.sort_by(|a, b| (a.since, &a.who).cmp(&(b.since, &b.who)));
    Ok(RoomSummary {
        team: team.to_string(),
        date,
        asked: asked.len().max(updates.len()),
        blockers,
        updates,
        missing,
        log_url: log_url(&base, team, date, None),
    })
}

fn log_url(base: &str, team: &str, date: NaiveDate, update: Option<i64>) -> Option<String> {
    crate::domain::day_log_url(base, team, &date.to_string(), update)
}

/// Sends the due posts, each room's one after the other; a room that fails keeps the rest
/// of its posts for later, in order.
async fn send(ctx: &Ctx, now: DateTime<Utc>, report: &mut ChatReport) -> anyhow::Result<()> {
    let lease = ctx.config.fetch.timeout_secs as i64 * 2 + 30;
    let pause_before = now.timestamp() - i64::from(ctx.config.webhooks.pause_after_hours) * 3600;
    let mut fetcher = None;
    loop {
        let claimed = ctx
            .store
            .claim_posts((now.timestamp(), Utc::now().timestamp()), lease, 32)
            .await?;
        if claimed.is_empty() {
            return Ok(());
        }
        let f = match &fetcher {
            Some(f) => f,
            None => fetcher.insert(Fetcher::new(&ctx.config.fetch)?),
        };
        let mut failed_room: Option<(i64, i64, String)> = None;
        for p in &claimed {
            let Some(room) = ctx.store.room(p.room_id).await? else {
                continue;
            };
            if let Some((id, at, e)) = &failed_room
                && *id == p.room_id
            {
                ctx.store
                    .record_post(p, (Some(e), Some(*at)), (now.timestamp(), pause_before))
                    .await?;
                continue;
            }
            match post(ctx, f, &room, p).await {
                Ok(()) => {
                    ctx.store
                        .record_post(p, (None, None), (now.timestamp(), pause_before))
                        .await?;
                    report.sent += 1;
                }
                Err(e) => {
                    let max = i64::from(ctx.config.webhooks.max_attempts);
                    let retry =
                        (p.attempt < max).then(|| now.timestamp() + backoff_secs(p.attempt));
                    tracing::warn!(
                        room = room.id,
                        kind = room.kind,
                        host = crate::fetch::host(&room.url),
                        "chat post failed: {e}"
                    );
                    let paused = ctx
                        .store
                        .record_post(p, (Some(&e), retry), (now.timestamp(), pause_before))
                        .await?;
                    if paused {
                        report.paused += 1;
                        tracing::warn!(
                            room = room.id,
                            "chat room paused after failing for a day: `tidings team chat resume {}` once it is fixed",
                            room.id
                        );
                    }
                    match retry {
                        Some(at) => {
                            report.retried += 1;
                            failed_room = Some((room.id, at, e));
                        }
                        None => report.failed += 1,
                    }
                }
            }
        }
    }
}

/// Sends one post to its room: POST to the incoming webhook, or for Matrix PUT the event
/// under its transaction id (a resend after a crash is the same event, not a second one).
async fn post(ctx: &Ctx, f: &Fetcher, room: &ChatRoom, p: &ChatPost) -> Result<(), String> {
    let allow_http = ctx.config.fetch.allow_http;
    let body = p.payload.clone().into_bytes();
    let result = match room.kind.as_str() {
        "matrix" => {
            let base = room.url.trim_end_matches('/');
            let room_id = room.room.as_deref().unwrap_or_default();
            let enc =
                |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let address = format!(
                "{base}/_matrix/client/v3/rooms/{}/send/m.room.message/{}",
                enc(room_id),
                enc(&p.txn_id)
            );
            let url = normalise(&address, allow_http).map_err(|e| e.to_string())?;
            let auth = format!("Bearer {}", room.token.as_deref().unwrap_or_default());
            f.send_json(reqwest::Method::PUT, &url, &[("authorization", auth)], body)
                .await
        }
        "google-chat" => {
            let mut url = normalise(&room.url, allow_http).map_err(|e| e.to_string())?;
            url.query_pairs_mut()
                .append_pair("threadKey", &format!("tidings-{}", p.local_date))
                .append_pair("messageReplyOption", "REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD");
            f.post_json(&url, &[], body).await
        }
        _ => {
            let url = normalise(&room.url, allow_http).map_err(|e| e.to_string())?;
            f.post_json(&url, &[], body).await
        }
    };
    result.map(|_| ()).map_err(|e| e.to_string())
}
