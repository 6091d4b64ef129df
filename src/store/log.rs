//! The team log: a team's updates newest first, filtered by person, dates and blockers, or
//! searched by their text (SQLite FTS5 / PostgreSQL `tsvector`, behind one query), a page at a
//! time. What a reader may see is decided by the caller (`jobs::log`); this reads one team.

use chrono::{Datelike, NaiveDate};
use sqlx::{AssertSqlSafe, Row};

use super::team_updates::{TeamUpdate, team_update_from_row};
use super::{Backend, Store, StoreResult};
use crate::domain::MemberId;
use crate::domain::search::{self, Search, Snippet};
use crate::domain::sections;

/// The most entries one page holds.
pub const MAX_PAGE: i64 = 200;

/// Which of a team's updates to list.
#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    pub team: String,
    /// Only this author's.
    pub member: Option<MemberId>,
    /// Local dates from and to, both included.
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Words that must all occur (`"a phrase"` in double quotes, `-word` must not); ranked.
    pub text: Option<Search>,
    /// Only updates with a blockers section.
    pub blockers: bool,
    /// Only the answers to this check-in (0: the daily stand-up).
    pub checkin: Option<i64>,
    /// Where the previous page ended.
    pub after: Option<Cursor>,
    /// Entries per page (1 to [`MAX_PAGE`]).
    pub limit: i64,
}

/// Where a page ends: the last (date, id) of a listing newest first, or how many results of
/// a ranked search were shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    Date(NaiveDate, i64),
    Offset(i64),
}

impl Cursor {
    /// The cursor as it travels in a `cursor=` query parameter: `d<days>.<id>` (the date as
    /// days since 0001-01-01) or `o<offset>`, so any string of that shape reads back.
    pub fn encode(self) -> String {
        match self {
            Cursor::Date(d, id) => format!("d{}.{id}", d.num_days_from_ce()),
            Cursor::Offset(n) => format!("o{n}"),
        }
    }

    /// The shape of a cursor, as the API's document states it.
    pub const PATTERN: &'static str = r"^(d[0-9]{1,7}\.[0-9]{1,18}|o[0-9]{1,9})$";

    /// A cursor of [`Cursor::PATTERN`]'s shape; `None` for anything else.
    pub fn decode(s: &str) -> Option<Cursor> {
        let digits = |t: &str, max: usize| {
            (!t.is_empty() && t.len() <= max && t.bytes().all(|b| b.is_ascii_digit()))
                .then(|| t.parse::<i64>().ok())
                .flatten()
        };
        if let Some(n) = s.strip_prefix('o') {
            return digits(n, 9).map(Cursor::Offset);
        }
        let (d, id) = s.strip_prefix('d')?.split_once('.')?;
        let d = NaiveDate::from_num_days_from_ce_opt(i32::try_from(digits(d, 7)?).ok()?)?;
        Some(Cursor::Date(d, digits(id, 18)?))
    }
}

/// One listed update, with its author and, for a search, the matching text.
#[derive(Debug, Clone)]
pub struct LogEntry {
    pub update: TeamUpdate,
    /// For a search: the passages that matched, with where the words are.
    pub snippet: Option<Snippet>,
}

/// One page of the log and where the next one starts.
#[derive(Debug, Clone, Default)]
pub struct LogPage {
    pub entries: Vec<LogEntry>,
    pub next: Option<Cursor>,
}

/// A search as SQLite's FTS5 reads it: every word or `"phrase"` quoted (so no word is read as
/// an operator), all required, `-word` excluded. `None` when nothing is required.
pub fn fts5_query(search: &Search) -> Option<String> {
    if search.required().is_empty() {
        return None;
    }
    let quote = |t: &str| format!("\"{}\"", t.replace('"', "\"\""));
    let mut q = format!(
        "({})",
        search
            .required()
            .iter()
            .map(|t| quote(t))
            .collect::<Vec<_>>()
            .join(" ")
    );
    for t in search.excluded() {
        q.push_str(&format!(" NOT {}", quote(t)));
    }
    Some(q)
}

