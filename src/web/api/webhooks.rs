//! The admin endpoints of signed webhooks (`web.admin_token`): list, add (the signing secret
//! is in that answer only), remove, test (a ping sent now) and resume. The same rules as
//! `tidings webhook`: an address the fetcher may reach, never shown whole afterwards.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::*;
use crate::domain::webhook::{new_secret, parse_events};
use crate::fetch::{Fetcher, normalise};
use crate::store::webhooks::{HookOutcome, Webhook, state_of};
use crate::web::{AppError, WebState};

/// An event a webhook may ask for.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub(super) enum WebhookEvent {
    #[serde(rename = "update.created")]
    UpdateCreated,
    #[serde(rename = "update.revised")]
    UpdateRevised,
    #[serde(rename = "blocker.opened")]
    BlockerOpened,
    #[serde(rename = "blocker.resolved")]
    BlockerResolved,
    #[serde(rename = "comment.created")]
    CommentCreated,
    #[serde(rename = "reaction.added")]
    ReactionAdded,
}

impl WebhookEvent {
    fn name(self) -> &'static str {
        match self {
            WebhookEvent::UpdateCreated => "update.created",
            WebhookEvent::UpdateRevised => "update.revised",
            WebhookEvent::BlockerOpened => "blocker.opened",
            WebhookEvent::BlockerResolved => "blocker.resolved",
            WebhookEvent::CommentCreated => "comment.created",
            WebhookEvent::ReactionAdded => "reaction.added",
        }
    }
}

/// Whether an endpoint is delivered to.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(super) enum WebhookState {
    /// Its last delivery was accepted (or none was tried yet).
    Ok,
    /// Its last delivery failed; it is retried.
    Failing,
    /// It failed for `webhooks.pause_after_hours`: nothing is sent until it is resumed.
    Paused,
}

/// A webhook endpoint (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct WebhookJson {
    id: i64,
    /// Only this team's events; `null`: every team's.
    team: Option<String>,
    /// The address as its host and the end of its path (it may hold a secret).
    address: String,
    events: Vec<String>,
    state: WebhookState,
    #[schema(format = DateTime)]
    last_success_at: Option<String>,
    #[schema(format = DateTime)]
    failing_since: Option<String>,
    /// Why the last delivery failed.
    last_error: Option<String>,
    #[schema(format = DateTime)]
    paused_at: Option<String>,
    pause_reason: Option<String>,
    /// Deliveries waiting (pending or being sent).
    waiting: i64,
    /// Deliveries given up on.
    failed: i64,
}

fn time(t: Option<i64>) -> Option<String> {
    t.map(rfc3339)
}

impl From<&Webhook> for WebhookJson {
    fn from(h: &Webhook) -> Self {
        WebhookJson {
            id: h.id,
            team: h.team.clone(),
            address: crate::store::webhooks::shown(&h.url),
            events: h.events.clone(),
            state: match state_of(h) {
                "paused" => WebhookState::Paused,
                "failing" => WebhookState::Failing,
                _ => WebhookState::Ok,
            },
            last_success_at: time(h.last_success_at),
            failing_since: time(h.failing_since),
            last_error: h.last_error.clone(),
            paused_at: time(h.paused_at),
            pause_reason: h.pause_reason.clone(),
            waiting: h.waiting,
            failed: h.failed,
        }
    }
}

/// An endpoint to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewWebhook {
    /// The https:// address events are POSTed to (http:// only with `fetch.allow_http`; a
    /// loopback or private address only with `fetch.allow_private`).
    #[schema(max_length = 2000, pattern = r"^https?://[^\s]+$")]
    url: String,
    /// Only this team's events; absent: every team's.
    #[serde(default)]
    #[schema(value_type = Option<crate::domain::TeamName>)]
    team: Option<String>,
    /// The events it hears; absent or empty: all.
    #[serde(default)]
    events: Vec<WebhookEvent>,
}

/// An endpoint just added, with its signing secret: shown here only.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct AddedWebhook {
    webhook: WebhookJson,
    /// `whsec_` and the base64 of 32 random bytes: the key of every delivery's
    /// `webhook-signature` (Standard Webhooks). Never shown again.
    secret: String,
}

/// What a test ping's receiver answered.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct WebhookTest {
    /// The receiver answered 2xx.
    delivered: bool,
    /// Why not, when it did not.
    error: Option<String>,
}

/// The pattern the document states for [`NewWebhook::url`].
fn url_pattern() -> &'static regex::Regex {
    static R: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    R.get_or_init(|| match regex::Regex::new(r"^https?://[^\s]+$") {
        Ok(r) => r,
        Err(_) => unreachable!("a valid pattern"),
    })
}

fn not_found(id: i64) -> AppError {
    AppError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no webhook {id}"),
    )
}

async fn hook(st: &WebState, id: i64) -> Result<Webhook, AppError> {
    st.ctx.store.webhook(id).await?.ok_or_else(|| not_found(id))
}

/// Every webhook endpoint.
#[utoipa::path(get, path = "/api/v1/admin/webhooks", tag = "admin",
    security(("adminToken" = [])),
    responses((status = 200, description = "The endpoints, oldest first.", body = Vec<WebhookJson>)))]
pub(super) async fn admin_list_webhooks(
    State(st): State<WebState>,
    _: AdminAuth,
) -> Result<Json<Vec<WebhookJson>>, AppError> {
    let all = st.ctx.store.webhooks().await?;
    Ok(Json(all.iter().map(WebhookJson::from).collect()))
}

