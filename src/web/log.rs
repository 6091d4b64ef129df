//! The team log as pages (no JavaScript, the page shell of every HTML answer): `/log` (the
//! reader's teams), `/log/{team}` (updates by day, newest first, with filters, search and
//! older pages) and `/log/{team}/blockers` (open blockers and how long they have been open).
//! A member signed in (see [`super::session`]) reads their own teams; the admin every team.

use std::collections::BTreeMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{NaiveDate, Utc};
use maud::{Markup, PreEscaped, html};
use serde::Deserialize;

use super::api::ApiPath;
use super::html::{html_response, message_page, page};
use super::session::{Viewer, viewer};
use super::{AppError, Routes, WebState};
use crate::domain::blockers::open_workdays;
use crate::domain::schedule::local_date;
use crate::domain::search::{Search, Snippet};
use crate::domain::sections;
use crate::jobs::log::{self, LogError, Reader};
use crate::render::entry::{self, Budget};
use crate::store::{Cursor, LogEntry, LogQuery};

pub(super) fn routes(r: Routes) -> Routes {
    r.add(utoipa_axum::routes!(teams))
        .add(utoipa_axum::routes!(team_page))
        .add(utoipa_axum::routes!(blockers_page))
        .add(utoipa_axum::routes!(resolve_blocker))
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

/// The links above every log page, and the sign-out button.
fn nav(team: Option<&str>) -> Markup {
    html! {
        nav aria-label="Team log" {
            a href="/log" { "Teams" }
            @if let Some(t) = team {
                " · " a href=(format!("/log/{}", path_segment(t))) { "Updates" }
                " · " a href=(format!("/log/{}/blockers", path_segment(t))) { "Open blockers" }
            }
            form method="post" action="/signout" class="inline" {
                button type="submit" { "Sign out" }
            }
        }
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
        page(
            "Team log",
            html! {
                h1 { "Team log" }
                (nav(None))
                @if names.is_empty() {
                    p { "You are in no team yet." }
                } @else {
                    ul { @for n in &names { li { a href=(format!("/log/{}", path_segment(n))) { (n) } } } }
                }
            },
        ),
    ))
}

/// The filters of the log page (those of the API).
#[derive(Debug, Default, Deserialize)]
pub(super) struct PageParams {
    from: Option<String>,
    to: Option<String>,
    member: Option<String>,
    q: Option<String>,
    blockers: Option<String>,
    cursor: Option<String>,
}

fn date_param(s: Option<&str>) -> Option<NaiveDate> {
    s.filter(|s| !s.is_empty())
        .and_then(crate::domain::parse_strict_date)
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

/// An update as the log shows it: whole, by its sections.
/// What the log shows under an update besides its text: its reactions and comments, and the
/// reader's own address to comment on it.
#[derive(Default)]
struct Around {
    reactions: std::collections::HashMap<i64, Vec<(String, Vec<String>)>>,
    comments: std::collections::HashMap<i64, Vec<(String, String, i64)>>,
    /// The signed-in member's comment address per update (none for the admin).
    comment_to: std::collections::HashMap<i64, String>,
}

impl Around {
    async fn of(st: &WebState, v: &Viewer, entries: &[LogEntry]) -> Result<Around, AppError> {
        let ids: Vec<i64> = entries.iter().map(|e| e.update.update.id).collect();
        let comment_to = match v {
            Viewer::Member(m) => ids
                .iter()
                .map(|id| (*id, st.ctx.comment_address(m.id, *id).to_string()))
                .collect(),
            Viewer::Admin => Default::default(),
        };
        Ok(Around {
            reactions: st.ctx.store.reactions(&ids).await?,
            comments: st.ctx.store.comments_on(&ids).await?,
            comment_to,
        })
    }
}

fn entry_html(e: &LogEntry, team: &str, around: &Around) -> Markup {
    let u = &e.update.update;
    let whole = entry::shown_within(
        &u.sections,
        Budget {
            lines: usize::MAX,
            chars: usize::MAX,
        },
    );
    html! {
        article id=(format!("u{}", u.id)) {
            h3 {
                a href=(format!("/log/{}?member={}", path_segment(team), path_segment(&e.update.author_email))) { (e.update.author_name) }
            }
            p.muted {
                (u.local_date.format("%a %-d %b %Y")) " · " (e.update.author_tz)
                @if e.update.late() { " · " span.tag { "late" } }
                @if u.revision > 1 { " · " span.tag { "edited" } }
                @if !sections::blocker_lines(&u.sections).is_empty() { " · " span.tag { "blocker" } }
            }
            @if let Some(s) = &e.snippet {
                p.snippet { (PreEscaped(snippet_html(s))) }
            }
            (entry::html(&whole, ""))
            @if let Some(rs) = around.reactions.get(&u.id) {
                p.muted.reactions {
                    @for (i, (r, names)) in rs.iter().enumerate() {
                        @if i > 0 { " · " }
                        span title=(names.join(", ")) { (r) " " (names.len()) } " (" (names.join(", ")) ")"
                    }
                }
            }
            @if let Some(cs) = around.comments.get(&u.id) {
                ul.comments aria-label="Comments" {
                    @for (who, body, _) in cs {
                        li { strong { (who) } ": " @for (i, l) in body.lines().enumerate() { @if i > 0 { br; } (l) } }
                    }
                }
            }
            @if let Some(addr) = around.comment_to.get(&u.id) {
                p.muted {
                    a href=(format!("mailto:{addr}")) { "Comment by email" }
                    " (a reply to that address is your comment; \"+1\" alone is a reaction)"
                }
            }
        }
    }
}

/// A team's log: its updates by day, newest first (a search: best match first), with the
/// filters of the API and a link to older updates.
#[utoipa::path(get, path = "/log/{team}", tag = "pages",
    params(
        ("team" = crate::domain::TeamName, Path, description = "The team."),
        ("from" = Option<String>, Query, description = "From this local date (YYYY-MM-DD)."),
        ("to" = Option<String>, Query, description = "To this local date (YYYY-MM-DD)."),
        ("member" = Option<String>, Query, description = "Only this member's updates (their address)."),
        ("q" = Option<String>, Query, description = "Search: words, \"a phrase\", -word."),
        ("blockers" = Option<String>, Query, description = "`on`: only updates with blockers."),
        ("cursor" = Option<String>, Query, description = "Where the previous page ended."),
    ),
    responses(
        (status = 200, description = "The log page.", body = String, content_type = "text/html"),
        (status = 303, description = "Not signed in: see `/signin`."),
        (status = 404, description = "No such team among the reader's.", body = String, content_type = "text/html"),
        (status = 422, description = "A parameter is not valid.", body = String, content_type = "text/html"),
    ))]
