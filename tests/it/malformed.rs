//! Bad input through the real ingest path: 1,000 deterministically generated malformed emails
//! (broken MIME boundaries, bad charsets, invalid base64 and quoted-printable, 1 MB header
//! lines, 200-level multipart nesting, NUL bytes, truncation, missing headers, binary garbage,
//! header folding abuse) dropped into the Maildir inbox and polled once. None may panic or be
//! lost: each gets an `inbound_messages` row holding its exact bytes and a final status, and
//! what was accepted or queued because of them still sends.

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
