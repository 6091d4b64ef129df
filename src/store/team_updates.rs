//! Updates as a reader may read them: their own and their teammates', with each author's
//! name, address and zone ([`TeamUpdate`]), for the team log, the API and exports.

use chrono::NaiveDate;
use sqlx::AssertSqlSafe;

use super::updates::update_from_row;
use super::*;
use crate::domain::MemberId;

/// An update with its author, as the API lists it.
#[derive(Debug, Clone)]
pub struct TeamUpdate {
    pub update: UpdateRow,
    pub author_name: String,
    pub author_email: String,
    /// The author's IANA zone, as stored now.
    pub author_tz: String,
}

impl TeamUpdate {
    /// Written late: first written on a later local date than the day it is for, in its
    /// author's zone (a reply after midnight to the evening's request included).
    pub fn late(&self) -> bool {
        crate::domain::schedule::local_date_at(&self.author_tz, self.update.created_at)
            .is_some_and(|d| d > self.update.local_date)
    }
}

impl Store {
    /// Update `id` if `reader` may read it: their own, or a teammate's (someone sharing a team
    /// with them). `None` when it does not exist or is not theirs to read (the same answer).
    pub async fn readable_update(
        &self,
        reader: MemberId,
        id: i64,
    ) -> StoreResult<Option<TeamUpdate>> {
        let r = sqlx::query(AssertSqlSafe(format!("{READABLE} AND u.id = $2")))
            .bind(reader)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        r.as_ref().map(team_update_from_row).transpose()
    }

    /// Updates for local date `date` by `member` and everyone sharing a team with them, by
    /// author name: what this member may read.
    pub async fn team_updates_on(
        &self,
        member: MemberId,
        date: NaiveDate,
    ) -> StoreResult<Vec<TeamUpdate>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{READABLE} AND u.local_date = $2 ORDER BY m.name, u.id"
        )))
        .bind(member)
        .bind(date.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(team_update_from_row).collect()
    }
}

/// Updates that member `$1` may read (their own and their teammates'), with the columns of
/// [`UpdateRow`] and the author's name and email; callers add `AND …` conditions.
const READABLE: &str = "SELECT u.id, u.member_id, u.local_date, u.body, u.source, u.revision, u.created_at, u.updated_at,
        u.sections, m.name, m.email, m.timezone, u.checkin, ck.name AS checkin_name
 FROM updates u JOIN members m ON m.id = u.member_id LEFT JOIN checkins ck ON ck.id = u.checkin
 WHERE (u.member_id = $1 OR u.member_id IN (
        SELECT tm2.member_id FROM team_members tm1
        JOIN team_members tm2 ON tm1.team_id = tm2.team_id WHERE tm1.member_id = $1))";

/// A row of [`READABLE`]'s columns (`u.*` as [`update_from_row`] reads them, then the
/// author's name, email and zone) as a [`TeamUpdate`].
pub(super) fn team_update_from_row(r: &sqlx::any::AnyRow) -> StoreResult<TeamUpdate> {
    Ok(TeamUpdate {
        update: update_from_row(r)?,
        author_name: r.try_get(9)?,
        author_email: r.try_get(10)?,
        author_tz: r.try_get(11)?,
    })
}
