//! The team log over the API: a team's updates a page at a time (filters, search, a cursor,
//! ETag), and the same selection exported as CSV, JSON or Markdown.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::*;
use crate::jobs::log::{self, LogError, Reader};
use crate::render::export::{ExportedUpdate, Format};
use crate::store::{Cursor, LogQuery, MAX_PAGE};
use crate::web::log::snippet_html;
use crate::web::{AppError, WebState};

/// The filters of a team's log.
#[derive(Debug, Default, Deserialize)]
pub(super) struct LogParams {
    from: Option<String>,
    to: Option<String>,
    member: Option<String>,
    q: Option<String>,
    blockers: Option<bool>,
    checkin: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
    format: Option<String>,
}

/// An update in the log, with its author; a search adds the passages that matched.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct LogUpdateJson {
    #[serde(flatten)]
    update: UpdateJson,
    author: Author,
    /// First written on a later local date than the day it is for, in its author's zone.
    late: bool,
    /// For a search: the passages that matched, HTML-escaped, matched words in `<mark>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    snippet_html: Option<String>,
}

/// One page of a team's log.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct LogPageJson {
    #[schema(value_type = crate::domain::TeamName)]
    team: String,
    /// Newest first; for a search, best match first.
    updates: Vec<LogUpdateJson>,
    /// The next page (this request with its `cursor`), or `null` on the last page.
    next: Option<String>,
}

impl From<LogError> for AppError {
    fn from(e: LogError) -> Self {
        match e {
            LogError::NoTeam(_) => AppError::new(StatusCode::NOT_FOUND, "not_found", e.to_string()),
            LogError::NotInTeam(..) => AppError::invalid(e.to_string()),
            LogError::Other(e) => e.into(),
        }
    }
}

/// The query the parameters describe, checked: dates `YYYY-MM-DD`, a cursor this server
/// wrote. `None` when nothing can match (an author who is not in the team, `from` after `to`):
/// an empty answer, as any filter that matches nothing.
async fn query(
    st: &WebState,
    reader: Reader<'_>,
    team: &str,
    p: &LogParams,
) -> Result<Option<LogQuery>, AppError> {
    let members = log::team_for(&st.ctx, reader, team).await?;
    let from = p
        .from
        .as_deref()
        .map(|d| parse_date(d, "from"))
        .transpose()?;
    let to = p.to.as_deref().map(|d| parse_date(d, "to")).transpose()?;
    let after = p
        .cursor
        .as_deref()
        .map(|c| {
            Cursor::decode(c).ok_or_else(|| {
                AppError::invalid("cursor: not one this server wrote (take it from `next`)")
            })
        })
        .transpose()?;
    let limit = p.limit.unwrap_or(50);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(AppError::invalid(format!(
            "limit: from 1 to {MAX_PAGE}, got {limit}"
        )));
    }
    let text = crate::domain::search::Search::parse(p.q.as_deref().unwrap_or_default())
        .map_err(|e| AppError::invalid(format!("q: {e}")))?;
    let member = match &p.member {
        Some(e) => {
            let e = crate::domain::EmailAddress::parse(e)
                .map_err(|e| AppError::invalid(format!("member: {e}")))?;
            match log::author_in(&st.ctx, team, &members, &e).await {
                Ok(id) => Some(id),
                Err(LogError::NotInTeam(..)) => return Ok(None),
                Err(e) => return Err(e.into()),
            }
        }
        None => None,
    };
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Ok(None);
    }
    // A check-in the team does not have matches nothing, as an author outside it does.
    let checkin = match p.checkin.as_deref() {
        Some(name) if name.chars().count() > 60 => {
            return Err(AppError::invalid("checkin: at most 60 characters"));
        }
        Some(name) => match st.ctx.store.checkin_filter(team, name).await? {
            Ok(id) => Some(id),
            Err(_) => return Ok(None),
        },
        None => None,
    };
    Ok(Some(LogQuery {
        team: team.to_string(),
        member,
        from,
        to,
        text,
        blockers: p.blockers.unwrap_or(false),
        checkin,
        after,
        limit,
    }))
}

