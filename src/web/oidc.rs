//! Signing in to the team log with an organisation's OpenID Connect provider (`web.oidc.*`):
//! the authorization code flow with PKCE, by the `openidconnect` crate. `/signin/oidc` sends
//! the browser to the provider with a fresh state, nonce and PKCE challenge, which wait in a
//! signed, 10-minute cookie; `/signin/oidc/callback` checks the state, exchanges the code
//! (with the PKCE verifier), verifies the ID token (signature from the provider's keys,
//! issuer, audience, expiry, nonce), and starts the same session as an email link when the
//! token vouches for a verified email address that is a member's (or one of their aliases).
//! Anything else is refused with a page saying why; nothing about the provider's answer is
//! logged but the reason.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use chrono::Utc;
use maud::html;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse, reqwest,
};
use serde::Deserialize;

use super::html::message_page;
use super::{Routes, WebState};
use crate::domain::EmailAddress;

/// The cookie that carries a sign-in's state, nonce and PKCE verifier to the callback.
const COOKIE: &str = "tidings_oidc";
/// How long a sign-in at the provider may take.
const FLOW_SECS: i64 = 600;
/// The HMAC purpose of that cookie.
const PURPOSE: &str = "oidc-flow";

pub(super) fn routes(r: Routes) -> Routes {
    r.add(utoipa_axum::routes!(start))
        .add(utoipa_axum::routes!(callback))
}

/// The redirect URI the provider must know: `{web.base_url}/signin/oidc/callback`.
pub fn redirect_uri(base_url: &str) -> String {
    format!("{}/signin/oidc/callback", base_url.trim_end_matches('/'))
}

/// An HTTP client for the provider: no redirects followed (the crate's advice, against SSRF
/// through a token endpoint's redirect), a timeout.
fn http() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::ClientBuilder::new()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(10))
        .build()?)
}

/// The provider's metadata, discovered now, and our client of it.
async fn client(
    st: &WebState,
    http: &reqwest::Client,
) -> anyhow::Result<
    openidconnect::core::CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    >,
> {
    let cfg = &st.ctx.config.web.oidc;
    let issuer = IssuerUrl::new(cfg.issuer.clone())?;
    let meta = CoreProviderMetadata::discover_async(issuer, http)
        .await
        .map_err(|e| anyhow::anyhow!("discovering the provider: {e}"))?;
    Ok(CoreClient::from_provider_metadata(
        meta,
        ClientId::new(cfg.client_id.clone()),
        Some(ClientSecret::new(cfg.client_secret.expose().to_string())),
    )
    .set_redirect_uri(RedirectUrl::new(redirect_uri(&st.ctx.config.web.base_url))?))
}

/// A sign-in in flight, as its cookie holds it: `state.nonce.verifier.expires.sig`, each part
/// base64url (no `.` in any of them).
#[derive(Debug, PartialEq, Eq)]
struct Flow {
    state: String,
    nonce: String,
    verifier: String,
    expires: i64,
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

fn unb64(s: &str) -> Option<String> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
}

impl Flow {
    fn encode(&self, secret: &crate::domain::token::Secret) -> String {
        let body = format!(
            "{}.{}.{}.{}",
            b64(&self.state),
            b64(&self.nonce),
            b64(&self.verifier),
            self.expires
        );
        let sig = secret.sign(PURPOSE, &body);
        format!("{body}.{sig}")
    }

    /// The flow of a cookie value, if we signed it and it has not expired.
    fn decode(v: &str, secret: &crate::domain::token::Secret, now: i64) -> Option<Flow> {
        let (body, sig) = v.rsplit_once('.')?;
        if !secret.verify(PURPOSE, body, sig) {
            return None;
        }
        let mut parts = body.split('.');
        let flow = Flow {
            state: unb64(parts.next()?)?,
            nonce: unb64(parts.next()?)?,
            verifier: unb64(parts.next()?)?,
            expires: parts.next()?.parse().ok()?,
        };
        (parts.next().is_none() && flow.expires > now).then_some(flow)
    }
}

