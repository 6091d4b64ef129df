//! The operator's landing page at `/`: teams with their check-ins and members with their next
//! request and digest (member's local time and UTC), the outbox and the quarantine. Plain HTML
//! (maud, no JavaScript), behind `web.admin_token`.
//!
//! A browser cannot send a bearer header by itself, so `POST /login` takes the admin token once
//! and sets a session cookie: `<expires>.<HMAC>` signed with the server secret under its own
//! purpose and bound to (a hash of) the current admin token, so changing `web.admin_token` ends
//! every session and the cookie never holds the token itself. `Authorization: Bearer` works
//! too, for scripts. The cookie is HttpOnly and SameSite=Strict (Secure behind https), and the
//! logout form carries a token signed for the session, so another site can neither use the
//! session nor end it.

#[path = "admin_sources.rs"]
mod sources;

use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use maud::{Markup, html};
use serde::Deserialize;

use super::html::{html_response, page};
use super::limit::Key;
use super::prefs::same_origin;
use super::{AppError, Routes, WebState};
use crate::domain::Member;
use crate::domain::checkin::Checkin;
use crate::domain::schedule::local_date;
use crate::domain::token::{constant_eq, hash_api_token};

/// The session cookie's name.
pub const COOKIE: &str = "tidings_admin";
/// How long a login lasts.
const SESSION_SECS: i64 = 12 * 3600;
/// Rows shown per list (outbox, quarantine).
const LATEST: i64 = 50;
const CSS: &str = include_str!("../../templates/admin.css");

pub(super) fn routes(r: Routes) -> Routes {
    r.add(utoipa_axum::routes!(index))
        .add(utoipa_axum::routes!(login))
        .add(utoipa_axum::routes!(logout))
}

/// Who is asking for the admin page.
enum Access {
    /// `web.admin_token` is empty: the page is off.
    Off,
    /// No credentials at all: show the login form.
    Anonymous,
    /// Credentials that do not hold (wrong bearer token, tampered or expired cookie).
    Refused(&'static str),
    /// The right bearer token.
    Bearer,
    /// A valid session cookie (its value signs the logout form).
    Session(String),
}

/// A fingerprint of the admin token: sessions are bound to it, so a new token ends them all.
fn token_fingerprint(st: &WebState) -> String {
    hash_api_token(st.ctx.config.web.admin_token.expose())
}

/// A fresh session cookie value `<expires>.<signature>`.
fn session_value(st: &WebState, now: i64) -> String {
    let expires = now + SESSION_SECS;
    let sig = st.ctx.secret.sign(
        "admin-session",
        &format!("{expires}:{}", token_fingerprint(st)),
    );
    format!("{expires}.{sig}")
}

fn session_valid(st: &WebState, value: &str, now: i64) -> bool {
    let Some((e, sig)) = value.split_once('.') else {
        return false;
    };
    let Ok(expires) = e.parse::<i64>() else {
        return false;
    };
    expires >= now
        && st.ctx.secret.verify(
            "admin-session",
            &format!("{expires}:{}", token_fingerprint(st)),
            sig,
        )
}

fn cookie_value(headers: &HeaderMap) -> Option<String> {
    super::cookie(headers, COOKIE)
}

/// Whether the request carries the admin's credentials (the bearer token or a live session):
/// the admin reads every team's log.
pub(super) fn is_admin(st: &WebState, headers: &HeaderMap) -> bool {
    matches!(access(st, headers), Access::Bearer | Access::Session(_))
}

/// Whether `given` is the admin token; hashes first so the comparison is over equal lengths
/// and takes the same time however much of the token matched.
fn is_admin_token(st: &WebState, given: &str) -> bool {
    constant_eq(
        hash_api_token(given).as_bytes(),
        token_fingerprint(st).as_bytes(),
    )
}

fn access(st: &WebState, headers: &HeaderMap) -> Access {
    if st.ctx.config.web.admin_token.is_empty() {
        return Access::Off;
    }
    if let Some(h) = headers.get(header::AUTHORIZATION) {
        let h = h.to_str().unwrap_or_default().trim();
        return match h.split_once(' ') {
            Some((scheme, t))
                if scheme.eq_ignore_ascii_case("bearer") && is_admin_token(st, t.trim()) =>
            {
                Access::Bearer
            }
            _ => Access::Refused("The Authorization header does not hold the admin token."),
        };
    }
    match cookie_value(headers) {
        None => Access::Anonymous,
        Some(v) if session_valid(st, &v, Utc::now().timestamp()) => Access::Session(v),
        Some(_) => Access::Refused("Your session has expired or is not valid: log in again."),
    }
}

/// The form token of the logout form, bound to the session it ends.
fn logout_token(st: &WebState, session: &str) -> String {
    st.ctx.secret.sign("admin-logout", session)
}

fn set_cookie(st: &WebState, value: &str, max_age: i64) -> HeaderValue {
    super::set_cookie(st, COOKIE, value, max_age, "Strict")
}

fn see_root(cookie: HeaderValue) -> Response {
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, HeaderValue::from_static("/")),
            (header::SET_COOKIE, cookie),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
    )
        .into_response()
}

