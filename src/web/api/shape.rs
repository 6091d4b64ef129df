//! `/api/v1/me/digest-shape`: how the member shapes their own digest (who they follow and
//! mute, only what needs them, quiet days), as the reply commands and the preferences page
//! set it.

use axum::Json;
use axum::extract::State;
use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiJson, MemberAuth};
use crate::jobs::shape::{ShapeSpec, set_spec, spec_of};
use crate::web::{AppError, WebState};

/// How the member shapes their digest. Teammates are named by email address.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct DigestShapeJson {
    /// Teammates whose updates come first in the digest, and whole.
    #[serde(default)]
    #[schema(value_type = Vec<String>, format = Email)]
    follow: Vec<String>,
    /// Teammates whose updates fold into one line with a link (they are not told; a lead's
    /// escalation of their blocker still comes). Not also in `follow`.
    #[serde(default)]
    #[schema(value_type = Vec<String>, format = Email)]
    mute: Vec<String>,
    /// A digest only when something needs the member (a mention, a comment, a blocker they
    /// lead), holding just that.
    #[serde(default)]
    needs_only: bool,
    /// No digests until this local date, after the member's today; the first one then is a
    /// catch-up. `null`: no quiet days.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    quiet_until: Option<String>,
}

impl From<ShapeSpec> for DigestShapeJson {
    fn from(s: ShapeSpec) -> Self {
        DigestShapeJson {
            follow: s.follow,
            mute: s.mute,
            needs_only: s.needs_only,
            quiet_until: s.quiet_until.map(|d| d.to_string()),
        }
    }
}

/// The member's digest shape.
#[utoipa::path(get, path = "/api/v1/me/digest-shape", tag = "me",
    security(("memberToken" = [])),
    responses((status = 200, description = "How the member shapes their digest.", body = DigestShapeJson)))]
pub(super) async fn get_digest_shape(
    State(st): State<WebState>,
    auth: MemberAuth,
) -> Result<Json<DigestShapeJson>, AppError> {
    Ok(Json(spec_of(&st.ctx, &auth.member).await?.into()))
}

/// Replace the member's digest shape (absent fields take their defaults: `{}` is the digest
/// everyone gets).
#[utoipa::path(put, path = "/api/v1/me/digest-shape", tag = "me",
    security(("memberToken" = [])),
    request_body = DigestShapeJson,
    responses(
        (status = 200, description = "The shape as stored.", body = DigestShapeJson),
        (status = 422, description = "A name is not a teammate's email address or name, someone is both followed and muted, or `quiet_until` is not after the member's today (which the schema cannot state).", body = crate::web::openapi::ErrorBody),
    ))]
pub(super) async fn put_digest_shape(
    State(st): State<WebState>,
    auth: MemberAuth,
    ApiJson(body): ApiJson<DigestShapeJson>,
) -> Result<Json<DigestShapeJson>, AppError> {
    let quiet_until = body
        .quiet_until
        .as_deref()
        .map(|d| {
            NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
                AppError::invalid(format!("quiet_until: {d:?} is not a date like 2026-12-31"))
            })
        })
        .transpose()?;
    // The document says each is an address: a blank one is refused, not skipped (the
    // preferences page's comma-separated fields skip blanks; a JSON list has none to skip).
    for (field, names) in [("follow", &body.follow), ("mute", &body.mute)] {
        if let Some(i) = names.iter().position(|n| n.trim().is_empty()) {
            return Err(AppError::invalid(format!(
                "{field}[{i}]: empty; name a teammate by email address"
            )));
        }
    }
    let spec = ShapeSpec {
        follow: body.follow,
        mute: body.mute,
        needs_only: body.needs_only,
        quiet_until,
    };
    let stored = set_spec(&st.ctx, &auth.member, &spec, Utc::now())
        .await?
        .map_err(AppError::invalid)?;
    Ok(Json(stored.into()))
}
