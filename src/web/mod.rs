//! The HTTP side (axum): health, metrics, one-click unsubscribe, the JSON API under `/api/v1`
//! ([`api`]), the preferences page behind the signed link ([`prefs`]), the operator's page at
//! `/` ([`admin`]) and the OpenAPI document ([`openapi`]). One error type turns into a JSON
//! body with a message and a stable code, never internals.
//!
//! Every route is registered through [`routes`], from its handler's `#[utoipa::path]`
//! annotation, so the router and the OpenAPI document are built from the same list.

pub mod admin;
pub mod api;
pub mod confirm;
pub mod feed;
pub mod guard;
pub mod html;
pub mod limit;
pub mod log;
pub mod oidc;
pub mod openapi;
mod openapi_webhooks;
pub mod prefs;
pub mod server;
pub mod session;
pub mod unsubscribe;

pub use server::serve;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::Serialize;

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
            crate::store::StoreError::Limit(m) => {
                AppError::new(StatusCode::UNPROCESSABLE_ENTITY, "update_full", m)
            }
            crate::store::StoreError::Other(e) => e.into(),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let mut r = (
            self.status,
            Json(openapi::ErrorBody {
                error: openapi::ErrorDetail {
                    code: self.code.to_string(),
                    message: self.message,
                },
            }),
        )
            .into_response();
        if let Some(s) = self.retry_after {
            r.headers_mut().insert(header::RETRY_AFTER, s.into());
        }
        r
    }
}

/// What every handler gets: the job context and the rate limiters.
#[derive(Clone)]
pub struct WebState {
    pub ctx: Ctx,
    /// Per API token (and the admin's own use of the admin API).
    pub limiter: Arc<limit::RateLimiter>,
    /// Failed admin logins and wrong Bearer tokens, per client address.
    pub failures: Arc<limit::RateLimiter>,
    /// Sign-in and fresh-link requests, per client address.
    pub signins: Arc<limit::RateLimiter>,
}

/// Failed logins or Bearer guesses one client address may make: a burst of this many, then
/// this many a minute.
pub const FAILURES_PER_MINUTE: u32 = 10;
/// Sign-in and fresh-link requests one client address may make: this many, refilled over
/// ten minutes.
pub const SIGNINS_PER_10_MINUTES: u32 = 5;

impl WebState {
    /// The client a request is from (see [`server::client_ip`]).
    pub fn client_ip(
        &self,
        extensions: &axum::http::Extensions,
        headers: &axum::http::HeaderMap,
    ) -> std::net::IpAddr {
        server::client_ip(&self.ctx.config.web, extensions.get(), headers)
    }
}

/// The router under construction. Routes are added only as utoipa-axum `routes!(handler, …)`,
/// which takes each handler's method and path from its `#[utoipa::path]` annotation and adds
/// the operation to the OpenAPI document: a handler without that annotation does not compile
/// here, so nothing is served that the document does not describe.
pub struct Routes(utoipa_axum::router::OpenApiRouter<WebState>);

impl Routes {
    fn new() -> Self {
        Routes(utoipa_axum::router::OpenApiRouter::with_openapi(
            openapi::base(),
        ))
    }

    fn add(self, r: utoipa_axum::router::UtoipaMethodRouter<WebState>) -> Self {
        Routes(self.0.routes(r))
    }

    /// The OpenAPI document of these routes (before [`openapi::document`] adds the common
    /// statuses).
    pub fn into_openapi(self) -> utoipa::openapi::OpenApi {
        self.0.into_openapi()
    }
}

/// The value of the cookie `name` in a request, if it has one.
pub(crate) fn cookie(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.trim().to_string())
}

/// A `Set-Cookie` for cookie `name` (HttpOnly, the whole site, `Secure` behind https), kept
/// `max_age` seconds (0 clears it). The values Tidings sets are digits, dots and hex, always
/// valid in a header.
pub(crate) fn set_cookie(
    st: &WebState,
    name: &str,
    value: &str,
    max_age: i64,
    same_site: &str,
) -> axum::http::HeaderValue {
    let secure = if st.ctx.config.web.base_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let c = format!(
        "{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite={same_site}{secure}"
    );
    axum::http::HeaderValue::from_str(&c)
        .unwrap_or_else(|_| axum::http::HeaderValue::from_static(""))
}

/// Every route of the server (without state).
pub fn routes() -> Routes {
    let r = Routes::new()
        .add(utoipa_axum::routes!(healthz))
        .add(utoipa_axum::routes!(metrics))
        .add(utoipa_axum::routes!(html::favicon));
    let r = unsubscribe::routes(r);
    let r = admin::routes(r);
    let r = prefs::routes(r);
    let r = session::routes(r);
    let r = confirm::routes(r);
    let r = oidc::routes(r);
    let r = log::routes(r);
    let r = feed::routes(r);
    api::routes(r)
}

/// The longest request target (path and query) served: a longer one is `414 uri_too_long`.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// The most header bytes (names and values) a request may carry: beyond, `431
/// headers_too_large`; also for more than [`MAX_HEADERS`] headers.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
pub const MAX_HEADERS: usize = 100;
/// What hyper reads at most before giving up on a request head itself (an empty 431).
const HYPER_MAX_HEAD_BYTES: usize = 1024 * 1024;
const HYPER_MAX_HEADERS: usize = 1000;

