//! Logging setup: human-readable by default (colours only on a terminal), one JSON object per
//! line when asked (`--log-format json`, `log.format = "json"`). Secrets never reach a log
//! line: config types redact themselves.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

pub fn init(format: LogFormat, level: &str) {
    let filter = EnvFilter::try_from_env("TIDINGS_LOG").unwrap_or_else(|_| EnvFilter::new(level));
    let json = match format {
        LogFormat::Json => true,
        LogFormat::Human => false,
        LogFormat::Auto => false,
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder
            .with_ansi(colour(std::io::stderr().is_terminal()))
            .try_init()
    };
}

/// Process-local counters that `/metrics` reports beside what the database knows (the
/// database holds mail and reply counts; only the running process knows how long its ticks took).
#[derive(Debug, Default)]
pub struct Metrics {
    ticks: std::sync::atomic::AtomicU64,
    tick_micros_total: std::sync::atomic::AtomicU64,
    last_tick_micros: std::sync::atomic::AtomicU64,
    suppressed_reply_mail: std::sync::atomic::AtomicU64,
}

impl Metrics {
    /// Records one planning-and-sending pass.
    pub fn record_tick(&self, took: std::time::Duration) {
        use std::sync::atomic::Ordering::Relaxed;
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.ticks.fetch_add(1, Relaxed);
        self.tick_micros_total.fetch_add(us, Relaxed);
        self.last_tick_micros.store(us, Relaxed);
    }

    /// Counts a receipt or notice not sent because its address reached
    /// `mail.inbound.receipts_per_hour`.
    pub fn suppressed_reply_mail(&self) {
        self.suppressed_reply_mail
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Receipts and notices not sent for the hourly limit, since this process started.
    pub fn suppressed_reply_mail_count(&self) -> u64 {
        self.suppressed_reply_mail
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// (passes so far, their total seconds, the last one's seconds).
    pub fn ticks(&self) -> (u64, f64, f64) {
        use std::sync::atomic::Ordering::Relaxed;
        (
            self.ticks.load(Relaxed),
            self.tick_micros_total.load(Relaxed) as f64 / 1e6,
            self.last_tick_micros.load(Relaxed) as f64 / 1e6,
        )
    }
}

/// Colours in the logs: on a terminal, unless `NO_COLOR` is set to anything but "" (no-color.org).
fn colour(terminal: bool) -> bool {
    terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