impl Store {
    /// The members of team `team`, or `None` when there is no such team.
    pub async fn team_member_ids(&self, team: &str) -> StoreResult<Option<Vec<MemberId>>> {
        let Some(id) = self.team_id(team).await? else {
            return Ok(None);
        };
        let rows = sqlx::query("SELECT member_id FROM team_members WHERE team_id = $1")
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
        Ok(Some(
            rows.iter()
                .map(|r| r.try_get(0))
                .collect::<Result<_, _>>()?,
        ))
    }

    /// One page of team `q.team`'s log: newest first (local date, then id), or, for a search,
    /// best match first. An author's updates are the team's while they are in it.
    pub async fn team_log(&self, q: &LogQuery) -> StoreResult<LogPage> {
        let limit = q.limit.clamp(1, MAX_PAGE);
        // The team's members first, then their updates by a list of ids: a plan each backend
        // gets right (PostgreSQL walks the newest updates of a list, or intersects its indexes,
        // where a subquery had it read every member's updates).
        let members: Vec<i64> = sqlx::query(
            "SELECT tm.member_id FROM team_members tm JOIN teams t ON t.id = tm.team_id WHERE t.name = $1",
        )
        .bind(q.team.as_str())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
        if members.is_empty() {
            return Ok(LogPage::default());
        }
        let mut binds: Vec<Bind> = Vec::new();
        let next = |b: Bind, binds: &mut Vec<Bind>| {
            binds.push(b);
            format!("${}", binds.len())
        };
        let mut conds = vec![format!("u.member_id IN ({})", super::id_list(&members))];
        if let Some(m) = q.member {
            conds.push(format!("u.member_id = {}", next(Bind::Int(m), &mut binds)));
        }
        if let Some(d) = q.from {
            conds.push(format!(
                "u.local_date >= {}",
                next(Bind::Text(d.to_string()), &mut binds)
            ));
        }
        if let Some(d) = q.to {
            conds.push(format!(
                "u.local_date <= {}",
                next(Bind::Text(d.to_string()), &mut binds)
            ));
        }
        if q.blockers {
            conds.push(r#"u.sections LIKE '%"kind":"blockers"%'"#.to_string());
        }
        if let Some(c) = q.checkin {
            conds.push(format!("u.checkin = {}", next(Bind::Int(c), &mut binds)));
        }
        if let Some(text) = &q.text {
            return self.search(q, text, limit, conds, binds).await;
        }
        if let Some(Cursor::Date(d, id)) = q.after {
            let (d, id) = (
                next(Bind::Text(d.to_string()), &mut binds),
                next(Bind::Int(id), &mut binds),
            );
            conds.push(format!(
                "(u.local_date < {d} OR (u.local_date = {d} AND u.id < {id}))"
            ));
        }
        let sql = format!(
            "SELECT u.id, u.member_id, u.local_date, u.body, u.source, u.revision, u.created_at, u.updated_at,
                    u.sections, m.name, m.email, m.timezone, u.checkin, ck.name AS checkin_name
             FROM updates u JOIN members m ON m.id = u.member_id
             LEFT JOIN checkins ck ON ck.id = u.checkin
             WHERE {} ORDER BY u.local_date DESC, u.id DESC LIMIT {}",
            conds.join(" AND "),
            limit + 1
        );
        let rows = bound(&sql, &binds).fetch_all(&self.pool).await?;
        let more = rows.len() as i64 > limit;
        let mut entries = Vec::with_capacity(rows.len());
        for r in rows.iter().take(limit as usize) {
            entries.push(LogEntry {
                update: team_update_from_row(r)?,
                snippet: None,
            });
        }
        let next = match (more, entries.last()) {
            (true, Some(e)) => Some(Cursor::Date(e.update.update.local_date, e.update.update.id)),
            _ => None,
        };
        // The SQL condition finds a blockers section; one that says "none" is not a blocker.
        // Filtered after the cursor is taken, so the next page starts after what was read.
        if q.blockers {
            entries.retain(|e| !sections::blocker_lines(&e.update.update.sections).is_empty());
        }
        Ok(LogPage { entries, next })
    }

    /// A ranked search of one team's updates. Ranked among the team's newest
    /// [`RANKED`] matches: the index gives them newest first (FTS5 reads its doclists
    /// backwards; PostgreSQL walks the primary key backwards for a common word, or intersects
    /// the members' index with the words' GIN index for a rarer one), each
    /// is scored (bm25 / `ts_rank`) and sorted here, and only the page's entries are read
    /// whole, with their snippets. A word in a third of a million updates thus costs about the
    /// same as a rare one, instead of every match in the index being ranked first. Snippets
    /// are made here from the text and the search ([`search::snippet`]), not by the index: its
    /// marks would be characters in the text, which an update might hold itself.
    async fn search(
        &self,
        q: &LogQuery,
        text: &Search,
        limit: i64,
        mut conds: Vec<String>,
        mut binds: Vec<Bind>,
    ) -> StoreResult<LogPage> {
        let pg = self.backend == Backend::Postgres;
        let in_comments = self.comment_matches(text, &conds, &binds).await?;
        let offset = match q.after {
            Some(Cursor::Offset(n)) => n,
            _ => 0,
        };
        let (from, score, order, matched) = if pg {
            binds.push(Bind::Text(text.text().to_string()));
            let tsq = format!("websearch_to_tsquery('simple', ${})", binds.len());
            (
                "updates u".to_string(),
                format!("ts_rank(u.search, {tsq})"),
                "u.id DESC",
                format!("u.search @@ {tsq}"),
            )
        } else {
            let Some(fts) = fts5_query(text) else {
                return Ok(LogPage::default());
            };
            binds.push(Bind::Text(fts));
            (
                "updates_fts JOIN updates u ON u.id = updates_fts.rowid".to_string(),
                // bm25 is lower for a better match; negated so higher is better on both.
                "-bm25(updates_fts)".to_string(),
                "updates_fts.rowid DESC",
                format!("updates_fts MATCH ${}", binds.len()),
            )
        };
        conds.push(matched);
        let sql = format!(
            "SELECT u.id, u.local_date, {score} FROM {from} WHERE {} ORDER BY {order} LIMIT {RANKED}",
            conds.join(" AND ")
        );
        let rows = bound(&sql, &binds).fetch_all(&self.pool).await?;
        let mut hits: Vec<(i64, String, f64)> = Vec::with_capacity(rows.len());
        for r in &rows {
            let score: f64 = match r.try_get::<f64, _>(2) {
                Ok(x) => x,
                // PostgreSQL's ts_rank is a real (f32).
                Err(_) => f64::from(r.try_get::<f32, _>(2)?),
            };
            hits.push((r.try_get(0)?, r.try_get(1)?, score));
        }
        // Updates found by their comments only come after those found by their text.
        for (id, date) in in_comments {
            if !hits.iter().any(|h| h.0 == id) {
                hits.push((id, date, f64::MIN));
            }
        }
        // Best first; ties newest first (dates as YYYY-MM-DD sort as text).
        hits.sort_by(|a, b| {
            b.2.total_cmp(&a.2)
                .then_with(|| b.1.cmp(&a.1))
                .then_with(|| b.0.cmp(&a.0))
        });
        let page: Vec<i64> = hits
            .iter()
            .skip(offset.max(0) as usize)
            .take(limit as usize)
            .map(|h| h.0)
            .collect();
        let more = hits.len() as i64 > offset + limit;
        if page.is_empty() {
            return Ok(LogPage::default());
        }
        // The page's entries whole, with their snippets.
        let ids = super::id_list(&page);
        let sql = format!(
            "SELECT u.id, u.member_id, u.local_date, u.body, u.source, u.revision, u.created_at, u.updated_at,
                    u.sections, m.name, m.email, m.timezone, u.checkin, ck.name AS checkin_name
             FROM updates u JOIN members m ON m.id = u.member_id
             LEFT JOIN checkins ck ON ck.id = u.checkin
             WHERE u.id IN ({ids})"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        let mut by_id = std::collections::HashMap::with_capacity(rows.len());
        for r in &rows {
            let update = team_update_from_row(r)?;
            let e = LogEntry {
                snippet: Some(search::snippet(&update.update.body, text)),
                update,
            };
            by_id.insert(e.update.update.id, e);
        }
        let mut entries: Vec<LogEntry> = page.iter().filter_map(|id| by_id.remove(id)).collect();
        if q.blockers {
            entries.retain(|e| !sections::blocker_lines(&e.update.update.sections).is_empty());
        }
        Ok(LogPage {
            entries,
            next: more.then_some(Cursor::Offset(offset + limit)),
        })
    }
}

impl Store {
    /// The updates (id, local date) among those `conds` select whose comments hold every
    /// required word of `text` and none excluded: compared case-insensitively as substrings
    /// (`LIKE`; SQLite folds ASCII letters only). Comments are few beside updates, so no index.
    async fn comment_matches(
        &self,
        text: &Search,
        conds: &[String],
        binds: &[Bind],
    ) -> StoreResult<Vec<(i64, String)>> {
        let mut binds = binds.to_vec();
        let mut conds = conds.to_vec();
        let like = |t: &str| {
            let escaped = t
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            Bind::Text(format!("%{escaped}%"))
        };
        for (terms, not) in [(text.required(), ""), (text.excluded(), "NOT ")] {
            for t in terms {
                binds.push(like(t));
                conds.push(format!(
                    "lower(c.body) {not}LIKE ${} ESCAPE '\\'",
                    binds.len()
                ));
            }
        }
        let sql = format!(
            "SELECT DISTINCT u.id, u.local_date FROM comments c JOIN updates u ON u.id = c.update_id
             WHERE {} ORDER BY u.id DESC LIMIT {RANKED}",
            conds.join(" AND ")
        );
        let rows = bound(&sql, &binds).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }
}

/// A search ranks at most this many of a team's newest matches (narrow the dates to reach
/// older ones).
pub const RANKED: i64 = 500;

/// `sql` with `binds` bound in order.
fn bound<'q>(
    sql: &'q str,
    binds: &'q [Bind],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for b in binds {
        query = match b {
            Bind::Text(t) => query.bind(t.as_str()),
            Bind::Int(i) => query.bind(*i),
        };
    }
    query
}

