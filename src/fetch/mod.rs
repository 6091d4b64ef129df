//! The one fetcher for addresses people give Tidings (members' calendars, teams' holiday
//! calendars): https only unless configured, at most [`MAX_REDIRECTS`] redirects, a size cap
//! and a timeout, ETag and If-Modified-Since, and no loopback, private, link-local or
//! metadata address — checked after DNS resolution and on every redirect ([`guard`]).
//!
//! An address may hold a secret (a private calendar's token is in its path), so nothing here
//! puts one in an error or a log line: errors name the host at most.

pub mod guard;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, LOCATION};
use url::Url;

use crate::config::FetchConfig;

/// Redirects followed at most.
pub const MAX_REDIRECTS: usize = 3;

/// What a fetch brought.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// A new body, with the validators to send next time.
    Body {
        bytes: Vec<u8>,
        etag: Option<String>,
        last_modified: Option<String>,
    },
    /// 304: what was read last time still holds.
    NotModified,
}

/// Why a fetch failed, as a member or an operator reads it (never the address).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("not an address Tidings can read: {0}")]
    BadAddress(String),
    #[error("{host} is {}", .why.describe())]
    Refused { host: String, why: guard::Refusal },
    #[error("the server answered {0}")]
    Status(u16),
    #[error("more than {MAX_REDIRECTS} redirects")]
    TooManyRedirects,
    #[error("larger than {0} bytes (fetch.max_bytes)")]
    TooLarge(u64),
    #[error("no answer within {0} s (fetch.timeout_secs)")]
    Timeout(u64),
    #[error("cannot connect to {0}")]
    Connect(String),
    #[error("{0}")]
    Other(String),
}

/// The address a person gave, as it is fetched: `webcal://` read as `https://`; `http://`
/// only when allowed; no user name or password in it.
pub fn normalise(address: &str, allow_http: bool) -> Result<Url, FetchError> {
    let address = address.trim();
    let fixed = match address.get(..9) {
        Some(p) if p.eq_ignore_ascii_case("webcal://") => format!("https://{}", &address[9..]),
        _ => address.to_string(),
    };
    let url = Url::parse(&fixed).map_err(|e| FetchError::BadAddress(e.to_string()))?;
    check_scheme(&url, allow_http)?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(FetchError::BadAddress(
            "an address with a user name or password in it".into(),
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(FetchError::BadAddress("no host".into()));
    }
    Ok(url)
}

fn check_scheme(url: &Url, allow_http: bool) -> Result<(), FetchError> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if allow_http => Ok(()),
        "http" => Err(FetchError::BadAddress(
            "http:// (only https://, or set fetch.allow_http = true)".into(),
        )),
        other => Err(FetchError::BadAddress(format!(
            "{other}:// (only https://)"
        ))),
    }
}

/// The host of `url` as an error names it.
fn host_of(url: &Url) -> String {
    url.host_str().unwrap_or("?").to_string()
}

/// The host of a stored address, all a log line may name of it ("" when it does not parse).
pub fn host(address: &str) -> String {
    Url::parse(address)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default()
}

/// Resolves names and drops every address the guard refuses; a name left with none fails
/// with the refusal (reqwest never connects to a literal IP through this: those are checked
/// in [`Fetcher::get`] before each hop).
#[derive(Debug, Clone, Copy)]
struct GuardedResolver {
    allow_private: bool,
}

/// The refusal a resolver error carries, recognised again in [`Fetcher::get`].
#[derive(Debug)]
struct Refused(guard::Refusal);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.describe())
    }
}

impl std::error::Error for Refused {}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            let mut refusal = None;
            let kept: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| match guard::check(a.ip(), allow_private) {
                    None => true,
                    Some(r) => {
                        refusal = Some(r);
                        false
                    }
                })
                .collect();
            match (kept.is_empty(), refusal) {
                (true, Some(r)) => {
                    Err(Box::new(Refused(r)) as Box<dyn std::error::Error + Send + Sync>)
                }
                _ => Ok(Box::new(kept.into_iter()) as Addrs),
            }
        })
    }
}

/// The fetcher: one HTTP client with the guard in its resolver, redirects followed by hand
/// (each hop's scheme and address checked).
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    cfg: FetchConfig,
}

