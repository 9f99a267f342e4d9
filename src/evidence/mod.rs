//! Compliance evidence: a bundle of runs for a period (index pages, every run's reports, the
//! history rows with their hash chain, a section per control framework), a SHA-256 manifest
//! over every file, an Ed25519 signature of the manifest, verification, and upload to S3
//! with Object Lock.

mod bundle;
mod chain;
mod controls;
mod export;
mod hex;
mod index;
mod keys;
mod manifest;
mod operator;
mod verify;

pub use bundle::{
    BundleInfo, ControlResult, DrillCoverage, DrillFileEntry, Gap, HistoryInfo, HistoryLine,
    Period, RunEntry, Segregation, TargetIsolation,
};
pub use controls::day;
pub use export::{ExportRequest, Exported, export_bundle, out_paths};
pub(crate) use keys::wipe_string;
pub use keys::{
    PUBLIC_KEY_ENV, PublicKey, RUN_SIGNATURE, SIGNING_KEY_ENV, SecretKey, SignatureFile,
    parse_public_key, parse_secret_key, run_message, signing_key_from_env, write_key_pair,
};
pub use manifest::{MANIFEST, SIGNATURE};
pub use operator::{current_operator, describe as describe_operator, operator_from};
pub use verify::{Verification, verify_bundle};
