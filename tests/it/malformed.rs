//! Bad input through the real ingest path: 1,000 deterministically generated malformed emails
//! (broken MIME boundaries, bad charsets, invalid base64 and quoted-printable, 1 MB header
//! lines, 200-level multipart nesting, NUL bytes, truncation, missing headers, binary garbage,
//! header folding abuse) dropped into the Maildir inbox and polled once. None may panic or be
//! lost: each gets an `inbound_messages` row holding its exact bytes and a final status, and
//! what was accepted or queued because of them still sends. Then proptests: arbitrary TOML and
//! `TIDINGS_*` overrides never panic the config loader and give a valid `Config` or errors
//! naming their key (or, for broken TOML, the file); arbitrary JSON to the update and
//! preference endpoints over a real port is always 2xx or a JSON 4xx with `error.code`.

use std::collections::HashMap;

use crate::helpers::*;
use tidings::store::InboundStatus;

/// xorshift64*: small, seeded, the same sequence on every run.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// Who a generated message claims to be from and to, so some reach the deeper pipeline (a
/// member with a valid token) and others stop at the sender checks.
struct Envelope {
    token_to: String,
    request_id: String,
}

fn common_headers(r: &mut Rng, i: usize, env: &Envelope, with_id: bool) -> String {
    let mut h = String::new();
    if r.chance(90) {
        h.push_str(r.pick(&[
            "From: Ann <ann@example.test>\r\n",
            "From: ann@example.test\r\n",
            "From: Mallory <mallory@evil.test>\r\n",
            "From: \"broken <ann@example.test\r\n",
            "From: =?x-unknown?B?QW5u?= <ann@example.test>\r\n",
            "From: <>\r\n",
            "From: ,,,@@@\r\n",
        ]));
    }
    if r.chance(85) {
        let to = match r.below(4) {
            0 | 1 => env.token_to.clone(),
            2 => "updates@example.test".to_string(),
            _ => "updates+m1-garbage@example.test".to_string(),
        };
        h.push_str(&format!("To: {to}\r\n"));
    }
    if with_id && r.chance(90) {
        h.push_str(&format!("Message-ID: <gen-{i}@malformed.test>\r\n"));
    }
    if r.chance(50) {
        h.push_str(&format!("In-Reply-To: <{}>\r\n", env.request_id));
    }
    if r.chance(70) {
        h.push_str(r.pick(&[
            "Subject: Re: Your update\r\n",
            "Subject: =?utf-8?Q?Re=3A_caf=C3=A9?=\r\n",
            "Subject: =?bogus-charset?B?!!!notbase64?=\r\n",
            "Subject: =?utf-8?B?\r\n",
            "Subject: Out of Office\r\n",
        ]));
    }
    if r.chance(60) {
        h.push_str(r.pick(&[
            "Date: Mon, 9 Mar 2026 17:00:00 +0000\r\n",
            "Date: yesterday-ish\r\n",
            "Date: Mon, 99 Foo 99999 99:99:99 +9999\r\n",
        ]));
    }
    if r.chance(50) {
        h.push_str("MIME-Version: 1.0\r\n");
    }
    h.push_str(&format!("X-Gen: {i}\r\n"));
    h
}

fn text_line(r: &mut Rng, i: usize) -> String {
    format!(
        "{} (message {i})",
        r.pick(&[
            "Finished the migration.",
            "Next: load tests.",
            "Blocked on review.",
            "Café crème, naïve façade.",
            "digest at 07:30",
            "",
        ])
    )
}

