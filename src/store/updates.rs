//! Updates (one per member and local date; later replies append and bump the revision) and the
//! digest bookkeeping: which revision of which update reached which reader.

use std::collections::HashSet;
use std::str::FromStr;

use chrono::NaiveDate;
use sqlx::{AssertSqlSafe, Row};

use super::events;
use super::outbox::{NewEmail, insert};
use super::{NextInstant, Store, StoreError, StoreResult};
use crate::domain::MemberId;
use crate::domain::sections::{self, Section};

/// Rows per multi-row INSERT into `digest_deliveries` (2 bound values each, far below the
/// parameter limits of SQLite and PostgreSQL).
const DELIVERY_CHUNK: usize = 500;

/// What storing an update did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpsertOutcome {
    pub id: i64,
    pub revision: i64,
    /// True when an update for that day existed and this one was appended to (or replaced) it.
    pub edited: bool,
}

#[derive(Debug, Clone)]
pub struct UpdateRow {
    pub id: i64,
    pub member_id: MemberId,
    pub local_date: NaiveDate,
    pub body: String,
    pub source: String,
    pub revision: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// The text read as the questions it answers (stored; see [`crate::domain::sections`]).
    pub sections: Vec<Section>,
    /// The check-in it answers: 0 for the daily stand-up.
    pub checkin: i64,
    /// The name of that check-in, where the query read it (the team log, the API, exports);
    /// `None` for the stand-up.
    pub checkin_name: Option<String>,
}

/// A digest ready to queue: the email and the (update, revision) pairs it carries.
#[derive(Debug, Clone)]
pub struct QueuedDigest {
    pub email: NewEmail,
    pub reader: MemberId,
    pub items: Vec<(i64, i64)>,
    /// Updates that mention the reader, carried under "Needs you".
    pub mentions: Vec<i64>,
    /// Comments carried under "Comments".
    pub comments: Vec<i64>,
}

/// Which update: a member's answer to one check-in (0: the stand-up) for one local date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UpdateKey {
    pub member: MemberId,
    pub date: NaiveDate,
    pub checkin: i64,
}

/// An update request ready to queue, with the reminder to plan if it is new.
#[derive(Debug, Clone)]
pub struct QueuedRequest {
    pub email: NewEmail,
    pub member: MemberId,
    /// When the reminder is due (UTC seconds) and for which local date; `None`: no reminder.
    pub reminder: Option<(i64, NaiveDate)>,
}

