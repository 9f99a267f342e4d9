//! One place builds the AWS SDK configuration every client of a run uses: the default
//! credential chain (environment, profile with SSO and credential_process, container and
//! instance roles), the drill's `region`, `profile` and `endpoint_url` (or `AWS_ENDPOINT_URL`),
//! and explicit retry and timeout settings, which the report records.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::ProvideCredentials;

use crate::drill::ProviderSpec;
use crate::provider::ProviderError;

/// Attempts per call, the first included, for throttling, 5xx and connection errors.
pub const MAX_ATTEMPTS: u32 = 5;
/// First retry delay; doubles per attempt, with jitter, up to `MAX_BACKOFF`.
pub const INITIAL_BACKOFF: Duration = Duration::from_millis(200);
pub const MAX_BACKOFF: Duration = Duration::from_secs(20);
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// One attempt of one call; a hung connection is retried after this.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
/// One call with all its retries.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(120);

pub use crate::model::AwsSettings;

impl AwsSettings {
    /// The settings for a drill's `[provider]`; `None` when it is not AWS.
    pub fn of(spec: &ProviderSpec) -> Option<Self> {
        let ProviderSpec::Aws {
            region,
            profile,
            endpoint_url,
        } = spec
        else {
            return None;
        };
        Some(AwsSettings {
            region: region.clone().or_else(|| env_nonempty("AWS_REGION")),
            profile: profile.clone(),
            endpoint_url: endpoint_url
                .clone()
                .or_else(|| env_nonempty("AWS_ENDPOINT_URL")),
            retry_mode: "standard".into(),
            max_attempts: MAX_ATTEMPTS,
            initial_backoff_seconds: INITIAL_BACKOFF.as_secs_f64(),
            max_backoff_seconds: MAX_BACKOFF.as_secs_f64(),
            connect_timeout_seconds: CONNECT_TIMEOUT.as_secs_f64(),
            attempt_timeout_seconds: ATTEMPT_TIMEOUT.as_secs_f64(),
            operation_timeout_seconds: OPERATION_TIMEOUT.as_secs_f64(),
        })
    }
}

fn env_nonempty(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|v| !v.is_empty())
}

/// A loaded SDK configuration, with the settings it was built from. Clients for another
/// region (a DR region) are derived from it.
#[derive(Debug, Clone)]
pub struct Session {
    pub settings: AwsSettings,
    sdk: SdkConfig,
}

impl Session {
    /// Loads the configuration and makes sure credentials can be found, so a missing
    /// credential is one clear harness error before any call, never a retry storm.
    pub async fn load(settings: &AwsSettings) -> Result<Session, ProviderError> {
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http)
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(MAX_ATTEMPTS)
                    .with_initial_backoff(INITIAL_BACKOFF)
                    .with_max_backoff(MAX_BACKOFF),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                    .operation_timeout(OPERATION_TIMEOUT)
                    .build(),
            );
        if let Some(region) = &settings.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(profile) = &settings.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(url) = &settings.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let sdk = loader.load().await;
        if sdk.region().is_none() {
            return Err(ProviderError::harness(
                "no AWS region: set [provider] region in the drill, or AWS_REGION",
            ));
        }
        let Some(creds) = sdk.credentials_provider() else {
            return Err(ProviderError::harness(
                "no AWS credential provider is configured",
            ));
        };
        if let Err(e) = creds.provide_credentials().await {
            return Err(ProviderError::harness(format!(
                "no AWS credentials found{}: {} (tried the environment, the shared config and \
                 credentials files with SSO and credential_process, and container and instance \
                 roles)",
                settings
                    .profile
                    .as_ref()
                    .map(|p| format!(" for profile \"{p}\""))
                    .unwrap_or_default(),
                super::error_chain(&e)
            )));
        }
        Ok(Session {
            settings: settings.clone(),
            sdk,
        })
    }

    /// The loaded configuration, for clients of services only `plan --resolve` asks.
    pub(super) fn sdk(&self) -> &SdkConfig {
        &self.sdk
    }

    /// The region of the drill's `[provider]`.
    pub fn region(&self) -> String {
        self.sdk.region().map(|r| r.to_string()).unwrap_or_default()
    }

    pub fn rds(&self, region: Option<&str>) -> aws_sdk_rds::Client {
        let mut b = aws_sdk_rds::config::Builder::from(&self.sdk).interceptor(CallsAreLooks);
        if let Some(r) = region {
            b = b.region(Region::new(r.to_owned()));
        }
        aws_sdk_rds::Client::from_conf(b.build())
    }

    /// S3 uses path-style addresses against a custom endpoint (emulators and S3-compatible
    /// stores rarely have wildcard DNS).
    pub fn s3(&self, region: Option<&str>) -> aws_sdk_s3::Client {
        let mut b = aws_sdk_s3::config::Builder::from(&self.sdk).interceptor(CallsAreLooks);
        if let Some(r) = region {
            b = b.region(Region::new(r.to_owned()));
        }
        if self.settings.endpoint_url.is_some() {
            b = b.force_path_style(true);
        }
        aws_sdk_s3::Client::from_conf(b.build())
    }

    pub fn backup(&self, region: Option<&str>) -> aws_sdk_backup::Client {
        let mut b = aws_sdk_backup::config::Builder::from(&self.sdk).interceptor(CallsAreLooks);
        if let Some(r) = region {
            b = b.region(Region::new(r.to_owned()));
        }
        aws_sdk_backup::Client::from_conf(b.build())
    }
}

/// Tells the engine of every answered API call (`provider::poll::call`), so a phase whose looks
/// are its calls (resolve) reports how many it made.
#[derive(Debug)]
struct CallsAreLooks;

impl aws_sdk_rds::config::Intercept for CallsAreLooks {
    fn name(&self) -> &'static str {
        "restore-drill-calls-are-looks"
    }

    fn read_after_execution(
        &self,
        _: &aws_sdk_rds::config::interceptors::FinalizerInterceptorContextRef<'_>,
        _: &aws_sdk_rds::config::RuntimeComponents,
        _: &mut aws_sdk_rds::config::ConfigBag,
    ) -> Result<(), aws_sdk_rds::error::BoxError> {
        crate::provider::poll::call();
        Ok(())
    }
}
