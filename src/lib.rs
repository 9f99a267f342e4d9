//! restore-drill: proves that backups restore, and measures how long recovery takes (RTO)
//! and how much data is lost (RPO).
//!
//! The library holds everything; `main.rs` only parses the command line, starts logging and
//! maps outcomes to exit codes.

pub mod checks;
pub mod cli;
pub mod drill;
pub mod engine;
pub mod evidence;
pub mod exit;
pub mod model;
pub mod provider;
pub mod report;
pub mod scheduler;
pub mod store;

/// The commands, by their old name.
pub use cli as commands;