impl Fetcher {
    pub fn new(cfg: &FetchConfig) -> anyhow::Result<Fetcher> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(GuardedResolver {
                allow_private: cfg.allow_private,
            }))
            .no_proxy()
            .timeout(Duration::from_secs(cfg.timeout_secs))
            .connect_timeout(Duration::from_secs(cfg.timeout_secs.min(10)))
            .user_agent(concat!("Tidings/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Fetcher {
            client,
            cfg: cfg.clone(),
        })
    }

    /// GETs `url` (see [`normalise`]), sending `etag` and `last_modified` from the last good
    /// read, following at most [`MAX_REDIRECTS`] redirects, each checked like the first.
    pub async fn get(
        &self,
        url: &Url,
        etag: Option<&str>,
        last_modified: Option<&str>,
    ) -> Result<Fetched, FetchError> {
        let mut url = url.clone();
        for _ in 0..=MAX_REDIRECTS {
            self.check_hop(&url)?;
            let mut req = self.client.get(url.clone());
            if let Some(e) = etag {
                req = req.header(IF_NONE_MATCH, e);
            }
            if let Some(l) = last_modified {
                req = req.header(IF_MODIFIED_SINCE, l);
            }
            let resp = req.send().await.map_err(|e| self.error_of(&url, e))?;
            let status = resp.status();
            if status.is_redirection() && status != reqwest::StatusCode::NOT_MODIFIED {
                let next = resp
                    .headers()
                    .get(LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .and_then(|l| url.join(l).ok())
                    .ok_or(FetchError::Status(status.as_u16()))?;
                url = next;
                continue;
            }
            if status == reqwest::StatusCode::NOT_MODIFIED {
                return Ok(Fetched::NotModified);
            }
            if !status.is_success() {
                return Err(FetchError::Status(status.as_u16()));
            }
            return self.body_of(&url, resp).await;
        }
        Err(FetchError::TooManyRedirects)
    }

    /// POSTs `body` as JSON to `url` with `headers` (a webhook delivery): the same scheme and
    /// address rules as [`Fetcher::get`] and its timeout; a redirect is not followed (it is an
    /// error, as every answer but 2xx is). Returns the status.
    pub async fn post_json(
        &self,
        url: &Url,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<u16, FetchError> {
        self.send_json(reqwest::Method::POST, url, headers, body)
            .await
    }

    /// [`Fetcher::post_json`] with another method (Matrix sends a message with PUT).
    pub async fn send_json(
        &self,
        method: reqwest::Method,
        url: &Url,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<u16, FetchError> {
        self.check_hop(url)?;
        let mut req = self
            .client
            .request(method, url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        for (name, value) in headers {
            req = req.header(*name, value);
        }
        let mut resp = req.send().await.map_err(|e| self.error_of(url, e))?;
        let status = resp.status();
        // The answer's body is not needed: up to 64 KB of it is read (and dropped) so the
        // connection can be reused, without trusting its size or waiting long for it.
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            let mut read = 0usize;
            while let Ok(Some(chunk)) = resp.chunk().await {
                read += chunk.len();
                if read > 65_536 {
                    break;
                }
            }
        })
        .await;
        if status.is_success() {
            Ok(status.as_u16())
        } else {
            Err(FetchError::Status(status.as_u16()))
        }
    }

    /// Whether `url` may be fetched as far as can be told without DNS: its scheme, and its
    /// host when that is an IP literal (a name is checked when it is resolved).
    pub fn check_address(&self, url: &Url) -> Result<(), FetchError> {
        self.check_hop(url)
    }

    /// A hop's scheme, and its host when it is an IP literal (a name is checked when it is
    /// resolved).
    fn check_hop(&self, url: &Url) -> Result<(), FetchError> {
        check_scheme(url, self.cfg.allow_http)?;
        let ip: Option<IpAddr> = match url.host() {
            Some(url::Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
            Some(url::Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
            _ => None,
        };
        if let Some(why) = ip.and_then(|ip| guard::check(ip, self.cfg.allow_private)) {
            return Err(FetchError::Refused {
                host: host_of(url),
                why,
            });
        }
        Ok(())
    }

    async fn body_of(&self, url: &Url, mut resp: reqwest::Response) -> Result<Fetched, FetchError> {
        let max = self.cfg.max_bytes;
        if resp.content_length().is_some_and(|n| n > max) {
            return Err(FetchError::TooLarge(max));
        }
        let header = |r: &reqwest::Response, h| {
            r.headers()
                .get(h)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                .map(str::to_string)
        };
        let etag = header(&resp, ETAG);
        let last_modified = header(&resp, LAST_MODIFIED);
        let mut bytes = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.error_of(url, e))? {
            if bytes.len() as u64 + chunk.len() as u64 > max {
                return Err(FetchError::TooLarge(max));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Fetched::Body {
            bytes,
            etag,
            last_modified,
        })
    }

    /// A reqwest error as a [`FetchError`], without the address.
    fn error_of(&self, url: &Url, e: reqwest::Error) -> FetchError {
        if e.is_timeout() {
            return FetchError::Timeout(self.cfg.timeout_secs);
        }
        let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(&e);
        while let Some(s) = source {
            if let Some(Refused(why)) = s.downcast_ref::<Refused>() {
                return FetchError::Refused {
                    host: host_of(url),
                    why: *why,
                };
            }
            source = s.source();
        }
        if e.is_connect() {
            return FetchError::Connect(host_of(url));
        }
        FetchError::Other(e.without_url().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webcal_is_https_and_other_schemes_and_credentials_are_refused() {
        let u = normalise("webcal://p01-caldav.icloud.com/published/2/abc", false).expect("ok");
        assert_eq!(u.as_str(), "https://p01-caldav.icloud.com/published/2/abc");
        assert!(normalise("WEBCAL://example.org/x.ics", false).is_ok());
        assert!(matches!(
            normalise("http://example.org/x.ics", false),
            Err(FetchError::BadAddress(_))
        ));
        assert!(normalise("http://example.org/x.ics", true).is_ok());
        for bad in [
            "ftp://example.org/x",
            "file:///etc/passwd",
            "https://user:pw@example.org/x",
            "not an address",
            "",
        ] {
            assert!(normalise(bad, true).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_error_names_the_host_never_the_path() {
        let e = FetchError::Refused {
            host: "cal.example.org".into(),
            why: guard::Refusal::Private,
        };
        assert!(e.to_string().starts_with("cal.example.org is a loopback"));
    }
}
