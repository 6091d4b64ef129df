//! The project an entry is about, and the kind of site its link points at: "owner/repo" on
//! GitHub, Forgejo, Gitea and similar forges, "group/sub/project" before GitLab's `/-/`, the
//! project key of Jira's `/browse/KEY-123`; else a JSON Feed item's first tag, else an
//! "owner/repo" named in the title.

use url::Url;

/// Third path segments that mark `host/OWNER/REPO/…` as a repository page on GitHub, Forgejo,
/// Gitea and similar forges.
const REPO_PAGES: &[&str] = &[
    "actions",
    "activity",
    "archive",
    "blob",
    "branches",
    "commit",
    "commits",
    "compare",
    "discussions",
    "forks",
    "issues",
    "labels",
    "merge_requests",
    "milestone",
    "milestones",
    "packages",
    "pipelines",
    "projects",
    "pull",
    "pulls",
    "raw",
    "releases",
    "src",
    "stargazers",
    "tags",
    "tree",
    "watchers",
    "wiki",
];

/// First path segments that are site pages, never an owner.
const NOT_OWNERS: &[&str] = &[
    "about",
    "admin",
    "api",
    "apps",
    "assets",
    "collections",
    "dashboard",
    "enterprise",
    "explore",
    "features",
    "login",
    "marketplace",
    "notifications",
    "org",
    "organizations",
    "orgs",
    "repo",
    "search",
    "settings",
    "sponsors",
    "topics",
    "trending",
    "user",
    "users",
];

/// Hosts where `host/OWNER/REPO` alone (a starred or created repository) names a repository.
const FORGE_HOSTS: &[&str] = &[
    "github.com",
    "codeberg.org",
    "gitea.com",
    "gitlab.com",
    "bitbucket.org",
];

/// Where a project name came from, which decides some of the title's shaping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Site {
    /// `host/OWNER/REPO/…` (GitHub, Forgejo, Gitea …).
    Forge,
    /// `host/GROUP/…/PROJECT/-/…`.
    GitLab,
    /// `host/…/browse/KEY-123`.
    Jira,
    /// Anything else (a JSON Feed tag, the title, nothing).
    Other,
}

/// The project and where it was read: a JSON Feed tag, else the link, else the title.
pub(super) fn project(
    link: Option<&Url>,
    tag: Option<&str>,
    title: &str,
) -> (Option<String>, Site) {
    let from_link = link.and_then(project_from_url);
    if let Some(tag) = tag.map(str::trim).filter(|t| !t.is_empty()) {
        let site = from_link
            .as_ref()
            .filter(|(p, _)| p.eq_ignore_ascii_case(tag))
            .map_or(Site::Other, |(_, s)| *s);
        return (Some(tag.to_string()), site);
    }
    match from_link {
        Some((p, site)) => (Some(p), site),
        None => (project_from_title(title), Site::Other),
    }
}

/// The project named by a link's path, and the kind of site.
pub(super) fn project_from_url(url: &Url) -> Option<(String, Site)> {
    let segs: Vec<&str> = url.path_segments()?.filter(|s| !s.is_empty()).collect();
    let browsed = segs
        .iter()
        .position(|s| *s == "browse")
        .and_then(|i| segs.get(i + 1));
    if let Some(key) = browsed.and_then(|k| jira_key(k)) {
        return Some((key.to_string(), Site::Jira));
    }
    if let Some(i) = segs.iter().position(|s| *s == "-").filter(|i| *i >= 2) {
        return Some((segs[..i].join("/"), Site::GitLab));
    }
    let owner = *segs.first()?;
    if NOT_OWNERS.contains(&owner.to_ascii_lowercase().as_str()) || segs.len() < 2 {
        return None;
    }
    let host = url.host_str().unwrap_or("").trim_start_matches("www.");
    let repo_page = segs.get(2).is_some_and(|s| REPO_PAGES.contains(s));
    if repo_page || (segs.len() == 2 && FORGE_HOSTS.contains(&host)) {
        return Some((format!("{}/{}", owner, segs[1]), Site::Forge));
    }
    if host == "gitlab.com" {
        // Without `/-/` (a project page, or an old-style link): up to the first page name.
        let end = segs
            .iter()
            .skip(2)
            .position(|s| REPO_PAGES.contains(s))
            .map_or(segs.len(), |i| i + 2);
        return Some((segs[..end].join("/"), Site::GitLab));
    }
    None
}

