//! Runs a checked drill plan: phases, stopwatch, timeouts, teardown on every path. The engine
//! emits a stream of events; the report builder turns it into the report, with the measured
//! RTO and RPO.

mod builder;
mod cancel;
mod driver;
mod event;
mod measure;
mod progress;
mod restore_job;
mod run;
mod stopwatch;
mod warmup;

pub use builder::ReportBuilder;
pub use cancel::Cancel;
pub use driver::{CheckDone, RestoreDriver, VerifyJob};
pub use event::{Event, EventSink};
pub use measure::exit_code;
pub use progress::Progress;
pub use restore_job::validate_restore_job;
pub use run::{RunOptions, RunOutput, new_run_id, run_drill, run_with};
pub use stopwatch::Stopwatch;
pub use warmup::{WarmupJob, WarmupProbe, warm_up};
