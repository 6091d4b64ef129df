//! Reading replies: from an IMAP mailbox (async-imap over tokio, plain or rustls TLS; UIDs
//! newer than the last seen, UIDVALIDITY respected, processed mail moved to a folder, IDLE
//! when offered) or from a local Maildir (`new/` → `cur/`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, anyhow};
use futures::TryStreamExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::config::{ImapConfig, Security};

/// New messages in a Maildir's `new/`, oldest name first.
pub fn maildir_new(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    super::outbound::ensure_maildir(dir)?;
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir.join("new"))
        .with_context(|| format!("cannot read {}", dir.join("new").display()))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
        .map(|e| e.path())
        .collect();
    paths.sort();
    Ok(paths)
}

/// Marks a handled message: moved from `new/` to `cur/`, flagged seen (the Maildir way).
pub fn maildir_done(path: &Path) -> anyhow::Result<()> {
    let (Some(name), Some(dir)) = (path.file_name(), path.parent().and_then(Path::parent)) else {
        anyhow::bail!("not a Maildir path: {}", path.display());
    };
    let dest = dir
        .join("cur")
        .join(format!("{}:2,S", name.to_string_lossy()));
    match std::fs::rename(path, &dest) {
        Ok(()) => Ok(()),
        // Another poller on the same Maildir moved it first; the message is handled.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot move {} to cur/", path.display())),
    }
}

/// A connection IMAP can run over: plain TCP or TLS.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug> Stream for T {}

pub type Session = async_imap::Session<Box<dyn Stream>>;

/// Connects and logs in.
pub async fn connect(cfg: &ImapConfig) -> anyhow::Result<Session> {
    let addr = (cfg.host.as_str(), cfg.port);
    let tcp = tokio::time::timeout(Duration::from_secs(30), TcpStream::connect(addr))
        .await
        .map_err(|_| anyhow!("connecting to IMAP {}:{} timed out", cfg.host, cfg.port))?
        .with_context(|| format!("cannot connect to IMAP {}:{}", cfg.host, cfg.port))?;
    let name = if cfg.tls_server_name.is_empty() {
        cfg.host.clone()
    } else {
        cfg.tls_server_name.clone()
    };
    let stream: Box<dyn Stream> = match cfg.security {
        Security::None => Box::new(tcp),
        Security::Tls => {
            let sn = super::tls::server_name(&name)?;
            Box::new(
                super::tls::connector(&cfg.ca_file)?
                    .connect(sn, tcp)
                    .await
                    .context("IMAP TLS handshake failed")?,
            )
        }
        Security::Starttls => anyhow::bail!(
            "mail.imap.security = \"starttls\" is not supported: use \"tls\" (port 993) or \"none\" on loopback"
        ),
    };
    let mut client = async_imap::Client::new(stream);
    client
        .read_response()
        .await
        .context("no IMAP greeting")?
        .ok_or_else(|| anyhow!("the IMAP server closed the connection"))?;
    let session = client
        .login(&cfg.username, cfg.password.expose())
        .await
        .map_err(|(e, _)| anyhow!("IMAP login as {} failed: {e}", cfg.username))?;
    Ok(session)
}

/// One poll of an IMAP mailbox: fetch messages newer than the last seen UID in batches, then
/// move the handled ones to the processed folder and remember the highest UID. When
/// UIDVALIDITY changed, the mailbox is read from the start again (inbound is unique by
/// Message-ID, so nothing is stored twice).
///
/// Where the poll starts and what it leaves behind is a [`Cursor`]; keeping it between polls
/// is the caller's work (the jobs store it in the database under [`cursor_key`]).
pub struct ImapPoll {
    session: Session,
    uidvalidity: u32,
    last: u32,
    /// The cursor the poll started from was stored (an unknown mailbox gets one stored even
    /// when it is empty).
    known: bool,
    pending: Vec<u32>,
    max_seen: u32,
}

/// How far a mailbox has been read: its UIDVALIDITY and the highest UID handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub uidvalidity: u32,
    pub last_uid: u32,
}

/// The name a mailbox's [`Cursor`] is kept under: the account, server and mailbox.
pub fn cursor_key(cfg: &ImapConfig) -> String {
    format!(
        "imap:{}@{}:{}/{}",
        cfg.username, cfg.host, cfg.port, cfg.mailbox
    )
}