fn broken_boundary(r: &mut Rng, i: usize) -> String {
    let b = format!("B{i}");
    let body = text_line(r, i);
    match r.below(6) {
        0 => format!(
            "Content-Type: multipart/mixed; boundary=\"{b}\"\r\n\r\n--WRONG\r\nContent-Type: text/plain\r\n\r\n{body}\r\n--WRONG--\r\n"
        ),
        1 => format!(
            "Content-Type: multipart/alternative; boundary=\"{b}\"\r\n\r\n--{b}\r\nContent-Type: text/plain\r\n\r\n{body}\r\n--{b}\r\nContent-Type: text/html\r\n\r\n<p>{body}"
        ),
        2 => format!(
            "Content-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n\r\n{body}\r\n----\r\n"
        ),
        3 => format!("Content-Type: multipart/mixed\r\n\r\n--x\r\n\r\n{body}\r\n--x--\r\n"),
        4 => format!(
            "Content-Type: multipart/mixed; boundary=\"{b}\"\r\n\r\n--{b}\r\nContent-Type: multipart/mixed; boundary=\"{b}\"\r\n\r\n--{b}\r\n\r\n{body}\r\n--{b}--\r\n--{b}--\r\n"
        ),
        _ => format!(
            "Content-Type: multipart/mixed; boundary={b}; boundary=other\r\n\r\n--{b}--\r\n--{b}\r\n\r\n{body}\r\n--other\r\n--{b}-- trailing\r\n"
        ),
    }
}

fn bad_charset(r: &mut Rng, i: usize) -> Vec<u8> {
    let cs = r.pick(&[
        "x-unknown-charset",
        "utf-7",
        "iso-2022-jp",
        "",
        "\"utf-8",
        "utf-16",
        "utf-32le",
        "gb18030",
        "windows-1252",
        "\u{e9}bad",
        "utf-8\0",
        "koi8-r; charset=utf-8",
    ]);
    let mut out = format!("Content-Type: text/plain; charset={cs}\r\n\r\n").into_bytes();
    out.extend(text_line(r, i).into_bytes());
    out.extend(b"\r\n");
    let n = r.below(300);
    out.extend(r.bytes(n).into_iter().map(|b| b | 0x80));
    out.extend(b"\r\n");
    out
}

fn bad_encoding(r: &mut Rng, i: usize) -> String {
    let body = text_line(r, i);
    match r.below(6) {
        0 => format!(
            "Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not*base64***{i}===\r\n"
        ),
        1 => format!(
            "Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\nRmluaXNoZWQgdGhl{i}\r\nbWlncmF0aW9u=\r\n=\r\n"
        ),
        2 => format!(
            "Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{body} =ZZ=\r\n=4=\r\n=\r\n"
        ),
        3 => format!(
            "Content-Type: text/plain\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 f\r\n{body}\r\n"
        ),
        4 => format!(
            "Content-Type: multipart/mixed; boundary=Z\r\n\r\n--Z\r\nContent-Transfer-Encoding: base64\r\n\r\n{body}\r\n--Z\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\nContent-Disposition: attachment; filename=\"a.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK{i}%%%\r\n--Z--\r\n"
        ),
        _ => format!(
            "Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable; base64\r\n\r\n{body}=\r\n=E2=80=\r\n"
        ),
    }
}

fn huge_header(r: &mut Rng, i: usize) -> String {
    // One in 25 is a full megabyte on one line; the rest stay smaller to keep the suite quick.
    let len = if i % 25 == 3 {
        1 << 20
    } else {
        [1_000, 16_000, 100_000][r.below(3)]
    };
    let body = text_line(r, i);
    match r.below(4) {
        0 => format!("X-Huge: {}\r\n\r\n{body}\r\n", "a".repeat(len)),
        1 => format!("Subject: {}\r\n\r\n{body}\r\n", "Re: ".repeat(len / 4)),
        2 => {
            let many: String = (0..len / 40)
                .map(|k| format!("u{k}@example.test, "))
                .collect();
            format!("Cc: {many}\r\n\r\n{body}\r\n")
        }
        _ => {
            let many: String = (0..len / 20).map(|k| format!("X-H{k}: v\r\n")).collect();
            format!("{many}\r\n{body}\r\n")
        }
    }
}

