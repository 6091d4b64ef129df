//! The JSON API under `/api/v1`: bearer-token authentication (member tokens are stored as
//! SHA-256 hashes; the admin token comes from `web.admin_token`), per-token rate limits, JSON
//! bodies whose rejections become [`AppError`]s, and the handlers for updates, preferences,
//! digests and the admin endpoints (members, teams, holidays).

mod admin;
mod auth;
mod json;
mod me;

use admin::*;
pub use auth::{AdminAuth, MemberAuth};
pub use json::{ApiJson, too_large};
pub use me::MemberPatch;
use me::*;

use axum::Json;
use chrono::{DateTime, NaiveDate};
use serde_json::Value;

use super::{AppError, Routes, Verb};

pub(super) fn routes(r: Routes) -> Routes {
    r.add(Verb::Get, "/api/v1/openapi.json", openapi_json)
        .add(Verb::Post, "/api/v1/updates", post_update)
        .add(Verb::Get, "/api/v1/updates", list_updates)
        .add(Verb::Get, "/api/v1/me/preferences", get_preferences)
        .add(Verb::Put, "/api/v1/me/preferences", put_preferences)
        .add(Verb::Get, "/api/v1/digests/latest", latest_digest)
        .add(Verb::Get, "/api/v1/admin/members", admin_list_members)
        .add(Verb::Post, "/api/v1/admin/members", admin_add_member)
        .add(Verb::Get, "/api/v1/admin/members/{email}", admin_get_member)
        .add(
            Verb::Put,
            "/api/v1/admin/members/{email}",
            admin_update_member,
        )
        .add(
            Verb::Delete,
            "/api/v1/admin/members/{email}",
            admin_remove_member,
        )
        .add(Verb::Get, "/api/v1/admin/teams", admin_list_teams)
        .add(Verb::Post, "/api/v1/admin/teams", admin_add_team)
        .add(
            Verb::Get,
            "/api/v1/admin/teams/{name}/holidays",
            admin_list_holidays,
        )
        .add(
            Verb::Post,
            "/api/v1/admin/teams/{name}/holidays",
            admin_add_holiday,
        )
}

fn rfc3339(t: i64) -> String {
    DateTime::from_timestamp(t, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn parse_date(s: &str, what: &str) -> Result<NaiveDate, AppError> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| AppError::invalid(format!("{what}: expected YYYY-MM-DD, got {s:?}")))
}

async fn openapi_json() -> Json<Value> {
    Json(super::openapi::spec())
}
