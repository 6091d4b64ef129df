//! The database going away mid-fan-out (PostgreSQL restarted), read-only, full, or
//! unreachable: nothing lost, repeats within the sending bound, a clear error.

use super::*;

fn restart_postgres(rig: &rig::Rig) {
    let data = rig.dir.join("pg/data");
    let log = rig.dir.join("log/pg.log");
    let st = Command::new("runuser")
        .args([
            "-u",
            "mailrig",
            "--",
            "/usr/lib/postgresql/15/bin/pg_ctl",
            "-D",
        ])
        .arg(&data)
        .arg("-l")
        .arg(&log)
        .args(["-m", "fast", "-w", "-t", "30", "restart"])
        .stdout(Stdio::null())
        .status()
        .expect("pg_ctl runs");
    assert!(st.success(), "pg_ctl restart failed; see {}", log.display());
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_restarted_under_load_is_survived_without_restarting_serve() {
    let _pg = PG.lock().await;
    let rig = rig::Rig::shared();
    let dir = tempfile::tempdir().unwrap();
    let db = rig.fresh_pg_url();
    let s = store(&db).await;
    let n = 2000;
    seed(&s, n, 100, "erin", "request").await;
    let cfg = write_config(dir.path(), &db, rig, "digest");
    let mut child = serve(dir.path(), &cfg);
    // Mid-fan-out: once the first emails are recorded as sent, every connection of the pool
    // is cut and refused for a moment.
    let deadline = Instant::now() + Duration::from_secs(30);
    while outbox_sent(&s).await == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    s.close().await;
    restart_postgres(rig);
    let s = store(&db).await;
    eprintln!(
        "after the restart: {} queued, {} open, {} sent",
        outbox_total(&s, "request").await,
        outbox_open(&s).await,
        outbox_sent(&s).await
    );
    wait_drained(&s, n, "request").await;
    assert!(
        child.0.try_wait().expect("wait").is_none(),
        "serve kept running through the database restart"
    );
    sigterm(&mut child);
    assert_eq!(outbox_total(&s, "request").await, n);
    let counts = wait_delivered(rig, "erin", "request", n as usize);
    let (lost, duplicates) = report("postgres restart", n, &counts, 1);
    assert_eq!(lost, 0, "nothing lost");
    assert!(
        duplicates <= CONCURRENCY,
        "at most the emails in flight when the database went away: {duplicates}"
    );
}

async fn outbox_sent(s: &Store) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE state = 'sent'")
        .fetch_one(s.pool())
        .await
        .expect("outbox count")
}

/// `tidings run-due` on `db` with the default Maildir transport (mail in `dir/var/mail/sent`),
/// so a test is about the database alone.
fn run_due(dir: &Path, db: &str) -> std::process::Output {
    Command::new(BIN)
        .args(["run-due"])
        .current_dir(dir)
        .env_remove("TIDINGS_CONFIG")
        .env("TIDINGS_DATABASE__URL", db)
        .env("TIDINGS_SECURITY__SECRET", SECRET)
        .env("TIDINGS_LOG", "off")
        .output()
        .expect("binary runs")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_only_database_stops_work_with_a_clear_error_and_resumes_after() {
    let _pg = PG.lock().await;
    let rig = rig::Rig::shared();
    let dir = tempfile::tempdir().unwrap();
    let db = rig.fresh_pg_url();
    let s = store(&db).await;
    seed(&s, 50, 10, "dave", "request").await;
    let name = db.rsplit('/').next().unwrap_or_default().to_string();
    let admin = Store::connect(&rig.pg_admin_url(), 1).await.expect("admin");
    let set_ro = |on: bool| {
        sqlx::query(AssertSqlSafe(format!(
            "ALTER DATABASE \"{name}\" SET default_transaction_read_only = {}",
            if on { "on" } else { "off" }
        )))
    };
    set_ro(true).execute(admin.pool()).await.expect("read-only");
    s.close().await;
    let o = run_due(dir.path(), &db);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("read-only"), "the error says why: {err}");
    let sent = dir.path().join("var/mail/sent/new");
    let files = || std::fs::read_dir(&sent).map(|d| d.count()).unwrap_or(0);
    assert_eq!(
        files(),
        0,
        "nothing sent from a database that cannot record it"
    );
    set_ro(false)
        .execute(admin.pool())
        .await
        .expect("read-write");
    let o = run_due(dir.path(), &db);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        files(),
        50,
        "every due request once the database is writable"
    );
    let o = run_due(dir.path(), &db);
    assert!(o.status.success());
    assert_eq!(files(), 50, "and never twice");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_disk_stops_work_with_a_clear_error_and_corrupts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("small");
    std::fs::create_dir_all(&mnt).unwrap();
    let st = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=32m", "tmpfs"])
        .arg(&mnt)
        .status()
        .expect("mount runs");
    assert!(
        st.success(),
        "mounting a 32 MB tmpfs needs root (run scripts/test as root)"
    );
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(mnt.clone());
    let db = format!("sqlite://{}", mnt.join("t.db").display());
    let s = store(&db).await;
    seed(&s, 500, 50, "dave", "request").await;
    s.close().await;
    // Fill the disk, leaving no room for the outbox.
    let filler = mnt.join("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 64 * 1024];
        while f.write_all(&block).is_ok() {}
        let small = vec![0u8; 512];
        while f.write_all(&small).is_ok() {}
        let _ = f.sync_all();
    }
    let o = run_due(dir.path(), &db);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("full") || err.contains("free space"),
        "the error points at the full disk: {err}"
    );
    std::fs::remove_file(&filler).unwrap();
    let s = store(&db).await;
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(s.pool())
        .await
        .expect("integrity check");
    assert_eq!(check, "ok", "the database is intact");
    s.close().await;
    let o = run_due(dir.path(), &db);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let sent = dir.path().join("var/mail/sent/new");
    assert_eq!(
        std::fs::read_dir(&sent).map(|d| d.count()).unwrap_or(0),
        500,
        "every due request once there is room again"
    );
}

#[test]
fn run_due_with_the_database_unreachable_fails_at_once_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let o = Command::new(BIN)
        .arg("run-due")
        .current_dir(dir.path())
        .env_remove("TIDINGS_CONFIG")
        .env(
            "TIDINGS_DATABASE__URL",
            format!("postgres://postgres@127.0.0.1:{}/tidings", closed_port()),
        )
        .env("TIDINGS_LOG", "off")
        .output()
        .expect("binary runs");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("cannot connect to the database") && err.contains("database.url"),
        "says what failed and what to check: {err}"
    );
    // Not a timing assertion on the work itself: the pool alone would wait its 30 s acquire
    // timeout before saying only "timed out".
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "failed at once, not after the pool's timeout: {:?}",
        started.elapsed()
    );
    assert!(
        !dir.path().join("var/mail/sent/new").exists()
            || std::fs::read_dir(dir.path().join("var/mail/sent/new"))
                .map(|d| d.count())
                .unwrap_or(0)
                == 0
    );
}
