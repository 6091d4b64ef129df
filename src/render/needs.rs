//! The top of a digest, before the updates. **Needs you**: a neutral box of what the reader is
//! asked to act on, each saying why it is there — someone mentioned them, a teammate has been
//! blocked long enough and they lead the team, someone commented on their update (or on one
//! they commented on) — with its author, its time and its reply link. Then **Still blocked**:
//! teammates' blockers open from earlier updates. Daily, weekly and catch-up digests alike.

use maud::html;

use super::digest::{Carried, DigestView, comment_mailto, plural, short};
use super::{NL, first_name, pill, st};

/// One thing the reader is asked to act on.
struct Action<'a> {
    who: &'a str,
    /// After the name: "mentioned you (Mon 30 Nov)", "commented on your update of Mon 30 Nov".
    why: String,
    /// When it was written, in the reader's zone, when known.
    when: &'a str,
    lines: Vec<String>,
    blocker: bool,
    /// The update the reader's reply comments on, and the reply's subject.
    reply: Option<(&'a str, String)>,
    /// A page to act on it: (words, address).
    link: Option<(&'static str, String)>,
}

/// How long a blocker has been open, for "Needs you": `blocked 3 workdays, since Mon 30 Nov`.
fn blocked_for(c: &Carried) -> String {
    let since = c.since.format("%a %-d %b");
    if c.workdays == 0 {
        format!("is blocked, since {since}")
    } else {
        format!(
            "has been blocked {} workday{}, since {since}",
            c.workdays,
            plural(c.workdays as usize)
        )
    }
}

/// The reader's link to the open blockers of `team` (the team log's blockers page, signed in
/// by the link): `{prefs_url}/blockers?team=core`.
pub(super) fn blockers_url(prefs_url: &str, team: Option<&str>) -> String {
    match team {
        Some(t) => format!(
            "{prefs_url}/blockers?team={}",
            url::form_urlencoded::byte_serialize(t.as_bytes()).collect::<String>()
        ),
        None => format!("{prefs_url}/blockers"),
    }
}

/// Everything under "Needs you", in this order: mentions, blockers that need a lead,
/// comments.
fn actions<'a>(v: &'a DigestView<'_>) -> Vec<Action<'a>> {
    let mut out = Vec::new();
    for m in &v.mentions {
        out.push(Action {
            who: &m.who,
            why: format!("mentioned you ({})", m.date.format("%a %-d %b")),
            when: "",
            lines: m.lines.iter().map(|l| short(l)).collect(),
            blocker: false,
            reply: v.comment_to.get(&m.update_id).map(|a| {
                let subject = format!(
                    "Re: {}'s update for {}",
                    first_name(&m.who),
                    m.date.format("%a %-d %b")
                );
                (a.as_str(), subject)
            }),
            link: None,
        });
    }
    for c in v.carried.iter().filter(|c| c.needs_you) {
        let team = c.team.as_deref();
        out.push(Action {
            who: &c.who,
            why: format!(
                "{} — you lead {}",
                blocked_for(c),
                team.unwrap_or("their team")
            ),
            when: "",
            lines: c.lines.iter().map(|l| short(l)).collect(),
            blocker: true,
            reply: v.comment_to.get(&c.update_id).map(|a| {
                let subject = format!(
                    "Re: {}'s blocker since {}",
                    first_name(&c.who),
                    c.since.format("%a %-d %b")
                );
                (a.as_str(), subject)
            }),
            link: Some(("See the open blockers", blockers_url(v.prefs_url, team))),
        });
    }
    for c in &v.comments {
        out.push(Action {
            who: &c.who,
            why: format!("commented on {}", c.on),
            when: &c.at,
            lines: c.lines.clone(),
            blocker: false,
            reply: v
                .comment_to
                .get(&c.update_id)
                .map(|a| (a.as_str(), format!("Re: {}", c.on))),
            link: None,
        });
    }
    out
}

fn others<'a>(v: &'a DigestView<'_>) -> Vec<&'a Carried> {
    v.carried.iter().filter(|c| !c.needs_you).collect()
}

/// "Needs you" and "Still blocked" in the text part.
pub(crate) fn needs_text(v: &DigestView<'_>) -> String {
    let mut s = String::new();
    let actions = actions(v);
    if !actions.is_empty() {
        s.push_str("NEEDS YOU\n");
        for a in &actions {
            let when = if a.when.is_empty() {
                String::new()
            } else {
                format!(" ({})", a.when)
            };
            s.push_str(&format!("* {} {}{when}:\n", a.who, a.why));
            for l in &a.lines {
                s.push_str(&format!("    {l}\n"));
            }
            if let Some((addr, _)) = &a.reply {
                s.push_str(&format!(
                    "  Reply to {}: write to {addr}\n",
                    first_name(a.who)
                ));
            }
            if let Some((words, url)) = &a.link {
                s.push_str(&format!("  {words}: {url}\n"));
            }
        }
        s.push('\n');
    }
    let others = others(v);
    if !others.is_empty() {
        s.push_str("Still blocked, from earlier updates:\n");
        for c in &others {
            s.push_str(&format!(
                "  - {}, since {}: {}\n",
                c.who,
                c.since.format("%a %-d %b"),
                short(&c.lines.join("; "))
            ));
        }
        s.push('\n');
    }
    s
}

/// The same in the HTML part: a neutral box for "Needs you" (a blocker in it carries the red
/// pill), a short list for "Still blocked".
pub(crate) fn needs_html(v: &DigestView<'_>) -> String {
    let actions = actions(v);
    let others = others(v);
    html! {
        @if !actions.is_empty() {
            table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" {
                tr { td.needs id="needs" style=(st(".needs")) {
                    h2.boxhead style=(st(".boxhead")) { "Needs you" }
                    @for a in &actions {
                        (NL)
                        p.action style=(st(".action")) {
                            strong { (a.who) } " " (a.why)
                            @if !a.when.is_empty() { " · " span.muted style=(st(".muted")) { (a.when) } }
                            @if a.blocker { " " (pill("blocker", "blocker")) }
                            @for l in &a.lines { br; (NL) (l) }
                            @if a.reply.is_some() || a.link.is_some() { br; (NL) }
                            @if let Some((addr, subject)) = &a.reply {
                                a href=(comment_mailto(addr, subject)) style=(st("a")) { "Reply to " (first_name(a.who)) }
                                @if a.link.is_some() { " · " }
                            }
                            @if let Some((words, url)) = &a.link {
                                a href=(url) style=(st("a")) { (words) }
                            }
                        }
                    }
                } }
            }
            (NL)
        }
        @if !others.is_empty() {
            p style=(st("p")) { strong { "Still blocked" } ", from earlier updates:" }
            ul {
                @for c in &others {
                    li { (c.who) ", since " (c.since.format("%a %-d %b")) ": " (short(&c.lines.join("; "))) }
                    (NL)
                }
            }
            (NL)
        }
    }
    .into_string()
}
