//! `-v`: each AWS call in the log, as it happens: service, operation, attempt, HTTP status and
//! latency, at debug level (target `restore_drill::aws`). An SDK interceptor on every client,
//! so retries show as attempts of their own and nothing in the restores has to remember to
//! log.

use std::time::Instant;

use aws_sdk_rds::config::interceptors::{
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_sdk_rds::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_types::config_bag::{Storable, StoreReplace};

/// Logs every attempt of every call.
#[derive(Debug)]
pub(super) struct Trace;

/// When the current attempt was sent.
#[derive(Debug, Clone)]
struct AttemptStarted(Instant);

impl Storable for AttemptStarted {
    type Storer = StoreReplace<Self>;
}

impl Intercept for Trace {
    fn name(&self) -> &'static str {
        "restore-drill-trace"
    }

    fn read_before_attempt(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_rds::error::BoxError> {
        cfg.interceptor_state()
            .store_put(AttemptStarted(Instant::now()));
        Ok(())
    }

    fn read_after_attempt(
        &self,
        ctx: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_rds::error::BoxError> {
        if !tracing::enabled!(target: "restore_drill::aws", tracing::Level::DEBUG) {
            return Ok(());
        }
        let (service, operation) = cfg
            .load::<Metadata>()
            .map_or(("aws", "call"), |m| (m.service(), m.name()));
        let attempt = cfg.load::<RequestAttempts>().map_or(1, |a| a.attempts());
        let ms = cfg
            .load::<AttemptStarted>()
            .map(|s| s.0.elapsed().as_secs_f64() * 1000.0);
        let status = ctx.response().map(|r| r.status().as_u16());
        let line = describe(service, operation, attempt, status, ms);
        tracing::debug!(target: "restore_drill::aws", "{line}");
        Ok(())
    }
}

/// The same line for a call sent without the SDK (`s3/wire.rs`), numbered by whoever retries
/// it (the copier for copies, the wire for its HEADs).
pub(crate) fn wire_attempt(
    service: &str,
    operation: &str,
    attempt: u32,
    status: Option<u16>,
    took: std::time::Duration,
) {
    if tracing::enabled!(target: "restore_drill::aws", tracing::Level::DEBUG) {
        let line = describe(
            service,
            operation,
            attempt,
            status,
            Some(took.as_secs_f64() * 1000.0),
        );
        tracing::debug!(target: "restore_drill::aws", "{line}");
    }
}

/// `S3 ListObjectVersions attempt 1: HTTP 200 in 12 ms`.
fn describe(
    service: &str,
    operation: &str,
    attempt: u32,
    status: Option<u16>,
    ms: Option<f64>,
) -> String {
    let status = status.map_or_else(|| "no response".to_owned(), |s| format!("HTTP {s}"));
    let took = ms.map_or_else(String::new, |ms| format!(" in {ms:.0} ms"));
    format!("{service} {operation} attempt {attempt}: {status}{took}")
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn an_attempt_reads_as_one_line() {
        assert_eq!(
            describe("s3", "ListObjectVersions", 2, Some(503), Some(12.4)),
            "s3 ListObjectVersions attempt 2: HTTP 503 in 12 ms"
        );
        assert_eq!(
            describe("rds", "DescribeDBInstances", 1, None, None),
            "rds DescribeDBInstances attempt 1: no response"
        );
    }

    /// Issue 19: `-v` shows each AWS call; and a log written to a file carries no colours.
    #[tokio::test]
    async fn each_call_is_logged_at_debug_without_colours() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter("restore_drill=debug")
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let rule = mock!(aws_sdk_rds::Client::describe_db_instances).then_output(|| {
            aws_sdk_rds::operation::describe_db_instances::DescribeDbInstancesOutput::builder()
                .build()
        });
        let client = mock_client!(aws_sdk_rds, RuleMode::Sequential, [&rule], |b| b
            .interceptor(Trace));
        client.describe_db_instances().send().await.unwrap();
        let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(
            log.contains("restore_drill::aws: RDS DescribeDBInstances attempt 1: HTTP "),
            "{log}"
        );
        assert!(!log.contains('\x1b'), "{log:?}");
    }
}
