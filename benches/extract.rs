//! Reply-extraction throughput (not a test): every input of the labelled corpora
//! (`../shared/corpora/replies/*/*/input.{txt,html,eml}`), extracted over and over on one core
//! for a few seconds. Prints `extract_per_s`.
//!
//!   cargo bench --bench extract -- [--corpus DIR] [--seconds 3]

#[path = "support/mod.rs"]
mod support;

use std::path::PathBuf;
use std::time::Instant;

use support::arg;
use tidings::mail::extract::{detect_format, extract};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let root = arg(&args, "--corpus")
        .map(PathBuf::from)
        .unwrap_or_else(support::corpus_dir);
    let seconds: f64 = arg(&args, "--seconds")
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(3.0);
    let cases = support::corpus_inputs(&root)?;
    anyhow::ensure!(
        !cases.is_empty(),
        "no input.* files under {}",
        root.display()
    );
    let bytes: usize = cases.iter().map(Vec::len).sum();
    // Warm up once, then run whole rounds until the time is up.
    let mut sink = 0usize;
    for c in &cases {
        sink += extract(c, detect_format(c)).len();
    }
    let t = Instant::now();
    let mut done = 0usize;
    while t.elapsed().as_secs_f64() < seconds {
        for c in &cases {
            sink += extract(c, detect_format(c)).len();
        }
        done += cases.len();
    }
    let secs = t.elapsed().as_secs_f64();
    eprintln!(
        "{} cases ({} KB) from {}, {done} extractions in {secs:.2} s (checksum {sink})",
        cases.len(),
        bytes / 1024,
        root.display()
    );
    println!("extract_per_s {:.0} replies/s", done as f64 / secs);
    println!(
        "extract_mb_per_s {:.1} MB/s",
        (done as f64 / cases.len() as f64) * bytes as f64 / secs / 1e6
    );
    Ok(())
}
