//! The admin page at `/` over a real port: off without `web.admin_token`, the login form, a
//! wrong token refused, the right one giving a session cookie (HttpOnly, SameSite=Strict, no
//! token inside) and a page with each member's next digest in their local time and in UTC,
//! an outbox row with its error and a quarantined message; the bearer header instead of the
//! cookie; tampered and expired cookies refused; logout only with the page's form token;
//! each team's check-ins under its section, the stand-up first, escaped.

use chrono::{DateTime, NaiveDate, Utc};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, COOKIE, LOCATION, SET_COOKIE};
use tidings::config::SecretString;
use tidings::domain::checkin::{Checkin, GoesTo, Question, Rhythm, Who};
use tidings::domain::schedule::LocalTime;
use tidings::domain::token::hash_api_token;
use tidings::store::NewEmail;

use crate::both;
use crate::web::{ADMIN, Server};

async fn get(srv: &Server, cookie: Option<&str>, bearer: Option<&str>) -> (StatusCode, String) {
    let mut r = srv.http.get(srv.url("/"));
    if let Some(c) = cookie {
        r = r.header(COOKIE, format!("tidings_admin={c}"));
    }
    if let Some(b) = bearer {
        r = r.header(AUTHORIZATION, format!("Bearer {b}"));
    }
    let r = r.send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn login(srv: &Server, token: &str) -> reqwest::Response {
    srv.http
        .post(srv.url("/login"))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
}

/// The session cookie's value from a `Set-Cookie` header.
fn cookie_of(r: &reqwest::Response) -> (String, String) {
    let h = r.headers()[SET_COOKIE].to_str().unwrap().to_string();
    let v = h
        .strip_prefix("tidings_admin=")
        .and_then(|s| s.split(';').next())
        .unwrap()
        .to_string();
    (v, h)
}

both!(the_admin_page_is_off_without_an_admin_token, |app| {
    app.member("ann@example.test", "Ann", "Europe/Berlin").await;
    let srv = Server::start(&app, |c| c.web.admin_token = SecretString::default()).await;
    let (s, body) = get(&srv, None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("The admin page is off"), "{body}");
    assert!(body.contains("web.admin_token"), "{body}");
    assert!(!body.contains("ann@example.test"));
    // Nothing acts: not a login, not a bearer header.
    let r = login(&srv, "anything-at-all-here").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.headers().get(SET_COOKIE).is_none());
    let (_, body) = get(&srv, None, Some("anything-at-all-here")).await;
    assert!(body.contains("The admin page is off"), "{body}");
});

