//! `format=flowed` (RFC 3676): a line that ends in a space continues on the next line of the
//! same quote depth. neomutt and mutt (`text_flowed`), vim with `fo+=w`, Thunderbird and Apple
//! Mail send it; read as fixed lines, a reply is stored with its soft line breaks as hard
//! ones, mid-sentence. Decoding joins each paragraph back into one line per quote depth.

/// The text of a `format=flowed` body as fixed lines: soft breaks joined (with `delsp`, the
/// space before each soft break removed, as `DelSp=yes` says), space-stuffing undone, quote
/// markers written `> ` per depth so quote detection reads them as before.
pub fn unflow(text: &str, delsp: bool) -> String {
    let mut out = String::with_capacity(text.len());
    // The paragraph being joined: its quote depth and text so far.
    let mut open: Option<(usize, String)> = None;
    let body = text.strip_suffix('\n').unwrap_or(text);
    for raw in body.split('\n') {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let depth = line.bytes().take_while(|&b| b == b'>').count();
        let mut content = &line[depth..];
        // Space-stuffing: one leading space was added to protect the line; remove it.
        if let Some(rest) = content.strip_prefix(' ') {
            content = rest;
        }
        // The signature separator is never flowed.
        let flowed = content.ends_with(' ') && content != "-- ";
        if let Some((d, _)) = &open
            && *d != depth
        {
            // A quote depth change ends a paragraph even after a soft break (RFC 3676 4.5).
            let (d, p) = open.take().unwrap_or_default();
            push_line(&mut out, d, &p);
        }
        let piece = if flowed && delsp {
            &content[..content.len() - 1]
        } else {
            content
        };
        match open.as_mut() {
            Some((_, p)) => p.push_str(piece),
            None => open = Some((depth, piece.to_string())),
        }
        if !flowed && let Some((d, p)) = open.take() {
            push_line(&mut out, d, &p);
        }
    }
    if let Some((d, p)) = open.take() {
        push_line(&mut out, d, p.trim_end());
    }
    // Keep the text's own ending.
    if !text.ends_with('\n') && out.ends_with('\n') {
        out.pop();
    }
    out
}

fn push_line(out: &mut String, depth: usize, text: &str) {
    if depth > 0 {
        out.push_str(&">".repeat(depth));
        out.push(' ');
    }
    out.push_str(text);
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
