//! The preferences page's calendars (#34): the member's calendar addresses (only their host
//! and last characters), whether each was read or since when it fails and why, the time away
//! read from them ("away Tue 22 Dec – Fri 1 Jan (Vacation)") each with a button to ignore its
//! event, the events ignored, and a field to add an address (read at once).

use chrono::{DateTime, Utc};
use maud::{Markup, html};

use super::form::{PrefsForm, Rejected};
use super::groups::Groups;
use crate::domain::Member;
use crate::domain::calendar::AwaySpan;
use crate::fetch::normalise;
use crate::jobs::Ctx;
use crate::store::calendars::{CalendarKind, CalendarLink};
use crate::web::AppError;

/// What the section shows.
pub(super) struct Shown {
    links: Vec<CalendarLink>,
    /// Stretches of time away from today on, from the member's own calendars.
    spans: Vec<AwaySpan>,
    /// Days off from holiday calendars (theirs or their teams'), from today on.
    holidays: Vec<AwaySpan>,
    ignored: Vec<(String, String)>,
}

/// At most this many stretches are listed (the rest still count).
const SHOWN: usize = 12;

impl Shown {
    pub(super) async fn read(ctx: &Ctx, m: &Member, now: DateTime<Utc>) -> Result<Shown, AppError> {
        use crate::jobs::calendars::spans;
        Ok(Shown {
            links: ctx.store.member_calendars(m.id).await?,
            spans: spans(ctx, m, now, CalendarKind::Personal).await?,
            holidays: spans(ctx, m, now, CalendarKind::Holidays).await?,
            ignored: ctx.store.ignored_events(m.id).await?,
        })
    }
}

fn state(l: &CalendarLink) -> String {
    match (&l.error, l.fetched_at) {
        (Some(e), _) => format!(
            "could not be read since {}: {e} (the last good copy still counts)",
            crate::domain::rfc3339(l.failing_since.unwrap_or_default())
        ),
        (None, Some(t)) => format!("read {}", crate::domain::rfc3339(t)),
        (None, None) => "not read yet".to_string(),
    }
}

/// The section (`#calendars`).
pub(super) fn section(g: &Groups<'_>, s: &Shown) -> Markup {
    let typed = g
        .rejected
        .typed
        .and_then(|f| f.calendar_url.clone())
        .unwrap_or_default();
    let problem = g.rejected.for_field("calendar_url");
    html! {
        h2 id="calendars" { "Calendars" }
        form method="post" action=(g.action) {
            input type="hidden" name="csrf" value=(g.csrf);
            p class="muted" {
                "Give Tidings your calendar's private address (iCal / .ics) and its time off counts as time away. "
                "Google: Settings → your calendar → Integrate calendar → Secret address in iCal format. "
                "Outlook: Settings → Calendar → Shared calendars → Publish a calendar → ICS."
            }
            label for="calendar_url" { "Private calendar address" }
            input type="url" id="calendar_url" name="calendar_url" value=(typed)
                placeholder="https://…/basic.ics" autocomplete="off"
                aria-invalid=[problem.map(|_| "true")] aria-describedby=[problem.map(|_| "calendar_url-error")];
            @if let Some(p) = problem { p class="error" id="calendar_url-error" { (p) } }
            br;
            button type="submit" name="action" value="calendar-add" id="add-calendar" { "Add calendar" }
            @if s.links.is_empty() {
                p class="muted" { "No calendar given." }
            } @else {
                ul class="calendars" {
                    @for l in &s.links {
                        li {
                            @if l.kind == CalendarKind::Holidays { "Holidays: " }
                            code { (l.shown) } " — " (state(l)) " "
                            button type="submit" class="link" name="action"
                                value=(format!("calendar-remove:{}", l.source_id))
                                aria-label=(format!("Remove calendar {}", l.shown)) { "remove" }
                        }
                    }
                }
            }
            @if !s.spans.is_empty() {
                p { "From your calendar:" }
                ul class="away" {
                    @for sp in s.spans.iter().take(SHOWN) {
                        li {
                            "away " (sp.when())
                            @if !sp.summary.is_empty() { " (" (sp.summary) ")" }
                            " "
                            button type="submit" class="link" name="action"
                                value=(format!("event-ignore:{}", sp.uid))
                                aria-label=(format!("Ignore {} {}", sp.summary, sp.when())) { "ignore this event" }
                        }
                    }
                }
            } @else if !s.links.is_empty() {
                p class="muted" { "From your calendar: no time away from today on." }
            }
            @if !s.holidays.is_empty() {
                p { "Days off from holiday calendars: "
                    (s.holidays.iter().take(SHOWN).map(|h| format!("{} ({})", h.when(), h.summary)).collect::<Vec<_>>().join("; "))
                }
            }
            @if !s.ignored.is_empty() {
                p class="muted" { "Ignored events:" }
                ul {
                    @for (uid, summary) in &s.ignored {
                        li {
                            (summary) " "
                            button type="submit" class="link" name="action"
                                value=(format!("event-count:{uid}"))
                                aria-label=(format!("Count {summary} again")) { "count it again" }
                        }
                    }
                }
            }
        }
    }
}

/// Carries out a calendar action of the form: the flash code, or why nothing was done.
pub(super) async fn submit(
    ctx: &Ctx,
    m: &Member,
    f: &PrefsForm,
) -> Result<Result<&'static str, Rejected<'static>>, AppError> {
    let action = f.action.as_deref().unwrap_or_default();
    let now = Utc::now();
    if action == "calendar-add" {
        let typed = f.calendar_url.as_deref().unwrap_or_default();
        let url = match normalise(typed, ctx.config.fetch.allow_http) {
            Ok(u) => u.to_string(),
            Err(e) => {
                return Ok(Err(Rejected {
                    fields: vec![(
                        "calendar_url",
                        format!(
                            "{e}: paste the private address in iCal format (https:// or webcal://)."
                        ),
                    )],
                    ..Default::default()
                }));
            }
        };
        ctx.store
            .add_member_calendar(m.id, &url, CalendarKind::Personal)
            .await?;
        crate::jobs::calendars::refresh_member(ctx, m.id, now).await?;
        return Ok(Ok("calendar-added"));
    }
    if let Some(id) = action.strip_prefix("calendar-remove:") {
        let id: i64 = id.parse().unwrap_or(-1);
        ctx.store.remove_member_calendar(m.id, id).await?;
        crate::jobs::calendars::refresh_member(ctx, m.id, now).await?;
        return Ok(Ok("calendar-removed"));
    }
    if let Some(uid) = action.strip_prefix("event-ignore:") {
        let days = ctx.store.calendar_days(m.id).await?;
        let Some(d) = days.iter().find(|d| d.uid == uid) else {
            return Ok(Err(general("That event is not in your calendar any more.")));
        };
        ctx.store.ignore_event(m.id, uid, &d.summary).await?;
        return Ok(Ok("event-ignored"));
    }
    if let Some(uid) = action.strip_prefix("event-count:") {
        ctx.store.unignore_event(m.id, uid).await?;
        crate::jobs::calendars::refresh_member(ctx, m.id, now).await?;
        return Ok(Ok("event-counted"));
    }
    Ok(Err(general("Unknown action.")))
}

fn general(msg: &str) -> Rejected<'static> {
    Rejected {
        general: Some(msg.to_string()),
        ..Default::default()
    }
}
