//! The byte stream of one SMTP connection, plain TCP or TLS (tokio-rustls), shared by two
//! users: lettre's connection, which reads every reply and writes the commands that wait for
//! one, and our own writer, which writes a message's data without waiting for any reply and
//! its end (the final `.`) only when the sender's commit point allows. lettre cannot hand its
//! stream back, and it reads a reply after each write; sharing the stream keeps lettre for the
//! protocol (greeting, EHLO, STARTTLS, AUTH, replies) and lets us hold the end back.
//!
//! The two never use it at the same moment (one task drives a connection), so the lock is
//! only ever taken uncontended, for the length of one poll.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

#[derive(Debug)]
enum Inner {
    Tcp(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    /// Between STARTTLS and the end of the handshake (or after a failed one).
    Upgrading,
}

/// One connection's stream; clones share it.
#[derive(Debug, Clone)]
pub(super) struct Shared {
    inner: Arc<Mutex<Inner>>,
    peer: SocketAddr,
}

fn gone() -> io::Error {
    io::Error::new(
        io::ErrorKind::NotConnected,
        "the TLS upgrade did not complete",
    )
}

impl Shared {
    pub(super) fn plain(tcp: TcpStream) -> io::Result<Shared> {
        let peer = tcp.peer_addr()?;
        Ok(Shared {
            inner: Arc::new(Mutex::new(Inner::Tcp(tcp))),
            peer,
        })
    }

    pub(super) fn tls(tls: TlsStream<TcpStream>) -> io::Result<Shared> {
        let peer = tls.get_ref().0.peer_addr()?;
        Ok(Shared {
            inner: Arc::new(Mutex::new(Inner::Tls(Box::new(tls)))),
            peer,
        })
    }

    fn lock(&self) -> io::Result<MutexGuard<'_, Inner>> {
        self.inner
            .lock()
            .map_err(|_| io::Error::other("the SMTP stream's lock is poisoned"))
    }

    /// Turns the plain connection into TLS (after the server's `220` to STARTTLS, when it
    /// sends nothing more until the handshake).
    pub(super) async fn upgrade(
        &self,
        connector: &tokio_rustls::TlsConnector,
        name: tokio_rustls::rustls::pki_types::ServerName<'static>,
    ) -> io::Result<()> {
        let tcp = match std::mem::replace(&mut *self.lock()?, Inner::Upgrading) {
            Inner::Tcp(tcp) => tcp,
            other => {
                *self.lock()? = other;
                return Err(io::Error::other(
                    "STARTTLS on a connection that is not plain",
                ));
            }
        };
        let tls = connector.connect(name, tcp).await?;
        *self.lock()? = Inner::Tls(Box::new(tls));
        Ok(())
    }
}

/// Runs `f` on the stream inside, pinned (both kinds are `Unpin`).
fn with<T>(
    s: &Shared,
    f: impl FnOnce(Pin<&mut dyn AsyncReadWrite>) -> Poll<io::Result<T>>,
) -> Poll<io::Result<T>> {
    let mut g = match s.lock() {
        Ok(g) => g,
        Err(e) => return Poll::Ready(Err(e)),
    };
    match &mut *g {
        Inner::Tcp(t) => f(Pin::new(t as &mut dyn AsyncReadWrite)),
        Inner::Tls(t) => f(Pin::new(t.as_mut() as &mut dyn AsyncReadWrite)),
        Inner::Upgrading => Poll::Ready(Err(gone())),
    }
}

trait AsyncReadWrite: AsyncRead + AsyncWrite + Unpin {}
impl<T: AsyncRead + AsyncWrite + Unpin> AsyncReadWrite for T {}

impl AsyncRead for Shared {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        with(&self, |s| s.poll_read(cx, buf))
    }
}

impl AsyncWrite for Shared {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, b: &[u8]) -> Poll<io::Result<usize>> {
        with(&self, |s| s.poll_write(cx, b))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        with(&self, |s| s.poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        with(&self, |s| s.poll_shutdown(cx))
    }
}

impl lettre::transport::smtp::client::AsyncTokioStream for Shared {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.peer)
    }
}
