//! A self-contained HTML report with SVG charts.

use super::RunReport;

pub fn render_html(_report: &RunReport) -> String {
    String::new()
}
