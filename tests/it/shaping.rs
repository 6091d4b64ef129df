//! Digests each reader shapes by replying (#33, part 2): `follow`, `mute`, `only blockers and
//! mentions`, `quiet until` each change the reader's next digest as the manual says, the
//! receipt says what changed, a muted teammate is never told, and `everything` restores the
//! digest everyone gets. "Follow up with legal" stays an update.

use chrono::{DateTime, NaiveDate, Utc};

use crate::both;
use crate::helpers::*;

fn d(s: &str) -> NaiveDate {
    s.parse().expect("a date")
}

/// Rea replies `words` to the base address, vouched for by the receiving server.
async fn say(app: &TestApp, n: usize, words: &str, now: DateTime<Utc>) {
    let raw = gmail_reply(
        "rea@example.test",
        "updates@example.test",
        "request@example.test",
        &format!("rea-{n}@client.test"),
        words,
    );
    let r = app
        .deliver(&format!("rea-{n}.eml"), &vouched("example.test", &raw), now)
        .await;
    assert_eq!(r.quarantined, 0, "{words}: {r:?}");
    tidings::jobs::send::run(&app.ctx, now).await.expect("send");
}

/// The receipts and notices sent to `addr`, oldest first (files are named by outbox id).
fn notes_to(app: &TestApp, addr: &str) -> Vec<String> {
    let mut found: Vec<(u64, String)> = app
        .sent()
        .into_iter()
        .filter(|n| n.starts_with("notice_") || n.starts_with("receipt_"))
        .filter_map(|n| {
            let raw = app.read_sent(&n);
            let to = raw.lines().find(|l| l.starts_with("To:"))?.to_string();
            let id = n.split(['_', '.']).nth(1)?.parse().ok()?;
            to.contains(addr).then(|| (id, text_body(&raw)))
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, t)| t).collect()
}

/// The newest receipt or notice to Rea.
fn last_note(app: &TestApp) -> String {
    notes_to(app, "rea@example.test")
        .pop()
        .unwrap_or_else(|| panic!("no receipt to Rea in {:?}", app.sent()))
}

/// Rea's digest for `date`, as text (`None`: none was sent).
fn digest(app: &TestApp, rea: i64, date: &str) -> Option<String> {
    let name = format!("digest_{rea}_{date}.tidings.eml");
    app.sent()
        .contains(&name)
        .then(|| text_body(&app.read_sent(&name)))
}

async fn write(app: &TestApp, who: i64, date: &str, body: &str, now: DateTime<Utc>) {
    app.ctx
        .store
        .upsert_update(who, d(date), body, &[], "api", None, false, now.timestamp())
        .await
        .expect("update");
}

