//! Webhook events, queued in the transaction that makes them happen (an update stored, a
//! blocker resolved, a comment or a reaction counted): the event and the change commit
//! together or not at all, so none is lost and none is invented by a crash between the two.
//! Each endpoint that asked for an event gets one `webhook_deliveries` row, keyed so that the
//! same event queued again (a reply read again after a crash) is one delivery. The payload is
//! written here, once, and every attempt sends those exact bytes.

use serde_json::{Value, json};
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use super::updates::{ONE_UPDATE, update_from_row};
use super::{StoreResult, id_list};
use crate::domain::MemberId;
use crate::domain::blockers::{OpenBlocker, open_blocker};
use crate::domain::webhook::{envelope, new_message_id};

/// The endpoints that hear about one member's doings: (id, the events each asked for).
#[derive(Debug, Default)]
pub(super) struct Hooks(Vec<(i64, String)>);

impl Hooks {
    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether any of them asked for `event`.
    pub(super) fn want(&self, event: &str) -> bool {
        self.0.iter().any(|(_, ev)| asked(ev, event))
    }
}

fn asked(events: &str, event: &str) -> bool {
    events.split(',').any(|e| e == event)
}

/// The endpoints for `member`'s teams (only check-in `checkin`'s team when it is not the
/// stand-up, 0) and those for every team. One indexed query; none when no webhook exists.
pub(super) async fn hooks_for(
    conn: &mut AnyConnection,
    member: MemberId,
    checkin: i64,
) -> StoreResult<Hooks> {
    let rows = sqlx::query(
        "SELECT id, events FROM webhooks WHERE team_id IS NULL
           OR team_id IN (SELECT tm.team_id FROM team_members tm WHERE tm.member_id = $1
                          AND ($2 = 0 OR tm.team_id = (SELECT team_id FROM checkins WHERE id = $2)))
         ORDER BY id",
    )
    .bind(member)
    .bind(checkin)
    .fetch_all(&mut *conn)
    .await?;
    Ok(Hooks(
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<StoreResult<_>>()?,
    ))
}

/// Queues `event` (its key unique per event, e.g. `update.created:12`) with `data` for each
/// of `hooks` that asked for it.
async fn queue(
    conn: &mut AnyConnection,
    hooks: &Hooks,
    event: &str,
    key: &str,
    data: Value,
    now: i64,
) -> StoreResult<()> {
    let payload = envelope(event, now, data);
    for (id, events) in &hooks.0 {
        if asked(events, event) {
            insert_delivery(conn, *id, &format!("{id}:{key}"), event, &payload, now).await?;
        }
    }
    Ok(())
}

/// One delivery row; nothing when its key exists.
pub(super) async fn insert_delivery(
    conn: &mut AnyConnection,
    hook: i64,
    idem_key: &str,
    event: &str,
    payload: &str,
    now: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO webhook_deliveries (webhook_id, idem_key, msg_id, event, payload, state, attempts, next_attempt_at, created_at)
         VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6) ON CONFLICT (idem_key) DO NOTHING",
    )
    .bind(hook)
    .bind(idem_key)
    .bind(new_message_id())
    .bind(event)
    .bind(payload)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A member as payloads name them.
async fn person(conn: &mut AnyConnection, member: MemberId) -> StoreResult<Value> {
    let r = sqlx::query("SELECT name, email FROM members WHERE id = $1")
        .bind(member)
        .fetch_one(&mut *conn)
        .await?;
    let (name, email): (String, String) = (r.try_get(0)?, r.try_get(1)?);
    Ok(json!({ "id": member, "name": name, "email": email }))
}

/// The teams an update of `member` for check-in `checkin` belongs to, by name.
async fn teams_of(
    conn: &mut AnyConnection,
    member: MemberId,
    checkin: i64,
) -> StoreResult<Vec<String>> {
    let rows = sqlx::query(
        "SELECT t.name FROM teams t JOIN team_members tm ON tm.team_id = t.id
         WHERE tm.member_id = $1 AND ($2 = 0 OR t.id = (SELECT team_id FROM checkins WHERE id = $2))
         ORDER BY t.name",
    )
    .bind(member)
    .bind(checkin)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| r.try_get(0).map_err(Into::into))
        .collect()
}

