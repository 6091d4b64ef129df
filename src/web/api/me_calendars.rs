//! `calendars` in the member's preferences (#34): each calendar as the API shows it (its host
//! and last characters, never the whole address), and the list sent back to change them —
//! items with an `id` keep that calendar, items without one add an address, calendars left
//! out are removed. New addresses are read by the calendar job (within minutes), never in
//! the request.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::{MemberId, MemberView, rfc3339};
use crate::fetch::normalise;
use crate::jobs::Ctx;
use crate::store::calendars::CalendarKind;
use crate::web::AppError;

/// A calendar of the member's: written with its `id`; sent without one to add an address.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CalendarItem {
    /// Absent for an address to add; one of the member's calendars to keep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// Written as its host and last characters (`calendar.google.com …cdef`); sent without
    /// `id`: the private address to add (`https://` or `webcal://`).
    #[schema(example = "calendar.google.com …cdef")]
    pub address: String,
    /// `personal` (time off by the away rule; the default) or `holidays` (each event a day off).
    #[schema(pattern = r"^(personal|holidays)$")]
    #[serde(default = "personal")]
    pub kind: String,
    /// When it was last read (RFC 3339); read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_at: Option<String>,
    /// Why the last read failed; read-only (the last good copy still counts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Since when reads fail (RFC 3339); read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<String>,
}

fn personal() -> String {
    "personal".into()
}

/// A stretch of time away read from the member's own calendars.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarAway {
    #[schema(value_type = String, format = Date)]
    pub from: chrono::NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub to: chrono::NaiveDate,
    /// The event's title.
    pub summary: String,
}

/// The member's preferences with their calendars.
#[derive(Debug, Serialize, ToSchema)]
pub struct Preferences {
    #[serde(flatten)]
    pub member: MemberView,
    pub calendars: Vec<CalendarItem>,
    /// Time away read from their calendars, from today on (it counts as `away` does).
    pub calendar_away: Vec<CalendarAway>,
    /// Feeds of the member's own activity, which their requests draft their Done from.
    pub activity_feeds: Vec<super::me_activity::FeedItem>,
    /// Repositories, projects or kinds of entry left out of their drafts.
    pub activity_mutes: Vec<String>,
    /// Whether their updates may be part of their teams' chat-room summaries.
    pub in_rooms: bool,
}

impl Preferences {
    pub async fn of(ctx: &Ctx, m: &crate::domain::Member) -> Result<Preferences, AppError> {
        let calendars = ctx
            .store
            .member_calendars(m.id)
            .await?
            .into_iter()
            .map(|l| CalendarItem {
                id: Some(l.source_id),
                address: l.shown,
                kind: l.kind.as_str().into(),
                read_at: l.fetched_at.map(rfc3339),
                error: l.error,
                failing_since: l.failing_since.map(rfc3339),
            })
            .collect();
        let away =
            crate::jobs::calendars::spans(ctx, m, chrono::Utc::now(), CalendarKind::Personal)
                .await?;
        Ok(Preferences {
            activity_feeds: super::me_activity::feeds_of(ctx, m.id).await?,
            activity_mutes: ctx.store.activity_mutes(m.id).await?,
            in_rooms: ctx.store.in_rooms(m.id).await?,
            member: MemberView::from(m),
            calendars,
            calendar_away: away
                .into_iter()
                .map(|s| CalendarAway {
                    from: s.first,
                    to: s.last,
                    summary: s.summary,
                })
                .collect(),
        })
    }
}

/// An address to add, as the fetcher reads it, and its rule.
pub(super) type NewCalendar = (String, CalendarKind);

/// What a list of calendars sent back asks for, every item checked before anything changes:
/// the ids to keep (each one of `have`, else 422 naming it as not one of `whose` calendars)
/// and the addresses to add with their kind.
pub(super) fn plan(
    items: &[CalendarItem],
    have: &[i64],
    allow_http: bool,
    whose: &str,
) -> Result<(Vec<i64>, Vec<NewCalendar>), AppError> {
    let mut keep = Vec::new();
    let mut add = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let kind = match item.kind.as_str() {
            "personal" => CalendarKind::Personal,
            "holidays" => CalendarKind::Holidays,
            k => {
                return Err(AppError::invalid(format!(
                    "calendars[{i}].kind: {k:?} is not personal or holidays"
                )));
            }
        };
        match item.id {
            Some(id) if have.contains(&id) => keep.push(id),
            Some(id) => {
                return Err(AppError::invalid(format!(
                    "calendars[{i}].id: {id} is not one of {whose} calendars"
                )));
            }
            None => {
                let url = normalise(&item.address, allow_http)
                    .map_err(|e| AppError::invalid(format!("calendars[{i}].address: {e}")))?;
                add.push((url.to_string(), kind));
            }
        }
    }
    Ok((keep, add))
}

/// Makes `member`'s calendars what `items` says; every item checked before anything changes.
pub async fn apply(ctx: &Ctx, member: MemberId, items: &[CalendarItem]) -> Result<(), AppError> {
    let have: Vec<i64> = ctx
        .store
        .member_calendars(member)
        .await?
        .iter()
        .map(|l| l.source_id)
        .collect();
    let (keep, add) = plan(items, &have, ctx.config.fetch.allow_http, "your")?;
    for id in have.iter().filter(|id| !keep.contains(id)) {
        ctx.store.remove_member_calendar(member, *id).await?;
    }
    for (url, kind) in &add {
        ctx.store.add_member_calendar(member, url, *kind).await?;
    }
    Ok(())
}
