//! The JSON API under `/api/v1`: bearer-token authentication (member tokens are stored as
//! SHA-256 hashes; the admin token comes from `web.admin_token`), per-token rate limits, JSON
//! bodies whose rejections become [`AppError`]s, and the handlers for updates, preferences,
//! digests and the admin endpoints (members, teams, holidays).

use std::time::Instant;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::limit::Key;
use super::{AppError, Routes, Verb, WebState};
use crate::domain::schedule::{local_date, parse_tz};
use crate::domain::token::hash_api_token;
use crate::domain::{
    AwayRange, EmailAddress, LocalTime, Member, MemberView, Workdays, clean_name, parse_team_name,
};
use crate::store::Idempotent;
use crate::store::{MemberChange, UpdateRow};

pub(super) fn routes(r: Routes) -> Routes {
    r.add(Verb::Get, "/api/v1/openapi.json", openapi_json)
        .add(Verb::Post, "/api/v1/updates", post_update)
        .add(Verb::Get, "/api/v1/updates", list_updates)
        .add(Verb::Get, "/api/v1/me/preferences", get_preferences)
        .add(Verb::Put, "/api/v1/me/preferences", put_preferences)
        .add(Verb::Get, "/api/v1/digests/latest", latest_digest)
        .add(Verb::Get, "/api/v1/admin/members", admin_list_members)
        .add(Verb::Post, "/api/v1/admin/members", admin_add_member)
        .add(Verb::Get, "/api/v1/admin/members/{email}", admin_get_member)
        .add(
            Verb::Put,
            "/api/v1/admin/members/{email}",
            admin_update_member,
        )
        .add(
            Verb::Delete,
            "/api/v1/admin/members/{email}",
            admin_remove_member,
        )
        .add(Verb::Get, "/api/v1/admin/teams", admin_list_teams)
        .add(Verb::Post, "/api/v1/admin/teams", admin_add_team)
        .add(
            Verb::Get,
            "/api/v1/admin/teams/{name}/holidays",
            admin_list_holidays,
        )
        .add(
            Verb::Post,
            "/api/v1/admin/teams/{name}/holidays",
            admin_add_holiday,
        )
}

// ---------------------------------------------------------------------------------- auth

/// A request authenticated by a member's API token.
pub struct MemberAuth {
    pub token_id: i64,
    pub member: Member,
}

/// A request authenticated by the admin token.
pub struct AdminAuth;

fn bearer(parts: &Parts) -> Result<&str, AppError> {
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

fn invalid_token() -> AppError {
    AppError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        "the API token is not valid or has been revoked",
    )
}

fn rate_limit(st: &WebState, key: Key) -> Result<(), AppError> {
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
        // Only the hash is stored, so the lookup is by hash: a database dump reveals no token.
        let (token_id, member_id) = st
            .ctx
            .store
            .api_token_member(&hash_api_token(token))
            .await?
            .ok_or_else(invalid_token)?;
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
        // Comparing fixed-length hashes keeps the comparison's timing independent of how much
        // of the token matched.
        if hash_api_token(token) != hash_api_token(admin.expose()) {
            return Err(invalid_token());
        }
        rate_limit(st, Key::Admin)?;
        Ok(AdminAuth)
    }
}

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
            Err(rej) if body_timed_out(&rej) => Err(AppError::new(
                StatusCode::REQUEST_TIMEOUT,
                "timeout",
                "the request body did not arrive within web.body_timeout_secs",
            )),
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

