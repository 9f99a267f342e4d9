//! restore-drill: proves that backups restore, and measures how long recovery takes (RTO)
//! and how much data is lost (RPO).
//!
//! The library holds everything; `main.rs` only parses the command line, starts logging and
//! maps outcomes to exit codes.

pub mod commands;
pub mod drill;
pub mod exit;
