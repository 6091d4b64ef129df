//! The HTTP side (axum): health, metrics and the one-click unsubscribe endpoint. One error
//! type turns into a JSON body with a message and a stable code, never internals.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::Utc;
use maud::html;
use serde_json::json;

use crate::domain::token::LinkToken;
use crate::jobs::Ctx;
use crate::store::MemberChange;

/// An error as the web shows it.
#[derive(Debug)]
pub struct AppError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl AppError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        AppError {
            status,
            code,
            message: message.into(),
        }
    }
}

impl From<anyhow::Error> for AppError {
    fn from(e: anyhow::Error) -> Self {
        tracing::error!(error = %format!("{e:#}"), "request failed");
        AppError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; see the server log",
        )
    }
}

impl From<crate::store::StoreError> for AppError {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::Conflict(m) => {
                AppError::new(StatusCode::CONFLICT, "conflict", m)
            }
            crate::store::StoreError::NotFound(m) => {
                AppError::new(StatusCode::NOT_FOUND, "not_found", m)
            }
            crate::store::StoreError::Other(e) => e.into(),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({"error": {"code": self.code, "message": self.message}})),
        )
            .into_response()
    }
}

pub fn router(ctx: Ctx) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route(
            "/u/{token}",
            get(unsubscribe_page).post(unsubscribe_one_click),
        )
        .with_state(ctx)
}

async fn healthz(State(ctx): State<Ctx>) -> Result<Json<serde_json::Value>, AppError> {
    ctx.store.count_members().await?;
    Ok(Json(json!({"status": "ok"})))
}

async fn metrics(State(ctx): State<Ctx>) -> Result<Response, AppError> {
    let mut out = String::new();
    out.push_str("# HELP tidings_members Members in the database.\n# TYPE tidings_members gauge\n");
    out.push_str(&format!(
        "tidings_members {}\n",
        ctx.store.count_members().await?
    ));
    out.push_str("# HELP tidings_outbox Outbox rows by state.\n# TYPE tidings_outbox gauge\n");
    for (state, n) in ctx.store.outbox_counts().await? {
        out.push_str(&format!("tidings_outbox{{state=\"{state}\"}} {n}\n"));
    }
    out.push_str(
        "# HELP tidings_inbound Inbound messages by status.\n# TYPE tidings_inbound gauge\n",
    );
    for (status, n) in ctx.store.inbound_counts().await? {
        out.push_str(&format!("tidings_inbound{{status=\"{status}\"}} {n}\n"));
    }
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response())
}

async fn unsubscribe(ctx: &Ctx, token: &str) -> Result<String, AppError> {
    let t = LinkToken::verify(token, &ctx.secret, Utc::now().timestamp()).map_err(|e| {
        AppError::new(
            StatusCode::FORBIDDEN,
            "bad_link",
            format!("this unsubscribe link is not valid: {e}"),
        )
    })?;
    let m = ctx
        .store
        .member_by_id(t.member)
        .await?
        .ok_or_else(|| AppError::new(StatusCode::NOT_FOUND, "not_found", "no such member"))?;
    ctx.store
        .update_member(
            &m.email,
            &MemberChange {
                unsubscribed: Some(true),
                ..Default::default()
            },
        )
        .await?;
    Ok(m.email.to_string())
}

/// RFC 8058: the mail client POSTs `List-Unsubscribe=One-Click`; no page, no confirmation.
async fn unsubscribe_one_click(
    State(ctx): State<Ctx>,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    unsubscribe(&ctx, &token).await?;
    Ok((StatusCode::OK, Json(json!({"status": "unsubscribed"}))).into_response())
}

async fn unsubscribe_page(State(ctx): State<Ctx>, Path(token): Path<String>) -> Response {
    match unsubscribe(&ctx, &token).await {
        Ok(email) => Html(
            html! { h1 { "Unsubscribed" } p { (email) " will get no more requests or digests from Tidings." } }.into_string(),
        )
        .into_response(),
        Err(e) => (e.status, Html(html! { h1 { "This link does not work" } p { (e.message) } }.into_string())).into_response(),
    }
}
