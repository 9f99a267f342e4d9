//! Integrity checks on a restored target. A check that ran reports its findings (it may have
//! found the data bad); a check that could not run is an error, never a pass. Every check
//! collects all of its findings; none stops at the first.

mod amcheck;
mod canary;
mod checksum;
mod context;
mod manifest;
mod record;
mod runner;
mod s3;
mod schema;
mod sql;
pub mod tls;

pub use context::{CheckClient, CheckContext, CheckTarget, with_deadline};
pub use manifest::{Manifest, ObjectManifest, SchemaSnapshot, TableManifest};
pub use record::{record_manifest, record_s3_manifest};
pub use runner::{restored_set_check, run_check, run_object_check};
