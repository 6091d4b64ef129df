//! The weekly digest and the catch-up after time away: summaries, not the updates whole. Per
//! team, per person (by the root collation), how many updates and over which days, their
//! "Done" lines first (dated, at most [`Lines::done`]), then their latest "Next" and what
//! still blocks them; then who wrote nothing, and a link to the team log where every update is
//! whole. A catch-up is the shorter of the two: a few lines per person.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use maud::html;

use super::digest::{DigestEntry, DigestView, greeting};
use super::needs::{needs_html, needs_text};
use super::{NL, first_name, footer, page, st, team};
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
    /// Their latest update, whose blocker may be under "Needs you" already.
    latest: i64,
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
                latest: latest.update_id,
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

/// `Core digest · week to Fri 4 Dec: 14 updates from 5 people` or `Core digest · while you
/// were away, Mon 23 Nov – Mon 30 Nov: …`.
pub fn subject(v: &DigestView<'_>) -> String {
    let title = team::title(v.teams, "digest");
    match v.kind {
        DigestKind::CatchUp { from } => format!(
            "{title} · while you were away, {}: {}",
            span(from, v.date),
            counts(v)
        ),
        _ => format!("{title} · week to {}: {}", day(v.date), counts(v)),
    }
}

/// `Core digest · the week` or `Core digest · while you were away`.
fn heading(v: &DigestView<'_>) -> String {
    let title = team::title(v.teams, "digest");
    match v.kind {
        DigestKind::CatchUp { .. } => format!("{title} · while you were away"),
        _ => format!("{title} · the week"),
    }
}

/// What a person's part says of their blocker: its lines, or none when "Needs you" shows it.
fn blocked<'a>(p: &'a Person<'_>, needing: &std::collections::HashSet<i64>) -> &'a [String] {
    if needing.contains(&p.latest) {
        &[]
    } else {
        &p.blockers
    }
}

/// Both parts: `(text, html)`.
pub fn parts(v: &DigestView<'_>) -> (String, String) {
    (text(v), html(v))
}

fn text(v: &DigestView<'_>) -> String {
    let room = lines_of(v.kind);
    let needing = v.needing();
    let names = team::names(v.teams);
    let intro = match (v.kind, names.is_empty()) {
        (DigestKind::CatchUp { .. }, true) => "welcome back. Here is what you missed".to_string(),
        (DigestKind::CatchUp { .. }, false) => {
            format!("welcome back. While you were away, {names} wrote")
        }
        (_, true) => "here is your week".to_string(),
        (_, false) => format!("here is the week in {names}"),
    };
    let mut s = format!(
        "{} {}, {intro} ({}).\n{}.\n\n",
        greeting(v.local_hour),
        first_name(v.reader_name),
        span(from(v), v.date),
        counts(v)
    );
    s.push_str(&needs_text(v));
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
            for l in blocked(&p, &needing).iter().take(room.blockers) {
                s.push_str(&format!("Blocked: {l}\n"));
            }
            if needing.contains(&p.latest) {
                s.push_str("Blocked: see Needs you, above\n");
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
    s.push_str(&footer(v.prefs_url, v.teams));
    s
}

fn html(v: &DigestView<'_>) -> String {
    let room = lines_of(v.kind);
    let log = format!("{}/log", v.prefs_url);
    let needing = v.needing();
    let content = html! {
        h1 style=(st("h1")) { (heading(v)) }
        (NL)
        p.muted style=(st(".muted")) { (span(from(v), v.date)) " · " (counts(v)) }
        (NL)
        (maud::PreEscaped(needs_html(v)))
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
                @for l in blocked(&p, &needing).iter().take(room.blockers) {
                    p.blocker style=(st(".blocker")) { strong { "Blocked: " } (l) }
                    (NL)
                }
                @if needing.contains(&p.latest) {
                    p.blocker style=(st(".blocker")) { strong { "Blocked: " } a href="#needs" style=(st("a")) { "see Needs you, above" } }
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
    page(&subject(v), content, v.prefs_url, v.teams)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::sections::split;
    use crate::render::digest::DigestSection;

    static TEAMS: std::sync::LazyLock<Vec<String>> =
        std::sync::LazyLock::new(|| vec!["Core".to_string()]);

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn entry(id: i64, author: i64, name: &str, date: &str, body: &str) -> DigestEntry {
        DigestEntry {
            checkin: None,
            update_id: id,
            revision: 1,
            author_id: author,
            author: name.into(),
            author_tz: "Europe/Berlin".into(),
            local_date: d(date),
            sections: split(body, &[]).into(),
            edited: false,
            late: false,
            resolved: false,
            resolved_on: None,
            followed: false,
            folded: false,
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
            teams: &TEAMS,
            date: d("2026-12-04"),
            local_hour: Some(8),
            own: None,
            kind: DigestKind::Weekly {
                from: d("2026-11-27"),
            },
            sections: vec![DigestSection {
                team: None,
                entries,
                missing: vec!["Cy".into()],
                scales: vec![],
            }],
            carried: Vec::new(),
            mentions: Vec::new(),
            comments: Vec::new(),
            comment_to: Default::default(),
            prefs_url: "https://t.example/p/abc",
            needs_only: false,
        }
    }

    #[test]
    fn a_weekly_summary_groups_by_person_done_first() {
        let v = week();
        assert_eq!(
            subject(&v),
            "Core digest · week to Fri 4 Dec: 5 updates from 3 people, 1 person blocked"
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
        assert!(h.contains("Core digest &#xB7; the week</h1>"), "{h}");
        assert!(
            t.starts_with("Good morning Ben, here is the week in Core ("),
            "{t}"
        );
        assert!(t.contains("a member of Core on Tidings"), "{t}");
        assert!(h.contains("importer step 2"));
    }

    #[test]
    fn a_catch_up_is_a_few_lines_per_person() {
        let mut v = week();
        v.kind = DigestKind::CatchUp {
            from: d("2026-11-23"),
        };
        assert!(
            subject(&v).starts_with(
                "Core digest · while you were away, Mon 23 Nov – Fri 4 Dec: 5 updates"
            ),
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
