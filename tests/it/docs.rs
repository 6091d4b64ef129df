//! The manual (docs/, an mdBook) as CI checks it: it builds with the pinned mdbook, and
//! `scripts/check-docs` finds every internal link and anchor, every page in SUMMARY.md, the
//! README's two commands and every key of config.example.toml in the configuration reference.
//! (The command reference is compared with clap's own description in `cli::reference`.)

use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_manual_builds_and_its_links_commands_and_keys_check() {
    // Installs mdbook into target/tools when scripts/test has not already (it does, first).
    let out = Command::new(root().join("scripts/docs"))
        .arg("check")
        .current_dir(root())
        .output()
        .unwrap_or_else(|e| panic!("cannot run scripts/docs check: {e}"));
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "scripts/docs check failed:\n{said}");
    assert!(
        !said.contains("[WARN]") && !said.contains("WARN "),
        "mdbook warned:\n{said}"
    );
}
