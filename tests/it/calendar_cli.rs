//! Calendar addresses from the command line (#34): `webcal://` read as https, the address
//! shown only as its host and last characters (never its secret path), plain http and other
//! schemes refused with exit 2 naming the option, and `--no-calendars` taking them away.

use crate::cli::{ok, run};

const SECRET: &str = "private-0123456789abcdef";

#[test]
fn calendars_are_given_shown_masked_and_taken_away() {
    let dir = tempfile::tempdir().expect("temp dir");
    let p = dir.path();
    let db = format!("sqlite://{}", p.join("t.db").display());
    crate::cli::team_with_a(p, &db);
    let url =
        format!("webcal://calendar.google.com/calendar/ical/a%40example.com/{SECRET}/basic.ics");
    let out = ok(&run(
        p,
        &db,
        &["member", "set", "a@example.com", "--calendar", &url],
    ));
    assert!(
        out.contains("calendar: calendar.google.com …cdef (not read yet"),
        "{out}"
    );
    assert!(!out.contains(SECRET), "{out}");
    // Listed again without a calendar option.
    let out = ok(&run(
        p,
        &db,
        &["member", "set", "a@example.com", "--name", "A"],
    ));
    assert!(out.contains("calendar.google.com …cdef"), "{out}");
    for bad in [
        format!("http://cal.example.com/{SECRET}.ics"),
        "ftp://cal.example.com/x.ics".to_string(),
        "not an address".to_string(),
    ] {
        let o = run(
            p,
            &db,
            &["member", "set", "a@example.com", "--calendar", &bad],
        );
        assert_eq!(o.status.code(), Some(2), "{bad}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("--calendar: not an address Tidings can read"),
            "{err}"
        );
        assert!(!err.contains(SECRET), "{err}");
    }
    let out = ok(&run(
        p,
        &db,
        &[
            "team",
            "set",
            "core",
            "--holiday-calendar",
            "https://example.org/holidays/de-by.ics",
        ],
    ));
    assert!(
        out.contains("core: holiday calendar: example.org …e-by"),
        "{out}"
    );
    // An address the fetcher refuses (loopback, by default): run-due records why, doctor
    // warns with it, never with the address's path.
    ok(&run(
        p,
        &db,
        &[
            "member",
            "set",
            "a@example.com",
            "--calendar",
            "https://127.0.0.1:9/private-cal.ics",
        ],
    ));
    let due = ok(&run(p, &db, &["run-due", "--now", "2026-12-07T12:00:00Z"]));
    // (No address of these tests is reachable: all three fail, each with its reason.)
    assert!(
        due.contains("calendars read 0, unchanged 0, failing 3"),
        "{due}"
    );
    let doctor = String::from_utf8_lossy(&run(p, &db, &["doctor"]).stdout).to_string();
    assert!(
        doctor.contains("warn  calendars: 3 of 3 cannot be read (")
            && doctor.contains("127.0.0.1 …-cal since 2026-12-07T12:00:00Z: 127.0.0.1 is a loopback, private or link-local address"),
        "{doctor}"
    );
    assert!(!doctor.contains("private-cal"), "{doctor}");
    let out = ok(&run(
        p,
        &db,
        &["member", "set", "a@example.com", "--no-calendars"],
    ));
    assert!(out.contains("no calendars"), "{out}");
    let out = ok(&run(
        p,
        &db,
        &["team", "set", "core", "--no-holiday-calendars"],
    ));
    assert!(out.contains("core: no holiday calendars"), "{out}");
}

/// Serves `body` as 200 to every connection on a 127.0.0.1 port, from a thread: its port.
pub(crate) fn serve_once_per_connection(body: &'static str) -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten().take(8) {
            let mut s = stream;
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: text/calendar\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

#[test]
fn a_calendar_address_never_reaches_the_logs_even_at_trace_level() {
    let dir = tempfile::tempdir().expect("temp dir");
    let p = dir.path();
    let db = format!("sqlite://{}", p.join("t.db").display());
    let port = serve_once_per_connection(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:v\r\nSUMMARY:Vacation\r\nDTSTART;VALUE=DATE:20261222\r\nDTEND;VALUE=DATE:20261224\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    );
    crate::cli::team_with_a(p, &db);
    let cmd = || crate::cli::fetching(p, &db);
    for (i, url) in [
        format!("http://127.0.0.1:{port}/{SECRET}-good/basic.ics"),
        format!("http://127.0.0.1:1/{SECRET}-refused/basic.ics"),
        format!("http://127.0.0.1:{port}/{SECRET}-again?token={SECRET}"),
    ]
    .iter()
    .enumerate()
    {
        let o = cmd()
            .args(["member", "set", "a@example.com", "--calendar", url])
            .output()
            .expect("runs");
        assert!(
            o.status.success(),
            "{i}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let o = cmd()
        .env("TIDINGS_LOG", "trace")
        .args(["run-due", "--now", "2026-12-07T12:00:00Z"])
        .output()
        .expect("runs");
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert!(
        out.contains("calendars read 2, unchanged 0, failing 1"),
        "{out}\n{err}"
    );
    assert!(err.lines().count() > 20, "trace logging is on: {err}");
    assert!(!err.contains(SECRET) && !out.contains(SECRET), "{err}");
}