fn deep_nesting(r: &mut Rng, i: usize) -> String {
    let depth = if i % 20 == 4 { 200 } else { 1 + r.below(60) };
    let rfc822 = r.chance(30);
    let mut s = String::new();
    for d in 0..depth {
        if rfc822 && d % 2 == 1 {
            s.push_str("Content-Type: message/rfc822\r\n\r\nFrom: inner@example.test\r\n");
        } else {
            s.push_str(&format!(
                "Content-Type: multipart/mixed; boundary=\"L{d}\"\r\n\r\n--L{d}\r\n"
            ));
        }
    }
    s.push_str(&format!(
        "Content-Type: text/plain\r\n\r\n{}\r\n",
        text_line(r, i)
    ));
    if r.chance(50) {
        for d in (0..depth).rev() {
            if !(rfc822 && d % 2 == 1) {
                s.push_str(&format!("--L{d}--\r\n"));
            }
        }
    }
    s
}

fn nul_bytes(r: &mut Rng, i: usize) -> Vec<u8> {
    let mut v = match r.below(6) {
        5 => format!("Message-ID: <nul\0{i}@malformed.test>\r\nIn-Reply-To: <r\0{i}@x>\r\nReferences: <a\0b> <c\x01d>\r\n\r\n{}\r\n", text_line(r, i)),
        0 => format!("Subject: a\0b\r\n\r\nbody\0with\0nuls {i}\r\n"),
        1 => "Auto-Submitted: auto-replied\0x\r\n\r\nOut of office\r\n".to_string(),
        2 => format!("X-Nul: \0\0\0\r\nContent-Type: text/plain; charset=\"utf-8\0\"\r\n\r\n{}\0\r\n", text_line(r, i)),
        3 => "Content-Type: multipart/mixed; boundary=\"a\0b\"\r\n\r\n--a\0b\r\n\r\nx\r\n--a\0b--\r\n".to_string(),
        _ => format!("\r\n\0{}\0\r\n", text_line(r, i)),
    }
    .into_bytes();
    if r.chance(30) {
        let at = r.below(v.len());
        v.insert(at, 0);
    }
    v
}

fn truncated(r: &mut Rng, i: usize) -> Vec<u8> {
    let full = format!(
        "Content-Type: multipart/mixed; boundary=\"T{i}\"\r\n\r\n--T{i}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{}=\r\n more =C3=A9\r\n--T{i}\r\nContent-Type: image/png; name=\"p.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk\r\n--T{i}--\r\n",
        text_line(r, i)
    );
    let cut = r.below(full.len());
    full.into_bytes()[..cut].to_vec()
}

fn binary_garbage(r: &mut Rng, _i: usize) -> Vec<u8> {
    let n = 1 + r.below(8192);
    let mut v = r.bytes(n);
    if r.chance(30) {
        let mut p = b"From: ann@example.test\r\n".to_vec();
        p.append(&mut v);
        v = p;
    }
    v
}

fn folding_abuse(r: &mut Rng, i: usize) -> String {
    let body = text_line(r, i);
    match r.below(7) {
        0 => format!(
            "Subject: x\r\n{}\r\n{body}\r\n",
            " \r\n".repeat(5_000 + r.below(5_000))
        ),
        1 => {
            format!(" starts folded\r\n\tstill folded\r\nFrom: ann@example.test\r\n\r\n{body}\r\n")
        }
        2 => format!(
            "Subject: =?utf-8?Q?a\r\n =?utf-8?B?\r\n\t?=\r\n no colon here\r\n\r\n{body}\r\n"
        ),
        3 => format!("Subject: bare\rcr\rheaders\rX: y\r\r{body}\r"),
        4 => format!("Subject: bare lf\nFrom: ann@example.test\n\n{body}\n"),
        5 => format!("Bad Header Name!: v\r\n:empty name\r\n\u{e9}t\u{e9}: v\r\n\r\n{body}\r\n"),
        _ => format!(
            "To: a@example.test,\r\n{}\r\n\r\n{body}\r\n",
            "\t,\r\n".repeat(2_000)
        ),
    }
}

