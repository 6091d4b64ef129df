//! The admin endpoints (`web.admin_token`): members, teams and holidays.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::*;
use crate::domain::{EmailAddress, Member, MemberView};
use crate::web::{AppError, WebState};

// ---------------------------------------------------------------------------------- admin

pub(super) fn path_email(s: &str) -> Result<EmailAddress, AppError> {
    EmailAddress::parse(s).map_err(|e| AppError::invalid(e.to_string()))
}

pub(super) async fn member_or_404(st: &WebState, email: &EmailAddress) -> Result<Member, AppError> {
    st.ctx.store.member_by_email(email).await?.ok_or_else(|| {
        AppError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no member with email {email}"),
        )
    })
}

/// Every member.
#[utoipa::path(get, path = "/api/v1/admin/members", tag = "admin",
    security(("adminToken" = [])),
    responses((status = 200, description = "The members.", body = Vec<MemberView>)))]
pub(super) async fn admin_list_members(
    State(st): State<WebState>,
    _: AdminAuth,
) -> Result<Json<Vec<MemberView>>, AppError> {
    let members = st.ctx.store.list_members().await?;
    Ok(Json(members.iter().map(MemberView::from).collect()))
}

/// One member.
#[utoipa::path(get, path = "/api/v1/admin/members/{email}", tag = "admin",
    security(("adminToken" = [])),
    params(("email" = String, Path, format = Email, description = "The member's address.")),
    responses(
        (status = 200, description = "The member.", body = MemberView),
        (status = 404, description = "No member with that address (not_found).", body = crate::web::openapi::ErrorBody),
        (status = 422, description = "The path is not an email address (invalid).", body = crate::web::openapi::ErrorBody),
    ))]
pub(super) async fn admin_get_member(
    State(st): State<WebState>,
    _: AdminAuth,
    ApiPath(email): ApiPath,
) -> Result<Json<MemberView>, AppError> {
    let m = member_or_404(&st, &path_email(&email)?).await?;
    Ok(Json(MemberView::from(&m)))
}

/// Add a member: `email`, `name` and `timezone` required; the admin may set `teams`. Their
/// first request and digest are planned at once.
#[utoipa::path(post, path = "/api/v1/admin/members", tag = "admin",
    security(("adminToken" = [])),
    request_body = MemberPatch,
    responses(
        (status = 201, description = "Added.", body = MemberView),
        (status = 409, description = "A member with that address exists (conflict).", body = crate::web::openapi::ErrorBody),
    ))]
pub(super) async fn admin_add_member(
    State(st): State<WebState>,
    _: AdminAuth,
    ApiJson(patch): ApiJson<MemberPatch>,
) -> Result<(StatusCode, Json<MemberView>), AppError> {
    let email = path_email(
        patch
            .email
            .as_deref()
            .ok_or_else(|| AppError::invalid("email is required"))?,
    )?;
    email
        .deliverable()
        .map_err(|e| AppError::invalid(format!("email: {e}")))?;
    if patch.name.is_none() || patch.timezone.is_none() {
        return Err(AppError::invalid(
            "name and timezone (an IANA zone such as Europe/Berlin) are required",
        ));
    }
    if patch.aliases.as_ref().is_some_and(|a| !a.is_empty()) {
        return Err(AppError::invalid("aliases cannot be set here"));
    }
    let ch = patch.to_change(None, true)?;
    // Checked before the member is added: a new member has no calendar to keep.
    if let Some(items) = &patch.calendars {
        super::me_calendars::plan(
            items,
            &[],
            st.ctx.config.fetch.allow_http,
            "the new member's",
        )?;
    }
    if let Some(items) = &patch.activity_feeds {
        super::me_activity::plan(
            items,
            &[],
            st.ctx.config.fetch.allow_http,
            "the new member's",
        )?;
    }
    if let Some(mutes) = &patch.activity_mutes {
        super::me_activity::check_mutes(mutes)?;
    }
    let m = crate::jobs::members::add(&st.ctx, &email, &ch, Utc::now()).await?;
    calendars(&st, &m, &patch).await?;
    Ok((StatusCode::CREATED, Json(MemberView::from(&m))))
}

/// Change a member: any fields of Member (absent ones keep their value; `"team": null`
/// removes every team); the next request and digest are planned again at once.
#[utoipa::path(put, path = "/api/v1/admin/members/{email}", tag = "admin",
    security(("adminToken" = [])),
    params(("email" = String, Path, format = Email, description = "The member's address.")),
    request_body = MemberPatch,
    responses(
        (status = 200, description = "The member as changed.", body = MemberView),
        (status = 404, description = "No member with that address (not_found).", body = crate::web::openapi::ErrorBody),
    ))]
pub(super) async fn admin_update_member(
    State(st): State<WebState>,
    _: AdminAuth,
    ApiPath(email): ApiPath,
    ApiJson(patch): ApiJson<MemberPatch>,
) -> Result<Json<MemberView>, AppError> {
    let m = member_or_404(&st, &path_email(&email)?).await?;
    let ch = patch.to_change(Some(&m), true)?;
    super::me_activity::check(
        &st.ctx,
        m.id,
        patch.activity_feeds.as_deref(),
        patch.activity_mutes.as_deref(),
    )
    .await?;
    let m = apply_change(&st, &m, &ch).await?;
    calendars(&st, &m, &patch).await?;
    Ok(Json(MemberView::from(&m)))
}

