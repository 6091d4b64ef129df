//! An update as the pages show it: its author, day and marks (pills), its answers by section
//! (a list written with "- " as a list; a search's words marked where they are), then its
//! reactions and comments and the reader's link to comment.

use std::collections::HashMap;

use chrono::DateTime;
use maud::{Markup, PreEscaped, html};

use super::path_segment;
use crate::domain::schedule::local_date_at;
use crate::domain::search::{self, Search};
use crate::domain::sections::{self, Section};
use crate::store::LogEntry;
use crate::web::session::Viewer;
use crate::web::{AppError, WebState};

/// What the log shows under an update besides its text: its reactions and comments, whether
/// its blocker was resolved, and the reader's own address to comment on it.
#[derive(Default)]
pub(super) struct Around {
    reactions: HashMap<i64, Vec<(String, Vec<String>)>>,
    comments: HashMap<i64, Vec<(String, String, i64)>>,
    /// When the update's blocker was marked resolved (unix seconds).
    resolved: HashMap<i64, i64>,
    /// The signed-in member's comment address per update (none for the admin).
    comment_to: HashMap<i64, String>,
}

impl Around {
    pub(super) async fn of(
        st: &WebState,
        v: &Viewer,
        entries: &[LogEntry],
    ) -> Result<Around, AppError> {
        let ids: Vec<i64> = entries.iter().map(|e| e.update.update.id).collect();
        let comment_to = match v {
            Viewer::Member(m) => ids
                .iter()
                .map(|id| (*id, st.ctx.comment_address(m.id, *id).to_string()))
                .collect(),
            Viewer::Admin => Default::default(),
        };
        Ok(Around {
            reactions: st.ctx.store.reactions(&ids).await?,
            comments: st.ctx.store.comments_on(&ids).await?,
            resolved: st.ctx.store.blocker_resolutions(&ids).await?,
            comment_to,
        })
    }

    /// Whether any entry has a comment address (the page then says once how commenting works).
    pub(super) fn can_comment(&self) -> bool {
        !self.comment_to.is_empty()
    }
}

/// A line of member text, a search's words in `<mark>`.
fn line_html(line: &str, search: Option<&Search>) -> Markup {
    match search {
        Some(s) => {
            let marked = search::marked(line, s);
            PreEscaped(super::snippet_html(&marked))
        }
        None => crate::render::linked(line),
    }
}

/// A list item: a line written as "- item", "* item", "• item" or "+ item".
fn list_item(line: &str) -> Option<&str> {
    let t = line.trim_start();
    ["- ", "* ", "• ", "+ "]
        .iter()
        .find_map(|b| t.strip_prefix(b))
        .map(str::trim_start)
}

/// The lines of an answer: runs of list items as a list, other lines as paragraphs (a blank
/// line between paragraphs, line breaks kept within one).
fn answer_html(text: &str, search: Option<&Search>) -> Markup {
    let mut blocks: Vec<(bool, Vec<&str>)> = Vec::new();
    for line in text.lines() {
        let (is_item, l) = match list_item(line) {
            Some(i) => (true, i),
            None => (false, line.trim_end()),
        };
        if l.trim().is_empty() {
            blocks.push((false, Vec::new()));
            continue;
        }
        match blocks.last_mut() {
            Some((item, ls)) if *item == is_item && !ls.is_empty() => ls.push(l),
            _ => blocks.push((is_item, vec![l])),
        }
    }
    html! {
        @for (is_list, lines) in blocks.iter().filter(|b| !b.1.is_empty()) {
            @if *is_list {
                ul { @for l in lines { li { (line_html(l, search)) } } }
            } @else {
                p.a { @for (i, l) in lines.iter().enumerate() { @if i > 0 { br; } (line_html(l, search)) } }
            }
        }
    }
}

/// An update's sections: each question's heading, then its answer; the blockers section
/// marked (struck through once resolved).
pub(crate) fn sections_html(
    sections: &[Section],
    search: Option<&Search>,
    resolved: bool,
) -> Markup {
    html! {
        @for s in sections {
            @let blocker = s.kind == sections::Kind::Blockers && !sections::blocker_lines(std::slice::from_ref(s)).is_empty();
            @let one_line = s.text.trim().lines().count() == 1 && list_item(s.text.trim()).is_none();
            div class={ "section" @if blocker { " blocker" } @if blocker && resolved { " resolved" } } {
                @match (s.heading(), one_line) {
                    // "Next: review the PR" on one line, as it was written.
                    (Some(h), true) if !h.ends_with(['?', '？']) => {
                        p { span.q { (h) @if !h.ends_with(':') { ":" } } " " span.a { (line_html(s.text.trim(), search)) } }
                    }
                    (h, _) => {
                        @if let Some(h) = h {
                            span.q { (h) @if !h.ends_with(['?', '？', ':']) { ":" } }
                        }
                        (answer_html(&s.text, search))
                    }
                }
            }
        }
    }
}

/// One update of the log, with what is around it.
pub(super) fn entry_html(
    e: &LogEntry,
    team: &str,
    around: &Around,
    search: Option<&Search>,
) -> Markup {
    let u = &e.update.update;
    let has_blocker = !sections::blocker_lines(&u.sections).is_empty();
    let resolved = around.resolved.get(&u.id).copied();
    html! {
        article.entry id=(format!("u{}", u.id)) {
            h3 {
                a href=(format!("/log/{}?member={}", path_segment(team), path_segment(&e.update.author_email))) { (e.update.author_name) }
            }
            p.meta.muted {
                (u.local_date.format("%a %-d %b %Y")) " · " (e.update.author_tz)
                @if let Some(c) = &u.checkin_name { " · " (c) }
                @if e.update.late() { span.pill.pill-late { "late" } }
                @if u.revision > 1 { span.pill.pill-edited { "edited" } }
                @match (has_blocker, resolved) {
                    // The day in its author's calendar, as the digests show it.
                    (true, Some(at)) => {
                        span.pill.pill-resolved {
                            "resolved"
                            @if let Some(d) = local_date_at(&e.update.author_tz, at) { " " (d.format("%a %-d %b")) }
                        }
                    }
                    (true, None) => { span.pill.pill-blocker { "blocker" } }
                    _ => {}
                }
            }
            (sections_html(&u.sections, search, resolved.is_some()))
            (talk_html(u.id, around, search))
        }
    }
}

/// Reactions, comments and the link to comment, under an update.
fn talk_html(id: i64, around: &Around, search: Option<&Search>) -> Markup {
    html! {
        @if let Some(rs) = around.reactions.get(&id) {
            p.muted.reactions {
                @for (i, (r, names)) in rs.iter().enumerate() {
                    @if i > 0 { " · " }
                    span title=(names.join(", ")) { (r) " " (names.len()) } " (" (names.join(", ")) ")"
                }
            }
        }
        @if let Some(cs) = around.comments.get(&id) {
            section.talk aria-label="Comments" {
                h4 { (cs.len()) " comment" @if cs.len() != 1 { "s" } }
                ul {
                    @for (who, body, at) in cs {
                        li {
                            strong { (who) } " "
                            span.muted { (DateTime::from_timestamp(*at, 0).map_or_else(String::new, |t| t.format("%a %-d %b, %H:%M UTC").to_string())) }
                            (answer_html(body, search))
                        }
                    }
                }
            }
        }
        @if let Some(addr) = around.comment_to.get(&id) {
            p.actions { a href=(format!("mailto:{addr}")) { "Comment by email" } }
        }
    }
}
