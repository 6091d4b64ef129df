//! One SMTP connection: opened over our own stream (TCP, implicit TLS or STARTTLS with
//! tokio-rustls), lettre doing the greeting, EHLO, AUTH and the reading of every reply; a
//! message's transaction written in two parts, everything up to the end of its data, then the
//! end (`.`) on its own.

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::AsyncSmtpConnection;
use lettre::transport::smtp::commands::{Auth, Data, Ehlo, Mail, Rcpt, Starttls};
use lettre::transport::smtp::extension::{
    ClientId, Extension, MailBodyParameter, MailParameter, ServerInfo,
};
use tokio::io::AsyncWriteExt;

use super::stream::Shared;
use super::{PoolInner, Tls, classify, wire};
use crate::mail::outbound::SendError;

/// How long a goodbye waits for the server's.
const QUIT_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// An open connection: lettre's half (replies, commands that wait for one) and ours (the
/// data), over one stream.
pub(super) struct Conn {
    smtp: AsyncSmtpConnection,
    wire: Shared,
    /// What the server offered in its last EHLO (after TLS, when there is TLS).
    info: ServerInfo,
    pipelining: bool,
}

fn io_error(what: &str, e: std::io::Error) -> SendError {
    SendError::Transient(format!("{what}: {e}"))
}

impl Conn {
    /// Connects, greets, secures and logs in as `p` says.
    pub(super) async fn open(p: &PoolInner) -> Result<Conn, SendError> {
        let tcp = tokio::net::TcpStream::connect((p.host.as_str(), p.port))
            .await
            .map_err(|e| io_error(&format!("cannot connect to {}:{}", p.host, p.port), e))?;
        // Commands and the end of data are small writes each awaited by a reply.
        tcp.set_nodelay(true)
            .map_err(|e| io_error("cannot set TCP_NODELAY", e))?;
        let wire = match &p.tls {
            Tls::Wrapper(c, name) => {
                let tls = c
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(|e| io_error("TLS handshake failed", e))?;
                Shared::tls(tls)
            }
            _ => Shared::plain(tcp),
        }
        .map_err(|e| io_error("the connection closed at once", e))?;
        let mut smtp =
            AsyncSmtpConnection::connect_with_transport(Box::new(wire.clone()), &p.hello)
                .await
                .map_err(classify)?;
        if let Tls::Required(c, name) = &p.tls {
            if !smtp.server_info().supports_feature(Extension::StartTls) {
                return Err(SendError::Transient(
                    "the SMTP server does not offer STARTTLS (mail.smtp.security = \"starttls\")"
                        .into(),
                ));
            }
            smtp.command(Starttls).await.map_err(classify)?;
            wire.upgrade(c, name.clone())
                .await
                .map_err(|e| io_error("TLS handshake failed", e))?;
        }
        // EHLO once more: after STARTTLS the first one no longer counts (RFC 3207), and lettre
        // keeps neither PIPELINING nor what it read before TLS. One round trip per connection.
        let (info, pipelining) = ehlo(&mut smtp, &p.hello).await?;
        if let Some(c) = &p.credentials {
            auth(&mut smtp, &info, c).await?;
        }
        Ok(Conn {
            smtp,
            wire,
            info,
            pipelining,
        })
    }

    /// Whether the server still answers (NOOP).
    pub(super) async fn is_alive(&mut self) -> bool {
        self.smtp.test_connected().await
    }

    /// MAIL, RCPT and DATA (in one write when the server offers PIPELINING: one round trip
    /// instead of three), then `data` (dot-stuffed, ending with CRLF): everything of the
    /// message but its end.
    pub(super) async fn begin(
        &mut self,
        env: &Envelope,
        data: &[u8],
        eight_bit: bool,
    ) -> Result<(), SendError> {
        let mail = Mail::new(env.from().cloned(), self.mail_params(env, eight_bit)?);
        if self.pipelining {
            // RFC 2920: the group ends with DATA; the answers come back in order. Any error
            // closes the connection (the answers still due are never read).
            let mut group = mail.to_string();
            for to in env.to() {
                group.push_str(&Rcpt::new(to.clone(), vec![]).to_string());
            }
            group.push_str(&Data.to_string());
            self.write(group.as_bytes()).await?;
            // MAIL's, each RCPT's, then DATA's 354.
            for _ in 0..env.to().len() + 2 {
                self.smtp.read_response().await.map_err(classify)?;
            }
        } else {
            self.smtp.command(mail).await.map_err(classify)?;
            for to in env.to() {
                self.smtp
                    .command(Rcpt::new(to.clone(), vec![]))
                    .await
                    .map_err(classify)?;
            }
            self.smtp.command(Data).await.map_err(classify)?;
        }
        self.write(data).await
    }

