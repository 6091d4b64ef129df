//! The team's daily summary as chat rooms read it (issue 36): what it holds, in order — the
//! summary line, open blockers first (who, since when), each person's update condensed to its
//! first lines per section, who has not written yet, a link to the team log — and one renderer
//! per platform ([`platforms`]) that writes it in that platform's own format within its
//! documented limits. Nothing is cut silently: an update shortened says how many lines are
//! left out and links to the log; a summary larger than one message is split over several.
//! Personal things (Needs you, comments for one reader) are never part of it.

pub mod platforms;

use chrono::NaiveDate;

use super::entry::{Budget, Part, shown_within};
use crate::domain::sections::Section;

/// One open blocker: who, since which of their dates, its first lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomBlocker {
    pub who: String,
    pub since: NaiveDate,
    pub lines: Vec<String>,
    /// Lines left out (the log has them).
    pub hidden_lines: usize,
}

impl RoomBlocker {
    /// The blocker of `who` open since `since`, its first [`Budget::CONDENSED`] lines, each
    /// at most that many characters.
    pub fn new(who: &str, since: NaiveDate, lines: &[String]) -> RoomBlocker {
        let keep = Budget::CONDENSED.lines.min(lines.len());
        RoomBlocker {
            who: who.to_string(),
            since,
            lines: lines[..keep]
                .iter()
                .map(|l| at_most(l, Budget::CONDENSED.chars))
                .collect(),
            hidden_lines: lines.len() - keep,
        }
    }
}

/// One person's update of the day, condensed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomUpdate {
    pub who: String,
    pub parts: Vec<Part>,
    /// Lines left out by the condensing (read them in the log).
    pub hidden_lines: usize,
    /// The update in the team log.
    pub url: Option<String>,
}

impl RoomUpdate {
    /// `sections` of `who`'s update condensed to their first lines ([`Budget::CONDENSED`]).
    pub fn condensed(who: &str, sections: &[Section], url: Option<String>) -> RoomUpdate {
        let shown = shown_within(sections, Budget::CONDENSED);
        RoomUpdate {
            who: who.to_string(),
            parts: shown.parts,
            hidden_lines: shown.hidden_lines,
            url,
        }
    }
}

/// A team's day as a room is told it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomSummary {
    pub team: String,
    /// The room's local date.
    pub date: NaiveDate,
    /// Members asked that day (those who keep their updates out of rooms not counted).
    pub asked: usize,
    pub blockers: Vec<RoomBlocker>,
    pub updates: Vec<RoomUpdate>,
    /// Who was asked and has not written yet.
    pub missing: Vec<String>,
    pub log_url: Option<String>,
}

impl RoomSummary {
    /// `core · Mon 9 Mar: 4 of 6 wrote, 1 blocker open`.
    pub fn headline(&self) -> String {
        let blockers = match self.blockers.len() {
            0 => "no blockers".to_string(),
            1 => "1 blocker open".to_string(),
            n => format!("{n} blockers open"),
        };
        format!(
            "{} · {}: {} of {} wrote, {blockers}",
            self.team,
            self.date.format("%a %-d %b"),
            self.updates.len(),
            self.asked
        )
    }
}

/// The pieces a summary is made of, in the order rooms show them: each platform writes each
/// as one or more of its own elements and packs them into messages within its limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Headline(String),
    BlockersHeading(usize),
    Blocker(RoomBlocker),
    Update(RoomUpdate),
    /// Names, at most [`MISSING_PER_PIECE`] a piece.
    Missing(Vec<String>),
    Link(String),
}

/// Names in one "not written yet" piece (a 100-member team's list is split).
pub const MISSING_PER_PIECE: usize = 40;

/// The pieces of `s`, in order.
pub fn pieces(s: &RoomSummary) -> Vec<Piece> {
    let mut out = vec![Piece::Headline(s.headline())];
    if !s.blockers.is_empty() {
        out.push(Piece::BlockersHeading(s.blockers.len()));
        out.extend(s.blockers.iter().cloned().map(Piece::Blocker));
    }
    out.extend(s.updates.iter().cloned().map(Piece::Update));
    for chunk in s.missing.chunks(MISSING_PER_PIECE) {
        out.push(Piece::Missing(chunk.to_vec()));
    }
    if let Some(u) = &s.log_url {
        out.push(Piece::Link(u.clone()));
    }
    out
}

/// "Open blocker since Mon 9 Mar" as rooms date it.
pub fn since(d: NaiveDate) -> String {
    format!("since {}", d.format("%a %-d %b"))
}

/// "… 4 more lines in the log".
pub fn more(n: usize) -> String {
    format!(
        "… {n} more line{} in the log",
        if n == 1 { "" } else { "s" }
    )
}

/// "Not written yet: Ana, Ben".
pub fn missing_line(names: &[String]) -> String {
    format!("Not written yet: {}", names.join(", "))
}

/// A piece as plain text lines (Matrix's `body`, Mattermost and Teams build on it).
pub fn plain(p: &Piece) -> String {
    match p {
        Piece::Headline(h) => h.clone(),
        Piece::BlockersHeading(n) => format!("Open blockers ({n})"),
        Piece::Blocker(b) => {
            let mut t = format!("{} ({}): {}", b.who, since(b.since), b.lines.join(" / "));
            if b.hidden_lines > 0 {
                t.push_str(&format!(" {}", more(b.hidden_lines)));
            }
            t
        }
        Piece::Update(u) => {
            let mut t = u.who.clone();
            for part in &u.parts {
                t.push('\n');
                if let Some(h) = &part.heading {
                    t.push_str(h);
                    t.push_str(": ");
                }
                t.push_str(&part.lines.join("\n"));
            }
            if u.hidden_lines > 0 {
                t.push('\n');
                t.push_str(&more(u.hidden_lines));
                if let Some(url) = &u.url {
                    t.push_str(&format!(": {url}"));
                }
            }
            t
        }
        Piece::Missing(names) => missing_line(names),
        Piece::Link(u) => format!("The team log: {u}"),
    }
}

/// Packs `items` (each with its size) into groups of at most `max_items` and `max_size` in
/// all, in order; an item larger than `max_size` alone is a group of its own (a renderer
/// keeps every item within the limit, so none is).
pub fn pack<T>(items: Vec<(T, usize)>, max_items: usize, max_size: usize) -> Vec<Vec<T>> {
    let mut out: Vec<Vec<T>> = Vec::new();
    let mut cur: Vec<T> = Vec::new();
    let mut size = 0;
    for (item, n) in items {
        if !cur.is_empty() && (cur.len() + 1 > max_items || size + n > max_size) {
            out.push(std::mem::take(&mut cur));
            size = 0;
        }
        size += n;
        cur.push(item);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// `s` cut to at most `max` characters, ending in "…" when cut (for a platform's title
/// fields: a name is never that long in practice).
pub fn at_most(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
    t.push('…');
    t
}

#[cfg(test)]
mod tests;
