//! Reply extraction: given the body of an e-mail reply, return only the new text the
//! member wrote — no quoted history, no signature, no mobile footer.
//!
//! This module owns everything between "raw bytes of a reply" and "the member's update
//! text": format detection, MIME decoding (via `mail-parser`), HTML-to-text conversion
//! with structural quote removal, and the plain-text rules.
//!
//! Conventions (the full rationale is in `docs/reply-conventions.md`):
//! - Quoted history is removed wherever it starts: attribution lines ("On … wrote:" in
//!   many languages, possibly wrapped over several lines), Outlook header blocks
//!   (≥ 2 localized "From:/Sent:/To:/Subject:" lines), "-----Original Message-----"
//!   separators and `>` blocks. Unquoted text *after* a `>` block (bottom-posting,
//!   inline answers) is kept.
//! - Signatures are removed: everything from an RFC 3676 "-- " delimiter, a mobile
//!   footer ("Sent from my iPhone", "Von meinem iPhone gesendet", …), a formal
//!   valediction alone on its line ("Best regards,", "Met vriendelijke groeten,") with
//!   the block below it, dash signatures ("-Alex"), mailing-list footers and
//!   undelimited contact blocks (name + phone/e-mail/address lines). Informal
//!   sign-offs ("Thanks,\nAlex", "LG, Eva") are kept: they are part of the message.
//! - A forwarded message ("---------- Forwarded message ----------") is kept whole: the
//!   member chose to share it.
//! - Never panics on any input; invalid UTF-8 is decoded lossily; work is linear in the
//!   input size and every regex is compiled once.

mod html;
mod patterns;
mod quote;
mod signature;

/// Input kind for `tidings reply extract --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Guess with [`detect_format`].
    Auto,
    /// A whole RFC 5322 message (headers, blank line, MIME body).
    Eml,
    /// A plain-text body.
    Text,
    /// An HTML body.
    Html,
}

/// Header names that mark the start of an RFC 5322 message.
const KNOWN_HEADERS: &[&str] = &[
    "from",
    "to",
    "cc",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "received",
    "return-path",
    "delivered-to",
    "reply-to",
    "in-reply-to",
    "references",
    "sender",
    "x-mailer",
    "user-agent",
    "dkim-signature",
    "authentication-results",
    "arc-seal",
    "x-received",
    "thread-topic",
    "thread-index",
];

/// Guess the format of raw bytes: an RFC 5322 message (header lines then blank line), a
/// bare HTML body, else text. Never returns [`Format::Auto`].
pub fn detect_format(input: &[u8]) -> Format {
    let head = &input[..input.len().min(64 * 1024)];
    let text = String::from_utf8_lossy(head);
    let text = text.trim_start_matches('\u{feff}');
    if looks_like_message(text) {
        return Format::Eml;
    }
    let t = text.trim_start();
    if t.starts_with('<') {
        let probe: String = t
            .chars()
            .take(4096)
            .collect::<String>()
            .to_ascii_lowercase();
        const TAGS: &[&str] = &[
            "<html",
            "<!doctype html",
            "<body",
            "<div",
            "<p>",
            "<p ",
            "<br",
            "<table",
            "<span",
            "<?xml",
            "<head",
            "<meta",
            "<font",
            "<blockquote",
            "<a ",
            "<b>",
            "<i>",
            "<ul",
            "<ol",
            "<h1",
            "<h2",
            "<h3",
            "<style",
            "<pre",
            "<center",
        ];
        if TAGS.iter().any(|tag| probe.contains(tag)) {
            return Format::Html;
        }
    }
    Format::Text
}

/// Header lines up to the first blank line, the first one a header, with at least one
/// well-known header name and at least two header fields (or one MIME field).
fn looks_like_message(text: &str) -> bool {
    let mut fields = 0;
    let mut known = 0;
    let mut mime = false;
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            return n > 0 && known > 0 && (fields >= 2 || mime);
        }
        if n > 0 && line.starts_with([' ', '\t']) {
            continue; // folded continuation
        }
        let Some((name, _)) = line.split_once(':') else {
            return false;
        };
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return false;
        }
        fields += 1;
        let name = name.to_ascii_lowercase();
        if KNOWN_HEADERS.contains(&name.as_str()) || name.starts_with("x-") {
            known += 1;
        }
        mime |= name == "mime-version" || name == "content-type";
        if n > 500 {
            return false;
        }
    }
    false
}

/// New text of a plain-text reply body.
pub fn reply_text(body: &str) -> String {
    quote::reply_text(body)
}

/// New text of an HTML reply body (quote containers like gmail_quote / blockquote /
/// Outlook divRplyFwdMsg removed structurally, then converted to readable text, then
/// [`reply_text`] rules).
pub fn reply_html(html: &str) -> String {
    quote::reply_text(&html::convert(html, true))
}

/// Convert HTML to readable plain text (paragraphs, `<br>`, lists as "- ", links as
/// text, entities decoded, no tags/styles/scripts).
pub fn html_to_text(html: &str) -> String {
    html::convert(html, false)
}

/// Whole RFC 5322 message: parse MIME with mail-parser, prefer text/plain, else the HTML
/// part; any charset; then extract. `None` when the bytes are not a parseable message.
pub fn reply_from_message(raw: &[u8]) -> Option<String> {
    let message = mail_parser::MessageParser::default().parse(raw)?;
    if message.headers().is_empty() {
        return None;
    }
    // text_body may list an HTML part when there is no text/plain alternative.
    let text_part = message
        .text_body
        .iter()
        .filter_map(|&id| message.part(id))
        .find(|p| p.is_text() && !p.is_text_html());
    if let Some(part) = text_part {
        return Some(reply_text(part.text_contents().unwrap_or("")));
    }
    let html_part = message
        .html_body
        .iter()
        .chain(message.text_body.iter())
        .filter_map(|&id| message.part(id))
        .find(|p| p.is_text_html());
    if let Some(part) = html_part {
        return Some(reply_html(part.text_contents().unwrap_or("")));
    }
    Some(String::new())
}

/// Dispatch on format ([`Format::Auto`] → [`detect_format`]).
pub fn extract(input: &[u8], format: Format) -> String {
    let format = match format {
        Format::Auto => detect_format(input),
        f => f,
    };
    match format {
        Format::Eml => {
            reply_from_message(input).unwrap_or_else(|| reply_text(&String::from_utf8_lossy(input)))
        }
        Format::Html => reply_html(&String::from_utf8_lossy(input)),
        Format::Text | Format::Auto => reply_text(&String::from_utf8_lossy(input)),
    }
}
