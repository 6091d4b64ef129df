//! Members signing in to read the team log, without passwords. A session is a random token in
//! the `tidings_session` cookie (HttpOnly, SameSite=Lax, Secure behind https), stored as its
//! SHA-256 with an expiry, and ends when it expires, at sign-out, or when it is revoked
//! (`tidings member signout EMAIL`). It starts from any email's signed link (`/p/{token}/log`,
//! the digest's "read the team log") or from a one-time link that `/signin` sends by email:
//! that link's GET only shows a button, so a mail scanner fetching it does not use it up;
//! the POST signs in, once.

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;

use super::html::{html_response, message_page, page};
use super::{AppError, Routes, WebState};
use crate::domain::token::{generate_api_token, hash_api_token};
use crate::domain::{EmailAddress, Member};

/// The session cookie's name.
pub const COOKIE: &str = "tidings_session";
/// How long a session lasts.
pub const SESSION_DAYS: i64 = 30;
/// How long a sign-in link works.
pub const SIGNIN_MINUTES: i64 = 15;

pub(super) fn routes(r: Routes) -> Routes {
    r.add(super::guard::small_form(utoipa_axum::routes!(
        signin_form,
        signin_send
    )))
    .add(utoipa_axum::routes!(signin_page, signin_use))
    .add(utoipa_axum::routes!(signout))
    .add(utoipa_axum::routes!(open_log))
    .add(utoipa_axum::routes!(open_blockers))
}

/// Who reads the log.
pub(super) enum Viewer {
    Member(Member),
    Admin,
}

/// The reader of a request: the admin (their token or session), else the member of a live
/// session cookie; `None` for anyone else.
pub(super) async fn viewer(st: &WebState, headers: &HeaderMap) -> Result<Option<Viewer>, AppError> {
    if super::admin::is_admin(st, headers) {
        return Ok(Some(Viewer::Admin));
    }
    let Some(token) = super::cookie(headers, COOKIE) else {
        return Ok(None);
    };
    let now = Utc::now().timestamp();
    let Some(id) = st
        .ctx
        .store
        .session_member(&hash_api_token(&token), now)
        .await?
    else {
        return Ok(None);
    };
    Ok(st.ctx.store.member_by_id(id).await?.map(Viewer::Member))
}

/// A `Set-Cookie` for `value`, kept `max_age` seconds (0 clears it).
fn set_cookie(st: &WebState, value: &str, max_age: i64) -> HeaderValue {
    // Lax, not Strict: the session must come along when a member follows a link to the log
    // from their mail client (a top-level navigation from another site).
    super::set_cookie(st, COOKIE, value, max_age, "Lax")
}

/// Starts a session for `member` and answers `303` to `to` with its cookie.
pub(super) async fn start(st: &WebState, member: i64, to: &str) -> Result<Response, AppError> {
    let token = generate_api_token();
    let now = Utc::now().timestamp();
    let max_age = SESSION_DAYS * 86_400;
    st.ctx
        .store
        .add_session(member, &hash_api_token(&token), now, now + max_age)
        .await?;
    Ok(see_other(to, Some(set_cookie(st, &token, max_age))))
}

pub(super) fn see_other(to: &str, cookie: Option<HeaderValue>) -> Response {
    let mut r = (
        StatusCode::SEE_OTHER,
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
    )
        .into_response();
    if let Ok(l) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, l);
    }
    if let Some(c) = cookie {
        r.headers_mut().insert(header::SET_COOKIE, c);
    }
    r
}

fn signin_body(st: &WebState, why: &str) -> Markup {
    let oidc = &st.ctx.config.web.oidc;
    html! {
        h1 { "Sign in to Tidings" }
        p { (why) }
        @if oidc.enabled() {
            p { a class="button" href="/signin/oidc" id="oidc" { (oidc.button) } }
            p class="muted" { "Or by email:" }
        }
        form method="post" action="/signin" {
            label for="email" { "Email address" }
            input type="email" id="email" name="email" required size="32" autocomplete="email";
            br;
            button.primary type="submit" { "Email me a sign-in link" }
        }
        p { "Every Tidings email also has a link to the team log that signs you in." }
    }
}

/// The sign-in form: an email address, to which a one-time link is sent.
#[utoipa::path(get, path = "/signin", tag = "pages",
    responses((status = 200, description = "The form.", body = String, content_type = "text/html")))]