/// The project key of a Jira issue key ("TID-41" → "TID").
pub(super) fn jira_key(s: &str) -> Option<&str> {
    let (key, num) = s.split_once('-')?;
    let key_ok = key.starts_with(|c: char| c.is_ascii_uppercase())
        && key
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    let num_ok = !num.is_empty() && num.chars().all(|c| c.is_ascii_digit());
    (key_ok && num_ok).then_some(key)
}

/// An "owner/repo" named in a title: "… in owner/repo", "… at owner/repo", "starred
/// owner/repo", "owner/repo#12", "owner/repo@abc123".
fn project_from_title(title: &str) -> Option<String> {
    let words: Vec<&str> = title.split_whitespace().collect();
    for (i, word) in words.iter().enumerate().rev() {
        let word = word.trim_end_matches(['.', ',', ':', ';', ')']);
        let (name, reference) = match word.find(['#', '@']) {
            Some(at) => (&word[..at], true),
            None => (word, false),
        };
        let before = i.checked_sub(1).map(|j| words[j].to_ascii_lowercase());
        let placed = matches!(
            before.as_deref(),
            Some("in" | "at" | "to" | "from" | "on" | "starred" | "forked")
        );
        if is_repo_name(name) && (reference || placed) {
            return Some(name.to_string());
        }
    }
    None
}

/// Whether `s` looks like "owner/repo".
fn is_repo_name(s: &str) -> bool {
    let part = |p: &str| {
        !p.is_empty()
            && !p.starts_with('.')
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && !p.chars().all(|c| c.is_ascii_digit())
    };
    s.split_once('/').is_some_and(|(o, r)| part(o) && part(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("test URL")
    }

    #[test]
    fn projects_from_links() {
        let p = |s: &str| project_from_url(&url(s)).map(|(p, _)| p);
        assert_eq!(
            p("https://github.com/tidings/tidings/pull/212").as_deref(),
            Some("tidings/tidings")
        );
        assert_eq!(
            p("https://github.com/feed-rs/feed-rs").as_deref(),
            Some("feed-rs/feed-rs")
        );
        assert_eq!(
            p("https://git.example.org/ana/notes/src/branch/main").as_deref(),
            Some("ana/notes")
        );
        assert_eq!(
            p("https://gitlab.example.org/a/b/c/-/issues/3").as_deref(),
            Some("a/b/c")
        );
        assert_eq!(
            p("https://x.atlassian.net/browse/TID-41?focusedCommentId=1").as_deref(),
            Some("TID")
        );
        assert_eq!(
            p("https://jira.example.org/jira/browse/OPS_2-7").as_deref(),
            Some("OPS_2")
        );
        assert_eq!(p("https://gitlab.com/a/b/c").as_deref(), Some("a/b/c"));
        assert_eq!(
            p("https://gitlab.com/a/b/c/issues/4").as_deref(),
            Some("a/b/c")
        );
        assert_eq!(
            p("https://github.com/browse/tool/pull/3").as_deref(),
            Some("browse/tool")
        );
        assert_eq!(p("https://github.com/ana-lima"), None);
        assert_eq!(p("https://github.com/orgs/tidings/people"), None);
        assert_eq!(p("https://ana-lima.dev/log/2026-12-01-outbox"), None);
        assert_eq!(p("https://x.atlassian.net/browse/lower-1"), None);
    }

    #[test]
    fn projects_from_titles() {
        assert_eq!(
            project_from_title("ana pushed to main in o/r").as_deref(),
            Some("o/r")
        );
        assert_eq!(
            project_from_title("commented on o/r#12.").as_deref(),
            Some("o/r")
        );
        assert_eq!(project_from_title("starred o/r").as_deref(), Some("o/r"));
        assert_eq!(project_from_title("either and/or neither"), None);
        assert_eq!(project_from_title("ratio in 1/2"), None);
    }
}
