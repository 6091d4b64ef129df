//! A digest's check-ins: the heading where a check-in's entries begin, and the team's
//! aggregate of its scale questions under it.

use super::{DigestEntry, DigestSection};

/// A check-in's scale question as the team answered it: never one person's number, and the
/// average only from [`crate::domain::checkin_answer::MIN_SCALE_ANSWERS`] answers on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ScaleLine {
    pub checkin: String,
    pub question: String,
    pub answers: usize,
    /// The average in tenths (37: 3.7); `None` while fewer people answered than the
    /// aggregate needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean: Option<u16>,
}

impl ScaleLine {
    /// `How was your week? 3.7 of 5 on average, from 4 answers.`
    pub fn sentence(&self) -> String {
        match self.mean {
            Some(m) => format!(
                "{} {}.{} of 5 on average, from {} answers.",
                self.question,
                m / 10,
                m % 10,
                self.answers
            ),
            None => format!(
                "{} The team's average shows from {} answers ({} so far).",
                self.question,
                crate::domain::checkin_answer::MIN_SCALE_ANSWERS,
                self.answers
            ),
        }
    }
}

/// The aggregate lines of check-in `name` in `sec`.
pub(super) fn scales_of<'a>(
    sec: &'a DigestSection,
    name: &'a str,
) -> impl Iterator<Item = &'a ScaleLine> {
    sec.scales.iter().filter(move |l| l.checkin == name)
}

/// The heading above entry `i`: its check-in's name where a check-in's entries begin (the
/// stand-up's come first and have none).
pub(super) fn checkin_heading(entries: &[DigestEntry], i: usize) -> Option<&str> {
    let name = entries.get(i)?.checkin.as_deref()?;
    let before = i.checked_sub(1).and_then(|p| entries[p].checkin.as_deref());
    (before != Some(name)).then_some(name)
}
