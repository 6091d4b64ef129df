//! The check-in migration on a database with data (#33): every update, its revisions, the
//! comments, mentions and deliveries that refer to it survive (SQLite rebuilds `updates` with
//! foreign keys off), each is the stand-up's, every team gets its "Daily stand-up", search
//! still finds the updates, and a second answer the same day for another check-in is now
//! possible.

use sqlx::{AssertSqlSafe, Row};
use tidings::store::Store;

use crate::helpers::*;

/// The last migration before check-ins.
const BEFORE: i64 = 20261207000002;

async fn exec(s: &Store, sql: &str) {
    sqlx::query(AssertSqlSafe(sql.to_string()))
        .execute(s.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn count(s: &Store, sql: &str) -> i64 {
    sqlx::query(AssertSqlSafe(sql.to_string()))
        .fetch_one(s.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get::<i64, _>(0)
}

async fn keeps_everything(db: Db) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = db_url(db, dir.path());
    let s = Store::connect(&url, 2).await.expect("connect");
    s.migrate_to(BEFORE).await.expect("migrate to before");
    let t = if db == Db::Sqlite { "1" } else { "TRUE" };
    let f = if db == Db::Sqlite { "0" } else { "FALSE" };
    for sql in [
        "INSERT INTO teams (id, name, created_at) VALUES (1, 'core', 0), (2, 'ops', 0)".to_string(),
        format!("INSERT INTO members (id, email, name, timezone, request_at, digest_at, workdays, paused, unsubscribed, created_at, updated_at)
         VALUES (1, 'ana@example.test', 'Ana', 'Europe/Berlin', '16:30', '08:30', 31, {f}, {f}, 0, 0),
                (2, 'ben@example.test', 'Ben', 'Europe/Berlin', '16:30', '08:30', 31, {t}, {f}, 0, 0)"),
        "INSERT INTO team_members (team_id, member_id) VALUES (1, 1), (1, 2)".into(),
        "INSERT INTO updates (id, member_id, local_date, body, source, revision, created_at, updated_at)
         VALUES (1, 1, '2026-12-01', 'Shipped the importer', 'email', 2, 0, 0),
                (2, 2, '2026-12-01', 'Reviewed the importer', 'api', 1, 0, 0),
                (3, 2, '2026-12-02', 'Deleted since', 'api', 1, 0, 0)".into(),
        // An update deleted since: its id is never given again.
        "DELETE FROM updates WHERE id = 3".into(),
        "INSERT INTO update_revisions (update_id, revision, body, created_at)
         VALUES (1, 1, 'Shipped', 0), (1, 2, 'Shipped the importer', 0), (2, 1, 'Reviewed the importer', 0)".into(),
        "INSERT INTO comments (id, update_id, author_id, body, message_id, created_at) VALUES (1, 1, 2, 'Nice!', 'c1@x', 0)".into(),
        "INSERT INTO mentions (update_id, member_id, created_at) VALUES (2, 1, 0)".into(),
        "INSERT INTO outbox (id, idem_key, kind, member_id, recipient, message_id, subject, state, next_attempt_at, created_at)
         VALUES (1, 'digest:2:2026-12-02', 'digest', 2, 'ben@example.test', 'd1@x', 'Digest', 'sent', 0, 0)".into(),
        "INSERT INTO digest_deliveries (reader_id, update_id, revision, outbox_id) VALUES (2, 1, 2, 1)".into(),
    ] {
        exec(&s, &sql).await;
    }
    if db == Db::Postgres {
        // Ids written explicitly: the sequence as the service would have left it.
        exec(
            &s,
            "SELECT setval(pg_get_serial_sequence('updates', 'id'), 3)",
        )
        .await;
    }
    s.migrate().await.expect("the check-in migrations");
    for (table, want) in [
        ("updates", 2),
        ("update_revisions", 3),
        ("comments", 1),
        ("mentions", 1),
        ("digest_deliveries", 1),
    ] {
        assert_eq!(
            count(&s, &format!("SELECT COUNT(*) FROM {table}")).await,
            want,
            "{table}"
        );
    }
    assert_eq!(
        count(&s, "SELECT COUNT(*) FROM updates WHERE checkin = 0").await,
        2
    );
    assert_eq!(
        count(
            &s,
            "SELECT COUNT(*) FROM checkins WHERE name = 'Daily stand-up'"
        )
        .await,
        2,
        "one stand-up per team"
    );
    if db == Db::Sqlite {
        assert_eq!(
            count(&s, "SELECT COUNT(*) FROM pragma_foreign_key_check").await,
            0
        );
        // Deleting an update still cascades to what refers to it.
        exec(&s, "PRAGMA foreign_keys = ON").await;
    }
    // Search still finds them (the FTS index and its triggers on the rebuilt table).
    let q = tidings::store::LogQuery {
        team: "core".into(),
        text: tidings::domain::search::Search::parse("importer").expect("search"),
        limit: 50,
        ..Default::default()
    };
    assert_eq!(s.team_log(&q).await.expect("log").entries.len(), 2);
    // A new id continues after every id given before, and a second answer the same day is
    // possible.
    let key = tidings::store::UpdateKey {
        member: 1,
        date: "2026-12-01".parse().expect("date"),
        checkin: 7,
    };
    let out = s
        .upsert_answer(key, "Friday wins text", &[], "api", None, false, 0)
        .await
        .expect("another check-in's answer");
    assert_eq!(out.id, 4);
    s.close().await;
}

#[tokio::test]
async fn the_checkin_migration_keeps_every_update_and_what_refers_to_it_sqlite() {
    keeps_everything(Db::Sqlite).await;
}

#[tokio::test]
async fn the_checkin_migration_keeps_every_update_and_what_refers_to_it_postgres() {
    keeps_everything(Db::Postgres).await;
}
