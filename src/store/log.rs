//! The team log: a team's updates newest first, filtered by person, dates and blockers, or
//! searched by their text (SQLite FTS5 / PostgreSQL `tsvector`, behind one query), a page at a
//! time. What a reader may see is decided by the caller (`jobs::log`); this reads one team.

use chrono::{Datelike, NaiveDate};
use sqlx::{AssertSqlSafe, Row};

use super::updates::{TeamUpdate, update_from_row};
use super::{Backend, Store, StoreResult};
use crate::domain::MemberId;
use crate::domain::sections;

/// Marks the start and end of a matched word in a [`LogEntry::snippet`] (control characters no
/// update holds once read: a renderer escapes the text, then turns these into its own marks).
pub const MATCH_START: char = '\u{2}';
pub const MATCH_END: char = '\u{3}';

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
    pub text: Option<String>,
    /// Only updates with a blockers section.
    pub blockers: bool,
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
    /// The passages that matched, words marked with [`MATCH_START`] / [`MATCH_END`].
    pub snippet: Option<String>,
}

/// One page of the log and where the next one starts.
#[derive(Debug, Clone, Default)]
pub struct LogPage {
    pub entries: Vec<LogEntry>,
    pub next: Option<Cursor>,
}

/// A search as SQLite's FTS5 reads it: every word or `"phrase"` quoted (so no word is read as
/// an operator), all required, `-word` excluded. `None` when nothing is left to look for.
pub fn fts5_query(text: &str) -> Option<String> {
    let (with, without) = terms(text);
    if with.is_empty() {
        return None;
    }
    let quote = |t: &str| format!("\"{}\"", t.replace('"', "\"\""));
    let mut q = format!(
        "({})",
        with.iter().map(|t| quote(t)).collect::<Vec<_>>().join(" ")
    );
    for t in without {
        q.push_str(&format!(" NOT {}", quote(&t)));
    }
    Some(q)
}

/// The words and phrases of a search: those required, those excluded (`-word`).
pub fn terms(text: &str) -> (Vec<String>, Vec<String>) {
    let (mut with, mut without) = (Vec::new(), Vec::new());
    let mut rest = text.trim();
    while !rest.is_empty() {
        let (negated, r) = match rest.strip_prefix('-') {
            Some(r) if !r.starts_with(char::is_whitespace) && !r.is_empty() => (true, r),
            _ => (false, rest),
        };
        let (term, r) = if let Some(r) = r.strip_prefix('"') {
            match r.find('"') {
                Some(end) => (&r[..end], &r[end + 1..]),
                None => (r, ""),
            }
        } else {
            match r.find(char::is_whitespace) {
                Some(end) => (&r[..end], &r[end..]),
                None => (r, ""),
            }
        };
        // Only what a tokenizer keeps counts: a term of punctuation alone matches nothing.
        if term.chars().any(char::is_alphanumeric) {
            if negated {
                without.push(term.to_string());
            } else {
                with.push(term.to_string());
            }
        }
        rest = r.trim_start();
    }
    (with, without)
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
        let pg = self.backend == Backend::Postgres;
        let mut binds: Vec<Bind> = vec![Bind::Text(q.team.clone())];
        let next = |b: Bind, binds: &mut Vec<Bind>| {
            binds.push(b);
            format!("${}", binds.len())
        };
        let mut conds = vec![
            "u.member_id IN (SELECT tm.member_id FROM team_members tm JOIN teams t ON t.id = tm.team_id WHERE t.name = $1)".to_string(),
        ];
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
        let search = q.text.as_deref().map(str::trim).filter(|t| !t.is_empty());
        let mut from = "updates u JOIN members m ON m.id = u.member_id".to_string();
        let mut extra = String::new();
        let order = match search {
            None => {
                if let Some(Cursor::Date(d, id)) = q.after {
                    let (d, id) = (
                        next(Bind::Text(d.to_string()), &mut binds),
                        next(Bind::Int(id), &mut binds),
                    );
                    conds.push(format!(
                        "(u.local_date < {d} OR (u.local_date = {d} AND u.id < {id}))"
                    ));
                }
                "u.local_date DESC, u.id DESC".to_string()
            }
            Some(text) if pg => {
                let p = next(Bind::Text(text.to_string()), &mut binds);
                let tsq = format!("websearch_to_tsquery('simple', {p})");
                conds.push(format!("u.search @@ {tsq}"));
                extra = format!(
                    ", ts_headline('simple', u.body, {tsq}, 'StartSel=' || chr(2) || ', StopSel=' || chr(3) || ', MaxFragments=2, MinWords=6, MaxWords=18, FragmentDelimiter=\" … \"')"
                );
                format!("ts_rank(u.search, {tsq}) DESC, u.local_date DESC, u.id DESC")
            }
            Some(text) => {
                let Some(fts) = fts5_query(text) else {
                    return Ok(LogPage::default());
                };
                let p = next(Bind::Text(fts), &mut binds);
                from.push_str(" JOIN updates_fts ON updates_fts.rowid = u.id");
                conds.push(format!("updates_fts MATCH {p}"));
                extra = ", snippet(updates_fts, 0, char(2), char(3), ' … ', 18)".to_string();
                "bm25(updates_fts), u.local_date DESC, u.id DESC".to_string()
            }
        };
        let offset = match (search, q.after) {
            (Some(_), Some(Cursor::Offset(n))) => n,
            _ => 0,
        };
        let sql = format!(
            "SELECT u.id, u.member_id, u.local_date, u.body, u.source, u.revision, u.created_at, u.updated_at,
                    u.sections, m.name, m.email{extra}
             FROM {from} WHERE {} ORDER BY {order} LIMIT {} OFFSET {offset}",
            conds.join(" AND "),
            limit + 1
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for b in binds {
            query = match b {
                Bind::Text(t) => query.bind(t),
                Bind::Int(i) => query.bind(i),
            };
        }
        let rows = query.fetch_all(&self.pool).await?;
        let more = rows.len() as i64 > limit;
        let mut entries = Vec::with_capacity(rows.len());
        for r in rows.iter().take(limit as usize) {
            entries.push(LogEntry {
                update: TeamUpdate {
                    update: update_from_row(r)?,
                    author_name: r.try_get(9)?,
                    author_email: r.try_get(10)?,
                },
                snippet: if search.is_some() {
                    Some(r.try_get(11)?)
                } else {
                    None
                },
            });
        }
        let next = match (more, search, entries.last()) {
            (false, ..) | (_, _, None) => None,
            (true, Some(_), _) => Some(Cursor::Offset(offset + limit)),
            (true, None, Some(e)) => {
                Some(Cursor::Date(e.update.update.local_date, e.update.update.id))
            }
        };
        // The SQL condition finds a blockers section; one that says "none" is not a blocker.
        // Filtered after the cursor is taken, so the next page starts after what was read.
        if q.blockers {
            entries.retain(|e| !sections::blocker_lines(&e.update.update.sections).is_empty());
        }
        Ok(LogPage { entries, next })
    }
}

enum Bind {
    Text(String),
    Int(i64),
}

#[cfg(test)]
mod tests {
    use super::*;

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
