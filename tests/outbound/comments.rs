//! Comments and reactions by email, through the real Postfix and Dovecot on both backends:
//! a digest entry's "Reply to Ana" address takes Ben's reply as a comment (read over IMAP,
//! quoted request and all removed), which reaches Ana once, at the top of her next digest,
//! though the same message arrives twice; "+1" twice from Chiaki is one reaction; a forged
//! token and another member's token are quarantined.

use std::time::{Duration, Instant};

use super::*;
use support::{imap_clear, smtp_send};

/// A reply as a mail client writes it: the words on top, the quoted entry below.
fn reply(from: &str, to: &str, message_id: &str, words: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: Re: Ana's update for Mon 30 Nov\r\nMessage-ID: <{message_id}>\r\nDate: Tue, 01 Dec 2026 09:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{words}\r\n\r\nOn Tue, 1 Dec 2026 at 08:30, Tidings <digest@example.test> wrote:\r\n> Ana — Mon 30 Nov (Europe/Berlin)\r\n> Done: the importer\r\n"
    )
    .into_bytes()
}

/// Polls the `updates` mailbox until `want` messages were decided (or 30 s passed).
async fn poll_until(a: &App, want: usize) -> jobs::ingest::IngestReport {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut total = jobs::ingest::IngestReport::default();
    loop {
        let r = jobs::ingest::poll(&a.ctx, at("2026-12-01T09:05:00Z"))
            .await
            .expect("IMAP poll");
        total.accepted += r.accepted;
        total.commands += r.commands;
        total.quarantined += r.quarantined;
        if total.accepted + total.commands + total.quarantined >= want || Instant::now() > deadline
        {
            return total;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

on_both!(a_comment_by_reply_reaches_the_author_once_and_reactions_count_once);
async fn a_comment_by_reply_reaches_the_author_once_and_reactions_count_once(pg: bool) {
    let _serial = SERIAL.lock().await;
    let rig = rig::Rig::shared();
    imap_clear(rig, "updates").await;
    let a = app(rig, pg).await;
    let ana = a
        .member("alice@example.test", "Ana Lima", "Europe/Berlin")
        .await;
    let ben = a
        .member("bob@example.test", "Ben Carter", "Europe/Berlin")
        .await;
    let _chiaki = a
        .member("carol@example.test", "Chiaki", "Europe/Berlin")
        .await;
    a.tick(at("2026-11-29T12:00:00Z")).await;
    a.update(ana, "2026-11-30", "Done: the importer\nNext: the runbook")
        .await;
    a.tick(at("2026-12-01T07:30:00Z")).await;
    let row = a.row(&format!("digest:{ben}:2026-12-01")).await.unwrap();
    let text = text_of(delivered(rig, "bob", &row.message_id, 1)[0].as_bytes());
    let addr = text
        .lines()
        .find_map(|l| l.strip_prefix("Reply to Ana: write to "))
        .unwrap_or_else(|| panic!("a reply address: {text}"))
        .trim()
        .to_string();
    assert!(addr.starts_with("updates+c"), "{addr}");
    let row = a
        .row(&format!("digest:{}:2026-12-01", _chiaki))
        .await
        .unwrap();
    let ctext = text_of(delivered(rig, "carol", &row.message_id, 1)[0].as_bytes());
    let chiaki_addr = ctext
        .lines()
        .find_map(|l| l.strip_prefix("Reply to Ana: write to "))
        .unwrap()
        .trim()
        .to_string();

    let comment = reply(
        "Ben Carter <bob@example.test>",
        &addr,
        &format!("c1-{pg}@client.test"),
        "Nice work. Can you share the runbook?",
    );
    // The comment, and the same message again (a client resending it).
    smtp_send(rig, "bob@example.test", &addr, &comment).await;
    smtp_send(rig, "bob@example.test", &addr, &comment).await;
    // Chiaki's "+1", twice: one reaction.
    for n in 1..=2 {
        let r = reply(
            "Chiaki <carol@example.test>",
            &chiaki_addr,
            &format!("r{n}-{pg}@client.test"),
            "+1",
        );
        smtp_send(rig, "carol@example.test", &chiaki_addr, &r).await;
    }
    // A forged token, and Chiaki writing to Ben's address.
    let mut forged = addr.clone();
    let at_sign = forged.find('@').unwrap();
    let last = forged.as_bytes()[at_sign - 1];
    forged.replace_range(at_sign - 1..at_sign, if last == b'0' { "1" } else { "0" });
    smtp_send(
        rig,
        "bob@example.test",
        &forged,
        &reply(
            "Ben Carter <bob@example.test>",
            &forged,
            &format!("f-{pg}@client.test"),
            "forged",
        ),
    )
    .await;
    smtp_send(
        rig,
        "carol@example.test",
        &addr,
        &reply(
            "Chiaki <carol@example.test>",
            &addr,
            &format!("x-{pg}@client.test"),
            "not mine",
        ),
    )
    .await;
    // Six messages; the second copy of the comment (its Message-ID seen) is not decided again.
    let r = poll_until(&a, 5).await;
    assert_eq!((r.commands, r.quarantined, r.accepted), (3, 2, 0), "{r:?}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let again = jobs::ingest::poll(&a.ctx, at("2026-12-01T09:06:00Z"))
        .await
        .unwrap();
    assert_eq!(again.commands + again.accepted, 0, "{again:?}");

    // One comment stored, one reaction counted.
    let update = a
        .ctx
        .store
        .update_for(ana, d("2026-11-30"))
        .await
        .unwrap()
        .unwrap()
        .id;
    let reactions = a.ctx.store.reactions(&[update]).await.unwrap();
    assert_eq!(
        reactions.get(&update).cloned(),
        Some(vec![("👍".to_string(), vec!["Chiaki".to_string()])])
    );
    let quarantined = a.ctx.store.quarantine_summary(10).await.unwrap();
    assert!(
        quarantined
            .iter()
            .any(|q| q.reason.as_deref().unwrap_or("").contains("comment token")),
        "{quarantined:?}"
    );
    assert!(
        quarantined.iter().any(|q| q
            .reason
            .as_deref()
            .unwrap_or("")
            .contains("came from carol@example.test")),
        "{quarantined:?}"
    );

    // Wednesday: Ana's digest has Ben's comment on top, once.
    a.tick(at("2026-12-02T07:30:00Z")).await;
    let row = a
        .row(&format!("digest:{ana}:2026-12-02"))
        .await
        .expect("Ana's digest");
    let got = delivered(rig, "alice", &row.message_id, 1);
    assert_eq!(got.len(), 1);
    let t = text_of(got[0].as_bytes());
    assert!(
        t.contains("NEEDS YOU\n* Ben Carter commented on your update of Mon 30 Nov (Tue 1 Dec 10:05):\n    Nice work. Can you share the runbook?\n  Reply to Ben: write to updates+c"),
        "{t}"
    );
    assert!(
        !t.contains("Ana — Mon 30 Nov (Europe/Berlin)\n> Done"),
        "no quoted history: {t}"
    );
    assert_eq!(t.matches("Can you share the runbook").count(), 1, "{t}");
    // Thursday: nothing new for Ana, no digest; the comment is not sent twice.
    a.tick(at("2026-12-03T07:30:00Z")).await;
    assert!(a.row(&format!("digest:{ana}:2026-12-03")).await.is_none());
    all_sent_mail_passes_the_header_checks(rig, &a).await;
}
