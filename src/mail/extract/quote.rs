//! Plain-text reply extraction: walk the lines once, recognise where quoted history
//! starts (attribution lines, Outlook header blocks, "original message" separators,
//! `>` blocks) and where the member's own text ends (signature delimiter, mobile
//! footers, valedictions), and keep the rest.
//!
//! The walk is a single forward pass with bounded look-around (a header spans at most
//! [`MAX_HEADER_LINES`] lines), so the cost is linear in the size of the body.

use super::patterns::{
    self, ANGLE_URL, DASH_NAME, DATE_LIKE, EMAIL, ENDS_WITH_ADDRESS, FORWARD_MARKER, HEADER_LEAD,
    HeaderKey, INLINE_ON, MOBILE_FOOTER, ORIGINAL_MESSAGE, VALEDICTION, VERB_ANY, VERB_AT_END,
    VERBLESS_START, is_blank, is_match, is_quoted, is_separator, is_sig_delimiter,
};
use super::signature;

/// An attribution line may wrap over this many lines ("On …, Name <\naddr> wrote:").
const MAX_HEADER_LINES: usize = 4;
/// Longer lines are never part of a quote header (keeps regex work bounded).
const MAX_HEADER_LINE_LEN: usize = 300;
/// A wrapped header as a whole stays short.
const MAX_HEADER_LEN: usize = 420;

/// New text of a plain-text reply body (see the module docs of `extract`).
pub fn reply_text(body: &str) -> String {
    let text = normalize_newlines(body);
    let lines: Vec<&str> = text.split('\n').collect();
    let (mut kept, forwarded) = select(&lines);
    signature::strip_trailing(&mut kept);
    let mut out = join(&kept);
    if let Some(start) = forwarded {
        // A forwarded message is content the member chose to share: keep it verbatim.
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        out.push_str(lines[start..].join("\n").trim());
    }
    out
}

/// CRLF / CR to LF, drop a BOM. Mail bodies arrive with any of these.
fn normalize_newlines(body: &str) -> String {
    let body = body.strip_prefix('\u{feff}').unwrap_or(body);
    if body.contains('\r') {
        body.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        body.to_owned()
    }
}

