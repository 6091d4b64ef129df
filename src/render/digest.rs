//! The digest: a summary line, the blockers first but short (who and the first line, at most
//! [`BLOCKERS_SHOWN`], each linking to its entry), then one entry per update under its
//! author's name as a heading (`h3`; teams are `h2`), its answers under their own headings.
//! Entries are sorted by the root collation (so `Łukasz` sits with the L names, not after
//! `Zoë`). A digest whose HTML would pass [`CONDENSE_AT`] bytes is condensed: each entry shows
//! its first lines and links to the whole update, so Gmail never clips the end of the message
//! and its preferences link.

use chrono::NaiveDate;
use maud::{PreEscaped, html};

use super::entry::{self, Budget};
use super::{NL, footer, long_date, page, st};
use crate::domain::DigestKind;
use crate::domain::sections::{self, Section};

/// At most this many blocker lines in the box at the top; the rest are counted and linked.
pub const BLOCKERS_SHOWN: usize = 5;
/// A blocker line in the box is cut to this many characters.
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
    /// The update as the questions it answers.
    pub sections: Vec<Section>,
    /// An earlier revision already reached this reader.
    pub edited: bool,
    /// First seen by this reader after the digest for its day would have carried it.
    pub late: bool,
    /// Its author marked its blocker resolved: shown as written, marked, out of the box.
    pub resolved: bool,
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
}

/// A comment the reader is owed (on their update, or on one they commented on): at the top.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CommentNote {
    pub who: String,
    /// "your update of Mon 30 Nov" or "Ana's update of Mon 30 Nov".
    pub on: String,
    pub lines: Vec<String>,
}

/// An update that mentions the reader (`@ana`), from any team: under "Needs you".
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Mentioned {
    /// Its author.
    pub who: String,
    pub date: NaiveDate,
    /// The lines that mention someone (or its first lines).
    pub lines: Vec<String>,
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
}

/// Data of one reader's digest.
#[derive(Debug, Clone)]
pub struct DigestView<'a> {
    pub reader_name: &'a str,
    pub date: NaiveDate,
    /// The reader's local hour when the digest is written, for the greeting ("Good morning"
    /// only in the morning); `None` greets without a time of day.
    pub local_hour: Option<u32>,
    /// Daily (each update whole) or a weekly or catch-up summary ([`super::summary`]).
    pub kind: DigestKind,
    pub sections: Vec<DigestSection>,
    /// Blockers still open from earlier updates ("Still blocked", "Needs you").
    pub carried: Vec<Carried>,
    /// Updates that mention the reader ("Needs you").
    pub mentions: Vec<Mentioned>,
    /// Comments on the reader's updates, or on updates they commented on.
    pub comments: Vec<CommentNote>,
    /// Per update, the reader's address to comment on it ("Reply to Ana"); an entry without
    /// one has no such link.
    pub comment_to: std::collections::HashMap<i64, String>,
    /// The reader's own signed link; an entry's "read the rest" is `{prefs_url}/updates/ID`.
    pub prefs_url: &'a str,
}

/// One line of the blockers box.
struct Blocker<'a> {
    author: &'a str,
    update_id: i64,
    line: String,
}

impl DigestView<'_> {
    /// Every entry of every section.
    pub fn entries(&self) -> impl Iterator<Item = &DigestEntry> {
        self.sections.iter().flat_map(|s| s.entries.iter())
    }

    /// Every blocker line, in entry order.
    fn blockers(&self) -> Vec<Blocker<'_>> {
        self.entries()
            .filter(|e| !e.resolved)
            .flat_map(|e| {
                sections::blocker_lines(&e.sections)
                    .into_iter()
                    .map(|b| Blocker {
                        author: e.author.as_str(),
                        update_id: e.update_id,
                        line: b,
                    })
            })
            .collect()
    }

    fn missing(&self) -> usize {
        self.sections.iter().map(|s| s.missing.len()).sum()
    }
}

