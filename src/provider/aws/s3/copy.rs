//! Server-side copies of the chosen versions, a bounded number at a time. Each object is
//! copied with `CopyObject` and its `versionId` (metadata, content type and, unless the drill
//! asks for run tags, tags carried over), or above the single-copy limit of 5 GiB with a
//! multipart upload of `UploadPartCopy` ranges. Throttling is retried with backoff on top of
//! the SDK's own retries. Every object's copy latency goes into an HDR histogram.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_s3::Client;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::types::{
    ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart, MetadataDirective, TaggingDirective,
};
use futures_util::StreamExt;
use hdrhistogram::Histogram;

use super::keys;
use super::objects::SourceObject;
use crate::provider::aws::error_chain;
use crate::provider::{Blame, ProviderError};

/// The largest object one `CopyObject` may copy.
const SINGLE_COPY_LIMIT: u64 = 5 * 1024 * 1024 * 1024;
/// Parts of a multipart copy: at least this big, and few enough for S3's 10,000 parts.
const PART_SIZE: u64 = 512 * 1024 * 1024;
const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
const MAX_PARTS: u64 = 10_000;
/// Parts of one object copied at once.
const PART_CONCURRENCY: usize = 8;
/// Attempts per object when the server throttles, beyond the SDK's own retries.
const THROTTLE_ATTEMPTS: u32 = 6;
const THROTTLE_BACKOFF: Duration = Duration::from_millis(500);
const THROTTLE_BACKOFF_MAX: Duration = Duration::from_secs(20);
/// Copy failures quoted in the error; the count covers all of them.
const QUOTED_FAILURES: usize = 5;

/// Objects above this many bytes are copied in parts. 5 GiB, the single-copy limit;
/// `RESTORE_DRILL_S3_MULTIPART_THRESHOLD` lowers it (tests, and stores with a lower limit).
pub(crate) fn multipart_threshold() -> u64 {
    std::env::var("RESTORE_DRILL_S3_MULTIPART_THRESHOLD")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|&v| v >= MIN_PART_SIZE)
        .map_or(SINGLE_COPY_LIMIT, |v| v.min(SINGLE_COPY_LIMIT))
}

#[derive(Debug, Clone)]
pub(crate) struct Job {
    pub source_bucket: String,
    pub target_bucket: String,
    pub target_prefix: String,
    pub concurrency: usize,
    /// `x-amz-tagging` for every copy; `None` keeps each source version's own tags.
    pub tags: Option<String>,
    pub multipart_threshold: u64,
}

/// How the copies went.
#[derive(Debug, Clone)]
pub(crate) struct CopyStats {
    pub objects: usize,
    pub concurrency: usize,
    pub seconds: f64,
    pub retries: u64,
    pub multipart: u64,
    /// Per-object copy latency, microseconds.
    pub latency: Histogram<u64>,
}

impl CopyStats {
    pub fn objects_per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            self.objects as f64 / self.seconds
        } else {
            0.0
        }
    }

    pub fn quantile_ms(&self, q: f64) -> f64 {
        self.latency.value_at_quantile(q) as f64 / 1000.0
    }

    pub fn max_ms(&self) -> f64 {
        self.latency.max() as f64 / 1000.0
    }
}

