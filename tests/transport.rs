//! The mail transports against the real rig: SMTP with STARTTLS + AUTH and implicit TLS,
//! 4xx/5xx classification, IMAP over plain TCP with the processed-folder move, and IDLE.

mod support;

use std::time::{Duration, Instant};

use support::{addr, maildir_messages, rig, wait_maildir};

use tidings::config::{ImapConfig, SecretString, Security, SmtpConfig};
use tidings::mail::outbound::{SendError, Sender, smtp_transport};

fn smtp(rig: &rig::Rig, port: u16, security: Security, user: &str) -> Sender {
    let c = SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        security,
        username: format!("{user}@example.test"),
        password: SecretString::new(rig.password(user)),
        ca_file: rig.ca_pem.display().to_string(),
        tls_server_name: "localhost".into(),
        ..SmtpConfig::default()
    };
    Sender::Smtp(smtp_transport(&c).expect("transport"))
}

fn message(to: &str, tag: &str) -> Vec<u8> {
    format!("From: dave@example.test\r\nTo: {to}\r\nSubject: {tag}\r\nMessage-ID: <{tag}@example.test>\r\n\r\nbody {tag}\r\n").into_bytes()
}

fn maildir_holds(rig: &rig::Rig, user: &str, tag: &str) -> bool {
    !wait_maildir(rig, user, 1, |s| s.contains(tag)).is_empty()
}

#[tokio::test]
async fn smtp_sends_with_starttls_and_auth_and_with_implicit_tls() {
    let rig = rig::Rig::shared();
    let s = smtp(rig, rig.smtp_port, Security::Starttls, "dave");
    s.send(
        &addr("dave@example.test"),
        &addr("erin@example.test"),
        "k1",
        &message("erin@example.test", "starttls-1"),
    )
    .await
    .expect("STARTTLS send");
    assert!(maildir_holds(rig, "erin", "starttls-1"));
    let s = smtp(rig, rig.smtps_port, Security::Tls, "dave");
    s.send(
        &addr("dave@example.test"),
        &addr("erin@example.test"),
        "k2",
        &message("erin@example.test", "smtps-1"),
    )
    .await
    .expect("TLS send");
    assert!(maildir_holds(rig, "erin", "smtps-1"));
    s.test_connection().await.expect("NOOP over TLS");
}

#[tokio::test]
async fn smtp_errors_are_classified_permanent_or_transient() {
    let rig = rig::Rig::shared();
    let s = smtp(rig, rig.smtp_port, Security::None, "dave");
    let r = s
        .send(
            &addr("dave@example.test"),
            &addr("nobody@example.test"),
            "k3",
            &message("nobody@example.test", "x"),
        )
        .await;
    assert!(
        matches!(r, Err(SendError::Permanent(_))),
        "550 is permanent: {r:?}"
    );
    rig.set_recipient_access("defer@example.test", Some("450 4.2.0 try later"));
    let r = s
        .send(
            &addr("dave@example.test"),
            &addr("defer@example.test"),
            "k4",
            &message("defer@example.test", "y"),
        )
        .await;
    rig.set_recipient_access("defer@example.test", None);
    assert!(
        matches!(r, Err(SendError::Transient(_))),
        "450 is transient: {r:?}"
    );
    let closed = SmtpConfig {
        host: "127.0.0.1".into(),
        port: 1,
        timeout_secs: 5,
        ..SmtpConfig::default()
    };
    let r = Sender::Smtp(smtp_transport(&closed).unwrap())
        .send(
            &addr("dave@example.test"),
            &addr("erin@example.test"),
            "k5",
            b"x",
        )
        .await;
    assert!(
        matches!(r, Err(SendError::Transient(_))),
        "connection refused is transient: {r:?}"
    );
}

fn imap(rig: &rig::Rig, user: &str) -> ImapConfig {
    ImapConfig {
        host: "127.0.0.1".into(),
        port: rig.imap_port,
        security: Security::None,
        username: format!("{user}@example.test"),
        password: SecretString::new(rig.password(user)),
        poll_interval_secs: 1,
        ..ImapConfig::default()
    }
}

