//! `format=flowed` (RFC 3676): a line that ends in a space continues on the next line of the
//! same quote depth. neomutt and mutt (`text_flowed`), vim with `fo+=w`, Thunderbird and Apple
//! Mail send it; read as fixed lines, a reply is stored with its soft line breaks as hard
//! ones, mid-sentence. Decoding joins each paragraph back into one line per quote depth.
//!
//! Tidings sends its own text parts flowed too ([`wrap`]): at most 72 characters a line,
//! never splitting a word or a URL, so an 80-column reader (s-nail, less, aerc) shows whole
//! words and a flowed reader rejoins the paragraphs.

/// The width outgoing text is wrapped to.
pub const WIDTH: usize = 72;

/// `text` as `format=flowed` lines of at most `width` characters (plus the soft break's
/// space): long lines are broken at spaces, each soft break a line ending in a space; a word
/// longer than `width` (a URL) stays whole on a line of its own. Trailing spaces of hard lines
/// are removed (they would read as soft breaks; a quoted line's too), lines starting with a
/// space or `From ` are space-stuffed, quoted lines (`>`) are not wrapped, and the signature
/// separator `-- ` is left as it is.
pub fn wrap(text: &str, width: usize) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    let ends_with_newline = text.ends_with('\n');
    let body = text.strip_suffix('\n').unwrap_or(text);
    for raw in body.split('\n') {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if raw == "-- " {
            out.push_str(raw);
            out.push('\n');
            continue;
        }
        // A quoted line is not wrapped, but its trailing spaces go too: "> " would read as a
        // soft break and join the next line to it.
        if raw.starts_with('>') {
            out.push_str(raw.trim_end_matches(' '));
            out.push('\n');
            continue;
        }
        let line = raw.trim_end_matches(' ');
        // Fits as it is (no more characters than bytes): most lines of a digest.
        if line.len() <= width {
            push_stuffed(&mut out, line);
            continue;
        }
        let ascii = line.is_ascii();
        let mut current = String::new();
        let mut current_len = 0usize;
        for (i, word) in line.split(' ').enumerate() {
            let wlen = if ascii {
                word.len()
            } else {
                word.chars().count()
            };
            if i > 0 {
                if current_len + 1 + wlen > width && current_len > 0 {
                    current.push(' ');
                    push_stuffed(&mut out, &current);
                    current.clear();
                    current_len = 0;
                } else {
                    current.push(' ');
                    current_len += 1;
                }
            }
            current.push_str(word);
            current_len += wlen;
        }
        push_stuffed(&mut out, &current);
    }
    if !ends_with_newline && out.ends_with('\n') {
        out.pop();
    }
    out
}

fn push_stuffed(out: &mut String, line: &str) {
    if line.starts_with(' ') || line.starts_with("From ") || line.starts_with('>') {
        out.push(' ');
    }
    out.push_str(line);
    out.push('\n');
}

/// The text of a `format=flowed` body as fixed lines: soft breaks joined (with `delsp`, the
/// space before each soft break removed, as `DelSp=yes` says), space-stuffing undone; a
/// joined quoted paragraph keeps the quote markers of its first line as written.
pub fn unflow(text: &str, delsp: bool) -> String {
    let mut out = String::with_capacity(text.len());
    // The paragraph being joined: its quote depth, its first line's quote prefix as
    // written, and its text so far.
    let mut open: Option<(usize, String)> = None;
    let mut prefix = String::new();
    let body = text.strip_suffix('\n').unwrap_or(text);
    for raw in body.split('\n') {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let depth = line.bytes().take_while(|&b| b == b'>').count();
        let mut content = &line[depth..];
        // Space-stuffing: one leading space was added to protect the line; remove it (after
        // quote markers, the space is kept as written: `> text`).
        let stuffed = content.starts_with(' ');
        if stuffed {
            content = &content[1..];
        }
        let this_prefix = &line[..depth + usize::from(stuffed && depth > 0)];
        // The signature separator is never flowed.
        let flowed = content.ends_with(' ') && content != "-- ";
        if let Some((d, _)) = &open
            && *d != depth
        {
            // A quote depth change ends a paragraph even after a soft break (RFC 3676 4.5).
            let (_, p) = open.take().unwrap_or_default();
            push_line(&mut out, &prefix, &p);
        }
        let piece = if flowed && delsp {
            &content[..content.len() - 1]
        } else {
            content
        };
        match open.as_mut() {
            Some((_, p)) => p.push_str(piece),
            None => {
                prefix = this_prefix.to_string();
                open = Some((depth, piece.to_string()));
            }
        }
        if !flowed && let Some((_, p)) = open.take() {
            push_line(&mut out, &prefix, &p);
        }
    }
    if let Some((_, p)) = open.take() {
        push_line(&mut out, &prefix, p.trim_end());
    }
    // Keep the text's own ending.
    if !text.ends_with('\n') && out.ends_with('\n') {
        out.pop();
    }
    out
}

