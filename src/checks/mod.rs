//! Integrity checks on a restored target. A check that ran reports its findings (it may have
//! found the data bad); a check that could not run is an error, never a pass.

mod sql;

pub use sql::{CheckTarget, run_check};
