//! The HTTP API held to its OpenAPI document by an outside tool: Schemathesis (pinned, in the
//! venv `scripts/rig install` makes) runs against a real `tidings serve` on a SQLite file,
//! once with a member's token and once with the admin token: every check (`--checks all`),
//! every phase (examples, coverage, fuzzing, and the stateful phase that follows the
//! document's links), a fixed seed. Rules a JSON schema cannot state are listed, with their
//! reasons, in `tests/schemathesis.toml`. Zero failures allowed; the test fails loudly when
//! Schemathesis is missing, it never skips.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_tidings");
const ST: &str = "/var/cache/tidings-rig/py/bin/st";
const ADMIN: &str = "admin-token-for-the-contract-0123456789";
const CONFIG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/schemathesis.toml");

fn tidings(config: &Path, args: &[&str]) -> String {
    let o = Command::new(BIN)
        .arg("--config")
        .arg(config)
        .args(args)
        .env("TIDINGS_LOG", "warn")
        .output()
        .expect("the binary runs");
    assert!(
        o.status.success(),
        "tidings {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn write_config(dir: &Path, port: u16) -> PathBuf {
    let path = dir.join("tidings.toml");
    let d = dir.display();
    std::fs::write(
        &path,
        format!(
            r#"[database]
url = "sqlite://{d}/contract.db"

[web]
bind = "127.0.0.1:{port}"
base_url = "http://127.0.0.1:{port}"
admin_token = "{ADMIN}"
# Schemathesis sends thousands of requests a minute with one token.
rate_limit_per_minute = 0

[mail]
transport = "maildir"
from = "Tidings <tidings@example.test>"
reply_to = "updates@example.test"

[mail.maildir]
sent = "{d}/sent"
inbox = "{d}/inbox"

[security]
secret = "contract-test-secret-0123456789abcdef"
"#
        ),
    )
    .expect("config written");
    path
}

fn wait_healthy(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::{Read, Write};
            let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            let mut out = String::new();
            let _ = s.read_to_string(&mut out);
            if out.starts_with("HTTP/1.1 200") {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("tidings serve did not answer /healthz on port {port} within 30 s");
}

/// Runs Schemathesis with `token`; returns (success, output).
fn schemathesis(port: u16, token: &str, report: &Path) -> (bool, String) {
    let o = Command::new(ST)
        .arg("--config-file")
        .arg(CONFIG)
        .arg("run")
        .arg(format!("http://127.0.0.1:{port}/api/v1/openapi.json"))
        .args([
            "--checks",
            "all",
            "--max-examples",
            "100",
            "--seed",
            "20261203",
        ])
        .args(["--generation-database", "none", "--no-color"])
        .args(["--report", "junit", "--report-dir"])
        .arg(report)
        .arg("--header")
        .arg(format!("Authorization: Bearer {token}"))
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{ST} does not run ({e}): Schemathesis is installed by `scripts/rig install` \
                 (as root), which `scripts/test` runs"
            )
        });
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.success(), out)
}

#[test]
fn schemathesis_finds_no_difference_between_the_document_and_the_server() {
    assert!(
        Path::new(ST).exists(),
        "{ST} is missing: Schemathesis is installed by `scripts/rig install` (as root), which \
         `scripts/test` runs"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let port = support::closed_port();
    let config = write_config(dir.path(), port);
    tidings(&config, &["migrate"]);
    tidings(&config, &["team", "add", "core"]);
    for (email, name, tz) in [
        ("ann@example.test", "Ann", "Europe/Berlin"),
        ("bob@example.test", "Bob", "Pacific/Auckland"),
    ] {
        tidings(
            &config,
            &[
                "member", "add", email, "--name", name, "--tz", tz, "--team", "core",
            ],
        );
    }
    let token = tidings(
        &config,
        &["token", "create", "--member", "ann@example.test"],
    );
    let token = token
        .lines()
        .rev()
        .find(|l| l.starts_with("tdg_"))
        .expect("a token printed")
        .trim()
        .to_string();
    let _serve = support::serve(dir.path(), &config);
    wait_healthy(port);
    let mut failed = Vec::new();
    for (who, t) in [("member", token.as_str()), ("admin", ADMIN)] {
        let (ok, out) = schemathesis(port, t, &dir.path().join(format!("report-{who}")));
        let summary: Vec<&str> = out
            .lines()
            .filter(|l| l.contains("generated,") || l.contains("API Links:"))
            .collect();
        eprintln!("schemathesis with the {who} token: {}", summary.join(" | "));
        if !ok {
            failed.push(format!("— with the {who} token —\n{out}"));
        }
    }
    assert!(
        failed.is_empty(),
        "Schemathesis failures:\n{}",
        failed.join("\n")
    );
}
