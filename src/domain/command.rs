//! Commands a member can reply with, alone on the first line of a reply.

use chrono::NaiveDate;

use super::{Cadence, LocalTime, schedule::parse_tz};

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Skip,
    Pause,
    Resume,
    AwayUntil(NaiveDate),
    DigestAt(LocalTime),
    /// `digest daily`, `digest weekly` (Friday), `digest weekly monday`, `digest off`.
    Cadence(Cadence),
    RequestAt(LocalTime),
    Timezone(chrono_tz::Tz),
    /// `replace` on the first line: the rest of the reply replaces today's update.
    Replace,
    /// `for 2026-12-01` on the first line: the rest of the reply is the update for that local
    /// date (not in the future), whatever email it answers.
    For(NaiveDate),
    /// `comments immediate` / `comments digest`: when comments reach the member.
    Comments(super::Delivery),
    /// `mentions immediate` / `mentions digest`: when mentions reach the member.
    Mentions(super::Delivery),
    /// `resolved` / `unblocked` on the first line: the member's open blocker is resolved; any
    /// text after it is the day's update as usual.
    Resolved,
    /// `follow ana`: that teammate's updates first and whole in the reader's digest. Only a
    /// teammate's name makes it a command ("Follow up with legal" stays an update).
    Follow(String),
    /// `mute ben`: that teammate's updates folded into one line (same rule as `follow`).
    Mute(String),
    /// `only blockers and mentions`: a digest only when something needs the reader.
    NeedsOnly,
    /// `quiet until friday` (or a date): no digests until that day, then one catch-up.
    QuietUntil(Until),
    /// `everything`: the digest as everyone gets it again.
    Everything,
    /// `calendar https://…` (or `webcal://…`): read that private calendar for time away.
    Calendar(String),
    /// `calendar off`: no calendars any more.
    CalendarOff,
    /// `activity https://…`: read that feed of the member's own activity for drafts.
    Activity(String),
    /// `activity off`: no activity feeds (and no drafts) any more.
    ActivityOff,
    /// `activity mute tidings/docs` (a repository or project) or `activity mute push` (a kind
    /// of entry): left out of the member's drafts; `activity unmute …` takes it back.
    ActivityMute(String, bool),
    /// `rooms off`: the member's updates kept out of their teams' chat-room summaries;
    /// `rooms on` lets them in again.
    Rooms(bool),
}

/// The end of quiet days: a date, or the next such weekday after today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    Date(NaiveDate),
    Next(chrono::Weekday),
}

impl Until {
    /// The date meant, seen from local date `today`.
    pub fn date_after(self, today: NaiveDate) -> NaiveDate {
        match self {
            Until::Date(d) => d,
            Until::Next(w) => (1..=7)
                .filter_map(|n| today.checked_add_days(chrono::Days::new(n)))
                .find(|d| chrono::Datelike::weekday(d) == w)
                .unwrap_or(today),
        }
    }
}

/// Whether `c` shapes the reader's digest (handled with the reader's teammates at hand).
pub fn shapes_digest(c: &Command) -> bool {
    matches!(
        c,
        Command::Follow(_)
            | Command::Mute(_)
            | Command::NeedsOnly
            | Command::QuietUntil(_)
            | Command::Everything
    )
}

/// Every command as a member writes it, and what it does: the list the preferences page shows
/// (`#commands`) and the emails link to.
pub const HELP: &[(&str, &str)] = &[
    ("skip", "No update today; you are not reminded."),
    (
        "pause",
        "No requests or digests until you write \"resume\".",
    ),
    ("resume", "Requests and digests start again."),
    (
        "away until 2026-12-31",
        "Time away to that day (included): no requests, and you are not listed as missing.",
    ),
    (
        "request at 16:00",
        "Your update request at that time, your time.",
    ),
    ("digest at 07:30", "Your digest at that time, your time."),
    (
        "digest weekly friday",
        "A summary of the week on that day instead of a daily digest (\"digest daily\" to go back, \"digest off\" for none).",
    ),
    (
        "timezone Europe/Berlin",
        "Your time zone (a city works too: \"timezone New York\").",
    ),
    (
        "comments immediate",
        "Comments on your updates by email at once (\"comments digest\": in your next digest).",
    ),
    (
        "mentions immediate",
        "Updates that mention you by email at once (\"mentions digest\": in your next digest).",
    ),
    (
        "resolved",
        "Your open blocker is resolved; anything below it is the day's update.",
    ),
    (
        "follow Ana",
        "Ana's updates come first in your digest, and whole.",
    ),
    (
        "mute Ben",
        "Ben's updates fold into one line with a link (Ben is not told).",
    ),
    (
        "only blockers and mentions",
        "A digest only when something needs you, holding just that.",
    ),
    (
        "quiet until friday",
        "No digests until then (a day or a date), then one catch-up.",
    ),
    (
        "everything",
        "Your digest as it comes by default again: no one followed or muted, nothing left out.",
    ),
    (
        "calendar https://…/basic.ics",
        "Your private calendar address: its time off counts as time away (\"calendar off\" to stop).",
    ),
    (
        "activity https://github.com/you.atom",
        "A feed of your own activity: your request drafts your Done from it (\"activity off\" to stop).",
    ),
    (
        "keep",
        "On the first line of your reply: the drafted lines are your Done (\"keep 1 3\" for some).",
    ),
    (
        "activity mute tidings/docs",
        "That repository (or a kind of entry: \"activity mute push\") is left out of your drafts.",
    ),
    (
        "rooms off",
        "Your updates kept out of your teams' chat-room summaries (\"rooms on\" to let them in).",
    ),
    (
        "replace",
        "What follows replaces today's update instead of adding to it.",
    ),
    (
        "for 2026-12-01",
        "What follows is your update for that day (not a future one).",
    ),
];

