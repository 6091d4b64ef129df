//! The connection side of the web server: our own accept loop over hyper (a header read
//! timeout, a cap on connections in all and per client address), the client address every
//! request carries, and one deadline for a whole request body with a minimum rate.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use tokio::time::Instant;

use super::AppError;
use crate::config::WebConfig;

/// The address of the connection a request came on (before [`client_ip`] reads a trusted
/// proxy's `X-Forwarded-For`).
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

/// The client a request is from: the connection's address, or, when that is one of
/// `web.trusted_proxies`, the last address in `X-Forwarded-For` that is not a trusted proxy.
/// Unspecified (0.0.0.0) for a request that came in without a connection (tests calling the
/// router directly).
pub fn client_ip(cfg: &WebConfig, peer: Option<&PeerAddr>, headers: &HeaderMap) -> IpAddr {
    let Some(PeerAddr(peer)) = peer else {
        return IpAddr::from([0, 0, 0, 0]);
    };
    let trusted = |ip: &IpAddr| cfg.trusted_proxies.iter().any(|p| p == ip);
    if !trusted(&peer.ip()) {
        return peer.ip();
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse::<IpAddr>().ok())
        .rev()
        .find(|ip| !trusted(ip))
        .unwrap_or(peer.ip())
}

/// Connections open per client address, for `web.max_connections_per_ip`.
#[derive(Default)]
struct PerIp(Mutex<HashMap<IpAddr, usize>>);

/// One open connection of an address; counted down when dropped.
struct IpSlot {
    table: Arc<PerIp>,
    ip: IpAddr,
}

impl PerIp {
    fn take(table: &Arc<PerIp>, ip: IpAddr, max: usize) -> Option<IpSlot> {
        let mut m = table.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = m.entry(ip).or_insert(0);
        if max > 0 && *n >= max {
            return None;
        }
        *n += 1;
        Some(IpSlot {
            table: table.clone(),
            ip,
        })
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut m = self.table.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = m.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.ip);
            }
        }
    }
}

/// Serves `router` on `listener` until `stop` resolves, then lets the requests in flight
/// finish (30 s at most) and closes idle connections. Our own accept loop over hyper, because
/// `axum::serve` has no header read timeout and no connection cap: a client that sends half
/// a request line (slowloris) is disconnected after `web.header_timeout_secs`, at most
/// `web.max_connections` connections are served at once (more wait in the listen queue), and
/// one client address holds at most `web.max_connections_per_ip` of them (further ones are
/// closed at once: one slow client cannot take the server's every slot). Bodies have one
/// deadline each ([`body_deadline`]).
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    cfg: &WebConfig,
    stop: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    use hyper::server::conn::http1;
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::ServiceExt;

    let header_timeout = Duration::from_secs(cfg.header_timeout_secs.max(1));
    let slots = Arc::new(tokio::sync::Semaphore::new(cfg.max_connections.max(1)));
    let per_ip = Arc::new(PerIp::default());
    let (close_tx, close_rx) = tokio::sync::watch::channel(false);
    let mut conns = tokio::task::JoinSet::new();
    tokio::pin!(stop);
    loop {
        let slot = tokio::select! {
            _ = &mut stop => break,
            s = slots.clone().acquire_owned() => s?,
        };
        let (stream, peer) = tokio::select! {
            _ = &mut stop => break,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment, keep serving.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // A trusted proxy speaks for many clients: its connections are not capped per address.
        let cap = if cfg.trusted_proxies.contains(&peer.ip()) {
            0
        } else {
            cfg.max_connections_per_ip
        };
        let Some(ip_slot) = PerIp::take(&per_ip, peer.ip(), cap) else {
            tracing::debug!(client = %peer.ip(), "connection closed: web.max_connections_per_ip reached");
            continue;
        };
        let router = router.clone();
        let svc = hyper::service::service_fn(move |mut req: Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(PeerAddr(peer));
            router.clone().oneshot(req.map(Body::new))
        });
        let mut close = close_rx.clone();
        conns.spawn(async move {
            let _slots = (slot, ip_slot);
            let mut b = http1::Builder::new();
            // Room for heads beyond our own limits, so `head_limits` answers them with the
            // JSON error; only beyond these does hyper refuse with an empty 431.
            b.timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .max_buf_size(super::HYPER_MAX_HEAD_BYTES)
                .max_headers(super::HYPER_MAX_HEADERS);
            let conn = b
                .serve_connection(TokioIo::new(stream), svc)
                .with_upgrades();
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = close.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
        while conns.try_join_next().is_some() {}
    }
    drop(listener);
    let _ = close_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(30), async {
        while conns.join_next().await.is_some() {}
    })
    .await;
    Ok(())
}

/// What [`body_deadline`] holds a body to.
#[derive(Debug, Clone, Copy)]
pub struct BodyRules {
    /// The whole body must be in by then (`web.body_timeout_secs`), however it trickles.
    pub timeout: Duration,
    /// After the first [`GRACE`], at least this many bytes a second on average
    /// (`web.min_body_bytes_per_sec`; 0 = no floor).
    pub min_rate: u64,
    /// Read at most one byte beyond this (`web.max_body_bytes`): the extractors then answer 413.
    pub max_bytes: usize,
}

/// How long a body may take before the minimum rate applies (a connection's slow start).
const GRACE: Duration = Duration::from_secs(2);

/// Reads every request body whole before the handler runs, under one deadline for the whole
/// body and a minimum rate: a body that trickles in one byte every few seconds gets 408 by the
/// deadline instead of holding its connection (a per-chunk timer restarts with every byte).
/// Bodies are small (`web.max_body_bytes`), so holding one in memory costs little.
pub async fn body_deadline(State(rules): State<BodyRules>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let started = Instant::now();
    let deadline = started + rules.timeout;
    let mut stream = body.into_data_stream();
    let mut buf: Vec<u8> = Vec::new();
    loop {
        let until = if rules.min_rate > 0 {
            let floor =
                started + GRACE + Duration::from_secs_f64(buf.len() as f64 / rules.min_rate as f64);
            floor.min(deadline)
        } else {
            deadline
        };
        match tokio::time::timeout_at(until, stream.next()).await {
            Err(_) => return timed_out(&parts.headers, parts.uri.path(), until < deadline),
            Ok(None) => break,
            Ok(Some(Ok(chunk))) => {
                buf.extend_from_slice(&chunk);
                // Beyond the limit: stop reading; the extractor sees too many bytes (413).
                if buf.len() > rules.max_bytes {
                    break;
                }
            }
            Ok(Some(Err(e))) => {
                return AppError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_body",
                    format!("the request body could not be read: {e}"),
                )
                .into_response();
            }
        }
    }
    next.run(Request::from_parts(parts, Body::from(buf))).await
}

fn timed_out(headers: &HeaderMap, path: &str, too_slow: bool) -> Response {
    let message = if too_slow {
        "the request body arrived slower than web.min_body_bytes_per_sec allows"
    } else {
        "the request body did not arrive whole within web.body_timeout_secs"
    };
    let wants_html = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    let mut r = if wants_html && !path.starts_with("/api/") {
        super::html::message_page(
            StatusCode::REQUEST_TIMEOUT,
            "Too slow",
            &format!("Nothing was done: {message}. Please try again."),
            maud::html! {},
        )
    } else {
        AppError::new(StatusCode::REQUEST_TIMEOUT, "timeout", message).into_response()
    };
    // The rest of the body is never read: the connection cannot serve another request.
    r.headers_mut().insert(
        axum::http::header::CONNECTION,
        axum::http::HeaderValue::from_static("close"),
    );
    r
}