/// Where the team log shows an update: `{base}/log/{team}?from=D&to=D#u{id}`.
fn log_url(base: Option<&str>, team: Option<&String>, date: &str, id: i64) -> Option<String> {
    crate::domain::day_log_url(base?, team?, date, Some(id))
}

/// Update `id` as payloads carry it (the API's update, with its author, teams and link).
async fn update_json(conn: &mut AnyConnection, base: Option<&str>, id: i64) -> StoreResult<Value> {
    let r = sqlx::query(AssertSqlSafe(format!("{ONE_UPDATE} WHERE u.id = $1")))
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    let u = update_from_row(&r)?;
    let teams = teams_of(conn, u.member_id, u.checkin).await?;
    let date = u.local_date.to_string();
    let mut v = json!({
        "id": u.id,
        "author": person(conn, u.member_id).await?,
        "teams": teams,
        "date": date,
        "checkin": u.checkin_name,
        "revision": u.revision,
        "source": u.source,
        "text": u.body,
        "sections": u.sections,
    });
    if let Some(url) = log_url(base, teams.first(), &date, u.id) {
        v["url"] = url.into();
    }
    Ok(v)
}

/// The open blocker of `member` as the transaction sees it.
pub(super) async fn open_blocker_on(
    conn: &mut AnyConnection,
    member: MemberId,
) -> StoreResult<Option<OpenBlocker>> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        r#"SELECT id, local_date, body, sections, blocker_resolved_at FROM updates
         WHERE member_id IN ({}) AND sections LIKE '%"kind":"blockers"%'
         ORDER BY local_date, id"#,
        id_list(&[member])
    )))
    .fetch_all(&mut *conn)
    .await?;
    let ups = rows
        .iter()
        .map(super::blockers::blocker_update)
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(open_blocker(&ups))
}

/// A blocker as payloads carry it.
async fn blocker_json(
    conn: &mut AnyConnection,
    base: Option<&str>,
    member: MemberId,
    b: &OpenBlocker,
) -> StoreResult<Value> {
    let update = update_json(conn, base, b.update_id).await?;
    Ok(json!({
        "member": person(conn, member).await?,
        "since": b.since.to_string(),
        "lines": b.lines,
        "update": update,
    }))
}

/// What storing an update of `member` changed, for its events: `before` is the revision the
/// day's update had (`None`: there was none) and the blocker open before it was stored.
pub(super) struct Before {
    pub revision: Option<i64>,
    pub blocker: Option<OpenBlocker>,
}

/// Reads [`Before`] for an update about to be stored (the blocker only when asked for).
pub(super) async fn before_update(
    conn: &mut AnyConnection,
    hooks: &Hooks,
    member: MemberId,
    date: &str,
    checkin: i64,
) -> StoreResult<Before> {
    let revision = sqlx::query(
        "SELECT revision FROM updates WHERE member_id = $1 AND local_date = $2 AND checkin = $3",
    )
    .bind(member)
    .bind(date)
    .bind(checkin)
    .fetch_optional(&mut *conn)
    .await?
    .map(|r| r.try_get(0))
    .transpose()?;
    let blocker = if hooks.want("blocker.opened") || hooks.want("blocker.resolved") {
        open_blocker_on(conn, member).await?
    } else {
        None
    };
    Ok(Before { revision, blocker })
}

