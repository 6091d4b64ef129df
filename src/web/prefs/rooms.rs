//! The preferences page's chat-room choice (#36): whether the member's updates may be part of
//! the daily summary their teams post to chat rooms (a room's members read what is posted).
//! Kept out, they reach only the email digests and the team log.

use chrono::Utc;
use maud::{Markup, html};

use super::groups::Groups;
use crate::domain::Member;
use crate::jobs::Ctx;
use crate::web::AppError;

/// What the section shows: whether the member is in rooms, and whether any team posts to one.
pub(super) struct Shown {
    in_rooms: bool,
    has_rooms: bool,
}

impl Shown {
    pub(super) async fn read(ctx: &Ctx, m: &Member) -> Result<Shown, AppError> {
        Ok(Shown {
            in_rooms: ctx.store.in_rooms(m.id).await?,
            has_rooms: ctx.store.has_rooms(m.id).await?,
        })
    }
}

/// The section (`#rooms`).
pub(super) fn section(g: &Groups<'_>, s: &Shown) -> Markup {
    html! {
        h2 id="rooms" { "Chat rooms" }
        form method="post" action=(g.action) {
            input type="hidden" name="csrf" value=(g.csrf);
            p class="muted" {
                @if s.has_rooms { "Your team posts a daily summary to a chat room, which everyone in that room reads. " }
                @else { "None of your teams posts to a chat room now. If one does, everyone in that room reads its daily summary. " }
                @if s.in_rooms { "Your updates, blockers and name are part of it." }
                @else { "Your updates are kept out of it: they reach only the email digests and the team log." }
            }
            @if s.in_rooms {
                button type="submit" name="action" value="rooms-off" id="rooms-off" { "Keep my updates out of chat rooms" }
            } @else {
                button type="submit" name="action" value="rooms-on" id="rooms-on" { "Let my updates into chat rooms" }
            }
        }
    }
}

/// Applies `rooms-off` or `rooms-on`; the flash code.
pub(super) async fn submit(ctx: &Ctx, m: &Member, action: &str) -> Result<&'static str, AppError> {
    let on = action == "rooms-on";
    ctx.store
        .set_in_rooms(m.id, on, Utc::now().timestamp())
        .await?;
    Ok(if on { "rooms-on" } else { "rooms-off" })
}
