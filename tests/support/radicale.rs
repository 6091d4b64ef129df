//! A real CalDAV server for calendar tests: a private Radicale (Debian 12: 3.1.x) on
//! 127.0.0.1, one per [`Radicale::start`], with its config and storage in a temporary
//! directory.
//!
//! ```ignore
//! let cal = radicale::Radicale::start();
//! cal.create_calendar("alice", "work").await;
//! cal.put_event("alice", "work", "off-1@example.test", ICS).await;
//! let url = cal.export_url("alice", "work");   // GET = the whole calendar as one ICS
//! cal.delete_event("alice", "work", "off-1@example.test").await;
//! ```
//!
//! * No authentication (`[auth] type = none`, `[rights] type = authenticated`: with auth
//!   off, anonymous requests may read and write every collection), no TLS, no web UI, logging
//!   at `warning` into `radicale.log` in the temporary directory (shown when it fails to start).
//!   Radicale needs no network; it listens on 127.0.0.1 only, on a free port.
//! * Only the given `--config` file is read (Radicale then ignores /etc/radicale/config).
//! * Lifetime: the server is killed (SIGKILL) and reaped on Drop, then the directory is
//!   deleted.  Drop does not run when the test process is killed, or for a `Radicale` kept
//!   in a `static`; so Radicale runs under a small Python wrapper that exits as soon as its
//!   stdin (a pipe held by this struct, close-on-exec) reaches EOF, i.e. when this process
//!   is gone, however it ended (it deletes the directory too).
//! * Needs the Debian package `radicale` (`scripts/rig install`, run by `scripts/test` as
//!   root, installs it).  When it is missing, [`Radicale::start`] PANICS; it never skips.
//! * Radicale's answers (3.1.8): MKCALENDAR 201 (409 when it exists or its parent does not);
//!   PUT 201 for new *and* replaced items; DELETE 200; GET of a collection: 200
//!   `text/calendar`, one VCALENDAR with every item (re-serialised: PRODID and property order
//!   change), an empty VCALENDAR when there are none.  HTTP/1.0, connection closed per request.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

const START_TIMEOUT: Duration = Duration::from_secs(30);
/// The system Python, which Debian's `radicale` package installs into (a `python3` earlier
/// on PATH, e.g. pyenv's, would not find it).
const PYTHON: &str = "/usr/bin/python3";

const HOW_TO_FIX: &str = "How to fix: run the tests as root with `scripts/test` (it installs \
the Debian package `radicale` when missing, via `scripts/rig install`, then runs `cargo test`).";

/// Runs Radicale in this interpreter after starting a thread that, when stdin reaches EOF
/// (our end of the pipe is closed when the test process exits or dies), deletes the
/// temporary directory and ends the process.  argv[1] = the config file, in that directory.
const WRAPPER: &str = r#"
import os, shutil, sys, threading
config = sys.argv[1]
def watch():
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        shutil.rmtree(os.path.dirname(config), ignore_errors=True)
        os._exit(0)
threading.Thread(target=watch, daemon=True).start()
try:
    from radicale.__main__ import run
except ImportError as e:
    print("RADICALE-MISSING:", e, file=sys.stderr, flush=True)
    os._exit(3)
sys.argv = ["radicale", "--config", config]
run()
"#;

/// A running private Radicale.  See the module documentation.
pub struct Radicale {
    /// 127.0.0.1 port it listens on.
    pub port: u16,
    child: Child,
    /// Held open: EOF on the child's stdin stops it (see the module documentation).
    _stdin: ChildStdin,
    http: reqwest::Client,
    log: PathBuf,
    /// Config, `collections/` and `radicale.log`; deleted after the child is killed.
    dir: tempfile::TempDir,
}

/// A port on 127.0.0.1 where nothing listens (bound once, then released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port on 127.0.0.1")
        .port()
}

/// One `GET / HTTP/1.0` by hand; true when anything answers with an HTTP status line.
fn answers_http(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 5];
    s.read_exact(&mut head).is_ok() && &head == b"HTTP/"
}

