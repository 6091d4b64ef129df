//! The preferences page behind the signed, expiring link in every email (`/p/{token}`): time
//! zone, request and digest times, workdays, time away, pause and unsubscribe, and the next
//! digest as the real schedule computes it. Plain HTML forms (maud, no JavaScript).
//!
//! A link acts for its own member only (the member id is inside the signed token). Every POST
//! carries a form token bound to that member and link (CSRF) and is refused when an `Origin`
//! header names another site. An expired or tampered link never acts: it gets a page offering
//! a fresh link by email, which never reveals whether an address is a member.

mod activity;
mod calendar;
mod form;
mod groups;
mod link;
mod page;
mod rooms;
mod shape;
mod update;

use std::collections::HashMap;

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use maud::html;

pub use self::form::PrefsForm;
use self::form::{Rejected, form_change};
use self::link::link_request_form;
use self::page::render;
use super::html::{html_response, page};
use super::{AppError, Routes, WebState};
use crate::domain::token::{LinkToken, TokenError};
use crate::jobs::Ctx;

pub(super) fn routes(r: Routes) -> Routes {
    r.add(utoipa_axum::routes!(show, submit))
        .add(crate::web::guard::small_form(utoipa_axum::routes!(
            link::link_form,
            link::send_link
        )))
        .add(utoipa_axum::routes!(update::show_update))
        .add(utoipa_axum::routes!(activity::draft_page))
}

/// The form token of the page for `member` reached through `link`.
pub fn csrf_token(ctx: &Ctx, member: i64, link: &str) -> String {
    ctx.secret.sign("csrf", &format!("{member}:{link}"))
}

/// The page for a link that does not work: why, and a form to get a fresh one by email.
pub(crate) fn bad_link_page(e: &TokenError) -> Response {
    let (status, why) = match e {
        TokenError::Expired => (
            StatusCode::GONE,
            "This preferences link has expired. Links in emails stay valid for a limited time.",
        ),
        TokenError::Revoked => (
            StatusCode::GONE,
            "This link was ended: you (or your Tidings admin) signed out everywhere, which ends every link from earlier emails.",
        ),
        _ => (
            StatusCode::FORBIDDEN,
            "This preferences link is not valid (it may have been cut short or changed).",
        ),
    };
    html_response(status, page("Link not valid", link_request_form(why)))
}

/// The member a link acts for: its one canonical spelling, signed over the member's current
/// link epoch (`member signout` raises it) and not expired. `Err(None)` when the member is
/// gone.
async fn verify(
    ctx: &Ctx,
    token: &str,
) -> Result<Result<crate::domain::Member, TokenError>, AppError> {
    let signed = match LinkToken::parse(token) {
        Ok(s) => s,
        Err(e) => return Ok(Err(e)),
    };
    let Some(m) = ctx.store.member_by_id(signed.member).await? else {
        return Ok(Err(TokenError::BadSignature));
    };
    Ok(signed
        .check(&ctx.secret, m.epoch, Utc::now().timestamp())
        .map(|_| m))
}

/// The preferences page: time zone, request and digest times, workdays, time away, pause and
/// unsubscribe, and the next request and digest as the planner will send them.
#[utoipa::path(get, path = "/p/{token}", tag = "pages",
    params(
        ("token" = String, Path, description = "The signed, expiring link of one member."),
        ("done" = Option<String>, Query, description = "What the last change did (shown as a message): saved, away-added, away-removed, unsubscribed, resubscribed."),
    ),
    responses(
        (status = 200, description = "The page.", body = String, content_type = "text/html"),
        (status = 403, description = "The link is not valid: a page offering a fresh one.", body = String, content_type = "text/html"),
        (status = 410, description = "The link has expired, or was ended by `member signout`: a page offering a fresh one.", body = String, content_type = "text/html"),
    ))]
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

/// The member a link acts for, or the page saying the link does not work (expired, altered,
/// or its member no longer exists).
pub(super) async fn linked_member(
    st: &WebState,
    token: &str,
) -> Result<Result<crate::domain::Member, Response>, AppError> {
    Ok(verify(&st.ctx, token).await?.map_err(|e| bad_link_page(&e)))
}

