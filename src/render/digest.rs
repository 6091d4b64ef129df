//! The daily digest: the team's name as its heading, who wrote ("3 of 4 wrote") and the
//! counts, what needs the reader ([`super::needs`]), the blockers first but short (who and
//! their blocker, at most [`BLOCKERS_SHOWN`], each linking to its entry), then one entry per
//! update under its author's name as a heading (`h3`; teams are `h2`), its answers under their
//! own headings ([`super::parts`]). A blocker is shown once: an entry whose blocker is above
//! carries a "blocked ↑" pill instead of repeating it.
//! Entries are sorted by the root collation (so `Łukasz` sits with the L names, not after
//! `Zoë`). A digest whose HTML would pass [`CONDENSE_AT`] bytes is condensed: each entry shows
//! its first lines and links to the whole update, so Gmail never clips the end of the message
//! and its preferences link.

use std::collections::HashSet;

use chrono::NaiveDate;
use maud::{PreEscaped, html};

use super::needs::{needs_html, needs_text};
use super::parts::{EntryParts, Shape};
use super::{NL, first_name, footer, long_date, page, st, team};
use crate::domain::DigestKind;
use crate::domain::sections::{self, Section};

/// At most this many blocked updates in the box at the top; the rest are counted, and their
/// blockers shown in their entries.
pub const BLOCKERS_SHOWN: usize = 5;
/// A blocker in the box is cut to this many characters (and links to its whole update).
const BLOCKER_CHARS: usize = 120;
/// A digest whose HTML would be longer than this (bytes) is condensed. Gmail clips a message
/// whose HTML passes about 102 KB, hiding the rest and the footer; 60 KB leaves room for a
/// team far larger than 100 and keeps a long digest quick to load on a phone.
pub const CONDENSE_AT: usize = 60 * 1024;

/// One update as a digest shows it.
#[derive(Debug, Clone)]
pub struct DigestEntry {
    pub update_id: i64,
    /// The revision shown: an entry is rendered once per (update, revision) and pass.
    pub revision: i64,
    /// The author's member id: two people may share a display name.
    pub author_id: i64,
    pub author: String,
    pub author_tz: String,
    pub local_date: NaiveDate,
    /// The update as the questions it answers (shared by every reader's digest of a pass).
    pub sections: std::sync::Arc<[Section]>,
    /// An earlier revision already reached this reader.
    pub edited: bool,
    /// First seen by this reader after the digest for its day would have carried it.
    pub late: bool,
    /// Its author marked its blocker resolved: shown struck through, marked, out of the box.
    pub resolved: bool,
    /// The author's local day it was marked resolved, when known.
    pub resolved_on: Option<NaiveDate>,
    /// The reader follows its author: first, and whole even in a condensed digest.
    pub followed: bool,
    /// The reader muted its author: one line with a link, its blocker not boxed.
    pub folded: bool,
    /// The check-in it answers, by name (its entries come under that heading, after the
    /// stand-up's); `None` for the stand-up.
    pub checkin: Option<std::sync::Arc<str>>,
}

/// The reader's marks on an entry as bits ([`DigestEntry::marks`]): what a queued digest's
/// manifest stores and what tells one reader's rendering of an entry from another's.
pub mod mark {
    pub const LATE: u8 = 1;
    pub const EDITED: u8 = 2;
    pub const RESOLVED: u8 = 4;
    pub const FOLLOWED: u8 = 8;
    pub const FOLDED: u8 = 16;
}

