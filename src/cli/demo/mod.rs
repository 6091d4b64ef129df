//! `tidings demo`: a sample team in four time zones, two simulated days, offline. Requests are
//! written to the sent Maildir, answered with replies in the styles of real clients (quoted
//! history, signatures, one HTML-only), ingested, and digested — all through the same jobs as
//! `serve`, driven by a simulated clock. An observer reads a weekly digest on the Wednesday
//! and is never asked; the team log is written as Markdown and its address printed.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{Duration, TimeZone, Utc};
use mail_parser::MessageParser;

use crate::config::{Config, SecretUrl, Transport};
use crate::domain::schedule::parse_tz;
use crate::domain::{Cadence, EmailAddress};
use crate::jobs::Ctx;
use crate::store::{MemberChange, MemberDefaults};

mod activity;
mod people;

use people::{OBSERVER, PEOPLE, Style, WIN_ANSWERS, WINS};

pub async fn run(dir: Option<PathBuf>) -> anyhow::Result<()> {
    let dir = match dir {
        Some(d) => {
            std::fs::create_dir_all(&d)
                .with_context(|| format!("cannot create {}", d.display()))?;
            d
        }
        None => tempfile::Builder::new()
            .prefix("tidings-demo-")
            .tempdir()
            .context("cannot create a temporary folder")?
            .keep(),
    };
    let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
    let var = dir.join("var");
    let db = var.join("tidings.db");
    if db.exists() {
        anyhow::bail!(
            "{} already holds a demo database; use a fresh --dir",
            dir.display()
        );
    }
    let mut cfg = Config::default();
    cfg.database.url = SecretUrl(format!("sqlite://{}", db.display()));
    cfg.mail.transport = Transport::Maildir;
    cfg.mail.from = "Tidings <tidings@demo.example>".parse()?;
    cfg.mail.reply_to = crate::domain::EmailAddress::parse("updates@demo.example")?;
    cfg.mail.maildir.sent = var.join("mail/sent");
    cfg.mail.maildir.inbox = var.join("mail/inbox");
    // No secret in the config: one is made and stored in the database like any server's, so
    // `tidings serve` on this database accepts every link the demo wrote.
    let config_file = dir.join("tidings.toml");
    std::fs::write(&config_file, demo_config(&cfg))
        .with_context(|| format!("cannot write {}", config_file.display()))?;
    // Ana's activity feed is served on 127.0.0.1 while the demo runs (not in tidings.toml).
    cfg.fetch.allow_private = true;
    cfg.fetch.allow_http = true;
    let ctx = Ctx::build(cfg).await?;
    let result = drive(&ctx, &dir).await;
    ctx.store.close().await;
    result
}

