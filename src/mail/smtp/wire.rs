//! Message data as it goes on the wire after DATA (RFC 5321 4.5.2): a `.` doubled at the start
//! of every line, the data ending with CRLF. The end of data (`.` CRLF) is written on its own,
//! when the commit point allows.

/// The end of the data, written after [`stuffed`] bytes.
pub const END: &[u8] = b".\r\n";

/// `raw` dot-stuffed, ending with CRLF. A message with no line starting with a dot (nearly
/// every one: our headers never do, and digests rarely) is returned as it is, after one memchr
/// scan and without a copy. A line starts after CRLF only, as lettre's codec has it (our
/// messages are CRLF throughout; a bare LF is not a line end in SMTP).
pub fn stuffed(mut raw: Vec<u8>) -> Vec<u8> {
    if raw.first() != Some(&b'.') && memchr::memmem::find(&raw, b"\n.").is_none() {
        if !raw.ends_with(b"\r\n") {
            raw.extend_from_slice(b"\r\n");
        }
        return raw;
    }
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 512 + 8);
    let mut rest = raw.as_slice();
    let mut line_start = true;
    loop {
        if line_start && rest.first() == Some(&b'.') {
            out.push(b'.');
        }
        match memchr::memchr(b'\n', rest) {
            Some(i) => {
                out.extend_from_slice(&rest[..=i]);
                line_start = i > 0 && rest[i - 1] == b'\r';
                rest = &rest[i + 1..];
            }
            None => {
                out.extend_from_slice(rest);
                break;
            }
        }
    }
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{END, stuffed};

    fn data(raw: &[u8]) -> Vec<u8> {
        let mut d = stuffed(raw.to_vec());
        d.extend_from_slice(END);
        d
    }

    #[test]
    fn lines_starting_with_a_dot_are_doubled_and_the_data_ends_with_a_dot_line() {
        assert_eq!(data(b"a\r\n.b\r\n"), b"a\r\n..b\r\n.\r\n");
        assert_eq!(data(b".x\r\n.\r\nend"), b"..x\r\n..\r\nend\r\n.\r\n");
        // Only after CRLF: a dot inside a line or after a bare LF stays (as lettre's codec).
        assert_eq!(data(b"a.b\n.c"), b"a.b\n.c\r\n.\r\n");
        assert_eq!(data(b""), b"\r\n.\r\n");
        // Nothing to stuff: the same bytes, CRLF added at the end when missing.
        assert_eq!(data(b"a\r\nb.c"), b"a\r\nb.c\r\n.\r\n");
        assert_eq!(data(b"a\r\n"), b"a\r\n.\r\n");
    }

    proptest::proptest! {
        /// What the server reads back (undoing the stuffing up to the ending dot line) is the
        /// message, for any bytes.
        #[test]
        fn unstuffing_gives_the_message_back(lines in proptest::collection::vec("[.a-z \r]{0,6}", 0..12)) {
            let raw = lines.join("\r\n");
            let data = data(raw.as_bytes());
            let body = &data[..data.len() - 3]; // the ending ".\r\n"
            let mut back = Vec::new();
            for (i, line) in body.split(|&b| b == b'\n').enumerate() {
                if i > 0 { back.push(b'\n'); }
                let line = line.strip_prefix(b".").filter(|_| i == 0 || back.ends_with(b"\r\n")).unwrap_or(line);
                back.extend_from_slice(line);
            }
            let mut want = raw.clone().into_bytes();
            if !want.ends_with(b"\r\n") { want.extend_from_slice(b"\r\n"); }
            proptest::prop_assert_eq!(String::from_utf8_lossy(&back), String::from_utf8_lossy(&want));
        }
    }
}
