//! Activity feeds in the member's preferences (#35), and their draft: `activity_feeds` (each
//! shown as its host and last characters, never the whole address; the list sent back
//! changes them as `calendars` does), `activity_mutes`, and `GET /api/v1/me/draft`, the draft
//! of the member's current day. Nothing from a feed is shown to anyone but the member.

use axum::Json;
use axum::extract::State;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::MemberAuth;
use crate::domain::schedule::local_date;
use crate::domain::{Member, MemberId, rfc3339};
use crate::fetch::normalise;
use crate::jobs::Ctx;
use crate::web::{AppError, WebState};

/// A feed of the member's own activity: written with its `id`; sent without one to add an
/// address.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FeedItem {
    /// Absent for an address to add; one of the member's feeds to keep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// Written as its host and last characters (`github.com …ima.atom`); sent without `id`:
    /// the address to add (an `https://` Atom, RSS or JSON Feed).
    #[schema(example = "github.com …ima.atom")]
    pub address: String,
    /// When it was last read (RFC 3339); read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_at: Option<String>,
    /// Entries in the last good copy; read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entries: Option<u32>,
    /// Why the last read failed (no draft from it until it reads again); read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Since when reads fail (RFC 3339); read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<String>,
}

/// The member's feeds as the API writes them.
pub async fn feeds_of(ctx: &Ctx, member: MemberId) -> Result<Vec<FeedItem>, AppError> {
    Ok(ctx
        .store
        .activity_feeds(member)
        .await?
        .into_iter()
        .map(|f| FeedItem {
            id: Some(f.id),
            address: f.shown,
            read_at: f.fetched_at.map(rfc3339),
            entries: f
                .fetched_at
                .map(|_| u32::try_from(f.entries).unwrap_or(u32::MAX)),
            error: f.error,
            failing_since: f.failing_since.map(rfc3339),
        })
        .collect())
}

/// What a list of feeds sent back asks for, every item checked before anything changes: the
/// ids to keep (each one of `have`, else 422) and the addresses to add.
pub(super) fn plan(
    items: &[FeedItem],
    have: &[i64],
    allow_http: bool,
    whose: &str,
) -> Result<(Vec<i64>, Vec<String>), AppError> {
    let mut keep = Vec::new();
    let mut add = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match item.id {
            Some(id) if have.contains(&id) => keep.push(id),
            Some(id) => {
                return Err(AppError::invalid(format!(
                    "activity_feeds[{i}].id: {id} is not one of {whose} feeds"
                )));
            }
            None => {
                let url = normalise(&item.address, allow_http)
                    .map_err(|e| AppError::invalid(format!("activity_feeds[{i}].address: {e}")))?;
                add.push(url.to_string());
            }
        }
    }
    Ok((keep, add))
}

/// Mutes as sent: each trimmed, not blank, at most 100 characters.
pub(super) fn check_mutes(mutes: &[String]) -> Result<Vec<String>, AppError> {
    mutes
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let t = m.trim();
            if t.is_empty() || t.chars().count() > 100 || t.contains('\0') {
                Err(AppError::invalid(format!(
                    "activity_mutes[{i}]: a repository, project or kind of entry (1 to 100 characters)"
                )))
            } else {
                Ok(t.to_string())
            }
        })
        .collect()
}

/// Checks the lists without changing anything (before any other field of the same request
/// is applied).
pub async fn check(
    ctx: &Ctx,
    member: MemberId,
    feeds: Option<&[FeedItem]>,
    mutes: Option<&[String]>,
) -> Result<(), AppError> {
    if let Some(items) = feeds {
        let have: Vec<i64> = ctx
            .store
            .activity_feeds(member)
            .await?
            .iter()
            .map(|f| f.id)
            .collect();
        plan(items, &have, ctx.config.fetch.allow_http, "your")?;
    }
    if let Some(m) = mutes {
        check_mutes(m)?;
    }
    Ok(())
}

/// Makes `member`'s feeds and mutes what the lists say (absent: unchanged); every item checked
/// before anything changes. New feeds are read by the activity job within minutes.
pub async fn apply(
    ctx: &Ctx,
    member: MemberId,
    feeds: Option<&[FeedItem]>,
    mutes: Option<&[String]>,
) -> Result<(), AppError> {
    let have: Vec<i64> = ctx
        .store
        .activity_feeds(member)
        .await?
        .iter()
        .map(|f| f.id)
        .collect();
    let planned = match feeds {
        Some(items) => Some(plan(items, &have, ctx.config.fetch.allow_http, "your")?),
        None => None,
    };
    let mutes = mutes.map(check_mutes).transpose()?;
    if let Some((keep, add)) = planned {
        for id in have.iter().filter(|id| !keep.contains(id)) {
            ctx.store.remove_activity_feed(member, *id).await?;
        }
        for url in &add {
            ctx.store.add_activity_feed(member, url).await?;
        }
    }
    if let Some(mutes) = mutes {
        for old in ctx.store.activity_mutes(member).await? {
            if !mutes.contains(&old) {
                ctx.store.set_activity_mute(member, &old, false).await?;
            }
        }
        for m in &mutes {
            ctx.store.set_activity_mute(member, m, true).await?;
        }
    }
    Ok(())
}

/// One line of a draft.
#[derive(Debug, Serialize, ToSchema)]
pub struct DraftLineJson {
    /// Its number: what `keep 1 3` names.
    pub n: usize,
    /// The repository or project, where the feed says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// The draft of the member's current day.
#[derive(Debug, Serialize, ToSchema)]
pub struct DraftJson {
    /// The member's local date the draft is for.
    #[schema(format = Date)]
    pub date: String,
    /// Where it starts: the member's previous update, or their previous workday (RFC 3339);
    /// absent when they have no activity feed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// Whether it is the draft the day's request showed (else as of now).
    pub sent: bool,
    /// Every line, numbered as the request numbers them.
    pub lines: Vec<DraftLineJson>,
    /// Lines the request shows (the first ones); `keep_draft` keeps those.
    pub in_request: usize,
    /// Entries beyond the lines kept.
    pub more: usize,
}

/// The draft of member `m` for their day as of now.
async fn draft_json(ctx: &Ctx, m: &Member) -> Result<DraftJson, AppError> {
    let today = local_date(m.tz, Utc::now());
    let found = crate::jobs::activity::draft_to_keep(ctx, m, today).await?;
    let since = found.as_ref().map(|d| d.since.timestamp());
    let sent = found.as_ref().is_some_and(|d| d.sent);
    let draft = found.map(|d| d.draft).unwrap_or_default();
    let in_request = crate::jobs::activity::email_part(&draft).lines.len();
    Ok(DraftJson {
        date: today.to_string(),
        since: since.map(rfc3339),
        sent,
        in_request,
        more: draft.more,
        lines: draft
            .lines
            .into_iter()
            .map(|l| DraftLineJson {
                n: l.n,
                project: l.project,
                title: l.title,
                link: l.link,
            })
            .collect(),
    })
}

/// The member's draft for their current day: the lines their activity feeds give since their
/// previous update, numbered as the request shows them (the request's own, once it was sent).
/// Seen by the member alone; kept with `POST /api/v1/updates {"keep_draft": true}`.
#[utoipa::path(get, path = "/api/v1/me/draft", tag = "me",
    security(("memberToken" = [])),
    responses((status = 200, description = "The draft (no lines when there is none).", body = DraftJson)))]
pub(super) async fn get_draft(
    State(st): State<WebState>,
    auth: MemberAuth,
) -> Result<Json<DraftJson>, AppError> {
    Ok(Json(draft_json(&st.ctx, &auth.member).await?))
}
