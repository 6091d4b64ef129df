//! The planning pass for check-ins other than the daily stand-up (which the members' own
//! columns plan, see `plan.rs`): each asked member's next request, queued when it is due, and
//! its reminder. The same rules as the stand-up's: a request whose local date is still the
//! member's goes out late after downtime, else it is skipped; days away, paused members and
//! team holidays are skipped; the outbox key (kind, check-in, member, date) makes a second
//! queueing a no-op, so replaying an instant sends nothing.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::Ctx;
use super::compose;
use super::plan::{PlanReport, first_kept, never};
use crate::domain::checkin::{Checkin, CheckinId, MemberClock, Who};
use crate::domain::schedule::local_date;
use crate::domain::{MailKind, Member, MemberId};
use crate::store::CheckinDue;

const BATCH: i64 = 500;

/// A check-in with its team's name and leads, read once per pass.
struct Known {
    checkin: Checkin,
    team: String,
    leads: Vec<MemberId>,
}

#[derive(Default)]
struct Cache(HashMap<CheckinId, Option<Known>>);

impl Cache {
    /// The check-in of a plan row and its member (either gone: `None`).
    async fn with_member(
        &mut self,
        ctx: &Ctx,
        d: &CheckinDue,
    ) -> anyhow::Result<Option<(&Known, Member)>> {
        let Some(m) = ctx.store.member_by_id(d.member).await? else {
            return Ok(None);
        };
        Ok(self.get(ctx, d.checkin).await?.map(|k| (k, m)))
    }

    async fn get(&mut self, ctx: &Ctx, id: CheckinId) -> anyhow::Result<Option<&Known>> {
        if let std::collections::hash_map::Entry::Vacant(slot) = self.0.entry(id) {
            let known = match ctx.store.checkin(id).await? {
                Some(c) => ctx
                    .store
                    .team_and_leads(c.team_id)
                    .await?
                    .map(|(team, leads)| Known {
                        checkin: c,
                        team,
                        leads,
                    }),
                None => None,
            };
            slot.insert(known);
        }
        Ok(self.0.get(&id).and_then(Option::as_ref))
    }
}

fn clock(m: &Member) -> MemberClock {
    MemberClock {
        tz: m.tz,
        request_at: m.request_at,
        workdays: m.workdays,
    }
}

/// Whether check-in `k` asks member `m`: never an observer; everyone, the team's leads, or the
/// members named (by address or alias).
fn asks(k: &Known, m: &Member) -> bool {
    if m.observer {
        return false;
    }
    match &k.checkin.who {
        Who::All => true,
        Who::Leads => k.leads.contains(&m.id),
        Who::Members(list) => {
            list.iter()
                .any(|a| a.eq_ignore_ascii_case(m.email.as_str()))
                || m.aliases
                    .iter()
                    .any(|al| list.iter().any(|a| a.eq_ignore_ascii_case(al.as_str())))
        }
    }
}

/// Whether check-in `c` asks member `m` (by audience, and never an observer).
pub async fn asks_member(ctx: &Ctx, c: &Checkin, m: &Member) -> anyhow::Result<bool> {
    let mut cache = Cache::default();
    Ok(match cache.get(ctx, c.id).await? {
        Some(k) => asks(k, m),
        None => false,
    })
}

/// The local date of `k` for `m` at `now` (in the check-in's zone, else the member's).
fn today(k: &Known, m: &Member, now: DateTime<Utc>) -> NaiveDate {
    local_date(k.checkin.tz.unwrap_or(m.tz), now)
}

/// One pass: plan new and changed rows, queue due requests, then due reminders.
pub async fn run(ctx: &Ctx, now: DateTime<Utc>, report: &mut PlanReport) -> anyhow::Result<()> {
    ctx.store.sync_checkin_plans().await?;
    let mut cache = Cache::default();
    loop {
        let rows = ctx.store.unplanned_checkins(BATCH).await?;
        let n = rows.len();
        for (cid, mid) in rows {
            report.planned += usize::from(plan_one(ctx, &mut cache, cid, mid, now).await?);
        }
        if (n as i64) < BATCH {
            break;
        }
    }
    for reminders in [false, true] {
        loop {
            let due = ctx
                .store
                .due_checkins(now.timestamp(), reminders, BATCH)
                .await?;
            let n = due.len();
            for d in due {
                if reminders {
                    handle_reminder(ctx, &mut cache, &d, now, report).await?;
                } else {
                    handle_due(ctx, &mut cache, &d, now, report).await?;
                }
            }
            if (n as i64) < BATCH {
                break;
            }
        }
    }
    Ok(())
}

