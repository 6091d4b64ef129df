//! A tolerant reader of iCalendar (RFC 5545) text: content lines into a tree of components,
//! and the few value types this module needs (DATE, DATE-TIME, DURATION).
//!
//! Tolerant by design, because calendars come from many producers: a UTF-8 BOM, CRLF, LF or
//! lone CR line endings, folded lines (CRLF or LF followed by a space or tab), blank or
//! whitespace-only lines, lower-case names, quoted parameter values holding `:` or `;`,
//! unknown properties and components, several VCALENDARs in one file. A line with no `:` (as
//! in `X-APPLE-RADIUS=49.9`) is skipped and counted; an `END:` that closes nothing is ignored;
//! components still open at the end of the text are closed.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};

use super::CalendarError;

/// One content line: upper-cased name, parameters (upper-cased keys, unquoted values), value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Prop {
    pub name: String,
    pub params: Vec<(String, String)>,
    pub value: String,
}

impl Prop {
    /// The value of parameter `key` (upper case), if present.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// A component (`BEGIN:NAME` … `END:NAME`) with its properties and sub-components.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Node {
    pub name: String,
    pub props: Vec<Prop>,
    pub children: Vec<Node>,
}

impl Node {
    /// The first property called `name` (upper case).
    pub fn prop(&self, name: &str) -> Option<&Prop> {
        self.props.iter().find(|p| p.name == name)
    }

    /// Every property called `name` (upper case), in file order.
    pub fn props_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Prop> + 'a {
        self.props.iter().filter(move |p| p.name == name)
    }

    /// The trimmed value of the first property called `name`.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.prop(name).map(|p| p.value.trim())
    }

    /// All components called `name` at any depth below this one (not inside a match).
    pub fn descendants<'a>(&'a self, name: &str, out: &mut Vec<&'a Node>) {
        for child in &self.children {
            if child.name == name {
                out.push(child);
            } else {
                child.descendants(name, out);
            }
        }
    }
}

/// What [`parse`] read: a synthetic root holding the top-level components, and how many
/// lines it had to skip (with the 1-based number of the first, in the unfolded text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parsed {
    pub root: Node,
    pub skipped_lines: usize,
    pub first_skipped: usize,
}

/// Decodes (lossy UTF-8), strips a BOM, normalises line endings and unfolds; returns the
/// logical lines, right-trimmed, blank ones dropped.
pub(crate) fn logical_lines(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut lines: Vec<String> = Vec::new();
    for raw in text.split('\n') {
        if let Some(rest) = raw.strip_prefix([' ', '\t'])
            && let Some(last) = lines.last_mut()
        {
            last.push_str(rest);
            continue;
        }
        lines.push(raw.to_string());
    }
    lines
        .into_iter()
        .map(|l| l.trim_end().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

/// Reads ICS bytes into a component tree. Errors only when the text is empty or holds no
/// `BEGIN:VCALENDAR` line (an HTML error page, a JSON reply, a login form).
pub(crate) fn parse(bytes: &[u8]) -> Result<Parsed, CalendarError> {
    let lines = logical_lines(bytes);
    let Some(first) = lines.first() else {
        return Err(CalendarError::Empty);
    };
    if !lines
        .iter()
        .any(|l| l.trim().eq_ignore_ascii_case("BEGIN:VCALENDAR"))
    {
        let start: String = first.trim().chars().take(40).collect();
        return Err(CalendarError::NotIcs { start });
    }
    let mut stack: Vec<Node> = vec![Node::default()];
    let mut skipped_lines = 0;
    let mut first_skipped = 0;
    for (i, line) in lines.iter().enumerate() {
        let Some(prop) = split_line(line) else {
            skipped_lines += 1;
            if first_skipped == 0 {
                first_skipped = i + 1;
            }
            continue;
        };
        match prop.name.as_str() {
            "BEGIN" => stack.push(Node {
                name: prop.value.trim().to_ascii_uppercase(),
                ..Node::default()
            }),
            "END" => {
                let name = prop.value.trim().to_ascii_uppercase();
                // Close up to the matching open component; an END matching nothing is ignored.
                if let Some(pos) = stack
                    .iter()
                    .rposition(|n| n.name == name)
                    .filter(|&p| p > 0)
                {
                    while stack.len() > pos {
                        close_top(&mut stack);
                    }
                }
            }
            _ => {
                if let Some(top) = stack.last_mut() {
                    top.props.push(prop);
                }
            }
        }
    }
    while stack.len() > 1 {
        close_top(&mut stack);
    }
    let root = stack.pop().unwrap_or_default();
    Ok(Parsed {
        root,
        skipped_lines,
        first_skipped,
    })
}

fn close_top(stack: &mut Vec<Node>) {
    if let Some(node) = stack.pop()
        && let Some(parent) = stack.last_mut()
    {
        parent.children.push(node);
    }
}

/// Splits `NAME;P1=V1;P2="V;2":value`. `None` if there is no `:` outside quotes or no name.
fn split_line(line: &str) -> Option<Prop> {
    let mut in_quotes = false;
    let mut colon = None;
    for (i, c) in line.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            ':' if !in_quotes => {
                colon = Some(i);
                break;
            }
            _ => {}
        }
    }
    let colon = colon?;
    let head = line.get(..colon)?;
    let value = line.get(colon + 1..)?.to_string();
    let mut parts = split_unquoted(head, ';').into_iter();
    let name = parts.next()?.trim().to_ascii_uppercase();
    if name.is_empty() {
        return None;
    }
    let params = parts
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.trim().to_ascii_uppercase(), unquote(v.trim())),
            None => (p.trim().to_ascii_uppercase(), String::new()),
        })
        .collect();
    Some(Prop {
        name,
        params,
        value,
    })
}

