//! Restores on AWS: RDS (point in time, snapshots and cross-region copies, Aurora), S3 object
//! versions and AWS Backup recovery points. SDK types never leave this module: the engine
//! sees recovery points, targets and `ProviderError`s.

pub mod backup;
mod config;
pub mod rds;
pub mod s3;
pub mod sweep;
mod wait;

pub use config::{AwsSettings, Session};

/// An SDK error with its causes, one line: the SDK's own `Display` says only "service error".
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let msg = s.to_string();
        if !out.contains(&msg) {
            out.push_str(": ");
            out.push_str(&msg);
        }
        cur = s.source();
    }
    out
}
