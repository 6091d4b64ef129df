//! All SQL lives here: one concrete [`Store`] over an sqlx `AnyPool`, SQLite (embedded default)
//! or PostgreSQL (several instances). Portable SQL with `$n` placeholders; times are unix seconds,
//! local dates `YYYY-MM-DD` text. One file per table or aggregate: `members`, `teams`,
//! `schedule` (planned instants), `tokens`, `outbox`, `inbound`, `updates`. Rows of plain columns
//! are `#[derive(sqlx::FromRow)]`; a row whose stored text becomes a domain type (a member's time
//! zone and times, an update's local date) has one hand-written mapper that reports a stored
//! value that no longer parses.
//!
//! Idempotency is by unique keys (`ON CONFLICT DO NOTHING` + `rows_affected`), never by caching.

pub mod activity;
mod blockers;
mod calendar_days;
pub mod calendars;
pub mod chat;
mod checkins;
mod comments;
mod digest_reads;
mod events;
mod fetched;
mod inbound;
mod log;
mod members;
mod mentions;
mod outbox;
mod schedule;
mod sessions;
mod team_updates;
mod teams;
mod tokens;
mod updates;
pub mod webhooks;

pub use blockers::TeamEscalation;
pub use calendar_days::ranges_of;
pub use checkins::{CheckinDue, STANDUP_NAME};
pub use comments::PendingComment;
pub use digest_reads::{DigestKey, DigestScope, Revision, UpdateContent};
pub use inbound::{InboundRow, InboundStatus, QuarantineItem};
pub use log::{Cursor, LogEntry, LogPage, LogQuery, MAX_PAGE, fts5_query};
pub use members::{MemberChange, MemberDefaults};
pub use mentions::PendingMention;
pub use outbox::{Claim, NewEmail, OutboxRow, OutboxState, Outcome};
pub use schedule::{Due, DueKind, NextInstant};
pub(crate) use schedule::{commit_with_moves, set_reminder_on};
pub use team_updates::TeamUpdate;
pub use tokens::ApiTokenRow;
pub use updates::{
    IDEMPOTENCY_TTL_SECS, Idempotent, MAX_UPDATE_BYTES, MAX_UPDATE_REVISIONS, QueuedDigest,
    QueuedRequest, UpdateKey, UpdateRow, UpsertOutcome,
};

use std::time::Duration;

use anyhow::Context;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor, Row};

/// Which database engine is behind the pool (some statements differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Errors a caller branches on; everything else is `Other`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotFound(String),
    /// A limit is reached (a day's update is full).
    #[error("{0}")]
    Limit(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Other(e.into())
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The database. Cheap to clone (a pool handle).
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// `web.base_url`, for the links in webhook payloads (`None`: payloads carry no links).
    web_base: Option<std::sync::Arc<str>>,
}

pub fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

