//! The draft carried by a member's update request, and their `keep` reply.
//!
//! The request email shows the draft as "From your activity since Mon 30 Nov:" followed by
//! its numbered lines grouped by project ([`groups`]), then "and N more" when [`Draft::more`]
//! is not zero. The member answers on the first line of their reply: `keep` takes every line,
//! `keep 1 3 4` (or `keep 1, 3 and 4`, `keep 2-4`) only those ([`parse_keep`], [`kept`]); the
//! kept lines become their "Done" section ([`done_line`]).

use std::cmp::Reverse;
use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Entry;
use super::noise::{NoiseRules, is_automated, is_muted};

/// One numbered line of a draft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DraftLine {
    /// 1-based, in display order.
    pub n: usize,
    /// The project of the line's group (None for the last group, of entries without one).
    pub project: Option<String>,
    /// The entry's short title.
    pub title: String,
    /// The entry's link.
    pub link: Option<String>,
}

/// A draft: numbered lines grouped by project, and how many entries the cap left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draft {
    /// The lines, numbered 1.. in display order.
    pub lines: Vec<DraftLine>,
    /// Entries left out beyond the cap.
    pub more: usize,
}

/// The number of lines a draft shows (the rest are counted in [`Draft::more`]).
pub const DRAFT_LINES: usize = 12;

/// The longest range `keep 2-40` may name; longer ones are not a `keep` reply.
const MAX_RANGE: usize = 1000;

/// The draft from `entries` (possibly from several feeds, possibly overlapping): those with
/// `at >= since` (entries with no date are left out), not automated, not muted, deduplicated
/// (same key, or same link, or same title+project — keep the newest), grouped by project
/// (groups ordered by their newest entry, newest first; entries with no project form a last
/// group), newest first within a group, numbered 1.. in that order, at most `max` lines;
/// `more` counts the rest.
///
/// Projects are grouped case-insensitively ("Tidings/Docs" and "tidings/docs" are one group,
/// shown as its newest entry spells it). Entries with the same time keep their input order.
pub fn draft(
    entries: &[Entry],
    since: DateTime<Utc>,
    mutes: &[String],
    rules: &NoiseRules,
    max: usize,
) -> Draft {
    let mut fresh: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.at.is_some_and(|at| at >= since))
        .filter(|e| !is_automated(e, rules) && !is_muted(e, mutes))
        .collect();
    fresh.sort_by_key(|e| Reverse(e.at));
    let unique = dedup(fresh);

    // Groups in order of their newest entry; the group without a project last.
    let mut groups: Vec<(Option<String>, Vec<&Entry>)> = Vec::new();
    let mut loose: Vec<&Entry> = Vec::new();
    for e in unique {
        let Some(project) = e
            .project
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
        else {
            loose.push(e);
            continue;
        };
        match groups.iter_mut().find(|(p, _)| {
            p.as_deref()
                .is_some_and(|p| p.eq_ignore_ascii_case(project))
        }) {
            Some((_, members)) => members.push(e),
            None => groups.push((Some(project.to_string()), vec![e])),
        }
    }
    if !loose.is_empty() {
        groups.push((None, loose));
    }

    let total: usize = groups.iter().map(|(_, members)| members.len()).sum();
    let lines = groups
        .into_iter()
        .flat_map(|(project, members)| members.into_iter().map(move |e| (project.clone(), e)))
        .take(max)
        .enumerate()
        .map(|(i, (project, e))| DraftLine {
            n: i + 1,
            project,
            title: e.title.clone(),
            link: e.link.clone(),
        })
        .collect::<Vec<_>>();
    Draft {
        more: total - lines.len(),
        lines,
    }
}

