//! Planned instants: who is due for a request, a digest or a reminder, and moving them.

use std::str::FromStr;

use chrono::NaiveDate;
use sqlx::{AssertSqlSafe, Row};

use super::members::MEMBER_COLS;
use super::*;
use crate::domain::{Member, MemberId};

/// A member due for a request or digest, with the local date it is due for.
#[derive(Debug, Clone)]
pub struct Due {
    pub member: Member,
    pub at: i64,
    pub date: NaiveDate,
}

impl Store {
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

/// Moves the planned instants `moves` in `tx`, then commits it: the last step of every
/// "queue these and move those" batch.
pub(crate) async fn commit_with_moves(
    mut tx: sqlx::Transaction<'_, sqlx::Any>,
    moves: &[NextInstant],
) -> StoreResult<()> {
    for m in moves {
        set_next_on(&mut tx, m).await?;
    }
    tx.commit().await?;
    Ok(())
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

impl Store {
    /// The planned next request and digest instants (unix seconds) of a member; `None` while
    /// unplanned (just changed and not yet planned).
    pub async fn next_instants(&self, member: MemberId) -> StoreResult<(Option<i64>, Option<i64>)> {
        let r = sqlx::query("SELECT next_request_at, next_digest_at FROM members WHERE id = $1")
            .bind(member)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no member with id {member}")))?;
        Ok((r.try_get(0)?, r.try_get(1)?))
    }
}
