//! The days read from members' calendars (#34), per member: stored with what they were
//! computed from (a fingerprint, so they are computed again only when that changes), the
//! events a member ignores, and their days away as ranges for loading members.

use std::collections::HashMap;

use chrono::NaiveDate;
use sqlx::{AssertSqlSafe, Row};

use super::calendars::{CalendarDay, CalendarKind};
use super::*;
use crate::domain::{AwayRange, MemberId};

/// Days as inclusive ranges of consecutive dates.
pub fn ranges_of(days: impl IntoIterator<Item = NaiveDate>) -> Vec<AwayRange> {
    let mut out: Vec<AwayRange> = Vec::new();
    let mut sorted: Vec<NaiveDate> = days.into_iter().collect();
    sorted.sort();
    sorted.dedup();
    for d in sorted {
        match out.last_mut() {
            Some(r) if r.to.succ_opt() == Some(d) => r.to = d,
            _ => out.push(AwayRange { from: d, to: d }),
        }
    }
    out
}

impl Store {
    /// The members with days computed (or an empty computation recorded).
    pub async fn calendar_state_members(&self) -> StoreResult<Vec<MemberId>> {
        let rows = sqlx::query("SELECT member_id FROM calendar_state WHERE fingerprint <> ''")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    /// What `member`'s days were last computed from.
    pub async fn calendar_fingerprint(&self, member: MemberId) -> StoreResult<Option<String>> {
        Ok(
            sqlx::query("SELECT fingerprint FROM calendar_state WHERE member_id = $1")
                .bind(member)
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.try_get(0))
                .transpose()?,
        )
    }

    /// Replaces the days read for `member` and what they were computed from; true when the
    /// days changed.
    pub async fn set_calendar_days(
        &self,
        member: MemberId,
        fingerprint: &str,
        days: &[CalendarDay],
    ) -> StoreResult<bool> {
        let before = self.calendar_days(member).await?;
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM calendar_days WHERE member_id = $1")
            .bind(member)
            .execute(&mut *tx)
            .await?;
        for d in days {
            sqlx::query(
                "INSERT INTO calendar_days (member_id, day, kind, uid, summary) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (member_id, day, kind, uid) DO NOTHING",
            )
            .bind(member)
            .bind(d.day.to_string())
            .bind(d.kind.as_str())
            .bind(&d.uid)
            .bind(&d.summary)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "INSERT INTO calendar_state (member_id, fingerprint) VALUES ($1, $2)
             ON CONFLICT (member_id) DO UPDATE SET fingerprint = excluded.fingerprint",
        )
        .bind(member)
        .bind(fingerprint)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        let mut after = days.to_vec();
        after.sort();
        after.dedup();
        Ok(before != after)
    }

    /// The days read for `member`, by day.
    pub async fn calendar_days(&self, member: MemberId) -> StoreResult<Vec<CalendarDay>> {
        let rows = sqlx::query(
            "SELECT day, kind, uid, summary FROM calendar_days WHERE member_id = $1
             ORDER BY day, kind, uid",
        )
        .bind(member)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let day: String = r.try_get(0)?;
            let kind: String = r.try_get(1)?;
            let Ok(day) = day.parse() else { continue };
            out.push(CalendarDay {
                day,
                kind: CalendarKind::parse(&kind),
                uid: r.try_get(2)?,
                summary: r.try_get(3)?,
            });
        }
        out.sort();
        Ok(out)
    }

    /// Ignores event `uid` of `member`'s calendars from now on (its days go at once).
    pub async fn ignore_event(
        &self,
        member: MemberId,
        uid: &str,
        summary: &str,
    ) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO calendar_ignored (member_id, uid, summary) VALUES ($1, $2, $3)
             ON CONFLICT (member_id, uid) DO NOTHING",
        )
        .bind(member)
        .bind(uid)
        .bind(summary)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM calendar_days WHERE member_id = $1 AND uid = $2")
            .bind(member)
            .bind(uid)
            .execute(&mut *tx)
            .await?;
        forget_state(&mut tx, member).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Counts event `uid` again.
    pub async fn unignore_event(&self, member: MemberId, uid: &str) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM calendar_ignored WHERE member_id = $1 AND uid = $2")
            .bind(member)
            .bind(uid)
            .execute(&mut *tx)
            .await?;
        forget_state(&mut tx, member).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The events `member` ignores: (uid, summary), by summary.
    pub async fn ignored_events(&self, member: MemberId) -> StoreResult<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT uid, summary FROM calendar_ignored WHERE member_id = $1 ORDER BY summary, uid",
        )
        .bind(member)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }

    /// The members' days away read from their own calendars, as ranges, by member.
    pub(super) async fn calendar_away_of(
        &self,
        list: &str,
    ) -> StoreResult<HashMap<MemberId, Vec<AwayRange>>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT DISTINCT member_id, day FROM calendar_days
             WHERE kind = 'personal' AND member_id IN ({list})"
        )))
        .fetch_all(&self.pool)
        .await?;
        let mut days: HashMap<MemberId, Vec<NaiveDate>> = HashMap::new();
        for r in &rows {
            let day: String = r.try_get(1)?;
            if let Ok(d) = day.parse() {
                days.entry(r.try_get(0)?).or_default().push(d);
            }
        }
        Ok(days.into_iter().map(|(m, d)| (m, ranges_of(d))).collect())
    }
}

/// Forgets what `member`'s days were computed from, so the next computation runs whatever
/// the inputs (the days were changed by hand: an event ignored or counted again).
async fn forget_state(conn: &mut sqlx::AnyConnection, member: MemberId) -> StoreResult<()> {
    sqlx::query("DELETE FROM calendar_state WHERE member_id = $1")
        .bind(member)
        .execute(conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_days_make_one_range() {
        let d = |s: &str| s.parse::<NaiveDate>().expect("date");
        let r = ranges_of([
            d("2026-12-24"),
            d("2026-12-22"),
            d("2026-12-23"),
            d("2027-01-02"),
        ]);
        assert_eq!(
            r,
            [
                AwayRange {
                    from: d("2026-12-22"),
                    to: d("2026-12-24")
                },
                AwayRange {
                    from: d("2027-01-02"),
                    to: d("2027-01-02")
                },
            ]
        );
    }
}
