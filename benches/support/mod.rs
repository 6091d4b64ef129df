//! What the benchmark programs share: `--name VALUE` arguments and the set-based SQL they seed
//! their databases with. (A folder, so cargo does not take it for a benchmark of its own.)

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use tidings::store::Backend;

/// The labelled reply corpora shared by the project (`../shared/corpora/replies`).
pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpora/replies")
}

/// Every `input.*` file below `root` (the corpora's inputs: text, HTML or whole messages).
pub fn corpus_inputs(root: &Path) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)? {
            let p = e?.path();
            if p.is_dir() {
                stack.push(p);
            } else if p
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("input."))
            {
                out.push(std::fs::read(&p)?);
            }
        }
    }
    Ok(out)
}

/// The value after `name` on the command line, if any.
pub fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

/// A query yielding `x` = 1..=n, for `INSERT … SELECT … FROM (series) s`.
pub fn series(backend: Backend, n: i64) -> String {
    match backend {
        Backend::Sqlite => format!(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {n}) SELECT x FROM c"
        ),
        Backend::Postgres => format!("SELECT x FROM generate_series(1, {n}) AS x"),
    }
}

/// SQL for a false boolean column (INTEGER on SQLite, BOOLEAN on PostgreSQL).
pub fn sql_false(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "0",
        Backend::Postgres => "FALSE",
    }
}
