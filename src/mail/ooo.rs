//! Finding the return date in an out-of-office reply ("I am out of the office until
//! 14 December", "back on 2026-12-14", "zurück am 14.12.", "de retour le 14 décembre").
//! Pure: the text and the date the message was sent in, the last day away out.
//!
//! The finder looks for a phrase that introduces a date ("until", "back", "bis", "zurück",
//! "jusqu'au", "de retour", "hasta", "fino al", "tot", "terug", "até", …) and then for the
//! first date in the few words after it. A date without a year is the next such date on or
//! after the message date. "Until X" means away through X; "back on X" means away through the
//! day before X. Dates in the past or more than a year ahead are ignored: they are more likely
//! a misreading than a plan.

use std::sync::LazyLock;

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use regex::Regex;

/// Whether the date after a trigger is the last day away or the first day back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Until,
    Back,
}

/// Words that introduce a date, lower case. Each must be a whole word, except the stems in
/// [`STEMS`].
const TRIGGERS: &[(&str, Kind)] = &[
    ("until", Kind::Until),
    ("till", Kind::Until),
    ("through", Kind::Until),
    ("thru", Kind::Until),
    ("bis", Kind::Until),
    ("jusqu", Kind::Until),
    ("hasta", Kind::Until),
    ("fino al", Kind::Until),
    ("fino all", Kind::Until),
    ("fino a", Kind::Until),
    ("tot en met", Kind::Until),
    ("tot", Kind::Until),
    ("até", Kind::Until),
    ("back", Kind::Back),
    ("return", Kind::Back),
    ("zurück", Kind::Back),
    ("wieder", Kind::Back),
    ("retour", Kind::Back),
    ("vuelta", Kind::Back),
    ("vuelvo", Kind::Back),
    ("regres", Kind::Back),
    ("rientr", Kind::Back),
    ("ritorno", Kind::Back),
    ("terug", Kind::Back),
    ("retorno", Kind::Back),
    ("volta", Kind::Back),
];

/// Triggers that may be followed by more letters ("regres" matches "regresaré", "rientr"
/// matches "rientrerò", "return" matches "returning").
const STEMS: &[&str] = &["regres", "rientr", "return", "jusqu"];

/// How far after a trigger a date may start (in characters).
const WINDOW: usize = 48;

const MONTHS: &[(&str, u32)] = &[
    // English, German, French, Spanish, Italian, Dutch, Portuguese; full names and the usual
    // abbreviations.
    ("january", 1),
    ("jan", 1),
    ("januar", 1),
    ("janvier", 1),
    ("janv", 1),
    ("enero", 1),
    ("ene", 1),
    ("gennaio", 1),
    ("gen", 1),
    ("januari", 1),
    ("janeiro", 1),
    ("february", 2),
    ("feb", 2),
    ("februar", 2),
    ("février", 2),
    ("févr", 2),
    ("fevrier", 2),
    ("febrero", 2),
    ("febbraio", 2),
    ("februari", 2),
    ("fevereiro", 2),
    ("fev", 2),
    ("march", 3),
    ("mar", 3),
    ("märz", 3),
    ("mär", 3),
    ("mrz", 3),
    ("mars", 3),
    ("marzo", 3),
    ("maart", 3),
    ("mrt", 3),
    ("março", 3),
    ("april", 4),
    ("apr", 4),
    ("avril", 4),
    ("avr", 4),
    ("abril", 4),
    ("abr", 4),
    ("aprile", 4),
    ("may", 5),
    ("mai", 5),
    ("mayo", 5),
    ("maggio", 5),
    ("mag", 5),
    ("mei", 5),
    ("maio", 5),
    ("june", 6),
    ("jun", 6),
    ("juni", 6),
    ("juin", 6),
    ("junio", 6),
    ("giugno", 6),
    ("giu", 6),
    ("junho", 6),
    ("july", 7),
    ("jul", 7),
    ("juli", 7),
    ("juillet", 7),
    ("juil", 7),
    ("julio", 7),
    ("luglio", 7),
    ("lug", 7),
    ("julho", 7),
    ("august", 8),
    ("aug", 8),
    ("août", 8),
    ("aout", 8),
    ("agosto", 8),
    ("augustus", 8),
    ("september", 9),
    ("sep", 9),
    ("sept", 9),
    ("septembre", 9),
    ("septiembre", 9),
    ("settembre", 9),
    ("setembro", 9),
    ("october", 10),
    ("oct", 10),
    ("oktober", 10),
    ("okt", 10),
    ("octobre", 10),
    ("octubre", 10),
    ("ottobre", 10),
    ("ott", 10),
    ("outubro", 10),
    ("november", 11),
    ("nov", 11),
    ("novembre", 11),
    ("noviembre", 11),
    ("novembro", 11),
    ("december", 12),
    ("dec", 12),
    ("dezember", 12),
    ("dez", 12),
    ("décembre", 12),
    ("déc", 12),
    ("decembre", 12),
    ("diciembre", 12),
    ("dic", 12),
    ("dicembre", 12),
    ("dezembro", 12),
];

