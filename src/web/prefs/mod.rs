//! The preferences page behind the signed, expiring link in every email (`/p/{token}`): time
//! zone, request and digest times, workdays, time away, pause and unsubscribe, and the next
//! digest as the real schedule computes it. Plain HTML forms (maud, no JavaScript).
//!
//! A link acts for its own member only (the member id is inside the signed token). Every POST
//! carries a form token bound to that member and link (CSRF) and is refused when an `Origin`
//! header names another site. An expired or tampered link never acts: it gets a page offering
//! a fresh link by email, which never reveals whether an address is a member.

use std::collections::HashMap;

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use maud::{Markup, html};
use serde::Deserialize;

use super::html::{html_response, page};
use super::{AppError, Routes, Verb, WebState};
use crate::domain::schedule::parse_tz;
use crate::domain::token::{LinkToken, TokenError};
use crate::domain::{AwayRange, EmailAddress, LocalTime, Member, Workdays};
use crate::jobs::Ctx;
use crate::store::MemberChange;

const DAYS: [(&str, &str); 7] = [
    ("mon", "Mon"),
    ("tue", "Tue"),
    ("wed", "Wed"),
    ("thu", "Thu"),
    ("fri", "Fri"),
    ("sat", "Sat"),
    ("sun", "Sun"),
];

pub(super) fn routes(r: Routes) -> Routes {
    r.add(Verb::Get, "/p/{token}", show)
        .add(Verb::Post, "/p/{token}", submit)
        .add(Verb::Get, "/link", link_form)
        .add(Verb::Post, "/link", send_link)
}

/// The form token of the page for `member` reached through `link`.
pub fn csrf_token(ctx: &Ctx, member: i64, link: &str) -> String {
    ctx.secret.sign("csrf", &format!("{member}:{link}"))
}

/// The page for a link that does not work: why, and a form to get a fresh one by email.
fn bad_link_page(e: &TokenError) -> Response {
    let (status, why) = match e {
        TokenError::Expired => (
            StatusCode::GONE,
            "This preferences link has expired. Links in emails stay valid for a limited time.",
        ),
        _ => (
            StatusCode::FORBIDDEN,
            "This preferences link is not valid (it may have been cut short or changed).",
        ),
    };
    html_response(status, page("Link not valid", link_request_form(why)))
}

fn link_request_form(why: &str) -> Markup {
    html! {
        h1 { "Get a fresh link" }
        p { (why) }
        p { "Enter your email address and we will send a new link to it if it belongs to a member of a team on Tidings." }
        form method="post" action="/link" {
            label for="email" { "Email address" }
            input type="email" id="email" name="email" required size="32";
            br;
            button type="submit" { "Email me a fresh link" }
        }
    }
}

fn verify(ctx: &Ctx, token: &str) -> Result<LinkToken, TokenError> {
    LinkToken::verify(token, &ctx.secret, Utc::now().timestamp())
}

fn flash_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "saved" => "Saved. Your schedule is updated.",
        "away-added" => "Time away added.",
        "away-removed" => "Time away removed.",
        "unsubscribed" => "Unsubscribed: you will get no more requests or digests.",
        "resubscribed" => "Welcome back: requests and digests resume.",
        _ => return None,
    })
}

/// What a rejected form said: one message per field (shown beside it), plus any message for
/// the form as a whole; and what the person typed, shown again instead of the stored values.
#[derive(Debug, Default)]
struct Rejected<'a> {
    fields: Vec<(&'static str, String)>,
    general: Option<String>,
    typed: Option<&'a PrefsForm>,
}

impl Rejected<'_> {
    fn for_field(&self, id: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(f, _)| *f == id)
            .map(|(_, m)| m.as_str())
    }
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
                @else { "No " (what) " is planned." }
            }
        }
    }
}

