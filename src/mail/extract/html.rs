//! A small, forgiving HTML-to-text converter with structural quote removal.
//!
//! Mail HTML is rarely well-formed, so this is a single-pass tokenizer with an element
//! stack, not a DOM: unknown tags are ignored, unmatched end tags are dropped, and an
//! unclosed quote container simply hides the rest of the document (which is where
//! quoted history lives anyway). Work is linear in the input size.

/// Tags whose content is never visible text.
const RAW_SKIP: &[&str] = &[
    "script", "style", "title", "head", "xml", "template", "noscript",
];

/// Void elements never get an end tag and are not pushed on the stack.
const VOID: &[&str] = &[
    "br", "hr", "img", "meta", "link", "input", "wbr", "col", "area", "base", "source", "param",
    "embed", "track", "basefont", "frame", "keygen",
];

/// Elements that start a new line.
const BLOCK: &[&str] = &[
    "div", "table", "tr", "ul", "ol", "section", "article", "header", "footer", "center",
    "address", "form", "fieldset", "dl", "dt", "dd", "nav", "aside", "main", "figure", "caption",
    "tbody", "thead", "tfoot", "pre",
];

/// Elements separated by a blank line.
const PARAGRAPH: &[&str] = &["p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"];

/// What to do with an element, decided from its name and attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Render normally.
    Normal,
    /// Hide the element and its content (a quote container or a signature).
    Hide,
    /// Hide the element and everything after it (Outlook reply header and below).
    HideRest,
}

/// A parsed start or end tag.
struct Tag<'a> {
    name: String,
    end: bool,
    self_closing: bool,
    attrs: &'a str,
}

/// Convert HTML to readable text. When `strip_quotes` is set, quote containers are
/// removed structurally (see [`role`]).
pub fn convert(html: &str, strip_quotes: bool) -> String {
    let lower = html.to_ascii_lowercase();
    let bytes = html.as_bytes();
    let mut out = Out::default();
    let mut stack: Vec<String> = Vec::new();
    let mut hide_depth: Option<usize> = None;
    let mut pre_depth: Option<usize> = None;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'<' {
            let next = memchr_lt(bytes, i);
            if hide_depth.is_none() {
                out.text(&decode_entities(&html[i..next]), pre_depth.is_some());
            }
            i = next;
            continue;
        }
        // Comments, doctype, processing instructions, CDATA.
        if lower[i..].starts_with("<!--") {
            i = lower[i + 4..]
                .find("-->")
                .map_or(bytes.len(), |p| i + 4 + p + 3);
            continue;
        }
        if lower[i..].starts_with("<!") || lower[i..].starts_with("<?") {
            i = lower[i..].find('>').map_or(bytes.len(), |p| i + p + 1);
            continue;
        }
        let Some((tag, after)) = parse_tag(html, &lower, i) else {
            // A lone '<' is text.
            if hide_depth.is_none() {
                out.text("<", pre_depth.is_some());
            }
            i += 1;
            continue;
        };
        i = after;
        let name = tag.name.as_str();
        if !tag.end && RAW_SKIP.contains(&name) {
            let close = format!("</{name}");
            i = lower[i..].find(&close).map_or(bytes.len(), |p| {
                let at = i + p;
                lower[at..].find('>').map_or(bytes.len(), |q| at + q + 1)
            });
            continue;
        }
        if tag.end {
            if let Some(pos) = stack.iter().rposition(|s| s == name) {
                stack.truncate(pos);
                if hide_depth.is_some_and(|d| stack.len() < d) {
                    hide_depth = None;
                }
                if pre_depth.is_some_and(|d| stack.len() < d) {
                    pre_depth = None;
                }
                if hide_depth.is_none() {
                    out.close(name);
                }
            }
            continue;
        }
        let role = if strip_quotes {
            role(name, tag.attrs)
        } else {
            Role::Normal
        };
        if hide_depth.is_none() {
            if role == Role::HideRest {
                break;
            }
            out.open(name, tag.attrs);
        }
        let void = VOID.contains(&name) || tag.self_closing;
        if void {
            continue;
        }
        // Implicitly close an open <p> / <li> on a new one (common in mail HTML).
        if (name == "p" || name == "li") && stack.last().is_some_and(|s| s == name) {
            stack.pop();
        }
        stack.push(tag.name.clone());
        if hide_depth.is_none() && role == Role::Hide {
            hide_depth = Some(stack.len());
        }
        if name == "pre" && pre_depth.is_none() {
            pre_depth = Some(stack.len());
        }
    }
    out.finish()
}

