//! Plain text from the bits of HTML that feeds carry in titles and contents: tags dropped,
//! character references decoded, whitespace collapsed; and the links (`<a>`) of a fragment.
//!
//! This is not an HTML parser: it reads the shapes feeds produce (escaped once by the XML or
//! JSON layer) and is tolerant of anything else. A `<` that does not open a tag (`a < b`,
//! `<3`) is kept as text.

/// Inline elements whose tags are dropped without a space (`foo<em>bar</em>` stays one
/// word); any other tag becomes a space so that `<p>a</p><p>b</p>` reads "a b".
const INLINE: &[&str] = &[
    "a",
    "abbr",
    "b",
    "bdi",
    "bdo",
    "cite",
    "code",
    "data",
    "del",
    "dfn",
    "em",
    "font",
    "i",
    "ins",
    "kbd",
    "mark",
    "q",
    "relative-time",
    "s",
    "samp",
    "small",
    "span",
    "strong",
    "sub",
    "sup",
    "time",
    "tt",
    "u",
    "var",
    "wbr",
];

/// `s` as one line of plain text: tags and comments removed, character references decoded,
/// runs of whitespace (including no-break spaces) made one space, trimmed.
pub(super) fn plain(s: &str) -> String {
    collapse(&decode(&strip_tags(s)))
}

/// `s` with runs of whitespace made one space and trimmed.
pub(super) fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `s` cut to at most `max` characters, the last of them '…' when anything was cut.
pub(super) fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut cut: String = s.chars().take(max.saturating_sub(1)).collect();
    let kept = cut.trim_end().len();
    cut.truncate(kept);
    cut.push('…');
    cut
}

/// `s` without its tags and comments (see [`INLINE`] for which tags leave a space).
pub(super) fn strip_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        let tail = &rest[lt..];
        match tag_len(tail) {
            Some((len, inline)) => {
                if !inline {
                    out.push(' ');
                }
                rest = &tail[len..];
            }
            None => {
                out.push('<');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Length in bytes of the tag or comment at the start of `s` (which starts with '<') and
/// whether it is an inline element; None when `s` does not start with a tag.
fn tag_len(s: &str) -> Option<(usize, bool)> {
    if let Some(body) = s.strip_prefix("<!--") {
        // An unclosed comment runs to the end (as in HTML), which also keeps this linear.
        return Some(
            body.find("-->")
                .map_or((s.len(), true), |end| (4 + end + 3, true)),
        );
    }
    let after = s[1..].chars().next()?;
    if !(after.is_ascii_alphabetic() || matches!(after, '/' | '!' | '?')) {
        return None;
    }
    let end = tag_end(s)?;
    let name: String = s[1..end]
        .trim_start_matches('/')
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect::<String>()
        .to_ascii_lowercase();
    Some((end + 1, INLINE.contains(&name.as_str())))
}

/// Index of the '>' closing the tag at the start of `s`, skipping quoted attribute values.
fn tag_end(s: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices().skip(1) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '>') => return Some(i),
            (None, '<') => return None,
            _ => {}
        }
    }
    None
}

/// `s` with HTML character references decoded: the common named ones and all numeric ones.
/// Unknown or malformed references are kept as written.
pub(super) fn decode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let tail = &rest[amp..];
        match reference(tail) {
            Some((c, len)) => {
                out.push(c);
                rest = &tail[len..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The character of the reference at the start of `s` (which starts with '&') and its length.
fn reference(s: &str) -> Option<(char, usize)> {
    // References are short: look for the ';' among the next few characters only.
    let semi = s
        .char_indices()
        .skip(1)
        .take(12)
        .find(|(_, c)| *c == ';')?
        .0;
    let name = &s[1..semi];
    let c = if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse::<u32>().ok()?,
        };
        char::from_u32(code).filter(|c| *c != '\0')?
    } else {
        named(name)?
    };
    Some((c, semi + 1))
}

/// The named character references feeds use.
fn named(name: &str) -> Option<char> {
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        "hellip" => '…',
        "mdash" => '—',
        "ndash" => '–',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "laquo" => '«',
        "raquo" => '»',
        "middot" => '·',
        "bull" => '•',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "rarr" => '→',
        "larr" => '←',
        _ => return None,
    })
}