fn push_line(out: &mut String, prefix: &str, text: &str) {
    out.push_str(prefix);
    out.push_str(text);
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapped_text_has_short_lines_whole_words_and_reads_back_the_same() {
        let url = "https://tidings.example.test/p/12.1767225600.c2lnbmF0dXJlLXRoYXQtaXMtbG9uZy1lbm91Z2gtdG8tYmUtYS1wcm9ibGVt";
        let text = format!(
            "Hi Ann,\n\nJust reply to this email: type above the quoted text, as you always do, and Tidings keeps only what you wrote, even when the line is long.\n\nYour preferences: {url} (valid 30 days)\n  skip\nFrom here on, a line that starts with From.\n> quoted, left as it is even when it is much longer than the width of seventy-two\n-- \nTidings   \n"
        );
        let w = wrap(&text, WIDTH);
        for line in w.lines() {
            let words = line.split(' ').filter(|w| !w.is_empty()).count();
            assert!(
                line.chars().count() <= WIDTH + 1 || words == 1 || line.starts_with('>'),
                "{line:?}"
            );
        }
        assert!(
            w.lines().any(|l| l.trim_end() == url),
            "the URL is whole on its own line:\n{w}"
        );
        assert!(w.contains("\n From here on"), "From is space-stuffed:\n{w}");
        assert!(
            w.contains("\n   skip\n"),
            "a leading space is stuffed:\n{w}"
        );
        assert!(w.contains("\n-- \nTidings\n"), "{w}");
        // A flowed reader gets the text back (trailing spaces of hard lines aside).
        assert_eq!(unflow(&w, false), text.replace("Tidings   \n", "Tidings\n"));
    }

    #[test]
    fn soft_breaks_are_joined_and_hard_ones_kept() {
        let t = "Shipped the CSV importer and fixed the two flaky tests in the \r\nbilling service.\r\nNext: review PR #42.\r\n";
        assert_eq!(
            unflow(t, false),
            "Shipped the CSV importer and fixed the two flaky tests in the billing service.\nNext: review PR #42.\n"
        );
        // DelSp=yes: the space before the break was added by the sender and goes.
        assert_eq!(unflow("foo\r\nbar baz\r\n", true), "foo\nbar baz\n");
        assert_eq!(unflow("ver \r\nsion 2\r\n", true), "version 2\n");
    }

    #[test]
    fn quotes_stuffing_and_the_signature_separator() {
        let t = "Done.\r\n\r\nOn Mon, Tidings wrote:\r\n> What did you get \r\n> done?\r\n>> older \r\n>> text\r\n \r\n From the stuffed line\r\n-- \r\nAnn\r\n";
        assert_eq!(
            unflow(t, false),
            "Done.\n\nOn Mon, Tidings wrote:\n> What did you get done?\n>> older text\n\nFrom the stuffed line\n-- \nAnn\n"
        );
        // A soft break before a change of quote depth does not join across it.
        assert_eq!(unflow("> quoted \r\nnew\r\n", false), "> quoted \nnew\n");
        // Sent: quoted lines are not wrapped, and lose the trailing spaces that would make
        // them soft breaks.
        assert_eq!(wrap("> \n> a plan  \nnext\n", WIDTH), ">\n> a plan\nnext\n");
    }
}