/// Next '<' at or after `from`, or the end.
fn memchr_lt(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|&b| b == b'<')
        .map_or(bytes.len(), |p| from + p)
}

/// Parse a tag starting at `i` (which holds '<'). Returns the tag and the index after '>'.
fn parse_tag<'a>(html: &'a str, lower: &str, i: usize) -> Option<(Tag<'a>, usize)> {
    let b = lower.as_bytes();
    let mut j = i + 1;
    let end = b.get(j) == Some(&b'/');
    if end {
        j += 1;
    }
    let name_start = j;
    while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b':' || b[j] == b'-') {
        j += 1;
    }
    if j == name_start || !b[name_start].is_ascii_alphabetic() {
        return None;
    }
    let name = lower[name_start..j].to_owned();
    // Find the closing '>' outside quoted attribute values.
    let attrs_start = j;
    let mut quote: Option<u8> = None;
    while j < b.len() {
        let c = b[j];
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == b'"' || c == b'\'' => quote = Some(c),
            None if c == b'>' => break,
            None => {}
        }
        j += 1;
    }
    let attrs = html.get(attrs_start..j.min(b.len())).unwrap_or("");
    let self_closing = attrs.trim_end().ends_with('/');
    Some((
        Tag {
            name,
            end,
            self_closing,
            attrs,
        },
        (j + 1).min(b.len()),
    ))
}

/// Value of attribute `key` in a raw attribute string (case-insensitive key).
fn attr<'a>(attrs: &'a str, key: &str) -> Option<&'a str> {
    let lower = attrs.to_ascii_lowercase();
    let mut from = 0;
    while let Some(p) = lower[from..].find(key) {
        let at = from + p;
        from = at + key.len();
        let boundary = at == 0
            || !lower.as_bytes()[at - 1].is_ascii_alphanumeric()
                && lower.as_bytes()[at - 1] != b'-';
        let rest = lower[from..].trim_start();
        if !boundary || !rest.starts_with('=') {
            continue;
        }
        let vstart = attrs.len() - rest.len() + 1;
        let v = attrs[vstart..].trim_start();
        let offset = attrs.len() - v.len();
        return Some(match v.as_bytes().first() {
            Some(&q @ (b'"' | b'\'')) => {
                let inner = &attrs[offset + 1..];
                inner.find(q as char).map_or(inner, |e| &inner[..e])
            }
            _ => {
                let e = v
                    .find(|c: char| c.is_whitespace() || c == '>')
                    .unwrap_or(v.len());
                &v[..e]
            }
        });
    }
    None
}

/// Quote and signature containers of the common clients.
fn role(name: &str, attrs: &str) -> Role {
    if name == "blockquote" {
        return Role::Hide;
    }
    if attrs.is_empty() {
        return Role::Normal;
    }
    let class = attr(attrs, "class").unwrap_or("").to_ascii_lowercase();
    let id = attr(attrs, "id").unwrap_or("").to_ascii_lowercase();
    let has_class = |c: &str| class.split_whitespace().any(|x| x == c || x.ends_with(c));
    if id == "divrplyfwdmsg"
        || id == "appendonsend"
        || id == "stopspelling"
        || id.starts_with("olk_src_body_section")
        || has_class("divrplyfwdmsg")
        || has_class("olk_src_body_section")
    {
        return Role::HideRest;
    }
    if has_class("gmail_quote")
        || has_class("gmail_quote_container")
        || has_class("gmail_attr")
        || has_class("moz-cite-prefix")
        || has_class("yahoo_quoted")
        || has_class("protonmail_quote")
        || has_class("zmail_extra")
        || has_class("gmail_signature")
        || has_class("moz-signature")
        || id == "applemailsignature"
        || id == "signature"
        || id.ends_with("yahoo_quoted")
    {
        return Role::Hide;
    }
    // Outlook 2007+ puts the reply header in a div with only a top border.
    if name == "div" {
        let style = attr(attrs, "style").unwrap_or("").to_ascii_lowercase();
        if style.contains("border-top:solid") && style.contains("padding:3.0pt") {
            return Role::HideRest;
        }
    }
    Role::Normal
}

