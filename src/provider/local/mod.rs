//! The local provider: self-managed PostgreSQL restored from base backups and a WAL archive.

mod cluster;
mod pg;
mod pitr;
mod sweep;
mod wal;

pub use cluster::SourceCluster;
pub use pg::{PgEnv, PgError, Server, connect, connect_to, free_port, poll_until};
pub use pitr::LocalPitr;
pub use sweep::{FoundDir, MARKER, Marker, sweep_local};
pub use wal::{Segment, check_archive};
