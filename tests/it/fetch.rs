//! The one fetcher (#34) against a real HTTP server on loopback: loopback refused by default
//! (as an IP and through a name that resolves to 127.0.0.1), a metadata address refused
//! through a redirect even when private addresses are allowed, at most three redirects, a
//! size cap with and without Content-Length, a timeout, ETag revalidation, and errors that
//! never carry the address (its path may be a calendar's secret).

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tidings::config::FetchConfig;
use tidings::fetch::{FetchError, Fetched, Fetcher, guard::Refusal, normalise};

const SECRET: &str = "s3cr3t-calendar-token";

async fn calendar(headers: HeaderMap) -> Response {
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v == "\"v1\"")
    {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    (
        [(header::ETAG, "\"v1\"")],
        "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
    )
        .into_response()
}

fn redirect(to: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, to.to_string())]).into_response()
}

/// A server on 127.0.0.1: its base URL (the task ends with the test).
async fn server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let app = Router::new()
        .route(&format!("/{SECRET}/basic.ics"), get(calendar))
        .route(
            "/to-metadata",
            get(|| async { redirect("http://169.254.169.254/latest/meta-data/") }),
        )
        .route(
            "/loop/{n}",
            get(
                |axum::extract::Path(n): axum::extract::Path<u32>| async move {
                    redirect(&format!("/loop/{}", n + 1))
                },
            ),
        )
        .route(
            "/hop",
            get(|| async { redirect(&format!("/{SECRET}/basic.ics")) }),
        )
        .route("/big", get(|| async { "x".repeat(5000) }))
        .route(
            "/big-chunked",
            get(|| async {
                let chunks = (0..50).map(|_| Ok::<_, std::io::Error>("y".repeat(100)));
                Body::from_stream(futures::stream::iter(chunks))
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        )
        .route(
            "/broken",
            get(|| async { StatusCode::INTERNAL_SERVER_ERROR }),
        );
    tokio::spawn(async move {
        axum::serve(listener, app).await.ok();
    });
    format!("http://127.0.0.1:{port}")
}

fn fetcher(allow_private: bool) -> Fetcher {
    Fetcher::new(&FetchConfig {
        allow_private,
        allow_http: true,
        max_bytes: 1000,
        timeout_secs: 1,
        ..FetchConfig::default()
    })
    .expect("a fetcher")
}

async fn fetch(f: &Fetcher, url: &str) -> Result<Fetched, FetchError> {
    f.get(&normalise(url, true).expect("an address"), None, None)
        .await
}

#[tokio::test]
async fn loopback_is_refused_by_default_as_an_address_and_through_a_name() {
    let base = server().await;
    let strict = fetcher(false);
    let port = base.rsplit(':').next().unwrap_or_default();
    for url in [
        format!("{base}/{SECRET}/basic.ics"),
        format!("http://localhost:{port}/{SECRET}/basic.ics"),
        format!("http://[::ffff:127.0.0.1]:{port}/{SECRET}/basic.ics"),
    ] {
        let e = fetch(&strict, &url).await.expect_err("refused");
        assert!(
            matches!(
                e,
                FetchError::Refused {
                    why: Refusal::Private,
                    ..
                }
            ),
            "{url}: {e:?}"
        );
        assert!(!e.to_string().contains(SECRET), "{e}");
    }
    // Allowed for a server on the LAN (as these tests need).
    let lan = fetcher(true);
    let body = fetch(&lan, &format!("{base}/{SECRET}/basic.ics"))
        .await
        .expect("read");
    let Fetched::Body { bytes, etag, .. } = body else {
        panic!("a body: {body:?}");
    };
    assert!(bytes.starts_with(b"BEGIN:VCALENDAR"));
    assert_eq!(etag.as_deref(), Some("\"v1\""));
    // The ETag sent back: 304, nothing to read again.
    let url = normalise(&format!("{base}/{SECRET}/basic.ics"), true).expect("address");
    assert_eq!(
        lan.get(&url, Some("\"v1\""), None).await,
        Ok(Fetched::NotModified)
    );
}

#[tokio::test]
async fn redirects_are_checked_at_every_hop_and_limited_to_three() {
    let base = server().await;
    let lan = fetcher(true);
    // One good hop is followed.
    assert!(matches!(
        fetch(&lan, &format!("{base}/hop")).await,
        Ok(Fetched::Body { .. })
    ));
    // A redirect to the metadata address is refused before anything connects to it, even
    // with private addresses allowed.
    let e = fetch(&lan, &format!("{base}/to-metadata"))
        .await
        .expect_err("refused");
    assert_eq!(
        e,
        FetchError::Refused {
            host: "169.254.169.254".into(),
            why: Refusal::Metadata
        }
    );
    assert_eq!(
        fetch(&lan, &format!("{base}/loop/0")).await,
        Err(FetchError::TooManyRedirects)
    );
}

#[tokio::test]
async fn a_large_body_a_slow_server_and_a_server_error_fail_clearly() {
    let base = server().await;
    let lan = fetcher(true);
    for path in ["/big", "/big-chunked"] {
        let e = fetch(&lan, &format!("{base}{path}"))
            .await
            .expect_err("cut");
        assert_eq!(e, FetchError::TooLarge(1000), "{path}");
        assert_eq!(e.to_string(), "larger than 1000 bytes (fetch.max_bytes)");
    }
    let e = fetch(&lan, &format!("{base}/slow"))
        .await
        .expect_err("timeout");
    assert_eq!(e, FetchError::Timeout(1));
    assert_eq!(
        fetch(&lan, &format!("{base}/broken")).await,
        Err(FetchError::Status(500))
    );
    // Nothing listens there: a connection error naming the host only.
    let e = fetch(&lan, &format!("http://127.0.0.1:9/{SECRET}"))
        .await
        .expect_err("nothing there");
    assert!(!e.to_string().contains(SECRET), "{e}");
}
