//! `tidings doctor`: checks what a self-hoster gets wrong most often and says how to fix each.

use std::time::Duration;

use chrono::Utc;

use crate::config::{Config, Transport};
use crate::store::Store;

struct Report {
    failures: usize,
}

impl Report {
    fn ok(&self, what: &str, detail: &str) {
        crate::outln!("ok    {what}: {detail}");
    }
    fn fail(&mut self, what: &str, problem: &str, fix: &str) {
        self.failures += 1;
        crate::outln!("FAIL  {what}: {problem}\n      fix: {fix}");
    }
    fn warn(&self, what: &str, problem: &str, fix: &str) {
        crate::outln!("warn  {what}: {problem}\n      fix: {fix}");
    }
}

pub async fn run(cfg: Config, send_test: Option<String>) -> anyhow::Result<()> {
    let mut r = Report { failures: 0 };
    match tokio::time::timeout(
        Duration::from_secs(15),
        Store::connect(&cfg.database.url.0, 1),
    )
    .await
    {
        Ok(Ok(store)) => {
            r.ok(
                "database",
                &format!("reachable at {}", cfg.database.url.redacted()),
            );
            match store.is_migrated().await {
                Ok(true) => r.ok("migrations", "all applied"),
                _ => r.fail(
                    "migrations",
                    "the schema is not up to date",
                    "run `tidings migrate` (serve also migrates at start-up)",
                ),
            }
            store.close().await;
        }
        Ok(Err(e)) => r.fail(
            "database",
            &format!("{e:#}"),
            "check database.url; for PostgreSQL check the server runs and the user may connect",
        ),
        Err(_) => r.fail(
            "database",
            "no answer within 15 s",
            "check database.url and that the server is reachable",
        ),
    }
    match cfg.mail.transport {
        Transport::Maildir => r.ok(
            "mail",
            &format!(
                "Maildir transport: sent to {}, replies from {}",
                cfg.mail.maildir.sent.display(),
                cfg.mail.maildir.inbox.display()
            ),
        ),
        Transport::Smtp => {
            let smtp = &cfg.mail.smtp;
            match crate::mail::outbound::smtp_transport(smtp) {
                Ok(t) => match tokio::time::timeout(Duration::from_secs(20), t.test_connection()).await {
                    Ok(Ok(())) => r.ok("smtp", &format!("{}:{} answers{}", smtp.host, smtp.port, if smtp.username.is_empty() { "" } else { " and accepts our login" })),
                    Ok(Err(e)) => r.fail("smtp", &e.to_string(), "check mail.smtp.host, port, security (none|starttls|tls), username and password (Gmail and Fastmail need an app password)"),
                    Err(_) => r.fail("smtp", "no answer within 20 s", "check mail.smtp.host and port, and any firewall"),
                },
                Err(e) => r.fail("smtp", &format!("{e:#}"), "check mail.smtp.ca_file and security"),
            }
            let imap = &cfg.mail.imap;
            match tokio::time::timeout(Duration::from_secs(20), crate::mail::inbound::connect(imap))
                .await
            {
                Ok(Ok(mut s)) => {
                    r.ok(
                        "imap",
                        &format!("{}:{} logged in as {}", imap.host, imap.port, imap.username),
                    );
                    match s.examine(&imap.mailbox).await {
                        Ok(m) => r.ok(
                            "mailbox",
                            &format!("{} exists ({} messages)", imap.mailbox, m.exists),
                        ),
                        Err(e) => r.fail(
                            "mailbox",
                            &format!("cannot open {}: {e}", imap.mailbox),
                            "check mail.imap.mailbox (usually INBOX)",
                        ),
                    }
                    let _ = s.logout().await;
                }
                Ok(Err(e)) => r.fail(
                    "imap",
                    &format!("{e:#}"),
                    "check mail.imap.host, port, security, username and password",
                ),
                Err(_) => r.fail(
                    "imap",
                    "no answer within 20 s",
                    "check mail.imap.host and port",
                ),
            }
        }
    }
    let now = Utc::now();
    if now.timestamp() < 1_700_000_000 {
        r.fail(
            "clock",
            &format!("the system clock says {now}"),
            "enable NTP (timedatectl set-ntp true)",
        );
    } else {
        r.ok("clock", &format!("{}", now.format("%Y-%m-%dT%H:%M:%SZ")));
    }
    if cfg.web.base_url.contains("127.0.0.1") || cfg.web.base_url.contains("localhost") {
        r.warn("web.base_url", &format!("{} is only reachable from this machine, so links in emails will not work for members", cfg.web.base_url), "set web.base_url to the public URL of this server");
    } else {
        r.ok("web.base_url", &cfg.web.base_url);
    }
    if let Some(to) = send_test {
        let to = crate::domain::EmailAddress::parse(&to)
            .map_err(|e| crate::cli::UsageError(e.to_string()))?;
        let ctx = crate::jobs::Ctx::build(cfg.clone()).await?;
        let mid = crate::mail::new_message_id("notice", &ctx.mail_domain());
        let raw = crate::mail::outbound::build(&crate::mail::outbound::Outgoing {
            kind: crate::domain::MailKind::Notice,
            from: &cfg.mail.from,
            to_name: "",
            to: &to,
            reply_to: None,
            subject: "Tidings test email",
            message_id: &mid,
            in_reply_to: None,
            text: "This is a test email from `tidings doctor --send-test`.\n".into(),
            html: None,
            unsubscribe_url: None,
            list_id: None,
            date: now.timestamp(),
        })?;
        match ctx
            .sender
            .send(
                &ctx.from_address(),
                &to,
                &format!("doctor-{}", now.timestamp()),
                &raw,
            )
            .await
        {
            Ok(()) => r.ok("test email", &format!("accepted for {to}")),
            Err(e) => r.fail("test email", &e.to_string(), "see the smtp check above"),
        }
        ctx.store.close().await;
    }
    if r.failures > 0 {
        anyhow::bail!(
            "{} check{} failed",
            r.failures,
            if r.failures == 1 { "" } else { "s" }
        );
    }
    crate::outln!("all checks passed");
    Ok(())
}