/// Punctuation a sentence ends with.
const TRAILING: &[char] = &['.', '!', ',', ';', '?', '…'];
/// Quotes a command may be copied with.
const QUOTES: &[char] = &['"', '\'', '`', '“', '”', '‘', '’', '«', '»', '„'];

fn unquote(s: &str) -> &str {
    s.trim().trim_matches(QUOTES).trim()
}

/// Recognises a command on the first non-empty line; `Err` when the line looks like a command
/// but its argument is wrong (so the member is told instead of having it saved as an update).
pub fn parse_command(text: &str) -> Option<Result<Command, String>> {
    let first = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    // A command copied from a sentence keeps its punctuation or quotes: `timezone
    // Europe/Berlin.`, `"pause"`, `digest at 07:30!`, `timezone “Europe/Berlin”`.
    let first = unquote(first.trim_end_matches(TRAILING));
    let words: Vec<String> = first
        .split_whitespace()
        .map(|w| unquote(w.trim_end_matches(TRAILING)).to_lowercase())
        .collect();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let arg = |n: usize| {
        first
            .split_whitespace()
            .nth(n)
            .map(|w| unquote(w.trim_end_matches(TRAILING)).to_string())
            .unwrap_or_default()
    };
    Some(match words.as_slice() {
        ["skip"] => Ok(Command::Skip),
        ["pause"] => Ok(Command::Pause),
        ["resume"] | ["unpause"] => Ok(Command::Resume),
        ["replace"] => Ok(Command::Replace),
        ["resolved"] | ["unblocked"] => Ok(Command::Resolved),
        ["comments", d @ ("immediate" | "digest")] => Ok(Command::Comments(
            super::Delivery::parse(d).unwrap_or_default(),
        )),
        ["mentions", d @ ("immediate" | "digest")] => Ok(Command::Mentions(
            super::Delivery::parse(d).unwrap_or_default(),
        )),
        // Only a date written as one (`for 2026-12-01`, `For 2026-12-01:`): "For today:" or
        // "for tomorrow" heading a plan is the member's text, not a command.
        ["for", d] if looks_like_date(d.trim_end_matches(':')) => {
            let d = d.trim_end_matches(':');
            NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map(Command::For)
                .map_err(|_| format!("\"for\" needs a date like 2026-12-01, got {d:?}"))
        }
        ["away", "until", d] => NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map(Command::AwayUntil)
            .map_err(|_| format!("\"away until\" needs a date like 2026-12-31, got {d:?}")),
        ["digest", "at", t] => LocalTime::parse(t)
            .map(Command::DigestAt)
            .map_err(|e| e.to_string()),
        ["digest", "daily" | "off" | "weekly", ..] if words.len() <= 4 => {
            Cadence::parse(&words[1..].join(" "))
                .map(Command::Cadence)
                .map_err(|e| e.to_string())
        }
        ["request", "at", t] => LocalTime::parse(t)
            .map(Command::RequestAt)
            .map_err(|e| e.to_string()),
        // "timezone New York" too (the suggester answers a city typed with a space), but a
        // sentence such as "timezone work done" stays text.
        ["timezone", rest @ ..] | ["time", "zone", rest @ ..]
            if rest.len() == 1
                || (rest.len() == 2
                    && !super::zone::suggest_zones(&rest.join(" "), 1).is_empty()) =>
        {
            let z = (words.len() - rest.len()..words.len())
                .map(arg)
                .collect::<Vec<_>>()
                .join(" ");
            parse_tz(&z)
                .map(Command::Timezone)
                .map_err(|e| e.to_string())
        }
        ["follow", rest @ ..] if (1..=3).contains(&rest.len()) => {
            Ok(Command::Follow(name_arg(&arg, 1, rest.len())))
        }
        ["mute", rest @ ..] if (1..=3).contains(&rest.len()) => {
            Ok(Command::Mute(name_arg(&arg, 1, rest.len())))
        }
        ["only", "blockers", "and", "mentions"] | ["only", "what", "needs", "me"] => {
            Ok(Command::NeedsOnly)
        }
        ["quiet", "until", d] => parse_until(d).map(Command::QuietUntil),
        ["everything"] => Ok(Command::Everything),
        ["calendar", "off"] | ["calendars", "off"] => Ok(Command::CalendarOff),
        // Only an address makes it a command ("calendar review done" stays an update).
        ["calendar", a] if a.contains("://") => Ok(Command::Calendar(
            arg(1).trim_matches(['<', '>']).to_string(),
        )),
        ["activity", "off"] => Ok(Command::ActivityOff),
        ["rooms", "off"] | ["chat", "rooms", "off"] => Ok(Command::Rooms(false)),
        ["rooms", "on"] | ["chat", "rooms", "on"] => Ok(Command::Rooms(true)),
        ["activity", a] if a.contains("://") => Ok(Command::Activity(
            arg(1).trim_matches(['<', '>']).to_string(),
        )),
        ["activity", verb @ ("mute" | "unmute"), rest @ ..] if (1..=3).contains(&rest.len()) => Ok(
            Command::ActivityMute(name_arg(&arg, 2, rest.len()), *verb == "mute"),
        ),
        _ => return None,
    })
}

