//! Ingestion benchmark (not a test): a Maildir inbox of N realistic replies (Gmail, Outlook
//! HTML-only, iPhone, Thunderbird styles, each quoting the request, each with a real signed
//! reply token) from N members, read by one `ingest::poll`: raw bytes stored, MIME parsed,
//! reply extracted, token verified, sender checked, update stored and receipt queued.
//! Prints `ingest_per_s`.
//!
//!   cargo bench --bench ingest -- [--replies 10000] [--db sqlite|postgres://…]

#[path = "support/mod.rs"]
mod support;

use std::time::Instant;

use chrono::{Duration, Utc};
use sqlx::AssertSqlSafe;
use support::{arg, series, sql_false};
use tidings::config::{Config, SecretString, SecretUrl, Transport};
use tidings::jobs::{Ctx, ingest};

const QUOTE: &str = "Hi Member,\n\nWhat did you get done?\nWhat's next?\nAnything blocking you?\n\nJust reply to this email; type above the quoted text.\n";

fn reply(i: i64, to: &str) -> String {
    let from = format!("m{i}@bench.test");
    let head = format!(
        "From: Member {i} <{from}>\r\nTo: {to}\r\nSubject: Re: What did you get done today?\r\nMessage-ID: <reply-{i}@client.test>\r\nIn-Reply-To: <request-{i}@example.test>\r\nReferences: <request-{i}@example.test>\r\nDate: Mon, 9 Mar 2026 17:{:02}:00 +0100\r\nMIME-Version: 1.0\r\n",
        i % 60
    );
    let done = format!(
        "Done: shipped the export fix (#{i}) and reviewed two PRs.\nNext: the billing migration.\nBlocked: waiting on staging access."
    );
    let quoted: String = QUOTE.lines().map(|l| format!("> {l}\n")).collect();
    match i % 4 {
        0 => format!(
            "{head}Content-Type: text/plain; charset=UTF-8\r\n\r\n{done}\n\nOn Mon, 9 Mar 2026 at 16:30, Tidings <tidings@example.test> wrote:\n{quoted}"
        ),
        1 => format!(
            "{head}Content-Type: text/html; charset=UTF-8\r\n\r\n<html><body><div dir=\"ltr\">{}</div><div id=\"appendonsend\"></div><hr style=\"display:inline-block;width:98%\"><div id=\"divRplyFwdMsg\" dir=\"ltr\"><b>From:</b> Tidings &lt;tidings@example.test&gt;<br><b>Sent:</b> Monday, March 9, 2026 4:30 PM<br><b>To:</b> Member {i}<br><b>Subject:</b> What did you get done today?</div><div>{}</div></body></html>",
            done.replace('\n', "<br>"),
            QUOTE.replace('\n', "<br>")
        ),
        2 => format!(
            "{head}Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{}\n\nSent from my iPhone\n\n> On 9 Mar 2026, at 16:30, Tidings <tidings@example.test> wrote:\n>\n{quoted}",
            done.replace('=', "=3D")
        ),
        _ => format!(
            "{head}Content-Type: text/plain; charset=UTF-8; format=flowed\r\n\r\n{done}\n\n-- \nMember {i}\nStaff Engineer, Example Corp\n+1 555 0100\n\nOn 09.03.26 16:30, Tidings wrote:\n{quoted}"
        ),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let n: i64 = arg(&args, "--replies")
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(10_000);
    let db = arg(&args, "--db").unwrap_or_else(|| "sqlite".into());
    let dir = tempfile::tempdir()?;
    let url = if db == "sqlite" {
        format!("sqlite://{}", dir.path().join("ingest.db").display())
    } else {
        db.clone()
    };
    let mut cfg = Config::default();
    cfg.database.url = SecretUrl(url);
    cfg.mail.transport = Transport::Maildir;
    cfg.mail.from = "Tidings <tidings@example.test>".parse().unwrap();
    cfg.mail.reply_to = tidings::domain::EmailAddress::parse("updates@example.test").unwrap();
    cfg.mail.maildir.sent = dir.path().join("sent");
    cfg.mail.maildir.inbox = dir.path().join("inbox");
    cfg.security.secret = SecretString::new("bench-secret-0123456789abcdef");
    let ctx = Ctx::build(cfg).await?;
    let backend = ctx.store.backend();
    let now = Utc::now();
    let ts = now.timestamp();
    let far = ts + 30 * 86_400;
    let series = series(backend, n);
    let f = sql_false(backend);
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO members (email, name, timezone, request_at, digest_at, workdays, paused, unsubscribed,
           next_request_at, next_request_date, next_digest_at, next_digest_date, created_at, updated_at)
         SELECT 'm' || x || '@bench.test', 'Member ' || x, 'UTC', '16:30', '08:30', 127, {f}, {f},
           {far}, '2030-01-01', {far}, '2030-01-01', {ts}, {ts} FROM ({series}) s"
    )))
    .execute(ctx.store.pool())
    .await?;

    let inbox = dir.path().join("inbox");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(inbox.join(sub))?;
    }
    let date = (now - Duration::hours(1)).date_naive();
    let mut bytes = 0usize;
    for i in 1..=n {
        let to = ctx.reply_address(i, date).to_string();
        let raw = reply(i, &to);
        bytes += raw.len();
        std::fs::write(inbox.join("new").join(format!("{i}.bench:2,")), raw)?;
    }
    eprintln!(
        "wrote {n} replies ({} KB) to {}",
        bytes / 1024,
        inbox.display()
    );

    let t = Instant::now();
    let r = ingest::poll(&ctx, now).await?;
    let secs = t.elapsed().as_secs_f64();
    anyhow::ensure!(
        r.accepted as i64 == n,
        "every reply is accepted: {r:?} (see `tidings inbox` for reasons)"
    );
    println!("ingest_per_s {:.0} replies/s", n as f64 / secs);
    ctx.store.close().await;
    Ok(())
}
