//! The two calls a copy makes per object, `CopyObject` and `HeadObject`, sent without the
//! SDK's orchestrator: built here, signed with `aws-sigv4` as the SDK signs S3 requests, and
//! sent through the same HTTP connector the SDK uses (TLS, connection pool, connect timeout).
//!
//! Why: on a real multi-core S3 server the orchestrator (serialisation, interceptors, endpoint
//! resolution, identity cache, retry bookkeeping, response parsing) costs several times the
//! request itself: ~0.19 ms of client CPU per `CopyObject` against ~0.04 ms here, and at
//! thousands of copies a second that is the difference between a drill that needs a large
//! runner and one that does not.
//!
//! What stays with the SDK: everything else (listings, markers, teardown, multipart copies),
//! and these calls too whenever the address of a bucket is not one this module can be sure
//! of: a client handed in (the SDK's mocks), FIPS or dual-stack endpoints, an endpoint whose
//! rules ask for another signature than SigV4 for `s3` (S3 Express, multi-region access
//! points), or `RESTORE_DRILL_S3_CLIENT=sdk`. The address itself is the SDK's: its own
//! endpoint resolver is asked, with the parameters its client would use.
//!
//! Copies are not retried here: the copier retries throttling and transient failures itself
//! (`copy.rs`), as it does for the SDK's calls. HeadObject is retried here, the way the SDK's
//! standard retry mode did for it (nothing above retries a HEAD).
//!
//! Clock skew is corrected as the SDK corrects it: every answer's `Date` gives the server's
//! clock, requests are signed at this machine's time plus the last skew measured, and a
//! refusal for the signing time that moved the skew by more than 4 minutes is worth another
//! attempt.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime};

use aws_sdk_s3::config::endpoint::{DefaultResolver, Params, ResolveEndpoint};
use aws_sdk_s3::config::{Credentials, ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::http::{HttpConnector, SharedHttpConnector};
use aws_smithy_runtime_api::client::identity::Identity;
use aws_smithy_types::Document;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::date_time::Format;
use http_body_util::BodyExt;

use crate::provider::aws::config::{S3Addressing as Addressing, Session};

/// The environment variable that sends every call through the SDK (`sdk`), to compare or to
/// rule this module out.
pub(crate) const CLIENT_ENV: &str = "RESTORE_DRILL_S3_CLIENT";

/// Credentials are fetched again this long before they expire; ones without an expiry (static
/// keys, the environment) are fetched again after this long anyway.
const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(300);
const REFRESH_AT_LEAST_EVERY: Duration = Duration::from_secs(900);

/// A measured skew above this, on a refusal for the signing time, is corrected and the call
/// tried again; the SDK uses the same threshold. S3 allows 15 minutes.
const SKEW_DETECTION_THRESHOLD: Duration = Duration::from_secs(4 * 60);
/// An answer that took longer than this says too little about when its `Date` was made.
const MAX_TRUSTED_ROUND_TRIP: Duration = Duration::from_secs(15 * 60);

/// The error codes with which servers refuse a request for the time it was signed at.
const CLOCK_SKEW_CODES: &[&str] = &[
    "RequestTimeTooSkewed",
    "RequestExpired",
    "RequestInTheFuture",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "AuthFailure",
];

/// The SHA-256 of an empty body: what `x-amz-content-sha256` says for these calls.
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// One bucket's address and signing, and a way to send.
#[derive(Clone)]
pub(crate) struct Wire {
    inner: Arc<Inner>,
}

struct Inner {
    bucket: String,
    /// The bucket's base URL without a trailing `/`: `https://b.s3.eu-west-1.amazonaws.com`,
    /// or `http://127.0.0.1:8333/b` path-style.
    base: String,
    /// The `host` header: the base URL's authority.
    host: String,
    signing_region: String,
    connector: SharedHttpConnector,
    credentials: SharedCredentialsProvider,
    cached: tokio::sync::Mutex<Option<(Identity, std::time::Instant, Option<SystemTime>)>>,
    attempt_timeout: Duration,
    /// The server's clock minus this machine's, in milliseconds, from the `Date` of the last
    /// answer (as the SDK's clock-skew interceptor measures it): requests are signed at
    /// local time plus this, so a runner whose clock is off still signs in S3's time.
    skew_ms: AtomicI64,
}

impl std::fmt::Debug for Wire {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wire")
            .field("bucket", &self.inner.bucket)
            .field("base", &self.inner.base)
            .finish_non_exhaustive()
    }
}