#[tokio::test]
async fn imap_idle_wakes_up_when_mail_arrives() {
    let rig = rig::Rig::shared();
    let cfg = imap(rig, "carol");
    let started = Instant::now();
    let wait = tokio::spawn(async move {
        tidings::mail::inbound::wait_for_mail(&cfg, Duration::from_secs(20)).await
    });
    tokio::time::sleep(Duration::from_millis(700)).await;
    let s = smtp(rig, rig.smtp_port, Security::None, "dave");
    s.send(
        &addr("dave@example.test"),
        &addr("carol@example.test"),
        "k6",
        &message("carol@example.test", "idle-1"),
    )
    .await
    .unwrap();
    wait.await.unwrap().expect("IDLE");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "IDLE returned on new mail, not at the timeout ({:?})",
        started.elapsed()
    );
}

#[tokio::test]
async fn imap_poll_reads_new_mail_once_and_moves_it_to_the_processed_folder() {
    let rig = rig::Rig::shared();
    let dir = tempfile::tempdir().unwrap();
    let store = tidings::store::Store::connect(
        &format!("sqlite://{}", dir.path().join("t.db").display()),
        2,
    )
    .await
    .unwrap();
    store.migrate().await.unwrap();
    let s = smtp(rig, rig.smtp_port, Security::None, "dave");
    for i in 0..3 {
        s.send(
            &addr("dave@example.test"),
            &addr("bob@example.test"),
            "k",
            &message("bob@example.test", &format!("poll-{i}")),
        )
        .await
        .unwrap();
    }
    for i in 0..3 {
        assert!(maildir_holds(rig, "bob", &format!("poll-{i}")));
    }
    let cfg = imap(rig, "bob");
    let mut p = tidings::jobs::ingest::open_imap(&store, &cfg)
        .await
        .unwrap();
    let batch = p.next_batch(50).await.unwrap();
    assert_eq!(batch.len(), 3);
    let done: Vec<u32> = batch.iter().map(|(u, _)| *u).collect();
    tidings::jobs::ingest::finish_imap(&store, &cfg, p, &done)
        .await
        .unwrap();
    let mut p = tidings::jobs::ingest::open_imap(&store, &cfg)
        .await
        .unwrap();
    assert!(
        p.next_batch(50).await.unwrap().is_empty(),
        "nothing is read twice"
    );
    tidings::jobs::ingest::finish_imap(&store, &cfg, p, &[])
        .await
        .unwrap();
    let archived = std::fs::read_dir(rig.maildir("bob").join(".Archive/cur"))
        .map(|d| d.count())
        .unwrap_or(0)
        + std::fs::read_dir(rig.maildir("bob").join(".Archive/new"))
            .map(|d| d.count())
            .unwrap_or(0);
    assert_eq!(archived, 3, "processed mail moved to Archive");
}

#[tokio::test]
async fn a_changed_uidvalidity_makes_the_poller_read_the_mailbox_again() {
    let rig = rig::Rig::shared();
    let dir = tempfile::tempdir().unwrap();
    let store = tidings::store::Store::connect(
        &format!("sqlite://{}", dir.path().join("t.db").display()),
        2,
    )
    .await
    .unwrap();
    store.migrate().await.unwrap();
    let s = smtp(rig, rig.smtp_port, Security::None, "dave");
    s.send(
        &addr("dave@example.test"),
        &addr("alice@example.test"),
        "k",
        &message("alice@example.test", "uidv-1"),
    )
    .await
    .unwrap();
    assert!(maildir_holds(rig, "alice", "uidv-1"));
    let cfg = ImapConfig {
        processed_folder: String::new(),
        ..imap(rig, "alice")
    };
    let key = format!(
        "imap:{}@{}:{}/{}",
        cfg.username, cfg.host, cfg.port, cfg.mailbox
    );
    // A stored position far past every UID, but under another UIDVALIDITY: it must be ignored.
    store.set_mailbox_state(&key, 1, 1_000_000).await.unwrap();
    let mut p = tidings::jobs::ingest::open_imap(&store, &cfg)
        .await
        .unwrap();
    let batch = p.next_batch(50).await.unwrap();
    assert!(
        !batch.is_empty(),
        "the mailbox is read from the start after a UIDVALIDITY change"
    );
    let done: Vec<u32> = batch.iter().map(|(u, _)| *u).collect();
    tidings::jobs::ingest::finish_imap(&store, &cfg, p, &done)
        .await
        .unwrap();
    let (uv, last) = store.mailbox_state(&key).await.unwrap().unwrap();
    assert_ne!(uv, 1);
    assert_eq!(last, *done.iter().max().unwrap());
    // With the right UIDVALIDITY and position, nothing is new.
    let mut p = tidings::jobs::ingest::open_imap(&store, &cfg)
        .await
        .unwrap();
    assert!(p.next_batch(50).await.unwrap().is_empty());
    tidings::jobs::ingest::finish_imap(&store, &cfg, p, &[])
        .await
        .unwrap();
}

