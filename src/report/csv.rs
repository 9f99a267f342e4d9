//! `phases.csv`: one row per phase of every restore.

use super::RunReport;

/// The phases of a run as CSV.
pub fn render_phases_csv(_report: &RunReport) -> String {
    String::new()
}