impl DigestEntry {
    /// The entry's marks as [`mark`] bits.
    pub fn marks(&self) -> u8 {
        [
            (self.late, mark::LATE),
            (self.edited, mark::EDITED),
            (self.resolved, mark::RESOLVED),
            (self.followed, mark::FOLLOWED),
            (self.folded, mark::FOLDED),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .fold(0, |m, (_, bit)| m | bit)
    }
}

/// A teammate's blocker still open from an earlier update: carried in the digest ("Still
/// blocked"), or, for a lead of the team once it has been open long enough, under "Needs you".
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Carried {
    pub who: String,
    /// The first day of the run of updates that carried it.
    pub since: NaiveDate,
    /// Its author's workdays since then.
    pub workdays: u32,
    pub lines: Vec<String>,
    /// The reader leads a team of the author's and it has been open long enough.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub needs_you: bool,
    /// The update that carries it (0: not known, in a digest queued before this was kept).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub update_id: i64,
    /// The team the reader leads that makes it theirs ("you lead Core").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// A comment the reader is owed (on their update, or on one they commented on): at the top.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CommentNote {
    pub who: String,
    /// "your update of Mon 30 Nov" or "Ana's update of Mon 30 Nov".
    pub on: String,
    pub lines: Vec<String>,
    /// The update it comments on: a reply to the reader's address for it is their answer.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub update_id: i64,
    /// When it was written, in the reader's zone ("Tue 1 Dec 09:14"); empty when not known.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub at: String,
}

/// An update that mentions the reader (`@ana`), from any team: under "Needs you".
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Mentioned {
    /// Its author.
    pub who: String,
    pub date: NaiveDate,
    /// The lines that mention someone (or its first lines).
    pub lines: Vec<String>,
    /// The update: a reply to the reader's address for it is a comment on it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub update_id: i64,
}

impl Mentioned {
    /// The lines of `sections` to show for a mention: those with an `@`, else the first two;
    /// at most three.
    pub fn lines_of(sections: &[Section]) -> Vec<String> {
        let all: Vec<String> = sections
            .iter()
            .flat_map(|s| s.text.lines())
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect();
        let with: Vec<String> = all.iter().filter(|l| l.contains('@')).cloned().collect();
        if with.is_empty() {
            all.into_iter().take(2).collect()
        } else {
            with.into_iter().take(3).collect()
        }
    }
}

/// One team's part of a digest. A reader in one team gets one section without a heading.
#[derive(Debug, Clone, Default)]
pub struct DigestSection {
    /// The team's name; `None` when the reader is in one team only.
    pub team: Option<String>,
    pub entries: Vec<DigestEntry>,
    /// Teammates with no update (listed, not nagged).
    pub missing: Vec<String>,
    /// The team's aggregate of each scale question of the check-ins shown, under their
    /// headings.
    pub scales: Vec<ScaleLine>,
}

/// Data of one reader's digest.
#[derive(Debug, Clone)]
pub struct DigestView<'a> {
    pub reader_name: &'a str,
    /// The reader's teams, named in the subject, heading and footer.
    pub teams: &'a [String],
    pub date: NaiveDate,
    /// The reader's local hour when the digest is written, for the greeting ("Good morning"
    /// only in the morning); `None` greets without a time of day.
    pub local_hour: Option<u32>,
    /// Daily (each update whole) or a weekly or catch-up summary ([`super::summary`]).
    pub kind: DigestKind,
    /// The check-in whose digest of its own this is (its answers alone, its team in `teams`);
    /// `None`: the reader's digest.
    pub own: Option<String>,
    pub sections: Vec<DigestSection>,
    /// Blockers still open from earlier updates ("Still blocked", "Needs you").
    pub carried: Vec<Carried>,
    /// Updates that mention the reader ("Needs you").
    pub mentions: Vec<Mentioned>,
    /// Comments on the reader's updates, or on updates they commented on ("Needs you").
    pub comments: Vec<CommentNote>,
    /// Per update, the reader's address to comment on it ("Reply to Ana"): under each entry,
    /// and each mention, blocker and comment of "Needs you"; without one, no such link.
    pub comment_to: std::collections::HashMap<i64, String>,
    /// The reader's own signed link; an entry's "read the rest" is `{prefs_url}/updates/ID`.
    pub prefs_url: &'a str,
    /// The reader asked for only what needs them (`only blockers and mentions`): no updates.
    pub needs_only: bool,
}

