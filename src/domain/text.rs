//! Control characters in text that comes from outside: dropped from what is stored (an
//! update keeps its tabs and line breaks, nothing else), and made visible where a stranger's
//! text reaches a terminal (an escape sequence there can clear the screen or write the
//! clipboard).

use std::borrow::Cow;

/// `text` without control characters other than tab and line feed; CRLF and a lone CR become
/// LF.
pub fn without_controls(text: &str) -> Cow<'_, str> {
    if !text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push('\n');
            }
            '\n' | '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `text` for a terminal: every control character but line feed and tab written as an
/// escape (`ESC` → `\x1b`, C1 `CSI` → `\u{9b}`), so nothing in it is run by the terminal.
/// CRLF line ends are plain line ends.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\t' => out.push(c),
            c if c.is_control() && (c as u32) < 0x80 => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A line that ends in a link written `title <https://…>` (how a kept draft line is
/// stored, and how anyone may write one in plain text): the text before the title (a bullet,
/// kept as text), the title and the address. `None` for any other line, a title left empty,
/// or an address that is not `http(s)://` with no space or `<>` in it.
pub fn line_link(line: &str) -> Option<(&str, &str, &str)> {
    let t = line.trim_end();
    let body = t.strip_suffix('>')?;
    let open = body.rfind(" <")?;
    let url = &body[open + 2..];
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://"))
        || url.len() <= 8
        || url.contains(|c: char| c.is_whitespace() || c == '<' || c == '>' || c == '"')
    {
        return None;
    }
    let head = &body[..open];
    let bullet_end = head.len() - head.trim_start().len();
    let rest = &head[bullet_end..];
    let bullet_len = ["- ", "* ", "• ", "+ "]
        .iter()
        .find(|b| rest.starts_with(**b))
        .map_or(0, |b| b.len());
    let title = rest[bullet_len..].trim();
    if title.is_empty() || ["-", "*", "•", "+"].contains(&title) {
        return None;
    }
    Some((&head[..bullet_end + bullet_len], title, url))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_line_ending_in_an_address_in_angle_brackets_is_a_link() {
        assert_eq!(
            super::line_link("- opened pull request #212 <https://github.com/t/t/pull/212>"),
            Some((
                "- ",
                "opened pull request #212",
                "https://github.com/t/t/pull/212"
            ))
        );
        assert_eq!(
            super::line_link("Shipped it <http://x.test/a>  "),
            Some(("", "Shipped it", "http://x.test/a"))
        );
        assert_eq!(super::line_link("a <b@c.d>"), None);
        assert_eq!(super::line_link("<https://x.test/a>"), None);
        assert_eq!(super::line_link("- <https://x.test/a>"), None);
        assert_eq!(super::line_link("x <javascript:alert(1)>"), None);
        assert_eq!(super::line_link("x <https://a b>"), None);
        assert_eq!(super::line_link("x <https://>"), None);
        assert_eq!(super::line_link("plain text"), None);
    }

    use super::*;

    #[test]
    fn stored_text_keeps_tabs_and_line_breaks_only() {
        assert_eq!(without_controls("a\tb\nc"), "a\tb\nc");
        assert_eq!(
            without_controls("a\r\nb\rc\0d\u{2}e\u{3}\u{1b}[2J\u{7f}\u{9b}f"),
            "a\nb\ncde[2Jf"
        );
        assert!(matches!(without_controls("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn a_terminal_gets_escapes_not_control_characters() {
        let raw = "Subject: hi\r\n\r\n\u{1b}[2J\u{1b}]52;c;aGVsbG8=\u{7}\tend\u{9b}31m";
        let shown = escape_controls(raw);
        assert_eq!(
            shown,
            "Subject: hi\n\n\\x1b[2J\\x1b]52;c;aGVsbG8=\\x07\tend\\u{9b}31m"
        );
        assert!(
            !shown
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t')
        );
        assert_eq!(escape_controls("a lone\rCR"), "a lone\\x0dCR");
    }
}
