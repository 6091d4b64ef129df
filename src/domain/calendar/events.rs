//! VEVENTs: what they say (start, end, recurrence, status), their occurrences near the
//! window, and the member's local dates each occurrence covers.

use std::cell::Cell;
use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc};

use super::ics::{
    ListEntry, Node, PeriodEnd, When, parse_duration, parse_when, parse_when_list, unescape_text,
};
use super::recur::expand_walls;
use super::zones::{Zone, Zones, iana_instant, wall_of};
use super::{AwayQuery, CalendarKind, Problem};

/// Most occurrences expanded for one event (a daily event since 1900 has ~46,000 up to 2027).
const OCCURRENCE_CAP: usize = 100_000;

/// Most occurrences expanded for one calendar, all events together.
const CALENDAR_BUDGET: usize = 1_000_000;

/// How an event ends, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum End {
    At(When),
    After(TimeDelta),
    Unset,
}

impl Occurrence {
    /// `start` and `start + len` (a negative length counts as zero); `None` past chrono's range.
    fn new(start: NaiveDateTime, len: TimeDelta) -> Option<Self> {
        let end = start.checked_add_signed(len.max(TimeDelta::zero()))?;
        Some(Occurrence { start, end })
    }
}

/// The parts of a VEVENT this module uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Event {
    pub uid: String,
    pub summary: String,
    pub start: When,
    pub end: End,
    pub all_day: bool,
    pub rrule: Option<String>,
    pub exdates: Vec<When>,
    pub rdates: Vec<ListEntry>,
    pub recurrence_id: Option<When>,
    pub cancelled: bool,
    pub transparent: bool,
    pub out_of_office: bool,
}

/// An occurrence as wall-clock times in the event's zone (all-day: midnights).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Occurrence {
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
}

fn is(node: &Node, name: &str, wanted: &[&str]) -> bool {
    node.value(name)
        .is_some_and(|v| wanted.iter().any(|w| v.eq_ignore_ascii_case(w)))
}

/// Reads a VEVENT; `None` (with a problem) when it has no usable DTSTART.
pub(crate) fn read_event(node: &Node, problems: &mut Vec<Problem>) -> Option<Event> {
    let summary = node.value("SUMMARY").map(unescape_text).unwrap_or_default();
    let raw_start = node.value("DTSTART").unwrap_or_default().to_string();
    let uid = match node
        .value("UID")
        .map(unescape_text)
        .filter(|u| !u.is_empty())
    {
        Some(u) => u,
        None => format!("no-uid:{raw_start}:{summary}"),
    };
    let Some(mut start) = node.prop("DTSTART").and_then(parse_when) else {
        problems.push(Problem::BadStart {
            uid,
            value: raw_start,
        });
        return None;
    };
    let mut bad = Bad {
        uid: &uid,
        problems,
    };
    let mut end = read_end(node, &mut bad);
    // Outlook: all-day events written as midnight DATE-TIMEs with this flag.
    let outlook_all_day = is(node, "X-MICROSOFT-CDO-ALLDAYEVENT", &["TRUE"])
        && wall_of(&start).time() == NaiveTime::MIN;
    if outlook_all_day {
        start = When::Date(wall_of(&start).date());
        if let End::At(e) = &end {
            end = End::At(When::Date(wall_of(e).date()));
        }
    }
    let exdates = read_list(node, "EXDATE", &mut bad)
        .into_iter()
        .map(|e| e.start)
        .collect();
    let rdates = read_list(node, "RDATE", &mut bad);
    let recurrence_id = node.prop("RECURRENCE-ID").and_then(|p| {
        let id = parse_when(p);
        if id.is_none() {
            bad.note("RECURRENCE-ID", &p.value);
        }
        id
    });
    Some(Event {
        all_day: matches!(start, When::Date(_)),
        rrule: node
            .value("RRULE")
            .filter(|r| !r.is_empty())
            .map(str::to_string),
        cancelled: is(node, "STATUS", &["CANCELLED", "CANCELED"]),
        transparent: is(node, "TRANSP", &["TRANSPARENT"]),
        out_of_office: is(node, "X-MICROSOFT-CDO-BUSYSTATUS", &["OOF"]),
        uid,
        summary,
        start,
        end,
        exdates,
        rdates,
        recurrence_id,
    })
}

/// Notes values of one event that could not be read.
struct Bad<'a> {
    uid: &'a str,
    problems: &'a mut Vec<Problem>,
}

impl Bad<'_> {
    fn note(&mut self, property: &str, value: &str) {
        self.problems.push(Problem::BadValue {
            uid: self.uid.to_string(),
            property: property.to_string(),
            value: value.to_string(),
        });
    }
}

