//! How a reader shapes their own digest, by reply command, page or API: people they follow
//! (first and whole), people they mute (one line each), only what needs them, and quiet days.
//! Stored as JSON in `members.digest_shape`; the default is the digest everyone gets.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::MemberId;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestShape {
    /// Teammates whose updates come first and whole.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub follow: Vec<MemberId>,
    /// Teammates whose updates fold into one line with a link (they are never told; a lead's
    /// escalation of their blocker still comes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mute: Vec<MemberId>,
    /// A digest only when something needs the reader, holding just that.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub needs_only: bool,
    /// No digests from `from` to the day before `until`; the first one after is a catch-up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quiet: Option<Quiet>,
}

/// Quiet days: no digest from `from` up to (not including) `until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quiet {
    pub from: NaiveDate,
    pub until: NaiveDate,
}

impl DigestShape {
    /// The stored JSON read back; anything unreadable is the default (and logged by the caller).
    pub fn from_json(s: &str) -> Result<DigestShape, serde_json::Error> {
        if s.trim().is_empty() {
            return Ok(DigestShape::default());
        }
        serde_json::from_str(s)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    /// No digest on local date `d`.
    pub fn quiet_on(&self, d: NaiveDate) -> bool {
        self.quiet.is_some_and(|q| q.from <= d && d < q.until)
    }

    /// The quiet days as time away for the digest's catch-up rule (their last day included).
    pub fn quiet_range(&self) -> Option<super::AwayRange> {
        let q = self.quiet?;
        Some(super::AwayRange {
            from: q.from,
            to: q.until.pred_opt()?,
        })
        .filter(|r| r.from <= r.to)
    }

    /// Quiet days from local date `today` up to `until`, from `previous` (the reader's shape
    /// before this change): quiet days already begun keep their start, so the catch-up covers
    /// them all. False (nothing set) when `until` is not after `today`.
    pub fn set_quiet(
        &mut self,
        previous: &DigestShape,
        today: NaiveDate,
        until: NaiveDate,
    ) -> bool {
        if until <= today {
            return false;
        }
        let from = previous
            .quiet
            .filter(|q| q.until > today)
            .map_or(today, |q| q.from.min(today));
        self.quiet = Some(Quiet { from, until });
        true
    }

    pub fn follows(&self, id: MemberId) -> bool {
        self.follow.contains(&id)
    }

    pub fn mutes(&self, id: MemberId) -> bool {
        self.mute.contains(&id)
    }

    /// Follows `id` (and no longer mutes them).
    pub fn set_follow(&mut self, id: MemberId) {
        self.mute.retain(|m| *m != id);
        if !self.follow.contains(&id) {
            self.follow.push(id);
        }
    }

    /// Mutes `id` (and no longer follows them).
    pub fn set_mute(&mut self, id: MemberId) {
        self.follow.retain(|m| *m != id);
        if !self.mute.contains(&id) {
            self.mute.push(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap_or_default()
    }

    #[test]
    fn the_default_is_stored_as_an_empty_object_and_reads_back() {
        assert_eq!(DigestShape::default().to_json(), "{}");
        assert_eq!(
            DigestShape::from_json("{}").ok(),
            Some(DigestShape::default())
        );
        assert_eq!(
            DigestShape::from_json("").ok(),
            Some(DigestShape::default())
        );
        let mut s = DigestShape::default();
        s.set_follow(3);
        s.set_mute(4);
        s.set_mute(3);
        s.needs_only = true;
        assert_eq!((s.follow.clone(), s.mute.clone()), (vec![], vec![4, 3]));
        assert_eq!(DigestShape::from_json(&s.to_json()).ok(), Some(s));
    }

    #[test]
    fn quiet_days_end_the_day_before_until_and_read_as_time_away() {
        let s = DigestShape {
            quiet: Some(Quiet {
                from: d("2026-12-07"),
                until: d("2026-12-11"),
            }),
            ..Default::default()
        };
        assert!(!s.quiet_on(d("2026-12-06")));
        assert!(s.quiet_on(d("2026-12-07")) && s.quiet_on(d("2026-12-10")));
        assert!(!s.quiet_on(d("2026-12-11")));
        let r = s.quiet_range().unwrap_or_else(|| panic!("a range"));
        assert_eq!((r.from, r.to), (d("2026-12-07"), d("2026-12-10")));
    }
}
