//! Raw inbound bytes → an [`Inbound`] reply: identity headers, where it was addressed, whether it
//! is an auto-reply or a bounce, and the new text the person wrote (via [`super::extract`]).
//! Pure and total: any bytes give a result, never a panic.

use mail_parser::{Address, HeaderValue, MessageParser, MimeHeaders};
use sha2::{Digest, Sha256};

use crate::domain::EmailAddress;

/// What the service needs to know about one inbound message.
#[derive(Debug, Clone, Default)]
pub struct Inbound {
    /// The Message-ID without angle brackets; a content hash when the message has none.
    pub message_id: String,
    pub from: Option<EmailAddress>,
    /// Every recipient address (To, Cc, Delivered-To, X-Original-To, Envelope-To).
    pub recipients: Vec<EmailAddress>,
    /// In-Reply-To and References, without angle brackets.
    pub references: Vec<String>,
    pub subject: String,
    /// Why this is an automatic message (auto-reply, bounce, list), if it is one.
    pub automatic: Option<String>,
    /// A delivery status notification (bounce).
    pub bounce: bool,
    /// An auto-reply (out-of-office, vacation notice) rather than a bounce or list mail: only
    /// these may carry a return date.
    pub auto_reply: bool,
    /// The recipients a bounce reports on, with their `Status` (`5.1.1`; empty when missing).
    pub bounced: Vec<BouncedRecipient>,
    /// When the message says it was written (`Date:`).
    pub date: Option<chrono::DateTime<chrono::Utc>>,
    /// Every `Authentication-Results` value, topmost first: which of them counts is decided
    /// with the configured authserv-ids ([`Inbound::verdict`]).
    pub auth_results: Vec<String>,
    /// How many addresses the From header holds (a message from several is nobody's).
    pub from_count: usize,
    /// The `Sender:` address, when the message has one.
    pub sender: Option<EmailAddress>,
    /// The new text of the reply.
    pub text: String,
    /// File names of attachments.
    pub attachments: Vec<String>,
    /// The text is not readable: binary data or a broken encoding (NUL bytes, many control or
    /// replacement characters). Such a message is quarantined rather than stored as an update.
    pub garbled: bool,
}

impl Inbound {
    /// What the receiving server (one of the `trusted` authserv-ids) says about the From.
    pub fn verdict(&self, trusted: &[String]) -> super::auth::Verdict {
        let domain = self.from.as_ref().map(|f| f.domain()).unwrap_or_default();
        super::auth::verdict(&self.auth_results, trusted, domain)
    }
}

/// Whether extracted text looks like binary data rather than something a person wrote.
fn is_garbled(text: &str) -> bool {
    let mut total = 0usize;
    let mut bad = 0usize;
    for c in text.chars() {
        total += 1;
        if c == '\0' {
            return true;
        }
        if (c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0c')) || c == '\u{fffd}' {
            bad += 1;
        }
    }
    // A stray replacement character in a long reply is a charset slip, not garbage.
    bad > 0 && bad * 50 > total
}

/// One recipient of a delivery status notification (RFC 3464).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BouncedRecipient {
    /// `Original-Recipient`, else `Final-Recipient`: the address we sent to.
    pub address: EmailAddress,
    /// The `Status` code, e.g. `5.1.1`.
    pub status: String,
}

impl BouncedRecipient {
    /// A permanent failure (status class 5): the address does not work.
    pub fn is_hard(&self) -> bool {
        self.status.starts_with('5')
    }
}

/// Why a message cannot even be read.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct Unreadable(pub String);

/// A stable id for a message: its Message-ID, else a hash of its bytes.
pub fn message_id_of(raw: &[u8]) -> String {
    if let Some(m) = MessageParser::default().parse_headers(raw)
        && let Some(id) = m.message_id()
    {
        let id = id.trim().trim_matches(['<', '>']);
        // A control character (a NUL above all, which PostgreSQL text refuses) is never part
        // of a real Message-ID: such a message is identified by its bytes instead.
        if !id.is_empty() && id.len() < 900 && !id.chars().any(char::is_control) {
            return id.to_string();
        }
    }
    format!(
        "sha256-{}@tidings.invalid",
        hex::encode(Sha256::digest(raw))
    )
}

