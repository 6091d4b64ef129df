//! Outgoing mail: building RFC 5322 messages (multipart text + HTML, our headers) and the two
//! transports, SMTP (lettre, pooled, rustls) and Maildir (`.eml` files). Errors are classified
//! as transient (retry with backoff) or permanent (record, never retry).

use std::path::{Path, PathBuf};

use anyhow::Context;
use lettre::message::header::ContentTransferEncoding;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};
use lettre::{Address, Message};

pub use super::smtp::{SmtpPool, smtp_transport};
use crate::config::{Config, Transport};
use crate::domain::{EmailAddress, MailKind, clean_name};

/// Everything needed to build one outgoing email.
#[derive(Debug, Clone)]
pub struct Outgoing<'a> {
    pub kind: MailKind,
    pub from: &'a crate::domain::Mailbox,
    pub to_name: &'a str,
    pub to: &'a EmailAddress,
    pub reply_to: Option<&'a EmailAddress>,
    pub subject: &'a str,
    pub message_id: &'a str,
    pub in_reply_to: Option<&'a str>,
    pub text: String,
    pub html: Option<String>,
    /// One-click unsubscribe URL (RFC 8058) for List-Unsubscribe.
    pub unsubscribe_url: Option<&'a str>,
    /// The `List-Id` header value (RFC 2919), for requests, reminders and digests.
    pub list_id: Option<&'a str>,
    /// Unix seconds for the Date header.
    pub date: i64,
    /// The check-in a request or reminder asks for: `X-Tidings-Checkin`.
    pub checkin: Option<&'a str>,
}

fn header(name: &str, value: &str) -> anyhow::Result<HeaderValue> {
    let n = HeaderName::new_from_ascii(name.to_string())
        .map_err(|_| anyhow::anyhow!("bad header name {name}"))?;
    // CR/LF can never reach a header value from member data.
    let v: String = value.chars().filter(|c| *c != '\r' && *c != '\n').collect();
    Ok(HeaderValue::new(n, v))
}

/// An address as it goes into headers and the envelope: the domain in IDNA A-labels. A
/// non-ASCII local part (refused since, but possibly stored before) goes as it is, and only
/// to a server that offers SMTPUTF8 (see `smtp.rs`).
fn smtp_address(addr: &EmailAddress) -> String {
    addr.to_ascii()
        .unwrap_or_else(|_| addr.as_str().to_string())
}

fn mailbox(name: &str, addr: &EmailAddress) -> anyhow::Result<Mailbox> {
    let a: Address = smtp_address(addr)
        .parse()
        .with_context(|| format!("address {addr}"))?;
    let name = clean_name(name);
    Ok(Mailbox::new((!name.is_empty()).then_some(name), a))
}

/// What Exchange / Microsoft 365 may answer automatically (`X-Auto-Response-Suppress`). A
/// request or reminder suppresses delivery and read receipts (`DR, RN, NRN`) but lets an
/// out-of-office reply through, since that marks the member away (the whole point of
/// answering it); every other email suppresses everything (`All`): nobody needs to know a
/// digest or receipt reached an empty office. `Auto-Submitted: auto-generated` stays on all of
/// them, so RFC 3834 responders (Sieve vacation, most hosted autoresponders) stay silent.
pub fn auto_response_suppress(kind: MailKind) -> &'static str {
    match kind {
        MailKind::Request | MailKind::Reminder => "DR, RN, NRN",
        _ => "All",
    }
}