/// A call that got no usable answer, or an answer that is an error.
#[derive(Debug, Clone)]
pub(crate) struct WireError {
    /// The HTTP status, when there was an answer.
    pub status: Option<u16>,
    /// S3's error code (from the XML body; for a body-less answer, none).
    pub code: Option<String>,
    /// S3's message, or what went wrong before an answer.
    pub message: String,
    /// No answer: a timeout, a refused or dropped connection.
    pub no_answer: bool,
    /// Refused for the time it was signed at (`RequestTimeTooSkewed`, or a bare 403 to a
    /// HEAD) by a server whose clock this answer showed to be more than
    /// `SKEW_DETECTION_THRESHOLD` from the one signed with: the next attempt signs in the
    /// server's time, so it is worth one.
    pub skew_corrected: bool,
}

impl WireError {
    /// Worth another attempt: no answer, a 5xx, or throttling (429, or a throttling code).
    pub(crate) fn retryable(&self) -> bool {
        self.no_answer
            || self.skew_corrected
            || self.status.is_some_and(|s| s >= 500 || s == 429)
            || matches!(
                self.code.as_deref(),
                Some("SlowDown" | "Throttling" | "RequestTimeout" | "InternalError")
            )
    }
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.status, &self.code) {
            (Some(s), Some(c)) => write!(f, "{c} (HTTP {s}): {}", self.message),
            (Some(s), None) => write!(f, "HTTP {s}: {}", self.message),
            (None, _) => write!(f, "{}", self.message),
        }?;
        if self.skew_corrected {
            write!(
                f,
                " (signed at this machine's time, which is off from the server's by more than {} min: the server's time is taken from now on, worth another attempt)",
                SKEW_DETECTION_THRESHOLD.as_secs() / 60
            )?;
        }
        Ok(())
    }
}

/// The copy's own request, as `copy.rs` decided it.
pub(crate) struct CopyRequest<'a> {
    pub key: &'a str,
    pub copy_source: &'a str,
    /// `x-amz-tagging` (with `x-amz-tagging-directive: REPLACE`), else the source's tags.
    pub tagging: Option<&'a str>,
    pub checksum_sha256: bool,
    pub sse: Option<&'a str>,
    pub kms_key_id: Option<&'a str>,
    /// Which attempt of this copy this is (from 1), for the `-v` log: the copier retries.
    pub attempt: u32,
}

/// What `HeadObject` answered, headers only.
#[derive(Debug, Default)]
pub(crate) struct HeadAnswer {
    pub encryption: Option<String>,
    pub kms_key_id: Option<String>,
    pub sse_customer_algorithm: Option<String>,
    pub archive_status: Option<String>,
    pub storage_class: Option<String>,
    pub restore: Option<String>,
}

impl Wire {
    /// A wire for `bucket` under `session`'s settings and credentials in `region` (the
    /// session's own when `None`), or `None` when the SDK's client keeps these calls.
    pub(crate) async fn for_session(
        session: &Session,
        region: Option<&str>,
        bucket: &str,
    ) -> Option<Wire> {
        if sdk_forced() {
            return None;
        }
        Wire::for_clock(session, region, bucket).await
    }

    /// A wire for `bucket` that only reads S3's clock (`server_now`), made even when the SDK
    /// keeps the copies (`RESTORE_DRILL_S3_CLIENT=sdk`); `None` where no wire can be made.
    pub(crate) async fn for_clock(
        session: &Session,
        region: Option<&str>,
        bucket: &str,
    ) -> Option<Wire> {
        let d = session.s3_direct(region)?;
        Wire::new(
            &d.addressing,
            bucket,
            d.credentials,
            d.connect_timeout,
            d.attempt_timeout,
        )
        .await
    }

