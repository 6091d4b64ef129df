//! The update request and its reminder: the team's stand-up for one day, a first-name
//! greeting, "Reply to this email with your update" as the one thing to do, the team's
//! questions (after the plan of the previous update, quoted), and the reply commands folded
//! into one line that links to the full list. Copy from `templates/request_intro.txt`.

use chrono::{Duration, NaiveDate};
use maud::html;

use super::{NL, first_name, footer, long_date, page, st, team};
use crate::domain::sections::{self, Section};

const REQUEST_INTRO: &str = include_str!("../../templates/request_intro.txt");

/// Data of an update request.
#[derive(Debug, Clone)]
pub struct RequestView<'a> {
    pub member_name: &'a str,
    /// The member's teams, named in the subject, heading and footer.
    pub teams: &'a [String],
    /// What is asked, after the team's name: `stand-up`, or a check-in's name.
    pub what: &'a str,
    pub local_date: NaiveDate,
    pub questions: &'a [String],
    pub prefs_url: &'a str,
    pub reminder: bool,
    /// The "Next" of the member's previous update, quoted so today's answer can start from it:
    /// its day and its lines.
    pub last_plan: Option<(NaiveDate, Vec<String>)>,
    /// What the member's own activity feeds say they did: a draft of their Done (#35).
    pub draft: Option<super::draft::DraftView<'a>>,
}

/// The most lines of a previous plan a request quotes.
pub const PLAN_LINES: usize = 5;
/// A quoted plan line is cut to this many characters.
const PLAN_CHARS: usize = 200;

/// What a request quotes of a previous update: the lines of its "Next" answers, bullets gone,
/// at most [`PLAN_LINES`] of [`PLAN_CHARS`] characters; empty when it planned nothing.
pub fn plan_lines(sections: &[Section]) -> Vec<String> {
    sections
        .iter()
        .filter(|s| s.kind == sections::Kind::Next)
        .flat_map(|s| s.text.lines())
        .map(|l| l.trim().trim_start_matches(['-', '*', '•', '+']).trim())
        .filter(|l| !l.is_empty() && !sections::is_none(l))
        .take(PLAN_LINES)
        .map(|l| {
            if l.chars().count() <= PLAN_CHARS {
                l.to_string()
            } else {
                let head: String = l.chars().take(PLAN_CHARS - 1).collect();
                format!("{}…", head.trim_end())
            }
        })
        .collect()
}

/// `Last time (Mon 30 Nov) you planned:`
fn plan_heading(d: NaiveDate) -> String {
    format!("Last time ({}) you planned:", d.format("%a %-d %b"))
}

/// `Core stand-up · Tue 1 Dec — reply with your update`; a reminder starts `Reminder: `.
pub fn request_subject(v: &RequestView<'_>) -> String {
    let prefix = if v.reminder { "Reminder: " } else { "" };
    format!(
        "{prefix}{} · {} — reply with your update",
        team::title(v.teams, v.what),
        v.local_date.format("%a %-d %b")
    )
}

/// The request's copy, filled in: the line to act on, how to reply, and the commands line
/// (the text before its link, the link's words and address).
struct Intro {
    lead: String,
    how: Vec<String>,
    commands: String,
    link_words: String,
    link: String,
}

/// [`REQUEST_INTRO`] for `v`: its first paragraph's first line is the lead, the rest how to
/// reply; the second paragraph is the commands line, its `[words](url)` the link.
fn intro(v: &RequestView<'_>) -> Intro {
    let away = (v.local_date + Duration::days(7)).to_string();
    let filled = REQUEST_INTRO
        .replace("{away_until}", &away)
        .replace("{commands_url}", &format!("{}#commands", v.prefs_url));
    let mut paras = filled.trim_end().split("\n\n");
    let mut first = paras.next().unwrap_or_default().lines();
    let lead = first.next().unwrap_or_default().to_string();
    let how = first.map(str::to_string).collect();
    let line = paras.next().unwrap_or_default().trim();
    let (commands, link_words, link) = match (line.find('['), line.find("](")) {
        (Some(open), Some(mid)) if open < mid && line.ends_with(')') => (
            line[..open].to_string(),
            line[open + 1..mid].to_string(),
            line[mid + 2..line.len() - 1].to_string(),
        ),
        _ => (line.to_string(), String::new(), String::new()),
    };
    Intro {
        lead,
        how,
        commands,
        link_words,
        link,
    }
}

