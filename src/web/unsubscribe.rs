//! The `List-Unsubscribe` URL of every email (`/u/{token}`, signed for one member).
//!
//! Mail security scanners and link previewers fetch every URL in a message (RFC 8058 §3), so
//! a `GET` (and `HEAD`) only shows what would happen, with an Unsubscribe button. Only a
//! `POST` acts: the RFC 8058 one-click POST from a mail client (`List-Unsubscribe=One-Click`,
//! answered with JSON), or that button (answered with a page offering "Subscribe again",
//! signed for the same member).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use chrono::Utc;
use maud::{Markup, html};

use super::html::{html_response, message_page, page};
use super::{AppError, Routes, WebState};
use crate::domain::Member;
use crate::domain::token::LinkToken;
use crate::jobs::Ctx;
use crate::store::MemberChange;

pub(super) fn routes(r: Routes) -> Routes {
    r.add(utoipa_axum::routes!(confirm, act))
}

/// The member a link names, or why the link cannot act.
async fn member_of(ctx: &Ctx, token: &str) -> Result<Member, AppError> {
    let bad = |e: crate::domain::token::TokenError| {
        AppError::new(
            StatusCode::FORBIDDEN,
            "bad_link",
            format!("this unsubscribe link is not valid: {e}"),
        )
    };
    let signed = LinkToken::parse(token).map_err(bad)?;
    let m = ctx
        .store
        .member_by_id(signed.member)
        .await?
        .ok_or_else(|| AppError::new(StatusCode::NOT_FOUND, "not_found", "no such member"))?;
    // Unlike every other link, a signout does not end this one: an email's one-click
    // unsubscribe must keep working for as long as the email is read (RFC 8058).
    signed
        .check_any_epoch(&ctx.secret, m.epoch, Utc::now().timestamp())
        .map_err(bad)?;
    Ok(m)
}

async fn set_unsubscribed(ctx: &Ctx, m: &Member, on: bool) -> Result<Member, AppError> {
    let ch = MemberChange {
        unsubscribed: Some(on),
        ..Default::default()
    };
    // Subscribing again, requests and digests resume from the next fire (today's too, if
    // still due).
    Ok(crate::jobs::members::change(ctx, &m.email, &ch, None, Utc::now()).await?)
}

/// What unsubscribing stops, said on both pages.
fn what_stops() -> Markup {
    html! {
        p { "You will get no more update requests, reminders or digests from Tidings. "
            "Your past updates stay where they are, and your teammates' digests no longer list you among those who have not written yet." }
    }
}

fn confirm_page(m: &Member, action: &str, prefs: &str) -> Markup {
    page(
        "Unsubscribe",
        html! {
            h1 { "Unsubscribe from Tidings?" }
            p { "This stops all Tidings email to " strong { (m.email.as_str()) } "." }
            (what_stops())
            form method="post" action=(action) {
                input type="hidden" name="action" value="unsubscribe";
                button.primary type="submit" id="unsubscribe" { "Unsubscribe" }
            }
            p class="muted" { "Only want fewer emails? "
                a href=(prefs) { "Change your days, times or time away" } " instead, or pause for a while." }
        },
    )
}

fn unsubscribed_page(m: &Member, action: &str, prefs: &str) -> Markup {
    page(
        "Unsubscribed",
        html! {
            h1 { "You are unsubscribed" }
            p role="status" { "Tidings will send no more email to " strong { (m.email.as_str()) } "." }
            (what_stops())
            form method="post" action=(action) {
                input type="hidden" name="action" value="resubscribe";
                button.primary type="submit" id="resubscribe" { "Subscribe again" }
            }
            p class="muted" { a href=(prefs) { "Your preferences" } }
        },
    )
}

fn resubscribed_page(m: &Member, prefs: &str) -> Markup {
    page(
        "Subscribed again",
        html! {
            h1 { "Welcome back" }
            p role="status" { "Update requests and digests to " strong { (m.email.as_str()) } " resume from the next one on your schedule." }
            p { a href=(prefs) { "Check your days and times" } }
        },
    )
}

fn bad_link_page(e: &AppError) -> Response {
    message_page(
        e.status,
        "This link does not work",
        &e.message,
        html! { p { "Every Tidings email carries a fresh unsubscribe link; you can also "
        a href="/link" { "ask for a link to your preferences" } "." } },
    )
}

