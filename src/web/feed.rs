//! Atom feeds of the team log (RFC 4287): one per team and one per person, each behind a URL
//! signed for the member who reads it, so a feed reader needs no session. The URL is
//! `/feeds/{member}.{scope}.{signature}` with scope `t<team id>` or `p<author id>t<team id>`;
//! the signature covers the member's feed epoch, which `tidings member signout` moves on, so
//! that ends every feed URL of theirs. A feed answers only while its member may still read
//! the team (and the person is still in it).

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::html::message_page;
use super::{AppError, Routes, WebState};
use crate::domain::token::constant_eq;
use crate::domain::{Member, rfc3339, sections};
use crate::jobs::Ctx;
use crate::jobs::log::{self, Reader};
use crate::store::{LogQuery, TeamUpdate};

/// Entries per feed: the latest updates.
const ENTRIES: i64 = 50;

pub(super) fn routes(r: Routes) -> Routes {
    r.add(utoipa_axum::routes!(feed))
}

/// What a feed shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Team(i64),
    Person { author: i64, team: i64 },
}

impl Scope {
    fn encode(self) -> String {
        match self {
            Scope::Team(t) => format!("t{t}"),
            Scope::Person { author, team } => format!("p{author}t{team}"),
        }
    }

    fn decode(s: &str) -> Option<Scope> {
        if let Some(t) = s.strip_prefix('t') {
            return t.parse().ok().map(Scope::Team);
        }
        let (a, t) = s.strip_prefix('p')?.split_once('t')?;
        Some(Scope::Person {
            author: a.parse().ok()?,
            team: t.parse().ok()?,
        })
    }
}

fn signature(ctx: &Ctx, member: i64, scope: Scope, epoch: i64) -> String {
    ctx.secret
        .sign("feed", &format!("{member}:{}:{epoch}", scope.encode()))
}

/// The feed URL of `scope` for reader `m`, signed over their current epoch.
pub fn feed_url(ctx: &Ctx, m: &Member, scope: Scope) -> String {
    format!(
        "{}/feeds/{}.{}.{}",
        ctx.config.web.base_url.trim_end_matches('/'),
        m.id,
        scope.encode(),
        signature(ctx, m.id, scope, m.epoch)
    )
}

/// Text for XML: `&`, `<`, `>`, `"` and `'` escaped, characters XML 1.0 cannot hold dropped.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// The Atom document: the feed's id is its scope on this server, each entry's id its update
/// (stable across edits; `updated` moves with each revision).
pub fn atom(
    ctx: &Ctx,
    title: &str,
    self_url: &str,
    log_url: &str,
    updates: &[TeamUpdate],
) -> String {
    let base = ctx.config.web.base_url.trim_end_matches('/');
    let host = base
        .split("://")
        .nth(1)
        .unwrap_or(base)
        .split('/')
        .next()
        .unwrap_or("tidings");
    let updated = updates
        .iter()
        .map(|u| u.update.updated_at)
        .max()
        .unwrap_or(0);
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n",
    );
    s.push_str(&format!("  <id>{}</id>\n", xml(self_url)));
    s.push_str(&format!("  <title>{}</title>\n", xml(title)));
    s.push_str(&format!("  <updated>{}</updated>\n", rfc3339(updated)));
    s.push_str(&format!(
        "  <link rel=\"self\" type=\"application/atom+xml\" href=\"{}\"/>\n",
        xml(self_url)
    ));
    s.push_str(&format!(
        "  <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n",
        xml(log_url)
    ));
    s.push_str("  <generator>Tidings</generator>\n");
    for t in updates {
        let u = &t.update;
        let text = u
            .sections
            .iter()
            .map(|sec| {
                let lines: Vec<&str> = sec.text.lines().collect();
                sections::part_text(sec.heading(), &lines)
            })
            .collect::<Vec<_>>()
            .join("\n\n");
        s.push_str("  <entry>\n");
        s.push_str(&format!(
            "    <id>tag:{},2026:update/{}</id>\n",
            xml(host),
            u.id
        ));
        s.push_str(&format!(
            "    <title>{} — {}</title>\n",
            xml(&t.author_name),
            u.local_date.format("%a %-d %b %Y")
        ));
        s.push_str(&format!(
            "    <published>{}</published>\n",
            rfc3339(u.created_at)
        ));
        s.push_str(&format!(
            "    <updated>{}</updated>\n",
            rfc3339(u.updated_at)
        ));
        s.push_str(&format!(
            "    <author><name>{}</name></author>\n",
            xml(&t.author_name)
        ));
        s.push_str(&format!(
            "    <link rel=\"alternate\" type=\"text/html\" href=\"{}#u{}\"/>\n",
            xml(log_url),
            u.id
        ));
        s.push_str(&format!(
            "    <content type=\"text\">{}</content>\n",
            xml(&text)
        ));
        s.push_str("  </entry>\n");
    }
    s.push_str("</feed>\n");
    s
}

