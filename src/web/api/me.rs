//! What a member does with their own token: read and change their preferences, read their
//! latest digest (their updates: `updates.rs`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::*;
use crate::domain::schedule::parse_tz;
use crate::domain::{
    AwayRange, Cadence, Delivery, EmailAddress, LocalTime, Member, Workdays, clean_name,
    parse_team_name,
};
use crate::store::MemberChange;
use crate::web::{AppError, WebState};

// ---------------------------------------------------------------------------------- preferences

/// A change to a member in the shape of `member list --json` ([`MemberView`]); absent fields
/// keep their value. `email`, `team`, `teams` and `aliases` are accepted so a GET body can be
/// sent back as it is, but a member may not change them (an admin may change the teams).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = MemberPatch)]
pub struct MemberPatch {
    /// Required when an admin creates a member; otherwise it may be sent back unchanged.
    #[schema(value_type = String, format = Email)]
    #[serde(default, deserialize_with = "not_null")]
    pub email: Option<String>,
    /// Not blank. Required when an admin creates a member.
    #[schema(value_type = String, min_length = 1, pattern = r"\S")]
    #[serde(default, deserialize_with = "not_null")]
    pub name: Option<String>,
    /// Required when an admin creates a member.
    #[schema(value_type = crate::domain::ZoneName)]
    #[serde(default, deserialize_with = "not_null")]
    pub timezone: Option<String>,
    /// HH:MM, 00:00 to 23:59, in the member's time.
    #[schema(value_type = String, pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$", example = "16:30")]
    #[serde(default, deserialize_with = "not_null")]
    pub request_at: Option<String>,
    /// HH:MM, 00:00 to 23:59, in the member's time.
    #[schema(value_type = String, pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$", example = "08:30")]
    #[serde(default, deserialize_with = "not_null")]
    pub digest_at: Option<String>,
    /// At least one day.
    #[schema(value_type = Vec<crate::domain::Weekday>, min_items = 1)]
    #[serde(default, deserialize_with = "not_null")]
    pub workdays: Option<Vec<String>>,
    #[schema(value_type = bool)]
    #[serde(default, deserialize_with = "not_null")]
    pub paused: Option<bool>,
    #[schema(value_type = bool)]
    #[serde(default, deserialize_with = "not_null")]
    pub unsubscribed: Option<bool>,
    /// Each range's `to` not before its `from` (a range given backwards is refused with 422
    /// `invalid`: a schema cannot compare two fields).
    #[schema(value_type = Vec<AwayRange>)]
    #[serde(default, deserialize_with = "not_null")]
    pub away: Option<Vec<AwayRange>>,
    /// The first team; `null` for none (absent keeps the teams). Not read when `teams` is
    /// given: `teams` says every team. A member may only send back their own.
    // `null` (no team) and absent (keep the teams) mean different things, so `null` is kept
    // as `Some(Value::Null)` rather than folded into `None` as serde does for an `Option`.
    #[schema(value_type = Option<crate::domain::TeamName>)]
    #[serde(default, deserialize_with = "present")]
    pub team: Option<Value>,
    /// Every team (an admin may set them; a member may only send back their own).
    #[schema(value_type = Vec<crate::domain::TeamName>)]
    #[serde(default, deserialize_with = "not_null")]
    pub teams: Option<Vec<String>>,
    /// Read-only: may be sent back unchanged.
    #[schema(value_type = Vec<String>)]
    #[serde(default, deserialize_with = "not_null")]
    pub aliases: Option<Vec<String>>,
    /// How often the digest comes: `daily`, `weekly:mon` … `weekly:sun`, or `off`.
    #[schema(value_type = String, pattern = r"^(daily|off|weekly:(mon|tue|wed|thu|fri|sat|sun))$", example = "weekly:fri")]
    #[serde(default, deserialize_with = "not_null")]
    pub digest: Option<String>,
    /// Receives digests, never asked for updates. An admin may set it; a member may send it
    /// back unchanged.
    #[schema(value_type = bool)]
    #[serde(default, deserialize_with = "not_null")]
    pub observer: Option<bool>,
    /// When comments on the member's updates reach them: `digest` or `immediate`.
    #[schema(value_type = String, pattern = r"^(digest|immediate)$", example = "digest")]
    #[serde(default, deserialize_with = "not_null")]
    pub comments: Option<String>,
    /// When updates that mention the member reach them: `digest` or `immediate`.
    #[schema(value_type = String, pattern = r"^(digest|immediate)$", example = "immediate")]
    #[serde(default, deserialize_with = "not_null")]
    pub mentions: Option<String>,
    /// The member's calendars (`PUT /api/v1/me/preferences` only): items with an `id` keep
    /// that calendar, items without one add their `address`, calendars left out are removed.
    #[serde(default, deserialize_with = "not_null")]
    pub calendars: Option<Vec<super::me_calendars::CalendarItem>>,
    /// Read-only (time away read from the calendars): may be sent back unchanged.
    #[schema(value_type = Vec<super::me_calendars::CalendarAway>)]
    #[serde(default, deserialize_with = "not_null")]
    pub calendar_away: Option<Vec<super::me_calendars::CalendarAway>>,
    /// Feeds of the member's own activity (Atom, RSS or JSON Feed), as `calendars`: items with
    /// an `id` keep that feed, items without one add their `address`, feeds left out are
    /// removed.
    #[serde(default, deserialize_with = "not_null")]
    pub activity_feeds: Option<Vec<super::me_activity::FeedItem>>,
    /// Repositories, projects (`tidings/docs`) or kinds of entry (`push`) left out of the
    /// member's drafts: the whole list.
    #[schema(value_type = Vec<String>)]
    #[serde(default, deserialize_with = "not_null")]
    pub activity_mutes: Option<Vec<String>>,
    /// Whether the member's updates, blockers and name may be part of their teams' chat-room
    /// summaries (`false`: kept out; they still reach the email digests and the team log).
    #[schema(value_type = bool)]
    #[serde(default, deserialize_with = "not_null")]
    pub in_rooms: Option<bool>,
}