fn addresses(a: Option<&Address<'_>>) -> Vec<EmailAddress> {
    let Some(a) = a else { return Vec::new() };
    a.iter()
        .filter_map(|x| x.address.as_deref())
        .filter_map(|s| EmailAddress::parse(s).ok())
        .collect()
}

/// Message-IDs from In-Reply-To / References; ids with control characters cannot be ours and
/// are dropped (PostgreSQL text refuses NUL, so they could not even be looked up).
fn id_list(v: &HeaderValue<'_>) -> Vec<String> {
    let ids: Vec<&str> = match v {
        HeaderValue::Text(t) => vec![t.as_ref()],
        HeaderValue::TextList(l) => l.iter().map(|t| t.as_ref()).collect(),
        _ => Vec::new(),
    };
    ids.into_iter()
        .map(|t| t.trim_matches(['<', '>']))
        .filter(|t| !t.is_empty() && !t.chars().any(char::is_control))
        .map(str::to_string)
        .collect()
}

/// A header value as it may be quoted in a stored reason: no control characters (NUL would
/// not fit a PostgreSQL text column), at most 100 characters.
fn quotable(v: &str) -> String {
    v.chars().filter(|c| !c.is_control()).take(100).collect()
}

const AUTO_SUBJECTS: &[&str] = &[
    "out of office",
    "out of the office",
    "automatic reply",
    "auto reply",
    "autoreply",
    "auto-reply",
    "away from my desk",
    "on vacation",
    "on holiday",
    "abwesenheit",
    "automatische antwort",
    "nicht im büro",
    "absence",
    "réponse automatique",
    "absent du bureau",
    "respuesta automática",
    "fuera de la oficina",
    "risposta automatica",
    "fuori ufficio",
    "afwezig",
    "automatisch antwoord",
    "resposta automática",
    "ausência",
    "automatyczna odpowiedź",
    "nieobecność",
    "frånvaro",
    "autosvar",
    "fravær",
    "ikke på kontoret",
    "автоответ",
    "автоматический ответ",
    "нет на месте",
    "自动回复",
    "自動回覆",
    "不在",
    "自動応答",
    "自動返信",
    "delivery status notification",
    "undeliverable",
    "undelivered mail",
    "mail delivery failed",
    "returned mail",
];

/// The subjects in [`AUTO_SUBJECTS`] that mean a bounce rather than an auto-reply.
const BOUNCE_SUBJECTS: &[&str] = &[
    "delivery status notification",
    "undeliverable",
    "undelivered mail",
    "mail delivery failed",
    "returned mail",
];

/// Unfolds RFC 822-style header lines ("Key: value", continuation lines start with white
/// space) into (lower-case key, value) pairs; blank lines separate groups.
fn dsn_groups(body: &str) -> Vec<Vec<(String, String)>> {
    let mut groups: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for line in body.lines() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            if groups.last().is_some_and(|g| !g.is_empty()) {
                groups.push(Vec::new());
            }
            continue;
        }
        let Some(g) = groups.last_mut() else { continue };
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = g.last_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
        } else if let Some((k, v)) = line.split_once(':') {
            g.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    groups
}

/// The per-recipient fields of a `message/delivery-status` body (RFC 3464 section 2.3).
fn delivery_status(body: &str) -> Vec<BouncedRecipient> {
    let mut out = Vec::new();
    for g in dsn_groups(body) {
        let field = |k: &str| g.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        // "rfc822; ann@example.test" – the address type comes first.
        let address = |v: &str| {
            let a = v.split_once(';').map(|(_, a)| a).unwrap_or(v);
            EmailAddress::parse(a.trim().trim_matches(['<', '>'])).ok()
        };
        let Some(addr) = field("original-recipient")
            .and_then(address)
            .or_else(|| field("final-recipient").and_then(address))
        else {
            continue;
        };
        let status = field("status")
            .and_then(|s| s.split_whitespace().next())
            .unwrap_or("")
            .to_string();
        out.push(BouncedRecipient {
            address: addr,
            status,
        });
    }
    out
}

