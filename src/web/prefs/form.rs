//! What a submitted preferences form asks for: a [`MemberChange`] and the flash to show, or every
//! problem at once, each with the field it belongs to.

use serde::Deserialize;

use crate::domain::schedule::parse_tz;
use crate::domain::{AwayRange, Cadence, Delivery, LocalTime, Member, Workdays};
use crate::store::MemberChange;

pub(super) const DAYS: [(&str, &str); 7] = [
    ("mon", "Mon"),
    ("tue", "Tue"),
    ("wed", "Wed"),
    ("thu", "Thu"),
    ("fri", "Fri"),
    ("sat", "Sat"),
    ("sun", "Sun"),
];

/// What a rejected form said: one message per field (shown beside it), plus any message for
/// the form as a whole; and what the person typed, shown again instead of the stored values.
#[derive(Debug, Default)]
pub(super) struct Rejected<'a> {
    pub(super) fields: Vec<(&'static str, String)>,
    pub(super) general: Option<String>,
    pub(super) typed: Option<&'a PrefsForm>,
}

impl Rejected<'_> {
    pub(super) fn for_field(&self, id: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(f, _)| *f == id)
            .map(|(_, m)| m.as_str())
    }
}

/// The checkbox field of weekday `key` (`mon`…).
pub(super) fn day_field<'f>(f: &'f PrefsForm, key: &str) -> Option<&'f String> {
    match key {
        "mon" => f.day_mon.as_ref(),
        "tue" => f.day_tue.as_ref(),
        "wed" => f.day_wed.as_ref(),
        "thu" => f.day_thu.as_ref(),
        "fri" => f.day_fri.as_ref(),
        "sat" => f.day_sat.as_ref(),
        "sun" => f.day_sun.as_ref(),
        _ => None,
    }
}

/// Every field of the three forms; each action reads the ones it needs.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct PrefsForm {
    #[schema(value_type = String, required = false)]
    pub(super) csrf: Option<String>,
    #[schema(value_type = String, required = false)]
    pub(super) action: Option<String>,
    #[schema(value_type = String, required = false)]
    pub(super) timezone: Option<String>,
    #[schema(value_type = String, required = false)]
    pub(super) request_at: Option<String>,
    #[schema(value_type = String, required = false)]
    pub(super) digest_at: Option<String>,
    /// `daily`, `weekly` or `off`.
    #[schema(value_type = String, required = false)]
    pub(super) digest: Option<String>,
    /// The weekly digest's day (`mon` … `sun`).
    #[schema(value_type = String, required = false)]
    pub(super) digest_day: Option<String>,
    /// `digest` or `immediate`.
    #[schema(value_type = String, required = false)]
    pub(super) comments: Option<String>,
    /// `digest` or `immediate`.
    #[schema(value_type = String, required = false)]
    pub(super) mentions: Option<String>,
    #[schema(value_type = String, required = false)]
    pub(super) day_mon: Option<String>,
    #[schema(value_type = String, required = false)]
    pub(super) day_tue: Option<String>,
    #[schema(value_type = String, required = false)]
    pub(super) day_wed: Option<String>,
    #[schema(value_type = String, required = false)]
    pub(super) day_thu: Option<String>,
    #[schema(value_type = String, required = false)]
    pub(super) day_fri: Option<String>,
    #[schema(value_type = String, required = false)]
    pub(super) day_sat: Option<String>,
    #[schema(value_type = String, required = false)]
    pub(super) day_sun: Option<String>,
    #[schema(value_type = String, required = false)]
    pub(super) paused: Option<String>,
    #[schema(value_type = String, required = false)]
    pub(super) away_from: Option<String>,
    #[schema(value_type = String, required = false)]
    pub(super) away_to: Option<String>,
    /// Teammates to follow (names or email addresses, separated by commas).
    #[schema(value_type = String, required = false)]
    pub(super) follow: Option<String>,
    /// Teammates to mute (names or email addresses, separated by commas).
    #[schema(value_type = String, required = false)]
    pub(super) mute: Option<String>,
    /// Present (`on`) when only what needs the member should come.
    #[schema(value_type = String, required = false)]
    pub(super) needs_only: Option<String>,
    /// No digests until this local date (`YYYY-MM-DD`; empty: none).
    #[schema(value_type = String, required = false)]
    pub(super) quiet_until: Option<String>,
    /// A private calendar address to add (`https://` or `webcal://`).
    #[schema(value_type = String, required = false)]
    pub(super) calendar_url: Option<String>,
    /// A feed of the member's own activity to add (`https://`).
    #[schema(value_type = String, required = false)]
    pub(super) activity_url: Option<String>,
    /// A repository, project or kind of entry to leave out of the member's drafts.
    #[schema(value_type = String, required = false)]
    pub(super) activity_mute: Option<String>,
}

