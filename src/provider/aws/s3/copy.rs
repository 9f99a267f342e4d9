//! Server-side copies of the chosen versions, a bounded number at a time. Each object is
//! copied with `CopyObject` and its `versionId` (metadata, content type and, unless the drill
//! asks for run tags, tags carried over), or above the multipart threshold with a multipart
//! upload of `UploadPartCopy` ranges. SSE-KMS versions are copied under KMS again.
//!
//! Copies get their own, long timeouts (S3 holds a copy's 200 answer open while it copies).
//! Throttling (503 SlowDown) and transient failures are retried here, not by the SDK, so
//! each SlowDown is counted and halves the concurrency, and the latency histogram holds the
//! attempts' own time, not backoff. How many copies are in flight is found while copying
//! (`pace.rs`): more while throughput rises and latency holds, fewer on throttling and on
//! latency growth, never more than the drill's `concurrency`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_s3::Client;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::types::{
    ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart, MetadataDirective,
    ServerSideEncryption, TaggingDirective,
};
use futures_util::StreamExt;
use hdrhistogram::Histogram;

use super::keys;
use super::objects::SourceObject;
use super::pace::{Controller, Window};
use crate::provider::aws::error_chain;
use crate::provider::{Blame, ProviderError};

/// The largest object one `CopyObject` may copy.
const SINGLE_COPY_LIMIT: u64 = 5 * 1024 * 1024 * 1024;
/// Objects above this are copied in parts: parts copy in parallel, and a failed part is
/// retried alone instead of a whole multi-GiB copy.
const MULTIPART_THRESHOLD: u64 = 512 * 1024 * 1024;
/// Parts of a multipart copy: this big (within the 64-256 MiB that keeps each part's copy
/// short), grown for objects that would otherwise need more than S3's 10,000 parts.
const PART_SIZE: u64 = 128 * 1024 * 1024;
const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
const MAX_PARTS: u64 = 10_000;
/// Parts of one object copied at once.
const PART_CONCURRENCY: usize = 8;
/// Attempts per call when the server throttles or fails transiently.
const THROTTLE_ATTEMPTS: u32 = 6;
const THROTTLE_BACKOFF: Duration = Duration::from_millis(500);
const THROTTLE_BACKOFF_MAX: Duration = Duration::from_secs(20);
/// A window of finished copies lasts at least this long (and at least `window_size`
/// copies): shorter ones measure the scheduler's luck more than the server.
const MIN_WINDOW_SECONDS: f64 = 0.1;
/// Copy failures quoted in the error; the count covers all of them.
const QUOTED_FAILURES: usize = 5;

/// Objects above this many bytes are copied in parts: 512 MiB;
/// `RESTORE_DRILL_S3_MULTIPART_THRESHOLD` changes it (tests, and stores with other limits),
/// never above the single-copy limit of 5 GiB.
pub(crate) fn multipart_threshold() -> u64 {
    std::env::var("RESTORE_DRILL_S3_MULTIPART_THRESHOLD")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|&v| v >= MIN_PART_SIZE)
        .map_or(MULTIPART_THRESHOLD, |v| v.min(SINGLE_COPY_LIMIT))
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
    /// The KMS key SSE-KMS versions are copied under; `None` keeps each one's own.
    pub kms_key: Option<String>,
    /// Every version was looked at with `HeadObject` before it came here. When not, a copy
    /// S3 refuses with a 400 is looked at then, to say whether it is an SSE-C version.
    pub looked_at_each: bool,
    /// Per-operation config of copy calls retried here (CopyObject, UploadPartCopy).
    pub override_own: aws_sdk_s3::config::Builder,
    /// Per-operation config of CompleteMultipartUpload: long timeouts, the SDK's retries.
    pub override_sdk: aws_sdk_s3::config::Builder,
    /// `CopyObject` into the target bucket without the SDK's orchestrator (`wire.rs`), when
    /// its address allows; else through `client`.
    pub wire: Option<super::wire::Wire>,
    /// `HeadObject` of source versions the same way.
    pub source_wire: Option<super::wire::Wire>,
}

