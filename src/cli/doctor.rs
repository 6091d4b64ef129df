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
            inbound_trust(&cfg, &store, &mut r).await;
            calendars(&store, &mut r).await;
            activity_feeds(&store, &mut r).await;
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
    deliverability(&cfg, &mut r);
    if let Some(to) = send_test {
        let to = crate::domain::EmailAddress::parse(&to)
            .map_err(|e| crate::cli::UsageError(e.to_string()))?;
        let ctx = crate::jobs::Ctx::build(cfg.clone()).await?;
        let raw = crate::jobs::compose::test_email(&ctx, &to, now)?;
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

/// Addresses the fetcher reads (calendars, activity feeds), as doctor reports them: counts by
/// state, and each whose last read failed as "WHO since WHEN: WHY" (never the address).
struct Fetched<'a> {
    check: &'a str,
    states: Result<Vec<(&'static str, i64)>, crate::store::StoreError>,
    failing: Vec<String>,
    /// What a failure means, after "N of M cannot be read (…); ".
    meaning: &'a str,
    hint: &'a str,
}

fn report_fetched(f: Fetched<'_>, r: &mut Report) {
    let states = match f.states {
        Ok(s) => s,
        Err(e) => return r.fail(f.check, &e.to_string(), "run `tidings migrate`"),
    };
    let count = |k: &str| states.iter().find(|(s, _)| *s == k).map_or(0, |(_, n)| *n);
    let total: i64 = states.iter().map(|(_, n)| n).sum();
    if f.failing.is_empty() {
        let counts = format!(
            "{} read, {} not read yet, none failing",
            count("ok"),
            count("unread")
        );
        return r.ok(f.check, &counts);
    }
    let what = format!(
        "{} of {total} cannot be read ({}); {}",
        f.failing.len(),
        f.failing.join("; "),
        f.meaning
    );
    r.warn(f.check, &what, f.hint);
}

/// "github.com …a.atom since 2026-12-01T12:00:00Z: why".
fn failing_line(shown: &str, since: Option<i64>, error: Option<&str>) -> String {
    format!(
        "{shown} since {}: {}",
        crate::domain::rfc3339(since.unwrap_or_default()),
        error.unwrap_or_default()
    )
}

/// Calendar addresses whose last read failed (a warning: their last good copy is used).
async fn calendars(store: &Store, r: &mut Report) {
    let failing = store.failing_calendars().await.unwrap_or_default();
    let f = Fetched {
        check: "calendars",
        states: store.calendar_states().await,
        failing: failing
            .iter()
            .map(|l| failing_line(&l.shown, l.failing_since, l.error.as_deref()))
            .collect(),
        meaning: "their last good copy is used",
        hint: "ask the member to copy their calendar's private address again (reply \"calendar URL\"), or set fetch.allow_private = true for a server on your LAN",
    };
    report_fetched(f, r);
}

/// Activity feeds whose last read failed (a warning: those members' requests go out without
/// a draft from them). Named by member id and host only: the address is the member's secret.
async fn activity_feeds(store: &Store, r: &mut Report) {
    let failing = store.failing_activity_feeds().await.unwrap_or_default();
    let f = Fetched {
        check: "activity feeds",
        states: store.activity_feed_states().await,
        failing: failing
            .iter()
            .map(|(m, l)| {
                let line = failing_line(&l.shown, l.failing_since, l.error.as_deref());
                format!("member {m}'s {line}")
            })
            .collect(),
        meaning: "those requests go out without a draft from them",
        hint: "the member sees why on their preferences page and may give the address again (reply \"activity URL\"); set fetch.allow_private = true for a forge on your LAN",
    };
    report_fetched(f, r);
}

/// Whether `mail.inbound.trusted_authserv_id` is set, and whether recent mail carries an
/// `Authentication-Results` of that id (a wrong id silently sends every message without a
/// token through "Was this you?").
async fn inbound_trust(cfg: &Config, store: &Store, r: &mut Report) {
    let key = "mail.inbound.trusted_authserv_id";
    let trusted = &cfg.mail.inbound.trusted_authserv_id;
    if trusted.is_empty() {
        r.warn(
            key,
            "empty: mail without a reply token (a fresh email to the base address) is never taken on your mail server's word; each member is asked \"Was this you?\" instead",
            "set it to the authserv-id your receiving server writes in Authentication-Results (see the manual, Running it › Security: docs/src/running/security.md)",
        );
        return;
    }
    let heads = match store.recent_inbound_heads(50).await {
        Ok(h) => h,
        Err(e) => {
            r.warn(
                key,
                &format!("cannot read recent mail: {e}"),
                "check the database",
            );
            return;
        }
    };
    let mut seen = std::collections::BTreeSet::new();
    let mut stamped = 0;
    for raw in &heads {
        let Ok(p) = crate::mail::parse::parse(raw) else {
            continue;
        };
        let ids: Vec<String> = p
            .auth_results
            .iter()
            .filter_map(|h| h.split(';').next())
            .filter_map(|id| id.split_whitespace().next())
            .map(str::to_string)
            .collect();
        if ids
            .iter()
            .any(|id| crate::mail::auth::is_trusted(id, trusted))
        {
            stamped += 1;
        }
        seen.extend(ids);
    }
    let list = trusted.join(", ");
    if heads.is_empty() {
        r.ok(
            key,
            &format!("{list} (no mail received yet to check it against)"),
        );
    } else if stamped == 0 {
        let others: Vec<String> = seen.into_iter().take(5).collect();
        r.warn(
            key,
            &format!(
                "none of the last {} messages carries Authentication-Results from {list}{}",
                heads.len(),
                if others.is_empty() {
                    String::new()
                } else {
                    format!(" (seen: {})", others.join(", "))
                }
            ),
            "set it to the id your receiving server writes first in Authentication-Results",
        );
    } else {
        r.ok(
            key,
            &format!(
                "{list}: seen on {stamped} of the last {} messages",
                heads.len()
            ),
        );
    }
}

/// Whether `a` and `b` are aligned for DMARC in relaxed mode: the same domain or one a
/// subdomain of the other (an approximation of "the same organizational domain").
fn aligned(a: &str, b: &str) -> bool {
    let (a, b) = (a.to_ascii_lowercase(), b.to_ascii_lowercase());
    a == b || a.ends_with(&format!(".{b}")) || b.ends_with(&format!(".{a}"))
}

/// What receiving mail servers (Gmail's and Yahoo's bulk-sender rules) look at: HTTPS for
/// one-click unsubscribe, a real From domain, SPF alignment of the envelope sender, DKIM.
fn deliverability(cfg: &Config, r: &mut Report) {
    let from_domain = cfg.mail.from.address.domain().to_string();
    let loopback_web =
        cfg.web.base_url.contains("127.0.0.1") || cfg.web.base_url.contains("localhost");
    if cfg.web.base_url.starts_with("http://") && !loopback_web {
        r.warn(
            "unsubscribe",
            &format!("web.base_url is {}: RFC 8058 one-click unsubscribe wants HTTPS, and Gmail and Yahoo ignore a List-Unsubscribe-Post over plain HTTP", cfg.web.base_url),
            "serve the web side over HTTPS (contrib/nginx.conf or contrib/Caddyfile) and set web.base_url to the https:// URL",
        );
    }
    if from_domain == "localhost" || !from_domain.contains('.') {
        r.warn(
            "mail.from",
            &format!("{} is at {from_domain:?}, which no receiving server can check (SPF, DKIM, DMARC)", cfg.mail.from),
            "set mail.from to an address of a domain you control, such as \"Tidings <tidings@example.com>\"",
        );
    }
    let envelope_domain = cfg.mail.reply_to.domain().to_string();
    if !from_domain.is_empty()
        && !envelope_domain.is_empty()
        && !aligned(&from_domain, &envelope_domain)
    {
        r.warn(
            "alignment",
            &format!("the envelope sender (mail.reply_to, {envelope_domain}) is not aligned with the From domain ({from_domain}): SPF passes for {envelope_domain}, but DMARC needs it to match {from_domain}"),
            "use a mail.reply_to address in the From domain (or a subdomain of it), or rely on a DKIM signature for that domain ([mail.dkim])",
        );
    }
    let d = &cfg.mail.dkim;
    if d.private_key_file.is_empty() {
        let smtp = &cfg.mail.smtp;
        let loopback_smtp = smtp.host == "localhost"
            || smtp
                .host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if cfg.mail.transport == Transport::Smtp && !loopback_smtp {
            r.warn(
                "dkim",
                &format!("mail goes to {} unsigned: Gmail and Yahoo expect DKIM from bulk senders, and DMARC with SPF alone breaks on forwarding", smtp.host),
                "set [mail.dkim] selector and private_key_file and publish the record doctor then prints (unless your provider signs for your domain)",
            );
        }
        return;
    }
    match crate::mail::dkim::load_key(std::path::Path::new(&d.private_key_file)) {
        Ok(key) => {
            let domain = if d.domain.is_empty() {
                from_domain.clone()
            } else {
                d.domain.clone()
            };
            r.ok(
                "dkim",
                &format!(
                    "signing as d={domain}, s={}; publish TXT {}._domainkey.{domain} \"{}\"",
                    d.selector,
                    d.selector,
                    crate::mail::dkim::dns_record(&key)
                ),
            );
            if !aligned(&domain, &from_domain) {
                r.warn(
                    "dkim",
                    &format!("the signing domain {domain} is not aligned with the From domain {from_domain}, so the signature does not count for DMARC"),
                    "leave mail.dkim.domain empty (the From domain) or set it to the From domain",
                );
            }
        }
        Err(e) => r.fail(
            "dkim",
            &format!("{e:#}"),
            "check mail.dkim.private_key_file",
        ),
    }
}