pub(super) async fn signin_form(State(st): State<WebState>) -> Response {
    html_response(
        StatusCode::OK,
        page(
            "Sign in",
            signin_body(
                &st,
                "Read your team's log: enter your address and we will email you a link that signs you in.",
            ),
        ),
    )
}

#[derive(Debug, Deserialize)]
pub(super) struct SigninRequest {
    email: Option<String>,
}

/// Sends a one-time sign-in link (valid 15 minutes) to the address when it is a member's, at
/// most one every 10 minutes; the answer is the same for any address, so the form does not
/// tell who is a member.
#[utoipa::path(post, path = "/signin", tag = "pages",
    request_body(content = Option<String>, content_type = "application/x-www-form-urlencoded",
        description = "A form whose field `email` is read; any other body is answered the same."),
    responses(
        (status = 200, description = "Check your email (whatever the address).", body = String, content_type = "text/html"),
        (status = 403, description = "The form was sent from another site.", body = String, content_type = "text/html"),
        (status = 429, description = "Too many sign-in requests from this client address (5 in 10 minutes).", body = String, content_type = "text/html"),
        (status = 413, description = "A body larger than 4 KiB (one address is far less).", body = String, content_type = "text/html"),
    ))]
pub(super) async fn signin_send(
    State(st): State<WebState>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    form: Result<Form<SigninRequest>, FormRejection>,
) -> Response {
    if !super::prefs::same_origin(&headers, &st.ctx.config.web.base_url) {
        return forbidden();
    }
    if let Some(page) = signin_refused(&st, &extensions, &headers) {
        return page;
    }
    let email = form
        .ok()
        .and_then(|Form(f)| f.email)
        .and_then(|e| EmailAddress::parse(&e).ok());
    // Looked up and sent after the answer, so its timing tells nothing about who is a member.
    if let Some(e) = email {
        let st = st.clone();
        tokio::spawn(async move {
            if let Err(err) = send_link(&st, &e).await {
                tracing::error!(error = %format!("{err:#}"), "cannot queue a sign-in link");
            }
        });
    }
    message_page(
        StatusCode::OK,
        "Check your email",
        "If that address belongs to a member of a team on Tidings, a sign-in link is on its way. It works once, within 15 minutes.",
        html! {},
    )
}

/// Takes one sign-in or fresh-link request from the client address's bucket
/// ([`super::SIGNINS_PER_10_MINUTES`]); the 429 page when it is empty.
pub(super) fn signin_refused(
    st: &WebState,
    extensions: &axum::http::Extensions,
    headers: &HeaderMap,
) -> Option<Response> {
    let key = super::limit::Key::Signin(st.client_ip(extensions, headers));
    st.signins
        .check(key, std::time::Instant::now())
        .err()
        .map(|wait| {
            message_page(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many requests",
                &format!(
                    "Too many sign-in links were asked for from your address. Try again in {} minutes.",
                    wait.as_secs() / 60 + 1
                ),
                html! {},
            )
        })
}