/// Builds the complete message bytes.
pub fn build(o: &Outgoing<'_>) -> anyhow::Result<Vec<u8>> {
    let mut b = Message::builder()
        .from(mailbox(o.from.name(), &o.from.address)?)
        .to(mailbox(o.to_name, o.to)?)
        .subject(clean_name_long(o.subject))
        .message_id(Some(o.message_id.to_string()))
        .date(std::time::UNIX_EPOCH + std::time::Duration::from_secs(o.date.max(0) as u64))
        .raw_header(header("X-Tidings-Kind", o.kind.as_str())?)
        .raw_header(header("Auto-Submitted", "auto-generated")?)
        .raw_header(header(
            "X-Auto-Response-Suppress",
            auto_response_suppress(o.kind),
        )?);
    if let Some(id) = o.list_id {
        b = b.raw_header(header("List-Id", id)?);
    }
    if let Some(c) = o.checkin {
        b = b.raw_header(header("X-Tidings-Checkin", c)?);
    }
    if let Some(r) = o.reply_to {
        b = b.reply_to(mailbox(o.from.name(), r)?);
    }
    if let Some(irt) = o.in_reply_to {
        b = b.in_reply_to(irt.to_string()).references(irt.to_string());
    }
    if let Some(u) = o.unsubscribe_url {
        b = b
            .raw_header(header("List-Unsubscribe", &format!("<{u}>"))?)
            .raw_header(header(
                "List-Unsubscribe-Post",
                "List-Unsubscribe=One-Click",
            )?);
    }
    // Flowed (RFC 3676), wrapped at 72: whole words and URLs on an 80-column screen, and
    // paragraphs rejoined by clients that read format=flowed.
    let text = SinglePart::builder()
        .header(ContentType::parse(
            "text/plain; charset=utf-8; format=flowed",
        )?)
        .body(part_body(&super::flowed::wrap(
            &o.text,
            super::flowed::WIDTH,
        )));
    let msg = match &o.html {
        Some(html) => b.multipart(
            MultiPart::alternative()
                .boundary(boundary(o.message_id))
                .singlepart(text)
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(part_body(html)),
                ),
        )?,
        None => b.singlepart(text)?,
    };
    Ok(msg.formatted())
}

/// The MIME boundary of a message, from its Message-ID: the same message built twice is the
/// same bytes (a digest composed again for a retry), and no text of the message can hold it
/// (a digest's Message-ID is random and unknown until it arrives).
fn boundary(message_id: &str) -> String {
    use sha2::Digest;
    let h = sha2::Sha256::digest(message_id.as_bytes());
    format!("tidings.{}", hex::encode(&h[..16]))
}

/// The longest line 7bit allows (RFC 5322: 998 characters before CRLF).
const MAX_7BIT_LINE: usize = 998;
/// The longest encoded line quoted-printable allows, the `=` of a soft break included.
const MAX_QP_LINE: usize = 76;

/// Encodes one MIME part in one pass over the text, line endings made CRLF: as 7bit when it is
/// ASCII with lines of at most 998 characters (the digest's HTML is written so: non-ASCII as
/// character references, a line break between blocks), else as quoted-printable. lettre's own
/// chooser would quoted-print every line over 76 characters and inserts the CRs one at a time,
/// which for a 100 KB digest cost more than rendering it.
pub fn part_body(s: &str) -> Body {
    let mut out = Vec::with_capacity(s.len() + s.len() / 8 + 64);
    // 7bit: ASCII without NUL, CR only before LF, no line over 998 characters.
    if s.is_ascii() && memchr::memchr(0, s.as_bytes()).is_none() && seven_bit(s, &mut out) {
        return Body::dangerous_pre_encoded(out, ContentTransferEncoding::SevenBit);
    }
    out.clear();
    for (i, line) in lines(s).enumerate() {
        if i > 0 {
            out.extend_from_slice(b"\r\n");
        }
        qp_line(line.as_bytes(), &mut out);
    }
    Body::dangerous_pre_encoded(out, ContentTransferEncoding::QuotedPrintable)
}

/// The lines of `s`, without their LF or CRLF.
fn lines(s: &str) -> impl Iterator<Item = &str> {
    s.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l))
}

