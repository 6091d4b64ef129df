//! JSON bodies whose every rejection (wrong type, not an object, NUL characters, too large,
//! too slow) becomes an [`AppError`] with a JSON message.

use axum::Json;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::web::AppError;

/// A JSON body whose rejections (bad JSON, wrong content type, too large) are [`AppError`]s.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        // Read as a JSON value first, then check its shape: serde's derived structs also take
        // a positional array (`["text", null]`), which would slip past `type: object` and
        // `deny_unknown_fields`; and a NUL character, which PostgreSQL text cannot hold, is
        // refused here for every field on both backends alike.
        match Json::<Value>::from_request(req, state).await {
            Ok(Json(v)) => {
                if !v.is_object() {
                    return Err(AppError::invalid("the body must be a JSON object"));
                }
                if has_nul(&v) {
                    return Err(AppError::invalid(
                        "text must not contain NUL characters (U+0000)",
                    ));
                }
                serde_json::from_value::<T>(v)
                    .map(ApiJson)
                    .map_err(|e| AppError::invalid(format!("invalid body: {e}")))
            }
            Err(rej) => Err(match rej.status() {
                StatusCode::PAYLOAD_TOO_LARGE => too_large(),
                StatusCode::UNSUPPORTED_MEDIA_TYPE => AppError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "send the body as JSON with `Content-Type: application/json`",
                ),
                StatusCode::UNPROCESSABLE_ENTITY => AppError::invalid(rej.body_text()),
                s => AppError::new(s, "bad_json", rej.body_text()),
            }),
        }
    }
}

/// Whether any string (or key) in `v` holds a NUL character.
pub(super) fn has_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(a) => a.iter().any(has_nul),
        Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

/// 413 with the configured limit named.
pub fn too_large() -> AppError {
    AppError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        "the request body is larger than web.max_body_bytes",
    )
}

/// Two path segments (`{name}` and `{checkin}`), rejected like [`ApiPath`].
pub struct ApiPath2(pub String, pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ApiPath2 {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, AppError> {
        match axum::extract::Path::<(String, String)>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path((a, b))) => Ok(ApiPath2(a, b)),
            Err(rej) => Err(AppError::invalid(format!(
                "the path is not valid: {}",
                rej.body_text()
            ))),
        }
    }
}

/// A path segment (`{email}`, `{name}`) whose rejection (invalid percent-encoding or UTF-8) is
/// a JSON [`AppError`], like every other API failure.
pub struct ApiPath(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ApiPath {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, AppError> {
        match axum::extract::Path::<String>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(s)) => Ok(ApiPath(s)),
            Err(rej) => Err(AppError::invalid(format!(
                "the path is not valid: {}",
                rej.body_text()
            ))),
        }
    }
}

/// A numeric path segment (`{id}`); anything else is a 404, as an id that names nothing is.
pub struct ApiPathId(pub i64);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ApiPathId {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, AppError> {
        let ApiPath(s) = ApiPath::from_request_parts(parts, state).await?;
        s.parse().map(ApiPathId).map_err(|_| {
            AppError::new(
                axum::http::StatusCode::NOT_FOUND,
                "not_found",
                format!("no webhook {s:?}"),
            )
        })
    }
}