async fn render(
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
    Ok(page(
        "Your preferences",
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
                label for="timezone" { "Time zone (a city such as Berlin works too)" }
                input type="text" id="timezone" name="timezone" list="zones" value=(tz_value)
                    size="32" autocomplete="off" required
                    aria-invalid=[invalid("timezone")] aria-describedby=[described("timezone")];
                (problem("timezone"))
                datalist id="zones" {
                    @for z in chrono_tz::TZ_VARIANTS.iter() { option value=(z.name()) {} }
                }
                label for="request_at" { "Update request at (HH:MM, your time)" }
                input type="text" id="request_at" name="request_at" value=(request_value)
                    inputmode="numeric" size="5" required
                    aria-invalid=[invalid("request_at")] aria-describedby=[described("request_at")];
                (problem("request_at"))
                label for="digest_at" { "Digest at (HH:MM, your time)" }
                input type="text" id="digest_at" name="digest_at" value=(digest_value)
                    inputmode="numeric" size="5" required
                    aria-invalid=[invalid("digest_at")] aria-describedby=[described("digest_at")];
                (problem("digest_at"))
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
                label {
                    input type="checkbox" name="paused" id="paused" value="on" checked[paused];
                    " Pause all requests and digests"
                }
                button type="submit" name="action" value="save" id="save" { "Save" }
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

            h2 { "Email" }
            form method="post" action=(action) id="subscription" {
                input type="hidden" name="csrf" value=(csrf);
                @if m.unsubscribed {
                    p { "You are unsubscribed." }
                    button type="submit" name="action" value="resubscribe" { "Subscribe again" }
                } @else {
                    p class="muted" { "Stop all requests and digests from Tidings." }
                    button type="submit" name="action" value="unsubscribe" { "Unsubscribe" }
                }
            }
            p class="muted" { "This page was reached through a personal link: do not share it." }
        },
    ))
}

/// The checkbox field of weekday `key` (`mon`…).
fn day_field<'f>(f: &'f PrefsForm, key: &str) -> Option<&'f String> {
    match key {
        "mon" => f.day_mon.as_ref(),
        "tue" => f.day_tue.as_ref(),
        "wed" => f.day_wed.as_ref(),
        "thu" => f.day_thu.as_ref(),
        "fri" => f.day_fri.as_ref(),
        "sat" => f.day_sat.as_ref(),
        "sun" => f.day_sun.as_ref(),
        _ => None,
    }
}

async fn show(
    State(st): State<WebState>,
    Path(token): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match show_inner(&st, &token, q.get("done").map(String::as_str)).await {
        Ok(r) => r,
        Err(e) => error_page(e),
    }
}

async fn show_inner(st: &WebState, token: &str, flash: Option<&str>) -> Result<Response, AppError> {
    let link = match verify(&st.ctx, token) {
        Ok(l) => l,
        Err(e) => return Ok(bad_link_page(&e)),
    };
    let Some(m) = st.ctx.store.member_by_id(link.member).await? else {
        return Ok(bad_link_page(&TokenError::BadSignature));
    };
    Ok(html_response(
        StatusCode::OK,
        render(&st.ctx, &m, token, flash, &Rejected::default()).await?,
    ))
}

fn error_page(e: AppError) -> Response {
    super::html::message_page(e.status, "Something went wrong", &e.message, html! {})
}

/// Every field of the three forms; each action reads the ones it needs.
#[derive(Debug, Default, Deserialize)]
pub struct PrefsForm {
    csrf: Option<String>,
    action: Option<String>,
    timezone: Option<String>,
    request_at: Option<String>,
    digest_at: Option<String>,
    day_mon: Option<String>,
    day_tue: Option<String>,
    day_wed: Option<String>,
    day_thu: Option<String>,
    day_fri: Option<String>,
    day_sat: Option<String>,
    day_sun: Option<String>,
    paused: Option<String>,
    away_from: Option<String>,
    away_to: Option<String>,
}

/// Whether an `Origin` header (when a browser sent one) names this server: the configured
/// `web.base_url` or the `Host` the request was sent to.
pub(super) fn same_origin(headers: &HeaderMap, base_url: &str) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let origin = origin.to_str().unwrap_or_default().trim_end_matches('/');
    let base = base_url.trim_end_matches('/');
    let base_origin = match base.split_once("://") {
        Some((scheme, rest)) => {
            format!("{scheme}://{}", rest.split('/').next().unwrap_or_default())
        }
        None => base.to_string(),
    };
    if origin.eq_ignore_ascii_case(&base_origin) {
        return true;
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    !host.is_empty()
        && (origin.eq_ignore_ascii_case(&format!("http://{host}"))
            || origin.eq_ignore_ascii_case(&format!("https://{host}")))
}