/// The member's calendars, activity feeds and chat-room choice as `patch` says (see `PUT
/// /api/v1/me/preferences`).
async fn calendars(
    st: &WebState,
    m: &crate::domain::Member,
    patch: &MemberPatch,
) -> Result<(), AppError> {
    if let Some(items) = &patch.calendars {
        super::me_calendars::apply(&st.ctx, m.id, items).await?;
        crate::jobs::calendars::recompute_member(&st.ctx, m.id, Utc::now()).await?;
    }
    super::me_activity::apply(
        &st.ctx,
        m.id,
        patch.activity_feeds.as_deref(),
        patch.activity_mutes.as_deref(),
    )
    .await?;
    if let Some(on) = patch.in_rooms {
        st.ctx
            .store
            .set_in_rooms(m.id, on, Utc::now().timestamp())
            .await?;
    }
    Ok(())
}

/// Remove a member (their updates go with them).
#[utoipa::path(delete, path = "/api/v1/admin/members/{email}", tag = "admin",
    security(("adminToken" = [])),
    params(("email" = String, Path, format = Email, description = "The member's address.")),
    responses(
        (status = 204, description = "Removed."),
        (status = 404, description = "No member with that address (not_found).", body = crate::web::openapi::ErrorBody),
        (status = 422, description = "The path is not an email address (invalid).", body = crate::web::openapi::ErrorBody),
    ))]
pub(super) async fn admin_remove_member(
    State(st): State<WebState>,
    _: AdminAuth,
    ApiPath(email): ApiPath,
) -> Result<StatusCode, AppError> {
    st.ctx.store.remove_member(&path_email(&email)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A team and how many members it has.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct TeamJson {
    #[schema(value_type = crate::domain::TeamName)]
    name: String,
    members: i64,
}

/// Every team.
#[utoipa::path(get, path = "/api/v1/admin/teams", tag = "admin",
    security(("adminToken" = [])),
    responses((status = 200, description = "The teams.", body = Vec<TeamJson>)))]
pub(super) async fn admin_list_teams(
    State(st): State<WebState>,
    _: AdminAuth,
) -> Result<Json<Vec<TeamJson>>, AppError> {
    let teams = st.ctx.store.list_teams().await?;
    Ok(Json(
        teams
            .into_iter()
            .map(|(name, members)| TeamJson { name, members })
            .collect(),
    ))
}

/// A new team.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewTeam {
    #[schema(value_type = crate::domain::TeamName)]
    name: String,
}

/// Add a team.
#[utoipa::path(post, path = "/api/v1/admin/teams", tag = "admin",
    security(("adminToken" = [])),
    request_body = NewTeam,
    responses(
        (status = 201, description = "Added.", body = TeamJson),
        (status = 409, description = "A team with that name exists (conflict).", body = crate::web::openapi::ErrorBody),
    ))]
pub(super) async fn admin_add_team(
    State(st): State<WebState>,
    _: AdminAuth,
    ApiJson(t): ApiJson<NewTeam>,
) -> Result<(StatusCode, Json<TeamJson>), AppError> {
    let name = api_team_name(&t.name)?;
    st.ctx.store.add_team(&name).await?;
    Ok((StatusCode::CREATED, Json(TeamJson { name, members: 0 })))
}

/// A team's holidays: no requests and no digests on these local dates.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct HolidaysJson {
    #[schema(value_type = crate::domain::TeamName)]
    team: String,
    #[schema(value_type = Vec<String>)]
    holidays: Vec<String>,
}

/// A team's holidays.
#[utoipa::path(get, path = "/api/v1/admin/teams/{name}/holidays", tag = "admin",
    security(("adminToken" = [])),
    params(("name" = crate::domain::TeamName, Path, description = "The team.")),
    responses(
        (status = 200, description = "The holidays, earliest first.", body = HolidaysJson),
        (status = 404, description = "No team with that name (not_found).", body = crate::web::openapi::ErrorBody),
    ))]
pub(super) async fn admin_list_holidays(
    State(st): State<WebState>,
    _: AdminAuth,
    ApiPath(name): ApiPath,
) -> Result<Json<HolidaysJson>, AppError> {
    let days = st.ctx.store.list_holidays(&name).await?;
    let holidays = days.iter().map(|d| d.to_string()).collect();
    Ok(Json(HolidaysJson {
        team: name,
        holidays,
    }))
}

/// A new holiday.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewHoliday {
    #[schema(format = Date, pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    date: String,
}

/// One holiday of a team.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct HolidayJson {
    #[schema(value_type = crate::domain::TeamName)]
    team: String,
    #[schema(format = Date)]
    date: String,
}

/// Add a holiday to a team.
#[utoipa::path(post, path = "/api/v1/admin/teams/{name}/holidays", tag = "admin",
    security(("adminToken" = [])),
    params(("name" = crate::domain::TeamName, Path, description = "The team.")),
    request_body = NewHoliday,
    responses(
        (status = 201, description = "Added (adding a day twice is not an error).", body = HolidayJson),
        (status = 404, description = "No team with that name (not_found).", body = crate::web::openapi::ErrorBody),
    ))]
pub(super) async fn admin_add_holiday(
    State(st): State<WebState>,
    _: AdminAuth,
    ApiPath(name): ApiPath,
    ApiJson(h): ApiJson<NewHoliday>,
) -> Result<(StatusCode, Json<HolidayJson>), AppError> {
    let date = parse_date(&h.date, "date")?;
    st.ctx.store.add_holiday(&name, date).await?;
    Ok((
        StatusCode::CREATED,
        Json(HolidayJson {
            team: name,
            date: date.to_string(),
        }),
    ))
}
