//! The weekly digest and the catch-up after time away: summaries, not the updates whole. Per
//! team, per person (by the root collation), how many updates and over which days, their
//! "Done" lines first (dated, at most [`Lines::done`]), then their latest "Next" and what
//! still blocks them; then who wrote nothing, and a link to the team log where every update is
//! whole. A catch-up is the shorter of the two: a few lines per person.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use maud::html;

use super::digest::{DigestEntry, DigestView, carried_html, carried_text, greeting};
use super::{NL, footer, page, st};
use crate::domain::DigestKind;
use crate::domain::collate;
use crate::domain::sections::{self, Kind, Section};

/// How many lines of each kind a person gets.
#[derive(Debug, Clone, Copy)]
struct Lines {
    done: usize,
    next: usize,
    blockers: usize,
}

/// A week: room for a line a day and then some.
const WEEKLY: Lines = Lines {
    done: 8,
    next: 3,
    blockers: 3,
};
/// After time away: the gist.
const CATCH_UP: Lines = Lines {
    done: 3,
    next: 1,
    blockers: 2,
};

/// A line is cut to this many characters.
const LINE_CHARS: usize = 160;

/// One person's part of a summary.
struct Person<'a> {
    name: &'a str,
    updates: usize,
    first: NaiveDate,
    last: NaiveDate,
    /// (date, line), oldest first, all of them.
    done: Vec<(NaiveDate, String)>,
    /// From their latest update.
    next: Vec<String>,
    blockers: Vec<String>,
}

fn lines_of(kind: DigestKind) -> Lines {
    match kind {
        DigestKind::CatchUp { .. } => CATCH_UP,
        _ => WEEKLY,
    }
}

/// The text of a section's answer, a line per item, bullets and blank lines gone.
fn items(text: &str) -> impl Iterator<Item = String> + '_ {
    text.lines()
        .map(|l| {
            l.trim()
                .trim_start_matches(['-', '*', '•', '+'])
                .trim()
                .to_string()
        })
        .filter(|l| !l.is_empty() && !sections::is_none(l))
}

fn cut(line: &str) -> String {
    if line.chars().count() <= LINE_CHARS {
        return line.to_string();
    }
    let head: String = line.chars().take(LINE_CHARS - 1).collect();
    format!("{}…", head.trim_end())
}

/// What an update did: its "Done" answers, or, when it has none, its untitled text.
fn done_of(s: &[Section]) -> Vec<String> {
    let done: Vec<String> = s
        .iter()
        .filter(|x| x.kind == Kind::Done)
        .flat_map(|x| items(&x.text))
        .collect();
    if !done.is_empty() {
        return done;
    }
    s.iter()
        .filter(|x| x.kind == Kind::Other && x.label.is_none())
        .flat_map(|x| items(&x.text))
        .collect()
}

fn people<'a>(entries: &'a [DigestEntry]) -> Vec<Person<'a>> {
    let mut ids: Vec<i64> = Vec::new();
    for e in entries {
        if !ids.contains(&e.author_id) {
            ids.push(e.author_id);
        }
    }
    let mut out: Vec<Person<'a>> = ids
        .into_iter()
        .filter_map(|id| {
            let mut mine: Vec<&DigestEntry> =
                entries.iter().filter(|e| e.author_id == id).collect();
            mine.sort_by_key(|e| (e.local_date, e.update_id));
            let (first, latest) = (mine.first()?, mine.last()?);
            Some(Person {
                name: &latest.author,
                updates: mine.len(),
                first: first.local_date,
                last: latest.local_date,
                done: mine
                    .iter()
                    .flat_map(|e| {
                        done_of(&e.sections)
                            .into_iter()
                            .map(move |l| (e.local_date, cut(&l)))
                    })
                    .collect(),
                next: latest
                    .sections
                    .iter()
                    .filter(|x| x.kind == Kind::Next)
                    .flat_map(|x| items(&x.text))
                    .map(|l| cut(&l))
                    .collect(),
                blockers: if latest.resolved {
                    Vec::new()
                } else {
                    sections::blocker_lines(&latest.sections)
                }
                .iter()
                .map(|l| cut(l.trim().trim_start_matches(['-', '*', '•']).trim()))
                .collect(),
            })
        })
        .collect();
    out.sort_by(|a, b| collate::names(a.name, b.name));
    out
}

fn day(d: NaiveDate) -> String {
    d.format("%a %-d %b").to_string()
}

