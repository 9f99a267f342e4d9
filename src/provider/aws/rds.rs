//! RDS restores: point in time (`rds_pitr`), snapshots with an optional cross-region copy
//! (`rds_snapshot`), Aurora clusters (`rds_cluster_pitr`) and AWS Backup recovery points
//! (`backup_recovery_point`).

use chrono::{DateTime, Utc};

use super::AwsSettings;
use crate::drill::{DrillPlan, RestorePlan};
use crate::provider::{ProviderError, RecoveryPoint, RunContext, Target, Waited};

#[derive(Debug)]
pub struct RdsRestore {
    plan: RestorePlan,
    drill: String,
    settings: AwsSettings,
    notes: Vec<String>,
}

impl RdsRestore {
    pub fn new(
        plan: &DrillPlan,
        r: &RestorePlan,
        settings: AwsSettings,
    ) -> Result<Self, ProviderError> {
        Ok(RdsRestore {
            plan: r.clone(),
            drill: plan.name.clone(),
            settings,
            notes: Vec::new(),
        })
    }

    pub fn has_copy(&self) -> bool {
        false
    }

    pub async fn resolve(
        &mut self,
        _incident: DateTime<Utc>,
    ) -> Result<RecoveryPoint, ProviderError> {
        let _ = (&self.plan, &self.drill, &self.settings);
        Err(ProviderError::harness("RDS restores are not built yet"))
    }

    pub async fn copy(&mut self) -> Result<Waited, ProviderError> {
        Ok(Waited::default())
    }

    pub async fn restore(&mut self, _cx: &RunContext) -> Result<Waited, ProviderError> {
        Err(ProviderError::harness("RDS restores are not built yet"))
    }

    pub async fn prepare(&mut self) -> Result<(Target, Waited), ProviderError> {
        Err(ProviderError::harness("RDS restores are not built yet"))
    }

    pub async fn teardown(&mut self) -> Result<(), Vec<String>> {
        Ok(())
    }

    pub fn notes(&self) -> Vec<String> {
        self.notes.clone()
    }

    pub fn keep(&mut self) -> Option<String> {
        None
    }
}
