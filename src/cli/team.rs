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
        } => {
            let name = parse_team_name(&name).map_err(usage)?;
            let questions = parse_questions(&question)?;
            with_store(&cfg, async |s| {
                if default_questions {
                    s.set_team_questions(&name, None).await.map_err(store_err)?;
                    crate::outln!("{name}: asks the configured questions");
                } else {
                    s.set_team_questions(&name, Some(&questions))
                        .await
                        .map_err(store_err)?;
                    crate::outln!("{name}: asks {}", questions.join(" / "));
                }
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
                if json {
                    let v: Vec<_> = teams
                    .iter()
                    .zip(&questions)
                    .map(|((n, c), q)| serde_json::json!({"name": n, "members": c, "questions": q}))
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
