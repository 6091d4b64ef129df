//! The preferences page's activity feeds (#35): the member's feed addresses (only their host
//! and last characters), whether each was read or since when it fails and why, what is muted,
//! a field to add an address (read at once) and one to mute; and the member's draft page
//! (`/p/{token}/draft`), the whole draft the request's "and N more" leads to. Seen by the
//! member alone.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use maud::{Markup, html};

use super::form::{PrefsForm, Rejected};
use super::groups::Groups;
use crate::domain::Member;
use crate::fetch::normalise;
use crate::jobs::Ctx;
use crate::render::draft::headed;
use crate::store::activity::FeedLink;
use crate::web::html::{Header, page_with};
use crate::web::{AppError, WebState};

/// What the section shows.
pub(super) struct Shown {
    links: Vec<FeedLink>,
    mutes: Vec<String>,
}

impl Shown {
    pub(super) async fn read(ctx: &Ctx, m: &Member) -> Result<Shown, AppError> {
        Ok(Shown {
            links: ctx.store.activity_feeds(m.id).await?,
            mutes: ctx.store.activity_mutes(m.id).await?,
        })
    }
}

fn state(l: &FeedLink) -> String {
    match (&l.error, l.fetched_at) {
        (Some(e), _) => format!(
            "could not be read since {}: {e} (no draft from it until it reads again; your requests still come)",
            crate::domain::rfc3339(l.failing_since.unwrap_or_default())
        ),
        (None, Some(t)) => format!("read {}, {} entries", crate::domain::rfc3339(t), l.entries),
        (None, None) => "not read yet".to_string(),
    }
}

/// The section (`#activity`).
pub(super) fn section(g: &Groups<'_>, s: &Shown, token: &str) -> Markup {
    let typed = g
        .rejected
        .typed
        .and_then(|f| f.activity_url.clone())
        .unwrap_or_default();
    let problem = g.rejected.for_field("activity_url");
    html! {
        h2 id="activity" { "Activity drafts" }
        form method="post" action=(g.action) {
            input type="hidden" name="csrf" value=(g.csrf);
            p class="muted" {
                "Give Tidings a feed of your own activity and each request drafts your Done from it: reply \"keep\" to keep the draft. "
                "GitHub: https://github.com/YOU.atom. GitLab: your profile → Activity → the feed button (with its feed_token). "
                "Forgejo and Gitea: https://HOST/YOU.rss. Jira: the activity stream of your profile. Any RSS, Atom or JSON Feed works. "
                "Nothing from a feed is shown to anyone unless you keep it."
            }
            label for="activity_url" { "Activity feed address" }
            input type="url" id="activity_url" name="activity_url" value=(typed)
                placeholder="https://github.com/you.atom" autocomplete="off"
                aria-invalid=[problem.map(|_| "true")] aria-describedby=[problem.map(|_| "activity_url-error")];
            @if let Some(p) = problem { p class="error" id="activity_url-error" { (p) } }
            br;
            button type="submit" name="action" value="activity-add" id="add-activity" { "Add feed" }
            @if s.links.is_empty() {
                p class="muted" { "No activity feed given." }
            } @else {
                ul class="feeds" {
                    @for l in &s.links {
                        li {
                            code { (l.shown) } " — " (state(l)) " "
                            button type="submit" class="link" name="action"
                                value=(format!("activity-remove:{}", l.id))
                                aria-label=(format!("Remove feed {}", l.shown)) { "remove" }
                        }
                    }
                }
                p { a href=(format!("/p/{token}/draft")) { "Your draft for today" } }
            }
            label for="activity_mute" { "Leave out of your drafts (a repository such as tidings/docs, or a kind such as push)" }
            input type="text" id="activity_mute" name="activity_mute" maxlength="100" autocomplete="off";
            br;
            button type="submit" name="action" value="activity-mute" id="mute-activity" { "Mute" }
            @if !s.mutes.is_empty() {
                ul class="mutes" {
                    @for w in &s.mutes {
                        li {
                            code { (w) } " "
                            button type="submit" class="link" name="action"
                                value=(format!("activity-unmute:{w}"))
                                aria-label=(format!("Unmute {w}")) { "unmute" }
                        }
                    }
                }
            }
        }
    }
}

