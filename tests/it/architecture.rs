//! The dependency chain the manual draws (docs/src/development/architecture.md), checked on
//! the source itself: every `crate::…` path in a module under `src/` must name a module that
//! module may depend on.
//!
//! ```text
//! domain ← config ← telemetry
//!                 ← store / render / mail / fetch ← jobs ← web ← app ← cli
//! ```
//!
//! Paths are read from the text (comments and string literals removed), so `use crate::{a, b::c}`
//! groups and inline paths such as `crate::jobs::plan::run(…)` both count.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// What each top-level module may name through `crate::`. A module always may name itself
/// and the crate root's macros (`outln!`, `out!`).
const ALLOWED: &[(&str, &[&str])] = &[
    ("domain", &[]),
    ("config", &["domain"]),
    ("telemetry", &["domain", "config"]),
    ("store", &["domain", "config"]),
    ("render", &["domain", "config"]),
    ("mail", &["domain", "config"]),
    ("fetch", &["domain", "config"]),
    (
        "jobs",
        &[
            "domain",
            "config",
            "telemetry",
            "store",
            "render",
            "mail",
            "fetch",
        ],
    ),
    (
        "web",
        &[
            "domain",
            "config",
            "telemetry",
            "store",
            "render",
            "mail",
            "fetch",
            "jobs",
        ],
    ),
    (
        "app",
        &[
            "domain",
            "config",
            "telemetry",
            "store",
            "render",
            "mail",
            "fetch",
            "jobs",
            "web",
        ],
    ),
    (
        "cli",
        &[
            "domain",
            "config",
            "telemetry",
            "store",
            "render",
            "mail",
            "fetch",
            "jobs",
            "web",
            "app",
        ],
    ),
];

fn allowed(module: &str) -> Option<&'static [&'static str]> {
    ALLOWED.iter().find(|(m, _)| *m == module).map(|(_, a)| *a)
}

/// The source with `//` and `/* */` comments and the contents of string and char literals
/// blanked out, so only code is scanned.
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let mut depth = 0;
                while i < b.len() {
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
            }
            b'r' if matches!(b.get(i + 1), Some(b'"') | Some(b'#'))
                && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')) =>
            {
                // raw string r"…" / r#"…"#
                let mut j = i + 1;
                let mut hashes = 0;
                while b.get(j) == Some(&b'#') {
                    hashes += 1;
                    j += 1;
                }
                if b.get(j) != Some(&b'"') {
                    out.push('r');
                    i += 1;
                    continue;
                }
                j += 1;
                loop {
                    if j >= b.len() {
                        break;
                    }
                    if b[j] == b'"'
                        && b[j + 1..]
                            .iter()
                            .take(hashes)
                            .filter(|&&c| c == b'#')
                            .count()
                            == hashes
                    {
                        j += 1 + hashes;
                        break;
                    }
                    j += 1;
                }
                out.push_str("\"\"");
                i = j;
            }
            b'\'' => {
                // a char literal ('"', '\'', '…') is blanked; a lifetime ('a) is kept
                let rest = &src[i + 1..];
                let mut chars = rest.char_indices();
                match (chars.next(), chars.next()) {
                    (Some((_, '\\')), _) => {
                        let close = rest[2..].find('\'').map_or(rest.len(), |k| k + 3);
                        out.push_str("' '");
                        i += 1 + close;
                    }
                    (Some(_), Some((k, '\''))) => {
                        out.push_str("' '");
                        i += 1 + k + 1;
                    }
                    _ => {
                        out.push('\'');
                        i += 1;
                    }
                }
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
                out.push_str("\"\"");
            }
            c => {
                // Multi-byte UTF-8 stays intact: only ASCII bytes are special above.
                let len = utf8_len(c);
                out.push_str(&src[i..i + len]);
                i += len;
            }
        }
    }
    out
}

