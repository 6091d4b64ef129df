//! Activity by reply (#35): the commands `activity https://…` (a feed of the member's own
//! activity, read at once so the receipt says what was found), `activity off`, `activity mute
//! X` / `activity unmute X`; and `keep` / `keep 1 3` on the first line of a reply, which makes
//! the lines of the day's draft the Done section, before whatever else the member wrote.
//! A feed's address is never repeated back whole.

use chrono::{DateTime, NaiveDate, Utc};

use super::super::Ctx;
use crate::domain::Member;
use crate::domain::activity;
use crate::domain::command::Command;
use crate::fetch::normalise;
use crate::store::activity::shown;

/// Applies activity command `c` of member `m`: the receipt's subject and text.
pub(super) async fn apply(
    ctx: &Ctx,
    m: &Member,
    c: Command,
    now: DateTime<Utc>,
) -> anyhow::Result<(&'static str, String)> {
    match c {
        Command::ActivityOff => {
            ctx.store.remove_activity_feeds(m.id).await?;
            Ok((
                "Done: your activity feeds are off",
                "Tidings no longer reads your activity feeds, and your requests carry no draft."
                    .to_string(),
            ))
        }
        Command::ActivityMute(what, on) => {
            let what = what.trim().to_string();
            let changed = ctx.store.set_activity_mute(m.id, &what, on).await?;
            let text = match (on, changed) {
                (true, _) => format!(
                    "\"{what}\" is muted: entries of that repository, project or kind are left out of your drafts (\"activity unmute {what}\" to take them back)."
                ),
                (false, true) => format!("\"{what}\" is no longer muted in your drafts."),
                (false, false) => format!("\"{what}\" was not muted, so nothing changed."),
            };
            Ok(("Done: your drafts changed", text))
        }
        Command::Activity(address) => add(ctx, m, &address, now).await,
        // Only the activity commands come here.
        _ => Ok(("Nothing changed", "Nothing changed.".to_string())),
    }
}

async fn add(
    ctx: &Ctx,
    m: &Member,
    address: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<(&'static str, String)> {
    let url = match normalise(address, ctx.config.fetch.allow_http) {
        Ok(u) => u.to_string(),
        Err(e) => {
            return Ok((
                "Your activity feed was not added",
                format!(
                    "That feed address cannot be used: {e}. Reply \"activity\" followed by the https:// address of an Atom, RSS or JSON feed of your own activity (https://github.com/YOU.atom, for one)."
                ),
            ));
        }
    };
    ctx.store.add_activity_feed(m.id, &url).await?;
    crate::jobs::activity::refresh_member(ctx, m.id, now).await?;
    // This feed's own state: two feeds may look alike as shown.
    let this = ctx.store.activity_feed(m.id, &url).await?;
    let mut text = format!(
        "Your activity feed {} is added: each request drafts your Done from it, and a reply \"keep\" keeps the draft. Nothing from it is shown to anyone unless you keep it.",
        shown(&url)
    );
    match this {
        Some(f) if f.error.is_some() => text.push_str(&format!(
            "\n\nIt could not be read yet: {}. Tidings tries again every {} minutes; until then your requests carry no draft from it.",
            f.error.as_deref().unwrap_or_default(),
            ctx.config.fetch.refresh_minutes
        )),
        Some(f) => text.push_str(&format!("\n\nRead now: {} entries.", f.entries)),
        None => {}
    }
    Ok(("Done: your activity feed is added", text))
}

/// What a `keep` on the first line of a reply made of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Kept {
    /// The first line is no `keep`: the reply as it was.
    No,
    /// The text to store (the kept lines under Done, then the rest) and the receipt's note.
    Yes { text: String, note: String },
    /// Nothing can be kept (no draft, a number not in it): why, for the member.
    Refused(String),
}

/// Reads `keep` / `keep 1 3` on the first line of `text`, a reply of `m` for `date`.
pub(super) async fn keep(
    ctx: &Ctx,
    m: &Member,
    date: NaiveDate,
    text: &str,
) -> anyhow::Result<Kept> {
    let trimmed = text.trim_start();
    let (first, rest) = trimmed.split_once('\n').unwrap_or((trimmed, ""));
    let Some(k) = activity::parse_keep(first) else {
        return Ok(Kept::No);
    };
    Ok(
        match crate::jobs::activity::kept_text(ctx, m, date, &k, rest).await? {
            Ok((text, note)) => Kept::Yes { text, note },
            Err(why) => Kept::Refused(format!(
                "Your reply starts with \"keep\", but {why}. Nothing was saved: reply again with your update (your reply is kept, and an admin can release it)."
            )),
        },
    )
}