/// How the copies went.
#[derive(Debug, Clone)]
pub(crate) struct CopyStats {
    /// How `CopyObject` was sent: `direct` (`wire.rs`) or `sdk`.
    pub client: &'static str,
    pub objects: usize,
    pub concurrency: usize,
    pub seconds: f64,
    pub retries: u64,
    pub multipart: u64,
    /// 503 SlowDown answers (each one retried).
    pub slowdowns: u64,
    /// The lowest concurrency the copy ran at (throttling and latency growth bring it down).
    pub concurrency_min: usize,
    /// The highest concurrency the copy reached.
    pub concurrency_max: usize,
    /// Per-object copy latency, microseconds: the attempts' own time, without backoff.
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
    /// 503 SlowDown and other throttling answers.
    throttled: bool,
    /// Worth another attempt without throttling: a 5xx, a timeout, a dropped connection.
    transient: bool,
    blame: Blame,
    message: String,
    /// S3 answered 400.
    bad_request: bool,
}

/// `call` names the S3 operation in the message (`CopyObject: …`), so a failed run says
/// which call failed, not only why.
fn failure<E>(call: &str, e: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let no_answer = matches!(
        e,
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_)
    );
    classified(
        call,
        e.raw_response().map(|r| r.status().as_u16()),
        e.code(),
        no_answer,
        e.message(),
        error_chain(e),
    )
}

/// The same classification of a call sent without the SDK (`wire.rs`).
fn wire_failure(call: &str, e: &super::wire::WireError) -> Failure {
    classified(
        call,
        e.status,
        e.code.as_deref(),
        // Refused for its signing time, now corrected: worth another attempt.
        e.no_answer || e.skew_corrected,
        Some(e.message.as_str()),
        e.to_string(),
    )
}

/// `s3_message` is S3's own message, `detail` the whole failure as text.
fn classified(
    call: &str,
    status: Option<u16>,
    code: Option<&str>,
    no_answer: bool,
    s3_message: Option<&str>,
    detail: String,
) -> Failure {
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
    // A copy's error can also come in the body of a 200 (S3 has sent the status before it
    // knows): its code says whether it is worth another attempt.
    let transient = status.is_some_and(|s| s >= 500)
        || matches!(
            code,
            Some("InternalError" | "ServiceUnavailable" | "RequestTimeout")
        )
        || no_answer;
    // A missing or unreadable version is the backup's fault. `InvalidRequest` is not: S3
    // answers it for the request (SSE-C headers missing, Requester Pays, a copy onto
    // itself), so it is the harness's, with S3's message.
    let blame = if super::source_missing(code) {
        Blame::Restore
    } else {
        Blame::Harness
    };
    let message = if code == Some("InvalidRequest") {
        format!(
            "{call}: S3 refused the copy request (InvalidRequest: {}): a request error, not damage to the backup",
            s3_message.unwrap_or("no message")
        )
    } else {
        format!("{call}: {detail}")
    };
    Failure {
        throttled,
        transient,
        blame,
        message,
        bad_request: status == Some(400),
    }
}

/// A copy S3 refused with a 400, of a version not looked at before: `HeadObject` says
/// whether it is encrypted with a customer-provided key (S3 answers its HEAD with a bare
/// 400 too), which a drill cannot copy: then it is refused by name, as resolve refuses one
/// when it looks at every version. Otherwise the copy's own failure stands.
async fn sse_c_or(source: &Client, job: &Job, o: &SourceObject, f: Failure) -> Failure {
    match super::inspect::head(source, job.source_wire.as_ref(), &job.source_bucket, o).await {
        Ok(super::inspect::Head::SseC) | Ok(super::inspect::Head::Seen { sse_c: true, .. }) => {
            Failure {
                throttled: false,
                transient: false,
                blame: Blame::Restore,
                message: format!(
                    "CopyObject: version {} is encrypted with a customer-provided key (SSE-C): S3 copies it only with that key, which a drill does not have",
                    o.version_id
                ),
                bad_request: true,
            }
        }
        _ => f,
    }
}

/// The copy concurrency, found while copying (`pace.rs`): workers take objects only while
/// they are within the controller's limit. Each window of finished copies is handed to the
/// controller by the copy that closes it; every throttling answer at once.
struct Pace {
    limit: AtomicUsize,
    ctl: std::sync::Mutex<Controller>,
    window: std::sync::Mutex<Tally>,
    slowdowns: AtomicU64,
    /// A copier found nothing to take during the current window (the listing or the
    /// screen was behind): its figures are the feed's, not S3's, and change nothing.
    starved: AtomicBool,
}

