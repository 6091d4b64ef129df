//! Replies to a digest entry's "Reply to …" address: a comment on that update, or a reaction.

use chrono::{DateTime, Utc};

use super::decide::Decision;
use super::notices::tell;
use crate::domain::Member;
use crate::jobs::Ctx;
use crate::jobs::compose;

/// A reply to a digest entry's "Reply to …" address: from the reader the token was signed for
/// (or an alias), it is stored as a comment on that update — or, when it is only "+1", "👍",
/// "thanks", …, counted as that reader's reaction. From anyone else, or failing DMARC, it is
/// quarantined (a forwarded or leaked address is not a way in).
pub(super) async fn comment(
    ctx: &Ctx,
    key: &str,
    p: &crate::mail::parse::Inbound,
    from: &crate::domain::EmailAddress,
    reader: Member,
    update: Option<i64>,
    now: DateTime<Utc>,
) -> anyhow::Result<Decision> {
    let sender = Some(from.to_string());
    if !reader.owns_address(from) {
        return Ok(Decision::quarantined(
            format!(
                "a comment token signed for {} came from {from}",
                reader.email
            ),
            sender,
            Some(reader.id),
        ));
    }
    let verdict = p.verdict(&ctx.config.mail.inbound.trusted_authserv_id);
    if verdict.failed() {
        return Ok(Decision::quarantined(
            verdict.describe(),
            sender,
            Some(reader.id),
        ));
    }
    let Some(update) = update else {
        return Ok(Decision::quarantined(
            "a comment on an update that no longer exists".into(),
            sender,
            Some(reader.id),
        ));
    };
    let text = p.text.trim();
    if text.is_empty() {
        return Ok(Decision::quarantined(
            "an empty comment (no new text above the quote)".into(),
            sender,
            Some(reader.id),
        ));
    }
    if let Some(r) = crate::domain::reaction::reaction(text) {
        let new = ctx
            .store
            .add_reaction(update, reader.id, r, now.timestamp())
            .await?;
        return Ok(Decision::command(
            format!(
                "a reaction {r} on update {update}{}",
                if new { "" } else { " (counted before)" }
            ),
            sender,
            reader.id,
        ));
    }
    // A message without a Message-ID is keyed by its inbound key, so it is still stored once.
    let message_id = if p.message_id.is_empty() {
        format!("tidings-inbound-{key}")
    } else {
        p.message_id.clone()
    };
    let id = ctx
        .store
        .add_comment(update, reader.id, text, &message_id, now.timestamp())
        .await?;
    if let Some(id) = id {
        comment_at_once(ctx, id, update, &reader, text, now).await?;
    }
    Ok(Decision::command(
        match id {
            Some(id) => format!("comment {id} on update {update}"),
            None => format!("a comment on update {update}, stored before"),
        },
        sender,
        reader.id,
    ))
}

/// Sends comment `id` at once to each member owed it who chose `comments = immediate` (an
/// email with the comment and their own address to answer it), and marks it delivered to
/// them so their digest does not carry it again.
async fn comment_at_once(
    ctx: &Ctx,
    id: i64,
    update: i64,
    commenter: &Member,
    text: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    for m in ctx.store.comment_owed_to(id).await? {
        let Some(m) = ctx.store.member_by_id(m).await? else {
            continue;
        };
        if m.comments != crate::domain::Delivery::Immediate || m.paused || m.unsubscribed {
            continue;
        }
        let notice = compose::at_once(
            ctx,
            &m,
            &format!("comment:{id}:{}", m.id),
            &format!("{} commented on an update", commenter.name),
            &format!("{} commented:", commenter.name),
            text.lines(),
            update,
            now,
        )?;
        tell(ctx, &notice, now).await?;
        ctx.store
            .comment_delivered(id, m.id, now.timestamp())
            .await?;
    }
    Ok(())
}