/// Add a webhook endpoint. The answer holds its signing secret, shown only here.
#[utoipa::path(post, path = "/api/v1/admin/webhooks", tag = "admin",
    security(("adminToken" = [])),
    request_body = NewWebhook,
    responses(
        (status = 201, description = "Added.", body = AddedWebhook),
        (status = 404, description = "No team with that name (not_found).", body = crate::web::openapi::ErrorBody),
        (status = 422, description = "The address is not one the fetcher may reach: not https:// (or http:// with fetch.allow_http), a user name or password in it, a loopback or private IP address without fetch.allow_private (invalid).", body = crate::web::openapi::ErrorBody),
    ))]
pub(super) async fn admin_add_webhook(
    State(st): State<WebState>,
    _: AdminAuth,
    ApiJson(n): ApiJson<NewWebhook>,
) -> Result<(StatusCode, Json<AddedWebhook>), AppError> {
    let cfg = &st.ctx.config.fetch;
    if n.url.chars().count() > 2000 || !url_pattern().is_match(&n.url) {
        return Err(AppError::invalid(
            "url: an http(s):// address of at most 2000 characters, no spaces",
        ));
    }
    let url =
        normalise(&n.url, cfg.allow_http).map_err(|e| AppError::invalid(format!("url: {e}")))?;
    Fetcher::new(cfg)
        .map_err(AppError::from)?
        .check_address(&url)
        .map_err(|e| AppError::invalid(format!("url: {e}")))?;
    let names: Vec<&str> = n.events.iter().map(|e| e.name()).collect();
    let events = parse_events(&names.join(",")).map_err(AppError::invalid)?;
    let secret = new_secret();
    let now = chrono::Utc::now().timestamp();
    let id = st
        .ctx
        .store
        .add_webhook(n.team.as_deref(), url.as_str(), &secret, &events, now)
        .await
        .map_err(|e| match e {
            crate::store::StoreError::NotFound(m) => {
                AppError::new(StatusCode::NOT_FOUND, "not_found", m)
            }
            e => e.into(),
        })?;
    let webhook = WebhookJson::from(&hook(&st, id).await?);
    Ok((StatusCode::CREATED, Json(AddedWebhook { webhook, secret })))
}

/// Remove a webhook endpoint and its deliveries.
#[utoipa::path(delete, path = "/api/v1/admin/webhooks/{id}", tag = "admin",
    security(("adminToken" = [])),
    params(("id" = i64, Path, description = "The endpoint.")),
    responses(
        (status = 204, description = "Removed."),
        (status = 404, description = "No such endpoint (not_found).", body = crate::web::openapi::ErrorBody),
    ))]
pub(super) async fn admin_remove_webhook(
    State(st): State<WebState>,
    _: AdminAuth,
    ApiPathId(id): ApiPathId,
) -> Result<StatusCode, AppError> {
    if st.ctx.store.remove_webhook(id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found(id))
    }
}

/// Send a webhook endpoint a signed `ping` now (a paused one too) and say what its receiver
/// answered.
#[utoipa::path(post, path = "/api/v1/admin/webhooks/{id}/test", tag = "admin",
    security(("adminToken" = [])),
    params(("id" = i64, Path, description = "The endpoint.")),
    responses(
        (status = 200, description = "The ping was sent; whether it was accepted.", body = WebhookTest),
        (status = 404, description = "No such endpoint (not_found).", body = crate::web::openapi::ErrorBody),
    ))]
pub(super) async fn admin_test_webhook(
    State(st): State<WebState>,
    _: AdminAuth,
    ApiPathId(id): ApiPathId,
) -> Result<Json<WebhookTest>, AppError> {
    hook(&st, id).await?;
    let now = chrono::Utc::now();
    let delivery = st.ctx.store.queue_ping(id, now.timestamp()).await?;
    let outcome = crate::jobs::hooks::send_one(&st.ctx, delivery, now)
        .await
        .map_err(AppError::from)?;
    Ok(Json(match outcome {
        Some(HookOutcome::Sent { .. }) => WebhookTest {
            delivered: true,
            error: None,
        },
        Some(HookOutcome::Retry { error, .. } | HookOutcome::Failed { error }) => WebhookTest {
            delivered: false,
            error: Some(error),
        },
        None => WebhookTest {
            delivered: false,
            error: Some("the ping was taken by another instance".into()),
        },
    }))
}

/// Resume a paused webhook endpoint: what waited for it is delivered at the next pass.
#[utoipa::path(post, path = "/api/v1/admin/webhooks/{id}/resume", tag = "admin",
    security(("adminToken" = [])),
    params(("id" = i64, Path, description = "The endpoint.")),
    responses(
        (status = 200, description = "Resumed.", body = WebhookJson),
        (status = 404, description = "No such endpoint (not_found).", body = crate::web::openapi::ErrorBody),
    ))]
pub(super) async fn admin_resume_webhook(
    State(st): State<WebState>,
    _: AdminAuth,
    ApiPathId(id): ApiPathId,
) -> Result<Json<WebhookJson>, AppError> {
    if !st
        .ctx
        .store
        .resume_webhook(id, chrono::Utc::now().timestamp())
        .await?
    {
        return Err(not_found(id));
    }
    Ok(Json(WebhookJson::from(&hook(&st, id).await?)))
}
