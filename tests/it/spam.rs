//! Every kind of email the demo writes (request, daily digest, weekly digest, receipt, notice),
//! scored by SpamAssassin with its local rules only (`-L`: no network, no DNS blocklists; the
//! Debian package `spamassassin`, installed by `scripts/rig install`): each must score 0.0 or
//! less, as it did before the emails named their team and changed their layout.

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_tidings");
const SPAMASSASSIN: &str = "/usr/bin/spamassassin";

/// SpamAssassin's score of one message, and the rules that fired.
fn score(eml: &Path) -> (f64, String) {
    let out = Command::new(SPAMASSASSIN)
        .args(["-L", "-t"])
        .stdin(std::fs::File::open(eml).unwrap())
        .output()
        .unwrap_or_else(|e| panic!("{SPAMASSASSIN} cannot start: {e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    let status = text
        .split("\nX-Spam-Status: ")
        .nth(1)
        .and_then(|s| s.split("autolearn=").next())
        .unwrap_or_else(|| panic!("no X-Spam-Status for {}: {text}", eml.display()))
        .replace(['\n', '\t'], " ");
    let score = status
        .split("score=")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no score in {status:?}"));
    (score, status)
}

#[test]
fn every_kind_of_email_scores_zero_in_spamassassin() {
    assert!(
        Path::new(SPAMASSASSIN).exists(),
        "{SPAMASSASSIN} is missing. How to fix: run `scripts/test` as root (`scripts/rig install` installs the Debian package spamassassin)"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["demo", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sent = dir.path().join("var/mail/sent/new");
    let mut names: Vec<String> = std::fs::read_dir(&sent)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let kinds = [
        ("request", "request_"),
        ("daily digest", "digest_1_"),
        ("weekly digest", "digest_5_"),
        ("receipt", "receipt_"),
        ("notice", "resolved_"),
    ];
    let mut failures = Vec::new();
    for (kind, prefix) in kinds {
        let name = names
            .iter()
            .rfind(|n| n.starts_with(prefix))
            .unwrap_or_else(|| panic!("the demo wrote no {kind} ({prefix}*): {names:?}"));
        let (s, status) = score(&sent.join(name));
        eprintln!("{kind} ({name}): {status}");
        if s > 0.0 {
            failures.push(format!("{kind} ({name}): {status}"));
        }
    }
    assert!(
        failures.is_empty(),
        "SpamAssassin:\n{}",
        failures.join("\n")
    );
}
