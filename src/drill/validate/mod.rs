//! Stage two of reading a drill: the strict raw types become a checked `DrillPlan`, one file
//! per concern: the validator and its entry point, top-level settings, restores by kind, what
//! restores share (targets, isolation, connections), checks, and small text rules.

mod checks;
mod restores;
mod settings;
mod targets;
mod text;
mod validator;
mod warmup;

pub use text::{render_template, sha256_hex};
pub use validator::{Checked, SAMPLE_RUN_ID, check_drill};
