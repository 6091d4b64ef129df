//! Trailing signature and footer clean-up on the member's kept lines.
//!
//! The hard signature markers ("-- ", "Sent from my …", a valediction alone on its
//! line) are handled during the line walk in `quote.rs`, because they also end the
//! member's text. This module trims what is left at the very end: mailing-list footers
//! under a rule line and undelimited contact blocks (name, title, phone, address).

use super::patterns::{self, EMAIL, is_blank, is_separator};
use regex::Regex;
use std::sync::LazyLock;

/// Phone numbers, "Tel:"-style keys, web addresses and similar contact evidence.
static CONTACT: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)(?:\+?\d[\d\s().\-/]{6,}\d|^\s*\*?(?:tel|tél|phone|mobile|mobil|cell|fax|",
        r"skype|twitter|linkedin|web|www|e-?mail|kvk|btw|iban|vat|address|adres|adresse|",
        r"m|t|f|p|e)\*?\s*[.:]|https?://|www\.|\[image:|\|)"
    ))
    .ok()
});

/// Disclaimers and legal boilerplate at the end of a signature.
static DISCLAIMER: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)confidential|intended (?:only )?for|disclaimer|vertrouwelijk|vertraulich|",
        r"confidentiel|riservat|confidencial|poufn|конфиденциал|unsubscribe|mailing list"
    ))
    .ok()
});

/// Remove trailing footers and contact blocks from `kept`, then trailing blank lines.
pub fn strip_trailing(kept: &mut Vec<String>) {
    strip_rule_footer(kept);
    trim_end(kept);
    strip_contact_block(kept);
    trim_end(kept);
}

/// Drop trailing blank lines and bare rule lines.
fn trim_end(kept: &mut Vec<String>) {
    while kept.last().is_some_and(|l| is_blank(l) || is_separator(l)) {
        kept.pop();
    }
}

/// A short block under a rule line at the very end ("____\nriak-users mailing list\n…").
fn strip_rule_footer(kept: &mut Vec<String>) {
    loop {
        let Some(pos) = kept.iter().rposition(|l| {
            let t = l.trim();
            is_separator(t) && (t.starts_with('_') || t.starts_with('=') || t.chars().count() >= 10)
        }) else {
            return;
        };
        let after = kept[pos + 1..].iter().filter(|l| !is_blank(l)).count();
        if after > 6 {
            return;
        }
        kept.truncate(pos);
    }
}

/// An undelimited signature block at the end: a paragraph (or run of paragraphs) whose
/// lines are short and mostly contact details, led by a name-like line. Removed because
/// our digests show the member's update, not their business card.
fn strip_contact_block(kept: &mut Vec<String>) {
    // Paragraph boundaries from the end.
    let n = kept.len();
    if n == 0 {
        return;
    }
    let mut best: Option<usize> = None;
    let mut evidence = 0usize;
    let mut lines_in_block = 0usize;
    let mut i = n;
    while i > 0 {
        i -= 1;
        let line = kept[i].trim();
        if line.is_empty() {
            continue;
        }
        let is_contact = patterns::is_match(&CONTACT, line) || patterns::is_match(&EMAIL, line);
        let is_disclaimer = line.len() > 80 && patterns::is_match(&DISCLAIMER, line);
        if line.chars().count() > 80 && !is_disclaimer {
            break;
        }
        lines_in_block += 1;
        if lines_in_block > 16 {
            break;
        }
        if is_contact || is_disclaimer {
            evidence += 1;
        }
        // A candidate start: a name-like line right after a blank line (or at the top).
        let para_start = i == 0 || is_blank(&kept[i - 1]);
        if para_start && looks_like_name(line) && (evidence >= 2 && i > 0 || evidence >= 3) {
            best = Some(i);
        }
    }
    if let Some(b) = best {
        kept.truncate(b);
    }
}

