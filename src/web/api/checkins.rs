//! The admin endpoints of check-ins (`web.admin_token`): a team's list, add one, replace one,
//! remove one. The same rules as `tidings checkin`: the daily stand-up is listed but its
//! questions are the team's and its time and days each member's own, so it is neither
//! replaced nor removed here.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::json::ApiPath2;
use super::*;
use crate::domain::checkin::{Checkin, GoesTo, Question, Rhythm, Who};
use crate::domain::schedule::{LocalTime, parse_tz};
use crate::web::{AppError, WebState};

/// Where a check-in's answers go.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(super) enum GoesToJson {
    /// The readers' daily digest, under the check-in's name.
    Digest,
    /// A digest of its own, at each reader's digest time, with only this check-in's answers.
    Own,
    /// Only the team log, its feeds and exports.
    Log,
}

/// A check-in of a team.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct CheckinJson {
    name: String,
    /// The daily stand-up: the team's questions (empty here), each member's own time and days.
    standup: bool,
    questions: Vec<Question>,
    /// `workdays` (the stand-up), `days:mon,fri`, `weekly:fri`, `weekly:mon:2:2026-12-07`
    /// (every 2 weeks from that week), `monthly:first-mon`, `monthly:last-workday`, `monthly:15`.
    rhythm: String,
    /// Local time `HH:MM`; `null`: each member's own request time.
    at: Option<String>,
    /// One zone for everyone; `null`: each member's own.
    tz: Option<String>,
    /// `all`, `leads`, or member addresses separated by commas.
    who: String,
    to: GoesToJson,
    /// As a person reads it.
    description: String,
}

impl From<&Checkin> for CheckinJson {
    fn from(c: &Checkin) -> Self {
        CheckinJson {
            name: c.name.clone(),
            standup: c.standup,
            questions: c.questions.clone(),
            rhythm: c.rhythm.to_string(),
            at: c.at.map(|a| a.to_string()),
            tz: c.tz.map(|z| z.name().to_string()),
            who: c.who.to_string(),
            to: match c.goes_to {
                GoesTo::Digest => GoesToJson::Digest,
                GoesTo::Own => GoesToJson::Own,
                GoesTo::Log => GoesToJson::Log,
            },
            description: c.describe(),
        }
    }
}

/// A check-in to add, or what replaces one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewCheckin {
    /// 1 to 60 characters, unique in the team (any case).
    #[schema(
        min_length = 1,
        max_length = 60,
        pattern = r"^[^\s\x00-\x1f\x7f]([^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f])?$"
    )]
    name: String,
    /// 1 to 10 questions, in order.
    #[schema(min_items = 1, max_items = 10)]
    questions: Vec<Question>,
    /// `days:mon,fri`, `weekly:fri`, `weekly:mon:2` (every 2 weeks from this week),
    /// `monthly:first-mon`, `monthly:last-fri`, `monthly:last-workday` or `monthly:15`.
    #[schema(
        pattern = r"^(days:(mon|tue|wed|thu|fri|sat|sun)(,(mon|tue|wed|thu|fri|sat|sun))*|weekly:(mon|tue|wed|thu|fri|sat|sun)(:([1-9]|[1-4][0-9]|5[0-2])(:[0-9]{4}-[0-9]{2}-[0-9]{2})?)?|monthly:(first-(mon|tue|wed|thu|fri|sat|sun)|last-(mon|tue|wed|thu|fri|sat|sun)|last-workday|[1-9]|[12][0-9]|3[01]))$"
    )]
    rhythm: String,
    /// Local time `HH:MM`.
    #[schema(pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    at: String,
    /// One IANA zone for everyone (an unknown one: 422 with suggestions); absent: each
    /// member's own.
    #[serde(default)]
    tz: Option<String>,
    /// `all` (the default), `leads`, or addresses separated by commas.
    #[serde(default)]
    #[schema(max_length = 2000)]
    who: Option<String>,
    /// `digest` (the default) or `log`.
    #[serde(default)]
    to: Option<GoesToJson>,
}

/// The patterns the document states for [`NewCheckin`] (and [`Question`]'s text), checked here
/// as written there: the server takes nothing the document says it refuses.
const NAME_PATTERN: &str = r"^[^\s\x00-\x1f\x7f]([^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f])?$";
const RHYTHM_PATTERN: &str = r"^(days:(mon|tue|wed|thu|fri|sat|sun)(,(mon|tue|wed|thu|fri|sat|sun))*|weekly:(mon|tue|wed|thu|fri|sat|sun)(:([1-9]|[1-4][0-9]|5[0-2])(:[0-9]{4}-[0-9]{2}-[0-9]{2})?)?|monthly:(first-(mon|tue|wed|thu|fri|sat|sun)|last-(mon|tue|wed|thu|fri|sat|sun)|last-workday|[1-9]|[12][0-9]|3[01]))$";
const AT_PATTERN: &str = r"^([01][0-9]|2[0-3]):[0-5][0-9]$";