/// Splits on `sep` outside double quotes.
pub(crate) fn split_unquoted(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let mut in_quotes = false;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if c == '"' {
            in_quotes = !in_quotes;
        } else if c == sep && !in_quotes {
            out.push(s.get(start..i).unwrap_or_default());
            start = i + c.len_utf8();
        }
    }
    out.push(s.get(start..).unwrap_or_default());
    out
}

fn unquote(v: &str) -> String {
    v.strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .unwrap_or(v)
        .to_string()
}

/// Unescapes a TEXT value (RFC 5545 3.3.11); a line break becomes a space.
pub(crate) fn unescape_text(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push(' '),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out.trim().to_string()
}

/// A DATE or DATE-TIME value as written: its zone is resolved later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum When {
    /// `VALUE=DATE` (or eight digits).
    Date(NaiveDate),
    /// No `Z`, no `TZID`: read in the member's zone.
    Floating(NaiveDateTime),
    /// Trailing `Z`.
    Utc(NaiveDateTime),
    /// `TZID=…` as written.
    Zoned(NaiveDateTime, String),
}

/// Parses one DATE / DATE-TIME (`20260101`, `20260101T090000`, `…Z`; `HHMM` accepted).
pub(crate) fn parse_when_str(s: &str, tzid: Option<&str>, value_date: bool) -> Option<When> {
    let s = s.trim();
    let date = NaiveDate::parse_from_str(s.get(..8)?, "%Y%m%d").ok()?;
    let rest = s.get(8..)?;
    if rest.is_empty() || value_date {
        return Some(When::Date(date));
    }
    let rest = rest.strip_prefix(['T', 't'])?;
    let (digits, utc) = match rest.strip_suffix(['Z', 'z']) {
        Some(d) => (d, true),
        None => (rest, false),
    };
    let time = match digits.len() {
        6 => NaiveTime::parse_from_str(digits, "%H%M%S").ok()?,
        4 => NaiveTime::parse_from_str(digits, "%H%M").ok()?,
        _ => return None,
    };
    let dt = date.and_time(time);
    Some(match (utc, tzid.map(str::trim).filter(|t| !t.is_empty())) {
        (true, _) => When::Utc(dt),
        (false, Some(tz)) => When::Zoned(dt, tz.to_string()),
        (false, None) => When::Floating(dt),
    })
}

/// Parses a DTSTART-like property.
pub(crate) fn parse_when(p: &Prop) -> Option<When> {
    let value_date = p
        .param("VALUE")
        .is_some_and(|v| v.eq_ignore_ascii_case("DATE"));
    parse_when_str(&p.value, p.param("TZID"), value_date)
}

/// One entry of an EXDATE / RDATE list: a start, and for RDATE;VALUE=PERIOD an end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListEntry {
    pub start: When,
    pub end: Option<PeriodEnd>,
}

/// The second half of a PERIOD: an explicit end or a duration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PeriodEnd {
    At(When),
    After(TimeDelta),
}

/// Parses a comma-separated EXDATE / RDATE value; the second element lists what failed.
pub(crate) fn parse_when_list(p: &Prop) -> (Vec<ListEntry>, Vec<String>) {
    let value_date = p
        .param("VALUE")
        .is_some_and(|v| v.eq_ignore_ascii_case("DATE"));
    let tzid = p.param("TZID");
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    for item in p.value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (a, b) = match item.split_once('/') {
            Some((a, b)) => (a, Some(b)),
            None => (item, None),
        };
        let start = parse_when_str(a, tzid, value_date);
        let end = match b {
            None => Some(None),
            Some(b) if b.starts_with(['P', '+', '-']) => {
                parse_duration(b).map(|d| Some(PeriodEnd::After(d)))
            }
            Some(b) => parse_when_str(b, tzid, false).map(|w| Some(PeriodEnd::At(w))),
        };
        match (start, end) {
            (Some(start), Some(end)) => ok.push(ListEntry { start, end }),
            _ => bad.push(item.to_string()),
        }
    }
    (ok, bad)
}

/// Parses an RFC 5545 DURATION (`P1D`, `PT1H30M`, `P2W`, `-PT15M`).
pub(crate) fn parse_duration(s: &str) -> Option<TimeDelta> {
    let s = s.trim();
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let s = s.strip_prefix(['P', 'p'])?;
    let mut secs: i64 = 0;
    let mut num = String::new();
    let mut in_time = false;
    let mut any = false;
    for c in s.chars() {
        match c.to_ascii_uppercase() {
            d if d.is_ascii_digit() => num.push(d),
            'T' if num.is_empty() => in_time = true,
            unit => {
                let n: i64 = num.parse().ok()?;
                num.clear();
                let mult = match (unit, in_time) {
                    ('W', false) => 7 * 86_400,
                    ('D', false) => 86_400,
                    ('H', true) => 3_600,
                    ('M', true) => 60,
                    ('S', true) => 1,
                    _ => return None,
                };
                secs = secs.checked_add(n.checked_mul(mult)?)?;
                any = true;
            }
        }
    }
    if !num.is_empty() || !any {
        return None;
    }
    TimeDelta::try_seconds(if neg { -secs } else { secs })
}
