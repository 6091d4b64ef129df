//! Email views: pure functions from view data to text and HTML (maud, so member text is always
//! escaped). CSS and copy live in `templates/` and are embedded at compile time.

pub mod entry;

use chrono::NaiveDate;
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::domain::sections::{self, Section};

const CSS: &str = include_str!("../../templates/email.css");
const FOOTER: &str = include_str!("../../templates/footer.txt");
const REQUEST_INTRO: &str = include_str!("../../templates/request_intro.txt");

fn footer(prefs_url: &str) -> String {
    FOOTER.replace("{prefs_url}", prefs_url)
}

fn long_date(d: NaiveDate) -> String {
    d.format("%A, %-d %B %Y").to_string()
}

/// The inline declarations of one rule of `templates/email.css` (`body`, `.card`, ...), taken
/// from the part before the first `@media`. Inlined because Gmail's apps and Outlook drop or
/// ignore parts of `<style>`; the `<style>` block stays for dark mode and narrow screens,
/// whose rules win with `!important`. The rules are read once: a digest of a 100-member team
/// asks for them about 500 times.
fn st(selector: &str) -> &'static str {
    static RULES: std::sync::LazyLock<std::collections::HashMap<&'static str, &'static str>> =
        std::sync::LazyLock::new(|| {
            CSS.lines()
                .take_while(|l| !l.starts_with("@media"))
                .filter_map(|l| {
                    let (sel, rest) = l.split_once('{')?;
                    Some((sel.trim(), rest.trim().trim_end_matches('}').trim()))
                })
                .collect()
        });
    RULES.get(selector).copied().unwrap_or("")
}

/// A line break in the HTML source between blocks: together with [`ascii_only`] it keeps the
/// digest's HTML within 7bit's 998-character lines, so it goes out unencoded.
const NL: PreEscaped<&str> = PreEscaped("\n");

/// Non-ASCII characters as numeric character references (`é` → `&#xE9;`): the same page to
/// every HTML reader, and a body that needs no transfer encoding.
fn ascii_only(html: String) -> String {
    if html.is_ascii() {
        return html;
    }
    let mut out = String::with_capacity(html.len() + html.len() / 16);
    for c in html.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            out.push_str(&format!("&#x{:X};", u32::from(c)));
        }
    }
    out
}

fn page(title: &str, content: Markup, prefs_url: &str) -> String {
    let html = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                meta name="supported-color-schemes" content="light dark";
                title { (title) }
                (NL)
                style { (NL) (PreEscaped(CSS)) }
                (NL)
            }
            body style=(st("body")) {
                (NL)
                // Table layout: Outlook's Word engine ignores max-width and most layout on divs.
                table.wrap role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style=(st(".wrap")) {
                    tr { td align="center" {
                        (NL)
                        table.card role="presentation" width="640" cellpadding="0" cellspacing="0" border="0" style=(st(".card")) {
                            tr { td.pad style=(st(".pad")) { (NL) (content) (NL) } }
                            (NL)
                            tr { td.footer style=(st(".footer")) {
                                "You receive this because you are a member of a team on Tidings. "
                                a href=(prefs_url) style=(st("a")) { "Change your time zone, delivery times, workdays or time away" } "."
                            } }
                        }
                    } }
                }
                (NL)
            }
        }
    };
    ascii_only(html.into_string())
}

/// Data of an update request.
#[derive(Debug, Clone)]
pub struct RequestView<'a> {
    pub member_name: &'a str,
    pub local_date: NaiveDate,
    pub questions: &'a [String],
    pub prefs_url: &'a str,
    pub reminder: bool,
}

pub fn request_subject(v: &RequestView<'_>) -> String {
    let prefix = if v.reminder { "Reminder: " } else { "" };
    format!(
        "{prefix}Your update for {}",
        v.local_date.format("%a %-d %b")
    )
}

pub fn request_text(v: &RequestView<'_>) -> String {
    let mut s = format!("Hi {},\n\n", v.member_name);
    if v.reminder {
        s.push_str("We have not heard from you yet today. ");
    }
    s.push_str(&format!("Your update for {}:\n\n", long_date(v.local_date)));
    for q in v.questions {
        s.push_str(&format!("* {q}\n"));
    }
    s.push('\n');
    s.push_str(REQUEST_INTRO);
    s.push_str("\n-- \n");
    s.push_str(&footer(v.prefs_url));
    s
}

