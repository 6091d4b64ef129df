//! Which entries stay out of a draft: automated ones (bots, dependency updates) unless the
//! rules say otherwise, and the ones a member muted (`activity mute X`).
//!
//! Author rules are case-insensitive substrings of the entry's author. Title rules are
//! case-insensitive too, in two forms:
//! * without `*`: a substring of the title ("chore(deps" matches "chore(deps): …" and
//!   "chore(deps-dev): …");
//! * with `*`: a run of words, `*` standing for exactly one word and any other word matching
//!   a whole word. "bump * from * to *" matches "Bump serde from 1.0.210 to 1.0.215" and
//!   "merged pull request #9: Bump serde from 1.0.210 to 1.0.215", but not "Fix bump in chart
//!   axis" nor "Bump version to 2.0".
//!
//! Blank rules, and patterns made only of `*`, are ignored (they would match everything).

use super::Entry;

/// Authors whose entries are automated, matched case-insensitively as substrings: documented
/// defaults.
///
/// `[bot]` is how GitHub and Forgejo name app accounts (`dependabot[bot]`,
/// `github-actions[bot]`, `renovate[bot]`); the others are the usual self-named CI and
/// dependency bots. No bare surname-like word ("jenkins" would also match a human "Sam
/// Jenkins", and a member's own feed names them as the author of every entry): Jenkins and
/// Snyk post as `jenkins-bot` / `snyk-bot`. An operator changes the list with
/// `activity.bot_authors`.
pub const DEFAULT_BOT_AUTHORS: &[&str] = &[
    "[bot]",
    "dependabot",
    "renovate",
    "github-actions",
    "gitlab-ci",
    "forgejo-actions",
    "gitea-actions",
    "jenkins-bot",
    "snyk-bot",
    "greenkeeper",
    "pre-commit-ci",
    "mergify",
    "imgbot",
    "allcontributors",
    "semantic-release-bot",
    "weblate",
];

/// Title fragments that mark automated entries (case-insensitive; see the module docs for the
/// `*` word patterns). Chosen to match what bots write and not ordinary human titles:
/// * Dependabot: "Bump x from a to b", "Bump the cargo group with 3 updates", and the
///   conventional-commit prefixes "chore(deps", "build(deps" (also `-dev`);
/// * Renovate: "fix(deps", "Update dependency x to v2", "Update Rust crate x to v1.2",
///   "Update module x", "Update all non-major dependencies", "Lock file maintenance",
///   "Pin dependencies";
/// * CI and release bots: `[skip ci]`, `[ci skip]`, `[automated]`, `[pre-commit.ci]`;
/// * Weblate: "Translated using Weblate", "Translations update from".
///
/// Bare words such as "bump", "automated" or "update" are not rules: "Fix bump in chart
/// axis" and "Automated the release checklist" are human work.
pub const DEFAULT_BOT_TITLES: &[&str] = &[
    "bump * from * to *",
    "bump the * group",
    "chore(deps",
    "build(deps",
    "fix(deps",
    "update dependency ",
    "update rust crate ",
    "update module ",
    "update all non-major dependencies",
    "lock file maintenance",
    "pin dependencies",
    "[skip ci]",
    "[ci skip]",
    "[automated]",
    "[pre-commit.ci]",
    "translated using weblate",
    "translations update from",
];

/// The rules that mark entries as automated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoiseRules {
    /// Author substrings (case-insensitive).
    pub authors: Vec<String>,
    /// Title substrings or `*` word patterns (case-insensitive).
    pub titles: Vec<String>,
}

