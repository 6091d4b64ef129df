//! One update as a digest shows it: its sections (a heading each: `Done`, `Next`, `Blockers`,
//! a team's own question), at most [`ENTRY_LINES`] lines and [`ENTRY_CHARS`] characters of
//! text, then how much more there is and a link to read the rest. A day's update may hold
//! 16 KB; every reader's digest carries only its first lines.

use maud::{Markup, html};

use super::NL;
use crate::domain::sections::{self, Section};

/// The most lines of one update a digest shows (headings not counted).
pub const ENTRY_LINES: usize = 12;
/// The most characters of one update a digest shows.
pub const ENTRY_CHARS: usize = 1200;

/// How much of each update a digest shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub lines: usize,
    pub chars: usize,
}

impl Budget {
    /// A digest's usual room per update.
    pub const FULL: Budget = Budget {
        lines: ENTRY_LINES,
        chars: ENTRY_CHARS,
    };
    /// A condensed digest (one that would pass Gmail's clipping size whole): the first lines.
    pub const CONDENSED: Budget = Budget {
        lines: 3,
        chars: 300,
    };
}

/// A section as shown: its heading and the lines of its answer that fit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub heading: Option<String>,
    pub lines: Vec<String>,
    /// A blockers section (struck through once the blocker is resolved).
    pub blocker: bool,
}

/// An update as shown: the parts that fit and how many lines were left out (a line cut short
/// counts as left out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    pub parts: Vec<Part>,
    pub hidden_lines: usize,
}

impl Shown {
    pub fn is_cut(&self) -> bool {
        self.hidden_lines > 0
    }
}

/// The first lines of `sections` within the usual budget.
pub fn shown(sections: &[Section]) -> Shown {
    shown_within(sections, Budget::FULL)
}

/// How much of one section fits: its first `whole` lines, then maybe one line cut short.
#[derive(Debug, Clone, Default)]
struct Allot {
    whole: usize,
    cut: Option<String>,
}

/// Which sections get room first: blockers, then the others, "Done" last — so a long list of
/// what was done is what a cut shortens, never the one line saying what blocks.
fn rank(kind: sections::Kind) -> u8 {
    match kind {
        sections::Kind::Blockers => 0,
        sections::Kind::Done => 2,
        _ => 1,
    }
}

/// The room of each section of `sections` within `budget`, given in [`rank`] order. Once a
/// line does not fit, the sections not yet given room get none.
fn allot(sections: &[Section], budget: Budget) -> Vec<Allot> {
    let mut out = vec![Allot::default(); sections.len()];
    let mut order: Vec<usize> = (0..sections.len()).collect();
    order.sort_by_key(|&i| rank(sections[i].kind));
    let (mut lines, mut chars) = (0usize, 0usize);
    for i in order {
        for l in sections[i].text.lines() {
            let len = l.chars().count();
            if lines < budget.lines && chars + len <= budget.chars {
                out[i].whole += 1;
                lines += 1;
                chars += len;
                continue;
            }
            // Out of room: show what fits of this line when that is worth it.
            let room = budget.chars.saturating_sub(chars);
            if lines < budget.lines && room >= 40 {
                out[i].cut = Some(cut(l, room));
            }
            return out;
        }
    }
    out
}

fn non_blank(lines: &[&str]) -> usize {
    lines.iter().filter(|l| !l.trim().is_empty()).count()
}

/// The first lines of `sections` within `budget`, in their order, the room given blockers
/// first and "Done" last ([`rank`]). A line that does not fit in the characters left is cut
/// at a space (or whole, if it has none in reach) and ends with "…". A section none of whose
/// answer fits is left out whole: never a heading without its answer.
pub fn shown_within(sections: &[Section], budget: Budget) -> Shown {
    let mut parts = Vec::new();
    let mut hidden = 0usize;
    for (s, a) in sections.iter().zip(allot(sections, budget)) {
        let text_lines: Vec<&str> = s.text.lines().collect();
        let left = non_blank(&text_lines[a.whole..]);
        let mut lines: Vec<String> = text_lines[..a.whole]
            .iter()
            .map(|l| (*l).to_string())
            .collect();
        lines.extend(a.cut);
        let shows = lines.iter().any(|l| !l.trim().is_empty());
        if !shows && !text_lines.is_empty() {
            hidden += left.max(1);
            continue;
        }
        hidden += left;
        parts.push(Part {
            heading: s.heading().map(str::to_string),
            lines,
            blocker: s.kind == sections::Kind::Blockers,
        });
    }
    Shown {
        parts,
        hidden_lines: hidden,
    }
}

/// The start of `line`, at most `room` characters, ending at a space, with "…".
fn cut(line: &str, room: usize) -> String {
    let head: String = line.chars().take(room.saturating_sub(1)).collect();
    let head = match head.rfind(' ') {
        Some(i) if i > head.len() / 2 => &head[..i],
        _ => head.as_str(),
    };
    format!("{}…", head.trim_end())
}

fn inline(p: &Part) -> bool {
    p.lines.len() == 1
        && p.heading
            .as_deref()
            .is_some_and(|h| !h.ends_with(['?', '？', ':']))
}

/// The entry in the text part: each section as [`sections::part_text`] writes it, a blank line
/// between them, the blockers sections marked `(resolved Wed 2 Dec)` when `resolved` says so;
/// then "N more lines" and the link.
pub fn text(s: &Shown, read_url: &str, resolved: Option<&str>) -> String {
    let mut out = s
        .parts
        .iter()
        .map(|p| {
            let mut lines: Vec<String> = p.lines.clone();
            if let (true, Some(mark), Some(last)) = (p.blocker, resolved, lines.last_mut()) {
                last.push_str(&format!(" ({mark})"));
            }
            let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
            sections::part_text(p.heading.as_deref(), &lines)
        })
        .collect::<Vec<_>>()
        .join("\n\n");
    out.push('\n');
    if s.is_cut() {
        if read_url.is_empty() {
            out.push_str(&format!("\n({})\n", more(s)));
        } else {
            out.push_str(&format!("\n{}: read the rest at {read_url}\n", more(s)));
        }
    }
    out
}