pub fn request_html(v: &RequestView<'_>) -> String {
    let content = html! {
        h1 style=(st("h1")) { "Your update for " (long_date(v.local_date)) }
        p style=(st("p")) { "Hi " (v.member_name) "," @if v.reminder { " we have not heard from you yet today." } }
        ul { @for q in v.questions { li { strong { (q) } } } }
        @for para in REQUEST_INTRO.split("\n\n") {
            @let lines: Vec<&str> = para.lines().collect();
            @let (prose, commands): (Vec<&str>, Vec<&str>) = lines.iter().partition(|l| !l.starts_with("  "));
            p.muted style=(st(".muted")) { (prose.join(" ")) }
            @if !commands.is_empty() {
                ul.muted style=(st(".muted")) { @for c in &commands { li { code { (c.trim()) } } } }
            }
        }
    };
    page(&request_subject(v), content, v.prefs_url)
}

/// One update as a digest shows it.
#[derive(Debug, Clone)]
pub struct DigestEntry {
    pub update_id: i64,
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
    pub sections: Vec<DigestSection>,
    pub prefs_url: &'a str,
    /// Where an entry's "read the rest" goes: this prefix and the update's id (the reader's
    /// own signed link, `…/p/TOKEN/updates/`).
    pub update_url: &'a str,
}

impl DigestView<'_> {
    /// Every entry of every section.
    pub fn entries(&self) -> impl Iterator<Item = &DigestEntry> {
        self.sections.iter().flat_map(|s| s.entries.iter())
    }

    /// (author, line) of every blocker line, in section order.
    fn blockers(&self) -> Vec<(&str, String)> {
        self.entries()
            .flat_map(|e| {
                sections::blocker_lines(&e.sections)
                    .into_iter()
                    .map(|b| (e.author.as_str(), b))
            })
            .collect()
    }
}

/// The blockers of an update: the lines of its blockers section ("Blockers:", "Blocked by …",
/// a localised label, the quoted question) that are not "none" (see [`crate::domain::sections`]).
pub fn blocker_lines(body: &str) -> Vec<String> {
    sections::blockers(body, &[])
}

/// `Team digest for Tue 10 Mar: 3 updates from 2 people, 1 blocker`.
pub fn digest_subject(v: &DigestView<'_>) -> String {
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
    m
}

/// The plain-text alternative, written for terminal clients (not stripped HTML).
pub fn digest_text(v: &DigestView<'_>) -> String {
    let mut s = format!(
        "{} {}, here is what your team wrote.\n\n",
        greeting(v.local_hour),
        v.reader_name
    );
    let blockers = v.blockers();
    if !blockers.is_empty() {
        s.push_str("BLOCKERS\n");
        for (a, b) in &blockers {
            s.push_str(&format!("  ! {a}: {b}\n"));
        }
        s.push('\n');
    }
    for sec in &v.sections {
        if let Some(team) = &sec.team {
            let head = format!("## {team}");
            s.push_str(&head);
            s.push_str("\n\n");
        }
        if sec.entries.is_empty() {
            s.push_str("No new updates.\n\n");
        }
        for e in &sec.entries {
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
            s.push_str(&head);
            s.push('\n');
            s.push_str(&"=".repeat(head.chars().count().min(72)));
            s.push('\n');
            let url = format!("{}{}", v.update_url, e.update_id);
            s.push_str(&entry::text(&entry::shown(&e.sections), &url));
            s.push('\n');
        }
        if !sec.missing.is_empty() {
            s.push_str(&format!(
                "No update yet from: {}\n\n",
                sec.missing.join(", ")
            ));
        }
    }
    s.push_str("-- \n");
    s.push_str(&footer(v.prefs_url));
    s
}

