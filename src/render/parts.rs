//! One digest entry, rendered once per send pass and shared by every reader's digest: the
//! author as a heading, their day, zone and pills (late, edited, resolved, "blocked ↑"), then
//! the update as [`super::entry`] cuts it. Only the reader's own link differs between readers;
//! it is put in when the entry is taken ([`EntryParts`]).

use maud::html;

use super::digest::{DigestEntry, comment_mailto, entry_reply_subject};
use super::entry::{self, Budget};
use super::{NL, first_name, pill, st};
use crate::domain::sections::{self, Section};

/// Stands for what differs between readers in a rendered entry: its "read the rest" link
/// (the reader's signed link, [`LINK`]) and its "Reply to" address (the reader's comment
/// address for the update, [`ADDR`]). Random per process, so no update's text can hold it.
static STAND_IN: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("tidings{:016x}", rand::random::<u64>()));

/// The search for [`STAND_IN`], built once.
static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(STAND_IN.as_bytes()));

/// The byte after [`STAND_IN`] that makes it the reader's link.
const LINK: u8 = b'l';
/// The byte after [`STAND_IN`] that makes it the reader's comment address.
const ADDR: u8 = b'm';

fn stand_in(which: u8) -> String {
    format!("{}{}", *STAND_IN, char::from(which))
}

