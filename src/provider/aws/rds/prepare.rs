//! Prepare: the drill's own master password set on the restored database, and where the target is.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aws_sdk_rds::Client;
use tokio::time::Instant;

use crate::drill::Connect;
use crate::provider::aws::wait::{Seen, until_ready};
use crate::provider::{ProviderError, Target, Waited};

use super::api::{
    describe_cluster, describe_instance, is_failed_status, is_usable_status, sdk_error,
};
use super::restore::isolation_details;
use super::state::{Kind, RdsRestore};

/// How long after ModifyDB* a wait accepts a usable status without having seen the password
/// change start. RDS applies a new master password asynchronously: the first describe after
/// the call can still say `available` with nothing pending, before `resetting-master-credentials`
/// (or `PendingModifiedValues.MasterUserPassword`) shows; connecting then fails with the old
/// password. Past this grace period, a change never seen is taken as already applied.
pub(in crate::provider::aws) const PASSWORD_GRACE: Duration = Duration::from_secs(30);

/// One look at a database whose master password was just changed (`since`: the call).
/// Ready once the change was seen (or the grace period passed) and nothing is pending.
pub(super) fn password_seen(
    status: Option<&str>,
    pending: bool,
    seen_change: &AtomicBool,
    since: Instant,
) -> Seen {
    let Some(status) = status else {
        return Seen::Pending("unknown".into());
    };
    if is_failed_status(status) {
        return Seen::Failed(status.to_owned());
    }
    if pending || !is_usable_status(status) {
        seen_change.store(true, Ordering::Relaxed);
        return Seen::Pending(if pending {
            format!("{status}, new master password pending")
        } else {
            status.to_owned()
        });
    }
    if seen_change.load(Ordering::Relaxed) || since.elapsed() >= PASSWORD_GRACE {
        Seen::Ready
    } else {
        Seen::Pending(format!("{status}, new master password not applied yet"))
    }
}

/// Sets the master password of an instance (a restored database keeps the source's) and
/// waits until the change has been applied (`password_seen`).
pub(in crate::provider::aws) async fn set_instance_password(
    client: &Client,
    ident: &str,
    password: &str,
    endpoint: Option<&str>,
) -> Result<Waited, ProviderError> {
    let since = Instant::now();
    client
        .modify_db_instance()
        .db_instance_identifier(ident)
        .master_user_password(password)
        .apply_immediately(true)
        .send()
        .await
        .map_err(|e| sdk_error("ModifyDBInstance", e, endpoint))?;
    let what = format!("RDS instance {ident} (new master password)");
    let seen_change = Arc::new(AtomicBool::new(false));
    until_ready(&what, || {
        let client = client.clone();
        let ident = ident.to_owned();
        let endpoint = endpoint.map(str::to_owned);
        let seen_change = seen_change.clone();
        async move {
            let db = describe_instance(&client, &ident)
                .await
                .map_err(|e| sdk_error("DescribeDBInstances", e, endpoint.as_deref()))?;
            let Some(db) = db else {
                return Ok(Seen::Failed("deleted".into()));
            };
            let pending = db
                .pending_modified_values()
                .and_then(|p| p.master_user_password())
                .is_some();
            Ok(password_seen(
                db.db_instance_status(),
                pending,
                &seen_change,
                since,
            ))
        }
    })
    .await
}

/// Sets the master password of an Aurora cluster and waits until it has been applied
/// (`password_seen`).
pub(in crate::provider::aws) async fn set_cluster_password(
    client: &Client,
    ident: &str,
    password: &str,
    endpoint: Option<&str>,
) -> Result<Waited, ProviderError> {
    let since = Instant::now();
    client
        .modify_db_cluster()
        .db_cluster_identifier(ident)
        .master_user_password(password)
        .apply_immediately(true)
        .send()
        .await
        .map_err(|e| sdk_error("ModifyDBCluster", e, endpoint))?;
    let what = format!("RDS cluster {ident} (new master password)");
    let seen_change = Arc::new(AtomicBool::new(false));
    until_ready(&what, || {
        let client = client.clone();
        let ident = ident.to_owned();
        let endpoint = endpoint.map(str::to_owned);
        let seen_change = seen_change.clone();
        async move {
            let c = describe_cluster(&client, &ident)
                .await
                .map_err(|e| sdk_error("DescribeDBClusters", e, endpoint.as_deref()))?;
            let Some(c) = c else {
                return Ok(Seen::Failed("deleted".into()));
            };
            let pending = c
                .pending_modified_values()
                .and_then(|p| p.master_user_password())
                .is_some();
            Ok(password_seen(c.status(), pending, &seen_change, since))
        }
    })
    .await
}

