//! The preferences page itself: the next request and digest as the planner will send them,
//! the other check-ins that ask the member and when,
//! then its groups ([`super::groups`]): the schedule form, time away, stopping emails and the
//! reply commands.

use chrono::{DateTime, Utc};
use maud::{Markup, html};

use super::csrf_token;
use super::form::Rejected;
use super::groups::{Groups, commands};
use crate::domain::{Cadence, Member};
use crate::jobs::Ctx;
use crate::web::AppError;
use crate::web::html::{Header, page_with};

pub(super) fn flash_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "saved" => "Saved. Your schedule is updated.",
        "away-added" => "Time away added.",
        "away-removed" => "Time away removed.",
        "unsubscribed" => "Unsubscribed: you will get no more requests or digests.",
        "resubscribed" => "Welcome back: requests and digests resume.",
        "shaped" => "Saved. Your digest is shaped as you chose.",
        "calendar-added" => "Calendar added and read: what it says is below.",
        "calendar-removed" => "Calendar removed.",
        "event-ignored" => "That event no longer counts as time away.",
        "event-counted" => "That event counts again (from the next read of your calendar).",
        "activity-added" => "Feed added and read: your next request drafts your Done from it.",
        "activity-removed" => "Feed removed.",
        "activity-muted" => "Muted: left out of your drafts from now on.",
        "activity-unmuted" => "Unmuted: back in your drafts.",
        "rooms-off" => "Your updates are kept out of chat rooms from the next summary on.",
        "rooms-on" => "Your updates are part of your teams' chat-room summaries again.",
        _ => return None,
    })
}

/// One line about the next request or digest, as the planner will send it.
fn next_line(
    what: &str,
    id: &str,
    m: &Member,
    next: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Markup {
    html! {
        @match next {
            Some(t) => {
                @let local = t.with_timezone(&m.tz);
                "Your next " (what) ": "
                time id=(id) datetime=(t.format("%Y-%m-%dT%H:%M:%SZ").to_string()) {
                    (local.format("%a %H:%M")) " in " (m.tz.name())
                    " (" (t.format("%H:%M")) " UTC)"
                }
                span class="muted" { " on " (local.format("%A, %-d %B %Y")) }
                @if t <= now {
                    " — today's has not gone out yet, so it goes out with the next pass (within a minute)."
                }
            }
            None => {
                @if m.unsubscribed { "You are unsubscribed: no " (what) "s." }
                @else if m.paused { "Paused: no requests or digests until you resume." }
                @else if what == "request" && m.observer { "You are an observer: you receive digests and read the team log, and are never asked for updates." }
                @else if what == "digest" && m.cadence == Cadence::Off { "Digests are off: every update is in the team log." }
                @else { "No " (what) " is planned." }
            }
        }
    }
}

pub(super) async fn render(
    ctx: &Ctx,
    m: &Member,
    token: &str,
    flash: Option<&str>,
    rejected: &Rejected<'_>,
) -> Result<Markup, AppError> {
    use crate::store::DueKind;
    let now = Utc::now();
    let next_digest = crate::jobs::plan::upcoming(ctx, m, DueKind::Digest, now)
        .await?
        .map(|(_, t)| t);
    let next_request = crate::jobs::plan::upcoming(ctx, m, DueKind::Request, now)
        .await?
        .map(|(_, t)| t);
    let checkins = crate::jobs::checkins::upcoming(ctx, m, now).await?;
    let shown = super::shape::shown(ctx, m).await?;
    let calendars = super::calendar::Shown::read(ctx, m, now).await?;
    let activity = super::activity::Shown::read(ctx, m).await?;
    let rooms = super::rooms::Shown::read(ctx, m).await?;
    let csrf = csrf_token(ctx, m.id, token);
    let action = format!("/p/{token}");
    let groups = Groups {
        m,
        rejected,
        csrf: &csrf,
        action: &action,
    };
    let count = rejected.fields.len();
    let header = Header {
        team: None,
        nav: vec![
            (format!("/p/{token}/log"), "Team log", false),
            (format!("/p/{token}"), "Preferences", true),
        ],
        signout: false,
    };
    Ok(page_with(
        "Your preferences",
        &header,
        html! {
            h1 { "Your preferences" }
            p class="muted" { (m.name) " · " (m.email) }
            @if let Some(f) = flash.and_then(flash_text) { p class="flash" role="status" { (f) } }
            @if count > 0 {
                p class="error" role="alert" {
                    "Nothing was saved: " (count) " thing" @if count > 1 { "s" } " to fix below."
                }
            }
            @if let Some(e) = &rejected.general { p class="error" role="alert" { (e) } }
            p class="next" { (next_line("digest", "next-digest", m, next_digest, now)) }
            p class="next" { (next_line("request", "next-request", m, next_request, now)) }
            @if !checkins.is_empty() {
                (checkins_list(m, &checkins))
            }

            (groups.schedule())
            (groups.shape(&shown))
            (groups.away())
            (super::calendar::section(&groups, &calendars))
            (super::activity::section(&groups, &activity, token))
            (super::rooms::section(&groups, &rooms))
            (groups.stop())
            (commands())
            p class="muted" { "This page was reached through a personal link: do not share it." }
        },
    ))
}

/// The check-ins other than the stand-up that ask the member: what each asks, of which team,
/// and when its next request comes in their own time.
fn checkins_list(
    m: &Member,
    list: &[(
        String,
        crate::domain::checkin::Checkin,
        Option<DateTime<Utc>>,
    )],
) -> Markup {
    html! {
        p class="next" { "Your team also asks you:" }
        ul class="checkins" {
            @for (team, c, next) in list {
                li {
                    strong { (c.name) } " (" (team) ", " (c.rhythm.describe()) " " (c.describe_time()) ")"
                    @match next {
                        Some(t) => {
                            @let local = t.with_timezone(&m.tz);
                            " — next: "
                            time datetime=(t.format("%Y-%m-%dT%H:%M:%SZ").to_string()) {
                                (local.format("%a %-d %b %H:%M")) " in " (m.tz.name())
                            }
                        }
                        None => { span class="muted" { " — none planned" } }
                    }
                }
            }
        }
    }
}
