//! The admin page's sections of addresses Tidings reaches out to (calendars, activity feeds,
//! webhook endpoints): counts by state and each address that cannot be reached, shown as its
//! host and last characters only.

use maud::{Markup, html};

use super::utc;

/// Addresses the fetcher reads (calendars, activity feeds), as the page shows them.
pub(super) struct Fetched {
    pub title: &'static str,
    /// `calendar` or `feed`: the ids `calendar-counts` and `calendars-failing`.
    pub id: &'static str,
    /// What a failure means, after "These cannot be read; ".
    pub meaning: &'static str,
    pub states: Vec<(&'static str, i64)>,
    /// Each that cannot be read: as shown (never the address), failing since, why.
    pub failing: Vec<(String, Option<i64>, Option<String>)>,
}

/// Addresses by state, and each that cannot be read: its host and last characters (never the
/// address), since when, why.
pub(super) fn section(f: &Fetched) -> Markup {
    html! {
        h2 { (f.title) }
        p id=(format!("{}-counts", f.id)) {
            @for (i, (s, n)) in f.states.iter().enumerate() {
                @if i > 0 { " · " }
                span class=(format!("count state-{s}")) { (s) ": " (n) }
            }
        }
        @if !f.failing.is_empty() {
            p class="muted" { "These cannot be read; " (f.meaning) ". Also " code { "tidings doctor" } "." }
            div class="scroll" {
            table id=(format!("{}s-failing", f.id)) {
                thead { tr { th { "Address" } th { "Failing since" } th { "Why" } } }
                tbody {
                    @for (shown, since, error) in &f.failing {
                        tr {
                            td { code { (shown) } }
                            td { (utc(since.unwrap_or_default())) }
                            td { span class="err" { (error.as_deref().unwrap_or("—")) } }
                        }
                    }
                }
            }
            }
        }
    }
}

/// The webhook endpoints: each with its team, events, state and why, deliveries waiting and
/// failed (never its secret or whole address).
pub(super) fn webhooks(hooks: &[crate::store::webhooks::Webhook]) -> Markup {
    use crate::store::webhooks::state_of;
    html! {
        h2 { "Webhooks" }
        @if hooks.is_empty() {
            p class="muted" { "None. Add one with " code { "tidings webhook add URL" } " (see the manual's Chat and webhooks)." }
        } @else {
            p class="muted" { "A paused endpoint gets nothing until " code { "tidings webhook resume ID" } "; "
                code { "tidings webhook test ID" } " sends it a signed ping." }
            div class="scroll" {
            table id="webhooks" {
                thead { tr { th { "Id" } th { "Address" } th { "Team" } th { "Events" } th { "State" } th { "Waiting / failed" } th { "Why" } } }
                tbody {
                    @for h in hooks {
                        tr class=(format!("state-{}", state_of(h))) {
                            td { (h.id) }
                            td { code { (crate::store::webhooks::shown(&h.url)) } }
                            td { (h.team.as_deref().unwrap_or("every team")) }
                            td { (h.events.join(", ")) }
                            td { (state_of(h)) @if let Some(t) = h.paused_at.or(h.failing_since) { " since " (utc(t)) } }
                            td { (h.waiting) " / " (h.failed) }
                            td { span class="err" { (h.pause_reason.as_deref().or(h.last_error.as_deref()).unwrap_or("—")) } }
                        }
                    }
                }
            }
            }
        }
    }
}

/// The chat rooms: team, platform, masked address, time, state and why, posts waiting and
/// failed (never an address whole or a token).
pub(super) fn rooms(rooms: &[crate::store::chat::ChatRoom]) -> Markup {
    html! {
        h2 { "Chat rooms" }
        @if rooms.is_empty() {
            p class="muted" { "None. Post a team's daily summary to a room with " code { "tidings team chat add TEAM KIND URL --at HH:MM --tz ZONE" } "." }
        } @else {
            div class="scroll" {
            table id="chat-rooms" {
                thead { tr { th { "Id" } th { "Team" } th { "Platform" } th { "Address" } th { "Posted at" } th { "State" } th { "Waiting / failed" } th { "Why" } } }
                tbody {
                    @for r in rooms {
                        @let state = r.state();
                        tr class=(format!("state-{state}")) {
                            td { (r.id) } td { (r.team) } td { (r.kind) }
                            td { code { (crate::store::webhooks::shown(&r.url)) } }
                            td { (r.at) " " (r.tz.name()) " on " (r.days) }
                            td { (state) @if let Some(t) = r.paused_at.or(r.failing_since) { " since " (utc(t)) } }
                            td { (r.waiting) " / " (r.failed) }
                            td { span class="err" { (r.pause_reason.as_deref().or(r.last_error.as_deref()).unwrap_or("—")) } }
                        }
                    }
                }
            }
            }
        }
    }
}