fn missing_headers(r: &mut Rng, i: usize) -> Vec<u8> {
    match r.below(5) {
        0 => format!("\r\n\r\n{}\r\n", text_line(r, i)).into_bytes(),
        1 => format!("{}\r\n", text_line(r, i)).into_bytes(),
        2 => format!("X-Gen: {i}\r\n").into_bytes(),
        3 => format!("X-Gen: {i}\r\n\r\n").into_bytes(),
        _ => format!("Content-Type: text/plain\r\n\r\n{}\r\n", text_line(r, i)).into_bytes(),
    }
}

/// Message `i` of the generated set (category `i % 10`), the same bytes on every run.
fn generate(i: usize, env: &Envelope) -> Vec<u8> {
    let mut r = Rng::new(0x7a1d_1295 ^ i as u64);
    let cat = i % 10;
    // Missing-headers and garbage messages make their own heads; the rest get the usual ones.
    let head = match cat {
        7 | 8 => String::new(),
        // The NUL kind brings its own Message-ID in some messages.
        _ => common_headers(&mut r, i, env, cat != 5),
    };
    let mut out = head.into_bytes();
    let rest: Vec<u8> = match cat {
        0 => broken_boundary(&mut r, i).into_bytes(),
        1 => bad_charset(&mut r, i),
        2 => bad_encoding(&mut r, i).into_bytes(),
        3 => huge_header(&mut r, i).into_bytes(),
        4 => deep_nesting(&mut r, i).into_bytes(),
        5 => nul_bytes(&mut r, i),
        6 => truncated(&mut r, i),
        7 => missing_headers(&mut r, i),
        8 => binary_garbage(&mut r, i),
        _ => folding_abuse(&mut r, i).into_bytes(),
    };
    out.extend(rest);
    out
}

/// Sends Ann's Monday request; the envelope carries its token address and Message-ID.
async fn setup(app: &TestApp) -> Envelope {
    app.member("ann@example.test", "Ann", "Europe/Berlin").await;
    app.member("bob@example.test", "Bob", "Europe/Berlin").await;
    app.tick(at("2026-03-09T00:00:00Z")).await;
    app.tick(at("2026-03-09T15:30:00Z")).await;
    let (token_to, request_id) = reply_headers(&app.read_sent("request_1_2026-03-09.tidings.eml"));
    assert!(token_to.starts_with("updates+"), "{token_to}");
    Envelope {
        token_to,
        request_id,
    }
}