async fn drive(ctx: &Ctx, dir: &Path) -> anyhow::Result<()> {
    // Loaded like an import: the demo's own clock plans them in its first pass.
    let defaults = MemberDefaults {
        tz: chrono_tz::UTC,
        ..crate::jobs::members::defaults(&ctx.config)
    };
    for p in &PEOPLE {
        let ch = MemberChange {
            name: Some(p.name.into()),
            tz: Some(parse_tz(p.tz)?),
            teams: Some(vec!["Demo".into()]),
            ..Default::default()
        };
        ctx.store
            .add_member(&EmailAddress::parse(p.email)?, &ch, &defaults)
            .await?;
    }
    let (erin_email, erin_name, erin_tz) = OBSERVER;
    let erin = ctx
        .store
        .add_member(
            &EmailAddress::parse(erin_email)?,
            &MemberChange {
                name: Some(erin_name.into()),
                tz: Some(parse_tz(erin_tz)?),
                teams: Some(vec!["Demo".into()]),
                cadence: Some(Cadence::Weekly(chrono::Weekday::Wed)),
                observer: Some(true),
                ..Default::default()
            },
            &defaults,
        )
        .await?;
    add_wins(ctx).await?;
    let feed = activity::serve().await?;
    let ana = ctx
        .store
        .member_by_email(&EmailAddress::parse(PEOPLE[0].email)?)
        .await?
        .context("Ana is in the demo")?;
    ctx.store.add_activity_feed(ana.id, &feed.url).await?;
    crate::outln!(
        "Tidings demo: team \"Demo\" with {} members and an observer",
        PEOPLE.len()
    );
    for p in &PEOPLE {
        crate::outln!(
            "  {:<12} {:<20} {:<17} replies like {}",
            p.name,
            p.email,
            p.tz,
            style_name(p.style)
        );
    }
    crate::outln!(
        "  {:<12} {:<20} {:<17} observer: never asked, reads a weekly digest on Wednesdays",
        erin_name,
        erin_email,
        erin_tz
    );
    crate::outln!(
        "  check-ins:   the daily stand-up, and \"{}\" on Tuesday at 12:00 in each member's zone",
        WINS.0
    );
    // Monday 00:00 UTC; the clock runs 15 minutes a step until Wednesday 14:00 UTC, so every
    // member gets two days of requests and two digests in their own morning.
    let start = Utc
        .with_ymd_and_hms(2026, 11, 30, 0, 0, 0)
        .single()
        .context("start instant")?;
    let end = start + Duration::hours(62);
    let sent_dir = ctx.config.mail.maildir.sent.join("new");
    let inbox = ctx.config.mail.maildir.inbox.clone();
    crate::mail::outbound::ensure_maildir(&inbox)?;
    let mut answered: HashSet<String> = HashSet::new();
    let (mut requests, mut digests, mut receipts) = (0, 0, 0);
    let mut replies = 0;
    let mut now = start;
    let mut failed_parts = 0usize;
    while now <= end {
        // The same pass as `run-due`: a part that fails is reported and the others still run.
        let pass = crate::app::run_pass(ctx, now, "demo", true).await;
        for f in pass.failures(&ctx.config) {
            eprintln!(
                "demo {}: {} failed: {}",
                now.format("%a %H:%M"),
                f.part,
                f.error
            );
            eprintln!("  {}", f.hint);
            failed_parts += 1;
        }
        // Answer new requests, as each member would some minutes later.
        for entry in std::fs::read_dir(&sent_dir)? {
            let path = entry?.path();
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            if !name.starts_with("request") || answered.contains(&name) {
                continue;
            }
            answered.insert(name.clone());
            let raw = std::fs::read(&path)?;
            if let Some(reply) = reply_to_request(&raw, answered.len())? {
                let file = inbox.join("new").join(format!(
                    "{}.reply.eml",
                    name.trim_end_matches(".tidings.eml")
                ));
                std::fs::write(file, reply)?;
                replies += 1;
            }
        }
        now += Duration::minutes(15);
    }
    drop(feed);
    // The feed's server is gone, and `serve` on tidings.toml may not read loopback.
    ctx.store.remove_activity_feeds(ana.id).await?;
    // The next morning: Ben comments on Ana's update from his digest, Dev resolves his
    // blocker by replying "resolved"; Ana's Thursday digest opens with the comment.
    let (comment_digest, resolved) = conversation(ctx, &sent_dir, &inbox, end).await?;
    // Counted from the files, after the last pass: what the summary says is what was written.
    for entry in std::fs::read_dir(&sent_dir)? {
        let name = entry?.file_name().to_string_lossy().to_string();
        if name.starts_with("request") {
            requests += 1;
        } else if name.starts_with("digest") {
            digests += 1;
        } else if name.starts_with("receipt") {
            receipts += 1;
        }
    }
    // Every reply the passes read (the conversation's two included) is in the inbox's cur/.
    let replies = std::fs::read_dir(inbox.join("cur"))?.count().max(replies);
    let mut quoted = 0;
    for entry in std::fs::read_dir(&sent_dir)? {
        let path = entry?.path();
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("digest"))
        {
            // The decoded text part: raw quoted-printable lines of the HTML part can start
            // with "> " where a soft line break falls after a tag.
            let raw = std::fs::read(&path)?;
            let text = mail_parser::MessageParser::default()
                .parse(&raw)
                .and_then(|m| m.body_text(0).map(|t| t.to_string()))
                .unwrap_or_else(|| String::from_utf8_lossy(&raw).to_string());
            if text.contains("wrote:")
                || text.contains("Original Message")
                || text.contains("Sent from my iPhone")
                || text
                    .lines()
                    .any(|l| l.starts_with("&gt;") || l.starts_with("> "))
            {
                quoted += 1;
            }
        }
    }
    let outbox = ctx.store.outbox_counts().await?;
    crate::outln!();
    crate::outln!(
        "Simulated {} to Thu 2026-12-03 09:00 (UTC) in 15-minute steps:",
        start.format("%a %Y-%m-%d %H:%M"),
    );
    crate::outln!("  update requests written: {requests}");
    crate::outln!(
        "  replies ingested:        {replies} (Gmail, Outlook, iPhone and HTML-only styles; quotes and signatures removed)"
    );
    crate::outln!("  receipts written:        {receipts}");
    crate::outln!("  digests written:         {digests}");
    crate::outln!("  digests with quoted history: {quoted}");
    crate::outln!(
        "  outbox: {}",
        outbox
            .iter()
            .map(|(s, n)| format!("{n} {s}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    crate::outln!();
    crate::outln!("Files:");
    crate::outln!(
        "  database:      {}",
        ctx.config.database.url.0.trim_start_matches("sqlite://")
    );
    crate::outln!(
        "  sent mail:     {}  (.eml files; open one in any mail client)",
        sent_dir.display()
    );
    crate::outln!("  replies:       {}", inbox.join("cur").display());
    crate::outln!(
        "  comment:       Ben Carter replied to \"Reply to Ana\" in his digest; Ana's digest of Thu 3 Dec opens with it: {}",
        comment_digest.display()
    );
    crate::outln!("  blocker:       Dev Patel replied \"resolved\": {resolved}");
    crate::outln!(
        "  draft:         {}'s Monday request drafted her Done from her activity feed and she replied \"keep\": {}",
        ana.name,
        activity::kept(ctx, ana.id, &sent_dir).await?
    );
    // The observer's weekly digest, sent by the same planner on Wednesday 08:30 London.
    let weekly = std::fs::read_dir(&sent_dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(&format!("digest_{erin}_")))
        });
    match &weekly {
        Some(p) => crate::outln!(
            "  weekly digest: {}  ({}'s summary of the week)",
            p.display(),
            erin_name
        ),
        None => anyhow::bail!("the observer's weekly digest was not written"),
    }
    // The team log: exported as Markdown, and the address that opens it in a browser.
    let q = crate::store::LogQuery {
        team: "Demo".into(),
        ..Default::default()
    };
    let md = crate::jobs::log::export(
        ctx,
        crate::jobs::log::Reader::Admin,
        &q,
        crate::render::export::Format::Md,
    )
    .await?;
    let log_file = dir.join("team-log.md");
    std::fs::write(&log_file, md)?;
    crate::outln!(
        "  team log:      {}  (tidings export --team Demo --format md)",
        log_file.display()
    );
    let chat_file = chat_post(ctx, dir).await?;
    crate::outln!(
        "  chat post:     {}  (what a Slack room of the team gets on Wed 2 Dec: tidings team chat add)",
        chat_file.display()
    );
    if let Some(m) = ctx
        .store
        .member_by_email(&EmailAddress::parse(PEOPLE[0].email)?)
        .await?
    {
        crate::outln!();
        crate::outln!("See it in a browser, with every link of its emails working:");
        crate::outln!(
            "  tidings --config {} serve",
            dir.join("tidings.toml").display()
        );
        crate::outln!(
            "  then open {}/log (signs {} in to the team log)",
            ctx.prefs_url(&m, Utc::now()),
            m.name
        );
    }
    crate::outln!(
        "Try: tidings --config {} member list",
        dir.join("tidings.toml").display()
    );
    if quoted > 0 {
        anyhow::bail!("{quoted} digest(s) contain quoted history");
    }
    if failed_parts > 0 {
        anyhow::bail!("{failed_parts} part(s) of the simulated passes failed (printed above)");
    }
    Ok(())
}

