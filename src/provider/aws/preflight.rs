//! `plan --resolve`'s look at the AWS objects a drill names, before any restore: the KMS key
//! a snapshot copy is encrypted with (exists, enabled, in the DR region), the DB subnet
//! group and security groups the target goes into (in the region they are used), and the
//! IAM role AWS Backup restores with. A missing object is the drill's mistake (exit 20); a
//! lookup that could not be made is the harness's (exit 30). Read-only: describe and get
//! calls only.

use aws_config::Region;

use super::Session;
use crate::drill::{DrillPlan, InstanceTarget, RestoreKind, RestorePlan};
use crate::provider::ProviderError;

/// One object the drill names that is not there (or not usable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub restore: String,
    /// The drill key that names it, e.g. `target.subnet_group`.
    pub key: String,
    pub message: String,
}

/// What the look found: missing objects, and lookups that could not be made.
#[derive(Debug, Default)]
pub struct Preflight {
    pub missing: Vec<Missing>,
    pub errors: Vec<ProviderError>,
}

enum Lookup {
    Found,
    Missing(String),
    Failed(ProviderError),
}

/// One AWS object to look up.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Object {
    KmsKey { region: String, key: String },
    SubnetGroup { region: String, name: String },
    SecurityGroup { region: String, id: String },
    Role { arn: String },
}

/// Every object restore `r` names, with its key.
fn objects(r: &RestorePlan, home: &str) -> Vec<(String, Object)> {
    let mut out = Vec::new();
    let mut network = |prefix: &str, t: &InstanceTarget, region: &str| {
        if let Some(g) = &t.subnet_group {
            out.push((
                format!("{prefix}subnet_group"),
                Object::SubnetGroup {
                    region: region.to_owned(),
                    name: g.clone(),
                },
            ));
        }
        for sg in &t.security_groups {
            out.push((
                format!("{prefix}security_groups"),
                Object::SecurityGroup {
                    region: region.to_owned(),
                    id: sg.clone(),
                },
            ));
        }
    };
    match &r.kind {
        RestoreKind::RdsPitr { target, source, .. } => {
            let region = target
                .region
                .clone()
                .or_else(|| super::rds::automated_backup_region(source).map(str::to_owned))
                .unwrap_or_else(|| home.to_owned());
            network("target.", target, &region);
        }
        RestoreKind::RdsSnapshot { target, copy, .. } => {
            let region = copy
                .as_ref()
                .map(|c| c.region.clone())
                .or_else(|| target.region.clone())
                .unwrap_or_else(|| home.to_owned());
            network("target.", target, &region);
            if let Some(c) = copy
                && let Some(k) = &c.kms_key
            {
                out.push((
                    "copy_kms_key".into(),
                    Object::KmsKey {
                        region: c.region.clone(),
                        key: k.clone(),
                    },
                ));
            }
        }
        RestoreKind::RdsClusterSnapshot { target, copy, .. } => {
            let region = copy
                .as_ref()
                .map(|c| c.region.clone())
                .or_else(|| target.cluster.region.clone())
                .unwrap_or_else(|| home.to_owned());
            network("target.", &target.cluster, &region);
            if let Some(c) = copy
                && let Some(k) = &c.kms_key
            {
                out.push((
                    "copy_kms_key".into(),
                    Object::KmsKey {
                        region: c.region.clone(),
                        key: k.clone(),
                    },
                ));
            }
        }
        RestoreKind::RdsClusterPitr { target, .. } => {
            let region = target
                .cluster
                .region
                .clone()
                .unwrap_or_else(|| home.to_owned());
            network("target.", &target.cluster, &region);
        }
        RestoreKind::BackupRecoveryPoint {
            target,
            iam_role_arn,
            ..
        } => {
            let region = target.region.clone().unwrap_or_else(|| home.to_owned());
            let t = InstanceTarget {
                identifier: String::new(),
                region: None,
                instance_class: None,
                subnet_group: target.subnet_group.clone(),
                security_groups: target.security_groups.clone(),
                parameter_group: None,
                allow_shared_network: target.allow_shared_network,
            };
            network("target.", &t, &region);
            out.push((
                "iam_role_arn".into(),
                Object::Role {
                    arn: iam_role_arn.clone(),
                },
            ));
        }
        RestoreKind::PgPitr { .. } | RestoreKind::S3Versions { .. } => {}
    }
    out
}

/// Looks up every object the drill's restores name.
pub async fn check(plan: &DrillPlan) -> Preflight {
    let mut found = Preflight::default();
    let Some(settings) = super::AwsSettings::of(&plan.provider) else {
        return found;
    };
    let session = match Session::load(&settings).await {
        Ok(s) => s,
        Err(e) => {
            found.errors.push(e);
            return found;
        }
    };
    let home = session.region();
    for r in &plan.restores {
        // A copy into another account: what the target and the copy name lives there.
        let dr = match copy_role(r) {
            Some(role) => {
                let mut dr = settings.clone();
                dr.role_arn = Some(role.to_owned());
                dr.role_external_id = None;
                match Session::load(&dr).await {
                    Ok(s) => Some(s),
                    Err(mut e) => {
                        e.message =
                            format!("restore \"{}\": key \"copy_role_arn\": {}", r.id, e.message);
                        found.errors.push(e);
                        continue;
                    }
                }
            }
            None => None,
        };
        for (key, object) in objects(r, &home) {
            let at = match (&dr, &object) {
                (
                    Some(dr),
                    Object::KmsKey { .. }
                    | Object::SubnetGroup { .. }
                    | Object::SecurityGroup { .. },
                ) => dr,
                _ => &session,
            };
            match look(at, &object).await {
                Lookup::Found => {}
                Lookup::Missing(message) => found.missing.push(Missing {
                    restore: r.id.clone(),
                    key,
                    message,
                }),
                Lookup::Failed(mut e) => {
                    e.message = format!("restore \"{}\": key \"{key}\": {}", r.id, e.message);
                    found.errors.push(e);
                }
            }
        }
    }
    found
}