/// A link of an HTML fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Anchor {
    /// The `href` attribute, references decoded.
    pub href: String,
    /// The `title` attribute as plain text, when present.
    pub title: Option<String>,
    /// The link's text as plain text.
    pub text: String,
}

/// The `<a href=…>…</a>` links of `html`, in order.
pub(super) fn anchors(html: &str) -> Vec<Anchor> {
    let mut out = Vec::new();
    let lower = html.to_ascii_lowercase();
    let mut from = 0;
    while let Some(found) = lower[from..].find("<a") {
        let start = from + found;
        from = start + 2;
        let opens_a = lower[from..].starts_with(|c: char| c.is_ascii_whitespace());
        let Some(end) = opens_a.then(|| tag_end(&html[start..])).flatten() else {
            continue;
        };
        let tag = &html[start + 2..start + end];
        let body_start = start + end + 1;
        let body_end = lower[body_start..]
            .find("</a")
            .map_or(html.len(), |i| body_start + i);
        if let Some(href) = attribute(tag, "href") {
            out.push(Anchor {
                href: decode(&href),
                title: attribute(tag, "title").map(|t| plain(&t)),
                text: plain(&html[body_start..body_end]),
            });
        }
        from = body_end.max(from);
    }
    out
}

/// The value of attribute `name` in the inside of a start tag (`tag` excludes `<a` and `>`).
fn attribute(tag: &str, name: &str) -> Option<String> {
    let mut rest = tag;
    loop {
        rest = rest.trim_start();
        let name_len = rest
            .find(|c: char| c == '=' || c.is_whitespace())
            .unwrap_or(rest.len());
        if name_len == 0 {
            return None;
        }
        let this = &rest[..name_len];
        rest = rest[name_len..].trim_start();
        let value = if let Some(after) = rest.strip_prefix('=') {
            let after = after.trim_start();
            let (value, len) = match after.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let close = after[1..].find(q).map_or(after.len(), |i| i + 1);
                    (&after[1..close], (close + 1).min(after.len()))
                }
                _ => {
                    let end = after.find(char::is_whitespace).unwrap_or(after.len());
                    (&after[..end], end)
                }
            };
            rest = &after[len..];
            Some(value)
        } else {
            None
        };
        if this.eq_ignore_ascii_case(name) {
            return value.map(str::to_string);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_strips_decodes_and_collapses() {
        assert_eq!(plain("a <a href=\"x\">b</a>\n  c"), "a b c");
        assert_eq!(plain("<p>one</p><p>two</p>"), "one two");
        assert_eq!(plain("foo<em>bar</em>"), "foobar");
        assert_eq!(
            plain("Fish &amp; chips &#8212; &#x263A; &bogus; &"),
            "Fish & chips — ☺ &bogus; &"
        );
        assert_eq!(plain("a < b and c<3 <!-- note --> d"), "a < b and c<3 d");
        assert_eq!(plain("x&nbsp;&nbsp;y"), "x y");
        assert_eq!(plain("<a title=\"1 > 0\">ok</a>"), "ok");
        assert_eq!(plain("cut <b"), "cut <b");
        assert_eq!(plain("a <!-- unclosed <b>x</b>"), "a");
        assert_eq!(plain("&verylongnamethatisnot;"), "&verylongnamethatisnot;");
    }

    #[test]
    fn truncate_counts_characters() {
        assert_eq!(truncate("héllo", 5), "héllo");
        assert_eq!(truncate("héllo wörld", 7), "héllo…");
        assert_eq!(truncate("abcdefgh", 4).chars().count(), 4);
    }

    #[test]
    fn anchors_read_href_title_and_text() {
        let html = "<div><A class='x' HREF=\"/o/r/pull/2\" title=\"Fix &amp; ship\">o/r#2</A> \
                    <a href=/o/r>o/r</a><abbr>no</abbr><a name=\"top\">top</a></div>";
        let a = anchors(html);
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].href, "/o/r/pull/2");
        assert_eq!(a[0].title.as_deref(), Some("Fix & ship"));
        assert_eq!(a[0].text, "o/r#2");
        assert_eq!(a[1].href, "/o/r");
        assert_eq!(a[1].title, None);
        assert!(anchors("<a href=\"x").is_empty());
    }
}