fn admin_page(title: &str, body: Markup) -> Markup {
    page(
        title,
        html! {
            style { (CSS) }
            (body)
        },
    )
}

fn off_page(status: StatusCode) -> Response {
    html_response(
        status,
        admin_page(
            "Admin page off",
            html! {
                h1 { "The admin page is off" }
                p { "This server has no admin token, so the admin page (and the admin API) is turned off. Nothing here acts." }
                p { "To turn it on, set " code { "web.admin_token" } " to a secret of at least 16 characters, in the config file or as "
                    code { "TIDINGS_WEB__ADMIN_TOKEN" } ", and restart " code { "tidings serve" } ". Then open this page again and log in with that token." }
                p class="muted" { "Members reach their own preferences through the link in every email; they do not need this page." }
            },
        ),
    )
}

fn login_page(status: StatusCode, error: Option<&str>) -> Response {
    html_response(
        status,
        admin_page(
            "Admin login",
            html! {
                h1 { "Tidings admin" }
                @if let Some(e) = error { p class="error" role="alert" { (e) } }
                form method="post" action="/login" {
                    label for="token" { "Admin token (" code { "web.admin_token" } ")" }
                    input type="password" id="token" name="token" required size="40" autocomplete="current-password";
                    br;
                    button.primary type="submit" { "Log in" }
                }
                p class="muted" { "Scripts can send " code { "Authorization: Bearer TOKEN" } " instead." }
            },
        ),
    )
}

fn error_page(status: StatusCode, msg: &str) -> Response {
    html_response(
        status,
        admin_page(
            "Admin",
            html! { h1 { "Tidings admin" } p class="error" role="alert" { (msg) } p { a href="/" { "Back" } } },
        ),
    )
}

/// The admin page: teams, members and their next request and digest, the outbox, the
/// quarantine. Without credentials, a login form; off (a page saying how to turn it on) while
/// web.admin_token is empty.
#[utoipa::path(get, path = "/", tag = "pages",
    security((), ("adminToken" = []), ("adminSession" = [])),
    responses(
        (status = 200, description = "The admin page, the login form (no credentials) or the page saying it is off.", body = String, content_type = "text/html"),
        (status = 401, description = "A wrong token, or an altered or expired session: the login form.", body = String, content_type = "text/html"),
        (status = 500, description = "The database does not answer.", body = String, content_type = "text/html"),
    ))]
async fn index(State(st): State<WebState>, headers: HeaderMap) -> Response {
    match access(&st, &headers) {
        Access::Off => off_page(StatusCode::OK),
        Access::Anonymous => login_page(StatusCode::OK, None),
        Access::Refused(why) => login_page(StatusCode::UNAUTHORIZED, Some(why)),
        Access::Bearer => dashboard_response(&st, None).await,
        Access::Session(v) => dashboard_response(&st, Some(&v)).await,
    }
}

async fn dashboard_response(st: &WebState, session: Option<&str>) -> Response {
    match dashboard(st, session, Utc::now()).await {
        Ok(m) => html_response(StatusCode::OK, m),
        // AppError's From already logged the detail; the page says only that it failed.
        Err(e) => error_page(e.status, &e.message),
    }
}

/// The fields of the login and logout forms.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct AdminForm {
    #[schema(value_type = String, required = false)]
    token: Option<String>,
    #[schema(value_type = String, required = false)]
    csrf: Option<String>,
}

