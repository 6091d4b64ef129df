//! Blockers carried until resolved: the open blocker of each of a set of members (read from
//! their updates that have a blockers section, by [`crate::domain::blockers`]), marking one
//! resolved, and the teams' leads and escalation setting.

use std::collections::HashMap;

use sqlx::{AssertSqlSafe, Row};

use super::*;
use crate::domain::MemberId;
use crate::domain::blockers::{BlockerUpdate, OpenBlocker, open_blocker};
use crate::domain::sections;

/// An `updates` row (id, local_date, body, sections, blocker_resolved_at) as the blocker rule
/// reads it.
pub(super) fn blocker_update(r: &sqlx::any::AnyRow) -> StoreResult<BlockerUpdate> {
    let d: String = r.try_get("local_date")?;
    let body: String = r.try_get("body")?;
    let stored: Option<String> = r.try_get("sections")?;
    let resolved: Option<i64> = r.try_get("blocker_resolved_at")?;
    Ok(BlockerUpdate {
        update_id: r.try_get("id")?,
        local_date: d
            .parse()
            .map_err(|e| StoreError::Other(anyhow::anyhow!("bad stored date {d:?}: {e}")))?,
        sections: sections::from_stored(stored.as_deref(), &body),
        resolved: resolved.is_some(),
    })
}

/// A team's leads, and after how many workdays an open blocker needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamEscalation {
    pub team: String,
    pub escalate_after: u32,
    pub leads: Vec<MemberId>,
}

impl Store {
    /// The open blocker of each of `members` that has one.
    pub async fn open_blockers(
        &self,
        members: &[MemberId],
    ) -> StoreResult<HashMap<MemberId, OpenBlocker>> {
        if members.is_empty() {
            return Ok(HashMap::new());
        }
        let ids = super::id_list(members);
        // Only updates with a blockers section change a blocker (the rule).
        let rows = sqlx::query(AssertSqlSafe(format!(
            r#"SELECT member_id, id, local_date, body, sections, blocker_resolved_at FROM updates
             WHERE member_id IN ({ids}) AND sections LIKE '%"kind":"blockers"%'
             ORDER BY member_id, local_date, id"#
        )))
        .fetch_all(&self.pool)
        .await?;
        let mut by_member: HashMap<MemberId, Vec<BlockerUpdate>> = HashMap::new();
        for r in &rows {
            by_member
                .entry(r.try_get("member_id")?)
                .or_default()
                .push(blocker_update(r)?);
        }
        Ok(by_member
            .into_iter()
            .filter_map(|(m, ups)| open_blocker(&ups).map(|o| (m, o)))
            .collect())
    }

    /// Marks `member`'s open blocker resolved now; returns it, or `None` when none was open.
    pub async fn resolve_blocker(&self, member: MemberId) -> StoreResult<Option<OpenBlocker>> {
        self.resolve_blocker_at(member, now_unix()).await
    }

    /// [`Store::resolve_blocker`] at Unix time `at`: the instant digests show as the day it
    /// was resolved ("resolved Wed 2 Dec"), the job's clock rather than the wall's.
    pub async fn resolve_blocker_at(
        &self,
        member: MemberId,
        at: i64,
    ) -> StoreResult<Option<OpenBlocker>> {
        let mut tx = self.write_tx().await?;
        let open = super::events::open_blocker_on(&mut tx, member).await?;
        if let Some(o) = &open {
            sqlx::query("UPDATE updates SET blocker_resolved_at = $1 WHERE id = $2")
                .bind(at)
                .bind(o.update_id)
                .execute(&mut *tx)
                .await?;
            super::events::blocker_resolved(&mut tx, self.web_base.as_deref(), member, o, at)
                .await?;
        }
        tx.commit().await?;
        Ok(open)
    }

    /// When each of `updates` had its blocker marked resolved (unix seconds), for those that
    /// did: the log marks them.
    pub async fn blocker_resolutions(&self, updates: &[i64]) -> StoreResult<HashMap<i64, i64>> {
        if updates.is_empty() {
            return Ok(Default::default());
        }
        let ids = super::id_list(updates);
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT id, blocker_resolved_at FROM updates
             WHERE id IN ({ids}) AND blocker_resolved_at IS NOT NULL"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }

    /// Replaces team `team`'s leads.
    pub async fn set_team_leads(&self, team: &str, leads: &[MemberId]) -> StoreResult<()> {
        let id = self
            .team_id(team)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no team named {team}")))?;
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM team_leads WHERE team_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        for m in leads {
            sqlx::query(
                "INSERT INTO team_leads (team_id, member_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(id)
            .bind(*m)
            .execute(&mut *tx)
            .await?;
        }
        // A check-in for the leads asks the new ones from now on.
        sqlx::query(
            "UPDATE checkin_plans SET next_at = NULL, next_date = NULL
             WHERE checkin_id IN (SELECT id FROM checkins WHERE team_id = $1)",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// After how many workdays team `team`'s open blockers go to its leads.
    pub async fn set_escalate_after(&self, team: &str, workdays: u32) -> StoreResult<()> {
        let r = sqlx::query("UPDATE teams SET escalate_after = $1 WHERE name = $2")
            .bind(i64::from(workdays))
            .bind(team)
            .execute(&self.pool)
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("no team named {team}")));
        }
        Ok(())
    }

    /// The leads and escalation setting of each of `teams` (those that exist).
    pub async fn team_escalations(&self, teams: &[String]) -> StoreResult<Vec<TeamEscalation>> {
        let mut out = Vec::with_capacity(teams.len());
        for t in teams {
            let Some(row) = sqlx::query("SELECT id, escalate_after FROM teams WHERE name = $1")
                .bind(t)
                .fetch_optional(&self.pool)
                .await?
            else {
                continue;
            };
            let id: i64 = row.try_get(0)?;
            let after: i64 = row.try_get(1)?;
            let leads = sqlx::query(
                "SELECT member_id FROM team_leads WHERE team_id = $1 ORDER BY member_id",
            )
            .bind(id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<Vec<i64>, _>>()?;
            out.push(TeamEscalation {
                team: t.clone(),
                escalate_after: u32::try_from(after.clamp(0, 365)).unwrap_or(365),
                leads,
            });
        }
        Ok(out)
    }
}