/// The first word of a name ("Ana" of "Ana Lima").
fn first_name(name: &str) -> &str {
    name.split_whitespace().next().unwrap_or(name)
}

/// `mailto:` the reader's comment address for entry `e`, with a subject.
fn comment_mailto(addr: &str, e: &DigestEntry) -> String {
    let subject = format!(
        "Re: {}'s update for {}",
        first_name(&e.author),
        e.local_date.format("%a %-d %b")
    );
    let subject: String = url::form_urlencoded::byte_serialize(subject.as_bytes())
        .collect::<String>()
        .replace('+', "%20");
    format!("mailto:{addr}?subject={subject}")
}

/// "Since Mon 30 Nov (2 workdays)".
fn open_for(c: &Carried) -> String {
    format!(
        "since {} ({} workday{})",
        c.since.format("%a %-d %b"),
        c.workdays,
        plural(c.workdays as usize)
    )
}

/// The "Needs you" and "Still blocked" parts of the text: the updates that mention the
/// reader, and blockers open from earlier updates.
pub(crate) fn carried_text(v: &DigestView<'_>) -> String {
    let prefs_url = v.prefs_url;
    let mut s = String::new();
    if !v.comments.is_empty() {
        s.push_str("COMMENTS\n");
        for c in &v.comments {
            s.push_str(&format!("  {} on {}:\n", c.who, c.on));
            for l in &c.lines {
                s.push_str(&format!("    {l}\n"));
            }
        }
        s.push('\n');
    }
    let (yours, others): (Vec<&Carried>, Vec<&Carried>) =
        v.carried.iter().partition(|c| c.needs_you);
    if !yours.is_empty() || !v.mentions.is_empty() {
        s.push_str("NEEDS YOU\n");
        for m in &v.mentions {
            s.push_str(&format!(
                "  @ {} mentioned you ({}): {}\n",
                m.who,
                m.date.format("%a %-d %b"),
                short(&m.lines.join(" / "))
            ));
        }
    }
    if !yours.is_empty() {
        for c in &yours {
            s.push_str(&format!(
                "  ! {}, blocked {}: {}\n",
                c.who,
                open_for(c),
                short(&c.lines.join("; "))
            ));
        }
        s.push_str(&format!(
            "  You lead their team. The open blockers: {prefs_url}/log\n\n"
        ));
    }
    if !others.is_empty() {
        s.push_str("Still blocked, from earlier updates:\n");
        for c in &others {
            s.push_str(&format!(
                "  - {}, since {}: {}\n",
                c.who,
                c.since.format("%a %-d %b"),
                short(&c.lines.join("; "))
            ));
        }
        s.push('\n');
    }
    s
}

/// The same in the HTML part: a box for "Needs you", a short list for "Still blocked".
pub(crate) fn carried_html(v: &DigestView<'_>) -> String {
    let prefs_url = v.prefs_url;
    let (yours, others): (Vec<&Carried>, Vec<&Carried>) =
        v.carried.iter().partition(|c| c.needs_you);
    html! {
        @if !v.comments.is_empty() {
            p style=(st("p")) { strong { "Comments" } }
            ul {
                @for c in &v.comments {
                    li { strong { (c.who) } " on " (c.on) ": " @for (i, l) in c.lines.iter().enumerate() { @if i > 0 { br; } (l) } }
                    (NL)
                }
            }
            (NL)
        }
        @if !yours.is_empty() || !v.mentions.is_empty() {
            table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" {
                tr { td.blockers style=(st(".blockers")) {
                    strong { "Needs you" }
                    @for m in &v.mentions {
                        (NL)
                        p.blocker style=(st(".blocker")) {
                            strong { (m.who) } " mentioned you (" (m.date.format("%a %-d %b")) "): " (short(&m.lines.join(" / ")))
                        }
                    }
                    @for c in &yours {
                        (NL)
                        p.blocker style=(st(".blocker")) {
                            strong { (c.who) } ", blocked " (open_for(c)) ": " (short(&c.lines.join("; ")))
                        }
                    }
                    @if !yours.is_empty() {
                        (NL)
                        p.blocker style=(st(".blocker")) { "You lead their team. " a href=(format!("{prefs_url}/log")) { "See the open blockers" } "." }
                    }
                } }
            }
            (NL)
        }
        @if !others.is_empty() {
            p style=(st("p")) { strong { "Still blocked" } ", from earlier updates:" }
            ul {
                @for c in &others {
                    li { (c.who) ", since " (c.since.format("%a %-d %b")) ": " (short(&c.lines.join("; "))) }
                    (NL)
                }
            }
            (NL)
        }
    }
    .into_string()
}

