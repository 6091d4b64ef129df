//! What guards the web side apart from the handlers (issue 29): `nosniff` and a
//! Content-Security-Policy without script on every answer, and the pages still render under it
//! in Chromium with no violation; a sign-in or link form larger than 4 KiB is a 413 (declared
//! or chunked); and one long word never makes the log, blockers or update pages scroll
//! sideways at 390 px.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::both;
use crate::browser::Browser;
use crate::helpers::*;
use crate::web::{ADMIN, Server};

const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

both!(every_answer_says_nosniff_and_carries_the_policy, |app| {
    let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
    let srv = Server::start(&app, |_| {}).await;
    let t = srv.token_for(ann).await;
    let link = srv.fresh_link(ann);
    for (path, auth, html) in [
        ("/healthz", None, false),
        ("/metrics", None, false),
        ("/api/v1/openapi.json", None, false),
        ("/api/v1/me/preferences", Some(t.as_str()), false),
        ("/api/v1/me/preferences", None, false),
        ("/api/v1/nope", None, false),
        ("/favicon.svg", None, false),
        ("/", Some(ADMIN), true),
        ("/signin", None, true),
        ("/link", None, true),
        (link.as_str(), None, true),
        ("/p/1.1.00", None, true),
    ] {
        let mut r = srv.http.get(srv.url(path));
        if let Some(a) = auth {
            r = r.bearer_auth(a);
        }
        let r = r.send().await.unwrap();
        let h = r.headers();
        assert_eq!(
            h.get("x-content-type-options").map(|v| v.to_str().unwrap()),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(
            h.get("content-security-policy")
                .map(|v| v.to_str().unwrap()),
            Some(CSP),
            "{path}"
        );
        let ct = h["content-type"].to_str().unwrap().to_string();
        assert_eq!(ct.starts_with("text/html"), html, "{path}: {ct}");
    }
    // A browser's 404 page too.
    let r = srv
        .http
        .get(srv.url("/no/such/page"))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.headers()["content-security-policy"], CSP);
});

/// Sends `body` to `path` as a chunked form over a raw connection; the answer's status.
async fn post_chunked(srv: &Server, path: &str, body: &[u8]) -> u16 {
    let host = srv.base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(host).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    for chunk in body.chunks(1000) {
        // The server may answer and close before the last chunk: that is the point.
        if s.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .await
            .is_err()
            || s.write_all(chunk).await.is_err()
            || s.write_all(b"\r\n").await.is_err()
        {
            break;
        }
    }
    let _ = s.write_all(b"0\r\n\r\n").await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out);
    text.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status in {text:?}"))
}

both!(sign_in_and_link_forms_refuse_a_body_over_4_kib, |app| {
    app.member("ann@example.test", "Ann", "Europe/Berlin").await;
    let srv = Server::start(&app, |_| {}).await;
    let big = format!("email=ann%40example.test&x={}", "a".repeat(2 * 1024 * 1024));
    let small = "email=ann%40example.test".to_string();
    let just_over = format!("email=ann%40example.test&x={}", "a".repeat(4096));
    for path in ["/signin", "/link"] {
        for (body, want) in [
            (&big, StatusCode::PAYLOAD_TOO_LARGE),
            (&just_over, StatusCode::PAYLOAD_TOO_LARGE),
            (&small, StatusCode::OK),
        ] {
            let r = srv
                .http
                .post(srv.url(path))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), want, "{path}, {} bytes", body.len());
            if want == StatusCode::PAYLOAD_TOO_LARGE {
                let page = r.text().await.unwrap();
                assert!(page.contains("larger than 4 KB"), "{page}");
            }
        }
        // Without a Content-Length the body is counted as it comes.
        assert_eq!(
            post_chunked(&srv, path, just_over.as_bytes()).await,
            413,
            "{path}"
        );
        assert_eq!(
            post_chunked(&srv, path, small.as_bytes()).await,
            200,
            "{path}"
        );
    }
    // A sign-in link and a preferences link were queued, for the small forms only (after the
    // answer: wait for them).
    let mut sent = Vec::new();
    for _ in 0..100 {
        sent = app.queued("notice").await;
        if !sent.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(!sent.is_empty() && sent.len() <= 2, "{sent:?}");
});

/// The page's layout and style at the window's width: whether the page scrolls sideways, and
/// whether the inline `<style>` applies under the policy.
const LAYOUT_JS: &str = "\
const d = document.documentElement;\n\
return {viewport: window.innerWidth, scroll: d.scrollWidth, client: d.clientWidth,\n\
        wrap: getComputedStyle(document.querySelector('main')).overflowWrap,\n\
        background: getComputedStyle(document.body).backgroundColor};";

#[tokio::test]
async fn one_long_word_never_makes_a_page_scroll_sideways_and_no_policy_is_violated() {
    let app = TestApp::new(Db::Sqlite).await;
    let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
    let word = "Supercalifragilistic".repeat(15);
    assert_eq!(word.len(), 300);
    let id = app
        .ctx
        .store
        .upsert_update(
            ann,
            chrono::Utc::now().date_naive(),
            &format!("Done: {word}\nBlockers: waiting on {word}"),
            &[],
            "api",
            None,
            false,
            chrono::Utc::now().timestamp(),
        )
        .await
        .unwrap()
        .id;
    let srv = Server::start(&app, |_| {}).await;
    let link = srv.fresh_link(ann);
    let b = Browser::start().await;
    b.cmd(
        reqwest::Method::POST,
        "/window/rect",
        Some(json!({"width": 390, "height": 844})),
    )
    .await;
    // The link signs the browser in; then the pages with the word.
    b.goto(&srv.url(&format!("{link}/log"))).await;
    let short = &word[..20];
    let pages = [
        "/log/core".to_string(),
        format!("/log/core?q={short}*"),
        format!("/log/core?q={word}"),
        "/log/core/blockers".to_string(),
        format!("{link}/updates/{id}"),
        link.clone(),
        "/signin".to_string(),
    ];
    let _ = b.console().await;
    let mut problems = Vec::new();
    for p in &pages {
        b.goto(&srv.url(p)).await;
        let v = b.js(LAYOUT_JS).await;
        let viewport = v["viewport"].as_i64().unwrap_or(0);
        assert!((300..=400).contains(&viewport), "a phone's width: {v}");
        if v["scroll"].as_i64() > v["client"].as_i64() {
            problems.push(format!("{p} scrolls sideways: {v}"));
        }
        if v["wrap"] != "anywhere" || v["background"] != "rgb(244, 245, 247)" {
            problems.push(format!("{p}: the page's style does not apply: {v}"));
        }
        for m in b.console().await {
            if m.contains("Content Security Policy") || m.starts_with("SEVERE") {
                problems.push(format!("{p}: {m}"));
            }
        }
    }
    b.quit().await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
