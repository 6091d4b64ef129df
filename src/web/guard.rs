//! What guards answers and small forms, apart from the handlers: the headers every answer
//! carries (`nosniff`, a Content-Security-Policy that allows no script), and a small body
//! limit for the forms that take one email address (`/signin`, `/link`), which anyone may
//! post to.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use utoipa_axum::router::UtoipaMethodRouter;

use super::WebState;
use super::html::message_page;

/// The policy of every answer. The pages have no script and load nothing from elsewhere:
/// their CSS is one inline `<style>` (so `'unsafe-inline'` for styles, which cannot run
/// anything), the favicon is ours, forms post to us, and no other site may frame them.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; \
     img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Adds `X-Content-Type-Options: nosniff` (a JSON body, a feed or an export is never read as
/// a page) and [`CONTENT_SECURITY_POLICY`] to every answer. On an answer that is not HTML the
/// policy costs nothing, and it keeps anything opened directly (an SVG, a feed) from running
/// script.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    resp
}

/// The most a form of one email address may send (an address is at most 254 bytes; a
/// browser adds the field's name and percent-encoding).
pub const SMALL_FORM_BYTES: usize = 4 * 1024;

/// `r` with its bodies limited to [`SMALL_FORM_BYTES`]: a larger one is a 413 page before the
/// handler runs, whatever the handler does with a body it cannot read.
pub(super) fn small_form(r: UtoipaMethodRouter<WebState>) -> UtoipaMethodRouter<WebState> {
    let (schemas, paths, router) = r;
    (
        schemas,
        paths,
        router.layer(axum::middleware::from_fn(read_small_form)),
    )
}

/// Reads the whole body, at most [`SMALL_FORM_BYTES`] (a declared `Content-Length` beyond it
/// is refused unread), and hands it on. (A slow body has had its 408 from
/// `server::body_deadline`, which reads every body before the routes.)
async fn read_small_form(req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > SMALL_FORM_BYTES as u64) {
        return too_large();
    }
    use futures::StreamExt;
    let mut read = Vec::new();
    let mut chunks = body.into_data_stream();
    while let Some(chunk) = chunks.next().await {
        match chunk {
            Ok(c) if read.len() + c.len() > SMALL_FORM_BYTES => return too_large(),
            Ok(c) => read.extend_from_slice(&c),
            Err(_) => {
                return message_page(
                    StatusCode::BAD_REQUEST,
                    "Not a form",
                    "What was sent could not be read as a form, so nothing was done.",
                    maud::html! {},
                );
            }
        }
    }
    next.run(Request::from_parts(parts, Body::from(read))).await
}

fn too_large() -> Response {
    message_page(
        StatusCode::PAYLOAD_TOO_LARGE,
        "Too much sent",
        &format!(
            "This form takes one email address; what was sent is larger than {} KB, so nothing was done.",
            SMALL_FORM_BYTES / 1024
        ),
        maud::html! {},
    )
}