/// One blocked update in the box: its author and blocker lines.
struct Blocker<'a> {
    author: &'a str,
    update_id: i64,
    lines: Vec<String>,
}

/// Where a daily digest shows its entries' blockers: each once, at the top. Those under
/// "Needs you" are not in the box again; the box holds at most [`BLOCKERS_SHOWN`]; an entry
/// whose blocker is in either carries "blocked ↑" instead of repeating it ("hoisted"), the
/// rest keep theirs.
struct Top<'a> {
    boxed: Vec<Blocker<'a>>,
    /// Blocked updates past the box, shown in their entries.
    more: usize,
    hoisted: HashSet<i64>,
    /// Every blocker line of the digest (the subject's and summary's count).
    lines: usize,
}

impl DigestView<'_> {
    /// Every entry of every section.
    pub fn entries(&self) -> impl Iterator<Item = &DigestEntry> {
        self.sections.iter().flat_map(|s| s.entries.iter())
    }

    /// The open blockers of the entries, in entry order.
    fn blocked(&self) -> Vec<Blocker<'_>> {
        self.entries()
            .filter(|e| !e.resolved && !e.folded)
            .filter_map(|e| {
                let lines = sections::blocker_lines(&e.sections);
                (!lines.is_empty()).then_some(Blocker {
                    author: e.author.as_str(),
                    update_id: e.update_id,
                    lines,
                })
            })
            .collect()
    }

    /// Updates whose open blocker is under "Needs you".
    pub(super) fn needing(&self) -> HashSet<i64> {
        self.carried
            .iter()
            .filter(|c| c.needs_you && c.update_id != 0)
            .map(|c| c.update_id)
            .collect()
    }

    fn top(&self) -> Top<'_> {
        let needing = self.needing();
        let all = self.blocked();
        let lines = all.iter().map(|b| b.lines.len()).sum();
        let mut boxed: Vec<Blocker<'_>> = all
            .into_iter()
            .filter(|b| !needing.contains(&b.update_id))
            .collect();
        let more = boxed.len().saturating_sub(BLOCKERS_SHOWN);
        boxed.truncate(BLOCKERS_SHOWN);
        let mut hoisted = needing;
        hoisted.extend(boxed.iter().map(|b| b.update_id));
        Top {
            boxed,
            more,
            hoisted,
            lines,
        }
    }
}

/// `mailto:` the reader's comment address `addr`, with `subject`.
pub(super) fn comment_mailto(addr: &str, subject: &str) -> String {
    let subject: String = url::form_urlencoded::byte_serialize(subject.as_bytes())
        .collect::<String>()
        .replace('+', "%20");
    format!("mailto:{addr}?subject={subject}")
}

/// The subject of the mail that comments on entry `e`: `Re: Ana's update for Mon 30 Nov`.
pub(super) fn entry_reply_subject(e: &DigestEntry) -> String {
    format!(
        "Re: {}'s update for {}",
        first_name(&e.author),
        e.local_date.format("%a %-d %b")
    )
}

/// The blockers of an update's text: the lines of its blockers section ("Blockers:",
/// "Blocked by …", a localised label, the quoted question) that are not "none" (see
/// [`crate::domain::sections`]).
pub fn blocker_lines(body: &str) -> Vec<String> {
    sections::blockers(body, &[])
}

/// The greeting for the reader's local hour.
pub fn greeting(local_hour: Option<u32>) -> &'static str {
    match local_hour {
        Some(5..=11) => "Good morning",
        Some(12..=17) => "Good afternoon",
        Some(18..=22) => "Good evening",
        _ => "Hello",
    }
}

