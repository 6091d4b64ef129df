//! What a digest is called and counts: its subject, its heading's title and the line under
//! it ("3 of 4 wrote · 3 updates · 1 blocker"), for the reader's digest and for a check-in's
//! digest of its own.

use std::collections::BTreeSet;

use super::super::team;
use super::{DigestSection, DigestView, plural};
use crate::domain::DigestKind;

/// `Core digest · Tue 10 Mar: 3 updates, 1 blocker`.
pub fn digest_subject(v: &DigestView<'_>) -> String {
    if v.kind != DigestKind::Daily {
        return crate::render::summary::subject(v);
    }
    if v.own.is_some() {
        let n = v.entries().count();
        let blockers = v.top().lines;
        let mut s = format!(
            "{} · {}: {n} answer{}",
            title(v),
            v.date.format("%a %-d %b"),
            plural(n)
        );
        if blockers > 0 {
            s.push_str(&format!(", {blockers} blocker{}", plural(blockers)));
        }
        return s;
    }
    if v.needs_only {
        return format!(
            "{} · {}: what needs you",
            team::title(v.teams, "digest"),
            v.date.format("%a %-d %b")
        );
    }
    let n = v.entries().count();
    let blockers = v.top().lines;
    let mut s = format!(
        "{} · {}: {n} update{}",
        team::title(v.teams, "digest"),
        v.date.format("%a %-d %b"),
        plural(n),
    );
    if blockers > 0 {
        s.push_str(&format!(", {blockers} blocker{}", plural(blockers)));
    }
    s
}

/// What the digest is called: `Core digest`, or a check-in's own, `Core Friday wins`.
pub(super) fn title(v: &DigestView<'_>) -> String {
    team::title(v.teams, v.own.as_deref().unwrap_or("digest"))
}

/// `3 of 4 wrote` for one team: the people with an update of the day (not a late one) among
/// them and those listed as not having written. People, not names: two may both be "Sam".
fn wrote(sec: &DigestSection) -> Option<String> {
    let wrote: BTreeSet<i64> = sec
        .entries
        .iter()
        .filter(|e| !e.late)
        .map(|e| e.author_id)
        .collect();
    let asked = wrote.len() + sec.missing.len();
    (asked > 0).then(|| format!("{} of {asked} wrote", wrote.len()))
}

/// `3 of 4 wrote · 3 updates · 1 blocker` (per team for a reader in several:
/// `core: 2 of 3 wrote · infra: 1 of 1 wrote · …`): the line under the heading.
/// `b` is the number of blocker lines (the caller has them at hand).
pub(super) fn summary(v: &DigestView<'_>, b: usize) -> String {
    if v.own.is_some() {
        let n = v.entries().count();
        let mut s = format!("{n} answer{} you have not read", plural(n));
        if b > 0 {
            s.push_str(&format!(" · {b} blocker{}", plural(b)));
        }
        return s;
    }
    if v.needs_only {
        return "Only what needs you, as you asked: reply \"everything\" for the whole digest"
            .to_string();
    }
    let mut parts: Vec<String> = v
        .sections
        .iter()
        .filter_map(|s| {
            let w = wrote(s)?;
            Some(match &s.team {
                Some(t) => format!("{t}: {w}"),
                None => w,
            })
        })
        .collect();
    let n = v.entries().count();
    parts.push(format!("{n} update{}", plural(n)));
    if b > 0 {
        parts.push(format!("{b} blocker{}", plural(b)));
    }
    parts.join(" · ")
}