    /// A wire for `bucket`, or `None` when its address is not one this module sends to (the
    /// caller then keeps the SDK's client). `attempt_timeout` bounds each call.
    pub(crate) async fn new(
        addressing: &Addressing,
        bucket: &str,
        credentials: SharedCredentialsProvider,
        connect_timeout: Duration,
        attempt_timeout: Duration,
    ) -> Option<Wire> {
        if addressing.use_fips || addressing.use_dual_stack {
            return None;
        }
        let mut params = Params::builder()
            .region(addressing.region.clone())
            .bucket(bucket)
            .use_fips(false)
            .use_dual_stack(false)
            .force_path_style(addressing.force_path_style)
            .accelerate(false);
        if let Some(url) = &addressing.endpoint_url {
            params = params.endpoint(url.clone());
        }
        let params = params.build().ok()?;
        let endpoint = DefaultResolver::new()
            .resolve_endpoint(&params)
            .await
            .ok()?;
        if endpoint.headers().next().is_some() {
            return None;
        }
        let signing_region = sigv4_s3_region(&endpoint)?;
        let base = endpoint.url().trim_end_matches('/').to_owned();
        let uri: http::Uri = base.parse().ok()?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.query().is_some() {
            return None;
        }
        let host = uri.authority()?.as_str().to_owned();
        let settings = aws_smithy_runtime_api::client::http::HttpConnectorSettings::builder()
            .connect_timeout(connect_timeout)
            .build();
        let connector = aws_smithy_http_client::Connector::builder()
            .connector_settings(settings)
            .sleep_impl(aws_smithy_async::rt::sleep::TokioSleep::new())
            .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
            ))
            .build();
        Some(Wire {
            inner: Arc::new(Inner {
                bucket: bucket.to_owned(),
                base,
                host,
                signing_region,
                connector: SharedHttpConnector::new(connector),
                credentials,
                cached: tokio::sync::Mutex::new(None),
                attempt_timeout,
                skew_ms: AtomicI64::new(0),
            }),
        })
    }

    pub(crate) fn bucket(&self) -> &str {
        &self.inner.bucket
    }

    /// `CopyObject` into this wire's bucket. S3 may send a 200 and then an error in the body
    /// (it sends the status before the copy is done): that is an error here.
    pub(crate) async fn copy_object(&self, r: &CopyRequest<'_>) -> Result<(), WireError> {
        let mut headers: Vec<(&str, &str)> = vec![
            ("x-amz-copy-source", r.copy_source),
            ("x-amz-metadata-directive", "COPY"),
        ];
        if let Some(t) = r.tagging {
            headers.push(("x-amz-tagging-directive", "REPLACE"));
            headers.push(("x-amz-tagging", t));
        }
        if r.checksum_sha256 {
            headers.push(("x-amz-checksum-algorithm", "SHA256"));
        }
        if let Some(s) = r.sse {
            headers.push(("x-amz-server-side-encryption", s));
        }
        if let Some(k) = r.kms_key_id {
            headers.push(("x-amz-server-side-encryption-aws-kms-key-id", k));
        }
        let url = format!("{}/{}", self.inner.base, super::keys::path_encode(r.key));
        let a = self
            .send("CopyObject", r.attempt, "PUT", &url, &headers)
            .await?;
        let body = String::from_utf8_lossy(&a.body);
        if (200..300).contains(&a.status) && !body.contains("<Error>") {
            return Ok(());
        }
        Err(answer_error(a.status, &body).skew(a.skew_moved))
    }

    /// `HeadObject` of one version of `key` in this wire's bucket, tried again on throttling
    /// and transient failures as the SDK's standard retry would (`MAX_ATTEMPTS` attempts,
    /// backoff from `INITIAL_BACKOFF`): a HEAD is read-only, and unlike the copies nobody
    /// above retries it.
    pub(crate) async fn head_object(
        &self,
        key: &str,
        version_id: &str,
    ) -> Result<HeadAnswer, WireError> {
        use crate::provider::aws::config::{INITIAL_BACKOFF, MAX_ATTEMPTS, MAX_BACKOFF};
        let mut attempt = 1;
        loop {
            match self.head_once(key, version_id, attempt).await {
                Err(e) if e.retryable() && attempt < MAX_ATTEMPTS => {
                    tokio::time::sleep(super::pace::backoff_from(
                        INITIAL_BACKOFF,
                        MAX_BACKOFF,
                        attempt - 1,
                    ))
                    .await;
                    attempt += 1;
                }
                r => return r,
            }
        }
    }

    async fn head_once(
        &self,
        key: &str,
        version_id: &str,
        attempt: u32,
    ) -> Result<HeadAnswer, WireError> {
        let url = format!(
            "{}/{}?versionId={}",
            self.inner.base,
            super::keys::path_encode(key),
            super::keys::query_encode(version_id)
        );
        let a = self.send("HeadObject", attempt, "HEAD", &url, &[]).await?;
        if !(200..300).contains(&a.status) {
            return Err(answer_error(a.status, "").skew(a.skew_moved));
        }
        let get = |name: &str| {
            a.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        Ok(HeadAnswer {
            encryption: get("x-amz-server-side-encryption"),
            kms_key_id: get("x-amz-server-side-encryption-aws-kms-key-id"),
            sse_customer_algorithm: get("x-amz-server-side-encryption-customer-algorithm"),
            archive_status: get("x-amz-archive-status"),
            storage_class: get("x-amz-storage-class"),
            restore: get("x-amz-restore"),
        })
    }

    /// The credentials to sign with, fetched again before they expire.
    async fn identity(&self) -> Result<Identity, WireError> {
        let mut cached = self.inner.cached.lock().await;
        if let Some((identity, fetched, expiry)) = cached.as_ref() {
            let fresh = match expiry {
                Some(e) => e
                    .duration_since(SystemTime::now())
                    .is_ok_and(|left| left > REFRESH_BEFORE_EXPIRY),
                None => fetched.elapsed() < REFRESH_AT_LEAST_EVERY,
            };
            if fresh {
                return Ok(identity.clone());
            }
        }
        let c: Credentials = self
            .inner
            .credentials
            .provide_credentials()
            .await
            .map_err(|e| WireError {
                status: None,
                code: None,
                message: format!(
                    "no AWS credentials to sign with: {}",
                    crate::provider::aws::error_chain(&e)
                ),
                no_answer: false,
                skew_corrected: false,
            })?;
        let expiry = c.expiry();
        let identity: Identity = c.into();
        *cached = Some((identity.clone(), std::time::Instant::now(), expiry));
        Ok(identity)
    }

    /// Signs and sends one call, at this machine's time corrected by the last skew measured;
    /// measures the skew again from the answer's `Date`.
    async fn send(
        &self,
        operation: &'static str,
        attempt: u32,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
    ) -> Result<Answer, WireError> {
        let identity = self.identity().await?;
        let skew_used = self.inner.skew_ms.load(Ordering::Relaxed);
        let local = |message: String| WireError {
            status: None,
            code: None,
            message,
            no_answer: false,
            skew_corrected: false,
        };
        let mut settings = SigningSettings::default();
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.inner.signing_region)
            .name("s3")
            .time(skewed(SystemTime::now(), skew_used))
            .settings(settings)
            .build()
            .map_err(|e| local(format!("cannot sign {operation}: {e}")))?
            .into();
        let mut all: Vec<(&str, &str)> = Vec::with_capacity(headers.len() + 2);
        all.push(("host", &self.inner.host));
        all.push(("x-amz-content-sha256", EMPTY_SHA256));
        all.extend_from_slice(headers);
        let signable =
            SignableRequest::new(method, url, all.iter().copied(), SignableBody::Bytes(&[]))
                .map_err(|e| local(format!("cannot sign {operation}: {e}")))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| local(format!("cannot sign {operation}: {e}")))?
            .into_parts();
        let mut request = http::Request::builder().method(method).uri(url);
        for (k, v) in &all {
            request = request.header(*k, *v);
        }
        request = request.header(
            "user-agent",
            concat!("restore-drill/", env!("CARGO_PKG_VERSION")),
        );
        let mut request = request
            .body(SdkBody::empty())
            .map_err(|e| local(format!("cannot build {operation}: {e}")))?;
        instructions.apply_to_request_http1x(&mut request);
        let request = aws_smithy_runtime_api::http::Request::try_from(request)
            .map_err(|e| local(format!("cannot build {operation}: {e}")))?;
        let started = std::time::Instant::now();
        let sent = SystemTime::now();
        let call = async {
            let response = self
                .inner
                .connector
                .call(request)
                .await
                .map_err(|e| WireError {
                    status: None,
                    code: None,
                    message: format!("no answer: {}", crate::provider::aws::error_chain(&e)),
                    no_answer: true,
                    skew_corrected: false,
                })?;
            let status = response.status().as_u16();
            let response: http::Response<SdkBody> = response
                .try_into_http1x()
                .map_err(|e| local(format!("{operation}: {e}")))?;
            let (parts, body) = response.into_parts();
            let body = body
                .collect()
                .await
                .map_err(|e| WireError {
                    status: Some(status),
                    code: None,
                    message: format!(
                        "the answer broke off: {}",
                        crate::provider::aws::error_chain(e.as_ref())
                    ),
                    no_answer: true,
                    skew_corrected: false,
                })?
                .to_bytes();
            let skew_moved = self.measure_skew(&parts.headers, sent, skew_used);
            Ok(Answer {
                status,
                headers: parts.headers,
                body,
                skew_moved,
            })
        };
        let result = match tokio::time::timeout(self.inner.attempt_timeout, call).await {
            Ok(r) => r,
            Err(_) => Err(WireError {
                status: None,
                code: None,
                message: format!(
                    "no answer within {:.0} s (the attempt timeout)",
                    self.inner.attempt_timeout.as_secs_f64()
                ),
                no_answer: true,
                skew_corrected: false,
            }),
        };
        crate::provider::aws::trace::wire_attempt(
            "s3",
            operation,
            attempt,
            result
                .as_ref()
                .ok()
                .map(|r| r.status)
                .or_else(|| result.as_ref().err().and_then(|e| e.status)),
            started.elapsed(),
        );
        crate::provider::poll::call();
        result
    }

    /// Takes the skew from an answer's `Date` (second resolution; the server is assumed to
    /// have stamped it halfway through the round trip), unless the answer came from a cache
    /// or took too long to say when. True when it moved more than
    /// `SKEW_DETECTION_THRESHOLD` from `used`, the skew the request was signed with.
    fn measure_skew(&self, headers: &http::HeaderMap, sent: SystemTime, used: i64) -> bool {
        if headers.contains_key("age") {
            return false;
        }
        let Some(server) = headers
            .get("date")
            .and_then(|d| d.to_str().ok())
            .and_then(|d| aws_smithy_types::DateTime::from_str(d, Format::HttpDate).ok())
            .and_then(|d| SystemTime::try_from(d).ok())
        else {
            return false;
        };
        let elapsed = SystemTime::now().duration_since(sent).unwrap_or_default();
        if elapsed > MAX_TRUSTED_ROUND_TRIP {
            return false;
        }
        let midpoint = sent + elapsed / 2;
        let skew = match server.duration_since(midpoint) {
            Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
        };
        self.inner.skew_ms.store(skew, Ordering::Relaxed);
        skew.abs_diff(used) > SKEW_DETECTION_THRESHOLD.as_millis() as u64
    }

    /// The latest S3's clock can read now, from the `Date` of a `HeadBucket` (any answer,
    /// even a refusal, carries one): `Date` has whole seconds, cut down, and S3 may have
    /// stamped it as early as the request left, so S3's time now is at most `Date` + 1 s +
    /// the time since the request was sent. With the skew measured from that answer (ms,
    /// S3's clock minus this machine's, at the middle of the round trip). `None` when no
    /// answer came, or it carried no usable `Date`.
    pub(crate) async fn server_now(&self) -> Option<(chrono::DateTime<chrono::Utc>, i64)> {
        let base = self.inner.base.clone();
        let sent = std::time::Instant::now();
        let answer = self.send("HeadBucket", 1, "HEAD", &base, &[]).await.ok()?;
        if answer.headers.contains_key("age") {
            return None;
        }
        let date = answer
            .headers
            .get("date")
            .and_then(|d| d.to_str().ok())
            .and_then(|d| chrono::DateTime::parse_from_rfc2822(d).ok())?
            .with_timezone(&chrono::Utc);
        let since_sent = chrono::TimeDelta::from_std(sent.elapsed()).ok()?;
        let skew = self.inner.skew_ms.load(Ordering::Relaxed);
        Some((date + chrono::TimeDelta::seconds(1) + since_sent, skew))
    }

    /// Pretends this machine's clock is `offset` behind (negative: ahead of) the server's
    /// until an answer says otherwise: tests sign as a runner with a wrong clock would.
    #[doc(hidden)]
    pub(crate) fn assume_skew(&self, offset_ms: i64) {
        self.inner.skew_ms.store(offset_ms, Ordering::Relaxed);
    }
}