/// `sorted` (newest first) without repeats: an entry is dropped when a newer one has the same
/// key, the same link, or the same title and project.
fn dedup(sorted: Vec<&Entry>) -> Vec<&Entry> {
    let mut keys = HashSet::new();
    let mut links = HashSet::new();
    let mut titles = HashSet::new();
    sorted
        .into_iter()
        .filter(|e| {
            let title = (
                e.title.to_lowercase(),
                e.project.as_deref().map(str::to_lowercase),
            );
            let seen = keys.contains(e.key.as_str())
                || e.link.as_deref().is_some_and(|l| links.contains(l))
                || titles.contains(&title);
            keys.insert(e.key.as_str());
            if let Some(l) = e.link.as_deref() {
                links.insert(l);
            }
            titles.insert(title);
            !seen
        })
        .collect()
}

/// Draft lines grouped for display: (project, lines) in order.
pub fn groups(d: &Draft) -> Vec<(Option<&str>, Vec<&DraftLine>)> {
    let mut out: Vec<(Option<&str>, Vec<&DraftLine>)> = Vec::new();
    for line in &d.lines {
        let project = line.project.as_deref();
        match out.last_mut() {
            Some((p, lines)) if *p == project => lines.push(line),
            _ => out.push((project, vec![line])),
        }
    }
    out
}

/// What a `keep` reply picks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keep {
    /// `keep` (or `keep all`): every line of the draft.
    All,
    /// `keep 1 3 4`: these line numbers, ascending, without repeats.
    Lines(Vec<usize>),
}

/// `keep` / `keep 1 3 4` / `keep 1, 3 and 4`/ `Keep.` on a reply's first line
/// (case-insensitive, surrounding whitespace and a trailing '.' or '!' allowed). None when
/// the line is anything else (e.g. "keeping the build green" or "keep going on X" must be
/// None).
///
/// Also read: `keep all`, `keep: 1 3`, ranges `keep 2-4` (at most 1000 lines long), and
/// numbers separated by spaces, commas, "and" or "&". Any other word makes the line not a
/// `keep` reply.
pub fn parse_keep(first_line: &str) -> Option<Keep> {
    let line = first_line.trim().trim_end_matches(['.', '!']).trim_end();
    let head = line.get(..4).filter(|h| h.eq_ignore_ascii_case("keep"))?;
    let rest = &line[head.len()..];
    if !(rest.is_empty() || rest.starts_with(|c: char| c.is_whitespace() || c == ',' || c == ':')) {
        return None;
    }
    let words: Vec<String> = rest
        .split(|c: char| c.is_whitespace() || c == ',' || c == ':')
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    if words.is_empty() || words == ["all"] {
        return Some(Keep::All);
    }
    let mut numbers = Vec::new();
    for w in &words {
        match w.as_str() {
            "and" | "&" => {}
            _ => numbers.extend(numbers_of(w)?),
        }
    }
    if numbers.is_empty() {
        return None;
    }
    numbers.sort_unstable();
    numbers.dedup();
    Some(Keep::Lines(numbers))
}

/// The numbers of one word: "3" or "2-4".
fn numbers_of(word: &str) -> Option<Vec<usize>> {
    let number = |s: &str| {
        (!s.is_empty() && s.chars().all(|c| c.is_ascii_digit()))
            .then(|| s.parse::<usize>().ok())
            .flatten()
    };
    match word.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (number(a)?, number(b)?);
            (a <= b && b - a < MAX_RANGE).then(|| (a..=b).collect())
        }
        None => number(word).map(|n| vec![n]),
    }
}

/// The lines `keep` picks from `d`, in draft order; Err naming the numbers that are not in
/// the draft ("there is no line 9: the draft has 5").
pub fn kept<'a>(d: &'a Draft, k: &Keep) -> Result<Vec<&'a DraftLine>, String> {
    let wanted = match k {
        Keep::All => return Ok(d.lines.iter().collect()),
        Keep::Lines(numbers) => numbers,
    };
    let mut missing: Vec<usize> = wanted
        .iter()
        .copied()
        .filter(|n| !d.lines.iter().any(|l| l.n == *n))
        .collect();
    missing.sort_unstable();
    missing.dedup();
    if !missing.is_empty() {
        let has = match d.lines.len() {
            0 => "the draft is empty".to_string(),
            n => format!("the draft has {n}"),
        };
        let names = missing.iter().map(usize::to_string).collect::<Vec<_>>();
        return Err(match names.split_last() {
            Some((last, [])) => format!("there is no line {last}: {has}"),
            Some((last, others)) => {
                format!("there are no lines {} and {last}: {has}", others.join(", "))
            }
            None => has,
        });
    }
    Ok(d.lines.iter().filter(|l| wanted.contains(&l.n)).collect())
}