/// Parses raw bytes. Fails only when the bytes are not a message at all.
pub fn parse(raw: &[u8]) -> Result<Inbound, Unreadable> {
    let msg = MessageParser::default()
        .parse(raw)
        .ok_or_else(|| Unreadable("the message could not be parsed as MIME".into()))?;
    if msg.headers().is_empty() {
        return Err(Unreadable("the message has no headers".into()));
    }
    let mut recipients = addresses(msg.to());
    recipients.extend(addresses(msg.cc()));
    for (name, value) in msg.headers_raw() {
        if ["delivered-to", "x-original-to", "envelope-to"]
            .iter()
            .any(|h| name.eq_ignore_ascii_case(h))
            && let Ok(a) = EmailAddress::parse(value.trim().trim_matches(['<', '>']))
        {
            recipients.push(a);
        }
    }
    let mut references = id_list(msg.in_reply_to());
    references.extend(id_list(msg.references()));
    let subject = msg.subject().unwrap_or_default().to_string();
    let raw_header = |n: &str| -> Option<String> {
        msg.headers_raw()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.trim().to_ascii_lowercase())
    };

    let date = msg
        .date()
        .and_then(|d| chrono::DateTime::from_timestamp(d.to_timestamp(), 0));
    let content_type = msg.root_part().content_type();
    let bounce = content_type.is_some_and(|c| {
        c.ctype().eq_ignore_ascii_case("multipart")
            && c.subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
            && c.attribute("report-type")
                .is_some_and(|r| r.eq_ignore_ascii_case("delivery-status"))
    });
    let mut automatic = None;
    let mut auto_reply = false;
    if bounce {
        automatic = Some("a delivery status notification (bounce)".to_string());
    } else if let Some(v) = raw_header("auto-submitted").filter(|v| !v.starts_with("no")) {
        auto_reply = v.starts_with("auto-replied");
        automatic = Some(format!("Auto-Submitted: {}", quotable(&v)));
    } else if raw_header("x-autoreply").is_some() || raw_header("x-autorespond").is_some() {
        auto_reply = true;
        automatic = Some("an X-Autoreply header".to_string());
    } else if let Some(p) = raw_header("precedence")
        .filter(|p| ["bulk", "junk", "list", "auto_reply"].contains(&p.as_str()))
    {
        auto_reply = p == "auto_reply";
        automatic = Some(format!("Precedence: {p}"));
    } else if raw_header("list-id").is_some() {
        automatic = Some("a mailing-list message (List-Id)".to_string());
    } else {
        let s = subject.to_lowercase();
        if let Some(k) = AUTO_SUBJECTS.iter().find(|k| s.contains(*k)) {
            auto_reply = !BOUNCE_SUBJECTS.contains(k);
            automatic = Some(format!("an automatic-reply subject ({k})"));
        }
    }
    let mut bounced = Vec::new();
    if bounce {
        for part in msg.parts.iter() {
            let is_status = part.content_type().is_some_and(|c| {
                c.ctype().eq_ignore_ascii_case("message")
                    && c.subtype().is_some_and(|s| {
                        s.eq_ignore_ascii_case("delivery-status")
                            || s.eq_ignore_ascii_case("global-delivery-status")
                    })
            });
            if is_status {
                bounced.extend(delivery_status(&String::from_utf8_lossy(part.contents())));
            }
        }
    }
    let from_addr = addresses(msg.from()).into_iter().next();
    if from_addr.as_ref().is_some_and(|f| {
        let l = f.local_part();
        l == "mailer-daemon" || l == "postmaster"
    }) && automatic.is_none()
    {
        automatic = Some("a message from a mail system (MAILER-DAEMON)".to_string());
    }
    let auth_results = msg
        .headers_raw()
        .filter(|(k, _)| k.eq_ignore_ascii_case("authentication-results"))
        .map(|(_, v)| v.to_string())
        .collect();
    // Every address of every From header: `From: alice@…, attacker@…` or two From headers.
    let from_count = msg
        .header_values("From")
        .map(|v| match v {
            HeaderValue::Address(a) => a.iter().count(),
            _ => 1,
        })
        .sum();
    let sender = addresses(msg.sender()).into_iter().next();
    // The parts of a report (the status, the returned message) are not attachments a person
    // sent.
    let attachments = msg
        .attachments()
        .filter(|_| !bounce)
        .map(|a| {
            a.attachment_name()
                .unwrap_or("unnamed attachment")
                .to_string()
        })
        .collect();
    let text = super::extract::reply_from_message(raw).unwrap_or_default();
    let garbled = is_garbled(&text);
    Ok(Inbound {
        message_id: message_id_of(raw),
        from: from_addr,
        recipients,
        references,
        subject,
        automatic,
        bounce,
        auto_reply,
        bounced,
        date,
        auth_results,
        from_count,
        sender,
        text,
        attachments,
        garbled,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_and_recipients_are_read() {
        let raw = b"From: Bob <Bob@Example.test>\r\nTo: updates+m1-20260308-abc@example.test\r\nMessage-ID: <r1@x>\r\nIn-Reply-To: <q1@y>\r\nSubject: Re: hi\r\n\r\nDone the thing.\r\n";
        let p = parse(raw).unwrap();
        assert_eq!(p.message_id, "r1@x");
        assert_eq!(p.from.unwrap().as_str(), "bob@example.test");
        assert_eq!(
            p.recipients[0].as_str(),
            "updates+m1-20260308-abc@example.test"
        );
        assert_eq!(p.references, vec!["q1@y".to_string()]);
        assert!(p.automatic.is_none());
    }

    #[test]
    fn auto_replies_are_recognised() {
        for h in [
            "Auto-Submitted: auto-replied\r\n",
            "X-Autoreply: yes\r\n",
            "Precedence: bulk\r\n",
        ] {
            let raw = format!("From: a@b.test\r\n{h}Subject: hi\r\n\r\nbody\r\n");
            assert!(parse(raw.as_bytes()).unwrap().automatic.is_some(), "{h}");
        }
        let raw = b"From: a@b.test\r\nSubject: Out of Office: back Monday\r\n\r\nbody\r\n";
        assert!(parse(raw).unwrap().automatic.is_some());
        let raw = b"From: a@b.test\r\nAuto-Submitted: no\r\nSubject: hi\r\n\r\nbody\r\n";
        assert!(parse(raw).unwrap().automatic.is_none());
    }

    #[test]
    fn nul_and_control_characters_in_headers_never_reach_stored_text() {
        // Found by tests/it/malformed.rs: PostgreSQL refused the reason, so the message was
        // never finished and came back on every poll.
        let raw = b"From: ann@example.test\r\nMessage-ID: <a\0b@x>\r\nIn-Reply-To: <r\0@x>\r\nReferences: <ok@x> <c\x01d@x>\r\nAuto-Submitted: auto-replied\0x\r\n\r\nOut of office\r\n";
        let p = parse(raw).unwrap();
        assert!(p.message_id.starts_with("sha256-"), "{}", p.message_id);
        assert_eq!(p.references, vec!["ok@x".to_string()]);
        let why = p.automatic.unwrap();
        assert!(why.starts_with("Auto-Submitted: auto-replied"), "{why}");
        assert!(!why.chars().any(char::is_control), "{why:?}");
        assert!(p.auto_reply);
        let long = format!(
            "From: a@b.test\r\nAuto-Submitted: auto-{}\r\n\r\nx",
            "y".repeat(5000)
        );
        assert!(parse(long.as_bytes()).unwrap().automatic.unwrap().len() < 200);
    }

    #[test]
    fn messages_without_an_id_get_a_content_hash() {
        let a = message_id_of(b"From: a@b.test\r\n\r\nx");
        assert!(a.starts_with("sha256-"));
        assert_eq!(a, message_id_of(b"From: a@b.test\r\n\r\nx"));
    }

    #[test]
    fn a_delivery_status_report_names_the_bounced_recipient_and_status() {
        let raw = b"From: MAILER-DAEMON@mx.test\r\nTo: updates@example.test\r\nSubject: Undelivered Mail\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nSorry.\r\n--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.test\r\n\r\nFinal-Recipient: rfc822; ann@example.test\r\nAction: failed\r\nStatus: 5.1.1 (no such user)\r\n\r\nOriginal-Recipient: rfc822;Bob@Example.test\r\nFinal-Recipient: rfc822; bob@relay.test\r\nAction: delayed\r\nStatus: 4.4.1\r\n--B--\r\n";
        let p = parse(raw).unwrap();
        assert!(p.bounce && !p.auto_reply);
        assert!(p.automatic.is_some());
        assert!(p.attachments.is_empty(), "{:?}", p.attachments);
        assert_eq!(p.bounced.len(), 2, "{:?}", p.bounced);
        assert_eq!(p.bounced[0].address.as_str(), "ann@example.test");
        assert!(p.bounced[0].is_hard());
        assert_eq!(p.bounced[1].address.as_str(), "bob@example.test");
        assert!(!p.bounced[1].is_hard());
    }

    #[test]
    fn out_of_office_replies_are_auto_replies_but_lists_are_not() {
        let ooo = b"From: a@b.test\r\nAuto-Submitted: auto-replied\r\nSubject: x\r\n\r\nback on 2026-12-14\r\n";
        assert!(parse(ooo).unwrap().auto_reply);
        let list = b"From: a@b.test\r\nPrecedence: list\r\nSubject: x\r\n\r\nhi\r\n";
        let p = parse(list).unwrap();
        assert!(p.automatic.is_some() && !p.auto_reply);
    }

    #[test]
    fn binary_text_is_garbled_but_a_stray_replacement_character_is_not() {
        assert!(is_garbled("\u{1}\u{2}\u{3} data \u{fffd}\u{fffd}"));
        assert!(is_garbled("a\0b"));
        assert!(!is_garbled(&format!(
            "{}\u{fffd} caf\u{e9}",
            "Done the migration. ".repeat(5)
        )));
        assert!(!is_garbled("Tabs\tand\r\nnewlines"));
    }

    #[test]
    fn a_10_mb_message_is_parsed_within_memory_and_time_bounds() {
        let mut raw = b"From: a@b.test\r\nTo: updates@example.test\r\nSubject: big\r\nContent-Type: text/plain\r\n\r\nThe new text.\r\n\r\nOn Mon, 9 Mar 2026, X wrote:\r\n".to_vec();
        while raw.len() < 10 * 1024 * 1024 {
            raw.extend_from_slice(b"> quoted line of old history that goes on and on\r\n");
        }
        let t = std::time::Instant::now();
        let p = parse(&raw).unwrap();
        assert_eq!(p.text.trim(), "The new text.");
        // Linear work: seconds in a debug build, far less in release.
        assert!(
            t.elapsed() < std::time::Duration::from_secs(60),
            "{:?}",
            t.elapsed()
        );
        // The result holds the new text only, not copies of the input.
        assert!(p.text.len() < 1024);
        // The whole test process (other tests run beside this one) stays far below what a
        // quadratic or copy-happy parser would need for 10 MB.
        if let Ok(status) = std::fs::read_to_string("/proc/self/status")
            && let Some(kb) = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            assert!(kb < 1024 * 1024, "peak RSS {kb} kB");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        #[test]
        fn parse_never_panics_on_arbitrary_bytes(raw in proptest::collection::vec(proptest::num::u8::ANY, 0..4096)) {
            let _ = parse(&raw);
            let _ = message_id_of(&raw);
        }

        #[test]
        fn parse_never_panics_on_header_like_input(
            headers in proptest::collection::vec("(From|To|Content-Type|Content-Transfer-Encoding|Subject|Auto-Submitted|References): [ -~]{0,80}", 0..8),
            body in proptest::collection::vec(proptest::num::u8::ANY, 0..2048),
        ) {
            let mut raw = headers.join("\r\n").into_bytes();
            raw.extend_from_slice(b"\r\n\r\n");
            raw.extend_from_slice(&body);
            let _ = parse(&raw);
        }

        #[test]
        fn extraction_never_panics_on_arbitrary_bytes(raw in proptest::collection::vec(proptest::num::u8::ANY, 0..4096)) {
            for f in [super::super::extract::Format::Auto, super::super::extract::Format::Text, super::super::extract::Format::Html, super::super::extract::Format::Eml] {
                let _ = super::super::extract::extract(&raw, f);
            }
        }

        #[test]
        fn the_return_date_finder_never_panics(text in "\\PC{0,200}", days in 0i64..40000) {
            let sent = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap() + chrono::Duration::days(days);
            if let Some(d) = super::super::ooo::away_until(&text, sent) {
                proptest::prop_assert!(d >= sent);
            }
        }
    }
}