/// Whether `RESTORE_DRILL_S3_CLIENT=sdk` keeps every call on the SDK's client.
fn sdk_forced() -> bool {
    std::env::var(CLIENT_ENV).is_ok_and(|v| v.eq_ignore_ascii_case("sdk"))
}

/// An answer: its status, headers and body, and whether it moved the measured clock skew
/// by more than `SKEW_DETECTION_THRESHOLD`.
struct Answer {
    status: u16,
    headers: http::HeaderMap,
    body: bytes::Bytes,
    skew_moved: bool,
}

/// `t` moved by `skew_ms`.
fn skewed(t: SystemTime, skew_ms: i64) -> SystemTime {
    let d = Duration::from_millis(skew_ms.unsigned_abs());
    if skew_ms >= 0 {
        t.checked_add(d)
    } else {
        t.checked_sub(d)
    }
    .unwrap_or(t)
}

/// The signing region of an endpoint whose first auth scheme is SigV4 for `s3` without
/// double encoding, else `None`. The rules give their schemes typed, or (older ones) as the
/// `authSchemes` property.
fn sigv4_s3_region(endpoint: &aws_smithy_types::endpoint::Endpoint) -> Option<String> {
    let text = |d: Option<&Document>| match d {
        Some(Document::String(s)) => Some(s.clone()),
        _ => None,
    };
    let (name, signing_name, no_double, region) = match endpoint.auth_schemes().first() {
        Some(first) => (
            first.name().to_owned(),
            text(first.get("signingName"))?,
            first.get("disableDoubleEncoding"),
            text(first.get("signingRegion")),
        ),
        None => {
            let Document::Array(schemes) = endpoint.properties().get("authSchemes")? else {
                return None;
            };
            let Document::Object(first) = schemes.first()? else {
                return None;
            };
            (
                text(first.get("name"))?,
                text(first.get("signingName"))?,
                first.get("disableDoubleEncoding"),
                text(first.get("signingRegion")),
            )
        }
    };
    if name != "sigv4" || signing_name != "s3" || !matches!(no_double, Some(Document::Bool(true))) {
        return None;
    }
    region
}