pub(super) fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// A blocker line cut for the box.
pub(super) fn short(line: &str) -> String {
    if line.chars().count() <= BLOCKER_CHARS {
        return line.to_string();
    }
    let head: String = line.chars().take(BLOCKER_CHARS - 1).collect();
    let head = match head.rfind(' ') {
        Some(i) if i > head.len() / 2 => &head[..i],
        _ => head.as_str(),
    };
    format!("{}…", head.trim_end())
}

/// A box line's blocker: its lines joined, cut; and whether it was cut.
fn boxed_line(b: &Blocker<'_>) -> (String, bool) {
    let whole = b.lines.join("; ");
    let line = short(&whole);
    let cut = line != whole;
    (line, cut)
}

/// The plain-text alternative, written for terminal clients (not stripped HTML). Condensed
/// when the HTML part is (see [`digest_html`]).
pub fn digest_text(v: &DigestView<'_>) -> String {
    digest_parts(v).0
}

fn text_within(v: &DigestView<'_>, condensed: bool, parts: &mut EntryParts) -> String {
    let top = v.top();
    let what = match &v.own {
        Some(_) => format!("here are the new answers to {}", title(v)),
        None => format!("here is {}", team::the(v.teams, "digest")),
    };
    let mut s = format!(
        "{} {}, {what} for {}.\n{}.\n\n",
        greeting(v.local_hour),
        first_name(v.reader_name),
        long_date(v.date),
        summary(v, top.lines)
    );
    s.push_str(&needs_text(v));
    if !top.boxed.is_empty() {
        s.push_str("BLOCKERS\n");
        for b in &top.boxed {
            let (line, cut) = boxed_line(b);
            s.push_str(&format!("  ! {}: {line}\n", b.author));
            if cut {
                s.push_str(&format!(
                    "    whole: {}/updates/{}\n",
                    v.prefs_url, b.update_id
                ));
            }
        }
        if top.more > 0 {
            s.push_str(&format!("  and {} more below\n", top.more));
        }
        s.push('\n');
    }
    if condensed {
        s.push_str(&format!(
            "A long digest: each update's first lines. Read them whole in the team log:\n{}/log\n\n",
            v.prefs_url
        ));
    }
    for sec in &v.sections {
        if let Some(team) = &sec.team {
            s.push_str(&format!("## {team}\n\n"));
        }
        if sec.entries.is_empty() && !v.needs_only {
            s.push_str("No new updates.\n\n");
        }
        for (i, e) in sec.entries.iter().enumerate() {
            if let Some(name) = checkin_heading(&sec.entries, i) {
                s.push_str(&format!("### {name}\n\n"));
                for l in scales_of(sec, name) {
                    s.push_str(&format!("{}\n\n", l.sentence()));
                }
            }
            let addr = v.comment_to.get(&e.update_id);
            let shape = Shape {
                hoisted: top.hoisted.contains(&e.update_id),
                condensed,
                reply: !condensed && addr.is_some(),
            };
            s.push_str(&parts.text(e, shape, v.prefs_url, addr.map_or("", String::as_str)));
        }
        if !sec.missing.is_empty() {
            s.push_str(&format!(
                "No update yet from: {}\n\n",
                sec.missing.join(", ")
            ));
        }
    }
    s.push_str(&format!(
        "Every update of your team, searchable: {}/log\n\n",
        v.prefs_url
    ));
    s.push_str("-- \n");
    s.push_str(&footer(v.prefs_url, v.teams));
    s
}

/// The HTML part: one layout table (the page's card), headings a screen reader can jump by
/// (`h1` the team's digest, `h2` per box and team, `h3` per author), short inline styles,
/// member text escaped by maud. When it would pass [`CONDENSE_AT`] bytes, each entry shows its
/// first lines only.
pub fn digest_html(v: &DigestView<'_>) -> String {
    digest_parts(v).1
}