    /// The end of the data and the server's answer to it: `Ok` once it took responsibility
    /// for the message. An error after the end was written is [`SendError::Unconfirmed`]
    /// unless the server answered (RFC 1047: it may have the message).
    pub(super) async fn end(&mut self) -> Result<(), SendError> {
        if let Err(e) = self.write(wire::END).await {
            return Err(SendError::Unconfirmed(e.to_string()));
        }
        match self.smtp.read_response().await {
            Ok(_) => Ok(()),
            Err(e) if e.status().is_some() => Err(classify(e)),
            Err(e) => Err(SendError::Unconfirmed(e.to_string())),
        }
    }

    /// Says goodbye to a server waiting for a command (a connection in the middle of a
    /// message is just dropped: it closes without the end of data). The stream closes when
    /// the connection is dropped.
    pub(super) async fn quit(mut self) {
        let _ = tokio::time::timeout(QUIT_WAIT, self.smtp.quit()).await;
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), SendError> {
        self.wire
            .write_all(bytes)
            .await
            .map_err(|e| io_error("cannot write to the SMTP server", e))?;
        self.wire
            .flush()
            .await
            .map_err(|e| io_error("cannot write to the SMTP server", e))
    }

    /// SMTPUTF8 for a non-ASCII address, BODY=8BITMIME for non-ASCII data, each only when
    /// the server offers it.
    fn mail_params(
        &self,
        env: &Envelope,
        eight_bit: bool,
    ) -> Result<Vec<MailParameter>, SendError> {
        let mut params = Vec::new();
        let non_ascii = env
            .from()
            .is_some_and(|a| !AsRef::<str>::as_ref(a).is_ascii())
            || env.to().iter().any(|a| !AsRef::<str>::as_ref(a).is_ascii());
        if non_ascii {
            if !self.info.supports_feature(Extension::SmtpUtfEight) {
                return Err(SendError::Permanent(
                    "the address is not ASCII and the server does not offer SMTPUTF8".into(),
                ));
            }
            params.push(MailParameter::SmtpUtfEight);
        }
        if eight_bit {
            if !self.info.supports_feature(Extension::EightBitMime) {
                return Err(SendError::Permanent(
                    "the message is not ASCII and the server does not offer 8BITMIME".into(),
                ));
            }
            params.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        Ok(params)
    }
}

/// EHLO, read into lettre's `ServerInfo` and whether PIPELINING is offered (lettre does not
/// keep that keyword).
async fn ehlo(
    smtp: &mut AsyncSmtpConnection,
    hello: &ClientId,
) -> Result<(ServerInfo, bool), SendError> {
    let r = smtp
        .command(Ehlo::new(hello.clone()))
        .await
        .map_err(classify)?;
    let pipelining = r.message().any(|l| {
        l.split_whitespace()
            .next()
            .is_some_and(|k| k.eq_ignore_ascii_case("PIPELINING"))
    });
    let info = ServerInfo::from_response(&r).map_err(classify)?;
    Ok((info, pipelining))
}

/// AUTH PLAIN or LOGIN, whichever the server offers, lettre encoding each step.
async fn auth(
    smtp: &mut AsyncSmtpConnection,
    info: &ServerInfo,
    c: &Credentials,
) -> Result<(), SendError> {
    let Some(mechanism) = info.get_auth_mechanism(&[Mechanism::Plain, Mechanism::Login]) else {
        return Err(SendError::Transient(
            "the SMTP server offers neither AUTH PLAIN nor AUTH LOGIN (mail.smtp.username is set)"
                .into(),
        ));
    };
    let start = Auth::new(mechanism, c.clone(), None).map_err(classify)?;
    let mut r = smtp.command(start).await.map_err(classify)?;
    // LOGIN asks twice (user, password); a server asking more is refused.
    for _ in 0..3 {
        if !r.has_code(334) {
            return Ok(());
        }
        let next = Auth::new_from_response(mechanism, c.clone(), &r).map_err(classify)?;
        r = smtp.command(next).await.map_err(classify)?;
    }
    Err(SendError::Transient(
        "the SMTP server kept asking during AUTH".into(),
    ))
}
