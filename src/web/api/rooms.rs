//! The admin endpoints of a team's chat rooms (`web.admin_token`): list, add, remove. The same
//! rules as `tidings team chat`: an address the fetcher may reach, never shown whole
//! afterwards; a Matrix room's access token is taken and never shown.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::json::ApiPath2;
use super::*;
use crate::domain::schedule::{LocalTime, Workdays, parse_tz};
use crate::fetch::{Fetcher, normalise};
use crate::render::chat::platforms::Platform;
use crate::store::chat::{ChatRoom, NewRoom};
use crate::web::{AppError, WebState};

/// A chat platform.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub(super) enum RoomKind {
    Slack,
    Mattermost,
    Discord,
    Teams,
    GoogleChat,
    Matrix,
}

impl RoomKind {
    fn platform(self) -> Platform {
        match self {
            RoomKind::Slack => Platform::Slack,
            RoomKind::Mattermost => Platform::Mattermost,
            RoomKind::Discord => Platform::Discord,
            RoomKind::Teams => Platform::Teams,
            RoomKind::GoogleChat => Platform::GoogleChat,
            RoomKind::Matrix => Platform::Matrix,
        }
    }
}

/// A chat room of a team (never its address whole, never a token).
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct RoomJson {
    id: i64,
    kind: String,
    /// The address as its host and the end of its path.
    address: String,
    /// Matrix: the room id.
    room: Option<String>,
    /// Local time `HH:MM`.
    at: String,
    tz: String,
    /// `mon,tue,…`.
    days: String,
    /// `ok`, `failing` or `paused` (failing for `webhooks.pause_after_hours`: nothing is
    /// posted until `tidings team chat resume ID`).
    state: String,
    last_error: Option<String>,
    /// Posts waiting and given up on.
    waiting: i64,
    failed: i64,
}

impl From<&ChatRoom> for RoomJson {
    fn from(r: &ChatRoom) -> Self {
        RoomJson {
            id: r.id,
            kind: r.kind.clone(),
            address: crate::store::webhooks::shown(&r.url),
            room: r.room.clone(),
            at: r.at.to_string(),
            tz: r.tz.name().to_string(),
            days: r.days.to_string(),
            state: if r.failing_since.is_some() {
                "failing"
            } else {
                "ok"
            }
            .into(),
            last_error: r.last_error.clone(),
            waiting: r.waiting,
            failed: r.failed,
        }
    }
}

/// A room to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewRoomJson {
    kind: RoomKind,
    /// The room's incoming webhook address (Matrix: the homeserver's base address).
    #[schema(max_length = 2000, pattern = r"^https?://[^\s]+$")]
    url: String,
    /// Local time `HH:MM`.
    #[schema(pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    at: String,
    /// The room's IANA zone.
    #[schema(value_type = crate::domain::ZoneName)]
    tz: String,
    /// The days it is posted on, `mon,tue,wed,thu,fri` (the default).
    #[serde(default)]
    #[schema(max_length = 100)]
    days: Option<String>,
    /// Matrix: the room id (`!abc:example.org`).
    #[serde(default)]
    #[schema(max_length = 255)]
    room: Option<String>,
    /// Matrix: the bot's access token (kept, never shown).
    #[serde(default)]
    #[schema(max_length = 1000)]
    token: Option<String>,
}

fn not_found(msg: String) -> AppError {
    AppError::new(StatusCode::NOT_FOUND, "not_found", msg)
}

async fn team_rooms(st: &WebState, team: &str) -> Result<Vec<ChatRoom>, AppError> {
    if st.ctx.store.team_id(team).await?.is_none() {
        return Err(not_found(format!("no team named {team}")));
    }
    Ok(st
        .ctx
        .store
        .rooms()
        .await?
        .into_iter()
        .filter(|r| r.team == team)
        .collect())
}

/// A team's chat rooms.
#[utoipa::path(get, path = "/api/v1/admin/teams/{name}/rooms", tag = "admin",
    security(("adminToken" = [])),
    params(("name" = crate::domain::TeamName, Path, description = "The team.")),
    responses(
        (status = 200, description = "The rooms, by id.", body = Vec<RoomJson>),
        (status = 404, description = "No team with that name (not_found).", body = crate::web::openapi::ErrorBody),
    ))]
