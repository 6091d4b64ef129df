//! The preferences page in a real browser: headless Chromium driven through chromedriver's
//! W3C WebDriver HTTP API (plain reqwest, no extra tooling). Opens a member's link, changes
//! the digest time, submits, and checks the database, the planned instant and the page.
//!
//! Chromium and chromedriver are Debian packages (`chromium`, `chromium-driver`) that
//! `scripts/test` installs as root; without them this test fails with how to fix it.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::{Value, json};

use crate::both;
use crate::browser::{Browser, CHROMIUM, HOW_TO_FIX};
use crate::helpers::expected_digest_plan;
use crate::web::Server;

both!(
    the_preferences_page_changes_the_digest_time_in_chromium,
    |app| {
        let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
        let srv = Server::start(&app, |_| {}).await;
        let link = srv.url(&srv.fresh_link(ann));
        let b = Browser::start().await;

        b.goto(&link).await;
        assert_eq!(b.attribute("#digest_at", "value").await, "08:30");
        assert!(b.text("p.next").await.starts_with("Your next digest: "));
        b.replace_text("#digest_at", "07:45").await;
        b.click("#save").await;

        // The form posts and redirects back to the page (no JavaScript involved).
        let deadline = Instant::now() + Duration::from_secs(15);
        while !b.current_url().await.ends_with("?done=saved") {
            if Instant::now() > deadline {
                panic!(
                    "the form did not submit: {}\n{}",
                    b.current_url().await,
                    b.text("body").await
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(b.text(".flash").await.starts_with("Saved."));
        assert_eq!(b.attribute("#digest_at", "value").await, "07:45");

        let m = app.ctx.store.member_by_id(ann).await.unwrap().unwrap();
        assert_eq!(m.digest_at.to_string(), "07:45");
        let (_, next) = app.ctx.store.next_instants(ann).await.unwrap();
        let want = expected_digest_plan(&m, Utc::now());
        assert_eq!(
            next,
            Some(want.timestamp()),
            "the next digest is planned at the new time"
        );

        // The page shows that instant, in Berlin time and in UTC.
        let shown = b.attribute("#next-digest", "datetime").await;
        assert_eq!(shown, want.format("%Y-%m-%dT%H:%M:%SZ").to_string());
        let text = b.text("#next-digest").await;
        let local = want.with_timezone(&chrono_tz::Europe::Berlin);
        assert_eq!(
            text,
            format!(
                "{} 07:45 in Europe/Berlin ({} UTC)",
                local.format("%a"),
                want.format("%H:%M")
            )
        );
        b.quit().await;
    }
);

both!(every_page_passes_axe_core_in_chromium, |app| {
    let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
    for (d, text) in [
        ("2026-12-01", "Done: the importer\nNext: the exporter"),
        (
            "2026-12-02",
            "Done: more importer\nBlockers: waiting on the staging database",
        ),
    ] {
        app.ctx
            .store
            .upsert_update(ann, d.parse().unwrap(), text, &[], "api", None, false, 1)
            .await
            .unwrap();
    }
    let srv = Server::start(&app, |c| {
        c.web.admin_token = tidings::config::SecretString::new("admin-token-0123456789");
    })
    .await;
    let unsub = {
        let t = tidings::domain::token::LinkToken {
            member: ann,
            expires: chrono::Utc::now().timestamp() + 86_400,
            epoch: 0,
        }
        .encode(&srv.ctx.secret);
        format!("/u/{t}")
    };
    let b = Browser::start().await;
    let pages = [
        ("preferences", srv.fresh_link(ann)),
        ("unsubscribe confirmation", unsub.clone()),
        ("bad preferences link", "/p/1.99999999999.00".to_string()),
        ("bad unsubscribe link", "/u/1.99999999999.00".to_string()),
        ("ask for a link", "/link".to_string()),
        ("admin login", "/".to_string()),
        ("not found", "/no/such/page".to_string()),
        ("sign in", "/signin".to_string()),
        // The link signs in and leads to the log; the pages after it are read signed in.
        (
            "team log from a link",
            format!("{}/log", srv.fresh_link(ann)),
        ),
        ("team log search", "/log/core?q=importer".to_string()),
        (
            "team log of a person",
            "/log/core?member=ann%40example.test".to_string(),
        ),
        ("open blockers", "/log/core/blockers".to_string()),
        ("teams", "/log".to_string()),
    ];
    // The check itself can fail: a page without lang and with an image without alt text.
    b.goto("data:text/html,<title>x</title><img src=x.png>")
        .await;
    let bad = b.axe_violations().await;
    assert!(
        bad.iter().any(|v| v.starts_with("image-alt"))
            && bad.iter().any(|v| v.starts_with("html-has-lang")),
        "axe-core must see the faults of a bad page: {bad:?}"
    );
    let mut failures = Vec::new();
    // Each page on a phone and a laptop, light and dark (prefers-color-scheme emulated):
    // axe-core's rules (colour contrast among them) and no sideways scrolling.
    for (width, dark) in [(375, false), (375, true), (1280, false), (1280, true)] {
        b.emulate(width, dark).await;
        for (name, path) in &pages {
            let name = format!("{name} at {width} px{}", if dark { ", dark" } else { "" });
            b.goto(&srv.url(path)).await;
            let lang = b.attribute("html", "lang").await;
            let h1 = b.text("main h1").await;
            if lang != "en" || h1.is_empty() {
                failures.push(format!("{name}: lang {lang:?}, h1 {h1:?}"));
            }
            for v in b.axe_violations().await {
                failures.push(format!("{name} ({path}): {v}"));
            }
            let wide = b
                .js("return [document.documentElement.scrollWidth, window.innerWidth, matchMedia('(prefers-color-scheme: dark)').matches];")
                .await;
            if wide[0].as_i64() > wide[1].as_i64() || wide[2] != dark || wide[1] != width {
                failures.push(format!(
                    "{name} ({path}): page width, viewport width, dark: {wide}"
                ));
            }
        }
    }
    b.emulate(1280, false).await;
    // The unsubscribed page (after the button).
    b.goto(&srv.url(&unsub)).await;
    b.click("#unsubscribe").await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        // Read without failing while the form's answer is still loading.
        let body = b
            .cmd(
                reqwest::Method::POST,
                "/execute/sync",
                Some(json!({"script": "return document.body ? document.body.innerText : '';", "args": []})),
            )
            .await;
        if body
            .as_str()
            .unwrap_or_default()
            .contains("You are unsubscribed")
        {
            break;
        }
        assert!(Instant::now() < deadline, "{body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for v in b.axe_violations().await {
        failures.push(format!("unsubscribed: {v}"));
    }
    b.quit().await;
    assert!(
        failures.is_empty(),
        "accessibility:\n{}",
        failures.join("\n")
    );
});

/// What a page looks like at the window's width: the viewport, how wide the page is (more
/// than the viewport: the page itself scrolls sideways), and every word of `main` that is
/// broken across two lines (the rectangles of one word's text on more than one line).
const LAYOUT_JS: &str = "\
const main = document.querySelector('main');\n\
const broken = [];\n\
const walker = document.createTreeWalker(main, NodeFilter.SHOW_TEXT);\n\
let n;\n\
while ((n = walker.nextNode())) {\n\
  const re = /\\S+/g; let m;\n\
  while ((m = re.exec(n.data))) {\n\
    const r = document.createRange();\n\
    r.setStart(n, m.index); r.setEnd(n, m.index + m[0].length);\n\
    const tops = new Set(Array.from(r.getClientRects()).filter(x => x.width > 0).map(x => Math.round(x.top)));\n\
    if (tops.size > 1) broken.push(m[0]);\n\
  }\n\
}\n\
return {viewport: window.innerWidth, page: document.documentElement.scrollWidth, broken: broken,\n\
        scrolling: Array.from(document.querySelectorAll('.scroll')).filter(e => e.scrollWidth > e.clientWidth).length};";

both!(
    the_admin_page_at_375_px_scrolls_its_tables_and_breaks_no_word,
    |app| {
        for i in 0..3 {
            app.member(
                &format!("someone.with.a.rather.long.address.{i}@subdomain.example-company.test"),
                &format!("Maximiliane Oberhausen-Schwarzenberg {i}"),
                "America/Argentina/Buenos_Aires",
            )
            .await;
        }
        // Requests queued and sent (Buenos Aires 16:30 passed today): outbox rows with long
        // addresses and subjects.
        app.tick(crate::helpers::at("2026-03-10T00:00:00Z")).await;
        let srv = Server::start(&app, |c| {
            c.web.admin_token = tidings::config::SecretString::new("admin-token-0123456789");
        })
        .await;
        let b = Browser::start().await;
        b.cmd(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({"width": 375, "height": 812})),
        )
        .await;
        b.goto(&srv.url("/")).await;
        b.replace_text("#token", "admin-token-0123456789").await;
        b.click("main form button[type=submit]").await;
        let deadline = Instant::now() + Duration::from_secs(15);
        while !b
            .try_text("main h1")
            .await
            .is_some_and(|t| t.contains("Tidings admin"))
        {
            assert!(Instant::now() < deadline, "not logged in");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let v = b
            .cmd(
                reqwest::Method::POST,
                "/execute/sync",
                Some(json!({"script": LAYOUT_JS, "args": []})),
            )
            .await;
        b.quit().await;
        let viewport = v["viewport"].as_i64().unwrap_or(0);
        assert!(
            (300..=400).contains(&viewport),
            "the window is phone-sized: {v}"
        );
        assert!(
            v["page"].as_i64().unwrap_or(i64::MAX) <= viewport,
            "the page itself does not scroll sideways: {v}"
        );
        assert!(
            v["scrolling"].as_i64().unwrap_or(0) >= 1,
            "wide tables scroll inside their box: {v}"
        );
        assert_eq!(
            v["broken"],
            json!([]),
            "words broken mid-word at 375 px: {v}"
        );
    }
);

/// Lighthouse (npm, installed by `scripts/rig install` beside axe-core) in the same
/// Debian Chromium, accessibility only.
const LIGHTHOUSE: &str = "/var/cache/tidings-rig/node/node_modules/lighthouse/cli/index.js";

/// Lighthouse's accessibility audit of `url`: the category score and every failing audit
/// ("id: title (elements)"). Each run gets its own temporary directory for Chromium's profile,
/// crash reports and caches, removed afterwards.
async fn lighthouse(url: &str, extra: &[&str]) -> (Option<f64>, usize, Vec<String>) {
    assert!(
        Path::new(LIGHTHOUSE).exists(),
        "{LIGHTHOUSE} is missing. How to fix: run `scripts/test` as root (`scripts/rig install` puts Lighthouse there)"
    );
    let run = tempfile::tempdir().expect("a temp dir");
    // Lighthouse's default waits are for real sites; our pages are static HTML on loopback.
    let config = run.path().join("a11y.json");
    std::fs::write(
        &config,
        r#"{"extends": "lighthouse:default", "settings": {"onlyCategories": ["accessibility"],
            "disableFullPageScreenshot": true, "pauseAfterFcpMs": 0, "pauseAfterLoadMs": 0,
            "networkQuietThresholdMs": 0, "cpuQuietThresholdMs": 0}}"#,
    )
    .unwrap();
    // tokio's process: the server under test runs on this same runtime and must answer.
    let out = tokio::process::Command::new("node")
        .arg(LIGHTHOUSE)
        .arg(url)
        .arg(format!("--config-path={}", config.display()))
        .args([
            "--output=json",
            "--output-path=stdout",
            "--quiet",
            "--no-enable-error-reporting",
            // The bad-link (403) and not-found (404) pages are audited too.
            "--ignore-status-code",
            // Chromium looks up Google's hosts at start; this machine has no network.
            "--chrome-flags=--headless=new --no-sandbox --disable-gpu --disable-quic --host-resolver-rules='MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'",
        ])
        .args(extra)
        .env("TMPDIR", run.path())
        .env("XDG_CONFIG_HOME", run.path().join("config"))
        .env("XDG_CACHE_HOME", run.path().join("cache"))
        .env("CHROME_PATH", CHROMIUM)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .unwrap_or_else(|e| panic!("node (Lighthouse) cannot start: {e}. {HOW_TO_FIX}"));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "Lighthouse gave no JSON for {url} ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let score = report["categories"]["accessibility"]["score"].as_f64();
    let mut passed = 0;
    let mut failing = Vec::new();
    for (id, a) in report["audits"].as_object().into_iter().flatten() {
        if a["scoreDisplayMode"] != "binary" && a["scoreDisplayMode"] != "numeric" {
            continue;
        }
        match a["score"].as_f64() {
            Some(s) if s >= 1.0 => passed += 1,
            Some(_) => {
                let items: Vec<String> = a["details"]["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|i| i["node"]["snippet"].as_str().map(str::to_string))
                    .collect();
                failing.push(format!("{id}: {} ({})", a["title"], items.join(", ")));
            }
            None => {}
        }
    }
    (score, passed, failing)
}

#[tokio::test]
async fn every_page_scores_100_in_lighthouse_accessibility() {
    let app = crate::helpers::TestApp::new(crate::helpers::Db::Sqlite).await;
    let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
    let bob = app.member("bob@example.test", "Bob", "Asia/Tokyo").await;
    let update = app
        .ctx
        .store
        .upsert_update(
            bob,
            "2026-03-09".parse().unwrap(),
            "Done: shipped the importer.\nNext: review PR #42.\nBlockers: waiting on keys.",
            &[],
            "api",
            None,
            false,
            0,
        )
        .await
        .unwrap()
        .id;
    app.ctx
        .store
        .add_away(
            ann,
            &tidings::domain::AwayRange {
                from: "2099-12-20".parse().unwrap(),
                to: "2099-12-31".parse().unwrap(),
            },
        )
        .await
        .unwrap();
    let srv = Server::start(&app, |c| {
        c.web.admin_token = tidings::config::SecretString::new("admin-token-0123456789");
    })
    .await;
    let link = srv.fresh_link(ann);
    let unsub = link.replacen("/p/", "/u/", 1);
    let pages = [
        ("preferences", link.clone(), vec![]),
        (
            "an update read whole",
            format!("{link}/updates/{update}"),
            vec![],
        ),
        ("unsubscribe confirmation", unsub, vec![]),
        (
            "bad preferences link",
            "/p/1.99999999999.00".to_string(),
            vec![],
        ),
        ("ask for a link", "/link".to_string(), vec![]),
        ("admin login", "/".to_string(), vec![]),
        (
            "admin page",
            "/".to_string(),
            vec![r#"--extra-headers={"Authorization": "Bearer admin-token-0123456789"}"#],
        ),
        ("not found", "/no/such/page".to_string(), vec![]),
        ("sign in", "/signin".to_string(), vec![]),
    ];
    // The log's pages, signed in as Bob (his session cookie).
    let cookie = srv.signed_in(bob).await;
    let signed_in = format!(r#"--extra-headers={{"Cookie": "{cookie}"}}"#);
    let pages: Vec<(&str, String, Vec<&str>)> = pages
        .into_iter()
        .chain([
            (
                "team log",
                "/log/core".to_string(),
                vec![signed_in.as_str()],
            ),
            (
                "team log search",
                "/log/core?q=importer".to_string(),
                vec![signed_in.as_str()],
            ),
            (
                "open blockers",
                "/log/core/blockers".to_string(),
                vec![signed_in.as_str()],
            ),
            ("teams", "/log".to_string(), vec![signed_in.as_str()]),
        ])
        .collect();
    // A phone (375 px) and a laptop (1280 px).
    let widths: [(&str, Vec<&str>); 2] = [
        (
            "375",
            vec![
                "--screenEmulation.mobile",
                "--screenEmulation.width=375",
                "--screenEmulation.height=812",
                "--screenEmulation.deviceScaleFactor=2",
            ],
        ),
        (
            "1280",
            vec![
                "--form-factor=desktop",
                "--screenEmulation.mobile=false",
                "--screenEmulation.width=1280",
                "--screenEmulation.height=800",
                "--screenEmulation.deviceScaleFactor=1",
            ],
        ),
    ];
    let mut failures = Vec::new();
    for (name, path, extra) in &pages {
        for (width, screen) in &widths {
            let args: Vec<&str> = extra.iter().chain(screen).copied().collect();
            let (score, passed, failing) = lighthouse(&srv.url(path), &args).await;
            eprintln!("lighthouse {name} at {width} px: score {score:?}, {passed} audits passed");
            if score != Some(1.0) || passed < 5 || !failing.is_empty() {
                failures.push(format!(
                    "{name} ({path}) at {width} px: score {score:?}, {passed} passed, failing: {failing:?}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "Lighthouse:\n{}", failures.join("\n"));
}
