//! Composing email: one function per kind of email Tidings sends — the update request and
//! its reminder, the digest, the receipt of a reply, a notice to a member, a notice to a
//! sender who is not one, and the `doctor --send-test` email. Each returns the outbox entry
//! (or, for the test email, the bytes) ready to queue; nothing here writes to the store.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

use super::Ctx;
use super::digest::DigestData;
use crate::domain::sections::Section;
use crate::domain::{DigestKind, EmailAddress, MailKind, Member, MemberId};
use crate::mail::{new_message_id, outbound};
use crate::render::{
    self, Carried, CommentNote, DigestEntry, DigestSection, DigestView, EntryParts, Mentioned,
    RequestView,
};
use crate::store::{NewEmail, OutboxRow, QueuedDigest, Revision};

/// The reply a receipt or notice answers: its update's local date and the reply's
/// Message-ID. Such a mail's `Reply-To` is the member's token address for that date, so a
/// reply to it ("replace", or the update an empty reply lacked) lands where Tidings reads and
/// counts for the same day; `In-Reply-To`/`References` thread it under the member's reply.
#[derive(Debug, Clone, Copy)]
pub struct Thread<'a> {
    pub date: NaiveDate,
    pub in_reply_to: &'a str,
}

/// The outbox key of the email of `kind` to member `id` for local date `date`.
pub fn outbox_key(kind: MailKind, id: MemberId, date: NaiveDate) -> String {
    format!("{}:{id}:{date}", kind.as_str())
}

/// The update request (or, with `reminder`, the reminder) of `m` for local date `date`. Its
/// `Reply-To` carries the reply token for that date; its key (kind, member, date) makes a
/// second queueing a no-op.
pub async fn request(
    ctx: &Ctx,
    m: &Member,
    date: NaiveDate,
    now: DateTime<Utc>,
    reminder: bool,
) -> anyhow::Result<NewEmail> {
    let kind = if reminder {
        MailKind::Reminder
    } else {
        MailKind::Request
    };
    let questions = ctx.questions_for(m).await?;
    let prefs = ctx.prefs_url(m, now);
    // Pre-fill: the plan of the member's previous update, if it had one.
    let last_plan = ctx
        .store
        .latest_update_before(m.id, date)
        .await?
        .map(|u| (u.local_date, render::plan_lines(&u.sections)))
        .filter(|(_, lines)| !lines.is_empty());
    let view = RequestView {
        member_name: &m.name,
        local_date: date,
        questions: &questions,
        prefs_url: &prefs,
        reminder,
        last_plan,
    };
    let subject = render::request_subject(&view);
    let message_id = new_message_id(kind.as_str(), &ctx.mail_domain());
    let reply_to = ctx.reply_address(m.id, date);
    let unsub = ctx.unsubscribe_url(m.id, now);
    let list_id = ctx.list_id(m);
    let raw = outbound::build(&outbound::Outgoing {
        kind,
        from: &ctx.config.mail.from,
        to_name: &m.name,
        to: &m.email,
        reply_to: Some(&reply_to),
        subject: &subject,
        message_id: &message_id,
        in_reply_to: None,
        text: render::request_text(&view),
        html: Some(render::request_html(&view)),
        unsubscribe_url: Some(&unsub),
        list_id: Some(&list_id),
        date: now.timestamp(),
    })?;
    Ok(NewEmail {
        idem_key: outbox_key(kind, m.id, date),
        local_date: Some(date.to_string()),
        ..entry(kind, Some(m.id), &m.email, &message_id, subject, raw)
    })
}

/// The view of reader `m`'s digest for local date `date`: what both the email and
/// `preview digest` render.
pub fn digest_view<'a>(
    m: &'a Member,
    date: NaiveDate,
    now: DateTime<Utc>,
    data: DigestData,
    prefs_url: &'a str,
) -> DigestView<'a> {
    DigestView {
        reader_name: &m.name,
        date,
        local_hour: Some(chrono::Timelike::hour(&now.with_timezone(&m.tz))),
        kind: data.kind,
        sections: data.sections,
        carried: data.carried,
        mentions: data.mentions,
        comments: data.comments,
        comment_to: HashMap::new(),
        prefs_url,
    }
}

/// The digest of reader `m` for local date `date` holding `data`, queued as what it is made
/// of, not as bytes: its outbox row holds a [`Manifest`] and its ledger (`digest_deliveries`)
/// the update revisions it carries (recorded when it is queued, so each reaches the reader
/// once). [`queued_digest`] composes the email when the row is sent. Its Message-ID, Date and
/// subject are fixed now.
pub fn digest(
    ctx: &Ctx,
    m: &Member,
    date: NaiveDate,
    now: DateTime<Utc>,
    data: DigestData,
) -> anyhow::Result<QueuedDigest> {
    let prefs = ctx.prefs_url(m, now);
    let items = data.keys.clone();
    let mentions = data.mention_ids.clone();
    let comments = data.comment_ids.clone();
    let view = digest_view(m, date, now, data, &prefs);
    let subject = render::digest_subject(&view);
    let manifest = Manifest::of(&view, ctx.list_id(m), m.epoch);
    let message_id = new_message_id("digest", &ctx.mail_domain());
    Ok(QueuedDigest {
        email: NewEmail {
            idem_key: outbox_key(MailKind::Digest, m.id, date),
            local_date: Some(date.to_string()),
            manifest: Some(serde_json::to_string(&manifest)?),
            ..entry(
                MailKind::Digest,
                Some(m.id),
                &m.email,
                &message_id,
                subject,
                Vec::new(),
            )
        },
        reader: m.id,
        items,
        mentions,
        comments,
    })
}

