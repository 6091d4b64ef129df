//! What a digest holds: for one reader and local date, their teammates' updates they have
//! not seen in this revision, by team, and who has not written yet.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::Ctx;
use crate::domain::blockers::{OpenBlocker, open_workdays};
use crate::domain::{DigestKind, Member, MemberId, collate};
use crate::render::{Carried, CommentNote, DigestEntry, DigestSection, Mentioned, ScaleLine};

/// The most lines of one comment a digest shows (the team log has it whole).
const COMMENT_LINES: usize = 12;
use crate::store::{DigestKey, DigestScope, TeamEscalation, UpdateContent};

/// Scale aggregates by (check-in, day).
type ScaleCache = HashMap<(i64, NaiveDate), Arc<[ScaleLine]>>;

/// The members of one set of teams and which of them wrote recently, as of one pass.
#[derive(Debug)]
pub struct TeamSnapshot {
    /// Everyone in the teams, the reader included, by name.
    pub members: Vec<Member>,
    /// Who of them has an update for a local date on or after the snapshot's date.
    pub with_updates: HashSet<MemberId>,
    /// Their open blockers.
    pub open: HashMap<MemberId, OpenBlocker>,
    /// The teams' leads and when a blocker needs them.
    pub escalations: Vec<TeamEscalation>,
    /// The teams' check-ins with a digest of their own.
    pub own: Vec<OwnDigest>,
    /// What the teams' updates say, by update id, read once for every reader of the pass.
    contents: std::sync::Mutex<HashMap<i64, Arc<UpdateContent>>>,
    /// The teams' scale aggregates by check-in and day, read once for every reader.
    scales: std::sync::Mutex<ScaleCache>,
}

impl TeamSnapshot {
    /// What each of `keys` says, in their order (`None`: deleted since), from what this pass
    /// read before, the rest read now in one query.
    async fn contents(
        &self,
        ctx: &Ctx,
        keys: &[DigestKey],
    ) -> anyhow::Result<Vec<Option<Arc<UpdateContent>>>> {
        let known = |cache: &HashMap<i64, Arc<UpdateContent>>, k: &DigestKey| {
            cache
                .get(&k.update_id)
                .filter(|c| c.revision >= k.revision)
                .cloned()
        };
        let missing: Vec<i64> = {
            let cache = self.lock();
            keys.iter()
                .filter(|k| known(&cache, k).is_none())
                .map(|k| k.update_id)
                .collect()
        };
        let read = if missing.is_empty() {
            Vec::new()
        } else {
            ctx.store.update_contents(&missing).await?
        };
        let mut cache = self.lock();
        for c in read {
            cache.insert(c.update_id, Arc::new(c));
        }
        Ok(keys.iter().map(|k| known(&cache, k)).collect())
    }