async fn ingest_generated(app: TestApp, which: impl Iterator<Item = usize>) {
    let env = setup(&app).await;
    let inbox = &app.ctx.config.mail.maildir.inbox;
    tidings::mail::outbound::ensure_maildir(inbox).unwrap();
    let mut expected: HashMap<Vec<u8>, usize> = HashMap::new();
    for i in which {
        let raw = generate(i, &env);
        std::fs::write(inbox.join("new").join(format!("gen-{i:04}")), &raw).unwrap();
        *expected.entry(raw).or_default() += 1;
    }
    let n: usize = expected.values().sum();
    // Byte-identical messages are re-deliveries: the second is a duplicate, not lost.
    let identical: usize = expected.values().map(|c| c - 1).sum();

    let r = tidings::jobs::ingest::poll(&app.ctx, at("2026-03-09T17:00:00Z"))
        .await
        .expect("a poll of malformed mail succeeds");
    assert_eq!(r.fetched, n, "{r:?}");
    let mut left: Vec<String> = std::fs::read_dir(inbox.join("new"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    left.sort();
    assert!(left.is_empty(), "left unprocessed in new/: {left:?}");
    assert_eq!(
        r.accepted + r.commands + r.ignored + r.quarantined + r.duplicates,
        n,
        "every message has an outcome: {r:?}"
    );
    assert_eq!(r.duplicates, identical, "{r:?}");
    assert!(r.quarantined > n / 2, "most of this is unusable: {r:?}");

    // Every distinct message is stored once, byte for byte, with a final status.
    let mut stored: HashMap<Vec<u8>, usize> = HashMap::new();
    let mut id = 1;
    while let Some(row) = app.ctx.store.inbound(id).await.unwrap() {
        assert_ne!(
            row.status,
            InboundStatus::New.as_str(),
            "row {id} unfinished"
        );
        if row.status == InboundStatus::Quarantined.as_str() {
            assert!(
                row.reason.as_deref().is_some_and(|s| !s.is_empty()),
                "row {id} quarantined without a reason"
            );
        }
        *stored.entry(row.raw).or_default() += 1;
        id += 1;
    }
    assert_eq!(stored.len(), expected.len(), "distinct messages stored");
    for (raw, count) in &stored {
        assert_eq!(
            *count,
            1,
            "stored twice: {:?}",
            String::from_utf8_lossy(&raw[..raw.len().min(200)])
        );
        assert!(
            expected.contains_key(raw),
            "a stored message differs from every delivered one: {:?}",
            String::from_utf8_lossy(&raw[..raw.len().min(200)])
        );
    }

    // What was accepted is readable text, and the receipts and notices it caused all send.
    if let Some(u) = app
        .ctx
        .store
        .update_for(1, "2026-03-09".parse().unwrap())
        .await
        .unwrap()
    {
        assert!(
            !u.body.trim().is_empty() && !u.body.contains('\0'),
            "{:?}",
            u.body
        );
    }
    let s = tidings::jobs::send::run(&app.ctx, at("2026-03-09T17:05:00Z"))
        .await
        .expect("send");
    assert_eq!(s.failed, 0, "{s:?}");
    let failed = app.ctx.store.list_outbox(true, 10).await.unwrap();
    assert!(failed.is_empty(), "{failed:?}");
}

#[tokio::test]
async fn a_thousand_malformed_emails_are_kept_and_none_is_lost_sqlite() {
    ingest_generated(TestApp::new(Db::Sqlite).await, 0..1000).await;
}

/// Every third message (all ten kinds, the 1 MB and 200-level ones included) on PostgreSQL,
/// which unlike SQLite refuses NUL characters in text columns.
#[tokio::test]
async fn malformed_emails_are_kept_and_none_is_lost_postgres() {
    ingest_generated(TestApp::new(Db::Postgres).await, (0..1000).step_by(3)).await;
}

// ------------------------------------------------------------------------------ config

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::Value;
use tidings::config::{Config, Source};

/// Every key of `config.example.toml`, plus a few that do not exist.
const KEYS: &[&str] = &[
    "database.url",
    "database.max_connections",
    "web.bind",
    "web.base_url",
    "web.admin_token",
    "web.max_body_bytes",
    "web.rate_limit_per_minute",
    "mail.transport",
    "mail.from",
    "mail.reply_to",
    "mail.smtp.host",
    "mail.smtp.port",
    "mail.smtp.security",
    "mail.smtp.password",
    "mail.smtp.ca_file",
    "mail.smtp.pool_size",
    "mail.smtp.timeout_secs",
    "mail.smtp.max_attempts",
    "mail.imap.port",
    "mail.imap.security",
    "mail.imap.mailbox",
    "mail.imap.idle",
    "mail.maildir.sent",
    "mail.inbound.bounce_threshold",
    "mail.inbound.attachments",
    "schedule.tick_seconds",
    "schedule.default_timezone",
    "schedule.default_request_at",
    "schedule.default_digest_at",
    "schedule.default_workdays",
    "schedule.send_empty_digest",
    "schedule.questions",
    "schedule.reminder_after_hours",
    "security.secret",
    "security.link_ttl_days",
    "log.format",
    "log.level",
    "web.bnd",
    "nope.key",
    "mail.smtp.nope",
];

fn toml_value() -> impl Strategy<Value = toml::Value> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(toml::Value::Integer),
        prop_oneof![Just(0i64), Just(-1), Just(1), Just(65536), Just(i64::MAX)]
            .prop_map(toml::Value::Integer),
        any::<bool>().prop_map(toml::Value::Boolean),
        any::<f64>().prop_map(toml::Value::Float),
        ".{0,30}".prop_map(toml::Value::String),
        prop::sample::select(vec![
            "",
            "smtp",
            "maildir",
            "imap",
            "starttls",
            "tls",
            "none",
            "list",
            "omit",
            "json",
            "25:00",
            "07:30",
            "mon,tue",
            "Europe/Berlin",
            "Mars/Olympus",
            "127.0.0.1:0",
            "nope",
            "sqlite://x.db",
            "postgres://u:p@h/db",
            "http://x",
            "a@b.test",
        ])
        .prop_map(|s| toml::Value::String(s.to_string())),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(toml::Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..3)
                .prop_map(|m| toml::Value::Table(m.into_iter().collect())),
        ]
    })
}