/// What a queued digest is made of (the outbox row's `manifest`, JSON): everything about the
/// reader and the day fixed when it was queued, so composing it again gives the same bytes.
/// The updates are referred to by (id, revision) and read from `update_revisions`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    /// The reader's name as greeted.
    pub name: String,
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
    /// The reader's link epoch when it was queued: its preferences link is signed over it,
    /// so the row composes to the same bytes whenever it is sent.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub epoch: i64,
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
    /// blocker resolved.
    pub entries: Vec<(i64, i64, u8)>,
    /// Teammates who had not written, by name as listed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
}

const LATE: u8 = 1;
const EDITED: u8 = 2;
const RESOLVED: u8 = 4;

impl Manifest {
    fn of(v: &DigestView<'_>, list_id: String, epoch: i64) -> Manifest {
        Manifest {
            epoch,
            name: v.reader_name.to_string(),
            hour: v.local_hour,
            list_id,
            kind: v.kind,
            carried: v.carried.clone(),
            mentions: v.mentions.clone(),
            comments: v.comments.clone(),
            sections: v
                .sections
                .iter()
                .map(|s| ManifestSection {
                    team: s.team.clone(),
                    entries: s
                        .entries
                        .iter()
                        .map(|e| {
                            let marks = if e.late { LATE } else { 0 }
                                | if e.edited { EDITED } else { 0 }
                                | if e.resolved { RESOLVED } else { 0 };
                            (e.update_id, e.revision, marks)
                        })
                        .collect(),
                    missing: s.missing.clone(),
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
                    })
                })
                .collect(),
            missing: s.missing.clone(),
        })
        .collect();
    let prefs = ctx.link_url(member, manifest.epoch, queued_at);
    let view = DigestView {
        reader_name: &manifest.name,
        date,
        local_hour: manifest.hour,
        kind: manifest.kind,
        sections,
        carried: manifest.carried.clone(),
        mentions: manifest.mentions.clone(),
        comments: manifest.comments.clone(),
        comment_to: HashMap::new(),
        prefs_url: &prefs,
    };
    let mut view = view;
    view.comment_to = comment_links(ctx, member, &view.sections);
    let (text, html) = render::digest_parts_with(&view, &mut parts.entries);
    let unsub = ctx.unsubscribe_url(member, queued_at);
    outbound::build(&outbound::Outgoing {
        kind: MailKind::Digest,
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

/// The reader's "Reply to …" address of each entry of `sections` (a comment token for the
/// reader and the update).
pub fn comment_links(
    ctx: &Ctx,
    reader: MemberId,
    sections: &[DigestSection],
) -> HashMap<i64, String> {
    sections
        .iter()
        .flat_map(|s| s.entries.iter())
        .map(|e| {
            (
                e.update_id,
                ctx.comment_address(reader, e.update_id).to_string(),
            )
        })
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

/// What a receipt confirms: the update as stored for its day.
#[derive(Debug, Clone, Copy)]
pub struct Saved<'a> {
    pub date: NaiveDate,
    /// The whole update as stored now (earlier replies of the day included), as its sections.
    pub sections: &'a [Section],
    /// The reply added to (or replaced) an update of that day.
    pub edited: bool,
    pub attachments: &'a [String],
    /// The Message-ID of the reply, which the receipt threads under.
    pub in_reply_to: &'a str,
    /// Lines about the people the reply mentioned (when each will read it), or "".
    pub note: &'a str,
}

/// The receipt of a stored reply (idempotent by `key`, one per inbound message).
pub fn receipt(
    ctx: &Ctx,
    m: &Member,
    key: &str,
    saved: Saved<'_>,
    now: DateTime<Utc>,
) -> anyhow::Result<NewEmail> {
    let text = render::receipt_text(
        &m.name,
        saved.date,
        saved.sections,
        saved.edited,
        saved.attachments,
        saved.note,
        &ctx.prefs_url(m, now),
    );
    let subject = format!("Saved: your update for {}", saved.date.format("%a %-d %b"));
    let thread = Thread {
        date: saved.date,
        in_reply_to: saved.in_reply_to,
    };
    plain(
        ctx,
        MailKind::Receipt,
        Recipient::Member(m),
        key,
        &subject,
        text,
        Some(thread),
        now,
    )
}

/// A notice to member `m` (a command's result, an empty reply, a fresh preferences link),
/// with the greeting and preferences link around `text`; idempotent by `key`.
pub fn notice(
    ctx: &Ctx,
    m: &Member,
    key: &str,
    subject: &str,
    text: &str,
    thread: Option<Thread<'_>>,
    now: DateTime<Utc>,
) -> anyhow::Result<NewEmail> {
    let body = render::notice_text(&m.name, text, &ctx.prefs_url(m, now));
    plain(
        ctx,
        MailKind::Notice,
        Recipient::Member(m),
        key,
        subject,
        body,
        thread,
        now,
    )
}

/// The email sent at once for a comment or a mention to a member who chose `immediate`:
/// `intro` ("Ben commented:"), the lines quoted, and the member's own address to answer on
/// update `update` (a reply to it is their comment); idempotent by `key`.
#[allow(clippy::too_many_arguments)]
pub fn at_once<'a>(
    ctx: &Ctx,
    m: &Member,
    key: &str,
    subject: &str,
    intro: &str,
    lines: impl Iterator<Item = &'a str>,
    update: i64,
    now: DateTime<Utc>,
) -> anyhow::Result<NewEmail> {
    let quoted: Vec<String> = lines.map(|l| format!("    {l}")).collect();
    let body = format!(
        "{intro}\n\n{}\n\nTo answer, write to {} (your reply is a comment on that update).\n",
        quoted.join("\n"),
        ctx.comment_address(m.id, update)
    );
    notice(ctx, m, key, subject, &body, None, now)
}

/// Tells the sender of a message that was not accepted why (`why`), by address: the caller
/// decides whether that sender may be told at all.
pub fn refusal(
    ctx: &Ctx,
    to: &EmailAddress,
    key: &str,
    why: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<NewEmail> {
    let text = format!("Hello,\n\n{why}\n\nThis is an automatic message from Tidings.\n");
    plain(
        ctx,
        MailKind::Notice,
        Recipient::Address(to),
        key,
        "Your message to Tidings was not accepted",
        text,
        None,
        now,
    )
}

/// The message `doctor --send-test` hands to the transport directly.
pub fn test_email(ctx: &Ctx, to: &EmailAddress, now: DateTime<Utc>) -> anyhow::Result<Vec<u8>> {
    let message_id = new_message_id(MailKind::Notice.as_str(), &ctx.mail_domain());
    outbound::build(&outbound::Outgoing {
        kind: MailKind::Notice,
        from: &ctx.config.mail.from,
        to_name: "",
        to,
        reply_to: None,
        subject: "Tidings test email",
        message_id: &message_id,
        in_reply_to: None,
        text: "This is a test email from `tidings doctor --send-test`.\n".into(),
        html: None,
        unsubscribe_url: None,
        list_id: None,
        date: now.timestamp(),
    })
}

/// Who a plain-text email goes to.
#[derive(Clone, Copy)]
enum Recipient<'a> {
    Member(&'a Member),
    Address(&'a EmailAddress),
}

/// A plain-text email (receipt or notice). A thread gives a member's mail the reply address
/// of that day and threads it under the reply it answers.
#[allow(clippy::too_many_arguments)]
fn plain(
    ctx: &Ctx,
    kind: MailKind,
    to: Recipient<'_>,
    key: &str,
    subject: &str,
    text: String,
    thread: Option<Thread<'_>>,
    now: DateTime<Utc>,
) -> anyhow::Result<NewEmail> {
    let (name, address, member) = match to {
        Recipient::Member(m) => (m.name.as_str(), &m.email, Some(m.id)),
        Recipient::Address(a) => ("", a, None),
    };
    let message_id = new_message_id(kind.as_str(), &ctx.mail_domain());
    let reply_to = match (thread, member) {
        (Some(t), Some(id)) => Some(ctx.reply_address(id, t.date)),
        _ => None,
    };
    let in_reply_to = thread
        .filter(|t| !t.in_reply_to.is_empty())
        .map(|t| format!("<{}>", t.in_reply_to.trim_matches(['<', '>'])));
    let raw = outbound::build(&outbound::Outgoing {
        kind,
        from: &ctx.config.mail.from,
        to_name: name,
        to: address,
        reply_to: reply_to.as_ref(),
        subject,
        message_id: &message_id,
        in_reply_to: in_reply_to.as_deref(),
        text,
        html: None,
        unsubscribe_url: None,
        list_id: None,
        date: now.timestamp(),
    })?;
    Ok(NewEmail {
        idem_key: key.to_string(),
        local_date: thread.map(|t| t.date.to_string()),
        ..entry(kind, member, address, &message_id, subject.to_string(), raw)
    })
}

/// The outbox row of a built message; the caller sets its key and local date.
fn entry(
    kind: MailKind,
    member: Option<MemberId>,
    to: &EmailAddress,
    message_id: &str,
    subject: String,
    raw: Vec<u8>,
) -> NewEmail {
    NewEmail {
        idem_key: String::new(),
        kind: kind.as_str(),
        member_id: member,
        local_date: None,
        recipient: to.to_string(),
        message_id: message_id.trim_matches(['<', '>']).to_string(),
        subject,
        body: raw,
        manifest: None,
    }
}