/// DTEND, else DURATION, else unset.
fn read_end(node: &Node, bad: &mut Bad<'_>) -> End {
    match (node.prop("DTEND"), node.value("DURATION")) {
        (Some(p), _) => parse_when(p).map(End::At).unwrap_or_else(|| {
            bad.note("DTEND", &p.value);
            End::Unset
        }),
        (None, Some(d)) => parse_duration(d).map(End::After).unwrap_or_else(|| {
            bad.note("DURATION", d);
            End::Unset
        }),
        (None, None) => End::Unset,
    }
}

/// Every entry of every `name` (EXDATE, RDATE) property.
fn read_list(node: &Node, name: &str, bad: &mut Bad<'_>) -> Vec<ListEntry> {
    let mut all = Vec::new();
    for p in node.props_named(name) {
        let (ok, failed) = parse_when_list(p);
        all.extend(ok);
        failed.iter().for_each(|v| bad.note(name, v));
    }
    all
}

impl Event {
    /// Whether this event (one component: a series or one changed occurrence) can count.
    pub fn qualifies(&self, kind: CalendarKind, q: &AwayQuery<'_>) -> bool {
        if self.cancelled {
            return false;
        }
        match kind {
            CalendarKind::Holidays => true,
            CalendarKind::Personal => {
                !self.transparent && (self.out_of_office || q.words.matches(&self.summary))
            }
        }
    }

    /// The written length of an occurrence when it needs no zone to tell (an override
    /// without DTEND or DURATION takes its series' length).
    pub fn written_length(&self) -> Option<TimeDelta> {
        match (&self.end, &self.start) {
            (End::After(d), _) => Some(*d),
            (End::At(e @ When::Date(_)), When::Date(_))
            | (End::At(e @ When::Floating(_)), When::Floating(_))
            | (End::At(e @ When::Utc(_)), When::Utc(_)) => Some(wall_of(e) - wall_of(&self.start)),
            (End::At(e @ When::Zoned(_, a)), When::Zoned(_, b)) if a == b => {
                Some(wall_of(e) - wall_of(&self.start))
            }
            _ => None,
        }
    }

    /// `when` as a wall-clock time in this event's zone `zone`.
    fn wall_in_own_zone(&self, when: &When, zone: &Zone, zones: &mut Zones<'_>) -> NaiveDateTime {
        match (when, &self.start) {
            (When::Date(_) | When::Floating(_), _) => wall_of(when),
            (When::Utc(w), When::Utc(_)) => *w,
            (When::Zoned(w, a), When::Zoned(_, b)) if a == b => *w,
            _ => match zones.instant_of(when) {
                Some(t) => zone.wall(t),
                None => wall_of(when),
            },
        }
    }

    /// The length of one occurrence, in wall-clock time of the event's zone.
    fn length(&self, zone: &Zone, zones: &mut Zones<'_>) -> TimeDelta {
        let start = wall_of(&self.start);
        let len = match &self.end {
            End::At(e) if self.all_day => wall_of(e).date().signed_duration_since(start.date()),
            End::At(e) => self.wall_in_own_zone(e, zone, zones) - start,
            End::After(d) => *d,
            End::Unset => TimeDelta::zero(),
        };
        if self.all_day {
            // Whole days, at least one.
            TimeDelta::try_days(len.num_days().max(1)).unwrap_or(len)
        } else {
            len.max(TimeDelta::zero())
        }
    }

    /// The occurrences starting in `window` or overlapping it (wall-clock), without those
    /// in `overridden` (the RECURRENCE-IDs of overrides) and the EXDATEs. Expansion draws on
    /// `budget`.
    fn occurrences(
        &self,
        zones: &mut Zones<'_>,
        overridden: &[When],
        window: (NaiveDateTime, NaiveDateTime),
        budget: &Cell<usize>,
        problems: &mut Vec<Problem>,
    ) -> (Zone, Vec<Occurrence>) {
        let zone = zones.zone_of(&self.start);
        let len = self.length(&zone, zones);
        let start = wall_of(&self.start);
        let mut starts = vec![start];
        if let Some(rule) = &self.rrule {
            let cap = budget.get().min(OCCURRENCE_CAP);
            match expand_walls(start, rule, &zone, self.all_day, window.1, cap) {
                Ok(e) => {
                    budget.set(budget.get().saturating_sub(e.walls.len()));
                    if e.truncated {
                        problems.push(Problem::TooManyOccurrences {
                            uid: self.uid.clone(),
                            limit: cap,
                        });
                    }
                    starts = e.walls;
                }
                Err(reason) => {
                    problems.push(Problem::BadRule {
                        uid: self.uid.clone(),
                        rule: rule.clone(),
                        reason,
                    });
                    return (zone, Vec::new());
                }
            }
        }
        let mut occ: Vec<Occurrence> = starts
            .into_iter()
            .filter_map(|s| Occurrence::new(s, len))
            .collect();
        for r in &self.rdates {
            let s = self.wall_in_own_zone(&r.start, &zone, zones);
            let o = match &r.end {
                Some(PeriodEnd::At(e)) => {
                    Occurrence::new(s, self.wall_in_own_zone(e, &zone, zones) - s)
                }
                Some(PeriodEnd::After(d)) => Occurrence::new(s, *d),
                None => Occurrence::new(s, len),
            };
            occ.extend(o);
        }
        occ.retain(|o| o.end >= window.0 && o.start <= window.1);
        for gone in self.exdates.iter().chain(overridden) {
            let by_date = matches!(gone, When::Date(_)) || self.all_day;
            // An all-day series is matched on the date as written (Exchange writes
            // `RECURRENCE-ID;TZID=…:20200416T000000` for an all-day occurrence).
            let wall = if self.all_day {
                wall_of(gone)
            } else {
                self.wall_in_own_zone(gone, &zone, zones)
            };
            occ.retain(|o| {
                if by_date {
                    o.start.date() != wall.date()
                } else {
                    o.start != wall
                }
            });
        }
        occ.sort_by_key(|o| o.start);
        occ.dedup();
        (zone, occ)
    }
}

