//! The decision on one parsed message: quarantine it (with its reason, telling a verified
//! sender why), apply a command, or store the update and queue the receipt.

use chrono::{DateTime, NaiveDate, Utc};

use super::classify::automatic;
use super::commands::command_change;
use super::comment::comment;
use super::identify::{Identity, Via, identify};
use super::notices::{not_one_sender, notify_sender, tell, tell_member, under_notice_limit};
use super::shape::{self, Shaped};
use super::*;
use crate::config::AttachmentPolicy;
use crate::domain::command::{Command, parse_command, shapes_digest};
use crate::domain::schedule::local_date;
use crate::domain::{Member, MemberId};
use crate::jobs::Ctx;
use crate::jobs::compose::{self, Saved, Thread};
use crate::jobs::members::{self, Tell};
use crate::mail::parse;
use crate::store::{InboundStatus, MAX_UPDATE_BYTES, MAX_UPDATE_REVISIONS, StoreError, UpdateKey};

/// What became of one message: its outcome and what the inbound row records with it.
#[derive(Debug)]
pub(super) struct Decision {
    pub status: InboundStatus,
    pub outcome: Outcome,
    /// The From address as written, when there is one.
    pub sender: Option<String>,
    /// The member the message was tied to, if any (also for a quarantined one).
    pub member: Option<MemberId>,
    /// The update it was stored in.
    pub update: Option<i64>,
}

impl Decision {
    pub(super) fn quarantined(
        reason: String,
        sender: Option<String>,
        member: Option<MemberId>,
    ) -> Decision {
        Decision {
            status: InboundStatus::Quarantined,
            outcome: Outcome::Quarantined(reason),
            sender,
            member,
            update: None,
        }
    }

    pub(super) fn ignored(
        reason: String,
        sender: Option<String>,
        member: Option<MemberId>,
    ) -> Decision {
        Decision {
            status: InboundStatus::Ignored,
            outcome: Outcome::Ignored(reason),
            sender,
            member,
            update: None,
        }
    }

    pub(super) fn command(result: String, sender: Option<String>, member: MemberId) -> Decision {
        Decision {
            status: InboundStatus::Command,
            outcome: Outcome::Command(result),
            sender,
            member: Some(member),
            update: None,
        }
    }

    fn accepted(update_id: i64, edited: bool, member: MemberId) -> Decision {
        Decision {
            status: InboundStatus::Accepted,
            outcome: Outcome::Accepted { update_id, edited },
            sender: None,
            member: Some(member),
            update: Some(update_id),
        }
    }

    /// The reason the inbound row records: why it was ignored or quarantined, or what a
    /// command did.
    pub(super) fn reason(&self) -> Option<&str> {
        match &self.outcome {
            Outcome::Ignored(r) | Outcome::Quarantined(r) | Outcome::Command(r) => Some(r),
            _ => None,
        }
    }
}

pub(super) fn with_attachments(ctx: &Ctx, mut text: String, attachments: &[String]) -> String {
    if !attachments.is_empty() && ctx.config.mail.inbound.attachments == AttachmentPolicy::List {
        text.push_str(&format!("\n\n(attachments: {})", attachments.join(", ")));
    }
    text
}

