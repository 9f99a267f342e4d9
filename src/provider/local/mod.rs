//! The local provider: self-managed PostgreSQL restored from base backups and a WAL archive.

mod cluster;
mod pg;
mod pitr;
mod wal;

pub use cluster::SourceCluster;
pub use pg::{PgEnv, PgError, Server, connect, connect_to, free_port, poll_until};
pub use pitr::LocalPitr;
pub use wal::{Segment, check_archive};