async fn submit(
    State(st): State<WebState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    form: Result<Form<PrefsForm>, FormRejection>,
) -> Response {
    // The link first: an expired or tampered link never acts, whatever the form says.
    let link = match verify(&st.ctx, &token) {
        Ok(l) => l,
        Err(e) => return bad_link_page(&e),
    };
    let form = match form {
        Ok(Form(f)) => f,
        Err(rej) if rej.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return error_page(super::api::too_large());
        }
        Err(rej) => {
            return error_page(AppError::new(
                StatusCode::BAD_REQUEST,
                "bad_form",
                rej.body_text(),
            ));
        }
    };
    let forbidden = |msg: &str| {
        error_page(AppError::new(
            StatusCode::FORBIDDEN,
            "csrf",
            msg.to_string(),
        ))
    };
    if !same_origin(&headers, &st.ctx.config.web.base_url) {
        return forbidden(
            "This form was sent from another site. Open your preferences link again.",
        );
    }
    let csrf_ok = form.csrf.as_deref().is_some_and(|c| {
        st.ctx
            .secret
            .verify("csrf", &format!("{}:{token}", link.member), c)
    });
    if !csrf_ok {
        return forbidden(
            "This form has expired or was not sent from your preferences page. Open your link again.",
        );
    }
    match submit_inner(&st, &token, link.member, &form).await {
        Ok(r) => r,
        Err(e) => error_page(e),
    }
}

/// Why an `HH:MM` field is not a time, in words a person can act on.
fn time_problem(v: &str, what: &str) -> Option<String> {
    let v = v.trim();
    if LocalTime::parse(v).is_ok() {
        return None;
    }
    let example = format!("The {what} time must be HH:MM, such as 08:30.");
    let Some((h, m)) = v.split_once(':') else {
        return Some(example);
    };
    match (h.parse::<u32>(), m.parse::<u32>()) {
        (Ok(h), _) if h > 23 => Some(format!(
            "The {what} time {v} does not exist: hours go to 23 (00:00 to 23:59)."
        )),
        (Ok(_), Ok(m)) if m > 59 => Some(format!(
            "The {what} time {v} does not exist: minutes go to 59."
        )),
        _ => Some(example),
    }
}

/// The zone a person meant: an IANA name, else a problem that suggests some.
fn zone_problem(tz: &str) -> Result<chrono_tz::Tz, String> {
    parse_tz(tz).map_err(|_| {
        let tz = tz.trim();
        let ideas = crate::domain::schedule::suggest_zones(tz, 3);
        if ideas.is_empty() {
            format!("{tz:?} is not a time zone: type a city such as Berlin or pick a name from the list, such as Europe/Berlin.")
        } else {
            format!("{tz:?} is not a time zone name. Did you mean {}?", ideas.join(" or "))
        }
    })
}

fn form_change(
    f: &PrefsForm,
    m: &Member,
) -> Result<(MemberChange, &'static str), Rejected<'static>> {
    let action = f.action.as_deref().unwrap_or("save");
    let mut ch = MemberChange::default();
    let general = |msg: &str| Rejected {
        general: Some(msg.to_string()),
        ..Default::default()
    };
    if let Some(range) = action.strip_prefix("remove-away:") {
        let away: Vec<AwayRange> = m
            .away
            .iter()
            .filter(|a| format!("{}..{}", a.from, a.to) != range)
            .copied()
            .collect();
        ch.away = Some(away);
        return Ok((ch, "away-removed"));
    }
    match action {
        "save" => {
            // Every problem at once, each beside its field.
            let mut fields = Vec::new();
            match zone_problem(f.timezone.as_deref().unwrap_or_default()) {
                Ok(tz) => ch.tz = Some(tz),
                Err(msg) => fields.push(("timezone", msg)),
            }
            for (id, what, v, slot) in [
                ("request_at", "request", &f.request_at, &mut ch.request_at),
                ("digest_at", "digest", &f.digest_at, &mut ch.digest_at),
            ] {
                let v = v.as_deref().unwrap_or_default();
                match time_problem(v, what) {
                    None => *slot = LocalTime::parse(v.trim()).ok(),
                    Some(msg) => fields.push((id, msg)),
                }
            }
            let days: Vec<&str> = DAYS
                .iter()
                .filter(|(k, _)| day_field(f, k).is_some())
                .map(|(k, _)| *k)
                .collect();
            match Workdays::parse(&days.join(",")) {
                Ok(w) => ch.workdays = Some(w),
                Err(_) => fields.push((
                    "workdays",
                    "Choose at least one workday (or pause instead).".to_string(),
                )),
            }
            ch.paused = Some(f.paused.is_some());
            if fields.is_empty() {
                Ok((ch, "saved"))
            } else {
                Err(Rejected {
                    fields,
                    ..Default::default()
                })
            }
        }
        "add-away" => {
            let date = |v: &Option<String>, id: &'static str, which: &str| {
                chrono::NaiveDate::parse_from_str(
                    v.as_deref().unwrap_or_default().trim(),
                    "%Y-%m-%d",
                )
                .map_err(|_| (id, format!("Give the {which} day of the time away.")))
            };
            let from = date(&f.away_from, "away_from", "first");
            let to = date(&f.away_to, "away_to", "last");
            let (from, to) = match (from, to) {
                (Ok(a), Ok(b)) => (a, b),
                (a, b) => {
                    return Err(Rejected {
                        fields: [a.err(), b.err()].into_iter().flatten().collect(),
                        ..Default::default()
                    });
                }
            };
            if to < from {
                return Err(Rejected {
                    fields: vec![("away_to", "The time away ends before it starts.".into())],
                    ..Default::default()
                });
            }
            let mut away = m.away.clone();
            away.push(AwayRange { from, to });
            ch.away = Some(away);
            Ok((ch, "away-added"))
        }
        "unsubscribe" => {
            ch.unsubscribed = Some(true);
            Ok((ch, "unsubscribed"))
        }
        "resubscribe" => {
            ch.unsubscribed = Some(false);
            Ok((ch, "resubscribed"))
        }
        _ => Err(general("Unknown action.")),
    }
}

