//! The inbound side under crashes and cut connections, and a `run-due` whose mail servers are
//! closed: no reply lost, none stored twice, and what can run still runs.

use super::*;

/// A reply from member `<mailbox>+m<i>` to their token address `<to_box>+TOKEN`, via Postfix.
fn send_reply(rig: &rig::Rig, mailbox: &str, to_box: &str, i: i64, token: &str) {
    use std::io::{BufRead, BufReader, Write};
    let stream = std::net::TcpStream::connect(("127.0.0.1", rig.smtp_port)).expect("smtp");
    let mut r = BufReader::new(stream.try_clone().expect("clone"));
    let mut w = stream;
    let mut line = String::new();
    let mut expect = |w: &mut std::net::TcpStream, cmd: Option<String>| {
        if let Some(c) = cmd {
            w.write_all(c.as_bytes()).expect("write");
        }
        loop {
            line.clear();
            r.read_line(&mut line).expect("read");
            assert!(
                line.starts_with('2') || line.starts_with('3'),
                "SMTP said {line}"
            );
            if line.as_bytes().get(3) != Some(&b'-') {
                break;
            }
        }
    };
    expect(&mut w, None);
    expect(&mut w, Some("EHLO client.test\r\n".into()));
    expect(
        &mut w,
        Some(format!("MAIL FROM:<{mailbox}+m{i}@example.test>\r\n")),
    );
    expect(
        &mut w,
        Some(format!("RCPT TO:<{to_box}+{token}@example.test>\r\n")),
    );
    expect(&mut w, Some("DATA\r\n".into()));
    let msg = format!(
        "From: Member {i} <{mailbox}+m{i}@example.test>\r\nTo: {to_box}+{token}@example.test\r\nSubject: Re: your update\r\nMessage-ID: <crash-reply-{i}@client.test>\r\nDate: {}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nReply marker {i}: shipped it.\r\n\r\nOn Mon, 9 Mar 2026 at 16:30, Tidings <tidings@example.test> wrote:\r\n> What did you get done?\r\n.\r\n",
        Utc::now().to_rfc2822()
    );
    expect(&mut w, Some(msg));
    expect(&mut w, Some("QUIT\r\n".into()));
}

/// Sends one reply from each member `<from_box>+m1..n` to their signed token address
/// `<to_box>+TOKEN` through Postfix, and waits until all n are in `to_box`'s Maildir.
fn send_replies(rig: &rig::Rig, from_box: &str, to_box: &str, n: i64) {
    let secret = Secret::new(SECRET.as_bytes().to_vec());
    let today = Utc::now().date_naive();
    for i in 1..=n {
        let token = ReplyToken {
            member: i,
            date: today,
            checkin: 0,
        }
        .encode(&secret);
        send_reply(rig, from_box, to_box, i, &token);
    }
    let count = || {
        ["new", "cur"]
            .iter()
            .map(|d| {
                std::fs::read_dir(rig.maildir(to_box).join(d))
                    .map(|r| r.count())
                    .unwrap_or(0)
            })
            .sum::<usize>()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while count() < n as usize && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        count() >= n as usize,
        "replies delivered to {to_box}'s mailbox"
    );
}

/// Replies stored as updates, and how many of them hold their reply's text more than once.
async fn stored_replies(s: &Store) -> (i64, usize) {
    let bodies: Vec<(i64, String)> =
        sqlx::query_as("SELECT member_id, body FROM updates WHERE source = 'email'")
            .fetch_all(s.pool())
            .await
            .expect("updates");
    let duplicates = bodies
        .iter()
        .map(|(i, b)| {
            b.matches(&format!("Reply marker {i}:"))
                .count()
                .saturating_sub(1)
        })
        .sum();
    (bodies.len() as i64, duplicates)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_poll_killed_mid_way_loses_no_reply_and_stores_none_twice() {
    let rig = rig::Rig::shared();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("ingest.db").display());
    let s = store(&db).await;
    let n = 300;
    // Members with nothing due, so only the poller works.
    seed(&s, n, 100, "carol", "none").await;
    send_replies(rig, "carol", "updates", n);

    let cfg = write_config(dir.path(), &db, rig, "updates");
    let mut rng = Rng::new();
    let kills = 5;
    for _ in 0..kills {
        let child = serve(dir.path(), &cfg);
        tokio::time::sleep(Duration::from_millis(400 + rng.below(1500))).await;
        kill9(child);
    }
    let mut child = serve(dir.path(), &cfg);
    let deadline = Instant::now() + Duration::from_secs(120);
    let accepted = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM updates WHERE source = 'email'")
            .fetch_one(s.pool())
            .await
            .expect("count")
    };
    while accepted().await < n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // A little longer: a duplicate would show up now.
    tokio::time::sleep(Duration::from_secs(3)).await;
    sigterm(&mut child);
    let (stored, duplicates) = stored_replies(&s).await;
    let lost = n - stored;
    let inbound: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM inbound_messages")
        .fetch_one(s.pool())
        .await
        .expect("inbound");
    eprintln!(
        "ingest crash: replies {n}, kills {kills}, stored {stored}, raw kept {inbound}, lost {lost}, duplicates {duplicates}"
    );
    assert_eq!(lost, 0, "every reply is stored");
    assert_eq!(duplicates, 0, "no reply is stored twice");
    assert_eq!(inbound, n, "each raw message kept once");
}