both!(
    the_admin_logs_in_and_sees_members_outbox_and_quarantine,
    |app| {
        let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
        app.member("bob@example.test", "Bob <b>", "Asia/Tokyo")
            .await;
        // An outbox row that failed, with a subject that must be escaped.
        let id = app
            .ctx
            .store
            .enqueue(
                &NewEmail {
                    idem_key: "notice:admin-test".into(),
                    kind: "notice",
                    member_id: Some(ann),
                    local_date: None,
                    recipient: "ann@example.test".into(),
                    message_id: "<admin-test@example.test>".into(),
                    subject: "<script>alert(1)</script> hello".into(),
                    body: b"Subject: x\r\n\r\nx\r\n".to_vec(),
                    manifest: None,
                    checkin: None,
                },
                Utc::now().timestamp(),
            )
            .await
            .unwrap()
            .unwrap();
        app.ctx
            .store
            .outbox_failed(id, "550 5.1.1 no such user here")
            .await
            .unwrap();
        // A stranger writing to the base address is quarantined.
        let stranger = b"From: intern@agency.test\r\nTo: updates@example.test\r\nSubject: my update\r\nMessage-ID: <q1@agency.test>\r\n\r\nHere is my update.\r\n";
        let r = app.deliver("q1", stranger, Utc::now()).await;
        assert_eq!(r.quarantined, 1, "{r:?}");

        let srv = Server::start(&app, |_| {}).await;

        // Not logged in: the login form, nothing else.
        let (s, body) = get(&srv, None, None).await;
        assert_eq!(s, StatusCode::OK);
        assert!(body.contains("action=\"/login\""), "{body}");
        assert!(!body.contains("ann@example.test"));

        // A wrong token is refused and sets no cookie.
        let r = login(&srv, "not-the-admin-token-at-all").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(r.headers().get(SET_COOKIE).is_none());
        assert!(r.text().await.unwrap().contains("not the admin token"));

        // The right one: a signed session cookie, back to the page.
        let r = login(&srv, ADMIN).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()[LOCATION], "/");
        let (cookie, header) = cookie_of(&r);
        assert!(header.contains("HttpOnly"), "{header}");
        assert!(header.contains("SameSite=Strict"), "{header}");
        assert!(!header.contains("Secure"), "plain http base_url: {header}");
        assert!(!header.contains(ADMIN), "never the token itself: {header}");

        let (s, body) = get(&srv, Some(&cookie), None).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert!(body.contains("ann@example.test"), "{body}");
        assert!(body.contains("core"), "the team: {body}");
        assert!(body.contains("Bob &lt;b&gt;"), "names escaped: {body}");
        // Ann's next digest, as planned (or as the schedule computes it), local and UTC.
        let planned = app.ctx.store.next_instants(ann).await.unwrap().1;
        let m = app.ctx.store.member_by_id(ann).await.unwrap().unwrap();
        let t = planned
            .and_then(|s| DateTime::from_timestamp(s, 0))
            .or_else(|| m.digest_schedule().next_after(Utc::now()).map(|(_, t)| t))
            .unwrap();
        let local = t.with_timezone(&chrono_tz::Europe::Berlin);
        assert_eq!(local.format("%H:%M").to_string(), "08:30");
        let want_local = format!("{} Europe/Berlin", local.format("%a %-d %b %H:%M"));
        let want_utc = t.format("%a %-d %b %H:%M UTC").to_string();
        assert!(body.contains(&want_local), "{want_local} in {body}");
        assert!(body.contains(&want_utc), "{want_utc} in {body}");
        assert!(
            body.contains(&format!(
                "id=\"next-digest-{ann}\" datetime=\"{}\"",
                t.format("%Y-%m-%dT%H:%M:%SZ")
            )),
            "{body}"
        );
        // The outbox row with its error, escaped; the quarantined message.
        assert!(body.contains("failed: 1"), "{body}");
        assert!(body.contains("550 5.1.1 no such user here"), "{body}");
        assert!(
            body.contains("&lt;script&gt;alert(1)&lt;/script&gt; hello"),
            "{body}"
        );
        assert!(!body.contains("<script>alert"), "{body}");
        assert!(body.contains("id=\"quarantine\""), "{body}");
        assert!(body.contains("intern@agency.test"), "{body}");

        // The bearer header works without a cookie; a wrong one does not.
        let (s, body) = get(&srv, None, Some(ADMIN)).await;
        assert_eq!(s, StatusCode::OK);
        assert!(body.contains("ann@example.test"));
        let (s, body) = get(&srv, None, Some("wrong-wrong-wrong-wrong")).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert!(!body.contains("ann@example.test"));

        // A tampered cookie, a forged expiry and an expired session are refused.
        let last = cookie.chars().last().unwrap();
        let tampered = format!(
            "{}{}",
            &cookie[..cookie.len() - 1],
            if last == '0' { '1' } else { '0' }
        );
        let (expires, sig) = cookie.split_once('.').unwrap();
        let longer = format!("{}.{sig}", expires.parse::<i64>().unwrap() + 86_400);
        let past = Utc::now().timestamp() - 10;
        let expired = format!(
            "{past}.{}",
            srv.ctx.secret.sign(
                "admin-session",
                &format!("{past}:{}", hash_api_token(ADMIN))
            )
        );
        for bad in [
            tampered.as_str(),
            longer.as_str(),
            expired.as_str(),
            "garbage",
        ] {
            let (s, body) = get(&srv, Some(bad), None).await;
            assert_eq!(s, StatusCode::UNAUTHORIZED, "{bad}");
            assert!(!body.contains("ann@example.test"), "{bad}");
            assert!(body.contains("action=\"/login\""), "{bad}");
        }

        // Logout needs the page's form token (another site cannot end the session).
        let (_, page) = get(&srv, Some(&cookie), None).await;
        let csrf = page
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap()
            .to_string();
        let r = srv
            .http
            .post(srv.url("/logout"))
            .header(COOKIE, format!("tidings_admin={cookie}"))
            .form(&[("csrf", "forged")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert!(r.headers().get(SET_COOKIE).is_none());
        let r = srv
            .http
            .post(srv.url("/logout"))
            .header(COOKIE, format!("tidings_admin={cookie}"))
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let (v, header) = cookie_of(&r);
        assert_eq!(v, "");
        assert!(header.contains("Max-Age=0"), "{header}");
        drop(srv);

        // Behind https the cookie is Secure.
        let srv = Server::start(&app, |c| {
            c.web.base_url = "https://tidings.example.test".into()
        })
        .await;
        let r = login(&srv, ADMIN).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let (_, header) = cookie_of(&r);
        assert!(header.contains("; Secure"), "{header}");
    }
);

/// A check-in of team `team` asking everyone `question` weekly on `day` at 15:00 in each
/// member's zone, answers in the digest.
fn weekly_checkin(team: i64, name: &str, question: &str, day: &str) -> Checkin {
    let anchor: NaiveDate = "2026-03-02".parse().unwrap();
    Checkin {
        id: 0,
        team_id: team,
        name: name.into(),
        standup: false,
        questions: vec![Question::parse(question).unwrap()],
        rhythm: Rhythm::parse(&format!("weekly:{day}"), anchor).unwrap(),
        at: Some(LocalTime::parse("15:00").unwrap()),
        tz: None,
        who: Who::All,
        goes_to: GoesTo::Digest,
    }
}

/// Text as maud writes it into the page.
fn escaped(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

both!(the_admin_page_lists_each_teams_checkins, |app| {
    app.member("ann@example.test", "Ann", "Europe/Berlin").await;
    app.member_of("raj@example.test", "Raj", "Asia/Kolkata", "ops")
        .await;
    let core = app.ctx.store.team_id("core").await.unwrap().unwrap();
    let c = weekly_checkin(core, "Wins & <losses>", "What went <well>?", "fri");
    app.ctx.store.add_checkin(&c).await.unwrap();
    let srv = Server::start(&app, |_| {}).await;
    let (s, body) = get(&srv, None, Some(ADMIN)).await;
    assert_eq!(s, StatusCode::OK, "{body}");

    // The name in bold, then the rest of its one-line description, both escaped.
    let rest = c
        .describe()
        .strip_prefix(c.name.as_str())
        .unwrap()
        .to_string();
    assert!(rest.starts_with(" — every Friday at 15:00"), "{rest}");
    let wins = format!(
        "<li><strong>Wins &amp; &lt;losses&gt;</strong>{}</li>",
        escaped(&rest)
    );
    assert!(rest.contains("What went <well>?"), "{rest}");
    assert!(body.contains(&wins), "{wins} in {body}");
    assert!(
        !body.contains("<losses>") && !body.contains("<well>"),
        "{body}"
    );

    // Each team's section: its stand-up first; the new check-in only under core.
    let section = |team: &str| {
        body.split("<section class=\"team\">")
            .find(|s| s.starts_with(&format!("<h3>{team}<")))
            .unwrap_or_else(|| panic!("{team}'s section in {body}"))
            .split("</section>")
            .next()
            .unwrap()
            .to_string()
    };
    let core_html = section("core");
    let ops_html = section("ops");
    let standup = "<li><strong>Daily stand-up</strong> — each member's workdays";
    let (at_standup, at_wins) = (core_html.find(standup), core_html.find(&wins));
    assert!(
        at_standup.is_some() && at_standup < at_wins,
        "stand-up first: {core_html}"
    );
    assert!(ops_html.contains(standup), "{ops_html}");
    assert!(!ops_html.contains("Wins &amp;"), "{ops_html}");
    // One line says how to change them.
    assert_eq!(
        body.matches("tidings checkin add|set|remove TEAM NAME")
            .count(),
        1,
        "{body}"
    );
});
