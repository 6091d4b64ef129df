//! A reader's digest shape as the reply commands, the preferences page and the API set it:
//! teammates named by email address, whole name or first name; quiet days from today.

use chrono::{DateTime, NaiveDate, Utc};

use super::Ctx;
use crate::domain::Member;
use crate::domain::schedule::local_date;
use crate::domain::shape::DigestShape;

/// Who a name means among a reader's teammates.
pub enum Found {
    One(Member),
    Several(Vec<String>),
    None,
}

/// The teammates of `m` (everyone in their teams but them), by name.
pub async fn teammates(ctx: &Ctx, m: &Member) -> anyhow::Result<Vec<Member>> {
    if m.teams.is_empty() {
        return Ok(Vec::new());
    }
    Ok(ctx
        .store
        .members_in_teams(&m.teams)
        .await?
        .into_iter()
        .filter(|t| t.id != m.id)
        .collect())
}

/// The teammate of `m` that `name` means: their email address, whole name or first name
/// (case aside), or several when a first name is shared.
pub async fn teammate(ctx: &Ctx, m: &Member, name: &str) -> anyhow::Result<Found> {
    Ok(find(&teammates(ctx, m).await?, name))
}

fn find(mates: &[Member], name: &str) -> Found {
    let wanted = name.trim().to_lowercase();
    let exact: Vec<&Member> = mates
        .iter()
        .filter(|t| {
            t.email.as_str().eq_ignore_ascii_case(&wanted) || t.name.to_lowercase() == wanted
        })
        .collect();
    let by_first: Vec<&Member> = mates
        .iter()
        .filter(|t| {
            t.name
                .split_whitespace()
                .next()
                .is_some_and(|f| f.to_lowercase() == wanted)
        })
        .collect();
    let found = if exact.is_empty() { by_first } else { exact };
    match found.as_slice() {
        [] => Found::None,
        [one] => Found::One((*one).clone()),
        many => Found::Several(many.iter().map(|t| t.name.clone()).collect()),
    }
}

/// A digest shape with people as email addresses: what the page and the API show and take.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShapeSpec {
    pub follow: Vec<String>,
    pub mute: Vec<String>,
    pub needs_only: bool,
    /// No digests until this local date (the first one after it is a catch-up).
    pub quiet_until: Option<NaiveDate>,
}

/// `m`'s shape with teammates as email addresses (one who left the teams is left out).
pub async fn spec_of(ctx: &Ctx, m: &Member) -> anyhow::Result<ShapeSpec> {
    Ok(spec_from(&m.shape, &teammates(ctx, m).await?))
}

/// `shape` with the people in it as the email addresses of `mates` (others left out).
pub fn spec_from(shape: &DigestShape, mates: &[Member]) -> ShapeSpec {
    let emails = |ids: &[i64]| -> Vec<String> {
        mates
            .iter()
            .filter(|t| ids.contains(&t.id))
            .map(|t| t.email.to_string())
            .collect()
    };
    ShapeSpec {
        follow: emails(&shape.follow),
        mute: emails(&shape.mute),
        needs_only: shape.needs_only,
        quiet_until: shape.quiet.map(|q| q.until),
    }
}

/// Stores `spec` as `m`'s whole digest shape, as of `now`, and gives it back as stored;
/// `Err` with a reason (nothing stored) when a name is no teammate's, a person is both followed and muted, or the quiet
/// days' end is not after the reader's today.
pub async fn set_spec(
    ctx: &Ctx,
    m: &Member,
    spec: &ShapeSpec,
    now: DateTime<Utc>,
) -> anyhow::Result<Result<ShapeSpec, String>> {
    let mates = teammates(ctx, m).await?;
    let mut shape = DigestShape {
        needs_only: spec.needs_only,
        ..Default::default()
    };
    for (names, follow) in [(&spec.follow, true), (&spec.mute, false)] {
        for name in names.iter().filter(|n| !n.trim().is_empty()) {
            let t = match find(&mates, name) {
                Found::One(t) => t,
                Found::Several(names) => {
                    return Ok(Err(format!(
                        "several teammates match {name:?} ({}): give an email address",
                        names.join(", ")
                    )));
                }
                Found::None => return Ok(Err(format!("{name:?} is not a teammate"))),
            };
            if (follow && shape.mutes(t.id)) || (!follow && shape.follows(t.id)) {
                return Ok(Err(format!("{} cannot be both followed and muted", t.name)));
            }
            if follow {
                shape.set_follow(t.id);
            } else {
                shape.set_mute(t.id);
            }
        }
    }
    if let Some(until) = spec.quiet_until {
        let today = local_date(m.tz, now);
        if !shape.set_quiet(&m.shape, today, until) {
            return Ok(Err(format!(
                "quiet_until must be after today ({today}, your time)"
            )));
        }
    }
    if shape != *m.shape {
        ctx.store.set_digest_shape(m.id, &shape).await?;
    }
    Ok(Ok(spec_from(&shape, &mates)))
}
