//! Bearer-token authentication: member tokens are stored as SHA-256 hashes, the admin token
//! comes from `web.admin_token`; every request is rate-limited per token.

use std::time::Instant;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};

use crate::domain::Member;
use crate::domain::token::hash_api_token;
use crate::web::limit::Key;
use crate::web::{AppError, WebState};

/// A request authenticated by a member's API token.
pub struct MemberAuth {
    pub token_id: i64,
    pub member: Member,
}

/// A request authenticated by the admin token.
pub struct AdminAuth;

pub(super) fn bearer(parts: &Parts) -> Result<&str, AppError> {
    let h = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| {
            AppError::new(
                StatusCode::UNAUTHORIZED,
                "missing_token",
                "send an API token as `Authorization: Bearer TOKEN` (create one with `tidings token create --member EMAIL`)",
            )
        })?;
    let s = h.to_str().unwrap_or_default().trim();
    match s.split_once(' ') {
        Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") && !t.trim().is_empty() => {
            Ok(t.trim())
        }
        _ => Err(AppError::new(
            StatusCode::UNAUTHORIZED,
            "missing_token",
            "the Authorization header must be `Bearer TOKEN`",
        )),
    }
}

pub(super) fn invalid_token() -> AppError {
    AppError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        "the API token is not valid or has been revoked",
    )
}

/// 429 for a client address that made too many failed attempts (wrong tokens, wrong admin
/// logins): only that address waits, never the owner of the token it was guessing at.
pub(crate) fn too_many_failures(wait: std::time::Duration) -> AppError {
    let mut e = AppError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!(
            "too many failed attempts from this address; retry in {} s",
            wait.as_secs() + 1
        ),
    );
    e.retry_after = Some(wait.as_secs() + 1);
    e
}

/// Fails with 429 while `parts`' client address has no failed attempts left.
fn guard(parts: &Parts, st: &WebState) -> Result<Key, AppError> {
    let key = Key::Failed(st.client_ip(&parts.extensions, &parts.headers));
    st.failures
        .exhausted(key, Instant::now())
        .map_err(too_many_failures)?;
    Ok(key)
}

/// Counts a failed attempt against its client address and answers it.
fn failed(st: &WebState, key: Key, e: AppError) -> AppError {
    let _ = st.failures.check(key, Instant::now());
    e
}

pub(super) fn rate_limit(st: &WebState, key: Key) -> Result<(), AppError> {
    st.limiter.check(key, Instant::now()).map_err(|wait| {
        let mut e = AppError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "too many requests for this token (web.rate_limit_per_minute = {}); retry in {} s",
                st.ctx.config.web.rate_limit_per_minute,
                wait.as_secs() + 1
            ),
        );
        e.retry_after = Some(wait.as_secs() + 1);
        e
    })
}

impl FromRequestParts<WebState> for MemberAuth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, st: &WebState) -> Result<Self, AppError> {
        let token = bearer(parts)?;
        let failures = guard(parts, st)?;
        // Only the hash is stored, so the lookup is by hash: a database dump reveals no token.
        let (token_id, member_id) = st
            .ctx
            .store
            .api_token_member(&hash_api_token(token))
            .await?
            .ok_or_else(|| failed(st, failures, invalid_token()))?;
        rate_limit(st, Key::Token(token_id))?;
        let member = st
            .ctx
            .store
            .member_by_id(member_id)
            .await?
            .ok_or_else(invalid_token)?;
        Ok(MemberAuth { token_id, member })
    }
}

impl FromRequestParts<WebState> for AdminAuth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, st: &WebState) -> Result<Self, AppError> {
        let admin = &st.ctx.config.web.admin_token;
        if admin.is_empty() {
            return Err(AppError::new(
                StatusCode::FORBIDDEN,
                "admin_disabled",
                "the admin API is disabled: set web.admin_token",
            ));
        }
        let token = bearer(parts)?;
        let failures = guard(parts, st)?;
        // Comparing fixed-length hashes keeps the comparison's timing independent of how much
        // of the token matched. A wrong guess counts against the guesser's address, never
        // against the admin's own bucket.
        if hash_api_token(token) != hash_api_token(admin.expose()) {
            return Err(failed(st, failures, invalid_token()));
        }
        rate_limit(st, Key::Admin)?;
        Ok(AdminAuth)
    }
}
