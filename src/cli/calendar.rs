//! The calendar options of `member set` and `team set` (#34): addresses normalised and
//! checked as the fetcher reads them, stored once, shown only as host and last characters.

use crate::config::Config;
use crate::fetch::normalise;
use crate::store::Store;
use crate::store::calendars::{CalendarKind, CalendarLink};

use super::{store_err, usage};

/// Each address as the fetcher reads it (`webcal://` as https), or a usage error naming the
/// option; never the address itself (it is a secret, and may end up in a shell history).
pub(super) fn addresses(
    cfg: &Config,
    option: &str,
    given: &[String],
) -> anyhow::Result<Vec<String>> {
    given
        .iter()
        .map(|a| {
            normalise(a, cfg.fetch.allow_http)
                .map(|u| u.to_string())
                .map_err(|e| usage(format!("{option}: {e}")))
        })
        .collect()
}

/// One line per calendar: `calendar: calendar.google.com …cdef (read 2026-12-07T10:00:00Z)`.
pub(super) fn describe(links: &[CalendarLink]) -> Vec<String> {
    links
        .iter()
        .map(|l| {
            let what = match l.kind {
                CalendarKind::Personal => "calendar",
                CalendarKind::Holidays => "holiday calendar",
            };
            let state = match (&l.error, l.fetched_at) {
                (Some(e), _) => format!(
                    "could not be read since {}: {e}",
                    crate::domain::rfc3339(l.failing_since.unwrap_or_default())
                ),
                (None, Some(t)) => format!("read {}", crate::domain::rfc3339(t)),
                (None, None) => "not read yet: `tidings run-due` or `serve` reads it".into(),
            };
            format!("{what}: {} ({state})", l.shown)
        })
        .collect()
}

/// `member set`'s calendar options for member `id`: `--no-calendars` first, then each
/// `--calendar` and `--holiday-calendar` added; prints the member's calendars after (also
/// when no calendar option was given and they have some).
pub(super) async fn set_member(
    s: &Store,
    id: i64,
    none: bool,
    personal: &[String],
    holidays: &[String],
) -> anyhow::Result<()> {
    let asked = none || !personal.is_empty() || !holidays.is_empty();
    if none {
        s.remove_member_calendars(id).await.map_err(store_err)?;
    }
    for (list, kind) in [
        (personal, CalendarKind::Personal),
        (holidays, CalendarKind::Holidays),
    ] {
        for url in list {
            s.add_member_calendar(id, url, kind)
                .await
                .map_err(store_err)?;
        }
    }
    let links = s.member_calendars(id).await.map_err(store_err)?;
    if links.is_empty() && asked {
        crate::outln!("no calendars");
    }
    for line in describe(&links) {
        crate::outln!("{line}");
    }
    Ok(())
}

/// `team set`'s holiday calendar options for team `team`.
pub(super) async fn set_team(
    s: &Store,
    team: &str,
    none: bool,
    holidays: &[String],
) -> anyhow::Result<()> {
    if !none && holidays.is_empty() {
        return Ok(());
    }
    let id = s
        .team_id(team)
        .await
        .map_err(store_err)?
        .ok_or_else(|| usage(format!("no team named {team}")))?;
    if none {
        s.remove_team_calendars(id).await.map_err(store_err)?;
    }
    for url in holidays {
        s.add_team_calendar(id, url).await.map_err(store_err)?;
    }
    let links = s.team_calendars(id).await.map_err(store_err)?;
    if links.is_empty() {
        crate::outln!("{team}: no holiday calendars");
    }
    for line in describe(&links) {
        crate::outln!("{team}: {line}");
    }
    Ok(())
}
