//! What an operator sees: a large import on SQLite and PostgreSQL with clean piped output and
//! errors naming the line and column, and JSON logs with one span per job.

use std::fmt::Write;

use crate::cli::{ok, run};

fn big_csv(n: usize, bad_line: Option<usize>) -> String {
    let mut s = String::from("email,name,timezone,request_at,digest_at,workdays,team\n");
    for i in 0..n {
        // Line numbers count the header as line 1.
        let tz = if bad_line == Some(i + 2) {
            "Mars/Olympus"
        } else {
            "Europe/Berlin"
        };
        writeln!(
            s,
            "m{i}@example.com,Member {i},{tz},09:00,,mon;wed;fri,team{}",
            i % 7
        )
        .unwrap();
    }
    s
}

fn large_import(db: &str, dir: &std::path::Path) {
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, big_csv(3000, Some(2501))).unwrap();
    let o = run(dir, db, &["member", "import", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("line 2501") && err.contains("timezone") && err.contains("Mars/Olympus"),
        "{err}"
    );
    let v: serde_json::Value =
        serde_json::from_str(&ok(&run(dir, db, &["member", "list", "--json"]))).unwrap();
    assert_eq!(v.as_array().map(Vec::len), Some(0), "all or nothing");

    let good = dir.join("good.csv");
    std::fs::write(&good, big_csv(3000, None)).unwrap();
    let out = ok(&run(dir, db, &["member", "import", good.to_str().unwrap()]));
    // Piped stdout: the progress bar is hidden, only the summary is printed.
    assert_eq!(
        out,
        format!("imported 3000 members from {}\n", good.display())
    );
    let v: serde_json::Value =
        serde_json::from_str(&ok(&run(dir, db, &["member", "list", "--json"]))).unwrap();
    let all = v.as_array().expect("array");
    assert_eq!(all.len(), 3000);
    let m = all
        .iter()
        .find(|m| m["email"] == "m2999@example.com")
        .expect("last row");
    assert_eq!(m["request_at"], "09:00");
    assert_eq!(m["digest_at"], "08:30");
    assert_eq!(m["workdays"], serde_json::json!(["mon", "wed", "fri"]));
    assert_eq!(m["team"], "team3");
}

#[test]
fn a_large_import_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("t.db").display());
    large_import(&db, dir.path());
}

#[test]
fn a_large_import_on_postgres() {
    let dir = tempfile::tempdir().unwrap();
    large_import(&crate::rig::fresh_pg_url(), dir.path());
}

#[test]
fn json_logs_carry_the_job_span_and_counts() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("t.db").display());
    ok(&run(
        dir.path(),
        &db,
        &[
            "member",
            "add",
            "ann@example.com",
            "--name",
            "Ann",
            "--tz",
            "Europe/Berlin",
        ],
    ));
    // The first pass plans 16:30 Berlin (15:30Z); the second finds it due.
    ok(&run(
        dir.path(),
        &db,
        &["run-due", "--now", "2026-03-09T15:00:00Z"],
    ));
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_tidings"))
        .args([
            "--log-format",
            "json",
            "run-due",
            "--now",
            "2026-03-09T15:31:00Z",
        ])
        .current_dir(dir.path())
        .env_remove("TIDINGS_CONFIG")
        .env("TIDINGS_DATABASE__URL", &db)
        .env("TIDINGS_LOG", "info")
        .output()
        .expect("binary runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<serde_json::Value> = err
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let plan = lines
        .iter()
        .find(|l| l["fields"]["message"] == "planning pass")
        .unwrap_or_else(|| panic!("no planning pass line in {err}"));
    assert_eq!(plan["span"]["name"], "plan", "{plan}");
    assert_eq!(plan["span"]["why"], "run-due", "{plan}");
    assert_eq!(plan["fields"]["requests"], 1, "{plan}");
}