/// What the events of one calendar say about each series (by UID): the occurrences replaced
/// by RECURRENCE-ID overrides, and the length of an occurrence.
pub(crate) struct Series<'e> {
    overridden: BTreeMap<&'e str, Vec<When>>,
    length: BTreeMap<&'e str, TimeDelta>,
    budget: Cell<usize>,
}

impl<'e> Series<'e> {
    pub fn of(events: &'e [Event]) -> Self {
        let mut overridden: BTreeMap<&str, Vec<When>> = BTreeMap::new();
        let mut length = BTreeMap::new();
        for e in events {
            match &e.recurrence_id {
                Some(id) => overridden
                    .entry(e.uid.as_str())
                    .or_default()
                    .push(id.clone()),
                None => {
                    if let Some(len) = e.written_length() {
                        length.insert(e.uid.as_str(), len);
                    }
                }
            }
        }
        Series {
            overridden,
            length,
            budget: Cell::new(CALENDAR_BUDGET),
        }
    }

    /// The occurrences of `e`: a series less its overridden occurrences; an override on its
    /// own, with its series' length when it gives none.
    pub fn occurrences_of(
        &self,
        e: &Event,
        zones: &mut Zones<'_>,
        window: (NaiveDateTime, NaiveDateTime),
        problems: &mut Vec<Problem>,
    ) -> (Zone, Vec<Occurrence>) {
        let budget = &self.budget;
        if e.recurrence_id.is_none() {
            let gone = self
                .overridden
                .get(e.uid.as_str())
                .map_or(&[][..], Vec::as_slice);
            return e.occurrences(zones, gone, window, budget, problems);
        }
        let end = match (&e.end, self.length.get(e.uid.as_str())) {
            (End::Unset, Some(len)) => End::After(*len),
            (end, _) => end.clone(),
        };
        let single = Event {
            rrule: None,
            rdates: Vec::new(),
            exdates: Vec::new(),
            end,
            ..e.clone()
        };
        single.occurrences(zones, &[], window, budget, problems)
    }
}

/// The member's local dates in `q`'s window that occurrence `o` covers.
pub(crate) fn covered_dates(
    o: &Occurrence,
    zone: &Zone,
    all_day: bool,
    kind: CalendarKind,
    q: &AwayQuery<'_>,
) -> Vec<NaiveDate> {
    if all_day {
        return dates_between(
            o.start.date(),
            o.end.date().pred_opt().unwrap_or(o.end.date()),
            q,
        );
    }
    let (Some(s), Some(e)) = (zone.instant(o.start), zone.instant(o.end)) else {
        return Vec::new();
    };
    let local = |t: DateTime<Utc>| t.with_timezone(&q.tz).date_naive();
    match kind {
        CalendarKind::Holidays => {
            let last = match e.checked_sub_signed(TimeDelta::seconds(1)) {
                Some(l) if e > s => l,
                _ => s,
            };
            dates_between(local(s), local(last), q)
        }
        CalendarKind::Personal => dates_between(local(s), local(e), q)
            .into_iter()
            .filter(|d| {
                [q.request_at, q.digest_at]
                    .iter()
                    .any(|t| iana_instant(q.tz, d.and_time(*t)).is_some_and(|i| s <= i && i < e))
            })
            .collect(),
    }
}

/// `first..=last` clipped to the window.
fn dates_between(first: NaiveDate, last: NaiveDate, q: &AwayQuery<'_>) -> Vec<NaiveDate> {
    let first = first.max(q.from);
    let last = last.min(q.to);
    first.iter_days().take_while(|d| *d <= last).collect()
}