/// Plans one row: today's fire when it has passed but is still today and was not queued
/// (catch-up, as for the stand-up), else the next fire; never for a member not asked.
async fn plan_one(
    ctx: &Ctx,
    cache: &mut Cache,
    cid: CheckinId,
    mid: MemberId,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let (Some(k), Some(m)) = (
        cache.get(ctx, cid).await?,
        ctx.store.member_by_id(mid).await?,
    ) else {
        return Ok(false);
    };
    let next = if !asks(k, &m) {
        never()
    } else {
        let c = &k.checkin;
        let missed = match c.last_fire_in(clock(&m), now - Duration::days(2), now) {
            Some((d, t)) if d == today(k, &m, now) => {
                let key = compose::checkin_key(MailKind::Request, c.id, m.id, d);
                (!ctx.store.outbox_has_key(&key).await?).then_some((t.timestamp(), d))
            }
            _ => None,
        };
        missed
            .or_else(|| {
                c.next_after(clock(&m), now)
                    .map(|(d, t)| (t.timestamp(), d))
            })
            .unwrap_or_else(never)
    };
    Ok(ctx.store.set_checkin_next(cid, mid, None, next).await?)
}

/// A passed request instant: queue the request if it still goes out, and move the row to the
/// next fire after `now` either way, in one transaction.
async fn handle_due(
    ctx: &Ctx,
    cache: &mut Cache,
    d: &CheckinDue,
    now: DateTime<Utc>,
    report: &mut PlanReport,
) -> anyhow::Result<()> {
    let Some((k, m)) = cache.with_member(ctx, d).await? else {
        return Ok(());
    };
    let c = &k.checkin;
    let next = if asks(k, &m) {
        c.next_after(clock(&m), now)
            .map(|(date, t)| (t.timestamp(), date))
            .unwrap_or_else(never)
    } else {
        never()
    };
    // After downtime the stored instant may be days old: the fire that counts is the latest
    // one at or before now, and only while it is still that local date.
    let from = DateTime::from_timestamp(d.at, 0)
        .unwrap_or(now)
        .max(now - Duration::days(2));
    let fire = c
        .last_fire_in(clock(&m), from - Duration::seconds(1), now)
        .map_or(d.date, |(date, _)| date);
    let wanted = asks(k, &m)
        && fire == today(k, &m, now)
        && m.receives_on(fire)
        && !ctx.store.is_holiday(m.id, fire).await?;
    if !wanted {
        report.skipped += 1;
        ctx.store
            .set_checkin_next(d.checkin, d.member, Some(d.at), next)
            .await?;
        return Ok(());
    }
    let email =
        compose::checkin_request(ctx, &m, fire, now, false, Some((c, k.team.as_str()))).await?;
    let after = ctx.config.schedule.reminder_after_hours;
    let reminder = (after > 0)
        .then(|| now + Duration::hours(i64::from(after)))
        .filter(|t| local_date(c.tz.unwrap_or(m.tz), *t) == fire)
        .map(|t| (t.timestamp(), fire));
    let due = CheckinDue { date: fire, ..*d };
    if ctx
        .store
        .enqueue_checkin_request(&email, &due, next, reminder, now.timestamp())
        .await?
    {
        report.requests += 1;
    }
    Ok(())
}

/// A passed reminder instant: the reminder goes out while it is still that local date and the
/// member has not answered; cleared either way (queue first, so a crash resends nothing).
async fn handle_reminder(
    ctx: &Ctx,
    cache: &mut Cache,
    d: &CheckinDue,
    now: DateTime<Utc>,
    report: &mut PlanReport,
) -> anyhow::Result<()> {
    if let Some((k, m)) = cache.with_member(ctx, d).await? {
        let key = crate::store::UpdateKey {
            member: m.id,
            date: d.date,
            checkin: d.checkin,
        };
        let wanted = ctx.config.schedule.reminder_after_hours > 0
            && asks(k, &m)
            && today(k, &m, now) == d.date
            && m.receives_on(d.date)
            && !ctx.store.is_holiday(m.id, d.date).await?
            && ctx.store.answer_for(key).await?.is_none();
        if wanted {
            let c = &k.checkin;
            let email =
                compose::checkin_request(ctx, &m, d.date, now, true, Some((c, k.team.as_str())))
                    .await?;
            if ctx.queue(&email, now).await? {
                report.reminders += 1;
            }
        }
    }
    ctx.store
        .set_checkin_reminder(d.checkin, d.member, None)
        .await?;
    Ok(())
}

/// The check-ins other than the stand-up that ask `m`, with their team and the next request
/// each sends them (skipping days away and team holidays; `None`: none is coming, or `m` is
/// paused or unsubscribed): what the preferences page lists.
pub async fn upcoming(
    ctx: &Ctx,
    m: &Member,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<(String, Checkin, Option<DateTime<Utc>>)>> {
    let mut out = Vec::new();
    let mut cache = Cache::default();
    let mut teams = m.teams.clone();
    teams.sort();
    for team in teams {
        let Some(team_id) = ctx.store.team_id(&team).await? else {
            continue;
        };
        for c in ctx.store.checkins_of(team_id).await? {
            if c.standup {
                continue;
            }
            let Some(k) = cache.get(ctx, c.id).await? else {
                continue;
            };
            if !asks(k, m) {
                continue;
            }
            let next = if m.paused || m.unsubscribed {
                None
            } else {
                first_kept(ctx, m, now, |t| c.next_after(clock(m), t))
                    .await?
                    .map(|(_, t)| t)
            };
            out.push((team.clone(), c, next));
        }
    }
    Ok(out)
}
