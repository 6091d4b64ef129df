//! What the tables of fetched addresses share (`calendar_sources`, `activity_feeds`): the
//! columns of a read's outcome (`fetched_at`, `tried_at`, `error`, `failing_since`), counted
//! by state and written after a read that brought no new copy.

use sqlx::{AssertSqlSafe, Row};

use super::*;

/// A table of fetched addresses.
#[derive(Debug, Clone, Copy)]
pub(super) enum Fetched {
    Calendars,
    Feeds,
}

impl Fetched {
    fn table(self) -> &'static str {
        match self {
            Fetched::Calendars => "calendar_sources",
            Fetched::Feeds => "activity_feeds",
        }
    }
}

impl Store {
    /// Addresses by state: `ok` (last read good), `failing` (the last read failed), `unread`.
    pub(super) async fn fetched_states(&self, t: Fetched) -> StoreResult<Vec<(&'static str, i64)>> {
        let r = sqlx::query(AssertSqlSafe(format!(
            "SELECT
               COALESCE(SUM(CASE WHEN error IS NULL AND fetched_at IS NOT NULL THEN 1 ELSE 0 END), 0),
               COALESCE(SUM(CASE WHEN error IS NOT NULL THEN 1 ELSE 0 END), 0),
               COALESCE(SUM(CASE WHEN error IS NULL AND fetched_at IS NULL THEN 1 ELSE 0 END), 0)
             FROM {}",
            t.table()
        )))
        .fetch_one(&self.pool)
        .await?;
        let n = |i: usize| -> StoreResult<i64> { Ok(r.try_get::<i64, _>(i)?) };
        Ok(vec![("ok", n(0)?), ("failing", n(1)?), ("unread", n(2)?)])
    }

    /// Records a read of address `id` that brought no new copy: `Ok` for "unchanged" (304),
    /// or the error (the last good copy stays; `failing_since` keeps the first failure).
    pub(super) async fn record_no_copy(
        &self,
        t: Fetched,
        id: i64,
        read: Result<(), &str>,
        now: i64,
    ) -> StoreResult<()> {
        let q = match read {
            Ok(()) => sqlx::query(AssertSqlSafe(format!(
                "UPDATE {} SET fetched_at = $1, tried_at = $1, error = NULL, failing_since = NULL
                 WHERE id = $2",
                t.table()
            )))
            .bind(now)
            .bind(id),
            Err(e) => sqlx::query(AssertSqlSafe(format!(
                "UPDATE {} SET tried_at = $1, error = $2,
                 failing_since = COALESCE(failing_since, $1) WHERE id = $3",
                t.table()
            )))
            .bind(now)
            .bind(e.to_string())
            .bind(id),
        };
        q.execute(&self.pool).await?;
        Ok(())
    }
}