/// The config of the demo's database and Maildirs, as `tidings serve` reads it (absolute
/// paths, the demo's addresses, the default web address its links point to; no secret: it is
/// in the database).
/// Writes the JSON a Slack room of the Demo team would be sent for Wednesday 2 December (the
/// demo adds no room, so nothing is posted).
async fn chat_post(ctx: &Ctx, dir: &Path) -> anyhow::Result<PathBuf> {
    use crate::render::chat::platforms::{Platform, messages};
    let date = chrono::NaiveDate::from_ymd_opt(2026, 12, 2).context("date")?;
    let s = crate::jobs::chat::summary(ctx, "Demo", date).await?;
    let file = dir.join("chat-post-slack.json");
    let json = serde_json::to_string_pretty(&messages(Platform::Slack, &s))?;
    std::fs::write(&file, json)?;
    Ok(file)
}

fn demo_config(cfg: &Config) -> String {
    let q = |s: &str| toml::Value::String(s.to_string()).to_string();
    format!(
        "# Written by `tidings demo`: serve this demo with `tidings --config THIS-FILE serve`.\n\
         [database]\nurl = {}\n\n\
         [web]\nbind = {}\nbase_url = {}\n\n\
         [mail]\ntransport = \"maildir\"\nfrom = {}\nreply_to = {}\n\n\
         [mail.maildir]\nsent = {}\ninbox = {}\n",
        q(&cfg.database.url.0),
        q(&cfg.web.bind),
        q(&cfg.web.base_url),
        q(&cfg.mail.from.to_string()),
        q(cfg.mail.reply_to.as_str()),
        q(&cfg.mail.maildir.sent.display().to_string()),
        q(&cfg.mail.maildir.inbox.display().to_string()),
    )
}

