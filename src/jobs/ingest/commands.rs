//! What a command replied by email changes in a member's preferences.

use chrono::{DateTime, Utc};

use crate::domain::command::Command;
use crate::domain::schedule::local_date;
use crate::domain::{AwayRange, Member};
use crate::store::MemberChange;

/// What a command replied by email changes, and the line that tells the member so; `None`
/// for "replace", which changes no preference (it replaces the day's update).
pub(super) fn command_change(
    m: &Member,
    c: Command,
    now: DateTime<Utc>,
) -> Option<(MemberChange, String)> {
    let today = local_date(m.tz, now);
    let mut ch = MemberChange::default();
    let msg = match c {
        Command::Skip => {
            let mut away = m.away.clone();
            away.push(AwayRange {
                from: today,
                to: today,
            });
            ch.away = Some(away);
            format!("Skipped: no more requests or digests for {today}.")
        }
        Command::Pause => {
            ch.paused = Some(true);
            "Paused: you will get no requests or digests until you reply \"resume\".".to_string()
        }
        Command::Resume => {
            ch.paused = Some(false);
            "Welcome back: requests and digests are on again.".to_string()
        }
        Command::AwayUntil(d) => {
            let mut away = m.away.clone();
            away.push(AwayRange {
                from: today,
                to: d.max(today),
            });
            ch.away = Some(away);
            format!("Noted: you are away until {d}. Enjoy!")
        }
        Command::DigestAt(t) => {
            ch.digest_at = Some(t);
            format!("Your digest now arrives at {t} ({}).", m.tz.name())
        }
        Command::Cadence(c) => {
            ch.cadence = Some(c);
            match c {
                crate::domain::Cadence::Off => {
                    "You will get no more digests; the team log still has every update. Reply \"digest daily\" to have them again.".to_string()
                }
                c => format!(
                    "Your digest now comes {} at {} ({}).",
                    c.describe(),
                    m.digest_at,
                    m.tz.name()
                ),
            }
        }
        Command::Comments(d) => {
            ch.comments = Some(d);
            match d {
                crate::domain::Delivery::Immediate => {
                    "Comments on your updates now reach you at once, by email.".to_string()
                }
                crate::domain::Delivery::Digest => {
                    "Comments on your updates now come at the top of your next digest.".to_string()
                }
            }
        }
        Command::Mentions(d) => {
            ch.mentions = Some(d);
            match d {
                crate::domain::Delivery::Immediate => {
                    "Updates that mention you now reach you at once, by email.".to_string()
                }
                crate::domain::Delivery::Digest => {
                    "Updates that mention you now come at the top of your next digest.".to_string()
                }
            }
        }
        Command::RequestAt(t) => {
            ch.request_at = Some(t);
            format!("Update requests now arrive at {t} ({}).", m.tz.name())
        }
        Command::Timezone(z) => {
            ch.tz = Some(z);
            format!("Your time zone is now {}.", z.name())
        }
        // These act on the reply's text, not on preferences (`for DATE` and `resolved` are
        // read before; the digest's shape is set by `shape::apply`, also before).
        Command::Replace
        | Command::For(_)
        | Command::Resolved
        | Command::Follow(_)
        | Command::Mute(_)
        | Command::NeedsOnly
        | Command::QuietUntil(_)
        | Command::Everything
        | Command::Calendar(_)
        | Command::CalendarOff
        | Command::Activity(_)
        | Command::ActivityOff
        | Command::ActivityMute(..)
        | Command::Rooms(_) => return None,
    };
    Some((ch, msg))
}
