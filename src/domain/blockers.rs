//! Blockers carried until resolved: from a member's updates in date order, the blocker still
//! open, since when, and for how many of their workdays. Pure logic; the store reads the
//! updates that have a blockers section, the digest carries what this returns.
//!
//! The rule (the manual, docs/src/member/sections.md, "Blockers carried until resolved"):
//! * an update with a blocker (a blockers section that is not "none") opens one, or, while one
//!   is open, becomes its latest word (its lines replace the old ones; "since" stays);
//! * an update whose blockers section says there is none — "none", "no blockers", "resolved",
//!   "unblocked", "no longer blocked", … — closes it;
//! * an update without a blockers section changes nothing: the blocker is carried;
//! * `resolved` (a reply command, the button on the blockers page, or the API) closes the open
//!   blocker at once: it marks the update that carries it, which then counts as closing.

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use super::Workdays;
use super::sections::{self, Section};

/// One update as the rule reads it.
#[derive(Debug, Clone)]
pub struct BlockerUpdate {
    pub update_id: i64,
    pub local_date: NaiveDate,
    pub sections: Vec<Section>,
    /// Marked resolved (`resolved` command, page button, API).
    pub resolved: bool,
}

/// A member's open blocker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenBlocker {
    /// The first update of the run that opened it.
    pub since: NaiveDate,
    /// The latest update that carries it (what `resolved` marks).
    pub update_id: i64,
    /// Its lines, as that update wrote them.
    pub lines: Vec<String>,
}

/// The blocker open after `updates` (oldest first), if any.
pub fn open_blocker(updates: &[BlockerUpdate]) -> Option<OpenBlocker> {
    let mut open: Option<OpenBlocker> = None;
    for u in updates {
        let has_section = u
            .sections
            .iter()
            .any(|s| s.kind == sections::Kind::Blockers);
        let lines = sections::blocker_lines(&u.sections);
        if !lines.is_empty() {
            open = Some(OpenBlocker {
                since: open.as_ref().map_or(u.local_date, |o| o.since),
                update_id: u.update_id,
                lines,
            });
        } else if has_section {
            open = None;
        }
        if u.resolved && open.as_ref().is_some_and(|o| o.update_id == u.update_id) {
            open = None;
        }
    }
    open
}

/// How long a blocker open since `since` has been open at instant `at`, counted on its
/// author's calendar (their zone `tz` and `workdays`): their workdays from `since` to their own
/// local date at `at` ([`workdays_open`]). Both ends are the author's dates, so every reader
/// at the same instant reads the same number — the blockers page, a digest in any zone, a
/// lead's "Needs you". The one way Tidings counts a blocker's age.
pub fn open_workdays(
    since: NaiveDate,
    tz: chrono_tz::Tz,
    workdays: Workdays,
    at: DateTime<Utc>,
) -> u32 {
    workdays_open(since, at.with_timezone(&tz).date_naive(), workdays)
}

/// The workdays from `since` to `today`, `since` not counted: 0 on the day it was written,
/// 1 the next workday, and so on (days not in `workdays` are not counted).
pub fn workdays_open(since: NaiveDate, today: NaiveDate, workdays: Workdays) -> u32 {
    let mut n = 0;
    let mut d = since;
    // At most a year: older blockers count as a year's workdays.
    for _ in 0..366 {
        if d >= today {
            break;
        }
        d = match d.succ_opt() {
            Some(x) => x,
            None => break,
        };
        if workdays.contains(d.weekday()) {
            n += 1;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn up(id: i64, date: &str, body: &str) -> BlockerUpdate {
        BlockerUpdate {
            update_id: id,
            local_date: d(date),
            sections: sections::split(body, &[]),
            resolved: false,
        }
    }

    #[test]
    fn a_blocker_is_carried_until_an_update_or_resolved_closes_it() {
        let mon = up(1, "2026-11-30", "Done: x\nBlockers: waiting on SRE");
        let tue = up(2, "2026-12-01", "Done: y\nNext: z");
        let open = open_blocker(&[mon.clone(), tue.clone()]).unwrap();
        assert_eq!(
            (open.since, open.update_id, open.lines.clone()),
            (d("2026-11-30"), 1, vec!["waiting on SRE".to_string()])
        );
        // A new blocker while one is open: the latest word, the same "since".
        let wed = up(
            3,
            "2026-12-02",
            "Blockers: still waiting on SRE, pinged them",
        );
        let open = open_blocker(&[mon.clone(), tue.clone(), wed.clone()]).unwrap();
        assert_eq!((open.since, open.update_id), (d("2026-11-30"), 3));
        // "none", "resolved", "unblocked" close it.
        for closing in [
            "Blockers: none",
            "Blockers: resolved",
            "Blockers: unblocked",
        ] {
            let thu = up(4, "2026-12-03", closing);
            assert_eq!(
                open_blocker(&[mon.clone(), wed.clone(), thu]),
                None,
                "{closing}"
            );
        }
        // The `resolved` mark on the update that carries it.
        let mut marked = wed.clone();
        marked.resolved = true;
        assert_eq!(open_blocker(&[mon.clone(), marked.clone()]), None);
        // A mark on an older update does not close a newer blocker.
        let mut old = mon.clone();
        old.resolved = true;
        assert_eq!(
            open_blocker(&[old, wed.clone()]).unwrap().since,
            d("2026-12-02")
        );
        // After resolving, a new blocker opens a new run.
        let fri = up(5, "2026-12-04", "Blockers: the build is red");
        assert_eq!(
            open_blocker(&[mon, marked, fri]).unwrap().since,
            d("2026-12-04")
        );
    }

    #[test]
    fn open_for_workdays_not_days() {
        let wd = Workdays::default();
        assert_eq!(workdays_open(d("2026-11-30"), d("2026-11-30"), wd), 0);
        assert_eq!(workdays_open(d("2026-11-30"), d("2026-12-02"), wd), 2);
        // Friday to Monday: one workday.
        assert_eq!(workdays_open(d("2026-12-04"), d("2026-12-07"), wd), 1);
    }

    #[test]
    fn a_blockers_age_is_counted_on_its_authors_calendar_whoever_reads() {
        let wd = Workdays::default();
        let la: chrono_tz::Tz = "America/Los_Angeles".parse().unwrap();
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        // Written Monday 30 Nov in Los Angeles. Wednesday 08:30 in Berlin is still Tuesday
        // evening there: one workday, not the two a Berlin calendar would count.
        let since = d("2026-11-30");
        assert_eq!(open_workdays(since, la, wd, at("2026-12-02T07:30:00Z")), 1);
        // The same instant gives the same number to the page and to any digest.
        assert_eq!(
            open_workdays(since, la, wd, at("2026-12-02T07:30:00Z")),
            workdays_open(since, d("2026-12-01"), wd)
        );
        // Wednesday in Los Angeles: two.
        assert_eq!(open_workdays(since, la, wd, at("2026-12-02T17:00:00Z")), 2);
    }
}