/// A kept line as stored in the update's Done section: "title <link>" (or "project: title
/// <link>" when the title does not already name the project; just the title when no link).
///
/// Without a link the project prefix still applies ("tidings/docs: Reviewed the guide").
pub fn done_line(l: &DraftLine) -> String {
    let project = l
        .project
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty() && !l.title.to_lowercase().contains(&p.to_lowercase()));
    let mut out = match project {
        Some(p) => format!("{p}: {}", l.title),
        None => l.title.clone(),
    };
    if let Some(link) = l.link.as_deref().filter(|l| !l.is_empty()) {
        out.push_str(&format!(" <{link}>"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(n: usize, project: Option<&str>, title: &str, link: Option<&str>) -> DraftLine {
        DraftLine {
            n,
            project: project.map(str::to_string),
            title: title.to_string(),
            link: link.map(str::to_string),
        }
    }

    fn five() -> Draft {
        let lines = (1..=5)
            .map(|n| line(n, Some("o/r"), &format!("t{n}"), None))
            .collect();
        Draft { lines, more: 0 }
    }

    #[test]
    fn keep_replies() {
        let lines = |v: &[usize]| Some(Keep::Lines(v.to_vec()));
        let cases: &[(&str, Option<Keep>)] = &[
            ("keep", Some(Keep::All)),
            ("Keep.", Some(Keep::All)),
            ("  KEEP!  ", Some(Keep::All)),
            ("keep all", Some(Keep::All)),
            ("keep 1 3 4", lines(&[1, 3, 4])),
            ("keep 1, 3 and 4", lines(&[1, 3, 4])),
            ("Keep 4 1 3.", lines(&[1, 3, 4])),
            ("keep: 2,5", lines(&[2, 5])),
            ("keep 2-4 & 7", lines(&[2, 3, 4, 7])),
            ("keep 3 3", lines(&[3])),
            ("keeping the build green", None),
            ("keep going on X", None),
            ("keep 1 and the rest", None),
            ("keep and", None),
            ("keep 1.5", None),
            ("keep 4-2", None),
            ("keep 1-100000", None),
            ("I'd keep 1", None),
            ("kee", None),
            ("", None),
            ("keep 99999999999999999999999", None),
            ("keepé", None),
        ];
        for (input, want) in cases {
            assert_eq!(&parse_keep(input), want, "{input:?}");
        }
    }

    #[test]
    fn kept_lines_and_errors() {
        let d = five();
        let got =
            kept(&d, &Keep::Lines(vec![4, 2])).map(|v| v.iter().map(|l| l.n).collect::<Vec<_>>());
        assert_eq!(got, Ok(vec![2, 4]));
        assert_eq!(kept(&d, &Keep::All).map(|v| v.len()), Ok(5));
        assert_eq!(
            kept(&d, &Keep::Lines(vec![9])),
            Err("there is no line 9: the draft has 5".to_string())
        );
        assert_eq!(
            kept(&d, &Keep::Lines(vec![0, 2, 9, 7])),
            Err("there are no lines 0, 7 and 9: the draft has 5".to_string())
        );
        let empty = Draft {
            lines: vec![],
            more: 0,
        };
        assert_eq!(
            kept(&empty, &Keep::Lines(vec![1])),
            Err("there is no line 1: the draft is empty".to_string())
        );
        assert_eq!(kept(&empty, &Keep::All), Ok(vec![]));
    }

    #[test]
    fn done_lines() {
        let l = line(
            1,
            Some("tidings/tidings"),
            "pushed to main",
            Some("https://x/c"),
        );
        assert_eq!(
            done_line(&l),
            "tidings/tidings: pushed to main <https://x/c>"
        );
        let l = line(
            1,
            Some("feed-rs/feed-rs"),
            "starred feed-rs/feed-rs",
            Some("https://x"),
        );
        assert_eq!(done_line(&l), "starred feed-rs/feed-rs <https://x>");
        let l = line(
            1,
            Some("TID"),
            "created TID-41: Stream the outbox",
            Some("https://j/TID-41"),
        );
        assert_eq!(
            done_line(&l),
            "created TID-41: Stream the outbox <https://j/TID-41>"
        );
        let l = line(1, None, "Paired with Bea", None);
        assert_eq!(done_line(&l), "Paired with Bea");
        let l = line(1, Some("tidings/docs"), "Reviewed the guide", None);
        assert_eq!(done_line(&l), "tidings/docs: Reviewed the guide");
    }

    #[test]
    fn groups_are_runs_of_one_project() {
        let d = Draft {
            lines: vec![
                line(1, Some("a/b"), "x", None),
                line(2, Some("a/b"), "y", None),
                line(3, Some("c/d"), "z", None),
                line(4, None, "w", None),
            ],
            more: 0,
        };
        let g = groups(&d);
        let shape: Vec<(Option<&str>, Vec<usize>)> = g
            .iter()
            .map(|(p, ls)| (*p, ls.iter().map(|l| l.n).collect()))
            .collect();
        assert_eq!(
            shape,
            vec![
                (Some("a/b"), vec![1, 2]),
                (Some("c/d"), vec![3]),
                (None, vec![4])
            ]
        );
        assert!(
            groups(&Draft {
                lines: vec![],
                more: 0
            })
            .is_empty()
        );
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("test time")
            .with_timezone(&Utc)
    }

    /// An entry for the cap test: `minute` orders them.
    fn synthetic(project: Option<&str>, minute: u32) -> Entry {
        let when = at("2026-12-01T08:00:00Z") + chrono::Duration::minutes(i64::from(minute));
        Entry {
            key: format!("e{minute}"),
            title: format!("did thing {minute}"),
            link: Some(format!("https://example.org/{minute}")),
            project: project.map(str::to_string),
            kind: None,
            author: Some("Ana Lima".to_string()),
            at: Some(when),
        }
    }

    #[test]
    fn twelve_lines_then_more() {
        let mut es: Vec<Entry> = (0..6).map(|m| synthetic(Some("a/one"), m)).collect();
        es.extend((10..16).map(|m| synthetic(Some("b/two"), m)));
        es.extend((20..23).map(|m| synthetic(None, m)));
        es.push(synthetic(Some("B/Two"), 30));
        let d = draft(
            &es,
            at("2026-12-01T00:00:00Z"),
            &[],
            &NoiseRules::defaults(),
            DRAFT_LINES,
        );
        assert_eq!(d.lines.len(), DRAFT_LINES);
        assert_eq!(d.more, 4);
        assert_eq!(
            d.lines.iter().map(|l| l.n).collect::<Vec<_>>(),
            (1..=12).collect::<Vec<_>>()
        );
        let shown: Vec<(Option<&str>, usize)> =
            groups(&d).iter().map(|(p, ls)| (*p, ls.len())).collect();
        assert_eq!(
            shown,
            vec![(Some("B/Two"), 7), (Some("a/one"), 5)],
            "case-insensitive group, newest first"
        );
        assert_eq!(d.lines[0].title, "did thing 30");
        assert_eq!(d.lines[1].title, "did thing 15");
        assert_eq!(
            kept(&d, &Keep::Lines(vec![13])),
            Err("there is no line 13: the draft has 12".to_string())
        );

        let none = draft(
            &es,
            at("2026-12-01T00:00:00Z"),
            &[],
            &NoiseRules::defaults(),
            0,
        );
        assert_eq!((none.lines.len(), none.more), (0, 16));
        let late = draft(
            &es,
            at("2026-12-02T00:00:00Z"),
            &[],
            &NoiseRules::defaults(),
            DRAFT_LINES,
        );
        assert_eq!(
            late,
            Draft {
                lines: vec![],
                more: 0
            }
        );
    }
}