fn not_found() -> Response {
    message_page(
        StatusCode::NOT_FOUND,
        "Not found",
        "Signing in with an organisation account is not set up on this server.",
        html! { p { a href="/signin" { "Sign in by email instead" } } },
    )
}

/// A refusal: the sign-in went wrong; the page offers to start again.
fn refused(status: StatusCode, why: &str) -> Response {
    message_page(
        status,
        "Not signed in",
        why,
        html! { p { a href="/signin" { "Try again" } } },
    )
}

/// Starts a sign-in at the provider.
#[utoipa::path(get, path = "/signin/oidc", tag = "pages",
    responses(
        (status = 303, description = "To the provider's sign-in, with a cookie holding the flow's state."),
        (status = 404, description = "OIDC sign-in is not set up.", body = String, content_type = "text/html"),
        (status = 503, description = "The provider cannot be reached.", body = String, content_type = "text/html"),
    ))]
pub(super) async fn start(State(st): State<WebState>) -> Response {
    if !st.ctx.config.web.oidc.enabled() {
        return not_found();
    }
    let http = match http() {
        Ok(h) => h,
        Err(e) => return unavailable(&e),
    };
    let client = match client(&st, &http).await {
        Ok(c) => c,
        Err(e) => return unavailable(&e),
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    let flow = Flow {
        state: state.secret().clone(),
        nonce: nonce.secret().clone(),
        verifier: verifier.secret().clone(),
        expires: Utc::now().timestamp() + FLOW_SECS,
    };
    // Lax: the provider sends the browser back with a top-level GET.
    let cookie = super::set_cookie(&st, COOKIE, &flow.encode(&st.ctx.secret), FLOW_SECS, "Lax");
    super::session::see_other(url.as_str(), Some(cookie))
}

fn unavailable(e: &anyhow::Error) -> Response {
    tracing::warn!(error = %format!("{e:#}"), "OIDC provider unavailable");
    message_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Sign-in unavailable",
        "Your organisation's sign-in service cannot be reached just now. Try again in a minute, or sign in by email.",
        html! { p { a href="/signin" { "Sign in by email" } } },
    )
}

#[derive(Debug, Deserialize)]
pub(super) struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// The provider sends the browser back here: the code is exchanged and the ID token checked;
/// a verified email address of a member starts a session.
#[utoipa::path(get, path = "/signin/oidc/callback", tag = "pages",
    params(
        ("code" = Option<String>, Query, description = "The authorization code."),
        ("state" = Option<String>, Query, description = "The state sent to the provider."),
        ("error" = Option<String>, Query, description = "The provider's error, when it refused."),
    ),
    responses(
        (status = 303, description = "Signed in: to the team log."),
        (status = 403, description = "Not signed in (the reason on the page).", body = String, content_type = "text/html"),
        (status = 404, description = "OIDC sign-in is not set up.", body = String, content_type = "text/html"),
        (status = 503, description = "The provider cannot be reached.", body = String, content_type = "text/html"),
    ))]