fn set_path(t: &mut toml::Table, path: &[&str], v: toml::Value) {
    let Some((last, dirs)) = path.split_last() else {
        return;
    };
    let mut cur = t;
    for d in dirs {
        let e = cur
            .entry(d.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        match e {
            toml::Value::Table(next) => cur = next,
            _ => return,
        }
    }
    cur.insert(last.to_string(), v);
}

fn env_pair() -> impl Strategy<Value = (String, String)> {
    (
        prop_oneof![
            prop::sample::select(KEYS)
                .prop_map(|k| format!("TIDINGS_{}", k.replace('.', "__").to_uppercase())),
            "TIDINGS_[A-Z_]{0,20}",
            "[A-Z_]{1,12}",
        ],
        ".{0,20}",
    )
}

fn load(text: &str, env: &[(String, String)]) -> Result<Config, tidings::config::ConfigError> {
    Config::from_toml_with_env(text, &Source::File("t.toml".into()), env)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_config_text_gives_a_config_or_errors_naming_the_file(
        text in prop_oneof![
            ".{0,200}",
            prop::collection::vec(
                prop_oneof![
                    "\\[[a-z._]{0,12}\\]",
                    "[a-z_.]{1,20} = .{0,20}",
                    prop::sample::select(KEYS).prop_map(|k| format!("{k} = 1")),
                ],
                0..8,
            )
            .prop_map(|l| l.join("\n")),
        ],
        env in prop::collection::vec(env_pair(), 0..3),
    ) {
        match load(&text, &env) {
            Ok(cfg) => prop_assert!(cfg.validate(&Source::File("t.toml".into())).is_ok()),
            Err(e) => {
                prop_assert!(!e.problems.is_empty());
                for p in &e.problems {
                    prop_assert!(
                        p.contains("t.toml") || p.contains("environment TIDINGS_"),
                        "{p}"
                    );
                }
            }
        }
    }

    #[test]
    fn arbitrary_keys_and_values_give_a_config_or_errors_naming_a_key(
        pairs in prop::collection::vec((prop::sample::select(KEYS), toml_value()), 1..5),
        env in prop::collection::vec(env_pair(), 0..3),
    ) {
        let mut t = toml::Table::new();
        for (k, v) in &pairs {
            set_path(&mut t, &k.split('.').collect::<Vec<_>>(), v.clone());
        }
        let text = toml::to_string(&t).expect("a table serialises");
        match load(&text, &env) {
            Ok(cfg) => prop_assert!(cfg.validate(&Source::File("t.toml".into())).is_ok()),
            Err(e) => {
                prop_assert!(!e.problems.is_empty());
                let mut names: Vec<String> = Vec::new();
                for (k, v) in &pairs {
                    names.push(k.to_string());
                    names.extend(k.split('.').map(str::to_string));
                    if let toml::Value::Table(sub) = v {
                        names.extend(sub.keys().cloned());
                    }
                }
                // An override is named by its variable or, once merged, by its dotted key.
                for (k, _) in &env {
                    names.push(k.clone());
                    if let Some(rest) = k.strip_prefix("TIDINGS_") {
                        names.push(rest.replace("__", ".").to_ascii_lowercase());
                    }
                }
                for p in &e.problems {
                    prop_assert!(
                        names.iter().any(|n| p.contains(n.as_str())),
                        "{p}\n--- from ---\n{text}\n{env:?}"
                    );
                }
            }
        }
    }
}

// ------------------------------------------------------------------------------ API bodies

const FIELDS: &[&str] = &[
    "text",
    "date",
    "email",
    "name",
    "timezone",
    "request_at",
    "digest_at",
    "workdays",
    "paused",
    "unsubscribed",
    "away",
    "team",
    "teams",
    "aliases",
    "from",
    "to",
];

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,40}".prop_map(Value::from),
        prop::sample::select(vec![
            "",
            "Europe/Berlin",
            "Mars/Olympus",
            "25:00",
            "07:30",
            "24:00",
            "mon",
            "sun,mon",
            "2026-03-09",
            "2099-01-01",
            "0000-00-00",
            "ann@example.test",
            "core",
            "\u{0}",
            "<script>alert(1)</script>",
            "'; DROP TABLE members; --",
            "\r\nBcc: x@y.test",
        ])
        .prop_map(Value::from),
        (1usize..100_000).prop_map(|n| Value::from("é".repeat(n))),
    ]
}