/// Log in to the admin page with the admin token (form field `token`); sets the session cookie
/// and redirects to `/`.
#[utoipa::path(post, path = "/login", tag = "pages",
    request_body(content = AdminForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Logged in: the session cookie is set; see `/`."),
        (status = 401, description = "That is not the admin token: the login form again.", body = String, content_type = "text/html"),
        (status = 403, description = "The admin page is off, or the form was sent from another site.", body = String, content_type = "text/html"),
        (status = 429, description = "Too many attempts: wait a minute.", body = String, content_type = "text/html"),
    ))]
async fn login(
    State(st): State<WebState>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    form: Result<Form<AdminForm>, FormRejection>,
) -> Response {
    if st.ctx.config.web.admin_token.is_empty() {
        return off_page(StatusCode::FORBIDDEN);
    }
    if !same_origin(&headers, &st.ctx.config.web.base_url) {
        return error_page(
            StatusCode::FORBIDDEN,
            "This form was sent from another site.",
        );
    }
    if let Err(rej) = &form
        && rej.status() == StatusCode::PAYLOAD_TOO_LARGE
    {
        return error_page(
            StatusCode::PAYLOAD_TOO_LARGE,
            "The form is larger than web.max_body_bytes allows.",
        );
    }
    // Wrong guesses count against the guessing client's address (a bucket of its own), which
    // slows down guessing without ever locking the admin out from their own address.
    let key = Key::Failed(st.client_ip(&extensions, &headers));
    if st
        .failures
        .exhausted(key, std::time::Instant::now())
        .is_err()
    {
        return login_page(
            StatusCode::TOO_MANY_REQUESTS,
            Some("Too many failed attempts from your address: wait a minute and try again."),
        );
    }
    let given = form.ok().and_then(|Form(f)| f.token).unwrap_or_default();
    if given.is_empty() || !is_admin_token(&st, given.trim()) {
        let _ = st.failures.check(key, std::time::Instant::now());
        return login_page(
            StatusCode::UNAUTHORIZED,
            Some("That is not the admin token."),
        );
    }
    let value = session_value(&st, Utc::now().timestamp());
    see_root(set_cookie(&st, &value, SESSION_SECS))
}

/// End the admin session (the form token from the admin page required); redirects to `/`.
#[utoipa::path(post, path = "/logout", tag = "pages",
    security(("adminSession" = [])),
    request_body(content = AdminForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Logged out: the cookie is cleared; see `/`."),
        (status = 403, description = "The admin page is off, or the form token is wrong or from another site.", body = String, content_type = "text/html"),
    ))]
async fn logout(
    State(st): State<WebState>,
    headers: HeaderMap,
    form: Result<Form<AdminForm>, FormRejection>,
) -> Response {
    if st.ctx.config.web.admin_token.is_empty() {
        return off_page(StatusCode::FORBIDDEN);
    }
    let csrf = form.ok().and_then(|Form(f)| f.csrf).unwrap_or_default();
    let ok =
        cookie_value(&headers).is_some_and(|v| st.ctx.secret.verify("admin-logout", &v, &csrf));
    if !ok || !same_origin(&headers, &st.ctx.config.web.base_url) {
        return error_page(
            StatusCode::FORBIDDEN,
            "This logout was not sent from the admin page. Open the page and use its button.",
        );
    }
    see_root(set_cookie(&st, "", 0))
}

pub(super) fn utc(ts: i64) -> String {
    DateTime::from_timestamp(ts, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| ts.to_string())
}

/// One planned instant in the member's zone and in UTC; `planned` false marks one the planner
/// has not stored yet (computed here with the same schedule).
fn instant(m: &Member, t: Option<DateTime<Utc>>, planned: bool, id: &str) -> Markup {
    html! {
        @match t {
            Some(t) => {
                @let local = t.with_timezone(&m.tz);
                time id=(id) datetime=(t.format("%Y-%m-%dT%H:%M:%SZ").to_string()) {
                    span class="local" { (local.format("%a %-d %b %H:%M")) " " (m.tz.name()) }
                    br;
                    span class="utc muted" { (t.format("%a %-d %b %H:%M UTC")) }
                }
                @if !planned { br; span class="muted" { "(not planned yet)" } }
            }
            None => { span class="muted" { "none" } }
        }
    }
}