/// Whether reading the body failed because it did not arrive in time (`web.body_timeout_secs`).
fn body_timed_out(rej: &(dyn std::error::Error + 'static)) -> bool {
    let mut e: Option<&(dyn std::error::Error + 'static)> = Some(rej);
    while let Some(err) = e {
        if err.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        e = err.source();
    }
    false
}

/// Whether any string (or key) in `v` holds a NUL character.
fn has_nul(v: &Value) -> bool {
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

fn rfc3339(t: i64) -> String {
    DateTime::from_timestamp(t, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn parse_date(s: &str, what: &str) -> Result<NaiveDate, AppError> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| AppError::invalid(format!("{what}: expected YYYY-MM-DD, got {s:?}")))
}

async fn openapi_json() -> Json<Value> {
    Json(super::openapi::spec())
}

// ---------------------------------------------------------------------------------- updates

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUpdate {
    text: String,
    date: Option<String>,
}

fn update_json(u: &UpdateRow) -> Value {
    json!({
        "id": u.id,
        "date": u.local_date.to_string(),
        "text": u.body,
        "source": u.source,
        "revision": u.revision,
        "edited": u.revision > 1,
        "created_at": rfc3339(u.created_at),
        "updated_at": rfc3339(u.updated_at),
    })
}

/// Stores an update; with an `Idempotency-Key` a retry returns the first response and writes
/// nothing. Like a second email reply, a second update the same day is appended.
async fn post_update(
    State(st): State<WebState>,
    auth: MemberAuth,
    headers: HeaderMap,
    ApiJson(body): ApiJson<NewUpdate>,
) -> Result<Response, AppError> {
    let now = Utc::now();
    let m = &auth.member;
    let text = body.text.trim();
    if text.is_empty() {
        return Err(AppError::invalid("text must not be empty"));
    }
    let today = local_date(m.tz, now);
    let date = match &body.date {
        Some(d) => parse_date(d, "date")?,
        None => today,
    };
    if date > today {
        return Err(AppError::invalid(format!(
            "date {date} is in the future (today is {today} in {})",
            m.tz.name()
        )));
    }
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => {
            let k = v.to_str().unwrap_or_default().trim();
            if k.is_empty() || k.len() > 255 {
                return Err(AppError::invalid(
                    "Idempotency-Key must be 1 to 255 visible ASCII characters",
                ));
            }
            Some(k.to_string())
        }
    };
    let ts = now.timestamp();
    let (body, replayed) = match key {
        Some(k) => {
            let r = st
                .ctx
                .store
                .post_update_idempotent(auth.token_id, &k, m.id, date, text, ts, |u, _| {
                    json!({"update": update_json(u)}).to_string()
                })
                .await?;
            match r {
                Idempotent::Fresh(b) => (b, false),
                Idempotent::Replayed(b) => (b, true),
            }
        }
        None => {
            st.ctx
                .store
                .upsert_update(m.id, date, text, "api", None, false, ts)
                .await?;
            let u = st
                .ctx
                .store
                .update_for(m.id, date)
                .await?
                .ok_or_else(|| anyhow::anyhow!("the update just stored is missing"))?;
            (json!({"update": update_json(&u)}).to_string(), false)
        }
    };
    let mut resp = (
        StatusCode::CREATED,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response();
    if replayed {
        resp.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(resp)
}

#[derive(Debug, Deserialize)]
struct DateQuery {
    date: Option<String>,
}

/// The updates of the member and their teammates for one local date (default: the member's
/// today).
async fn list_updates(
    State(st): State<WebState>,
    auth: MemberAuth,
    q: Result<Query<DateQuery>, QueryRejection>,
) -> Result<Json<Value>, AppError> {
    let Query(q) = q.map_err(|e| AppError::invalid(e.body_text()))?;
    let m = &auth.member;
    let date = match &q.date {
        Some(d) => parse_date(d, "date")?,
        None => local_date(m.tz, Utc::now()),
    };
    let rows = st.ctx.store.team_updates_on(m.id, date).await?;
    let updates: Vec<Value> = rows
        .iter()
        .map(|t| {
            let mut v = update_json(&t.update);
            v["author"] = json!({"name": t.author_name, "email": t.author_email});
            v
        })
        .collect();
    Ok(Json(json!({"date": date.to_string(), "updates": updates})))
}

// ---------------------------------------------------------------------------------- preferences

/// A change to a member in the shape of `member list --json` ([`MemberView`]); absent fields
/// keep their value. `email`, `team`, `teams` and `aliases` are accepted so a GET body can be
/// sent back as it is, but a member may not change them (an admin may change the teams).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberPatch {
    pub email: Option<String>,
    pub name: Option<String>,
    pub timezone: Option<String>,
    pub request_at: Option<String>,
    pub digest_at: Option<String>,
    pub workdays: Option<Vec<String>>,
    pub paused: Option<bool>,
    pub unsubscribed: Option<bool>,
    pub away: Option<Vec<AwayRange>>,
    /// `null` (no team) and absent (keep the teams) mean different things, so `null` is kept
    /// as `Some(Value::Null)` rather than folded into `None` as serde does for an `Option`.
    #[serde(default, deserialize_with = "present")]
    pub team: Option<Value>,
    pub teams: Option<Vec<String>>,
    pub aliases: Option<Vec<String>>,
}

/// A field that is present, whatever its value (`null` included).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

impl MemberPatch {
    /// Validates every field into a change. `admin` may set teams; a member may only repeat
    /// the current ones. `current` is `None` for a new member.
    pub fn to_change(
        &self,
        current: Option<&Member>,
        admin: bool,
    ) -> Result<MemberChange, AppError> {
        let mut ch = MemberChange::default();
        if let Some(n) = &self.name {
            let n = clean_name(n);
            if n.is_empty() {
                return Err(AppError::invalid("name must not be empty"));
            }
            ch.name = Some(n);
        }
        if let Some(z) = &self.timezone {
            ch.tz = Some(parse_tz(z).map_err(|e| AppError::invalid(e.to_string()))?);
        }
        if let Some(t) = &self.request_at {
            ch.request_at = Some(
                LocalTime::parse(t).map_err(|e| AppError::invalid(format!("request_at: {e}")))?,
            );
        }
        if let Some(t) = &self.digest_at {
            ch.digest_at = Some(
                LocalTime::parse(t).map_err(|e| AppError::invalid(format!("digest_at: {e}")))?,
            );
        }
        if let Some(w) = &self.workdays {
            ch.workdays = Some(
                Workdays::parse(&w.join(","))
                    .map_err(|e| AppError::invalid(format!("workdays: {e}")))?,
            );
        }
        ch.paused = self.paused;
        ch.unsubscribed = self.unsubscribed;
        if let Some(away) = &self.away {
            if let Some(a) = away.iter().find(|a| a.to < a.from) {
                return Err(AppError::invalid(format!(
                    "away: {}..{} ends before it starts",
                    a.from, a.to
                )));
            }
            ch.away = Some(away.clone());
        }
        let mut teams: Option<Vec<String>> = None;
        if let Some(t) = &self.teams {
            teams = Some(
                t.iter()
                    .map(|t| parse_team_name(t).map_err(AppError::invalid))
                    .collect::<Result<_, _>>()?,
            );
        }
        match &self.team {
            None => {}
            Some(Value::Null) if teams.is_none() => teams = Some(Vec::new()),
            Some(Value::Null) => {}
            Some(Value::String(t)) => {
                let t = parse_team_name(t).map_err(AppError::invalid)?;
                match &mut teams {
                    Some(list) if list.first() != Some(&t) => {
                        return Err(AppError::invalid(
                            "team must be the first of teams when both are given",
                        ));
                    }
                    Some(_) => {}
                    None => teams = Some(vec![t]),
                }
            }
            Some(_) => return Err(AppError::invalid("team: expected a string or null")),
        }
        if let Some(cur) = current {
            let read_only = |what: &str| {
                AppError::invalid(format!(
                    "{what} cannot be changed here{}",
                    if admin { "" } else { " (ask an admin)" }
                ))
            };
            if let Some(e) = &self.email
                && EmailAddress::parse(e).ok().as_ref() != Some(&cur.email)
            {
                return Err(read_only("email"));
            }
            if let Some(a) = &self.aliases {
                let mut want: Vec<String> = a.iter().map(|s| s.trim().to_lowercase()).collect();
                want.sort();
                let mut have: Vec<String> = cur.aliases.iter().map(|a| a.to_string()).collect();
                have.sort();
                if want != have {
                    return Err(read_only("aliases"));
                }
            }
            if !admin && let Some(t) = &teams {
                let mut want = t.clone();
                want.sort();
                let mut have = cur.teams.clone();
                have.sort();
                if want != have {
                    return Err(read_only("team"));
                }
                teams = None;
            }
        }
        ch.teams = teams;
        Ok(ch)
    }
}

/// Applies a change through the same store path as `member set`, then plans the member's next
/// instants at once (the store clears them on every change).
pub(super) async fn apply_change(
    st: &WebState,
    m: &Member,
    ch: &MemberChange,
) -> Result<Member, AppError> {
    Ok(crate::jobs::members::change(&st.ctx, &m.email, ch, None, Utc::now()).await?)
}

async fn get_preferences(auth: MemberAuth) -> Json<MemberView> {
    Json(MemberView::from(&auth.member))
}

async fn put_preferences(
    State(st): State<WebState>,
    auth: MemberAuth,
    ApiJson(patch): ApiJson<MemberPatch>,
) -> Result<Json<MemberView>, AppError> {
    let ch = patch.to_change(Some(&auth.member), false)?;
    let m = apply_change(&st, &auth.member, &ch).await?;
    Ok(Json(MemberView::from(&m)))
}

// ---------------------------------------------------------------------------------- digests

async fn latest_digest(
    State(st): State<WebState>,
    auth: MemberAuth,
) -> Result<Json<Value>, AppError> {
    let d = st
        .ctx
        .store
        .latest_digest(auth.member.id)
        .await?
        .ok_or_else(|| {
            AppError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "no digest has been queued for you yet",
            )
        })?;
    let parsed = mail_parser::MessageParser::default().parse(&d.raw);
    let text = parsed
        .as_ref()
        .and_then(|p| p.body_text(0))
        .map(|b| b.to_string());
    let html = parsed
        .as_ref()
        .and_then(|p| p.body_html(0))
        .map(|b| b.to_string());
    Ok(Json(json!({
        "subject": d.subject,
        "date": d.local_date,
        "state": d.state,
        "queued_at": rfc3339(d.created_at),
        "sent_at": d.sent_at.map(rfc3339),
        "text": text,
        "html": html,
    })))
}

// ---------------------------------------------------------------------------------- admin

fn path_email(s: &str) -> Result<EmailAddress, AppError> {
    EmailAddress::parse(s).map_err(|e| AppError::invalid(e.to_string()))
}

async fn member_or_404(st: &WebState, email: &EmailAddress) -> Result<Member, AppError> {
    st.ctx.store.member_by_email(email).await?.ok_or_else(|| {
        AppError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no member with email {email}"),
        )
    })
}

async fn admin_list_members(
    State(st): State<WebState>,
    _: AdminAuth,
) -> Result<Json<Vec<MemberView>>, AppError> {
    let members = st.ctx.store.list_members().await?;
    Ok(Json(members.iter().map(MemberView::from).collect()))
}

async fn admin_get_member(
    State(st): State<WebState>,
    _: AdminAuth,
    Path(email): Path<String>,
) -> Result<Json<MemberView>, AppError> {
    let m = member_or_404(&st, &path_email(&email)?).await?;
    Ok(Json(MemberView::from(&m)))
}

async fn admin_add_member(
    State(st): State<WebState>,
    _: AdminAuth,
    ApiJson(patch): ApiJson<MemberPatch>,
) -> Result<(StatusCode, Json<MemberView>), AppError> {
    let email = path_email(
        patch
            .email
            .as_deref()
            .ok_or_else(|| AppError::invalid("email is required"))?,
    )?;
    if patch.name.is_none() || patch.timezone.is_none() {
        return Err(AppError::invalid(
            "name and timezone (an IANA zone such as Europe/Berlin) are required",
        ));
    }
    if patch.aliases.as_ref().is_some_and(|a| !a.is_empty()) {
        return Err(AppError::invalid("aliases cannot be set here"));
    }
    let ch = patch.to_change(None, true)?;
    let m = crate::jobs::members::add(&st.ctx, &email, &ch, Utc::now()).await?;
    Ok((StatusCode::CREATED, Json(MemberView::from(&m))))
}

async fn admin_update_member(
    State(st): State<WebState>,
    _: AdminAuth,
    Path(email): Path<String>,
    ApiJson(patch): ApiJson<MemberPatch>,
) -> Result<Json<MemberView>, AppError> {
    let m = member_or_404(&st, &path_email(&email)?).await?;
    let ch = patch.to_change(Some(&m), true)?;
    let m = apply_change(&st, &m, &ch).await?;
    Ok(Json(MemberView::from(&m)))
}

async fn admin_remove_member(
    State(st): State<WebState>,
    _: AdminAuth,
    Path(email): Path<String>,
) -> Result<StatusCode, AppError> {
    st.ctx.store.remove_member(&path_email(&email)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn admin_list_teams(
    State(st): State<WebState>,
    _: AdminAuth,
) -> Result<Json<Value>, AppError> {
    let teams = st.ctx.store.list_teams().await?;
    Ok(Json(Value::Array(
        teams
            .iter()
            .map(|(n, c)| json!({"name": n, "members": c}))
            .collect(),
    )))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTeam {
    name: String,
}

async fn admin_add_team(
    State(st): State<WebState>,
    _: AdminAuth,
    ApiJson(t): ApiJson<NewTeam>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let name = parse_team_name(&t.name).map_err(AppError::invalid)?;
    st.ctx.store.add_team(&name).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"name": name, "members": 0})),
    ))
}

async fn admin_list_holidays(
    State(st): State<WebState>,
    _: AdminAuth,
    Path(name): Path<String>,
) -> Result<Json<Value>, AppError> {
    let days = st.ctx.store.list_holidays(&name).await?;
    let days: Vec<String> = days.iter().map(|d| d.to_string()).collect();
    Ok(Json(json!({"team": name, "holidays": days})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewHoliday {
    date: String,
}

async fn admin_add_holiday(
    State(st): State<WebState>,
    _: AdminAuth,
    Path(name): Path<String>,
    ApiJson(h): ApiJson<NewHoliday>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let date = parse_date(&h.date, "date")?;
    st.ctx.store.add_holiday(&name, date).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"team": name, "date": date.to_string()})),
    ))
}