#[derive(Clone)]
enum Bind {
    Text(String),
    Int(i64),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fts5_query(text: &str) -> Option<String> {
        super::fts5_query(&Search::parse(text).ok()??)
    }

    #[test]
    fn a_search_is_quoted_word_by_word_for_fts5() {
        assert_eq!(
            fts5_query("importer retry").as_deref(),
            Some(r#"("importer" "retry")"#)
        );
        assert_eq!(
            fts5_query(r#""staging database" -vpn NEAR"#).as_deref(),
            Some(r#"("staging database" "NEAR") NOT "vpn""#)
        );
        // Quotes inside a word, operators and punctuation are text, never syntax.
        assert_eq!(fts5_query(r#"a"b OR"#).as_deref(), Some(r#"("a""b" "OR")"#));
        assert_eq!(fts5_query("-- ... !"), None);
        assert_eq!(fts5_query("-only"), None);
        assert_eq!(
            fts5_query(r#""unclosed phrase"#).as_deref(),
            Some(r#"("unclosed phrase")"#)
        );
    }

    #[test]
    fn a_cursor_reads_back_and_nothing_else_does() {
        for c in [
            Cursor::Date(NaiveDate::from_ymd_opt(2026, 12, 4).unwrap(), 42),
            Cursor::Offset(50),
        ] {
            assert_eq!(Cursor::decode(&c.encode()), Some(c));
        }
        for bad in [
            "",
            "d",
            "d.1",
            "dx.1",
            "d1.",
            "o-1",
            "oX",
            "z1",
            "d12345678.1",
        ] {
            assert_eq!(Cursor::decode(bad), None, "{bad}");
        }
    }
}
