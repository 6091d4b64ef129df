//! Composing email: one function per kind of email Tidings sends — the update request and
//! its reminder, the digest, the receipt of a reply, a notice to a member, a notice to a
//! sender who is not one, and the `doctor --send-test` email. Each returns the outbox entry
//! (or, for the test email, the bytes) ready to queue; nothing here writes to the store.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};

mod queued;
pub use queued::{Manifest, ManifestSection, SendParts, comment_links, message_of, queued_digest};

use super::Ctx;
use super::digest::DigestData;
use crate::domain::checkin::{Checkin, CheckinId};
use crate::domain::sections::Section;
use crate::domain::{EmailAddress, MailKind, Member, MemberId};
use crate::mail::{new_message_id, outbound};
use crate::render::{self, DigestView, RequestView};
use crate::store::{NewEmail, QueuedDigest, STANDUP_NAME};

/// Member `m` as a receipt or notice greets them, with their link `prefs_url`.
fn reader<'a>(m: &'a Member, prefs_url: &'a str) -> render::Reader<'a> {
    render::Reader {
        name: &m.name,
        teams: &m.teams,
        prefs_url,
    }
}

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
    checkin_request(ctx, m, date, now, reminder, None).await
}

/// The outbox key of check-in `checkin`'s request (or reminder) of member `id` for `date`; the
/// stand-up's is [`outbox_key`].
pub fn checkin_key(kind: MailKind, checkin: CheckinId, id: MemberId, date: NaiveDate) -> String {
    format!("{}:c{checkin}:{id}:{date}", kind.as_str())
}

/// [`request`] of a check-in: `None` is the stand-up (the team's questions, the previous
/// plan quoted, every team of the member named); a check-in's request asks its questions,
/// names it and its team, and its reply token and key carry it.
pub async fn checkin_request(
    ctx: &Ctx,
    m: &Member,
    date: NaiveDate,
    now: DateTime<Utc>,
    reminder: bool,
    checkin: Option<(&Checkin, &str)>,
) -> anyhow::Result<NewEmail> {
    let kind = if reminder {
        MailKind::Reminder
    } else {
        MailKind::Request
    };
    let (questions, last_plan) = match checkin {
        None => {
            // Pre-fill: the plan of the member's previous update, if it had one.
            let last_plan = ctx
                .store
                .latest_update_before(m.id, date)
                .await?
                .map(|u| (u.local_date, render::plan_lines(&u.sections)))
                .filter(|(_, lines)| !lines.is_empty());
            (ctx.questions_for(m).await?, last_plan)
        }
        Some((c, _)) => (c.questions.iter().map(|q| q.text.clone()).collect(), None),
    };
    let prefs = ctx.prefs_url(m, now);
    // The draft from the member's activity feeds (#35): the stand-up's request only.
    let draft = match checkin {
        None => super::activity::draft_for_request(ctx, m, date).await?,
        Some(_) => None,
    };
    let team_of_checkin: Vec<String> = checkin.map(|(_, t)| t.to_string()).into_iter().collect();
    let view = RequestView {
        member_name: &m.name,
        teams: if checkin.is_some() {
            &team_of_checkin
        } else {
            &m.teams
        },
        what: checkin.map_or("stand-up", |(c, _)| c.name.as_str()),
        local_date: date,
        questions: &questions,
        prefs_url: &prefs,
        reminder,
        last_plan,
        draft: draft.as_ref().map(|(since, d)| render::draft::DraftView {
            since: super::activity::since_label(m, *since),
            draft: d,
            url: format!("{prefs}/draft"),
        }),
    };
    let subject = render::request_subject(&view);
    let message_id = new_message_id(kind.as_str(), &ctx.mail_domain());
    let checkin_id = checkin.map_or(0, |(c, _)| c.id);
    let reply_to = ctx.answer_address(m.id, date, checkin_id);
    let unsub = ctx.unsubscribe_url(m.id, now);
    let list_id = ctx.list_id(m);
    let raw = outbound::build(&outbound::Outgoing {
        kind,
        checkin: Some(checkin.map_or(STANDUP_NAME, |(c, _)| c.name.as_str())),
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
        idem_key: match checkin {
            None => outbox_key(kind, m.id, date),
            Some((c, _)) => checkin_key(kind, c.id, m.id, date),
        },
        local_date: Some(date.to_string()),
        checkin: checkin.map(|(c, _)| c.id),
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
        teams: &m.teams,
        date,
        local_hour: Some(chrono::Timelike::hour(&now.with_timezone(&m.tz))),
        kind: data.kind,
        own: data.own.map(|o| o.name),
        sections: data.sections,
        carried: data.carried,
        mentions: data.mentions,
        comments: data.comments,
        comment_to: HashMap::new(),
        prefs_url,
        needs_only: m.shape.needs_only,
    }
}

/// The digest of reader `m` for local date `date` holding `data`, queued as what it is made
/// of, not as bytes: its outbox row holds a [`Manifest`] and its ledger (`digest_deliveries`)
/// the update revisions it carries (recorded when it is queued, so each reaches the reader
/// once). [`queued_digest`] composes the email when the row is sent. Its Message-ID, Date and
/// subject are fixed now. A check-in's digest of its own names only its team, and its key
/// and row carry the check-in.
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
    let own = data.own.clone();
    let own_team: Option<Vec<String>> = own.as_ref().map(|o| vec![o.team.clone()]);
    let mut view = digest_view(m, date, now, data, &prefs);
    if let Some(t) = &own_team {
        view.teams = t;
    }
    let subject = render::digest_subject(&view);
    let manifest = Manifest::of(&view, ctx.list_id(m), m.epoch);
    let message_id = new_message_id("digest", &ctx.mail_domain());
    let idem_key = match &own {
        Some(o) => checkin_key(MailKind::Digest, o.checkin, m.id, date),
        None => outbox_key(MailKind::Digest, m.id, date),
    };
    Ok(QueuedDigest {
        email: NewEmail {
            idem_key,
            local_date: Some(date.to_string()),
            manifest: Some(serde_json::to_string(&manifest)?),
            checkin: own.map(|o| o.checkin),
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

/// What a receipt confirms: the update as stored for its day.
#[derive(Debug, Clone, Copy)]
pub struct Saved<'a> {
    /// `update` (the stand-up) or `answer to Friday wins`.
    pub what: &'a str,
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
    let prefs = ctx.prefs_url(m, now);
    let text = render::receipt_text(
        reader(m, &prefs),
        saved.what,
        saved.date,
        saved.sections,
        saved.edited,
        saved.attachments,
        saved.note,
    );
    let subject = render::team::subject(
        &m.teams,
        &format!(
            "Saved: your {} for {}",
            saved.what,
            saved.date.format("%a %-d %b")
        ),
    );
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
/// with the greeting and preferences link around `text` and their teams named in the subject
/// (`Core · {subject}`) and footer; idempotent by `key`.
pub fn notice(
    ctx: &Ctx,
    m: &Member,
    key: &str,
    subject: &str,
    text: &str,
    thread: Option<Thread<'_>>,
    now: DateTime<Utc>,
) -> anyhow::Result<NewEmail> {
    let prefs = ctx.prefs_url(m, now);
    let body = render::notice_text(reader(m, &prefs), text);
    plain(
        ctx,
        MailKind::Notice,
        Recipient::Member(m),
        key,
        &render::team::subject(&m.teams, subject),
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
        checkin: None,
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
        checkin: None,
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
        checkin: None,
    }
}
