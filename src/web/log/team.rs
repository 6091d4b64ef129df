//! `/log/{team}`: a team's updates by day, newest first, or a search's best matches first;
//! one search field with the other filters behind a disclosure, and an empty state that says
//! when the first updates will come.

use std::collections::BTreeMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use maud::{Markup, html};
use serde::Deserialize;

use super::entry::{Around, entry_html};
use super::{Current, capitalized, day_heading, header, path_segment, readable_team, reader};
use crate::domain::Member;
use crate::domain::schedule::local_date;
use crate::domain::search::Search;
use crate::jobs::log;
use crate::store::{Cursor, LogEntry, LogPage, LogQuery};
use crate::web::api::ApiPath;
use crate::web::html::{html_response, message_page, page_with};
use crate::web::session::Viewer;
use crate::web::{AppError, WebState};

/// The filters of the log page (those of the API).
#[derive(Debug, Default, Deserialize)]
pub(in crate::web) struct PageParams {
    from: Option<String>,
    to: Option<String>,
    member: Option<String>,
    q: Option<String>,
    blockers: Option<String>,
    /// A check-in's name.
    checkin: Option<String>,
    cursor: Option<String>,
}

impl PageParams {
    /// The filters as query pairs (the cursor aside), those set only.
    fn pairs(&self) -> Vec<(&'static str, &str)> {
        [
            ("from", self.from.as_deref()),
            ("to", self.to.as_deref()),
            ("member", self.member.as_deref()),
            ("q", self.q.as_deref()),
            ("blockers", self.blockers.as_deref()),
            ("checkin", self.checkin.as_deref()),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.filter(|x| !x.is_empty()).map(|v| (k, v)))
        .collect()
    }

    /// A filter other than the search is set (the disclosure then starts open).
    fn filtered(&self) -> bool {
        self.pairs().iter().any(|(k, _)| *k != "q")
    }
}

fn date_param(s: Option<&str>) -> Option<NaiveDate> {
    s.filter(|s| !s.is_empty())
        .and_then(crate::domain::parse_strict_date)
}

fn not_valid(team: &str, message: &str) -> Response {
    message_page(
        StatusCode::UNPROCESSABLE_ENTITY,
        "Not a valid search",
        message,
        html! { p { a href=(format!("/log/{}", path_segment(team))) { "Back to the whole log" } } },
    )
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
        ("checkin" = Option<String>, Query, description = "Only the answers to this check-in, by name (a name the team has not: nothing)."),
        ("cursor" = Option<String>, Query, description = "Where the previous page ended."),
    ),
    responses(
        (status = 200, description = "The log page.", body = String, content_type = "text/html"),
        (status = 303, description = "Not signed in: see `/signin`."),
        (status = 404, description = "No such team among the reader's.", body = String, content_type = "text/html"),
        (status = 422, description = "A parameter is not valid.", body = String, content_type = "text/html"),
    ))]
pub(in crate::web) async fn team_page(
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
        return Ok(not_valid(
            &team,
            "The address of this page holds a value that is not valid.",
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
            let msg = format!(
                "{}: shorten it and search again.",
                capitalized(&e.to_string())
            );
            return Ok(not_valid(&team, &msg));
        }
    };
    // The team's check-ins, for the filter; a name it does not have matches nothing.
    let checkins = match st.ctx.store.team_id(&team).await? {
        Some(id) => st.ctx.store.checkins_of(id).await?,
        None => Vec::new(),
    };
    let checkin = match p.checkin.as_deref().filter(|c| !c.is_empty()) {
        // A name the team has not matches nothing.
        Some(name) => Some(
            st.ctx
                .store
                .checkin_filter(&team, name)
                .await?
                .unwrap_or(-1),
        ),
        None => None,
    };
    let q = LogQuery {
        team: team.clone(),
        checkin,
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
        LogPage::default()
    } else {
        log::page(&st.ctx, reader(&v), &q).await?
    };
    let around = Around::of(&st, &v, &page_of.entries).await?;
    let view = View {
        team: &team,
        p: &p,
        q: &q,
        people: &people,
        author,
        checkins: &checkins,
        page: &page_of,
        around: &around,
    };
    let body = html! {
        h1 { (team) }
        (search_form(&view))
        (results(&st, &v, &view).await?)
        (feeds(&st, &v, &team, author).await?)
    };
    let title = format!("{team}: team log");
    Ok(html_response(
        StatusCode::OK,
        page_with(
            &title,
            &header(&st, &v, Some(&team), Current::Updates),
            body,
        ),
    ))
}