/// The current window's finished copies.
struct Tally {
    started: Instant,
    done: u64,
    latency: Duration,
    /// Copies still to let pass before the window starts: those started under the limit
    /// before the last change.
    skip: u64,
}

impl Tally {
    fn after_change(skip: u64) -> Self {
        Tally {
            started: Instant::now(),
            done: 0,
            latency: Duration::ZERO,
            skip,
        }
    }
}

impl Pace {
    fn new(cap: usize) -> Self {
        let ctl = Controller::new(cap);
        Pace {
            limit: AtomicUsize::new(ctl.limit()),
            ctl: std::sync::Mutex::new(ctl),
            window: std::sync::Mutex::new(Tally::after_change(0)),
            slowdowns: AtomicU64::new(0),
            starved: AtomicBool::new(false),
        }
    }

    fn controller(&self) -> std::sync::MutexGuard<'_, Controller> {
        self.ctl.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn slowed(&self) {
        self.slowdowns.fetch_add(1, Ordering::Relaxed);
        let (before, limit) = {
            let mut c = self.controller();
            (c.limit(), c.throttled())
        };
        tracing::debug!(target: "restore_drill::s3", "copy concurrency {before} -> {limit}: throttled");
        // The copies started under the old limit finish first.
        let skip = before.max(limit) as u64;
        self.limit.store(limit, Ordering::Relaxed);
        *self.window.lock().unwrap_or_else(|p| p.into_inner()) = Tally::after_change(skip);
    }

    /// One copy done in `own` (its attempts' time, no backoff). The copy that closes a
    /// window hands it to the controller; after a change of limit, the copies started before
    /// it are let pass before the next window starts.
    fn succeeded(&self, own: Duration) {
        let mut w = self.window.lock().unwrap_or_else(|p| p.into_inner());
        if w.skip > 0 {
            w.skip -= 1;
            if w.skip == 0 {
                *w = Tally::after_change(0);
                self.starved.store(false, Ordering::Relaxed);
            }
            return;
        }
        w.done += 1;
        w.latency += own;
        let mut c = self.controller();
        let seconds = w.started.elapsed().as_secs_f64();
        if w.done < c.window_size() || seconds < MIN_WINDOW_SECONDS {
            return;
        }
        if self.starved.swap(false, Ordering::Relaxed) {
            *w = Tally::after_change(0);
            return;
        }
        let window = Window {
            completions: w.done,
            seconds,
            mean_latency: w.latency.as_secs_f64() / w.done as f64,
        };
        let before = c.limit();
        let limit = c.observe(window);
        let skip = if limit == before {
            0
        } else {
            tracing::debug!(
                target: "restore_drill::s3",
                "copy concurrency {before} -> {limit} after {} copies at {:.0}/s, mean latency {:.1} ms",
                window.completions,
                window.completions as f64 / window.seconds,
                window.mean_latency * 1000.0
            );
            before.max(limit) as u64
        };
        *w = Tally::after_change(skip);
        self.starved.store(false, Ordering::Relaxed);
        self.limit.store(limit, Ordering::Relaxed);
    }

    /// The lowest and highest limit so far.
    fn range(&self) -> (usize, usize) {
        self.controller().range()
    }

