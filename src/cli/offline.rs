//! Commands that need no configuration or database: `reply extract` and `schedule next`.

use super::*;

pub(super) fn reply_extract(
    format: FormatArg,
    file: Option<&std::path::Path>,
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
    crate::outln!("{}", out.trim_end());
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
