//! The one look of pages and emails (`templates/theme.css`): its colours, type sizes and
//! pills. Pages use the file as it is (custom properties, dark mode by `prefers-color-scheme`);
//! mail clients ignore custom properties, so an email's CSS gets every `var(--name)` replaced
//! by its value here: the light value in its rules, the dark value inside its
//! `@media (prefers-color-scheme: dark)` block.

use std::collections::HashMap;
use std::sync::LazyLock;

/// The shared look, as written.
pub const THEME_CSS: &str = include_str!("../../templates/theme.css");

/// The values of the theme's custom properties: `(light, dark)`, each by name (without `--`).
struct Values {
    light: HashMap<String, String>,
    dark: HashMap<String, String>,
}

static VALUES: LazyLock<Values> = LazyLock::new(|| values(THEME_CSS));

/// Reads `--name: value;` lines: before the dark `@media` block they are light, inside it
/// dark (a name without a dark value keeps its light one).
fn values(css: &str) -> Values {
    let (mut light, mut dark) = (HashMap::new(), HashMap::new());
    let mut in_dark = false;
    for line in css.lines() {
        let l = line.trim();
        if l.starts_with("@media (prefers-color-scheme: dark)") {
            in_dark = true;
        }
        if let Some(rest) = l.strip_prefix("--")
            && let Some((name, value)) = rest.split_once(':')
        {
            let value = value.trim().trim_end_matches(';').trim().to_string();
            let into = if in_dark { &mut dark } else { &mut light };
            into.insert(name.trim().to_string(), value);
        }
    }
    Values { light, dark }
}

/// The rules of the theme that are not custom properties (the pills), as written, with
/// `var(...)` still in them.
pub fn shared_rules() -> String {
    THEME_CSS
        .lines()
        .filter(|l| l.starts_with('.'))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `css` with every `var(--name)` replaced by the theme's value: light outside a
/// `@media (prefers-color-scheme: dark)` block, dark inside it. An unknown name is a mistake
/// in a template, caught by the tests (left as written, which a mail client ignores).
pub fn resolve(css: &str) -> String {
    let v = &*VALUES;
    let mut out = String::with_capacity(css.len() + css.len() / 4);
    let mut depth_dark: Option<i32> = None;
    for line in css.lines() {
        if line
            .trim_start()
            .starts_with("@media (prefers-color-scheme: dark)")
        {
            depth_dark = Some(0);
        }
        let map = if depth_dark.is_some() {
            &v.dark
        } else {
            &v.light
        };
        out.push_str(&replace_vars(line, map, &v.light));
        out.push('\n');
        if let Some(d) = depth_dark.as_mut() {
            *d += line.matches('{').count() as i32 - line.matches('}').count() as i32;
            if *d <= 0 {
                depth_dark = None;
            }
        }
    }
    out
}

/// Each `var(--name)` of `css`: its byte range and the name.
fn vars(css: &str) -> impl Iterator<Item = (std::ops::Range<usize>, &str)> {
    css.match_indices("var(--").filter_map(|(i, _)| {
        let end = i + 6 + css[i + 6..].find(')')?;
        Some((i..end + 1, &css[i + 6..end]))
    })
}

/// `line` with each `var(--name)` that `map` (else `light`) names replaced by its value.
fn replace_vars(
    line: &str,
    map: &HashMap<String, String>,
    light: &HashMap<String, String>,
) -> String {
    let mut out = String::with_capacity(line.len());
    let mut at = 0;
    for (range, name) in vars(line) {
        if let Some(value) = map.get(name).or_else(|| light.get(name)) {
            out.push_str(&line[at..range.start]);
            out.push_str(value);
            at = range.end;
        }
    }
    out.push_str(&line[at..]);
    out
}

/// Every `var(--name)` of `css` that the theme does not define.
pub fn unknown_vars(css: &str) -> Vec<String> {
    vars(css)
        .filter(|(_, name)| !VALUES.light.contains_key(*name))
        .map(|(_, name)| name.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_theme_has_a_dark_value_for_every_colour() {
        let v = &*VALUES;
        assert!(v.light.len() >= 20, "{:?}", v.light.keys());
        for (name, value) in &v.light {
            if value.starts_with('#') {
                assert!(v.dark.contains_key(name), "--{name} has no dark value");
            }
        }
    }

    #[test]
    fn vars_become_light_values_and_dark_ones_inside_the_dark_block() {
        let css = ".a { color: var(--text); background: var(--blocker-bg); }\n\
                   @media (prefers-color-scheme: dark) {\n  .a { color: var(--text) !important; }\n}\n\
                   .b { color: var(--link); }";
        let out = resolve(css);
        assert_eq!(
            out,
            ".a { color: #1f2328; background: #fff1f0; }\n\
             @media (prefers-color-scheme: dark) {\n  .a { color: #e6edf3 !important; }\n}\n\
             .b { color: #0969da; }\n"
        );
        assert!(unknown_vars(css).is_empty());
        assert_eq!(unknown_vars("a { color: var(--nope); }"), ["nope"]);
        assert_eq!(
            resolve("a { color: var(--nope); }"),
            "a { color: var(--nope); }\n"
        );
    }

    #[test]
    fn the_pills_are_shared() {
        let r = shared_rules();
        for p in [
            ".pill ",
            ".pill-blocker",
            ".pill-resolved",
            ".pill-late",
            ".pill-edited",
        ] {
            assert!(r.contains(p), "{p}: {r}");
        }
        assert!(unknown_vars(&r).is_empty());
        assert!(!resolve(&r).contains("var("));
    }
}
