//! Calendars (#34): the addresses members and teams gave (each stored once, read at most once
//! per refresh interval, its last good copy kept), and the days read from them per member.
//! An address is a secret: [`CalendarLink::shown`] is all any page or command shows of it.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use sqlx::{AssertSqlSafe, Row};

use super::*;
use crate::domain::MemberId;
pub use crate::domain::calendar::CalendarKind;

/// A calendar as a page shows it: never its whole address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarLink {
    pub source_id: i64,
    pub kind: CalendarKind,
    /// `calendar.google.com …c7f2.ics`: the host and the last characters.
    pub shown: String,
    /// When it was last read (or found unchanged).
    pub fetched_at: Option<i64>,
    /// Why the last read failed, and since when reads fail.
    pub error: Option<String>,
    pub failing_since: Option<i64>,
}

/// A source due for a read.
#[derive(Debug, Clone)]
pub struct DueSource {
    pub id: i64,
    pub url: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// One day read from a member's calendars.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CalendarDay {
    pub day: NaiveDate,
    pub kind: CalendarKind,
    pub uid: String,
    pub summary: String,
}

/// `calendar.google.com …cdef`: what may be shown of address `url` — its host and the last
/// four characters of its path before a `/basic.ics` or `.ics` ending (Google's addresses all
/// end in `/basic.ics`; the characters before it tell two of them apart).
pub fn shown(url: &str) -> String {
    let parsed = url::Url::parse(url).ok();
    let host = parsed
        .as_ref()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    let path = parsed
        .as_ref()
        .map(|u| u.path().to_string())
        .unwrap_or_default();
    let stem = path.strip_suffix(".ics").unwrap_or(&path);
    let stem = stem
        .strip_suffix("/basic")
        .unwrap_or(stem)
        .trim_end_matches('/');
    let chars: Vec<char> = stem.chars().collect();
    let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    format!("{host} …{tail}")
}

impl Store {
    /// The id of the source for `url` (an address already normalised), made when new.
    async fn source_id(conn: &mut sqlx::AnyConnection, url: &str) -> StoreResult<i64> {
        sqlx::query("INSERT INTO calendar_sources (url) VALUES ($1) ON CONFLICT (url) DO NOTHING")
            .bind(url)
            .execute(&mut *conn)
            .await?;
        Ok(
            sqlx::query("SELECT id FROM calendar_sources WHERE url = $1")
                .bind(url)
                .fetch_one(&mut *conn)
                .await?
                .try_get(0)?,
        )
    }

    /// Gives `member` the calendar at `url` (read by `kind`'s rule); true when it is new.
    pub async fn add_member_calendar(
        &self,
        member: MemberId,
        url: &str,
        kind: CalendarKind,
    ) -> StoreResult<bool> {
        let mut tx = self.write_tx().await?;
        let id = Self::source_id(&mut tx, url).await?;
        let r = sqlx::query(
            "INSERT INTO member_calendars (member_id, source_id, kind, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (member_id, source_id) DO NOTHING",
        )
        .bind(member)
        .bind(id)
        .bind(kind.as_str())
        .bind(now_unix())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(r.rows_affected() > 0)
    }

