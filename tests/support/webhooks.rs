//! A webhook receiver for the tests (tests/support/webhook_receiver.py, on 127.0.0.1) and the
//! independent check of what it received: tests/support/webhook_verify.py, which verifies
//! each delivery with the Standard Webhooks reference library (PyPI `standardwebhooks`,
//! pinned in the rig's venv), never with Tidings' own code. Missing Python or library: the
//! test fails, saying so.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

const PY: &str = "/var/cache/tidings-rig/py/bin/python";

fn script(name: &str) -> String {
    format!("{}/tests/support/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// A running receiver; killed when dropped (and it exits by itself when the test dies: it
/// watches its stdin).
pub struct Receiver {
    child: Child,
    pub url: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

/// One delivery as the reference library read it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Verified {
    /// The `webhook-id` header.
    pub id: Option<String>,
    /// What the receiver answered.
    pub status: u16,
    pub ok: bool,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub data: Option<serde_json::Value>,
    /// The whole body, parsed.
    pub payload: Option<serde_json::Value>,
    pub error: Option<String>,
    pub tampered_refused: bool,
    pub replay_refused: bool,
}

impl Receiver {
    /// A receiver answering 204, or `status` to its first `fail_first` requests.
    pub fn start(fail_first: usize, status: u16) -> Receiver {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("deliveries.jsonl");
        let mut child = Command::new(PY)
            .arg(script("webhook_receiver.py"))
            .arg("--log")
            .arg(&log)
            .args(["--fail-first", &fail_first.to_string()])
            .args(["--status", &status.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{PY}: {e} (run scripts/rig install)"));
        let out = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(out)
            .read_line(&mut line)
            .expect("receiver's port");
        let port = line
            .trim()
            .strip_prefix("listening ")
            .unwrap_or_else(|| panic!("receiver said {line:?}"));
        Receiver {
            child,
            url: format!("http://127.0.0.1:{port}/hooks/tidings"),
            log,
            _dir: dir,
        }
    }

    /// The raw log lines so far.
    pub fn raw(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Every delivery so far, verified with `secret` by the reference library.
    pub fn verified(&self, secret: &str) -> Vec<Verified> {
        let raw = self.raw();
        let mut p = Command::new(PY)
            .arg(script("webhook_verify.py"))
            .arg(secret)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{PY}: {e} (run scripts/rig install)"));
        {
            let mut stdin = p.stdin.take().expect("stdin");
            for l in &raw {
                writeln!(stdin, "{l}").expect("write");
            }
        }
        let out = p.wait_with_output().expect("verifier");
        assert!(
            out.status.success(),
            "the verifier failed (standardwebhooks missing?)"
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What `jsonschema_rs` says of each of `payloads` against the `webhooks` section of the OpenAPI
/// document `doc`: "ok TYPE" or "bad TYPE: why", one per payload.
pub fn schema_check(doc: &serde_json::Value, payloads: &[serde_json::Value]) -> Vec<String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("openapi.json");
    std::fs::write(&path, doc.to_string()).expect("document written");
    let mut p = Command::new(PY)
        .arg(script("webhook_schema.py"))
        .arg(&path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{PY}: {e} (run scripts/rig install)"));
    {
        let mut stdin = p.stdin.take().expect("stdin");
        for v in payloads {
            writeln!(stdin, "{v}").expect("write");
        }
    }
    let out = p.wait_with_output().expect("validator");
    assert!(
        out.status.success(),
        "the schema check failed (jsonschema_rs missing?)"
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}