both!(
    reader_commands_shape_the_next_digest_and_everything_restores_it,
    |app| {
        let team = "core";
        let rea = app
            .member_of("rea@example.test", "Rea Reader", "Europe/Berlin", team)
            .await;
        let ana = app
            .member_of("ana@example.test", "Ana Lima", "Europe/Berlin", team)
            .await;
        let ben = app
            .member_of("ben@example.test", "Ben Carter", "Europe/Berlin", team)
            .await;
        let cy = app
            .member_of("cy@example.test", "Cy Young", "Europe/Berlin", team)
            .await;
        app.tick(at("2026-03-09T00:00:00Z")).await;

        // Monday's replies: follow Cy, mute Ben; "Follow up with legal" is an update of Rea's.
        say(&app, 1, "follow cy", at("2026-03-09T17:00:00Z")).await;
        assert!(
            last_note(&app).contains("You now follow Cy Young"),
            "{}",
            last_note(&app)
        );
        say(&app, 2, "Mute Ben.", at("2026-03-09T17:01:00Z")).await;
        assert!(
            last_note(&app).contains("Ben Carter is muted"),
            "{}",
            last_note(&app)
        );
        say(
            &app,
            3,
            "Follow up with legal on the contract",
            at("2026-03-09T17:02:00Z"),
        )
        .await;
        let own = app
            .ctx
            .store
            .update_for(rea, d("2026-03-09"))
            .await
            .unwrap();
        assert!(
            own.is_some_and(|u| u.body.contains("Follow up with legal")),
            "kept as an update"
        );
        // Ben is never told.
        assert!(
            notes_to(&app, "ben@example.test").is_empty(),
            "Ben was told"
        );

        let t = at("2026-03-09T18:00:00Z");
        write(
            &app,
            ana,
            "2026-03-09",
            "Done: the importer\nNext: the runbook",
            t,
        )
        .await;
        write(
            &app,
            ben,
            "2026-03-09",
            "Done: billing\nBlockers: waiting for staging access",
            t,
        )
        .await;
        write(&app, cy, "2026-03-09", "Done: the exporter\nNext: docs", t).await;
        app.tick(at("2026-03-10T07:30:00Z")).await;
        let tue = digest(&app, rea, "2026-03-10").expect("Tuesday's digest");
        // Cy first (followed), then Ana; Ben one line, his blocker not boxed.
        let (cy_at, ana_at) = (tue.find("Cy Young —"), tue.find("Ana Lima —"));
        assert!(cy_at.is_some() && cy_at < ana_at, "Cy first:\n{tue}");
        assert!(
            tue.contains("Ben Carter wrote an update for Mon 9 Mar:"),
            "{tue}"
        );
        assert!(
            !tue.contains("waiting for staging access"),
            "muted blocker shown:\n{tue}"
        );
        assert!(!tue.contains("Done: billing"), "{tue}");
        let html = html_of(&app.read_sent(&format!("digest_{rea}_2026-03-10.tidings.eml")));
        assert!(
            html.contains("Ben Carter wrote an update for Mon 9 Mar. <a href="),
            "{html}"
        );
        assert!(!html.contains("waiting for staging access"), "{html}");

        // Only blockers and mentions: Wednesday's updates need nothing of Rea's: no digest.
        say(
            &app,
            4,
            "only blockers and mentions",
            at("2026-03-10T09:00:00Z"),
        )
        .await;
        assert!(last_note(&app).contains("only when something needs you"));
        write(
            &app,
            ana,
            "2026-03-10",
            "Done: the runbook",
            at("2026-03-10T18:00:00Z"),
        )
        .await;
        app.tick(at("2026-03-11T07:30:00Z")).await;
        assert_eq!(digest(&app, rea, "2026-03-11"), None, "nothing needed Rea");
        // A mention needs her: Thursday's digest holds it and no other update.
        write(
            &app,
            cy,
            "2026-03-11",
            "Done: asked @rea about the schema\nNext: merge",
            at("2026-03-11T18:00:00Z"),
        )
        .await;
        let cy_update = app
            .ctx
            .store
            .update_for(cy, d("2026-03-11"))
            .await
            .unwrap()
            .unwrap();
        let author = app.ctx.store.member_by_id(cy).await.unwrap().unwrap();
        tidings::jobs::mentions::record(
            &app.ctx,
            &author,
            cy_update.id,
            &cy_update.body,
            at("2026-03-11T18:00:00Z"),
        )
        .await
        .unwrap();
        write(
            &app,
            ana,
            "2026-03-11",
            "Done: the deploy",
            at("2026-03-11T18:00:00Z"),
        )
        .await;
        app.tick(at("2026-03-12T07:30:00Z")).await;
        let thu = digest(&app, rea, "2026-03-12").expect("a digest for the mention");
        assert!(thu.contains("asked @rea about the schema"), "{thu}");
        assert!(thu.contains("Only what needs you, as you asked"), "{thu}");
        let subject = subject_of(&app.read_sent(&format!("digest_{rea}_2026-03-12.tidings.eml")));
        assert_eq!(subject, "core digest · Thu 12 Mar: what needs you");
        assert!(
            !thu.contains("Done: the deploy") && !thu.contains("Ana Lima —"),
            "{thu}"
        );

        // Quiet until Monday (from Thursday): no digest Friday, then Monday a catch-up.
        say(&app, 5, "everything", at("2026-03-12T09:00:00Z")).await;
        assert!(last_note(&app).contains("back to everything"));
        say(&app, 6, "quiet until monday", at("2026-03-12T09:01:00Z")).await;
        assert!(
            last_note(&app).contains("No digests until Mon 16 Mar 2026"),
            "{}",
            last_note(&app)
        );
        write(
            &app,
            ana,
            "2026-03-12",
            "Done: thursday's work",
            at("2026-03-12T18:00:00Z"),
        )
        .await;
        app.tick(at("2026-03-13T07:30:00Z")).await;
        assert_eq!(digest(&app, rea, "2026-03-13"), None, "quiet on Friday");
        app.tick(at("2026-03-16T07:30:00Z")).await;
        let mon = digest(&app, rea, "2026-03-16").expect("Monday's catch-up");
        assert!(mon.contains("thursday's work"), "{mon}");
        // Everything: Ben's updates whole again, no one first.
        assert!(mon.contains("Ana Lima —"), "{mon}");
        let _ = ben;
    }
);

