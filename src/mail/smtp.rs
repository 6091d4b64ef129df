//! SMTP out: a pool of connections kept open between messages, lettre's connection doing the
//! protocol (STARTTLS or implicit TLS, AUTH, MAIL/RCPT/DATA), and one commit point: the end of
//! a message's data (the final `.`) is sent only while no other accepted message waits for its
//! delivery to be recorded, so a crash can leave at most one email accepted by the server and
//! not recorded (sent again after the lease), whatever `mail.smtp.concurrency` is.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, Tls, TlsParameters};
use lettre::transport::smtp::commands::{Data, Ehlo, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};

use super::outbound::SendError;
use crate::config::{Security, SmtpConfig};

/// A connection idle longer than this is closed instead of reused (lettre's pool default).
const MAX_IDLE: Duration = Duration::from_secs(60);
/// A connection idle longer than this is checked with NOOP before it is reused: the server may
/// have closed it. One busy within the last seconds is used straight away.
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(5);

/// SMTP connections kept open between messages, with lettre's connection doing the protocol
/// (STARTTLS or implicit TLS, AUTH, MAIL/RCPT/DATA). lettre's own pool sends a NOOP before
/// every message it takes from the pool: one more round trip per email for us and the server,
/// which in a fan-out of 100 KB digests cost the SMTP server a share of its CPU. Here a
/// connection that was busy within the last seconds is reused without it.
#[derive(Clone)]
pub struct SmtpPool(Arc<PoolInner>);

struct PoolInner {
    host: String,
    port: u16,
    timeout: Duration,
    tls: Tls,
    credentials: Option<Credentials>,
    hello: ClientId,
    max_idle: usize,
    idle: Mutex<Vec<(Conn, Instant)>>,
    /// The commit point: held from the end of a message's data until its delivery is
    /// recorded (see [`Accepted`]).
    commit: Arc<tokio::sync::Mutex<()>>,
}

/// An email the server accepted. Over SMTP it holds the commit point: no other message's data
/// is ended until this one is dropped, which the caller does once it has recorded the
/// delivery. So at any moment at most one email is accepted by the server and not yet
/// recorded, and a crash duplicates at most one email, however many are sent at once.
#[derive(Debug, Default)]
#[must_use = "drop it only after the delivery is recorded"]
pub struct Accepted {
    /// Held for its drop, which lets the next email's data end.
    _commit: Option<tokio::sync::OwnedMutexGuard<()>>,
}

