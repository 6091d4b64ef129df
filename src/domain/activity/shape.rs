//! What an entry is about, read from its link, id and title: the project (repository, GitLab
//! project path, Jira project key), the kind of entry, and a short title that reads well
//! without the member's name and without the project when the draft groups by project.
//!
//! The services write their entries this way (see `tests/fixtures/feeds/`):
//! * GitHub: id `tag:github.com,2008:PushEvent/…`, title "ana-lima opened a pull request in
//!   owner/repo"; the pull request's or issue's number and title are only in the HTML content.
//! * GitLab: title "Ana Lima opened merge request !42: Title at Group / Project", link
//!   `host/group/…/project/-/merge_requests/42`.
//! * Forgejo/Gitea: title "ana-lima created pull request <a href=…>owner/repo#57</a>", guid
//!   "ACTION_ID: link", description "57#Title" (new issues and pull requests) or the issue's
//!   title on its first line (comments, merges, closes).
//! * Jira: title "<a>Ana Lima</a> created <a href=…/browse/TID-41>TID-41 - Summary</a>".

use url::Url;

use super::html::{anchors, plain};
use super::project::{Site, jira_key, project};

/// Words that start an activity once the actor's name is taken off ("ana-lima pushed to …").
const VERBS: &[&str] = &[
    "accepted",
    "added",
    "approved",
    "changed",
    "closed",
    "commented",
    "created",
    "deleted",
    "dismissed",
    "edited",
    "forked",
    "imported",
    "joined",
    "left",
    "logged",
    "made",
    "merged",
    "moved",
    "opened",
    "published",
    "pushed",
    "released",
    "removed",
    "renamed",
    "reopened",
    "resolved",
    "reviewed",
    "started",
    "starred",
    "suggested",
    "synced",
    "transferred",
    "updated",
    "automatically",
];

/// GitHub event types (from the entry id) and their kinds.
const GITHUB_EVENTS: &[(&str, &str)] = &[
    ("PushEvent", "push"),
    ("PullRequestEvent", "pull request"),
    ("PullRequestReviewEvent", "review"),
    ("PullRequestReviewCommentEvent", "review"),
    ("PullRequestReviewThreadEvent", "review"),
    ("IssuesEvent", "issue"),
    ("IssueCommentEvent", "comment"),
    ("CommitCommentEvent", "comment"),
    ("CreateEvent", "create"),
    ("DeleteEvent", "delete"),
    ("ReleaseEvent", "release"),
    ("WatchEvent", "star"),
    ("ForkEvent", "fork"),
    ("GollumEvent", "wiki"),
];

/// What is read from one feed entry before shaping.
pub(super) struct Input<'a> {
    /// The entry's id (GitHub event ids, Forgejo guids and GitLab tag URIs are recognised).
    pub id: &'a str,
    /// The title as plain text.
    pub title: String,
    /// The entry's absolute http(s) link.
    pub link: Option<&'a Url>,
    /// The author's name.
    pub author: Option<&'a str>,
    /// A JSON Feed item's first tag.
    pub tag: Option<&'a str>,
    /// The entry's HTML content (GitHub carries issue and pull request titles there).
    pub content: Option<&'a str>,
    /// The entry's summary or description as written (Forgejo's "57#Title").
    pub summary: Option<&'a str>,
}

/// The shaped parts of an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Shaped {
    /// Short title (not yet cut to length).
    pub title: String,
    /// Project, see [`super::Entry::project`].
    pub project: Option<String>,
    /// Kind, see [`super::Entry::kind`].
    pub kind: Option<String>,
}

