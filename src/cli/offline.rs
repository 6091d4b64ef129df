//! Commands that need no configuration or database: `reply extract` and `schedule next`.

use super::*;

/// How `reply extract` prints what it kept.
#[derive(Debug, Clone, Copy)]
pub(super) enum Shape {
    /// The kept text as it is (what the corpus scorer reads).
    Text,
    /// The text as its sections, the way receipts and digests show them.
    Sections,
    /// `{"text": …, "sections": […]}`.
    Json,
}

pub(super) fn reply_extract(
    format: FormatArg,
    file: Option<&std::path::Path>,
    shape: Shape,
) -> anyhow::Result<()> {
    let mut input = Vec::new();
    match file {
        Some(p) if p.as_os_str() != "-" => {
            input =
                std::fs::read(p).map_err(|e| usage(format!("cannot read {}: {e}", p.display())))?;
        }
        _ => {
            std::io::stdin()
                .read_to_end(&mut input)
                .context("cannot read standard input")?;
        }
    }
    let f = match format {
        FormatArg::Auto => extract::Format::Auto,
        FormatArg::Eml => extract::Format::Eml,
        FormatArg::Text => extract::Format::Text,
        FormatArg::Html => extract::Format::Html,
    };
    let out = extract::extract(&input, f);
    let out = out.trim_end();
    // Read with the default questions and labels: a file carries no team.
    let sections = || crate::domain::sections::split(out, &[]);
    match shape {
        Shape::Text => crate::outln!("{out}"),
        Shape::Sections => crate::outln!("{}", crate::domain::sections::to_text(&sections())),
        Shape::Json => crate::outln!(
            "{}",
            serde_json::json!({ "text": out, "sections": sections() })
        ),
    }
    Ok(())
}

pub(super) fn schedule_next(
    tz: &str,
    at: &str,
    days: Option<&str>,
    after: &str,
    count: usize,
) -> anyhow::Result<()> {
    let tz = parse_tz(tz).map_err(|e| usage(e.to_string()))?;
    let at = LocalTime::parse(at).map_err(|e| usage(format!("--at: {e}")))?;
    let days = match days {
        Some(d) => Workdays::parse(d).map_err(|e| usage(format!("--days: {e}")))?,
        None => Workdays::default(),
    };
    let after = parse_rfc3339(after, "--after")?;
    let s = Schedule { tz, at, days };
    for t in s.next_n(after, count) {
        crate::outln!("{}", t.format("%Y-%m-%dT%H:%M:%SZ"));
    }
    Ok(())
}
