//! Mail at its edges (issue 29), on SQLite and PostgreSQL: the `List-Id` of a team named with
//! non-ASCII letters and quotes is a valid ASCII phrase in the composed bytes; a member on an
//! internationalized domain is written to in IDNA A-labels, and a non-ASCII local part is
//! refused when the member is added (CLI and API); a message over
//! `mail.inbound.max_message_bytes` is kept up to the cap and quarantined with the reason.

use reqwest::{Method, StatusCode};
use serde_json::json;
use tidings::store::{InboundStatus, MemberChange};

use crate::both;
use crate::cli::run as cli;
use crate::helpers::*;
use crate::web::{ADMIN, Server};

async fn member_in(app: &TestApp, email: &str, team: &str) -> i64 {
    let ch = MemberChange {
        name: Some("Ana".into()),
        tz: Some("Europe/Berlin".parse().unwrap()),
        teams: Some(vec![team.into()]),
        ..Default::default()
    };
    app.ctx
        .store
        .add_member(&addr(email), &ch, &defaults())
        .await
        .unwrap()
}

/// The value of header `name` in raw message bytes, unfolded, as the bytes are.
fn header_bytes(raw: &[u8], name: &str) -> Vec<u8> {
    let head_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(raw.len());
    let head = &raw[..head_end];
    let prefix = format!("{name}:").to_ascii_lowercase();
    let mut out: Option<Vec<u8>> = None;
    for line in head.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match &mut out {
            Some(v) if line.first().is_some_and(|b| *b == b' ' || *b == b'\t') => {
                v.extend_from_slice(line)
            }
            Some(_) => break,
            None if line.to_ascii_lowercase().starts_with(prefix.as_bytes()) => {
                out = Some(line[prefix.len()..].trim_ascii().to_vec())
            }
            None => {}
        }
    }
    out.unwrap_or_else(|| panic!("no {name} header"))
}

both!(
    a_team_named_with_non_ascii_and_quotes_gets_a_valid_list_id,
    |app| {
        let ana = member_in(&app, "ana@example.test", "\"Bücher\" Ünïcode ops").await;
        app.tick(at("2026-03-09T00:00:00Z")).await;
        app.tick(at("2026-03-09T15:30:00Z")).await;
        let path = app
            .sent_dir()
            .join(format!("request_{ana}_2026-03-09.tidings.eml"));
        let raw = std::fs::read(path).expect("the request was sent");
        let id = header_bytes(&raw, "List-Id");
        let id = String::from_utf8(id).expect("UTF-8");
        // RFC 2919: phrase <label.namespace>; the phrase an ASCII quoted-string with no
        // encoded-word in it (RFC 2047 forbids one inside quotes).
        assert_eq!(
            id,
            "\"Tidings: Bucher Unicode ops\" <b-cher-n-code-ops.tidings.example.test>"
        );
        assert!(id.is_ascii() && !id.contains("=?"), "{id}");
    }
);

both!(an_internationalized_domain_is_written_as_a_labels, |app| {
    let ana = member_in(&app, "ana@bücher.example", "core").await;
    app.tick(at("2026-03-09T00:00:00Z")).await;
    app.tick(at("2026-03-09T15:30:00Z")).await;
    let raw = app.read_sent(&format!("request_{ana}_2026-03-09.tidings.eml"));
    let to = String::from_utf8(header_bytes(raw.as_bytes(), "To")).unwrap();
    assert!(to.contains("<ana@xn--bcher-kva.example>"), "{to}");
    assert!(to.is_ascii(), "{to}");
});

both!(
    a_member_address_with_a_non_ascii_local_part_is_refused,
    |app| {
        let srv = Server::start(&app, |_| {}).await;
        let o = cli(
            app.dir.path(),
            &app.db_url,
            &[
                "member",
                "add",
                "jörg@example.test",
                "--name",
                "Jörg",
                "--tz",
                "Europe/Berlin",
            ],
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(
            err.contains("must be ASCII") && err.contains("SMTPUTF8"),
            "{err}"
        );
        let (s, v) = srv
            .send(
                Method::POST,
                "/api/v1/admin/members",
                Some(ADMIN),
                json!({"email": "jörg@example.test", "name": "Jörg", "timezone": "Europe/Berlin"}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        let msg = v["error"]["message"].as_str().unwrap_or_default();
        assert!(msg.contains("must be ASCII"), "{msg}");
        assert!(app.ctx.store.list_members().await.unwrap().is_empty());
        // A non-ASCII domain is fine: it goes out in A-labels.
        let (s, v) = srv
            .send(
                Method::POST,
                "/api/v1/admin/members",
                Some(ADMIN),
                json!({"email": "jorg@bücher.example", "name": "Jörg", "timezone": "Europe/Berlin"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
);

const CAP: usize = 64 * 1024;

both!(
    a_message_over_the_size_cap_is_kept_up_to_it_and_quarantined,
    |app| {
        let app = TestApp::with(app_db(&app), |c| c.mail.inbound.max_message_bytes = CAP).await;
        let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
        let mut raw = b"From: Ann <ann@example.test>\r\nTo: updates@example.test\r\nSubject: big\r\nMessage-ID: <big@mail.test>\r\n\r\n".to_vec();
        while raw.len() <= 3 * CAP {
            raw.extend_from_slice(b"Done: a line of a very long update that goes on and on.\r\n");
        }
        let size = raw.len();
        let r = app.deliver("big", &raw, at("2026-03-09T17:00:00Z")).await;
        assert_eq!((r.quarantined, r.accepted), (1, 0), "{r:?}");
        let rows = app
            .ctx
            .store
            .inbound_with_status(InboundStatus::Quarantined, 10)
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
        let row = &rows[0];
        assert_eq!(row.raw.len(), CAP, "kept up to the cap");
        assert_eq!(row.raw[..], raw[..CAP]);
        assert_eq!(
        row.reason.as_deref(),
        Some(
            format!(
                "message is {size} bytes; at most {CAP} are read (mail.inbound.max_message_bytes)"
            )
            .as_str()
        )
    );
        assert_eq!(row.sender.as_deref(), Some("ann@example.test"));
        assert!(
            app.ctx
                .store
                .update_for(ann, "2026-03-09".parse().unwrap())
                .await
                .unwrap()
                .is_none()
        );
        // At the cap, a message is read as any other.
        let mut ok = b"From: Ann <ann@example.test>\r\nTo: updates@example.test\r\nSubject: small\r\nMessage-ID: <small@mail.test>\r\n\r\nDone: small\r\n".to_vec();
        ok.resize(CAP, b' ');
        let r = app.deliver("small", &ok, at("2026-03-09T17:05:00Z")).await;
        assert_eq!(r.fetched, 1, "{r:?}");
        let rows = app
            .ctx
            .store
            .inbound_with_status(InboundStatus::Quarantined, 10)
            .await
            .unwrap();
        let over = rows
            .iter()
            .filter(|r| {
                r.reason
                    .as_deref()
                    .unwrap_or("")
                    .contains("max_message_bytes")
            })
            .count();
        assert_eq!(over, 1, "only the big one is over the cap");
    }
);

/// Which backend `app` runs on (a test that needs its own config makes a second app on it).
fn app_db(app: &TestApp) -> Db {
    if app.db_url.starts_with("sqlite") {
        Db::Sqlite
    } else {
        Db::Postgres
    }
}
