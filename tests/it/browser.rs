//! A headless Chromium for the page tests, driven through chromedriver's W3C WebDriver HTTP
//! API (plain reqwest, no extra tooling). Chromium and chromedriver are Debian packages
//! (`chromium`, `chromium-driver`) that `scripts/test` installs as root; without them a test
//! fails with how to fix it.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub const HOW_TO_FIX: &str = "How to fix: run `scripts/test` as root (it installs the Debian packages \
chromium and chromium-driver via `scripts/rig install`), or `apt-get install chromium chromium-driver`.";

/// A chromedriver process and one browser session; both end when this is dropped.
pub struct Browser {
    driver: tokio::process::Child,
    base: String,
    session: String,
    http: reqwest::Client,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub async fn start() -> Browser {
        for bin in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(bin).exists(),
                "{bin} is missing: the browser test cannot run. {HOW_TO_FIX}"
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = tokio::process::Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {CHROMEDRIVER}: {e}. {HOW_TO_FIX}"));
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = http.get(format!("{base}/status")).send().await
                && let Ok(v) = r.json::<Value>().await
                && v["value"]["ready"] == true
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not become ready on {base} within 20 s. {HOW_TO_FIX}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().expect("a profile dir");
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            // The console (CSP violations are reported there), read by `console`.
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }
        }}});
        let r = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .expect("new session");
        let v: Value = r.json().await.expect("session JSON");
        let session = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("chromedriver could not start Chromium: {v}. {HOW_TO_FIX}"))
            .to_string();
        Browser {
            driver,
            base,
            session,
            http,
            _profile: profile,
        }
    }

    pub async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut r = self.http.request(method, &url);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let v: Value = r
            .send()
            .await
            .expect("webdriver call")
            .json()
            .await
            .expect("webdriver JSON");
        assert!(v["value"].get("error").is_none(), "webdriver {path}: {v}");
        v["value"].clone()
    }

    /// The text of the first element matching `css`, or `None` while there is none (a page
    /// still loading after a click).
    pub async fn try_text(&self, css: &str) -> Option<String> {
        let url = format!("{}/session/{}/element", self.base, self.session);
        let v: Value = self
            .http
            .post(&url)
            .json(&json!({"using": "css selector", "value": css}))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        if v["value"].get("error").is_some() {
            return None;
        }
        let e = v["value"]
            .as_object()?
            .values()
            .next()?
            .as_str()?
            .to_string();
        let t: Value = self
            .http
            .get(format!(
                "{}/session/{}/element/{e}/text",
                self.base, self.session
            ))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        t["value"].as_str().map(str::to_string)
    }

    pub async fn goto(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    pub async fn find(&self, css: &str) -> String {
        let v = self
            .cmd(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        // The W3C element reference is the only value of the returned object.
        v.as_object()
            .and_then(|o| o.values().next())
            .and_then(|e| e.as_str())
            .unwrap_or_else(|| panic!("no element {css}: {v}"))
            .to_string()
    }

    pub async fn text(&self, css: &str) -> String {
        let e = self.find(css).await;
        self.cmd(reqwest::Method::GET, &format!("/element/{e}/text"), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub async fn attribute(&self, css: &str, name: &str) -> String {
        let e = self.find(css).await;
        self.cmd(
            reqwest::Method::GET,
            &format!("/element/{e}/attribute/{name}"),
            None,
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    pub async fn replace_text(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{e}/clear"),
            Some(json!({})),
        )
        .await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{e}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    pub async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{e}/click"),
            Some(json!({})),
        )
        .await;
    }

    /// axe-core's accessibility violations on the current page (WCAG 2.x A and AA rules and
    /// best practices), each as "rule: help (elements)". axe-core comes from npm, installed
    /// by `scripts/rig install`.
    pub async fn axe_violations(&self) -> Vec<String> {
        const AXE: &str = "/var/cache/tidings-rig/node/node_modules/axe-core/axe.min.js";
        let source = std::fs::read_to_string(AXE).unwrap_or_else(|e| {
            panic!("{AXE}: {e}. How to fix: run `scripts/test` as root (`scripts/rig install` puts axe-core there)")
        });
        let script = format!(
            "{source}\nconst done = arguments[arguments.length - 1];\n\
             axe.run(document, {{resultTypes: ['violations']}}).then(r => done(r.violations.map(v =>\n\
               v.id + ': ' + v.help + ' (' + v.nodes.map(n => n.target.join(' ')).join(', ') + ')')))\n\
               .catch(e => done(['axe failed: ' + e]));"
        );
        let _ = self
            .cmd(
                reqwest::Method::POST,
                "/timeouts",
                Some(json!({"script": 30000})),
            )
            .await;
        let v = self
            .cmd(
                reqwest::Method::POST,
                "/execute/async",
                Some(json!({"script": script, "args": []})),
            )
            .await;
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_else(|| vec![format!("unexpected axe result: {v}")])
    }

    /// The browser console's messages since the last call, each as "LEVEL message"
    /// (chromedriver's log endpoint).
    pub async fn console(&self) -> Vec<String> {
        let v = self
            .cmd(
                reqwest::Method::POST,
                "/se/log",
                Some(json!({"type": "browser"})),
            )
            .await;
        v.as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                format!(
                    "{} {}",
                    e["level"].as_str().unwrap_or("?"),
                    e["message"].as_str().unwrap_or("")
                )
            })
            .collect()
    }

    /// Makes the window `width` CSS pixels wide (a phone below 500: touch, the page's
    /// viewport rule) and the page see `prefers-color-scheme: dark` or light (Chromium's
    /// DevTools protocol through chromedriver).
    pub async fn emulate(&self, width: u32, dark: bool) {
        let cdp = |cmd: &str, params: Value| {
            self.cmd(
                reqwest::Method::POST,
                "/goog/cdp/execute",
                Some(json!({"cmd": cmd, "params": params})),
            )
        };
        cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 500}),
        )
        .await;
        cdp(
            "Emulation.setEmulatedMedia",
            json!({"features": [{"name": "prefers-color-scheme", "value": if dark { "dark" } else { "light" }}]}),
        )
        .await;
    }

    /// Runs `script` in the page and returns what it returns.
    pub async fn js(&self, script: &str) -> Value {
        self.cmd(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
        .await
    }

    pub async fn current_url(&self) -> String {
        self.cmd(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub async fn quit(mut self) {
        let _ = self
            .http
            .delete(format!("{}/session/{}", self.base, self.session))
            .send()
            .await;
        let _ = self.driver.kill().await;
    }
}
