//! What the test binaries share: the rig (`rig.rs`: Postfix, Dovecot and PostgreSQL on
//! loopback) and the small helpers every rig test needs — parsing instants and addresses,
//! reading headers and text of a message, sending raw mail through the rig's Postfix, reading
//! a rig user's INBOX over IMAP or Maildir, a service `Config` pointed at the rig.
//!
//! Use from a test binary `tests/foo.rs` with `mod support;` (from `tests/it/main.rs`:
//! `#[path = "../support/mod.rs"] mod support;`), then `use support::rig;`.
#![allow(dead_code)]

pub mod feeds;
pub mod radicale;
pub mod rig;
pub mod synapse;
pub mod webhooks;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use lettre::AsyncTransport;
use tidings::config::{Config, SecretString, SecretUrl, Security, Transport};
use tidings::domain::{EmailAddress, LocalTime, Workdays};
use tidings::store::MemberDefaults;

/// How long a helper waits for Postfix to deliver (it delivers after accepting).
pub const DELIVERY_WAIT: Duration = Duration::from_secs(30);

/// An RFC 3339 instant.
pub fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("{s:?} is not RFC 3339: {e}"))
        .with_timezone(&Utc)
}

pub fn addr(s: &str) -> EmailAddress {
    EmailAddress::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

/// The defaults new members get in tests: UTC, request 16:30, digest 08:30, Monday to Friday.
pub fn member_defaults() -> MemberDefaults {
    MemberDefaults {
        tz: chrono_tz::UTC,
        request_at: LocalTime::parse("16:30").expect("16:30"),
        digest_at: LocalTime::parse("08:30").expect("08:30"),
        workdays: Workdays::default(),
    }
}

/// Adds the rig user `user` (`user@example.test`) as a member of team `core`, with the
/// default times, named `name`, in zone `tz`.
pub async fn add_rig_member(ctx: &tidings::jobs::Ctx, user: &str, name: &str, tz: &str) -> i64 {
    let ch = tidings::store::MemberChange {
        name: Some(name.into()),
        tz: Some(tz.parse().expect("a zone")),
        teams: Some(vec!["core".into()]),
        ..Default::default()
    };
    ctx.store
        .add_member(
            &addr(&format!("{user}@example.test")),
            &ch,
            &member_defaults(),
        )
        .await
        .expect("member added")
}

fn parsed(raw: &[u8]) -> mail_parser::Message<'_> {
    mail_parser::MessageParser::default()
        .parse(raw)
        .expect("the message parses")
}