fn histogram() -> Histogram<u64> {
    // 1 µs to 1 h, 3 significant digits: constant, valid bounds.
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

/// One failed attempt, classified.
struct Failure {
    throttled: bool,
    blame: Blame,
    message: String,
}

fn failure<E>(e: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let status = e.raw_response().map(|r| r.status().as_u16());
    let code = e.code();
    let throttled = status == Some(503)
        || status == Some(429)
        || matches!(
            code,
            Some(
                "SlowDown"
                    | "Throttling"
                    | "ThrottlingException"
                    | "RequestLimitExceeded"
                    | "TooManyRequests"
            )
        );
    // A copy the service refuses as a request (e.g. of a version it cannot copy) is the
    // backup's fault too.
    let blame = if super::source_missing(code) || code == Some("InvalidRequest") {
        Blame::Restore
    } else {
        Blame::Harness
    };
    Failure {
        throttled,
        blame,
        message: error_chain(e),
    }
}

/// Copies every object; fails (after all workers stop) if any copy failed.
pub(crate) async fn copy_all(
    client: &Client,
    job: &Job,
    objects: Arc<Vec<SourceObject>>,
) -> Result<CopyStats, ProviderError> {
    let workers = job.concurrency.min(objects.len()).max(1);
    let next = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let (client, job, objects, next, stop) = (
            client.clone(),
            job.clone(),
            objects.clone(),
            next.clone(),
            stop.clone(),
        );
        set.spawn(async move {
            let mut hist = histogram();
            let mut failures: Vec<(String, Failure)> = Vec::new();
            let (mut retries, mut multipart) = (0u64, 0u64);
            while !stop.load(Ordering::Relaxed) {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(o) = objects.get(i) else { break };
                let t0 = Instant::now();
                let mut attempt = 0;
                let result = loop {
                    let r = if o.size > job.multipart_threshold {
                        copy_in_parts(&client, &job, o).await
                    } else {
                        copy_one(&client, &job, o).await
                    };
                    match r {
                        Err(f) if f.throttled && attempt + 1 < THROTTLE_ATTEMPTS => {
                            attempt += 1;
                            retries += 1;
                            tokio::time::sleep(backoff(attempt)).await;
                        }
                        r => break r,
                    }
                };
                match result {
                    Ok(parts) => {
                        hist.saturating_record(t0.elapsed().as_micros().max(1) as u64);
                        if parts {
                            multipart += 1;
                        }
                    }
                    Err(f) => {
                        // A missing version is a finding about the backup; keep copying the
                        // rest to report them all. Anything else stops the run early.
                        if f.blame == Blame::Harness {
                            stop.store(true, Ordering::Relaxed);
                        }
                        failures.push((o.key.clone(), f));
                    }
                }
            }
            (hist, failures, retries, multipart)
        });
    }
    let mut latency = histogram();
    let mut failures = Vec::new();
    let (mut retries, mut multipart) = (0, 0);
    while let Some(done) = set.join_next().await {
        let (h, f, r, m) =
            done.map_err(|e| ProviderError::harness(format!("a copy worker failed: {e}")))?;
        let _ = latency.add(&h);
        failures.extend(f);
        retries += r;
        multipart += m;
    }
    if !failures.is_empty() {
        let blame = if failures.iter().any(|(_, f)| f.blame == Blame::Harness) {
            Blame::Harness
        } else {
            Blame::Restore
        };
        let quoted: Vec<String> = failures
            .iter()
            .take(QUOTED_FAILURES)
            .map(|(k, f)| format!("\"{k}\": {}", f.message))
            .collect();
        let message = format!(
            "{} of {} copies failed: {}",
            failures.len(),
            objects.len(),
            quoted.join("; ")
        );
        return Err(ProviderError { blame, message });
    }
    Ok(CopyStats {
        objects: objects.len(),
        concurrency: workers,
        seconds: started.elapsed().as_secs_f64(),
        retries,
        multipart,
        latency,
    })
}

fn backoff(attempt: u32) -> Duration {
    let base = THROTTLE_BACKOFF
        .saturating_mul(1 << attempt.min(10))
        .min(THROTTLE_BACKOFF_MAX);
    // Jitter from the clock's low bits: enough to keep workers from retrying in step.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    base / 2 + base.mul_f64(f64::from(nanos % 1000) / 2000.0)
}

fn target_key(job: &Job, o: &SourceObject) -> String {
    format!("{}{}", job.target_prefix, o.key)
}

/// One `CopyObject`. Returns `false` (not multipart).
async fn copy_one(client: &Client, job: &Job, o: &SourceObject) -> Result<bool, Failure> {
    let mut req = client
        .copy_object()
        .bucket(&job.target_bucket)
        .key(target_key(job, o))
        .copy_source(keys::copy_source(&job.source_bucket, &o.key, &o.version_id))
        .metadata_directive(MetadataDirective::Copy);
    if let Some(tags) = &job.tags {
        req = req
            .tagging_directive(TaggingDirective::Replace)
            .tagging(tags);
    }
    if o.sha256 {
        req = req.checksum_algorithm(ChecksumAlgorithm::Sha256);
    }
    req.send().await.map_err(|e| failure(&e))?;
    Ok(false)
}