impl ImapPoll {
    /// Selects the mailbox and lists the messages after `cursor` (all of them when there is
    /// none or the mailbox's UIDVALIDITY changed).
    pub async fn open(cfg: &ImapConfig, cursor: Option<Cursor>) -> anyhow::Result<ImapPoll> {
        let mut session = connect(cfg).await?;
        let mbox = session
            .select(&cfg.mailbox)
            .await
            .with_context(|| format!("cannot select mailbox {}", cfg.mailbox))?;
        let uidvalidity = mbox.uid_validity.unwrap_or(0);
        let last = match cursor {
            Some(c) if c.uidvalidity == uidvalidity => c.last_uid,
            _ => 0,
        };
        let mut pending: Vec<u32> = if mbox.exists > 0 {
            session
                .uid_search(format!("UID {}:*", last.saturating_add(1)))
                .await
                .context("UID SEARCH failed")?
                .into_iter()
                .filter(|u| *u > last)
                .collect()
        } else {
            Vec::new()
        };
        pending.sort_unstable_by(|a, b| b.cmp(a));
        Ok(ImapPoll {
            session,
            uidvalidity,
            last,
            known: cursor.is_some(),
            pending,
            max_seen: last,
        })
    }

    /// The next up to `max` messages (UID and raw bytes), oldest first; empty when done.
    pub async fn next_batch(&mut self, max: usize) -> anyhow::Result<Vec<(u32, Vec<u8>)>> {
        let n = self.pending.len().min(max);
        let take: Vec<u32> = (0..n).filter_map(|_| self.pending.pop()).collect();
        if take.is_empty() {
            return Ok(Vec::new());
        }
        let set = take
            .iter()
            .map(|u| u.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let fetches: Vec<_> = self
            .session
            .uid_fetch(&set, "(UID BODY.PEEK[])")
            .await
            .context("UID FETCH failed")?
            .try_collect()
            .await?;
        let mut out: Vec<(u32, Vec<u8>)> = fetches
            .iter()
            .filter_map(|f| Some((f.uid?, f.body()?.to_vec())))
            .collect();
        out.sort_by_key(|(u, _)| *u);
        Ok(out)
    }

    /// Moves the handled messages out of the mailbox and logs out. Returns the cursor to keep
    /// for the next poll, or `None` when the stored one is still right.
    pub async fn finish(mut self, cfg: &ImapConfig, done: &[u32]) -> Option<Cursor> {
        if !done.is_empty() {
            // Every message in `done` is already stored with its outcome, so a failed move
            // loses nothing: another poller on the same mailbox may have moved (expunged) some
            // of them first, and any left behind are fetched again and found to be duplicates.
            if let Err(e) = move_processed(&mut self.session, &cfg.processed_folder, done).await {
                tracing::warn!(error = %format!("{e:#}"), count = done.len(), "could not move processed messages; they stay in the mailbox");
            }
            self.max_seen = done.iter().copied().fold(self.max_seen, u32::max);
        }
        let _ = self.session.logout().await;
        (self.max_seen != self.last || !self.known).then_some(Cursor {
            uidvalidity: self.uidvalidity,
            last_uid: self.max_seen,
        })
    }
}

async fn move_processed(s: &mut Session, folder: &str, uids: &[u32]) -> anyhow::Result<()> {
    if folder.is_empty() {
        return Ok(());
    }
    // Creating an existing folder fails harmlessly.
    let _ = s.create(folder).await;
    let set = uids
        .iter()
        .map(|u| u.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let caps = s.capabilities().await.context("CAPABILITY failed")?;
    if caps.has_str("MOVE") {
        s.uid_mv(&set, folder)
            .await
            .with_context(|| format!("UID MOVE to {folder} failed"))?;
    } else {
        s.uid_copy(&set, folder)
            .await
            .with_context(|| format!("UID COPY to {folder} failed"))?;
        let _: Vec<_> = s
            .uid_store(&set, "+FLAGS.SILENT (\\Deleted)")
            .await?
            .try_collect()
            .await?;
        if caps.has_str("UIDPLUS") {
            let _: Vec<_> = s.uid_expunge(&set).await?.try_collect().await?;
        } else {
            let _: Vec<_> = s.expunge().await?.try_collect().await?;
        }
    }
    Ok(())
}

/// Waits until the mailbox may have new mail: IMAP IDLE when the server offers it (up to
/// `max_wait`), else simply sleeps `max_wait`.
pub async fn wait_for_mail(cfg: &ImapConfig, max_wait: Duration) -> anyhow::Result<()> {
    if !cfg.idle {
        tokio::time::sleep(max_wait).await;
        return Ok(());
    }
    let mut s = connect(cfg).await?;
    let caps = s.capabilities().await?;
    if !caps.has_str("IDLE") {
        let _ = s.logout().await;
        tokio::time::sleep(max_wait).await;
        return Ok(());
    }
    s.select(&cfg.mailbox).await?;
    let mut idle = s.idle();
    idle.init().await.context("IDLE failed")?;
    let (wait, _stop) = idle.wait_with_timeout(max_wait);
    let _ = wait.await;
    if let Ok(mut s) = idle.done().await {
        let _ = s.logout().await;
    }
    Ok(())
}