/// A TCP proxy to `upstream` that cuts each connection once the server has sent more than
/// the current `limit` bytes (usize::MAX: never): an IMAP connection dropped mid-fetch.
async fn cutting_proxy(
    upstream: u16,
    limit: std::sync::Arc<std::sync::atomic::AtomicUsize>,
) -> u16 {
    use std::sync::atomic::Ordering;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = l.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((client, _)) = l.accept().await {
            let cut = limit.load(Ordering::SeqCst);
            tokio::spawn(async move {
                let Ok(server) = tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await
                else {
                    return;
                };
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let up = tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut cr, &mut sw).await;
                });
                let mut sent = 0usize;
                let mut buf = vec![0u8; 512];
                loop {
                    let n = match sr.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    let n = n.min(cut.saturating_sub(sent));
                    if n == 0 || cw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                    sent += n;
                }
                up.abort();
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread")]
async fn an_imap_connection_dropped_mid_fetch_loses_no_reply() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tidings::config::{Config, SecretString, SecretUrl, Security, Transport};
    let rig = rig::Rig::shared();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("drop.db").display());
    let s = store(&db).await;
    let n = 20;
    seed(&s, n, 10, "alice", "none").await;
    send_replies(rig, "alice", "dave", n);
    // Greeting, login, SELECT and the start of the first FETCH fit in 3 KB; 20 replies do not.
    let limit = Arc::new(AtomicUsize::new(3000));
    let port = cutting_proxy(rig.imap_port, limit.clone()).await;
    let mut cfg = Config::default();
    cfg.database.url = SecretUrl(db.clone());
    cfg.mail.transport = Transport::Smtp;
    cfg.mail.from = "Tidings <tidings@example.test>".parse().unwrap();
    cfg.mail.reply_to = tidings::domain::EmailAddress::parse("dave@example.test").unwrap();
    cfg.mail.smtp.port = rig.smtp_port;
    cfg.mail.imap.port = port;
    cfg.mail.imap.security = Security::None;
    cfg.mail.imap.username = "dave@example.test".into();
    cfg.mail.imap.password = SecretString::new(rig.password("dave"));
    cfg.security.secret = SecretString::new(SECRET);
    let ctx = tidings::jobs::Ctx::build(cfg).await.expect("ctx");
    let first = tidings::jobs::ingest::poll(&ctx, Utc::now()).await;
    eprintln!("poll over a connection cut after 3000 bytes: {first:?}");
    assert!(first.is_err(), "the cut is reported, not swallowed");
    limit.store(usize::MAX, Ordering::SeqCst);
    let (mut stored, mut duplicates) = (0, 0);
    for _ in 0..5 {
        tidings::jobs::ingest::poll(&ctx, Utc::now())
            .await
            .expect("healthy poll");
        (stored, duplicates) = stored_replies(&s).await;
        if stored == n {
            break;
        }
    }
    eprintln!(
        "imap drop: replies {n}, stored {stored}, lost {}, duplicates {duplicates}",
        n - stored
    );
    assert_eq!(stored, n, "no reply lost");
    assert_eq!(duplicates, 0, "none stored twice");
}

/// `tidings run-due` with `config`, plus environment overrides.
fn run_due_with(dir: &Path, config: &Path, env: &[(&str, String)]) -> std::process::Output {
    let mut c = Command::new(BIN);
    c.arg("--config")
        .arg(config)
        .arg("run-due")
        .current_dir(dir)
        .env("TIDINGS_LOG", "off");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("binary runs")
}

#[tokio::test(flavor = "multi_thread")]
async fn run_due_with_imap_closed_still_queues_and_sends() {
    let rig = rig::Rig::shared();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("cron.db").display());
    let s = store(&db).await;
    seed(&s, 20, 10, "frank", "request").await;
    s.close().await;
    let cfg = write_config(dir.path(), &db, rig, "frank");
    let o = run_due_with(
        dir.path(),
        &cfg,
        &[("TIDINGS_MAIL__IMAP__PORT", closed_port().to_string())],
    );
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert_eq!(o.status.code(), Some(3), "a part failed: {out}{err}");
    assert!(
        err.contains("reading replies") && err.contains("mail.imap"),
        "the failed part and what to check: {err}"
    );
    assert!(
        out.contains("inbound failed") && out.contains("requests 20") && out.contains("sent 20"),
        "{out}"
    );
    let counts = wait_delivered(rig, "frank", "request", 20);
    let (lost, duplicates) = report("run-due with IMAP closed", 20, &counts, 0);
    assert_eq!((lost, duplicates), (0, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn run_due_with_smtp_closed_still_reads_replies_and_queues() {
    let rig = rig::Rig::shared();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("cron.db").display());
    let s = store(&db).await;
    seed(&s, 5, 5, "grace", "request").await;
    send_replies(rig, "grace", "grace", 5);
    let cfg = write_config(dir.path(), &db, rig, "grace");
    let o = run_due_with(
        dir.path(),
        &cfg,
        &[
            ("TIDINGS_MAIL__SMTP__PORT", closed_port().to_string()),
            ("TIDINGS_MAIL__REPLY_TO", "grace@example.test".to_string()),
        ],
    );
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert_eq!(o.status.code(), Some(3), "a part failed: {out}{err}");
    assert!(
        err.contains("sending") && err.contains("mail.smtp") && err.contains("none of 10"),
        "the failed part and what to check: {err}"
    );
    assert!(
        out.contains("accepted 5")
            && out.contains("requests 5")
            && out.contains("sent 0, retried 10"),
        "{out}"
    );
    let (stored, duplicates) = stored_replies(&s).await;
    assert_eq!((stored, duplicates), (5, 0), "every reply stored once");
    assert_eq!(
        outbox_total(&s, "request").await,
        5,
        "the requests are queued"
    );
    assert_eq!(outbox_total(&s, "receipt").await, 5, "and the receipts");
    assert_eq!(outbox_open(&s).await, 10, "all waiting for their retry");
}