/// The two steps of a send, which let the drain place its commit point: a begun email has all
/// its data at the server but the end, and is not delivered until it is finished; one dropped
/// unfinished is never delivered (the connection closes without the end of data).
#[tokio::test]
async fn a_begun_email_is_delivered_only_when_finished() {
    let rig = rig::Rig::shared();
    let s = smtp(rig, rig.smtp_port, Security::Starttls, "dave");
    let begin = |tag: &'static str| {
        let s = s.clone();
        async move {
            let msg = s
                .prepare(message("grace@example.test", tag))
                .expect("prepared");
            s.begin(
                &addr("dave@example.test"),
                &addr("grace@example.test"),
                tag,
                msg,
            )
            .await
            .expect("begun")
        }
    };
    let kept = begin("staged-kept").await;
    let dropped = begin("staged-dropped").await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        wait_maildir_for(rig, "grace", "staged-kept", Duration::from_millis(200)).is_none(),
        "delivered before the end of its data"
    );
    drop(dropped);
    kept.finish().await.expect("finished");
    assert!(maildir_holds(rig, "grace", "staged-kept"));
    assert!(
        wait_maildir_for(rig, "grace", "staged-dropped", Duration::from_secs(2)).is_none(),
        "an email dropped before its end was delivered"
    );
}

/// The first message in `user`'s Maildir holding `tag`, waiting at most `wait`.
fn wait_maildir_for(rig: &rig::Rig, user: &str, tag: &str, wait: Duration) -> Option<String> {
    let deadline = Instant::now() + wait;
    loop {
        let found = maildir_messages(rig, user)
            .into_iter()
            .find(|m| m.contains(tag));
        if found.is_some() || Instant::now() >= deadline {
            return found;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A loopback TCP relay to the rig's Postfix that keeps every chunk the client wrote, so a test
/// can see how commands were grouped on the wire.
async fn recording_relay(target: u16) -> (u16, std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let chunks = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = chunks.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let server = tokio::net::TcpStream::connect(("127.0.0.1", target))
                .await
                .unwrap();
            let (mut cr, mut cw) = client.into_split();
            let (mut sr, mut sw) = server.into_split();
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                while let Ok(n) = cr.read(&mut buf).await {
                    if n == 0 || sw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                    seen.lock().unwrap().push(buf[..n].to_vec());
                }
            });
            tokio::spawn(async move {
                let _ = tokio::io::copy(&mut sr, &mut cw).await;
            });
        }
    });
    (port, chunks)
}

/// Postfix offers PIPELINING: MAIL, RCPT and DATA go out in one write (one round trip), and
/// the email is delivered.
#[tokio::test]
async fn mail_rcpt_and_data_are_pipelined_when_the_server_offers_it() {
    let rig = rig::Rig::shared();
    let (port, chunks) = recording_relay(rig.smtp_port).await;
    // Plain SMTP on loopback without AUTH, as the rig's Postfix allows for local mail.
    let s = Sender::Smtp(
        smtp_transport(&SmtpConfig {
            host: "127.0.0.1".into(),
            port,
            security: Security::None,
            ..SmtpConfig::default()
        })
        .expect("transport"),
    );
    for tag in ["pipelined-1", "pipelined-2"] {
        s.send(
            &addr("dave@example.test"),
            &addr("bob@example.test"),
            tag,
            &message("bob@example.test", tag),
        )
        .await
        .expect("send");
    }
    assert!(maildir_holds(rig, "bob", "pipelined-1"));
    assert!(maildir_holds(rig, "bob", "pipelined-2"));
    let chunks = chunks.lock().unwrap().clone();
    let grouped = chunks
        .iter()
        .map(|c| String::from_utf8_lossy(c).to_string())
        .filter(|c| {
            c.starts_with("MAIL FROM:") && c.contains("\r\nRCPT TO:") && c.ends_with("DATA\r\n")
        })
        .count();
    assert_eq!(
        grouped,
        2,
        "each email's MAIL, RCPT and DATA in one write: {:?}",
        chunks
            .iter()
            .map(|c| String::from_utf8_lossy(&c[..c.len().min(80)]).to_string())
            .collect::<Vec<_>>()
    );
}
