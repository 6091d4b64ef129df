//! The admin endpoints (`web.admin_token`): members, teams and holidays.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};

use super::*;
use crate::domain::{EmailAddress, Member, MemberView, parse_team_name};
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

pub(super) async fn admin_list_members(
    State(st): State<WebState>,
    _: AdminAuth,
) -> Result<Json<Vec<MemberView>>, AppError> {
    let members = st.ctx.store.list_members().await?;
    Ok(Json(members.iter().map(MemberView::from).collect()))
}

pub(super) async fn admin_get_member(
    State(st): State<WebState>,
    _: AdminAuth,
    Path(email): Path<String>,
) -> Result<Json<MemberView>, AppError> {
    let m = member_or_404(&st, &path_email(&email)?).await?;
    Ok(Json(MemberView::from(&m)))
}

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
    if patch.name.is_none() || patch.timezone.is_none() {
        return Err(AppError::invalid(
            "name and timezone (an IANA zone such as Europe/Berlin) are required",
        ));
    }
    if patch.aliases.as_ref().is_some_and(|a| !a.is_empty()) {
        return Err(AppError::invalid("aliases cannot be set here"));
    }
    let ch = patch.to_change(None, true)?;
    let m = crate::jobs::members::add(&st.ctx, &email, &ch, Utc::now()).await?;
    Ok((StatusCode::CREATED, Json(MemberView::from(&m))))
}

pub(super) async fn admin_update_member(
    State(st): State<WebState>,
    _: AdminAuth,
    Path(email): Path<String>,
    ApiJson(patch): ApiJson<MemberPatch>,
) -> Result<Json<MemberView>, AppError> {
    let m = member_or_404(&st, &path_email(&email)?).await?;
    let ch = patch.to_change(Some(&m), true)?;
    let m = apply_change(&st, &m, &ch).await?;
    Ok(Json(MemberView::from(&m)))
}

pub(super) async fn admin_remove_member(
    State(st): State<WebState>,
    _: AdminAuth,
    Path(email): Path<String>,
) -> Result<StatusCode, AppError> {
    st.ctx.store.remove_member(&path_email(&email)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn admin_list_teams(
    State(st): State<WebState>,
    _: AdminAuth,
) -> Result<Json<Value>, AppError> {
    let teams = st.ctx.store.list_teams().await?;
    Ok(Json(Value::Array(
        teams
            .iter()
            .map(|(n, c)| json!({"name": n, "members": c}))
            .collect(),
    )))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewTeam {
    name: String,
}

pub(super) async fn admin_add_team(
    State(st): State<WebState>,
    _: AdminAuth,
    ApiJson(t): ApiJson<NewTeam>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let name = parse_team_name(&t.name).map_err(AppError::invalid)?;
    st.ctx.store.add_team(&name).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"name": name, "members": 0})),
    ))
}

pub(super) async fn admin_list_holidays(
    State(st): State<WebState>,
    _: AdminAuth,
    Path(name): Path<String>,
) -> Result<Json<Value>, AppError> {
    let days = st.ctx.store.list_holidays(&name).await?;
    let days: Vec<String> = days.iter().map(|d| d.to_string()).collect();
    Ok(Json(json!({"team": name, "holidays": days})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewHoliday {
    date: String,
}

pub(super) async fn admin_add_holiday(
    State(st): State<WebState>,
    _: AdminAuth,
    Path(name): Path<String>,
    ApiJson(h): ApiJson<NewHoliday>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let date = parse_date(&h.date, "date")?;
    st.ctx.store.add_holiday(&name, date).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"team": name, "date": date.to_string()})),
    ))
}
