//! The RDS API as the restores use it: describe calls, status mapping and one-line SDK errors.

use aws_sdk_rds::Client;
use aws_sdk_rds::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_rds::types::{DbCluster, DbInstance};

use crate::provider::ProviderError;
use crate::provider::aws::error_chain;
use crate::provider::aws::wait::Seen;

/// What an instance's or cluster's status says about a wait for it.
pub(super) fn seen(status: Option<&str>) -> Seen {
    match status {
        Some("available") => Seen::Ready,
        Some(s) if is_failed_status(s) => Seen::Failed(s.to_owned()),
        Some(s) => Seen::Pending(s.to_owned()),
        None => Seen::Pending("not visible yet".into()),
    }
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
    )
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
    ProviderError::harness(msg)
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