fn html_within(v: &DigestView<'_>, condensed: bool, parts: &mut EntryParts) -> String {
    let top = v.top();
    // Escaped once for the digest, put into every entry.
    let escaped_prefs = html! { (v.prefs_url) }.into_string();
    let content = html! {
        h1 style=(st("h1")) { (title(v)) }
        (NL)
        p.muted style=(st(".muted")) { (long_date(v.date)) " · " (summary(v, top.lines)) }
        (NL)
        (PreEscaped(needs_html(v)))
        @if !top.boxed.is_empty() {
            table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" {
                tr { td.blockers id="blockers" style=(st(".blockers")) {
                    h2.boxhead style=(st(".boxhead")) { "Blockers" }
                    @for b in &top.boxed {
                        @let (line, cut) = boxed_line(b);
                        (NL)
                        p.blocker style=(st(".blocker")) {
                            a href=(format!("#u{}", b.update_id)) style=(st(".who")) { (b.author) }
                            ": " (line)
                            @if cut { " " a href=(format!("{}/updates/{}", v.prefs_url, b.update_id)) style=(st("a")) { "read it whole" } }
                        }
                    }
                    @if top.more > 0 {
                        (NL)
                        p.blocker style=(st(".blocker")) { "and " (top.more) " more below" }
                    }
                } }
            }
            (NL)
        }
        @if condensed {
            p.muted style=(st(".muted")) { "A long digest: each update shows its first lines. " a href=(format!("{}/log", v.prefs_url)) { "Read them whole in the team log" } "." }
            (NL)
        }
        @for sec in &v.sections {
            @if let Some(team) = &sec.team {
                h2 style=(st("h2")) { (team) }
                (NL)
            }
            @if sec.entries.is_empty() && sec.team.is_some() && !v.needs_only {
                p.muted style=(st(".muted")) { "No new updates." }
            }
            @for (i, e) in sec.entries.iter().enumerate() {
                @if let Some(name) = checkin_heading(&sec.entries, i) {
                    h2 style=(st("h2")) { (name) }
                    (NL)
                    @for l in scales_of(sec, name) {
                        p.muted style=(st(".muted")) { (l.sentence()) }
                        (NL)
                    }
                }
                @let addr = v.comment_to.get(&e.update_id);
                @let shape = Shape { hoisted: top.hoisted.contains(&e.update_id), condensed, reply: !condensed && addr.is_some() };
                @let escaped_addr = html! { (addr.map_or("", String::as_str)) }.into_string();
                (PreEscaped(parts.html(e, shape, &escaped_prefs, &escaped_addr)))
            }
            @if !sec.missing.is_empty() {
                p.muted style=(st(".muted")) { "No update yet from: " (sec.missing.join(",\n")) }
                (NL)
            }
        }
        p.muted style=(st(".muted")) { a href=(format!("{}/log", v.prefs_url)) { "Read the team log" } ": every update of your team, searchable." }
        (NL)
    };
    page(&digest_subject(v), content, v.prefs_url, v.teams)
}

/// Both parts of a digest, the HTML rendered once (a digest is condensed in both parts or in
/// neither): `(text, html)`.
pub fn digest_parts(v: &DigestView<'_>) -> (String, String) {
    digest_parts_with(v, &mut EntryParts::default())
}

/// [`digest_parts`] with entries rendered before reused from `parts` (and those rendered now
/// kept there): the digests of one send pass share each update's rendering.
pub fn digest_parts_with(v: &DigestView<'_>, parts: &mut EntryParts) -> (String, String) {
    if v.kind != DigestKind::Daily {
        return super::summary::parts(v);
    }
    let full = html_within(v, false, parts);
    if full.len() <= CONDENSE_AT {
        (text_within(v, false, parts), full)
    } else {
        (text_within(v, true, parts), html_within(v, true, parts))
    }
}

mod checkins;
mod heading;
pub use checkins::ScaleLine;
use checkins::{checkin_heading, scales_of};
pub use heading::digest_subject;
use heading::{summary, title};

#[cfg(test)]
mod tests;
