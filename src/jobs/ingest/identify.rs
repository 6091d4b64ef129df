//! Who a message is from and for which local day: the reply token in the sub-address, else
//! the Tidings email it answers (References), else a member writing to the base address.

use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::schedule::local_date;
use crate::domain::token::{CommentToken, ReplyToken};
use crate::domain::{EmailAddress, MailKind, Member};
use crate::jobs::Ctx;
use crate::mail::parse;

/// How a message was tied to its member: only a reply token is a secret the sender had to
/// know; References and the base address are for anybody to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Via {
    Token,
    References,
    BaseAddress,
}

/// Who a message is from and for which day, before the From check.
pub(super) enum Identity {
    /// The member, the local date and the check-in (0: the stand-up) answered.
    Found(Member, NaiveDate, i64, Via),
    /// A reply to a digest entry's "Reply to …" address: the reader the token was signed for,
    /// and the update it answers (`None` when it was deleted since).
    Comment(Member, Option<i64>),
    /// A reply to a digest (its reader, when they are still a member): never an update.
    DigestReply(Option<Member>),
    BadToken(String),
    GoneMember,
    Stranger,
    Unmatched,
}

/// The token in a sub-address, else a reply to one of our emails, else a fresh email from a
/// known member to the base address.
pub(super) async fn identify(
    ctx: &Ctx,
    p: &parse::Inbound,
    from: &EmailAddress,
    now: DateTime<Utc>,
) -> anyhow::Result<Identity> {
    let base = ctx.config.reply_to();
    let tag = p
        .recipients
        .iter()
        .find_map(|r| r.tag_of(&base).map(str::to_string));
    if let Some(tag) = tag.as_deref().filter(|t| CommentToken::looks_like(t)) {
        return Ok(match CommentToken::verify(tag, &ctx.secret) {
            Ok(t) => match ctx.store.member_by_id(t.reader).await? {
                Some(m) => {
                    let exists = ctx.store.update_exists(t.update).await?;
                    Identity::Comment(m, exists.then_some(t.update))
                }
                None => Identity::GoneMember,
            },
            Err(e) => Identity::BadToken(format!("comment token: {e}")),
        });
    }
    if let Some(tag) = tag {
        return Ok(match ReplyToken::verify(&tag, &ctx.secret) {
            Ok(t) => match ctx.store.member_by_id(t.member).await? {
                Some(m) => Identity::Found(m, t.date, t.checkin, Via::Token),
                None => Identity::GoneMember,
            },
            Err(e) => Identity::BadToken(e.to_string()),
        });
    }
    match by_references(ctx, &p.references).await? {
        Some(Answered::Request(m, d, c)) => return Ok(Identity::Found(m, d, c, Via::References)),
        Some(Answered::Digest(m)) => return Ok(Identity::DigestReply(m)),
        None => {}
    }
    if p.recipients.iter().any(|r| r == &base) {
        return Ok(match ctx.store.member_by_email(from).await? {
            Some(m) => {
                let d = local_date(m.tz, now);
                Identity::Found(m, d, 0, Via::BaseAddress)
            }
            None => Identity::Stranger,
        });
    }
    Ok(Identity::Unmatched)
}

/// The Tidings email a message answers, the most recent one it references first.
enum Answered {
    /// A request, reminder or receipt: its member, local date and check-in.
    Request(Member, NaiveDate, i64),
    /// A digest: its reader.
    Digest(Option<Member>),
}

async fn by_references(ctx: &Ctx, refs: &[String]) -> anyhow::Result<Option<Answered>> {
    for r in refs.iter().rev() {
        if let Some((member, date, kind, checkin)) = ctx.store.outbox_by_message_id(r).await? {
            if kind == MailKind::Digest.as_str() {
                return Ok(Some(Answered::Digest(
                    ctx.store.member_by_id(member).await?,
                )));
            }
            // A reply to a request, a reminder or a receipt counts for that mail's date.
            if kind != MailKind::Request.as_str()
                && kind != MailKind::Reminder.as_str()
                && kind != MailKind::Receipt.as_str()
            {
                continue;
            }
            let Some(date) = date else {
                continue;
            };
            if let (Some(m), Ok(d)) = (
                ctx.store.member_by_id(member).await?,
                date.parse::<NaiveDate>(),
            ) {
                return Ok(Some(Answered::Request(m, d, checkin.unwrap_or(0))));
            }
        }
    }
    Ok(None)
}