/// 414 and 431 as the JSON error envelope, before routing.
async fn head_limits(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let uri_len = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if uri_len > MAX_URI_BYTES {
        return AppError::new(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            format!("the request target is {uri_len} bytes; at most {MAX_URI_BYTES} are served"),
        )
        .into_response();
    }
    let headers = req.headers();
    let bytes: usize = headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len())
        .sum();
    if headers.len() > MAX_HEADERS || bytes > MAX_HEADER_BYTES {
        return AppError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            format!(
                "the request has {} headers of {bytes} bytes; at most {MAX_HEADERS} headers of {MAX_HEADER_BYTES} bytes are served",
                headers.len()
            ),
        )
        .into_response();
    }
    next.run(req).await
}

/// The server's router over `ctx`.
pub fn router(ctx: Ctx) -> Router {
    let limiter = Arc::new(limit::RateLimiter::per_minute(
        ctx.config.web.rate_limit_per_minute,
    ));
    let max_body = ctx.config.web.max_body_bytes;
    let body_timeout = ctx.config.web.body_timeout_secs;
    let (router, _) = routes().0.split_for_parts();
    router
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        // Bodies beyond the limit are refused while being read; extractors turn that into a
        // 413 (JSON for the API, a page for forms).
        .layer(DefaultBodyLimit::max(max_body))
        // A body that trickles in (or stops short of its Content-Length) gets 408 by one
        // deadline for the whole body instead of holding the connection.
        .layer(axum::middleware::from_fn_with_state(
            server::BodyRules {
                timeout: std::time::Duration::from_secs(body_timeout.max(1)),
                min_rate: ctx.config.web.min_body_bytes_per_sec,
                max_bytes: max_body,
            },
            server::body_deadline,
        ))
        .layer(axum::middleware::from_fn(head_limits))
        .layer(axum::middleware::from_fn(guard::security_headers))
        .with_state(WebState {
            ctx,
            limiter,
            failures: Arc::new(limit::RateLimiter::per_minute(FAILURES_PER_MINUTE)),
            signins: Arc::new(limit::RateLimiter::new(
                SIGNINS_PER_10_MINUTES,
                std::time::Duration::from_secs(600),
            )),
        })
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

/// `{"status": "ok"}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Status {
    #[schema(example = "ok")]
    pub status: String,
}

/// Liveness: the database answers.
#[utoipa::path(get, path = "/healthz", tag = "ops",
    responses(
        (status = 200, description = "The database answers.", body = Status),
        (status = 500, description = "The database does not answer (internal).", body = openapi::ErrorBody),
    ))]
async fn healthz(State(st): State<WebState>) -> Result<Json<Status>, AppError> {
    st.ctx.store.count_members().await?;
    Ok(Json(Status {
        status: "ok".into(),
    }))
}

/// Prometheus metrics: mail by kind and state, replies by status, outbox depth, calendars by
/// state, tick durations.
#[utoipa::path(get, path = "/metrics", tag = "ops",
    responses(
        (status = 200, description = "Prometheus text format.", body = String, content_type = "text/plain"),
        (status = 500, description = "The database does not answer (internal).", body = openapi::ErrorBody),
    ))]
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
        "# HELP tidings_reply_mail_suppressed_total Receipts and notices not sent because their address reached mail.inbound.receipts_per_hour (this process).\n# TYPE tidings_reply_mail_suppressed_total counter\ntidings_reply_mail_suppressed_total {}",
        ctx.metrics.suppressed_reply_mail_count()
    );
    let _ = writeln!(
        out,
        "# HELP tidings_calendars Calendar addresses by state (ok, failing: the last read failed and the last good copy is used, unread).\n# TYPE tidings_calendars gauge"
    );
    for (state, n) in ctx.store.calendar_states().await? {
        let _ = writeln!(out, "tidings_calendars{{state=\"{state}\"}} {n}");
    }
    let _ = writeln!(
        out,
        "# HELP tidings_activity_feeds Activity feed addresses by state (ok, failing: no draft from it until it reads again, unread).\n# TYPE tidings_activity_feeds gauge"
    );
    for (state, n) in ctx.store.activity_feed_states().await? {
        let _ = writeln!(out, "tidings_activity_feeds{{state=\"{state}\"}} {n}");
    }
    let _ = writeln!(
        out,
        "# HELP tidings_webhook_deliveries Webhook deliveries by state (pending, sending, sent, failed).\n# TYPE tidings_webhook_deliveries gauge"
    );
    for (state, n) in ctx.store.delivery_counts().await? {
        let _ = writeln!(out, "tidings_webhook_deliveries{{state=\"{state}\"}} {n}");
    }
    let _ = writeln!(
        out,
        "# HELP tidings_chat_posts Chat room posts by state (pending, sending, sent, failed).\n# TYPE tidings_chat_posts gauge"
    );
    for (state, n) in ctx.store.post_counts().await? {
        let _ = writeln!(out, "tidings_chat_posts{{state=\"{state}\"}} {n}");
    }
    let _ = writeln!(
        out,
        "# HELP tidings_webhooks Webhook endpoints by state (ok, failing, paused: failing for webhooks.pause_after_hours, waiting for `tidings webhook resume`).\n# TYPE tidings_webhooks gauge"
    );
    let hooks = ctx.store.webhooks().await?;
    for state in ["ok", "failing", "paused"] {
        let n = hooks
            .iter()
            .filter(|h| crate::store::webhooks::state_of(h) == state)
            .count();
        let _ = writeln!(out, "tidings_webhooks{{state=\"{state}\"}} {n}");
    }
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