pub(super) async fn team_page(
    State(st): State<WebState>,
    headers: HeaderMap,
    ApiPath(team): ApiPath,
    p: Result<Query<PageParams>, QueryRejection>,
) -> Result<Response, AppError> {
    let v = match readable_team(&st, &headers, &team).await? {
        Ok(v) => v,
        Err(r) => return Ok(r),
    };
    let Ok(Query(p)) = p else {
        return Ok(message_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Not a valid search",
            "The address of this page holds a value that is not valid.",
            html! { p { a href=(format!("/log/{}", path_segment(&team))) { "The whole log" } } },
        ));
    };
    let mut people = st
        .ctx
        .store
        .members_in_teams(std::slice::from_ref(&team))
        .await?;
    people.sort_by(|a, b| crate::domain::collate::names(&a.name, &b.name));
    let author = p
        .member
        .as_deref()
        .filter(|e| !e.is_empty())
        .and_then(|e| crate::domain::EmailAddress::parse(e).ok())
        .and_then(|e| people.iter().find(|m| m.owns_address(&e)).map(|m| m.id));
    let text = match Search::parse(p.q.as_deref().unwrap_or_default()) {
        Ok(t) => t,
        Err(e) => {
            return Ok(message_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Not a valid search",
                &format!(
                    "{}: shorten it and search again.",
                    capitalized(&e.to_string())
                ),
                html! { p { a href=(format!("/log/{}", path_segment(&team))) { "The whole log" } } },
            ));
        }
    };
    let q = LogQuery {
        team: team.clone(),
        member: author,
        from: date_param(p.from.as_deref()),
        to: date_param(p.to.as_deref()),
        text,
        blockers: p.blockers.as_deref() == Some("on"),
        after: p.cursor.as_deref().and_then(Cursor::decode),
        limit: 50,
    };
    let nothing = p.member.as_deref().is_some_and(|m| !m.is_empty()) && author.is_none();
    let page_of = if nothing {
        Default::default()
    } else {
        log::page(&st.ctx, reader(&v), &q).await?
    };
    let around = Around::of(&st, &v, &page_of.entries).await?;
    let older = page_of.next.map(|c| {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, val) in [
            ("from", p.from.as_deref()),
            ("to", p.to.as_deref()),
            ("member", p.member.as_deref()),
            ("q", p.q.as_deref()),
            ("blockers", p.blockers.as_deref()),
        ] {
            if let Some(val) = val.filter(|x| !x.is_empty()) {
                s.append_pair(k, val);
            }
        }
        s.append_pair("cursor", &c.encode());
        format!("/log/{}?{}", path_segment(&team), s.finish())
    });
    let searching = q.text.is_some();
    // Feeds are signed for a member; the admin reads without one.
    let feeds = match &v {
        Viewer::Member(m) => match st.ctx.store.team_id(&team).await? {
            Some(tid) => {
                let team_feed = super::feed::feed_url(&st.ctx, m, super::feed::Scope::Team(tid));
                let person_feed = author.map(|a| {
                    super::feed::feed_url(
                        &st.ctx,
                        m,
                        super::feed::Scope::Person {
                            author: a,
                            team: tid,
                        },
                    )
                });
                Some((team_feed, person_feed))
            }
            None => None,
        },
        Viewer::Admin => None,
    };
    // By day for a listing; a search keeps its ranking.
    let mut days: BTreeMap<std::cmp::Reverse<NaiveDate>, Vec<&LogEntry>> = BTreeMap::new();
    if !searching {
        for e in &page_of.entries {
            days.entry(std::cmp::Reverse(e.update.update.local_date))
                .or_default()
                .push(e);
        }
    }
    // "Today" and "Yesterday" as the reader's own calendar has them.
    let today = match &v {
        Viewer::Member(m) => local_date(m.tz, Utc::now()),
        Viewer::Admin => local_date(st.ctx.config.schedule.default_timezone, Utc::now()),
    };
    let title = format!("{team}: team log");
    let body = html! {
        h1 { (title) }
        (nav(Some(&team)))
        form method="get" class="filters" role="search" {
            label for="q" { "Search" }
            input type="search" id="q" name="q" value=(p.q.clone().unwrap_or_default()) size="24";
            label for="member" { "Person" }
            select id="member" name="member" {
                option value="" { "Everyone" }
                @for m in &people {
                    option value=(m.email.as_str()) selected[Some(m.id) == author] { (m.name) }
                }
            }
            label for="from" { "From" }
            input type="date" id="from" name="from" value=(p.from.clone().unwrap_or_default());
            label for="to" { "To" }
            input type="date" id="to" name="to" value=(p.to.clone().unwrap_or_default());
            label { input type="checkbox" name="blockers" value="on" checked[q.blockers]; " With blockers" }
            button type="submit" { "Show" }
        }
        @if page_of.entries.is_empty() {
            p { "No updates match." }
        }
        @if searching {
            h2 { (page_of.entries.len()) " best matches" }
            @for e in &page_of.entries { (entry_html(e, &team, &around)) }
        } @else {
            @for (day, entries) in &days {
                h2 { (day_heading(day.0, today)) }
                @for e in entries { (entry_html(e, &team, &around)) }
            }
        }
        @if let Some(o) = &older {
            p { a href=(o) rel="next" { "Older updates" } }
        }
        @if let Some((team_feed, person_feed)) = &feeds {
            p.muted {
                "Follow in a feed reader: "
                a href=(team_feed) type="application/atom+xml" { "the team's Atom feed" }
                @if let Some(pf) = person_feed {
                    " · " a href=(pf) type="application/atom+xml" { "this person's Atom feed" }
                }
                " (the address is yours alone; signing out everywhere ends it)."
            }
        }
    };
    Ok(html_response(StatusCode::OK, page(&title, body)))
}

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
pub(super) async fn blockers_page(
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
        h1 { (title) }
        (nav(Some(&team)))
        p { "A blocker stays open until its author resolves it (the button here, a reply with \"resolved\", or the API) or a later update of theirs says there is none; an update that does not mention blockers carries it." }
        @if open.is_empty() {
            p { "No open blockers." }
        } @else {
            div class="scroll" {
                table {
                    thead { tr { th scope="col" { "Who" } th scope="col" { "Blocker" } th scope="col" { "Since" } th scope="col" { "Open for" } } }
                    tbody {
                        @for (m, b, days) in &open {
                            tr {
                                td { a href=(format!("/log/{}?member={}", path_segment(&team), path_segment(m.email.as_str()))) { (m.name) } }
                                td {
                                    @for (i, l) in b.lines.iter().enumerate() { @if i > 0 { br; } (l) }
                                    @if me == Some(m.id) {
                                        form method="post" action=(format!("/log/{}/blockers/resolve", path_segment(&team))) {
                                            button type="submit" id="resolve" { "Mark resolved" }
                                        }
                                    }
                                }
                                td { (b.since.format("%a %-d %b")) }
                                td { (days) " workday" @if *days != 1 { "s" } }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(html_response(StatusCode::OK, page(&title, body)))
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
pub(super) async fn resolve_blocker(
    State(st): State<WebState>,
    headers: HeaderMap,
    ApiPath(team): ApiPath,
) -> Result<Response, AppError> {
    if !super::prefs::same_origin(&headers, &st.ctx.config.web.base_url) {
        return Ok(super::session::forbidden());
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
    Ok(super::session::see_other(
        &format!("/log/{}/blockers", path_segment(&team)),
        None,
    ))
}
