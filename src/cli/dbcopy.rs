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

/// How a column is read from the source and bound on the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    I64,
    OptI64,
    Text,
    OptText,
    /// INTEGER 0/1 on SQLite, BOOLEAN on PostgreSQL.
    Bool,
    /// BLOB on SQLite, BYTEA on PostgreSQL.
    Bytes,
}

/// One table to copy.
#[derive(Debug, Clone, Copy)]
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [(&'static str, Ty)],
    /// The primary key, to read in a stable order.
    pub order_by: &'static str,
    /// Whether `id` is a serial column whose PostgreSQL sequence must follow the copied ids.
    pub serial_id: bool,
}

use Ty::*;

/// Every table of the schema, parents before children (foreign keys hold at every insert).
pub const TABLES: &[Table] = &[
    Table {
        name: "settings",
        columns: &[("key", Text), ("value", Text)],
        order_by: "key",
        serial_id: false,
    },
    Table {
        name: "teams",
        columns: &[
            ("id", I64),
            ("name", Text),
            ("questions", OptText),
            ("created_at", I64),
            ("escalate_after", I64),
        ],
        order_by: "id",
        serial_id: true,
    },
    Table {
        name: "checkins",
        columns: &[
            ("id", I64),
            ("team_id", I64),
            ("name", Text),
            ("standup", Bool),
            ("questions", Text),
            ("rhythm", Text),
            ("at", OptText),
            ("tz", OptText),
            ("who", Text),
            ("goes_to", Text),
            ("created_at", I64),
        ],
        order_by: "id",
        serial_id: true,
    },
    Table {
        name: "members",
        columns: &[
            ("id", I64),
            ("email", Text),
            ("name", Text),
            ("timezone", Text),
            ("request_at", Text),
            ("digest_at", Text),
            ("workdays", I64),
            ("paused", Bool),
            ("unsubscribed", Bool),
            ("bounces", I64),
            ("next_request_at", OptI64),
            ("next_request_date", OptText),
            ("next_digest_at", OptI64),
            ("next_digest_date", OptText),
            ("created_at", I64),
            ("updated_at", I64),
            ("next_reminder_at", OptI64),
            ("next_reminder_date", OptText),
            ("feed_epoch", I64),
            ("cadence", Text),
            ("observer", Bool),
            ("comments_delivery", Text),
            ("mentions_delivery", Text),
            ("digest_shape", Text),
        ],
        order_by: "id",
        serial_id: true,
    },
    Table {
        name: "team_leads",
        columns: &[("team_id", I64), ("member_id", I64)],
        order_by: "team_id, member_id",
        serial_id: false,
    },
    Table {
        name: "team_members",
        columns: &[("team_id", I64), ("member_id", I64)],
        order_by: "team_id, member_id",
        serial_id: false,
    },
    Table {
        name: "member_aliases",
        columns: &[("email", Text), ("member_id", I64)],
        order_by: "email",
        serial_id: false,
    },
    Table {
        name: "away_ranges",
        columns: &[
            ("id", I64),
            ("member_id", I64),
            ("from_date", Text),
            ("to_date", Text),
        ],
        order_by: "id",
        serial_id: true,
    },
    Table {
        name: "checkin_plans",
        columns: &[
            ("checkin_id", I64),
            ("member_id", I64),
            ("next_at", OptI64),
            ("next_date", OptText),
            ("reminder_at", OptI64),
            ("reminder_date", OptText),
        ],
        order_by: "checkin_id, member_id",
        serial_id: false,
    },
    Table {
        name: "holidays",
        columns: &[("team_id", I64), ("date", Text)],
        order_by: "team_id, date",
        serial_id: false,
    },
    Table {
        name: "updates",
        columns: &[
            ("id", I64),
            ("member_id", I64),
            ("local_date", Text),
            ("body", Text),
            ("source", Text),
            ("revision", I64),
            ("message_id", OptText),
            ("created_at", I64),
            ("updated_at", I64),
            ("sections", OptText),
            ("blocker_resolved_at", OptI64),
            ("checkin", I64),
        ],
        order_by: "id",
        serial_id: true,
    },
    Table {
        name: "checkin_scores",
        columns: &[("update_id", I64), ("question", I64), ("value", I64)],
        order_by: "update_id, question",
        serial_id: false,
    },
    Table {
        name: "mentions",
        columns: &[
            ("update_id", I64),
            ("member_id", I64),
            ("created_at", I64),
            ("delivered_at", OptI64),
        ],
        order_by: "update_id, member_id",
        serial_id: false,
    },
    Table {
        name: "comments",
        columns: &[
            ("id", I64),
            ("update_id", I64),
            ("author_id", I64),
            ("body", Text),
            ("message_id", Text),
            ("created_at", I64),
        ],
        order_by: "id",
        serial_id: true,
    },
    Table {
        name: "comment_deliveries",
        columns: &[
            ("comment_id", I64),
            ("member_id", I64),
            ("delivered_at", OptI64),
        ],
        order_by: "comment_id, member_id",
        serial_id: false,
    },
    Table {
        name: "reactions",
        columns: &[
            ("update_id", I64),
            ("member_id", I64),
            ("reaction", Text),
            ("created_at", I64),
        ],
        order_by: "update_id, member_id, reaction",
        serial_id: false,
    },
    Table {
        name: "update_revisions",
        columns: &[
            ("update_id", I64),
            ("revision", I64),
            ("body", Text),
            ("sections", OptText),
            ("message_id", OptText),
            ("created_at", I64),
        ],
        order_by: "update_id, revision",
        serial_id: false,
    },
    Table {
        name: "inbound_messages",
        columns: &[
            ("id", I64),
            ("message_id", Text),
            ("raw", Bytes),
            ("source", Text),
            ("status", Text),
            ("reason", OptText),
            ("sender", OptText),
            ("member_id", OptI64),
            ("update_id", OptI64),
            ("received_at", I64),
            ("processed_at", OptI64),
            ("lease_until", OptI64),
        ],
        order_by: "id",
        serial_id: true,
    },
    Table {
        name: "outbox",
        columns: &[
            ("id", I64),
            ("idem_key", Text),
            ("kind", Text),
            ("member_id", OptI64),
            ("local_date", OptText),
            ("recipient", Text),
            ("message_id", Text),
            ("subject", Text),
            ("state", Text),
            ("attempts", I64),
            ("next_attempt_at", I64),
            ("lease_until", OptI64),
            ("last_error", OptText),
            ("created_at", I64),
            ("sent_at", OptI64),
            ("manifest", OptText),
            ("checkin", OptI64),
        ],
        order_by: "id",
        serial_id: true,
    },
    Table {
        name: "outbox_bodies",
        columns: &[("outbox_id", I64), ("body", Bytes)],
        order_by: "outbox_id",
        serial_id: false,
    },
    Table {
        name: "digest_deliveries",
        columns: &[
            ("reader_id", I64),
            ("update_id", I64),
            ("revision", I64),
            ("outbox_id", I64),
        ],
        order_by: "reader_id, update_id, revision",
        serial_id: false,
    },
    Table {
        name: "api_tokens",
        columns: &[
            ("id", I64),
            ("member_id", I64),
            ("hash", Text),
            ("created_at", I64),
            ("revoked_at", OptI64),
        ],
        order_by: "id",
        serial_id: true,
    },
    Table {
        name: "member_sessions",
        columns: &[
            ("id", I64),
            ("hash", Text),
            ("member_id", I64),
            ("created_at", I64),
            ("expires_at", I64),
            ("revoked_at", OptI64),
        ],
        order_by: "id",
        serial_id: true,
    },
    Table {
        name: "signin_links",
        columns: &[
            ("hash", Text),
            ("member_id", I64),
            ("created_at", I64),
            ("expires_at", I64),
            ("used_at", OptI64),
        ],
        order_by: "hash",
        serial_id: false,
    },
    Table {
        name: "api_idempotency",
        columns: &[
            ("token_id", I64),
            ("key", Text),
            ("response", Text),
            ("created_at", I64),
        ],
        order_by: "token_id, key",
        serial_id: false,
    },
    Table {
        name: "mailbox_state",
        columns: &[("mailbox", Text), ("uidvalidity", I64), ("last_uid", I64)],
        order_by: "mailbox",
        serial_id: false,
    },
];

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
    Bytes(Vec<u8>),
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
        Bytes => Val::Bytes(r.try_get::<Vec<u8>, _>(col).with_context(ctx)?),
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
