//! `phases.csv`: one row per phase of every restore, for spreadsheets and scripts that chart
//! phase times across runs.
//!
//! RFC 4180: CRLF line ends, a field is quoted when it holds a comma, a double quote, CR or LF,
//! and a double quote inside a quoted field is doubled. Timestamps are RFC 3339 UTC with
//! milliseconds, seconds have 3 decimals; a phase without an error has an empty `error`.

use std::fmt::Write as _;

use super::RunReport;

/// The header row; its names are a contract with scripts, like the fields of `report.json`.
const HEADER: [&str; 8] = [
    "restore",
    "phase",
    "started_at",
    "seconds",
    "polls",
    "resolution_seconds",
    "outcome",
    "error",
];

/// The phases of a run as CSV.
pub fn render_phases_csv(report: &RunReport) -> String {
    let mut out = String::new();
    push_row(&mut out, HEADER.iter().copied());
    for restore in &report.restores {
        for p in &restore.phases {
            let started = p
                .started_at
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            let seconds = format!("{:.3}", p.seconds);
            let polls = p.polls.to_string();
            let resolution = format!("{:.3}", p.resolution_seconds);
            push_row(
                &mut out,
                [
                    restore.id.as_str(),
                    p.name.as_str(),
                    started.as_str(),
                    seconds.as_str(),
                    polls.as_str(),
                    resolution.as_str(),
                    p.outcome.as_str(),
                    p.error.as_deref().unwrap_or_default(),
                ],
            );
        }
    }
    out
}

fn push_row<'a>(out: &mut String, fields: impl IntoIterator<Item = &'a str>) {
    for (i, f) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_field(out, f);
    }
    out.push_str("\r\n");
}

fn push_field(out: &mut String, field: &str) {
    if field.contains([',', '"', '\r', '\n']) {
        let _ = write!(out, "\"{}\"", field.replace('"', "\"\""));
    } else {
        out.push_str(field);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_what_needs_it() {
        let mut s = String::new();
        push_row(&mut s, ["plain", "a,b", "say \"hi\"", "two\nlines", ""]);
        assert_eq!(s, "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\r\n");
    }
}