/// The blockers of an update's text: the lines of its blockers section ("Blockers:",
/// "Blocked by …", a localised label, the quoted question) that are not "none" (see
/// [`crate::domain::sections`]).
pub fn blocker_lines(body: &str) -> Vec<String> {
    sections::blockers(body, &[])
}

/// `Team digest for Tue 10 Mar: 3 updates from 2 people, 1 blocker`.
pub fn digest_subject(v: &DigestView<'_>) -> String {
    if v.kind != DigestKind::Daily {
        return super::summary::subject(v);
    }
    let n = v.entries().count();
    // People, not display names: two members may both be called "Sam".
    let authors: std::collections::BTreeSet<i64> = v.entries().map(|e| e.author_id).collect();
    let blockers = v.blockers().len();
    let mut s = format!(
        "Team digest for {}: {n} update{} from {} {}",
        v.date.format("%a %-d %b"),
        plural(n),
        authors.len(),
        if authors.len() == 1 {
            "person"
        } else {
            "people"
        }
    );
    if blockers > 0 {
        s.push_str(&format!(", {blockers} blocker{}", plural(blockers)));
    }
    s
}

/// `12 updates, 3 blockers, 4 not yet written`: the line under the greeting.
/// `b` is the number of blockers (the caller has them at hand).
fn summary(v: &DigestView<'_>, b: usize) -> String {
    let n = v.entries().count();
    let m = v.missing();
    let mut s = format!("{n} update{}", plural(n));
    if b > 0 {
        s.push_str(&format!(", {b} blocker{}", plural(b)));
    }
    if m > 0 {
        s.push_str(&format!(", {m} not yet written"));
    }
    s
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

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn entry_marks(e: &DigestEntry) -> Vec<&'static str> {
    let mut m = Vec::new();
    if e.late {
        m.push("late");
    }
    if e.edited {
        m.push("edited");
    }
    if e.resolved && !sections::blocker_lines(&e.sections).is_empty() {
        m.push("blocker resolved");
    }
    m
}

