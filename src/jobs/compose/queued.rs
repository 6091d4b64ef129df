//! A digest queued as what it is made of ([`Manifest`], the outbox row's JSON) and composed
//! when it is sent ([`queued_digest`]): the same row gives the same bytes every time, and the
//! digests of one send pass share each revision read and each entry rendered ([`SendParts`]).

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

use super::super::Ctx;
use crate::domain::{DigestKind, EmailAddress, MailKind, MemberId};
use crate::mail::outbound;
use crate::render::{
    self, Carried, CommentNote, DigestEntry, DigestSection, DigestView, EntryParts, Mentioned,
};
use crate::store::{OutboxRow, Revision};

/// What a queued digest is made of (the outbox row's `manifest`, JSON): everything about the
/// reader and the day fixed when it was queued, so composing it again gives the same bytes.
/// The updates are referred to by (id, revision) and read from `update_revisions`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    /// The reader's name as greeted.
    pub name: String,
    /// The reader's teams as named in its heading and footer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub teams: Vec<String>,
    /// The reader's local hour when it was queued (the greeting).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hour: Option<u32>,
    pub list_id: String,
    /// A weekly or catch-up summary; absent for a daily digest.
    #[serde(default, skip_serializing_if = "is_daily")]
    pub kind: DigestKind,
    pub sections: Vec<ManifestSection>,
    /// Blockers carried from earlier updates, as they stood when it was queued.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub carried: Vec<Carried>,
    /// Updates that mentioned the reader, as they stood when it was queued.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<Mentioned>,
    /// Comments owed to the reader, as written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub comments: Vec<CommentNote>,
    /// The author's local day each resolved blocker of its entries was marked resolved, by
    /// update id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolved_on: Vec<(i64, NaiveDate)>,
    /// The reader's link epoch when it was queued: its preferences link is signed over it,
    /// so the row composes to the same bytes whenever it is sent.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub epoch: i64,
    /// The reader asked for only what needs them: no updates, said so at the top.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub needs_only: bool,
    /// The check-in whose digest of its own this is, by name; absent for the reader's digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub own: Option<String>,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

fn is_daily(k: &DigestKind) -> bool {
    *k == DigestKind::Daily
}

/// One team's part of a queued digest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ManifestSection {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// `[update id, revision, marks]`, in the digest's order; marks: 1 late, 2 edited, 4 its
    /// blocker resolved, 8 its author followed by the reader, 16 muted.
    pub entries: Vec<(i64, i64, u8)>,
    /// Teammates who had not written, by name as listed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
    /// The team's aggregates of the check-ins' scale questions shown.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scales: Vec<crate::render::ScaleLine>,
}

use crate::render::mark::{EDITED, FOLDED, FOLLOWED, LATE, RESOLVED};

impl Manifest {
    pub(super) fn of(v: &DigestView<'_>, list_id: String, epoch: i64) -> Manifest {
        Manifest {
            epoch,
            needs_only: v.needs_only,
            own: v.own.clone(),
            name: v.reader_name.to_string(),
            teams: v.teams.to_vec(),
            hour: v.local_hour,
            list_id,
            kind: v.kind,
            carried: v.carried.clone(),
            mentions: v.mentions.clone(),
            comments: v.comments.clone(),
            resolved_on: v
                .entries()
                .filter_map(|e| Some((e.update_id, e.resolved_on?)))
                .collect(),
            sections: v
                .sections
                .iter()
                .map(|s| ManifestSection {
                    team: s.team.clone(),
                    entries: s
                        .entries
                        .iter()
                        .map(|e| (e.update_id, e.revision, e.marks()))
                        .collect(),
                    missing: s.missing.clone(),
                    scales: s.scales.clone(),
                })
                .collect(),
        }
    }
}

/// What the digests of one send pass share: the update revisions they carry (read once) and
/// each entry rendered once ([`EntryParts`]), whatever the number of readers.
#[derive(Debug, Default)]
pub struct SendParts {
    revisions: HashMap<(i64, i64), Arc<Revision>>,
    entries: EntryParts,
}

/// Revisions kept by a [`SendParts`] before it starts over.
const REVISIONS_KEPT: usize = 50_000;

impl SendParts {
    /// Reads the revisions that the digests of `manifests` carry and are not at hand yet.
    pub async fn load(&mut self, ctx: &Ctx, manifests: &[&Manifest]) -> anyhow::Result<()> {
        if self.revisions.len() > REVISIONS_KEPT {
            self.revisions.clear();
        }
        let mut want: Vec<i64> = manifests
            .iter()
            .flat_map(|m| m.sections.iter().flat_map(|s| s.entries.iter()))
            .filter(|(id, rev, _)| !self.revisions.contains_key(&(*id, *rev)))
            .map(|(id, _, _)| *id)
            .collect();
        want.sort_unstable();
        want.dedup();
        for r in ctx.store.revisions(&want).await? {
            self.revisions
                .insert((r.update_id, r.revision), Arc::new(r));
        }
        Ok(())
    }
}