    /// [`scale_lines`] of check-in `checkin` on `date`, read once per pass.
    async fn scales(
        &self,
        ctx: &Ctx,
        checkin: i64,
        date: NaiveDate,
    ) -> anyhow::Result<Arc<[ScaleLine]>> {
        let known = |s: &Self| {
            s.scales
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .get(&(checkin, date))
                .cloned()
        };
        if let Some(lines) = known(self) {
            return Ok(lines);
        }
        let lines: Arc<[ScaleLine]> = scale_lines(ctx, checkin, date).await?.into();
        self.scales
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert((checkin, date), lines.clone());
        Ok(lines)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Arc<UpdateContent>>> {
        // Only whole inserts are made under it: a panic elsewhere leaves it usable.
        self.contents
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Team snapshots shared by the digests of one planning pass: in a fan-out every reader of a
/// 100-member team would otherwise load the same 99 teammates again. Keyed by the reader's
/// teams and the "recent" date; it lives for one pass only, so it is never staler than the pass.
#[derive(Debug, Default)]
pub struct TeamCache {
    snapshots: HashMap<(Vec<String>, chrono::NaiveDate), std::sync::Arc<TeamSnapshot>>,
}

impl TeamCache {
    pub(super) async fn get(
        &mut self,
        ctx: &Ctx,
        m: &Member,
        recent: chrono::NaiveDate,
    ) -> anyhow::Result<std::sync::Arc<TeamSnapshot>> {
        let key = (m.teams.clone(), recent);
        if let Some(s) = self.snapshots.get(&key) {
            return Ok(s.clone());
        }
        let members = ctx.store.members_in_teams(&m.teams).await?;
        let with_updates = ctx
            .store
            .team_members_with_updates_since(&m.teams, recent)
            .await?;
        let ids: Vec<MemberId> = members.iter().map(|m| m.id).collect();
        let open = ctx.store.open_blockers(&ids).await?;
        let escalations = ctx.store.team_escalations(&m.teams).await?;
        let own = ctx
            .store
            .own_digest_checkins(&m.teams)
            .await?
            .into_iter()
            .map(|(c, team)| OwnDigest {
                checkin: c.id,
                name: c.name,
                team,
            })
            .collect();
        let snap = std::sync::Arc::new(TeamSnapshot {
            members,
            with_updates,
            open,
            escalations,
            own,
            contents: Default::default(),
            scales: Default::default(),
        });
        self.snapshots.insert(key, snap.clone());
        Ok(snap)
    }
}

/// A check-in whose answers go to a digest of their own, and its team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnDigest {
    pub checkin: crate::domain::checkin::CheckinId,
    pub name: String,
    pub team: String,
}

/// What one reader's digest holds: its sections and the (update, revision) pairs it carries.
#[derive(Debug, Clone)]
pub struct DigestData {
    /// Daily, or a weekly or catch-up summary.
    pub kind: DigestKind,
    /// The check-in whose digest of its own this is; `None`: the reader's digest.
    pub own: Option<OwnDigest>,
    pub sections: Vec<DigestSection>,
    /// Recorded in `digest_deliveries` when the digest is queued, so each reaches the reader once.
    pub keys: Vec<(i64, i64)>,
    /// Teammates' blockers open from earlier updates ("Still blocked", "Needs you").
    pub carried: Vec<Carried>,
    /// Updates from any team that mention the reader ("Needs you"), and their ids (marked
    /// delivered when the digest is queued).
    pub mentions: Vec<Mentioned>,
    pub mention_ids: Vec<i64>,
    /// Comments owed to the reader, and their ids (marked delivered when queued).
    pub comments: Vec<CommentNote>,
    pub comment_ids: Vec<i64>,
}

impl DigestData {
    /// Nothing this reader has not seen yet, and nothing that needs them: a blocker carried
    /// alone sends no digest, one that needs the reader (a lead) does.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
            && !self.carried.iter().any(|c| c.needs_you)
            && self.mentions.is_empty()
            && self.comments.is_empty()
    }
}

/// Builds the digest of reader `m` for local date `date`, as of `now` (also used by `preview
/// digest`): a
/// daily digest, or the weekly or catch-up summary their cadence and time away call for
/// ([`Member::digest_kind`]). A reader in several teams gets one section per team (by name);
/// an update whose author shares several teams with the reader appears once, in the first of
/// them.
pub async fn digest_view_data(
    ctx: &Ctx,
    m: &Member,
    date: chrono::NaiveDate,
    now: DateTime<Utc>,
    teams: &mut TeamCache,
) -> anyhow::Result<DigestData> {
    let kind = m.digest_kind(date);
    let snapshot = teams.get(ctx, m, snapshot_date(kind, date)).await?;
    digest_view_data_in(ctx, m, date, now, kind, &snapshot).await
}

/// The date from which a teammate's update counts as written for a digest of `kind` (the team
/// snapshot's date): the day before for a daily digest, the first day a summary covers.
pub(super) fn snapshot_date(kind: DigestKind, date: chrono::NaiveDate) -> chrono::NaiveDate {
    kind.from().unwrap_or_else(|| recent_date(date))
}

/// Updates on or after this date count as "wrote recently" in the digest for `date`; older
/// first revisions are marked late.
pub(super) fn recent_date(date: chrono::NaiveDate) -> chrono::NaiveDate {
    date - Duration::days(1)
}

/// [`digest_view_data`] with the digest's kind and the reader's team snapshot (taken at
/// [`snapshot_date`]) already at hand. A daily digest holds the updates of the last seven
/// days this reader has not seen; a summary those since the day before it starts, or the
/// last seven days if that is longer.
pub(super) async fn digest_view_data_in(
    ctx: &Ctx,
    m: &Member,
    date: chrono::NaiveDate,
    now: DateTime<Utc>,
    kind: DigestKind,
    snapshot: &TeamSnapshot,
) -> anyhow::Result<DigestData> {
    // A check-in's answers kept for the log only reach readers in the weekly summary.
    let weekly = matches!(kind, DigestKind::Weekly { .. });
    let scope = DigestScope::Main { with_log: weekly };
    let keys_unseen = ctx
        .store
        .digest_keys(m.id, since_of(kind, date), scope)
        .await?;
    let recent = recent_date(date);
    let teammates: Vec<&Member> = snapshot.members.iter().filter(|t| t.id != m.id).collect();
    let several = m.teams.len() > 1;
    let mut sections: Vec<DigestSection> = if several {
        m.teams
            .iter()
            .map(|t| DigestSection {
                team: Some(t.clone()),
                ..Default::default()
            })
            .collect()
    } else {
        vec![DigestSection::default()]
    };
    let mut keys = fill(ctx, m, snapshot, &keys_unseen, recent, &mut sections).await?;
    list_missing(&mut sections, &teammates, &snapshot.with_updates, recent);
    let mut carried = carried_blockers(m, now, &teammates, snapshot, &keys);
    let (mentions, mention_ids) = mentions_of(ctx, m).await?;
    let (comments, comment_ids) = comments_for(ctx, m).await?;
    if m.shape.needs_only {
        // Only what needs the reader: no updates (they stay unseen, for the team log and for
        // the digest after "everything"), no one listed as missing, no blocker merely carried.
        for sec in &mut sections {
            sec.entries.clear();
            sec.missing.clear();
        }
        keys.clear();
        carried.retain(|c| c.needs_you);
    }
    Ok(DigestData {
        kind,
        own: None,
        sections,
        keys,
        carried,
        mentions,
        mention_ids,
        comments,
        comment_ids,
    })
}

/// The first local date a digest of `kind` for `date` reads updates from: the last seven
/// days, or for a summary the day before it starts if that is earlier.
fn since_of(kind: DigestKind, date: NaiveDate) -> NaiveDate {
    let week = date - Duration::days(7);
    kind.from()
        .map_or(week, |from| (from - Duration::days(1)).min(week))
}

/// Puts the updates of `keys_unseen` (those still there) into `sections` (one per team of
/// the reader, or one), in the order a digest shows them, with each check-in's scale
/// aggregates; returns the (update, revision) pairs they carry.
async fn fill(
    ctx: &Ctx,
    m: &Member,
    snapshot: &TeamSnapshot,
    keys_unseen: &[DigestKey],
    recent: NaiveDate,
    sections: &mut [DigestSection],
) -> anyhow::Result<Vec<(i64, i64)>> {
    let contents = snapshot.contents(ctx, keys_unseen).await?;
    let teams_of: HashMap<i64, &[String]> = snapshot
        .members
        .iter()
        .filter(|t| t.id != m.id)
        .map(|t| (t.id, t.teams.as_slice()))
        .collect();
    let several = sections.len() > 1;
    let section_of = |author_teams: &[String]| -> usize {
        if !several {
            return 0;
        }
        m.teams
            .iter()
            .position(|t| author_teams.contains(t))
            .unwrap_or(0)
    };
    let mut keys = Vec::with_capacity(keys_unseen.len());
    // The check-ins (and days) of the entries, per section: their scale aggregates.
    let mut asked: std::collections::BTreeSet<(usize, i64, NaiveDate)> = Default::default();
    for (k, i) in keys_unseen.iter().zip(&contents) {
        // An update deleted since (its author removed) is left out.
        let Some(i) = i else { continue };
        let idx = section_of(teams_of.get(&i.author_id).copied().unwrap_or(&[]));
        if i.checkin_id != 0 {
            asked.insert((idx, i.checkin_id, i.local_date));
        }
        let edited = k.seen_before;
        sections[idx].entries.push(DigestEntry {
            update_id: i.update_id,
            revision: i.revision,
            author_id: i.author_id,
            author: i.author_name.clone(),
            author_tz: i.author_tz.clone(),
            local_date: i.local_date,
            sections: i.sections.clone(),
            edited,
            // Late: a first revision for an older day (an edit is marked edited instead).
            late: !edited && i.local_date < recent,
            resolved: i.resolved_at.is_some(),
            resolved_on: i
                .resolved_at
                .and_then(|t| crate::domain::schedule::local_date_at(&i.author_tz, t)),
            followed: m.shape.follows(i.author_id),
            folded: m.shape.mutes(i.author_id),
            checkin: i.checkin.clone(),
        });
        keys.push((i.update_id, i.revision));
    }
    // The stand-up's entries first, then each check-in's under its name; within each,
    // followed people first; then by day, then by name as a reader expects it (root
    // collation: Ł with L), then by id.
    for sec in sections.iter_mut() {
        sec.entries.sort_by(|a, b| {
            a.checkin
                .cmp(&b.checkin)
                .then_with(|| b.followed.cmp(&a.followed))
                .then_with(|| a.local_date.cmp(&b.local_date))
                .then_with(|| collate::names(&a.author, &b.author))
                .then_with(|| a.update_id.cmp(&b.update_id))
        });
    }
    for (idx, checkin, date) in asked {
        sections[idx]
            .scales
            .extend(snapshot.scales(ctx, checkin, date).await?.iter().cloned());
    }
    Ok(keys)
}

/// The digests of their own that reader `m` is owed at their digest instant for `date`: one
/// per check-in of their teams that has one and answers they have not read, over the days
/// their digest of `kind` covers. Each shows the answers whole (never marked late: such a
/// check-in is not daily), with its scale aggregates; none for a reader who asked for only
/// what needs them.
pub(super) async fn own_digests(
    ctx: &Ctx,
    m: &Member,
    date: NaiveDate,
    kind: DigestKind,
    snapshot: &TeamSnapshot,
) -> anyhow::Result<Vec<DigestData>> {
    let mut out = Vec::new();
    if m.shape.needs_only {
        return Ok(out);
    }
    for own in &snapshot.own {
        let scope = DigestScope::Own(own.checkin);
        let unseen = ctx
            .store
            .digest_keys(m.id, since_of(kind, date), scope)
            .await?;
        if unseen.is_empty() {
            continue;
        }
        let mut sections = vec![DigestSection::default()];
        let keys = fill(ctx, m, snapshot, &unseen, recent_date(date), &mut sections).await?;
        if keys.is_empty() {
            continue;
        }
        for e in &mut sections[0].entries {
            e.late = false;
        }
        out.push(DigestData {
            kind: DigestKind::Daily,
            own: Some(own.clone()),
            sections,
            keys,
            carried: Vec::new(),
            mentions: Vec::new(),
            mention_ids: Vec::new(),
            comments: Vec::new(),
            comment_ids: Vec::new(),
        });
    }
    Ok(out)
}

/// Lists in each section the teammates of its team who have not written (observers, paused,
/// unsubscribed and away people aside: they were not asked), by name.
fn list_missing(
    sections: &mut [DigestSection],
    teammates: &[&Member],
    with_updates: &HashSet<MemberId>,
    recent: chrono::NaiveDate,
) {
    for t in teammates {
        // Observers are never asked, so never missing.
        if t.observer
            || t.paused
            || t.unsubscribed
            || with_updates.contains(&t.id)
            || t.is_away_on(recent)
        {
            continue;
        }
        for (idx, sec) in sections.iter_mut().enumerate() {
            let in_team = match &sec.team {
                Some(team) => t.teams.contains(team),
                None => idx == 0,
            };
            if in_team {
                sec.missing.push(t.name.clone());
            }
        }
    }
    for sec in sections.iter_mut() {
        sec.missing.sort_by(|a, b| collate::names(a, b));
    }
}

/// The updates that mention reader `m` and are owed to them ("Needs you"), and their ids.
async fn mentions_of(ctx: &Ctx, m: &Member) -> anyhow::Result<(Vec<Mentioned>, Vec<i64>)> {
    let pending = ctx.store.pending_mentions(m.id).await?;
    let ids = pending.iter().map(|p| p.update_id).collect();
    let mentions = pending
        .iter()
        .map(|p| Mentioned {
            who: p.author_name.clone(),
            date: p.local_date,
            lines: Mentioned::lines_of(&p.sections),
            update_id: p.update_id,
        })
        .collect();
    Ok((mentions, ids))
}

/// The comments owed to reader `m` ("Needs you"): who, on which update, when in the reader's
/// zone, the first lines; and their ids.
async fn comments_for(ctx: &Ctx, m: &Member) -> anyhow::Result<(Vec<CommentNote>, Vec<i64>)> {
    let owed = ctx.store.pending_comments(m.id).await?;
    let ids = owed.iter().map(|c| c.comment_id).collect();
    let comments = owed
        .iter()
        .map(|c| CommentNote {
            who: c.who.clone(),
            on: if c.update_author == m.id {
                format!("your update of {}", c.update_date.format("%a %-d %b"))
            } else {
                format!(
                    "{}'s update of {}",
                    c.update_author_name,
                    c.update_date.format("%a %-d %b")
                )
            },
            lines: c
                .body
                .lines()
                .map(str::trim_end)
                .filter(|l| !l.trim().is_empty())
                .take(COMMENT_LINES)
                .map(str::to_string)
                .collect(),
            update_id: c.update_id,
            at: DateTime::from_timestamp(c.created_at, 0)
                .map(|t| t.with_timezone(&m.tz).format("%a %-d %b %H:%M").to_string())
                .unwrap_or_default(),
        })
        .collect();
    Ok((comments, ids))
}

/// The blockers a digest carries: each teammate's blocker still open from an update this
/// digest does not show ("Still blocked"), and, for a reader who leads a team of the author's,
/// each one open at least that team's `escalate_after` workdays at `now` ("Needs you", even
/// when this digest shows the update; counted as the blockers page counts,
/// [`open_workdays`]). Oldest first.
fn carried_blockers(
    reader: &Member,
    now: DateTime<Utc>,
    teammates: &[&Member],
    snapshot: &TeamSnapshot,
    keys: &[(i64, i64)],
) -> Vec<Carried> {
    let shown: HashSet<i64> = keys.iter().map(|(id, _)| *id).collect();
    let mut carried = Vec::new();
    for t in teammates {
        if t.paused || t.unsubscribed {
            continue;
        }
        let Some(b) = snapshot.open.get(&t.id) else {
            continue;
        };
        let workdays = open_workdays(b.since, t.tz, t.workdays, now);
        let lead_of = snapshot.escalations.iter().find(|e| {
            e.leads.contains(&reader.id)
                && t.teams.contains(&e.team)
                && workdays >= e.escalate_after
        });
        let needs_you = lead_of.is_some();
        // A muted teammate's blocker is carried only when it is escalated to the reader.
        if !needs_you && reader.shape.mutes(t.id) {
            continue;
        }
        if needs_you || !shown.contains(&b.update_id) {
            carried.push(Carried {
                who: t.name.clone(),
                since: b.since,
                workdays,
                lines: b.lines.clone(),
                needs_you,
                update_id: b.update_id,
                team: lead_of.map(|e| e.team.clone()),
            });
        }
    }
    carried.sort_by(|a, b| {
        a.since
            .cmp(&b.since)
            .then_with(|| collate::names(&a.who, &b.who))
    });
    carried
}

/// The team's aggregate of each scale question of check-in `checkin` on `date` (the digest
/// and the team log show it).
pub(crate) async fn scale_lines(
    ctx: &Ctx,
    checkin: i64,
    date: NaiveDate,
) -> anyhow::Result<Vec<crate::render::ScaleLine>> {
    let Some(c) = ctx.store.checkin(checkin).await? else {
        return Ok(Vec::new());
    };
    let scores = ctx.store.scores_of(checkin, date).await?;
    let mut out = Vec::new();
    for (i, q) in c.questions.iter().enumerate() {
        if q.kind != crate::domain::checkin::QuestionKind::Scale {
            continue;
        }
        let values: Vec<u8> = scores
            .iter()
            .filter(|(qi, _)| *qi == i)
            .map(|(_, v)| *v)
            .collect();
        let summary = crate::domain::checkin::scale_summary(&values);
        out.push(crate::render::ScaleLine {
            checkin: c.name.clone(),
            question: q.text.clone(),
            answers: values.len(),
            mean: summary.map(|s| (s.mean * 10.0).round() as u16),
        });
    }
    Ok(out)
}
