//! Tidings: asynchronous stand-ups by email. One crate; dependencies point one way:
//! `domain` ← `config` ← `telemetry` / `store` / `render` / `mail` ← `jobs` ← `web` ← `app` ←
//! `cli` (checked by `tests/it/architecture.rs`).

/// `println!` for commands: exits quietly (status 0) when the reader of stdout has gone away
/// (`tidings member list | head`) instead of panicking on the broken pipe.
#[macro_export]
macro_rules! outln {
    () => {
        $crate::write_stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` for commands, with [`outln!`]'s handling of a closed pipe.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::write_stdout(format_args!($($arg)*))
    };
}

/// Writes to stdout for [`outln!`] and [`out!`]. A reader that went away ends the process
/// quietly with status 0; any other write error ends it with status 1 and a message.
#[doc(hidden)]
pub fn write_stdout(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to stdout: {e}");
        std::process::exit(1);
    }
}

pub mod app;
pub mod cli;
pub mod config;
pub mod domain;
pub mod fetch;
pub mod jobs;
pub mod mail;
pub mod render;
pub mod store;
pub mod telemetry;
pub mod web;