fn utf8_len(first: u8) -> usize {
    match first {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

fn ident_at(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The first path segment after every `crate::` in `code` (each top-level item of a
/// `crate::{…}` group counts).
fn crate_paths(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        if matches!(before, Some(c) if c.is_ascii_alphanumeric() || c == '_' || c == '$') {
            continue; // `$crate::` in a macro, or an identifier ending in "crate"
        }
        let tail = rest.trim_start();
        if let Some(group) = tail.strip_prefix('{') {
            let mut depth = 0usize;
            let mut item_start = true;
            for (k, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && !c.is_whitespace() => {
                        item_start = false;
                        let id = ident_at(&group[k..]);
                        if !id.is_empty() {
                            found.insert(id.to_string());
                        }
                    }
                    _ => {}
                }
            }
        } else {
            let id = ident_at(tail);
            if !id.is_empty() {
                found.insert(id.to_string());
            }
        }
    }
    found
}

/// Wrong-way imports in one file of `module`: (named module, why).
fn violations(module: &str, src: &str) -> Vec<String> {
    let Some(ok) = allowed(module) else {
        return vec![format!(
            "module `{module}` is not in the chain (add it to ALLOWED)"
        )];
    };
    crate_paths(&code_only(src))
        .into_iter()
        .filter(|name| name != module && allowed(name).is_some() && !ok.contains(&name.as_str()))
        .map(|name| format!("`{module}` imports `crate::{name}`"))
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src/") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn imports_follow_the_chain() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut problems = Vec::new();
    let mut modules = BTreeSet::new();
    for file in &files {
        let rel = file.strip_prefix(&src).expect("under src/");
        let first = rel
            .components()
            .next()
            .expect("a path")
            .as_os_str()
            .to_string_lossy();
        let module = first.trim_end_matches(".rs").to_string();
        if module == "lib" || module == "main" {
            continue;
        }
        modules.insert(module.clone());
        let text = std::fs::read_to_string(file).expect("read a source file");
        for v in violations(&module, &text) {
            problems.push(format!("{}: {v}", rel.display()));
        }
    }
    assert!(
        problems.is_empty(),
        "imports against the chain in docs/src/development/architecture.md:\n{}",
        problems.join("\n")
    );
    // Every module in the chain still exists (a renamed module must be renamed here too).
    for (m, _) in ALLOWED {
        assert!(
            modules.contains(*m),
            "src/{m} is in ALLOWED but not in src/"
        );
    }
}

#[test]
fn the_check_sees_a_wrong_way_import() {
    // Each form a wrong-way dependency can take is caught…
    assert_eq!(
        violations("store", "use crate::jobs::plan::Planned;"),
        ["`store` imports `crate::jobs`"]
    );
    assert_eq!(
        violations(
            "mail",
            "use crate::{\n    config::Config,\n    store::{Store, Cursor},\n};"
        ),
        ["`mail` imports `crate::store`"]
    );
    assert_eq!(
        violations("config", "fn f() { let x = crate::mail::parse(y); }"),
        ["`config` imports `crate::mail`"]
    );
    // …and what is allowed, commented out or quoted is not.
    assert!(
        violations(
            "jobs",
            "use crate::{store::Store, mail::Outgoing, jobs::Ctx};"
        )
        .is_empty()
    );
    assert!(violations("store", "// use crate::web::Router;\n/* crate::jobs */").is_empty());
    assert!(
        violations(
            "store",
            r#"let s = "crate::web::x"; let r = r"crate::cli";"#
        )
        .is_empty()
    );
    assert!(
        violations(
            "store",
            "let q = '\"'; use crate::domain::X; let e = '\\'';"
        )
        .is_empty()
    );
    assert_eq!(
        violations("store", "fn f<'a>(x: &'a str) { crate::web::x(x) }"),
        ["`store` imports `crate::web`"]
    );
    assert!(violations("render", "$crate::write_stdout(x); crate::outln!()").is_empty());
}

/// Routes are added only as `Routes::add(routes!(handler))` (`src/web/mod.rs`), which takes
/// each handler's method and path from its `#[utoipa::path]` and documents it: nothing in
/// `src/` may build axum routes another way, and every annotated handler is registered.
#[test]
fn every_route_is_documented_and_every_documented_handler_is_routed() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut problems = Vec::new();
    let (mut annotated, mut registered) = (Vec::new(), 0usize);
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read a source file");
        let code = code_only(&text);
        let rel = file
            .strip_prefix(&src)
            .expect("under src/")
            .display()
            .to_string();
        for banned in [
            "axum::routing",
            ".route(",
            ".route_service(",
            ".nest(",
            ".nest_service(",
            ".merge(",
        ] {
            if code.contains(banned) {
                problems.push(format!(
                    "{rel}: `{banned}` adds a route the document cannot see"
                ));
            }
        }
        let mut rest = code.as_str();
        while let Some(at) = rest.find("#[utoipa::path(") {
            rest = &rest[at + 1..];
            let after = &rest[rest.find(")]").map_or(0, |k| k + 2)..];
            let name = after
                .split("fn ")
                .nth(1)
                .map(|s| ident_at(s).to_string())
                .unwrap_or_default();
            annotated.push(name);
        }
        let mut rest = code.as_str();
        while let Some(at) = rest.find("routes!(") {
            rest = &rest[at + "routes!(".len()..];
            let group = &rest[..rest.find(')').unwrap_or(0)];
            registered += group.split(',').filter(|h| !h.trim().is_empty()).count();
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(annotated.len() >= 20, "annotated handlers: {annotated:?}");
    assert_eq!(
        registered,
        annotated.len(),
        "handlers registered with routes!() vs annotated with #[utoipa::path]: {annotated:?}"
    );
}
