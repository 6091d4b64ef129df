//! Members: the one place a member row becomes a [`Member`], aliases, away ranges, teams joined.

use std::collections::HashMap;
use std::str::FromStr;

use chrono::NaiveDate;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::*;
use crate::domain::schedule::parse_tz;
use crate::domain::{
    AwayRange, Cadence, Delivery, EmailAddress, LocalTime, Member, MemberId, Workdays,
};

/// Preferences of a new or changed member; `None` fields keep their value (or take defaults).
#[derive(Debug, Clone, Default)]
pub struct MemberChange {
    pub name: Option<String>,
    pub tz: Option<chrono_tz::Tz>,
    pub request_at: Option<LocalTime>,
    pub digest_at: Option<LocalTime>,
    pub workdays: Option<Workdays>,
    pub cadence: Option<Cadence>,
    pub observer: Option<bool>,
    pub comments: Option<Delivery>,
    pub mentions: Option<Delivery>,
    pub paused: Option<bool>,
    pub unsubscribed: Option<bool>,
    /// Replaces the member's away ranges when set.
    pub away: Option<Vec<AwayRange>>,
    /// Replaces the member's teams when set (teams are created when missing).
    pub teams: Option<Vec<String>>,
}

impl Store {
    /// Adds a member; a duplicate email (or alias) is a `Conflict`.
    pub async fn add_member(
        &self,
        email: &EmailAddress,
        ch: &MemberChange,
        defaults: &MemberDefaults,
    ) -> StoreResult<MemberId> {
        let mut tx = self.write_tx().await?;
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
        let mut tx = self.write_tx().await.map_err(|e| (0, e))?;
        for (i, (email, ch)) in members.iter().enumerate() {
            add_member_tx(&mut tx, email, ch, defaults)
                .await
                .map_err(|e| (i + 1, e))?;
            progress(i + 1);
        }
        tx.commit().await.map_err(|e| (0, e.into()))?;
        Ok(members.len())
    }

    /// Stores how `member` shapes their digest. Their next digest instant stays: quiet days are
    /// skipped when they come.
    pub async fn set_digest_shape(
        &self,
        member: MemberId,
        shape: &crate::domain::shape::DigestShape,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE members SET digest_shape = $1 WHERE id = $2")
            .bind(shape.to_json())
            .bind(member)
            .execute(&self.pool)
            .await?;
        Ok(())
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
        let mut tx = self.write_tx().await?;
        let name = ch.name.clone().unwrap_or(m.name.clone());
        let tz = ch.tz.unwrap_or(m.tz);
        let request_at = ch.request_at.unwrap_or(m.request_at);
        let digest_at = ch.digest_at.unwrap_or(m.digest_at);
        let workdays = ch.workdays.unwrap_or(m.workdays);
        let cadence = ch.cadence.unwrap_or(m.cadence);
        let observer = ch.observer.unwrap_or(m.observer);
        let comments = ch.comments.unwrap_or(m.comments);
        let mentions = ch.mentions.unwrap_or(m.mentions);
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
             next_digest_date = NULL, updated_at = $8, cadence = $11, observer = $12,
             comments_delivery = $13, mentions_delivery = $14 WHERE id = $9",
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
        .bind(cadence.to_string())
        .bind(observer)
        .bind(comments.as_str())
        .bind(mentions.as_str())
        .execute(&mut *tx)
        .await?;
        // Their check-ins too: zone, request time, workdays or observer may have changed.
        sqlx::query(
            "UPDATE checkin_plans SET next_at = NULL, next_date = NULL WHERE member_id = $1",
        )
        .bind(m.id)
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
        let mut tx = self.write_tx().await?;
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
    pub(super) async fn hydrate(&self, rows: Vec<AnyRow>) -> StoreResult<Vec<Member>> {
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
        let mut calendar_away = self.calendar_away_of(&list).await?;
        for m in &mut members {
            m.teams = teams.remove(&m.id).unwrap_or_default();
            m.aliases = aliases.remove(&m.id).unwrap_or_default();
            m.away = away.remove(&m.id).unwrap_or_default();
            m.calendar_away = calendar_away.remove(&m.id).unwrap_or_default();
        }
        Ok(members)
    }

    pub async fn count_members(&self) -> StoreResult<i64> {
        Ok(sqlx::query("SELECT COUNT(*) FROM members")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?)
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

pub(super) const MEMBER_COLS: &str = "id, email, name, timezone, request_at, digest_at, workdays, paused, unsubscribed, bounces, created_at, cadence, observer, comments_delivery, mentions_delivery, feed_epoch, digest_shape";

/// The one place a member row becomes a [`Member`]; stored values that no longer parse are an error.
pub(super) fn member_from_row(r: &AnyRow) -> StoreResult<Member> {
    let bad =
        |what: &str, v: &str| StoreError::Other(anyhow::anyhow!("stored {what} {v:?} is invalid"));
    let email: String = r.try_get("email")?;
    let tz: String = r.try_get("timezone")?;
    let req: String = r.try_get("request_at")?;
    let dig: String = r.try_get("digest_at")?;
    let wd: i64 = r.try_get("workdays")?;
    let cadence: String = r.try_get("cadence")?;
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
        calendar_away: Vec::new(),
        teams: Vec::new(),
        aliases: Vec::new(),
        created_at: r.try_get("created_at")?,
        cadence: Cadence::parse(&cadence).map_err(|_| bad("digest cadence", &cadence))?,
        observer: get_bool(r, "observer")?,
        comments: delivery(r, "comments_delivery")?,
        mentions: delivery(r, "mentions_delivery")?,
        epoch: r.try_get("feed_epoch")?,
        // Unreadable (written by hand): the default digest rather than none.
        shape: Box::new(
            crate::domain::shape::DigestShape::from_json(&r.try_get::<String, _>("digest_shape")?)
                .unwrap_or_default(),
        ),
    })
}

fn delivery(r: &AnyRow, col: &str) -> StoreResult<Delivery> {
    let v: String = r.try_get(col)?;
    Delivery::parse(&v)
        .ok_or_else(|| StoreError::Other(anyhow::anyhow!("stored {col} {v:?} is invalid")))
}

pub(super) async fn add_member_tx(
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
        "INSERT INTO members (email, name, timezone, request_at, digest_at, workdays, paused, unsubscribed, created_at, updated_at,
         cadence, observer, comments_delivery, mentions_delivery)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11, $12, $13) ON CONFLICT (email) DO NOTHING",
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
    .bind(ch.cadence.unwrap_or_default().to_string())
    .bind(ch.observer.unwrap_or(false))
    .bind(ch.comments.unwrap_or_default().as_str())
    .bind(ch.mentions.unwrap_or_default().as_str())
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

pub(super) async fn insert_away(
    tx: &mut Tx<'_>,
    member: MemberId,
    a: &AwayRange,
) -> StoreResult<()> {
    sqlx::query("INSERT INTO away_ranges (member_id, from_date, to_date) VALUES ($1, $2, $3)")
        .bind(member)
        .bind(a.from.to_string())
        .bind(a.to.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub(super) async fn join_team(tx: &mut Tx<'_>, member: MemberId, team: &str) -> StoreResult<()> {
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
    super::checkins::ensure_standup(tx, tid).await?;
    sqlx::query(
        "INSERT INTO team_members (team_id, member_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(tid)
    .bind(member)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
