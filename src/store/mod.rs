//! All SQL lives here: one concrete [`Store`] over an sqlx `AnyPool`, SQLite (embedded default)
//! or PostgreSQL (several instances). Portable SQL with `$n` placeholders; times are unix seconds,
//! local dates `YYYY-MM-DD` text. Rows become domain types in one place ([`member_from_row`]).
//!
//! Idempotency is by unique keys (`ON CONFLICT DO NOTHING` + `rows_affected`), never by caching.

pub mod api;
mod inbound;
mod outbox;
mod updates;

pub use inbound::{InboundRow, InboundStatus, QuarantineItem};
pub use outbox::{NewEmail, OutboxRow, OutboxState};
pub use updates::{DigestItem, QueuedDigest, QueuedRequest, UpdateRow, UpsertOutcome};

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use chrono::NaiveDate;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, AssertSqlSafe, Executor, Row};

use crate::domain::schedule::parse_tz;
use crate::domain::{AwayRange, EmailAddress, LocalTime, Member, MemberId, Workdays};

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
}

/// Preferences of a new or changed member; `None` fields keep their value (or take defaults).
#[derive(Debug, Clone, Default)]
pub struct MemberChange {
    pub name: Option<String>,
    pub tz: Option<chrono_tz::Tz>,
    pub request_at: Option<LocalTime>,
    pub digest_at: Option<LocalTime>,
    pub workdays: Option<Workdays>,
    pub paused: Option<bool>,
    pub unsubscribed: Option<bool>,
    /// Replaces the member's away ranges when set.
    pub away: Option<Vec<AwayRange>>,
    /// Replaces the member's teams when set (teams are created when missing).
    pub teams: Option<Vec<String>>,
}

