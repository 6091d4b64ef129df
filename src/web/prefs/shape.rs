//! **Your digest** on the preferences page: who the member follows and mutes, only what needs
//! them, quiet days; the same choices as the reply commands and the API
//! ([`crate::jobs::shape`]).

use chrono::{NaiveDate, Utc};
use maud::{Markup, html};

use super::form::{PrefsForm, Rejected};
use super::groups::Groups;
use crate::domain::Member;
use crate::jobs::Ctx;
use crate::jobs::shape::{ShapeSpec, set_spec};

/// What the group shows: the stored choices with teammates by name, and the teammates' names.
pub(super) struct Shown {
    follow: String,
    mute: String,
    needs_only: bool,
    quiet_until: String,
    mates: Vec<String>,
}

/// The member's choices as the page shows them.
pub(super) async fn shown(ctx: &Ctx, m: &Member) -> anyhow::Result<Shown> {
    let mates = crate::jobs::shape::teammates(ctx, m).await?;
    let spec = crate::jobs::shape::spec_from(&m.shape, &mates);
    let names = |emails: &[String]| {
        mates
            .iter()
            .filter(|t| emails.contains(&t.email.to_string()))
            .map(|t| t.name.clone())
            .collect::<Vec<_>>()
            .join(", ")
    };
    Ok(Shown {
        follow: names(&spec.follow),
        mute: names(&spec.mute),
        needs_only: spec.needs_only,
        quiet_until: spec.quiet_until.map(|d| d.to_string()).unwrap_or_default(),
        mates: mates.iter().map(|t| t.name.clone()).collect(),
    })
}

impl Groups<'_> {
    /// The "Your digest" group, with what was typed when a submit of it came back.
    pub(super) fn shape(&self, s: &Shown) -> Markup {
        let typed = self
            .rejected
            .typed
            .filter(|f| f.action.as_deref() == Some("shape"));
        let text = |get: fn(&PrefsForm) -> &Option<String>, stored: &str| {
            typed
                .and_then(|f| get(f).clone())
                .unwrap_or_else(|| stored.to_string())
        };
        let needs_only = typed.map_or(s.needs_only, |f| f.needs_only.is_some());
        html! {
            h2 id="your-digest" { "Your digest" }
            form method="post" action=(self.action) id="shape" {
                input type="hidden" name="csrf" value=(self.csrf);
                @if let Some(e) = self.rejected.for_field("shape") {
                    p class="error field-error" id="shape-error" { (e) }
                }
                div class="field" {
                    label for="follow" { "Follow: their updates first, and whole" }
                    input type="text" id="follow" name="follow" value=(text(|f| &f.follow, &s.follow))
                        size="40" placeholder="names or email addresses, separated by commas";
                }
                div class="field" {
                    label for="mute" { "Mute: their updates in one line with a link (they are not told)" }
                    input type="text" id="mute" name="mute" value=(text(|f| &f.mute, &s.mute))
                        size="40" placeholder="names or email addresses, separated by commas";
                }
                @if !s.mates.is_empty() {
                    p class="muted" { "Your teammates: " (s.mates.join(", ")) "." }
                }
                div class="field" {
                    label class="inline" {
                        input type="checkbox" name="needs_only" checked[needs_only];
                        " Only what needs me: a digest only for a mention, a comment or a blocker I lead"
                    }
                }
                div class="field" {
                    label for="quiet_until" { "No digests until (then one catch-up)" }
                    input type="date" id="quiet_until" name="quiet_until" value=(text(|f| &f.quiet_until, &s.quiet_until));
                }
                button type="submit" name="action" value="shape" { "Save digest choices" }
            }
        }
    }
}

/// Stores the group's choices: `Ok` with the flash code, or the page's refusal.
pub(super) async fn submit(
    ctx: &Ctx,
    m: &Member,
    f: &PrefsForm,
) -> anyhow::Result<Result<&'static str, Rejected<'static>>> {
    let list = |s: &Option<String>| -> Vec<String> {
        s.as_deref()
            .unwrap_or_default()
            .split(',')
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .collect()
    };
    let refuse = |msg: String| Rejected {
        fields: vec![("shape", msg)],
        ..Default::default()
    };
    let quiet = f.quiet_until.as_deref().map(str::trim).unwrap_or_default();
    let quiet_until = if quiet.is_empty() {
        None
    } else {
        match NaiveDate::parse_from_str(quiet, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => return Ok(Err(refuse(format!("{quiet:?} is not a date.")))),
        }
    };
    let spec = ShapeSpec {
        follow: list(&f.follow),
        mute: list(&f.mute),
        needs_only: f.needs_only.is_some(),
        quiet_until,
    };
    Ok(match set_spec(ctx, m, &spec, Utc::now()).await? {
        Ok(_) => Ok("shaped"),
        Err(why) => Err(refuse(format!("{why}."))),
    })
}