/// The List-Unsubscribe URL: a page that says what unsubscribing stops, with an Unsubscribe
/// button (or, once unsubscribed, Subscribe again). A GET or HEAD changes nothing, so link
/// scanners cannot unsubscribe anyone.
#[utoipa::path(get, path = "/u/{token}", tag = "pages",
    params(("token" = String, Path, description = "The signed link of one member.")),
    responses(
        (status = 200, description = "The confirmation page (or the Subscribe again page).", body = String, content_type = "text/html"),
        (status = 403, description = "The link is not valid.", body = String, content_type = "text/html"),
        (status = 410, description = "The link has expired.", body = String, content_type = "text/html"),
    ))]
async fn confirm(State(st): State<WebState>, Path(token): Path<String>) -> Response {
    let m = match member_of(&st.ctx, &token).await {
        Ok(m) => m,
        Err(e) => return bad_link_page(&e),
    };
    let action = format!("/u/{token}");
    let prefs = st.ctx.prefs_url(&m, Utc::now());
    let body = if m.unsubscribed {
        unsubscribed_page(&m, &action, &prefs)
    } else {
        confirm_page(&m, &action, &prefs)
    };
    html_response(StatusCode::OK, body)
}

/// Unsubscribe: the RFC 8058 one-click POST (`List-Unsubscribe=One-Click`, or any other body a
/// mail client sends; answered with JSON), or the confirmation page's buttons
/// (`action=unsubscribe|resubscribe`; answered with a page).
#[utoipa::path(post, path = "/u/{token}", tag = "pages",
    params(("token" = String, Path, description = "The signed link of one member.")),
    request_body(content = UnsubscribeForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Unsubscribed (one-click: `{\"status\": \"unsubscribed\"}`; a button: a page saying what happened).", content(
            (super::Status = "application/json"),
            (String = "text/html"),
        )),
        (status = 403, description = "The link is not valid (one-click: bad_link), or a button posted from another site.", content(
            (super::openapi::ErrorBody = "application/json"),
            (String = "text/html"),
        )),
        (status = 410, description = "The link has expired (one-click: bad_link).", content(
            (super::openapi::ErrorBody = "application/json"),
            (String = "text/html"),
        )),
    ))]
async fn act(
    State(st): State<WebState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let action = form_field(&body, "action");
    let from_page = matches!(action.as_deref(), Some("unsubscribe" | "resubscribe"));
    if !from_page {
        return match one_click(&st.ctx, &token).await {
            Ok(()) => (
                StatusCode::OK,
                Json(super::Status {
                    status: "unsubscribed".into(),
                }),
            )
                .into_response(),
            Err(e) => e.into_response(),
        };
    }
    if !super::prefs::same_origin(&headers, &st.ctx.config.web.base_url) {
        return message_page(
            StatusCode::FORBIDDEN,
            "Not changed",
            "This form was sent from another site, so nothing was changed.",
            html! {},
        );
    }
    let m = match member_of(&st.ctx, &token).await {
        Ok(m) => m,
        Err(e) => return bad_link_page(&e),
    };
    let resubscribe = action.as_deref() == Some("resubscribe");
    let m = match set_unsubscribed(&st.ctx, &m, !resubscribe).await {
        Ok(m) => m,
        Err(e) => {
            return message_page(
                e.status,
                "Something went wrong",
                "Nothing was changed; please try again in a minute.",
                html! {},
            );
        }
    };
    let prefs = st.ctx.prefs_url(&m, Utc::now());
    let page = if resubscribe {
        resubscribed_page(&m, &prefs)
    } else {
        unsubscribed_page(&m, &format!("/u/{token}"), &prefs)
    };
    html_response(StatusCode::OK, page)
}

/// The body of `POST /u/{token}`: the one-click field a mail client sends, or the action of a
/// button on the page.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct UnsubscribeForm {
    /// `One-Click` (RFC 8058).
    #[schema(rename = "List-Unsubscribe", example = "One-Click", value_type = String, required = false)]
    list_unsubscribe: Option<String>,
    /// A button of the page: `unsubscribe` or `resubscribe`.
    #[schema(value_type = String, required = false, example = "unsubscribe")]
    action: Option<String>,
}

async fn one_click(ctx: &Ctx, token: &str) -> Result<(), AppError> {
    let m = member_of(ctx, token).await?;
    set_unsubscribed(ctx, &m, true).await?;
    Ok(())
}

/// One field of an `application/x-www-form-urlencoded` body (`None` when absent or the body is
/// not a form).
fn form_field(body: &[u8], name: &str) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
    pairs.into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}
