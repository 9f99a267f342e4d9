//! Exit codes: the CI gate. Scripts and pipelines outside this repository depend on these
//! numbers; they are documented in README.md and never change meaning.

/// Every drill met its targets (or: every file is valid).
pub const OK: u8 = 0;
/// A target (RTO or RPO) was missed.
pub const TARGET_MISSED: u8 = 10;
/// A restore, phase or check failed.
pub const FAILED: u8 = 11;
/// A drill file is invalid.
pub const INVALID: u8 = 20;
/// Harness or infrastructure error (credentials, endpoint unreachable).
pub const ERROR: u8 = 30;
/// Teardown left resources behind.
pub const LEAKED: u8 = 40;
/// Evidence does not hold: `evidence verify` found a changed, added or removed file, a bad or
/// foreign signature, a broken history chain or a report that differs from its history row;
/// `evidence export` found the history or a report already altered or missing.
pub const UNVERIFIED: u8 = 50;
/// Interrupted (after teardown).
pub const INTERRUPTED: u8 = 130;