async fn submit_inner(
    st: &WebState,
    token: &str,
    member: i64,
    f: &PrefsForm,
) -> Result<Response, AppError> {
    let Some(m) = st.ctx.store.member_by_id(member).await? else {
        return Ok(bad_link_page(&TokenError::BadSignature));
    };
    match form_change(f, &m) {
        Ok((ch, done)) => {
            crate::jobs::members::change(&st.ctx, &m.email, &ch, None, Utc::now()).await?;
            // Post/redirect/get: reloading the result page does not submit again.
            Ok(Redirect::to(&format!("/p/{token}?done={done}")).into_response())
        }
        Err(rejected) => {
            let rejected = Rejected {
                typed: Some(f),
                ..rejected
            };
            Ok(html_response(
                StatusCode::UNPROCESSABLE_ENTITY,
                render(&st.ctx, &m, token, None, &rejected).await?,
            ))
        }
    }
}

async fn link_form() -> Response {
    html_response(
        StatusCode::OK,
        page(
            "Get a fresh link",
            link_request_form("Your preferences are reached through a personal link."),
        ),
    )
}

#[derive(Debug, Deserialize)]
struct LinkRequest {
    email: Option<String>,
}

/// Queues a notice with a fresh link when the address is a member's; the answer is the same
/// either way, so the form cannot be used to find out who is a member.
async fn send_link(
    State(st): State<WebState>,
    form: Result<Form<LinkRequest>, FormRejection>,
) -> Response {
    if let Err(rej) = &form
        && rej.status() == StatusCode::PAYLOAD_TOO_LARGE
    {
        return error_page(super::api::too_large());
    }
    let email = form
        .ok()
        .and_then(|Form(f)| f.email)
        .and_then(|e| EmailAddress::parse(&e).ok());
    if let Some(e) = &email
        && let Err(err) = queue_fresh_link(&st.ctx, e).await
    {
        tracing::error!(error = %format!("{err:#}"), "cannot queue a fresh preferences link");
    }
    html_response(
        StatusCode::OK,
        page(
            "Check your email",
            html! {
                h1 { "Check your email" }
                p { "If that address belongs to a member of a team on Tidings, a fresh link to the preferences page is on its way. It may take a minute." }
            },
        ),
    )
}

async fn queue_fresh_link(ctx: &Ctx, email: &EmailAddress) -> anyhow::Result<()> {
    let Some(m) = ctx.store.member_by_email(email).await? else {
        return Ok(());
    };
    let now = Utc::now();
    let url = ctx.prefs_url(m.id, now);
    let text = format!(
        "You asked for a fresh link to your Tidings preferences. It is valid for {} days:\n\n{url}\n\nIf you did not ask for it, you can ignore this email.\n",
        ctx.config.security.link_ttl_days
    );
    // One per member and hour (the outbox key), so the form cannot be used to flood a member.
    let key = format!("link:{}:{}", m.id, now.timestamp() / 3600);
    let notice = crate::jobs::compose::notice(
        ctx,
        &m,
        &key,
        "Your Tidings preferences link",
        &text,
        None,
        now,
    )?;
    ctx.queue(&notice, now).await?;
    // Send at once rather than at the next tick; the outbox lease keeps this safe beside the
    // scheduler's own pass.
    let ctx = ctx.clone();
    tokio::spawn(async move {
        if let Err(e) = crate::jobs::send::run(&ctx, Utc::now()).await {
            tracing::warn!(error = %format!("{e:#}"), "sending the fresh link failed; the next tick retries");
        }
    });
    Ok(())
}
