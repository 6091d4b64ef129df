//! The draft an update request carries (#35): "From your activity since Mon 30 Nov:", the
//! entries of the member's own activity feeds grouped by repository or project, numbered, each
//! a short title and its link; "and N more" with a link to the whole draft; then the `keep`
//! rule. Quoted (`> ` in text, a blockquote in HTML) like the previous plan, so a reply that
//! quotes the request never takes it for the answer.

use maud::{Markup, html};

use super::st;
use crate::domain::activity::{self, Draft};

/// A draft as a request shows it.
#[derive(Debug, Clone)]
pub struct DraftView<'a> {
    /// `Mon 30 Nov`: the day the draft starts, in the member's zone.
    pub since: String,
    pub draft: &'a Draft,
    /// The member's page with the whole draft (where "and N more" leads).
    pub url: String,
}

/// `From your activity since Mon 30 Nov:`
pub fn heading(since: &str) -> String {
    format!("From your activity since {since}:")
}

/// What to reply, under the draft.
pub const KEEP_RULE: &str = "Reply \"keep\" on the first line to make these lines your Done (\"keep 1 3\" keeps some), then write anything else below it. Nothing here is shown to anyone unless you keep it.";

/// The heading of the lines a feed names no project for, when other groups have one.
pub const OTHER: &str = "Other";

/// Each group's heading: its project; [`OTHER`] for the lines without one, unless every line
/// is without one (then none). The request and the member's draft page both show these.
pub fn headed(d: &Draft) -> Vec<(Option<&str>, Vec<&activity::DraftLine>)> {
    let groups = activity::groups(d);
    let any = groups.iter().any(|(p, _)| p.is_some());
    groups
        .into_iter()
        .map(|(p, lines)| (p.or(any.then_some(OTHER)), lines))
        .collect()
}

/// `1. opened pull request #212 <https://…>`
fn line_text(l: &activity::DraftLine) -> String {
    match &l.link {
        Some(u) => format!("{}. {} <{u}>", l.n, l.title),
        None => format!("{}. {}", l.n, l.title),
    }
}

/// The text part's block: the heading, `> ` lines, the keep rule.
pub fn text(v: &DraftView<'_>) -> String {
    let mut s = heading(&v.since);
    s.push('\n');
    for (project, lines) in headed(v.draft) {
        if let Some(p) = project {
            s.push_str(&format!("> {p}\n"));
        }
        for l in lines {
            s.push_str(&format!("> {}\n", line_text(l)));
        }
    }
    if v.draft.more > 0 {
        s.push_str(&format!("> and {} more: {}\n", v.draft.more, v.url));
    }
    s.push_str(KEEP_RULE);
    s.push('\n');
    s
}

/// The HTML part's block: the heading, a blockquote of numbered links by project, the keep
/// rule.
pub fn html(v: &DraftView<'_>) -> Markup {
    html! {
        p.muted style=(st(".muted")) { (heading(&v.since)) }
        blockquote style=(st("blockquote")) {
            @for (i, (project, lines)) in headed(v.draft).into_iter().enumerate() {
                @if i > 0 { br; }
                @if let Some(p) = project { strong { (p) } br; }
                @for (j, l) in lines.iter().enumerate() {
                    @if j > 0 { br; }
                    (l.n) ". "
                    @match &l.link {
                        Some(u) => a href=(u) style=(st("a")) { (l.title) },
                        None => (l.title),
                    }
                }
            }
            @if v.draft.more > 0 {
                br; a href=(v.url) style=(st("a")) { "and " (v.draft.more) " more" }
            }
        }
        p.muted style=(st(".muted")) { (KEEP_RULE) }
    }
}
