//! A member's updates through their own token: post one (to the stand-up or another
//! check-in of their team), list a day's.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::*;
use crate::domain::schedule::local_date;
use crate::store::Idempotent;
use crate::store::{UpdateKey, UpdateRow};
use crate::web::{AppError, WebState};

/// A new update.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewUpdate {
    /// What was done, what is next, what blocks: not blank, no NUL characters. Required
    /// unless `keep_draft` is true (then what follows the kept lines).
    #[schema(
        value_type = String,
        min_length = 1,
        pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$",
        example = "Shipped the CSV importer."
    )]
    #[serde(default, deserialize_with = "not_null")]
    text: Option<String>,
    /// True: the lines of the member's draft that the day's request showed (`GET
    /// /api/v1/me/draft`, its first `in_request` lines) become the Done section, with their
    /// links, before `text`. Like replying "keep". Stand-up only; no draft: 422.
    #[schema(value_type = bool)]
    #[serde(default, deserialize_with = "not_null")]
    keep_draft: Option<bool>,
    /// The member's local date it is for; absent: their today. Not in the future: a date
    /// after the member's own today (in their time zone, which a schema cannot know) is
    /// refused with 422 `invalid`.
    #[schema(value_type = String, format = Date, pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    #[serde(default, deserialize_with = "not_null")]
    date: Option<String>,
    /// The check-in it answers, by name (any case; one of the member's teams'); absent: the
    /// daily stand-up. A check-in that does not ask the member (a leads' question): 422.
    #[schema(max_length = 60)]
    #[serde(default, deserialize_with = "not_null")]
    checkin: Option<String>,
}

/// One update.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct UpdateJson {
    id: i64,
    #[schema(format = Date)]
    date: String,
    text: String,
    /// Where it came from: `email` or `api`.
    source: String,
    /// 1, then one more for every later reply or post the same day.
    revision: i64,
    edited: bool,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
    /// The text read as the questions it answers (`Done:`, `Next:`, `Blockers:`, a quoted
    /// question above its answer, localised labels, the team's own questions); text without
    /// labels is one untitled section. Each reply or post is read on its own when stored, so
    /// a later one's sections follow the earlier ones'.
    sections: Vec<crate::domain::sections::Section>,
    /// The check-in it answers (`tidings checkin list`); absent for the daily stand-up.
    #[serde(skip_serializing_if = "Option::is_none")]
    checkin: Option<String>,
}

impl From<&UpdateRow> for UpdateJson {
    fn from(u: &UpdateRow) -> Self {
        UpdateJson {
            id: u.id,
            date: u.local_date.to_string(),
            text: u.body.clone(),
            source: u.source.clone(),
            revision: u.revision,
            edited: u.revision > 1,
            created_at: rfc3339(u.created_at),
            updated_at: rfc3339(u.updated_at),
            sections: u.sections.clone(),
            checkin: u.checkin_name.clone(),
        }
    }
}

/// The update just stored.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct UpdateResponse {
    update: UpdateJson,
}

/// Who wrote an update.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Author {
    pub(super) name: String,
    #[schema(format = Email)]
    pub(super) email: String,
}

/// An update with its author.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct TeamUpdateJson {
    #[serde(flatten)]
    update: UpdateJson,
    author: Author,
}

/// The updates of one local date.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct UpdateList {
    #[schema(format = Date)]
    date: String,
    updates: Vec<TeamUpdateJson>,
}

/// A field that may be absent but not `null` (serde folds `null` into `None` for an `Option`).
pub(super) fn not_null<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// Post an update: stores it for the member's local today (or `date`, not in the future).
/// Like a second email reply, a second update the same day is appended. With an
/// `Idempotency-Key` a retry returns the first response and stores nothing.
#[utoipa::path(post, path = "/api/v1/updates", tag = "updates",
    security(("memberToken" = [])),
    params(("Idempotency-Key" = Option<String>, Header,
        description = "Same key (per token, for 24 hours) → the same response (`Idempotent-Replayed: true`), no second update. 1 to 255 visible ASCII characters.",
        pattern = r"^[!-~]{1,255}$")),
    request_body = NewUpdate,
    responses(
        (status = 201, description = "Stored (or replayed).", body = UpdateResponse,
            headers(("Idempotent-Replayed" = String, description = "`true` when this answers an earlier request with the same key."))),
        (status = 422, description = "A value is not acceptable (invalid): among others a `date` after the member's local today, which the schema cannot state, or a `checkin` none of the member's teams has or that does not ask them; or the day's update is full (update_full).", body = crate::web::openapi::ErrorBody),
    ))]