/// Shapes an entry: project, kind and short title.
pub(super) fn shape(input: &Input<'_>) -> Shaped {
    let (project, site) = project(input.link, input.tag, &input.title);
    let (mut title, by_actor) = match strip_actor(&input.title, input.author) {
        Some(rest) => (rest, true),
        None => (input.title.clone(), false),
    };
    let kind = kind(input.id, &title, site, by_actor);
    if site == Site::GitLab || is_gitlab_id(input.id) {
        title = gitlab_title(&title);
    }
    if let Some(p) = &project {
        title = without_project(&title, p);
    }
    if by_actor {
        title = without_article(&title);
    }
    if let (Some(link), Some(k)) = (input.link, kind.as_deref()) {
        title = with_subject(title, input, link, k);
    }
    if site == Site::Jira {
        title = jira_title(&title);
    }
    if title.is_empty() {
        title = input.title.clone();
    }
    Shaped {
        title,
        project,
        kind,
    }
}

/// The title without the actor's name in front, when what follows is an activity verb
/// ("Ana Lima pushed to main" → "pushed to main"); None when it does not start so.
fn strip_actor(title: &str, author: Option<&str>) -> Option<String> {
    let author = author.map(str::trim).filter(|a| !a.is_empty())?;
    let head = title.get(..author.len())?;
    if !head.eq_ignore_ascii_case(author) {
        return None;
    }
    let rest = title[author.len()..].strip_prefix(' ')?;
    let verb = rest.split_whitespace().next()?.to_ascii_lowercase();
    VERBS
        .contains(&verb.as_str())
        .then(|| rest.trim().to_string())
}

/// Whether `id` is a GitLab event id: `tag:HOST,YYYY-MM-DD:NUMBER`.
fn is_gitlab_id(id: &str) -> bool {
    let Some(rest) = id.strip_prefix("tag:") else {
        return false;
    };
    let Some((_, tail)) = rest.split_once(',') else {
        return false;
    };
    let Some((date, num)) = tail.split_once(':') else {
        return false;
    };
    date.len() == 10
        && date.chars().all(|c| c.is_ascii_digit() || c == '-')
        && !num.is_empty()
        && num.chars().all(|c| c.is_ascii_digit())
}

/// The GitHub event type of an id such as `tag:github.com,2008:PushEvent/123`.
fn github_event(id: &str) -> Option<&str> {
    let rest = id.strip_prefix("tag:")?;
    let (_, tail) = rest.split_once(",2008:")?;
    let (event, num) = tail.split_once('/')?;
    (event.ends_with("Event") && !num.is_empty()).then_some(event)
}

/// The kind of entry: from a GitHub event id, from Jira's shape, else from the title's verb
/// when the title is a forge's activity line (it started with the actor's name, or the link is
/// a forge's): a free-form "Reviewed the guide with Bea" in a blog or JSON Feed gets no kind,
/// so that muting "review" does not hide it.
fn kind(id: &str, title: &str, site: Site, by_actor: bool) -> Option<String> {
    if let Some(event) = github_event(id) {
        let known = GITHUB_EVENTS
            .iter()
            .find(|(e, _)| *e == event)
            .map(|(_, k)| k.to_string());
        return known.or_else(|| words_of(event.trim_end_matches("Event")));
    }
    let t = title.to_ascii_lowercase();
    match site {
        Site::Jira if t.starts_with("commented") => Some("comment".to_string()),
        Site::Jira => Some("issue".to_string()),
        Site::Other if !by_actor => None,
        _ => verb_kind(&t).map(str::to_string),
    }
}

/// "PullRequestReview" → "pull request review".
fn words_of(camel: &str) -> Option<String> {
    let mut out = String::new();
    for c in camel.chars() {
        if c.is_ascii_uppercase() && !out.is_empty() {
            out.push(' ');
        }
        out.push(c.to_ascii_lowercase());
    }
    (!out.is_empty()).then_some(out)
}