/// Words `from`.. of the line as written (a name keeps its case).
fn name_arg(arg: &dyn Fn(usize) -> String, from: usize, n: usize) -> String {
    (from..from + n).map(arg).collect::<Vec<_>>().join(" ")
}

/// A weekday (`friday`, `fri`) or a date (`2026-12-11`).
fn parse_until(d: &str) -> Result<Until, String> {
    if let Ok(date) = NaiveDate::parse_from_str(d, "%Y-%m-%d") {
        return Ok(Until::Date(date));
    }
    d.parse::<chrono::Weekday>().map(Until::Next).map_err(|_| {
        format!("\"quiet until\" needs a weekday or a date like 2026-12-31, got {d:?}")
    })
}

/// `1234-5-6`-shaped: four digits, a dash, one or two digits, a dash, one or two digits.
fn looks_like_date(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 3
        && parts[0].len() == 4
        && (1..=2).contains(&parts[1].len())
        && (1..=2).contains(&parts[2].len())
        && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_recognised_alone_on_the_first_line() {
        assert_eq!(parse_command("skip\n\n> quoted"), Some(Ok(Command::Skip)));
        assert_eq!(
            parse_command("Digest at 7:30"),
            Some(Ok(Command::DigestAt(LocalTime::parse("07:30").unwrap())))
        );
        assert_eq!(
            parse_command("timezone Europe/Berlin"),
            Some(Ok(Command::Timezone(chrono_tz::Europe::Berlin)))
        );
        assert_eq!(
            parse_command("away until 2026-12-03"),
            Some(Ok(Command::AwayUntil(
                NaiveDate::from_ymd_opt(2026, 12, 3).unwrap()
            )))
        );
        assert!(matches!(parse_command("digest at 25:00"), Some(Err(_))));
        assert_eq!(parse_command("Resolved."), Some(Ok(Command::Resolved)));
        assert_eq!(
            parse_command("comments immediate"),
            Some(Ok(Command::Comments(crate::domain::Delivery::Immediate)))
        );
        assert_eq!(
            parse_command("Mentions digest."),
            Some(Ok(Command::Mentions(crate::domain::Delivery::Digest)))
        );
        assert_eq!(parse_command("comments on the PR were good"), None);
        assert_eq!(
            parse_command("unblocked!\nDone: more"),
            Some(Ok(Command::Resolved))
        );
        assert_eq!(parse_command("Resolved the flaky test"), None);
        assert_eq!(
            parse_command("Digest weekly."),
            Some(Ok(Command::Cadence(Cadence::Weekly(chrono::Weekday::Fri))))
        );
        assert_eq!(
            parse_command("digest weekly on Monday"),
            Some(Ok(Command::Cadence(Cadence::Weekly(chrono::Weekday::Mon))))
        );
        assert_eq!(
            parse_command("digest off"),
            Some(Ok(Command::Cadence(Cadence::Off)))
        );
        assert_eq!(
            parse_command("digest daily"),
            Some(Ok(Command::Cadence(Cadence::Daily)))
        );
        assert!(matches!(
            parse_command("digest weekly funday"),
            Some(Err(_))
        ));
        // A sentence that starts with the word is text.
        assert_eq!(
            parse_command("Digest weekly numbers were good today, then lunch"),
            None
        );
        assert_eq!(parse_command("I will skip the meeting"), None);
        // Copied from a sentence, with its punctuation or quotes.
        for line in [
            "timezone Europe/Berlin.",
            "Timezone Europe/Berlin!",
            "\"timezone Europe/Berlin\"",
            "timezone “Europe/Berlin”.",
            "`timezone Europe/Berlin`",
        ] {
            assert_eq!(
                parse_command(line),
                Some(Ok(Command::Timezone(chrono_tz::Europe::Berlin))),
                "{line}"
            );
        }
        assert_eq!(parse_command("\"pause\""), Some(Ok(Command::Pause)));
        assert_eq!(
            parse_command("calendar <webcal://p01-caldav.icloud.com/published/2/AbC>\n\nthanks"),
            Some(Ok(Command::Calendar(
                "webcal://p01-caldav.icloud.com/published/2/AbC".into()
            )))
        );
        assert_eq!(
            parse_command("Calendar off."),
            Some(Ok(Command::CalendarOff))
        );
        assert_eq!(parse_command("calendar review done"), None);
        assert_eq!(
            parse_command("activity <https://github.com/ana-lima.atom>"),
            Some(Ok(Command::Activity(
                "https://github.com/ana-lima.atom".into()
            )))
        );
        assert_eq!(
            parse_command("Activity off."),
            Some(Ok(Command::ActivityOff))
        );
        assert_eq!(parse_command("Rooms off."), Some(Ok(Command::Rooms(false))));
        assert_eq!(
            parse_command("chat rooms on"),
            Some(Ok(Command::Rooms(true)))
        );
        assert_eq!(parse_command("rooms were booked"), None);
        assert_eq!(
            parse_command("activity mute tidings/Docs"),
            Some(Ok(Command::ActivityMute("tidings/Docs".into(), true)))
        );
        assert_eq!(
            parse_command("activity unmute pull request"),
            Some(Ok(Command::ActivityMute("pull request".into(), false)))
        );
        assert_eq!(parse_command("activity was slow today"), None);
        assert_eq!(parse_command("skip."), Some(Ok(Command::Skip)));
        assert_eq!(
            parse_command("digest at 07:30."),
            Some(Ok(Command::DigestAt(LocalTime::parse("07:30").unwrap())))
        );
        assert_eq!(
            parse_command("away until 2026-12-31."),
            Some(Ok(Command::AwayUntil(
                NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()
            )))
        );
        assert_eq!(parse_command("Fixed the bug"), None);
    }

    #[test]
    fn for_a_date_files_the_reply_and_plain_words_stay_text() {
        let dec1 = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        for line in [
            "for 2026-12-01",
            "For 2026-12-01:",
            "for 2026-12-1.",
            "\"for 2026-12-01\"",
        ] {
            assert_eq!(parse_command(line), Some(Ok(Command::For(dec1))), "{line}");
        }
        assert!(matches!(parse_command("for 2026-13-01"), Some(Err(_))));
        for text in [
            "For today:",
            "for tomorrow",
            "For yesterday: the importer",
            "for 2 hours",
        ] {
            assert_eq!(parse_command(text), None, "{text}");
        }
    }

    #[test]
    fn digest_shaping_commands_are_read_with_their_names_and_days() {
        use super::Until;
        assert_eq!(
            parse_command("follow Ana"),
            Some(Ok(Command::Follow("Ana".into())))
        );
        assert_eq!(
            parse_command("Mute Ben Carter."),
            Some(Ok(Command::Mute("Ben Carter".into())))
        );
        // Four words or more is a sentence ("Follow up with legal" is kept as an update
        // later, when "up with legal" names no teammate).
        assert_eq!(parse_command("follow up on the legal review"), None);
        assert_eq!(
            parse_command("Only blockers and mentions"),
            Some(Ok(Command::NeedsOnly))
        );
        assert_eq!(
            parse_command("quiet until friday"),
            Some(Ok(Command::QuietUntil(Until::Next(chrono::Weekday::Fri))))
        );
        assert_eq!(
            parse_command("quiet until 2026-12-24"),
            Some(Ok(Command::QuietUntil(Until::Date(
                NaiveDate::from_ymd_opt(2026, 12, 24).unwrap()
            ))))
        );
        assert!(matches!(parse_command("quiet until someday"), Some(Err(_))));
        assert_eq!(parse_command("Everything."), Some(Ok(Command::Everything)));
        // Friday 11 Dec: "until friday" is the next one, a week on.
        let fri = NaiveDate::from_ymd_opt(2026, 12, 11).unwrap();
        assert_eq!(
            Until::Next(chrono::Weekday::Fri).date_after(fri),
            NaiveDate::from_ymd_opt(2026, 12, 18).unwrap()
        );
        assert_eq!(
            Until::Next(chrono::Weekday::Mon).date_after(fri),
            NaiveDate::from_ymd_opt(2026, 12, 14).unwrap()
        );
    }
}