pub(super) async fn post_update(
    State(st): State<WebState>,
    auth: MemberAuth,
    headers: HeaderMap,
    ApiJson(body): ApiJson<NewUpdate>,
) -> Result<Response, AppError> {
    let now = Utc::now();
    let m = &auth.member;
    let keep = body.keep_draft == Some(true);
    let text = body.text.as_deref().unwrap_or_default().trim();
    if text.is_empty() && !keep {
        return Err(AppError::invalid(
            "text must not be empty (or send \"keep_draft\": true)",
        ));
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
            let k = v.to_str().unwrap_or_default();
            if k.is_empty() || k.len() > 255 || !k.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(AppError::invalid(
                    "Idempotency-Key must be 1 to 255 visible ASCII characters",
                ));
            }
            Some(k.to_string())
        }
    };
    let ts = now.timestamp();
    let (checkin, labels, text, scores) = answering(&st, m, body.checkin.as_deref(), text).await?;
    let text = match keep {
        false => text,
        true if checkin != 0 => {
            return Err(AppError::invalid(
                "keep_draft: a check-in's answer has no draft (the stand-up's has)",
            ));
        }
        true => {
            let k = crate::domain::activity::Keep::All;
            match crate::jobs::activity::kept_text(&st.ctx, m, date, &k, &text).await? {
                Ok((t, _)) => t,
                Err(why) => return Err(AppError::invalid(format!("keep_draft: {why}"))),
            }
        }
    };
    let text = text.as_str();
    let which = UpdateKey {
        member: m.id,
        date,
        checkin,
    };
    let (body, replayed) = match key {
        Some(k) => {
            let r = st
                .ctx
                .store
                .post_update_idempotent(auth.token_id, &k, which, text, &labels, ts, |u, _| {
                    update_body(u)
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
                .upsert_answer(which, text, &labels, "api", None, false, ts)
                .await?;
            let u = st
                .ctx
                .store
                .answer_for(which)
                .await?
                .ok_or_else(|| anyhow::anyhow!("the update just stored is missing"))?;
            (update_body(&u), false)
        }
    };
    // `@ana`: recorded for her next digest, once per update and person (a replay finds them
    // recorded).
    if !replayed && let Some(u) = st.ctx.store.answer_for(which).await? {
        crate::jobs::mentions::record(&st.ctx, m, u.id, text, now).await?;
        st.ctx.store.set_scores(u.id, &scores).await?;
    }
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

/// What a post answers: the check-in (0: the stand-up), its questions as labels, and the text
/// with any scale answers taken out (counted, never shown with a name), as a reply would be.
async fn answering(
    st: &WebState,
    m: &crate::domain::Member,
    name: Option<&str>,
    text: &str,
) -> Result<
    (
        i64,
        Vec<(crate::domain::sections::Kind, String)>,
        String,
        Vec<(usize, u8)>,
    ),
    AppError,
> {
    let standup = |questions: Vec<String>| {
        (
            0,
            crate::domain::sections::labels_of(&questions),
            text.to_string(),
            Vec::new(),
        )
    };
    let Some(name) = name else {
        return Ok(standup(st.ctx.questions_for(m).await?));
    };
    let mut known = Vec::new();
    for team in &m.teams {
        match st.ctx.store.checkin_filter(team, name).await? {
            Ok(0) => return Ok(standup(st.ctx.questions_for(m).await?)),
            Ok(id) => {
                let Some(c) = st.ctx.store.checkin(id).await? else {
                    continue;
                };
                if !crate::jobs::checkins::asks_member(&st.ctx, &c, m).await? {
                    return Err(AppError::invalid(format!(
                        "checkin: {} does not ask you (it asks {})",
                        c.name,
                        c.who.describe()
                    )));
                }
                let (text, scores) = crate::domain::checkin::take_scores(text, &c.questions);
                return Ok((c.id, c.labels(), text, scores));
            }
            Err(names) => known.extend(names),
        }
    }
    known.sort();
    known.dedup();
    Err(AppError::invalid(format!(
        "checkin: none of your teams has a check-in named {name:?} (they have: {})",
        known.join(", ")
    )))
}

/// `{"update": …}` as stored for an idempotent replay.
fn update_body(u: &UpdateRow) -> String {
    serde_json::to_string(&UpdateResponse { update: u.into() }).unwrap_or_default()
}

#[derive(Debug, Deserialize)]
pub(super) struct DateQuery {
    date: Option<String>,
}

/// The updates of the member and their teammates for one local date (default: the member's
/// today).
#[utoipa::path(get, path = "/api/v1/updates", tag = "updates",
    security(("memberToken" = [])),
    params(("date" = Option<String>, Query, format = Date, pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
        description = "The local date (YYYY-MM-DD); absent: the member's today.")),
    responses(
        (status = 200, description = "The updates of that day.", body = UpdateList),
        (status = 422, description = "`date` is not a date YYYY-MM-DD (invalid).", body = super::super::openapi::ErrorBody),
    ))]
pub(super) async fn list_updates(
    State(st): State<WebState>,
    auth: MemberAuth,
    q: Result<Query<DateQuery>, QueryRejection>,
) -> Result<Json<UpdateList>, AppError> {
    let Query(q) = q.map_err(|e| AppError::invalid(e.body_text()))?;
    let m = &auth.member;
    let date = match &q.date {
        Some(d) => parse_date(d, "date")?,
        None => local_date(m.tz, Utc::now()),
    };
    let rows = st.ctx.store.team_updates_on(m.id, date).await?;
    let updates = rows
        .iter()
        .map(|t| TeamUpdateJson {
            update: (&t.update).into(),
            author: Author {
                name: t.author_name.clone(),
                email: t.author_email.clone(),
            },
        })
        .collect();
    Ok(Json(UpdateList {
        date: date.to_string(),
        updates,
    }))
}
