//! Email views: pure functions from view data to text and HTML (maud, so member text is always
//! escaped). CSS and copy live in `templates/` and are embedded at compile time.

use chrono::NaiveDate;
use maud::{DOCTYPE, Markup, PreEscaped, html};

const CSS: &str = include_str!("../../templates/email.css");
const FOOTER: &str = include_str!("../../templates/footer.txt");
const REQUEST_INTRO: &str = include_str!("../../templates/request_intro.txt");

fn footer(prefs_url: &str) -> String {
    FOOTER.replace("{prefs_url}", prefs_url)
}

fn long_date(d: NaiveDate) -> String {
    d.format("%A, %-d %B %Y").to_string()
}

fn page(title: &str, content: Markup, prefs_url: &str) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                meta name="supported-color-schemes" content="light dark";
                title { (title) }
                style { (PreEscaped(CSS)) }
            }
            body {
                // Table layout: Outlook's Word engine ignores max-width on divs.
                table.wrap role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" {
                    tr { td align="center" {
                        table.card role="presentation" width="640" cellpadding="0" cellspacing="0" border="0" style="max-width:640px;width:100%" {
                            tr { td.pad { (content) } }
                            tr { td.footer {
                                "You receive this because you are a member of a team on Tidings. "
                                a href=(prefs_url) { "Change your time zone, delivery times, workdays or time away" } "."
                            } }
                        }
                    } }
                }
            }
        }
    }
    .into_string()
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
        h1 { "Your update for " (long_date(v.local_date)) }
        p { "Hi " (v.member_name) "," @if v.reminder { " we have not heard from you yet today." } }
        ul { @for q in v.questions { li { strong { (q) } } } }
        @for line in REQUEST_INTRO.lines() { p.muted { (line) } }
    };
    page(&request_subject(v), content, v.prefs_url)
}

/// One update as a digest shows it.
#[derive(Debug, Clone)]
pub struct DigestEntry {
    pub author: String,
    pub author_tz: String,
    pub local_date: NaiveDate,
    pub body: String,
    pub edited: bool,
    pub late: bool,
}

/// Data of one reader's digest.
#[derive(Debug, Clone)]
pub struct DigestView<'a> {
    pub reader_name: &'a str,
    pub date: NaiveDate,
    pub entries: Vec<DigestEntry>,
    /// Teammates with no update (listed, not nagged).
    pub missing: Vec<String>,
    pub prefs_url: &'a str,
}

/// Lines of an update that speak of a blocker (and are not "no blockers").
pub fn blocker_lines(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_section = false;
    for line in body.lines() {
        let l = line.trim();
        let low = l.to_lowercase();
        let mentions = low.starts_with("block")
            || low.contains("blocked")
            || low.contains("blocker")
            || low.contains("blocking");
        let negative = [
            "no block",
            "none",
            "nothing",
            "not blocked",
            "no blocker",
            "n/a",
            "nope",
        ]
        .iter()
        .any(|n| low.contains(n));
        if mentions {
            in_section = false;
            if negative {
                continue;
            }
            let rest = l.split_once(':').map(|(_, r)| r.trim()).unwrap_or(l);
            if rest.is_empty() {
                in_section = true;
            } else {
                out.push(l.to_string());
            }
        } else if in_section {
            if l.is_empty() || l.ends_with(':') {
                in_section = false;
            } else if !negative {
                out.push(l.to_string());
            }
        }
    }
    out
}

pub fn digest_subject(v: &DigestView<'_>) -> String {
    let authors: std::collections::BTreeSet<&str> =
        v.entries.iter().map(|e| e.author.as_str()).collect();
    format!(
        "Team digest for {}: {} update{} from {} {}",
        v.date.format("%a %-d %b"),
        v.entries.len(),
        if v.entries.len() == 1 { "" } else { "s" },
        authors.len(),
        if authors.len() == 1 {
            "person"
        } else {
            "people"
        }
    )
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

pub fn digest_text(v: &DigestView<'_>) -> String {
    let mut s = format!(
        "Good morning {}, here is what your team wrote.\n\n",
        v.reader_name
    );
    let blockers: Vec<(String, String)> = v
        .entries
        .iter()
        .flat_map(|e| {
            blocker_lines(&e.body)
                .into_iter()
                .map(|b| (e.author.clone(), b))
        })
        .collect();
    if !blockers.is_empty() {
        s.push_str("BLOCKERS\n");
        for (a, b) in &blockers {
            s.push_str(&format!("  ! {a}: {b}\n"));
        }
        s.push('\n');
    }
    for e in &v.entries {
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
        s.push_str(e.body.trim());
        s.push_str("\n\n");
    }
    if !v.missing.is_empty() {
        s.push_str(&format!("No update yet from: {}\n\n", v.missing.join(", ")));
    }
    s.push_str("-- \n");
    s.push_str(&footer(v.prefs_url));
    s
}

pub fn digest_html(v: &DigestView<'_>) -> String {
    let blockers: Vec<(String, String)> = v
        .entries
        .iter()
        .flat_map(|e| {
            blocker_lines(&e.body)
                .into_iter()
                .map(|b| (e.author.clone(), b))
        })
        .collect();
    let content = html! {
        h1 { "Team digest" }
        p.muted { (long_date(v.date)) " · " (v.entries.len()) " update" @if v.entries.len() != 1 { "s" } }
        @if !blockers.is_empty() {
            div.blockers {
                strong { "Blockers" }
                ul { @for (a, b) in &blockers { li { strong { (a) } ": " (b) } } }
            }
        }
        @for e in &v.entries {
            div.update {
                div {
                    strong { (e.author) }
                    span.muted { " · " (e.local_date.format("%a %-d %b")) " · " (e.author_tz) }
                    @for m in entry_marks(e) { span.tag { (m) } }
                }
                div.body { (e.body.trim()) }
            }
        }
        @if !v.missing.is_empty() {
            p.muted { "No update yet from: " (v.missing.join(", ")) }
        }
    };
    page(&digest_subject(v), content, v.prefs_url)
}

/// The receipt after an accepted reply: exactly what was kept.
pub fn receipt_text(
    member_name: &str,
    date: NaiveDate,
    kept: &str,
    edited: bool,
    attachments: &[String],
    prefs_url: &str,
) -> String {
    let mut s = format!(
        "Hi {member_name},\n\nThanks! {} update for {} now reads:\n\n",
        if edited { "Your edited" } else { "Your" },
        long_date(date)
    );
    for line in kept.trim().lines() {
        s.push_str("    ");
        s.push_str(line);
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

    fn view(body: &str) -> DigestView<'static> {
        DigestView {
            reader_name: "Ann",
            date: NaiveDate::from_ymd_opt(2026, 3, 9).unwrap(),
            entries: vec![DigestEntry {
                author: "Bob <script>".into(),
                author_tz: "Asia/Tokyo".into(),
                local_date: NaiveDate::from_ymd_opt(2026, 3, 8).unwrap(),
                body: body.into(),
                edited: true,
                late: false,
            }],
            missing: vec!["Cy".into()],
            prefs_url: "http://127.0.0.1:8080/p/x",
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
            vec!["Blockers: waiting on API keys"]
        );
        assert!(blocker_lines("Blockers: none").is_empty());
        let t = digest_text(&view("Shipped it.\nBlocked by the vendor"));
        assert!(t.find("BLOCKERS").unwrap() < t.find("Shipped it.").unwrap());
        assert!(t.contains("[edited]") && t.contains("No update yet from: Cy"));
    }
}