    /// Takes every calendar of `member` away (`calendar off`), and the days read from them.
    pub async fn remove_member_calendars(&self, member: MemberId) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        for sql in [
            "DELETE FROM member_calendars WHERE member_id = $1",
            "DELETE FROM calendar_days WHERE member_id = $1",
            "DELETE FROM calendar_state WHERE member_id = $1",
        ] {
            sqlx::query(sql).bind(member).execute(&mut *tx).await?;
        }
        drop_unused_sources(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Takes calendar `source` of `member` away (the days read from it go at the next
    /// computation, which `jobs::calendars::refresh_member` runs at once).
    pub async fn remove_member_calendar(&self, member: MemberId, source: i64) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM member_calendars WHERE member_id = $1 AND source_id = $2")
            .bind(member)
            .bind(source)
            .execute(&mut *tx)
            .await?;
        drop_unused_sources(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Gives team `team` the holiday calendar at `url`; true when it is new.
    pub async fn add_team_calendar(&self, team: i64, url: &str) -> StoreResult<bool> {
        let mut tx = self.write_tx().await?;
        let id = Self::source_id(&mut tx, url).await?;
        let r = sqlx::query(
            "INSERT INTO team_calendars (team_id, source_id, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (team_id, source_id) DO NOTHING",
        )
        .bind(team)
        .bind(id)
        .bind(now_unix())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(r.rows_affected() > 0)
    }

    /// Takes sources `gone` away from team `team` and gives it the calendars at `add`, in one
    /// transaction.
    pub async fn set_team_calendars(
        &self,
        team: i64,
        gone: &[i64],
        add: &[String],
    ) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        for id in gone {
            sqlx::query("DELETE FROM team_calendars WHERE team_id = $1 AND source_id = $2")
                .bind(team)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        for url in add {
            let id = Self::source_id(&mut tx, url).await?;
            sqlx::query(
                "INSERT INTO team_calendars (team_id, source_id, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT (team_id, source_id) DO NOTHING",
            )
            .bind(team)
            .bind(id)
            .bind(now_unix())
            .execute(&mut *tx)
            .await?;
        }
        drop_unused_sources(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Takes every holiday calendar of team `team` away.
    pub async fn remove_team_calendars(&self, team: i64) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM team_calendars WHERE team_id = $1")
            .bind(team)
            .execute(&mut *tx)
            .await?;
        drop_unused_sources(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The calendars of `member` (their own and regional ones), as shown.
    pub async fn member_calendars(&self, member: MemberId) -> StoreResult<Vec<CalendarLink>> {
        self.links(
            "SELECT s.id, mc.kind, s.url, s.fetched_at, s.error, s.failing_since
             FROM member_calendars mc JOIN calendar_sources s ON s.id = mc.source_id
             WHERE mc.member_id = $1 ORDER BY mc.created_at, s.id",
            member,
        )
        .await
    }

    /// The holiday calendars of team `team`, as shown.
    pub async fn team_calendars(&self, team: i64) -> StoreResult<Vec<CalendarLink>> {
        self.links(
            "SELECT s.id, 'holidays', s.url, s.fetched_at, s.error, s.failing_since
             FROM team_calendars tc JOIN calendar_sources s ON s.id = tc.source_id
             WHERE tc.team_id = $1 ORDER BY tc.created_at, s.id",
            team,
        )
        .await
    }

    async fn links(&self, sql: &'static str, id: i64) -> StoreResult<Vec<CalendarLink>> {
        let rows = sqlx::query(sql).bind(id).fetch_all(&self.pool).await?;
        rows.iter().map(link_of).collect()
    }

    /// Calendar addresses by state: `ok` (last read good), `failing` (the last read failed:
    /// the last good copy is used), `unread` (never read yet).
    pub async fn calendar_states(&self) -> StoreResult<Vec<(&'static str, i64)>> {
        self.fetched_states(super::fetched::Fetched::Calendars)
            .await
    }

    /// Every calendar address whose last read failed, as shown, oldest failure first.
    pub async fn failing_calendars(&self) -> StoreResult<Vec<CalendarLink>> {
        let rows = sqlx::query(
            "SELECT s.id, 'personal', s.url, s.fetched_at, s.error, s.failing_since
             FROM calendar_sources s WHERE s.error IS NOT NULL ORDER BY s.failing_since, s.id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(link_of).collect()
    }

    /// The sources of `member`'s own calendars never tried yet.
    pub async fn unread_sources_of(&self, member: MemberId) -> StoreResult<Vec<DueSource>> {
        let rows = sqlx::query(
            "SELECT s.id, s.url, s.etag, s.last_modified FROM calendar_sources s
             JOIN member_calendars mc ON mc.source_id = s.id
             WHERE mc.member_id = $1 AND s.tried_at IS NULL ORDER BY s.id",
        )
        .bind(member)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(due_source_of).collect()
    }

    /// Sources not tried since `before` (Unix seconds), oldest first.
    pub async fn due_sources(&self, before: i64, limit: i64) -> StoreResult<Vec<DueSource>> {
        let rows = sqlx::query(
            "SELECT id, url, etag, last_modified FROM calendar_sources
             WHERE tried_at IS NULL OR tried_at <= $1 ORDER BY tried_at IS NOT NULL, tried_at, id LIMIT $2",
        )
        .bind(before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(due_source_of).collect()
    }

    /// Records a read of source `id`: a new body (with its validators and hash), `None` for
    /// "unchanged" (304), or the error (the last good copy stays).
    pub async fn record_read(
        &self,
        id: i64,
        read: Result<Option<SourceBody<'_>>, &str>,
        now: i64,
    ) -> StoreResult<()> {
        use super::fetched::Fetched::Calendars;
        let b = match read {
            Ok(Some(b)) => b,
            Ok(None) => return self.record_no_copy(Calendars, id, Ok(()), now).await,
            Err(e) => return self.record_no_copy(Calendars, id, Err(e), now).await,
        };
        sqlx::query(
            "UPDATE calendar_sources SET body = $1, body_hash = $2, etag = $3, last_modified = $4,
             fetched_at = $5, tried_at = $5, error = NULL, failing_since = NULL WHERE id = $6",
        )
        .bind(b.bytes.to_vec())
        .bind(b.hash.to_string())
        .bind(b.etag.map(str::to_string))
        .bind(b.last_modified.map(str::to_string))
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every member with a calendar of their own or of a team of theirs: the sources each
    /// reads (source id, rule, hash of its last good body; none yet: not listed).
    /// `only`: that member alone (a page or command computing one member's days).
    pub async fn calendar_readers(
        &self,
        only: Option<MemberId>,
    ) -> StoreResult<BTreeMap<MemberId, Vec<(i64, CalendarKind, String)>>> {
        // An id, not text from outside.
        let (mine, theirs) = match only {
            Some(m) => (
                format!(" AND mc.member_id = {m}"),
                format!(" AND tm.member_id = {m}"),
            ),
            None => (String::new(), String::new()),
        };
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT mc.member_id, s.id, mc.kind, s.body_hash FROM member_calendars mc
               JOIN calendar_sources s ON s.id = mc.source_id WHERE s.body_hash IS NOT NULL{mine}
             UNION
             SELECT tm.member_id, s.id, 'holidays', s.body_hash FROM team_calendars tc
               JOIN team_members tm ON tm.team_id = tc.team_id
               JOIN calendar_sources s ON s.id = tc.source_id WHERE s.body_hash IS NOT NULL{theirs}"
        )))
        .fetch_all(&self.pool)
        .await?;
        let mut out: BTreeMap<MemberId, Vec<(i64, CalendarKind, String)>> = BTreeMap::new();
        for r in &rows {
            let kind: String = r.try_get(2)?;
            out.entry(r.try_get(0)?).or_default().push((
                r.try_get(1)?,
                CalendarKind::parse(&kind),
                r.try_get(3)?,
            ));
        }
        for v in out.values_mut() {
            v.sort();
        }
        Ok(out)
    }

    /// The last good bodies of sources `ids`.
    pub async fn source_bodies(&self, ids: &[i64]) -> StoreResult<HashMap<i64, Vec<u8>>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT id, body FROM calendar_sources WHERE body IS NOT NULL AND id IN ({})",
            id_list(ids)
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }
}

/// A source row (id, url, etag, last_modified) to read.
fn due_source_of(r: &sqlx::any::AnyRow) -> StoreResult<DueSource> {
    Ok(DueSource {
        id: r.try_get(0)?,
        url: r.try_get(1)?,
        etag: r.try_get(2)?,
        last_modified: r.try_get(3)?,
    })
}

/// A calendar row (id, kind, url, fetched_at, error, failing_since) as shown.
fn link_of(r: &sqlx::any::AnyRow) -> StoreResult<CalendarLink> {
    let url: String = r.try_get(2)?;
    let kind: String = r.try_get(1)?;
    Ok(CalendarLink {
        source_id: r.try_get(0)?,
        kind: CalendarKind::parse(&kind),
        shown: shown(&url),
        fetched_at: r.try_get(3)?,
        error: r.try_get(4)?,
        failing_since: r.try_get(5)?,
    })
}

/// A new body of a source, as [`Store::record_read`] stores it.
#[derive(Debug, Clone, Copy)]
pub struct SourceBody<'a> {
    pub bytes: &'a [u8],
    pub hash: &'a str,
    pub etag: Option<&'a str>,
    pub last_modified: Option<&'a str>,
}

/// Forgets sources no member or team reads any more (their address is a secret: not kept).
async fn drop_unused_sources(conn: &mut sqlx::AnyConnection) -> StoreResult<()> {
    sqlx::query(
        "DELETE FROM calendar_sources WHERE id NOT IN (SELECT source_id FROM member_calendars)
         AND id NOT IN (SELECT source_id FROM team_calendars)",
    )
    .execute(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_shown_as_its_host_and_last_characters() {
        assert_eq!(
            shown(
                "https://calendar.google.com/calendar/ical/x%40gmail.com/private-0123456789abcdef/basic.ics"
            ),
            "calendar.google.com …cdef"
        );
        assert_eq!(
            shown("https://outlook.office365.com/owa/calendar/abc/9f8e7d6c/calendar.ics"),
            "outlook.office365.com …ndar"
        );
        assert_eq!(shown("not an address"), " …");
    }
}