fn json_any() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    prop::sample::select(FIELDS).prop_map(str::to_string),
                    "[a-z]{1,6}"
                ],
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A body: mostly an object of the endpoints' own fields, sometimes anything at all.
fn json_body() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => prop::collection::btree_map(prop::sample::select(FIELDS).prop_map(str::to_string), json_any(), 0..5)
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        1 => json_any(),
    ]
}

fn sample<S: Strategy>(s: &S, runner: &mut TestRunner) -> S::Value {
    s.new_tree(runner).expect("a value").current()
}

/// Asserts the response is 2xx, or a 4xx whose body is `{"error": {"code": ...}}`.
async fn assert_handled(what: &str, r: reqwest::Response) {
    let s = r.status();
    let body = r.text().await.unwrap_or_default();
    assert!(!s.is_server_error(), "{what}: {s} {body}");
    if !s.is_success() {
        assert!(s.is_client_error(), "{what}: {s} {body}");
        let v: Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("{what}: {s} {body}"));
        assert!(
            v["error"]["code"].as_str().is_some_and(|c| !c.is_empty()),
            "{what}: {s} {body}"
        );
    }
}

async fn api_bodies(app: TestApp, cases: usize) {
    let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
    let srv = crate::web::Server::start(&app, |c| c.web.rate_limit_per_minute = 0).await;
    let t = srv.token_for(ann).await;
    let mut runner = TestRunner::deterministic();
    let bodies = json_body();
    let bytes = prop::collection::vec(any::<u8>(), 0..200);
    for i in 0..cases {
        for (method, path) in [
            (reqwest::Method::POST, "/api/v1/updates"),
            (reqwest::Method::PUT, "/api/v1/me/preferences"),
            (reqwest::Method::POST, "/api/v1/admin/members"),
        ] {
            let token = if path.contains("admin") {
                crate::web::ADMIN
            } else {
                t.as_str()
            };
            let v = sample(&bodies, &mut runner);
            let r = srv
                .http
                .request(method.clone(), srv.url(path))
                .bearer_auth(token)
                .json(&v)
                .send()
                .await
                .unwrap();
            assert_handled(&format!("{method} {path} #{i} {v}"), r).await;
            // Not JSON at all, under a JSON content type.
            let raw = sample(&bytes, &mut runner);
            let r = srv
                .http
                .request(method.clone(), srv.url(path))
                .bearer_auth(token)
                .header("content-type", "application/json")
                .body(raw.clone())
                .send()
                .await
                .unwrap();
            assert_handled(&format!("{method} {path} #{i} {raw:?}"), r).await;
        }
    }
    let r = srv.http.get(srv.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::OK);
}

#[tokio::test]
async fn arbitrary_json_to_the_api_is_never_a_500_sqlite() {
    api_bodies(TestApp::new(Db::Sqlite).await, 150).await;
}

#[tokio::test]
async fn arbitrary_json_to_the_api_is_never_a_500_postgres() {
    api_bodies(TestApp::new(Db::Postgres).await, 50).await;
}
