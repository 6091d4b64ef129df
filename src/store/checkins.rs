//! Check-ins: each team's list (its daily stand-up first), and the planned instants of the
//! check-ins other than the stand-up, one row per check-in and asked member
//! (`checkin_plans`). The stand-up is planned on the members' own columns, as always.

use std::str::FromStr;

use chrono::NaiveDate;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::*;
use crate::domain::MemberId;
use crate::domain::checkin::{Checkin, CheckinId, GoesTo, Question, Rhythm, Who};
use crate::domain::schedule::{LocalTime, parse_tz};

/// The stand-up's name in a team created now.
pub const STANDUP_NAME: &str = "Daily stand-up";

const CHECKIN_COLS: &str =
    "id, team_id, name, standup, questions, rhythm, at, tz, who, goes_to, created_at";

/// A member's planned request of a check-in other than the stand-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckinDue {
    pub checkin: CheckinId,
    pub member: MemberId,
    pub at: i64,
    pub date: NaiveDate,
}

fn bad(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Other(anyhow::anyhow!("bad stored check-in {what}: {e}"))
}

fn checkin_from_row(r: &AnyRow) -> StoreResult<Checkin> {
    let created: i64 = r.try_get("created_at")?;
    let today = chrono::DateTime::from_timestamp(created, 0)
        .map(|t| t.date_naive())
        .unwrap_or_default();
    let questions: String = r.try_get("questions")?;
    let rhythm: String = r.try_get("rhythm")?;
    let at: Option<String> = r.try_get("at")?;
    let tz: Option<String> = r.try_get("tz")?;
    let who: String = r.try_get("who")?;
    let goes_to: String = r.try_get("goes_to")?;
    Ok(Checkin {
        id: r.try_get("id")?,
        team_id: r.try_get("team_id")?,
        name: r.try_get("name")?,
        standup: get_bool(r, "standup")?,
        questions: serde_json::from_str::<Vec<Question>>(&questions)
            .map_err(|e| bad("questions", e))?,
        rhythm: Rhythm::parse(&rhythm, today).map_err(|e| bad("rhythm", e))?,
        at: at
            .map(|a| LocalTime::parse(&a))
            .transpose()
            .map_err(|e| bad("time", e))?,
        tz: tz
            .map(|z| parse_tz(&z))
            .transpose()
            .map_err(|e| bad("zone", e))?,
        who: Who::parse(&who).map_err(|e| bad("audience", e))?,
        goes_to: GoesTo::parse(&goes_to).map_err(|e| bad("destination", e))?,
    })
}

/// Gives team `team` its daily stand-up if it has none (a team just created).
pub(super) async fn ensure_standup(conn: &mut sqlx::AnyConnection, team: i64) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO checkins (team_id, name, standup, rhythm, created_at)
         SELECT $1, $2, TRUE, 'workdays', $3
         WHERE NOT EXISTS (SELECT 1 FROM checkins WHERE team_id = $1 AND standup = TRUE)",
    )
    .bind(team)
    .bind(STANDUP_NAME)
    .bind(now_unix())
    .execute(conn)
    .await?;
    Ok(())
}

