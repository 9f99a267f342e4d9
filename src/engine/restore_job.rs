//! The validator of an AWS Backup restore testing job (`restore-drill validate-restore-job`):
//! the provider finds what the job restored and reports back; the engine runs the drill's
//! checks of that restore against it in between.

use std::collections::HashMap;

use crate::checks::{CheckContext, run_check};
use crate::drill::{DrillPlan, RestorePlan};
use crate::provider::aws::backup::{RestoreJob, Validation};
use crate::provider::{Blame, ProviderError, Target};
use crate::report::{CheckOutcome, CheckReport};

/// Runs the drill's checks of restore `restore_id` against what restore testing job `job`
/// restored, and reports the result to AWS Backup. A restore that cannot be checked failed
/// validation, and AWS Backup is told why.
pub async fn validate_restore_job(
    plan: &DrillPlan,
    restore_id: &str,
    job: &str,
) -> Result<(Validation, Vec<CheckReport>), ProviderError> {
    let rj = RestoreJob::open(plan, restore_id, job).await?;
    let r = plan
        .restores
        .iter()
        .find(|r| r.id == restore_id)
        .ok_or_else(|| {
            ProviderError::harness(format!("the drill has no restore \"{restore_id}\""))
        })?;
    let result = match rj.target().await {
        Ok(target) => check_restored(plan, r, &target).await,
        Err(e) => Err(e),
    };
    let (validation, reports) = match result {
        Ok(x) => x,
        Err(e) if e.blame == Blame::Restore => (
            Validation {
                successful: false,
                message: e.message.clone(),
            },
            Vec::new(),
        ),
        Err(e) => return Err(e),
    };
    rj.report(&validation).await?;
    Ok((validation, reports))
}

/// The drill's checks of restore `r`, run against `target`; whether they all passed, in one
/// message that names the first failure.
pub(crate) async fn check_restored(
    plan: &DrillPlan,
    r: &RestorePlan,
    target: &Target,
) -> Result<(Validation, Vec<CheckReport>), ProviderError> {
    let address = target
        .address
        .as_deref()
        .ok_or_else(|| ProviderError::restore(format!("{} has no endpoint", target.name)))?;
    let check_target = super::run::check_target_of(r, target).ok_or_else(|| {
        ProviderError::harness(format!(
            "cannot reach {address} with the drill's [restore.connect]"
        ))
    })?;
    let cx = CheckContext {
        target: check_target,
        restored_to: None,
        pg_bin_dir: None,
        others: HashMap::new(),
    };
    let mut reports = Vec::new();
    for check in plan.checks.iter().filter(|c| c.restore == r.id) {
        let (report, _) = run_check(check, &cx).await;
        reports.push(report);
    }
    let bad: Vec<&CheckReport> = reports
        .iter()
        .filter(|c| c.outcome != CheckOutcome::Passed)
        .collect();
    let message = match bad.first() {
        None => format!(
            "restore-drill {}: {} of {} checks of drill {} passed on {}",
            env!("CARGO_PKG_VERSION"),
            reports.len(),
            reports.len(),
            plan.name,
            target.name
        ),
        Some(first) => format!(
            "restore-drill {}: {} of {} checks of drill {} did not pass on {}; first: {} ({}): {}",
            env!("CARGO_PKG_VERSION"),
            bad.len(),
            reports.len(),
            plan.name,
            target.name,
            first.name,
            first.outcome.as_str(),
            first
                .findings
                .first()
                .map(|f| f.message.as_str())
                .unwrap_or("")
        ),
    };
    Ok((
        Validation {
            successful: bad.is_empty() && !reports.is_empty(),
            message,
        },
        reports,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The checks run on the restored instance (a real local PostgreSQL), FAILED with the
    /// first failing check when one fails.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_drills_checks_run_on_the_restored_instance() {
        let pg = crate::provider::local::PgEnv::find(None).expect(
            "these tests need a real PostgreSQL server: run ci/test (it installs it with apt)",
        );
        let dir = tempfile::tempdir().unwrap();
        pg.give(dir.path()).unwrap();
        let mut source = crate::provider::local::SourceCluster::start(&pg, &dir.path().join("src"))
            .await
            .unwrap();
        let c = source.client("postgres").await.unwrap();
        c.batch_execute(
            "create table payments (id int); insert into payments select generate_series(1, 7);",
        )
        .await
        .unwrap();
        let target = Target {
            kind: "rds_instance".into(),
            name: "drill-payments-r1".into(),
            address: Some(format!("127.0.0.1:{}", source.port())),
            details: Default::default(),
        };
        let drill = dir.path().join("drill.toml");
        let write = |expect: &str| {
            std::fs::write(
                &drill,
                format!(
                    r#"name = "payments-backup"
tier = "silver"
schedule = "quarterly"

[provider]
kind = "aws"
region = "us-east-1"

[[restore]]
id = "payments"
kind = "backup_recovery_point"
vault = "prod-vault"
resource_arn = "arn:aws:rds:us-east-1:123456789012:db:payments-prod"
to = "latest"
iam_role_arn = "arn:aws:iam::123456789012:role/drill-restore"
[restore.target]
identifier = "drill-payments-{{run_id}}"
allow_shared_network = true
[restore.connect]
database = "postgres"
user = "postgres"
tls = "disable"

[[check]]
restore = "payments"
kind = "sql"
name = "payments are back"
query = "select count(*) from payments"
expect = "{expect}"
"#
                ),
            )
            .unwrap();
            crate::drill::load_drill(&drill)
                .plan
                .expect("a valid drill")
        };

        let plan = write("= 7");
        let (v, reports) = check_restored(&plan, &plan.restores[0], &target)
            .await
            .unwrap();
        assert!(v.successful, "{v:?}");
        assert_eq!(
            v.message,
            "restore-drill 0.1.0: 1 of 1 checks of drill payments-backup passed on drill-payments-r1"
        );
        assert_eq!(reports.len(), 1);

        let plan = write("= 8");
        let (v, _) = check_restored(&plan, &plan.restores[0], &target)
            .await
            .unwrap();
        assert!(!v.successful);
        assert!(
            v.message.starts_with(
                "restore-drill 0.1.0: 1 of 1 checks of drill payments-backup did not pass on drill-payments-r1; first: payments are back (failed): "
            ),
            "{}",
            v.message
        );
        source.stop().await.unwrap();
    }
}