/// The HTML part: table layout with inline styles (Outlook, Gmail), dark mode through
/// `prefers-color-scheme`, member text escaped by maud.
pub fn digest_html(v: &DigestView<'_>) -> String {
    let blockers = v.blockers();
    let n = v.entries().count();
    let content = html! {
        h1 style=(st("h1")) { "Team digest" }
        (NL)
        p.muted style=(st(".muted")) { (long_date(v.date)) " · " (n) " update" (plural(n)) }
        (NL)
        @if !blockers.is_empty() {
            table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" {
                tr { td.blockers style=(st(".blockers")) {
                    strong { "Blockers" }
                    @for (a, b) in &blockers {
                        (NL)
                        p.blocker style=(st(".blocker")) { strong { (a) } ": " (b) }
                    }
                } }
            }
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
                table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" {
                    tr { td.update style=(st(".update")) {
                        span.who style=(st(".who")) { (e.author) }
                        span.muted style=(st(".muted")) { " · " (e.local_date.format("%a %-d %b")) " · " (e.author_tz) }
                        @for m in entry_marks(e) { span.tag style=(st(".tag")) { (m) } }
                        div.text style=(st(".text")) {
                            (entry::html(&entry::shown(&e.sections), &format!("{}{}", v.update_url, e.update_id)))
                        }
                    } }
                }
                (NL)
            }
            @if !sec.missing.is_empty() {
                p.muted style=(st(".muted")) { "No update yet from: " (sec.missing.join(",\n")) }
                (NL)
            }
        }
    };
    page(&digest_subject(v), content, v.prefs_url)
}

/// The receipt after an accepted reply: exactly what was kept.
pub fn receipt_text(
    member_name: &str,
    date: NaiveDate,
    kept: &[Section],
    edited: bool,
    attachments: &[String],
    prefs_url: &str,
) -> String {
    let mut s = format!(
        "Hi {member_name},\n\nThanks! {} update for {} now reads:\n\n",
        if edited { "Your edited" } else { "Your" },
        long_date(date)
    );
    for line in sections::to_text(kept).lines() {
        if !line.is_empty() {
            s.push_str("    ");
            s.push_str(line);
        }
        s.push('\n');
    }
    if !attachments.is_empty() {
        s.push_str(&format!(
            "\nAttachments are not stored; named in your update: {}\n",
            attachments.join(", ")
        ));
    }
    s.push_str("\nIf something is missing or too much was kept, reply with \"replace\" on the first line and your full update.\n-- \n");
    s.push_str(&footer(prefs_url));
    s
}