/// Whether `s` matches `pattern` (one of the consts above, valid by the test below).
fn matches(pattern: &str, s: &str) -> bool {
    regex::Regex::new(pattern).is_ok_and(|r| r.is_match(s))
}

fn invalid(what: &str, e: impl std::fmt::Display) -> AppError {
    AppError::invalid(format!("{what}: {e}"))
}

fn not_found(msg: String) -> AppError {
    AppError::new(StatusCode::NOT_FOUND, "not_found", msg)
}

/// The check-in `n` describes, for team `team_id` (`id` 0: a new one).
fn checkin_of(n: &NewCheckin, team_id: i64, id: i64) -> Result<Checkin, AppError> {
    let name = n.name.as_str();
    if !matches(NAME_PATTERN, name)
        || name.chars().count() > 60
        || name.chars().any(char::is_control)
    {
        return Err(AppError::invalid(
            "name: 1 to 60 characters, no control characters, no spaces around it",
        ));
    }
    if !matches(RHYTHM_PATTERN, &n.rhythm) {
        return Err(invalid(
            "rhythm",
            crate::domain::checkin::CheckinError::BadRhythm(n.rhythm.clone()),
        ));
    }
    if !matches(AT_PATTERN, &n.at) {
        return Err(AppError::invalid("at: HH:MM, 00:00 to 23:59"));
    }
    if n.who.as_deref().is_some_and(|w| w.chars().count() > 2000) {
        return Err(AppError::invalid("who: at most 2000 characters"));
    }
    if n.questions.is_empty() || n.questions.len() > 10 {
        return Err(AppError::invalid("questions: 1 to 10"));
    }
    let mut questions = Vec::with_capacity(n.questions.len());
    for q in &n.questions {
        let text = q.text.as_str();
        if !matches(NAME_PATTERN, text)
            || text.chars().count() > 300
            || text.chars().any(char::is_control)
        {
            return Err(AppError::invalid(
                "questions: each 1 to 300 characters, no control characters, no spaces around it",
            ));
        }
        questions.push(Question {
            kind: q.kind,
            text: text.to_string(),
        });
    }
    let today = chrono::Utc::now().date_naive();
    Ok(Checkin {
        id,
        team_id,
        name: name.to_string(),
        standup: false,
        questions,
        rhythm: Rhythm::parse(&n.rhythm, today).map_err(|e| invalid("rhythm", e))?,
        at: Some(LocalTime::parse(&n.at).map_err(|e| invalid("at", e))?),
        tz: n
            .tz
            .as_deref()
            .map(parse_tz)
            .transpose()
            .map_err(|e| invalid("tz", e))?,
        who: match n.who.as_deref() {
            Some(w) => Who::parse(w).map_err(|e| invalid("who", e))?,
            None => Who::All,
        },
        goes_to: match n.to {
            Some(GoesToJson::Log) => GoesTo::Log,
            Some(GoesToJson::Own) => GoesTo::Own,
            _ => GoesTo::Digest,
        },
    })
}

async fn team_id(st: &WebState, team: &str) -> Result<i64, AppError> {
    st.ctx
        .store
        .team_id(team)
        .await?
        .ok_or_else(|| not_found(format!("no team named {team}")))
}

/// Team `team`'s check-in `name` (any case), or a 404.
async fn named(st: &WebState, team: &str, name: &str) -> Result<Checkin, AppError> {
    let id = team_id(st, team).await?;
    st.ctx
        .store
        .checkin_named(id, name)
        .await?
        .ok_or_else(|| not_found(format!("team {team} has no check-in named {name:?}")))
}

fn standup_refused(c: &Checkin) -> AppError {
    AppError::new(
        StatusCode::CONFLICT,
        "conflict",
        format!(
            "{}: the daily stand-up asks the team's questions on each member's own workdays and request time; it is neither replaced nor removed",
            c.name
        ),
    )
}

/// A team's check-ins, the daily stand-up first.
#[utoipa::path(get, path = "/api/v1/admin/teams/{name}/checkins", tag = "admin",
    security(("adminToken" = [])),
    params(("name" = crate::domain::TeamName, Path, description = "The team.")),
    responses(
        (status = 200, description = "The check-ins.", body = Vec<CheckinJson>),
        (status = 404, description = "No team with that name (not_found).", body = crate::web::openapi::ErrorBody),
    ))]
pub(super) async fn admin_list_checkins(
    State(st): State<WebState>,
    _: AdminAuth,
    ApiPath(name): ApiPath,
) -> Result<Json<Vec<CheckinJson>>, AppError> {
    let id = team_id(&st, &name).await?;
    let all = st.ctx.store.checkins_of(id).await?;
    Ok(Json(all.iter().map(CheckinJson::from).collect()))
}