fn span(a: NaiveDate, b: NaiveDate) -> String {
    if a == b {
        day(a)
    } else {
        format!("{} – {}", day(a), day(b))
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The people, updates and open blockers of a summary: `14 updates from 5 people, 1 person
/// blocked`.
fn counts(v: &DigestView<'_>) -> String {
    let n = v.entries().count();
    let authors: BTreeSet<i64> = v.entries().map(|e| e.author_id).collect();
    let blocked = v
        .sections
        .iter()
        .flat_map(|s| people(&s.entries))
        .filter(|p| !p.blockers.is_empty())
        .count();
    let mut s = format!(
        "{} from {}",
        plural(n, "update", "updates"),
        plural(authors.len(), "person", "people")
    );
    if blocked > 0 {
        s.push_str(&format!(
            ", {} blocked",
            plural(blocked, "person", "people")
        ));
    }
    s
}

/// The first day the summary covers.
fn from(v: &DigestView<'_>) -> NaiveDate {
    v.kind.from().unwrap_or(v.date)
}

/// `Your week to Fri 4 Dec: 14 updates from 5 people` or `While you were away, Mon 23 Nov –
/// Mon 30 Nov: …`.
pub fn subject(v: &DigestView<'_>) -> String {
    match v.kind {
        DigestKind::CatchUp { from } => {
            format!("While you were away, {}: {}", span(from, v.date), counts(v))
        }
        _ => format!("Your week to {}: {}", day(v.date), counts(v)),
    }
}

fn heading(v: &DigestView<'_>) -> &'static str {
    match v.kind {
        DigestKind::CatchUp { .. } => "While you were away",
        _ => "Your team's week",
    }
}

/// Both parts: `(text, html)`.
pub fn parts(v: &DigestView<'_>) -> (String, String) {
    (text(v), html(v))
}

fn text(v: &DigestView<'_>) -> String {
    let room = lines_of(v.kind);
    let intro = match v.kind {
        DigestKind::CatchUp { .. } => "welcome back. While you were away your team wrote",
        _ => "here is your team's week",
    };
    let mut s = format!(
        "{} {}, {intro} ({}).\n{}.\n\n",
        greeting(v.local_hour),
        v.reader_name,
        span(from(v), v.date),
        counts(v)
    );
    s.push_str(&carried_text(v));
    for sec in &v.sections {
        if let Some(team) = &sec.team {
            s.push_str(&format!("## {team}\n\n"));
        }
        if sec.entries.is_empty() {
            s.push_str("No new updates.\n\n");
        }
        for p in people(&sec.entries) {
            let head = format!(
                "{} — {}, {}",
                p.name,
                plural(p.updates, "update", "updates"),
                span(p.first, p.last)
            );
            s.push_str(&format!(
                "{head}\n{}\n",
                "-".repeat(head.chars().count().min(72))
            ));
            if !p.done.is_empty() {
                s.push_str("Done:\n");
                for (d, l) in p.done.iter().take(room.done) {
                    s.push_str(&format!("  - {}: {l}\n", d.format("%a")));
                }
                if p.done.len() > room.done {
                    s.push_str(&format!(
                        "  … and {} more in the team log\n",
                        p.done.len() - room.done
                    ));
                }
            }
            for l in p.next.iter().take(room.next) {
                s.push_str(&format!("Next: {l}\n"));
            }
            for l in p.blockers.iter().take(room.blockers) {
                s.push_str(&format!("Blocked: {l}\n"));
            }
            s.push('\n');
        }
        if !sec.missing.is_empty() {
            s.push_str(&format!(
                "Nothing written from: {}\n\n",
                sec.missing.join(", ")
            ));
        }
    }
    s.push_str(&format!(
        "Every update whole, day by day: {}/log\n\n-- \n",
        v.prefs_url
    ));
    s.push_str(&footer(v.prefs_url));
    s
}

fn html(v: &DigestView<'_>) -> String {
    let room = lines_of(v.kind);
    let log = format!("{}/log", v.prefs_url);
    let content = html! {
        h1 style=(st("h1")) { (heading(v)) }
        (NL)
        p.muted style=(st(".muted")) { (span(from(v), v.date)) " · " (counts(v)) }
        (NL)
        (maud::PreEscaped(carried_html(v)))
        @for sec in &v.sections {
            @if let Some(team) = &sec.team {
                h2 style=(st("h2")) { (team) }
                (NL)
            }
            @if sec.entries.is_empty() && sec.team.is_some() {
                p.muted style=(st(".muted")) { "No new updates." }
            }
            @for p in people(&sec.entries) {
                h3 style=(st("h3")) { (p.name) }
                (NL)
                p.muted style=(st(".meta")) { (plural(p.updates, "update", "updates")) " · " (span(p.first, p.last)) }
                (NL)
                @if !p.done.is_empty() {
                    p style=(st("p")) { strong { "Done" } }
                    ul {
                        @for (d, l) in p.done.iter().take(room.done) {
                            li { span.muted style=(st(".muted")) { (d.format("%a")) } " " (l) }
                            (NL)
                        }
                        @if p.done.len() > room.done {
                            li { a href=(log) style=(st("a")) { "and " (p.done.len() - room.done) " more in the team log" } }
                        }
                    }
                    (NL)
                }
                @for l in p.next.iter().take(room.next) {
                    p style=(st("p")) { strong { "Next: " } (l) }
                    (NL)
                }
                @for l in p.blockers.iter().take(room.blockers) {
                    p.blocker style=(st(".blocker")) { strong { "Blocked: " } (l) }
                    (NL)
                }
            }
            @if !sec.missing.is_empty() {
                p.muted style=(st(".muted")) { "Nothing written from: " (sec.missing.join(",\n")) }
                (NL)
            }
        }
        p.muted style=(st(".muted")) { a href=(log) { "Read every update whole in the team log" } ", day by day." }
        (NL)
    };
    page(&subject(v), content, v.prefs_url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::sections::split;
    use crate::render::digest::DigestSection;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn entry(id: i64, author: i64, name: &str, date: &str, body: &str) -> DigestEntry {
        DigestEntry {
            update_id: id,
            revision: 1,
            author_id: author,
            author: name.into(),
            author_tz: "Europe/Berlin".into(),
            local_date: d(date),
            sections: split(body, &[]),
            edited: false,
            late: false,
            resolved: false,
        }
    }

    fn week() -> DigestView<'static> {
        let mut entries = vec![];
        for (i, day) in ["2026-11-30", "2026-12-01", "2026-12-02"]
            .iter()
            .enumerate()
        {
            entries.push(entry(
                i as i64 + 1,
                7,
                "Zoë",
                day,
                &format!(
                    "Done:\n- importer step {i}\nNext:\n- step {}\nBlockers: none",
                    i + 1
                ),
            ));
        }
        entries.push(entry(
            9,
            8,
            "Łukasz",
            "2026-12-03",
            "Done: fixed the build\nNext: release\nBlockers: waiting on the DNS change",
        ));
        entries.push(entry(10, 9, "Ann", "2026-12-03", "Just a plain note."));
        DigestView {
            reader_name: "Ben",
            date: d("2026-12-04"),
            local_hour: Some(8),
            kind: DigestKind::Weekly {
                from: d("2026-11-27"),
            },
            sections: vec![DigestSection {
                team: None,
                entries,
                missing: vec!["Cy".into()],
            }],
            carried: Vec::new(),
            mentions: Vec::new(),
            comments: Vec::new(),
            comment_to: Default::default(),
            prefs_url: "https://t.example/p/abc",
        }
    }

    #[test]
    fn a_weekly_summary_groups_by_person_done_first() {
        let v = week();
        assert_eq!(
            subject(&v),
            "Your week to Fri 4 Dec: 5 updates from 3 people, 1 person blocked"
        );
        let (t, h) = parts(&v);
        // By person in collation order (Łukasz with the L names), each once.
        let (a, l, z) = (
            t.find("Ann — 1 update").unwrap(),
            t.find("Łukasz — 1 update").unwrap(),
            t.find("Zoë — 3 updates, Mon 30 Nov – Wed 2 Dec").unwrap(),
        );
        assert!(a < l && l < z, "{t}");
        // Done lines first, dated, all of the week; then only the latest Next.
        let zoe = &t[z..];
        let done = zoe.find("Done:\n  - Mon: importer step 0\n  - Tue: importer step 1\n  - Wed: importer step 2\n").unwrap();
        let next = zoe.find("Next: step 3").unwrap();
        assert!(done < next, "{zoe}");
        assert!(!zoe.contains("Next: step 1"), "{zoe}");
        // "Blockers: none" is no blocker; a real one is shown.
        assert!(t.contains("Blocked: waiting on the DNS change"), "{t}");
        assert_eq!(t.matches("Blocked:").count(), 1, "{t}");
        // Untitled text counts as what was done.
        assert!(t.contains("  - Thu: Just a plain note."), "{t}");
        assert!(t.contains("Nothing written from: Cy"), "{t}");
        assert!(t.contains("https://t.example/p/abc/log"), "{t}");
        assert!(h.contains("Your team's week</h1>"), "{h}");
        assert!(h.contains("importer step 2"));
    }

    #[test]
    fn a_catch_up_is_a_few_lines_per_person() {
        let mut v = week();
        v.kind = DigestKind::CatchUp {
            from: d("2026-11-23"),
        };
        assert!(
            subject(&v).starts_with("While you were away, Mon 23 Nov – Fri 4 Dec: 5 updates"),
            "{}",
            subject(&v)
        );
        let (t, _) = parts(&v);
        assert!(t.contains("welcome back"), "{t}");
        assert!(t.contains("  - Tue: importer step 1\n"), "{t}");
        // Three done lines of Zoë's, then a pointer to the rest.
        assert!(!t.contains("importer step 2\n  -"), "{t}");
        let many = (0..6)
            .map(|i| entry(20 + i, 11, "Dee", "2026-12-01", &format!("Done: task {i}")))
            .collect::<Vec<_>>();
        v.sections[0].entries = many;
        let (t, h) = parts(&v);
        assert!(t.contains("… and 3 more in the team log"), "{t}");
        assert!(h.contains("and 3 more in the team log"), "{h}");
    }
}
