//! `tidings team chat`: the chat rooms a team's daily summary is posted to.

use super::*;
use crate::domain::schedule::{LocalTime, Workdays};
use crate::fetch::{Fetcher, normalise};
use crate::render::chat::platforms::Platform;
use crate::store::chat::NewRoom;

/// The address `url` checked as posts will be: scheme, no credentials, no refused IP.
fn checked(cfg: &Config, url: &str) -> anyhow::Result<String> {
    let u = normalise(url, cfg.fetch.allow_http).map_err(|e| usage(e.to_string()))?;
    Fetcher::new(&cfg.fetch)?.check_address(&u).map_err(|e| {
        usage(format!(
            "{e} (set fetch.allow_private = true for a server on loopback or the LAN)"
        ))
    })?;
    Ok(u.to_string())
}

pub(super) async fn run(cfg: Config, cmd: ChatCmd) -> anyhow::Result<()> {
    match cmd {
        ChatCmd::Add {
            team,
            kind,
            url,
            at,
            tz,
            days,
            room,
            token_file,
        } => {
            let platform = Platform::parse(&kind).ok_or_else(|| {
                usage(format!(
                    "unknown platform {kind:?} (slack, mattermost, discord, teams, google-chat, matrix)"
                ))
            })?;
            let url = checked(&cfg, &url)?;
            let at = LocalTime::parse(&at).map_err(|e| usage(format!("--at: {e}")))?;
            let tz = parse_tz(&tz).map_err(|e| usage(format!("--tz: {e}")))?;
            let days = Workdays::parse(&days).map_err(|e| usage(format!("--days: {e}")))?;
            let token = match &token_file {
                Some(p) => Some(
                    std::fs::read_to_string(p)
                        .map_err(|e| usage(format!("--token-file {}: {e}", p.display())))?
                        .trim()
                        .to_string(),
                ),
                None => None,
            };
            if platform == Platform::Matrix && (room.is_none() || token.is_none()) {
                return Err(usage(
                    "a Matrix room needs --room !ID:SERVER and --token-file FILE (the bot's access token)",
                ));
            }
            with_store(&cfg, async |s| {
                let n = NewRoom {
                    team: &team,
                    kind: platform.as_str(),
                    url: &url,
                    room: room.as_deref(),
                    token: token.as_deref(),
                    at,
                    tz,
                    days,
                };
                let id = s
                    .add_room(&n, Utc::now().timestamp())
                    .await
                    .map_err(store_err)?;
                crate::outln!(
                    "room {id}: team {team}'s summary to {} ({}) at {at} {} on {days}",
                    platform.as_str(),
                    crate::store::webhooks::shown(&url),
                    tz.name()
                );
                Ok(())
            })
            .await
        }
        ChatCmd::List => {
            with_store(&cfg, async |s| {
                let rooms = s.rooms().await.map_err(store_err)?;
                if rooms.is_empty() {
                    crate::outln!("no chat rooms (add one with `tidings team chat add`)");
                }
                for r in rooms {
                    crate::outln!(
                        "{}  {}  {}  {}  at {} {} on {}  {}  waiting {}, failed {}{}",
                        r.id,
                        r.team,
                        r.kind,
                        crate::store::webhooks::shown(&r.url),
                        r.at,
                        r.tz.name(),
                        r.days,
                        if r.failing_since.is_some() {
                            "failing"
                        } else {
                            "ok"
                        },
                        r.waiting,
                        r.failed,
                        r.pause_reason
                            .or(r.last_error)
                            .map(|e| format!("  why: {e}"))
                            .unwrap_or_default()
                    );
                }
                Ok(())
            })
            .await
        }
        ChatCmd::Resume { id } => {
            with_store(&cfg, async |s| {
                if !s
                    .resume_room(id, Utc::now().timestamp())
                    .await
                    .map_err(store_err)?
                {
                    return Err(usage(format!(
                        "no chat room {id} (see `tidings team chat list`)"
                    )));
                }
                crate::outln!("room {id} resumed: what waited is posted at the next pass");
                Ok(())
            })
            .await
        }
        ChatCmd::Remove { id } => {
            with_store(&cfg, async |s| {
                if !s.remove_room(id).await.map_err(store_err)? {
                    return Err(usage(format!(
                        "no chat room {id} (see `tidings team chat list`)"
                    )));
                }
                crate::outln!("room {id} removed");
                Ok(())
            })
            .await
        }
    }
}
