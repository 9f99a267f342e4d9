//! The commands behind the CLI, one file each, over one runtime helper. Each writes its
//! normal output to `out`, its diagnostics to `err`, and returns the exit code.

mod demo;
mod due;
mod evidence;
mod manifest;
mod plan;
mod report;
mod restore_job;
mod run;
mod runtime;
mod schedule;
mod store;
mod sweep;
mod validate;

pub use demo::{DEMO_DRILL, demo};
pub use due::due;
pub use evidence::{EvidenceCommand, LockModeArg, run as evidence};
pub use manifest::{ManifestArgs, S3ManifestArgs, manifest};
pub use plan::{plan, plan_resolved, plan_resolved_all};
pub use report::report;
pub use restore_job::validate_restore_job;
pub use run::{
    Format, RunArgs, history_path, record_run, record_run_in, record_run_signed, run, worse,
};
pub use schedule::schedule_export;
pub use store::{chosen as chosen_store, with_reports};
pub use sweep::{sweep, sweep_local};
pub use validate::validate;