/// The kind told by a lower-case title's leading verb phrase.
fn verb_kind(t: &str) -> Option<&'static str> {
    let head: String = t.split_whitespace().take(4).collect::<Vec<_>>().join(" ");
    let has = |w: &str| head.contains(w);
    let starts = |w: &str| head.starts_with(w);
    Some(if starts("pushed") || starts("synced") {
        "push"
    } else if starts("merged") || starts("accepted merge request") || starts("automatically merged")
    {
        "merge"
    } else if starts("commented") {
        "comment"
    } else if starts("approved")
        || starts("suggested changes")
        || starts("reviewed")
        || starts("dismissed review")
    {
        "review"
    } else if has("wiki") {
        "wiki"
    } else if has("pull request") || has("merge request") {
        "pull request"
    } else if has("issue") {
        "issue"
    } else if starts("starred") {
        "star"
    } else if starts("started watching") {
        "watch"
    } else if starts("released") || starts("published") {
        "release"
    } else if starts("forked") {
        "fork"
    } else if starts("deleted") || starts("removed") {
        "delete"
    } else if starts("created") || starts("imported") {
        "create"
    } else {
        return None;
    })
}

/// GitLab's wording made short: the " at Namespace / Project" tail dropped (the project is
/// in the link), "project branch" said "branch", "pushed to project branch main" → "pushed to main".
fn gitlab_title(title: &str) -> String {
    let mut t = title.to_string();
    for prep in [" at ", " in "] {
        if let Some(i) = t
            .rfind(prep)
            .filter(|i| t[i + prep.len()..].contains(" / "))
        {
            t.truncate(i);
            break;
        }
    }
    let t = t.replacen("pushed to project branch ", "pushed to ", 1);
    t.replacen(" project branch ", " branch ", 1)
        .replacen(" project tag ", " tag ", 1)
}

/// The title without " in owner/repo" at its end and with "owner/repo#12" said "#12".
fn without_project(title: &str, project: &str) -> String {
    // ASCII lower case keeps byte offsets, so positions found in `lower` are valid in `t`.
    let mut t = title.to_string();
    let lower = t.to_ascii_lowercase();
    let p = project.to_ascii_lowercase();
    for prep in [" in ", " at ", " to ", " from ", " on "] {
        let tail = format!("{prep}{p}");
        if lower.ends_with(&tail) && t.len() > tail.len() {
            t.truncate(t.len() - tail.len());
            break;
        }
    }
    for (mark, keep) in [('#', "#"), ('@', "")] {
        let needle = format!("{p}{mark}");
        if let Some(i) = t.to_ascii_lowercase().find(&needle) {
            t.replace_range(i..i + needle.len(), keep);
        }
    }
    t
}

/// GitHub's "opened a pull request", "created a branch x" said without the article.
fn without_article(title: &str) -> String {
    let mut words = title.splitn(3, ' ');
    let (Some(verb), Some(article), Some(rest)) = (words.next(), words.next(), words.next()) else {
        return title.to_string();
    };
    let verbs = [
        "opened",
        "merged",
        "closed",
        "reopened",
        "created",
        "deleted",
        "published",
    ];
    if verbs.contains(&verb) && matches!(article, "a" | "an") {
        format!("{verb} {rest}")
    } else {
        title.to_string()
    }
}

/// The number of the issue, pull request or merge request a link points at.
fn linked_number(link: &Url) -> Option<u64> {
    let segs: Vec<&str> = link.path_segments()?.collect();
    segs.windows(2).rev().find_map(|w| {
        matches!(w[0], "pull" | "pulls" | "issues" | "merge_requests")
            .then(|| w[1].parse::<u64>().ok())
            .flatten()
    })
}