/// Why an `HH:MM` field is not a time, in words a person can act on.
fn time_problem(v: &str, what: &str) -> Option<String> {
    let v = v.trim();
    if LocalTime::parse(v).is_ok() {
        return None;
    }
    let example = format!("The {what} time must be HH:MM, such as 08:30.");
    let Some((h, m)) = v.split_once(':') else {
        return Some(example);
    };
    match (h.parse::<u32>(), m.parse::<u32>()) {
        (Ok(h), _) if h > 23 => Some(format!(
            "The {what} time {v} does not exist: hours go to 23 (00:00 to 23:59)."
        )),
        (Ok(_), Ok(m)) if m > 59 => Some(format!(
            "The {what} time {v} does not exist: minutes go to 59."
        )),
        _ => Some(example),
    }
}

/// The zone a person meant: an IANA name, else a problem that suggests some (the one
/// suggester of `parse_tz`, shared with the CLI, reply commands and the API).
fn zone_problem(tz: &str) -> Result<chrono_tz::Tz, String> {
    parse_tz(tz).map_err(|e| e.to_string())
}

pub(super) fn form_change(
    f: &PrefsForm,
    m: &Member,
) -> Result<(MemberChange, &'static str), Rejected<'static>> {
    let action = f.action.as_deref().unwrap_or("save");
    let mut ch = MemberChange::default();
    let general = |msg: &str| Rejected {
        general: Some(msg.to_string()),
        ..Default::default()
    };
    if let Some(range) = action.strip_prefix("remove-away:") {
        let away: Vec<AwayRange> = m
            .away
            .iter()
            .filter(|a| format!("{}..{}", a.from, a.to) != range)
            .copied()
            .collect();
        ch.away = Some(away);
        return Ok((ch, "away-removed"));
    }
    match action {
        "save" => {
            // Every problem at once, each beside its field.
            let mut fields = Vec::new();
            match zone_problem(f.timezone.as_deref().unwrap_or_default()) {
                Ok(tz) => ch.tz = Some(tz),
                Err(msg) => fields.push(("timezone", msg)),
            }
            for (id, what, v, slot) in [
                ("request_at", "request", &f.request_at, &mut ch.request_at),
                ("digest_at", "digest", &f.digest_at, &mut ch.digest_at),
            ] {
                let v = v.as_deref().unwrap_or_default();
                match time_problem(v, what) {
                    None => *slot = LocalTime::parse(v.trim()).ok(),
                    Some(msg) => fields.push((id, msg)),
                }
            }
            let days: Vec<&str> = DAYS
                .iter()
                .filter(|(k, _)| day_field(f, k).is_some())
                .map(|(k, _)| *k)
                .collect();
            match Workdays::parse(&days.join(",")) {
                Ok(w) => ch.workdays = Some(w),
                Err(_) => fields.push((
                    "workdays",
                    "Choose at least one workday (or pause instead).".to_string(),
                )),
            }
            // A form from before the digest choice existed keeps the stored one.
            if let Some(c) = f.digest.as_deref() {
                let text = match c {
                    "weekly" => format!("weekly:{}", f.digest_day.as_deref().unwrap_or("fri")),
                    other => other.to_string(),
                };
                match Cadence::parse(&text) {
                    Ok(c) => ch.cadence = Some(c),
                    Err(_) => fields.push((
                        "digest",
                        "Choose every workday, once a week (and its day) or never.".to_string(),
                    )),
                }
            }
            for (id, v, slot) in [
                ("comments", &f.comments, &mut ch.comments),
                ("mentions", &f.mentions, &mut ch.mentions),
            ] {
                if let Some(v) = v {
                    match Delivery::parse(v) {
                        Some(d) => *slot = Some(d),
                        None => fields.push((id, "Choose in your digest or at once.".to_string())),
                    }
                }
            }
            ch.paused = Some(f.paused.is_some());
            if fields.is_empty() {
                Ok((ch, "saved"))
            } else {
                Err(Rejected {
                    fields,
                    ..Default::default()
                })
            }
        }
        "add-away" => {
            let date = |v: &Option<String>, id: &'static str, which: &str| {
                chrono::NaiveDate::parse_from_str(
                    v.as_deref().unwrap_or_default().trim(),
                    "%Y-%m-%d",
                )
                .map_err(|_| (id, format!("Give the {which} day of the time away.")))
            };
            let from = date(&f.away_from, "away_from", "first");
            let to = date(&f.away_to, "away_to", "last");
            let (from, to) = match (from, to) {
                (Ok(a), Ok(b)) => (a, b),
                (a, b) => {
                    return Err(Rejected {
                        fields: [a.err(), b.err()].into_iter().flatten().collect(),
                        ..Default::default()
                    });
                }
            };
            if to < from {
                return Err(Rejected {
                    fields: vec![("away_to", "The time away ends before it starts.".into())],
                    ..Default::default()
                });
            }
            let mut away = m.away.clone();
            away.push(AwayRange { from, to });
            ch.away = Some(away);
            Ok((ch, "away-added"))
        }
        "unsubscribe" => {
            ch.unsubscribed = Some(true);
            Ok((ch, "unsubscribed"))
        }
        "resubscribe" => {
            ch.unsubscribed = Some(false);
            Ok((ch, "resubscribed"))
        }
        _ => Err(general("Unknown action.")),
    }
}
