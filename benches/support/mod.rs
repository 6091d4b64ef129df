//! What the benchmark programs share: `--name VALUE` arguments and the set-based SQL they seed
//! their databases with. (A folder, so cargo does not take it for a benchmark of its own.)

#![allow(dead_code)]

use tidings::store::Backend;

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
