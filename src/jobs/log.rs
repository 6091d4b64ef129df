//! The team log as its readers get it: who may read which team (a member their own teams, the
//! admin every team), a page of it, and the whole of a range exported.

use crate::domain::{Member, MemberId};
use crate::render::export::{self, ExportedUpdate, Format};
use crate::store::{LogPage, LogQuery, MAX_PAGE, TeamUpdate};

use super::Ctx;

/// Who reads the log.
#[derive(Debug, Clone, Copy)]
pub enum Reader<'a> {
    Member(&'a Member),
    Admin,
}

/// Why a log cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// No such team, or not one of the reader's: the same answer, so team names do not leak.
    #[error("no team named {0:?} among yours")]
    NoTeam(String),
    /// The author filter names no member of the team.
    #[error("{0} is not a member of team {1:?}")]
    NotInTeam(String, String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<crate::store::StoreError> for LogError {
    fn from(e: crate::store::StoreError) -> Self {
        LogError::Other(e.into())
    }
}

/// Checks that `reader` may read team `team` and returns its members.
pub async fn team_for(
    ctx: &Ctx,
    reader: Reader<'_>,
    team: &str,
) -> Result<Vec<MemberId>, LogError> {
    let members = ctx
        .store
        .team_member_ids(team)
        .await?
        .ok_or_else(|| LogError::NoTeam(team.to_string()))?;
    match reader {
        Reader::Admin => Ok(members),
        Reader::Member(m) if members.contains(&m.id) => Ok(members),
        Reader::Member(_) => Err(LogError::NoTeam(team.to_string())),
    }
}

/// The member of `team` with address `email` (an author filter), by address or alias.
pub async fn author_in(
    ctx: &Ctx,
    team: &str,
    members: &[MemberId],
    email: &crate::domain::EmailAddress,
) -> Result<MemberId, LogError> {
    match ctx.store.member_by_email(email).await? {
        Some(m) if members.contains(&m.id) => Ok(m.id),
        _ => Err(LogError::NotInTeam(email.to_string(), team.to_string())),
    }
}

/// One page of the log of `q.team`, if `reader` may read it.
pub async fn page(ctx: &Ctx, reader: Reader<'_>, q: &LogQuery) -> Result<LogPage, LogError> {
    team_for(ctx, reader, &q.team).await?;
    Ok(ctx.store.team_log(q).await?)
}

/// Every update `q` selects (its cursor and limit aside), oldest first.
pub async fn all(ctx: &Ctx, reader: Reader<'_>, q: &LogQuery) -> Result<Vec<TeamUpdate>, LogError> {
    all_counted(ctx, reader, q, &mut |_| {}).await
}

/// [`all`], telling `read` how many updates were read after each page.
pub async fn all_counted(
    ctx: &Ctx,
    reader: Reader<'_>,
    q: &LogQuery,
    read: &mut (dyn FnMut(usize) + Send),
) -> Result<Vec<TeamUpdate>, LogError> {
    team_for(ctx, reader, &q.team).await?;
    let mut q = LogQuery {
        after: None,
        limit: MAX_PAGE,
        ..q.clone()
    };
    let mut out = Vec::new();
    loop {
        let p = ctx.store.team_log(&q).await?;
        out.extend(p.entries.into_iter().map(|e| e.update));
        read(out.len());
        match p.next {
            Some(c) => q.after = Some(c),
            None => break,
        }
    }
    if q.text.is_none() {
        out.reverse();
    }
    Ok(out)
}

/// An update as exports write it.
pub fn exported(t: &TeamUpdate) -> ExportedUpdate {
    let u = &t.update;
    ExportedUpdate {
        id: u.id,
        date: u.local_date,
        author: t.author_name.clone(),
        email: t.author_email.clone(),
        revision: u.revision,
        created_at: crate::domain::rfc3339(u.created_at),
        updated_at: crate::domain::rfc3339(u.updated_at),
        sections: u.sections.clone(),
        text: u.body.clone(),
        checkin: u.checkin_name.clone(),
    }
}

/// The updates `q` selects, oldest first, written in `format`.
pub async fn export(
    ctx: &Ctx,
    reader: Reader<'_>,
    q: &LogQuery,
    format: Format,
) -> Result<String, LogError> {
    export_counted(ctx, reader, q, format, &mut |_| {}).await
}

/// [`export`], telling `read` how many updates were read after each page (a large team's
/// export on the command line shows it).
pub async fn export_counted(
    ctx: &Ctx,
    reader: Reader<'_>,
    q: &LogQuery,
    format: Format,
    read: &mut (dyn FnMut(usize) + Send),
) -> Result<String, LogError> {
    let all = all_counted(ctx, reader, q, read).await?;
    let rows: Vec<ExportedUpdate> = all.iter().map(exported).collect();
    Ok(export::export(&q.team, &rows, format))
}