/// Writes the ASCII text `s` to `out` with CRLF line ends; false (and `out` part written) when
/// a line is too long for 7bit or holds a bare CR.
fn seven_bit(s: &str, out: &mut Vec<u8>) -> bool {
    for (i, line) in lines(s).enumerate() {
        if line.len() > MAX_7BIT_LINE || memchr::memchr(b'\r', line.as_bytes()).is_some() {
            return false;
        }
        if i > 0 {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(line.as_bytes());
    }
    true
}

/// One line as quoted-printable (RFC 2045 6.7): printable ASCII but `=` as is, everything else
/// as `=XX`, space and tab at the end of the line encoded too, soft breaks (`=` CRLF) keeping
/// every encoded line within 76 characters.
fn qp_line(line: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    // Most lines: short, printable, not ending in a space: as they are.
    if line.len() <= MAX_QP_LINE
        && line
            .iter()
            .all(|&b| matches!(b, 33..=126 | b' ' | b'\t') && b != b'=')
        && !matches!(line.last(), Some(b' ' | b'\t'))
    {
        out.extend_from_slice(line);
        return;
    }
    let mut col = 0;
    for (i, &b) in line.iter().enumerate() {
        let last = i + 1 == line.len();
        let literal = match b {
            b' ' | b'\t' => !last,
            b'=' => false,
            33..=126 => true,
            _ => false,
        };
        let width = if literal { 1 } else { 3 };
        // Room for this character and, unless it ends the line, the `=` of a soft break.
        let room = if last { MAX_QP_LINE } else { MAX_QP_LINE - 1 };
        if col + width > room {
            out.extend_from_slice(b"=\r\n");
            col = 0;
        }
        if literal {
            out.push(b);
        } else {
            out.extend_from_slice(&[b'=', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        }
        col += width;
    }
}

fn clean_name_long(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(200).collect()
}

/// Why a send failed, as the outbox needs to know it.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// 4xx, connection refused, timeout, TLS hiccup: try again later.
    #[error("transient: {0}")]
    Transient(String),
    /// 5xx: recorded and never retried.
    #[error("permanent: {0}")]
    Permanent(String),
    /// The end of the data went out and no answer came back (a timeout, a connection cut):
    /// the server may have taken the message (RFC 1047), so it must not be sent again at once.
    #[error("unconfirmed (may have been delivered): {0}")]
    Unconfirmed(String),
}

/// Where outgoing mail goes.
#[derive(Clone)]
pub enum Sender {
    Smtp(SmtpPool),
    Maildir(PathBuf),
    /// DKIM-signs each message (`[mail.dkim]`), then hands it to the inner one.
    Signed(super::dkim::Signer, Box<Sender>),
}

/// A message made ready for its transport by [`Sender::prepare`]: for SMTP the data as it goes
/// on the wire (DKIM-signed when configured, dot-stuffed), for a Maildir the message itself.
/// Only the sender that prepared it can send it.
#[derive(Debug, Clone)]
pub struct Prepared {
    bytes: Vec<u8>,
    eight_bit: bool,
}

impl Prepared {
    /// Bytes on the wire (or in the file).
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

/// A message handed to its transport all but the last step, which [`Staged::finish`] takes:
/// over SMTP the end of the data, in a Maildir the rename into `new/`. Dropped unfinished,
/// the message is not delivered.
#[must_use = "the message goes nowhere until it is finished"]
pub enum Staged {
    Smtp(super::smtp::Staged),
    Maildir {
        dir: PathBuf,
        key: String,
        raw: Vec<u8>,
    },
}

impl Staged {
    /// Delivers: `Ok` once the server (or the file system) has the message.
    pub async fn finish(self) -> Result<(), SendError> {
        match self {
            Staged::Smtp(s) => s.finish().await,
            // A resend overwrites the file of the same key.
            Staged::Maildir { dir, key, raw } => {
                write_maildir(&dir, &key, &raw).map_err(|e| SendError::Transient(format!("{e:#}")))
            }
        }
    }
}

impl Sender {
    pub fn from_config(cfg: &Config) -> anyhow::Result<Sender> {
        let plain = match cfg.mail.transport {
            Transport::Maildir => {
                ensure_maildir(&cfg.mail.maildir.sent)?;
                Sender::Maildir(cfg.mail.maildir.sent.clone())
            }
            Transport::Smtp => Sender::Smtp(smtp_transport(&cfg.mail.smtp)?),
        };
        Ok(match super::dkim::Signer::from_config(cfg)? {
            Some(signer) => Sender::Signed(signer, Box::new(plain)),
            None => plain,
        })
    }

    /// The work of sending that needs only the CPU (signing, dot-stuffing), so it can be done
    /// away from the connections.
    pub fn prepare(&self, raw: Vec<u8>) -> Result<Prepared, SendError> {
        match self {
            Sender::Signed(signer, inner) => {
                // A message that cannot be signed would fail DMARC at the receiver: retried
                // (and so seen in `outbox list`) rather than sent unsigned.
                let signed = signer
                    .sign(&raw)
                    .map_err(|e| SendError::Transient(format!("{e:#}")))?;
                inner.prepare(signed)
            }
            Sender::Smtp(_) => Ok(Prepared {
                eight_bit: !raw.is_ascii(),
                bytes: super::smtp::wire::stuffed(raw),
            }),
            Sender::Maildir(_) => Ok(Prepared {
                eight_bit: !raw.is_ascii(),
                bytes: raw,
            }),
        }
    }

    /// Hands `msg` to the transport, all but the last step ([`Staged`]).
    pub async fn begin(
        &self,
        from: &EmailAddress,
        to: &EmailAddress,
        key: &str,
        msg: Prepared,
    ) -> Result<Staged, SendError> {
        match self {
            Sender::Signed(_, inner) => Box::pin(inner.begin(from, to, key, msg)).await,
            Sender::Smtp(t) => {
                let env = envelope(from, to)?;
                t.begin(&env, &msg.bytes, msg.eight_bit)
                    .await
                    .map(Staged::Smtp)
            }
            Sender::Maildir(dir) => Ok(Staged::Maildir {
                dir: dir.clone(),
                key: key.to_string(),
                raw: msg.bytes,
            }),
        }
    }

    /// Delivers raw message bytes to one recipient, all steps at once.
    pub async fn send(
        &self,
        from: &EmailAddress,
        to: &EmailAddress,
        key: &str,
        raw: &[u8],
    ) -> Result<(), SendError> {
        let msg = self.prepare(raw.to_vec())?;
        self.begin(from, to, key, msg).await?.finish().await
    }

    /// Checks that the SMTP server answers (and accepts our credentials).
    pub async fn test_connection(&self) -> anyhow::Result<()> {
        match self {
            Sender::Smtp(t) => t.test_connection().await,
            Sender::Maildir(dir) => ensure_maildir(dir),
            Sender::Signed(_, inner) => Box::pin(inner.test_connection()).await,
        }
    }
}

/// The SMTP envelope of one message: the domains in IDNA A-labels.
fn envelope(
    from: &EmailAddress,
    to: &EmailAddress,
) -> Result<lettre::address::Envelope, SendError> {
    let from = smtp_address(from)
        .parse()
        .map_err(|e| SendError::Permanent(format!("bad sender {from}: {e}")))?;
    let to = smtp_address(to)
        .parse()
        .map_err(|e| SendError::Permanent(format!("bad recipient {to}: {e}")))?;
    lettre::address::Envelope::new(Some(from), vec![to])
        .map_err(|e| SendError::Permanent(e.to_string()))
}

/// Creates `new/`, `cur/` and `tmp/` under `dir`.
pub fn ensure_maildir(dir: &Path) -> anyhow::Result<()> {
    for sub in ["new", "cur", "tmp"] {
        let p = dir.join(sub);
        std::fs::create_dir_all(&p)
            .with_context(|| format!("cannot create the Maildir folder {}", p.display()))?;
    }
    Ok(())
}

/// Writes into `tmp/` then renames into `new/` (the Maildir rule: readers never see half a
/// file). The name derives from the outbox key, so a resend after a crash overwrites the same
/// file instead of making a second one.
fn write_maildir(dir: &Path, key: &str, raw: &[u8]) -> anyhow::Result<()> {
    ensure_maildir(dir)?;
    let safe: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let name = format!("{safe}.tidings.eml");
    let tmp = dir.join("tmp").join(&name);
    std::fs::write(&tmp, raw).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, dir.join("new").join(&name))
        .context("cannot move the message into new/")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_messages_carry_our_headers_and_no_injected_lines() {
        let to = EmailAddress::parse("bob@example.test").unwrap();
        let rt = EmailAddress::parse("updates+tok@example.test").unwrap();
        let raw = build(&Outgoing {
            kind: MailKind::Request,
            checkin: None,
            from: &"Tidings <tidings@example.test>".parse().unwrap(),
            to_name: "Bob\r\nBcc: eve@evil.test",
            to: &to,
            reply_to: Some(&rt),
            subject: "What did you do?\r\nBcc: eve@evil.test",
            message_id: "<m1@example.test>",
            in_reply_to: None,
            text: "hello".into(),
            html: Some("<p>hello</p>".into()),
            unsubscribe_url: Some("http://127.0.0.1/u/x"),
            list_id: Some("\"Tidings: core\" <core.tidings.example.com>"),
            date: 1_700_000_000,
        })
        .unwrap();
        let s = String::from_utf8_lossy(&raw);
        for h in [
            "X-Tidings-Kind: request",
            "Auto-Submitted: auto-generated",
            // Out-of-office replies to a request come through: they mark the member away.
            "X-Auto-Response-Suppress: DR, RN, NRN",
            "List-Id: \"Tidings: core\" <core.tidings.example.com>",
            "List-Unsubscribe: <http://127.0.0.1/u/x>",
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
            "Message-ID: <m1@example.test>",
            "updates+tok@example.test",
        ] {
            assert!(s.contains(h), "missing {h} in\n{s}");
        }
        assert!(!s.lines().any(|l| l.starts_with("Bcc:")), "{s}");
        for kind in [MailKind::Digest, MailKind::Receipt, MailKind::Notice] {
            assert_eq!(auto_response_suppress(kind), "All");
        }
        assert_eq!(auto_response_suppress(MailKind::Reminder), "DR, RN, NRN");
    }

    /// The text part as a mail client reads it back from a whole message (one that reads
    /// format=flowed, as the part declares), and the part's encoding and encoded lines.
    fn round_trip(text: &str) -> (String, String, Vec<String>) {
        let to = EmailAddress::parse("bob@example.test").unwrap();
        let raw = build(&Outgoing {
            kind: MailKind::Digest,
            checkin: None,
            from: &"Tidings <tidings@example.test>".parse().unwrap(),
            to_name: "Bob",
            to: &to,
            reply_to: None,
            subject: "s",
            message_id: "<m1@example.test>",
            in_reply_to: None,
            text: text.to_string(),
            html: Some("<p>x</p>".into()),
            unsubscribe_url: None,
            list_id: None,
            date: 1_700_000_000,
        })
        .unwrap();
        let msg = mail_parser::MessageParser::default().parse(&raw).unwrap();
        let decoded = msg.body_text(0).map(|t| t.to_string()).unwrap_or_default();
        let decoded = crate::mail::flowed::unflow(&decoded, false).replace('\n', "\r\n");
        let part = part_body(text);
        let cte = match part.encoding() {
            ContentTransferEncoding::SevenBit => "7bit",
            ContentTransferEncoding::QuotedPrintable => "quoted-printable",
            _ => "other",
        };
        let lines = String::from_utf8(part.as_ref().to_vec()).unwrap();
        (
            decoded,
            cte.to_string(),
            lines.split("\r\n").map(str::to_string).collect(),
        )
    }

    #[test]
    fn ascii_with_short_lines_is_sent_as_7bit_and_everything_else_quoted_printable() {
        let (text, cte, _) = round_trip("Done: x\nNext: y\n");
        assert_eq!(
            (text.as_str(), cte.as_str()),
            ("Done: x\r\nNext: y\r\n", "7bit")
        );
        let long = "a".repeat(999);
        let (text, cte, lines) = round_trip(&long);
        assert_eq!((text, cte.as_str()), (long, "quoted-printable"));
        assert!(lines.iter().all(|l| l.len() <= 76), "{lines:?}");
        let (text, cte, lines) = round_trip("Zoë — café = ok \nnext\t\n");
        assert_eq!(cte, "quoted-printable");
        // A space ending a line would read as a soft break in format=flowed: it goes.
        assert_eq!(text, "Zoë — café = ok\r\nnext\t\r\n");
        assert!(
            lines.contains(&"Zo=C3=AB =E2=80=94 caf=C3=A9 =3D ok=20".to_string()),
            "{lines:?}"
        );
    }

    proptest::proptest! {
        /// Whatever the text, a client decodes it (line ends as CRLF), and no encoded line
        /// breaks the limit of its encoding.
        #[test]
        fn any_text_survives_the_encoding(text in "[ -~\t\nàé€😀=.]{0,400}") {
            let (decoded, cte, lines) = round_trip(&text);
            // format=flowed: what ends a line in spaces loses them (they would read as a
            // soft break); everything else comes back.
            let want: Vec<&str> = text.split('\n').map(|l| l.trim_end_matches(' ')).collect();
            proptest::prop_assert_eq!(decoded.replace("\r\n", "\n"), want.join("\n"));
            let limit = if cte == "7bit" { 998 } else { 76 };
            proptest::prop_assert!(lines.iter().all(|l| l.len() <= limit), "{:?}", lines);
        }
    }
}