/// Text output with whitespace collapsing and bounded blank lines.
#[derive(Default)]
struct Out {
    buf: String,
    /// Newlines owed before the next text (0, 1 or 2).
    breaks: u8,
    /// A space is owed before the next text.
    space: bool,
    /// Prefix owed after the breaks ("- " for list items).
    bullet: bool,
}

impl Out {
    fn want_breaks(&mut self, n: u8) {
        if !self.buf.is_empty() {
            self.breaks = self.breaks.max(n);
        }
        self.space = false;
    }

    fn text(&mut self, s: &str, pre: bool) {
        if pre {
            self.flush_breaks();
            self.buf.push_str(s);
            return;
        }
        for (k, word) in s.split(is_html_space).enumerate() {
            if k > 0 {
                self.space = true;
            }
            if word.is_empty() {
                continue;
            }
            if self.breaks > 0 || self.bullet {
                self.flush_breaks();
            } else if self.space && !self.buf.is_empty() && !self.buf.ends_with(['\n', ' ']) {
                self.buf.push(' ');
            }
            self.space = false;
            self.buf.push_str(word);
        }
    }

    fn flush_breaks(&mut self) {
        if !self.buf.is_empty() {
            while self.buf.ends_with(' ') {
                self.buf.pop();
            }
            let have = self.buf.chars().rev().take_while(|&c| c == '\n').count() as u8;
            for _ in have..self.breaks {
                self.buf.push('\n');
            }
        }
        self.breaks = 0;
        if self.bullet {
            self.buf.push_str("- ");
            self.bullet = false;
        }
    }

    fn open(&mut self, name: &str, attrs: &str) {
        match name {
            "br" => {
                // <br> is a hard line break, even twice in a row.
                while self.buf.ends_with(' ') {
                    self.buf.pop();
                }
                if self.breaks > 0 {
                    self.flush_breaks();
                }
                self.buf.push('\n');
                self.space = false;
            }
            "hr" => self.want_breaks(2),
            "li" => {
                self.want_breaks(1);
                self.bullet = true;
            }
            "td" | "th" => self.space = true,
            "img" => {
                // Keep the alt text of inline images only when it is meaningful text.
                if let Some(alt) =
                    attr(attrs, "alt").filter(|a| !a.trim().is_empty() && a.len() < 40)
                {
                    self.text(&decode_entities(alt), false);
                }
            }
            n if PARAGRAPH.contains(&n) => self.want_breaks(2),
            n if BLOCK.contains(&n) => self.want_breaks(1),
            _ => {}
        }
    }

    fn close(&mut self, name: &str) {
        match name {
            n if PARAGRAPH.contains(&n) => self.want_breaks(2),
            n if BLOCK.contains(&n) || n == "li" => self.want_breaks(1),
            _ => {}
        }
    }

    fn finish(self) -> String {
        let mut s = String::with_capacity(self.buf.len());
        for line in self.buf.split('\n') {
            s.push_str(line.trim_end());
            s.push('\n');
        }
        s.trim().to_owned()
    }
}

/// HTML whitespace (nbsp is text: it is decoded to a space-like char on purpose).
fn is_html_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c')
}

