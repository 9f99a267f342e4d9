//! Restores on AWS: RDS (point in time, snapshots and cross-region copies, Aurora), S3 object
//! versions and AWS Backup recovery points. SDK types never leave this module: the engine
//! sees recovery points, targets and `ProviderError`s.

pub mod backup;
mod config;
pub mod evidence_upload;
pub mod pace;
pub mod preflight;
pub mod presign;
pub mod rds;
pub mod s3;
pub mod store;
pub mod sweep;
mod trace;
mod wait;

pub use config::{AwsSettings, GivenClients, Session};

/// An SDK time (the same `aws_smithy_types::DateTime` in every service crate) as chrono.
pub(crate) fn to_chrono(
    t: &aws_sdk_rds::primitives::DateTime,
) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

/// A chrono time as an SDK time.
pub(crate) fn to_aws(t: chrono::DateTime<chrono::Utc>) -> aws_sdk_rds::primitives::DateTime {
    aws_sdk_rds::primitives::DateTime::from_secs_and_nanos(
        t.timestamp(),
        t.timestamp_subsec_nanos(),
    )
}

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

/// A password read from the environment variable a drill names. It never prints: its
/// `Debug` is `<redacted>`, and only `expose` hands the text to the call that sets it.
#[derive(Clone)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Secret {
    /// The value of `var` (`connect.password_env` of restore `restore`), if one is named.
    pub fn from_env(
        restore: &str,
        var: Option<&str>,
    ) -> Result<Option<Secret>, crate::provider::ProviderError> {
        let Some(var) = var else { return Ok(None) };
        std::env::var(var).map(|v| Some(Secret(v))).map_err(|_| {
            crate::provider::ProviderError::harness(format!(
                "restore \"{restore}\": the environment variable {var} (connect.password_env) is not set"
            ))
        })
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}
