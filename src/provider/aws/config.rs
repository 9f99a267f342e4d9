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

/// The SDK behaviour every client is pinned to (never `latest`): defaults the SDK may change
/// in a later release stay as they were, so two runs months apart behave alike. Recorded in
/// the report as `behavior_version`.
pub const BEHAVIOR_VERSION: &str = "2026-01-12";

/// Attempts per call, the first included, for throttling, 5xx and connection errors.
pub const MAX_ATTEMPTS: u32 = 5;
/// First retry delay; doubles per attempt, with jitter, up to `MAX_BACKOFF`.
pub const INITIAL_BACKOFF: Duration = Duration::from_millis(200);
pub const MAX_BACKOFF: Duration = Duration::from_secs(20);
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How the SDK's client would address S3 for a session: what its endpoint rules need.
#[derive(Debug, Clone)]
pub(crate) struct S3Addressing {
    pub region: String,
    pub endpoint_url: Option<String>,
    pub force_path_style: bool,
    pub use_fips: bool,
    pub use_dual_stack: bool,
}

/// What S3 calls sent without the SDK's orchestrator take from a session.
pub(crate) struct S3Direct {
    pub addressing: S3Addressing,
    pub credentials: aws_sdk_s3::config::SharedCredentialsProvider,
    pub connect_timeout: Duration,
    /// Bounds each call.
    pub attempt_timeout: Duration,
}

/// One attempt of one call; a hung connection is retried after this.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
/// One call with all its retries.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(120);
/// One attempt of a server-side copy (CopyObject of up to the multipart threshold, one
/// UploadPartCopy part, CompleteMultipartUpload): S3 holds the 200 answer open while it
/// copies, and a cross-region copy of a large object or the completion of a multi-GiB
/// upload takes minutes.
pub const COPY_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// One server-side copy call with all its retries.
pub const COPY_OPERATION_TIMEOUT: Duration = Duration::from_secs(45 * 60);

pub use crate::model::AwsSettings;

/// The role session name when the drill names none: CloudTrail shows it on every call.
pub const DEFAULT_SESSION_NAME: &str = "restore-drill";