pub(super) async fn callback(
    State(st): State<WebState>,
    headers: HeaderMap,
    q: Result<Query<Callback>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if !st.ctx.config.web.oidc.enabled() {
        return not_found();
    }
    let now = Utc::now().timestamp();
    let Some(flow) =
        super::cookie(&headers, COOKIE).and_then(|v| Flow::decode(&v, &st.ctx.secret, now))
    else {
        return refused(
            StatusCode::FORBIDDEN,
            "This sign-in was not started here or took longer than 10 minutes.",
        );
    };
    let Ok(Query(q)) = q else {
        return refused(StatusCode::FORBIDDEN, "The provider's answer did not read.");
    };
    if let Some(e) = &q.error {
        tracing::info!(error = %e, "OIDC sign-in refused by the provider");
        return refused(
            StatusCode::FORBIDDEN,
            "Your organisation's sign-in service did not sign you in.",
        );
    }
    let (Some(code), Some(state)) = (q.code, q.state) else {
        return refused(
            StatusCode::FORBIDDEN,
            "The provider's answer lacked its code.",
        );
    };
    if !crate::domain::token::constant_eq(state.as_bytes(), flow.state.as_bytes()) {
        return refused(
            StatusCode::FORBIDDEN,
            "This answer belongs to another sign-in.",
        );
    }
    let email = match verified_email(&st, &flow, code).await {
        Ok(Ok(e)) => e,
        Ok(Err(why)) => {
            tracing::info!(reason = why, "OIDC sign-in refused");
            return refused(StatusCode::FORBIDDEN, why);
        }
        Err(e) => return unavailable(&e),
    };
    let member = match st.ctx.store.member_by_email(&email).await {
        Ok(m) => m,
        Err(e) => return super::AppError::from(e).into_response(),
    };
    let Some(m) = member else {
        return refused(
            StatusCode::FORBIDDEN,
            "No member of a team on Tidings has the address your organisation gave. Ask your Tidings admin to add it (or to add it as an alias).",
        );
    };
    match super::session::start(&st, m.id, &super::session::log_home(&m, None)).await {
        Ok(mut r) => {
            // The flow's cookie is spent: clear it beside the session's.
            r.headers_mut().append(
                axum::http::header::SET_COOKIE,
                super::set_cookie(&st, COOKIE, "", 0, "Lax"),
            );
            r
        }
        Err(e) => e.into_response(),
    }
}

/// The verified email address of the ID token the code is exchanged for: `Ok(Err(why))` when
/// the provider's answer does not sign anyone in, `Err` when the provider cannot be reached.
async fn verified_email(
    st: &WebState,
    flow: &Flow,
    code: String,
) -> anyhow::Result<Result<EmailAddress, &'static str>> {
    let http = http()?;
    let client = client(st, &http).await?;
    let request = match client.exchange_code(AuthorizationCode::new(code)) {
        Ok(r) => r,
        Err(_) => return Ok(Err("The provider has no token endpoint.")),
    };
    let token = match request
        .set_pkce_verifier(PkceCodeVerifier::new(flow.verifier.clone()))
        .request_async(&http)
        .await
    {
        Ok(t) => t,
        Err(_) => return Ok(Err("The provider did not accept this sign-in's code.")),
    };
    let Some(id_token) = token.id_token() else {
        return Ok(Err("The provider sent no ID token."));
    };
    let claims = match id_token.claims(&client.id_token_verifier(), &Nonce::new(flow.nonce.clone()))
    {
        Ok(c) => c,
        Err(_) => return Ok(Err("The provider's ID token did not verify.")),
    };
    if claims.email_verified() != Some(true) {
        return Ok(Err(
            "Your organisation's sign-in service does not vouch for your email address.",
        ));
    }
    let Some(email) = claims.email() else {
        return Ok(Err("The provider did not give an email address."));
    };
    Ok(EmailAddress::parse(email.as_str())
        .map_err(|_| "The provider's email address does not read."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::token::Secret;

    #[test]
    fn a_flow_cookie_round_trips_and_refuses_tampering_and_age() {
        let s = Secret::new(b"0123456789abcdef0123456789abcdef".to_vec());
        let f = Flow {
            state: "st/ate+=".into(),
            nonce: "n.once".into(),
            verifier: "v".repeat(43),
            expires: 1_000,
        };
        let v = f.encode(&s);
        assert!(!v.contains(';') && !v.contains(' '));
        assert_eq!(Flow::decode(&v, &s, 999), Some(f));
        assert_eq!(Flow::decode(&v, &s, 1_000), None, "expired");
        let other = Secret::new(b"another secret, another server!!".to_vec());
        assert_eq!(Flow::decode(&v, &other, 0), None);
        let tampered = v.replacen("1000", "9999", 1);
        assert_eq!(Flow::decode(&tampered, &s, 0), None);
    }
}