/// A member due for a request or digest, with the local date it is due for.
#[derive(Debug, Clone)]
pub struct Due {
    pub member: Member,
    pub at: i64,
    pub date: NaiveDate,
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
                crate::config::redact_url(&url)
            ),
            Backend::Postgres => format!(
                "cannot connect to the database {} (check that PostgreSQL runs and accepts connections there, and database.url's user, password and database name)",
                crate::config::redact_url(&url)
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
                crate::config::redact_url(&url)
            )
        })?;
        Ok(Store { pool, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Applies the migrations of this backend (idempotent).
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match self.backend {
            Backend::Sqlite => sqlx::migrate!("migrations/sqlite").run(&self.pool).await,
            Backend::Postgres => sqlx::migrate!("migrations/postgres").run(&self.pool).await,
        }
        .context("cannot apply the database migrations")
    }

    /// Whether every migration of this build is applied.
    pub async fn is_migrated(&self) -> anyhow::Result<bool> {
        let migrator = match self.backend {
            Backend::Sqlite => sqlx::migrate!("migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("migrations/postgres"),
        };
        let applied: Vec<i64> =
            match sqlx::query("SELECT version FROM _sqlx_migrations WHERE success = TRUE")
                .fetch_all(&self.pool)
                .await
            {
                Ok(rows) => rows
                    .iter()
                    .filter_map(|r| r.try_get::<i64, _>(0).ok())
                    .collect(),
                Err(_) => return Ok(false),
            };
        Ok(migrator.iter().all(|m| applied.contains(&m.version)))
    }

    /// Whether the database has applied migrations this build does not know (it was last run
    /// by a newer tidings).
    pub async fn has_unknown_migrations(&self) -> anyhow::Result<bool> {
        let migrator = match self.backend {
            Backend::Sqlite => sqlx::migrate!("migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("migrations/postgres"),
        };
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

    // ------------------------------------------------------------------ teams

    pub async fn add_team(&self, name: &str) -> StoreResult<i64> {
        let r = sqlx::query(
            "INSERT INTO teams (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(now_unix())
        .execute(&self.pool)
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!(
                "team {name:?} already exists"
            )));
        }
        self.team_id(name)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("team {name:?}")))
    }

    /// Sets the questions a team's update requests ask; `None` goes back to
    /// `schedule.questions`. Stored as a JSON array in `teams.questions`.
    pub async fn set_team_questions(
        &self,
        name: &str,
        questions: Option<&[String]>,
    ) -> StoreResult<()> {
        let json = questions
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| StoreError::Other(e.into()))?;
        let r = sqlx::query("UPDATE teams SET questions = $1 WHERE name = $2")
            .bind(json)
            .bind(name)
            .execute(&self.pool)
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("no team named {name:?}")));
        }
        Ok(())
    }

    /// The questions of a team, `None` when it uses the configured default.
    pub async fn team_questions(&self, name: &str) -> StoreResult<Option<Vec<String>>> {
        let row = sqlx::query("SELECT questions FROM teams WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(r) => parse_questions(r.try_get::<Option<String>, _>(0)?),
            None => Err(StoreError::NotFound(format!("no team named {name:?}"))),
        }
    }

    /// The questions a member is asked: those of the first of their teams (by name) that has
    /// its own; `None` when no team of theirs has any (the configured default applies).
    pub async fn questions_for_member(&self, member: MemberId) -> StoreResult<Option<Vec<String>>> {
        let row = sqlx::query(
            "SELECT t.questions FROM teams t JOIN team_members tm ON tm.team_id = t.id
             WHERE tm.member_id = $1 AND t.questions IS NOT NULL ORDER BY t.name LIMIT 1",
        )
        .bind(member)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(r) => parse_questions(r.try_get::<Option<String>, _>(0)?),
            None => Ok(None),
        }
    }

    pub async fn team_id(&self, name: &str) -> StoreResult<Option<i64>> {
        let row = sqlx::query("SELECT id FROM teams WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get::<i64, _>(0)).transpose()?)
    }

    /// Teams with their member counts, by name.
    pub async fn list_teams(&self) -> StoreResult<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT t.name, (SELECT COUNT(*) FROM team_members tm WHERE tm.team_id = t.id) FROM teams t ORDER BY t.name",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get::<String, _>(0)?, r.try_get::<i64, _>(1)?)))
            .collect()
    }

    pub async fn add_holiday(&self, team: &str, date: NaiveDate) -> StoreResult<()> {
        let id = self
            .team_id(team)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no team named {team:?}")))?;
        sqlx::query("INSERT INTO holidays (team_id, date) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(id)
            .bind(date.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Whether `date` is a holiday in every team of the member (a member in no team has none).
    pub async fn is_holiday(&self, member: MemberId, date: NaiveDate) -> StoreResult<bool> {
        let row = sqlx::query(
            "SELECT COUNT(*), SUM(CASE WHEN EXISTS (SELECT 1 FROM holidays h WHERE h.team_id = tm.team_id AND h.date = $2) THEN 1 ELSE 0 END)
             FROM team_members tm WHERE tm.member_id = $1",
        )
        .bind(member)
        .bind(date.to_string())
        .fetch_one(&self.pool)
        .await?;
        let total: i64 = row.try_get(0)?;
        let hol: Option<i64> = row.try_get(1)?;
        Ok(total > 0 && hol.unwrap_or(0) == total)
    }

    // ------------------------------------------------------------------ members

    /// Adds a member; a duplicate email (or alias) is a `Conflict`.
    pub async fn add_member(
        &self,
        email: &EmailAddress,
        ch: &MemberChange,
        defaults: &MemberDefaults,
    ) -> StoreResult<MemberId> {
        let mut tx = self.pool.begin().await?;
        let id = add_member_tx(&mut tx, email, ch, defaults).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Adds many members in one transaction: all or nothing. Errors carry the 1-based index.
    pub async fn add_members(
        &self,
        members: &[(EmailAddress, MemberChange)],
        defaults: &MemberDefaults,
        progress: &dyn Fn(usize),
    ) -> Result<usize, (usize, StoreError)> {
        let mut tx = self.pool.begin().await.map_err(|e| (0, e.into()))?;
        for (i, (email, ch)) in members.iter().enumerate() {
            add_member_tx(&mut tx, email, ch, defaults)
                .await
                .map_err(|e| (i + 1, e))?;
            progress(i + 1);
        }
        tx.commit().await.map_err(|e| (0, e.into()))?;
        Ok(members.len())
    }

    /// Applies a change to an existing member and clears their planned instants so the planner
    /// recomputes them at once.
    pub async fn update_member(
        &self,
        email: &EmailAddress,
        ch: &MemberChange,
    ) -> StoreResult<Member> {
        let m = self
            .member_by_email(email)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no member with email {email}")))?;
        let mut tx = self.pool.begin().await?;
        let name = ch.name.clone().unwrap_or(m.name.clone());
        let tz = ch.tz.unwrap_or(m.tz);
        let request_at = ch.request_at.unwrap_or(m.request_at);
        let digest_at = ch.digest_at.unwrap_or(m.digest_at);
        let workdays = ch.workdays.unwrap_or(m.workdays);
        let paused = ch.paused.unwrap_or(m.paused);
        let unsubscribed = ch.unsubscribed.unwrap_or(m.unsubscribed);
        // Resuming is how a bouncing address is declared fixed: the count starts again.
        let bounces = if ch.paused == Some(false) {
            0
        } else {
            m.bounces
        };
        sqlx::query(
            "UPDATE members SET name = $1, timezone = $2, request_at = $3, digest_at = $4, workdays = $5, paused = $6,
             unsubscribed = $7, bounces = $10, next_request_at = NULL, next_request_date = NULL, next_digest_at = NULL,
             next_digest_date = NULL, updated_at = $8 WHERE id = $9",
        )
        .bind(name)
        .bind(tz.name())
        .bind(request_at.to_string())
        .bind(digest_at.to_string())
        .bind(workdays.bits() as i64)
        .bind(paused)
        .bind(unsubscribed)
        .bind(now_unix())
        .bind(m.id)
        .bind(bounces)
        .execute(&mut *tx)
        .await?;
        if let Some(away) = &ch.away {
            sqlx::query("DELETE FROM away_ranges WHERE member_id = $1")
                .bind(m.id)
                .execute(&mut *tx)
                .await?;
            for a in away {
                insert_away(&mut tx, m.id, a).await?;
            }
        }
        if let Some(teams) = &ch.teams {
            sqlx::query("DELETE FROM team_members WHERE member_id = $1")
                .bind(m.id)
                .execute(&mut *tx)
                .await?;
            for t in teams {
                join_team(&mut tx, m.id, t).await?;
            }
        }
        tx.commit().await?;
        self.member_by_id(m.id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("member {email}")))
    }

    /// Counts one hard bounce for a member; once `threshold` is reached their mail is paused.
    /// Returns the new count and whether this bounce paused them.
    pub async fn record_hard_bounce(
        &self,
        member: MemberId,
        threshold: i64,
        now: i64,
    ) -> StoreResult<(i64, bool)> {
        let r = sqlx::query(
            "UPDATE members SET bounces = bounces + 1, updated_at = $1 WHERE id = $2 RETURNING bounces",
        )
        .bind(now)
        .bind(member)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = r else {
            return Ok((0, false));
        };
        let count: i64 = r.try_get(0)?;
        if count < threshold {
            return Ok((count, false));
        }
        // Only the bounce that crosses the threshold flips `paused` (and says so).
        let r = sqlx::query(
            "UPDATE members SET paused = $1, updated_at = $2 WHERE id = $3 AND paused = $4",
        )
        .bind(true)
        .bind(now)
        .bind(member)
        .bind(false)
        .execute(&self.pool)
        .await?;
        Ok((count, r.rows_affected() == 1))
    }

    /// Adds an away range unless one already covers it (an out-of-office reply read twice).
    pub async fn add_away(&self, member: MemberId, a: &AwayRange) -> StoreResult<bool> {
        let covered = sqlx::query(
            "SELECT 1 FROM away_ranges WHERE member_id = $1 AND from_date <= $2 AND to_date >= $3",
        )
        .bind(member)
        .bind(a.from.to_string())
        .bind(a.to.to_string())
        .fetch_optional(&self.pool)
        .await?;
        if covered.is_some() {
            return Ok(false);
        }
        let mut tx = self.pool.begin().await?;
        insert_away(&mut tx, member, a).await?;
        // Replan: the next request or digest may fall inside the new range.
        sqlx::query(
            "UPDATE members SET next_request_at = NULL, next_request_date = NULL, next_digest_at = NULL,
             next_digest_date = NULL WHERE id = $1",
        )
        .bind(member)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn add_alias(&self, member: MemberId, alias: &EmailAddress) -> StoreResult<()> {
        let r = sqlx::query(
            "INSERT INTO member_aliases (email, member_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(alias.as_str())
        .bind(member)
        .execute(&self.pool)
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!(
                "alias {alias} is already in use"
            )));
        }
        Ok(())
    }

    pub async fn remove_member(&self, email: &EmailAddress) -> StoreResult<()> {
        let r = sqlx::query("DELETE FROM members WHERE email = $1")
            .bind(email.as_str())
            .execute(&self.pool)
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!(
                "no member with email {email}"
            )));
        }
        Ok(())
    }

    pub async fn list_members(&self) -> StoreResult<Vec<Member>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {MEMBER_COLS} FROM members ORDER BY email"
        )))
        .fetch_all(&self.pool)
        .await?;
        self.hydrate(rows).await
    }

    pub async fn member_by_email(&self, email: &EmailAddress) -> StoreResult<Option<Member>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {MEMBER_COLS} FROM members WHERE email = $1
             OR id IN (SELECT member_id FROM member_aliases WHERE email = $1)"
        )))
        .bind(email.as_str())
        .fetch_all(&self.pool)
        .await?;
        Ok(self.hydrate(rows).await?.into_iter().next())
    }

    pub async fn member_by_id(&self, id: MemberId) -> StoreResult<Option<Member>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {MEMBER_COLS} FROM members WHERE id = $1"
        )))
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        Ok(self.hydrate(rows).await?.into_iter().next())
    }

    /// Everyone in any of the named teams, by name (teams, aliases and away ranges attached).
    pub async fn members_in_teams(&self, teams: &[String]) -> StoreResult<Vec<Member>> {
        if teams.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {MEMBER_COLS} FROM members WHERE id IN (
                SELECT tm.member_id FROM team_members tm JOIN teams t ON t.id = tm.team_id
                WHERE t.name IN ({})) ORDER BY name",
            placeholders(1, teams.len())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for t in teams {
            q = q.bind(t);
        }
        let rows = q.fetch_all(&self.pool).await?;
        self.hydrate(rows).await
    }

    /// Attaches teams, aliases and away ranges to member rows (three queries for any number).
    async fn hydrate(&self, rows: Vec<AnyRow>) -> StoreResult<Vec<Member>> {
        let mut members = rows
            .iter()
            .map(member_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        if members.is_empty() {
            return Ok(members);
        }
        let ids: Vec<String> = members.iter().map(|m| m.id.to_string()).collect();
        let list = ids.join(",");
        let mut teams: HashMap<i64, Vec<String>> = HashMap::new();
        for r in sqlx::query(AssertSqlSafe(format!(
            "SELECT tm.member_id, t.name FROM team_members tm JOIN teams t ON t.id = tm.team_id WHERE tm.member_id IN ({list}) ORDER BY t.name"
        )))
        .fetch_all(&self.pool)
        .await?
        {
            teams.entry(r.try_get(0)?).or_default().push(r.try_get(1)?);
        }
        let mut aliases: HashMap<i64, Vec<EmailAddress>> = HashMap::new();
        for r in sqlx::query(AssertSqlSafe(format!(
            "SELECT member_id, email FROM member_aliases WHERE member_id IN ({list}) ORDER BY email"
        )))
        .fetch_all(&self.pool)
        .await?
        {
            let e: String = r.try_get(1)?;
            if let Ok(e) = EmailAddress::parse(&e) {
                aliases.entry(r.try_get(0)?).or_default().push(e);
            }
        }
        let mut away: HashMap<i64, Vec<AwayRange>> = HashMap::new();
        for r in sqlx::query(AssertSqlSafe(format!(
            "SELECT member_id, from_date, to_date FROM away_ranges WHERE member_id IN ({list}) ORDER BY from_date"
        )))
        .fetch_all(&self.pool)
        .await?
        {
            let (f, t): (String, String) = (r.try_get(1)?, r.try_get(2)?);
            if let (Ok(from), Ok(to)) = (NaiveDate::from_str(&f), NaiveDate::from_str(&t)) {
                away.entry(r.try_get(0)?).or_default().push(AwayRange { from, to });
            }
        }
        for m in &mut members {
            m.teams = teams.remove(&m.id).unwrap_or_default();
            m.aliases = aliases.remove(&m.id).unwrap_or_default();
            m.away = away.remove(&m.id).unwrap_or_default();
        }
        Ok(members)
    }

    // ------------------------------------------------------------------ planning

    /// Members with no planned instants (new or just changed): the planner fills them in.
    pub async fn unplanned_members(&self, limit: i64) -> StoreResult<Vec<Member>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {MEMBER_COLS} FROM members WHERE next_request_at IS NULL OR next_digest_at IS NULL ORDER BY id LIMIT $1"
        )))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        self.hydrate(rows).await
    }

    /// Members whose next request (or digest) instant is at or before `now`: an index range scan,
    /// so the cost follows the work due, not the number of members. Ties are broken by id, so
    /// concurrent planners see the same order and, writing a batch per transaction, take their
    /// locks in the same order (no deadlock between instances on PostgreSQL).
    pub async fn due(&self, kind: DueKind, now: i64, limit: i64) -> StoreResult<Vec<Due>> {
        let (at, date) = kind.columns();
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {MEMBER_COLS}, {at}, {date} FROM members WHERE {at} <= $1 ORDER BY {at}, id LIMIT $2"
        )))
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut instants = Vec::with_capacity(rows.len());
        for r in &rows {
            let at: i64 = r.try_get(at)?;
            let d: String = r.try_get(date)?;
            let d = NaiveDate::from_str(&d)
                .map_err(|e| StoreError::Other(anyhow::anyhow!("bad stored date {d:?}: {e}")))?;
            instants.push((at, d));
        }
        let members = self.hydrate(rows).await?;
        Ok(members
            .into_iter()
            .zip(instants)
            .map(|(member, (at, date))| Due { member, at, date })
            .collect())
    }

    /// The planned next instant of one kind for `member` (UTC seconds and its local date), or
    /// `None` while it is unplanned (new member or just-changed preferences).
    pub async fn planned(
        &self,
        kind: DueKind,
        member: MemberId,
    ) -> StoreResult<Option<(i64, NaiveDate)>> {
        let (at, date) = kind.columns();
        let r = sqlx::query(AssertSqlSafe(format!(
            "SELECT {at}, {date} FROM members WHERE id = $1"
        )))
        .bind(member)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = r else {
            return Err(StoreError::NotFound(format!("no member with id {member}")));
        };
        let (a, d): (Option<i64>, Option<String>) = (r.try_get(0)?, r.try_get(1)?);
        match (a, d) {
            (Some(a), Some(d)) => {
                let d = NaiveDate::from_str(&d).map_err(|e| {
                    StoreError::Other(anyhow::anyhow!("bad stored date {d:?}: {e}"))
                })?;
                Ok(Some((a, d)))
            }
            _ => Ok(None),
        }
    }

    /// Stores the next planned instant of one kind, only if it is still `expected` (compare and
    /// set: two planners racing on one member cannot both move it).
    pub async fn set_next(
        &self,
        kind: DueKind,
        member: MemberId,
        expected: Option<i64>,
        next: Option<(i64, NaiveDate)>,
    ) -> StoreResult<bool> {
        let mut conn = self.pool.acquire().await?;
        set_next_on(
            &mut conn,
            &NextInstant {
                kind,
                member,
                expected,
                next,
            },
        )
        .await
    }

    pub async fn count_members(&self) -> StoreResult<i64> {
        Ok(sqlx::query("SELECT COUNT(*) FROM members")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?)
    }

    // ------------------------------------------------------------------ API tokens

    pub async fn add_api_token(&self, member: MemberId, hash: &str) -> StoreResult<()> {
        sqlx::query("INSERT INTO api_tokens (member_id, hash, created_at) VALUES ($1, $2, $3)")
            .bind(member)
            .bind(hash)
            .bind(now_unix())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The member and token id behind a token hash, unless revoked.
    pub async fn api_token_member(&self, hash: &str) -> StoreResult<Option<(i64, MemberId)>> {
        let row = sqlx::query(
            "SELECT id, member_id FROM api_tokens WHERE hash = $1 AND revoked_at IS NULL",
        )
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
    }

    pub async fn revoke_api_tokens(&self, member: MemberId) -> StoreResult<u64> {
        Ok(sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE member_id = $2 AND revoked_at IS NULL",
        )
        .bind(now_unix())
        .bind(member)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    // ------------------------------------------------------------------ mailbox state

    pub async fn mailbox_state(&self, mailbox: &str) -> StoreResult<Option<(u32, u32)>> {
        let row = sqlx::query("SELECT uidvalidity, last_uid FROM mailbox_state WHERE mailbox = $1")
            .bind(mailbox)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok((
                r.try_get::<i64, _>(0)? as u32,
                r.try_get::<i64, _>(1)? as u32,
            ))
        })
        .transpose()
    }

    pub async fn set_mailbox_state(
        &self,
        mailbox: &str,
        uidvalidity: u32,
        last_uid: u32,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO mailbox_state (mailbox, uidvalidity, last_uid) VALUES ($1, $2, $3)
             ON CONFLICT (mailbox) DO UPDATE SET uidvalidity = excluded.uidvalidity, last_uid = excluded.last_uid",
        )
        .bind(mailbox)
        .bind(uidvalidity as i64)
        .bind(last_uid as i64)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// A move of one member's planned instant, for [`Store::set_next`] or a batch of them.