impl NoiseRules {
    /// The default rules: [`DEFAULT_BOT_AUTHORS`] and [`DEFAULT_BOT_TITLES`].
    pub fn defaults() -> NoiseRules {
        NoiseRules {
            authors: DEFAULT_BOT_AUTHORS.iter().map(|s| s.to_string()).collect(),
            titles: DEFAULT_BOT_TITLES.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// No rules: nothing is automated.
    pub fn none() -> NoiseRules {
        NoiseRules {
            authors: Vec::new(),
            titles: Vec::new(),
        }
    }
}

impl Default for NoiseRules {
    fn default() -> Self {
        NoiseRules::defaults()
    }
}

/// Whether `e` is automated: its author matches an author rule or its title a title rule.
pub fn is_automated(e: &Entry, rules: &NoiseRules) -> bool {
    let by_author = e.author.as_deref().is_some_and(|a| {
        let a = a.to_lowercase();
        rules
            .authors
            .iter()
            .map(|r| r.trim().to_lowercase())
            .any(|r| !r.is_empty() && a.contains(&r))
    });
    by_author || rules.titles.iter().any(|r| title_matches(&e.title, r))
}

/// Whether `title` matches the title rule `rule` (see the module docs).
fn title_matches(title: &str, rule: &str) -> bool {
    let rule = rule.to_lowercase();
    if rule.trim().is_empty() {
        return false;
    }
    let title = title.to_lowercase();
    if !rule.contains('*') {
        return title.contains(&rule);
    }
    let pattern: Vec<&str> = rule.split_whitespace().collect();
    if pattern.iter().all(|p| *p == "*") {
        return false;
    }
    let words: Vec<&str> = title.split_whitespace().collect();
    words.windows(pattern.len()).any(|w| {
        w.iter()
            .zip(&pattern)
            .all(|(word, p)| *p == "*" || word == p)
    })
}

/// A member's mute (`activity mute X`): X matches an entry when X equals its project
/// (case-insensitive), or is a prefix of it ending at '/' (muting "tidings" mutes
/// "tidings/docs" when "tidings" is an owner/group), or equals its kind ("push", "star",
/// "pull request").
pub fn is_muted(e: &Entry, mutes: &[String]) -> bool {
    let project = e.project.as_deref().map(str::to_lowercase);
    let kind = e.kind.as_deref().map(words);
    mutes.iter().any(|m| {
        let m = words(m);
        let m = m.trim_end_matches('/');
        if m.is_empty() {
            return false;
        }
        let by_project = project
            .as_deref()
            .is_some_and(|p| p == m || p.strip_prefix(m).is_some_and(|rest| rest.starts_with('/')));
        by_project || kind.as_deref() == Some(m)
    })
}

/// `s` lower-cased with runs of whitespace made one space.
fn words(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(
        title: &str,
        author: Option<&str>,
        project: Option<&str>,
        kind: Option<&str>,
    ) -> Entry {
        Entry {
            key: title.to_string(),
            title: title.to_string(),
            link: None,
            project: project.map(str::to_string),
            kind: kind.map(str::to_string),
            author: author.map(str::to_string),
            at: None,
        }
    }

    #[test]
    fn bot_authors() {
        let rules = NoiseRules::defaults();
        for a in [
            "dependabot[bot]",
            "github-actions[bot]",
            "Renovate Bot",
            "GitLab-CI",
            "snyk-bot",
        ] {
            assert!(
                is_automated(&entry("pushed to main", Some(a), None, None), &rules),
                "{a}"
            );
        }
        for a in ["ana-lima", "Ana Lima", "Bea Botelho"] {
            assert!(
                !is_automated(&entry("pushed to main", Some(a), None, None), &rules),
                "{a}"
            );
        }
    }

    #[test]
    fn bot_titles() {
        let rules = NoiseRules::defaults();
        let bots = [
            "Bump serde from 1.0.210 to 1.0.215",
            "merged pull request #209: Bump serde from 1.0.210 to 1.0.215 in /tools",
            "Bump the cargo group with 3 updates",
            "chore(deps-dev): update eslint",
            "build(deps): bump tokio",
            "Update Rust crate lettre to v0.11.11",
            "Update dependency typescript to v5.7.2",
            "chore(release): 1.4.0 [skip ci]",
            "Translated using Weblate (German)",
            "Lock file maintenance",
        ];
        for t in bots {
            assert!(
                is_automated(&entry(t, Some("ana-lima"), None, None), &rules),
                "{t}"
            );
        }
        let people = [
            "Fix bump in chart axis",
            "Bump version to 2.0",
            "Automated the release checklist",
            "Update the dependency graph docs",
            "opened pull request #212: Stream the outbox",
            "bump",
        ];
        for t in people {
            assert!(
                !is_automated(&entry(t, Some("ana-lima"), None, None), &rules),
                "{t}"
            );
        }
    }

    #[test]
    fn blank_rules_match_nothing() {
        let rules = NoiseRules {
            authors: vec![" ".into(), String::new()],
            titles: vec!["".into(), " * ".into()],
        };
        assert!(!is_automated(
            &entry("anything", Some("anyone"), None, None),
            &rules
        ));
        assert!(!is_automated(
            &entry("anything", Some("dependabot"), None, None),
            &NoiseRules::none()
        ));
    }

    #[test]
    fn mutes() {
        let e = entry(
            "pushed to main",
            None,
            Some("tidings/docs"),
            Some("pull request"),
        );
        let m = |s: &[&str]| is_muted(&e, &s.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert!(m(&["Tidings/Docs"]));
        assert!(m(&["tidings"]));
        assert!(m(&["tidings/"]));
        assert!(m(&["pull  Request"]));
        assert!(!m(&["tid"]));
        assert!(!m(&["tidings/docs/site"]));
        assert!(!m(&["pull"]));
        assert!(!m(&["", "  "]));
        assert!(!m(&[]));
    }
}