/// The text part, for terminals as much as for any client: the title line, the greeting, what
/// to do, the plan quoted, the questions, the commands line with the list's address.
pub fn request_text(v: &RequestView<'_>) -> String {
    let i = intro(v);
    let mut s = format!(
        "{} · {}\n\nHi {},\n\n",
        team::title(v.teams, v.what),
        long_date(v.local_date),
        first_name(v.member_name)
    );
    if v.reminder {
        s.push_str("We have not heard from you yet today.\n");
    }
    s.push_str(&i.lead);
    s.push('\n');
    for l in &i.how {
        s.push_str(l);
        s.push('\n');
    }
    s.push('\n');
    if let Some((d, lines)) = &v.last_plan {
        // Quoted ("> "), so a reply that quotes the request never takes it for the answer.
        s.push_str(&plan_heading(*d));
        s.push('\n');
        for l in lines {
            s.push_str(&format!("> {l}\n"));
        }
        s.push('\n');
    }
    if let Some(d) = &v.draft {
        s.push_str(&super::draft::text(d));
        s.push('\n');
    }
    for q in v.questions {
        s.push_str(&format!("* {q}\n"));
    }
    s.push('\n');
    s.push_str(&i.commands);
    if !i.link.is_empty() {
        s.push_str(&format!("{}: {}", i.link_words, i.link));
    }
    s.push_str("\n-- \n");
    s.push_str(&footer(v.prefs_url, v.teams));
    s
}

/// The HTML part: the team's stand-up as the heading, "Reply to this email with your update"
/// in bold at reading size, the questions, and the commands in one small line.
pub fn request_html(v: &RequestView<'_>) -> String {
    let i = intro(v);
    let content = html! {
        h1 style=(st("h1")) { (team::title(v.teams, v.what)) }
        p.muted style=(st(".muted")) { (long_date(v.local_date)) }
        (NL)
        p style=(st("p")) { "Hi " (first_name(v.member_name)) "," @if v.reminder { " we have not heard from you yet today." } }
        p.lead style=(st(".lead")) { (i.lead) }
        p style=(st("p")) { (i.how.join(" ")) }
        (NL)
        @if let Some((d, lines)) = &v.last_plan {
            p.muted style=(st(".muted")) { (plan_heading(*d)) }
            blockquote style=(st("blockquote")) { @for (n, l) in lines.iter().enumerate() { @if n > 0 { br; } (l) } }
        }
        @if let Some(d) = &v.draft { (super::draft::html(d)) }
        ul { @for q in v.questions { li { strong { (q) } } } }
        (NL)
        p.muted style=(st(".muted")) {
            (i.commands)
            @if !i.link.is_empty() { a href=(i.link) style=(st("a")) { (i.link_words) } }
        }
    };
    page(&request_subject(v), content, v.prefs_url, v.teams)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_names_the_team_greets_by_first_name_and_folds_the_commands() {
        let teams = vec!["Core".to_string()];
        let questions = vec!["What did you get done?".to_string()];
        let v = RequestView {
            member_name: "Ana Lima",
            teams: &teams,
            what: "stand-up",
            local_date: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            questions: &questions,
            prefs_url: "https://t.example/p/x",
            reminder: false,
            last_plan: None,
            draft: None,
        };
        assert_eq!(
            request_subject(&v),
            "Core stand-up · Tue 1 Dec — reply with your update"
        );
        let t = request_text(&v);
        assert!(
            t.starts_with("Core stand-up · Tuesday, 1 December 2026\n\nHi Ana,\n\nReply to this email with your update.\n"),
            "{t}"
        );
        assert!(
            t.contains("Or reply with a command: skip, pause, away until 2026-12-08 — all commands: https://t.example/p/x#commands\n"),
            "{t}"
        );
        assert!(t.contains("a member of Core on Tidings"), "{t}");
        let h = request_html(&v);
        assert!(h.contains("Core stand-up</h1>"), "{h}");
        assert!(h.contains("Hi Ana,"), "{h}");
        assert!(
            h.contains(r#"class="lead""#) && h.contains("Reply to this email with your update."),
            "{h}"
        );
        assert!(
            h.contains(r#"href="https://t.example/p/x#commands""#),
            "{h}"
        );
        let r = RequestView {
            reminder: true,
            ..v
        };
        assert!(request_subject(&r).starts_with("Reminder: Core stand-up · Tue 1 Dec"));
        assert!(
            request_text(&r).contains("We have not heard from you yet today.\nReply to this email")
        );
    }
}