/// Join kept lines, dropping surrounding blank lines and trailing spaces.
fn join(kept: &[String]) -> String {
    let mut out = String::new();
    for line in kept {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let trimmed_start = out.trim_start_matches(['\n', ' ', '\t']);
    // Keep the indentation of the first line only if it is not a blank-line artefact.
    let start = out.len() - trimmed_start.len();
    let first_line_start = out[..start].rfind('\n').map_or(0, |p| p + 1);
    out[first_line_start..].trim_end().to_owned()
}

/// "Sent from my iPhone" and friends, in many languages. Bounded in length and shape so
/// that a sentence starting with "Sent from my desk, …" stays text.
pub(crate) fn is_mobile_footer(line: &str) -> bool {
    let t = line.trim();
    if t.is_empty() || t.len() > 200 {
        return false;
    }
    let stripped;
    let t = if t.contains('<') {
        stripped = patterns::replace_all(&ANGLE_URL, t, "");
        stripped.trim()
    } else {
        t
    };
    let t = t.trim_end_matches(['.', '!']);
    // A comma is only allowed before an appositive ("…Galaxy S7, an AT&T 4G LTE
    // smartphone"), not before a clause ("Sent from my desk, is much easier…").
    let comma_ok = t
        .split_once(", ")
        .is_none_or(|(_, after)| after.starts_with("a ") || after.starts_with("an "));
    t.len() <= 270
        && t.chars().count() <= 90
        && comma_ok
        && t.split_whitespace().count() <= 12
        && is_match(&MOBILE_FOOTER, t)
}

/// "Best regards," alone on its line: the start of a signature block.
pub(crate) fn is_valediction(line: &str) -> bool {
    let t = line.trim();
    !t.is_empty() && t.len() <= 60 && is_match(&VALEDICTION, t)
}

/// "-Alex", "— Dana Park": a short dash signature.
fn is_dash_name(line: &str) -> bool {
    let t = line.trim_start();
    t.len() <= 60 && t.starts_with(['-', '–', '—', '~']) && is_match(&DASH_NAME, t)
}

/// "-----Original Message-----" and localized forms.
pub(crate) fn is_original_message(line: &str) -> bool {
    line.len() <= 120 && is_match(&ORIGINAL_MESSAGE, line)
}

/// "---------- Forwarded message ---------" and localized forms.
fn is_forward_marker(line: &str) -> bool {
    line.len() <= 120 && is_match(&FORWARD_MARKER, line)
}

/// A quote header found by [`find_headers`].
#[derive(Debug, Clone)]
struct Header {
    /// Last line of the header.
    end: usize,
    /// Reply text sharing the first line with the header ("reply On … wrote:").
    prefix: Option<String>,
}

/// The line after `i` that is not blank, if any.
fn next_non_blank(lines: &[&str], i: usize) -> Option<usize> {
    (i..lines.len()).find(|&j| !is_blank(lines[j]))
}

fn ends_sentence(line: &str) -> bool {
    line.trim_end().ends_with(['.', '!', '?'])
}

/// Is the text `joined` (one or more header lines joined by spaces) an attribution
/// line? `next_quoted` says whether `>` lines follow, which lowers the bar.
fn is_attribution(joined: &str, next_quoted: bool) -> bool {
    let t = joined.trim();
    if t.is_empty() || t.len() > MAX_HEADER_LEN {
        return false;
    }
    let has_email = is_match(&EMAIL, t);
    let has_date = is_match(&DATE_LIKE, t);
    let colon_end = t.ends_with(':') || t.ends_with('：');
    if is_match(&VERB_AT_END, t) {
        // Without a colon ("… John <j@x.com> wrote", "---- Jane wrote ----") a sentence
        // could end the same way, so ask for an address, quoted lines below, or a
        // header-like start with a date.
        return if colon_end {
            has_email || has_date || next_quoted
        } else {
            has_email || next_quoted || (has_date && is_match(&HEADER_LEAD, t))
        };
    }
    if colon_end && is_match(&VERB_ANY, t) {
        return has_email || has_date;
    }
    // Verb-less: "2014-03-20 8:48 GMT+01:00 Rémi <r@x.com>:", "ср, 30 апр. 2025 г. в 15:19,
    // John <j@x.com>:". Requires a leading date, an address at the end and a date.
    (colon_end || next_quoted)
        && has_email
        && has_date
        && is_match(&ENDS_WITH_ADDRESS, t)
        && is_match(&VERBLESS_START, t)
}

/// The text of a line for header matching: quoted lines only count when they are a
/// bare "> wrote:" left over from a badly wrapped header.
fn header_text(line: &str) -> Option<&str> {
    if line.len() > MAX_HEADER_LINE_LEN {
        return None;
    }
    let t = line.trim();
    if let Some(rest) = t.strip_prefix('>') {
        let rest = rest.trim();
        return (rest.len() <= 24 && is_match(&VERB_AT_END, rest)).then_some(rest);
    }
    Some(t)
}

/// Can line `t` end a quote header? Cheap pre-filter before the windowed regex work.
fn may_end_header(t: &str) -> bool {
    t.ends_with([':', '：', '>', ')']) || is_match(&VERB_AT_END, t)
}

/// Find quote headers: map from first line to [`Header`]. Driven by the header's end
/// (the wrote-verb / colon), then extended upwards over wrapped lines.
fn find_headers(lines: &[&str]) -> Vec<Option<Header>> {
    let n = lines.len();
    let mut starts: Vec<Option<Header>> = vec![None; n];
    let mut last_end: Option<usize> = None;
    for e in 0..n {
        if last_end.is_some_and(|l| e <= l) {
            continue;
        }
        let Some(te) = header_text(lines[e]) else {
            continue;
        };
        if te.is_empty() {
            continue;
        }
        let next_quoted = next_non_blank(lines, e + 1).is_some_and(|j| is_quoted(lines[j]));
        if !next_quoted && !may_end_header(te) {
            continue;
        }
        // Smallest upward window [s..=e] that reads as an attribution.
        let mut found = None;
        let mut joined = String::new();
        let lowest = e.saturating_sub(MAX_HEADER_LINES - 1);
        let floor = last_end.map_or(0, |l| l + 1).max(lowest);
        let mut s = e;
        while let Some(ts) = header_text(lines[s]) {
            if ts.is_empty() || (s != e && (is_quoted(lines[s]) || ends_sentence(ts))) {
                break;
            }
            joined = if joined.is_empty() {
                ts.to_owned()
            } else {
                format!("{ts} {joined}")
            };
            if is_attribution(&joined, next_quoted) {
                found = Some(s);
                break;
            }
            if s == floor {
                break;
            }
            s -= 1;
        }
        let Some(mut s) = found else { continue };
        // Extend upwards over a header's first line that carries no verb ("Am 26.5.2017"),
        // also across one blank line when the header so far starts with a fragment ("<").
        let mut p = s;
        let mut crossed_fragment = false;
        let up_floor = last_end.map_or(0, |l| l + 1);
        while p > up_floor && s - p < MAX_HEADER_LINES {
            p -= 1;
            let t = lines[p].trim();
            if t.is_empty() {
                if crossed_fragment {
                    continue;
                }
                break;
            }
            if !t.chars().any(char::is_alphanumeric) {
                // A wrapped "<" or "(" left alone on its line.
                crossed_fragment = true;
                continue;
            }
            if t.len() < 150 && !ends_sentence(t) && !is_quoted(t) && is_match(&HEADER_LEAD, t) {
                s = p;
            }
            break;
        }
        // Extend downwards when the header's verb came before its colon line
        // ("Op za 8 mei 2021 om 12:09 schreef\nRichard <r@x.nl>:").
        let mut end = e;
        if !joined.ends_with([':', '：']) {
            for k in 1..=2 {
                let Some(t) = lines.get(e + k).and_then(|l| header_text(l)) else {
                    break;
                };
                if t.is_empty() || is_quoted(lines[e + k]) {
                    break;
                }
                joined.push(' ');
                joined.push_str(t);
                if joined.ends_with([':', '：']) {
                    if is_attribution(&joined, true) {
                        end = e + k;
                    }
                    break;
                }
            }
        }
        let prefix = inline_prefix(lines[s]);
        starts[s] = Some(Header { end, prefix });
        last_end = Some(end);
    }
    starts
}

/// Reply text before an English header on the same line ("reply--- On Wed, … wrote:").
fn inline_prefix(line: &str) -> Option<String> {
    if is_match(&HEADER_LEAD, line) {
        return None;
    }
    let m = patterns::find(&INLINE_ON, line)?;
    let before = line[..m.start()]
        .trim_end()
        .trim_end_matches(['-', ' '])
        .trim_end();
    (!before.is_empty()).then(|| before.to_owned())
}

/// Does an Outlook-style header block ("From:/Sent:/To:/Subject:") start at `i`?
fn is_header_block(lines: &[&str], i: usize) -> bool {
    let Some(first) = patterns::header_key(lines[i]) else {
        return false;
    };
    let mut keys = vec![first];
    let mut gap = 0;
    for line in lines.iter().skip(i + 1).take(8) {
        match patterns::header_key(line) {
            Some(k) => {
                keys.push(k);
                gap = 0;
            }
            None => {
                gap += 1;
                if gap > 1 {
                    break;
                }
            }
        }
    }
    let has = |k| keys.contains(&k);
    keys.len() >= 2
        && (has(HeaderKey::From)
            || (has(HeaderKey::Date) && (has(HeaderKey::To) || has(HeaderKey::Subject))))
}

/// End (exclusive) of a `>` block starting at `i`: quoted lines, blank lines between
/// them, and single unquoted lines that are wrapped pieces of a quoted line.
fn quote_run_end(lines: &[&str], i: usize) -> usize {
    let n = lines.len();
    let mut last = i;
    let mut j = i + 1;
    while j < n {
        let line = lines[j];
        if is_quoted(line) {
            last = j;
        } else if is_blank(line) {
            // Blank lines only belong to the block if more quoted lines follow.
        } else if j + 1 < n
            && is_quoted(lines[j + 1])
            && is_quoted(lines[j - 1])
            && looks_wrapped(lines[j - 1], line)
        {
            last = j;
        } else {
            break;
        }
        j += 1;
    }
    last + 1
}

/// Is `line` (unquoted, between two quoted lines) a piece of the quoted line above that
/// the sender's client wrapped without a `>`?
fn looks_wrapped(prev: &str, line: &str) -> bool {
    let t = line.trim();
    prev.trim().chars().count() >= 60
        || t.contains("http")
        || t.ends_with('>')
        || t.starts_with(|c: char| c.is_lowercase() || c.is_ascii_punctuation())
}

/// What the next non-blank line after a `>` block is.
fn is_plain_text_at(lines: &[&str], i: usize, headers: &[Option<Header>]) -> bool {
    let line = lines[i];
    !is_quoted(line)
        && headers[i].is_none()
        && !is_header_block(lines, i)
        && !is_sig_delimiter(line)
        && !is_separator(line)
        && !is_mobile_footer(line)
        && !is_valediction(line)
        && !is_original_message(line)
}

/// Select the member's lines. Returns the kept lines and, when the member forwarded a
/// message, the line where the forwarded part starts.
fn select(lines: &[&str]) -> (Vec<String>, Option<usize>) {
    let n = lines.len();
    let headers = find_headers(lines);
    let mut kept: Vec<String> = Vec::new();
    let mut seen_quote = false;
    let has_text = |kept: &[String]| kept.iter().any(|l| !is_blank(l));
    let mut i = 0;
    while i < n {
        let line = lines[i];
        if is_quoted(line) && headers[i].is_none() {
            let end = quote_run_end(lines, i);
            // A `>` block inside the member's own text (no attribution, text before and
            // after) is their own formatting; anything else is quoted history.
            let own = !seen_quote
                && has_text(&kept)
                && next_non_blank(lines, end).is_some_and(|j| is_plain_text_at(lines, j, &headers));
            if own {
                kept.extend(lines[i..end].iter().map(|l| (*l).to_owned()));
                i = end;
            } else {
                seen_quote = true;
                let next = next_non_blank(lines, end);
                // An answer written under a quoted question keeps the question: the block
                // ends with one of the request's questions (or a section label) and the
                // member's text follows at once.
                if let Some(j) = next
                    && is_plain_text_at(lines, j, &headers)
                    && let Some(q) = lines[i..end]
                        .iter()
                        .rev()
                        .find(|l| !is_blank(l.trim_start_matches(['>', ' '])))
                        .and_then(|l| crate::domain::sections::label_alone(l))
                {
                    if kept.last().is_some_and(|l| !is_blank(l)) {
                        kept.push(String::new());
                    }
                    kept.push(q);
                }
                // The blank lines after a removed block go with it, so that the text
                // around it closes up.
                i = next.unwrap_or(n);
            }
            continue;
        }
        if let Some(h) = &headers[i] {
            if let Some(p) = &h.prefix {
                kept.push(p.clone());
            }
            match next_non_blank(lines, h.end + 1) {
                None => break,
                Some(j) if is_quoted(lines[j]) => {
                    seen_quote = true;
                    i = j;
                    continue;
                }
                // A header at the very top with unquoted text below quotes nothing: the
                // text below is the reply (bottom-posting without `>`).
                Some(j) if !has_text(&kept) && !seen_quote => {
                    seen_quote = true;
                    i = j;
                    continue;
                }
                Some(_) => break,
            }
        }
        if !seen_quote && is_forward_marker(line) {
            return (kept, Some(i));
        }
        if is_original_message(line)
            || is_header_block(lines, i)
            || is_sig_delimiter(line)
            || is_mobile_footer(line)
        {
            break;
        }
        if is_valediction(line) && signature_follows(lines, i + 1) {
            break;
        }
        if is_dash_name(line)
            && next_non_blank(lines, i + 1).is_none_or(|j| !is_plain_text_at(lines, j, &headers))
        {
            i += 1;
            continue;
        }
        kept.push(line.to_owned());
        i += 1;
    }
    (kept, None)
}

/// After a valediction: only a short block (name, title, contact lines, a disclaimer)
/// before the end of the message or the quoted part (`>` lines, or Outlook's rule and
/// header block above an unquoted original).
fn signature_follows(lines: &[&str], from: usize) -> bool {
    let mut count = 0;
    let from = from.min(lines.len());
    for (j, line) in lines.iter().enumerate().skip(from) {
        if is_quoted(line)
            || is_original_message(line)
            || (is_separator(line) && is_header_block(lines, j + 1))
            || is_header_block(lines, j)
        {
            break;
        }
        if !is_blank(line) {
            count += 1;
            if count > 12 {
                return false;
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_and_delimiters() {
        assert!(is_separator("________________"));
        assert!(is_separator("-----"));
        assert!(!is_separator("--"));
        assert!(is_sig_delimiter("-- "));
        assert!(is_sig_delimiter("--"));
    }

    #[test]
    fn mobile_footer_shapes() {
        assert!(is_mobile_footer("Sent from my iPhone"));
        assert!(is_mobile_footer(
            "Get Outlook for iOS<https://aka.ms/o0ukef>"
        ));
        assert!(!is_mobile_footer(
            "Sent from my desk, is much easier then my mobile phone."
        ));
    }
}
