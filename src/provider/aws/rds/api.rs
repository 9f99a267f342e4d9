//! The RDS API as the restores use it: describe calls, status mapping and one-line SDK errors.

use aws_sdk_rds::Client;
use aws_sdk_rds::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_rds::types::{DbCluster, DbInstance};

use crate::provider::ProviderError;
use crate::provider::aws::error_chain;
use crate::provider::aws::wait::Seen;

/// What an instance's or cluster's status says about a wait for it.
///
/// A restored database is usable (RTO stops) while RDS takes its first backup or tunes
/// storage or monitoring in the background: it accepts connections in those states. A status
/// that will not clear by itself fails the wait at once, with its meaning, instead of
/// running into the phase timeout.
pub(super) fn seen(status: Option<&str>) -> Seen {
    match status {
        Some(s) if is_usable_status(s) => Seen::Ready,
        Some(s) if is_failed_status(s) => Seen::Failed(s.to_owned()),
        Some(s) => Seen::Pending(s.to_owned()),
        None => Seen::Pending("not visible yet".into()),
    }
}

/// Statuses in which the database accepts connections.
pub(super) fn is_usable_status(s: &str) -> bool {
    matches!(
        s,
        "available" | "backing-up" | "configuring-enhanced-monitoring" | "storage-optimization"
    )
}

pub(super) fn is_failed_status(s: &str) -> bool {
    matches!(
        s,
        "failed"
            | "incompatible-restore"
            | "incompatible-parameters"
            | "incompatible-network"
            | "incompatible-option-group"
            | "inaccessible-encryption-credentials"
            | "inaccessible-encryption-credentials-recoverable"
            | "restore-error"
            | "storage-full"
            | "deleting"
            | "stopped"
            | "stopping"
    )
}

/// An ARN, split: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE` in any partition (`aws`,
/// `aws-cn`, `aws-us-gov`, ...). `None` for anything else (a plain identifier).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::provider::aws) struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

pub(in crate::provider::aws) fn parse_arn(s: &str) -> Option<Arn<'_>> {
    let mut parts = s.splitn(6, ':');
    if parts.next()? != "arn" {
        return None;
    }
    let partition = parts.next()?;
    if !partition.starts_with("aws") {
        return None;
    }
    Some(Arn {
        partition,
        service: parts.next()?,
        region: parts.next()?,
        account: parts.next()?,
        resource: parts.next()?,
    })
}

/// A replicated automated backup's ARN (`arn:*:rds:REGION:ACCOUNT:auto-backup:ID`): its region.
pub(in crate::provider::aws) fn automated_backup_region(source: &str) -> Option<&str> {
    let arn = parse_arn(source)?;
    (arn.service == "rds" && arn.resource.starts_with("auto-backup:") && !arn.region.is_empty())
        .then_some(arn.region)
}

/// One line for a failed SDK call: the call, the service's code and message, or for a
/// transport failure the cause and where the endpoint was.
pub(in crate::provider::aws) fn sdk_error<E>(
    call: &str,
    e: SdkError<E, aws_sdk_rds::config::http::HttpResponse>,
    endpoint: Option<&str>,
) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let msg = match (&e, e.code()) {
        (SdkError::ServiceError(_), Some(code)) => {
            format!(
                "{call} failed: {code}: {}",
                e.message().unwrap_or("no message")
            )
        }
        (SdkError::DispatchFailure(_) | SdkError::TimeoutError(_), _) => format!(
            "{call} failed: cannot reach {}: {}",
            endpoint.unwrap_or("the AWS endpoint"),
            error_chain(&e)
        ),
        _ => format!("{call} failed: {}", error_chain(&e)),
    };
    match restore_fault(e.code()) {
        Some(why) => ProviderError::restore(format!("{msg} ({why})")),
        None => ProviderError::harness(msg),
    }
}

