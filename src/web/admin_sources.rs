//! The admin page's sections of fetched addresses (calendars, activity feeds): counts by
//! state and each address that cannot be read, shown as its host and last characters only.

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
