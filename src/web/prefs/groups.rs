//! The groups of the preferences page, each from the member and, after a rejected submit,
//! what was typed and why it was refused: **When** and **What you get** (one form, Save),
//! **Time away** (its own form), **Stop emails**, and the reply commands.

use maud::{Markup, html};

use super::form::{DAYS, PrefsForm, Rejected, day_field};
use crate::domain::Member;

/// What the groups are built from.
pub(super) struct Groups<'a> {
    pub(super) m: &'a Member,
    pub(super) rejected: &'a Rejected<'a>,
    pub(super) csrf: &'a str,
    pub(super) action: &'a str,
}

impl Groups<'_> {
    /// The typed form when it was a Save (the other buttons leave the schedule as stored).
    fn typed_save(&self) -> Option<&PrefsForm> {
        self.rejected
            .typed
            .filter(|f| f.action.as_deref().unwrap_or("save") == "save")
    }

    /// What the person typed in field `get` of a Save that came back, else `stored`.
    fn value(&self, get: impl Fn(&PrefsForm) -> &Option<String>, stored: String) -> String {
        self.typed_save()
            .and_then(|f| get(f).clone())
            .unwrap_or(stored)
    }

    /// A field with a problem: its message beside it, the field marked invalid and described
    /// by it ([`Groups::invalid`], [`Groups::described`]).
    fn problem(&self, id: &'static str) -> Markup {
        html! {
            @if let Some(msg) = self.rejected.for_field(id) {
                p class="error field-error" id=(format!("{id}-error")) { (msg) }
            }
        }
    }

    fn invalid(&self, id: &str) -> Option<&'static str> {
        self.rejected.for_field(id).map(|_| "true")
    }

    fn described(&self, id: &str) -> Option<String> {
        self.rejected.for_field(id).map(|_| format!("{id}-error"))
    }

    /// A time field (`HH:MM`, the member's time) in a `div` of class `class`.
    fn time_field(&self, class: &str, id: &'static str, label: &str, value: String) -> Markup {
        html! {
            div class=(class) {
                label for=(id) { (label) " (HH:MM, your time)" }
                input type="text" id=(id) name=(id) value=(value)
                    inputmode="numeric" size="5" required
                    aria-invalid=[self.invalid(id)] aria-describedby=[self.described(id)];
                (self.problem(id))
            }
        }
    }

    /// A select of `(value, label)` options, `chosen` selected, with its label and problem.
    fn select(
        &self,
        id: &'static str,
        label: &str,
        options: &[(&str, &str)],
        chosen: &str,
    ) -> Markup {
        html! {
            label for=(id) { (label) }
            select id=(id) name=(id) aria-invalid=[self.invalid(id)] aria-describedby=[self.described(id)] {
                @for (v, l) in options {
                    option value=(v) selected[chosen == *v] { (l) }
                }
            }
            (self.problem(id))
        }
    }

    /// The schedule form: When, What you get, and Save.
    pub(super) fn schedule(&self) -> Markup {
        html! {
            form method="post" action=(self.action) id="prefs" {
                input type="hidden" name="csrf" value=(self.csrf);
                (self.when())
                (self.what())
                button type="submit" name="action" value="save" id="save" class="primary" { "Save" }
            }
        }
    }

    fn when(&self) -> Markup {
        let m = self.m;
        let tz = self.value(|f| &f.timezone, m.tz.name().to_string());
        let day_on = |key: &str| match self.typed_save() {
            Some(f) => day_field(f, key).is_some(),
            None => m.workdays.names().contains(&key),
        };
        html! {
            fieldset id="when" {
                legend { "When" }
                label for="timezone" { "Time zone" }
                p.hint id="timezone-hint" { "A zone name such as Europe/Berlin, or a city: Berlin, New York." }
                input type="text" id="timezone" name="timezone" list="zones" value=(tz)
                    size="32" autocomplete="off" required
                    aria-invalid=[self.invalid("timezone")]
                    aria-describedby=(self.described("timezone").unwrap_or_else(|| "timezone-hint".to_string()));
                (self.problem("timezone"))
                datalist id="zones" {
                    @for z in crate::domain::schedule::current_zones() { option value=(z) {} }
                }
                (self.time_field("request-time", "request_at", "Update request at", self.value(|f| &f.request_at, m.request_at.to_string())))
                (self.time_field("digest-time", "digest_at", "Digest at", self.value(|f| &f.digest_at, m.digest_at.to_string())))
                fieldset id="workdays" aria-describedby=[self.described("workdays")] {
                    legend { "Workdays" }
                    @for (key, label) in DAYS {
                        label class="inline" {
                            input type="checkbox" name=(format!("day_{key}")) value="on" checked[day_on(key)];
                            " " (label)
                        }
                    }
                    (self.problem("workdays"))
                }
            }
        }
    }

    fn what(&self) -> Markup {
        let m = self.m;
        let weekly = m
            .cadence
            .weekday()
            .map_or("fri", |d| DAYS[d.num_days_from_monday() as usize].0);
        let weekly_day = self.value(|f| &f.digest_day, weekly.to_string());
        let paused = self.typed_save().map_or(m.paused, |f| f.paused.is_some());
        let delivery = [
            ("digest", "At the top of my next digest"),
            ("immediate", "At once, by email"),
        ];
        html! {
            fieldset id="what" {
                legend { "What you get" }
                (self.select("digest", "Digest", &[
                    ("daily", "Every workday: the new updates"),
                    ("weekly", "Once a week: a summary of the week"),
                    ("off", "Never: I read the team log"),
                ], &self.value(|f| &f.digest, m.cadence.name().to_string())))
                div.weekly-only {
                    label for="digest_day" { "Weekly digest on" }
                    select id="digest_day" name="digest_day" {
                        @for (key, label) in DAYS {
                            option value=(key) selected[weekly_day == key] { (label) }
                        }
                    }
                }
                (self.select("comments", "Comments on your updates", &delivery,
                    &self.value(|f| &f.comments, m.comments.as_str().to_string())))
                (self.select("mentions", "Updates that mention you", &delivery,
                    &self.value(|f| &f.mentions, m.mentions.as_str().to_string())))
                label.inline {
                    input type="checkbox" name="paused" id="paused" value="on" checked[paused];
                    " Pause all requests and digests for now"
                }
            }
        }
    }

    /// The time-away form: add a range, remove one.
    pub(super) fn away(&self) -> Markup {
        let typed = self.rejected.typed;
        let from = typed.and_then(|f| f.away_from.clone()).unwrap_or_default();
        let to = typed.and_then(|f| f.away_to.clone()).unwrap_or_default();
        html! {
            h2 { "Time away" }
            form method="post" action=(self.action) id="away" {
                input type="hidden" name="csrf" value=(self.csrf);
                // The add fields and their button come first: Enter in a date field submits
                // with the form's first button, which must be "Add", never a "remove".
                label class="inline" for="away_from" { "From" }
                input type="date" id="away_from" name="away_from" value=(from)
                    aria-invalid=[self.invalid("away_from")] aria-describedby=[self.described("away_from")];
                label class="inline" for="away_to" { " to " }
                input type="date" id="away_to" name="away_to" value=(to)
                    aria-invalid=[self.invalid("away_to")] aria-describedby=[self.described("away_to")];
                (self.problem("away_from"))
                (self.problem("away_to"))
                br;
                button type="submit" name="action" value="add-away" id="add-away" { "Add time away" }
                @if self.m.away.is_empty() {
                    p class="muted" { "No time away planned." }
                } @else {
                    ul class="away" {
                        @for a in &self.m.away {
                            li {
                                (a.from) " to " (a.to)
                                button type="submit" class="link" name="action"
                                    value=(format!("remove-away:{}..{}", a.from, a.to))
                                    aria-label=(format!("Remove time away {} to {}", a.from, a.to)) { "remove" }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Unsubscribe (a quiet button after the gentler ways), or subscribe again.
    pub(super) fn stop(&self) -> Markup {
        html! {
            h2 { "Stop emails" }
            form method="post" action=(self.action) id="subscription" {
                input type="hidden" name="csrf" value=(self.csrf);
                @if self.m.unsubscribed {
                    p { "You are unsubscribed: Tidings sends you no requests or digests." }
                    button type="submit" name="action" value="resubscribe" class="primary" { "Subscribe again" }
                } @else {
                    p class="muted" { "To stop for a while, pause above or add time away. To stop for good:" }
                    button type="submit" name="action" value="unsubscribe" class="quiet" { "Unsubscribe from all Tidings emails" }
                }
            }
        }
    }
}

/// Every reply command and what it does (`#commands`: the emails link here).
pub(super) fn commands() -> Markup {
    html! {
        h2 id="commands" { "Reply commands" }
        p.muted { "Reply to any Tidings email with one of these alone on the first line:" }
        dl.commands {
            @for (c, what) in crate::domain::command::HELP {
                dt { code { (c) } }
                dd { (what) }
            }
        }
    }
}
