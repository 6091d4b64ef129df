//! The preferences page itself: the three forms (schedule, time away, email), each field shown
//! with what is stored or, after a rejected submit, what was typed and why it was refused; and
//! the next request and digest as the planner will send them.

use chrono::{DateTime, Utc};
use maud::{Markup, html};

use super::csrf_token;
use super::form::{DAYS, Rejected, day_field};
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
    let csrf = csrf_token(ctx, m.id, token);
    let action = format!("/p/{token}");
    let typed = rejected.typed;
    // What the person typed when the form came back with errors, else what is stored.
    let value = |typed_value: Option<&Option<String>>, stored: String| -> String {
        typed_value.and_then(|v| v.clone()).unwrap_or(stored)
    };
    let tz_value = value(typed.map(|f| &f.timezone), m.tz.name().to_string());
    let request_value = value(typed.map(|f| &f.request_at), m.request_at.to_string());
    let digest_value = value(typed.map(|f| &f.digest_at), m.digest_at.to_string());
    let day_on = |key: &str| -> bool {
        match typed {
            Some(f) if f.action.as_deref().unwrap_or("save") == "save" => {
                day_field(f, key).is_some()
            }
            _ => m.workdays.names().contains(&key),
        }
    };
    let typed_save = typed.filter(|f| f.action.as_deref().unwrap_or("save") == "save");
    let cadence = typed_save
        .and_then(|f| f.digest.clone())
        .unwrap_or_else(|| m.cadence.name().to_string());
    let weekly_day = typed_save
        .and_then(|f| f.digest_day.clone())
        .unwrap_or_else(|| {
            m.cadence
                .weekday()
                .map_or("fri", |d| DAYS[d.num_days_from_monday() as usize].0)
                .to_string()
        });
    let comments = typed_save
        .and_then(|f| f.comments.clone())
        .unwrap_or_else(|| m.comments.as_str().to_string());
    let mentions = typed_save
        .and_then(|f| f.mentions.clone())
        .unwrap_or_else(|| m.mentions.as_str().to_string());
    let paused = match typed {
        Some(f) if f.action.as_deref().unwrap_or("save") == "save" => f.paused.is_some(),
        _ => m.paused,
    };
    let away_from = typed.and_then(|f| f.away_from.clone()).unwrap_or_default();
    let away_to = typed.and_then(|f| f.away_to.clone()).unwrap_or_default();
    // A field with a problem: marked invalid and described by its message, shown beside it.
    let problem = |id: &'static str| -> Markup {
        html! {
            @if let Some(msg) = rejected.for_field(id) {
                p class="error field-error" id=(format!("{id}-error")) { (msg) }
            }
        }
    };
    let invalid = |id: &str| rejected.for_field(id).map(|_| "true");
    let described = |id: &str| rejected.for_field(id).map(|_| format!("{id}-error"));
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

            form method="post" action=(action) id="prefs" {
                input type="hidden" name="csrf" value=(csrf);
                fieldset id="when" {
                    legend { "When" }
                    label for="timezone" { "Time zone" }
                    p.hint id="timezone-hint" { "A zone name such as Europe/Berlin, or a city: Berlin, New York." }
                    input type="text" id="timezone" name="timezone" list="zones" value=(tz_value)
                        size="32" autocomplete="off" required
                        aria-invalid=[invalid("timezone")] aria-describedby=(described("timezone").unwrap_or_else(|| "timezone-hint".to_string()));
                    (problem("timezone"))
                    datalist id="zones" {
                        @for z in crate::domain::schedule::current_zones() { option value=(z) {} }
                    }
                    div.request-time {
                        label for="request_at" { "Update request at (HH:MM, your time)" }
                        input type="text" id="request_at" name="request_at" value=(request_value)
                            inputmode="numeric" size="5" required
                            aria-invalid=[invalid("request_at")] aria-describedby=[described("request_at")];
                        (problem("request_at"))
                    }
                    div.digest-time {
                        label for="digest_at" { "Digest at (HH:MM, your time)" }
                        input type="text" id="digest_at" name="digest_at" value=(digest_value)
                            inputmode="numeric" size="5" required
                            aria-invalid=[invalid("digest_at")] aria-describedby=[described("digest_at")];
                        (problem("digest_at"))
                    }
                    fieldset id="workdays" aria-describedby=[described("workdays")] {
                        legend { "Workdays" }
                        @for (key, label) in DAYS {
                            label class="inline" {
                                input type="checkbox" name=(format!("day_{key}")) value="on"
                                    checked[day_on(key)];
                                " " (label)
                            }
                        }
                        (problem("workdays"))
                    }
                }
                fieldset id="what" {
                    legend { "What you get" }
                    label for="digest" { "Digest" }
                    select id="digest" name="digest" aria-invalid=[invalid("digest")] aria-describedby=[described("digest")] {
                        option value="daily" selected[cadence == "daily"] { "Every workday: the new updates" }
                        option value="weekly" selected[cadence == "weekly"] { "Once a week: a summary of the week" }
                        option value="off" selected[cadence == "off"] { "Never: I read the team log" }
                    }
                    (problem("digest"))
                    div.weekly-only {
                        label for="digest_day" { "Weekly digest on" }
                        select id="digest_day" name="digest_day" {
                            @for (key, label) in DAYS {
                                option value=(key) selected[weekly_day == key] { (label) }
                            }
                        }
                    }
                    label for="comments" { "Comments on your updates" }
                    select id="comments" name="comments" aria-invalid=[invalid("comments")] aria-describedby=[described("comments")] {
                        option value="digest" selected[comments == "digest"] { "At the top of my next digest" }
                        option value="immediate" selected[comments == "immediate"] { "At once, by email" }
                    }
                    (problem("comments"))
                    label for="mentions" { "Updates that mention you" }
                    select id="mentions" name="mentions" aria-invalid=[invalid("mentions")] aria-describedby=[described("mentions")] {
                        option value="digest" selected[mentions == "digest"] { "At the top of my next digest" }
                        option value="immediate" selected[mentions == "immediate"] { "At once, by email" }
                    }
                    (problem("mentions"))
                    label.inline {
                        input type="checkbox" name="paused" id="paused" value="on" checked[paused];
                        " Pause all requests and digests for now"
                    }
                }
                button type="submit" name="action" value="save" id="save" class="primary" { "Save" }
            }

            h2 { "Time away" }
            form method="post" action=(action) id="away" {
                input type="hidden" name="csrf" value=(csrf);
                // The add fields and their button come first: Enter in a date field submits
                // with the form's first button, which must be "Add", never a "remove".
                label class="inline" for="away_from" { "From" }
                input type="date" id="away_from" name="away_from" value=(away_from)
                    aria-invalid=[invalid("away_from")] aria-describedby=[described("away_from")];
                label class="inline" for="away_to" { " to " }
                input type="date" id="away_to" name="away_to" value=(away_to)
                    aria-invalid=[invalid("away_to")] aria-describedby=[described("away_to")];
                (problem("away_from"))
                (problem("away_to"))
                br;
                button type="submit" name="action" value="add-away" id="add-away" { "Add time away" }
                @if m.away.is_empty() {
                    p class="muted" { "No time away planned." }
                } @else {
                    ul class="away" {
                        @for a in &m.away {
                            li {
                                (a.from) " to " (a.to)
                                button type="submit" class="link" name="action"
                                    value=(format!("remove-away:{}..{}", a.from, a.to))
                                    aria-label=(format!("Remove time away {} to {}", a.from, a.to)) { "remove" }
                            }
                        }
                    }
                }
            }

            h2 { "Stop emails" }
            form method="post" action=(action) id="subscription" {
                input type="hidden" name="csrf" value=(csrf);
                @if m.unsubscribed {
                    p { "You are unsubscribed: Tidings sends you no requests or digests." }
                    button type="submit" name="action" value="resubscribe" class="primary" { "Subscribe again" }
                } @else {
                    p class="muted" { "To stop for a while, pause above or add time away. To stop for good:" }
                    button type="submit" name="action" value="unsubscribe" class="quiet" { "Unsubscribe from all Tidings emails" }
                }
            }
            (commands())
            p class="muted" { "This page was reached through a personal link: do not share it." }
        },
    ))
}

/// Every reply command and what it does (`#commands`: the emails link here).
fn commands() -> Markup {
    html! {
        h2 id="commands" { "Reply commands" }
        p.muted { "Reply to any Tidings email with one of these alone on the first line:" }
        dl.commands {
            @for (c, what) in crate::domain::command::HELP {
                dt { code { (c) } }
                dd { (what) }
            }
        }
    }
}