fn more(s: &Shown) -> String {
    match s.hidden_lines {
        1 => "1 more line".to_string(),
        n => format!("{n} more lines"),
    }
}

/// The entry in the HTML part: each heading bold, lines with `<br>` (member text escaped by
/// maud), the lines of the blockers sections struck through (`<s>`) when `resolved`; then
/// "N more lines" as a link (without one when `read_url` is empty).
pub fn html(s: &Shown, read_url: &str, resolved: bool) -> Markup {
    html! {
        @for p in &s.parts {
            // No inline style: these repeat for every answer of every update, and the
            // `<style>` block's `p` rule (margin, wrapping long words) is read by the clients
            // that matter; without it a paragraph's default margin is fine.
            p {
                @if let Some(h) = &p.heading {
                    strong { (h) @if !h.ends_with(['?', '？', ':']) { ":" } }
                    @if inline(p) { " " } @else if !p.lines.is_empty() { br; }
                }
                @for (i, line) in p.lines.iter().enumerate() {
                    @if i > 0 { br; (NL) }
                    @if resolved && p.blocker { s { (line) } } @else { (super::linked(line)) }
                }
            }
            (NL)
        }
        @if s.is_cut() && read_url.is_empty() {
            p.muted { (more(s)) }
            (NL)
        } @else if s.is_cut() {
            p.muted { (more(s)) ": " a href=(read_url) { "read the rest" } }
            (NL)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::sections::split;

    #[test]
    fn a_short_update_is_shown_whole_by_section() {
        let s = shown(&split(
            "What did you get done?\nShipped the importer.\nWhat's next?\nReview PR #42.\nAnything blocking you?\nWaiting on staging credentials.",
            &[],
        ));
        assert!(!s.is_cut());
        assert_eq!(
            text(&s, "u", None),
            "Done: Shipped the importer.\n\nNext: Review PR #42.\n\nBlockers: Waiting on staging credentials.\n"
        );
        let h = html(&s, "u", false).into_string();
        assert!(h.contains("<strong>Blockers:</strong> Waiting on staging credentials."));
    }

    #[test]
    fn a_long_update_shows_its_first_lines_and_links_to_the_rest() {
        let body: String = (1..=40).map(|i| format!("- item {i}\n")).collect();
        let s = shown(&split(&format!("Done:\n{body}Next: more"), &[]));
        let shown_lines: usize = s.parts.iter().map(|p| p.lines.len()).sum();
        assert_eq!(shown_lines, ENTRY_LINES);
        // The Next line is kept; 29 done items are left out.
        assert_eq!(s.hidden_lines, 29);
        let t = text(&s, "http://127.0.0.1/p/t/updates/7", None);
        assert!(t.contains("- item 11\n") && !t.contains("item 12"), "{t}");
        assert!(t.contains("Next: more"), "{t}");
        assert!(t.ends_with("29 more lines: read the rest at http://127.0.0.1/p/t/updates/7\n"));
        let h = html(&s, "http://127.0.0.1/p/t/updates/7", false).into_string();
        assert!(h.contains(r#"href="http://127.0.0.1/p/t/updates/7""#));
    }

    #[test]
    fn a_cut_shortens_done_and_never_leaves_a_heading_without_its_answer() {
        let done: String = (1..=20).map(|i| format!("- item {i}\n")).collect();
        let s = shown(&split(
            &format!("Done:\n{done}Next:\n- ship\nBlockers: none"),
            &[],
        ));
        let t = text(&s, "u", None);
        assert!(
            t.contains("Next: - ship") || t.contains("Next:\n- ship"),
            "{t}"
        );
        assert!(
            t.contains("Blockers: none"),
            "the answer stays with its heading: {t}"
        );
        assert!(
            t.contains("- item 10\n") && !t.contains("- item 11\n"),
            "{t}"
        );
        // No room left for a section: it goes whole, heading and all.
        let long: String = (1..=14).map(|i| format!("- blocker {i}\n")).collect();
        let s = shown(&split(&format!("Done: a\nBlockers:\n{long}"), &[]));
        assert!(
            s.parts
                .iter()
                .all(|p| p.lines.iter().any(|l| !l.trim().is_empty())),
            "{s:?}"
        );
        assert!(
            !text(&s, "u", None).contains("Done"),
            "{}",
            text(&s, "u", None)
        );
    }

    #[test]
    fn a_resolved_blocker_is_struck_through_and_marked() {
        let s = shown(&split("Done: tests\nBlockers: dashboard access", &[]));
        let h = html(&s, "", true).into_string();
        assert!(
            h.contains("<s>dashboard access</s>") && !h.contains("<s>tests"),
            "{h}"
        );
        let t = text(&s, "", Some("resolved Wed 2 Dec"));
        assert!(
            t.contains("Blockers: dashboard access (resolved Wed 2 Dec)"),
            "{t}"
        );
    }

    #[test]
    fn a_very_long_line_is_cut_at_a_space() {
        let long = "word ".repeat(1000);
        let s = shown(&split(&long, &[]));
        let l = &s.parts[0].lines[0];
        assert!(l.chars().count() <= ENTRY_CHARS && l.ends_with("word…"));
        assert_eq!(s.hidden_lines, 1);
    }
}