/// A header's raw value, trimmed ("" when absent).
pub fn header(raw: &[u8], name: &str) -> String {
    parsed(raw)
        .header_raw(name)
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// The first text/plain body of a message, decoded as a mail client shows it: with
/// `format=flowed` (which every Tidings text part is), soft line breaks joined.
pub fn text_of(raw: &[u8]) -> String {
    let msg = parsed(raw);
    let text = msg.body_text(0).map(|t| t.to_string()).unwrap_or_default();
    let flowed = msg
        .text_body
        .first()
        .and_then(|&id| msg.part(id))
        .and_then(|p| mail_parser::MimeHeaders::content_type(p))
        .and_then(|c| c.attribute("format"))
        .is_some_and(|f| f.eq_ignore_ascii_case("flowed"));
    if flowed {
        tidings::mail::flowed::unflow(&text, false)
    } else {
        text
    }
}

/// The decoded Subject of a message (RFC 2047 words and folding undone).
pub fn subject_of(raw: &[u8]) -> String {
    parsed(raw).subject().unwrap_or_default().to_string()
}

/// The HTML part of a message, decoded; empty when it has none.
pub fn html_of(raw: &[u8]) -> String {
    parsed(raw)
        .body_html(0)
        .map(|h| h.to_string())
        .unwrap_or_default()
}

/// The bare address of a header value such as `Tidings <updates+tok@example.test>`.
pub fn address_in(value: &str) -> String {
    value
        .rsplit_once('<')
        .map(|(_, a)| a.trim_end_matches('>'))
        .unwrap_or(value)
        .trim()
        .to_string()
}

/// A service config that sends through the rig's Postfix (plain SMTP on loopback) and reads
/// replies from `mailbox`@example.test over plain IMAP; replies go to that mailbox too.
pub fn rig_config(rig: &rig::Rig, db_url: &str, dir: &Path, mailbox: &str) -> Config {
    let mut c = Config::default();
    c.database.url = SecretUrl(db_url.to_string());
    c.mail.transport = Transport::Smtp;
    c.mail.from = "Tidings <digest@example.test>".parse().expect("a mailbox");
    c.mail.reply_to = addr(&format!("{mailbox}@example.test"));
    c.mail.smtp.host = "127.0.0.1".into();
    c.mail.smtp.port = rig.smtp_port;
    c.mail.smtp.security = Security::None;
    c.mail.imap.host = "127.0.0.1".into();
    c.mail.imap.port = rig.imap_port;
    c.mail.imap.security = Security::None;
    c.mail.imap.username = format!("{mailbox}@example.test");
    c.mail.imap.password = SecretString::new(rig.password(mailbox));
    c.mail.maildir.sent = dir.join("unused-sent");
    c.mail.maildir.inbox = dir.join("unused-inbox");
    c.security.secret = SecretString::new("rig-test-secret-0123456789abcdef");
    // The rig's Postfix stamps Authentication-Results as `mail.example.test` (scripts/rig).
    c.mail.inbound.trusted_authserv_id = vec!["mail.example.test".into()];
    c
}

/// Sends `raw` through the rig's Postfix. An empty `from` is the null envelope sender
/// (`MAIL FROM:<>`), as bounces are sent.
pub async fn smtp_send(rig: &rig::Rig, from: &str, to: &str, raw: &[u8]) {
    let t = lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(rig.smtp_port)
        .build();
    let sender = (!from.is_empty()).then(|| from.parse().expect("an envelope sender"));
    let env = lettre::address::Envelope::new(sender, vec![to.parse().expect("a recipient")])
        .expect("an envelope");
    t.send_raw(&env, raw).await.expect("Postfix accepts it");
}

/// Sends `raw` through the rig's Postfix after SMTP AUTH as rig user `user`: the rig's
/// receiving-server stamp then vouches for `user`'s domain (`Authentication-Results:
/// mail.example.test; dmarc=pass`), as a real server does for a message with a valid DKIM
/// signature of the From domain.
pub async fn smtp_send_as(rig: &rig::Rig, user: &str, to: &str, raw: &[u8]) {
    use lettre::transport::smtp::authentication::{Credentials, Mechanism};
    let t = lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(rig.smtp_port)
        .credentials(Credentials::new(
            format!("{user}@example.test"),
            rig.password(user),
        ))
        .authentication(vec![Mechanism::Plain])
        .build();
    let from = format!("{user}@example.test");
    let env = lettre::address::Envelope::new(
        Some(from.parse().expect("an envelope sender")),
        vec![to.parse().expect("a recipient")],
    )
    .expect("an envelope");
    t.send_raw(&env, raw).await.expect("Postfix accepts it");
}

/// A logged-in plain IMAP session for the rig user `user`.
pub async fn imap_session(
    rig: &rig::Rig,
    user: &str,
) -> async_imap::Session<tokio::net::TcpStream> {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", rig.imap_port))
        .await
        .expect("IMAP connects");
    let mut client = async_imap::Client::new(tcp);
    client.read_response().await.expect("greeting");
    client
        .login(format!("{user}@example.test"), rig.password(user))
        .await
        .map_err(|(e, _)| e)
        .expect("login")
}

/// Raw messages in `user`'s INBOX that match an IMAP SEARCH, in UID order.
pub async fn imap_search(rig: &rig::Rig, user: &str, query: &str) -> Vec<Vec<u8>> {
    let mut s = imap_session(rig, user).await;
    s.select("INBOX").await.expect("select");
    let mut uids: Vec<u32> = s
        .uid_search(query)
        .await
        .expect("search")
        .into_iter()
        .collect();
    uids.sort();
    let mut out = Vec::new();
    if !uids.is_empty() {
        let set = uids
            .iter()
            .map(|u| u.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let fetches: Vec<_> = s
            .uid_fetch(set, "BODY.PEEK[]")
            .await
            .expect("fetch")
            .try_collect()
            .await
            .expect("fetch stream");
        out.extend(fetches.iter().filter_map(|f| f.body().map(<[u8]>::to_vec)));
    }
    let _ = s.logout().await;
    out
}

/// Deletes every message in `user`'s INBOX (a test that runs twice, once per backend).
pub async fn imap_clear(rig: &rig::Rig, user: &str) {
    let mut s = imap_session(rig, user).await;
    s.select("INBOX").await.expect("select");
    let _: Vec<_> = s
        .store("1:*", "+FLAGS (\\Deleted)")
        .await
        .expect("store")
        .try_collect()
        .await
        .unwrap_or_default();
    let _: Vec<_> = s
        .expunge()
        .await
        .expect("expunge")
        .try_collect()
        .await
        .unwrap_or_default();
    let _ = s.logout().await;
}

/// The IMAP SEARCH for messages of one kind (`request`, `digest`, …).
pub fn of_kind(kind: &str) -> String {
    format!("HEADER X-Tidings-Kind {kind}")
}

/// Waits until `user` has `n` messages matching `query` and returns them; fails when there
/// are more, or fewer after [`DELIVERY_WAIT`].
pub async fn wait_for(rig: &rig::Rig, user: &str, query: &str, n: usize) -> Vec<Vec<u8>> {
    let deadline = Instant::now() + DELIVERY_WAIT;
    loop {
        let m = imap_search(rig, user, query).await;
        if m.len() >= n || Instant::now() > deadline {
            assert_eq!(m.len(), n, "{user} should have {n} message(s) for {query}");
            return m;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Every message file in `user`'s Maildir (`new` and `cur`), as text.
pub fn maildir_messages(rig: &rig::Rig, user: &str) -> Vec<String> {
    let mut out = Vec::new();
    for sub in ["new", "cur"] {
        for e in std::fs::read_dir(rig.maildir(user).join(sub))
            .into_iter()
            .flatten()
            .flatten()
        {
            if let Ok(s) = std::fs::read_to_string(e.path()) {
                out.push(s);
            }
        }
    }
    out
}

/// Waits up to 20 s until at least `want` messages in `user`'s Maildir satisfy `matches`,
/// and returns those found (fewer when the time ran out).
pub fn wait_maildir(
    rig: &rig::Rig,
    user: &str,
    want: usize,
    matches: impl Fn(&str) -> bool,
) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let found: Vec<String> = maildir_messages(rig, user)
            .into_iter()
            .filter(|m| matches(m))
            .collect();
        if found.len() >= want || Instant::now() > deadline {
            return found;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A port on 127.0.0.1 where nothing listens (bound once, then released).
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// A running `tidings serve`, killed (SIGKILL) and reaped when dropped: a test that fails
/// half-way leaves no server behind polling the rig or holding the database.
pub struct Serve(pub Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `tidings --config CONFIG serve` in `dir` (logging warnings to the test's stderr).
pub fn serve(dir: &Path, config: &Path) -> Serve {
    Serve(
        Command::new(env!("CARGO_BIN_EXE_tidings"))
            .arg("--config")
            .arg(config)
            .arg("serve")
            .current_dir(dir)
            .env("TIDINGS_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("serve starts"),
    )
}
