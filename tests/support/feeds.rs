//! Activity feeds for the tests (#35): the fixtures of `tests/fixtures/feeds/` (each in the
//! exact format its service writes, its source named in its header) served by a real HTTP
//! server on 127.0.0.1 with ETag and 304, and addresses that fail each way a feed can.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// The feed server: its base URL (`{base}/f/github.atom`, `{base}/broken/500`, …).
pub struct Feeds {
    pub base: String,
    revalidated: Arc<AtomicUsize>,
}

impl Feeds {
    /// Conditional GETs answered 304 so far.
    pub fn revalidated(&self) -> usize {
        self.revalidated.load(Ordering::SeqCst)
    }

    /// The address of fixture `name`.
    pub fn url(&self, name: &str) -> String {
        format!("{}/f/{name}", self.base)
    }
}

/// The bytes of fixture `name`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/feeds/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

async fn feed(
    State(hits): State<Arc<AtomicUsize>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    let etag = format!("\"{name}-v1\"");
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        hits.fetch_add(1, Ordering::SeqCst);
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let kind = match name.rsplit('.').next() {
        Some("json") => "application/feed+json",
        Some("rss") => "application/rss+xml",
        Some("html") => "text/html",
        _ => "application/atom+xml",
    };
    (
        [
            (header::ETAG, etag),
            (header::CONTENT_TYPE, kind.to_string()),
        ],
        fixture(&name),
    )
        .into_response()
}

/// Starts the server (it runs until the test's runtime ends). Besides the fixtures under
/// `/f/`: `/broken/500`, `/broken/big` (300,000 bytes), `/broken/slow` (30 s) and
/// `/broken/metadata` (a redirect to 169.254.169.254).
pub async fn serve() -> Feeds {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let hits = Arc::new(AtomicUsize::new(0));
    let app = Router::new()
        .route("/f/{name}", get(feed))
        .route(
            "/broken/500",
            get(|| async { StatusCode::INTERNAL_SERVER_ERROR }),
        )
        .route("/broken/big", get(|| async { "x".repeat(300_000) }))
        .route(
            "/broken/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "late"
            }),
        )
        .route(
            "/broken/metadata",
            get(|| async {
                (
                    StatusCode::FOUND,
                    [(header::LOCATION, "http://169.254.169.254/latest/meta-data/")],
                )
            }),
        )
        .with_state(hits.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Feeds {
        base: format!("http://127.0.0.1:{port}"),
        revalidated: hits,
    }
}
