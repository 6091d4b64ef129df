//! One update read whole (`/p/{token}/updates/{id}`): where a digest entry's "read the rest"
//! leads. The reader's own signed link opens it; a reader sees their own updates and their
//! teammates', nothing else (another update id answers as if it did not exist).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;

use super::error_page;
use crate::web::html::{html_response, message_page, page};
use crate::web::{AppError, WebState};

/// An update whole, by its sections, for a reader of the team.
#[utoipa::path(get, path = "/p/{token}/updates/{id}", tag = "pages",
    params(
        ("token" = String, Path, description = "The signed, expiring link of the reader."),
        ("id" = i64, Path, description = "The update's id (from a digest entry's link)."),
    ),
    responses(
        (status = 200, description = "The update.", body = String, content_type = "text/html"),
        (status = 403, description = "The link is not valid: a page offering a fresh one.", body = String, content_type = "text/html"),
        (status = 404, description = "No such update, or not one this reader may read.", body = String, content_type = "text/html"),
        (status = 410, description = "The link has expired, or was ended by `member signout`: a page offering a fresh one.", body = String, content_type = "text/html"),
    ))]
pub(super) async fn show_update(
    State(st): State<WebState>,
    Path((token, id)): Path<(String, String)>,
) -> Response {
    match show_inner(&st, &token, &id).await {
        Ok(r) => r,
        Err(e) => error_page(e),
    }
}

async fn show_inner(st: &WebState, token: &str, id: &str) -> Result<Response, AppError> {
    let reader = match super::linked_member(st, token).await? {
        Ok(m) => m,
        Err(page) => return Ok(page),
    };
    let not_found = || {
        message_page(
            StatusCode::NOT_FOUND,
            "Update not found",
            "There is no such update, or it belongs to a team you are not in.",
            html! { p { a href=(format!("/p/{token}")) { "Your preferences" } } },
        )
    };
    let Ok(id) = id.parse::<i64>() else {
        return Ok(not_found());
    };
    let Some(t) = st.ctx.store.readable_update(reader.id, id).await? else {
        return Ok(not_found());
    };
    let u = &t.update;
    let day = u.local_date.format("%A, %-d %B %Y").to_string();
    let title = format!("{}'s update for {day}", t.author_name);
    let back = format!("/p/{token}/log");
    let body = html! {
        p.back { a href=(back) { "\u{2190} Back to the team log" } }
        h1 { (title) }
        p.muted {
            @if u.source == "api" { "Posted through the API" } @else { "Written by email" }
            " · " (t.author_tz)
            @if u.revision > 1 { " · edited (" (u.revision) " versions)" }
        }
        (crate::web::log::sections_html(&u.sections, None, false))
        p { a href=(back) { "Read the rest of the team log" } " · " a href=(format!("/p/{token}")) { "Your preferences" } }
    };
    Ok(html_response(StatusCode::OK, page(&title, body)))
}
