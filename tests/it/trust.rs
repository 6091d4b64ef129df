//! What an attacker tried in the second security test (#29), each as a test against the real
//! server: a body trickled one byte at a time, a flood of wrong admin logins, links from
//! before a signout, and the "Was this you?" release of mail without a token.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::both;
use crate::helpers::*;
use crate::web::{ADMIN, Server};

/// A TCP connection to `addr` from loopback address `from` (127.0.0.x: another client).
async fn connect_from(from: Ipv4Addr, addr: &str) -> tokio::net::TcpStream {
    let s = tokio::net::TcpSocket::new_v4().unwrap();
    s.bind((from, 0).into()).unwrap();
    s.connect(addr.parse().unwrap()).await.unwrap()
}

/// An HTTP client whose connections come from loopback address `from`.
fn client_from(from: Ipv4Addr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(from))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// One slow client: the head of a POST with a 100-byte body, then one byte every `every`.
/// Returns the status line it got (empty when the server closed without answering) and when.
async fn trickle(
    from: Ipv4Addr,
    addr: String,
    token: String,
    every: Duration,
) -> (String, Duration) {
    let started = Instant::now();
    let mut c = connect_from(from, &addr).await;
    let head = format!(
        "POST /api/v1/updates HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    );
    if c.write_all(head.as_bytes()).await.is_err() {
        return (String::new(), started.elapsed());
    }
    let mut buf = vec![0u8; 512];
    loop {
        tokio::select! {
            n = c.read(&mut buf) => {
                let n = n.unwrap_or(0);
                let line = String::from_utf8_lossy(&buf[..n]).lines().next().unwrap_or_default().to_string();
                return (line, started.elapsed());
            }
            _ = tokio::time::sleep(every) => {
                if c.write_all(b" ").await.is_err() {
                    return (String::new(), started.elapsed());
                }
            }
        }
    }
}

both!(
    a_trickled_body_ends_with_408_at_its_deadline_and_healthz_stays_up,
    |app| {
        let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
        let srv = Server::start(&app, |c| {
            c.web.max_connections = 20;
            c.web.max_connections_per_ip = 8;
            c.web.body_timeout_secs = 6;
            c.web.min_body_bytes_per_sec = 0;
        })
        .await;
        let token = srv.token_for(ann).await;
        let addr = srv.base.trim_start_matches("http://").to_string();
        // 5 × max_connections slow clients from one address, one byte every 5 s: a timer
        // restarted by each byte would never fire.
        let slow: Vec<_> = (0..100)
            .map(|_| {
                tokio::spawn(trickle(
                    Ipv4Addr::new(127, 0, 0, 2),
                    addr.clone(),
                    token.clone(),
                    Duration::from_secs(5),
                ))
            })
            .collect();
        // Meanwhile /healthz answers at once, again and again.
        let mut worst = Duration::ZERO;
        for _ in 0..8 {
            tokio::time::sleep(Duration::from_millis(800)).await;
            let t = Instant::now();
            let r = tokio::time::timeout(
                Duration::from_secs(10),
                srv.http.get(srv.url("/healthz")).send(),
            )
            .await
            .expect("/healthz answers while slow clients hold connections")
            .unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            worst = worst.max(t.elapsed());
        }
        eprintln!("/healthz under 100 slow clients: slowest answer {worst:?}");
        assert!(worst < Duration::from_secs(2), "{worst:?}");
        let mut timed_out = 0;
        let mut refused = 0;
        for s in slow {
            let (line, took) = s.await.unwrap();
            if line.starts_with("HTTP/1.1 408") {
                timed_out += 1;
                // By the deadline (6 s), not after several more 5-second trickles.
                assert!(took < Duration::from_secs(10), "{took:?}");
            } else {
                assert_eq!(line, "", "closed at once beyond the per-address cap");
                refused += 1;
            }
        }
        eprintln!("slow clients: {timed_out} answered 408, {refused} closed at once");
        assert_eq!((timed_out, refused), (8, 92));
        // Below a minimum rate, 408 comes before the deadline.
        let srv = Server::start(&app, |c| {
            c.web.body_timeout_secs = 30;
            c.web.min_body_bytes_per_sec = 50;
        })
        .await;
        let addr = srv.base.trim_start_matches("http://").to_string();
        let (line, took) =
            trickle(Ipv4Addr::LOCALHOST, addr, token, Duration::from_millis(500)).await;
        assert!(line.starts_with("HTTP/1.1 408"), "{line}");
        assert!(took < Duration::from_secs(20), "{took:?}");
    }
);

both!(
    a_hundred_wrong_logins_from_one_address_leave_the_admin_free_elsewhere,
    |app| {
        let srv = Server::start(&app, |_| {}).await;
        let attacker = client_from(Ipv4Addr::new(127, 0, 0, 3));
        let mut limited = 0;
        for i in 0..100 {
            let r = attacker
                .post(srv.url("/login"))
                .form(&[("token", format!("guess-{i}"))])
                .send()
                .await
                .unwrap();
            match r.status() {
                StatusCode::UNAUTHORIZED => {}
                StatusCode::TOO_MANY_REQUESTS => limited += 1,
                s => panic!("wrong login {i}: {s}"),
            }
            // Wrong Bearer guesses against the admin API count the same way.
            let r = attacker
                .get(srv.url("/api/v1/admin/members"))
                .bearer_auth(format!("guess-{i}"))
                .send()
                .await
                .unwrap();
            assert!(
                matches!(
                    r.status(),
                    StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS
                ),
                "{}",
                r.status()
            );
        }
        assert!(
            limited >= 80,
            "the guesser is slowed down: {limited} of 100 limited"
        );
        // Even the right token from the guesser's address waits…
        let r = attacker
            .get(srv.url("/api/v1/admin/members"))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        // …but the admin, from their own address, logs in and uses the API.
        let admin = client_from(Ipv4Addr::LOCALHOST);
        let r = admin
            .post(srv.url("/login"))
            .form(&[("token", ADMIN)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let r = admin
            .get(srv.url("/api/v1/admin/members"))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
);

both!(
    member_signout_ends_every_earlier_link_with_410_and_new_links_work,
    |app| {
        let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
        app.member("bob@example.test", "Bob", "Europe/Berlin").await;
        let srv = Server::start(&app, |_| {}).await;
        let m = app.ctx.store.member_by_id(ann).await.unwrap().unwrap();
        let bob = app
            .ctx
            .store
            .member_by_email(&addr("bob@example.test"))
            .await
            .unwrap()
            .unwrap();
        let now = chrono::Utc::now();
        let path = |url: String| url[url.find("/p/").or(url.find("/u/")).unwrap()..].to_string();
        let prefs = path(app.ctx.prefs_url(&m, now));
        let log = format!("{prefs}/log");
        let unsub = path(app.ctx.unsubscribe_url(ann, now));
        let bobs = path(app.ctx.prefs_url(&bob, now));
        for p in [&prefs, &log, &bobs] {
            let r = srv.http.get(srv.url(p)).send().await.unwrap();
            assert!(
                r.status().is_success() || r.status().is_redirection(),
                "{p}: {}",
                r.status()
            );
        }
        crate::cli::ok(&crate::cli::run(
            app.dir.path(),
            &app.db_url,
            &["member", "signout", "ann@example.test"],
        ));
        for p in [&prefs, &log] {
            let r = srv.http.get(srv.url(p)).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::GONE, "{p}");
            assert!(r.text().await.unwrap().contains("signed out everywhere"));
        }
        // A form from an old page acts on nothing either.
        let r = srv
            .http
            .post(srv.url(&prefs))
            .form(&[("timezone", "UTC")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::GONE);
        // Other members are untouched; the unsubscribe link of an old email still works.
        let r = srv.http.get(srv.url(&bobs)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let r = srv.http.get(srv.url(&unsub)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        // Links made after the signout work.
        let m = app.ctx.store.member_by_id(ann).await.unwrap().unwrap();
        assert_eq!(m.epoch, 1);
        let fresh = path(app.ctx.prefs_url(&m, now));
        let r = srv.http.get(srv.url(&fresh)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let r = srv
            .http
            .get(srv.url(&format!("{fresh}/log")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }
);

both!(
    was_this_you_releases_a_message_without_a_token_once,
    |app| {
        app.member("ann@example.test", "Ann", "Europe/Berlin").await;
        let srv = Server::start(&app, |_| {}).await;
        // The web side runs on the real clock, so the message arrives now.
        let t = chrono::Utc::now();
        let fresh = b"From: Ann <ann@example.test>\r\nTo: updates@example.test\r\nSubject: my update\r\nMessage-ID: <w1@mail.test>\r\n\r\nWrote the release notes.\r\n";
        let r = app.deliver("w1", fresh, t).await;
        assert_eq!(r.quarantined, 1, "{r:?}");
        // A second one within the hour: kept aside, but Ann is not asked again.
        let r = app
            .deliver(
                "w2",
                &swap(fresh, "<w1@", "<w2@"),
                t + chrono::Duration::minutes(5),
            )
            .await;
        assert_eq!(r.quarantined, 1, "{r:?}");
        // Sent by the next pass: ours, or the running server's own (which may claim it first).
        let mut asks = Vec::new();
        for _ in 0..100 {
            app.tick(t + chrono::Duration::minutes(6)).await;
            asks = app.sent_of("confirm");
            if !asks.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(asks.len(), 1, "{:?}", app.sent());
        let mail = app.read_sent(&asks[0]);
        assert!(
            subject_of(&mail).starts_with("core · Was this you?"),
            "{mail}"
        );
        assert!(mail.contains("ann@example.test>"), "{mail}");
        let text = text_body(&mail);
        let url = text
            .split_whitespace()
            .find(|w| w.contains("/confirm/"))
            .expect("a release link")
            .to_string();
        let path = &url[url.find("/confirm/").unwrap()..];
        // Opening it shows the message and changes nothing (a mail scanner may open it).
        let r = srv.http.get(srv.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.text().await.unwrap().contains("Wrote the release notes."));
        let day = tidings::domain::schedule::local_date(chrono_tz::Europe::Berlin, t);
        assert!(app.ctx.store.update_for(1, day).await.unwrap().is_none());
        // A tampered link does nothing.
        let flip = if path.ends_with('0') { "1" } else { "0" };
        let tampered = format!("{}{flip}", &path[..path.len() - 1]);
        let r = srv.http.post(srv.url(&tampered)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        // Confirming reads it as Ann's reply, once.
        let r = srv.http.post(srv.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.text().await.unwrap().contains("read as your update"));
        let u = app.ctx.store.update_for(1, day).await.unwrap();
        let u = u.expect("released as Ann's update");
        assert_eq!(u.body, "Wrote the release notes.");
        for _ in 0..2 {
            let r = srv.http.post(srv.url(path)).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::GONE);
        }
        let r = srv.http.get(srv.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::GONE);
    }
);

/// Receipts to one address stop at `mail.inbound.receipts_per_hour` (every reply is still
/// kept) and are counted; an hour later they flow again.
mod receipts_to_one_address_stop_at_the_hourly_limit {
    use super::*;

    #[tokio::test]
    async fn sqlite() {
        run(Db::Sqlite).await
    }

    #[tokio::test]
    async fn postgres() {
        run(Db::Postgres).await
    }

    async fn run(db: Db) {
        let app = TestApp::with(db, |c| c.mail.inbound.receipts_per_hour = 3).await;
        app.member("ann@example.test", "Ann", "Europe/Berlin").await;
        app.tick(at("2026-03-09T00:00:00Z")).await;
        app.tick(at("2026-03-09T15:30:00Z")).await;
        let raw = app.read_sent("request_1_2026-03-09.tidings.eml");
        let (rt, mid) = reply_headers(&raw);
        let t = at("2026-03-09T17:00:00Z");
        for i in 0..5 {
            let r = app
                .deliver(
                    &format!("r{i}"),
                    &gmail_reply(
                        "ann@example.test",
                        &rt,
                        &mid,
                        &format!("r{i}@mail.test"),
                        &format!("Line {i}."),
                    ),
                    t + chrono::Duration::minutes(i),
                )
                .await;
            assert_eq!(r.accepted, 1, "{r:?}");
        }
        let receipts = app.queued("receipt").await.len();
        assert_eq!(
            receipts, 3,
            "every reply is kept; three receipts in the hour"
        );
        assert_eq!(app.ctx.metrics.suppressed_reply_mail_count(), 2);
        // An hour after the first, receipts flow again.
        let r = app
            .deliver(
                "r9",
                &gmail_reply("ann@example.test", &rt, &mid, "r9@mail.test", "Later."),
                t + chrono::Duration::minutes(61),
            )
            .await;
        assert_eq!(r.accepted, 1);
        let receipts = app.queued("receipt").await.len();
        assert_eq!(receipts, 4);
    }
}
