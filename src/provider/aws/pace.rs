//! Pacing of AWS API calls, shared by every drill of a process: one token bucket per
//! (credentials, region, service), sized below the service's documented request limits, so
//! `run --jobs 100` does not throttle itself (or the account's other tools). The SDK's retry
//! with backoff stays the backstop for throttles caused by others.
//!
//! The pacing sits in the HTTP client, after signing: the signed request names the access key,
//! region and service in its credential scope, whatever client or endpoint sent it, and every
//! attempt (retries too) takes a token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use tokio::time::Instant;

/// A token bucket's size and refill rate for one service, per account and region.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit {
    /// Calls that may go at once after a quiet period.
    pub burst: f64,
    /// Calls per second, sustained.
    pub per_second: f64,
}

/// The pacing of a service's calls (by the signing name in the credential scope), or `None`
/// for a service that is not paced.
///
/// - RDS documents a bucket of 300 calls refilled at 12 per second, per account and region
///   ("Request throttling for the Amazon RDS API"); drills take at most 80 % of it, leaving
///   the rest to the account's other tools.
/// - EC2 describes: 100 and 20 per second for the non-mutating calls.
/// - AWS Backup, STS, IAM and KMS: conservative figures well under their published quotas.
/// - S3 is not paced here: its limits are per prefix (3,500 writes and 5,500 reads per second)
///   and the copy engine bounds its own concurrency and backs off on `SlowDown`.
pub fn limit(service: &str) -> Option<Limit> {
    if let Some(set) = overrides().get(service) {
        return *set;
    }
    default_limit(service)
}

/// The environment variable that changes the pacing, for an account whose limits were raised
/// or that other tools already load: `rds=120/5,backup=off` (burst/per second, or `off`).
pub const PACE_ENV: &str = "RESTORE_DRILL_API_PACE";

/// Parses `service=BURST/PER_SECOND` or `service=off`, comma-separated.
pub fn parse_overrides(text: &str) -> Result<HashMap<String, Option<Limit>>, String> {
    let mut out = HashMap::new();
    for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let bad = || {
            format!(
                "{PACE_ENV}: \"{item}\" is not SERVICE=BURST/PER_SECOND or SERVICE=off \
                 (for example rds=120/5)"
            )
        };
        let (service, value) = item.split_once('=').ok_or_else(bad)?;
        let service = service.trim();
        if service.is_empty()
            || !service
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(bad());
        }
        let value = value.trim();
        let limit = if value == "off" {
            None
        } else {
            let (b, r) = value.split_once('/').ok_or_else(bad)?;
            let burst: f64 = b.trim().parse().map_err(|_| bad())?;
            let per_second: f64 = r.trim().parse().map_err(|_| bad())?;
            if !(1.0..=100_000.0).contains(&burst) || !(0.01..=100_000.0).contains(&per_second) {
                return Err(format!(
                    "{PACE_ENV}: \"{item}\": the burst must be 1 to 100000 calls and the rate \
                     0.01 to 100000 per second"
                ));
            }
            Some(Limit { burst, per_second })
        };
        out.insert(service.to_owned(), limit);
    }
    Ok(out)
}

/// The overrides from the environment, checked by `check_env` before any call.
fn overrides() -> &'static HashMap<String, Option<Limit>> {
    static O: OnceLock<HashMap<String, Option<Limit>>> = OnceLock::new();
    O.get_or_init(|| {
        std::env::var(PACE_ENV)
            .ok()
            .and_then(|v| parse_overrides(&v).ok())
            .unwrap_or_default()
    })
}

/// A malformed `RESTORE_DRILL_API_PACE` as a clear error, before any AWS call.
pub fn check_env() -> Result<(), String> {
    match std::env::var(PACE_ENV) {
        Ok(v) => parse_overrides(&v).map(|_| ()),
        Err(_) => Ok(()),
    }
}

fn default_limit(service: &str) -> Option<Limit> {
    let (burst, per_second) = match service {
        "rds" => (240.0, 9.6),
        "ec2" => (50.0, 10.0),
        "backup" => (50.0, 5.0),
        "sts" => (50.0, 20.0),
        "iam" => (20.0, 5.0),
        "kms" => (100.0, 50.0),
        "s3" => return None,
        _ => (50.0, 10.0),
    };
    Some(Limit { burst, per_second })
}

/// One bucket. Tokens go negative: a caller that finds none reserves the next one and sleeps
/// until it is due; callers queue for their turn, so they are served in the order they came.
#[derive(Debug)]
pub struct Bucket {
    limit: Limit,
    state: Mutex<(f64, Instant)>,
    /// Callers wait their turn here, first come first served; a caller that gives up while
    /// waiting (its attempt timed out) takes no token.
    queue: tokio::sync::Mutex<()>,
}

impl Bucket {
    pub fn new(limit: Limit) -> Bucket {
        Bucket {
            limit,
            state: Mutex::new((limit.burst, Instant::now())),
            queue: tokio::sync::Mutex::new(()),
        }
    }

