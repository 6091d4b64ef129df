//! The command line described for readers, from clap's own description of it so that it says
//! what `--help` says: the manual's command reference (`docs/src/reference/commands.md`; a test
//! compares the file with what this makes, `TIDINGS_WRITE_DOCS=1 cargo test --lib
//! cli::reference` writes it), the man pages and the shell completions.

use std::path::Path;

use anyhow::Context;
use clap::{Arg, Command, CommandFactory};

use super::Cli;

/// `tidings completions SHELL`: the completion script on stdout.
pub fn completions(shell: clap_complete::Shell) -> anyhow::Result<()> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "tidings", &mut out);
    crate::out!("{}", String::from_utf8_lossy(&out));
    Ok(())
}

/// `tidings man DIR`: `tidings.1` and a page per command (`tidings-member-add.1`), written
/// into `dir`.
pub fn man_pages(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    clap_mangen::generate_to(Cli::command(), dir)
        .with_context(|| format!("cannot write the man pages into {}", dir.display()))?;
    Ok(())
}

/// The whole reference page for `cli` (the built command: `Cli::command()`).
pub fn markdown(cli: &Command) -> String {
    let mut cli = cli.clone();
    cli.build();
    let mut out = String::from(
        "# Commands\n\n\
         <!-- Written from the command line's own definition (src/cli/args.rs) by \
         src/cli/reference.rs; do not edit by hand: run \
         `TIDINGS_WRITE_DOCS=1 cargo test --lib cli::reference`. -->\n\n\
         Every command and option of `tidings`, as `tidings help` and `--help` give them. \
         Options marked *global* may be given to any command.\n\n",
    );
    let mut path = Vec::new();
    section(&cli, &mut path, &mut out);
    out
}

/// One command's section, then its subcommands', depth first.
fn section(cmd: &Command, path: &mut Vec<String>, out: &mut String) {
    path.push(cmd.get_name().to_string());
    let name = path.join(" ");
    let level = "#".repeat(path.len().min(5) + 1);
    out.push_str(&format!("{level} `{name}`\n\n"));
    if let Some(about) = cmd.get_long_about().or(cmd.get_about()) {
        out.push_str(&format!("{}\n\n", sentence(&about.to_string())));
    }
    let usage = cmd.clone().render_usage().to_string();
    let usage = usage.trim().trim_start_matches("Usage:").trim();
    out.push_str(&format!("```text\n{usage}\n```\n\n"));
    let args: Vec<&Arg> = cmd
        .get_arguments()
        .filter(|a| !(a.is_hide_set() || is_builtin(a) || (path.len() > 1 && a.is_global_set())))
        .collect();
    if !args.is_empty() {
        out.push_str("| argument | what it does |\n|---|---|\n");
        for a in args {
            out.push_str(&format!("| {} | {} |\n", spelling(a), cell(&help(a))));
        }
        out.push('\n');
    }
    // Not clap's own `help` command, which every command with subcommands has.
    for sub in cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        section(sub, path, out);
    }
    path.pop();
}

/// `--help` and `--version`, which every command has.
fn is_builtin(a: &Arg) -> bool {
    matches!(a.get_id().as_str(), "help" | "version")
}

/// How an argument is written: `--digest-at <HH:MM>`, `-n, --name <NAME>`, `<EMAIL>`.
fn spelling(a: &Arg) -> String {
    let values: Vec<String> = a
        .get_value_names()
        .map(|v| v.iter().map(|n| format!("<{n}>")).collect())
        .unwrap_or_else(|| {
            if a.get_action().takes_values() {
                vec![format!("<{}>", a.get_id().as_str().to_uppercase())]
            } else {
                Vec::new()
            }
        });
    let values = values.join(" ");
    if a.is_positional() {
        return format!("`{values}`");
    }
    let mut names = Vec::new();
    if let Some(s) = a.get_short() {
        names.push(format!("-{s}"));
    }
    if let Some(l) = a.get_long() {
        names.push(format!("--{l}"));
    }
    let flag = names.join(", ");
    if values.is_empty() {
        format!("`{flag}`")
    } else {
        format!("`{flag} {values}`")
    }
}

