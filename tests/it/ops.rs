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

/// Runs the binary on a pseudo-terminal (util-linux `script`), as an operator at a shell does:
/// what the terminal showed, control sequences and all.
fn on_terminal(dir: &std::path::Path, db: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut line = String::from(crate::cli::BIN);
    for a in args {
        line.push_str(&format!(" '{a}'"));
    }
    let mut cmd = std::process::Command::new("script");
    cmd.args(["-qefc", &line, "/dev/null"])
        .current_dir(dir)
        .env_remove("TIDINGS_CONFIG")
        .env_remove("NO_COLOR")
        .env("TIDINGS_DATABASE__URL", db)
        .env("TIDINGS_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let o = cmd
        .output()
        .unwrap_or_else(|e| panic!("util-linux script (a pseudo-terminal) is needed: {e}"));
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(o.status.success(), "{args:?} on a terminal failed:\n{out}");
    out
}

#[test]
fn on_a_terminal_long_commands_show_progress_and_quiet_or_a_pipe_shows_none() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let db = format!("sqlite://{}", d.join("t.db").display());
    // A new database: its migrations are named as they run.
    let first = on_terminal(d, &db, &["team", "list"], &[]);
    assert!(first.contains("migrating: "), "{first}");
    let csv = d.join("many.csv");
    std::fs::write(&csv, big_csv(2000, None)).unwrap();
    let shown = on_terminal(d, &db, &["member", "import", csv.to_str().unwrap()], &[]);
    assert!(
        // indicatif draws at most a few times a second: the count, not necessarily the end.
        shown.contains("importing members [") && shown.contains("/2000 ("),
        "{shown}"
    );
    assert!(shown.contains("imported 2000 members"), "{shown}");
    let exported = on_terminal(
        d,
        &db,
        &["export", "--team", "team1", "--format", "json"],
        &[],
    );
    assert!(
        exported.contains("exporting team1: updates read"),
        "{exported}"
    );
    // --quiet: the same commands with their results only.
    let csv2 = d.join("more.csv");
    std::fs::write(
        &csv2,
        big_csv(10, None).replace("@example.com", "@example.org"),
    )
    .unwrap();
    let quiet = on_terminal(
        d,
        &db,
        &["--quiet", "member", "import", csv2.to_str().unwrap()],
        &[],
    );
    assert!(!quiet.contains("importing members"), "{quiet}");
    assert!(quiet.contains("imported 10 members"), "{quiet}");
    let quiet = on_terminal(d, &db, &["-q", "export", "--team", "team1"], &[]);
    assert!(!quiet.contains("exporting"), "{quiet}");
    // Piped: nothing but the result (see large_import).
    let piped = ok(&run(
        d,
        &db,
        &["export", "--team", "team1", "--format", "json"],
    ));
    assert!(
        !piped.contains("exporting") && !piped.contains('\u{1b}'),
        "{piped}"
    );
}

#[test]
fn no_color_takes_the_colours_out_of_the_logs_on_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let db = format!("sqlite://{}", d.join("t.db").display());
    // sqlx logs each statement at debug: log lines on any command.
    let log = ("TIDINGS_LOG", "sqlx=debug");
    let coloured = on_terminal(d, &db, &["-q", "migrate"], &[log]);
    assert!(
        coloured.contains("DEBUG") && coloured.contains("\u{1b}["),
        "{coloured:?}"
    );
    let plain = on_terminal(d, &db, &["-q", "migrate"], &[log, ("NO_COLOR", "1")]);
    assert!(plain.contains("DEBUG sqlx::query"), "{plain:?}");
    assert!(
        !plain.contains('\u{1b}'),
        "NO_COLOR left colours: {plain:?}"
    );
}