/// Add a check-in to a team. Its members are asked from the next planning pass on.
#[utoipa::path(post, path = "/api/v1/admin/teams/{name}/checkins", tag = "admin",
    security(("adminToken" = [])),
    params(("name" = crate::domain::TeamName, Path, description = "The team.")),
    request_body = NewCheckin,
    responses(
        (status = 201, description = "Added.", body = CheckinJson),
        (status = 404, description = "No team with that name (not_found).", body = crate::web::openapi::ErrorBody),
        (status = 409, description = "The team has a check-in of that name, any case (conflict).", body = crate::web::openapi::ErrorBody),
        (status = 422, description = "A value is not valid: an unknown zone, a date that does not exist in an every-N-weeks rhythm, an audience that is not all, leads or addresses (invalid).", body = crate::web::openapi::ErrorBody),
    ))]
pub(super) async fn admin_add_checkin(
    State(st): State<WebState>,
    _: AdminAuth,
    ApiPath(name): ApiPath,
    ApiJson(n): ApiJson<NewCheckin>,
) -> Result<(StatusCode, Json<CheckinJson>), AppError> {
    let team = team_id(&st, &name).await?;
    let mut c = checkin_of(&n, team, 0)?;
    c.id = st.ctx.store.add_checkin(&c).await?;
    Ok((StatusCode::CREATED, Json(CheckinJson::from(&c))))
}

/// Replace a check-in: its name, questions, rhythm, time, zone, audience and destination. Its
/// members are planned again; answers already written stay under it.
#[utoipa::path(put, path = "/api/v1/admin/teams/{name}/checkins/{checkin}", tag = "admin",
    security(("adminToken" = [])),
    params(
        ("name" = crate::domain::TeamName, Path, description = "The team."),
        ("checkin" = String, Path, description = "The check-in's name (any case)."),
    ),
    request_body = NewCheckin,
    responses(
        (status = 200, description = "Replaced.", body = CheckinJson),
        (status = 404, description = "No such team or check-in (not_found).", body = crate::web::openapi::ErrorBody),
        (status = 409, description = "The daily stand-up, or another check-in has the new name (conflict).", body = crate::web::openapi::ErrorBody),
        (status = 422, description = "A value is not valid (invalid).", body = crate::web::openapi::ErrorBody),
    ))]
pub(super) async fn admin_replace_checkin(
    State(st): State<WebState>,
    _: AdminAuth,
    ApiPath2(team, checkin): ApiPath2,
    ApiJson(n): ApiJson<NewCheckin>,
) -> Result<Json<CheckinJson>, AppError> {
    let old = named(&st, &team, &checkin).await?;
    if old.standup {
        return Err(standup_refused(&old));
    }
    let c = checkin_of(&n, old.team_id, old.id)?;
    st.ctx.store.update_checkin(&c).await?;
    Ok(Json(CheckinJson::from(&c)))
}

/// Remove a check-in (never the daily stand-up). Its answers stay in the team log.
#[utoipa::path(delete, path = "/api/v1/admin/teams/{name}/checkins/{checkin}", tag = "admin",
    security(("adminToken" = [])),
    params(
        ("name" = crate::domain::TeamName, Path, description = "The team."),
        ("checkin" = String, Path, description = "The check-in's name (any case)."),
    ),
    responses(
        (status = 204, description = "Removed."),
        (status = 404, description = "No such team or check-in (not_found).", body = crate::web::openapi::ErrorBody),
        (status = 409, description = "The daily stand-up (conflict).", body = crate::web::openapi::ErrorBody),
    ))]
pub(super) async fn admin_remove_checkin(
    State(st): State<WebState>,
    _: AdminAuth,
    ApiPath2(team, checkin): ApiPath2,
) -> Result<StatusCode, AppError> {
    let c = named(&st, &team, &checkin).await?;
    if c.standup {
        return Err(standup_refused(&c));
    }
    st.ctx.store.remove_checkin(c.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The document states the very patterns the handler checks.
    #[test]
    fn the_documents_patterns_are_the_ones_checked() {
        let doc = crate::web::openapi::document();
        let schemas = &doc["components"]["schemas"];
        let new = &schemas["NewCheckin"]["properties"];
        assert_eq!(new["name"]["pattern"], NAME_PATTERN);
        assert_eq!(new["rhythm"]["pattern"], RHYTHM_PATTERN);
        assert_eq!(new["at"]["pattern"], AT_PATTERN);
        assert_eq!(
            schemas["Question"]["properties"]["text"]["pattern"],
            NAME_PATTERN
        );
        for p in [NAME_PATTERN, RHYTHM_PATTERN, AT_PATTERN] {
            assert!(regex::Regex::new(p).is_ok(), "{p}");
        }
        assert!(matches(RHYTHM_PATTERN, "weekly:fri:2:2026-12-07"));
        assert!(!matches(RHYTHM_PATTERN, "weekly:Friday"));
        assert!(!matches(NAME_PATTERN, " Wins"));
        assert!(!matches(AT_PATTERN, "7:30"));
    }
}
