//! Email views: pure functions from view data to text and HTML (maud, so member text is always
//! escaped). CSS and copy live in `templates/` and are embedded at compile time.

pub mod chat;
mod digest;
pub mod draft;
pub mod entry;
pub mod export;
mod needs;
mod parts;
mod request;
mod summary;
pub mod team;
pub mod theme;

pub use digest::{
    Carried, CommentNote, DigestEntry, DigestSection, DigestView, Mentioned, ScaleLine,
    blocker_lines, digest_html, digest_parts, digest_parts_with, digest_subject, digest_text,
    greeting, mark,
};
pub use parts::EntryParts;
pub use request::{
    PLAN_LINES, RequestView, plan_lines, request_html, request_subject, request_text,
};

use chrono::NaiveDate;
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::domain::sections::{self, Section};

/// The emails' CSS: the theme's shared rules (pills) and `templates/email.css`, every
/// `var(--name)` replaced by the theme's value (mail clients ignore custom properties).
static CSS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    theme::resolve(&format!(
        "{}\n{}",
        theme::shared_rules(),
        include_str!("../../templates/email.css")
    ))
});
const FOOTER: &str = include_str!("../../templates/footer.txt");

/// The footer of the text part: why the reader gets it (naming their teams) and their link.
pub(crate) fn footer(prefs_url: &str, teams: &[String]) -> String {
    FOOTER
        .replace("{why}", &team::why(teams))
        .replace("{prefs_url}", prefs_url)
}

/// The inline style of a pill of `kind` (`blocker`, `resolved`, `late`, `edited`): the
/// `.pill` rule and its colour's.
fn pill_style(kind: &str) -> String {
    format!("{};{}", st(".pill"), st(&format!(".pill-{kind}")))
}

/// A pill (`span.pill.pill-{kind}`) saying `label`.
fn pill(kind: &str, label: &str) -> Markup {
    html! { span class=(format!("pill pill-{kind}")) style=(pill_style(kind)) { (label) } }
}

/// The first word of a name ("Ana" of "Ana Lima"): what a greeting uses.
/// A line of member text as HTML: a line ending in `title <https://…>` (a kept draft line)
/// shows its title as a link; any other line is text.
pub fn linked(line: &str) -> Markup {
    match crate::domain::text::line_link(line) {
        Some((bullet, title, url)) => html! { (bullet) a href=(url) { (title) } },
        None => html! { (line) },
    }
}

fn first_name(name: &str) -> &str {
    name.split_whitespace().next().unwrap_or(name)
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
            CSS.as_str()
                .lines()
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
    while let Some(i) = first_non_ascii(rest.as_bytes()) {
        out.push_str(&rest[..i]);
        let c = rest[i..].chars().next().unwrap_or_default();
        push_char_ref(&mut out, c);
        rest = &rest[i + c.len_utf8()..];
    }
    out.push_str(rest);
    out
}

/// The index of the first non-ASCII byte of `b`: 16 bytes at a time through the long ASCII
/// runs of a digest (a byte-by-byte search was a tenth of composing one).
fn first_non_ascii(b: &[u8]) -> Option<usize> {
    let mut at = 0;
    for chunk in b.chunks(16) {
        if chunk.is_ascii() {
            at += chunk.len();
            continue;
        }
        return chunk.iter().position(|b| !b.is_ascii()).map(|i| at + i);
    }
    None
}

/// `c` as a hexadecimal character reference, `&#xE9;`.
fn push_char_ref(out: &mut String, c: char) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let n = u32::from(c);
    out.push_str("&#x");
    let digits = (32 - n.leading_zeros()).div_ceil(4).max(1);
    for k in (0..digits).rev() {
        out.push(char::from(HEX[((n >> (4 * k)) & 0xF) as usize]));
    }
    out.push(';');
}

/// An HTML email: the card holding `content`, and a footer naming the reader's `teams`.
pub(crate) fn page(title: &str, content: Markup, prefs_url: &str, teams: &[String]) -> String {
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
                style { (NL) (PreEscaped(CSS.as_str())) }
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
                                (team::why(teams)) " "
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

/// Who a receipt or notice greets, and what its footer says: their name, teams and link.
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    pub name: &'a str,
    pub teams: &'a [String],
    pub prefs_url: &'a str,
}

/// The receipt after an accepted reply: exactly what was kept.
/// `what` is `update` for the stand-up, `answer to Friday wins` for another check-in.
pub fn receipt_text(
    r: Reader<'_>,
    what: &str,
    date: NaiveDate,
    kept: &[Section],
    edited: bool,
    attachments: &[String],
    note: &str,
) -> String {
    let mut s = format!(
        "Hi {},\n\nThanks! {} {what} for {} now reads:\n\n",
        first_name(r.name),
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
    s.push_str(&footer(r.prefs_url, r.teams));
    s
}

/// A short notice (command confirmations, why a reply could not be used).
pub fn notice_text(r: Reader<'_>, message: &str) -> String {
    format!(
        "Hi {},\n\n{message}\n-- \n{}",
        first_name(r.name),
        footer(r.prefs_url, r.teams)
    )
}

#[cfg(test)]
mod theme_tests {
    #[test]
    fn the_email_css_is_the_themes_with_every_value_filled_in() {
        let raw = include_str!("../../templates/email.css");
        assert_eq!(super::theme::unknown_vars(raw), Vec::<String>::new());
        assert!(!super::CSS.contains("var("), "{}", super::CSS.as_str());
        // The light values inline, the dark ones in the dark block.
        assert!(super::st("body").contains("background:#f4f5f7"));
        assert!(super::st(".pill-blocker").contains("background:#fff1f0"));
        let dark = &super::CSS[super::CSS.find("prefers-color-scheme: dark").unwrap()..];
        assert!(dark.contains("background: #0d1117 !important"), "{dark}");
    }
}

#[cfg(test)]
mod tests {
    use super::ascii_only;

    #[test]
    fn non_ascii_becomes_character_references_wherever_it_falls() {
        assert_eq!(ascii_only("plain".into()), "plain");
        assert_eq!(
            ascii_only("é · — 😀 a".into()),
            "&#xE9; &#xB7; &#x2014; &#x1F600; a"
        );
        // Around and across the 16-byte steps of the search.
        let long = format!("{}ü{}Ł", "x".repeat(15), "y".repeat(33));
        assert_eq!(
            ascii_only(long),
            format!("{}&#xFC;{}&#x141;", "x".repeat(15), "y".repeat(33))
        );
    }
}
