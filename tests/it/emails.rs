//! Every kind of email a member gets says which team it is about: the subject names their
//! team(s); an HTML email names them in its heading (`h1`) and footer; the text part in its
//! footer. Checked on the messages the composer builds (`jobs::compose`), the bytes that are
//! sent. The team name is member text: escaped in HTML, decoded intact from the subject.

use chrono::NaiveDate;
use tidings::domain::DigestKind;
use tidings::jobs::compose::{self, Saved};
use tidings::jobs::digest::{TeamCache, digest_view_data};
use tidings::store::MemberChange;

use crate::both;
use crate::helpers::*;

/// What one email says of the team, and where.
fn names_the_team(kind: &str, raw: &str, label: &str, escaped: &str) {
    let subject = subject_of(raw);
    assert!(subject.contains(label), "{kind}: subject {subject:?}");
    let text = text_body(raw);
    assert!(
        text.contains(&format!(
            "You receive this because you are a member of {label} on Tidings."
        )),
        "{kind}: text footer\n{text}"
    );
    if kind.ends_with("(text only)") {
        assert!(!raw.contains("text/html"), "{kind}: an HTML part");
        return;
    }
    let html = html_of(raw);
    let h1 = html
        .split("<h1")
        .nth(1)
        .and_then(|h| h.split("</h1>").next())
        .unwrap_or_else(|| panic!("{kind}: no h1 in\n{html}"));
    assert!(h1.contains(escaped), "{kind}: h1 {h1:?}");
    let footer = html
        .split(r#"<td class="footer""#)
        .nth(1)
        .unwrap_or_else(|| panic!("{kind}: no footer in\n{html}"));
    assert!(
        footer.contains(&format!("a member of {escaped} on Tidings.")),
        "{kind}: HTML footer {footer:?}"
    );
    assert!(!html.contains("<ops>"), "{kind}: the team name is escaped");
}

both!(every_kind_of_email_names_the_team, |app| {
    let ann = app
        .member("ann@example.test", "Ann Lima", "Europe/Berlin")
        .await;
    let bob = app.member("bob@example.test", "Bob", "Europe/Berlin").await;
    let both_teams = MemberChange {
        teams: Some(vec!["core".into(), "r&d <ops>".into()]),
        ..Default::default()
    };
    let m = app
        .ctx
        .store
        .update_member(&addr("ann@example.test"), &both_teams)
        .await
        .unwrap();
    let (label, escaped) = ("core and r&d <ops>", "core and r&amp;d &lt;ops&gt;");
    assert_eq!(m.teams, ["core", "r&d <ops>"], "by name");
    let date = NaiveDate::from_ymd_opt(2026, 3, 10).unwrap();
    let now = at("2026-03-10T07:30:00Z");
    app.ctx
        .store
        .upsert_update(
            bob,
            date,
            "Done: the importer\nBlockers: none",
            &[],
            "api",
            None,
            false,
            0,
        )
        .await
        .unwrap();

    let mut mail: Vec<(String, String)> = Vec::new();
    for reminder in [false, true] {
        let e = compose::request(&app.ctx, &m, date, now, reminder)
            .await
            .unwrap();
        let kind = if reminder { "reminder" } else { "request" };
        mail.push((kind.into(), String::from_utf8_lossy(&e.body).into()));
    }
    for (kind, digest) in [
        ("daily digest", DigestKind::Daily),
        (
            "weekly digest",
            DigestKind::Weekly {
                from: date - chrono::Duration::days(7),
            },
        ),
        (
            "catch-up digest",
            DigestKind::CatchUp {
                from: date - chrono::Duration::days(7),
            },
        ),
    ] {
        let mut data = digest_view_data(&app.ctx, &m, date, now, &mut TeamCache::default())
            .await
            .unwrap();
        data.kind = digest;
        let mut q = compose::digest(&app.ctx, &m, date, now, data).unwrap();
        q.email.idem_key = format!("{kind}:{ann}");
        app.ctx
            .store
            .enqueue_digests(&[q], &[], now.timestamp())
            .await
            .unwrap();
        let row = app
            .queued("digest")
            .await
            .into_iter()
            .find(|r| r.idem_key == format!("{kind}:{ann}"))
            .unwrap();
        let raw = compose::message_of(&app.ctx, &row).await.unwrap();
        mail.push((kind.into(), String::from_utf8_lossy(&raw).into()));
    }
    let sections = tidings::domain::sections::split("Done: the exporter", &[]);
    let saved = Saved {
        what: "update",
        date,
        sections: &sections,
        edited: false,
        attachments: &[],
        in_reply_to: "<r1@client.test>",
        note: "",
    };
    let receipt = compose::receipt(&app.ctx, &m, "receipt:1", saved, now).unwrap();
    mail.push((
        "receipt (text only)".into(),
        String::from_utf8_lossy(&receipt.body).into(),
    ));
    let notice = compose::notice(
        &app.ctx,
        &m,
        "notice:1",
        "Paused",
        "You are paused.",
        None,
        now,
    )
    .unwrap();
    mail.push((
        "notice (text only)".into(),
        String::from_utf8_lossy(&notice.body).into(),
    ));
    let lines = ["Nice work."];
    let at_once = compose::at_once(
        &app.ctx,
        &m,
        "comment:1",
        "Bob commented on your update",
        "Bob commented:",
        lines.into_iter(),
        1,
        now,
    )
    .unwrap();
    mail.push((
        "comment at once (text only)".into(),
        String::from_utf8_lossy(&at_once.body).into(),
    ));
    assert_eq!(mail.len(), 8);
    for (kind, raw) in &mail {
        names_the_team(kind, raw, label, escaped);
    }
    assert_eq!(
        subject_of(&mail[0].1),
        "core and r&d <ops> stand-up · Tue 10 Mar — reply with your update"
    );
    assert_eq!(
        subject_of(&mail[5].1),
        "core and r&d <ops> · Saved: your update for Tue 10 Mar"
    );

    // A member in no team is told so, not given a team that is not theirs.
    let no_team = MemberChange {
        teams: Some(vec![]),
        ..Default::default()
    };
    let b = app
        .ctx
        .store
        .update_member(&addr("bob@example.test"), &no_team)
        .await
        .unwrap();
    let n = compose::notice(
        &app.ctx,
        &b,
        "notice:2",
        "Paused",
        "You are paused.",
        None,
        now,
    )
    .unwrap();
    let raw = String::from_utf8_lossy(&n.body).to_string();
    assert_eq!(subject_of(&raw), "Paused");
    assert!(
        text_body(&raw)
            .contains("You receive this because you are a member on Tidings, in no team yet."),
        "{raw}"
    );
});