/// "Karen The Green", "*Richard Lindhout* | *Owner*", "Mag. Eva Musterfrau".
fn looks_like_name(line: &str) -> bool {
    let t = line.trim().trim_matches('*');
    let head = t
        .split('|')
        .next()
        .unwrap_or(t)
        .trim()
        .trim_matches('*')
        .trim();
    let words: Vec<&str> = head.split_whitespace().collect();
    (2..=5).contains(&words.len())
        && !head.ends_with(['.', '!', '?', ':', ','])
        && words
            .iter()
            .all(|w| w.chars().next().is_some_and(|c| c.is_uppercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(s: &str) -> Vec<String> {
        s.lines().map(str::to_owned).collect()
    }

    #[test]
    fn mailing_list_footer_is_removed() {
        let mut k = lines(
            "Done with the migration.\n\n____\nteam mailing list\nhttp://lists.example.org/team",
        );
        strip_trailing(&mut k);
        assert_eq!(k, lines("Done with the migration."));
    }

    #[test]
    fn contact_block_is_removed() {
        let mut k = lines(
            "Shipped the invoice export.\n\nMarta Kowalska\nHead of Ops\nTel: +48 22 555 01 23\nmarta@example.pl",
        );
        strip_trailing(&mut k);
        assert_eq!(k, lines("Shipped the invoice export."));
    }

    #[test]
    fn ordinary_paragraphs_stay() {
        let mut k = lines("Yesterday: fixed login.\n\nToday: Review PR 42 with Sam Lee");
        let before = k.clone();
        strip_trailing(&mut k);
        assert_eq!(k, before);
    }
}

/// Drops a last paragraph that is only the sender's name as a sign-off ("Dev", "— Dev
/// Patel", "DP"), given the display name of `From`. Needs other text before it, so a reply
/// that is just a name stays as it is.
pub fn strip_sender_sign_off(text: &str, sender_name: &str) -> String {
    let norm = |s: &str| -> String {
        s.trim()
            .trim_start_matches(['-', '—', '–', '~', '/'])
            .trim_end_matches(['.', ',', '!'])
            .trim()
            .to_lowercase()
    };
    let name = norm(sender_name.trim_matches('"'));
    if name.is_empty() {
        return text.to_string();
    }
    let words: Vec<&str> = name.split_whitespace().collect();
    let mut forms = vec![name.clone()];
    if let Some(first) = words.first() {
        forms.push(first.to_string());
    }
    if words.len() >= 2 {
        forms.push(words.iter().filter_map(|w| w.chars().next()).collect());
    }
    let lines: Vec<&str> = text.trim_end().lines().collect();
    let n = lines.len();
    // The name alone on the last line, after a blank line, with text above that.
    if n < 3 || !lines[n - 2].trim().is_empty() {
        return text.to_string();
    }
    let last = norm(lines[n - 1]);
    if !forms.iter().any(|f| f.chars().count() >= 2 && *f == last) {
        return text.to_string();
    }
    let kept = lines[..n - 2].join("\n");
    if kept.trim().is_empty() {
        return text.to_string();
    }
    kept.trim_end().to_string()
}

#[cfg(test)]
mod sign_off_tests {
    use super::strip_sender_sign_off as strip;

    #[test]
    fn the_senders_own_name_as_a_sign_off_is_dropped() {
        let t = "Shipped the onboarding email.\nNext: A/B test.";
        for sign in ["Dev", "dev", "Dev Patel", "— Dev", "-Dev.", "DP"] {
            assert_eq!(strip(&format!("{t}\n\n{sign}"), "Dev Patel"), t, "{sign}");
        }
    }

    #[test]
    fn other_names_and_lone_names_stay() {
        let t = "Shipped it.\n\nAna";
        assert_eq!(strip(t, "Dev Patel"), t, "someone else's name is content");
        assert_eq!(
            strip("Dev", "Dev Patel"),
            "Dev",
            "a reply that is only a name"
        );
        let t = "Next: pair with\nDev";
        assert_eq!(strip(t, "Dev Patel"), t, "not apart from the text");
        assert_eq!(
            strip("Done.\n\nD", "D"),
            "Done.\n\nD",
            "one letter is too little"
        );
        assert_eq!(strip("Done.\n\nDev", ""), "Done.\n\nDev");
    }
}
