//! `tidings db copy FROM_URL TO_URL`: moves every row of one Tidings database into a freshly
//! migrated, empty other one — typically SQLite to PostgreSQL when a second `serve` instance
//! is wanted — keeping ids, the server secret (so links and reply addresses in mail already
//! sent keep working) and the raw inbound mail.
//!
//! The tables and their columns are listed explicitly with a type tag ([`TABLES`]) rather
//! than copied generically: sqlx's `Any` driver decodes by the value's type, and booleans
//! (INTEGER on SQLite, BOOLEAN on PostgreSQL) and blobs (BLOB / BYTEA) need saying. A test
//! holds this list to the migrated schema, so a migration that adds a column must add it here.

use super::{progress_bar, usage};
use anyhow::Context;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::domain::redact_url;
use crate::store::{Backend, Store};

mod tables;
use Ty::*;
pub use tables::{TABLES, Table, Ty};

/// Rows read from the source per query, so raw mail is never all in memory at once.
const PAGE: i64 = 500;

/// Why a copy was refused before anything was written (the command exits 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// Rows copied per table, in [`TABLES`] order.
#[derive(Debug, Default)]
pub struct CopyReport {
    pub tables: Vec<(&'static str, u64)>,
}

impl CopyReport {
    pub fn total(&self) -> u64 {
        self.tables.iter().map(|(_, n)| n).sum()
    }
}

/// A value in flight between the two databases.
enum Val {
    I64(Option<i64>),
    Text(Option<String>),
    Bool(bool),
    Bytes(Option<Vec<u8>>),
}

fn read(r: &AnyRow, col: &str, ty: Ty) -> anyhow::Result<Val> {
    let ctx = || format!("cannot read column {col}");
    Ok(match ty {
        I64 => Val::I64(Some(r.try_get::<i64, _>(col).with_context(ctx)?)),
        OptI64 => Val::I64(r.try_get::<Option<i64>, _>(col).with_context(ctx)?),
        Text => Val::Text(Some(r.try_get::<String, _>(col).with_context(ctx)?)),
        OptText => Val::Text(r.try_get::<Option<String>, _>(col).with_context(ctx)?),
        // SQLite hands booleans back as integers through the Any driver.
        Bool => Val::Bool(match r.try_get::<bool, _>(col) {
            Ok(b) => b,
            Err(_) => r.try_get::<i64, _>(col).with_context(ctx)? != 0,
        }),
        Bytes => Val::Bytes(Some(r.try_get::<Vec<u8>, _>(col).with_context(ctx)?)),
        OptBytes => Val::Bytes(r.try_get::<Option<Vec<u8>>, _>(col).with_context(ctx)?),
    })
}

/// Whether a SQLite URL names a file that is not there (opening it would create an empty one).
fn missing_sqlite_file(url: &str) -> Option<String> {
    if url.starts_with("postgres") {
        return None;
    }
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or_default();
    (path != ":memory:" && !std::path::Path::new(path).exists()).then(|| path.to_string())
}

/// Copies every table of `from` into `to` (migrated first), in one transaction on `to`.
/// Refuses ([`Refused`]) when the source is missing or not migrated by this build, or when
/// the target already holds data. `progress` is told each row copied.
pub async fn copy(
    from: &str,
    to: &str,
    progress: impl Fn(&'static str, u64, u64),
) -> anyhow::Result<CopyReport> {
    if from == to {
        return Err(Refused("FROM_URL and TO_URL are the same database".into()).into());
    }
    if let Some(p) = missing_sqlite_file(from) {
        return Err(Refused(format!("the source database {p} does not exist")).into());
    }
    let src = Store::connect(from, 2).await?;
    let r = copy_between(&src, from, to, progress).await;
    src.close().await;
    r
}

async fn copy_between(
    src: &Store,
    from: &str,
    to: &str,
    progress: impl Fn(&'static str, u64, u64),
) -> anyhow::Result<CopyReport> {
    // A source behind this build's schema has columns missing; one ahead has columns this
    // build does not know and would silently leave behind. Both are refused.
    if !src.is_migrated().await? {
        return Err(Refused(format!(
            "the source database {} is not fully migrated: run `tidings migrate` on it (with database.url = {}) with this version of tidings first",
            redact_url(from),
            redact_url(from)
        ))
        .into());
    }
    if src.has_unknown_migrations().await? {
        return Err(Refused(format!(
            "the source database {} has migrations this version of tidings does not know: use the tidings version that last ran on it",
            redact_url(from)
        ))
        .into());
    }
    let mut total = 0u64;
    for t in TABLES {
        total += count(src.pool(), t.name).await? as u64;
    }

    let dst = Store::connect(to, 2).await?;
    let r = async {
        dst.migrate().await?;
        // Settings are exempt: a target that was started once holds only its own freshly made
        // secret, which the source's replaces. Any other row means real data would be mixed.
        // Members first: the usual mistake (pointing at the live database) is named as such.
        let members = TABLES.iter().filter(|t| t.name == "members");
        let others = TABLES
            .iter()
            .filter(|t| t.name != "members" && t.name != "settings");
        for t in members.chain(others) {
            let n = count(dst.pool(), t.name).await?;
            if n > 0 {
                let what = if t.name == "members" {
                    "members".to_string()
                } else {
                    format!("rows in {}", t.name)
                };
                return Err(anyhow::Error::new(Refused(format!(
                    "the target database {} already has {what} ({n}); copy only into a new, empty database",
                    redact_url(to)
                ))));
            }
        }
        copy_rows(src, &dst, total, &progress).await
    }
    .await;
    dst.close().await;
    r
}

async fn count(pool: &sqlx::AnyPool, table: &str) -> anyhow::Result<i64> {
    sqlx::query(AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(pool)
        .await
        .and_then(|r| r.try_get::<i64, _>(0))
        .with_context(|| format!("cannot count the rows of {table}"))
}

async fn copy_rows(
    src: &Store,
    dst: &Store,
    total: u64,
    progress: &impl Fn(&'static str, u64, u64),
) -> anyhow::Result<CopyReport> {
    let mut report = CopyReport::default();
    let mut done = 0u64;
    // One transaction: a copy that fails half-way leaves the target as empty as it was.
    let mut tx = dst.pool().begin().await?;
    for t in TABLES {
        let cols: Vec<&str> = t.columns.iter().map(|(c, _)| *c).collect();
        let list = cols.join(", ");
        let params: Vec<String> = (1..=cols.len()).map(|i| format!("${i}")).collect();
        let insert = if t.name == "settings" {
            format!(
                "INSERT INTO settings ({list}) VALUES ({}) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params.join(", ")
            )
        } else {
            format!(
                "INSERT INTO {} ({list}) VALUES ({})",
                t.name,
                params.join(", ")
            )
        };
        let select = format!(
            "SELECT {list} FROM {} ORDER BY {} LIMIT $1 OFFSET $2",
            t.name, t.order_by
        );
        let mut copied = 0u64;
        loop {
            let rows = sqlx::query(AssertSqlSafe(select.clone()))
                .bind(PAGE)
                .bind(copied as i64)
                .fetch_all(src.pool())
                .await
                .with_context(|| format!("cannot read {}", t.name))?;
            for r in &rows {
                let mut q = sqlx::query(AssertSqlSafe(insert.clone()));
                for (c, ty) in t.columns {
                    q = match read(r, c, *ty).with_context(|| format!("in {}", t.name))? {
                        Val::I64(v) => q.bind(v),
                        Val::Text(v) => q.bind(v),
                        Val::Bool(v) => q.bind(v),
                        Val::Bytes(v) => q.bind(v),
                    };
                }
                q.execute(&mut *tx)
                    .await
                    .with_context(|| format!("cannot insert into {}", t.name))?;
                copied += 1;
                done += 1;
                progress(t.name, done, total);
            }
            if (rows.len() as i64) < PAGE {
                break;
            }
        }
        report.tables.push((t.name, copied));
    }
    if dst.backend() == Backend::Postgres {
        // Rows came with their ids, which does not move a BIGSERIAL's sequence: without this
        // the next insert would take id 1 and collide.
        for t in TABLES.iter().filter(|t| t.serial_id) {
            sqlx::query(AssertSqlSafe(format!(
                "SELECT setval(pg_get_serial_sequence('{0}', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM {0}",
                t.name
            )))
            .fetch_one(&mut *tx)
            .await
            .with_context(|| format!("cannot reset the id sequence of {}", t.name))?;
        }
    }
    tx.commit().await.context("cannot commit the copy")?;
    Ok(report)
}

pub(super) async fn db_copy(from: &str, to: &str) -> anyhow::Result<()> {
    let bar = std::cell::OnceCell::new();
    let r = crate::cli::dbcopy::copy(from, to, |table, done, total| {
        let b = bar.get_or_init(|| progress_bar(total, "copying"));
        b.set_message(table);
        b.set_position(done);
    })
    .await;
    if let Some(b) = bar.get() {
        b.finish_and_clear();
    }
    let report = r.map_err(|e| match e.downcast::<crate::cli::dbcopy::Refused>() {
        Ok(refused) => usage(refused.0),
        Err(e) => e,
    })?;
    for (table, n) in &report.tables {
        crate::outln!("{table:<18} {n:>8}");
    }
    crate::outln!(
        "copied {} rows from {} to {}",
        report.total(),
        crate::domain::redact_url(from),
        crate::domain::redact_url(to)
    );
    crate::outln!("next: set database.url to the new database and start `tidings serve`");
    Ok(())
}
