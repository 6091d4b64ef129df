//! SMTP out: a pool of connections kept open between messages, each message sent in two
//! steps so the sender can place its commit point: [`SmtpPool::begin`] writes MAIL, RCPT, DATA
//! and the whole data but its end, and [`Staged::finish`] writes the end (the final `.`, after
//! which the server takes responsibility for the message) and reads the answer. A staged
//! message dropped unfinished is never delivered: the connection closes without its end.

mod conn;
mod stream;
pub mod wire;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::extension::ClientId;
use tokio_rustls::rustls::pki_types::ServerName;

use self::conn::Conn;
use super::outbound::SendError;
use crate::config::{Security, SmtpConfig};

/// A connection idle longer than this is closed instead of reused (lettre's pool default).
const MAX_IDLE: Duration = Duration::from_secs(60);
/// A connection idle longer than this is checked with NOOP before it is reused: the server may
/// have closed it. One busy within the last seconds is used straight away.
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(5);

/// SMTP connections kept open between messages. lettre's own pool sends a NOOP before every
/// message it takes from the pool: one more round trip per email for us and the server. Here
/// a connection that was busy within the last seconds is reused without it.
#[derive(Clone)]
pub struct SmtpPool(Arc<PoolInner>);

/// How a connection is secured.
enum Tls {
    None,
    /// STARTTLS after the greeting.
    Required(tokio_rustls::TlsConnector, ServerName<'static>),
    /// Implicit TLS from the first byte.
    Wrapper(tokio_rustls::TlsConnector, ServerName<'static>),
}

struct PoolInner {
    host: String,
    port: u16,
    timeout: Duration,
    tls: Tls,
    credentials: Option<Credentials>,
    hello: ClientId,
    max_idle: usize,
    /// Boxed: a connection (lettre's included) is over a kilobyte, moved at every use.
    idle: Mutex<Vec<(Box<Conn>, Instant)>>,
}

/// A message the server has all of but its end, on a connection of its own until
/// [`Staged::finish`]. Dropped unfinished, the connection closes without the end, and the
/// server discards what it had (RFC 5321 3.3: no end of data, no delivery).
#[must_use = "the message goes nowhere until it is finished"]
pub struct Staged {
    pool: SmtpPool,
    conn: Box<Conn>,
}

impl Staged {
    /// Ends the data and reads the answer. `Ok`: the server took the message. An error after
    /// the end went out is [`SendError::Unconfirmed`] unless the server answered.
    pub async fn finish(self) -> Result<(), SendError> {
        let Staged { pool, mut conn } = self;
        let r = tokio::time::timeout(pool.0.timeout, conn.end())
            .await
            .unwrap_or_else(|_| {
                Err(SendError::Unconfirmed(format!(
                    "no answer to the end of data within {} s",
                    pool.0.timeout.as_secs()
                )))
            });
        // Not reused after any error: its state is unknown, and it closes when dropped.
        if r.is_ok() {
            pool.checkin(conn);
        }
        r
    }
}

impl SmtpPool {
    /// An open connection: a recently used idle one, else a new one.
    async fn checkout(&self) -> Result<Box<Conn>, SendError> {
        loop {
            let idle = self.0.idle.lock().ok().and_then(|mut v| v.pop());
            let Some((mut conn, since)) = idle else {
                return Conn::open(&self.0).await.map(Box::new);
            };
            let idle_for = since.elapsed();
            if idle_for > MAX_IDLE || (idle_for > CHECK_AFTER_IDLE && !conn.is_alive().await) {
                tokio::spawn(conn.quit());
                continue;
            }
            return Ok(conn);
        }
    }

    /// Puts a healthy connection back (or closes it when enough are idle).
    fn checkin(&self, conn: Box<Conn>) {
        if let Ok(mut idle) = self.0.idle.lock()
            && idle.len() < self.0.max_idle
        {
            idle.push((conn, Instant::now()));
            return;
        }
        tokio::spawn(conn.quit());
    }

    /// Writes one message up to its end: MAIL, RCPT, DATA and `data` (dot-stuffed by
    /// [`wire::stuffed`]; `eight_bit` when it is not ASCII). On any error the connection is
    /// closed, never reused. Bounded by `mail.smtp.timeout_secs`, connecting included.
    pub async fn begin(
        &self,
        env: &lettre::address::Envelope,
        data: &[u8],
        eight_bit: bool,
    ) -> Result<Staged, SendError> {
        let attempt = async {
            let mut conn = self.checkout().await?;
            // On an error the connection is dropped (closed), maybe in the middle of the data.
            conn.begin(env, data, eight_bit).await.map(|()| conn)
        };
        let conn = tokio::time::timeout(self.0.timeout, attempt)
            .await
            .unwrap_or_else(|_| {
                Err(SendError::Transient(format!(
                    "no answer from the SMTP server within {} s",
                    self.0.timeout.as_secs()
                )))
            })?;
        Ok(Staged {
            pool: self.clone(),
            conn,
        })
    }

    /// Connects (with TLS and AUTH as configured), checks the server answers NOOP, and quits.
    pub async fn test_connection(&self) -> anyhow::Result<()> {
        let mut conn = tokio::time::timeout(self.0.timeout, Conn::open(&self.0))
            .await
            .map_err(|_| anyhow::anyhow!("no answer within {} s", self.0.timeout.as_secs()))??;
        let ok = conn.is_alive().await;
        conn.quit().await;
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

/// The SMTP connection pool for `mail.smtp`.
pub fn smtp_transport(c: &SmtpConfig) -> anyhow::Result<SmtpPool> {
    let name = if c.tls_server_name.is_empty() {
        c.host.as_str()
    } else {
        c.tls_server_name.as_str()
    };
    let tls = match c.security {
        Security::None => Tls::None,
        Security::Starttls => Tls::Required(
            super::tls::connector(&c.ca_file)?,
            super::tls::server_name(name)?,
        ),
        Security::Tls => Tls::Wrapper(
            super::tls::connector(&c.ca_file)?,
            super::tls::server_name(name)?,
        ),
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
    })))
}
