//! The run report: one canonical `RunReport`, its renderers (JSON, Markdown, phases CSV,
//! JUnit, HTML), writing them safely, and the history of runs (append-only, hash-chained) with
//! what is computed from it: statistics, what is due, metrics.

mod csv;
mod due;
mod history;
mod html;
mod junit;
mod markdown;
mod metrics;
mod stats;
mod write;

pub use crate::model::*;
pub use csv::{PHASES_CSV_HEADER, render_phases_csv};
pub use due::{DueRow, DueState, due};
pub use history::{
    History, HistoryRow, append_history, expected_phases, read_history,
    read_line as read_history_line,
};
pub(crate) use html::esc;
pub use html::render_html;
pub use junit::render_junit;
pub use markdown::render_markdown;
pub use metrics::render_metrics;
pub use stats::{
    DrillSummary, MetricStats, RtoTrend, Summary, render_summary_html, render_summary_text,
    summarize,
};
pub use write::{run_dir, write_atomic, write_reports};