fn not_found() -> Response {
    message_page(
        StatusCode::NOT_FOUND,
        "No such feed",
        "This feed address is not valid, or no longer: ask for a new one on the team log.",
        maud::html! {},
    )
}

/// A team's or a person's latest updates as an Atom feed, for the member the URL was signed
/// for (no session needed: a feed reader has none).
#[utoipa::path(get, path = "/feeds/{token}", tag = "pages",
    params(("token" = String, Path, description = "The signed feed address from the team log.")),
    responses(
        (status = 200, description = "The feed.", body = String, content_type = "application/atom+xml"),
        (status = 404, description = "Not a valid feed address, or its member may no longer read it.", body = String, content_type = "text/html"),
        (status = 410, description = "Ended by `member signout`.", body = String, content_type = "text/html"),
    ))]
pub(super) async fn feed(
    State(st): State<WebState>,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let ctx = &st.ctx;
    let mut parts = token.trim_end_matches(".atom").split('.');
    let (Some(m), Some(scope), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Ok(not_found());
    };
    let (Ok(member), Some(decoded)) = (m.parse::<i64>(), Scope::decode(scope)) else {
        return Ok(not_found());
    };
    // One spelling per address: `02.` or `+2.` is not member 2's feed.
    if member.to_string() != m || decoded.encode() != scope {
        return Ok(not_found());
    }
    let scope = decoded;
    let Some(m) = ctx.store.member_by_id(member).await? else {
        return Ok(not_found());
    };
    let epoch = m.epoch;
    let signed_over =
        |e: i64| constant_eq(signature(ctx, member, scope, e).as_bytes(), sig.as_bytes());
    if !signed_over(epoch) {
        // Signed over an earlier epoch: a real address, ended by `member signout`.
        if (0..epoch).rev().take(1000).any(signed_over) {
            return Ok(super::html::message_page(
                StatusCode::GONE,
                "Feed ended",
                "This feed address was ended when its member signed out everywhere. Sign in to the team log for a new one.",
                maud::html! {},
            ));
        }
        return Ok(not_found());
    }
    let (team_id, author) = match scope {
        Scope::Team(t) => (t, None),
        Scope::Person { author, team } => (team, Some(author)),
    };
    let Some(team) = ctx.store.team_name(team_id).await? else {
        return Ok(not_found());
    };
    let members = match log::team_for(ctx, Reader::Member(&m), &team).await {
        Ok(ms) => ms,
        Err(log::LogError::NoTeam(_)) => return Ok(not_found()),
        Err(e) => return Err(e.into()),
    };
    if author.is_some_and(|a| !members.contains(&a)) {
        return Ok(not_found());
    }
    let q = LogQuery {
        team: team.clone(),
        member: author,
        limit: ENTRIES,
        ..Default::default()
    };
    let page = log::page(ctx, Reader::Member(&m), &q).await?;
    let updates: Vec<TeamUpdate> = page.entries.into_iter().map(|e| e.update).collect();
    let seg = super::log::path_segment(&team);
    let base = ctx.config.web.base_url.trim_end_matches('/');
    let (title, log_url) = match author {
        Some(a) => {
            let name = ctx
                .store
                .member_by_id(a)
                .await?
                .map(|p| (p.name, p.email.to_string()))
                .unwrap_or_default();
            (
                format!("{} in {team}: updates", name.0),
                format!(
                    "{base}/log/{seg}?member={}",
                    super::log::path_segment(&name.1)
                ),
            )
        }
        None => (format!("{team}: team log"), format!("{base}/log/{seg}")),
    };
    let self_url = format!("{base}/feeds/{token}");
    let body = atom(ctx, &title, &self_url, &log_url, &updates);
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/atom+xml; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=300"),
            ),
        ],
        body,
    )
        .into_response())
}
