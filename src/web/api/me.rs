//! What a member does with their own token: post and list updates, read and change their
//! preferences, read their latest digest.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};

use super::*;
use crate::domain::schedule::{local_date, parse_tz};
use crate::domain::{
    AwayRange, EmailAddress, LocalTime, Member, MemberView, Workdays, clean_name, parse_team_name,
};
use crate::store::Idempotent;
use crate::store::{MemberChange, UpdateRow};
use crate::web::{AppError, WebState};

// ---------------------------------------------------------------------------------- updates

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewUpdate {
    text: String,
    date: Option<String>,
}

pub(super) fn update_json(u: &UpdateRow) -> Value {
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
pub(super) async fn post_update(
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
pub(super) struct DateQuery {
    date: Option<String>,
}

/// The updates of the member and their teammates for one local date (default: the member's
/// today).
pub(super) async fn list_updates(
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
pub(super) fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
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

pub(super) async fn get_preferences(auth: MemberAuth) -> Json<MemberView> {
    Json(MemberView::from(&auth.member))
}

pub(super) async fn put_preferences(
    State(st): State<WebState>,
    auth: MemberAuth,
    ApiJson(patch): ApiJson<MemberPatch>,
) -> Result<Json<MemberView>, AppError> {
    let ch = patch.to_change(Some(&auth.member), false)?;
    let m = apply_change(&st, &auth.member, &ch).await?;
    Ok(Json(MemberView::from(&m)))
}

// ---------------------------------------------------------------------------------- digests

pub(super) async fn latest_digest(
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