impl AwsSettings {
    /// The settings for a drill's `[provider]`; `None` when it is not AWS.
    pub fn of(spec: &ProviderSpec) -> Option<Self> {
        let ProviderSpec::Aws {
            region,
            profile,
            endpoint_url,
            role,
        } = spec
        else {
            return None;
        };
        // The SDK does not read endpoint variables when told to ignore them.
        let from_env = endpoint_url.is_none()
            && !env_nonempty("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
                .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        Some(AwsSettings {
            region: region.clone().or_else(|| env_nonempty("AWS_REGION")),
            profile: profile.clone(),
            endpoint_url: endpoint_url
                .clone()
                .or_else(|| env_nonempty("AWS_ENDPOINT_URL").filter(|_| from_env)),
            endpoint_url_from_env: from_env && env_nonempty("AWS_ENDPOINT_URL").is_some(),
            s3_endpoint_url: env_nonempty("AWS_ENDPOINT_URL_S3").filter(|_| from_env),
            behavior_version: Some(BEHAVIOR_VERSION.into()),
            retry_mode: "standard".into(),
            max_attempts: MAX_ATTEMPTS,
            initial_backoff_seconds: INITIAL_BACKOFF.as_secs_f64(),
            max_backoff_seconds: MAX_BACKOFF.as_secs_f64(),
            connect_timeout_seconds: CONNECT_TIMEOUT.as_secs_f64(),
            attempt_timeout_seconds: ATTEMPT_TIMEOUT.as_secs_f64(),
            operation_timeout_seconds: OPERATION_TIMEOUT.as_secs_f64(),
            role_arn: role.as_ref().map(|r| r.arn.clone()),
            account: role
                .as_ref()
                .and_then(|r| r.arn.split(':').nth(4).map(str::to_owned)),
            role_session_name: role.as_ref().map(|r| {
                r.session_name
                    .clone()
                    .unwrap_or_else(|| DEFAULT_SESSION_NAME.to_owned())
            }),
            role_external_id: role.as_ref().and_then(|r| r.external_id.clone()),
            role_duration_seconds: role.as_ref().and_then(|r| r.duration.map(|d| d.as_secs())),
            copy_attempt_timeout_seconds: COPY_ATTEMPT_TIMEOUT.as_secs_f64(),
            copy_operation_timeout_seconds: COPY_OPERATION_TIMEOUT.as_secs_f64(),
        })
    }
}

/// A timeout in seconds from the settings; a zero or unset one (a report of an older
/// version) falls back to a minute.
fn seconds(s: f64) -> Duration {
    if s.is_finite() && s > 0.0 {
        Duration::from_secs_f64(s)
    } else {
        Duration::from_secs(60)
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
    /// Clients handed in instead of those built from `sdk`: tests of the paths no server
    /// implements (AWS Backup restore jobs) run whole drills on the SDK's own mocks.
    given: Option<std::sync::Arc<GivenClients>>,
}

/// Clients a [`Session`] hands out instead of building its own, per service; a service left
/// `None` gets a client from the configuration as usual.
#[doc(hidden)]
#[derive(Debug, Clone, Default)]
pub struct GivenClients {
    pub rds: Option<aws_sdk_rds::Client>,
    pub backup: Option<aws_sdk_backup::Client>,
    pub s3: Option<aws_sdk_s3::Client>,
}

impl Session {
    /// Loads the configuration and makes sure credentials can be found, so a missing
    /// credential is one clear harness error before any call, never a retry storm.
    pub async fn load(settings: &AwsSettings) -> Result<Session, ProviderError> {
        super::pace::check_env().map_err(ProviderError::harness)?;
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let mut loader = aws_config::defaults(BehaviorVersion::v2026_01_12())
            .http_client(super::pace::paced(http))
            // A call waiting for its turn (the pacing) has sent no byte yet: that is not a
            // stalled upload. Answers are still watched for stalls.
            .stalled_stream_protection(
                aws_config::stalled_stream_protection::StalledStreamProtectionConfig::enabled()
                    .upload_enabled(false)
                    .build(),
            )
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(MAX_ATTEMPTS)
                    .with_initial_backoff(INITIAL_BACKOFF)
                    .with_max_backoff(MAX_BACKOFF),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .operation_attempt_timeout(seconds(settings.attempt_timeout_seconds))
                    .operation_timeout(seconds(settings.operation_timeout_seconds))
                    .build(),
            );
        if let Some(region) = &settings.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(profile) = &settings.profile {
            loader = loader.profile_name(profile);
        }
        // The drill's endpoint is every service's. One from the environment is left to the
        // SDK, which reads a service's own variable before `AWS_ENDPOINT_URL`.
        if let Some(url) = settings
            .endpoint_url
            .as_ref()
            .filter(|_| !settings.endpoint_url_from_env)
        {
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
        let sdk = match &settings.role_arn {
            Some(arn) => assume_role(sdk, settings, arn).await?,
            None => sdk,
        };
        Ok(Session {
            settings: settings.clone(),
            sdk,
            given: None,
        })
    }

    /// A session whose clients are the given ones (the SDK's mocks, in tests), for any
    /// region: nothing is loaded and no credential is looked for.
    #[doc(hidden)]
    pub fn with_clients(settings: &AwsSettings, clients: GivenClients) -> Session {
        let sdk = SdkConfig::builder()
            .behavior_version(BehaviorVersion::v2026_01_12())
            .region(Region::new(
                settings
                    .region
                    .clone()
                    .unwrap_or_else(|| "us-east-1".into()),
            ))
            .build();
        Session {
            settings: settings.clone(),
            sdk,
            given: Some(std::sync::Arc::new(clients)),
        }
    }

    /// The loaded configuration, for clients of services only `plan --resolve` asks.
    pub(super) fn sdk(&self) -> &SdkConfig {
        &self.sdk
    }

    /// The credentials calls are signed with right now (the role's, after any assumption),
    /// for a pre-signed URL that rides on a call (`presign`).
    pub async fn signing_keys(&self) -> Result<super::presign::Keys, ProviderError> {
        let provider = self
            .sdk
            .credentials_provider()
            .ok_or_else(|| ProviderError::harness("no AWS credential provider is configured"))?;
        let c = provider.provide_credentials().await.map_err(|e| {
            ProviderError::harness(format!(
                "no AWS credentials to sign a pre-signed URL with: {}",
                super::error_chain(&e)
            ))
        })?;
        Ok(super::presign::Keys {
            access_key_id: c.access_key_id().to_owned(),
            secret_access_key: c.secret_access_key().to_owned(),
            session_token: c.session_token().map(str::to_owned),
        })
    }

    /// The region of the drill's `[provider]`.
    pub fn region(&self) -> String {
        self.sdk.region().map(|r| r.to_string()).unwrap_or_default()
    }

    pub fn rds(&self, region: Option<&str>) -> aws_sdk_rds::Client {
        if let Some(c) = self.given.as_ref().and_then(|g| g.rds.clone()) {
            return c;
        }
        let mut b = aws_sdk_rds::config::Builder::from(&self.sdk)
            .interceptor(CallsAreLooks)
            .interceptor(super::trace::Trace);
        if let Some(r) = region {
            b = b.region(Region::new(r.to_owned()));
        }
        aws_sdk_rds::Client::from_conf(b.build())
    }

    /// S3 uses path-style addresses against a custom endpoint (emulators and S3-compatible
    /// stores rarely have wildcard DNS).
    pub fn s3(&self, region: Option<&str>) -> aws_sdk_s3::Client {
        if let Some(c) = self.given.as_ref().and_then(|g| g.s3.clone()) {
            return c;
        }
        let mut b = aws_sdk_s3::config::Builder::from(&self.sdk)
            .interceptor(CallsAreLooks)
            .interceptor(super::trace::Trace);
        if let Some(r) = region {
            b = b.region(Region::new(r.to_owned()));
        }
        if self.custom_s3_endpoint() {
            b = b.force_path_style(true);
        }
        aws_sdk_s3::Client::from_conf(b.build())
    }

    /// S3 is reached at an endpoint of the drill's or the environment's, not AWS's own.
    fn custom_s3_endpoint(&self) -> bool {
        self.settings.endpoint_url.is_some() || self.settings.s3_endpoint_url.is_some()
    }

    /// What the copy's direct S3 calls (`s3/wire.rs`) need from this session, or `None` when
    /// clients were handed in (tests' SDK mocks), which keep the SDK for every call. The
    /// address parameters are the ones [`Session::s3`]'s client resolves with: the same
    /// endpoint URL (the drill's, `AWS_ENDPOINT_URL_S3`, a profile's `services` section, or
    /// `AWS_ENDPOINT_URL`, in the SDK's order), path style, FIPS and dual-stack settings.
    pub(crate) fn s3_direct(&self, region: Option<&str>) -> Option<S3Direct> {
        if self.given.is_some() {
            return None;
        }
        let endpoint_url = if self.sdk.get_origin("endpoint_url").is_client_config() {
            self.sdk.endpoint_url().map(str::to_owned)
        } else {
            self.sdk
                .service_config()
                .and_then(|c| {
                    c.load_config(
                        aws_types::service_config::ServiceConfigKey::builder()
                            .service_id("S3")
                            .env("AWS_ENDPOINT_URL")
                            .profile("endpoint_url")
                            .build()
                            .ok()?,
                    )
                })
                .or_else(|| self.sdk.endpoint_url().map(str::to_owned))
        };
        Some(S3Direct {
            addressing: S3Addressing {
                region: region.map(str::to_owned).unwrap_or_else(|| self.region()),
                endpoint_url,
                force_path_style: self.custom_s3_endpoint(),
                use_fips: self.sdk.use_fips() == Some(true),
                use_dual_stack: self.sdk.use_dual_stack() == Some(true),
            },
            credentials: self.sdk.credentials_provider()?,
            connect_timeout: CONNECT_TIMEOUT,
            attempt_timeout: seconds(self.settings.copy_attempt_timeout_seconds),
        })
    }

    /// The per-operation override for server-side copies: their own (long) timeouts, and no
    /// retries of the SDK's when `own_retries` (the copier retries throttling itself, so it
    /// sees and counts every SlowDown and its latency histogram holds no backoff).
    pub fn copy_override(&self, own_retries: bool) -> aws_sdk_s3::config::Builder {
        let mut b = aws_sdk_s3::config::Builder::default().timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(seconds(self.settings.copy_attempt_timeout_seconds))
                .operation_timeout(seconds(self.settings.copy_operation_timeout_seconds))
                .build(),
        );
        if own_retries {
            b = b.retry_config(RetryConfig::standard().with_max_attempts(1));
        }
        b
    }

    pub fn backup(&self, region: Option<&str>) -> aws_sdk_backup::Client {
        if let Some(c) = self.given.as_ref().and_then(|g| g.backup.clone()) {
            return c;
        }
        let mut b = aws_sdk_backup::config::Builder::from(&self.sdk)
            .interceptor(CallsAreLooks)
            .interceptor(super::trace::Trace);
        if let Some(r) = region {
            b = b.region(Region::new(r.to_owned()));
        }
        aws_sdk_backup::Client::from_conf(b.build())
    }
}

/// The configuration with the role's credentials instead of the runner's: the SDK's own
/// assume-role provider, signed with the runner's credentials (environment, IRSA, ECS task
/// role, OIDC), renewing before expiry. The role is assumed once here, so a role the runner may
/// not assume is one clear harness error before any other call.
async fn assume_role(
    sdk: SdkConfig,
    settings: &AwsSettings,
    arn: &str,
) -> Result<SdkConfig, ProviderError> {
    let mut b = aws_config::sts::AssumeRoleProvider::builder(arn).configure(&sdk);
    b = b.session_name(
        settings
            .role_session_name
            .clone()
            .unwrap_or_else(|| DEFAULT_SESSION_NAME.to_owned()),
    );
    if let Some(x) = &settings.role_external_id {
        b = b.external_id(x);
    }
    if let Some(s) = settings.role_duration_seconds {
        b = b.session_length(Duration::from_secs(s));
    }
    let provider = b.build().await;
    if let Err(e) = provider.provide_credentials().await {
        return Err(ProviderError::harness(format!(
            "cannot assume role {arn} ([provider] role_arn): {}",
            super::error_chain(&e)
        )));
    }
    Ok(sdk
        .into_builder()
        .credentials_provider(aws_sdk_s3::config::SharedCredentialsProvider::new(provider))
        .build())
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
