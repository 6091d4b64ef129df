//! The HTTP side (axum): health, metrics, one-click unsubscribe, the JSON API under `/api/v1`
//! ([`api`]), the preferences page behind the signed link ([`prefs`]), the operator's page at
//! `/` ([`admin`]) and the OpenAPI document ([`openapi`]). One error type turns into a JSON
//! body with a message and a stable code, never internals.
//!
//! Every route is registered through [`routes`], which records its method and path, so a test
//! can hold the router and the OpenAPI document to the same list.

pub mod admin;
pub mod api;
pub mod html;
pub mod limit;
pub mod openapi;
pub mod prefs;
pub mod unsubscribe;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::handler::Handler;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, on};
use axum::{Json, Router};
use serde_json::json;

use crate::jobs::Ctx;

/// An error as the web shows it: a status, a stable machine-readable code and a message for
/// people. Internal errors are logged and shown as `internal` without detail.
#[derive(Debug)]
pub struct AppError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds for a `Retry-After` header (429).
    pub retry_after: Option<u64>,
}

impl AppError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        AppError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 422: the request was understood but a value is not acceptable.
    pub fn invalid(message: impl Into<String>) -> Self {
        AppError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message)
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
        let mut r = (
            self.status,
            Json(json!({"error": {"code": self.code, "message": self.message}})),
        )
            .into_response();
        if let Some(s) = self.retry_after {
            r.headers_mut().insert(header::RETRY_AFTER, s.into());
        }
        r
    }
}

/// What every handler gets: the job context and the per-token rate limiter.
#[derive(Clone)]
pub struct WebState {
    pub ctx: Ctx,
    pub limiter: Arc<limit::RateLimiter>,
}

/// The HTTP methods routes use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Verb {
    Get,
    Post,
    Put,
    Delete,
}

impl Verb {
    /// The method as HTTP spells it (`GET`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
            Verb::Put => "PUT",
            Verb::Delete => "DELETE",
        }
    }
    fn filter(self) -> MethodFilter {
        match self {
            Verb::Get => MethodFilter::GET,
            Verb::Post => MethodFilter::POST,
            Verb::Put => MethodFilter::PUT,
            Verb::Delete => MethodFilter::DELETE,
        }
    }
}

/// A router under construction that remembers every (method, path) it was given.
pub struct Routes {
    router: Router<WebState>,
    /// Every registered route, in registration order.
    pub registered: Vec<(Verb, &'static str)>,
}

impl Routes {
    fn new() -> Self {
        Routes {
            router: Router::new(),
            registered: Vec::new(),
        }
    }

    fn add<H, T>(mut self, verb: Verb, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, WebState>,
        T: 'static,
    {
        // axum merges method routers registered for the same path.
        self.router = self.router.route(path, on(verb.filter(), handler));
        self.registered.push((verb, path));
        self
    }
}

/// Every route of the server (without state), recorded.
pub fn routes() -> Routes {
    let r = Routes::new()
        .add(Verb::Get, "/healthz", healthz)
        .add(Verb::Get, "/metrics", metrics)
        .add(Verb::Get, "/favicon.svg", html::favicon);
    let r = unsubscribe::routes(r);
    let r = admin::routes(r);
    let r = prefs::routes(r);
    api::routes(r)
}

/// The server's router over `ctx`.
pub fn router(ctx: Ctx) -> Router {
    let limiter = Arc::new(limit::RateLimiter::per_minute(
        ctx.config.web.rate_limit_per_minute,
    ));
    let max_body = ctx.config.web.max_body_bytes;
    routes()
        .router
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        // Bodies beyond the limit are refused while being read; extractors turn that into a
        // 413 (JSON for the API, a page for forms).
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(WebState { ctx, limiter })
}

/// 404: the JSON error for the API and for clients that do not ask for HTML; a page in the
/// common shell for a browser.
async fn no_route(uri: axum::http::Uri, headers: axum::http::HeaderMap) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if wants_html && !uri.path().starts_with("/api/") {
        return html::message_page(
            StatusCode::NOT_FOUND,
            "Page not found",
            "There is no page at this address.",
            maud::html! { p { "Links in Tidings emails lead to your preferences page; "
            a href="/link" { "ask for a fresh link" } " if yours no longer works." } },
        );
    }
    AppError::new(StatusCode::NOT_FOUND, "no_route", "no such route").into_response()
}

async fn wrong_method() -> AppError {
    AppError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take that method",
    )
}