/// `%XX` for everything but unreserved characters and `@` (one path segment).
fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Radicale {
    /// Starts Radicale and waits until it answers HTTP.  Panics (with its log) when it
    /// cannot; retries with another port if the one picked was taken meanwhile.
    pub fn start() -> Radicale {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match Self::try_start() {
                Ok(r) => return r,
                Err(log) if attempt < 3 && log.contains("Address already in use") => continue,
                Err(log) => panic!(
                    "Radicale did not start on 127.0.0.1.\n--- radicale.log ---\n{log}\n{HOW_TO_FIX}"
                ),
            }
        }
    }

    fn try_start() -> Result<Radicale, String> {
        let dir = tempfile::Builder::new()
            .prefix("tidings-radicale.")
            .tempdir()
            .expect("a temporary directory");
        let port = free_port();
        let config = dir.path().join("config");
        let log = dir.path().join("radicale.log");
        std::fs::write(
            &config,
            format!(
                "[server]\nhosts = 127.0.0.1:{port}\n\
                 [auth]\ntype = none\n\
                 [rights]\ntype = authenticated\n\
                 [storage]\nfilesystem_folder = {}\n\
                 [web]\ntype = none\n\
                 [logging]\nlevel = warning\n",
                dir.path().join("collections").display()
            ),
        )
        .expect("write the Radicale config");
        let out = std::fs::File::create(&log).expect("create radicale.log");
        let err = out.try_clone().expect("dup radicale.log");
        let mut child = Command::new(PYTHON)
            .arg("-c")
            .arg(WRAPPER)
            .arg(&config)
            .current_dir(dir.path())
            .stdin(Stdio::piped())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {PYTHON} (for Radicale): {e}\n{HOW_TO_FIX}"));
        let stdin = child.stdin.take().expect("child stdin");
        let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = child.try_wait().expect("wait for Radicale") {
                let text = read_log();
                if text.contains("RADICALE-MISSING") {
                    panic!(
                        "Radicale is not installed ({PYTHON} cannot import it): {text}\n{HOW_TO_FIX}"
                    );
                }
                return Err(format!("{text}(exited: {status})"));
            }
            if answers_http(port) {
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{}(no HTTP answer on 127.0.0.1:{port} within {START_TIMEOUT:?})",
                    read_log()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("an HTTP client");
        Ok(Radicale {
            port,
            child,
            _stdin: stdin,
            http,
            log,
            dir,
        })
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `http://127.0.0.1:PORT/USER/NAME/`: the collection; a GET returns all its events as
    /// one `text/calendar` document (an empty VCALENDAR when there are none).
    pub fn export_url(&self, user: &str, name: &str) -> String {
        format!("{}/{}/{}/", self.url(), segment(user), segment(name))
    }

    fn event_url(&self, user: &str, name: &str, uid: &str) -> String {
        format!("{}{}.ics", self.export_url(user, name), segment(uid))
    }

    /// What Radicale logged so far (level warning: bad requests, errors).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn send(
        &self,
        method: &str,
        url: &str,
        ct: Option<&str>,
        body: Option<String>,
    ) -> (u16, String) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("an HTTP method");
        let mut req = self.http.request(m, url);
        if let Some(ct) = ct {
            req = req.header("Content-Type", ct);
        }
        if let Some(body) = body {
            req = req.body(body);
        }
        let resp = req.send().await.unwrap_or_else(|e| {
            panic!("{method} {url}: {e}\n--- radicale.log ---\n{}", self.log())
        });
        let status = resp.status().as_u16();
        (status, resp.text().await.unwrap_or_default())
    }

    fn fail(&self, what: &str, status: u16, body: &str) -> ! {
        panic!(
            "Radicale: {what}: HTTP {status}: {body}\n--- radicale.log ---\n{}",
            self.log()
        )
    }

    /// Creates the calendar `/USER/NAME/` (and the principal collection `/USER/` when it is
    /// not there yet).  Panics if the calendar already exists.
    pub async fn create_calendar(&self, user: &str, name: &str) {
        let parent = format!("{}/{}/", self.url(), segment(user));
        let (s, b) = self.send("MKCOL", &parent, None, None).await;
        // 405: the principal collection exists already
        if s != 201 && s != 405 {
            self.fail(&format!("MKCOL {parent}"), s, &b);
        }
        let url = self.export_url(user, name);
        let (s, b) = self.send("MKCALENDAR", &url, None, None).await;
        if s != 201 {
            self.fail(&format!("MKCALENDAR {url}"), s, &b);
        }
    }

    /// PUTs `ics` (a whole VCALENDAR, e.g. with one VEVENT whose UID is `uid`) as
    /// `/USER/NAME/UID.ics`, creating or replacing it.
    pub async fn put_event(&self, user: &str, name: &str, uid: &str, ics: &str) {
        let url = self.event_url(user, name, uid);
        let (s, b) = self
            .send(
                "PUT",
                &url,
                Some("text/calendar; charset=utf-8"),
                Some(ics.to_owned()),
            )
            .await;
        if s != 201 && s != 204 {
            self.fail(&format!("PUT {url}"), s, &b);
        }
    }

    /// DELETEs `/USER/NAME/UID.ics`; panics if it is not there.
    pub async fn delete_event(&self, user: &str, name: &str, uid: &str) {
        let url = self.event_url(user, name, uid);
        let (s, b) = self.send("DELETE", &url, None, None).await;
        if s != 200 && s != 204 {
            self.fail(&format!("DELETE {url}"), s, &b);
        }
    }

    /// GETs [`export_url`](Self::export_url): the calendar as one ICS document.
    pub async fn export(&self, user: &str, name: &str) -> String {
        let url = self.export_url(user, name);
        let (s, b) = self.send("GET", &url, None, None).await;
        if s != 200 {
            self.fail(&format!("GET {url}"), s, &b);
        }
        b
    }
}

impl Drop for Radicale {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