/// The URL of the page after this one: the same parameters with `cursor`.
fn next_url(team: &str, p: &LogParams, cursor: Cursor) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in [
        ("from", p.from.as_deref()),
        ("to", p.to.as_deref()),
        ("member", p.member.as_deref()),
        ("q", p.q.as_deref()),
        ("checkin", p.checkin.as_deref()),
    ] {
        if let Some(v) = v {
            q.append_pair(k, v);
        }
    }
    if p.blockers == Some(true) {
        q.append_pair("blockers", "true");
    }
    if let Some(l) = p.limit {
        q.append_pair("limit", &l.to_string());
    }
    q.append_pair("cursor", &cursor.encode());
    let team: String = url::form_urlencoded::byte_serialize(team.as_bytes()).collect();
    format!(
        "/api/v1/teams/{}/updates?{}",
        team.replace('+', "%20"),
        q.finish()
    )
}

/// A strong validator of a body: equal bodies, equal tags.
fn etag(body: &[u8]) -> String {
    use sha2::Digest;
    let h = sha2::Sha256::digest(body);
    format!("\"{}\"", hex::encode(&h[..16]))
}

/// `304 Not Modified` when the request's `If-None-Match` names `tag` (or `*`).
fn not_modified(headers: &HeaderMap, tag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == tag || t == "*")
}

/// A body with its ETag, or 304 when the client has it already.
fn tagged(
    headers: &HeaderMap,
    content_type: &'static str,
    body: String,
    link: Option<String>,
) -> Response {
    let tag = etag(body.as_bytes());
    let mut resp = if not_modified(headers, &tag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, content_type)], body).into_response()
    };
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&tag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    if let Some(l) = link.and_then(|l| HeaderValue::from_str(&format!("<{l}>; rel=\"next\"")).ok())
    {
        h.insert(header::LINK, l);
    }
    resp
}

/// A team's updates, newest first (a search: best match first), a page at a time. Only a
/// member of the team may read it (another team, or one that does not exist: the same 404).
#[utoipa::path(get, path = "/api/v1/teams/{team}/updates", tag = "log",
    security(("memberToken" = [])),
    params(
        ("team" = crate::domain::TeamName, Path, description = "The team."),
        ("from" = Option<String>, Query, format = Date, pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
            description = "From this local date, included."),
        ("to" = Option<String>, Query, format = Date, pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
            description = "To this local date, included (before `from`: none)."),
        ("member" = Option<String>, Query, format = Email, description = "Only this member's updates (someone not in the team: none)."),
        ("q" = Option<String>, Query, max_length = 500, description = "Search: every word required, \"a phrase\" in double quotes, -word excluded; best match first. Control characters are dropped; at most 500 characters, 32 words or phrases and 16 exclusions (beyond: 422 saying which)."),
        ("blockers" = Option<bool>, Query, description = "Only updates with a blockers section."),
        ("checkin" = Option<String>, Query, max_length = 60, description = "Only the answers to this check-in, by name (any case; `Daily stand-up` for the stand-up). A name the team has not: none."),
        ("cursor" = Option<String>, Query, pattern = r"^(d[0-9]{1,7}\.[0-9]{1,18}|o[0-9]{1,9})$",
            description = "Where the previous page ended: take it from `next`."),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 200, description = "Updates per page (default 50)."),
        ("If-None-Match" = Option<String>, Header, description = "An ETag of an earlier answer: 304 when nothing changed."),
    ),
    responses(
        (status = 200, description = "One page.", body = LogPageJson,
            headers(("ETag" = String, description = "Changes whenever the page does."),
                    ("Link" = String, description = "`<next page>; rel=\"next\"` when there is one."))),
        (status = 304, description = "Unchanged since the ETag in `If-None-Match`."),
        (status = 404, description = "No such team among the member's (not_found).", body = crate::web::openapi::ErrorBody),
        (status = 422, description = "A parameter is not valid: a date that is not YYYY-MM-DD, a cursor this server did not write, `limit` out of range, a search beyond a bound, a `checkin` longer than 60 characters (invalid).", body = crate::web::openapi::ErrorBody),
    ))]
