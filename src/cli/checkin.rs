//! `tidings checkin`: a team's check-ins (its daily stand-up, and questions on their own
//! rhythms).

use super::*;
use crate::domain::checkin::{Checkin, GoesTo, Question, Rhythm, Who};
use crate::domain::schedule::{LocalTime, Workdays, parse_tz};

/// The rhythm `w` gives, if it gives one (`--days`, `--weekly` [`--every-weeks`], `--monthly`).
fn rhythm_of(w: &CheckinWhen, today: NaiveDate) -> anyhow::Result<Option<Rhythm>> {
    let text = match (&w.days, &w.weekly, &w.monthly) {
        (Some(d), None, None) => {
            Workdays::parse(d).map_err(|e| usage(format!("--days: {e}")))?;
            format!("days:{d}")
        }
        (None, Some(d), None) => match w.every_weeks {
            Some(n) => format!("weekly:{d}:{n}"),
            None => format!("weekly:{d}"),
        },
        (None, None, Some(m)) => format!("monthly:{m}"),
        (None, None, None) => return Ok(None),
        _ => return Err(usage("give one of --days, --weekly or --monthly")),
    };
    Rhythm::parse(&text, today)
        .map(Some)
        .map_err(|e| usage(e.to_string()))
}

fn questions_of(list: &[String]) -> anyhow::Result<Vec<Question>> {
    if list.len() > 10 {
        return Err(usage("a check-in asks at most 10 questions"));
    }
    list.iter()
        .map(|q| Question::parse(q).map_err(|e| usage(format!("--question {q:?}: {e}"))))
        .collect()
}

/// Applies the time, zone, audience and destination `w` gives to `c`.
fn apply(c: &mut Checkin, w: &CheckinWhen) -> anyhow::Result<()> {
    if let Some(at) = &w.at {
        c.at = Some(LocalTime::parse(at).map_err(|e| usage(format!("--at: {e}")))?);
    }
    if let Some(tz) = &w.tz {
        c.tz = Some(parse_tz(tz).map_err(|e| usage(format!("--tz: {e}")))?);
    }
    if let Some(who) = &w.who {
        c.who = Who::parse(who).map_err(|e| usage(format!("--who: {e}")))?;
    }
    if let Some(to) = &w.to {
        c.goes_to = GoesTo::parse(to).map_err(|e| usage(format!("--to: {e}")))?;
    }
    Ok(())
}

fn touches_schedule(w: &CheckinWhen) -> bool {
    w.days.is_some()
        || w.weekly.is_some()
        || w.monthly.is_some()
        || w.at.is_some()
        || w.tz.is_some()
        || w.who.is_some()
        || w.to.is_some()
}

fn to_json(team: &str, c: &Checkin) -> serde_json::Value {
    serde_json::json!({
        "team": team,
        "name": c.name,
        "standup": c.standup,
        "questions": c.questions,
        "rhythm": c.rhythm.to_string(),
        "at": c.at.map(|a| a.to_string()),
        "tz": c.tz.map(|z| z.name().to_string()),
        "who": c.who.to_string(),
        "to": c.goes_to.as_str(),
    })
}

async fn team_of(s: &Store, team: &str) -> anyhow::Result<i64> {
    s.team_id(team)
        .await
        .map_err(store_err)?
        .ok_or_else(|| usage(format!("no team named {team}")))
}

async fn checkin_of(s: &Store, team: &str, name: &str) -> anyhow::Result<Checkin> {
    let id = team_of(s, team).await?;
    s.checkin_named(id, name)
        .await
        .map_err(store_err)?
        .ok_or_else(|| {
            usage(format!(
                "team {team} has no check-in named {name:?} (see `tidings checkin list {team}`)"
            ))
        })
}