/// Error codes that say the backup cannot be restored as configured (its encryption key, or
/// the account's room for the copy), not that the harness failed: exit 11, not 30.
pub(in crate::provider::aws) fn restore_fault(code: Option<&str>) -> Option<&'static str> {
    let code = code?;
    let bare = code.strip_suffix("Fault").unwrap_or(code);
    match bare {
        "KMSKeyNotAccessible"
        | "InvalidKMSKey"
        | "KMSInvalidStateException"
        | "KMSDisabledException"
        | "KMSNotFoundException"
        | "KMSAccessDeniedException" => Some(
            "the backup's KMS key cannot be used here: it is disabled, deleted, or not shared with this account and role",
        ),
        "StorageQuotaExceeded"
        | "InstanceQuotaExceeded"
        | "DBClusterQuotaExceeded"
        | "SnapshotQuotaExceeded"
        | "DBSubnetGroupQuotaExceeded"
        | "LimitExceededException" => Some("an account quota leaves no room for the restored copy"),
        "InsufficientDBInstanceCapacity"
        | "InsufficientStorageClusterCapacity"
        | "InsufficientDBClusterCapacity" => {
            Some("AWS has no capacity for this instance class in the target's zones")
        }
        _ => None,
    }
}

pub(in crate::provider::aws) async fn describe_instance(
    client: &Client,
    ident: &str,
) -> Result<
    Option<DbInstance>,
    SdkError<
        aws_sdk_rds::operation::describe_db_instances::DescribeDBInstancesError,
        aws_sdk_rds::config::http::HttpResponse,
    >,
> {
    match client
        .describe_db_instances()
        .db_instance_identifier(ident)
        .send()
        .await
    {
        Ok(o) => Ok(o.db_instances().first().cloned()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_db_instance_not_found_fault()) =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

pub(in crate::provider::aws) async fn describe_cluster(
    client: &Client,
    ident: &str,
) -> Result<
    Option<DbCluster>,
    SdkError<
        aws_sdk_rds::operation::describe_db_clusters::DescribeDBClustersError,
        aws_sdk_rds::config::http::HttpResponse,
    >,
> {
    match client
        .describe_db_clusters()
        .db_cluster_identifier(ident)
        .send()
        .await
    {
        Ok(o) => Ok(o.db_clusters().first().cloned()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_db_cluster_not_found_fault()) =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_rds::operation::restore_db_instance_to_point_in_time::RestoreDBInstanceToPointInTimeError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    fn service_error(
        e: RestoreDBInstanceToPointInTimeError,
    ) -> SdkError<RestoreDBInstanceToPointInTimeError, aws_sdk_rds::config::http::HttpResponse>
    {
        let raw = aws_sdk_rds::config::http::HttpResponse::new(
            StatusCode::try_from(400).unwrap(),
            SdkBody::empty(),
        );
        SdkError::service_error(e, raw)
    }

    #[test]
    fn item_11_kms_and_quota_faults_blame_the_restore() {
        use aws_sdk_rds::types::error::{KmsKeyNotAccessibleFault, StorageQuotaExceededFault};
        let kms = service_error(
            RestoreDBInstanceToPointInTimeError::KmsKeyNotAccessibleFault(
                KmsKeyNotAccessibleFault::builder()
                    .message("The specified KMS key is disabled")
                    .meta(
                        aws_smithy_types::error::ErrorMetadata::builder()
                            .code("KMSKeyNotAccessibleFault")
                            .message("The specified KMS key is disabled")
                            .build(),
                    )
                    .build(),
            ),
        );
        let e = sdk_error("RestoreDBInstanceToPointInTime", kms, None);
        assert_eq!(e.blame, crate::provider::Blame::Restore, "{}", e.message);
        assert!(
            e.message.contains("KMS key cannot be used here"),
            "{}",
            e.message
        );

        let quota = service_error(
            RestoreDBInstanceToPointInTimeError::StorageQuotaExceededFault(
                StorageQuotaExceededFault::builder()
                    .meta(
                        aws_smithy_types::error::ErrorMetadata::builder()
                            .code("StorageQuotaExceeded")
                            .build(),
                    )
                    .build(),
            ),
        );
        let e = sdk_error("RestoreDBInstanceToPointInTime", quota, None);
        assert_eq!(e.blame, crate::provider::Blame::Restore, "{}", e.message);

        // Our own credentials or a throttle stay the harness's.
        for code in ["AccessDenied", "Throttling", "InvalidClientTokenId"] {
            assert_eq!(restore_fault(Some(code)), None, "{code}");
        }
        assert!(restore_fault(Some("InstanceQuotaExceeded")).is_some());
        assert!(restore_fault(Some("InsufficientDBInstanceCapacity")).is_some());
    }
}