/// Decides on message `inbound` (its stored row). `confirmed`: the member confirmed by a
/// signed link that this message without a token is theirs ("was this you?").
pub(super) async fn decide(
    ctx: &Ctx,
    inbound: i64,
    key: &str,
    raw: &[u8],
    confirmed: bool,
    now: DateTime<Utc>,
) -> anyhow::Result<Decision> {
    let p = match parse::parse(raw) {
        Ok(p) => p,
        Err(e) => {
            return Ok(Decision::quarantined(
                format!("malformed message: {e}"),
                None,
                None,
            ));
        }
    };
    let sender = p.from.as_ref().map(|f| f.to_string());
    if let Some(why) = &p.automatic {
        return automatic(ctx, &p, why, now).await;
    }
    if p.garbled {
        return Ok(Decision::quarantined(
            "malformed message: the text is not readable (binary data or a broken encoding)".into(),
            sender,
            None,
        ));
    }
    let Some(from) = p.from.clone() else {
        return Ok(Decision::quarantined(
            "the message has no usable From address".into(),
            None,
            None,
        ));
    };
    let verdict = p.verdict(&ctx.config.mail.inbound.trusted_authserv_id);
    if let Some(why) = not_one_sender(&p, &from) {
        return Ok(Decision::quarantined(why, sender, None));
    }
    let (member, date, checkin, via) = match identify(ctx, &p, &from, now).await? {
        Identity::Found(m, d, c, via) => (m, d, c, via),
        Identity::BadToken(e) => {
            notify_sender(ctx, key, &verdict, &from, false, "Your reply could not be matched to an update request: its reply address was changed on the way (it must stay exactly as in the request, updates+…@…). Please use Reply on the latest request email and leave the To address as it is.", now).await?;
            return Ok(Decision::quarantined(
                format!("invalid reply token: {e}"),
                sender,
                None,
            ));
        }
        Identity::Comment(reader, update) => {
            return comment(ctx, key, &p, &from, reader, update, now).await;
        }
        Identity::DigestReply(reader) => {
            // Replies to a digest go nowhere yet (comments by email are to come): never the
            // sender's update. Tell them where replies go; a verified member only.
            if let Some(m) = reader.filter(|m| m.owns_address(&from)) {
                let text = "Your reply to the digest was not sent to anyone, and was not added to your own update: a reply to the whole digest has no one update to answer.\n\nTo comment on a teammate's update, use the \"Reply to …\" link under it in the digest (or \"Comment by email\" in the team log): your reply reaches them in their next digest. \"+1\" or \"thanks\" alone there counts as a reaction. To add to your own update, reply to today's update request.\n";
                let notice = compose::notice(
                    ctx,
                    &m,
                    &format!("notice:digest-reply:{key}"),
                    "Replies to a digest are not forwarded",
                    text,
                    None,
                    now,
                )?;
                if verdict.passed() && under_notice_limit(ctx, &m.email, now).await? {
                    tell(ctx, &notice, now).await?;
                }
                return Ok(Decision::ignored(
                    "a reply to a digest (not an update; the sender was told)".into(),
                    sender,
                    Some(m.id),
                ));
            }
            return Ok(Decision::ignored(
                "a reply to a digest (not an update)".into(),
                sender,
                None,
            ));
        }
        Identity::GoneMember => {
            return Ok(Decision::quarantined(
                "the token names a member who no longer exists".into(),
                sender,
                None,
            ));
        }
        Identity::Stranger => {
            return Ok(Decision::quarantined(
                format!("{from} is not a member and the message carries no reply token"),
                sender,
                None,
            ));
        }
        Identity::Unmatched => {
            notify_sender(ctx, key, &verdict, &from, false, "Your message was not accepted: Tidings only reads replies to its own emails, and this is not one. To send your update, use Reply on today's update request (it comes at your request time); commands such as pause or timezone Europe/Berlin also go in a reply to a request. To reach the people on your team, write to them directly.", now).await?;
            return Ok(Decision::quarantined(
                "no reply token and not a reply to a Tidings email".into(),
                sender,
                None,
            ));
        }
    };
    if !member.owns_address(&from) {
        let why = format!(
            "Your message was not accepted: it came from {from}, and the request it answers was sent to another address. Reply from the address the request was sent to. If {from} is another address of yours, ask your Tidings admin to add it as an alias of your membership (tidings member set YOUR-ADDRESS --alias {from}); replies from it then count as yours."
        );
        notify_sender(ctx, key, &verdict, &from, via == Via::Token, &why, now).await?;
        return Ok(Decision::quarantined(
            format!(
                "sender {from} is not {} (the token's member) or one of their aliases",
                member.email
            ),
            sender,
            Some(member.id),
        ));
    }
    // No notice here: the From of a message that fails DMARC is probably forged, and telling
    // the forged address would be backscatter.
    if verdict.failed() {
        return Ok(Decision::quarantined(
            verdict.describe(),
            sender,
            Some(member.id),
        ));
    }
    // Without a token, the From is only the sender's word: the receiving server must vouch
    // for it, or the member confirm it by the link we send them (never the sender).
    if via != Via::Token && !verdict.passed() && !confirmed {
        super::confirm::ask(ctx, inbound, &member, &p, now).await?;
        return Ok(Decision::quarantined(
            format!(
                "no reply token (matched by {}), and {}; the member was asked whether it was them",
                match via {
                    Via::References => "References",
                    _ => "the From address",
                },
                verdict.describe()
            ),
            sender,
            Some(member.id),
        ));
    }
    as_member(ctx, key, &p, member, (date, checkin), sender, now).await
}

