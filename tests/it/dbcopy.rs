//! `tidings db copy`: a SQLite database filled through the real flows (members, teams, a
//! request, an emailed reply, a digest, a quarantined message, an API token, the generated
//! secret) copied into a fresh PostgreSQL by the real binary: every table's rows, the secret
//! (reply tokens and links made before still verify), booleans and raw bytes intact, and new
//! inserts get fresh ids. A non-empty target, an unmigrated or missing source are refused.

use std::collections::BTreeSet;

use chrono::{NaiveDate, Utc};
use sqlx::Row;
use tidings::cli::dbcopy::TABLES;
use tidings::config::SecretString;
use tidings::domain::token::{LinkToken, ReplyToken, generate_api_token, hash_api_token};
use tidings::jobs::Ctx;
use tidings::store::{MemberChange, Store};

use crate::cli::run;
use crate::helpers::*;

async fn counts(s: &Store) -> Vec<(&'static str, i64)> {
    let mut v = Vec::new();
    for t in TABLES {
        let n: i64 = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM {}",
            t.name
        )))
        .fetch_one(s.pool())
        .await
        .unwrap()
        .get(0);
        v.push((t.name, n));
    }
    v
}

async fn strings(s: &Store, sql: String) -> BTreeSet<String> {
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(s.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>(0))
        .collect()
}

