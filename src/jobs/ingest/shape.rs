//! Reply commands that shape the reader's own digest: `follow`, `mute`, `only blockers and
//! mentions`, `quiet until`, `everything`. A name that is no teammate's makes the line text,
//! not a command ("Follow up with legal" is an update).

use chrono::{DateTime, Utc};

use super::super::Ctx;
use crate::domain::Member;
use crate::domain::command::Command;
use crate::domain::schedule::local_date;
use crate::domain::shape::DigestShape;
use crate::jobs::shape::{Found, teammate};

/// What a shaping command did.
pub(super) enum Shaped {
    /// Done (or refused with a reason): the line the receipt says.
    Told(String),
    /// Not a command after all: the reply is an update.
    Text,
}

/// Applies shaping command `c` of reader `m` as of `now` and stores the new shape.
pub(super) async fn apply(
    ctx: &Ctx,
    m: &Member,
    c: Command,
    now: DateTime<Utc>,
) -> anyhow::Result<Shaped> {
    let today = local_date(m.tz, now);
    let mut shape = (*m.shape).clone();
    let msg = match c {
        Command::Follow(name) => match teammate(ctx, m, &name).await? {
            Found::One(t) => {
                shape.set_follow(t.id);
                format!(
                    "You now follow {}: their updates come first in your digest, and whole.",
                    t.name
                )
            }
            Found::Several(names) => several(&name, &names),
            Found::None => return Ok(Shaped::Text),
        },
        Command::Mute(name) => match teammate(ctx, m, &name).await? {
            Found::One(t) => {
                shape.set_mute(t.id);
                format!(
                    "{} is muted: their updates fold into one line in your digest. They are not told, and a lead's escalation of their blocker still reaches you.",
                    t.name
                )
            }
            Found::Several(names) => several(&name, &names),
            Found::None => return Ok(Shaped::Text),
        },
        Command::NeedsOnly => {
            shape.needs_only = true;
            "Your digest now comes only when something needs you (a mention, a comment, a blocker you lead), and holds just that. Reply \"everything\" to have the whole digest again.".to_string()
        }
        Command::QuietUntil(u) => {
            let until = u.date_after(today);
            if !shape.set_quiet(&m.shape, today, until) {
                format!("{until} has passed, so nothing changed: write a later day or date.")
            } else {
                format!(
                    "No digests until {}: that one catches you up on what you missed.",
                    until.format("%a %-d %b %Y")
                )
            }
        }
        Command::Everything => {
            shape = DigestShape::default();
            "Your digest is back to everything: no one followed or muted, nothing left out, no quiet days.".to_string()
        }
        _ => return Ok(Shaped::Text),
    };
    if shape != *m.shape {
        ctx.store.set_digest_shape(m.id, &shape).await?;
    }
    Ok(Shaped::Told(msg))
}

fn several(name: &str, names: &[String]) -> String {
    format!(
        "Several teammates match \"{name}\" ({}): write the whole name or their email address. Nothing changed.",
        names.join(", ")
    )
}
