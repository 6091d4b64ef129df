//! How an email names the reader's teams: in its subject ("Core digest · …"), its heading and
//! its footer ("a member of Core on Tidings"). Team names are member text: escaped by maud in
//! HTML like any other, and here put on one line (no control characters), so a subject
//! never breaks into a second header line.

/// The teams named in one phrase: `Core`, `Core and Platform`, `Core + 2 teams`; empty for
/// none. Kept short: a subject line is read on a phone.
pub fn names(teams: &[String]) -> String {
    let clean: Vec<String> = teams.iter().map(|t| one_line(t)).collect();
    match clean.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [a, b] => format!("{a} and {b}"),
        [first, rest @ ..] => format!("{first} + {} teams", rest.len()),
    }
}

/// `Core stand-up`, `Core and Platform digest`; without a team, the word alone, capitalised
/// (`Stand-up`, `Digest`).
pub fn title(teams: &[String], what: &str) -> String {
    let n = names(teams);
    if n.is_empty() {
        let mut c = what.chars();
        c.next()
            .map(|f| f.to_uppercase().chain(c).collect())
            .unwrap_or_default()
    } else {
        format!("{n} {what}")
    }
}

/// `the Core digest`, or `your digest` without a team: a phrase inside a sentence.
pub fn the(teams: &[String], what: &str) -> String {
    let n = names(teams);
    if n.is_empty() {
        format!("your {what}")
    } else {
        format!("the {n} {what}")
    }
}

/// The subject of a receipt or notice: `Core · {subject}`, or the subject alone without a team.
pub fn subject(teams: &[String], subject: &str) -> String {
    let n = names(teams);
    if n.is_empty() {
        subject.to_string()
    } else {
        format!("{n} · {subject}")
    }
}

/// Why the reader gets this email, the footer's first sentence.
pub fn why(teams: &[String]) -> String {
    let n = names(teams);
    if n.is_empty() {
        "You receive this because you are a member on Tidings, in no team yet.".to_string()
    } else {
        format!("You receive this because you are a member of {n} on Tidings.")
    }
}

/// `s` on one line: control characters (CR, LF, tab, …) become spaces, runs of spaces one.
pub(crate) fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn teams_are_named_briefly_on_one_line() {
        assert_eq!(names(&t(&["Core"])), "Core");
        assert_eq!(names(&t(&["Core", "Platform"])), "Core and Platform");
        assert_eq!(names(&t(&["Core", "Platform", "Ops"])), "Core + 2 teams");
        assert_eq!(names(&t(&["Co\r\nBcc: x"])), "Co Bcc: x");
        assert_eq!(title(&t(&["Core"]), "stand-up"), "Core stand-up");
        assert_eq!(title(&[], "stand-up"), "Stand-up");
        assert_eq!(the(&t(&["Core"]), "digest"), "the Core digest");
        assert_eq!(the(&[], "digest"), "your digest");
        assert_eq!(subject(&[], "Saved"), "Saved");
        assert_eq!(subject(&t(&["Core"]), "Saved"), "Core · Saved");
        assert!(why(&[]).contains("in no team yet"));
        assert_eq!(
            why(&t(&["Core", "Platform"])),
            "You receive this because you are a member of Core and Platform on Tidings."
        );
    }
}
