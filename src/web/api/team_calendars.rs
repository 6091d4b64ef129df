//! A team's holiday calendars through the admin API (#34): listed as host and last
//! characters with ids (never the whole address), replaced by sending the list back (items
//! with an `id` kept, items without one added, the rest removed). Every event of a holiday
//! calendar is a day off for every member of the team.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::me_calendars::CalendarItem;
use super::*;
use crate::domain::rfc3339;
use crate::web::{AppError, WebState};

/// A team's holiday calendars.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct TeamCalendars {
    /// Read-only: may be sent back unchanged.
    #[schema(value_type = crate::domain::TeamName)]
    #[serde(default)]
    team: String,
    calendars: Vec<CalendarItem>,
}

async fn team_id(st: &WebState, name: &str) -> Result<i64, AppError> {
    st.ctx.store.team_id(name).await?.ok_or_else(|| {
        AppError::new(
            axum::http::StatusCode::NOT_FOUND,
            "not_found",
            format!("no team named {name}"),
        )
    })
}

async fn listed(st: &WebState, name: &str, id: i64) -> Result<TeamCalendars, AppError> {
    let calendars = st
        .ctx
        .store
        .team_calendars(id)
        .await?
        .into_iter()
        .map(|l| CalendarItem {
            id: Some(l.source_id),
            address: l.shown,
            kind: "holidays".into(),
            read_at: l.fetched_at.map(rfc3339),
            error: l.error,
            failing_since: l.failing_since.map(rfc3339),
        })
        .collect();
    Ok(TeamCalendars {
        team: name.to_string(),
        calendars,
    })
}

/// A team's holiday calendars.
#[utoipa::path(get, path = "/api/v1/admin/teams/{name}/calendars", tag = "admin",
    security(("adminToken" = [])),
    params(("name" = crate::domain::TeamName, Path, description = "The team.")),
    responses(
        (status = 200, description = "Its holiday calendars, as shown (never the whole address).", body = TeamCalendars),
        (status = 404, description = "No team with that name (not_found).", body = crate::web::openapi::ErrorBody),
    ))]
pub(super) async fn admin_team_calendars(
    State(st): State<WebState>,
    _: AdminAuth,
    ApiPath(name): ApiPath,
) -> Result<Json<TeamCalendars>, AppError> {
    let id = team_id(&st, &name).await?;
    Ok(Json(listed(&st, &name, id).await?))
}

/// Set a team's holiday calendars: items with an `id` are kept, items without one add their
/// `address` (`https://` or `webcal://`; read by the calendar job within minutes), the rest
/// are removed.
#[utoipa::path(put, path = "/api/v1/admin/teams/{name}/calendars", tag = "admin",
    security(("adminToken" = [])),
    params(("name" = crate::domain::TeamName, Path, description = "The team.")),
    request_body = TeamCalendars,
    responses(
        (status = 200, description = "The team's holiday calendars now.", body = TeamCalendars),
        (status = 404, description = "No team with that name (not_found).", body = crate::web::openapi::ErrorBody),
        (status = 422, description = "An address that cannot be read, an id that is not one of the team's calendars, or a `team` other than the path's (invalid), naming the item.", body = crate::web::openapi::ErrorBody),
    ))]
pub(super) async fn admin_set_team_calendars(
    State(st): State<WebState>,
    _: AdminAuth,
    ApiPath(name): ApiPath,
    ApiJson(body): ApiJson<TeamCalendars>,
) -> Result<Json<TeamCalendars>, AppError> {
    // `team` is read-only: sent back unchanged (or left out), never another name.
    if !body.team.is_empty() && body.team != name {
        return Err(AppError::invalid(format!(
            "team: read-only, the path's team {name:?} (it may be sent back unchanged)"
        )));
    }
    let id = team_id(&st, &name).await?;
    let have: Vec<i64> = st
        .ctx
        .store
        .team_calendars(id)
        .await?
        .iter()
        .map(|l| l.source_id)
        .collect();
    let (keep, add) = super::me_calendars::plan(
        &body.calendars,
        &have,
        st.ctx.config.fetch.allow_http,
        "the team's",
    )?;
    // A team's calendars are holiday calendars, whatever kind an item says.
    let add: Vec<String> = add.into_iter().map(|(url, _)| url).collect();
    let gone: Vec<i64> = have.into_iter().filter(|c| !keep.contains(c)).collect();
    st.ctx.store.set_team_calendars(id, &gone, &add).await?;
    Ok(Json(listed(&st, &name, id).await?))
}