/// The title with the number ("#212") and the subject (": Stream the outbox") of the issue
/// or pull request it is about, when the entry tells them reliably.
fn with_subject(title: String, input: &Input<'_>, link: &Url, kind: &str) -> String {
    if !matches!(
        kind,
        "pull request" | "issue" | "comment" | "review" | "merge"
    ) {
        return title;
    }
    let Some(n) = linked_number(link) else {
        return title;
    };
    let mut t = title;
    let marks = [format!("#{n}"), format!("!{n}")];
    if !marks.iter().any(|m| has_number(&t, m)) {
        t = format!("{t} #{n}");
    }
    if t.contains(": ") {
        return t;
    }
    let subject = input
        .content
        .and_then(|html| subject_from_html(html, link))
        .or_else(|| subject_from_description(input.id, input.summary, n));
    match subject {
        Some(s) => format!("{t}: {s}"),
        None => t,
    }
}

/// Whether `mark` ("#12") is in `t` as a whole number (not the start of "#123").
fn has_number(t: &str, mark: &str) -> bool {
    t.match_indices(mark)
        .any(|(i, _)| !t[i + mark.len()..].starts_with(|c: char| c.is_ascii_digit()))
}

/// GitHub: the text (or, for "owner/repo#12" texts, the `title` attribute) of the content's
/// link to the entry's issue or pull request.
fn subject_from_html(html: &str, link: &Url) -> Option<String> {
    let path = link.path().trim_end_matches('/');
    anchors(html).into_iter().find_map(|a| {
        let href = a.href.split(['#', '?']).next().unwrap_or("");
        let href_path = match href.find("://") {
            Some(i) => href[i + 3..].find('/').map_or("", |j| &href[i + 3 + j..]),
            None => href,
        };
        if href_path.trim_end_matches('/') != path {
            return None;
        }
        if !a.text.is_empty() && !is_reference(&a.text) {
            return Some(a.text);
        }
        a.title.filter(|t| !t.is_empty())
    })
}

/// Whether `s` is a bare reference such as "#12", "!12" or "owner/repo#12".
fn is_reference(s: &str) -> bool {
    match s.rfind(['#', '!']) {
        Some(i) => {
            let num = &s[i + 1..];
            !num.is_empty() && num.chars().all(|c| c.is_ascii_digit()) && !s[..i].contains(' ')
        }
        None => false,
    }
}

/// Forgejo/Gitea (guid "ACTION_ID: link"): the issue's title from the description's first
/// line, which is "12#Title" for new issues and pull requests and the bare title otherwise.
fn subject_from_description(id: &str, summary: Option<&str>, n: u64) -> Option<String> {
    let (action, _) = id.split_once(": ")?;
    if action.is_empty() || !action.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let first = summary?.lines().next()?.trim();
    let prefix = format!("{n}#");
    let first = first.strip_prefix(&prefix).unwrap_or(first);
    if first.starts_with('<') {
        return None;
    }
    Some(plain(first)).filter(|s| !s.is_empty())
}

