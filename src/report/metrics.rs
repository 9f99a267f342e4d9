//! Prometheus text format for node_exporter's textfile collector.

use super::HistoryRow;

pub fn render_metrics(_history: &[HistoryRow]) -> String {
    String::new()
}