/// The weekday names the API takes and writes.
const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// `HH:MM` exactly (two digits each), 00:00 to 23:59.
fn strict_time(t: &str) -> Option<LocalTime> {
    let b = t.as_bytes();
    (b.len() == 5 && b[2] == b':' && [0, 1, 3, 4].iter().all(|&i| b[i].is_ascii_digit()))
        .then(|| LocalTime::parse(t).ok())
        .flatten()
}

/// A team name as the API takes it: 1 to 64 printable characters, no spaces around it.
pub(super) fn api_team_name(t: &str) -> Result<String, AppError> {
    if t.trim() != t {
        return Err(AppError::invalid(format!(
            "invalid team name {t:?}: no spaces around it"
        )));
    }
    parse_team_name(t).map_err(AppError::invalid)
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
        // The API takes exactly what its document states (the CLI and reply commands are
        // kinder: `7:30`, `mon-fri`, surrounding spaces).
        if let Some(z) = &self.timezone {
            if z.trim() != z {
                return Err(AppError::invalid(format!(
                    "timezone: {z:?} has spaces around it"
                )));
            }
            ch.tz = Some(parse_tz(z).map_err(|e| AppError::invalid(e.to_string()))?);
        }
        for (what, value, slot) in [
            ("request_at", &self.request_at, &mut ch.request_at),
            ("digest_at", &self.digest_at, &mut ch.digest_at),
        ] {
            if let Some(t) = value {
                *slot = Some(strict_time(t).ok_or_else(|| {
                    AppError::invalid(format!(
                        "{what}: expected HH:MM from 00:00 to 23:59, got {t:?}"
                    ))
                })?);
            }
        }
        if let Some(w) = &self.workdays {
            if w.is_empty() {
                return Err(AppError::invalid("workdays: choose at least one day"));
            }
            if let Some(bad) = w.iter().find(|d| !WEEKDAYS.contains(&d.as_str())) {
                return Err(AppError::invalid(format!(
                    "workdays: {bad:?} is not one of {}",
                    WEEKDAYS.join(", ")
                )));
            }
            ch.workdays = Some(
                Workdays::parse(&w.join(","))
                    .map_err(|e| AppError::invalid(format!("workdays: {e}")))?,
            );
        }
        if let Some(c) = &self.digest {
            // Exactly the written form (the reply command and the CLI are kinder).
            match Cadence::parse(c) {
                Ok(cadence) if cadence.to_string() == *c => ch.cadence = Some(cadence),
                _ => {
                    return Err(AppError::invalid(format!(
                        "digest: expected daily, off or weekly:mon … weekly:sun, got {c:?}"
                    )));
                }
            }
        }
        ch.observer = self.observer;
        for (what, value, slot) in [
            ("comments", &self.comments, &mut ch.comments),
            ("mentions", &self.mentions, &mut ch.mentions),
        ] {
            if let Some(v) = value {
                *slot = Some(
                    Delivery::parse(v)
                        .filter(|d| d.as_str() == v)
                        .ok_or_else(|| {
                            AppError::invalid(format!(
                                "{what}: expected digest or immediate, got {v:?}"
                            ))
                        })?,
                );
            }
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
                    .map(|t| api_team_name(t))
                    .collect::<Result<_, _>>()?,
            );
        }
        let team = match &self.team {
            None => None,
            Some(Value::Null) => Some(None),
            Some(Value::String(t)) => Some(Some(api_team_name(t)?)),
            Some(_) => return Err(AppError::invalid("team: expected a string or null")),
        };
        // `teams` says which teams when both are given (a GET body sent back holds both);
        // `team` alone sets one team, or none.
        if teams.is_none() {
            teams = team.map(|t| t.into_iter().collect());
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
            if !admin && self.observer.is_some_and(|o| o != cur.observer) {
                return Err(read_only("observer"));
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

/// The member's own preferences (the shape of `member list --json`), with their calendars.
#[utoipa::path(get, path = "/api/v1/me/preferences", tag = "me",
    security(("memberToken" = [])),
    responses((status = 200, description = "The member.", body = super::me_calendars::Preferences)))]
