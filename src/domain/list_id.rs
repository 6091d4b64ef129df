//! The RFC 2919 `List-Id` of a team's mail, so people can filter each team's requests and
//! digests.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// The `List-Id` of team `team`'s mail: `"Tidings: NAME" <label.tidings.DOMAIN>`, the label
/// made of the name's letters and digits (lowercased, ASCII), other runs as one `-`
/// (`Core Team` → `core-team`); `None` (no team) is the list `members`.
///
/// The phrase is an ASCII quoted-string: an encoded-word (RFC 2047), which a mail library
/// writes for non-ASCII text, is not allowed inside quotes. So letters lose their diacritics
/// (`Ünïcode` → `Unicode`), other non-ASCII characters, quotes and backslashes are left out,
/// and a name with nothing left is described by its label.
pub fn list_id(team: Option<&str>, domain: &str) -> String {
    let name = team.unwrap_or("members");
    let mut label = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            label.push(c.to_ascii_lowercase());
        } else if !label.ends_with('-') {
            label.push('-');
        }
    }
    let label = label.trim_matches('-');
    let label = if label.is_empty() { "team" } else { label };
    let ascii: String = name
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .filter(|c| (c.is_ascii_graphic() || *c == ' ') && !matches!(c, '"' | '\\'))
        .collect();
    let description = ascii.split_whitespace().collect::<Vec<_>>().join(" ");
    let description = if description.is_empty() {
        label
    } else {
        &description
    };
    format!("\"Tidings: {description}\" <{label}.tidings.{domain}>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_ids_are_one_per_team_and_valid_dot_atoms() {
        assert_eq!(
            list_id(Some("Core Team"), "example.com"),
            "\"Tidings: Core Team\" <core-team.tidings.example.com>"
        );
        assert_eq!(
            list_id(None, "example.com"),
            "\"Tidings: members\" <members.tidings.example.com>"
        );
        assert_eq!(
            list_id(Some("ß"), "x.test"),
            "\"Tidings: team\" <team.tidings.x.test>"
        );
    }

    #[test]
    fn the_phrase_is_an_ascii_quoted_string() {
        assert_eq!(
            list_id(Some("\"Ünïcode\" ops!"), "x.test"),
            "\"Tidings: Unicode ops!\" <n-code-ops.tidings.x.test>"
        );
        assert_eq!(
            list_id(Some("Équipe \\ 東京\tnord"), "x.test"),
            "\"Tidings: Equipe nord\" <quipe-nord.tidings.x.test>"
        );
        for name in ["Ünïcode", "東京", "a\"b\\c", "é\u{1}x"] {
            let id = list_id(Some(name), "x.test");
            assert!(id.is_ascii() && !id.contains("=?"), "{id}");
            let phrase = &id[1..id.rfind("\" <").unwrap()];
            assert!(!phrase.contains(['"', '\\']), "{id}");
        }
    }
}