pub(super) async fn admin_list_rooms(
    State(st): State<WebState>,
    _: AdminAuth,
    ApiPath(name): ApiPath,
) -> Result<Json<Vec<RoomJson>>, AppError> {
    let rooms = team_rooms(&st, &name).await?;
    Ok(Json(rooms.iter().map(RoomJson::from).collect()))
}

/// Post a team's daily summary to a chat room at one local time on its days.
#[utoipa::path(post, path = "/api/v1/admin/teams/{name}/rooms", tag = "admin",
    security(("adminToken" = [])),
    params(("name" = crate::domain::TeamName, Path, description = "The team.")),
    request_body = NewRoomJson,
    responses(
        (status = 201, description = "Added.", body = RoomJson),
        (status = 404, description = "No team with that name (not_found).", body = crate::web::openapi::ErrorBody),
        (status = 422, description = "A value is not valid: an address the fetcher may not reach, an unknown zone, days that are not weekdays, a Matrix room without its room id and token (invalid).", body = crate::web::openapi::ErrorBody),
    ))]
pub(super) async fn admin_add_room(
    State(st): State<WebState>,
    _: AdminAuth,
    ApiPath(name): ApiPath,
    ApiJson(n): ApiJson<NewRoomJson>,
) -> Result<(StatusCode, Json<RoomJson>), AppError> {
    let invalid = |what: &str, e: String| AppError::invalid(format!("{what}: {e}"));
    let cfg = &st.ctx.config.fetch;
    if n.url.chars().count() > 2000 || n.url.chars().any(char::is_whitespace) {
        return Err(AppError::invalid("url: at most 2000 characters, no spaces"));
    }
    let url = normalise(&n.url, cfg.allow_http).map_err(|e| invalid("url", e.to_string()))?;
    Fetcher::new(cfg)
        .map_err(AppError::from)?
        .check_address(&url)
        .map_err(|e| invalid("url", e.to_string()))?;
    let at = LocalTime::parse(&n.at).map_err(|e| invalid("at", e.to_string()))?;
    let tz = parse_tz(&n.tz).map_err(|e| invalid("tz", e.to_string()))?;
    let days = Workdays::parse(n.days.as_deref().unwrap_or("mon-fri"))
        .map_err(|e| invalid("days", e.to_string()))?;
    let platform = n.kind.platform();
    let blank = |s: &Option<String>| s.as_deref().is_none_or(|s| s.trim().is_empty());
    if platform == Platform::Matrix && (blank(&n.room) || blank(&n.token)) {
        return Err(AppError::invalid(
            "a Matrix room needs its `room` id and the bot's `token`",
        ));
    }
    let team_id = st.ctx.store.team_id(&name).await?;
    if team_id.is_none() {
        return Err(not_found(format!("no team named {name}")));
    }
    let new = NewRoom {
        team: &name,
        kind: platform.as_str(),
        url: url.as_str(),
        room: n.room.as_deref(),
        token: n.token.as_deref(),
        at,
        tz,
        days,
    };
    let id = st
        .ctx
        .store
        .add_room(&new, chrono::Utc::now().timestamp())
        .await?;
    let room = st
        .ctx
        .store
        .room(id)
        .await?
        .ok_or_else(|| not_found(format!("no room {id}")))?;
    Ok((StatusCode::CREATED, Json(RoomJson::from(&room))))
}

/// Stop posting to a team's chat room (its posts are removed).
#[utoipa::path(delete, path = "/api/v1/admin/teams/{name}/rooms/{id}", tag = "admin",
    security(("adminToken" = [])),
    params(
        ("name" = crate::domain::TeamName, Path, description = "The team."),
        ("id" = i64, Path, description = "The room."),
    ),
    responses(
        (status = 204, description = "Removed."),
        (status = 404, description = "No such team or room of it (not_found).", body = crate::web::openapi::ErrorBody),
    ))]
pub(super) async fn admin_remove_room(
    State(st): State<WebState>,
    _: AdminAuth,
    ApiPath2(name, id): ApiPath2,
) -> Result<StatusCode, AppError> {
    let id: i64 = id
        .parse()
        .map_err(|_| not_found(format!("no room {id:?}")))?;
    let rooms = team_rooms(&st, &name).await?;
    if !rooms.iter().any(|r| r.id == id) || !st.ctx.store.remove_room(id).await? {
        return Err(not_found(format!("team {name} has no room {id}")));
    }
    Ok(StatusCode::NO_CONTENT)
}