pub(super) async fn get_preferences(
    State(st): State<WebState>,
    auth: MemberAuth,
) -> Result<Json<super::me_calendars::Preferences>, AppError> {
    Ok(Json(
        super::me_calendars::Preferences::of(&st.ctx, &auth.member).await?,
    ))
}

/// Change the member's own preferences: any fields of Member (absent ones keep their value);
/// the next request and digest are planned again at once. `email`, `aliases` and
/// `team`/`teams` may be sent back unchanged, not changed. `calendars` as written by GET
/// (ids kept, new addresses added without an id, the rest removed); a new address is read
/// by the calendar job within minutes.
#[utoipa::path(put, path = "/api/v1/me/preferences", tag = "me",
    security(("memberToken" = [])),
    request_body = MemberPatch,
    responses((status = 200, description = "The member as changed.", body = super::me_calendars::Preferences)))]
pub(super) async fn put_preferences(
    State(st): State<WebState>,
    auth: MemberAuth,
    ApiJson(patch): ApiJson<MemberPatch>,
) -> Result<Json<super::me_calendars::Preferences>, AppError> {
    let ch = patch.to_change(Some(&auth.member), false)?;
    super::me_activity::check(
        &st.ctx,
        auth.member.id,
        patch.activity_feeds.as_deref(),
        patch.activity_mutes.as_deref(),
    )
    .await?;
    let m = apply_change(&st, &auth.member, &ch).await?;
    if let Some(items) = &patch.calendars {
        super::me_calendars::apply(&st.ctx, m.id, items).await?;
        crate::jobs::calendars::recompute_member(&st.ctx, m.id, Utc::now()).await?;
    }
    super::me_activity::apply(
        &st.ctx,
        m.id,
        patch.activity_feeds.as_deref(),
        patch.activity_mutes.as_deref(),
    )
    .await?;
    if let Some(on) = patch.in_rooms {
        st.ctx
            .store
            .set_in_rooms(m.id, on, Utc::now().timestamp())
            .await?;
    }
    let m = st.ctx.store.member_by_id(m.id).await?.unwrap_or(m);
    Ok(Json(
        super::me_calendars::Preferences::of(&st.ctx, &m).await?,
    ))
}