/// The copy's table and column list is the migrated schema, on both backends: a migration that
/// adds a column or a table must add it to `tidings::cli::dbcopy::TABLES` too.
async fn assert_schema_matches(s: &Store, pg: bool) {
    let tables = if pg {
        strings(s, "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations'".into()).await
    } else {
        strings(s, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'".into()).await
    };
    let listed: BTreeSet<String> = TABLES.iter().map(|t| t.name.to_string()).collect();
    assert_eq!(tables, listed, "tables of the schema vs dbcopy::TABLES");
    for t in TABLES {
        let cols = if pg {
            strings(s, format!("SELECT column_name::text FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = '{}'", t.name)).await
        } else {
            strings(
                s,
                format!("SELECT name FROM pragma_table_info('{}')", t.name),
            )
            .await
        };
        let listed: BTreeSet<String> = t.columns.iter().map(|(c, _)| c.to_string()).collect();
        assert_eq!(cols, listed, "columns of {}", t.name);
    }
}

#[tokio::test]
async fn a_sqlite_database_moves_to_postgres_with_its_secret_and_fresh_sequences() {
    // No configured secret: the generated one lives in the database and must move with it.
    let app = TestApp::with(Db::Sqlite, |c| c.security.secret = SecretString::default()).await;
    let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
    let bob = app.member("bob@example.test", "Bob", "Asia/Tokyo").await;
    let s = &app.ctx.store;
    s.add_holiday("core", NaiveDate::from_ymd_opt(2026, 12, 25).unwrap())
        .await
        .unwrap();
    s.add_alias(ann, &addr("ann.private@example.test"))
        .await
        .unwrap();
    s.add_away(
        bob,
        &tidings::domain::AwayRange {
            from: NaiveDate::from_ymd_opt(2026, 4, 1).unwrap(),
            to: NaiveDate::from_ymd_opt(2026, 4, 3).unwrap(),
        },
    )
    .await
    .unwrap();
    let api_token = generate_api_token();
    s.add_api_token(ann, &hash_api_token(&api_token))
        .await
        .unwrap();
    s.set_mailbox_state("INBOX", 7, 42).await.unwrap();

    // Ann's request at 16:30 Berlin, her emailed reply, then Bob's digest at 08:30 Tokyo.
    app.tick(at("2026-03-09T09:00:00Z")).await;
    app.tick(at("2026-03-09T15:30:00Z")).await;
    let raw = app.read_sent("request_1_2026-03-09.tidings.eml");
    let (reply_to, msg_id) = reply_headers(&raw);
    let reply = gmail_reply(
        "ann@example.test",
        &reply_to,
        msg_id.trim_matches(['<', '>']),
        "r1@mail.test",
        "Shipped the importer.",
    );
    let r = app.deliver("r1", &reply, at("2026-03-09T17:00:00Z")).await;
    assert_eq!(r.accepted, 1, "{r:?}");
    let stranger = b"From: intern@agency.test\r\nTo: updates@example.test\r\nSubject: hi\r\nMessage-ID: <q@agency.test>\r\n\r\nHello.\r\n";
    let r = app.deliver("q", stranger, at("2026-03-09T18:00:00Z")).await;
    assert_eq!(r.quarantined, 1, "{r:?}");
    app.tick(at("2026-03-09T23:30:00Z")).await;
    // A boolean set to true must stay true across INTEGER → BOOLEAN.
    s.update_member(
        &addr("bob@example.test"),
        &MemberChange {
            paused: Some(true),
            ..Default::default()
        },
    )
    .await
    .unwrap();

    let before = counts(s).await;
    for t in [
        "settings",
        "members",
        "teams",
        "team_members",
        "member_aliases",
        "away_ranges",
        "holidays",
        "updates",
        "inbound_messages",
        "outbox",
        "outbox_bodies",
        "digest_deliveries",
        "api_tokens",
        "mailbox_state",
    ] {
        let n = before.iter().find(|(n, _)| *n == t).unwrap().1;
        assert!(n > 0, "the test fills {t}: {before:?}");
    }
    assert_schema_matches(s, false).await;
    let reply_token = ReplyToken {
        member: ann,
        date: NaiveDate::from_ymd_opt(2026, 3, 9).unwrap(),
    }
    .encode(&app.ctx.secret);
    let link = LinkToken {
        member: ann,
        expires: Utc::now().timestamp() + 3600,
    }
    .encode(&app.ctx.secret);
    let secret = s.setting("server_secret").await.unwrap().unwrap();
    let raw_before = s.inbound(1).await.unwrap().unwrap().raw;
    let outbox_max = s.list_outbox(false, 1).await.unwrap()[0].id;
    s.close().await;

    let pg = crate::rig::fresh_pg_url();
    let out = crate::cli::ok(&run(
        app.dir.path(),
        &app.db_url,
        &["db", "copy", &app.db_url, &pg],
    ));
    assert!(out.contains("copied "), "{out}");
    assert!(out.contains("members"), "{out}");

    let cfg = {
        let mut c = test_config(&pg, app.dir.path());
        c.security.secret = SecretString::default();
        c
    };
    let ctx = Ctx::build(cfg).await.unwrap();
    let p = &ctx.store;
    assert_eq!(counts(p).await, before, "rows per table");
    assert_schema_matches(p, true).await;
    assert_eq!(p.setting("server_secret").await.unwrap().unwrap(), secret);
    assert_eq!(
        ReplyToken::verify(&reply_token, &ctx.secret).map(|t| t.member),
        Ok(ann),
        "a reply address sent before the move still works"
    );
    assert!(LinkToken::verify(&link, &ctx.secret, Utc::now().timestamp()).is_ok());
    assert_eq!(
        p.api_token_member(&hash_api_token(&api_token))
            .await
            .unwrap()
            .map(|t| t.1),
        Some(ann)
    );
    assert_eq!(p.inbound(1).await.unwrap().unwrap().raw, raw_before);
    let b = p
        .member_by_email(&addr("bob@example.test"))
        .await
        .unwrap()
        .unwrap();
    assert!(b.paused);
    assert_eq!(b.away.len(), 1);
    let a = p.member_by_id(ann).await.unwrap().unwrap();
    assert_eq!(a.teams, vec!["core".to_string()]);
    assert_eq!(a.aliases, vec![addr("ann.private@example.test")]);
    assert_eq!(p.mailbox_state("INBOX").await.unwrap(), Some((7, 42)));

    // New rows get fresh ids: the sequences follow the copied ids.
    let carl = p
        .add_member(
            &addr("carl@example.test"),
            &MemberChange::default(),
            &defaults(),
        )
        .await
        .unwrap();
    assert_eq!(carl, bob + 1);
    let team = p.add_team("ops").await.unwrap();
    assert_eq!(team, 2);
    p.add_api_token(carl, &hash_api_token(&generate_api_token()))
        .await
        .unwrap();
    tidings::jobs::plan::run(&ctx, at("2026-03-10T15:30:00Z"))
        .await
        .unwrap();
    let rows = p.list_outbox(false, 100).await.unwrap();
    let new: Vec<_> = rows.iter().filter(|r| r.id > outbox_max).collect();
    assert!(
        new.iter()
            .any(|r| r.idem_key == format!("request:{ann}:2026-03-10")),
        "Ann's next request is queued after the copied rows: {:?}",
        rows.iter().map(|r| (r.id, &r.idem_key)).collect::<Vec<_>>()
    );

    // A second copy into the same (now non-empty) target is refused and changes nothing.
    let o = run(
        app.dir.path(),
        &app.db_url,
        &["db", "copy", &app.db_url, &pg],
    );
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("already has members"), "{err}");
    assert_eq!(p.count_members().await.unwrap(), 3);
    ctx.store.close().await;
}

#[test]
fn an_unmigrated_or_missing_source_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let pg = crate::rig::fresh_pg_url();
    let missing = format!("sqlite://{}", dir.path().join("nope.db").display());
    let o = run(dir.path(), &missing, &["db", "copy", &missing, &pg]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("does not exist"));
    assert!(
        !dir.path().join("nope.db").exists(),
        "not created by the attempt"
    );

    let other = format!("sqlite://{}", dir.path().join("other.db").display());
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let s = Store::connect(&other, 1).await.unwrap();
        sqlx::query("CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT)")
            .execute(s.pool())
            .await
            .unwrap();
        s.close().await;
    });
    let o = run(dir.path(), &other, &["db", "copy", &other, &pg]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("not fully migrated"), "{err}");
}
