//! The team log as pages (no JavaScript, the page shell of every HTML answer): `/log` (the
//! reader's teams), `/log/{team}` (updates by day, newest first, with filters, search and
//! older pages) and `/log/{team}/blockers` (open blockers and how long they have been open).
//! A member signed in (see [`super::session`]) reads their own teams; the admin every team.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{NaiveDate, Utc};
use maud::html;

use super::html::{Header, html_response, message_page, page_with};
use super::session::{Viewer, viewer};
use super::{AppError, Routes, WebState};
use crate::domain::search::Snippet;
use crate::jobs::log::{self, LogError, Reader};

mod blockers;
mod entry;
mod team;

pub(crate) use entry::sections_html;

pub(super) fn routes(r: Routes) -> Routes {
    r.add(utoipa_axum::routes!(teams))
        .add(utoipa_axum::routes!(team::team_page))
        .add(utoipa_axum::routes!(blockers::blockers_page))
        .add(utoipa_axum::routes!(blockers::resolve_blocker))
}

/// A team name as one path segment.
pub(super) fn path_segment(team: &str) -> String {
    url::form_urlencoded::byte_serialize(team.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

fn reader(v: &Viewer) -> Reader<'_> {
    match v {
        Viewer::Member(m) => Reader::Member(m),
        Viewer::Admin => Reader::Admin,
    }
}

/// Whether `team` is written as a team name can be (the document's `TeamName`): a page for
/// anything else is a 404 at once, signed in or not.
fn team_name_ok(team: &str) -> bool {
    crate::domain::parse_team_name(team).is_ok_and(|t| t == team)
}

/// The log's pages are for a reader who signed in; anyone else is sent to sign in.
async fn signed_in(
    st: &WebState,
    headers: &HeaderMap,
) -> Result<Result<Viewer, Response>, AppError> {
    Ok(match viewer(st, headers).await? {
        Some(v) => Ok(v),
        None => Err(Redirect::to("/signin").into_response()),
    })
}

/// The reader of a team's page: a 404 for a name no team can have, else [`signed_in`].
async fn team_reader(
    st: &WebState,
    headers: &HeaderMap,
    team: &str,
) -> Result<Result<Viewer, Response>, AppError> {
    if !team_name_ok(team) {
        return Ok(Err(no_team()));
    }
    signed_in(st, headers).await
}

/// The reader of team `team`'s pages: signed in ([`team_reader`]) and allowed to read that
/// team (a member of it, or the admin); otherwise the answer to give (sign in, or 404).
async fn readable_team(
    st: &WebState,
    headers: &HeaderMap,
    team: &str,
) -> Result<Result<Viewer, Response>, AppError> {
    let v = match team_reader(st, headers, team).await? {
        Ok(v) => v,
        Err(r) => return Ok(Err(r)),
    };
    match log::team_for(&st.ctx, reader(&v), team).await {
        Ok(_) => Ok(Ok(v)),
        Err(LogError::NoTeam(_)) => Ok(Err(no_team())),
        Err(e) => Err(e.into()),
    }
}

fn no_team() -> Response {
    message_page(
        StatusCode::NOT_FOUND,
        "No such team",
        "There is no team of that name among yours.",
        html! { p { a href="/log" { "Your teams" } } },
    )
}

/// Which page of a team a header marks as the current one.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Current {
    Teams,
    Updates,
    Blockers,
}

/// The header of the log's pages: the team, its pages (Updates, Blockers), every team when
/// the reader has several, the reader's preferences, and Sign out.
pub(super) fn header<'a>(
    st: &WebState,
    v: &Viewer,
    team: Option<&'a str>,
    current: Current,
) -> Header<'a> {
    let mut nav = Vec::new();
    if let Some(t) = team {
        let seg = path_segment(t);
        nav.push((
            format!("/log/{seg}"),
            "Updates",
            current == Current::Updates,
        ));
        nav.push((
            format!("/log/{seg}/blockers"),
            "Blockers",
            current == Current::Blockers,
        ));
    }
    let several = match v {
        Viewer::Member(m) => m.teams.len() > 1,
        Viewer::Admin => true,
    };
    if several || team.is_none() {
        nav.push(("/log".to_string(), "All teams", current == Current::Teams));
    }
    if let Viewer::Member(m) = v {
        nav.push((st.ctx.prefs_url(m, Utc::now()), "Preferences", false));
    }
    Header {
        team,
        nav,
        signout: true,
    }
}

/// The teams the reader may read (all of them for the admin); one team goes straight to it.
#[utoipa::path(get, path = "/log", tag = "pages",
    responses(
        (status = 200, description = "The reader's teams.", body = String, content_type = "text/html"),
        (status = 303, description = "Not signed in: see `/signin`; or one team only: see its log."),
    ))]
pub(super) async fn teams(
    State(st): State<WebState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let v = match signed_in(&st, &headers).await? {
        Ok(v) => v,
        Err(r) => return Ok(r),
    };
    let names: Vec<String> = match &v {
        Viewer::Member(m) => {
            let mut t = m.teams.clone();
            t.sort();
            t
        }
        Viewer::Admin => st
            .ctx
            .store
            .list_teams()
            .await?
            .into_iter()
            .map(|(n, _)| n)
            .collect(),
    };
    if let (Viewer::Member(_), [only]) = (&v, names.as_slice()) {
        return Ok(Redirect::to(&format!("/log/{}", path_segment(only))).into_response());
    }
    Ok(html_response(
        StatusCode::OK,
        page_with(
            "Team log",
            &header(&st, &v, None, Current::Teams),
            html! {
                h1 { "Team log" }
                @if names.is_empty() {
                    div.empty {
                        p { "You are in no team yet, so there is no log to read." }
                        p.muted { "The admin adds you to a team (" code { "tidings member add --team" } "); its log then shows here." }
                    }
                } @else {
                    ul { @for n in &names { li { a href=(format!("/log/{}", path_segment(n))) { (n) } } } }
                }
            },
        ),
    ))
}

/// A search snippet, HTML-escaped, its matched words in `<mark>` (the log pages and the API):
/// built from the snippet's positions, one `<mark>` per match, whatever the text holds.
pub(crate) fn snippet_html(s: &Snippet) -> String {
    html! {
        @for (text, marked) in s.pieces() {
            @if marked { mark { (text) } } @else { (text) }
        }
    }
    .into_string()
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// A day's heading: its date, and "Today" or "Yesterday" in the reader's calendar.
fn day_heading(day: NaiveDate, today: NaiveDate) -> String {
    let date = day.format("%A %-d %B %Y");
    if day == today {
        format!("Today, {date}")
    } else if Some(day) == today.pred_opt() {
        format!("Yesterday, {date}")
    } else {
        date.to_string()
    }
}