/// What the log page shows, read once.
struct View<'a> {
    team: &'a str,
    p: &'a PageParams,
    q: &'a LogQuery,
    people: &'a [Member],
    author: Option<i64>,
    checkins: &'a [crate::domain::checkin::Checkin],
    page: &'a LogPage,
    around: &'a Around,
}

/// One search field; the person, the dates and "with blockers" behind a disclosure (open
/// when one of them is set).
fn search_form(v: &View<'_>) -> Markup {
    let p = v.p;
    html! {
        form method="get" class="search" role="search" {
            label for="q" class="inline" { "Search the log" }
            input type="search" id="q" name="q" value=(p.q.clone().unwrap_or_default())
                placeholder="words, \"a phrase\", -word";
            button type="submit" class="primary" { "Search" }
            details.filters open[v.p.filtered()] {
                summary { "Filters" @if v.p.filtered() { " (set)" } }
                div.grid {
                    div {
                        label for="member" { "Person" }
                        select id="member" name="member" {
                            option value="" { "Everyone" }
                            @for m in v.people {
                                option value=(m.email.as_str()) selected[Some(m.id) == v.author] { (m.name) }
                            }
                        }
                    }
                    div { label for="from" { "From" } input type="date" id="from" name="from" value=(p.from.clone().unwrap_or_default()); }
                    div { label for="to" { "To" } input type="date" id="to" name="to" value=(p.to.clone().unwrap_or_default()); }
                    @if v.checkins.len() > 1 {
                        div {
                            label for="checkin" { "Check-in" }
                            select id="checkin" name="checkin" {
                                option value="" { "All" }
                                @for c in v.checkins {
                                    option value=(c.name) selected[p.checkin.as_deref().is_some_and(|w| w.eq_ignore_ascii_case(&c.name))] { (c.name) }
                                }
                            }
                        }
                    }
                    div { label.inline { input type="checkbox" name="blockers" value="on" checked[v.q.blockers]; " With blockers only" } }
                }
            }
        }
    }
}

