//! The local provider: self-managed PostgreSQL restored from base backups and a WAL archive,
//! or from a pgBackRest repository.

mod cluster;
mod compress;
mod fetch;
mod pg;
mod pgbackrest;
mod pitr;
mod sweep;
mod wal;
mod waldump;

pub use cluster::{SourceCluster, SourceOptions};
pub use fetch::{FETCH_FAILED, FETCH_MISSING, wal_fetch};
pub use pg::{PgEnv, PgError, Server, connect, connect_to, free_port, poll_until};
pub use pitr::LocalPitr;
pub use sweep::{FoundDir, MARKER, Marker, sweep_local};
pub use wal::{Archive, Lsn, Segment, TimelinePath, plan_path};