#[derive(Debug, Clone, Copy)]
pub struct NextInstant {
    pub kind: DueKind,
    pub member: MemberId,
    /// The instant the planner saw; the move happens only if it is still stored (`None`: only
    /// if nothing is planned).
    pub expected: Option<i64>,
    /// The new instant (UTC seconds) and its local date; `None` clears it.
    pub next: Option<(i64, NaiveDate)>,
}

/// [`Store::set_next`] on a given connection (or transaction); true when the row moved.
pub(crate) async fn set_next_on(
    conn: &mut sqlx::AnyConnection,
    n: &NextInstant,
) -> StoreResult<bool> {
    let (at, date) = n.kind.columns();
    let (n_at, n_date) = match n.next {
        Some((a, d)) => (Some(a), Some(d.to_string())),
        None => (None, None),
    };
    let sql = match n.expected {
        Some(_) => format!("UPDATE members SET {at} = $1, {date} = $2 WHERE id = $3 AND {at} = $4"),
        None => format!("UPDATE members SET {at} = $1, {date} = $2 WHERE id = $3 AND {at} IS NULL"),
    };
    let mut q = sqlx::query(AssertSqlSafe(sql))
        .bind(n_at)
        .bind(n_date)
        .bind(n.member);
    if let Some(e) = n.expected {
        q = q.bind(e);
    }
    Ok(q.execute(conn).await?.rows_affected() == 1)
}

