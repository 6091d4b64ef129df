//! `/log/{team}/blockers`: a team's open blockers, oldest first, each with how long it has
//! been open; the signed-in member's own has a button that marks it resolved.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Utc;
use maud::html;

use super::{Current, header, path_segment, readable_team};
use crate::domain::blockers::open_workdays;
use crate::web::api::ApiPath;
use crate::web::html::{html_response, message_page, page_with};
use crate::web::session::Viewer;
use crate::web::{AppError, WebState};

/// A team's open blockers, by the rule of [`crate::domain::blockers`]: each member's blocker
/// still open, since when and for how many of their workdays; the signed-in member's own has a
/// button that marks it resolved.
#[utoipa::path(get, path = "/log/{team}/blockers", tag = "pages",
    params(("team" = crate::domain::TeamName, Path, description = "The team.")),
    responses(
        (status = 200, description = "The open blockers.", body = String, content_type = "text/html"),
        (status = 303, description = "Not signed in: see `/signin`."),
        (status = 404, description = "No such team among the reader's.", body = String, content_type = "text/html"),
    ))]
pub(in crate::web) async fn blockers_page(
    State(st): State<WebState>,
    headers: HeaderMap,
    ApiPath(team): ApiPath,
) -> Result<Response, AppError> {
    let v = match readable_team(&st, &headers, &team).await? {
        Ok(v) => v,
        Err(r) => return Ok(r),
    };
    let me = match &v {
        Viewer::Member(m) => Some(m.id),
        Viewer::Admin => None,
    };
    let people = st
        .ctx
        .store
        .members_in_teams(std::slice::from_ref(&team))
        .await?;
    let ids: Vec<i64> = people.iter().map(|m| m.id).collect();
    let blockers = st.ctx.store.open_blockers(&ids).await?;
    let mut open: Vec<(
        &crate::domain::Member,
        &crate::domain::blockers::OpenBlocker,
        u32,
    )> = people
        .iter()
        .filter_map(|m| {
            let b = blockers.get(&m.id)?;
            let days = open_workdays(b.since, m.tz, m.workdays, Utc::now());
            Some((m, b, days))
        })
        .collect();
    open.sort_by_key(|o| o.1.since);
    let title = format!("{team}: open blockers");
    let body = html! {
        h1 { "Open blockers" }
        @if open.is_empty() {
            div.empty {
                p { strong { "No open blockers." } " When someone answers \u{201c}Anything blocking you?\u{201d}, the blocker shows here until they resolve it." }
            }
        } @else {
            p.muted { (open.len()) " open, oldest first." }
            ul.blockers {
                @for (m, b, days) in &open {
                    li {
                        a.who href=(format!("/log/{}?member={}", path_segment(&team), path_segment(m.email.as_str()))) { strong { (m.name) } }
                        span.pill.pill-blocker { "open " (days) " workday" @if *days != 1 { "s" } }
                        span.muted { " · since " (b.since.format("%a %-d %b")) }
                        p { @for (i, l) in b.lines.iter().enumerate() { @if i > 0 { br; } (l) } }
                        @if me == Some(m.id) {
                            form method="post" action=(format!("/log/{}/blockers/resolve", path_segment(&team))) {
                                button type="submit" id="resolve" { "Mark resolved" }
                            }
                        }
                    }
                }
            }
        }
        p.muted { "A blocker stays open until its author resolves it (the button here, a reply with \u{201c}resolved\u{201d}, or the API) or a later update of theirs says there is none; an update that does not mention blockers carries it." }
    };
    Ok(html_response(
        StatusCode::OK,
        page_with(
            &title,
            &header(&st, &v, Some(&team), Current::Blockers),
            body,
        ),
    ))
}

/// The button on the blockers page: the signed-in member's open blocker is resolved, and the
/// page shown again.
#[utoipa::path(post, path = "/log/{team}/blockers/resolve", tag = "pages",
    params(("team" = crate::domain::TeamName, Path, description = "The team.")),
    responses(
        (status = 303, description = "Resolved (or nothing was open): back to the blockers page; not signed in: see `/signin`."),
        (status = 403, description = "The form was sent from another site, or by the admin (who has no blocker).", body = String, content_type = "text/html"),
        (status = 404, description = "No such team among the reader's.", body = String, content_type = "text/html"),
    ))]
pub(in crate::web) async fn resolve_blocker(
    State(st): State<WebState>,
    headers: HeaderMap,
    ApiPath(team): ApiPath,
) -> Result<Response, AppError> {
    if !crate::web::prefs::same_origin(&headers, &st.ctx.config.web.base_url) {
        return Ok(crate::web::session::forbidden());
    }
    let v = match readable_team(&st, &headers, &team).await? {
        Ok(v) => v,
        Err(r) => return Ok(r),
    };
    let Viewer::Member(m) = v else {
        return Ok(message_page(
            StatusCode::FORBIDDEN,
            "Not allowed",
            "Only a blocker's author resolves it.",
            html! {},
        ));
    };
    st.ctx.store.resolve_blocker(m.id).await?;
    Ok(crate::web::session::see_other(
        &format!("/log/{}/blockers", path_segment(&team)),
        None,
    ))
}