/// Carries out an activity action of the form: the flash code, or why nothing was done.
pub(super) async fn submit(
    ctx: &Ctx,
    m: &Member,
    f: &PrefsForm,
) -> Result<Result<&'static str, Rejected<'static>>, AppError> {
    let action = f.action.as_deref().unwrap_or_default();
    if action == "activity-add" {
        let typed = f.activity_url.as_deref().unwrap_or_default();
        let url = match normalise(typed, ctx.config.fetch.allow_http) {
            Ok(u) => u.to_string(),
            Err(e) => {
                return Ok(Err(Rejected {
                    fields: vec![(
                        "activity_url",
                        format!("{e}: paste the https:// address of an Atom, RSS or JSON feed."),
                    )],
                    ..Default::default()
                }));
            }
        };
        ctx.store.add_activity_feed(m.id, &url).await?;
        crate::jobs::activity::refresh_member(ctx, m.id, Utc::now()).await?;
        return Ok(Ok("activity-added"));
    }
    if let Some(id) = action.strip_prefix("activity-remove:") {
        let id: i64 = id.parse().unwrap_or(-1);
        ctx.store.remove_activity_feed(m.id, id).await?;
        return Ok(Ok("activity-removed"));
    }
    if action == "activity-mute" {
        let what = f.activity_mute.as_deref().unwrap_or_default().trim();
        if what.is_empty() || what.chars().count() > 100 {
            return Ok(Err(Rejected {
                general: Some(
                    "Type a repository (tidings/docs), a project or a kind of entry (push) to mute."
                        .into(),
                ),
                ..Default::default()
            }));
        }
        ctx.store.set_activity_mute(m.id, what, true).await?;
        return Ok(Ok("activity-muted"));
    }
    if let Some(what) = action.strip_prefix("activity-unmute:") {
        ctx.store.set_activity_mute(m.id, what, false).await?;
        return Ok(Ok("activity-unmuted"));
    }
    Ok(Err(Rejected {
        general: Some("Unknown action.".into()),
        ..Default::default()
    }))
}

/// The member's draft for their current day, whole: what the request showed (or would show),
/// numbered as it is, and how to keep it.
#[utoipa::path(get, path = "/p/{token}/draft", tag = "pages",
    params(("token" = String, Path, description = "The signed, expiring link of one member.")),
    responses(
        (status = 200, description = "The draft.", body = String, content_type = "text/html"),
        (status = 403, description = "The link is not valid.", body = String, content_type = "text/html"),
        (status = 410, description = "The link has expired, or was ended by `member signout`.", body = String, content_type = "text/html"),
    ))]
pub(super) async fn draft_page(State(st): State<WebState>, Path(token): Path<String>) -> Response {
    let m = match super::verify(&st.ctx, &token).await {
        Ok(Ok(m)) => m,
        Ok(Err(e)) => return super::bad_link_page(&e),
        Err(e) => return super::error_page(e),
    };
    match draft_markup(&st.ctx, &m, &token).await {
        Ok(page) => page.into_response(),
        Err(e) => super::error_page(e),
    }
}

async fn draft_markup(ctx: &Ctx, m: &Member, token: &str) -> Result<Markup, AppError> {
    let today = crate::domain::schedule::local_date(m.tz, Utc::now());
    let found = crate::jobs::activity::draft_to_keep(ctx, m, today).await?;
    let since = found
        .as_ref()
        .map(|d| crate::jobs::activity::since_label(m, d.since));
    let draft = found.map(|d| d.draft).unwrap_or_default();
    let in_request = crate::jobs::activity::email_part(&draft).lines.len();
    let header = Header {
        team: None,
        nav: vec![
            (format!("/p/{token}/log"), "Team log", false),
            (format!("/p/{token}"), "Preferences", false),
        ],
        signout: false,
    };
    let day = today.format("%a %-d %b");
    Ok(page_with(
        "Your draft",
        &header,
        html! {
            h1 { "Your draft for " (day) }
            @match &since {
                None => p { "You have no activity feed: add one on " a href=(format!("/p/{token}#activity")) { "your preferences page" } "." },
                Some(s) if draft.lines.is_empty() => p { "Nothing in your activity since " (s) "." },
                Some(s) => {
                    p class="muted" { (crate::render::draft::heading(s)) }
                    @for (project, lines) in headed(&draft) {
                        @if let Some(p) = project { h2 { (p) } }
                        ol {
                            @for l in lines {
                                li value=(l.n) {
                                    @match &l.link {
                                        Some(u) => a href=(u) { (l.title) },
                                        None => (l.title),
                                    }
                                }
                            }
                        }
                    }
                    @if draft.more > 0 { p class="muted" { "And " (draft.more) " older entries." } }
                    p { (crate::render::draft::KEEP_RULE) }
                    @if draft.lines.len() > in_request {
                        p class="muted" {
                            "Your request shows lines 1 to " (in_request) ": \"keep\" keeps those; \"keep "
                            (in_request + 1) "\" (or any number here) keeps a line of this page too."
                        }
                    }
                }
            }
        },
    ))
}