/// Plans (or replaces) the reminder of `member`: when it is due (UTC seconds) and for which
/// local date; `None` clears it. Unconditional: queueing a new request makes any older
/// reminder moot.
pub(crate) async fn set_reminder_on(
    conn: &mut sqlx::AnyConnection,
    member: MemberId,
    next: Option<(i64, NaiveDate)>,
) -> StoreResult<()> {
    sqlx::query("UPDATE members SET next_reminder_at = $1, next_reminder_date = $2 WHERE id = $3")
        .bind(next.map(|(a, _)| a))
        .bind(next.map(|(_, d)| d.to_string()))
        .bind(member)
        .execute(conn)
        .await?;
    Ok(())
}

/// Which planned instant: the update request, the digest, or the optional reminder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueKind {
    Request,
    Digest,
    /// Set only when a request is queued and reminders are on; NULL otherwise.
    Reminder,
}

impl DueKind {
    fn columns(self) -> (&'static str, &'static str) {
        match self {
            DueKind::Request => ("next_request_at", "next_request_date"),
            DueKind::Digest => ("next_digest_at", "next_digest_date"),
            DueKind::Reminder => ("next_reminder_at", "next_reminder_date"),
        }
    }
}

/// Values a new member takes for preferences not given.
#[derive(Debug, Clone)]
pub struct MemberDefaults {
    pub tz: chrono_tz::Tz,
    pub request_at: LocalTime,
    pub digest_at: LocalTime,
    pub workdays: Workdays,
}

