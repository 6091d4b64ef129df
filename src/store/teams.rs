//! Teams: names, their questions and holidays.

use std::str::FromStr;

use chrono::NaiveDate;
use sqlx::Row;

use super::*;
use crate::domain::MemberId;

impl Store {
    /// Adds a team with its daily stand-up.
    pub async fn add_team(&self, name: &str) -> StoreResult<i64> {
        let mut tx = self.write_tx().await?;
        let r = sqlx::query(
            "INSERT INTO teams (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING id",
        )
        .bind(name)
        .bind(now_unix())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(r) = r else {
            return Err(StoreError::Conflict(format!(
                "team {name:?} already exists"
            )));
        };
        let id: i64 = r.try_get(0)?;
        super::checkins::ensure_standup(&mut tx, id).await?;
        tx.commit().await?;
        Ok(id)
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

    /// Whether `date` is a day off for the member: a holiday in every team of theirs (a member
    /// in no team has none), or a day of a holiday calendar of theirs or of a team's.
    pub async fn is_holiday(&self, member: MemberId, date: NaiveDate) -> StoreResult<bool> {
        // The third column: a day off in a holiday calendar of theirs or of a team's (#34).
        let row = sqlx::query(
            "SELECT COUNT(*), SUM(CASE WHEN EXISTS (SELECT 1 FROM holidays h WHERE h.team_id = tm.team_id AND h.date = $2) THEN 1 ELSE 0 END),
                    (SELECT COUNT(*) FROM calendar_days c WHERE c.member_id = $1 AND c.day = $2 AND c.kind = 'holidays')
             FROM team_members tm WHERE tm.member_id = $1",
        )
        .bind(member)
        .bind(date.to_string())
        .fetch_one(&self.pool)
        .await?;
        let from_calendar: i64 = row.try_get(2)?;
        if from_calendar > 0 {
            return Ok(true);
        }
        let total: i64 = row.try_get(0)?;
        let hol: Option<i64> = row.try_get(1)?;
        Ok(total > 0 && hol.unwrap_or(0) == total)
    }
}

/// A stored `teams.questions` JSON array; one that no longer parses is an error, not silence.
pub(super) fn parse_questions(v: Option<String>) -> StoreResult<Option<Vec<String>>> {
    v.map(|j| {
        serde_json::from_str::<Vec<String>>(&j).map_err(|e| {
            StoreError::Other(anyhow::anyhow!(
                "stored team questions {j:?} are invalid: {e}"
            ))
        })
    })
    .transpose()
}

impl Store {
    /// Holidays of a team, by date.
    pub async fn list_holidays(&self, team: &str) -> StoreResult<Vec<NaiveDate>> {
        let id = self
            .team_id(team)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no team named {team:?}")))?;
        let rows = sqlx::query("SELECT date FROM holidays WHERE team_id = $1 ORDER BY date")
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let d: String = r.try_get(0)?;
                NaiveDate::from_str(&d)
                    .map_err(|e| StoreError::Other(anyhow::anyhow!("stored date {d:?}: {e}")))
            })
            .collect()
    }
}