/// An argument's help, then what it accepts, its default, its variable and whether it is global.
fn help(a: &Arg) -> String {
    let mut s = a
        .get_long_help()
        .or(a.get_help())
        .map(|h| sentence(&h.to_string()))
        .unwrap_or_default();
    let possible: Vec<String> = a
        .get_possible_values()
        .iter()
        .filter(|p| !p.is_hide_set())
        .map(|p| format!("`{}`", p.get_name()))
        .collect();
    if !possible.is_empty() && a.get_action().takes_values() {
        s.push_str(&format!(" One of {}.", possible.join(", ")));
    }
    let defaults: Vec<String> = a
        .get_default_values()
        .iter()
        .map(|d| format!("`{}`", d.to_string_lossy()))
        .collect();
    if !defaults.is_empty() {
        s.push_str(&format!(" Default: {}.", defaults.join(", ")));
    }
    if let Some(env) = a.get_env() {
        s.push_str(&format!(" Also from `${}`.", env.to_string_lossy()));
    }
    if a.is_required_set() && !a.is_positional() {
        s.push_str(" Required.");
    }
    if a.is_global_set() {
        s.push_str(" *Global.*");
    }
    s.trim().to_string()
}

/// `s` trimmed and ending as a sentence does (clap drops the full stop of a one-line help).
fn sentence(s: &str) -> String {
    let s = s.trim();
    match s.chars().last() {
        None => String::new(),
        Some('.' | '!' | '?' | ':') => s.to_string(),
        _ => format!("{s}."),
    }
}

/// Text made fit for one table cell: one line, pipes escaped.
fn cell(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;
    use crate::cli::Cli;

    const PAGE: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/src/reference/commands.md"
    );

    #[test]
    fn the_manuals_command_reference_is_what_clap_says() {
        let made = markdown(&Cli::command());
        if std::env::var_os("TIDINGS_WRITE_DOCS").is_some()
            && let Err(e) = std::fs::write(PAGE, &made)
        {
            panic!("cannot write {PAGE}: {e}");
        }
        let kept = std::fs::read_to_string(PAGE).unwrap_or_default();
        assert!(
            kept == made,
            "{PAGE} is not what the command line says; write it again with \
             `TIDINGS_WRITE_DOCS=1 cargo test --lib cli::reference` and commit it"
        );
    }

    #[test]
    fn every_command_and_option_is_in_the_reference() {
        let made = markdown(&Cli::command());
        let mut missing = Vec::new();
        walk(&Cli::command(), &mut Vec::new(), &mut |path, cmd| {
            if path.last().is_some_and(|n| n == "help") {
                return;
            }
            if !made.contains(&format!("`{}`", path.join(" "))) {
                missing.push(path.join(" "));
            }
            for a in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
                if let Some(l) = a.get_long()
                    && !made.contains(&format!("--{l}"))
                {
                    missing.push(format!("{} --{l}", path.join(" ")));
                }
            }
        });
        assert!(missing.is_empty(), "not in the reference: {missing:?}");
    }

    #[test]
    fn man_pages_come_one_per_command_and_name_their_options() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        man_pages(dir.path()).unwrap_or_else(|e| panic!("man pages: {e:#}"));
        let page = |name: &str| {
            std::fs::read_to_string(dir.path().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
        };
        assert!(page("tidings.1").contains(".TH tidings 1"));
        let add = page("tidings-member-add.1");
        // roff writes each '-' of an option as "\-".
        assert!(add.contains(r"\fB\-\-digest\-at\fR \fI<HH:MM>\fR"), "{add}");
        assert!(
            !dir.path().join("tidings-man.1").exists(),
            "the hidden command has no page"
        );
    }

    #[test]
    fn completions_complete_commands_in_every_shell() {
        for shell in [
            clap_complete::Shell::Bash,
            clap_complete::Shell::Zsh,
            clap_complete::Shell::Fish,
        ] {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "tidings", &mut out);
            let script = String::from_utf8_lossy(&out);
            for word in ["member", "digest-at", "quarantine"] {
                assert!(script.contains(word), "{shell:?} completion lacks {word}");
            }
        }
    }

    fn walk(cmd: &Command, path: &mut Vec<String>, f: &mut dyn FnMut(&[String], &Command)) {
        path.push(cmd.get_name().to_string());
        f(path, cmd);
        for s in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            walk(s, path, f);
        }
        path.pop();
    }
}