/// Jira's "created TID-41 - Summary" said "created TID-41: Summary".
fn jira_title(title: &str) -> String {
    let words: Vec<&str> = title.split(' ').collect();
    match words
        .windows(2)
        .position(|w| jira_key(w[0]).is_some() && w[1] == "-")
    {
        Some(i) => {
            let mut out = words[..=i].join(" ");
            out.push(':');
            for w in &words[i + 2..] {
                out.push(' ');
                out.push_str(w);
            }
            out
        }
        None => title.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("test URL")
    }

    fn shaped(id: &str, title: &str, link: &str, content: Option<&str>) -> Shaped {
        let link = url(link);
        shape(&Input {
            id,
            title: title.to_string(),
            link: Some(&link),
            author: Some("ana-lima"),
            tag: None,
            content,
            summary: None,
        })
    }

    #[test]
    fn github_comment_titles() {
        // Shapes of GitHub's PullRequestReviewCommentEvent and CommitCommentEvent entries.
        let review = shaped(
            "tag:github.com,2008:PullRequestReviewCommentEvent/22036523558",
            "ana-lima commented on pull request o/r#3374",
            "https://github.com/o/r/pull/3374#discussion_r884158410",
            Some(
                "<a class=\"Link--primary text-bold\" title=\"Made toxins fire relative to the cell\" \
                 href=\"https://github.com/o/r/pull/3374#discussion_r884158410\">o/r#3374</a>",
            ),
        );
        assert_eq!(
            review.title,
            "commented on pull request #3374: Made toxins fire relative to the cell"
        );
        assert_eq!(review.kind.as_deref(), Some("review"));
        let commit = shaped(
            "tag:github.com,2008:CommitCommentEvent/22034699503",
            "ana-lima commented on commit o/r@2fc3f4d82c",
            "https://github.com/o/r/commit/2fc3f4d82c4de0e6d906a91f62f8d9f2b832c62c#r74792494",
            None,
        );
        assert_eq!(commit.title, "commented on commit 2fc3f4d82c");
        assert_eq!(
            (commit.project.as_deref(), commit.kind.as_deref()),
            (Some("o/r"), Some("comment"))
        );
        let no_subject = shaped(
            "tag:github.com,2008:PullRequestEvent/1",
            "ana-lima closed a pull request in o/r",
            "https://github.com/o/r/pull/7",
            Some("<a href=\"/o/r/pull/8\">Another one</a>"),
        );
        assert_eq!(no_subject.title, "closed pull request #7");
    }

    #[test]
    fn kinds_from_ids_and_verbs() {
        assert_eq!(
            kind("tag:github.com,2008:GollumEvent/1", "", Site::Forge, true).as_deref(),
            Some("wiki")
        );
        assert_eq!(
            kind("tag:github.com,2008:MemberEvent/1", "", Site::Forge, true).as_deref(),
            Some("member")
        );
        assert_eq!(
            kind("x", "accepted merge request !3: T", Site::GitLab, true).as_deref(),
            Some("merge")
        );
        assert_eq!(
            kind("x", "opened merge request !3: T", Site::GitLab, true).as_deref(),
            Some("pull request")
        );
        assert_eq!(
            kind("x", "closed issue #3: T", Site::GitLab, true).as_deref(),
            Some("issue")
        );
        assert_eq!(
            kind("x", "created wiki page Home", Site::GitLab, true).as_deref(),
            Some("wiki")
        );
        assert_eq!(
            kind(
                "x",
                "changed the status to Done on TID-3 - T",
                Site::Jira,
                true
            )
            .as_deref(),
            Some("issue")
        );
        assert_eq!(kind("x", "Notes from the retro", Site::Other, true), None);
        assert_eq!(
            kind("x", "Reviewed the guide with Bea", Site::Other, false),
            None
        );
        assert_eq!(
            kind("x", "reviewed the guide", Site::Other, true).as_deref(),
            Some("review")
        );
    }

    #[test]
    fn actor_is_taken_off_only_before_a_verb() {
        let strip = |t: &str, a: Option<&str>| strip_actor(t, a);
        assert_eq!(
            strip("Ana Lima pushed to main", Some("Ana Lima")).as_deref(),
            Some("pushed to main")
        );
        assert_eq!(
            strip("ANA LIMA Pushed", Some("Ana Lima")).as_deref(),
            Some("Pushed")
        );
        assert_eq!(strip("Ana Lima joins the team", Some("Ana Lima")), None);
        assert_eq!(strip("Ana Limas pushed", Some("Ana Lima")), None);
        assert_eq!(strip("Ana Lima", Some("Ana Lima")), None);
        assert_eq!(strip("Añ", Some("A\u{301}x")), None);
        assert_eq!(strip("pushed", None), None);
    }

    #[test]
    fn jira_summary_separator() {
        assert_eq!(
            jira_title("created TID-41 - Stream - the outbox"),
            "created TID-41: Stream - the outbox"
        );
        assert_eq!(jira_title("created a page"), "created a page");
    }

    #[test]
    fn numbers_are_whole() {
        assert!(has_number("closed #12: x", "#12"));
        assert!(!has_number("closed #123", "#12"));
    }
}
