//! Mentions: `@ana` or `@ana@example.com` in an update. Pure parsing; who a handle names is
//! decided by [`matches`] over the members (the store reads them).

use super::Member;

/// The handles mentioned in `text`, lowercased, each once, in order: `@` at the start of a
/// word (not inside an address such as `bob@example.com`), then a handle of letters, digits
/// and `._%+-`, optionally `@domain`; punctuation after it is not part of it.
pub fn mentions(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let handle_char = |c: char| c.is_alphanumeric() || "._%+-".contains(c);
    let mut i = 0;
    while i < chars.len() {
        let starts_word = i == 0 || !(handle_char(chars[i - 1]) || chars[i - 1] == '@');
        if chars[i] != '@' || !starts_word {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        while j < chars.len() && handle_char(chars[j]) {
            j += 1;
        }
        // `@ana@example.com`: the address as the handle.
        if j < chars.len() && chars[j] == '@' {
            let mut k = j + 1;
            while k < chars.len() && (chars[k].is_alphanumeric() || ".-".contains(chars[k])) {
                k += 1;
            }
            if k > j + 1 {
                j = k;
            }
        }
        let handle: String = chars[i + 1..j].iter().collect::<String>();
        let handle = handle.trim_end_matches(['.', '-', '+', '%']).to_lowercase();
        if !handle.is_empty() && !out.contains(&handle) {
            out.push(handle);
        }
        i = j.max(i + 1);
    }
    out
}

/// Whether `handle` (from [`mentions`]) names member `m`: their address or an alias when it has
/// an `@`; else the local part of their address, their first name, or their whole name without
/// spaces, all compared lowercased.
pub fn matches(handle: &str, m: &Member) -> bool {
    if handle.contains('@') {
        return m.email.as_str() == handle || m.aliases.iter().any(|a| a.as_str() == handle);
    }
    let name = m.name.to_lowercase();
    m.email.local_part().to_lowercase() == handle
        || name.split_whitespace().next() == Some(handle)
        || name.split_whitespace().collect::<String>() == handle
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_read_from_words_not_addresses() {
        assert_eq!(
            mentions("Pairing with @ana, then @Ben.Carter and @dev@demo.example."),
            ["ana", "ben.carter", "dev@demo.example"]
        );
        assert_eq!(mentions("mail bob@example.com, @ana again @ana"), ["ana"]);
        assert!(mentions("no @ here, @ alone, a@b").is_empty());
        assert_eq!(mentions("(@chiaki)"), ["chiaki"]);
    }
}