/// A blocker line cut for the box.
fn short(line: &str) -> String {
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

/// The room each entry gets: everything the usual budget allows, unless the digest is
/// condensed.
fn budget(condensed: bool) -> Budget {
    if condensed {
        Budget::CONDENSED
    } else {
        Budget::FULL
    }
}

/// The plain-text alternative, written for terminal clients (not stripped HTML). Condensed
/// when the HTML part is (see [`digest_html`]).
pub fn digest_text(v: &DigestView<'_>) -> String {
    digest_parts(v).0
}

fn text_within(v: &DigestView<'_>, condensed: bool, parts: &mut EntryParts) -> String {
    let blockers = v.blockers();
    let mut s = format!(
        "{} {}, here is what your team wrote.\n{}.\n\n",
        greeting(v.local_hour),
        v.reader_name,
        summary(v, blockers.len())
    );
    s.push_str(&carried_text(v));
    if !blockers.is_empty() {
        s.push_str("BLOCKERS\n");
        for b in blockers.iter().take(BLOCKERS_SHOWN) {
            s.push_str(&format!("  ! {}: {}\n", b.author, short(&b.line)));
        }
        if blockers.len() > BLOCKERS_SHOWN {
            s.push_str(&format!(
                "  and {} more below\n",
                blockers.len() - BLOCKERS_SHOWN
            ));
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
        if sec.entries.is_empty() {
            s.push_str("No new updates.\n\n");
        }
        for e in &sec.entries {
            s.push_str(&parts.text(e, condensed, v.prefs_url));
            if !condensed && let Some(addr) = v.comment_to.get(&e.update_id) {
                s.push_str(&format!(
                    "Reply to {}: write to {addr}\n\n",
                    first_name(&e.author)
                ));
            }
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
    s.push_str(&footer(v.prefs_url));
    s
}

/// The HTML part: one layout table (the page's card), headings a screen reader can jump by
/// (`h2` per team, `h3` per author), short inline styles, member text escaped by maud. When
/// it would pass [`CONDENSE_AT`] bytes, each entry shows its first lines only.
pub fn digest_html(v: &DigestView<'_>) -> String {
    digest_parts(v).1
}

fn html_within(v: &DigestView<'_>, condensed: bool, parts: &mut EntryParts) -> String {
    let blockers = v.blockers();
    // Escaped once for the digest, put into every entry.
    let escaped_prefs = html! { (v.prefs_url) }.into_string();
    let content = html! {
        h1 style=(st("h1")) { "Team digest" }
        (NL)
        p.muted style=(st(".muted")) { (long_date(v.date)) " · " (summary(v, blockers.len())) }
        (NL)
        (PreEscaped(carried_html(v)))
        @if !blockers.is_empty() {
            table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" {
                tr { td.blockers style=(st(".blockers")) {
                    strong { "Blockers" }
                    @for b in blockers.iter().take(BLOCKERS_SHOWN) {
                        (NL)
                        p.blocker style=(st(".blocker")) {
                            a href=(format!("#u{}", b.update_id)) style=(st(".who")) { (b.author) }
                            ": " (short(&b.line))
                        }
                    }
                    @if blockers.len() > BLOCKERS_SHOWN {
                        (NL)
                        p.blocker style=(st(".blocker")) { "and " (blockers.len() - BLOCKERS_SHOWN) " more below" }
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
            @if sec.entries.is_empty() && sec.team.is_some() {
                p.muted style=(st(".muted")) { "No new updates." }
            }
            @for e in &sec.entries {
                (PreEscaped(parts.html(e, condensed, &escaped_prefs)))
                @if !condensed && let Some(addr) = v.comment_to.get(&e.update_id) {
                    p.muted style=(st(".muted")) {
                        a href=(comment_mailto(addr, e)) style=(st("a")) { "Reply to " (first_name(&e.author)) }
                    }
                    (NL)
                }
            }
            @if !sec.missing.is_empty() {
                p.muted style=(st(".muted")) { "No update yet from: " (sec.missing.join(",\n")) }
                (NL)
            }
        }
        p.muted style=(st(".muted")) { a href=(format!("{}/log", v.prefs_url)) { "Read the team log" } ": every update of your team, searchable." }
        (NL)
    };
    page(&digest_subject(v), content, v.prefs_url)
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
    // A digest whose entries alone pass the mark is condensed without being rendered whole
    // first (a large team's every digest).
    let link = html! { (v.prefs_url) }.into_string().len();
    if parts.html_at_least(v, link) <= CONDENSE_AT {
        let full = html_within(v, false, parts);
        if full.len() <= CONDENSE_AT {
            return (text_within(v, false, parts), full);
        }
    }
    (text_within(v, true, parts), html_within(v, true, parts))
}

/// Stands for the reader's own link in a rendered entry: an entry is the same in every
/// reader's digest but its "read the rest" link, which is the reader's signed link. Random per
/// process, so no update's text can hold it.
static READER_LINK: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("tidingsreader{:016x}", rand::random::<u64>()));

/// Most entries an [`EntryParts`] keeps before it starts over (about 4 KB each).
const PARTS_KEPT: usize = 20_000;

/// An entry's key in [`EntryParts`]: update, revision, late, edited, resolved, condensed.
type PartKey = (i64, i64, bool, bool, bool, bool);

/// Entries rendered once and shared by the digests of one pass: keyed by update, revision,
/// the reader's marks (late, edited) and whether the digest is condensed, each held with a
/// stand-in for the reader's link, which [`EntryParts::html`] and [`EntryParts::text`] put in.
#[derive(Debug, Default)]
pub struct EntryParts {
    /// HTML, text, and how often the HTML holds the reader's link.
    kept: std::collections::HashMap<PartKey, (String, String, usize)>,
}

impl EntryParts {
    /// The least the uncondensed HTML part of `v` weighs: its entries, with the reader's
    /// link (`link` bytes, escaped) in place of the stand-in.
    fn html_at_least(&mut self, v: &DigestView<'_>, link: usize) -> usize {
        v.sections
            .iter()
            .flat_map(|s| &s.entries)
            .map(|e| {
                let (html, _, links) = self.rendered(e, false);
                html.len() - links * READER_LINK.len() + links * link
            })
            .sum()
    }

    fn rendered(&mut self, e: &DigestEntry, condensed: bool) -> &(String, String, usize) {
        if self.kept.len() >= PARTS_KEPT {
            self.kept.clear();
        }
        self.kept
            .entry((
                e.update_id,
                e.revision,
                e.late,
                e.edited,
                e.resolved,
                condensed,
            ))
            .or_insert_with(|| {
                // A condensed digest links once, to the team log, instead of from each entry:
                // a hundred signed links were a sixth of its size.
                let url = if condensed {
                    String::new()
                } else {
                    format!("{}/updates/{}", *READER_LINK, e.update_id)
                };
                let shown = entry::shown_within(&e.sections, budget(condensed));
                let html = entry_html(e, &shown, &url);
                let links = html.matches(READER_LINK.as_str()).count();
                (html, entry_text(e, &shown, &url), links)
            })
    }

    /// Entry `e` in the HTML part of the digest of the reader whose link, HTML-escaped, is
    /// `escaped_prefs_url`.
    fn html(&mut self, e: &DigestEntry, condensed: bool, escaped_prefs_url: &str) -> String {
        self.rendered(e, condensed)
            .0
            .replace(READER_LINK.as_str(), escaped_prefs_url)
    }

    /// Entry `e` in the text part of the digest of the reader whose link is `prefs_url`.
    fn text(&mut self, e: &DigestEntry, condensed: bool, prefs_url: &str) -> String {
        self.rendered(e, condensed)
            .1
            .replace(READER_LINK.as_str(), prefs_url)
    }
}

/// An entry in the HTML part: the author as a heading (the blockers box links to its id), the
/// day, zone and marks, then the update as shown.
fn entry_html(e: &DigestEntry, shown: &entry::Shown, url: &str) -> String {
    html! {
        h3 id=(format!("u{}", e.update_id)) style=(st("h3")) { (e.author) }
        (NL)
        p.muted style=(st(".meta")) {
            (e.local_date.format("%a %-d %b")) " · " (e.author_tz)
            @for m in entry_marks(e) { " " span.tag style=(st(".tag")) { (m) } }
        }
        (NL)
        (entry::html(shown, url))
    }
    .into_string()
}

/// An entry in the text part: author, day, zone and marks underlined, then the update as shown.
fn entry_text(e: &DigestEntry, shown: &entry::Shown, url: &str) -> String {
    let marks = entry_marks(e);
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
    s.push_str(&entry::text(shown, url));
    s.push('\n');
    s
}

#[cfg(test)]
mod tests;