/// The third morning of the demo: Ben's comment on Ana's update, sent to the "Reply to Ana"
/// address of his latest digest, and Dev's "resolved" in reply to his latest request, both
/// read by the same passes; then the passes run until Thursday 09:00 UTC. Returns Ana's
/// Thursday digest (it must open with the comment) and what Dev resolved.
async fn conversation(
    ctx: &Ctx,
    sent_dir: &Path,
    inbox: &Path,
    from: chrono::DateTime<Utc>,
) -> anyhow::Result<(PathBuf, String)> {
    let latest = |prefix: &str| -> anyhow::Result<Vec<u8>> {
        let mut names: Vec<String> = std::fs::read_dir(sent_dir)?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().to_string())
            .filter(|n| n.starts_with(prefix))
            .collect();
        names.sort();
        let name = names
            .last()
            .ok_or_else(|| anyhow::anyhow!("no {prefix}* email was written"))?;
        Ok(std::fs::read(sent_dir.join(name))?)
    };
    let text_of = |raw: &[u8]| {
        MessageParser::default()
            .parse(raw)
            .and_then(|m| m.body_text(0).map(|t| t.to_string()))
            .unwrap_or_default()
    };
    let digest = text_of(&latest("digest_2_")?);
    let to_ana = digest
        .lines()
        .find_map(|l| l.strip_prefix("Reply to Ana: write to "))
        .ok_or_else(|| anyhow::anyhow!("Ben's digest has no \"Reply to Ana\" address"))?
        .trim()
        .to_string();
    let request = latest("request_4_")?;
    let to_dev = MessageParser::default()
        .parse(&request)
        .and_then(|m| {
            m.reply_to()
                .and_then(|a| a.first())
                .and_then(|a| a.address.as_deref().map(str::to_string))
        })
        .ok_or_else(|| anyhow::anyhow!("Dev's request has no Reply-To"))?;
    let mail = |from: &str, to: &str, id: &str, body: &str| {
        format!(
            "From: {from}\r\nTo: {to}\r\nSubject: Re: your update\r\nMessage-ID: <{id}@demo.example>\r\nDate: Wed, 02 Dec 2026 14:30:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
        )
    };
    std::fs::write(
        inbox.join("new").join("comment.eml"),
        mail(
            "Ben Carter <ben@demo.example>",
            &to_ana,
            "demo-comment",
            "Great numbers! Which dashboard shows the 12k msg/s?\r\n\r\nOn Wed, 2 Dec 2026, Tidings <tidings@demo.example> wrote:\r\n> Ana Lima — Tue 1 Dec (Europe/Berlin)\r\n> Done: load test passed at 12k msg/s.",
        ),
    )?;
    std::fs::write(
        inbox.join("new").join("resolved.eml"),
        mail(
            "Dev <dev@demo.example>",
            &to_dev,
            "demo-resolved",
            "resolved",
        ),
    )?;
    let mut now = from + Duration::minutes(15);
    let until = Utc
        .with_ymd_and_hms(2026, 12, 3, 9, 0, 0)
        .single()
        .context("the demo's last instant")?;
    while now <= until {
        let pass = crate::app::run_pass(ctx, now, "demo", true).await;
        if let Some(f) = pass.failures(&ctx.config).first() {
            anyhow::bail!(
                "demo {}: {} failed: {}",
                now.format("%a %H:%M"),
                f.part,
                f.error
            );
        }
        now += Duration::minutes(15);
    }
    let dev = ctx
        .store
        .member_by_email(&EmailAddress::parse("dev@demo.example")?)
        .await?
        .ok_or_else(|| anyhow::anyhow!("Dev is gone"))?;
    if !ctx.store.open_blockers(&[dev.id]).await?.is_empty() {
        anyhow::bail!("Dev's blocker is still open after his \"resolved\"");
    }
    let ana_digest = sent_dir.join("digest_1_2026-12-03.tidings.eml");
    let text = text_of(&std::fs::read(&ana_digest).with_context(|| {
        format!(
            "Ana's Thursday digest {} was not written",
            ana_digest.display()
        )
    })?);
    let needs = text.find("NEEDS YOU");
    let comment = text.find("Ben Carter commented on your update of Tue 1 Dec");
    let first_entry = text.find(" — ");
    if !(needs < comment && comment < first_entry && text.contains("Great numbers!")) {
        anyhow::bail!("Ana's Thursday digest does not open with Ben's comment:\n{text}");
    }
    if text.contains("BLOCKERS") || !text.contains("[resolved Wed 2 Dec]") {
        anyhow::bail!("Ana's Thursday digest still shows Dev's resolved blocker as open:\n{text}");
    }
    Ok((
        ana_digest,
        "his blocker (no access to the analytics dashboard) leaves the team's digests".into(),
    ))
}