/// The rest of the decision on a message that is `member`'s, for `date` and check-in
/// `checkin` (0: the stand-up): `for DATE`, `resolved` and other commands, then the update
/// and its receipt.
async fn as_member(
    ctx: &Ctx,
    key: &str,
    p: &parse::Inbound,
    member: Member,
    (date, checkin): (NaiveDate, i64),
    sender: Option<String>,
    now: DateTime<Utc>,
) -> anyhow::Result<Decision> {
    let mut text = p.text.trim().to_string();
    let mut replace = false;
    // `for 2026-12-01` on the first line files the rest for that day (the filing rule in the
    // manual, docs/src/member/replies.md); "replace" or another command may follow on the next
    // line.
    let mut date = date;
    if let Some(Ok(Command::For(d))) = parse_command(&text) {
        let today = local_date(member.tz, now);
        if d > today {
            let msg = format!(
                "Your reply asked to be filed for {d}, which has not begun where you are (it is {today} in {}). Nothing was saved; send it again on that day, or for a day that has begun.",
                member.tz.name()
            );
            let notice = compose::notice(
                ctx,
                &member,
                &format!("receipt:{key}"),
                "Your update was not saved",
                &msg,
                None,
                now,
            )?;
            tell(ctx, &notice, now).await?;
            return Ok(Decision::quarantined(
                format!("\"for {d}\" is in the future (the member's today is {today})"),
                sender,
                Some(member.id),
            ));
        }
        date = d;
        text = rest_after_first_line(&text);
    }
    if let Some(Ok(Command::Resolved)) = parse_command(&text) {
        let msg = match ctx
            .store
            .resolve_blocker_at(member.id, now.timestamp())
            .await?
        {
            Some(b) => format!(
                "Resolved: your blocker since {} (\"{}\"). It leaves your team's digests now.",
                b.since.format("%a %-d %b"),
                b.lines.join("; ")
            ),
            None => "You had no open blocker, so nothing changed.".to_string(),
        };
        let notice = compose::notice(
            ctx,
            &member,
            &format!("resolved:{key}"),
            "Done: your blocker is resolved",
            &msg,
            None,
            now,
        )?;
        tell(ctx, &notice, now).await?;
        text = rest_after_first_line(&text);
        // "resolved" alone: nothing more to store.
        if text.trim().is_empty() {
            return Ok(Decision::command(msg, sender, member.id));
        }
    }
    if let Some(cmd) = parse_command(&text) {
        match cmd {
            // A second "resolved" line is text.
            Ok(Command::Resolved) => {}
            // follow, mute, …: a name that is no teammate's leaves the reply an update.
            Ok(c) if shapes_digest(&c) => {
                if let Shaped::Told(msg) = shape::apply(ctx, &member, c, now).await? {
                    tell_member(ctx, &member, key, "Done: your digest changed", &msg, now).await?;
                    return Ok(Decision::command(msg, sender, member.id));
                }
            }
            Ok(c @ (Command::Calendar(_) | Command::CalendarOff)) => {
                let (subject, msg) = super::calendar::apply(ctx, &member, c, now).await?;
                tell_member(ctx, &member, key, subject, &msg, now).await?;
                return Ok(Decision::command(msg, sender, member.id));
            }
            Ok(Command::Rooms(on)) => {
                ctx.store
                    .set_in_rooms(member.id, on, now.timestamp())
                    .await?;
                let msg = if on {
                    "Your updates are part of your teams' chat-room summaries again (\"rooms off\" to keep them out)."
                } else {
                    "Your updates, blockers and name are kept out of your teams' chat-room summaries; they still reach the email digests and the team log (\"rooms on\" to let them in)."
                };
                tell_member(
                    ctx,
                    &member,
                    key,
                    "Done: your preferences changed",
                    msg,
                    now,
                )
                .await?;
                return Ok(Decision::command(msg.to_string(), sender, member.id));
            }
            Ok(c @ (Command::Activity(_) | Command::ActivityOff | Command::ActivityMute(..))) => {
                let (subject, msg) = super::activity::apply(ctx, &member, c, now).await?;
                tell_member(ctx, &member, key, subject, &msg, now).await?;
                return Ok(Decision::command(msg, sender, member.id));
            }
            Ok(c) => match command_change(&member, c, now) {
                // "replace": the rest of the reply replaces the day's update.
                None => {
                    replace = true;
                    text = rest_after_first_line(&text);
                }
                Some((ch, msg)) => {
                    let tell = Tell {
                        key: &format!("receipt:{key}"),
                        subject: "Done: your preferences changed",
                        text: &msg,
                    };
                    members::change(ctx, &member.email, &ch, Some(tell), now).await?;
                    return Ok(Decision::command(msg, sender, member.id));
                }
            },
            Err(e) => {
                let msg = format!("That looked like a command, but: {e}");
                tell_member(
                    ctx,
                    &member,
                    key,
                    "Your command was not understood",
                    &msg,
                    now,
                )
                .await?;
                return Ok(Decision::quarantined(msg, sender, Some(member.id)));
            }
        }
    }
    // `keep` / `keep 1 3` on the first line: the day's draft as the Done section (#35); a
    // check-in's request carries no draft, so there it is text.
    let mut kept_note = String::new();
    if checkin == 0 {
        match super::activity::keep(ctx, &member, date, &text).await? {
            super::activity::Kept::No => {}
            super::activity::Kept::Yes { text: t, note } => {
                text = t;
                kept_note = note;
            }
            super::activity::Kept::Refused(msg) => {
                tell_member(ctx, &member, key, "Your draft was not kept", &msg, now).await?;
                return Ok(Decision::quarantined(msg, sender, Some(member.id)));
            }
        }
    }
    // Attachments alone are not an update: without text there is nothing to show in a digest.
    if text.trim().is_empty() {
        let thread = Thread {
            date,
            in_reply_to: &p.message_id,
        };
        let notice = compose::notice(
            ctx,
            &member,
            &format!("receipt:{key}"),
            "Your reply was empty",
            "We found no new text above the quoted request, so nothing was saved. Type your update above the quoted text and send it again.",
            Some(thread),
            now,
        )?;
        tell(ctx, &notice, now).await?;
        return Ok(Decision::quarantined(
            "no new text in the reply".into(),
            sender,
            Some(member.id),
        ));
    }
    let text = with_attachments(ctx, text, &p.attachments);
    let stored = store_update(
        ctx,
        key,
        &member,
        (date, checkin),
        &text,
        &p.message_id,
        replace,
        (&p.attachments, &kept_note),
        now,
    )
    .await?;
    Ok(Decision { sender, ..stored })
}

