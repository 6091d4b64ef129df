//! The calendar reply commands (#34): `calendar https://…` gives Tidings a private calendar
//! address, read at once so the receipt says what was found; `calendar off` takes every
//! calendar of the member away. The address is never repeated back whole.

use chrono::{DateTime, Utc};

use super::super::Ctx;
use crate::domain::Member;
use crate::domain::command::Command;
use crate::fetch::normalise;
use crate::store::calendars::{CalendarKind, shown};

/// Applies calendar command `c` of member `m`: the receipt's subject and text.
pub(super) async fn apply(
    ctx: &Ctx,
    m: &Member,
    c: Command,
    now: DateTime<Utc>,
) -> anyhow::Result<(&'static str, String)> {
    match c {
        Command::CalendarOff => {
            ctx.store.remove_member_calendars(m.id).await?;
            Ok((
                "Done: your calendars are off",
                "Tidings no longer reads your calendars; time away comes from what you type \
                 (\"away until 2026-12-31\", or the preferences page)."
                    .to_string(),
            ))
        }
        Command::Calendar(address) => {
            let url = match normalise(&address, ctx.config.fetch.allow_http) {
                Ok(u) => u.to_string(),
                Err(e) => {
                    return Ok((
                        "Your calendar was not added",
                        format!(
                            "That calendar address cannot be used: {e}. Copy your calendar's private address in iCal format (https:// or webcal://) and reply \"calendar\" followed by it."
                        ),
                    ));
                }
            };
            ctx.store
                .add_member_calendar(m.id, &url, CalendarKind::Personal)
                .await?;
            crate::jobs::calendars::refresh_member(ctx, m.id, now).await?;
            let read = crate::jobs::calendars::summary(ctx, m, now, 5).await?;
            let mut text = format!(
                "Your calendar {} is added: its time off counts as time away (no request, no reminder, a catch-up digest after). Tidings reads it again every {} minutes.",
                shown(&url),
                ctx.config.fetch.refresh_minutes
            );
            if read.is_empty() {
                text.push_str("\n\nFrom your calendar: no time away found from today on.");
            } else {
                text.push_str("\n\nFrom your calendar:");
                for l in read {
                    text.push_str(&format!("\n- {l}"));
                }
            }
            Ok(("Done: your calendar is added", text))
        }
        // Only the two calendar commands come here.
        _ => Ok(("Nothing changed", "Nothing changed.".to_string())),
    }
}