    /// Waits until worker `i` is within the current limit, or there is nothing left to take
    /// (`drained`), or the copy stops.
    async fn admit(&self, i: usize, stop: &AtomicBool, drained: &AtomicBool) {
        while i >= self.limit.load(Ordering::Relaxed)
            && !stop.load(Ordering::Relaxed)
            && !drained.load(Ordering::Relaxed)
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// What one object's copy spent waiting and retrying.
#[derive(Default)]
struct Spent {
    retries: u64,
    backoff: Duration,
}

/// Runs one call, retrying throttling and transient failures with backoff.
async fn retried<T, F, Fut>(pace: &Pace, spent: &mut Spent, mut call: F) -> Result<T, Failure>
where
    F: FnMut(u32) -> Fut,
    Fut: std::future::Future<Output = Result<T, Failure>>,
{
    let mut attempt = 0;
    loop {
        // Numbered from 1 for the `-v` log.
        match call(attempt + 1).await {
            Err(f) if (f.throttled || f.transient) && attempt + 1 < THROTTLE_ATTEMPTS => {
                if f.throttled {
                    pace.slowed();
                }
                attempt += 1;
                spent.retries += 1;
                let wait = backoff(attempt);
                spent.backoff += wait;
                tokio::time::sleep(wait).await;
            }
            Err(f) => {
                if f.throttled {
                    pace.slowed();
                }
                return Err(f);
            }
            Ok(v) => return Ok(v),
        }
    }
}

/// Copies every object that comes down `objects` until it closes; fails (after all workers
/// stop) if any copy failed. Returns how many objects were copied. `source` is
/// a client of the source bucket's region (for the reads a multipart copy makes there).
/// `stop` is shared with the stages feeding the channel: set by them (a refusal, a failed
/// listing) the workers take nothing more; set here when a copy fails for the harness. Each
/// object is let go of in `flow` once copied (or failed).
pub(crate) async fn copy_all(
    client: &Client,
    source: &Client,
    job: &Job,
    objects: tokio::sync::mpsc::Receiver<SourceObject>,
    stop: Arc<AtomicBool>,
    flow: Arc<super::pipeline::Flow>,
) -> Result<(CopyStats, usize), ProviderError> {
    let workers = job.concurrency.max(1);
    let objects = Arc::new(tokio::sync::Mutex::new(objects));
    let drained = Arc::new(AtomicBool::new(false));
    let taken = Arc::new(AtomicUsize::new(0));
    let pace = Arc::new(Pace::new(workers));
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for w in 0..workers {
        let (client, source, job, objects, drained, taken, stop, pace, flow) = (
            client.clone(),
            source.clone(),
            job.clone(),
            objects.clone(),
            drained.clone(),
            taken.clone(),
            stop.clone(),
            pace.clone(),
            flow.clone(),
        );
        set.spawn(async move {
            let mut hist = histogram();
            let mut failures: Vec<(String, Failure)> = Vec::new();
            let mut copied = 0usize;
            let (mut retries, mut multipart) = (0u64, 0u64);
            loop {
                pace.admit(w, &stop, &drained).await;
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let next = {
                    let mut objects = objects.lock().await;
                    match objects.try_recv() {
                        Ok(o) => Some(o),
                        Err(tokio::sync::mpsc::error::TryRecvError::Empty) => {
                            // Waiting on the listing, not on S3: this window says nothing
                            // about how many copies S3 can take.
                            pace.starved.store(true, Ordering::Relaxed);
                            objects.recv().await
                        }
                        Err(tokio::sync::mpsc::error::TryRecvError::Disconnected) => None,
                    }
                };
                let Some(o) = next else {
                    drained.store(true, Ordering::Relaxed);
                    break;
                };
                taken.fetch_add(1, Ordering::Relaxed);
                let t0 = Instant::now();
                let mut spent = Spent::default();
                let result = if o.size > job.multipart_threshold {
                    copy_in_parts(&client, &source, &job, &o, &pace, &mut spent).await
                } else {
                    retried(&pace, &mut spent, |n| copy_one(&client, &job, &o, n)).await
                };
                retries += spent.retries;
                flow.dropped();
                match result {
                    Ok(parts) => {
                        let own = t0.elapsed().saturating_sub(spent.backoff);
                        pace.succeeded(own);
                        hist.saturating_record(own.as_micros().max(1) as u64);
                        if parts {
                            multipart += 1;
                        }
                        copied += 1;
                    }
                    Err(f) => {
                        let f = if f.bad_request && !job.looked_at_each {
                            sse_c_or(&source, &job, &o, f).await
                        } else {
                            f
                        };
                        // A missing version is a finding about the backup; keep copying the
                        // rest to report them all. Anything else stops the run early.
                        if f.blame == Blame::Harness {
                            stop.store(true, Ordering::Relaxed);
                        }
                        failures.push((o.key, f));
                    }
                }
            }
            (hist, failures, retries, multipart, copied)
        });
    }
    let mut latency = histogram();
    let mut failures = Vec::new();
    let mut copied = 0usize;
    let (mut retries, mut multipart) = (0, 0);
    while let Some(done) = set.join_next().await {
        let (h, f, r, m, c) =
            done.map_err(|e| ProviderError::harness(format!("a copy worker failed: {e}")))?;
        let _ = latency.add(&h);
        failures.extend(f);
        retries += r;
        multipart += m;
        copied += c;
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
            taken.load(Ordering::Relaxed),
            quoted.join("; ")
        );
        return Err(ProviderError { blame, message });
    }
    let stats = CopyStats {
        client: if job.wire.is_some() { "direct" } else { "sdk" },
        objects: copied,
        concurrency: workers,
        seconds: started.elapsed().as_secs_f64(),
        retries,
        multipart,
        slowdowns: pace.slowdowns.load(Ordering::Relaxed),
        concurrency_min: pace.range().0,
        concurrency_max: pace.range().1,
        latency,
    };
    Ok((stats, copied))
}

fn backoff(attempt: u32) -> Duration {
    super::pace::backoff_from(THROTTLE_BACKOFF, THROTTLE_BACKOFF_MAX, attempt)
}

fn target_key(job: &Job, o: &SourceObject) -> String {
    format!("{}{}", job.target_prefix, o.key)
}

/// The encryption a copy of `o` asks for: SSE-KMS versions stay under KMS (the drill's
/// `copy_kms_key`, else the version's own key); others take the target bucket's default.
fn kms_of(job: &Job, o: &SourceObject) -> Option<(ServerSideEncryption, Option<String>)> {
    let sse = o
        .encryption
        .as_deref()
        .filter(|e| e.starts_with("aws:kms"))?;
    Some((
        ServerSideEncryption::from(sse),
        job.kms_key.clone().or_else(|| o.kms_key_id.clone()),
    ))
}

/// One `CopyObject` (its `attempt`, from 1). Returns `false` (not multipart).
async fn copy_one(
    client: &Client,
    job: &Job,
    o: &SourceObject,
    attempt: u32,
) -> Result<bool, Failure> {
    if let Some(wire) = &job.wire {
        let copy_source = keys::copy_source(&job.source_bucket, &o.key, &o.version_id);
        let key = target_key(job, o);
        let kms = kms_of(job, o);
        let request = super::wire::CopyRequest {
            key: &key,
            copy_source: &copy_source,
            tagging: job.tags.as_deref(),
            checksum_sha256: o.sha256,
            sse: kms.as_ref().map(|(s, _)| s.as_str()),
            kms_key_id: kms.as_ref().and_then(|(_, k)| k.as_deref()),
            attempt,
        };
        wire.copy_object(&request)
            .await
            .map_err(|e| wire_failure("CopyObject", &e))?;
        return Ok(false);
    }
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
    if let Some((sse, key)) = kms_of(job, o) {
        req = req.server_side_encryption(sse).set_ssekms_key_id(key);
    }
    req.customize()
        .config_override(job.override_own.clone())
        .send()
        .await
        .map_err(|e| failure("CopyObject", &e))?;
    Ok(false)
}

/// A copy in parts, for objects above the multipart threshold: the source version's headers
/// and tags are read and set on the new upload, since `UploadPartCopy` carries only bytes.
/// Each call is retried on its own.
async fn copy_in_parts(
    client: &Client,
    source: &Client,
    job: &Job,
    o: &SourceObject,
    pace: &Pace,
    spent: &mut Spent,
) -> Result<bool, Failure> {
    let head = source
        .head_object()
        .bucket(&job.source_bucket)
        .key(&o.key)
        .version_id(&o.version_id)
        .send()
        .await
        .map_err(|e| failure("HeadObject", &e))?;
    let tags = match &job.tags {
        Some(t) => Some(t.clone()),
        None => {
            let t = source
                .get_object_tagging()
                .bucket(&job.source_bucket)
                .key(&o.key)
                .version_id(&o.version_id)
                .send()
                .await
                .map_err(|e| failure("GetObjectTagging", &e))?;
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
    let kms = kms_of(job, o);
    let upload = client
        .create_multipart_upload()
        .bucket(&job.target_bucket)
        .key(&key)
        .set_server_side_encryption(kms.as_ref().map(|(s, _)| s.clone()))
        .set_ssekms_key_id(kms.and_then(|(_, k)| k))
        .set_content_type(head.content_type().map(str::to_owned))
        .set_content_encoding(head.content_encoding().map(str::to_owned))
        .set_content_disposition(head.content_disposition().map(str::to_owned))
        .set_content_language(head.content_language().map(str::to_owned))
        .set_cache_control(head.cache_control().map(str::to_owned))
        .set_metadata(head.metadata().cloned())
        .set_tagging(tags)
        .send()
        .await
        .map_err(|e| failure("CreateMultipartUpload", &e))?;
    let upload_id = upload.upload_id().unwrap_or_default().to_owned();
    let part_size = part_size(o.size, job.multipart_threshold);
    let ranges: Vec<(i32, u64, u64)> = (0..o.size.div_ceil(part_size))
        .map(|n| {
            let from = n * part_size;
            (n as i32 + 1, from, (from + part_size).min(o.size) - 1)
        })
        .collect();
    let source = keys::copy_source(&job.source_bucket, &o.key, &o.version_id);
    let parts: Vec<(Result<CompletedPart, Failure>, Spent)> = futures_util::stream::iter(ranges)
        .map(|(n, from, to)| {
            let (source, key, upload_id) = (&source, &key, &upload_id);
            async move {
                let mut spent = Spent::default();
                let out = retried(pace, &mut spent, |_| async {
                    client
                        .upload_part_copy()
                        .bucket(&job.target_bucket)
                        .key(key)
                        .upload_id(upload_id)
                        .part_number(n)
                        .copy_source(source)
                        .copy_source_range(format!("bytes={from}-{to}"))
                        .customize()
                        .config_override(job.override_own.clone())
                        .send()
                        .await
                        .map_err(|e| failure("UploadPartCopy", &e))
                })
                .await;
                let out = match out {
                    Ok(out) => out,
                    Err(f) => return (Err(f), spent),
                };
                let part = CompletedPart::builder()
                    .part_number(n)
                    .set_e_tag(
                        out.copy_part_result()
                            .and_then(|r| r.e_tag())
                            .map(str::to_owned),
                    )
                    .build();
                (Ok(part), spent)
            }
        })
        .buffered(PART_CONCURRENCY)
        .collect()
        .await;
    // Parts run side by side: their longest backoff is what the object waited.
    let mut waited = Duration::ZERO;
    let parts: Result<Vec<CompletedPart>, Failure> = parts
        .into_iter()
        .map(|(p, s)| {
            spent.retries += s.retries;
            waited = waited.max(s.backoff);
            p
        })
        .collect();
    spent.backoff += waited;
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
            .customize()
            .config_override(job.override_sdk.clone())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| failure("CompleteMultipartUpload", &e)),
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

/// Part size for an object of `size` bytes: the smaller of 128 MiB and the threshold, grown
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
        assert_eq!(part_size(6 << 30, MULTIPART_THRESHOLD), PART_SIZE);
        assert!((64 << 20..=256 << 20).contains(&PART_SIZE));
        assert!((256 << 20..=1 << 30).contains(&MULTIPART_THRESHOLD));
        assert_eq!(part_size(13 << 20, 6 << 20), 6 << 20);
        let huge = 5u64 << 40; // 5 TiB, S3's object limit
        assert!(huge.div_ceil(part_size(huge, SINGLE_COPY_LIMIT)) <= MAX_PARTS);
    }

    #[test]
    fn a_copy_refused_for_its_signing_time_is_tried_again_only_once_corrected() {
        let refused = |skew_corrected| super::super::wire::WireError {
            status: Some(403),
            code: Some("RequestTimeTooSkewed".into()),
            message: "The difference between the request time and the server's time is too large."
                .into(),
            no_answer: false,
            skew_corrected,
        };
        let f = wire_failure("CopyObject", &refused(true));
        assert!(f.transient && !f.throttled, "{}", f.message);
        assert!(f.message.contains("worth another attempt"), "{}", f.message);
        // Not corrected (the skew did not move): the refusal stands.
        let f = wire_failure("CopyObject", &refused(false));
        assert!(!f.transient, "{}", f.message);
        assert!(matches!(f.blame, Blame::Harness));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(backoff(1) <= THROTTLE_BACKOFF * 2);
        assert!(backoff(9) <= THROTTLE_BACKOFF_MAX);
        assert!(backoff(9) >= THROTTLE_BACKOFF_MAX / 2);
    }
}
