//! Ana's activity feed in the demo (#35): a JSON Feed (`ana.json`) served on 127.0.0.1 while
//! the demo runs, given to Ana like any member's feed and read by the same job and fetcher
//! in each simulated pass. Her Monday request drafts her Done from it and she replies
//! `keep`. The demo's own config allows the loopback address (`fetch.allow_private`,
//! `fetch.allow_http`); the written `tidings.toml` does not, so the feed is taken away when
//! the demo ends.

use std::path::Path;

use anyhow::Context;

const FEED: &str = include_str!("ana.json");

/// The feed's server: its address, and the task serving it (ended on drop).
pub(super) struct FeedServer {
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FeedServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves [`FEED`] on a free port of 127.0.0.1: every request gets it (HTTP/1.1, then the
/// connection closes). Not a route of Tidings' own server: a stand-in for a forge.
pub(super) async fn serve() -> anyhow::Result<FeedServer> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("cannot bind 127.0.0.1 for the demo's activity feed")?;
    let port = listener.local_addr()?.port();
    let answer = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/feed+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{FEED}",
        FEED.len()
    );
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request).await;
                let _ = stream.write_all(answer.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    Ok(FeedServer {
        url: format!("http://127.0.0.1:{port}/ana.json"),
        task,
    })
}

/// What Ana kept, as the summary shows it: her Monday request's file and the lines her
/// update's Done holds from it; an error when the draft did not reach her Done.
pub(super) async fn kept(
    ctx: &crate::jobs::Ctx,
    ana: crate::domain::MemberId,
    sent_dir: &Path,
) -> anyhow::Result<String> {
    let monday = chrono::NaiveDate::from_ymd_opt(2026, 11, 30).context("a date")?;
    let update = ctx
        .store
        .update_for(ana, monday)
        .await?
        .context("Ana's Monday update was not stored")?;
    let done = update
        .sections
        .iter()
        .find(|s| s.kind == crate::domain::sections::Kind::Done)
        .context("Ana's Monday update has no Done section")?;
    let links = done
        .text
        .lines()
        .filter(|l| crate::domain::text::line_link(l).is_some())
        .count();
    if links == 0 {
        anyhow::bail!(
            "Ana's Monday Done holds no line of her draft:\n{}",
            done.text
        );
    }
    let request = sent_dir.join(format!("request_{ana}_{monday}.tidings.eml"));
    Ok(format!(
        "{links} lines with their links in her Done; the request: {}",
        request.display()
    ))
}
