//! "Was this you?": the page behind the link a member gets when a message from their address
//! arrived without a reply token and our receiving server did not vouch for it. The GET shows
//! what arrived and a button (a mail scanner fetching the link confirms nothing); the POST
//! reads the message as the member's, once.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Utc;
use maud::html;

use super::html::{html_response, message_page, page};
use super::{AppError, Routes, WebState};
use crate::domain::Member;
use crate::domain::token::{ConfirmToken, TokenError};
use crate::jobs::ingest::{ConfirmError, Outcome, confirm};

pub(super) fn routes(r: Routes) -> Routes {
    r.add(utoipa_axum::routes!(confirm_page, confirm_use))
}

/// The message and member a link names, or the page saying why it does not work.
async fn linked(st: &WebState, token: &str) -> Result<Result<(i64, Member), Response>, AppError> {
    let bad = |e: TokenError| {
        let (status, why) = match e {
            TokenError::Expired => (StatusCode::GONE, "This link has expired."),
            TokenError::Revoked => (
                StatusCode::GONE,
                "This link was ended when you signed out everywhere.",
            ),
            _ => (
                StatusCode::FORBIDDEN,
                "This link is not valid (it may have been cut short or changed).",
            ),
        };
        message_page(status, "Link not valid", why, html! {})
    };
    let (t, sig) = match ConfirmToken::parse(token) {
        Ok(x) => x,
        Err(e) => return Ok(Err(bad(e))),
    };
    let Some(m) = st.ctx.store.member_by_id(t.member).await? else {
        return Ok(Err(bad(TokenError::BadSignature)));
    };
    if let Err(e) = t.check(&sig, &st.ctx.secret, m.epoch, Utc::now().timestamp()) {
        return Ok(Err(bad(e)));
    }
    Ok(Ok((t.inbound, m)))
}

fn done_page() -> Response {
    message_page(
        StatusCode::GONE,
        "Already confirmed",
        "This message was confirmed (or released) before: it was read once, and is not read again.",
        html! {},
    )
}

/// What arrived from the member's address, and the button that reads it as theirs.
#[utoipa::path(get, path = "/confirm/{token}", tag = "pages",
    params(("token" = String, Path, description = "The signed link from the \"Was this you?\" email.")),
    responses(
        (status = 200, description = "The message's subject and text, and the button.", body = String, content_type = "text/html"),
        (status = 403, description = "The link is not valid.", body = String, content_type = "text/html"),
        (status = 410, description = "Expired, ended by `member signout`, or the message was confirmed before.", body = String, content_type = "text/html"),
    ))]
pub(super) async fn confirm_page(
    State(st): State<WebState>,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let (id, m) = match linked(&st, &token).await? {
        Ok(x) => x,
        Err(page) => return Ok(page),
    };
    let Some(row) = st.ctx.store.inbound(id).await? else {
        return Ok(done_page());
    };
    if row.status != crate::store::InboundStatus::Quarantined.as_str() {
        return Ok(done_page());
    }
    let p = crate::mail::parse::parse(&row.raw).unwrap_or_default();
    let received = chrono::DateTime::from_timestamp(row.received_at, 0)
        .map(|t| {
            let local = t.with_timezone(&m.tz);
            format!(
                "{} ({})",
                local.format("%H:%M on %a %-d %b %Y"),
                m.tz.name()
            )
        })
        .unwrap_or_default();
    Ok(html_response(
        StatusCode::OK,
        page(
            "Was this you?",
            html! {
                h1 { "Was this you?" }
                p { "A message from " strong { (m.email) } " arrived at " (received)
                    " without the reply address of one of our emails, and your mail server's check could not confirm that you sent it. Nothing in it was used." }
                h2 { "Subject: " (p.subject) }
                pre class="quoted" { (p.text.chars().take(2000).collect::<String>()) }
                form method="post" {
                    button.primary type="submit" { "Yes, I sent it: read it as my reply" }
                }
                p { "If you did not send it, close this page: it stays aside." }
            },
        ),
    ))
}

/// Reads the message as the member's reply, once.
#[utoipa::path(post, path = "/confirm/{token}", tag = "pages",
    params(("token" = String, Path, description = "The signed link from the \"Was this you?\" email.")),
    responses(
        (status = 200, description = "Read: what became of it.", body = String, content_type = "text/html"),
        (status = 403, description = "The link is not valid, or the form came from another site.", body = String, content_type = "text/html"),
        (status = 410, description = "Expired, ended by `member signout`, or the message was confirmed before.", body = String, content_type = "text/html"),
    ))]
pub(super) async fn confirm_use(
    State(st): State<WebState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    if !super::prefs::same_origin(&headers, &st.ctx.config.web.base_url) {
        return Ok(super::session::forbidden());
    }
    let (id, m) = match linked(&st, &token).await? {
        Ok(x) => x,
        Err(page) => return Ok(page),
    };
    let said = match confirm(&st.ctx, id, &m, Utc::now()).await {
        Ok(Outcome::Accepted { .. }) => {
            "Thank you: your message was read as your update. A receipt is on its way.".to_string()
        }
        Ok(Outcome::Command(what)) => format!("Thank you: done. {what}"),
        Ok(Outcome::Quarantined(why)) => {
            format!("Your message was read, but could not be used: {why}")
        }
        Ok(_) => "Your message was read.".to_string(),
        Err(ConfirmError::Done | ConfirmError::NotFound) => return Ok(done_page()),
        Err(ConfirmError::Other(e)) => return Err(e.into()),
    };
    Ok(message_page(StatusCode::OK, "Confirmed", &said, html! {}))
}
