//! The run report: one canonical `RunReport`, its renderers (JSON, Markdown, phases CSV,
//! JUnit, HTML), writing them safely, and the history of runs (append-only, hash-chained) with
//! what is computed from it: statistics, what is due, metrics.

mod csv;
mod due;
mod history;
mod history_page;
mod html;
mod junit;
mod markdown;
mod metrics;
mod page;
mod stats;
mod write;

pub use crate::model::*;
pub use csv::{PHASES_CSV_HEADER, render_phases_csv};
pub use due::{DueRow, DueState, due};
pub use history::{
    History, HistoryRow, append_history, expected_phases, parse_history_bytes, read_history,
    read_line as read_history_line, row_from_line,
};
pub use history_page::{HistoryPageContext, NextDue, render_summary_html};
pub use html::render_html;
pub use junit::render_junit;
pub use markdown::render_markdown;
pub use metrics::render_metrics;
#[cfg(test)]
pub(crate) use page::STYLE;
pub(crate) use page::page;
pub use stats::{
    DrillSummary, MetricStats, RtoTrend, RunPoint, Summary, Targets, TierTargets,
    render_summary_text, summarize,
};
pub use write::{run_dir, write_atomic, write_reports};