/// A short notice (command confirmations, why a reply could not be used).
pub fn notice_text(member_name: &str, message: &str, prefs_url: &str) -> String {
    format!("Hi {member_name},\n\n{message}\n-- \n{}", footer(prefs_url))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(author: &str, body: &str, edited: bool, late: bool) -> DigestEntry {
        DigestEntry {
            update_id: 1,
            // One member per name in these tests.
            author_id: author.bytes().map(i64::from).sum(),
            author: author.into(),
            author_tz: "Asia/Tokyo".into(),
            local_date: NaiveDate::from_ymd_opt(2026, 3, 8).unwrap(),
            sections: sections::split(body, &[]),
            edited,
            late,
        }
    }

    fn view(body: &str) -> DigestView<'static> {
        DigestView {
            reader_name: "Ann",
            date: NaiveDate::from_ymd_opt(2026, 3, 9).unwrap(),
            local_hour: Some(8),
            sections: vec![DigestSection {
                team: None,
                entries: vec![entry("Bob <script>", body, true, false)],
                missing: vec!["Cy".into()],
            }],
            prefs_url: "http://127.0.0.1:8080/p/x",
            update_url: "http://127.0.0.1:8080/p/x/updates/",
        }
    }

    #[test]
    fn member_text_is_escaped_in_html() {
        let h = digest_html(&view("<img src=x onerror=alert(1)>"));
        assert!(!h.contains("<img") && h.contains("&lt;img"));
        assert!(!h.contains("<script>"));
    }

    #[test]
    fn blockers_come_first_and_negatives_are_ignored() {
        assert_eq!(
            blocker_lines("Done: x\nBlockers: waiting on API keys"),
            vec!["waiting on API keys"]
        );
        assert!(blocker_lines("Blockers: none").is_empty());
        let t = digest_text(&view("Shipped it.\nBlocked by the vendor"));
        assert!(t.find("BLOCKERS").unwrap() < t.find("Shipped it.").unwrap());
        assert!(t.contains("[edited]") && t.contains("No update yet from: Cy"));
        let h = digest_html(&view("Shipped it.\nBlocked by the vendor"));
        assert!(h.find("Blockers").unwrap() < h.find("Shipped it.").unwrap());
    }

    #[test]
    fn every_inline_style_resolves_and_dark_mode_is_declared() {
        let h = digest_html(&view("a\nb"));
        assert!(
            !h.contains("style=\"\""),
            "a style name has no rule in email.css"
        );
        assert!(h.contains("prefers-color-scheme: dark"));
        assert!(h.contains(r#"name="color-scheme" content="light dark""#));
        assert!(
            h.contains("a<br>\nb"),
            "lines become <br>, not pre-wrap: {h}"
        );
        let r = request_html(&RequestView {
            member_name: "Ann",
            local_date: NaiveDate::from_ymd_opt(2026, 3, 9).unwrap(),
            questions: &["Done?".to_string()],
            prefs_url: "http://x/p/1",
            reminder: true,
        });
        assert!(!r.contains("style=\"\""));
    }

    #[test]
    fn digest_html_is_ascii_with_short_lines_so_it_needs_no_transfer_encoding() {
        let mut v = view("Zoë shipped it — finally.\nNext: café");
        v.sections[0].missing = (0..300).map(|i| format!("Member {i}")).collect();
        let h = digest_html(&v);
        assert!(h.is_ascii(), "{h}");
        assert!(h.contains("Zo&#xEB; shipped it &#x2014; finally."), "{h}");
        assert!(
            h.lines().all(|l| l.len() <= 998),
            "a line over 998 characters"
        );
    }

    #[test]
    fn the_greeting_follows_the_readers_local_hour() {
        let mut v = view("x");
        v.local_hour = Some(23);
        let t = digest_text(&v);
        assert!(t.starts_with("Hello Ann,"), "{t}");
        assert!(!t.contains("Good morning"), "{t}");
        v.local_hour = Some(8);
        assert!(digest_text(&v).starts_with("Good morning Ann,"));
        v.local_hour = Some(14);
        assert!(digest_text(&v).starts_with("Good afternoon Ann,"));
        v.local_hour = Some(19);
        assert!(digest_text(&v).starts_with("Good evening Ann,"));
    }

    #[test]
    fn the_subject_counts_people_not_names() {
        let mut v = view("x");
        let sam = |id| {
            let mut e = entry("Sam", "Did things", false, false);
            e.author_id = id;
            e
        };
        v.sections[0].entries = vec![sam(1), sam(2), sam(2)];
        assert!(
            digest_subject(&v).ends_with("3 updates from 2 people"),
            "{}",
            digest_subject(&v)
        );
    }

    #[test]
    fn several_teams_get_one_section_each_and_marks_show() {
        let v = DigestView {
            reader_name: "Ann",
            date: NaiveDate::from_ymd_opt(2026, 3, 9).unwrap(),
            local_hour: Some(8),
            sections: vec![
                DigestSection {
                    team: Some("core".into()),
                    entries: vec![entry("Bob", "Late work", false, true)],
                    missing: vec![],
                },
                DigestSection {
                    team: Some("infra".into()),
                    entries: vec![],
                    missing: vec!["Dee".into()],
                },
            ],
            prefs_url: "http://x/p/1",
            update_url: "http://x/p/1/updates/",
        };
        let t = digest_text(&v);
        assert!(
            t.find("## core").unwrap() < t.find("## infra").unwrap(),
            "{t}"
        );
        assert!(t.contains("Bob — Sun 8 Mar (Asia/Tokyo) [late]"), "{t}");
        assert!(t.contains("No new updates.") && t.contains("No update yet from: Dee"));
        let h = digest_html(&v);
        assert!(h.contains(">core</h2>") && h.contains(">infra</h2>"), "{h}");
        assert_eq!(
            digest_subject(&v),
            "Team digest for Mon 9 Mar: 1 update from 1 person"
        );
    }
}