pub(super) async fn run(cfg: Config, cmd: CheckinCmd) -> anyhow::Result<()> {
    let today = Utc::now().date_naive();
    match cmd {
        CheckinCmd::Add {
            team,
            name,
            question,
            when,
        } => {
            let name = name.trim().to_string();
            if name.is_empty() || name.chars().count() > 60 {
                return Err(usage("a check-in's name is 1 to 60 characters"));
            }
            let questions = questions_of(&question)?;
            let rhythm = rhythm_of(&when, today)?.ok_or_else(|| {
                usage("when does it come? give --days mon,fri, --weekly DAY or --monthly first-mon|last-workday|N")
            })?;
            if when.at.is_none() {
                return Err(usage("--at HH:MM: the local time it is asked at"));
            }
            with_store(&cfg, async |s| {
                let mut c = Checkin {
                    id: 0,
                    team_id: team_of(s, &team).await?,
                    name,
                    standup: false,
                    questions,
                    rhythm,
                    at: None,
                    tz: None,
                    who: Who::All,
                    goes_to: GoesTo::Digest,
                };
                apply(&mut c, &when)?;
                s.add_checkin(&c).await.map_err(store_err)?;
                crate::outln!("{team}: added {}", c.describe());
                Ok(())
            })
            .await
        }
        CheckinCmd::Set {
            team,
            name,
            rename,
            question,
            when,
            member_time,
            member_zone,
        } => {
            let questions = questions_of(&question)?;
            let rhythm = rhythm_of(&when, today)?;
            with_store(&cfg, async |s| {
                let mut c = checkin_of(s, &team, &name).await?;
                if c.standup {
                    if touches_schedule(&when)
                        || member_time
                        || member_zone
                        || !questions.is_empty()
                        || rename.is_some()
                    {
                        return Err(usage(format!(
                            "{}: the daily stand-up keeps its name and asks the team's questions (`tidings team set {team} --question …`) on each member's own workdays and request time (their preferences)",
                            c.name
                        )));
                    }
                } else {
                    if !questions.is_empty() {
                        c.questions = questions;
                    }
                    if let Some(r) = rhythm {
                        c.rhythm = r;
                    }
                    apply(&mut c, &when)?;
                    if member_time {
                        c.at = None;
                    }
                    if member_zone {
                        c.tz = None;
                    }
                }
                if let Some(n) = rename.as_deref().map(str::trim) {
                    if n.is_empty() || n.chars().count() > 60 {
                        return Err(usage("a check-in's name is 1 to 60 characters"));
                    }
                    c.name = n.to_string();
                }
                s.update_checkin(&c).await.map_err(store_err)?;
                crate::outln!("{team}: {}", c.describe());
                Ok(())
            })
            .await
        }
        CheckinCmd::List { team, json } => {
            with_store(&cfg, async |s| {
                let teams: Vec<String> = match &team {
                    Some(t) => vec![t.clone()],
                    None => s
                        .list_teams()
                        .await
                        .map_err(store_err)?
                        .into_iter()
                        .map(|(n, _)| n)
                        .collect(),
                };
                let mut all = Vec::new();
                for t in &teams {
                    let id = team_of(s, t).await?;
                    for c in s.checkins_of(id).await.map_err(store_err)? {
                        all.push((t.clone(), c));
                    }
                }
                if json {
                    let v: Vec<_> = all.iter().map(|(t, c)| to_json(t, c)).collect();
                    crate::outln!("{}", serde_json::to_string_pretty(&v)?);
                } else if all.is_empty() {
                    crate::outln!("no teams yet: add one with `tidings team add NAME`");
                } else {
                    for (t, c) in &all {
                        crate::outln!("{t}: {}", c.describe());
                    }
                }
                Ok(())
            })
            .await
        }
        CheckinCmd::Remove { team, name } => {
            with_store(&cfg, async |s| {
                let c = checkin_of(s, &team, &name).await?;
                s.remove_checkin(c.id).await.map_err(store_err)?;
                crate::outln!(
                    "{team}: removed {} (its answers stay in the team log)",
                    c.name
                );
                Ok(())
            })
            .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::checkin::MonthDay;

    #[test]
    fn exactly_one_rhythm_is_given() {
        let d = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap_or_default();
        let w = CheckinWhen {
            weekly: Some("fri".into()),
            every_weeks: Some(2),
            ..Default::default()
        };
        let r = rhythm_of(&w, d).ok().flatten().map(|r| r.to_string());
        assert_eq!(r.as_deref(), Some("weekly:fri:2:2026-12-07"));
        let both = CheckinWhen {
            days: Some("mon".into()),
            monthly: Some("first-mon".into()),
            ..Default::default()
        };
        assert!(rhythm_of(&both, d).is_err());
        let bad = CheckinWhen {
            monthly: Some("first-funday".into()),
            ..Default::default()
        };
        assert!(rhythm_of(&bad, d).is_err());
        assert!(matches!(rhythm_of(&CheckinWhen::default(), d), Ok(None)));
        let first = CheckinWhen {
            monthly: Some("first-mon".into()),
            ..Default::default()
        };
        assert_eq!(
            rhythm_of(&first, d).ok().flatten(),
            Some(Rhythm::Monthly(MonthDay::First(chrono::Weekday::Mon)))
        );
    }
}
