//! `tidings team`: teams, their questions and holidays.

use super::*;

pub(super) async fn run(cfg: Config, cmd: TeamCmd) -> anyhow::Result<()> {
    match cmd {
        TeamCmd::Add { name, question } => {
            let name = parse_team_name(&name).map_err(usage)?;
            let questions = parse_questions(&question)?;
            with_store(&cfg, async |s| {
                s.add_team(&name).await.map_err(store_err)?;
                if !questions.is_empty() {
                    s.set_team_questions(&name, Some(&questions))
                        .await
                        .map_err(store_err)?;
                }
                crate::outln!("added team {name}");
                Ok(())
            })
            .await
        }
        TeamCmd::Set {
            name,
            question,
            default_questions,
            lead,
            no_leads,
            escalate_after,
            holiday_calendar,
            no_holiday_calendars,
        } => {
            let name = parse_team_name(&name).map_err(usage)?;
            let holidays =
                super::calendar::addresses(&cfg, "--holiday-calendar", &holiday_calendar)?;
            let questions = parse_questions(&question)?;
            let leads = lead
                .iter()
                .map(|e| parse_email(e))
                .collect::<anyhow::Result<Vec<_>>>()?;
            if questions.is_empty()
                && !default_questions
                && leads.is_empty()
                && !no_leads
                && escalate_after.is_none()
                && holidays.is_empty()
                && !no_holiday_calendars
            {
                return Err(usage(
                    "nothing to change: give --question, --default-questions, --lead, --no-leads, --escalate-after, --holiday-calendar or --no-holiday-calendars",
                ));
            }
            if escalate_after.is_some_and(|n| n > 365) {
                return Err(usage("--escalate-after: at most 365 workdays"));
            }
            with_store(&cfg, async |s| {
                if s.team_id(&name).await.map_err(store_err)?.is_none() {
                    return Err(usage(format!("no team named {name}")));
                }
                if default_questions {
                    s.set_team_questions(&name, None).await.map_err(store_err)?;
                    crate::outln!("{name}: asks the configured questions");
                } else if !questions.is_empty() {
                    s.set_team_questions(&name, Some(&questions))
                        .await
                        .map_err(store_err)?;
                    crate::outln!("{name}: asks {}", questions.join(" / "));
                }
                if !leads.is_empty() || no_leads {
                    let mut ids = Vec::with_capacity(leads.len());
                    for e in &leads {
                        let m = s
                            .member_by_email(e)
                            .await
                            .map_err(store_err)?
                            .ok_or_else(|| usage(format!("--lead: no member with email {e}")))?;
                        ids.push(m.id);
                    }
                    s.set_team_leads(&name, &ids).await.map_err(store_err)?;
                    if leads.is_empty() {
                        crate::outln!("{name}: no leads");
                    } else {
                        let list: Vec<String> = leads.iter().map(|e| e.to_string()).collect();
                        crate::outln!("{name}: led by {}", list.join(", "));
                    }
                }
                if let Some(n) = escalate_after {
                    s.set_escalate_after(&name, n).await.map_err(store_err)?;
                    crate::outln!(
                        "{name}: a blocker open {n} workday{} goes to the leads",
                        if n == 1 { "" } else { "s" }
                    );
                }
                super::calendar::set_team(s, &name, no_holiday_calendars, &holidays).await?;
                Ok(())
            })
            .await
        }
        TeamCmd::List { json } => {
            with_store(&cfg, async |s| {
                let teams = s.list_teams().await.map_err(store_err)?;
                let mut questions = Vec::with_capacity(teams.len());
                for (n, _) in &teams {
                    questions.push(s.team_questions(n).await.map_err(store_err)?);
                }
                let names: Vec<String> = teams.iter().map(|(n, _)| n.clone()).collect();
                let escalations = s.team_escalations(&names).await.map_err(store_err)?;
                let mut leads: Vec<Vec<String>> = Vec::with_capacity(escalations.len());
                for e in &escalations {
                    let mut emails = Vec::with_capacity(e.leads.len());
                    for id in &e.leads {
                        if let Some(m) = s.member_by_id(*id).await.map_err(store_err)? {
                            emails.push(m.email.to_string());
                        }
                    }
                    leads.push(emails);
                }
                if json {
                    let v: Vec<_> = teams
                    .iter()
                    .zip(&questions)
                    .zip(escalations.iter().zip(&leads))
                    .map(|(((n, c), q), (e, l))| serde_json::json!({"name": n, "members": c, "questions": q, "leads": l, "escalate_after": e.escalate_after}))
                    .collect();
                    crate::outln!("{}", serde_json::to_string_pretty(&v)?);
                } else if teams.is_empty() {
                    crate::outln!("no teams yet: add one with `tidings team add NAME`");
                } else {
                    for ((n, c), q) in teams.iter().zip(&questions) {
                        let q = match q {
                            Some(q) => format!("; asks: {}", q.join(" / ")),
                            None => String::new(),
                        };
                        crate::outln!("{n} ({c} member{}){q}", if *c == 1 { "" } else { "s" });
                    }
                }
                Ok(())
            })
            .await
        }
        TeamCmd::Holiday { name, date } => {
            let date = parse_date(&date)?;
            with_store(&cfg, async |s| {
                s.add_holiday(&name, date).await.map_err(store_err)?;
                crate::outln!("{name}: {date} is a holiday");
                Ok(())
            })
            .await
        }
        TeamCmd::Chat { cmd } => super::chat::run(cfg, cmd).await,
    }
}

/// `--question` values: trimmed, single-line, not empty, at most 20 of 300 characters each.
fn parse_questions(qs: &[String]) -> anyhow::Result<Vec<String>> {
    if qs.len() > 20 {
        return Err(usage("--question: at most 20 questions"));
    }
    qs.iter()
        .map(|q| {
            let q: String = q.chars().filter(|c| !c.is_control()).collect();
            let q = q.trim().to_string();
            if q.is_empty() || q.chars().count() > 300 {
                Err(usage(format!(
                    "--question {q:?}: expected 1 to 300 characters"
                )))
            } else {
                Ok(q)
            }
        })
        .collect()
}