/// Message data as written after DATA: a `.` doubled at the start of every line (RFC 5321
/// 4.5.2), found with memchr rather than byte by byte, and the ending `CRLF . CRLF`.
pub fn dot_stuffed(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 512 + 5);
    let mut rest = raw;
    let mut line_start = true;
    loop {
        if line_start && rest.first() == Some(&b'.') {
            out.push(b'.');
        }
        match memchr::memchr(b'\n', rest) {
            Some(i) => {
                out.extend_from_slice(&rest[..=i]);
                // A line starts after CRLF only, as lettre's codec has it (our messages are
                // CRLF throughout; a bare LF is not a line end in SMTP).
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
    out.extend_from_slice(b".\r\n");
    out
}

/// Bytes written as they are by lettre's `command` (which writes what `Display` gives).
struct Raw<'a>(&'a str);

impl std::fmt::Display for Raw<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// One open SMTP connection and whether its server offers PIPELINING (RFC 2920), which
/// lettre's `ServerInfo` does not keep.
struct Conn {
    smtp: AsyncSmtpConnection,
    pipelining: bool,
}

impl SmtpPool {
    async fn connect(&self) -> Result<Conn, lettre::transport::smtp::Error> {
        let p = &self.0;
        let wrapper = match &p.tls {
            Tls::Wrapper(t) => Some(t.clone()),
            _ => None,
        };
        let mut conn = AsyncSmtpConnection::connect_tokio1(
            (p.host.as_str(), p.port),
            Some(p.timeout),
            &p.hello,
            wrapper,
            None,
        )
        .await?;
        if let Tls::Required(t) = &p.tls {
            conn.starttls(t.clone(), &p.hello).await?;
        }
        // EHLO once more (before AUTH, which a later EHLO could reset) to read the keywords
        // lettre does not keep: one round trip per connection, saved on every email after.
        let ehlo = conn.command(Ehlo::new(p.hello.clone())).await?;
        let pipelining = ehlo.message().any(|l| {
            l.split_whitespace()
                .next()
                .is_some_and(|k| k.eq_ignore_ascii_case("PIPELINING"))
        });
        if let Some(c) = &p.credentials {
            conn.auth(&[Mechanism::Plain, Mechanism::Login], c).await?;
        }
        Ok(Conn {
            smtp: conn,
            pipelining,
        })
    }

    /// An open connection: a recently used idle one, else a new one.
    async fn checkout(&self) -> Result<Conn, lettre::transport::smtp::Error> {
        loop {
            let idle = self.0.idle.lock().ok().and_then(|mut v| v.pop());
            let Some((mut conn, since)) = idle else {
                return self.connect().await;
            };
            let idle_for = since.elapsed();
            if idle_for > MAX_IDLE
                || (idle_for > CHECK_AFTER_IDLE && !conn.smtp.test_connected().await)
            {
                conn.smtp.abort().await;
                continue;
            }
            return Ok(conn);
        }
    }

    /// Puts a healthy connection back (or closes it when enough are idle).
    fn checkin(&self, mut conn: Conn) {
        if conn.smtp.has_broken() {
            return;
        }
        if let Ok(mut idle) = self.0.idle.lock()
            && idle.len() < self.0.max_idle
        {
            idle.push((conn, Instant::now()));
            return;
        }
        tokio::spawn(async move { conn.smtp.abort().await });
    }

    /// Sends one message; on any error the connection is closed, never reused. The data is
    /// dot-stuffed before the commit point is taken; under it only the data goes out and the
    /// server's answer comes back.
    pub(super) async fn send(
        &self,
        env: &lettre::address::Envelope,
        raw: &[u8],
    ) -> Result<Accepted, SendError> {
        let attempt = async {
            let mut conn = self.checkout().await.map_err(classify)?;
            let r = self.transaction(&mut conn, env, raw).await;
            if r.is_err() {
                conn.smtp.abort().await;
            }
            self.checkin(conn);
            r
        };
        // The whole transaction, not just the connect: a server that stops answering
        // mid-message must not hold the outbox claim until the lease runs out.
        tokio::time::timeout(self.0.timeout, attempt)
            .await
            .unwrap_or_else(|_| {
                Err(SendError::Transient(format!(
                    "no answer from the SMTP server within {} s",
                    self.0.timeout.as_secs()
                )))
            })
    }

    /// MAIL, RCPT and DATA (in one write when the server offers PIPELINING: one round trip
    /// instead of three), then the data under the commit point.
    async fn transaction(
        &self,
        conn: &mut Conn,
        env: &lettre::address::Envelope,
        raw: &[u8],
    ) -> Result<Accepted, SendError> {
        let info = conn.smtp.server_info();
        let mut params = Vec::new();
        let non_ascii = env
            .from()
            .is_some_and(|a| !AsRef::<str>::as_ref(a).is_ascii())
            || env.to().iter().any(|a| !AsRef::<str>::as_ref(a).is_ascii());
        if non_ascii {
            if !info.supports_feature(Extension::SmtpUtfEight) {
                return Err(SendError::Permanent(
                    "the address is not ASCII and the server does not offer SMTPUTF8".into(),
                ));
            }
            params.push(MailParameter::SmtpUtfEight);
        }
        if !raw.is_ascii() {
            if !info.supports_feature(Extension::EightBitMime) {
                return Err(SendError::Permanent(
                    "the message is not ASCII and the server does not offer 8BITMIME".into(),
                ));
            }
            params.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        let mail = Mail::new(env.from().cloned(), params);
        let smtp = &mut conn.smtp;
        if conn.pipelining {
            // RFC 2920: the group ends with DATA; the answers come back in order. Any error
            // closes the connection (the answers still due are never read).
            let mut group = mail.to_string();
            for to in env.to() {
                group.push_str(&Rcpt::new(to.clone(), vec![]).to_string());
            }
            group.push_str(&Data.to_string());
            smtp.command(Raw(&group)).await.map_err(classify)?;
            for _ in env.to() {
                smtp.read_response().await.map_err(classify)?;
            }
            smtp.read_response().await.map_err(classify)?;
        } else {
            smtp.command(mail).await.map_err(classify)?;
            for to in env.to() {
                smtp.command(Rcpt::new(to.clone(), vec![]))
                    .await
                    .map_err(classify)?;
            }
            smtp.command(Data).await.map_err(classify)?;
        }
        let data = dot_stuffed(raw);
        let held = self.0.commit.clone().lock_owned().await;
        match std::str::from_utf8(&data) {
            Ok(text) => smtp.command(Raw(text)).await,
            // Not UTF-8 (8BITMIME): lettre's own writer, which stuffs byte by byte.
            Err(_) => smtp.message(raw).await,
        }
        .map_err(classify)?;
        Ok(Accepted {
            _commit: Some(held),
        })
    }

    /// Connects (with TLS and AUTH as configured), checks the server answers NOOP, and quits.
    pub async fn test_connection(&self) -> anyhow::Result<()> {
        let mut conn = tokio::time::timeout(self.0.timeout, self.connect())
            .await
            .map_err(|_| anyhow::anyhow!("no answer within {} s", self.0.timeout.as_secs()))??;
        let ok = conn.smtp.test_connected().await;
        let _ = conn.smtp.quit().await;
        anyhow::ensure!(ok, "the SMTP server did not accept a NOOP");
        Ok(())
    }
}

/// lettre's own predicates decide: a 5xx answer is permanent, everything else (4xx, I/O,
/// timeouts, TLS) is worth another try.
fn classify(e: lettre::transport::smtp::Error) -> SendError {
    let msg = e.to_string();
    if e.is_permanent() {
        SendError::Permanent(msg)
    } else {
        SendError::Transient(msg)
    }
}

/// Reads a PEM CA file into TLS parameters verifying `server_name`.
fn tls_params(server_name: &str, ca_file: &str) -> anyhow::Result<TlsParameters> {
    let mut b = TlsParameters::builder(server_name.to_string());
    if !ca_file.is_empty() {
        let pem =
            std::fs::read(ca_file).with_context(|| format!("cannot read CA file {ca_file}"))?;
        b = b.add_root_certificate(
            Certificate::from_pem(&pem).with_context(|| format!("bad CA file {ca_file}"))?,
        );
    }
    b.build_rustls().context("cannot set up TLS")
}

/// The SMTP connection pool for `mail.smtp`.
pub fn smtp_transport(c: &SmtpConfig) -> anyhow::Result<SmtpPool> {
    let name = if c.tls_server_name.is_empty() {
        c.host.as_str()
    } else {
        c.tls_server_name.as_str()
    };
    let tls = match c.security {
        Security::None => Tls::None,
        Security::Starttls => Tls::Required(tls_params(name, &c.ca_file)?),
        Security::Tls => Tls::Wrapper(tls_params(name, &c.ca_file)?),
    };
    let credentials = (!c.username.is_empty())
        .then(|| Credentials::new(c.username.clone(), c.password.expose().to_string()));
    Ok(SmtpPool(Arc::new(PoolInner {
        host: c.host.clone(),
        port: c.port,
        timeout: Duration::from_secs(c.timeout_secs),
        tls,
        credentials,
        hello: ClientId::default(),
        max_idle: c.pool_size as usize,
        idle: Mutex::new(Vec::new()),
        commit: Arc::new(tokio::sync::Mutex::new(())),
    })))
}

#[cfg(test)]
mod tests {
    use super::dot_stuffed;

    #[test]
    fn lines_starting_with_a_dot_are_doubled_and_the_data_ends_with_a_dot_line() {
        assert_eq!(dot_stuffed(b"a\r\n.b\r\n"), b"a\r\n..b\r\n.\r\n");
        assert_eq!(dot_stuffed(b".x\r\n.\r\nend"), b"..x\r\n..\r\nend\r\n.\r\n");
        // Only after CRLF: a dot inside a line or after a bare LF stays (as lettre's codec).
        assert_eq!(dot_stuffed(b"a.b\n.c"), b"a.b\n.c\r\n.\r\n");
        assert_eq!(dot_stuffed(b""), b"\r\n.\r\n");
    }

    proptest::proptest! {
        /// What the server reads back (undoing the stuffing up to the ending dot line) is the
        /// message, for any bytes.
        #[test]
        fn unstuffing_gives_the_message_back(lines in proptest::collection::vec("[.a-z \r]{0,6}", 0..12)) {
            let raw = lines.join("\r\n");
            let data = dot_stuffed(raw.as_bytes());
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
