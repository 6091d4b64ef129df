//! `member import FILE.csv`: parse and validate every row first (errors name the line and the
//! column), so the import is all or nothing.

use std::collections::HashSet;
use std::path::Path;

use crate::domain::schedule::parse_tz;
use crate::domain::{Cadence, EmailAddress, LocalTime, Workdays, clean_name, parse_team_name};
use crate::store::{MemberChange, MemberDefaults};

pub const COLUMNS: [&str; 9] = [
    "email",
    "name",
    "timezone",
    "request_at",
    "digest_at",
    "workdays",
    "team",
    "digest",
    "observer",
];

/// Validated rows and the file line each came from.
pub struct Rows {
    pub members: Vec<(EmailAddress, MemberChange)>,
    pub lines: Vec<u64>,
}

pub fn read_csv(path: &Path, _defaults: &MemberDefaults) -> Result<Rows, String> {
    let f = path.display();
    let data = std::fs::read(path).map_err(|e| format!("cannot read {f}: {e}"))?;
    parse_csv(&data).map_err(|e| format!("{f}: {e}"))
}

/// Parses CSV bytes; errors read `line N, column C: problem`.
pub fn parse_csv(data: &[u8]) -> Result<Rows, String> {
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(data);
    let headers = rdr
        .headers()
        .map_err(|e| format!("line 1: cannot read the header: {e}"))?
        .clone();
    let mut index = [None; COLUMNS.len()];
    for (i, h) in headers.iter().enumerate() {
        let h = h.trim_start_matches('\u{feff}').to_ascii_lowercase();
        match COLUMNS.iter().position(|c| *c == h) {
            Some(p) => index[p] = Some(i),
            None => {
                return Err(format!(
                    "line 1: unknown column {h:?}; expected {}",
                    COLUMNS.join(",")
                ));
            }
        }
    }
    if index[0].is_none() {
        return Err("line 1: the header needs an email column".into());
    }
    let mut rows = Rows {
        members: Vec::new(),
        lines: Vec::new(),
    };
    let mut seen = HashSet::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            format!("line {line}: malformed CSV: {e}")
        })?;
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        if rec.iter().all(|c| c.is_empty()) {
            continue;
        }
        if rec.len() > headers.len() {
            return Err(format!(
                "line {line}: {} fields but the header has {}",
                rec.len(),
                headers.len()
            ));
        }
        let cell = |c: usize| {
            index[c]
                .and_then(|i| rec.get(i))
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        let err = |c: usize, m: String| format!("line {line}, column {}: {m}", COLUMNS[c]);
        let email =
            EmailAddress::parse(cell(0).unwrap_or("")).map_err(|e| err(0, e.to_string()))?;
        email.deliverable().map_err(|e| err(0, e.to_string()))?;
        if !seen.insert(email.clone()) {
            return Err(err(0, format!("{email} appears twice in the file")));
        }
        let mut ch = MemberChange::default();
        if let Some(n) = cell(1) {
            ch.name = Some(clean_name(n));
        }
        if let Some(z) = cell(2) {
            ch.tz = Some(parse_tz(z).map_err(|e| err(2, e.to_string()))?);
        }
        if let Some(t) = cell(3) {
            ch.request_at = Some(LocalTime::parse(t).map_err(|e| err(3, e.to_string()))?);
        }
        if let Some(t) = cell(4) {
            ch.digest_at = Some(LocalTime::parse(t).map_err(|e| err(4, e.to_string()))?);
        }
        if let Some(d) = cell(5) {
            ch.workdays = Some(Workdays::parse(d).map_err(|e| err(5, e.to_string()))?);
        }
        if let Some(t) = cell(6) {
            ch.teams = Some(vec![parse_team_name(t).map_err(|e| err(6, e))?]);
        }
        if let Some(c) = cell(7) {
            ch.cadence = Some(Cadence::parse(c).map_err(|e| err(7, e.to_string()))?);
        }
        if let Some(o) = cell(8) {
            ch.observer = Some(parse_yes_no(o).ok_or_else(|| {
                err(8, format!("{o:?} is not one of yes, no, true, false, 1, 0"))
            })?);
        }
        rows.members.push((email, ch));
        rows.lines.push(line);
    }
    Ok(rows)
}

/// `yes`/`no`, `true`/`false`, `1`/`0`, any case.
fn parse_yes_no(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "yes" | "true" | "1" => Some(true),
        "no" | "false" | "0" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_cadence_and_observer_columns() {
        let r = parse_csv(
            b"email,digest,observer\na@x.test,weekly:mon,no\nboss@x.test,daily,yes\nc@x.test,,\n",
        )
        .unwrap();
        assert_eq!(
            r.members[0].1.cadence,
            Some(Cadence::Weekly(chrono::Weekday::Mon))
        );
        assert_eq!(r.members[0].1.observer, Some(false));
        assert_eq!(r.members[1].1.observer, Some(true));
        assert_eq!(r.members[2].1.cadence, None);
        let e = parse_csv(b"email,digest\na@x.test,monthly\n")
            .err()
            .unwrap();
        assert!(e.starts_with("line 2, column digest: "), "{e}");
        let e = parse_csv(b"email,observer\na@x.test,maybe\n")
            .err()
            .unwrap();
        assert!(e.starts_with("line 2, column observer: "), "{e}");
    }

    #[test]
    fn good_rows_parse_and_empty_cells_take_defaults() {
        let r = parse_csv(b"email,name,timezone,request_at,digest_at,workdays,team\nA@x.test,Ann,Europe/Berlin,,07:00,mon;wed,core\nb@x.test,,,,,,\n").unwrap();
        assert_eq!(r.members.len(), 2);
        assert_eq!(r.lines, vec![2, 3]);
        assert_eq!(r.members[0].0.as_str(), "a@x.test");
        assert!(r.members[1].1.tz.is_none());
    }

    #[test]
    fn errors_name_the_line_and_column() {
        let e = parse_csv(b"email,name,timezone\na@x.test,A,Europe/Berlin\nb@x.test,B,Mars/Base\n")
            .err()
            .unwrap();
        assert!(e.starts_with("line 3, column timezone"), "{e}");
        let e = parse_csv(b"email,name,digest_at\na@x.test,A,25:00\n")
            .err()
            .unwrap();
        assert!(e.starts_with("line 2, column digest_at"), "{e}");
        let e = parse_csv(b"email,workdays\na@x.test,mon;funday\n")
            .err()
            .unwrap();
        assert!(e.starts_with("line 2, column workdays"), "{e}");
        let e = parse_csv(b"email\na@x.test\nA@x.test\n").err().unwrap();
        assert!(
            e.starts_with("line 3, column email") && e.contains("twice"),
            "{e}"
        );
        let e = parse_csv(b"email,colour\n").err().unwrap();
        assert!(e.contains("unknown column"), "{e}");
    }
}