impl Store {
    /// Opens (creating a SQLite file and its folder when needed) and configures the pool.
    pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        };
        let mut url = url.to_string();
        if backend == Backend::Sqlite {
            let path = url
                .trim_start_matches("sqlite://")
                .trim_start_matches("sqlite:");
            let path = path.split('?').next().unwrap_or_default().to_string();
            if path != ":memory:"
                && !path.is_empty()
                && let Some(dir) = std::path::Path::new(&path).parent()
                && !dir.as_os_str().is_empty()
            {
                std::fs::create_dir_all(dir).with_context(|| {
                    format!("cannot create the database folder {}", dir.display())
                })?;
            }
            if !url.contains("mode=") {
                url.push_str(if url.contains('?') {
                    "&mode=rwc"
                } else {
                    "?mode=rwc"
                });
            }
        }
        // The pool retries failed connects until its timeout and then reports only "timed
        // out"; one direct attempt first surfaces the real reason (a full disk, a read-only
        // file, a corrupt database, PostgreSQL not running, a wrong password) at once.
        let why = || match backend {
            Backend::Sqlite => format!(
                "cannot open the database {} (check that its disk has free space and the file and its folder are writable)",
                crate::domain::redact_url(&url)
            ),
            Backend::Postgres => format!(
                "cannot connect to the database {} (check that PostgreSQL runs and accepts connections there, and database.url's user, password and database name)",
                crate::domain::redact_url(&url)
            ),
        };
        let probe = tokio::time::timeout(
            Duration::from_secs(10),
            <sqlx::AnyConnection as sqlx::Connection>::connect(&url),
        )
        .await
        .map_err(|_| anyhow::anyhow!("no answer within 10 s"))
        .with_context(why)?;
        let mut probe = probe.with_context(why)?;
        if backend == Backend::Sqlite {
            sqlite_pragmas(&mut probe).await.with_context(why)?;
        }
        let _ = sqlx::Connection::close(probe).await;
        let opts = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(30));
        let opts = if backend == Backend::Sqlite {
            opts.after_connect(|conn, _| Box::pin(async move { sqlite_pragmas(conn).await }))
        } else {
            opts
        };
        let pool = opts.connect(&url).await.with_context(|| {
            format!(
                "cannot open the database {}",
                crate::domain::redact_url(&url)
            )
        })?;
        Ok(Store {
            pool,
            backend,
            web_base: None,
        })
    }

    /// This store with `base` (`web.base_url`) as the root of the links webhook payloads carry.
    pub fn with_web_base(mut self, base: &str) -> Store {
        self.web_base = Some(base.trim_end_matches('/').into());
        self
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A transaction that will write. On SQLite it takes the write lock at once (`BEGIN
    /// IMMEDIATE`, waiting up to the busy timeout): a plain `BEGIN` that reads first and
    /// writes later fails at once with "database is locked" (SQLITE_BUSY_SNAPSHOT) when
    /// another connection wrote in between, which concurrent API requests do.
    pub(crate) async fn write_tx(&self) -> StoreResult<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Applies the migrations of this backend (idempotent).
    pub async fn migrate(&self) -> anyhow::Result<()> {
        self.migrator()
            .run(&self.pool)
            .await
            .context("cannot apply the database migrations")
    }

    /// The migrations of this build not yet applied, oldest first: (version, description).
    pub async fn pending_migrations(&self) -> anyhow::Result<Vec<(i64, String)>> {
        let migrator = self.migrator();
        // A new database: no table yet, everything is pending.
        let applied = self.applied_migrations().await.unwrap_or_default();
        Ok(migrator
            .iter()
            .filter(|m| !m.migration_type.is_down_migration() && !applied.contains(&m.version))
            .map(|m| (m.version, m.description.to_string()))
            .collect())
    }

    /// Applies the migrations of this backend up to and including `version`.
    pub async fn migrate_to(&self, version: i64) -> anyhow::Result<()> {
        self.migrator()
            .run_to(version, &self.pool)
            .await
            .with_context(|| format!("cannot apply database migration {version}"))
    }

    fn migrator(&self) -> sqlx::migrate::Migrator {
        match self.backend {
            Backend::Sqlite => sqlx::migrate!("migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("migrations/postgres"),
        }
    }

    /// Whether every migration of this build is applied.
    pub async fn is_migrated(&self) -> anyhow::Result<bool> {
        let Some(applied) = self.applied_migrations().await else {
            return Ok(false);
        };
        Ok(self.migrator().iter().all(|m| applied.contains(&m.version)))
    }

    /// The versions of the migrations applied successfully; `None` when the database has no
    /// migrations table (never migrated) or cannot be read.
    async fn applied_migrations(&self) -> Option<Vec<i64>> {
        let rows = sqlx::query("SELECT version FROM _sqlx_migrations WHERE success = TRUE")
            .fetch_all(&self.pool)
            .await
            .ok()?;
        Some(
            rows.iter()
                .filter_map(|r| r.try_get::<i64, _>(0).ok())
                .collect(),
        )
    }

    /// Whether the database has applied migrations this build does not know (it was last run
    /// by a newer tidings).
    pub async fn has_unknown_migrations(&self) -> anyhow::Result<bool> {
        let migrator = self.migrator();
        let rows = sqlx::query("SELECT version FROM _sqlx_migrations")
            .fetch_all(&self.pool)
            .await
            .context("cannot read the applied migrations")?;
        Ok(rows
            .iter()
            .filter_map(|r| r.try_get::<i64, _>(0).ok())
            .any(|v| !migrator.iter().any(|m| m.version == v)))
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    // ------------------------------------------------------------------ settings

    pub async fn setting(&self, key: &str) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get::<String, _>(0)).transpose()?)
    }

    /// Stores `value` unless the key exists; returns the stored value (first writer wins, so
    /// several instances starting together agree on one secret).
    pub async fn setting_or_insert(&self, key: &str, value: &str) -> StoreResult<String> {
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await?;
        self.setting(key)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("setting {key}")))
    }
}

/// SQLite hands booleans back as integers through the Any driver; accept both.
pub(super) fn get_bool(r: &AnyRow, col: &str) -> StoreResult<bool> {
    match r.try_get::<bool, _>(col) {
        Ok(b) => Ok(b),
        Err(_) => Ok(r.try_get::<i64, _>(col)? != 0),
    }
}

pub(super) type Tx<'a> = sqlx::Transaction<'a, sqlx::Any>;

/// `$first, $first+1, …` for `n` bound values in an `IN (…)` list.
pub(crate) fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Ids written into SQL as a list (`3, 5, 8`): integers only, so nothing to bind or escape,
/// and a plan the database can see (an `IN` over a list, not a subquery).
pub(crate) fn id_list(ids: &[i64]) -> String {
    ids.iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Per-connection SQLite settings. WAL lets the web server read while the scheduler writes; the
/// busy timeout makes concurrent writers wait instead of failing with SQLITE_BUSY.
async fn sqlite_pragmas(conn: &mut sqlx::AnyConnection) -> Result<(), sqlx::Error> {
    conn.execute("PRAGMA journal_mode = WAL").await?;
    conn.execute("PRAGMA foreign_keys = ON").await?;
    conn.execute("PRAGMA busy_timeout = 10000").await?;
    conn.execute("PRAGMA synchronous = NORMAL").await?;
    Ok(())
}