const MEMBER_COLS: &str = "id, email, name, timezone, request_at, digest_at, workdays, paused, unsubscribed, bounces, created_at";

/// The one place a member row becomes a [`Member`]; stored values that no longer parse are an error.
fn member_from_row(r: &AnyRow) -> StoreResult<Member> {
    let bad =
        |what: &str, v: &str| StoreError::Other(anyhow::anyhow!("stored {what} {v:?} is invalid"));
    let email: String = r.try_get("email")?;
    let tz: String = r.try_get("timezone")?;
    let req: String = r.try_get("request_at")?;
    let dig: String = r.try_get("digest_at")?;
    let wd: i64 = r.try_get("workdays")?;
    Ok(Member {
        id: r.try_get("id")?,
        email: EmailAddress::parse(&email).map_err(|_| bad("email", &email))?,
        name: r.try_get("name")?,
        tz: parse_tz(&tz).map_err(|_| bad("time zone", &tz))?,
        request_at: LocalTime::parse(&req).map_err(|_| bad("request time", &req))?,
        digest_at: LocalTime::parse(&dig).map_err(|_| bad("digest time", &dig))?,
        workdays: Workdays::from_bits(wd as u8),
        paused: get_bool(r, "paused")?,
        unsubscribed: get_bool(r, "unsubscribed")?,
        bounces: r.try_get("bounces")?,
        away: Vec::new(),
        teams: Vec::new(),
        aliases: Vec::new(),
        created_at: r.try_get("created_at")?,
    })
}

