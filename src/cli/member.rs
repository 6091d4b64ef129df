//! `tidings member`: add, change, list, import and remove members.

use super::*;

/// Turns options into a change, validating every value (all before any database access).
fn member_change(o: &MemberOpts) -> anyhow::Result<MemberChange> {
    let mut ch = MemberChange::default();
    if let Some(n) = &o.name {
        let n = crate::domain::clean_name(n);
        if n.is_empty() {
            return Err(usage("invalid name: it must not be empty"));
        }
        ch.name = Some(n);
    }
    if let Some(z) = &o.tz {
        ch.tz = Some(parse_tz(z).map_err(|e| usage(e.to_string()))?);
    }
    if let Some(t) = &o.request_at {
        ch.request_at = Some(LocalTime::parse(t).map_err(|e| usage(format!("--request-at: {e}")))?);
    }
    if let Some(t) = &o.digest_at {
        ch.digest_at = Some(LocalTime::parse(t).map_err(|e| usage(format!("--digest-at: {e}")))?);
    }
    if let Some(d) = &o.days {
        ch.workdays = Some(Workdays::parse(d).map_err(|e| usage(format!("--days: {e}")))?);
    }
    if let Some(c) = &o.digest {
        ch.cadence = Some(Cadence::parse(c).map_err(|e| usage(format!("--digest: {e}")))?);
    }
    ch.observer = o.observer;
    if !o.team.is_empty() {
        ch.teams = Some(
            o.team
                .iter()
                .map(|t| parse_team_name(t).map_err(usage))
                .collect::<Result<_, _>>()?,
        );
    }
    Ok(ch)
}

pub(super) async fn run(cfg: Config, cmd: MemberCmd) -> anyhow::Result<()> {
    match cmd {
        MemberCmd::Add { email, opts } => {
            let email = parse_email(&email)?;
            email.deliverable().map_err(|e| usage(e.to_string()))?;
            if opts.name.is_none() {
                return Err(usage("--name is required"));
            }
            if opts.tz.is_none() {
                return Err(usage(
                    "--tz is required (an IANA zone such as Europe/Berlin)",
                ));
            }
            let ch = member_change(&opts)?;
            let d = crate::jobs::members::defaults(&cfg);
            let added = with_store(&cfg, async |s| {
                s.add_member(&email, &ch, &d).await.map_err(store_err)?;
                let m = s
                    .member_by_email(&email)
                    .await
                    .map_err(store_err)?
                    .ok_or_else(|| anyhow!("member vanished"))?;
                crate::outln!("added {}", describe(&m));
                Ok(m)
            })
            .await?;
            say_what_comes(cfg, &added).await
        }
        MemberCmd::Set {
            email,
            opts,
            paused,
            unsubscribed,
            away,
            alias,
            calendar,
            holiday_calendar,
            no_calendars,
            activity,
        } => {
            let email = parse_email(&email)?;
            let feeds = super::activity::addresses(&cfg, &activity)?;
            let personal = super::calendar::addresses(&cfg, "--calendar", &calendar)?;
            let holidays =
                super::calendar::addresses(&cfg, "--holiday-calendar", &holiday_calendar)?;
            let mut ch = member_change(&opts)?;
            ch.paused = paused;
            ch.unsubscribed = unsubscribed;
            if !away.is_empty() {
                let mut ranges = Vec::new();
                for a in &away {
                    if a.eq_ignore_ascii_case("none") {
                        continue;
                    }
                    let (f, t) = a.split_once("..").ok_or_else(|| {
                        usage(format!(
                            "--away {a:?}: expected FROM..TO such as 2026-12-01..2026-12-03"
                        ))
                    })?;
                    let (from, to) = (parse_date(f)?, parse_date(t)?);
                    if to < from {
                        return Err(usage(format!("--away {a:?}: the end is before the start")));
                    }
                    ranges.push(AwayRange { from, to });
                }
                ch.away = Some(ranges);
            }
            let aliases = alias
                .iter()
                .map(|a| parse_email(a))
                .collect::<Result<Vec<_>, _>>()?;
            with_store(&cfg, async |s| {
                let m = s.update_member(&email, &ch).await.map_err(store_err)?;
                for a in &aliases {
                    s.add_alias(m.id, a).await.map_err(store_err)?;
                }
                let m = s
                    .member_by_id(m.id)
                    .await
                    .map_err(store_err)?
                    .ok_or_else(|| anyhow!("member vanished"))?;
                crate::outln!("updated {}", describe(&m));
                super::calendar::set_member(s, m.id, no_calendars, &personal, &holidays).await?;
                super::activity::set_member(s, m.id, &activity, &feeds).await?;
                Ok(())
            })
            .await
        }
        MemberCmd::Remove { email } => {
            let email = parse_email(&email)?;
            with_store(&cfg, async |s| {
                s.remove_member(&email).await.map_err(store_err)?;
                crate::outln!("removed {email}");
                Ok(())
            })
            .await
        }
        MemberCmd::Import { file } => {
            let rows = crate::cli::import::read_csv(&file, &crate::jobs::members::defaults(&cfg))
                .map_err(usage)?;
            let d = crate::jobs::members::defaults(&cfg);
            with_store(&cfg, async |s| {
                let bar = progress_bar(rows.members.len() as u64, "importing members");
                let tick = |n: usize| bar.set_position(n as u64);
                let n = s
                    .add_members(&rows.members, &d, &tick)
                    .await
                    .map_err(|(i, e)| {
                        let line = rows.lines.get(i.wrapping_sub(1)).copied().unwrap_or(0);
                        match e {
                            StoreError::Other(e) => {
                                e.context(format!("{}: line {line}", file.display()))
                            }
                            e => usage(format!("{}: line {line}: {e}", file.display())),
                        }
                    })?;
                bar.finish_and_clear();
                crate::outln!("imported {n} members from {}", file.display());
                Ok(())
            })
            .await
        }
        MemberCmd::Link { email } => {
            let email = parse_email(&email)?;
            with_ctx(cfg, async |ctx| {
                let m = member_named(&ctx.store, &email).await?;
                crate::outln!("{}", ctx.prefs_url(&m, Utc::now()));
                Ok(())
            })
            .await
        }
        MemberCmd::Signout { email } => {
            let email = parse_email(&email)?;
            with_store(&cfg, async |s| {
                let m = member_named(s, &email).await?;
                let n = s
                    .revoke_sessions(m.id, Utc::now().timestamp())
                    .await
                    .map_err(store_err)?;
                s.end_feeds(m.id).await.map_err(store_err)?;
                crate::outln!(
                    "{} signed out: {n} session{} ended, feed addresses renewed",
                    m.email,
                    if n == 1 { "" } else { "s" }
                );
                Ok(())
            })
            .await
        }
        MemberCmd::List { json } => with_store(&cfg, async |s| {
            let members = s.list_members().await.map_err(store_err)?;
            if json {
                let views: Vec<MemberView> = members.iter().map(MemberView::from).collect();
                crate::outln!("{}", serde_json::to_string_pretty(&views)?);
            } else if members.is_empty() {
                crate::outln!(
                    "no members yet: add one with `tidings member add EMAIL --name NAME --tz ZONE`"
                );
            } else {
                for m in &members {
                    crate::outln!("{}", describe(m));
                }
            }
            Ok(())
        })
        .await,
    }
}