fn state(m: &Member, now: DateTime<Utc>, threshold: u32) -> Markup {
    let today = local_date(m.tz, now);
    let away = m.away.iter().find(|a| a.contains(today));
    let bouncing = m.bounces >= i64::from(threshold);
    html! {
        @if m.unsubscribed { span class="tag bad" { "unsubscribed" } " " }
        @if m.paused { span class="tag warn" { "paused" } " " }
        @if m.observer { span class="tag" { "observer" } " " }
        @if m.cadence != crate::domain::Cadence::Daily { span class="tag" { "digest " (m.cadence.describe()) } " " }
        @if let Some(a) = away { span class="tag warn" { "away until " (a.to) } " " }
        @if bouncing { span class="tag bad" { "bouncing (" (m.bounces) " hard bounces)" } " " }
        @else if m.bounces > 0 { span class="tag" { (m.bounces) " bounce" @if m.bounces != 1 { "s" } } " " }
        @if !m.unsubscribed && !m.paused && away.is_none() && !bouncing { span class="tag ok" { "active" } }
    }
}

async fn member_rows(
    st: &WebState,
    members: &[&Member],
    now: DateTime<Utc>,
) -> Result<Markup, AppError> {
    let threshold = st.ctx.config.mail.inbound.bounce_threshold;
    let mut rows = Vec::with_capacity(members.len());
    for m in members {
        let (req, dig) = st.ctx.store.next_instants(m.id).await?;
        let at = |ts: Option<i64>| ts.and_then(|s| DateTime::from_timestamp(s, 0));
        // Unplanned (new or just changed): the next fire by the same schedule code the planner
        // runs, so the page never shows a blank for a member the next tick will plan.
        let req_t = at(req).or_else(|| m.request_schedule().next_after(now).map(|(_, t)| t));
        let dig_t = at(dig).or_else(|| m.digest_schedule().next_after(now).map(|(_, t)| t));
        rows.push(html! {
            tr id=(format!("member-{}", m.id)) {
                td { (m.name) br; span class="muted" { (m.email) } }
                td { (instant(m, req_t, req.is_some(), &format!("next-request-{}", m.id))) }
                td { (instant(m, dig_t, dig.is_some(), &format!("next-digest-{}", m.id))) }
                td { (state(m, now, threshold)) }
            }
        });
    }
    Ok(html! {
        div class="scroll" {
        table {
            thead { tr { th { "Member" } th { "Next request" } th { "Next digest" } th { "State" } } }
            tbody { @for r in rows { (r) } }
        }
        }
    })
}

/// A team's check-ins, its stand-up first: each one's name in bold, then the rest of its
/// one-line description (the same words `tidings checkin list` prints).
fn checkin_list(checkins: &[Checkin]) -> Markup {
    html! {
        ul class="checkins" {
            @for c in checkins {
                @let line = c.describe();
                li {
                    @match line.strip_prefix(c.name.as_str()) {
                        Some(rest) => { strong { (c.name) } (rest) }
                        None => { (line) }
                    }
                }
            }
        }
    }
}