fn style_name(s: Style) -> &'static str {
    match s {
        Style::Gmail => "Gmail (quote header, -- signature)",
        Style::Outlook => "Outlook (From/Sent block, sign-off)",
        Style::Iphone => "iPhone (top post, Sent from my iPhone)",
        Style::HtmlOnly => "an HTML-only client",
    }
}

/// Builds a realistic reply to a request email, or `None` for mail not addressed to a demo member.
/// The demo team's second check-in ([`WINS`]), next to its daily stand-up.
async fn add_wins(ctx: &Ctx) -> anyhow::Result<()> {
    use crate::domain::checkin::{Checkin, GoesTo, Question, Rhythm, Who};
    let team = ctx.store.team_id("Demo").await?.context("the demo team")?;
    let start = chrono::NaiveDate::from_ymd_opt(2026, 11, 30).context("start date")?;
    let wins = Checkin {
        id: 0,
        team_id: team,
        name: WINS.0.into(),
        standup: false,
        questions: vec![Question::parse(WINS.1)?],
        rhythm: Rhythm::parse("weekly:tue", start)?,
        at: Some(crate::domain::schedule::LocalTime::parse("12:00")?),
        tz: None,
        who: Who::All,
        goes_to: GoesTo::Digest,
    };
    ctx.store.add_checkin(&wins).await?;
    Ok(())
}