/// Inserts one digest and its delivery records on `conn` (the caller's transaction); `None`
/// when it was queued before (the idempotency key exists), and then nothing is written.
async fn enqueue_digest_on(
    conn: &mut sqlx::AnyConnection,
    email: &NewEmail,
    reader: MemberId,
    items: &[(i64, i64)],
    now: i64,
) -> StoreResult<Option<i64>> {
    let Some(id) = insert(&mut *conn, email, now).await? else {
        return Ok(None);
    };
    // One multi-row INSERT per chunk instead of one statement per update: a digest of a
    // 100-member team records 99 rows, and a fan-out of 10,000 digests a million.
    for chunk in items.chunks(DELIVERY_CHUNK) {
        let mut sql = String::from(
            "INSERT INTO digest_deliveries (reader_id, update_id, revision, outbox_id) VALUES ",
        );
        for i in 0..chunk.len() {
            if i > 0 {
                sql.push_str(", ");
            }
            let b = i * 2 + 3;
            sql.push_str(&format!("($1, ${b}, ${}, $2)", b + 1));
        }
        sql.push_str(" ON CONFLICT DO NOTHING");
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(reader).bind(id);
        for (update, revision) in chunk {
            q = q.bind(update).bind(revision);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(Some(id))
}

impl Store {
    /// Stores the stand-up update of `member` for `date`. A second one the same day is appended
    /// (or replaces the first when `replace`), bumping the revision so digests show it again.
    /// `questions` are those the member was asked (their team's), read as section labels.
    #[allow(clippy::too_many_arguments)]
    pub async fn upsert_update(
        &self,
        member: MemberId,
        date: NaiveDate,
        body: &str,
        questions: &[String],
        source: &str,
        message_id: Option<&str>,
        replace: bool,
        now: i64,
    ) -> StoreResult<UpsertOutcome> {
        let key = UpdateKey {
            member,
            date,
            checkin: 0,
        };
        let labels = sections::labels_of(questions);
        self.upsert_answer(key, body, &labels, source, message_id, replace, now)
            .await
    }

    /// [`Store::upsert_update`] for any check-in: the member's answer to check-in
    /// `key.checkin` (0: the stand-up) for its local date, read with `labels` (its questions
    /// with their kinds, [`sections::labels_of`] for the team's own).
    #[allow(clippy::too_many_arguments)]
    pub async fn upsert_answer(
        &self,
        key: UpdateKey,
        body: &str,
        labels: &[(sections::Kind, String)],
        source: &str,
        message_id: Option<&str>,
        replace: bool,
        now: i64,
    ) -> StoreResult<UpsertOutcome> {
        let mut tx = self.write_tx().await?;
        let out = upsert_update_tx(
            &mut tx,
            self.web_base.as_deref(),
            key,
            (body, labels, source, message_id, replace),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(out)
    }

    /// The stand-up update of `member` for `date`.
    pub async fn update_for(
        &self,
        member: MemberId,
        date: NaiveDate,
    ) -> StoreResult<Option<UpdateRow>> {
        self.answer_for(UpdateKey {
            member,
            date,
            checkin: 0,
        })
        .await
    }

    /// The update of `key.member` answering check-in `key.checkin` for `key.date`.
    pub async fn answer_for(&self, key: UpdateKey) -> StoreResult<Option<UpdateRow>> {
        let r = sqlx::query(AssertSqlSafe(format!(
            "{ONE_UPDATE} WHERE u.member_id = $1 AND u.local_date = $2 AND u.checkin = $3"
        )))
        .bind(key.member)
        .bind(key.date.to_string())
        .bind(key.checkin)
        .fetch_optional(&self.pool)
        .await?;
        r.as_ref().map(update_from_row).transpose()
    }

    /// The latest update of `member` for a local date before `date`.
    pub async fn latest_update_before(
        &self,
        member: MemberId,
        date: NaiveDate,
    ) -> StoreResult<Option<UpdateRow>> {
        let r = sqlx::query(AssertSqlSafe(format!(
            "{ONE_UPDATE} WHERE u.member_id = $1 AND u.local_date < $2 AND u.checkin = 0
             ORDER BY u.local_date DESC LIMIT 1"
        )))
        .bind(member)
        .bind(date.to_string())
        .fetch_optional(&self.pool)
        .await?;
        r.as_ref().map(update_from_row).transpose()
    }

    /// Queues several digests and moves their readers' planned instants in one transaction.
    /// Each digest's outbox row and the update revisions it carries (`digest_deliveries`) are
    /// written together, so each revision reaches a reader exactly once. One transaction:
    /// one commit for a batch of a fan-out instead of two per reader. Returns, per digest,
    /// whether it was new (false: queued before, nothing written for it).
    pub async fn enqueue_digests(
        &self,
        digests: &[QueuedDigest],
        moves: &[NextInstant],
        now: i64,
    ) -> StoreResult<Vec<bool>> {
        let mut tx = self.write_tx().await?;
        let mut queued = Vec::with_capacity(digests.len());
        for d in digests {
            queued.push(
                enqueue_digest_on(&mut tx, &d.email, d.reader, &d.items, now)
                    .await?
                    .is_some(),
            );
            if queued.last() == Some(&true) {
                super::mentions::deliver_mentions_on(&mut tx, d.reader, &d.mentions, now).await?;
                super::comments::deliver_comments_on(&mut tx, d.reader, &d.comments, now).await?;
            }
        }
        super::commit_with_moves(tx, moves).await?;
        Ok(queued)
    }

    /// Queues several update requests and moves the members' planned instants in one
    /// transaction; a request that is new also plans (or clears) its member's reminder.
    /// Returns, per request, whether it was new.
    pub async fn enqueue_requests(
        &self,
        requests: &[QueuedRequest],
        moves: &[NextInstant],
        now: i64,
    ) -> StoreResult<Vec<bool>> {
        let mut tx = self.write_tx().await?;
        let mut queued = Vec::with_capacity(requests.len());
        for r in requests {
            let new = insert(&mut tx, &r.email, now).await?.is_some();
            if new {
                super::set_reminder_on(&mut tx, r.member, r.reminder).await?;
            }
            queued.push(new);
        }
        super::commit_with_moves(tx, moves).await?;
        Ok(queued)
    }

    /// Members of the named teams that have an update for a local date on or after `since`:
    /// scoped to those teams, so a digest costs the size of its teams, not of the membership.
    pub async fn team_members_with_updates_since(
        &self,
        teams: &[String],
        since: NaiveDate,
    ) -> StoreResult<HashSet<MemberId>> {
        if teams.is_empty() {
            return Ok(HashSet::new());
        }
        let sql = format!(
            "SELECT DISTINCT u.member_id FROM updates u
             WHERE u.local_date >= $1 AND u.checkin = 0 AND u.member_id IN (
                SELECT tm.member_id FROM team_members tm JOIN teams t ON t.id = tm.team_id
                WHERE t.name IN ({}))",
            super::placeholders(2, teams.len())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(since.to_string());
        for t in teams {
            q = q.bind(t);
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }
}

/// The most text one member's update of one day holds, every reply and post together (UTF-8
/// bytes): a digest carries each update whole to every reader.
pub const MAX_UPDATE_BYTES: usize = 16 * 1024;
/// The most revisions one day's update takes: the first reply or post and 19 appended to it
/// (a `replace` is not counted against it).
pub const MAX_UPDATE_REVISIONS: i64 = 20;

fn too_big(len: usize) -> StoreError {
    StoreError::Limit(format!(
        "the update would hold {len} bytes of text; a day's update holds at most {MAX_UPDATE_BYTES}"
    ))
}

/// What an update says and where it came from: its text, the labels its sections are read
/// with, its source (`email`, `api`), the message it came in (`None` by API), and whether it
/// replaces the day's text instead of being appended to it.
pub(super) type UpdateText<'a> = (
    &'a str,
    &'a [(sections::Kind, String)],
    &'a str,
    Option<&'a str>,
    bool,
);

/// Stores an update inside the caller's transaction, without control characters but tab and
/// line feed (CRLF and CR become LF): the first one of (member, date) is inserted, a later
/// one is appended (or replaces it when `replace`) with the revision bumped.
/// Its sections are read from `body` with `questions`; an appended part's sections follow the
/// ones stored before (each reply is read on its own: "Also fixed X" written later is not
/// filed under the first reply's last label).
/// Shared by [`Store::upsert_update`] and the idempotent API post, which must write the update
/// and its idempotency key in one transaction. The webhook events it makes are queued in the
/// same transaction (links rooted at `web_base`).
pub(super) async fn upsert_update_tx(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    web_base: Option<&str>,
    key: UpdateKey,
    (body, labels, source, message_id, replace): UpdateText<'_>,
    now: i64,
) -> StoreResult<UpsertOutcome> {
    let hooks = events::hooks_for(tx, key.member, key.checkin).await?;
    if hooks.is_empty() {
        return store_update_tx(tx, key, body, labels, source, message_id, replace, now).await;
    }
    let date = key.date.to_string();
    let before = events::before_update(tx, &hooks, key.member, &date, key.checkin).await?;
    let out = store_update_tx(tx, key, body, labels, source, message_id, replace, now).await?;
    let done = (out.id, out.revision);
    events::after_update(tx, (&hooks, web_base), key.member, done, before, now).await?;
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
async fn store_update_tx(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    key: UpdateKey,
    body: &str,
    labels: &[(sections::Kind, String)],
    source: &str,
    message_id: Option<&str>,
    replace: bool,
    now: i64,
) -> StoreResult<UpsertOutcome> {
    let UpdateKey {
        member,
        date,
        checkin,
    } = key;
    // Every update is stored through here (email, API, release): control characters other
    // than tab and line feed (terminal escapes, NUL, stray CRs) are not kept.
    let body = &*crate::domain::text::without_controls(body);
    if body.len() > MAX_UPDATE_BYTES {
        return Err(too_big(body.len()));
    }
    // A reply already stored (its worker died before recording that, and it is being
    // finished again): the update as it stands, nothing written twice.
    if let Some(mid) = message_id {
        let done = sqlx::query(
            "SELECT u.id, u.revision FROM updates u JOIN update_revisions r ON r.update_id = u.id
             WHERE u.member_id = $1 AND u.local_date = $2 AND u.checkin = $4 AND r.message_id = $3",
        )
        .bind(member)
        .bind(date.to_string())
        .bind(mid)
        .bind(checkin)
        .fetch_optional(&mut **tx)
        .await?;
        if let Some(r) = done {
            let revision: i64 = r.try_get(1)?;
            return Ok(UpsertOutcome {
                id: r.try_get(0)?,
                revision,
                edited: revision > 1,
            });
        }
    }
    let new_sections = sections::split_labelled(body, labels);
    let inserted = sqlx::query(
        "INSERT INTO updates (member_id, local_date, body, source, revision, message_id, created_at, updated_at, sections, checkin)
         VALUES ($1, $2, $3, $4, 1, $5, $6, $6, $7, $8) ON CONFLICT (member_id, local_date, checkin) DO NOTHING RETURNING id",
    )
    .bind(member)
    .bind(date.to_string())
    .bind(body)
    .bind(source)
    .bind(message_id)
    .bind(now)
    .bind(sections::to_json(&new_sections))
    .bind(checkin)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(r) = inserted {
        let id = r.try_get(0)?;
        record_revision(tx, id, 1, body, &new_sections, message_id, now).await?;
        return Ok(UpsertOutcome {
            id,
            revision: 1,
            edited: false,
        });
    }
    // The day's update exists: check the limits against it, then write only if no one else
    // changed it meanwhile (two appends at once on PostgreSQL); a few tries at most.
    for _ in 0..5 {
        let cur = sqlx::query(
            "SELECT revision, body, sections FROM updates WHERE member_id = $1 AND local_date = $2 AND checkin = $3",
        )
        .bind(member)
        .bind(date.to_string())
        .bind(checkin)
        .fetch_one(&mut **tx)
        .await?;
        let (revision, old): (i64, String) = (cur.try_get(0)?, cur.try_get(1)?);
        let (text, all_sections) = if replace {
            (body.to_string(), new_sections.clone())
        } else {
            if revision >= MAX_UPDATE_REVISIONS {
                return Err(StoreError::Limit(format!(
                    "the update already has {revision} revisions; a day's update takes at most {MAX_UPDATE_REVISIONS}"
                )));
            }
            let len = old.len() + 2 + body.len();
            if len > MAX_UPDATE_BYTES {
                return Err(too_big(len));
            }
            let stored: Option<String> = cur.try_get(2)?;
            let mut all = sections::from_stored(stored.as_deref(), &old);
            all.extend(new_sections.iter().cloned());
            (format!("{old}\n\n{body}"), all)
        };
        // Written whole, only if the revision read above is still the stored one.
        let r = sqlx::query(
            "UPDATE updates SET body = $1, sections = $2, revision = revision + 1, message_id = $3, updated_at = $4
             WHERE member_id = $5 AND local_date = $6 AND revision = $7 AND checkin = $8 RETURNING id, revision",
        )
        .bind(&text)
        .bind(sections::to_json(&all_sections))
        .bind(message_id)
        .bind(now)
        .bind(member)
        .bind(date.to_string())
        .bind(revision)
        .bind(checkin)
        .fetch_optional(&mut **tx)
        .await?;
        if let Some(r) = r {
            let (id, revision) = (r.try_get(0)?, r.try_get(1)?);
            record_revision(tx, id, revision, &text, &all_sections, message_id, now).await?;
            return Ok(UpsertOutcome {
                id,
                revision,
                edited: true,
            });
        }
    }
    Err(StoreError::Other(anyhow::anyhow!(
        "the update of member {member} for {date} kept changing while it was being written"
    )))
}

/// Keeps revision `revision` of update `id` as written: a queued digest is composed from the
/// revisions it recorded, whatever was written after it was queued.
async fn record_revision(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: i64,
    revision: i64,
    body: &str,
    sections: &[Section],
    message_id: Option<&str>,
    now: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO update_revisions (update_id, revision, body, sections, message_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (update_id, revision) DO NOTHING",
    )
    .bind(id)
    .bind(revision)
    .bind(body)
    .bind(sections::to_json(sections))
    .bind(message_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The columns of [`UpdateRow`] with its check-in's name; callers add `WHERE …`.
pub(super) const ONE_UPDATE: &str =
    "SELECT u.id, u.member_id, u.local_date, u.body, u.source, u.revision, u.created_at,
        u.updated_at, u.sections, u.checkin, ck.name AS checkin_name
 FROM updates u LEFT JOIN checkins ck ON ck.id = u.checkin";

/// An `updates` row selected with the columns of [`UpdateRow`] first, in order (`sections`
/// ninth).
pub(super) fn update_from_row(r: &sqlx::any::AnyRow) -> StoreResult<UpdateRow> {
    let d: String = r.try_get(2)?;
    Ok(UpdateRow {
        id: r.try_get(0)?,
        member_id: r.try_get(1)?,
        local_date: NaiveDate::from_str(&d)
            .map_err(|e| StoreError::Other(anyhow::anyhow!("stored date {d:?}: {e}")))?,
        body: r.try_get(3)?,
        source: r.try_get(4)?,
        revision: r.try_get(5)?,
        created_at: r.try_get(6)?,
        updated_at: r.try_get(7)?,
        sections: sections::from_stored(
            r.try_get::<Option<String>, _>(8)?.as_deref(),
            &r.try_get::<String, _>(3)?,
        ),
        checkin: r.try_get("checkin")?,
        checkin_name: r
            .try_get::<Option<String>, _>("checkin_name")
            .ok()
            .flatten(),
    })
}

/// How long an `Idempotency-Key` is remembered; a retry after that is a new request.
pub const IDEMPOTENCY_TTL_SECS: i64 = 24 * 3600;

/// What an idempotent post did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Idempotent {
    /// The update was stored now; this is the response recorded under the key.
    Fresh(String),
    /// The key was seen before: the response recorded then, and nothing was written.
    Replayed(String),
}

impl Store {
    /// Stores the update `which` (a member's answer to a check-in for a date; appended to an
    /// existing one, as a second email reply would be) under the idempotency key
    /// `(token_id, key)`, read with `labels`.
    ///
    /// The key row and the update are written in one transaction, so a crash between them
    /// cannot leave an update without its key (a retry would append twice) or a key without its
    /// update. A concurrent request with the same key waits on the key's primary key (PostgreSQL
    /// row lock, SQLite write lock) and then finds the committed response.
    /// `respond` builds the response to record from the stored update.
    #[allow(clippy::too_many_arguments)]
    pub async fn post_update_idempotent(
        &self,
        token_id: i64,
        key: &str,
        which: UpdateKey,
        body: &str,
        labels: &[(sections::Kind, String)],
        now: i64,
        respond: impl FnOnce(&UpdateRow, UpsertOutcome) -> String,
    ) -> StoreResult<Idempotent> {
        let mut tx = self.write_tx().await?;
        // Keys are remembered for a day; expired ones of this token go first so they can be
        // reused (the primary key starts with token_id, so this is an index range).
        sqlx::query("DELETE FROM api_idempotency WHERE token_id = $1 AND created_at < $2")
            .bind(token_id)
            .bind(now - IDEMPOTENCY_TTL_SECS)
            .execute(&mut *tx)
            .await?;
        let claimed = sqlx::query(
            "INSERT INTO api_idempotency (token_id, key, response, created_at) VALUES ($1, $2, '', $3)
             ON CONFLICT (token_id, key) DO NOTHING",
        )
        .bind(token_id)
        .bind(key)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !claimed {
            tx.rollback().await?;
            let stored: String = sqlx::query(
                "SELECT response FROM api_idempotency WHERE token_id = $1 AND key = $2",
            )
            .bind(token_id)
            .bind(key)
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
            if stored.is_empty() {
                // Only visible if the other transaction has not committed, which the key's
                // lock rules out; refuse rather than guess.
                return Err(StoreError::Conflict(
                    "a request with this Idempotency-Key is still being processed".into(),
                ));
            }
            return Ok(Idempotent::Replayed(stored));
        }

        // The same append as a second email reply, inside this transaction.
        let outcome = upsert_update_tx(
            &mut tx,
            self.web_base.as_deref(),
            which,
            (body, labels, "api", None, false),
            now,
        )
        .await?;
        let row = sqlx::query(AssertSqlSafe(format!("{ONE_UPDATE} WHERE u.id = $1")))
            .bind(outcome.id)
            .fetch_one(&mut *tx)
            .await?;
        let update = update_from_row(&row)?;
        let response = respond(&update, outcome);
        sqlx::query("UPDATE api_idempotency SET response = $1 WHERE token_id = $2 AND key = $3")
            .bind(&response)
            .bind(token_id)
            .bind(key)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Idempotent::Fresh(response))
    }
}
