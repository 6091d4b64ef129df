//! Composing email: one function per kind of email Tidings sends (update request and
//! reminder, digest, receipt, notice), each returning the outbox entry ready to queue.

use chrono::{DateTime, NaiveDate, Utc};

use super::Ctx;
use super::digest::{TeamSnapshot, digest_view_data_in};
use crate::domain::{EmailAddress, MailKind, Member, MemberId};
use crate::mail::{new_message_id, outbound};
use crate::render::{self, DigestView, RequestView};
use crate::store::{NewEmail, QueuedDigest};

/// The reply a receipt or notice answers: its update's local date and the reply's
/// Message-ID. Such a mail's `Reply-To` is the member's token address for that date, so a
/// reply to it ("replace", or the update an empty reply lacked) lands where Tidings reads and
/// counts for the same day; `In-Reply-To`/`References` thread it under the member's reply.
#[derive(Debug, Clone, Copy)]
pub struct Thread<'a> {
    pub date: NaiveDate,
    pub in_reply_to: &'a str,
}

/// Queues a receipt or notice to a member (idempotent by `key`).
#[allow(clippy::too_many_arguments)]
pub async fn queue_member_mail(
    ctx: &Ctx,
    kind: MailKind,
    m: &Member,
    key: &str,
    subject: &str,
    text: &str,
    thread: Option<Thread<'_>>,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let prefs = ctx.prefs_url(m.id, now);
    let body = if kind == MailKind::Receipt {
        text.to_string()
    } else {
        render::notice_text(&m.name, text, &prefs)
    };
    queue_mail(
        ctx,
        kind,
        &m.name,
        &m.email,
        Some(m.id),
        key,
        subject,
        body,
        thread,
        now,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn queue_mail(
    ctx: &Ctx,
    kind: MailKind,
    name: &str,
    to: &EmailAddress,
    member: Option<i64>,
    key: &str,
    subject: &str,
    text: String,
    thread: Option<Thread<'_>>,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
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
        to,
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
    ctx.store
        .enqueue(
            &NewEmail {
                idem_key: key.to_string(),
                kind: kind.as_str(),
                member_id: member,
                local_date: thread.map(|t| t.date.to_string()),
                recipient: to.to_string(),
                message_id: message_id.trim_matches(['<', '>']).to_string(),
                subject: subject.to_string(),
                body: raw,
            },
            now.timestamp(),
        )
        .await?;
    Ok(())
}

/// The update request (or reminder) email of `m` for local date `date`, ready to queue.
pub(super) async fn build_request(
    ctx: &Ctx,
    m: &Member,
    date: chrono::NaiveDate,
    now: DateTime<Utc>,
    reminder: bool,
) -> anyhow::Result<NewEmail> {
    let kind = if reminder {
        MailKind::Reminder
    } else {
        MailKind::Request
    };
    let questions = ctx.questions_for(m).await?;
    let prefs = ctx.prefs_url(m.id, now);
    let view = RequestView {
        member_name: &m.name,
        local_date: date,
        questions: &questions,
        prefs_url: &prefs,
        reminder,
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
    Ok(member_email(kind, m, date, &message_id, subject, raw))
}

/// The outbox entry of an email of `kind` to member `m` for local date `date`; its key
/// (kind, member, date) makes a second queueing a no-op.
fn member_email(
    kind: MailKind,
    m: &Member,
    date: chrono::NaiveDate,
    message_id: &str,
    subject: String,
    raw: Vec<u8>,
) -> NewEmail {
    NewEmail {
        idem_key: outbox_key(kind, m.id, date),
        kind: kind.as_str(),
        member_id: Some(m.id),
        local_date: Some(date.to_string()),
        recipient: m.email.to_string(),
        message_id: message_id.trim_matches(['<', '>']).to_string(),
        subject,
        body: raw,
    }
}

/// The complete digest email of reader `m` for local date `date`, given the reader's team
/// snapshot, with the update revisions it carries; `None` when it would be empty and
/// `schedule.send_empty_digest` is off.
pub(super) async fn build_digest(
    ctx: &Ctx,
    m: &Member,
    date: chrono::NaiveDate,
    now: DateTime<Utc>,
    snapshot: &TeamSnapshot,
) -> anyhow::Result<Option<QueuedDigest>> {
    let data = digest_view_data_in(ctx, m, date, snapshot).await?;
    if data.is_empty() && !ctx.config.schedule.send_empty_digest {
        return Ok(None);
    }
    let prefs = ctx.prefs_url(m.id, now);
    let view = DigestView {
        reader_name: &m.name,
        date,
        local_hour: Some(chrono::Timelike::hour(&now.with_timezone(&m.tz))),
        sections: data.sections,
        prefs_url: &prefs,
    };
    let subject = render::digest_subject(&view);
    let message_id = new_message_id("digest", &ctx.mail_domain());
    let unsub = ctx.unsubscribe_url(m.id, now);
    let list_id = ctx.list_id(m);
    let raw = outbound::build(&outbound::Outgoing {
        kind: MailKind::Digest,
        from: &ctx.config.mail.from,
        to_name: &m.name,
        to: &m.email,
        reply_to: None,
        subject: &subject,
        message_id: &message_id,
        in_reply_to: None,
        text: render::digest_text(&view),
        html: Some(render::digest_html(&view)),
        unsubscribe_url: Some(&unsub),
        list_id: Some(&list_id),
        date: now.timestamp(),
    })?;
    Ok(Some(QueuedDigest {
        email: member_email(MailKind::Digest, m, date, &message_id, subject, raw),
        reader: m.id,
        items: data.keys,
    }))
}

/// The outbox key of the email of `kind` to member `id` for local date `date`.
pub(super) fn outbox_key(kind: MailKind, id: MemberId, date: chrono::NaiveDate) -> String {
    format!("{}:{id}:{date}", kind.as_str())
}
