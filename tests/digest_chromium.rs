//! The digest HTML in a real browser: `tidings preview digest --html` for a reader in two
//! teams, loaded in headless Chromium (Debian's `chromium`, installed by `scripts/rig install`)
//! at a desktop and a phone width, in light and dark mode. A small script injected before
//! `</body>` measures the layout and writes the result into the DOM, which `--dump-dom` prints
//! after scripts ran. The test fails loudly when Chromium is missing; it never skips.

mod support;

use std::path::Path;
use std::process::Command;

use base64::Engine;
use support::{addr, member_defaults};
use tidings::store::{MemberChange, Store};

const BIN: &str = env!("CARGO_BIN_EXE_tidings");
const CHROMIUM: &str = "/usr/bin/chromium";

/// Measures the page: horizontal overflow, every element's right edge, the rendered text,
/// the title (member text must not have run as script) and the body's background colour.
const PROBE: &str = r#"<script>
(function () {
  var w = window.innerWidth, over = [];
  document.querySelectorAll('body *').forEach(function (el) {
    var r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > w + 0.5) {
      over.push(el.tagName.toLowerCase() + '.' + el.className + ' right=' + Math.round(r.right));
    }
  });
  var res = {
    inner_width: w,
    scroll_width: document.documentElement.scrollWidth,
    fits: document.documentElement.scrollWidth <= w,
    overflowing: over,
    text: document.body.innerText,
    title: document.title,
    dark: window.matchMedia('(prefers-color-scheme: dark)').matches,
    card_bg: getComputedStyle(document.querySelector('.card')).backgroundColor
  };
  var out = document.createElement('div');
  out.id = 'probe-result';
  out.setAttribute('data-json', btoa(unescape(encodeURIComponent(JSON.stringify(res)))));
  document.body.appendChild(out);
})();
</script>"#;

async fn seed(db_url: &str) {
    let s = Store::connect(db_url, 2).await.unwrap();
    s.migrate().await.unwrap();
    let d = member_defaults();
    let mut ids = Vec::new();
    for (email, name, tz, teams) in [
        (
            "ann@example.test",
            "Ann",
            "Europe/Berlin",
            vec!["core", "infra"],
        ),
        (
            "ben@example.test",
            "Benedict Cumberbatch-Featherstonehaugh",
            "America/New_York",
            vec!["core"],
        ),
        (
            "cy@example.test",
            "Cy <script>",
            "Asia/Tokyo",
            vec!["infra"],
        ),
        ("dee@example.test", "Dee", "Australia/Sydney", vec!["infra"]),
    ] {
        let ch = MemberChange {
            name: Some(name.into()),
            tz: Some(tz.parse().unwrap()),
            teams: Some(teams.into_iter().map(String::from).collect()),
            ..Default::default()
        };
        ids.push(s.add_member(&addr(email), &ch, &d).await.unwrap());
    }
    let day = "2026-03-09".parse().unwrap();
    s.upsert_update(
        ids[1],
        day,
        "Done: shipped the outbox retry path, see https://ci.example.test/builds/0123456789abcdef0123456789abcdef0123456789abcdef/logs?filter=outbox&verbose=true\nNext: Pneumonoultramicroscopicsilicovolcanoconiosis_is_a_very_long_identifier_without_any_break_opportunity_at_all\nBlockers: waiting on the DNS change for mail.example.test",
        &[], "email",
        None,
        false,
        0,
    )
    .await
    .unwrap();
    s.upsert_update(
        ids[2],
        day,
        "Done: <script>document.title='pwned'</script> escaped, and a table:\n| a | b |\n|---|---|\nNext: more of the same\nBlockers: none",
        &[], "email",
        None,
        false,
        0,
    )
    .await
    .unwrap();
    s.close().await;
}