/// A stored `teams.questions` JSON array; one that no longer parses is an error, not silence.
fn parse_questions(v: Option<String>) -> StoreResult<Option<Vec<String>>> {
    v.map(|j| {
        serde_json::from_str::<Vec<String>>(&j).map_err(|e| {
            StoreError::Other(anyhow::anyhow!(
                "stored team questions {j:?} are invalid: {e}"
            ))
        })
    })
    .transpose()
}

/// SQLite hands booleans back as integers through the Any driver; accept both.
fn get_bool(r: &AnyRow, col: &str) -> StoreResult<bool> {
    match r.try_get::<bool, _>(col) {
        Ok(b) => Ok(b),
        Err(_) => Ok(r.try_get::<i64, _>(col)? != 0),
    }
}

type Tx<'a> = sqlx::Transaction<'a, sqlx::Any>;

async fn add_member_tx(
    tx: &mut Tx<'_>,
    email: &EmailAddress,
    ch: &MemberChange,
    d: &MemberDefaults,
) -> StoreResult<MemberId> {
    let taken = sqlx::query("SELECT 1 FROM member_aliases WHERE email = $1")
        .bind(email.as_str())
        .fetch_optional(&mut **tx)
        .await?;
    if taken.is_some() {
        return Err(StoreError::Conflict(format!(
            "a member with email {email} already exists (as an alias)"
        )));
    }
    let now = now_unix();
    let r = sqlx::query(
        "INSERT INTO members (email, name, timezone, request_at, digest_at, workdays, paused, unsubscribed, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) ON CONFLICT (email) DO NOTHING",
    )
    .bind(email.as_str())
    .bind(ch.name.clone().unwrap_or_else(|| email.local_part().to_string()))
    .bind(ch.tz.unwrap_or(d.tz).name())
    .bind(ch.request_at.unwrap_or(d.request_at).to_string())
    .bind(ch.digest_at.unwrap_or(d.digest_at).to_string())
    .bind(ch.workdays.unwrap_or(d.workdays).bits() as i64)
    .bind(ch.paused.unwrap_or(false))
    .bind(ch.unsubscribed.unwrap_or(false))
    .bind(now)
    .execute(&mut **tx)
    .await?;
    if r.rows_affected() == 0 {
        return Err(StoreError::Conflict(format!(
            "a member with email {email} already exists"
        )));
    }
    let id: i64 = sqlx::query("SELECT id FROM members WHERE email = $1")
        .bind(email.as_str())
        .fetch_one(&mut **tx)
        .await?
        .try_get(0)?;
    for a in ch.away.iter().flatten() {
        insert_away(tx, id, a).await?;
    }
    for t in ch.teams.iter().flatten() {
        join_team(tx, id, t).await?;
    }
    Ok(id)
}

async fn insert_away(tx: &mut Tx<'_>, member: MemberId, a: &AwayRange) -> StoreResult<()> {
    sqlx::query("INSERT INTO away_ranges (member_id, from_date, to_date) VALUES ($1, $2, $3)")
        .bind(member)
        .bind(a.from.to_string())
        .bind(a.to.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn join_team(tx: &mut Tx<'_>, member: MemberId, team: &str) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO teams (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
    )
    .bind(team)
    .bind(now_unix())
    .execute(&mut **tx)
    .await?;
    let tid: i64 = sqlx::query("SELECT id FROM teams WHERE name = $1")
        .bind(team)
        .fetch_one(&mut **tx)
        .await?
        .try_get(0)?;
    sqlx::query(
        "INSERT INTO team_members (team_id, member_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(tid)
    .bind(member)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// `$first, $first+1, …` for `n` bound values in an `IN (…)` list.
pub(crate) fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
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