pub(super) async fn team_log(
    State(st): State<WebState>,
    auth: MemberAuth,
    ApiPath(team): ApiPath,
    headers: HeaderMap,
    p: Result<Query<LogParams>, QueryRejection>,
) -> Result<Response, AppError> {
    let Query(p) = p.map_err(|e| AppError::invalid(e.body_text()))?;
    let page = match query(&st, Reader::Member(&auth.member), &team, &p).await? {
        Some(q) => log::page(&st.ctx, Reader::Member(&auth.member), &q).await?,
        None => Default::default(),
    };
    let next = page.next.map(|c| next_url(&team, &p, c));
    let body = LogPageJson {
        team: team.clone(),
        updates: page
            .entries
            .iter()
            .map(|e| LogUpdateJson {
                update: (&e.update.update).into(),
                author: Author {
                    name: e.update.author_name.clone(),
                    email: e.update.author_email.clone(),
                },
                late: e.update.late(),
                snippet_html: e.snippet.as_ref().map(snippet_html),
            })
            .collect(),
        next: next.clone(),
    };
    let json = serde_json::to_string(&body).map_err(anyhow::Error::from)?;
    Ok(tagged(&headers, "application/json", json, next))
}

/// A team's updates exported, oldest first (a search: best match first): CSV (RFC 4180, a
/// header row), JSON (an array) or Markdown (a heading per day). The filters of the log.
#[utoipa::path(get, path = "/api/v1/teams/{team}/export", tag = "log",
    security(("memberToken" = [])),
    params(
        ("team" = crate::domain::TeamName, Path, description = "The team."),
        ("format" = inline(Option<Format>), Query, description = "csv (default), json or md."),
        ("from" = Option<String>, Query, format = Date, pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
            description = "From this local date, included."),
        ("to" = Option<String>, Query, format = Date, pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
            description = "To this local date, included (before `from`: none)."),
        ("member" = Option<String>, Query, format = Email, description = "Only this member's updates (someone not in the team: none)."),
        ("q" = Option<String>, Query, max_length = 500, description = "Only updates matching this search (as for /updates: at most 500 characters, 32 words or phrases, 16 exclusions)."),
        ("blockers" = Option<bool>, Query, description = "Only updates with a blockers section."),
        ("checkin" = Option<String>, Query, max_length = 60, description = "Only the answers to this check-in, by name (any case; `Daily stand-up` for the stand-up). A name the team has not: none."),
        ("If-None-Match" = Option<String>, Header, description = "An ETag of an earlier answer: 304 when nothing changed."),
    ),
    responses(
        (status = 200, description = "The export.",
            content((String = "text/csv"), (Vec<ExportedUpdate> = "application/json"), (String = "text/markdown")),
            headers(("ETag" = String, description = "Changes whenever the export does."),
                    ("Content-Disposition" = String, description = "`attachment; filename=\"TEAM-updates.EXT\"`."))),
        (status = 304, description = "Unchanged since the ETag in `If-None-Match`."),
        (status = 404, description = "No such team among the member's (not_found).", body = crate::web::openapi::ErrorBody),
        (status = 422, description = "A parameter is not valid (invalid).", body = crate::web::openapi::ErrorBody),
    ))]
pub(super) async fn team_export(
    State(st): State<WebState>,
    auth: MemberAuth,
    ApiPath(team): ApiPath,
    headers: HeaderMap,
    p: Result<Query<LogParams>, QueryRejection>,
) -> Result<Response, AppError> {
    let Query(p) = p.map_err(|e| AppError::invalid(e.body_text()))?;
    let format = match p.format.as_deref() {
        None => Format::Csv,
        Some(f) => Format::parse(f)
            .ok_or_else(|| AppError::invalid(format!("format: csv, json or md, got {f:?}")))?,
    };
    if p.cursor.is_some() || p.limit.is_some() {
        return Err(AppError::invalid(
            "an export is whole: cursor and limit are for /updates",
        ));
    }
    let body = match query(&st, Reader::Member(&auth.member), &team, &p).await? {
        Some(q) => log::export(&st.ctx, Reader::Member(&auth.member), &q, format).await?,
        None => crate::render::export::export(&team, &[], format),
    };
    let mut resp = tagged(&headers, format.content_type(), body, None);
    let safe: String = team
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{safe}-updates.{}\"",
        format.extension()
    )) {
        resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}