/// A copy in parts, for objects above the single-copy limit: the source version's headers
/// and tags are read and set on the new upload, since `UploadPartCopy` carries only bytes.
async fn copy_in_parts(client: &Client, job: &Job, o: &SourceObject) -> Result<bool, Failure> {
    let head = client
        .head_object()
        .bucket(&job.source_bucket)
        .key(&o.key)
        .version_id(&o.version_id)
        .send()
        .await
        .map_err(|e| failure(&e))?;
    let tags = match &job.tags {
        Some(t) => Some(t.clone()),
        None => {
            let t = client
                .get_object_tagging()
                .bucket(&job.source_bucket)
                .key(&o.key)
                .version_id(&o.version_id)
                .send()
                .await
                .map_err(|e| failure(&e))?;
            let pairs: Vec<String> = t
                .tag_set()
                .iter()
                .map(|t| {
                    format!(
                        "{}={}",
                        keys::query_encode(t.key()),
                        keys::query_encode(t.value())
                    )
                })
                .collect();
            (!pairs.is_empty()).then(|| pairs.join("&"))
        }
    };
    let key = target_key(job, o);
    let upload = client
        .create_multipart_upload()
        .bucket(&job.target_bucket)
        .key(&key)
        .set_content_type(head.content_type().map(str::to_owned))
        .set_content_encoding(head.content_encoding().map(str::to_owned))
        .set_content_disposition(head.content_disposition().map(str::to_owned))
        .set_content_language(head.content_language().map(str::to_owned))
        .set_cache_control(head.cache_control().map(str::to_owned))
        .set_metadata(head.metadata().cloned())
        .set_tagging(tags)
        .send()
        .await
        .map_err(|e| failure(&e))?;
    let upload_id = upload.upload_id().unwrap_or_default().to_owned();
    let part_size = part_size(o.size, job.multipart_threshold);
    let ranges: Vec<(i32, u64, u64)> = (0..o.size.div_ceil(part_size))
        .map(|n| {
            let from = n * part_size;
            (n as i32 + 1, from, (from + part_size).min(o.size) - 1)
        })
        .collect();
    let source = keys::copy_source(&job.source_bucket, &o.key, &o.version_id);
    let parts: Vec<Result<CompletedPart, Failure>> = futures_util::stream::iter(ranges)
        .map(|(n, from, to)| {
            let (source, key, upload_id) = (&source, &key, &upload_id);
            async move {
                let out = client
                    .upload_part_copy()
                    .bucket(&job.target_bucket)
                    .key(key)
                    .upload_id(upload_id)
                    .part_number(n)
                    .copy_source(source)
                    .copy_source_range(format!("bytes={from}-{to}"))
                    .send()
                    .await
                    .map_err(|e| failure(&e))?;
                Ok(CompletedPart::builder()
                    .part_number(n)
                    .set_e_tag(
                        out.copy_part_result()
                            .and_then(|r| r.e_tag())
                            .map(str::to_owned),
                    )
                    .build())
            }
        })
        .buffered(PART_CONCURRENCY)
        .collect()
        .await;
    let parts: Result<Vec<CompletedPart>, Failure> = parts.into_iter().collect();
    let done = match parts {
        Ok(parts) => client
            .complete_multipart_upload()
            .bucket(&job.target_bucket)
            .key(&key)
            .upload_id(&upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map(|_| ())
            .map_err(|e| failure(&e)),
        Err(f) => Err(f),
    };
    if let Err(f) = done {
        let _ = client
            .abort_multipart_upload()
            .bucket(&job.target_bucket)
            .key(&key)
            .upload_id(&upload_id)
            .send()
            .await;
        return Err(f);
    }
    Ok(true)
}

/// Part size for an object of `size` bytes: the smaller of 512 MiB and the threshold, grown
/// to stay within 10,000 parts.
fn part_size(size: u64, threshold: u64) -> u64 {
    PART_SIZE
        .min(threshold)
        .max(MIN_PART_SIZE)
        .max(size.div_ceil(MAX_PARTS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_stay_within_limits() {
        assert_eq!(part_size(6 << 30, SINGLE_COPY_LIMIT), PART_SIZE);
        assert_eq!(part_size(13 << 20, 6 << 20), 6 << 20);
        let huge = 5u64 << 40; // 5 TiB, S3's object limit
        assert!(huge.div_ceil(part_size(huge, SINGLE_COPY_LIMIT)) <= MAX_PARTS);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(backoff(1) <= THROTTLE_BACKOFF * 2);
        assert!(backoff(9) <= THROTTLE_BACKOFF_MAX);
        assert!(backoff(9) >= THROTTLE_BACKOFF_MAX / 2);
    }
}
