//! Tests of [`super`]: labels, "none" in many languages, blockers.
use super::*;

#[test]
fn the_last_blockers_section_of_a_day_is_its_latest_word() {
    let morning = split("Done: x\nBlockers: waiting on legal", &[]);
    let mut day = morning.clone();
    day.extend(split("Legal said yes.\nBlockers: resolved", &[]));
    assert_eq!(blocker_lines(&morning), ["waiting on legal"]);
    assert!(blocker_lines(&day).is_empty(), "{day:?}");
    let mut other = morning.clone();
    other.extend(split("Blockers: now the VPN", &[]));
    assert_eq!(blocker_lines(&other), ["now the VPN"]);
    let mut later = morning;
    later.extend(split("Also did y", &[]));
    assert_eq!(
        blocker_lines(&later),
        ["waiting on legal"],
        "no section: carried"
    );
}

#[test]
fn no_blockers_in_a_dozen_languages() {
    for (answer, none) in [
        ("none", true),
        ("None.", true),
        ("nothing", true),
        ("n/a", true),
        ("N/A", true),
        ("no", true),
        ("Nope!", true),
        ("-", true),
        ("—", true),
        ("none so far", true),
        ("Nothing at the moment.", true),
        ("No blockers", true),
        ("keine.", true),
        ("Keine", true),
        ("nichts", true),
        ("rien", true),
        ("aucun", true),
        ("nada", true),
        ("ninguno", true),
        ("nenhum", true),
        ("Brak", true),
        ("geen", true),
        ("nessuno", true),
        ("нет", true),
        ("なし", true),
        ("特になし", true),
        (
            "none of the reviewers are around until Monday, so the PR is stuck.",
            false,
        ),
        ("waiting on staging credentials", false),
        ("no access to the staging database", false),
        ("Nothing works on staging since the upgrade", false),
    ] {
        assert_eq!(is_none(answer), none, "{answer:?}");
    }
}

#[test]
fn blockers_come_only_from_the_blockers_section() {
    let body = "Done: unblocked the deploy pipeline.\nBlockers: none of the reviewers are around until Monday, so the PR is stuck.";
    assert_eq!(
        blockers(body, &[]),
        vec!["none of the reviewers are around until Monday, so the PR is stuck."]
    );
    assert!(blockers("Done: x\nNext: y\nBlocker: keine.", &[]).is_empty());
    assert!(blockers("Fertig: A\nBlockers: Brak", &[]).is_empty());
    assert!(blockers("I was blocked yesterday but it's fine now.", &[]).is_empty());
    assert_eq!(
        blockers("Shipped it.\nBlocked by the vendor", &[]),
        vec!["Blocked by the vendor"]
    );
    assert_eq!(
        blockers(
            "Done: a\nBlockers:\n- waiting on API keys\n- VPN down\n\nNext: b",
            &[]
        ),
        vec!["waiting on API keys", "VPN down"]
    );
}

#[test]
fn labels_and_questions_start_sections() {
    let s = split(
        "What did you get done?\nShipped the CSV importer.\nWhat's next?\nReview PR #42.\nAnything blocking you?\nWaiting on staging credentials.",
        &[],
    );
    let kinds: Vec<Kind> = s.iter().map(|s| s.kind).collect();
    assert_eq!(kinds, [Kind::Done, Kind::Next, Kind::Blockers]);
    assert_eq!(s[2].text, "Waiting on staging credentials.");
    let s = split("Fertig: Migration\nNächstes: Tests\nBlocker: keine", &[]);
    assert_eq!(
        s.iter().map(|s| s.kind).collect::<Vec<_>>(),
        [Kind::Done, Kind::Next, Kind::Blockers]
    );
    // A team's own question is a label too.
    let q = vec!["Which customer did you talk to?".to_string()];
    let s = split("Which customer did you talk to?\nACME", &q);
    assert_eq!((s[0].kind, s[0].text.as_str()), (Kind::Done, "ACME"));
    // No labels: one untitled section; a time is not a label.
    let s = split("Met at 10:30 with the team.\nAll fine.", &[]);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].label, None);
}