const WEEKDAYS: &[(&str, Weekday)] = &[
    ("monday", Weekday::Mon),
    ("tuesday", Weekday::Tue),
    ("wednesday", Weekday::Wed),
    ("thursday", Weekday::Thu),
    ("friday", Weekday::Fri),
    ("saturday", Weekday::Sat),
    ("sunday", Weekday::Sun),
    ("montag", Weekday::Mon),
    ("dienstag", Weekday::Tue),
    ("mittwoch", Weekday::Wed),
    ("donnerstag", Weekday::Thu),
    ("freitag", Weekday::Fri),
    ("lundi", Weekday::Mon),
    ("mardi", Weekday::Tue),
    ("mercredi", Weekday::Wed),
    ("jeudi", Weekday::Thu),
    ("vendredi", Weekday::Fri),
    ("lunes", Weekday::Mon),
    ("martes", Weekday::Tue),
    ("miércoles", Weekday::Wed),
    ("jueves", Weekday::Thu),
    ("viernes", Weekday::Fri),
];

static ISO: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b").expect("a valid static regex"));
static NUMERIC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(\d{1,2})[./](\d{1,2})(?:[./](\d{4}|\d{2})\b)?").expect("a valid static regex")
});
static DAY_MONTH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(\d{1,2})(?:st|nd|rd|th|er|º)?\.?\s+(?:de\s+|of\s+)?(\p{L}+)\.?(?:,?\s+(?:de\s+)?(\d{4}))?")
        .expect("a valid static regex")
});
static MONTH_DAY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(\p{L}+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?\b(?:,?\s+(\d{4}))?")
        .expect("a valid static regex")
});
static WORD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\p{L}+").expect("a valid static regex"));

fn month(name: &str) -> Option<u32> {
    MONTHS.iter().find(|(n, _)| *n == name).map(|(_, m)| *m)
}

/// A date from its parts; without a year, the next one on or after `sent`.
fn resolve(year: Option<i32>, m: u32, d: u32, sent: NaiveDate) -> Option<NaiveDate> {
    match year {
        Some(y) => NaiveDate::from_ymd_opt(y, m, d),
        None => {
            let this = NaiveDate::from_ymd_opt(sent.year(), m, d);
            match this {
                Some(t) if t >= sent => Some(t),
                _ => NaiveDate::from_ymd_opt(sent.year() + 1, m, d),
            }
        }
    }
}

fn year_of(s: Option<regex::Match<'_>>) -> Option<Option<i32>> {
    match s {
        None => Some(None),
        Some(m) => {
            let y: i32 = m.as_str().parse().ok()?;
            Some(Some(if y < 100 { 2000 + y } else { y }))
        }
    }
}

/// The first date in `w` (a short window of lower-case text) with where it starts.
fn first_date(w: &str, sent: NaiveDate) -> Option<(usize, NaiveDate)> {
    let mut best: Option<(usize, NaiveDate)> = None;
    let mut offer = |pos: usize, d: Option<NaiveDate>| {
        if let Some(d) = d
            && best.is_none_or(|(p, _)| pos < p)
        {
            best = Some((pos, d));
        }
    };
    if let Some(c) = ISO.captures(w) {
        let p = |i: usize| c.get(i).and_then(|m| m.as_str().parse::<u32>().ok());
        if let (Some(y), Some(m), Some(d), Some(all)) = (p(1), p(2), p(3), c.get(0)) {
            offer(all.start(), NaiveDate::from_ymd_opt(y as i32, m, d));
        }
    }
    for c in NUMERIC.captures_iter(w) {
        let (Some(all), Some(a), Some(b)) = (c.get(0), c.get(1), c.get(2)) else {
            continue;
        };
        // A digit or dash right before means this is part of an ISO date or a phone number.
        if w[..all.start()].ends_with(|ch: char| ch.is_ascii_digit() || ch == '-') {
            continue;
        }
        let (Ok(a), Ok(b)) = (a.as_str().parse::<u32>(), b.as_str().parse::<u32>()) else {
            continue;
        };
        // Day first, as most of the world writes it; month first only when the day-first
        // reading is impossible (12/14).
        let (d, m) = if b > 12 && a <= 12 { (b, a) } else { (a, b) };
        if let Some(y) = year_of(c.get(3)) {
            offer(all.start(), resolve(y, m, d, sent));
        }
        break;
    }
    for c in DAY_MONTH.captures_iter(w) {
        let (Some(all), Some(d), Some(name)) = (c.get(0), c.get(1), c.get(2)) else {
            continue;
        };
        if let (Ok(d), Some(m), Some(y)) = (
            d.as_str().parse::<u32>(),
            month(name.as_str()),
            year_of(c.get(3)),
        ) {
            offer(all.start(), resolve(y, m, d, sent));
            break;
        }
    }
    for c in MONTH_DAY.captures_iter(w) {
        let (Some(all), Some(name), Some(d)) = (c.get(0), c.get(1), c.get(2)) else {
            continue;
        };
        if let (Some(m), Ok(d), Some(y)) = (
            month(name.as_str()),
            d.as_str().parse::<u32>(),
            year_of(c.get(3)),
        ) {
            offer(all.start(), resolve(y, m, d, sent));
            break;
        }
    }
    if best.is_none() {
        // A bare weekday ("back on Monday"): the next one after the message date.
        for word in WORD.find_iter(w) {
            if let Some((_, wd)) = WEEKDAYS.iter().find(|(n, _)| *n == word.as_str()) {
                let ahead = (7 + wd.num_days_from_monday() as i64
                    - sent.weekday().num_days_from_monday() as i64)
                    % 7;
                let ahead = if ahead == 0 { 7 } else { ahead };
                best = Some((word.start(), sent + Duration::days(ahead)));
                break;
            }
        }
    }
    best
}

