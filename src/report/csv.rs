//! `phases.csv`: one row per phase of every restore, for spreadsheets and scripts that chart
//! phase times across runs.
//!
//! RFC 4180, written with the `csv` crate: CRLF line ends, a field is quoted when it holds a
//! comma, a double quote, CR or LF, and a double quote inside a quoted field is doubled.
//! Timestamps are RFC 3339 UTC with milliseconds, seconds have 3 decimals; a phase without an
//! error has an empty `error`.

use super::RunReport;

/// The header row; its names are a contract with scripts, like the fields of `report.json`.
pub const PHASES_CSV_HEADER: [&str; 8] = [
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
    let mut w = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(Vec::with_capacity(256));
    // Writing into a Vec cannot fail: the only errors are the writer's I/O errors.
    let _ = w.write_record(PHASES_CSV_HEADER);
    for restore in &report.restores {
        for p in &restore.phases {
            let started = p
                .started_at
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            let _ = w.write_record([
                restore.id.as_str(),
                p.name.as_str(),
                started.as_str(),
                format!("{:.3}", p.seconds).as_str(),
                p.polls.to_string().as_str(),
                format!("{:.3}", p.resolution_seconds).as_str(),
                p.outcome.as_str(),
                p.error.as_deref().unwrap_or_default(),
            ]);
        }
    }
    let bytes = w.into_inner().unwrap_or_default();
    // Every field written is a &str, so the bytes are UTF-8.
    String::from_utf8(bytes).unwrap_or_default()
}