async fn show_inner(st: &WebState, token: &str, flash: Option<&str>) -> Result<Response, AppError> {
    let m = match linked_member(st, token).await? {
        Ok(m) => m,
        Err(page) => return Ok(page),
    };
    Ok(html_response(
        StatusCode::OK,
        render(&st.ctx, &m, token, flash, &Rejected::default()).await?,
    ))
}

fn error_page(e: AppError) -> Response {
    super::html::message_page(e.status, "Something went wrong", &e.message, html! {})
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

/// A change from the preferences page (`action`: save, add-away, remove-away:FROM..TO,
/// unsubscribe, resubscribe), with the page's form token; redirects back to the page.
#[utoipa::path(post, path = "/p/{token}", tag = "pages",
    params(("token" = String, Path, description = "The signed, expiring link of one member.")),
    request_body(content = PrefsForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Saved: see the page again (`?done=…`)."),
        (status = 400, description = "The body is not a form.", body = String, content_type = "text/html"),
        (status = 403, description = "The link or the form token is not valid, or the form was sent from another site.", body = String, content_type = "text/html"),
        (status = 410, description = "The link has expired, or was ended by `member signout`: a page offering a fresh one.", body = String, content_type = "text/html"),
        (status = 422, description = "Nothing saved: the page again with every problem beside its field.", body = String, content_type = "text/html"),
    ))]
async fn submit(
    State(st): State<WebState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    form: Result<Form<PrefsForm>, FormRejection>,
) -> Response {
    // The link first: an expired or tampered link never acts, whatever the form says.
    let link = match verify(&st.ctx, &token).await {
        Ok(Ok(m)) => m,
        Ok(Err(e)) => return bad_link_page(&e),
        Err(e) => return error_page(e),
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
            .verify("csrf", &format!("{}:{token}", link.id), c)
    });
    if !csrf_ok {
        return forbidden(
            "This form has expired or was not sent from your preferences page. Open your link again.",
        );
    }
    match submit_inner(&st, &token, link.id, &form).await {
        Ok(r) => r,
        Err(e) => error_page(e),
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
    if f.action
        .as_deref()
        .is_some_and(|a| a.starts_with("calendar") || a.starts_with("event-"))
    {
        return match calendar::submit(&st.ctx, &m, f).await? {
            Ok(done) => {
                Ok(Redirect::to(&format!("/p/{token}?done={done}#calendars")).into_response())
            }
            Err(rejected) => refused(st, &m, token, f, rejected).await,
        };
    }
    if f.action
        .as_deref()
        .is_some_and(|a| a.starts_with("activity-"))
    {
        return match activity::submit(&st.ctx, &m, f).await? {
            Ok(done) => {
                Ok(Redirect::to(&format!("/p/{token}?done={done}#activity")).into_response())
            }
            Err(rejected) => refused(st, &m, token, f, rejected).await,
        };
    }
    if let Some(a @ ("rooms-on" | "rooms-off")) = f.action.as_deref() {
        let done = rooms::submit(&st.ctx, &m, a).await?;
        return Ok(Redirect::to(&format!("/p/{token}?done={done}#rooms")).into_response());
    }
    if f.action.as_deref() == Some("shape") {
        return match shape::submit(&st.ctx, &m, f).await? {
            Ok(done) => Ok(Redirect::to(&format!("/p/{token}?done={done}")).into_response()),
            Err(rejected) => refused(st, &m, token, f, rejected).await,
        };
    }
    match form_change(f, &m) {
        Ok((ch, done)) => {
            crate::jobs::members::change(&st.ctx, &m.email, &ch, None, Utc::now()).await?;
            // Post/redirect/get: reloading the result page does not submit again.
            Ok(Redirect::to(&format!("/p/{token}?done={done}")).into_response())
        }
        Err(rejected) => refused(st, &m, token, f, rejected).await,
    }
}

/// The page again with what `f` asked for and why it was refused (422, nothing saved).
async fn refused(
    st: &WebState,
    m: &crate::domain::Member,
    token: &str,
    f: &PrefsForm,
    rejected: Rejected<'_>,
) -> Result<Response, AppError> {
    let rejected = Rejected {
        typed: Some(f),
        ..rejected
    };
    Ok(html_response(
        StatusCode::UNPROCESSABLE_ENTITY,
        render(&st.ctx, m, token, None, &rejected).await?,
    ))
}