// ---------------------------------------------------------------------------------- digests

/// The latest digest queued for a member.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct DigestJson {
    subject: String,
    /// The reader's local date it is for.
    #[schema(format = Date)]
    date: Option<String>,
    #[schema(value_type = DigestState)]
    state: String,
    #[schema(format = DateTime)]
    queued_at: String,
    #[schema(format = DateTime)]
    sent_at: Option<String>,
    /// The text part.
    text: Option<String>,
    /// The HTML part.
    html: Option<String>,
}

/// Where a digest is in the outbox.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub(super) enum DigestState {
    Pending,
    Sending,
    Sent,
    Failed,
}

/// The latest digest queued for the member: subject, date, state, text and HTML.
#[utoipa::path(get, path = "/api/v1/digests/latest", tag = "me",
    security(("memberToken" = [])),
    responses(
        (status = 200, description = "The digest.", body = DigestJson),
        (status = 404, description = "No digest has been queued for the member yet (not_found).", body = super::super::openapi::ErrorBody),
    ))]
pub(super) async fn latest_digest(
    State(st): State<WebState>,
    auth: MemberAuth,
) -> Result<Json<DigestJson>, AppError> {
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
    let raw = crate::jobs::compose::message_of(&st.ctx, &d).await?;
    let parsed = mail_parser::MessageParser::default().parse(&raw);
    let text = parsed
        .as_ref()
        .and_then(|p| p.body_text(0))
        .map(|b| b.to_string());
    let html = parsed
        .as_ref()
        .and_then(|p| p.body_html(0))
        .map(|b| b.to_string());
    Ok(Json(DigestJson {
        subject: d.subject,
        date: d.local_date,
        state: d.state,
        queued_at: rfc3339(d.created_at),
        sent_at: d.sent_at.map(rfc3339),
        text,
        html,
    }))
}

// ------------------------------------------------------------------------------------ blockers

/// A blocker marked resolved.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct ResolvedBlocker {
    /// The first day of the updates that carried it (YYYY-MM-DD).
    #[schema(format = Date)]
    since: String,
    /// Its lines, as the latest of those updates wrote them.
    lines: Vec<String>,
}

/// What `resolve` did.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct ResolveAnswer {
    /// The blocker resolved, or `null` when none was open.
    resolved: Option<ResolvedBlocker>,
}

/// Mark the member's open blocker resolved (as the reply command `resolved` and the button on
/// the team log's blockers page do): it leaves teammates' digests ("Still blocked") and leads'
/// "Needs you" from their next digest. Answers `resolved: null` when none was open.
#[utoipa::path(post, path = "/api/v1/me/blockers/resolve", tag = "me",
    security(("memberToken" = [])),
    responses((status = 200, description = "Resolved, or nothing was open.", body = ResolveAnswer)))]
pub(super) async fn resolve_blocker(
    State(st): State<WebState>,
    auth: MemberAuth,
) -> Result<Json<ResolveAnswer>, AppError> {
    let b = st.ctx.store.resolve_blocker(auth.member.id).await?;
    Ok(Json(ResolveAnswer {
        resolved: b.map(|b| ResolvedBlocker {
            since: b.since.to_string(),
            lines: b.lines,
        }),
    }))
}