/// An error answer: its code and message from the XML body when there is one.
impl WireError {
    /// Marks a refusal for the signing time, or a bare 403 (a HEAD's has no body to say
    /// why), as worth another attempt when its answer moved the measured skew: the next
    /// attempt is signed in the server's time.
    fn skew(mut self, moved: bool) -> WireError {
        let for_the_time = match self.code.as_deref() {
            Some(c) => CLOCK_SKEW_CODES.contains(&c),
            None => self.status == Some(403),
        };
        self.skew_corrected = moved && for_the_time;
        self
    }
}

fn answer_error(status: u16, body: &str) -> WireError {
    let code = element(body, "Code");
    let message = element(body, "Message").unwrap_or_else(|| {
        http::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("error")
            .to_owned()
    });
    WireError {
        status: Some(status),
        code,
        message,
        no_answer: false,
        skew_corrected: false,
    }
}

/// The text of the first `<name>` element, unescaped.
fn element(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&close)?;
    Some(unescape(&xml[start..end]))
}

/// XML's five named entities and numeric character references (`&#39;`, `&#x27;`); anything
/// else is left as it is.
fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let entity = rest.find(';').map(|end| (&rest[1..end], end));
        let ch = entity.and_then(|(name, _)| match name {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "amp" => Some('&'),
            _ => name
                .strip_prefix("#x")
                .or_else(|| name.strip_prefix("#X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        });
        match (ch, entity) {
            (Some(c), Some((_, end))) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            _ => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Hands out keys that expire `left` from now, counting how often it is asked.
    #[derive(Debug)]
    struct Counting {
        asked: Arc<AtomicUsize>,
        left: Option<Duration>,
    }

    impl ProvideCredentials for Counting {
        fn provide_credentials<'a>(
            &'a self,
        ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            self.asked.fetch_add(1, Ordering::SeqCst);
            let expiry = self.left.map(|l| SystemTime::now() + l);
            aws_credential_types::provider::future::ProvideCredentials::ready(Ok(Credentials::new(
                "AKID", "secret", None, expiry, "test",
            )))
        }
    }

    async fn wire(left: Option<Duration>) -> (Wire, Arc<AtomicUsize>) {
        let asked = Arc::new(AtomicUsize::new(0));
        let addressing = Addressing {
            region: "us-east-1".into(),
            endpoint_url: Some("http://127.0.0.1:9".into()),
            force_path_style: true,
            use_fips: false,
            use_dual_stack: false,
        };
        let creds = SharedCredentialsProvider::new(Counting {
            asked: asked.clone(),
            left,
        });
        let w = Wire::new(
            &addressing,
            "bucket",
            creds,
            Duration::from_secs(1),
            Duration::from_secs(1),
        )
        .await
        .expect("a path-style custom endpoint is one the wire sends to");
        (w, asked)
    }

    #[tokio::test]
    async fn credentials_are_fetched_again_only_near_their_expiry() {
        let (w, asked) = wire(Some(Duration::from_secs(3600))).await;
        for _ in 0..3 {
            w.identity().await.unwrap();
        }
        assert_eq!(
            asked.load(Ordering::SeqCst),
            1,
            "an hour left: fetched once"
        );
        let (w, asked) = wire(Some(Duration::from_secs(120))).await;
        for _ in 0..3 {
            w.identity().await.unwrap();
        }
        assert_eq!(
            asked.load(Ordering::SeqCst),
            3,
            "two minutes left: fetched each time"
        );
        let (w, asked) = wire(None).await;
        w.identity().await.unwrap();
        w.identity().await.unwrap();
        assert_eq!(
            asked.load(Ordering::SeqCst),
            1,
            "no expiry: kept for a while"
        );
    }

    #[tokio::test]
    async fn the_address_is_the_sdks() {
        let (w, _) = wire(None).await;
        assert_eq!(w.inner.base, "http://127.0.0.1:9/bucket");
        assert_eq!(w.inner.host, "127.0.0.1:9");
        assert_eq!(w.inner.signing_region, "us-east-1");
        let aws = Addressing {
            region: "eu-west-1".into(),
            endpoint_url: None,
            force_path_style: false,
            use_fips: false,
            use_dual_stack: false,
        };
        let creds = SharedCredentialsProvider::new(Credentials::new("a", "b", None, None, "t"));
        let w = Wire::new(
            &aws,
            "my-bucket",
            creds.clone(),
            Duration::from_secs(1),
            Duration::from_secs(1),
        )
        .await
        .unwrap();
        assert_eq!(w.inner.base, "https://my-bucket.s3.eu-west-1.amazonaws.com");
        assert_eq!(w.inner.host, "my-bucket.s3.eu-west-1.amazonaws.com");
        // A bucket name with dots cannot be a TLS virtual host: the SDK goes path-style.
        let w = Wire::new(
            &aws,
            "my.bucket",
            creds.clone(),
            Duration::from_secs(1),
            Duration::from_secs(1),
        )
        .await
        .unwrap();
        assert_eq!(w.inner.base, "https://s3.eu-west-1.amazonaws.com/my.bucket");
        // FIPS, dual-stack and S3 Express stay with the SDK.
        let fips = Addressing {
            use_fips: true,
            ..aws.clone()
        };
        assert!(
            Wire::new(
                &fips,
                "my-bucket",
                creds.clone(),
                Duration::from_secs(1),
                Duration::from_secs(1)
            )
            .await
            .is_none()
        );
        let express = Wire::new(
            &aws,
            "data--euw1-az1--x-s3",
            creds,
            Duration::from_secs(1),
            Duration::from_secs(1),
        )
        .await;
        assert!(express.is_none());
    }

    #[test]
    fn an_error_body_gives_its_code_and_message() {
        let e = answer_error(
            200,
            "<?xml version=\"1.0\"?><Error><Code>InternalError</Code><Message>We &amp; you</Message></Error>",
        );
        assert_eq!(e.code.as_deref(), Some("InternalError"));
        assert_eq!(e.message, "We & you");
        let bare = answer_error(404, "");
        assert_eq!(bare.code, None);
        assert_eq!(bare.message, "Not Found");
    }

    #[test]
    fn messages_lose_their_character_references() {
        assert_eq!(
            unescape("the server&#39;s &#x27;t&#X27; &amp;lt; &bogus; &#xZZ; & done &"),
            "the server's 't' &lt; &bogus; &#xZZ; & done &"
        );
        assert_eq!(unescape("plain"), "plain");
    }

    #[tokio::test]
    async fn the_skew_is_the_servers_date_minus_the_middle_of_the_round_trip() {
        let (w, _) = wire(None).await;
        let date = |t: SystemTime| {
            let mut h = http::HeaderMap::new();
            let d = aws_smithy_types::DateTime::from(t)
                .fmt(Format::HttpDate)
                .unwrap();
            h.insert("date", d.parse().unwrap());
            h
        };
        let now = SystemTime::now();
        // A server an hour ahead: measured (to the second the header carries), and moved.
        assert!(w.measure_skew(&date(now + Duration::from_secs(3600)), now, 0));
        let skew = w.inner.skew_ms.load(Ordering::Relaxed);
        assert!((3_598_000..=3_601_000).contains(&skew), "{skew}");
        // Signed with that skew, the same answer moves nothing.
        assert!(!w.measure_skew(&date(now + Duration::from_secs(3600)), now, skew));
        // A server a minute behind: measured, but under the threshold.
        assert!(!w.measure_skew(&date(now - Duration::from_secs(60)), now, 0));
        let skew = w.inner.skew_ms.load(Ordering::Relaxed);
        assert!((-61_000..=-58_000).contains(&skew), "{skew}");
        // A cached answer, or one without a date, says nothing.
        let mut cached = date(now + Duration::from_secs(7200));
        cached.insert("age", "10".parse().unwrap());
        assert!(!w.measure_skew(&cached, now, 0));
        assert!(!w.measure_skew(&http::HeaderMap::new(), now, 0));
        assert_eq!(w.inner.skew_ms.load(Ordering::Relaxed), skew);
        assert_eq!(skewed(now, -60_000), now - Duration::from_secs(60));
        assert_eq!(skewed(now, 1_500), now + Duration::from_millis(1_500));
    }

    #[test]
    fn only_a_refusal_for_the_time_that_moved_the_skew_is_worth_another_attempt() {
        let skewed_body = "<Error><Code>RequestTimeTooSkewed</Code><Message>m</Message></Error>";
        assert!(answer_error(403, skewed_body).skew(true).retryable());
        assert!(!answer_error(403, skewed_body).skew(false).retryable());
        // A HEAD's bare 403 can be the time too.
        assert!(answer_error(403, "").skew(true).retryable());
        let denied = "<Error><Code>AccessDenied</Code><Message>m</Message></Error>";
        assert!(!answer_error(403, denied).skew(true).retryable());
        assert!(!answer_error(404, "").skew(true).retryable());
    }

    #[test]
    fn keys_are_encoded_as_the_sdk_encodes_them() {
        assert_eq!(
            crate::provider::aws::s3::keys::path_encode("a b/c+d%e?#é"),
            "a%20b/c%2Bd%25e%3F%23%C3%A9"
        );
        assert_eq!(
            crate::provider::aws::s3::keys::path_encode("plain/key-1_2.3~"),
            "plain/key-1_2.3~"
        );
    }
}