fn preview_html(dir: &Path, db_url: &str) -> String {
    let o = Command::new(BIN)
        .args([
            "preview",
            "digest",
            "--member",
            "ann@example.test",
            "--date",
            "2026-03-10",
            "--html",
        ])
        .current_dir(dir)
        .env_remove("TIDINGS_CONFIG")
        .env("TIDINGS_DATABASE__URL", db_url)
        .env("TIDINGS_LOG", "warn")
        .output()
        .expect("tidings runs");
    assert!(
        o.status.success(),
        "preview failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// Runs headless Chromium on `page` and returns the probe's result.
fn chromium(dir: &Path, page: &Path, width: u32, dark: bool) -> serde_json::Value {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: the browser test needs Debian's chromium package \
         (run `scripts/rig install` as root, or `scripts/test`, which does it)"
    );
    let profile = tempfile::tempdir_in(dir).unwrap();
    let mut cmd = Command::new("timeout");
    cmd.arg("120")
        .arg(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--window-size={width},2000"));
    if dark {
        cmd.arg("--force-dark-mode");
    }
    let o = cmd
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {CHROMIUM}: {e}"));
    let dom = String::from_utf8_lossy(&o.stdout);
    let b64 = dom
        .split("data-json=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or_else(|| {
            panic!(
                "no probe result in Chromium's DOM (exit {:?}):\n{}\n{}",
                o.status,
                dom.chars().take(2000).collect::<String>(),
                String::from_utf8_lossy(&o.stderr)
            )
        });
    let json = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("probe result is base64");
    serde_json::from_slice(&json).expect("probe result is JSON")
}

fn rgb_sum(css: &str) -> u32 {
    css.trim_start_matches("rgba(")
        .trim_start_matches("rgb(")
        .trim_end_matches(')')
        .split(',')
        .take(3)
        .map(|c| c.trim().parse::<u32>().unwrap_or(0))
        .sum()
}

#[tokio::test]
async fn the_digest_renders_in_chromium_without_overflow_in_light_and_dark_mode() {
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}", dir.path().join("t.db").display());
    seed(&db_url).await;
    let html = preview_html(dir.path(), &db_url);
    assert!(html.contains("</body>"), "{html}");
    let page = dir.path().join("digest.html");
    std::fs::write(
        &page,
        html.replacen("</body>", &format!("{PROBE}</body>"), 1),
    )
    .unwrap();

    // 500 px is the narrowest window headless Chromium makes (a phone-sized column).
    for (width, dark) in [(600, false), (600, true), (500, false)] {
        let r = chromium(dir.path(), &page, width, dark);
        let what = format!("at {width}px{}", if dark { ", dark" } else { "" });
        assert_eq!(r["inner_width"], width, "{what}: {r}");
        assert_eq!(
            r["fits"], true,
            "{what}: the page scrolls sideways (scrollWidth {}): {r}",
            r["scroll_width"]
        );
        assert_eq!(
            r["overflowing"].as_array().map(Vec::len),
            Some(0),
            "{what}: elements stick out on the right: {}",
            r["overflowing"]
        );
        let text = r["text"].as_str().unwrap_or_default();
        for want in [
            "core and infra digest",
            "You receive this because you are a member of core and infra on Tidings.",
            "Blockers",
            "Benedict Cumberbatch-Featherstonehaugh: waiting on the DNS change",
            "core",
            "infra",
            "Benedict Cumberbatch-Featherstonehaugh",
            "shipped the outbox retry path",
            "Cy <script>",
            "<script>document.title='pwned'</script> escaped",
            "No update yet from: Dee",
            "Change your time zone",
        ] {
            assert!(text.contains(want), "{what}: {want:?} not shown in\n{text}");
        }
        assert!(
            text.find("Blockers").unwrap() < text.find("shipped the outbox").unwrap(),
            "{what}: blockers come first"
        );
        assert!(
            text.find("core").unwrap() < text.find("infra").unwrap(),
            "{what}"
        );
        assert_ne!(r["title"], "pwned", "{what}: member text ran as script");
        let bg = rgb_sum(r["card_bg"].as_str().unwrap_or_default());
        if dark {
            assert_eq!(r["dark"], true, "{what}");
            assert!(bg < 200, "{what}: the card stays light in dark mode: {r}");
        } else {
            assert!(bg > 600, "{what}: the card is not light: {r}");
        }
    }
}
