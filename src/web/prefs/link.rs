//! Asking for a fresh link (`/link`): the form, and a notice with a new link for an address that
//! belongs to a member. The answer is the same either way.

use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;

use super::error_page;
use crate::domain::EmailAddress;
use crate::jobs::Ctx;
use crate::web::WebState;
use crate::web::html::{html_response, page};

pub(super) fn link_request_form(why: &str) -> Markup {
    html! {
        h1 { "Get a fresh link" }
        p { (why) }
        p { "Enter your email address and we will send a new link to it if it belongs to a member of a team on Tidings." }
        form method="post" action="/link" {
            label for="email" { "Email address" }
            input type="email" id="email" name="email" required size="32";
            br;
            button.primary type="submit" { "Email me a fresh link" }
        }
    }
}

/// A form to ask for a fresh preferences link by email.
#[utoipa::path(get, path = "/link", tag = "pages",
    responses((status = 200, description = "The form.", body = String, content_type = "text/html")))]
pub(super) async fn link_form() -> Response {
    html_response(
        StatusCode::OK,
        page(
            "Get a fresh link",
            link_request_form("Your preferences are reached through a personal link."),
        ),
    )
}

#[derive(Debug, Deserialize)]
pub(super) struct LinkRequest {
    email: Option<String>,
}

/// Ask for a fresh preferences link: a notice with a new link goes to the address when it is
/// a member's (at most one an hour); the answer is the same either way, so the form cannot be
/// used to find out who is a member.
#[utoipa::path(post, path = "/link", tag = "pages",
    request_body(content = Option<String>, content_type = "application/x-www-form-urlencoded",
        description = "A form whose field `email` is read; any other body is answered the same."),
    responses(
        (status = 200, description = "Check your email (whatever the address).", body = String, content_type = "text/html"),
        (status = 403, description = "The form was sent from another site.", body = String, content_type = "text/html"),
        (status = 429, description = "Too many link requests from this client address (5 in 10 minutes, with sign-in).", body = String, content_type = "text/html"),
        (status = 413, description = "A body larger than 4 KiB (one address is far less).", body = String, content_type = "text/html"),
    ))]
pub(super) async fn send_link(
    State(st): State<WebState>,
    headers: axum::http::HeaderMap,
    extensions: axum::http::Extensions,
    form: Result<Form<LinkRequest>, FormRejection>,
) -> Response {
    if !super::same_origin(&headers, &st.ctx.config.web.base_url) {
        return crate::web::session::forbidden();
    }
    if let Err(rej) = &form
        && rej.status() == StatusCode::PAYLOAD_TOO_LARGE
    {
        return error_page(crate::web::api::too_large());
    }
    if let Some(page) = crate::web::session::signin_refused(&st, &extensions, &headers) {
        return page;
    }
    let email = form
        .ok()
        .and_then(|Form(f)| f.email)
        .and_then(|e| EmailAddress::parse(&e).ok());
    // Looked up and queued after the answer, so its timing tells nothing about who is a
    // member; the next send pass delivers it.
    if let Some(e) = email {
        let ctx = st.ctx.clone();
        tokio::spawn(async move {
            if let Err(err) = queue_fresh_link(&ctx, &e).await {
                tracing::error!(error = %format!("{err:#}"), "cannot queue a fresh preferences link");
            }
        });
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
    let url = ctx.prefs_url(&m, now);
    let text = format!(
        "You asked for a fresh link to your Tidings preferences. It is valid for {} days:\n\n{url}\n\nIf you did not ask for it, you can ignore this email.\n",
        ctx.config.security.link_ttl_days
    );
    // One per member and hour (counted over the last hour), so the form cannot be used to
    // flood a member.
    if !crate::web::session::unsolicited_allowed(ctx, &m, "link:", chrono::Duration::hours(1), now)
        .await?
    {
        return Ok(());
    }
    let key = format!("link:{}:{}", m.id, now.timestamp());
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
