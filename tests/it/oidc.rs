//! Signing in with an organisation's OpenID Connect provider, against a real one: panva's
//! certified `oidc-provider` (installed by `scripts/rig install`), started on loopback by
//! the test (`tests/support/oidc_provider.mjs`). The whole authorization code flow with PKCE
//! runs as a browser would (cookies kept by hand); a member signs in and reads their team's
//! log; a replayed code, a forged state, a missing flow cookie, an unverified address and an
//! address no member has are each refused.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use reqwest::StatusCode;

use crate::both;
use crate::web::Server;

const CLIENT_ID: &str = "tidings-test";
const CLIENT_SECRET: &str = "oidc-client-secret-for-tests";
/// The redirect URI Tidings sends: `{web.base_url}/signin/oidc/callback` with the tests'
/// base URL. The browser never reaches it: the test takes the code from the provider's
/// redirect and calls the server it started.
const REDIRECT: &str = "http://127.0.0.1:8080/signin/oidc/callback";

/// The provider, stopped when dropped.
struct Provider {
    child: Child,
    issuer: String,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Starts the provider and waits for its `ready` line; fails loudly when node or the package
/// is missing (`scripts/rig install` puts them there).
fn provider() -> Provider {
    let root = env!("CARGO_MANIFEST_DIR");
    let port = free_port();
    let mut child = Command::new("node")
        .arg(format!("{root}/tests/support/oidc_provider.mjs"))
        .env("OIDC_PORT", port.to_string())
        .env("OIDC_CLIENT_ID", CLIENT_ID)
        .env("OIDC_CLIENT_SECRET", CLIENT_SECRET)
        .env("OIDC_REDIRECT_URI", REDIRECT)
        .env("OIDC_PARENT_PID", std::process::id().to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node runs (scripts/rig install installs it and oidc-provider)");
    let out = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(out).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .unwrap_or_default();
    let issuer = line
        .trim()
        .strip_prefix("ready ")
        .unwrap_or_else(|| panic!("the OIDC provider did not start: {line:?}"))
        .to_string();
    Provider { child, issuer }
}

/// Cookies by name, as a browser keeps them for one site.
#[derive(Default)]
struct Jar(HashMap<String, String>);

impl Jar {
    fn take(&mut self, r: &reqwest::Response) {
        for h in r.headers().get_all(reqwest::header::SET_COOKIE) {
            let c = h.to_str().unwrap_or_default();
            let pair = c.split(';').next().unwrap_or_default();
            if let Some((n, v)) = pair.split_once('=') {
                if v.is_empty() || c.contains("Max-Age=0") {
                    self.0.remove(n.trim());
                } else {
                    self.0.insert(n.trim().to_string(), v.trim().to_string());
                }
            }
        }
    }
    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn location(r: &reqwest::Response) -> String {
    r.headers()[reqwest::header::LOCATION]
        .to_str()
        .unwrap()
        .to_string()
}

/// Goes through the provider's sign-in as `login` from a fresh browser: returns the
/// callback's query (code, state, iss) and Tidings' cookies (the flow's) at that point.
async fn sign_in_at_provider(srv: &Server, p: &Provider, login: &str) -> (String, Jar) {
    let http = &srv.http;
    let mut ours = Jar::default();
    let mut theirs = Jar::default();
    let r = http.get(srv.url("/signin/oidc")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    ours.take(&r);
    assert!(ours.0.contains_key("tidings_oidc"), "the flow's cookie");
    let auth = location(&r);
    assert!(auth.starts_with(&format!("{}/auth?", p.issuer)), "{auth}");
    assert!(
        auth.contains("code_challenge_method=S256") && auth.contains("nonce="),
        "{auth}"
    );
    let r = http.get(&auth).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{auth}");
    theirs.take(&r);
    let interaction = format!("{}{}", p.issuer, location(&r));
    let r = http
        .get(&interaction)
        .header("cookie", theirs.header())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = http
        .post(format!("{interaction}/login"))
        .header("cookie", theirs.header())
        .form(&[("login", login)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    theirs.take(&r);
    let resume = location(&r);
    let r = http
        .get(&resume)
        .header("cookie", theirs.header())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let back = location(&r);
    let query = back
        .strip_prefix(&format!("{REDIRECT}?"))
        .unwrap_or_else(|| panic!("back to our redirect URI: {back}"))
        .to_string();
    (query, ours)
}

async fn callback(srv: &Server, query: &str, jar: &Jar) -> reqwest::Response {
    srv.http
        .get(srv.url(&format!("/signin/oidc/callback?{query}")))
        .header("cookie", jar.header())
        .send()
        .await
        .unwrap()
}

async fn body(r: reqwest::Response) -> String {
    r.text().await.unwrap()
}

both!(a_member_signs_in_with_the_organisations_provider, |app| {
    let p = provider();
    let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
    app.ctx
        .store
        .upsert_update(
            ann,
            "2026-12-01".parse().unwrap(),
            "Done: the OIDC sign-in",
            &[],
            "api",
            None,
            false,
            1_700_000_000,
        )
        .await
        .unwrap();
    let issuer = p.issuer.clone();
    let srv = Server::start(&app, move |c| {
        c.web.oidc.issuer = issuer;
        c.web.oidc.client_id = CLIENT_ID.into();
        c.web.oidc.client_secret = tidings::config::SecretString::new(CLIENT_SECRET);
    })
    .await;

    // The sign-in page offers the organisation's button.
    let page = body(srv.http.get(srv.url("/signin")).send().await.unwrap()).await;
    assert!(
        page.contains("href=\"/signin/oidc\"") && page.contains("Sign in with your organisation"),
        "{page}"
    );

    // Ann signs in (the address as her provider writes it, in another case) and reads the log.
    let (query, mut jar) = sign_in_at_provider(&srv, &p, "Ann@Example.test").await;
    let r = callback(&srv, &query, &jar).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/log/core");
    jar.take(&r);
    assert!(jar.0.contains_key("tidings_session"), "a session");
    assert!(
        !jar.0.contains_key("tidings_oidc"),
        "the flow's cookie is spent"
    );
    let r = srv
        .http
        .get(srv.url("/log/core"))
        .header("cookie", jar.header())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(body(r).await.contains("the OIDC sign-in"));

    // The same code again (a replayed callback): refused, no session.
    let (query, jar) = sign_in_at_provider(&srv, &p, "ann@example.test").await;
    let r = callback(&srv, &query, &jar).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = callback(&srv, &query, &jar).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.headers().get(reqwest::header::SET_COOKIE).is_none());
    assert!(body(r).await.contains("did not accept"));

    // A forged state, and no flow cookie at all: refused before the provider is asked.
    let (query, jar) = sign_in_at_provider(&srv, &p, "ann@example.test").await;
    let forged = query
        .split('&')
        .map(|kv| {
            if kv.starts_with("state=") {
                "state=forged".to_string()
            } else {
                kv.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("&");
    let r = callback(&srv, &forged, &jar).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(body(r).await.contains("another sign-in"));
    let r = callback(&srv, &query, &Jar::default()).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // The code is still good for its own flow: the refusals above used nothing up.
    let r = callback(&srv, &query, &jar).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    // An address the provider does not vouch for, and one no member has.
    let (query, jar) = sign_in_at_provider(&srv, &p, "ann.unverified@example.test").await;
    let r = callback(&srv, &query, &jar).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(body(r).await.contains("does not vouch"));
    let (query, jar) = sign_in_at_provider(&srv, &p, "stranger@example.test").await;
    let r = callback(&srv, &query, &jar).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(body(r).await.contains("No member"));

    // The provider says no (a login it refuses): a page, not a session.
    let r = callback(&srv, "error=access_denied&state=x", &jar).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
});

both!(oidc_sign_in_is_off_without_an_issuer, |app| {
    let srv = Server::start(&app, |_| {}).await;
    let page = body(srv.http.get(srv.url("/signin")).send().await.unwrap()).await;
    assert!(!page.contains("/signin/oidc"), "{page}");
    for path in ["/signin/oidc", "/signin/oidc/callback?code=x&state=y"] {
        let r = srv.http.get(srv.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
});
