//! A team's updates exported as CSV, JSON or Markdown (`tidings export`, and the API's
//! `/api/v1/teams/{team}/export`): oldest first, one record per update, its answers by section.

use serde::Serialize;

use chrono::NaiveDate;

#[cfg(test)]
use crate::domain::rfc3339;
use crate::domain::sections::{Kind, Section};

/// The formats an export is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Json,
    Md,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "csv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            "md" => Some(Format::Md),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8; header=present",
            Format::Json => "application/json",
            Format::Md => "text/markdown; charset=utf-8",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Md => "md",
        }
    }
}

/// One update as exported to JSON.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct ExportedUpdate {
    pub id: i64,
    /// The local date the update is for (`YYYY-MM-DD`).
    #[schema(value_type = String, format = Date)]
    pub date: NaiveDate,
    pub author: String,
    pub email: String,
    pub revision: i64,
    /// When it was first and last written (RFC 3339, UTC).
    pub created_at: String,
    pub updated_at: String,
    pub sections: Vec<Section>,
    /// The text as written.
    pub text: String,
    /// The check-in it answers; absent for the daily stand-up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkin: Option<String>,
}

/// The columns of a CSV export, in order.
pub const CSV_COLUMNS: [&str; 11] = [
    "date",
    "author",
    "email",
    "done",
    "next",
    "blockers",
    "other",
    "revision",
    "updated_at",
    "id",
    "checkin",
];

/// `updates` (oldest first) in `format`; `team` titles the Markdown.
pub fn export(team: &str, updates: &[ExportedUpdate], format: Format) -> String {
    match format {
        Format::Csv => csv(updates),
        Format::Json => {
            let mut s = serde_json::to_string_pretty(updates).unwrap_or_else(|_| "[]".into());
            s.push('\n');
            s
        }
        Format::Md => markdown(team, updates),
    }
}

/// The text of every section of `kind`, blank-line separated, labels that are not the
/// kind's own kept in front ("Risks: …" under other).
fn of_kind(sections: &[Section], kind: Kind) -> String {
    sections
        .iter()
        .filter(|s| s.kind == kind)
        .map(|s| match (&s.label, kind) {
            (Some(l), Kind::Other) => format!("{l}: {}", s.text),
            _ => s.text.clone(),
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// RFC 4180: every field quoted, quotes doubled, CRLF between records. A field that starts
/// with `=`, `+`, `-`, `@`, tab or CR gets a leading apostrophe inside the quotes, so a
/// spreadsheet shows it instead of running it as a formula (OWASP "CSV injection").
fn csv(updates: &[ExportedUpdate]) -> String {
    let field = |s: &str| {
        let guarded = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            format!("'{s}")
        } else {
            s.to_string()
        };
        format!("\"{}\"", guarded.replace('"', "\"\""))
    };
    let mut out = CSV_COLUMNS.map(field).join(",");
    out.push_str("\r\n");
    for u in updates {
        let row = [
            u.date.to_string(),
            u.author.clone(),
            u.email.clone(),
            of_kind(&u.sections, Kind::Done),
            of_kind(&u.sections, Kind::Next),
            of_kind(&u.sections, Kind::Blockers),
            of_kind(&u.sections, Kind::Other),
            u.revision.to_string(),
            u.updated_at.clone(),
            u.id.to_string(),
            u.checkin.clone().unwrap_or_default(),
        ];
        out.push_str(&row.iter().map(|f| field(f)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

/// A Markdown page: a heading per day, the author under it, each answer under its heading.
/// Member text is written as it is (it is the member's own Markdown), headings of theirs
/// indented so they do not outrank the page's.
fn markdown(team: &str, updates: &[ExportedUpdate]) -> String {
    let mut out = format!("# {team}: updates\n");
    if let (Some(first), Some(last)) = (updates.first(), updates.last()) {
        out.push_str(&format!(
            "\n{} to {}, {} update{}.\n",
            first.date,
            last.date,
            updates.len(),
            if updates.len() == 1 { "" } else { "s" }
        ));
    } else {
        out.push_str("\nNo updates.\n");
    }
    let mut day = None;
    for u in updates {
        if day != Some(u.date) {
            day = Some(u.date);
            out.push_str(&format!("\n## {}\n", u.date.format("%A %-d %B %Y")));
        }
        match &u.checkin {
            Some(c) => out.push_str(&format!("\n### {} · {c}\n\n", u.author)),
            None => out.push_str(&format!("\n### {}\n\n", u.author)),
        }
        for s in &u.sections {
            let lines: Vec<String> = s
                .text
                .lines()
                .map(|l| {
                    if l.starts_with('#') {
                        format!("\\{l}")
                    } else {
                        l.to_string()
                    }
                })
                .collect();
            match s.heading() {
                Some(h) => {
                    let colon = if h.ends_with(['?', '？', ':']) {
                        ""
                    } else {
                        ":"
                    };
                    out.push_str(&format!("**{h}{colon}**\n{}\n\n", lines.join("\n")));
                }
                None => out.push_str(&format!("{}\n\n", lines.join("\n"))),
            }
        }
        if u.revision > 1 {
            out.push_str(&format!("_edited, revision {}_\n\n", u.revision));
        }
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::sections;

    fn update(id: i64, date: &str, author: &str, body: &str) -> ExportedUpdate {
        ExportedUpdate {
            id,
            date: date.parse().unwrap(),
            author: author.into(),
            email: format!("{}@example.test", author.to_lowercase()),
            revision: 1,
            created_at: rfc3339(1_764_806_400),
            updated_at: rfc3339(1_764_806_400),
            sections: sections::split(body, &[]),
            text: body.into(),
            checkin: None,
        }
    }

    #[test]
    fn csv_quotes_every_field_and_defuses_formulas() {
        let u = [update(
            1,
            "2026-12-01",
            "Ana",
            "Done: the \"importer\", finally\nNext: =HYPERLINK(\"x\")\nBlockers: none",
        )];
        let s = export("core", &u, Format::Csv);
        let mut lines = s.split("\r\n");
        assert_eq!(
            lines.next(),
            Some(
                "\"date\",\"author\",\"email\",\"done\",\"next\",\"blockers\",\"other\",\"revision\",\"updated_at\",\"id\",\"checkin\""
            )
        );
        let row = lines.next().unwrap();
        assert!(row.starts_with("\"2026-12-01\",\"Ana\",\"ana@example.test\",\"the \"\"importer\"\", finally\",\"'=HYPERLINK(\"\"x\"\")\""), "{row}");
    }

    #[test]
    fn markdown_has_a_heading_per_day_and_author() {
        let u = [
            update(1, "2026-12-01", "Ana", "Done: A\n# not a heading"),
            update(2, "2026-12-01", "Ben", "Next: B"),
            update(3, "2026-12-02", "Ana", "just text"),
        ];
        let s = export("core", &u, Format::Md);
        assert!(
            s.starts_with("# core: updates\n\n2026-12-01 to 2026-12-02, 3 updates.\n"),
            "{s}"
        );
        assert!(
            s.contains(
                "\n## Tuesday 1 December 2026\n\n### Ana\n\n**Done:**\nA\n\\# not a heading\n"
            ),
            "{s}"
        );
        assert!(
            s.contains("\n## Wednesday 2 December 2026\n\n### Ana\n\njust text"),
            "{s}"
        );
    }
}
