//! The JSON API under `/api/v1`: bearer-token authentication (member tokens are stored as
//! SHA-256 hashes; the admin token comes from `web.admin_token`), per-token rate limits, JSON
//! bodies whose rejections become [`AppError`]s, and the handlers for updates, preferences,
//! drafts, digests and the admin endpoints (members, teams, holidays, holiday calendars,
//! check-ins, webhooks, chat rooms).

mod admin;
mod auth;
mod checkins;
mod json;
mod log;
mod me;
mod me_activity;
mod me_calendars;
mod rooms;
mod shape;
mod team_calendars;
mod updates;
mod webhooks;

use admin::*;
pub use auth::{AdminAuth, MemberAuth};
use checkins::*;
pub use json::{ApiJson, ApiPath, ApiPathId, too_large};
use log::*;
pub use me::MemberPatch;
use me::*;
use me_activity::*;
use rooms::*;
use shape::*;
use team_calendars::*;
use updates::*;
use webhooks::*;

use axum::Json;
use chrono::NaiveDate;
use serde_json::Value;

use super::{AppError, Routes};

pub(super) fn routes(r: Routes) -> Routes {
    use utoipa_axum::routes;
    r.add(routes!(openapi_json))
        .add(routes!(post_update, list_updates))
        .add(routes!(get_preferences, put_preferences))
        .add(routes!(get_draft))
        .add(routes!(get_digest_shape, put_digest_shape))
        .add(routes!(resolve_blocker))
        .add(routes!(latest_digest))
        .add(routes!(team_log))
        .add(routes!(team_export))
        .add(routes!(admin_list_members, admin_add_member))
        .add(routes!(
            admin_get_member,
            admin_update_member,
            admin_remove_member
        ))
        .add(routes!(admin_list_teams, admin_add_team))
        .add(routes!(admin_list_holidays, admin_add_holiday))
        .add(routes!(admin_team_calendars, admin_set_team_calendars))
        .add(routes!(admin_list_checkins, admin_add_checkin))
        .add(routes!(admin_replace_checkin, admin_remove_checkin))
        .add(routes!(admin_list_webhooks, admin_add_webhook))
        .add(routes!(admin_remove_webhook))
        .add(routes!(admin_test_webhook))
        .add(routes!(admin_resume_webhook))
        .add(routes!(admin_list_rooms, admin_add_room))
        .add(routes!(admin_remove_room))
}

use crate::domain::rfc3339;

/// A date written exactly `YYYY-MM-DD`, as the document states.
fn parse_date(s: &str, what: &str) -> Result<NaiveDate, AppError> {
    crate::domain::parse_strict_date(s)
        .ok_or_else(|| AppError::invalid(format!("{what}: expected YYYY-MM-DD, got {s:?}")))
}

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "ops",
    responses((status = 200, description = "The OpenAPI 3.1 document.", body = Object)))]
async fn openapi_json() -> Json<Value> {
    Json(super::openapi::document().clone())
}