fn reply_to_request(raw: &[u8], n: usize) -> anyhow::Result<Option<Vec<u8>>> {
    let Some(msg) = MessageParser::default().parse(raw) else {
        return Ok(None);
    };
    let to = msg
        .to()
        .and_then(|a| a.first())
        .and_then(|a| a.address.as_deref())
        .unwrap_or_default()
        .to_string();
    let Some(p) = PEOPLE.iter().find(|p| p.email == to) else {
        return Ok(None);
    };
    let reply_to = msg
        .reply_to()
        .and_then(|a| a.first())
        .and_then(|a| a.address.as_deref())
        .unwrap_or("updates@demo.example")
        .to_string();
    let mid = msg.message_id().unwrap_or_default().to_string();
    let subject = msg.subject().unwrap_or_default().to_string();
    let date = msg.date().map(|d| d.to_rfc822()).unwrap_or_default();
    let body = msg.body_text(0).map(|b| b.to_string()).unwrap_or_default();
    // Monday's request gets the first reply, Tuesday's the second, later ones the third.
    let day = if subject.contains("Mon") {
        0
    } else if subject.contains("Tue") {
        1
    } else {
        2
    };
    // A request of the second check-in gets that person's answer to it.
    let checkin = msg
        .header_raw("X-Tidings-Checkin")
        .map(str::trim)
        .unwrap_or_default();
    let update = match PEOPLE.iter().position(|q| q.email == p.email) {
        Some(i) if checkin == WINS.0 => WIN_ANSWERS[i],
        _ => p.updates[day],
    };
    let quoted: String = body
        .lines()
        .map(|l| {
            if l.is_empty() {
                ">\n".to_string()
            } else {
                format!("> {l}\n")
            }
        })
        .collect();
    let (ctype, text) = match p.style {
        Style::Gmail => (
            "text/plain; charset=utf-8",
            format!(
                "{update}\n\n{}\n\nOn {date}, Tidings <tidings@demo.example> wrote:\n{quoted}",
                p.signature
            ),
        ),
        Style::Outlook => (
            "text/plain; charset=utf-8",
            format!(
                "{update}\n\n{}\n\n________________________________\nFrom: Tidings <tidings@demo.example>\nSent: {date}\nTo: {} <{}>\nSubject: {subject}\n\n{body}",
                p.signature, p.name, p.email
            ),
        ),
        Style::Iphone => (
            "text/plain; charset=utf-8",
            format!(
                "{update}\n\n{}\n\n> On {date}, Tidings <tidings@demo.example> wrote:\n{quoted}",
                p.signature
            ),
        ),
        Style::HtmlOnly => {
            let esc = |s: &str| {
                s.replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;")
            };
            let lines: String = update
                .lines()
                .map(|l| format!("<div>{}</div>", esc(l)))
                .collect();
            let q: String = body.lines().map(|l| format!("{}<br>", esc(l))).collect();
            (
                "text/html; charset=utf-8",
                format!(
                    "<html><body><div dir=\"ltr\">{lines}<div><br></div><div>{}</div></div><br><div class=\"gmail_quote\"><div dir=\"ltr\" class=\"gmail_attr\">On {}, Tidings &lt;tidings@demo.example&gt; wrote:<br></div><blockquote class=\"gmail_quote\" style=\"margin:0 0 0 .8ex;border-left:1px #ccc solid;padding-left:1ex\">{q}</blockquote></div></body></html>",
                    esc(p.signature),
                    esc(&date)
                ),
            )
        }
    };
    let subject = format!("Re: {subject}");
    let out = format!(
        "From: {} <{}>\r\nTo: {reply_to}\r\nSubject: {subject}\r\nMessage-ID: <demo-reply-{n}@demo.example>\r\nIn-Reply-To: <{mid}>\r\nReferences: <{mid}>\r\nDate: {date}\r\nMIME-Version: 1.0\r\nContent-Type: {ctype}\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{}",
        p.name,
        p.email,
        text.replace('\n', "\r\n")
    );
    Ok(Some(out.into_bytes()))
}
