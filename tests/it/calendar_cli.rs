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
    ok(&run(p, &db, &["team", "add", "core"]));
    ok(&run(
        p,
        &db,
        &[
            "member",
            "add",
            "a@example.com",
            "--name",
            "A",
            "--tz",
            "UTC",
            "--team",
            "core",
        ],
    ));
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