async fn dashboard(
    st: &WebState,
    session: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Markup, AppError> {
    let store = &st.ctx.store;
    let members = store.list_members().await?;
    let teams = store.list_teams().await?;
    let mut team_sections = Vec::new();
    for (team, _) in &teams {
        let in_team: Vec<&Member> = members.iter().filter(|m| m.teams.contains(team)).collect();
        let checkins = match store.team_id(team).await? {
            Some(id) => store.checkins_of(id).await?,
            None => Vec::new(),
        };
        team_sections.push((
            team.clone(),
            checkin_list(&checkins),
            member_rows(st, &in_team, now).await?,
            in_team.len(),
        ));
    }
    let loners: Vec<&Member> = members.iter().filter(|m| m.teams.is_empty()).collect();
    let loner_rows = member_rows(st, &loners, now).await?;
    let counts = store.outbox_counts().await?;
    let failed_count = counts
        .iter()
        .find(|(s, _)| s == "failed")
        .map(|(_, n)| *n)
        .unwrap_or(0);
    let failed = if failed_count > 0 {
        store.list_outbox(true, LATEST).await?
    } else {
        Vec::new()
    };
    let latest = store.list_outbox(false, LATEST).await?;
    let quarantine = store.quarantine_summary(LATEST).await?;
    let calendars = sources::section(&sources::Fetched {
        title: "Calendars",
        id: "calendar",
        meaning: "their last good copy is still used",
        states: store.calendar_states().await?,
        failing: store
            .failing_calendars()
            .await?
            .into_iter()
            .map(|l| (l.shown, l.failing_since, l.error))
            .collect(),
    });
    let feeds = sources::section(&sources::Fetched {
        title: "Activity feeds",
        id: "feed",
        meaning: "those members' requests go out without a draft from them",
        states: store.activity_feed_states().await?,
        failing: store
            .failing_activity_feeds()
            .await?
            .into_iter()
            .map(|(m, l)| (format!("member {m}: {}", l.shown), l.failing_since, l.error))
            .collect(),
    });
    let webhooks = sources::webhooks(&store.webhooks().await?);
    let rooms = sources::rooms(&store.rooms().await?);
    let outbox_table = |rows: &[crate::store::OutboxRow], id: &str| {
        html! {
            div class="scroll" {
            table id=(id) {
                thead { tr { th { "Id" } th { "Kind" } th { "To" } th { "Subject" } th { "State" } th { "Attempts" } th { "Queued" } th { "Sent / error" } } }
                tbody {
                    @for r in rows {
                        tr class=(format!("state-{}", r.state)) {
                            td { (r.id) } td { (r.kind) } td { (r.recipient) } td { (r.subject) }
                            td { (r.state) } td { (r.attempts) } td { (utc(r.created_at)) }
                            td {
                                @if let Some(s) = r.sent_at { (utc(s)) }
                                @if let Some(e) = &r.last_error { span class="err" { (e) } }
                            }
                        }
                    }
                }
            }
            }
        }
    };
    Ok(admin_page(
        "Admin",
        html! {
            header class="bar" {
                h1 { "Tidings admin" }
                @if let Some(s) = session {
                    form method="post" action="/logout" class="logout" {
                        input type="hidden" name="csrf" value=(logout_token(st, s));
                        button type="submit" { "Log out" }
                    }
                }
            }
            p class="muted" { "As of " (utc(now.timestamp())) ". " (members.len()) " member" @if members.len() != 1 { "s" } ", " (teams.len()) " team" @if teams.len() != 1 { "s" } "." }

            h2 { "Teams" }
            @if members.is_empty() {
                p { "No members yet: add one with " code { "tidings member add EMAIL --name NAME --tz ZONE --team TEAM" } "." }
            }
            @if !team_sections.is_empty() {
                p class="muted" { "Under each team, its check-ins (the daily stand-up first). Change them with "
                    code { "tidings checkin add|set|remove TEAM NAME" } " (see " code { "tidings checkin --help" } ")." }
            }
            @for (team, checkins, rows, n) in &team_sections {
                section class="team" {
                    h3 { (team) span class="muted" { " · " (n) " member" @if *n != 1 { "s" } } }
                    (checkins)
                    @if *n == 0 { p class="muted" { "No members." } } @else { (rows) }
                }
            }
            @if !loners.is_empty() {
                section class="team" {
                    h3 { "Not in a team" }
                    (loner_rows)
                }
            }

            h2 { "Outbox" }
            p id="outbox-counts" {
                @if counts.is_empty() { "Empty." }
                @for (i, (s, n)) in counts.iter().enumerate() {
                    @if i > 0 { " · " }
                    span class=(format!("count state-{s}")) { (s) ": " (n) }
                }
            }
            @if !failed.is_empty() {
                h3 { "Failed (latest " (LATEST) ")" }
                p class="muted" { "Also " code { "tidings outbox list --failed" } "." }
                (outbox_table(&failed, "outbox-failed"))
            }
            h3 { "Latest " (LATEST) }
            @if latest.is_empty() { p class="muted" { "Nothing queued yet." } }
            @else { (outbox_table(&latest, "outbox-latest")) }

            h2 { "Quarantine" }
            @if quarantine.is_empty() {
                p class="muted" { "Nothing quarantined." }
            } @else {
                p class="muted" { "Latest " (LATEST) ". See one with " code { "tidings inbox quarantine show ID" } "; "
                    code { "reprocess" } " or " code { "release" } " it from the command line." }
                div class="scroll" {
                table id="quarantine" {
                    thead { tr { th { "Id" } th { "Received" } th { "Sender" } th { "Reason" } } }
                    tbody {
                        @for q in &quarantine {
                            tr {
                                td { (q.id) } td { (utc(q.received_at)) }
                                td { (q.sender.as_deref().unwrap_or("—")) }
                                td { (q.reason.as_deref().unwrap_or("—")) }
                            }
                        }
                    }
                }
                }
            }

            (calendars)
            (feeds)
            (webhooks)
            (rooms)
        },
    ))
}
