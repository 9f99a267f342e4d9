//! `restore-drill report`: statistics over the history.

use chrono::{DateTime, Utc};

use super::HistoryRow;

/// Statistics per drill.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {}

pub fn summarize(
    _rows: &[HistoryRow],
    _drill: Option<&str>,
    _since: Option<DateTime<Utc>>,
) -> Summary {
    Summary::default()
}

pub fn render_summary_text(_s: &Summary) -> String {
    String::new()
}

pub fn render_summary_html(_s: &Summary) -> String {
    String::new()
}