fn describe(m: &crate::domain::Member) -> String {
    let mut flags = Vec::new();
    if m.paused {
        flags.push("paused".to_string());
    }
    if m.unsubscribed {
        flags.push("unsubscribed".to_string());
    }
    if m.observer {
        flags.push("observer".to_string());
    }
    if m.bounces > 0 {
        flags.push(format!("{} hard bounces", m.bounces));
    }
    for a in &m.away {
        flags.push(format!("away {}..{}", a.from, a.to));
    }
    format!(
        "{} ({}) tz={} request={} digest={} {} days={} teams={}{}",
        m.email,
        m.name,
        m.tz.name(),
        m.request_at,
        m.digest_at,
        m.cadence,
        m.workdays,
        if m.teams.is_empty() {
            "-".to_string()
        } else {
            m.teams.join(",")
        },
        if flags.is_empty() {
            String::new()
        } else {
            format!(" [{}]", flags.join("; "))
        }
    )
}

/// After `member add`: when the member's first request and digest go out, in their time and
/// the operator's (this machine's zone), and a warning when they are in no team (nobody reads
/// their updates, and their digest has no one's).
async fn say_what_comes(cfg: Config, m: &crate::domain::Member) -> anyhow::Result<()> {
    use crate::store::DueKind;
    if m.teams.is_empty() {
        eprintln!(
            "warning: {} is in no team, so nobody reads their updates and their digests are empty; add one with `tidings member set {} --team NAME`",
            m.email, m.email
        );
    }
    let here = iana_time_zone::get_timezone()
        .ok()
        .and_then(|z| parse_tz(&z).ok())
        .unwrap_or(chrono_tz::UTC);
    let ctx = Ctx::build(cfg).await?;
    let now = Utc::now();
    for (kind, label) in [
        (DueKind::Request, "first request"),
        (DueKind::Digest, "first digest"),
    ] {
        let line = match crate::jobs::plan::upcoming(&ctx, m, kind, now).await? {
            Some((_, t)) => {
                let theirs = t.with_timezone(&m.tz);
                let yours = t.with_timezone(&here);
                format!(
                    "{} {} ({} {} here)",
                    theirs.format("%a %-d %b %H:%M"),
                    m.tz.name(),
                    yours.format("%a %-d %b %H:%M"),
                    here.name()
                )
            }
            None if kind == DueKind::Request && m.observer => {
                "never (an observer is not asked)".into()
            }
            None => "none planned (paused, unsubscribed or turned off)".into(),
        };
        crate::outln!("{label}: {line}");
    }
    ctx.store.close().await;
    Ok(())
}
