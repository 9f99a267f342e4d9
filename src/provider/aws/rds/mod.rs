//! RDS restores: point in time (`rds_pitr`), snapshots with an optional cross-region copy
//! (`rds_snapshot`) and Aurora clusters (`rds_cluster_pitr`), one file per concern.

mod api;
mod copy;
mod prepare;
mod resolve;
mod restore;
mod state;
mod teardown;

pub(in crate::provider::aws) use api::{
    automated_backup_region, describe_cluster, describe_instance, parse_arn, sdk_error,
};
pub(in crate::provider::aws) use prepare::{
    instance_target, set_cluster_password, set_instance_password,
};
pub use resolve::REGIONS_NOTE;
pub(in crate::provider::aws) use restore::{wait_cluster, wait_instance};
pub(in crate::provider::aws) use state::Created;
pub use state::{RdsRestore, TAG_DRILL, TAG_EXPIRES_AT, TAG_RESTORE, TAG_RUN_ID};
#[cfg(test)]
pub(in crate::provider::aws) use teardown::delete_with;
pub(in crate::provider::aws) use teardown::{delete, delete_rendered};
#[cfg(test)]
mod tests;