/// Whether `m` may be sent an email they did not ask for by reply (a sign-in or fresh
/// link): at most one of `prefix` in `every`, and three of any such in an hour, counted over
/// the last hour (a sliding window, not a clock-hour bucket).
pub(super) async fn unsolicited_allowed(
    ctx: &crate::jobs::Ctx,
    m: &Member,
    prefix: &str,
    every: chrono::Duration,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<bool> {
    let s = &ctx.store;
    if s.mail_with_key_since(m.id, prefix, (now - every).timestamp())
        .await?
        > 0
    {
        return Ok(false);
    }
    let hour = (now - chrono::Duration::hours(1)).timestamp();
    let recent = s.mail_with_key_since(m.id, "signin:", hour).await?
        + s.mail_with_key_since(m.id, "link:", hour).await?;
    Ok(recent < MAX_UNSOLICITED_PER_HOUR)
}

/// Sign-in and fresh-link emails one member may be sent in an hour, whoever asks.
pub const MAX_UNSOLICITED_PER_HOUR: i64 = 3;

/// The answer to a form posted from another site: nothing was done.
pub(super) fn forbidden() -> Response {
    message_page(
        StatusCode::FORBIDDEN,
        "Not allowed",
        "This form was sent from another site, so nothing was done.",
        html! {},
    )
}

async fn send_link(st: &WebState, email: &EmailAddress) -> anyhow::Result<()> {
    let ctx = &st.ctx;
    let Some(m) = ctx.store.member_by_email(email).await? else {
        return Ok(());
    };
    let now = Utc::now();
    // One every 10 minutes per member, so the form cannot flood anyone.
    if !unsolicited_allowed(ctx, &m, "signin:", chrono::Duration::minutes(10), now).await? {
        return Ok(());
    }
    let key = format!("signin:{}:{}", m.id, now.timestamp());
    let token = generate_api_token();
    ctx.store
        .add_signin_link(
            m.id,
            &hash_api_token(&token),
            now.timestamp(),
            now.timestamp() + SIGNIN_MINUTES * 60,
        )
        .await?;
    let url = format!(
        "{}/signin/{token}",
        ctx.config.web.base_url.trim_end_matches('/')
    );
    let text = format!(
        "Someone (we hope you) asked to sign in to Tidings with this address. This link signs you in once, within {SIGNIN_MINUTES} minutes:\n\n{url}\n\nIf you did not ask for it, you can ignore this email: nothing happens until the link is used.\n"
    );
    let notice =
        crate::jobs::compose::notice(ctx, &m, &key, "Your Tidings sign-in link", &text, None, now)?;
    ctx.queue(&notice, now).await?;
    crate::jobs::send::run(ctx, now).await?;
    Ok(())
}

/// The page for a link that does not sign in: 410 for one that was used or has expired, 404
/// for one that was never sent; both offer the form to ask for another.
async fn link_gone(st: &WebState, hash: &str) -> Result<Response, AppError> {
    let (status, why) = if st.ctx.store.signin_link_exists(hash).await? {
        (
            StatusCode::GONE,
            "This sign-in link has been used or has expired (they work once, within 15 minutes). Ask for a new one:",
        )
    } else {
        (
            StatusCode::NOT_FOUND,
            "This is not a sign-in link we sent (it may have been cut short). Ask for a new one:",
        )
    };
    Ok(html_response(
        status,
        page("Link not valid", signin_body(st, why)),
    ))
}

/// A one-time sign-in link: a page with a button that signs in (nothing is used up by
/// opening it), or, for a used, expired or unknown link, the form to ask for another.
#[utoipa::path(get, path = "/signin/{token}", tag = "pages",
    params(("token" = String, Path, description = "The one-time token from the email.")),
    responses(
        (status = 200, description = "The button that signs in.", body = String, content_type = "text/html"),
        (status = 404, description = "Not a link that was sent: the form to ask for another.", body = String, content_type = "text/html"),
        (status = 410, description = "Used or expired: the form to ask for another.", body = String, content_type = "text/html"),
    ))]
pub(super) async fn signin_page(
    State(st): State<WebState>,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let now = Utc::now().timestamp();
    let hash = hash_api_token(&token);
    let Some(id) = st.ctx.store.signin_link_member(&hash, now).await? else {
        return link_gone(&st, &hash).await;
    };
    let name = st
        .ctx
        .store
        .member_by_id(id)
        .await?
        .map(|m| m.name)
        .unwrap_or_default();
    Ok(html_response(
        StatusCode::OK,
        page(
            "Sign in",
            html! {
                h1 { "Sign in to Tidings" }
                p { "Welcome back, " (name) ". This link works once." }
                form method="post" {
                    button.primary type="submit" { "Sign in" }
                }
            },
        ),
    ))
}

/// Uses the one-time link: a session starts and the answer leads to the log.
#[utoipa::path(post, path = "/signin/{token}", tag = "pages",
    params(("token" = String, Path, description = "The one-time token from the email.")),
    responses(
        (status = 303, description = "Signed in: the session cookie is set; see `/log`."),
        (status = 403, description = "The form was sent from another site.", body = String, content_type = "text/html"),
        (status = 404, description = "Not a link that was sent: the form to ask for another.", body = String, content_type = "text/html"),
        (status = 410, description = "Used or expired: the form to ask for another.", body = String, content_type = "text/html"),
    ))]
pub(super) async fn signin_use(
    State(st): State<WebState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    if !super::prefs::same_origin(&headers, &st.ctx.config.web.base_url) {
        return Ok(forbidden());
    }
    let now = Utc::now().timestamp();
    let hash = hash_api_token(&token);
    match st.ctx.store.use_signin_link(&hash, now).await? {
        Some(id) => start(&st, id, "/log").await,
        None => link_gone(&st, &hash).await,
    }
}

