//! The run report: one canonical `RunReport`, its renderers, and writing them safely.

mod markdown;
mod model;
mod write;

pub use markdown::render_markdown;
pub use model::*;
pub use write::{run_dir, write_atomic, write_reports};