/// The DR account's role of a restore's cross-account snapshot copy.
fn copy_role(r: &RestorePlan) -> Option<&str> {
    match &r.kind {
        RestoreKind::RdsSnapshot { copy, .. } | RestoreKind::RdsClusterSnapshot { copy, .. } => {
            copy.as_ref().and_then(|c| c.role_arn.as_deref())
        }
        _ => None,
    }
}

fn endpoint_hint(session: &Session, service: &str, region: &str) -> String {
    session
        .settings
        .endpoint_url
        .clone()
        .unwrap_or_else(|| format!("the {service} endpoint of {region}"))
}

/// A failed lookup: a service error's code and message, or why the endpoint was not reached.
fn failed<E, R>(call: &str, e: aws_sdk_kms::error::SdkError<E, R>, hint: &str) -> Lookup
where
    E: aws_sdk_kms::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
    let msg = match (&e, e.code()) {
        (SdkError::ServiceError(_), Some(code)) => format!(
            "{call} failed: {code}: {}",
            e.message().unwrap_or("no message")
        ),
        (SdkError::DispatchFailure(_) | SdkError::TimeoutError(_), _) => {
            format!("{call} failed: cannot reach {hint}")
        }
        _ => format!("{call} failed: {e}"),
    };
    Lookup::Failed(ProviderError::harness(msg))
}

async fn look(session: &Session, object: &Object) -> Lookup {
    let sdk = session.sdk();
    match object {
        Object::KmsKey { region, key } => {
            let conf = aws_sdk_kms::config::Builder::from(sdk)
                .region(Region::new(region.clone()))
                .build();
            let kms = aws_sdk_kms::Client::from_conf(conf);
            match kms.describe_key().key_id(key).send().await {
                Ok(out) => {
                    let state = out.key_metadata().and_then(|m| m.key_state());
                    match state {
                        Some(aws_sdk_kms::types::KeyState::Enabled) | None => Lookup::Found,
                        Some(s) => Lookup::Missing(format!(
                            "KMS key {key} in {region} is {}, not Enabled: the snapshot copy cannot be encrypted with it",
                            s.as_str()
                        )),
                    }
                }
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_not_found_exception()) =>
                {
                    Lookup::Missing(format!("KMS key {key} does not exist in {region}"))
                }
                Err(e) => failed("DescribeKey", e, &endpoint_hint(session, "KMS", region)),
            }
        }
        Object::SubnetGroup { region, name } => {
            let rds = session.rds(Some(region));
            match rds
                .describe_db_subnet_groups()
                .db_subnet_group_name(name)
                .send()
                .await
            {
                Ok(_) => Lookup::Found,
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_db_subnet_group_not_found_fault()) =>
                {
                    Lookup::Missing(format!("DB subnet group {name} does not exist in {region}"))
                }
                Err(e) => failed(
                    "DescribeDBSubnetGroups",
                    e,
                    &endpoint_hint(session, "RDS", region),
                ),
            }
        }
        Object::SecurityGroup { region, id } => {
            let conf = aws_sdk_ec2::config::Builder::from(sdk)
                .region(Region::new(region.clone()))
                .build();
            let ec2 = aws_sdk_ec2::Client::from_conf(conf);
            let call = if id.starts_with("sg-") {
                ec2.describe_security_groups().group_ids(id)
            } else {
                ec2.describe_security_groups().group_names(id)
            };
            match call.send().await {
                Ok(out) if !out.security_groups().is_empty() => Lookup::Found,
                Ok(_) => Lookup::Missing(format!("security group {id} does not exist in {region}")),
                Err(e)
                    if aws_sdk_ec2::error::ProvideErrorMetadata::code(&e).is_some_and(|c| {
                        c == "InvalidGroup.NotFound" || c == "InvalidGroupId.Malformed"
                    }) =>
                {
                    Lookup::Missing(format!("security group {id} does not exist in {region}"))
                }
                Err(e) => failed(
                    "DescribeSecurityGroups",
                    e,
                    &endpoint_hint(session, "EC2", region),
                ),
            }
        }
        Object::Role { arn } => {
            let Some(name) = role_name(arn) else {
                return Lookup::Missing(format!(
                    "{arn} is not an IAM role ARN (arn:PARTITION:iam::ACCOUNT:role/NAME)"
                ));
            };
            let iam = aws_sdk_iam::Client::new(sdk);
            match iam.get_role().role_name(name).send().await {
                Ok(_) => Lookup::Found,
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_no_such_entity_exception()) =>
                {
                    Lookup::Missing(format!("IAM role {name} ({arn}) does not exist"))
                }
                Err(e) => failed("GetRole", e, &endpoint_hint(session, "IAM", "the account")),
            }
        }
    }
}

/// The role name of an IAM role ARN (the last segment of its path).
fn role_name(arn: &str) -> Option<&str> {
    let a = super::rds::parse_arn(arn)?;
    if a.service != "iam" {
        return None;
    }
    let path = a.resource.strip_prefix("role/")?;
    path.rsplit('/').next().filter(|n| !n.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_come_from_role_arns_of_any_partition() {
        assert_eq!(
            role_name("arn:aws:iam::123456789012:role/drill-restore"),
            Some("drill-restore")
        );
        assert_eq!(
            role_name("arn:aws-cn:iam::123456789012:role/service/drill-restore"),
            Some("drill-restore")
        );
        assert_eq!(role_name("arn:aws:iam::123456789012:user/drill"), None);
        assert_eq!(role_name("drill-restore"), None);
    }
}