/// Where a restored instance is and how it is isolated; refuses a public one.
pub(in crate::provider::aws) async fn instance_target(
    client: &Client,
    ident: &str,
    region: &str,
    connect: &Connect,
    endpoint: Option<&str>,
) -> Result<Target, ProviderError> {
    let mut details = BTreeMap::new();
    details.insert("region".into(), region.to_owned());
    let db = describe_instance(client, ident)
        .await
        .map_err(|e| sdk_error("DescribeDBInstances", e, endpoint))?
        .ok_or_else(|| ProviderError::restore(format!("instance {ident} disappeared")))?;
    if let Some(arn) = db.db_instance_arn() {
        details.insert("arn".into(), arn.into());
    }
    if let Some(c) = db.db_instance_class() {
        details.insert("instance_class".into(), c.into());
    }
    details.insert(
        "multi_az".into(),
        db.multi_az().unwrap_or(false).to_string(),
    );
    if db.publicly_accessible() == Some(true) {
        return Err(ProviderError::restore(format!(
            "instance {ident} came up publicly accessible although the restore asked for a private one"
        )));
    }
    isolation_details(
        &mut details,
        Some(db.publicly_accessible().unwrap_or(false)),
        db.vpc_security_groups()
            .iter()
            .filter_map(|g| g.vpc_security_group_id())
            .collect(),
        db.db_subnet_group().and_then(|g| g.db_subnet_group_name()),
    );
    connect_details(&mut details, connect);
    Ok(Target {
        kind: "rds_instance".into(),
        name: ident.to_owned(),
        address: db
            .endpoint()
            .and_then(|e| Some(format!("{}:{}", e.address()?, e.port().unwrap_or(5432)))),
        details,
    })
}

/// How checks reach the target, for the report.
pub(super) fn connect_details(details: &mut BTreeMap<String, String>, connect: &Connect) {
    if let Some(via) = &connect.via {
        details.insert("connect_via".into(), via.clone());
    }
    details.insert("tls".into(), connect.tls.name().into());
}

impl RdsRestore {
    /// Sets the drill's own master password (a restored database keeps the source's), waits
    /// for the change, and says where the target is.
    pub async fn prepare(&mut self) -> Result<(Target, Waited), ProviderError> {
        let Some((ident, region)) = self.restored.clone() else {
            return Err(ProviderError::harness("prepare before restore"));
        };
        let client = self.target_session()?.rds(Some(&region));
        let cluster = self.is_cluster();
        let mut waited = Waited::default();
        if let Some(pw) = &self.password {
            if cluster {
                waited = set_cluster_password(
                    &client,
                    &ident,
                    pw.expose(),
                    self.settings.endpoint_url.as_deref(),
                )
                .await?;
            } else {
                waited = set_instance_password(
                    &client,
                    &ident,
                    pw.expose(),
                    self.settings.endpoint_url.as_deref(),
                )
                .await?;
            }
        } else {
            self.notes.push(
                "connect.password_env is not set: the target keeps the source's master password"
                    .into(),
            );
        }
        if !cluster {
            let mut target = instance_target(
                &client,
                &ident,
                &region,
                &self.connect,
                self.settings.endpoint_url.as_deref(),
            )
            .await?;
            self.account_details(&mut target.details);
            return Ok((target, waited));
        }
        let c = describe_cluster(&client, &ident)
            .await
            .map_err(|e| self.api_error("DescribeDBClusters", e))?
            .ok_or_else(|| ProviderError::restore(format!("cluster {ident} disappeared")))?;
        let mut details = BTreeMap::new();
        details.insert("region".into(), region.clone());
        if let Some(arn) = c.db_cluster_arn() {
            details.insert("arn".into(), arn.into());
        }
        if let Kind::Cluster { target, .. } | Kind::ClusterSnapshot { target, .. } = &self.kind {
            details.insert(
                "instance".into(),
                self.render(
                    &target.instance_identifier,
                    &self.run_id.clone().unwrap_or_default(),
                ),
            );
        }
        isolation_details(
            &mut details,
            None,
            c.vpc_security_groups()
                .iter()
                .filter_map(|g| g.vpc_security_group_id())
                .collect(),
            c.db_subnet_group(),
        );
        connect_details(&mut details, &self.connect);
        self.account_details(&mut details);
        let address = c
            .endpoint()
            .map(|h| format!("{h}:{}", c.port().unwrap_or(5432)));
        Ok((
            Target {
                kind: "rds_cluster".into(),
                name: ident,
                address,
                details,
            },
            waited,
        ))
    }
}

impl RdsRestore {
    /// A target in the DR account (`copy_role_arn`) names that account and the role every call
    /// on it ran as.
    fn account_details(&self, details: &mut BTreeMap<String, String>) {
        if let Some(c) = self.snapshot_copy()
            && let (Some(role), Some(account)) = (&c.role_arn, c.account())
        {
            details.insert("account".into(), account.to_owned());
            details.insert("role_arn".into(), role.clone());
        }
    }
}