/// `template` with every stand-in replaced by `link` or `addr`, in one pass.
fn fill(template: &str, link: &str, addr: &str) -> String {
    let mut out = String::with_capacity(template.len() + 2 * link.len());
    let needle = STAND_IN.as_bytes();
    let mut rest = template;
    while let Some(i) = FINDER.find(rest.as_bytes()) {
        out.push_str(&rest[..i]);
        let after = &rest[i + needle.len()..];
        match after.as_bytes().first() {
            Some(&LINK) => out.push_str(link),
            Some(&ADDR) => out.push_str(addr),
            _ => {}
        }
        rest = after.get(1..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

/// Most entries an [`EntryParts`] keeps before it starts over (about 4 KB each).
const PARTS_KEPT: usize = 20_000;

/// How one reader's digest shows an entry, besides the update itself: its marks, whether its
/// blocker is shown above (in "Needs you" or the blockers box), whether the digest is condensed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct Shape {
    pub hoisted: bool,
    pub condensed: bool,
    /// Followed by a "Reply to" line with the reader's comment address.
    pub reply: bool,
}

/// An entry's key in [`EntryParts`]: update, revision, the reader's marks
/// ([`DigestEntry::marks`]), the day its blocker was resolved, and its [`Shape`].
type PartKey = (i64, i64, u8, Option<chrono::NaiveDate>, Shape);

/// Entries rendered once and shared by the digests of one pass: keyed by update, revision,
/// the reader's marks and the entry's shape in their digest, each held with a stand-in for the
/// reader's link, which [`EntryParts::html`] and [`EntryParts::text`] put in.
#[derive(Debug, Default)]
pub struct EntryParts {
    kept: std::collections::HashMap<PartKey, (String, String)>,
}

impl EntryParts {
    fn rendered(&mut self, e: &DigestEntry, shape: Shape) -> &(String, String) {
        if self.kept.len() >= PARTS_KEPT {
            self.kept.clear();
        }
        let key = (e.update_id, e.revision, e.marks(), e.resolved_on, shape);
        // A followed author's update is whole even in a condensed digest.
        let shape = Shape {
            condensed: shape.condensed && !e.followed,
            ..shape
        };
        self.kept.entry(key).or_insert_with(|| {
            if e.folded {
                return folded(e);
            }
            // A condensed digest links once, to the team log, instead of from each entry:
            // a hundred signed links were a sixth of its size.
            let url = if shape.condensed {
                String::new()
            } else {
                format!("{}/updates/{}", stand_in(LINK), e.update_id)
            };
            let budget = if shape.condensed {
                Budget::CONDENSED
            } else {
                Budget::FULL
            };
            // A blocker shown above is not repeated: the entry says "blocked ↑" instead.
            let kept: Vec<Section> = e
                .sections
                .iter()
                .filter(|s| !(shape.hoisted && s.is_blocker()))
                .cloned()
                .collect();
            let shown = entry::shown_within(&kept, budget);
            // Non-ASCII as references once here, not again in every reader's page.
            let mut html = super::ascii_only(entry_html(e, &shown, &url, shape.hoisted));
            let mut text = entry_text(e, &shown, &url, shape.hoisted);
            if shape.reply {
                let addr = stand_in(ADDR);
                html.push_str(&super::ascii_only(reply_html(e, &addr)));
                text.push_str(&format!(
                    "Reply to {}: write to {addr}\n\n",
                    first_name(&e.author)
                ));
            }
            (html, text)
        })
    }

    /// Entry `e` in the HTML part of the digest of the reader whose link and comment address,
    /// HTML-escaped, are `escaped_link` and `escaped_addr`.
    pub(super) fn html(
        &mut self,
        e: &DigestEntry,
        shape: Shape,
        escaped_link: &str,
        escaped_addr: &str,
    ) -> String {
        fill(&self.rendered(e, shape).0, escaped_link, escaped_addr)
    }

    /// Entry `e` in the text part of the digest of the reader whose link and comment address
    /// are `link` and `addr`.
    pub(super) fn text(&mut self, e: &DigestEntry, shape: Shape, link: &str, addr: &str) -> String {
        fill(&self.rendered(e, shape).1, link, addr)
    }
}

/// A muted author's entry: one line, linking to the update (the reader's link filled in).
fn folded(e: &DigestEntry) -> (String, String) {
    let url = format!("{}/updates/{}", stand_in(LINK), e.update_id);
    let day = e.local_date.format("%a %-d %b");
    let html = html! {
        p.muted style=(st(".muted")) {
            (e.author) " wrote an update for " (day) ". " a href=(url) style=(st("a")) { "Read it" }
        }
        (NL)
    }
    .into_string();
    let text = format!("{} wrote an update for {day}: {url}\n\n", e.author);
    (super::ascii_only(html), text)
}

/// The "Reply to Ana" line under an entry, writing to `addr`.
fn reply_html(e: &DigestEntry, addr: &str) -> String {
    html! {
        p.muted style=(st(".muted")) {
            a href=(comment_mailto(addr, &entry_reply_subject(e))) style=(st("a")) { "Reply to " (first_name(&e.author)) }
        }
        (NL)
    }
    .into_string()
}

/// The words of a resolved blocker's mark: `resolved Wed 2 Dec` (or `resolved` when the day
/// is not known); `None` when the entry has no resolved blocker.
fn resolved_mark(e: &DigestEntry) -> Option<String> {
    if !e.resolved || sections::blocker_lines(&e.sections).is_empty() {
        return None;
    }
    Some(match e.resolved_on {
        Some(d) => format!("resolved {}", d.format("%a %-d %b")),
        None => "resolved".to_string(),
    })
}

/// The pills of an entry: (kind, words), kind naming its CSS class `.pill-{kind}`.
fn marks(e: &DigestEntry, hoisted: bool) -> Vec<(&'static str, String)> {
    let mut m = Vec::new();
    if e.late {
        m.push(("late", "late".to_string()));
    }
    if e.edited {
        m.push(("edited", "edited".to_string()));
    }
    if let Some(r) = resolved_mark(e) {
        m.push(("resolved", r));
    }
    if hoisted {
        m.push(("blocker", "blocked ↑".to_string()));
    }
    m
}

/// An entry in the HTML part: the author as a heading (the blockers box links to its id), the
/// day, zone and pills, then the update as shown, a resolved blocker struck through.
fn entry_html(e: &DigestEntry, shown: &entry::Shown, url: &str, hoisted: bool) -> String {
    html! {
        h3 id=(format!("u{}", e.update_id)) style=(st("h3")) { (e.author) }
        (NL)
        p.muted style=(st(".meta")) {
            (e.local_date.format("%a %-d %b")) " · " (e.author_tz)
            @for (kind, words) in marks(e, hoisted) { " " (pill(kind, &words)) }
        }
        (NL)
        (entry::html(shown, url, resolved_mark(e).is_some()))
    }
    .into_string()
}

/// An entry in the text part: author, day, zone and marks underlined, then the update as shown.
fn entry_text(e: &DigestEntry, shown: &entry::Shown, url: &str, hoisted: bool) -> String {
    let marks: Vec<String> = marks(e, hoisted).into_iter().map(|(_, w)| w).collect();
    let marks = if marks.is_empty() {
        String::new()
    } else {
        format!(" [{}]", marks.join(", "))
    };
    let head = format!(
        "{} — {} ({}){}",
        e.author,
        e.local_date.format("%a %-d %b"),
        e.author_tz,
        marks
    );
    // Hyphens, not '=': a quoted-printable text part would write each '=' as "=3D".
    let mut s = format!("{head}\n{}\n", "-".repeat(head.chars().count().min(72)));
    s.push_str(&entry::text(shown, url, resolved_mark(e).as_deref()));
    s.push('\n');
    s
}