async fn healthz(State(st): State<WebState>) -> Result<Json<serde_json::Value>, AppError> {
    st.ctx.store.count_members().await?;
    Ok(Json(json!({"status": "ok"})))
}

/// Prometheus text: mail by kind and state, replies by status, outbox depth, tick timings.
async fn metrics(State(st): State<WebState>) -> Result<Response, AppError> {
    use std::fmt::Write;
    let ctx = &st.ctx;
    let mut out = String::new();
    let members = ctx.store.count_members().await?;
    let mail = ctx.store.mail_counts().await?;
    let outbox = ctx.store.outbox_counts().await?;
    let inbound = ctx.store.inbound_counts().await?;
    let (ticks, tick_total, tick_last) = ctx.metrics.ticks();
    // Writing to a String cannot fail.
    let _ = writeln!(
        out,
        "# HELP tidings_members Members in the database.\n# TYPE tidings_members gauge\ntidings_members {members}"
    );
    let _ = writeln!(
        out,
        "# HELP tidings_mail Outgoing mail by kind and state (sent, failed, pending, sending).\n# TYPE tidings_mail gauge"
    );
    for (kind, state, n) in &mail {
        let _ = writeln!(out, "tidings_mail{{kind=\"{kind}\",state=\"{state}\"}} {n}");
    }
    let _ = writeln!(
        out,
        "# HELP tidings_mail_sent Mail sent, by kind.\n# TYPE tidings_mail_sent gauge"
    );
    for (kind, state, n) in &mail {
        if state == "sent" {
            let _ = writeln!(out, "tidings_mail_sent{{kind=\"{kind}\"}} {n}");
        }
    }
    let _ = writeln!(
        out,
        "# HELP tidings_mail_failed Mail failed permanently, by kind.\n# TYPE tidings_mail_failed gauge"
    );
    for (kind, state, n) in &mail {
        if state == "failed" {
            let _ = writeln!(out, "tidings_mail_failed{{kind=\"{kind}\"}} {n}");
        }
    }
    let depth: i64 = outbox
        .iter()
        .filter(|(s, _)| s == "pending" || s == "sending")
        .map(|(_, n)| n)
        .sum();
    let _ = writeln!(
        out,
        "# HELP tidings_outbox_depth Mail waiting to be sent (pending or sending).\n# TYPE tidings_outbox_depth gauge\ntidings_outbox_depth {depth}"
    );
    let _ = writeln!(
        out,
        "# HELP tidings_outbox Outbox rows by state.\n# TYPE tidings_outbox gauge"
    );
    for (state, n) in &outbox {
        let _ = writeln!(out, "tidings_outbox{{state=\"{state}\"}} {n}");
    }
    let _ = writeln!(
        out,
        "# HELP tidings_inbound Inbound messages by status (accepted, command, ignored, quarantined).\n# TYPE tidings_inbound gauge"
    );
    for (status, n) in &inbound {
        let _ = writeln!(out, "tidings_inbound{{status=\"{status}\"}} {n}");
    }
    let count = |s: &str| {
        inbound
            .iter()
            .find(|(k, _)| k == s)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    };
    let _ = writeln!(
        out,
        "# HELP tidings_replies_accepted Replies stored as updates.\n# TYPE tidings_replies_accepted gauge\ntidings_replies_accepted {}",
        count("accepted")
    );
    let _ = writeln!(
        out,
        "# HELP tidings_replies_quarantined Replies set aside with a reason.\n# TYPE tidings_replies_quarantined gauge\ntidings_replies_quarantined {}",
        count("quarantined")
    );
    let _ = writeln!(
        out,
        "# HELP tidings_tick_seconds Planning and sending passes of this process.\n# TYPE tidings_tick_seconds summary\ntidings_tick_seconds_sum {tick_total}\ntidings_tick_seconds_count {ticks}"
    );
    let _ = writeln!(
        out,
        "# HELP tidings_tick_last_seconds Duration of the last pass.\n# TYPE tidings_tick_last_seconds gauge\ntidings_tick_last_seconds {tick_last}"
    );
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response())
}