/// Queues the events of update `id` (now at `revision`) of `member`: created or revised,
/// and a blocker opened or closed by it. Nothing when the revision did not change (the same
/// reply stored before).
pub(super) async fn after_update(
    conn: &mut AnyConnection,
    (hooks, base): (&Hooks, Option<&str>),
    member: MemberId,
    (id, revision): (i64, i64),
    before: Before,
    now: i64,
) -> StoreResult<()> {
    if before.revision == Some(revision) {
        return Ok(());
    }
    let (event, key) = if revision == 1 {
        ("update.created", format!("update.created:{id}"))
    } else {
        ("update.revised", format!("update.revised:{id}:{revision}"))
    };
    if hooks.want(event) {
        let update = update_json(conn, base, id).await?;
        queue(conn, hooks, event, &key, json!({ "update": update }), now).await?;
    }
    if !(hooks.want("blocker.opened") || hooks.want("blocker.resolved")) {
        return Ok(());
    }
    let after = open_blocker_on(conn, member).await?;
    match (&before.blocker, &after) {
        (None, Some(b)) => {
            let data = json!({ "blocker": blocker_json(conn, base, member, b).await? });
            let key = format!("blocker.opened:{}", b.update_id);
            queue(conn, hooks, "blocker.opened", &key, data, now).await
        }
        (Some(b), None) => {
            let mut data = json!({ "blocker": blocker_json(conn, base, member, b).await? });
            data["resolved_by"] = json!({ "how": "update", "update_id": id });
            let key = format!("blocker.resolved:{}", b.update_id);
            queue(conn, hooks, "blocker.resolved", &key, data, now).await
        }
        _ => Ok(()),
    }
}

/// Queues `blocker.resolved` for blocker `b` of `member`, closed by the `resolved` command,
/// the blockers page or the API.
pub(super) async fn blocker_resolved(
    conn: &mut AnyConnection,
    base: Option<&str>,
    member: MemberId,
    b: &OpenBlocker,
    now: i64,
) -> StoreResult<()> {
    let hooks = hooks_for(conn, member, 0).await?;
    if !hooks.want("blocker.resolved") {
        return Ok(());
    }
    let mut data = json!({ "blocker": blocker_json(conn, base, member, b).await? });
    data["resolved_by"] = json!({ "how": "command" });
    let key = format!("blocker.resolved:{}", b.update_id);
    queue(conn, &hooks, "blocker.resolved", &key, data, now).await
}

/// Queues `comment.created` for comment `comment` of `author` on update `update`.
pub(super) async fn comment_created(
    conn: &mut AnyConnection,
    base: Option<&str>,
    (update, update_author, checkin): (i64, MemberId, i64),
    (comment, author, body): (i64, MemberId, &str),
    now: i64,
) -> StoreResult<()> {
    let hooks = hooks_for(conn, update_author, checkin).await?;
    if !hooks.want("comment.created") {
        return Ok(());
    }
    let data = json!({
        "comment": { "id": comment, "author": person(conn, author).await?, "text": body },
        "update": update_json(conn, base, update).await?,
    });
    let key = format!("comment.created:{comment}");
    queue(conn, &hooks, "comment.created", &key, data, now).await
}

/// Queues `reaction.added` for `reaction` of `member` on update `update`.
pub(super) async fn reaction_added(
    conn: &mut AnyConnection,
    base: Option<&str>,
    update: i64,
    (member, reaction): (MemberId, &str),
    now: i64,
) -> StoreResult<()> {
    let r = sqlx::query("SELECT member_id, checkin FROM updates WHERE id = $1")
        .bind(update)
        .fetch_one(&mut *conn)
        .await?;
    let hooks = hooks_for(conn, r.try_get(0)?, r.try_get(1)?).await?;
    if !hooks.want("reaction.added") {
        return Ok(());
    }
    let data = json!({
        "reaction": reaction,
        "member": person(conn, member).await?,
        "update": update_json(conn, base, update).await?,
    });
    let key = format!("reaction.added:{update}:{member}:{reaction}");
    queue(conn, &hooks, "reaction.added", &key, data, now).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_link_names_the_team_day_and_update() {
        let team = "Core team".to_string();
        assert_eq!(
            log_url(
                Some("https://t.example.org/base"),
                Some(&team),
                "2026-03-09",
                12
            )
            .as_deref(),
            Some("https://t.example.org/base/log/Core%20team?from=2026-03-09&to=2026-03-09#u12")
        );
        assert_eq!(log_url(None, Some(&team), "2026-03-09", 12), None);
        assert_eq!(
            log_url(Some("https://t.example.org"), None, "2026-03-09", 12),
            None
        );
        assert!(asked("update.created,blocker.opened", "blocker.opened"));
        assert!(!asked("update.created", "update"));
    }
}