    /// Takes one token; returns how long the caller must wait before using it.
    pub fn reserve(&self) -> Duration {
        let now = Instant::now();
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let refill = now.duration_since(s.1).as_secs_f64() * self.limit.per_second;
        s.0 = (s.0 + refill).min(self.limit.burst) - 1.0;
        s.1 = now;
        if s.0 >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-s.0 / self.limit.per_second)
        }
    }

    /// Waits for a token.
    pub async fn take(&self) {
        let _turn = self.queue.lock().await;
        let wait = self.reserve();
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

type Key = (String, String, String);

fn buckets() -> &'static Mutex<HashMap<Key, Arc<Bucket>>> {
    static B: OnceLock<Mutex<HashMap<Key, Arc<Bucket>>>> = OnceLock::new();
    B.get_or_init(Default::default)
}

/// The bucket for (access key, region, service), created on first use.
fn bucket(key: Key) -> Option<Arc<Bucket>> {
    let limit = limit(&key.2)?;
    let mut map = buckets().lock().unwrap_or_else(|p| p.into_inner());
    Some(
        map.entry(key)
            .or_insert_with(|| Arc::new(Bucket::new(limit)))
            .clone(),
    )
}

/// (access key id, region, service) from a SigV4 `Authorization` header's credential scope.
pub fn scope(authorization: &str) -> Option<Key> {
    let cred = authorization.split("Credential=").nth(1)?;
    let cred = cred.split([',', ' ']).next()?;
    let mut parts = cred.split('/');
    let key = parts.next()?;
    let _date = parts.next()?;
    let region = parts.next()?;
    let service = parts.next()?;
    (parts.next() == Some("aws4_request"))
        .then(|| (key.to_owned(), region.to_owned(), service.to_owned()))
}

/// The HTTP client every AWS client of the process uses, paced.
pub fn paced(inner: SharedHttpClient) -> SharedHttpClient {
    SharedHttpClient::new(PacedClient { inner })
}

#[derive(Debug)]
struct PacedClient {
    inner: SharedHttpClient,
}

impl HttpClient for PacedClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(PacedConnector {
            inner: self.inner.http_connector(settings, components),
        })
    }
}

#[derive(Debug)]
struct PacedConnector {
    inner: SharedHttpConnector,
}

impl HttpConnector for PacedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let bucket = request
            .headers()
            .get("authorization")
            .and_then(scope)
            .and_then(bucket);
        let inner = self.inner.clone();
        HttpConnectorFuture::new(async move {
            if let Some(b) = bucket {
                b.take().await;
            }
            inner.call(request).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scope_names_key_region_and_service() {
        let h = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261130/eu-west-1/rds/aws4_request, \
                 SignedHeaders=host;x-amz-date, Signature=abc";
        assert_eq!(
            scope(h),
            Some((
                "AKIDEXAMPLE".to_owned(),
                "eu-west-1".to_owned(),
                "rds".to_owned()
            ))
        );
        assert_eq!(scope("Bearer token"), None);
        assert_eq!(scope("AWS4-HMAC-SHA256 Credential=AK/2026/us-east-1"), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_bucket_lets_its_burst_through_then_paces_at_its_rate() {
        let b = Bucket::new(Limit {
            burst: 3.0,
            per_second: 2.0,
        });
        let waits: Vec<Duration> = (0..6).map(|_| b.reserve()).collect();
        assert_eq!(&waits[..3], &[Duration::ZERO; 3]);
        // The 4th, 5th and 6th calls are due 0.5 s apart.
        assert_eq!(waits[3], Duration::from_millis(500));
        assert_eq!(waits[4], Duration::from_millis(1000));
        assert_eq!(waits[5], Duration::from_millis(1500));
        // After a quiet period the bucket refills, never beyond its burst.
        tokio::time::advance(Duration::from_secs(60)).await;
        let waits: Vec<Duration> = (0..4).map(|_| b.reserve()).collect();
        assert_eq!(&waits[..3], &[Duration::ZERO; 3]);
        assert_eq!(waits[3], Duration::from_millis(500));
    }

    #[test]
    fn overrides_parse_and_bad_ones_are_named() {
        let o = parse_overrides("rds=120/5, backup=off").unwrap();
        assert_eq!(
            o["rds"],
            Some(Limit {
                burst: 120.0,
                per_second: 5.0
            })
        );
        assert_eq!(o["backup"], None);
        for bad in [
            "rds",
            "rds=5",
            "rds=a/b",
            "=1/1",
            "rds=0/1",
            "rds=10/0",
            "rds=1e9/1",
        ] {
            let e = parse_overrides(bad).unwrap_err();
            assert!(e.contains(PACE_ENV), "{bad}: {e}");
        }
    }

    #[test]
    fn s3_is_not_paced_and_rds_stays_under_its_documented_bucket() {
        assert_eq!(default_limit("s3"), None);
        let rds = default_limit("rds").unwrap();
        assert!(rds.burst < 300.0 && rds.per_second < 12.0, "{rds:?}");
    }
}
