//! Runs a checked drill plan: phases, stopwatch, timeouts, teardown on every path, and the
//! measured RTO and RPO.

mod cancel;
mod event;
mod measure;
mod progress;
mod run;
mod stopwatch;

pub use cancel::Cancel;
pub use event::{Event, EventSink};
pub use measure::exit_code;
pub use progress::Progress;
pub use run::{RunOptions, RunOutput, new_run_id, run_drill};
pub use stopwatch::Stopwatch;