impl Store {
    /// The check-ins of a team, its stand-up first, then in the order they were added.
    pub async fn checkins_of(&self, team: i64) -> StoreResult<Vec<Checkin>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {CHECKIN_COLS} FROM checkins WHERE team_id = $1 ORDER BY standup DESC, id"
        )))
        .bind(team)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(checkin_from_row).collect()
    }

    /// The check-ins of the named teams whose answers go to a digest of their own, with their
    /// team's name, by team name then in the order they were added.
    pub async fn own_digest_checkins(
        &self,
        teams: &[String],
    ) -> StoreResult<Vec<(Checkin, String)>> {
        if teams.is_empty() {
            return Ok(Vec::new());
        }
        let cols: Vec<String> = CHECKIN_COLS.split(", ").map(|c| format!("c.{c}")).collect();
        let sql = format!(
            "SELECT {}, t.name AS team_name FROM checkins c JOIN teams t ON t.id = c.team_id
             WHERE c.goes_to = 'own' AND t.name IN ({}) ORDER BY t.name, c.id",
            cols.join(", "),
            super::placeholders(1, teams.len())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for t in teams {
            q = q.bind(t);
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| Ok((checkin_from_row(r)?, r.try_get("team_name")?)))
            .collect()
    }

    /// One check-in by id.
    pub async fn checkin(&self, id: CheckinId) -> StoreResult<Option<Checkin>> {
        let r = sqlx::query(AssertSqlSafe(format!(
            "SELECT {CHECKIN_COLS} FROM checkins WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        r.as_ref().map(checkin_from_row).transpose()
    }

    /// A team's check-in by name, any case.
    pub async fn checkin_named(&self, team: i64, name: &str) -> StoreResult<Option<Checkin>> {
        let want = name.trim().to_lowercase();
        Ok(self
            .checkins_of(team)
            .await?
            .into_iter()
            .find(|c| c.name.to_lowercase() == want))
    }

    /// What a filter by check-in `name` (any case) of team `team` selects: `Ok(0)` for the
    /// daily stand-up, `Ok(id)` for another, `Err(names)` with the team's check-ins when it
    /// has none of that name (or the team does not exist: no names).
    pub async fn checkin_filter(
        &self,
        team: &str,
        name: &str,
    ) -> StoreResult<Result<CheckinId, Vec<String>>> {
        let Some(id) = self.team_id(team).await? else {
            return Ok(Err(Vec::new()));
        };
        let all = self.checkins_of(id).await?;
        Ok(
            match all
                .iter()
                .find(|c| c.name.eq_ignore_ascii_case(name.trim()))
            {
                Some(c) => Ok(if c.standup { 0 } else { c.id }),
                None => Err(all.into_iter().map(|c| c.name).collect()),
            },
        )
    }

    /// Adds a check-in (not a stand-up: a team has one). Conflict when the team has one of
    /// that name, any case.
    pub async fn add_checkin(&self, c: &Checkin) -> StoreResult<CheckinId> {
        if self.checkin_named(c.team_id, &c.name).await?.is_some() {
            return Err(StoreError::Conflict(format!(
                "the team already has a check-in named {:?}",
                c.name
            )));
        }
        let questions = serde_json::to_string(&c.questions).map_err(|e| bad("questions", e))?;
        let r = sqlx::query(
            "INSERT INTO checkins (team_id, name, standup, questions, rhythm, at, tz, who, goes_to, created_at)
             VALUES ($1, $2, FALSE, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(c.team_id)
        .bind(c.name.trim())
        .bind(questions)
        .bind(c.rhythm.to_string())
        .bind(c.at.map(|a| a.to_string()))
        .bind(c.tz.map(|z| z.name().to_string()))
        .bind(c.who.to_string())
        .bind(c.goes_to.as_str())
        .bind(now_unix())
        .fetch_one(&self.pool)
        .await?;
        Ok(r.try_get(0)?)
    }

    /// Stores a changed check-in, and plans it again for everyone it asks (its rhythm, time or
    /// audience may have changed).
    pub async fn update_checkin(&self, c: &Checkin) -> StoreResult<()> {
        if let Some(other) = self.checkin_named(c.team_id, &c.name).await?
            && other.id != c.id
        {
            return Err(StoreError::Conflict(format!(
                "the team already has a check-in named {:?}",
                c.name
            )));
        }
        let questions = serde_json::to_string(&c.questions).map_err(|e| bad("questions", e))?;
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "UPDATE checkins SET name = $1, questions = $2, rhythm = $3, at = $4, tz = $5, who = $6, goes_to = $7
             WHERE id = $8",
        )
        .bind(c.name.trim())
        .bind(questions)
        .bind(c.rhythm.to_string())
        .bind(c.at.map(|a| a.to_string()))
        .bind(c.tz.map(|z| z.name().to_string()))
        .bind(c.who.to_string())
        .bind(c.goes_to.as_str())
        .bind(c.id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE checkin_plans SET next_at = NULL, next_date = NULL WHERE checkin_id = $1",
        )
        .bind(c.id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes a check-in (never the stand-up) and its plans. Its answers stay in the team
    /// log and the exports.
    pub async fn remove_checkin(&self, id: CheckinId) -> StoreResult<()> {
        let r = sqlx::query("DELETE FROM checkins WHERE id = $1 AND standup = FALSE")
            .bind(id)
            .execute(&self.pool)
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::Conflict(
                "the daily stand-up cannot be removed (an observer is never asked; pause a member to stop their requests)".into(),
            ));
        }
        Ok(())
    }

    /// Gives every member of a team with a check-in other than the stand-up a plan row for
    /// it, and drops the rows of members who left. Cheap when nothing changed: one read, and
    /// no write transaction (each planning pass calls it).
    pub async fn sync_checkin_plans(&self) -> StoreResult<()> {
        // A member of a check-in's team without a plan row for it.
        const MISSING: &str = "FROM checkins c JOIN team_members tm ON tm.team_id = c.team_id
             WHERE c.standup = FALSE AND NOT EXISTS (
                SELECT 1 FROM checkin_plans p WHERE p.checkin_id = c.id AND p.member_id = tm.member_id)";
        // A plan row whose member is no longer in the check-in's team.
        const ORPHAN: &str = "NOT EXISTS (
                SELECT 1 FROM checkins c JOIN team_members tm ON tm.team_id = c.team_id
                WHERE c.id = checkin_plans.checkin_id AND tm.member_id = checkin_plans.member_id)";
        let stale: i64 = sqlx::query(AssertSqlSafe(format!(
            "SELECT CAST(CASE WHEN EXISTS (SELECT 1 {MISSING})
                    OR EXISTS (SELECT 1 FROM checkin_plans WHERE {ORPHAN}) THEN 1 ELSE 0 END AS BIGINT)"
        )))
        .fetch_one(&self.pool)
        .await?
        .try_get(0)?;
        if stale == 0 {
            return Ok(());
        }
        let mut tx = self.write_tx().await?;
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO checkin_plans (checkin_id, member_id) SELECT c.id, tm.member_id {MISSING}"
        )))
        .execute(&mut *tx)
        .await?;
        sqlx::query(AssertSqlSafe(format!(
            "DELETE FROM checkin_plans WHERE {ORPHAN}"
        )))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Plan rows not planned yet (new, or their check-in or member just changed).
    pub async fn unplanned_checkins(&self, limit: i64) -> StoreResult<Vec<(CheckinId, MemberId)>> {
        let rows = sqlx::query(
            "SELECT checkin_id, member_id FROM checkin_plans WHERE next_at IS NULL
             ORDER BY checkin_id, member_id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }

    /// Sets a plan row's next request: only when it still holds `expected` (`None`: only when
    /// unplanned), so a racing planner's move wins. True when it moved.
    pub async fn set_checkin_next(
        &self,
        checkin: CheckinId,
        member: MemberId,
        expected: Option<i64>,
        next: (i64, NaiveDate),
    ) -> StoreResult<bool> {
        let mut conn = self.pool.acquire().await?;
        set_checkin_next_on(&mut conn, checkin, member, expected, next).await
    }

    /// Plan rows whose request (or, with `reminders`, reminder) is due at `now`, oldest first.
    pub async fn due_checkins(
        &self,
        now: i64,
        reminders: bool,
        limit: i64,
    ) -> StoreResult<Vec<CheckinDue>> {
        let (at, date) = if reminders {
            ("reminder_at", "reminder_date")
        } else {
            ("next_at", "next_date")
        };
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT checkin_id, member_id, {at}, {date} FROM checkin_plans WHERE {at} <= $1
             ORDER BY {at}, checkin_id, member_id LIMIT $2"
        )))
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let d: String = r.try_get(3)?;
                Ok(CheckinDue {
                    checkin: r.try_get(0)?,
                    member: r.try_get(1)?,
                    at: r.try_get(2)?,
                    date: NaiveDate::from_str(&d).map_err(|e| bad("date", e))?,
                })
            })
            .collect()
    }

    /// Queues a check-in's request (when `email` is new) and moves its plan row, in one
    /// transaction; `reminder` is when its reminder is due. True when the email was new.
    pub async fn enqueue_checkin_request(
        &self,
        email: &NewEmail,
        due: &CheckinDue,
        next: (i64, NaiveDate),
        reminder: Option<(i64, NaiveDate)>,
        now: i64,
    ) -> StoreResult<bool> {
        let mut tx = self.write_tx().await?;
        let new = super::outbox::insert(&mut tx, email, now).await?.is_some();
        if new {
            set_checkin_reminder_on(&mut tx, due.checkin, due.member, reminder).await?;
        }
        set_checkin_next_on(&mut tx, due.checkin, due.member, Some(due.at), next).await?;
        tx.commit().await?;
        Ok(new)
    }

    /// Clears (or replaces) a plan row's reminder.
    pub async fn set_checkin_reminder(
        &self,
        checkin: CheckinId,
        member: MemberId,
        next: Option<(i64, NaiveDate)>,
    ) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await?;
        set_checkin_reminder_on(&mut conn, checkin, member, next).await
    }

    /// Plans every check-in of `member` again (their zone, request time or workdays changed).
    pub async fn replan_checkins_of(&self, member: MemberId) -> StoreResult<()> {
        sqlx::query(
            "UPDATE checkin_plans SET next_at = NULL, next_date = NULL WHERE member_id = $1",
        )
        .bind(member)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Keeps the scale answers taken out of update `update` (question index, 1–5): a later
    /// answer to the same question replaces the earlier one.
    pub async fn set_scores(&self, update: i64, scores: &[(usize, u8)]) -> StoreResult<()> {
        if scores.is_empty() {
            return Ok(());
        }
        let mut tx = self.write_tx().await?;
        for (q, v) in scores {
            sqlx::query(
                "INSERT INTO checkin_scores (update_id, question, value) VALUES ($1, $2, $3)
                 ON CONFLICT (update_id, question) DO UPDATE SET value = excluded.value",
            )
            .bind(update)
            .bind(*q as i64)
            .bind(i64::from(*v))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The scale answers to check-in `checkin` for local date `date`, everyone's, as (question
    /// index, 1–5): what the team's aggregate is made of.
    pub async fn scores_of(&self, checkin: i64, date: NaiveDate) -> StoreResult<Vec<(usize, u8)>> {
        let rows = sqlx::query(
            "SELECT s.question, s.value FROM checkin_scores s JOIN updates u ON u.id = s.update_id
             WHERE u.checkin = $1 AND u.local_date = $2 ORDER BY s.question",
        )
        .bind(checkin)
        .bind(date.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let (q, v): (i64, i64) = (r.try_get(0)?, r.try_get(1)?);
                Ok((
                    usize::try_from(q).unwrap_or(usize::MAX),
                    u8::try_from(v).unwrap_or(0),
                ))
            })
            .collect()
    }

    /// A team's name and leads, by id (`None`: no such team).
    pub async fn team_and_leads(&self, team: i64) -> StoreResult<Option<(String, Vec<MemberId>)>> {
        let Some(r) = sqlx::query("SELECT name FROM teams WHERE id = $1")
            .bind(team)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let leads = sqlx::query("SELECT member_id FROM team_leads WHERE team_id = $1")
            .bind(team)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<Vec<i64>, _>>()?;
        Ok(Some((r.try_get(0)?, leads)))
    }

    /// The planned next request of `member` for a check-in, if any.
    pub async fn checkin_planned(
        &self,
        checkin: CheckinId,
        member: MemberId,
    ) -> StoreResult<Option<(i64, NaiveDate)>> {
        let r = sqlx::query(
            "SELECT next_at, next_date FROM checkin_plans WHERE checkin_id = $1 AND member_id = $2",
        )
        .bind(checkin)
        .bind(member)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = r else { return Ok(None) };
        let (a, d): (Option<i64>, Option<String>) = (r.try_get(0)?, r.try_get(1)?);
        match (a, d) {
            (Some(a), Some(d)) => Ok(Some((
                a,
                NaiveDate::from_str(&d).map_err(|e| bad("date", e))?,
            ))),
            _ => Ok(None),
        }
    }
}

async fn set_checkin_next_on(
    conn: &mut sqlx::AnyConnection,
    checkin: CheckinId,
    member: MemberId,
    expected: Option<i64>,
    next: (i64, NaiveDate),
) -> StoreResult<bool> {
    let cond = if expected.is_some() {
        "next_at = $5"
    } else {
        "next_at IS NULL"
    };
    let mut q = sqlx::query(AssertSqlSafe(format!(
        "UPDATE checkin_plans SET next_at = $1, next_date = $2 WHERE checkin_id = $3 AND member_id = $4 AND {cond}"
    )))
    .bind(next.0)
    .bind(next.1.to_string())
    .bind(checkin)
    .bind(member);
    if let Some(e) = expected {
        q = q.bind(e);
    }
    Ok(q.execute(conn).await?.rows_affected() == 1)
}

async fn set_checkin_reminder_on(
    conn: &mut sqlx::AnyConnection,
    checkin: CheckinId,
    member: MemberId,
    next: Option<(i64, NaiveDate)>,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE checkin_plans SET reminder_at = $1, reminder_date = $2 WHERE checkin_id = $3 AND member_id = $4",
    )
    .bind(next.map(|(a, _)| a))
    .bind(next.map(|(_, d)| d.to_string()))
    .bind(checkin)
    .bind(member)
    .execute(conn)
    .await?;
    Ok(())
}