impl Manifest {
    /// The manifest of outbox row `row`: `None` for an email stored as bytes.
    pub fn of_row(row: &OutboxRow) -> anyhow::Result<Option<Manifest>> {
        row.manifest
            .as_deref()
            .map(|m| {
                serde_json::from_str(m).map_err(|e| {
                    anyhow::anyhow!("outbox row {}: its manifest does not read: {e}", row.id)
                })
            })
            .transpose()
    }
}

/// Composes the digest queued as `row` with its `manifest` (whose revisions `parts` holds:
/// [`SendParts::load`]).
/// The same row gives the same bytes every time: the Message-ID, Date, subject, greeting and
/// links are those fixed when it was queued, and each update is shown in the revision it
/// recorded. An update deleted since (its author removed) is left out.
pub fn queued_digest(
    ctx: &Ctx,
    row: &OutboxRow,
    manifest: &Manifest,
    parts: &mut SendParts,
) -> anyhow::Result<Vec<u8>> {
    let (Some(member), Some(date)) = (row.member_id, row.local_date.as_deref()) else {
        anyhow::bail!("outbox row {}: a digest without its reader or date", row.id);
    };
    let date: NaiveDate = date
        .parse()
        .map_err(|e| anyhow::anyhow!("outbox row {}: date {date:?}: {e}", row.id))?;
    let queued_at = DateTime::<Utc>::from_timestamp(row.created_at, 0)
        .ok_or_else(|| anyhow::anyhow!("outbox row {}: no such time {}", row.id, row.created_at))?;
    let to = EmailAddress::parse(&row.recipient)?;
    let resolved_on: HashMap<i64, NaiveDate> = manifest.resolved_on.iter().copied().collect();
    let sections = manifest
        .sections
        .iter()
        .map(|s| DigestSection {
            team: s.team.clone(),
            entries: s
                .entries
                .iter()
                .filter_map(|(id, rev, marks)| {
                    let r = parts.revisions.get(&(*id, *rev))?;
                    Some(DigestEntry {
                        update_id: r.update_id,
                        revision: r.revision,
                        author_id: r.author_id,
                        author: r.author_name.clone(),
                        author_tz: r.author_tz.clone(),
                        local_date: r.local_date,
                        sections: r.sections.clone(),
                        edited: marks & EDITED != 0,
                        late: marks & LATE != 0,
                        resolved: marks & RESOLVED != 0,
                        resolved_on: resolved_on.get(id).copied(),
                        followed: marks & FOLLOWED != 0,
                        folded: marks & FOLDED != 0,
                        checkin: r.checkin.clone(),
                    })
                })
                .collect(),
            missing: s.missing.clone(),
            scales: s.scales.clone(),
        })
        .collect();
    let prefs = ctx.link_url(member, manifest.epoch, queued_at);
    let view = DigestView {
        reader_name: &manifest.name,
        teams: &manifest.teams,
        date,
        local_hour: manifest.hour,
        kind: manifest.kind,
        own: manifest.own.clone(),
        sections,
        carried: manifest.carried.clone(),
        mentions: manifest.mentions.clone(),
        comments: manifest.comments.clone(),
        comment_to: HashMap::new(),
        prefs_url: &prefs,
        needs_only: manifest.needs_only,
    };
    let mut view = view;
    view.comment_to = comment_links(ctx, member, &view);
    let (text, html) = render::digest_parts_with(&view, &mut parts.entries);
    let unsub = ctx.unsubscribe_url(member, queued_at);
    outbound::build(&outbound::Outgoing {
        kind: MailKind::Digest,
        checkin: manifest.own.as_deref(),
        from: &ctx.config.mail.from,
        to_name: &manifest.name,
        to: &to,
        reply_to: None,
        subject: &row.subject,
        message_id: &format!("<{}>", row.message_id),
        in_reply_to: None,
        text,
        html: Some(html),
        unsubscribe_url: Some(&unsub),
        list_id: Some(&manifest.list_id),
        date: row.created_at,
    })
}

/// The reader's "Reply to …" address of each update digest `v` shows or points to — its
/// entries, and the mentions, blockers and comments under "Needs you" (a comment token for the
/// reader and the update).
pub fn comment_links(ctx: &Ctx, reader: MemberId, v: &DigestView<'_>) -> HashMap<i64, String> {
    v.entries()
        .map(|e| e.update_id)
        .chain(v.mentions.iter().map(|m| m.update_id))
        .chain(
            v.carried
                .iter()
                .filter(|c| c.needs_you)
                .map(|c| c.update_id),
        )
        .chain(v.comments.iter().map(|c| c.update_id))
        // 0: a manifest queued before these were kept.
        .filter(|id| *id != 0)
        .map(|id| (id, ctx.comment_address(reader, id).to_string()))
        .collect()
}

/// The bytes of outbox row `row`: its stored body, or for a digest the email composed now.
pub async fn message_of(ctx: &Ctx, row: &OutboxRow) -> anyhow::Result<Vec<u8>> {
    let Some(manifest) = Manifest::of_row(row)? else {
        return Ok(row.body.clone());
    };
    let mut parts = SendParts::default();
    parts.load(ctx, &[&manifest]).await?;
    queued_digest(ctx, row, &manifest, &mut parts)
}