/// Ends this browser's session.
#[utoipa::path(post, path = "/signout", tag = "pages",
    responses(
        (status = 303, description = "Signed out: the cookie is cleared; see `/signin`."),
        (status = 403, description = "The form was sent from another site.", body = String, content_type = "text/html"),
    ))]
pub(super) async fn signout(
    State(st): State<WebState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    if !super::prefs::same_origin(&headers, &st.ctx.config.web.base_url) {
        return Ok(forbidden());
    }
    if let Some(t) = super::cookie(&headers, COOKIE) {
        st.ctx
            .store
            .revoke_session(&hash_api_token(&t), Utc::now().timestamp())
            .await?;
    }
    Ok(see_other("/signin", Some(set_cookie(&st, "", 0))))
}

#[derive(Debug, Deserialize)]
pub(super) struct OpenLog {
    date: Option<String>,
}

/// From an email's signed link to the team log: a session starts for the link's member and
/// the answer leads to their team's log (the day `date`, when given).
#[utoipa::path(get, path = "/p/{token}/log", tag = "pages",
    params(
        ("token" = String, Path, description = "The signed, expiring link of one member."),
        ("date" = Option<String>, Query, format = Date, description = "A local date to open the log at (YYYY-MM-DD)."),
    ),
    responses(
        (status = 303, description = "Signed in: see the log."),
        (status = 403, description = "The link is not valid: a page offering a fresh one.", body = String, content_type = "text/html"),
        (status = 410, description = "The link has expired, or was ended by `member signout`: a page offering a fresh one.", body = String, content_type = "text/html"),
    ))]
pub(super) async fn open_log(
    State(st): State<WebState>,
    Path(token): Path<String>,
    q: Result<Query<OpenLog>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, AppError> {
    let m = match super::prefs::linked_member(&st, &token).await? {
        Ok(m) => m,
        Err(page) => return Ok(page),
    };
    let date = q
        .ok()
        .and_then(|Query(q)| q.date)
        .and_then(|d| crate::domain::parse_strict_date(&d));
    start(&st, m.id, &log_home(&m, date)).await
}

#[derive(Debug, Deserialize)]
pub(super) struct OpenBlockers {
    team: Option<String>,
}

/// From a digest's "See the open blockers": a session starts for the link's member and the
/// answer leads to the open blockers of team `team` (one of theirs), else of their first team.
#[utoipa::path(get, path = "/p/{token}/blockers", tag = "pages",
    params(
        ("token" = String, Path, description = "The signed, expiring link of one member."),
        ("team" = Option<String>, Query, description = "The team whose blockers to open (one of the member's)."),
    ),
    responses(
        (status = 303, description = "Signed in: see the team's open blockers (or the teams, for a member in none)."),
        (status = 403, description = "The link is not valid: a page offering a fresh one.", body = String, content_type = "text/html"),
        (status = 410, description = "The link has expired, or was ended by `member signout`: a page offering a fresh one.", body = String, content_type = "text/html"),
    ))]
pub(super) async fn open_blockers(
    State(st): State<WebState>,
    Path(token): Path<String>,
    q: Result<Query<OpenBlockers>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, AppError> {
    let m = match super::prefs::linked_member(&st, &token).await? {
        Ok(m) => m,
        Err(page) => return Ok(page),
    };
    let asked = q.ok().and_then(|Query(q)| q.team);
    let team = asked
        .as_ref()
        .filter(|t| m.teams.contains(t))
        .or_else(|| m.teams.iter().min());
    let to = match team {
        Some(t) => format!("/log/{}/blockers", super::log::path_segment(t)),
        None => "/log".to_string(),
    };
    start(&st, m.id, &to).await
}

/// Where a member lands once signed in: their first team's log (at day `date`, when given),
/// or the list of teams when they have none.
pub(super) fn log_home(m: &Member, date: Option<chrono::NaiveDate>) -> String {
    match (m.teams.iter().min(), date) {
        (Some(team), Some(d)) => format!("/log/{}?from={d}&to={d}", super::log::path_segment(team)),
        (Some(team), None) => format!("/log/{}", super::log::path_segment(team)),
        (None, _) => "/log".to_string(),
    }
}