both!(
    the_api_reads_and_replaces_the_digest_shape_and_refuses_what_cannot_be,
    |app| {
        use reqwest::{Method, StatusCode};
        use serde_json::json;
        let rea = app
            .member_of("rea@example.test", "Rea Reader", "Europe/Berlin", "core")
            .await;
        app.member_of("ana@example.test", "Ana Lima", "Europe/Berlin", "core")
            .await;
        app.member_of("ben@example.test", "Ben Carter", "Europe/Berlin", "core")
            .await;
        app.member_of("zed@example.test", "Zed Other", "Europe/Berlin", "ops")
            .await;
        let srv = crate::web::Server::start(&app, |_| {}).await;
        let token = srv.token_for(rea).await;
        let path = "/api/v1/me/digest-shape";
        let (s, v) = srv.send(Method::GET, path, Some(&token), json!(null)).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(
            v,
            json!({"follow": [], "mute": [], "needs_only": false, "quiet_until": null})
        );
        let (s, v) = srv
        .send(
            Method::PUT,
            path,
            Some(&token),
            json!({"follow": ["ana@example.test"], "mute": ["Ben Carter"], "needs_only": true, "quiet_until": "2099-01-05"}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(
            v,
            json!({"follow": ["ana@example.test"], "mute": ["ben@example.test"], "needs_only": true, "quiet_until": "2099-01-05"})
        );
        let m = app.ctx.store.member_by_id(rea).await.unwrap().unwrap();
        assert!(
            m.shape.needs_only
                && m.shape.quiet_on(d("2099-01-04"))
                && !m.shape.quiet_on(d("2099-01-05"))
        );
        // What cannot be: each a 422 with a message, the stored shape unchanged.
        for (body, says) in [
            (json!({"follow": ["zed@example.test"]}), "not a teammate"),
            (
                json!({"follow": ["ana@example.test"], "mute": ["ana@example.test"]}),
                "both followed and muted",
            ),
            (json!({"quiet_until": "2020-01-01"}), "after today"),
            (json!({"quiet_until": "soon"}), "not a date"),
            // Found by Schemathesis: a blank address was skipped and answered 200.
            (
                json!({"follow": [""], "quiet_until": null}),
                "follow[0]: empty",
            ),
            (json!({"mute": ["ana@example.test", " "]}), "mute[1]: empty"),
        ] {
            let (s, v) = srv
                .send(Method::PUT, path, Some(&token), body.clone())
                .await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
            assert!(v.to_string().contains(says), "{body}: {v}");
        }
        let (_, v) = srv.send(Method::GET, path, Some(&token), json!(null)).await;
        assert_eq!(v["needs_only"], json!(true), "unchanged: {v}");
        // `{}`: the digest everyone gets.
        let (s, v) = srv.send(Method::PUT, path, Some(&token), json!({})).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(
            v,
            json!({"follow": [], "mute": [], "needs_only": false, "quiet_until": null})
        );
        let m = app.ctx.store.member_by_id(rea).await.unwrap().unwrap();
        assert_eq!(*m.shape, tidings::domain::shape::DigestShape::default());
    }
);

both!(
    the_preferences_page_shapes_the_digest_and_says_why_when_it_cannot,
    |app| {
        use reqwest::StatusCode;
        let rea = app
            .member_of("rea@example.test", "Rea Reader", "Europe/Berlin", "core")
            .await;
        let ana = app
            .member_of("ana@example.test", "Ana Lima", "Europe/Berlin", "core")
            .await;
        app.member_of("ben@example.test", "Ben Carter", "Europe/Berlin", "core")
            .await;
        let srv = crate::web::Server::start(&app, |_| {}).await;
        let link = srv.fresh_link(rea);
        let page = srv.get_text(&link).await;
        assert!(
            page.contains("Your digest") && page.contains("Your teammates: Ana Lima, Ben Carter."),
            "{page}"
        );
        let csrf = crate::web::csrf_of(&page);
        let post = |form: Vec<(&'static str, String)>| {
            let (srv, link) = (&srv, &link);
            async move {
                srv.http
                    .post(srv.url(link))
                    .form(&form)
                    .send()
                    .await
                    .unwrap()
            }
        };
        let r = post(vec![
            ("csrf", csrf.clone()),
            ("action", "shape".into()),
            ("follow", "ana".into()),
            ("mute", "ben@example.test".into()),
            ("needs_only", "on".into()),
            ("quiet_until", String::new()),
        ])
        .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let m = app.ctx.store.member_by_id(rea).await.unwrap().unwrap();
        assert!(m.shape.follows(ana) && m.shape.mute.len() == 1 && m.shape.needs_only);
        let page = srv.get_text(&format!("{link}?done=shaped")).await;
        assert!(
            page.contains("Your digest is shaped as you chose"),
            "{page}"
        );
        assert!(page.contains(r#"name="follow" value="Ana Lima""#), "{page}");
        assert!(page.contains(r#"name="needs_only" checked"#), "{page}");
        // A name that is no teammate's: 422, the reason beside the group, what was typed kept.
        let r = post(vec![
            ("csrf", csrf.clone()),
            ("action", "shape".into()),
            ("follow", "Zed".into()),
            ("mute", String::new()),
            ("quiet_until", String::new()),
        ])
        .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = r.text().await.unwrap();
        assert!(
            body.contains("&quot;Zed&quot; is not a teammate")
                || body.contains("\"Zed\" is not a teammate"),
            "{body}"
        );
        assert!(body.contains(r#"name="follow" value="Zed""#), "{body}");
        let m = app.ctx.store.member_by_id(rea).await.unwrap().unwrap();
        assert!(m.shape.needs_only, "nothing saved");
    }
);
