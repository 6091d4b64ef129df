//! Email views: pure functions from view data to text and HTML (maud, so member text is always
//! escaped). CSS and copy live in `templates/` and are embedded at compile time.

mod digest;
pub mod entry;
pub mod export;
mod summary;
pub mod theme;

pub use digest::{
    Carried, CommentNote, DigestEntry, DigestSection, DigestView, EntryParts, Mentioned,
    blocker_lines, digest_html, digest_parts, digest_parts_with, digest_subject, digest_text,
    greeting,
};

use chrono::NaiveDate;
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::domain::sections::{self, Section};

const CSS: &str = include_str!("../../templates/email.css");
const FOOTER: &str = include_str!("../../templates/footer.txt");
const REQUEST_INTRO: &str = include_str!("../../templates/request_intro.txt");

pub(crate) fn footer(prefs_url: &str) -> String {
    FOOTER.replace("{prefs_url}", prefs_url)
}

pub(crate) fn long_date(d: NaiveDate) -> String {
    d.format("%A, %-d %B %Y").to_string()
}

/// The inline declarations of one rule of `templates/email.css` (`body`, `.card`, ...), taken
/// from the part before the first `@media`. Inlined because Gmail's apps and Outlook drop or
/// ignore parts of `<style>`; the `<style>` block stays for dark mode and narrow screens,
/// whose rules win with `!important`. The rules are read once: a digest of a 100-member team
/// asks for them about 500 times.
fn st(selector: &str) -> &'static str {
    static RULES: std::sync::LazyLock<std::collections::HashMap<&'static str, String>> =
        std::sync::LazyLock::new(|| {
            CSS.lines()
                .take_while(|l| !l.starts_with("@media"))
                .filter_map(|l| {
                    let (sel, rest) = l.split_once('{')?;
                    Some((sel.trim(), compact(rest.trim().trim_end_matches('}'))))
                })
                .collect()
        });
    RULES.get(selector).map_or("", String::as_str)
}

/// Declarations without the spaces around `:` and `;` and the last `;`: an inline style is
/// repeated on every entry of a digest, so its bytes count 100 times over.
fn compact(decls: &str) -> String {
    decls
        .split(';')
        .filter_map(|d| {
            let (k, v) = d.split_once(':')?;
            Some(format!("{}:{}", k.trim(), v.trim()))
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// A line break in the HTML source between blocks: together with [`ascii_only`] it keeps the
/// digest's HTML within 7bit's 998-character lines, so it goes out unencoded.
const NL: PreEscaped<&str> = PreEscaped("\n");

/// Non-ASCII characters as numeric character references (`é` → `&#xE9;`): the same page to
/// every HTML reader, and a body that needs no transfer encoding.
pub(crate) fn ascii_only(html: String) -> String {
    if html.is_ascii() {
        return html;
    }
    let mut out = String::with_capacity(html.len() + html.len() / 16);
    // ASCII runs copied whole; each other character as a reference.
    let mut rest = html.as_str();
    while let Some(i) = rest.bytes().position(|b| !b.is_ascii()) {
        out.push_str(&rest[..i]);
        let c = rest[i..].chars().next().unwrap_or_default();
        let _ = std::fmt::Write::write_fmt(&mut out, format_args!("&#x{:X};", u32::from(c)));
        rest = &rest[i + c.len_utf8()..];
    }
    out.push_str(rest);
    out
}

pub(crate) fn page(title: &str, content: Markup, prefs_url: &str) -> String {
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
    /// The "Next" of the member's previous update, quoted so today's answer can start from it:
    /// its day and its lines.
    pub last_plan: Option<(NaiveDate, Vec<String>)>,
}

/// The most lines of a previous plan a request quotes.
pub const PLAN_LINES: usize = 5;
/// A quoted plan line is cut to this many characters.
const PLAN_CHARS: usize = 200;

/// What a request quotes of a previous update: the lines of its "Next" answers, bullets gone,
/// at most [`PLAN_LINES`] of [`PLAN_CHARS`] characters; empty when it planned nothing.
pub fn plan_lines(sections: &[Section]) -> Vec<String> {
    sections
        .iter()
        .filter(|s| s.kind == sections::Kind::Next)
        .flat_map(|s| s.text.lines())
        .map(|l| l.trim().trim_start_matches(['-', '*', '•', '+']).trim())
        .filter(|l| !l.is_empty() && !sections::is_none(l))
        .take(PLAN_LINES)
        .map(|l| {
            if l.chars().count() <= PLAN_CHARS {
                l.to_string()
            } else {
                let head: String = l.chars().take(PLAN_CHARS - 1).collect();
                format!("{}…", head.trim_end())
            }
        })
        .collect()
}

/// `Last time (Mon 30 Nov) you planned:`
fn plan_heading(d: NaiveDate) -> String {
    format!("Last time ({}) you planned:", d.format("%a %-d %b"))
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
    if let Some((d, lines)) = &v.last_plan {
        // Quoted ("> "), so a reply that quotes the request never takes it for the answer.
        s.push_str(&plan_heading(*d));
        s.push('\n');
        for l in lines {
            s.push_str(&format!("> {l}\n"));
        }
        s.push('\n');
    }
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
        @if let Some((d, lines)) = &v.last_plan {
            p.muted style=(st(".muted")) { (plan_heading(*d)) }
            blockquote style=(st("blockquote")) { @for (i, l) in lines.iter().enumerate() { @if i > 0 { br; } (l) } }
        }
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

/// The receipt after an accepted reply: exactly what was kept.
pub fn receipt_text(
    member_name: &str,
    date: NaiveDate,
    kept: &[Section],
    edited: bool,
    attachments: &[String],
    note: &str,
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
    if !note.is_empty() {
        s.push('\n');
        s.push_str(note);
    }
    s.push_str("\nIf something is missing or too much was kept, reply with \"replace\" on the first line and your full update.\n-- \n");
    s.push_str(&footer(prefs_url));
    s
}

/// A short notice (command confirmations, why a reply could not be used).
pub fn notice_text(member_name: &str, message: &str, prefs_url: &str) -> String {
    format!("Hi {member_name},\n\n{message}\n-- \n{}", footer(prefs_url))
}