/// "N updates match · clear", the updates (by day, or ranked for a search), the comment help
/// once, and the link to older ones; or an empty state.
async fn results(st: &WebState, viewer: &Viewer, v: &View<'_>) -> Result<Markup, AppError> {
    let entries = &v.page.entries;
    let searching = v.q.text.is_some();
    let filtered = searching || v.p.filtered();
    let clear = format!("/log/{}", path_segment(v.team));
    let older = v.page.next.as_ref().map(|c| {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, val) in v.p.pairs() {
            s.append_pair(k, val);
        }
        s.append_pair("cursor", &c.encode());
        format!("/log/{}?{}", path_segment(v.team), s.finish())
    });
    if entries.is_empty() && !filtered && v.p.cursor.is_none() {
        return empty_log(st, v.people).await;
    }
    let today = match viewer {
        Viewer::Member(m) => local_date(m.tz, Utc::now()),
        Viewer::Admin => local_date(st.ctx.config.schedule.default_timezone, Utc::now()),
    };
    // By day for a listing; a search keeps its ranking.
    let mut days: BTreeMap<std::cmp::Reverse<NaiveDate>, Vec<&LogEntry>> = BTreeMap::new();
    if !searching {
        for e in entries {
            days.entry(std::cmp::Reverse(e.update.update.local_date))
                .or_default()
                .push(e);
        }
    }
    // Under each day, the team's average of its check-ins' scale questions (never one
    // person's number).
    let mut scales: BTreeMap<NaiveDate, Vec<crate::render::ScaleLine>> = BTreeMap::new();
    for (day, es) in &days {
        let mut asked: Vec<i64> = es
            .iter()
            .map(|e| e.update.update.checkin)
            .filter(|c| *c != 0)
            .collect();
        asked.sort_unstable();
        asked.dedup();
        for c in asked {
            let lines = crate::jobs::digest::scale_lines(&st.ctx, c, day.0).await?;
            scales.entry(day.0).or_default().extend(lines);
        }
    }
    let search = v.q.text.as_ref();
    Ok(html! {
        @if filtered {
            p.matches role="status" {
                strong { (entries.len()) @if older.is_some() { "+" } " update" @if entries.len() != 1 || older.is_some() { "s" } " match" @if entries.len() == 1 && older.is_none() { "es" } }
                " · " a href=(clear) { "clear" }
            }
        }
        @if v.around.can_comment() && !entries.is_empty() {
            p.muted { "To comment on an update, use its \u{201c}Comment by email\u{201d} link: your reply to that address is the comment, and \u{201c}+1\u{201d} alone is a reaction." }
        }
        @if entries.is_empty() {
            div.empty { p { "Nothing matches. Try fewer words, or " a href=(clear) { "clear the search and filters" } "." } }
        } @else if searching {
            h2 { "Best matches" }
            @for e in entries { (entry_html(e, v.team, v.around, search)) }
        } @else {
            @for (day, es) in &days {
                h2 { (day_heading(day.0, today)) }
                @for l in scales.get(&day.0).into_iter().flatten() {
                    p.muted.scale { (l.checkin) ": " (l.sentence()) }
                }
                @for e in es { (entry_html(e, v.team, v.around, None)) }
            }
        }
        @if let Some(o) = &older {
            p { a href=(o) rel="next" { "Older updates" } }
        }
    })
}

/// A new team's log: no updates yet, and who is asked next, in their time.
async fn empty_log(st: &WebState, people: &[Member]) -> Result<Markup, AppError> {
    let now = Utc::now();
    let mut next: Vec<(DateTime<Utc>, &Member)> = Vec::new();
    for m in people.iter().take(200) {
        if let Some((_, t)) =
            crate::jobs::plan::upcoming(&st.ctx, m, crate::store::DueKind::Request, now).await?
        {
            next.push((t, m));
        }
    }
    next.sort_by_key(|n| n.0);
    Ok(html! {
        div.empty {
            p { strong { "No updates yet." } " Each member is emailed a request at their own time and their reply shows here." }
            @if next.is_empty() {
                p.muted { "Nobody in this team is asked for updates (paused, observers or unsubscribed)." }
            } @else {
                ul {
                    @for (t, m) in next.iter().take(5) {
                        @let local = t.with_timezone(&m.tz);
                        li {
                            (m.name) " is asked at " (local.format("%H:%M")) " their time "
                            @if local.date_naive() == local_date(m.tz, now) { "today" } @else { (local.format("on %a %-d %b")) }
                            span.muted { " (" (m.tz.name()) ")" }
                        }
                    }
                }
            }
        }
    })
}

/// The team's Atom feed (and the person's, when one is chosen), for a member: signed for them.
async fn feeds(
    st: &WebState,
    v: &Viewer,
    team: &str,
    author: Option<i64>,
) -> Result<Markup, AppError> {
    let Viewer::Member(m) = v else {
        return Ok(html! {});
    };
    let Some(tid) = st.ctx.store.team_id(team).await? else {
        return Ok(html! {});
    };
    use crate::web::feed::{Scope, feed_url};
    let team_feed = feed_url(&st.ctx, m, Scope::Team(tid));
    let person_feed = author.map(|a| {
        feed_url(
            &st.ctx,
            m,
            Scope::Person {
                author: a,
                team: tid,
            },
        )
    });
    Ok(html! {
        p.muted {
            "Follow in a feed reader: "
            a href=(team_feed) type="application/atom+xml" { "the team's Atom feed" }
            @if let Some(pf) = person_feed {
                " · " a href=(pf) type="application/atom+xml" { "this person's Atom feed" }
            }
            " (the address is yours alone; signing out everywhere ends it)."
        }
    })
}