/// Decode character references (named subset, decimal and hex).
pub fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(p) = rest.find('&') {
        out.push_str(&rest[..p]);
        rest = &rest[p..];
        let end = rest[1..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '#'))
            .map(|e| e + 1);
        let (name, consumed) = match end {
            Some(e) => (
                &rest[1..e],
                if rest[e..].starts_with(';') { e + 1 } else { e },
            ),
            None => (&rest[1..], rest.len()),
        };
        match decode_one(name) {
            Some(c) if !name.is_empty() => {
                out.push_str(c.as_str());
                rest = &rest[consumed..];
            }
            _ => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn decode_one(name: &str) -> Option<String> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse::<u32>().ok()?,
        };
        let c = char::from_u32(code).unwrap_or('\u{fffd}');
        return Some(if c == '\u{a0}' {
            ' '.to_string()
        } else {
            c.to_string()
        });
    }
    let c = match name {
        "nbsp" | "ensp" | "emsp" | "thinsp" => " ",
        "amp" | "AMP" => "&",
        "lt" | "LT" => "<",
        "gt" | "GT" => ">",
        "quot" | "QUOT" => "\"",
        "apos" => "'",
        "mdash" => "—",
        "ndash" => "–",
        "hellip" => "…",
        "lsquo" => "‘",
        "rsquo" => "’",
        "ldquo" => "“",
        "rdquo" => "”",
        "laquo" => "«",
        "raquo" => "»",
        "bull" => "•",
        "middot" => "·",
        "copy" => "©",
        "reg" => "®",
        "trade" => "™",
        "euro" => "€",
        "pound" => "£",
        "yen" => "¥",
        "cent" => "¢",
        "sect" => "§",
        "deg" => "°",
        "times" => "×",
        "divide" => "÷",
        "shy" | "zwnj" | "zwj" => "",
        "agrave" => "à",
        "aacute" => "á",
        "acirc" => "â",
        "atilde" => "ã",
        "auml" => "ä",
        "aring" => "å",
        "aelig" => "æ",
        "ccedil" => "ç",
        "egrave" => "è",
        "eacute" => "é",
        "ecirc" => "ê",
        "euml" => "ë",
        "igrave" => "ì",
        "iacute" => "í",
        "icirc" => "î",
        "iuml" => "ï",
        "ntilde" => "ñ",
        "ograve" => "ò",
        "oacute" => "ó",
        "ocirc" => "ô",
        "otilde" => "õ",
        "ouml" => "ö",
        "oslash" => "ø",
        "ugrave" => "ù",
        "uacute" => "ú",
        "ucirc" => "û",
        "uuml" => "ü",
        "szlig" => "ß",
        "Agrave" => "À",
        "Aacute" => "Á",
        "Auml" => "Ä",
        "Aring" => "Å",
        "AElig" => "Æ",
        "Ccedil" => "Ç",
        "Eacute" => "É",
        "Egrave" => "È",
        "Ntilde" => "Ñ",
        "Ouml" => "Ö",
        "Oslash" => "Ø",
        "Uuml" => "Ü",
        _ => return None,
    };
    Some(c.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities() {
        assert_eq!(
            decode_entities("a &amp; b &lt;c&gt; &#233;&#x41; &bogus; &"),
            "a & b <c> éA &bogus; &"
        );
    }

    #[test]
    fn paragraphs_lists_and_links() {
        let t = convert(
            "<p>Hello <b>team</b>,</p><ul><li>one</li><li><a href='x'>two</a></li></ul><p>bye</p>",
            false,
        );
        assert_eq!(t, "Hello team,\n\n- one\n- two\n\nbye");
    }

    #[test]
    fn scripts_styles_and_comments_are_dropped() {
        let t = convert(
            "<style>p{x:1}</style><!-- c --><script>alert(1)</script><div>ok</div>",
            false,
        );
        assert_eq!(t, "ok");
    }

    #[test]
    fn attribute_lookup() {
        assert_eq!(
            attr(r#" class="gmail_quote x" id=abc"#, "class"),
            Some("gmail_quote x")
        );
        assert_eq!(
            attr(r#" data-class="no" class='yes'"#, "class"),
            Some("yes")
        );
        assert_eq!(attr(r#" id=abc"#, "id"), Some("abc"));
    }
}