/// The last day the writer of an out-of-office `text`, sent on `sent`, is away; `None` when
/// no usable return date is found.
pub fn away_until(text: &str, sent: NaiveDate) -> Option<NaiveDate> {
    let lower: String = text
        .to_lowercase()
        .chars()
        .map(|c| if c == '’' { '\'' } else { c })
        .collect();
    // Every trigger occurrence, in text order; the first that is followed by a date wins.
    let mut hits: Vec<(usize, usize, Kind)> = Vec::new();
    for (t, kind) in TRIGGERS {
        for (pos, _) in lower.match_indices(t) {
            let starts_word = !lower[..pos]
                .chars()
                .next_back()
                .is_some_and(char::is_alphanumeric);
            let ends_word = STEMS.contains(t)
                || !lower[pos + t.len()..]
                    .chars()
                    .next()
                    .is_some_and(char::is_alphanumeric);
            if starts_word && ends_word {
                hits.push((pos, pos + t.len(), *kind));
            }
        }
    }
    hits.sort_by_key(|(p, e, _)| (*p, std::cmp::Reverse(*e)));
    for (_, end, kind) in hits {
        // Skip the rest of the trigger word ("returning", "regresaré").
        let rest = &lower[end..];
        let rest = rest.trim_start_matches(|c: char| c.is_alphabetic());
        let window: String = rest
            .chars()
            .take(WINDOW)
            .map(|c| if c.is_whitespace() { ' ' } else { c })
            .collect();
        let Some((_, date)) = first_date(&window, sent) else {
            continue;
        };
        let last = match kind {
            Kind::Until => date,
            Kind::Back => date - Duration::days(1),
        };
        if date < sent || date > sent + Duration::days(366) {
            continue;
        }
        return Some(last.max(sent));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    const SENT: &str = "2026-12-01";

    #[test]
    fn finds_return_dates_in_several_languages() {
        let cases = [
            ("I am out of the office until 14 December.", "2026-12-14"),
            (
                "I'm away until December 14th, 2026 with limited access.",
                "2026-12-14",
            ),
            ("I will be back on 2026-12-14.", "2026-12-13"),
            (
                "Ich bin ab dem 2.12. nicht im Büro und zurück am 14.12.",
                "2026-12-13",
            ),
            (
                "Ich bin bis zum 14. Dezember nicht erreichbar.",
                "2026-12-14",
            ),
            ("Je suis absent, de retour le 14 décembre.", "2026-12-13"),
            ("Je serai absent jusqu’au 14 décembre inclus.", "2026-12-14"),
            (
                "Estoy fuera de la oficina hasta el 14 de diciembre.",
                "2026-12-14",
            ),
            ("Regresaré el 14 de diciembre de 2026.", "2026-12-13"),
            ("Sono fuori ufficio fino al 14 dicembre.", "2026-12-14"),
            ("Ik ben afwezig tot en met 14 december.", "2026-12-14"),
            ("Ik ben terug op 14 december.", "2026-12-13"),
            ("Estou ausente até 14 de dezembro.", "2026-12-14"),
            ("Out of office until 12/14/2026.", "2026-12-14"),
            ("Back on Monday.", "2026-12-06"),
        ];
        for (text, want) in cases {
            assert_eq!(away_until(text, d(SENT)), Some(d(want)), "{text}");
        }
    }

    #[test]
    fn a_date_without_year_before_the_message_is_next_year() {
        assert_eq!(
            away_until("Out until 3 January.", d("2026-12-20")),
            Some(d("2027-01-03"))
        );
    }

    #[test]
    fn no_date_or_an_implausible_one_gives_none() {
        for text in [
            "I am out of the office with limited access to email.",
            "Back soon!",
            "I was away until 2020-01-01.",
            "Total 14 December",
            "",
        ] {
            assert_eq!(away_until(text, d(SENT)), None, "{text}");
        }
    }

    #[test]
    fn the_first_phrase_with_a_date_wins() {
        assert_eq!(
            away_until(
                "Out from 3 December until 10 December, back on 11 December.",
                d(SENT)
            ),
            Some(d("2026-12-10"))
        );
    }

    #[test]
    fn never_panics_on_odd_text() {
        for text in [
            "until",
            "until 99.99.",
            "bis 31.2.",
            "back on ﬀ 12 ẞ",
            "until 29 feb",
        ] {
            let _ = away_until(text, d(SENT));
        }
    }
}
