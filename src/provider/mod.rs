//! Where restores happen. One implementation per platform behind `Restorer`; the engine sees
//! only recovery points, targets and errors.

pub mod aws;
pub mod local;
pub mod poll;
mod restorer;
mod types;

pub use restorer::{Restorer, RunContext};
pub use types::{Blame, Leftovers, ProviderError, RecoveryPoint, Target, Waited};
