//! What people type for a time zone: the suggestions for a name that is not one ("Berlin",
//! "aukland", "New York", "Europe/Pariss"), and abbreviations (EST, CET, IST …) refused with
//! the zones they probably stand for. One suggester for the CLI, the preferences page, reply
//! commands and the API (through `schedule::parse_tz`'s error).

use super::schedule::current_zones;

/// Abbreviations people type for a zone: the offset they name, and the zones of places that
/// use it (with their daylight-saving rules), most likely first.
const ABBREVIATIONS: &[(&str, &str, &[&str])] = &[
    ("EST", "UTC−5", &["America/New_York", "America/Toronto"]),
    ("EDT", "UTC−4", &["America/New_York", "America/Toronto"]),
    ("EST5EDT", "UTC−5/−4", &["America/New_York"]),
    ("CST", "UTC−6", &["America/Chicago", "America/Mexico_City"]),
    ("CDT", "UTC−5", &["America/Chicago"]),
    ("CST6CDT", "UTC−6/−5", &["America/Chicago"]),
    ("MST", "UTC−7", &["America/Denver", "America/Phoenix"]),
    ("MDT", "UTC−6", &["America/Denver"]),
    ("MST7MDT", "UTC−7/−6", &["America/Denver"]),
    (
        "PST",
        "UTC−8",
        &["America/Los_Angeles", "America/Vancouver"],
    ),
    (
        "PDT",
        "UTC−7",
        &["America/Los_Angeles", "America/Vancouver"],
    ),
    ("PST8PDT", "UTC−8/−7", &["America/Los_Angeles"]),
    ("AKST", "UTC−9", &["America/Anchorage"]),
    ("HST", "UTC−10", &["Pacific/Honolulu"]),
    ("BST", "UTC+1", &["Europe/London"]),
    ("WET", "UTC+0", &["Europe/Lisbon"]),
    ("WEST", "UTC+1", &["Europe/Lisbon"]),
    ("CET", "UTC+1", &["Europe/Berlin", "Europe/Paris"]),
    ("CEST", "UTC+2", &["Europe/Berlin", "Europe/Paris"]),
    ("MET", "UTC+1", &["Europe/Berlin", "Europe/Paris"]),
    ("EET", "UTC+2", &["Europe/Athens", "Europe/Helsinki"]),
    ("EEST", "UTC+3", &["Europe/Athens", "Europe/Helsinki"]),
    ("MSK", "UTC+3", &["Europe/Moscow"]),
    (
        "IST",
        "UTC+5:30 in India, UTC+1 in Ireland or UTC+2 in Israel",
        &["Asia/Kolkata", "Europe/Dublin", "Asia/Jerusalem"],
    ),
    ("PKT", "UTC+5", &["Asia/Karachi"]),
    ("SGT", "UTC+8", &["Asia/Singapore"]),
    ("HKT", "UTC+8", &["Asia/Hong_Kong"]),
    ("JST", "UTC+9", &["Asia/Tokyo"]),
    ("KST", "UTC+9", &["Asia/Seoul"]),
    (
        "AEST",
        "UTC+10",
        &["Australia/Sydney", "Australia/Brisbane"],
    ),
    ("AEDT", "UTC+11", &["Australia/Sydney"]),
    ("NZST", "UTC+12", &["Pacific/Auckland"]),
    ("NZDT", "UTC+13", &["Pacific/Auckland"]),
];

/// Why `input` is refused when it is an abbreviation (case does not matter), with the zones
/// it probably stands for; `None` for anything else.
pub fn abbreviation(input: &str) -> Option<String> {
    let t = input.trim();
    let (abbr, offset, zones) = ABBREVIATIONS
        .iter()
        .find(|(a, _, _)| a.eq_ignore_ascii_case(t))?;
    Some(format!(
        "\"{t}\" is an abbreviation, not a time zone: {abbr} is {offset}, without the daylight-saving rules of a place, so mail would come an hour early or late for part of the year. Use the zone of a place: {}.",
        or_list(zones)
    ))
}

/// Why `input` is not a zone, with the zones that were probably meant.
pub fn unknown(input: &str) -> String {
    let t = input.trim();
    let ideas = suggest_zones(t, 3);
    if ideas.is_empty() {
        format!(
            "\"{t}\" is not a time zone: expected an IANA name such as Europe/Berlin (Region/City)"
        )
    } else {
        format!(
            "\"{t}\" is not a time zone name. Did you mean {}?",
            or_list(&ideas)
        )
    }
}

/// `a`, `a or b`, `a, b or c`.
fn or_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// IANA zones a person probably meant by `query`, best first, at most `limit`: a city or
/// region typed alone ("berlin", "new york", "auckland" → the zones whose name ends so), a
/// part of a name ("america/new"), or a misspelling ("Europe/Berln", "Aukland": the zones
/// within two edits of the name or of its last part). Case and `_`/space do not matter.
pub fn suggest_zones(query: &str, limit: usize) -> Vec<&'static str> {
    let norm = |s: &str| s.trim().to_lowercase().replace(' ', "_");
    let q = norm(query);
    if q.is_empty() || q.len() > 64 {
        return Vec::new();
    }
    let mut scored: Vec<(usize, &'static str)> = Vec::new();
    for name in current_zones() {
        let n = norm(name);
        let city = n.rsplit('/').next().unwrap_or(&n);
        let score = if n == q {
            0
        } else if city == q {
            1
        } else if city.starts_with(&q) || n.starts_with(&q) {
            2
        } else if n.contains(&q) {
            3
        } else {
            let d = edit_distance(&q, &n).min(edit_distance(&q, city));
            if d <= 2 { 3 + d } else { continue }
        };
        // Prefer canonical Region/City names over old aliases (US/Pacific, Etc/…).
        let legacy = !name.contains('/') || name.starts_with("Etc/") || name.starts_with("US/");
        scored.push((score * 2 + usize::from(legacy), name));
    }
    scored.sort();
    scored.into_iter().take(limit).map(|(_, n)| n).collect()
}

/// Levenshtein distance, for short names only.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::super::schedule::parse_tz;

    #[test]
    fn what_people_type_is_answered_with_the_zones_they_meant() {
        let said = |s: &str| parse_tz(s).unwrap_err().to_string();
        let est = said("EST");
        assert!(
            est.contains("abbreviation") && est.contains("America/New_York"),
            "{est}"
        );
        assert!(said("est").contains("America/New_York"));
        assert!(said("IST").contains("Asia/Kolkata, Europe/Dublin or Asia/Jerusalem"));
        assert!(said("CET").contains("Europe/Berlin"));
        assert!(
            said("Berlin").contains("Did you mean Europe/Berlin"),
            "{}",
            said("Berlin")
        );
        assert!(
            said("aukland").contains("Pacific/Auckland"),
            "{}",
            said("aukland")
        );
        assert!(
            said("New York").contains("America/New_York"),
            "{}",
            said("New York")
        );
        assert!(
            said("Europe/Pariss").contains("Europe/Paris"),
            "{}",
            said("Europe/Pariss")
        );
        // Zones stay zones, UTC included; a legacy name is read as its current zone.
        assert!(parse_tz("UTC").is_ok() && parse_tz("America/New_York").is_ok());
        assert_eq!(
            parse_tz("US/Pacific").map(|z| z.name()),
            Ok("America/Los_Angeles")
        );
    }
}