/// The text after its first non-empty line (a command's), trimmed.
fn rest_after_first_line(text: &str) -> String {
    text.trim_start()
        .split_once('\n')
        .map(|(_, r)| r.trim().to_string())
        .unwrap_or_default()
}

/// Stores (or appends to) a member's answer to check-in `checkin` (0: the stand-up) for
/// `date`, and queues the receipt.
#[allow(clippy::too_many_arguments)]
pub(super) async fn store_update(
    ctx: &Ctx,
    key: &str,
    member: &Member,
    (date, checkin): (NaiveDate, i64),
    text: &str,
    message_id: &str,
    replace: bool,
    (attachments, kept_note): (&[String], &str),
    now: DateTime<Utc>,
) -> anyhow::Result<Decision> {
    // A check-in's questions say their kinds; its scale answers are counted, not shown:
    // taken out of the text here.
    let asked = match checkin {
        0 => None,
        c => ctx.store.checkin(c).await?,
    };
    let (labels, text, scores) = match &asked {
        Some(c) => {
            let (text, scores) = crate::domain::checkin::take_scores(text, &c.questions);
            (c.labels(), text, scores)
        }
        None => {
            let questions = ctx.questions_for(member).await?;
            (
                crate::domain::sections::labels_of(&questions),
                text.to_string(),
                Vec::new(),
            )
        }
    };
    let text = text.as_str();
    let which = UpdateKey {
        member: member.id,
        date,
        checkin,
    };
    let out = match ctx
        .store
        .upsert_answer(
            which,
            text,
            &labels,
            "email",
            Some(message_id),
            replace,
            now.timestamp(),
        )
        .await
    {
        Ok(out) => out,
        // The day's update is full: the reply stays in the quarantine, raw, and the member
        // is told what to do.
        Err(StoreError::Limit(why)) => {
            let text = format!(
                "Your reply was kept but not added to your update for {date}: {why}.\n\nA day's update holds at most {} KB of text and {MAX_UPDATE_REVISIONS} replies. To start the day's update over, reply with \"replace\" alone on the first line and the whole update below it.\n",
                MAX_UPDATE_BYTES / 1024
            );
            let notice = compose::notice(
                ctx,
                member,
                &format!("notice:full:{key}"),
                &format!("Your update for {date} is full"),
                &text,
                None,
                now,
            )?;
            tell(ctx, &notice, now).await?;
            return Ok(Decision::quarantined(
                format!("the day's update is full: {why}"),
                Some(member.email.to_string()),
                Some(member.id),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    ctx.store.set_scores(out.id, &scores).await?;
    let kept = ctx
        .store
        .answer_for(which)
        .await?
        .map(|u| u.sections)
        .unwrap_or_else(|| crate::domain::sections::split_labelled(text, &labels));
    // `@ana`: recorded for Ana's next digest ("Needs you"); the receipt says when she reads it.
    let mentioned = crate::jobs::mentions::record(ctx, member, out.id, text, now).await?;
    let mut note = kept_note.to_string();
    note.push_str(&crate::jobs::mentions::receipt_lines(&mentioned, now));
    let what = asked
        .as_ref()
        .map_or_else(|| "update".to_string(), |c| format!("answer to {}", c.name));
    if let Some(c) = &asked {
        note.push_str(&scores_counted(c, &scores));
    }
    let saved = Saved {
        what: &what,
        date,
        sections: &kept,
        edited: out.edited,
        attachments,
        in_reply_to: message_id,
        note: &note,
    };
    let mut receipt = compose::receipt(ctx, member, &format!("receipt:{key}"), saved, now)?;
    // A reply to the receipt is filed under the same check-in.
    receipt.checkin = (checkin != 0).then_some(checkin);
    tell(ctx, &receipt, now).await?;
    Ok(Decision::accepted(out.id, out.edited, member.id))
}

/// What the receipt says of the scale answers taken out of a reply: counted for the team,
/// never shown with the member's name.
fn scores_counted(c: &crate::domain::checkin::Checkin, scores: &[(usize, u8)]) -> String {
    scores
        .iter()
        .filter_map(|(i, v)| {
            let q = c.questions.get(*i)?;
            Some(format!(
                "Your {v} for \u{201c}{}\u{201d} counts towards the team's average, shown once 3 people have answered; it is never shown with your name.\n",
                q.text
            ))
        })
        .collect()
}
