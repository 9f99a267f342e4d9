//! `s3_versions`: an S3 prefix as of a moment, rebuilt from object versions into an isolated
//! bucket/prefix with server-side copies.
//!
//! The source prefix is listed (read-only) and each key decided, as the pages come in, to
//! the version that was current at T (`versions.rs`); each chosen version is looked at with
//! HeadObject (`inspect.rs`) and copied server-side (`CopyObject` with `versionId`,
//! `UploadPartCopy` above the multipart threshold) to target prefix + its full source key
//! (`copy.rs`); nothing is downloaded. The three run as a pipeline over bounded channels
//! (`pipeline.rs`), so a run holds a bounded number of versions whatever the bucket holds.
//!
//! Phases: resolve starts the pipeline and returns once it is full (the copies can start) or
//! the listing has ended; in the latter case everything is decided and refused at resolve,
//! as before any write. Otherwise the listing goes on during restore, overlapped with the
//! copies: restore's time is the rest of the listing plus every copy, and the RTO, measured
//! on the run's wall clock, counts each second once. Checks see the result through `RestoredObjects` (`objects.rs`), plain data
//! only: what should be there is read back from the spill file the screen wrote as it sent
//! each version on (`spill.rs`), so nothing a run keeps grows with the bucket. Teardown deletes every object version under the run's target prefix, and the bucket
//! if the run created it.

mod copy;
pub(crate) mod inspect;
mod keys;
mod marker;
mod objects;
mod pace;
mod pipeline;
mod spill;
pub(crate) mod sweep;
mod versions;
pub(crate) mod wire;

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_s3::Client;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::types::BucketLocationConstraint;
use chrono::{DateTime, Utc};

pub use objects::{
    Behind, HashedObject, RestoredObjects, SourceObject, StoredObject, TargetListing,
    manifest_objects,
};
pub use spill::ExpectedReader;
pub(crate) use spill::out_of_order;

use super::{AwsSettings, Session, error_chain};
use crate::drill::{CopyEncryption, PointSpec, S3Target, render_template};
use crate::provider::{ProviderError, RecoveryPoint, RunContext, Target, Waited};
use pipeline::Stage;
use versions::{Decision, Entry, KeyState, ObjectMeta, Tie};

pub(crate) const TAG_RUN_ID: &str = "restore-drill:run-id";
pub(crate) const TAG_DRILL: &str = "restore-drill:drill";
pub(crate) const TAG_RESTORE: &str = "restore-drill:restore";
pub(crate) const TAG_EXPIRES_AT: &str = "restore-drill:expires-at";

#[derive(Debug)]
pub struct S3Restore {
    id: String,
    drill: String,
    bucket: String,
    prefix: String,
    to: PointSpec,
    target: S3Target,
    concurrency: u32,
    settings: AwsSettings,
    /// How long what the run writes may live before `sweep` may take it: the sum of the
    /// drill's phase timeouts (`restore-drill:expires-at` = run start + this).
    lifetime: std::time::Duration,
    notes: Vec<String>,
    live: Option<Live>,
}

/// What a run has learnt and made so far.
#[derive(Debug)]
struct Live {
    session: Session,
    /// A client of the source bucket's region.
    source: Client,
    /// The source bucket's hot calls without the SDK's orchestrator (`wire.rs`), if its
    /// address allows.
    source_wire: Option<wire::Wire>,
    /// The moment restored to.
    t: DateTime<Utc>,
    /// The versions sent to be copied, in key order, on disk (`spill.rs`): the checks
    /// compare the target with them. Already unlinked; its space is freed with the state.
    spill: Arc<spill::Spill>,
    /// How many versions were restored (copied, and in `spill`): set once the copies are
    /// done.
    restored: usize,
    /// What the listing held, once it has ended.
    listed: ListStats,
    /// The listing and screen: still running, or ended at resolve.
    stream: Streamed,
    /// The copies' end of the pipeline, until restore takes it.
    copies: Option<tokio::sync::mpsc::Receiver<SourceObject>>,
    flow: Arc<pipeline::Flow>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    /// Set before the first write: from then on teardown has something to delete.
    target: Option<Written>,
    copied: Option<copy::CopyStats>,
    kept: bool,
}

/// Where the listing pipeline stands.
#[derive(Debug)]
enum Streamed {
    Running(pipeline::Tasks),
    /// It ended at resolve.
    Done(ListStats, pipeline::Screened),
    /// Restore has taken it.
    Taken,
}

fn marker_clash() -> ProviderError {
    ProviderError::harness(format!(
        "the source holds a key named \"{}\", which restore-drill keeps for its run marker",
        marker::MARKER_NAME
    ))
}

#[derive(Debug, Clone)]
struct Written {
    client: Client,
    bucket: String,
    prefix: String,
    created_bucket: bool,
}

/// What the listing held.
#[derive(Debug, Default, Clone)]
pub(crate) struct ListStats {
    pub pages: u64,
    pub versions: u64,
    pub markers: u64,
    pub keys: u64,
    pub deleted: u64,
    pub not_yet: u64,
    pub bytes: u64,
    pub ties_by_latest: u64,
    pub ties_asked: u64,
    /// Every entry is the `null` version and there is no delete marker.
    pub unversioned: bool,
    /// The newest `LastModified` of the versions to restore.
    pub newest: Option<DateTime<Utc>>,
    /// The listing reached its end (false when the restore stopped taking versions).
    pub complete: bool,
}

impl S3Restore {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: &str,
        drill: &str,
        bucket: &str,
        prefix: &str,
        to: PointSpec,
        target: S3Target,
        concurrency: u32,
        settings: AwsSettings,
        lifetime: std::time::Duration,
    ) -> Self {
        S3Restore {
            id: id.to_owned(),
            drill: drill.to_owned(),
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
            to,
            target,
            concurrency,
            settings,
            lifetime,
            notes: Vec::new(),
            live: None,
        }
    }

    /// Starts the listing pipeline (`pipeline.rs`) and waits until the copies could start
    /// with a full pipeline or the listing has ended. A prefix listed by then is resolved in
    /// full here (its refusals and notes included); a larger one goes on listing during the
    /// restore phase, alongside the copies.
    pub async fn resolve(
        &mut self,
        incident: DateTime<Utc>,
    ) -> Result<RecoveryPoint, ProviderError> {
        let session = Session::load(&self.settings).await?;
        // Each bucket through a client of its own region: the SDK does not follow S3's 301.
        let source_region = inspect::bucket_region(&session.s3(None), &self.bucket).await;
        let source = session.s3(source_region.as_deref());
        let source_wire =
            wire::Wire::for_session(&session, source_region.as_deref(), &self.bucket).await;
        let t = match self.to.time(incident) {
            Some(t) => t,
            None => {
                self.latest_now(&session, source_region.as_deref(), source_wire.as_ref())
                    .await
            }
        };
        let started = pipeline::start(
            &source,
            &self.bucket,
            &self.prefix,
            t,
            self.concurrency.max(1) as usize,
            self.target.encryption == CopyEncryption::AsSource,
            source_wire.clone(),
        )?;
        if self.target.encryption == CopyEncryption::TargetDefault {
            self.notes.push(
                "copy_encryption = \"target_default\": versions were not looked at one by one (only those in an archive class); every copy has the target bucket's default encryption, SSE-KMS versions included".to_owned(),
            );
        }
        let mut tasks = started.tasks;
        let stream = match tasks.ready().await {
            Stage::Done => {
                let (listed, screened) = tasks.finish().await;
                let (listed, screened) = (listed?, screened?);
                self.conclude(&listed, &screened.seen, t)?;
                Streamed::Done(listed, screened)
            }
            Stage::Listing | Stage::Buffered => {
                self.notes.push(format!(
                    "s3://{}/{} holds more than the {} versions resolve waits for: the rest of its listing runs during the restore phase, alongside the copies",
                    self.bucket,
                    self.prefix,
                    pipeline::depth(self.concurrency.max(1) as usize)
                ));
                Streamed::Running(tasks)
            }
        };
        if let Some(r) = source_region.as_deref().filter(|r| *r != session.region()) {
            self.notes
                .push(format!("the source bucket {} is in {r}", self.bucket));
        }
        let newest = match &stream {
            Streamed::Done(listed, _) => listed.newest,
            _ => None,
        };
        self.live = Some(Live {
            source,
            source_wire,
            session,
            t,
            spill: started.spill,
            restored: 0,
            listed: ListStats::default(),
            stream,
            copies: Some(started.copies),
            flow: started.flow,
            stop: started.stop,
            target: None,
            copied: None,
            kept: false,
        });
        Ok(RecoveryPoint {
            kind: "object_versions".into(),
            id: format!("s3://{}/{}", self.bucket, self.prefix),
            time: Some(t),
            latest_restorable: newest.filter(|_| self.to == PointSpec::Latest),
            notes: Vec::new(),
        })
    }

    /// "Now" for `to = "latest"`, in S3's time: the versions current now are those written
    /// before S3's clock reads now, and a runner whose clock is behind would leave out what
    /// was written since its own now (all of it, an hour behind). S3's clock is read from
    /// the `Date` of an answer; when it is more than 2 s from this machine's, S3's is taken
    /// and the report says so. This machine's time otherwise, and when S3's cannot be read
    /// (no direct address: FIPS, S3 Express).
    async fn latest_now(
        &mut self,
        session: &Session,
        region: Option<&str>,
        wire: Option<&wire::Wire>,
    ) -> DateTime<Utc> {
        let clock = match wire {
            Some(w) => Some(w.clone()),
            None => wire::Wire::for_clock(session, region, &self.bucket).await,
        };
        let Some((now, skew_ms)) = (match &clock {
            Some(w) => w.server_now().await,
            None => None,
        }) else {
            return Utc::now();
        };
        // `Date` is whole seconds, cut down: within 2 s the clocks agree as far as it can
        // tell, and this machine's time is the finer one.
        if skew_ms.abs() <= 2_000 {
            return Utc::now();
        }
        // The latest S3's clock can read (see `server_now`): nothing S3 stamped before now
        // is left out.
        self.notes.push(format!(
            "this machine's clock is {:.0} s {} S3's (by the Date of its answer): \"latest\" is taken in S3's time, {}; the incident time and the RPO are in this machine's time",
            skew_ms.abs() as f64 / 1000.0,
            if skew_ms > 0 { "behind" } else { "ahead of" },
            now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        ));
        now
    }

    /// What the whole listing and the `HeadObject` screen tell, once both have ended: fails
    /// when the listing cannot be restored (no versioning and keys written since, nothing
    /// current, versions S3 will not copy), else notes what was listed.
    fn conclude(
        &mut self,
        listed: &ListStats,
        seen: &inspect::Inspected,
        t: DateTime<Utc>,
    ) -> Result<(), ProviderError> {
        // Whether the bucket keeps versions shows in the listing itself (GetBucketVersioning
        // needs another permission, and some S3-compatible stores answer it wrongly): without
        // versioning every entry is the `null` version and there are no delete markers.
        if listed.unversioned && listed.versions > 0 {
            if listed.not_yet > 0 {
                return Err(ProviderError::restore(format!(
                    "s3://{}/{} holds no object versions (versioning was never enabled), and {} objects were written after the restore point: their state at it is lost",
                    self.bucket, self.prefix, listed.not_yet
                )));
            }
            self.notes.push(format!(
                "s3://{}/{} holds no object versions (versioning was never enabled): only its current objects could be restored",
                self.bucket, self.prefix
            ));
        }
        if listed.keys == 0 {
            // A mistyped prefix, or everything deleted by then: restoring nothing must not
            // pass as a restore.
            return Err(ProviderError::restore(format!(
                "nothing under s3://{}/{} was current at {} ({} versions and {} delete markers listed)",
                self.bucket,
                self.prefix,
                t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                listed.versions,
                listed.markers
            )));
        }
        let location = format!("s3://{}/{}", self.bucket, self.prefix);
        if let Some(refused) = inspect::refusal(seen, &location) {
            return Err(refused);
        }
        if seen.kms > 0 {
            self.notes.push(format!(
                "{} versions are encrypted with SSE-KMS: copied under {}, and compared by checksum or SHA-256 (their ETags are no MD5)",
                seen.kms,
                self.target
                    .kms_key
                    .as_deref()
                    .map_or("each one's own key".to_owned(), |k| format!("KMS key {k}"))
            ));
        }
        if seen.restored_cold > 0 {
            self.notes.push(format!(
                "{} versions are in GLACIER or DEEP_ARCHIVE with a restored copy, which is what is copied",
                seen.restored_cold
            ));
        }
        self.notes.push(format!(
            "{} keys current at the restore point, {} in all; listed {} versions and {} delete markers under s3://{}/{} in {} pages; {} keys deleted and {} created after the restore point are left out",
            listed.keys,
            human_bytes(listed.bytes),
            listed.versions,
            listed.markers,
            self.bucket,
            self.prefix,
            listed.pages,
            listed.deleted,
            listed.not_yet
        ));
        if listed.ties_by_latest + listed.ties_asked > 0 {
            self.notes.push(format!(
                "{} keys had a version and a delete marker in the same second: {} ordered by IsLatest, {} by asking the listing",
                listed.ties_by_latest + listed.ties_asked,
                listed.ties_by_latest,
                listed.ties_asked
            ));
        }
        Ok(())
    }

    pub async fn restore(&mut self, cx: &RunContext) -> Result<Waited, ProviderError> {
        let live = self
            .live
            .as_mut()
            .ok_or_else(|| ProviderError::harness("restore before resolve"))?;
        let prefix = render_template(&self.target.prefix, &self.drill, &self.id, &cx.run_id);
        if self.target.bucket == self.bucket
            && (prefix.starts_with(&self.prefix) || self.prefix.starts_with(&prefix))
        {
            return Err(ProviderError::harness(format!(
                "target s3://{}/{prefix} overlaps the source s3://{}/{}: refusing to write",
                self.target.bucket, self.bucket, self.prefix
            )));
        }
        if prefix.is_empty() {
            return Err(ProviderError::harness(
                "the target prefix renders empty: a run writes only under a prefix of its own",
            ));
        }
        // The run's marker sits at target prefix + MARKER_NAME; a source key of that name
        // would be copied onto it. Known here when resolve saw the whole listing; else the
        // screen stops the copies when it meets one (checked again below).
        if let Streamed::Done(_, screened) = &live.stream
            && screened.marker_clash
        {
            return Err(marker_clash());
        }
        // An existing target bucket is written through its own region's client; a new one is
        // created in `target.region`, else the drill's region.
        let target_region = match &self.target.region {
            Some(r) => Some(r.clone()),
            None => inspect::bucket_region(&live.session.s3(None), &self.target.bucket).await,
        };
        let client = live.session.s3(target_region.as_deref());
        // Whole seconds, as the tags have them: the marker and the tags say the same expiry.
        let created_at = chrono::SubsecRound::trunc_subsecs(Utc::now(), 0);
        let expires_at = crate::drill::after(created_at, self.lifetime);
        let tags = vec![
            (TAG_RUN_ID.to_owned(), cx.run_id.clone()),
            (TAG_DRILL.to_owned(), self.drill.clone()),
            (TAG_RESTORE.to_owned(), self.id.clone()),
            (
                TAG_EXPIRES_AT.to_owned(),
                expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ),
        ];
        let created_bucket = ensure_bucket(
            &client,
            &self.target.bucket,
            target_region.as_deref().unwrap_or(&live.session.region()),
            &tags,
        )
        .await?;
        live.target = Some(Written {
            client: client.clone(),
            bucket: self.target.bucket.clone(),
            prefix: prefix.clone(),
            created_bucket,
        });
        // Versions and delete markers count, not only current objects: teardown removes
        // every version under the prefix, so a prefix with any history is not ours.
        let occupied = client
            .list_object_versions()
            .bucket(&self.target.bucket)
            .prefix(&prefix)
            .max_keys(1)
            .send()
            .await
            .map_err(|e| {
                sdk_error(
                    &format!("cannot list s3://{}/{prefix}", self.target.bucket),
                    &e,
                )
            })?;
        if !occupied.versions().is_empty() || !occupied.delete_markers().is_empty() {
            // Not ours: never delete it at teardown.
            live.target = None;
            return Err(ProviderError::harness(format!(
                "s3://{}/{prefix} already holds objects or object versions: a run restores only into an empty prefix",
                self.target.bucket
            )));
        }
        // Before the first copy: a run killed from here on leaves a marker `sweep` finds.
        let run = marker::RunMarker {
            run_id: cx.run_id.clone(),
            drill: self.drill.clone(),
            restore: self.id.clone(),
            bucket: self.target.bucket.clone(),
            prefix: prefix.clone(),
            created_bucket,
            created_at,
            expires_at,
        };
        marker::write(&client, &run).await?;
        let concurrency = self.concurrency.max(1) as usize;
        let job = copy::Job {
            source_bucket: self.bucket.clone(),
            target_bucket: self.target.bucket.clone(),
            target_prefix: prefix,
            // No more workers than versions, when resolve saw them all.
            concurrency: match &live.stream {
                Streamed::Done(_, s) => concurrency.min(s.forwarded).max(1),
                _ => concurrency,
            },
            tags: self.target.tag.then(|| tag_header(&tags)),
            multipart_threshold: copy::multipart_threshold(),
            kms_key: self.target.kms_key.clone(),
            looked_at_each: self.target.encryption == CopyEncryption::AsSource,
            override_own: live.session.copy_override(true),
            override_sdk: live.session.copy_override(false),
            wire: wire::Wire::for_session(
                &live.session,
                target_region.as_deref(),
                &self.target.bucket,
            )
            .await,
            source_wire: live.source_wire.clone(),
        };
        let copies = live
            .copies
            .take()
            .ok_or_else(|| ProviderError::harness("restore ran twice"))?;
        let stream = std::mem::replace(&mut live.stream, Streamed::Taken);
        let resolved_in_full = matches!(stream, Streamed::Done(..));
        // The copies run while the listing and screen go on (when resolve did not see them
        // end): the phase's time is the rest of the listing and every copy, overlapped.
        let rest = async {
            match stream {
                Streamed::Running(tasks) => tasks.finish().await,
                Streamed::Done(l, s) => (Ok(l), Ok(s)),
                Streamed::Taken => (
                    Err(ProviderError::harness("restore ran twice")),
                    Err(ProviderError::harness("restore ran twice")),
                ),
            }
        };
        let (copied, (listed, screened)) = tokio::join!(
            copy::copy_all(
                &client,
                &live.source,
                &job,
                copies,
                live.stop.clone(),
                live.flow.clone()
            ),
            rest
        );
        // A failed copy names its call; a failed listing or HeadObject follows it.
        let failed: Vec<&ProviderError> = [
            copied.as_ref().err(),
            listed.as_ref().err(),
            screened.as_ref().err(),
        ]
        .into_iter()
        .flatten()
        .collect();
        if let Some(first) = failed.first() {
            let blame = if failed
                .iter()
                .any(|e| e.blame == crate::provider::Blame::Harness)
            {
                crate::provider::Blame::Harness
            } else {
                crate::provider::Blame::Restore
            };
            let mut message = first.message.clone();
            for e in &failed[1..] {
                message.push_str(&format!("; and {}", e.message));
            }
            return Err(ProviderError { blame, message });
        }
        let (Ok((stats, restored)), Ok(listed), Ok(screened)) = (copied, listed, screened) else {
            return Err(ProviderError::harness(
                "the restore pipeline ended without an answer",
            ));
        };
        if screened.marker_clash {
            return Err(marker_clash());
        }
        if !resolved_in_full {
            let t = live.t;
            self.conclude(&listed, &screened.seen, t)?;
            if self.to == PointSpec::Latest
                && let Some(newest) = listed.newest
            {
                self.notes.push(format!(
                    "the newest version restored was written at {}",
                    newest.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ));
            }
        }
        if !listed.complete || restored != screened.forwarded {
            return Err(ProviderError::harness(format!(
                "the restore pipeline lost versions: {} sent to be copied, {} copied",
                screened.forwarded, restored
            )));
        }
        let live = self
            .live
            .as_mut()
            .ok_or_else(|| ProviderError::harness("restore before resolve"))?;
        // The checks take what should be there from the spill file: it must hold exactly the
        // versions copied.
        if screened.spilled != restored as u64 {
            return Err(ProviderError::harness(format!(
                "the restored set on disk does not match the copies: {} versions written to {}, {} copied",
                screened.spilled,
                live.spill.path().display(),
                restored
            )));
        }
        live.restored = restored;
        live.listed = listed;
        if stats.slowdowns > 0 {
            // Throttling, not the copy: kept out of the latency histogram, said here.
            self.notes.push(format!(
                "S3 answered 503 SlowDown {} times during the copy; concurrency went down to {} of {} (each retried after a backoff not counted in the copy latency)",
                stats.slowdowns, stats.concurrency_min, stats.concurrency
            ));
        }
        live.copied = Some(stats);
        Ok(Waited {
            polls: 1,
            resolution: std::time::Duration::ZERO,
        })
    }

    pub async fn prepare(&mut self) -> Result<(Target, Waited), ProviderError> {
        let live = self
            .live
            .as_ref()
            .ok_or_else(|| ProviderError::harness("prepare before restore"))?;
        let w = live
            .target
            .as_ref()
            .ok_or_else(|| ProviderError::harness("prepare before restore"))?;
        let mut details = BTreeMap::new();
        details.insert("objects".to_owned(), live.restored.to_string());
        // What the checks compare the target with is read from disk, not held: this many
        // (restore refused a spill file that did not hold exactly the versions copied).
        details.insert(
            "expected_spilled_objects".to_owned(),
            live.restored.to_string(),
        );
        details.insert("bytes".to_owned(), live.listed.bytes.to_string());
        details.insert(
            "versions_listed".to_owned(),
            live.listed.versions.to_string(),
        );
        details.insert(
            "delete_markers_listed".to_owned(),
            live.listed.markers.to_string(),
        );
        details.insert(
            "keys_deleted_at_restore_point".to_owned(),
            live.listed.deleted.to_string(),
        );
        details.insert(
            "keys_created_after_restore_point".to_owned(),
            live.listed.not_yet.to_string(),
        );
        details.insert(
            "restored_to".to_owned(),
            live.t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        );
        details.insert("created_bucket".to_owned(), w.created_bucket.to_string());
        if let Some(c) = &live.copied {
            details.insert("copy_concurrency".to_owned(), c.concurrency.to_string());
            details.insert("copy_client".to_owned(), c.client.to_owned());
            details.insert("copy_seconds".to_owned(), format!("{:.3}", c.seconds));
            details.insert(
                "objects_per_second".to_owned(),
                format!("{:.1}", c.objects_per_second()),
            );
            details.insert(
                "copy_p50_ms".to_owned(),
                format!("{:.3}", c.quantile_ms(0.5)),
            );
            details.insert(
                "copy_p99_ms".to_owned(),
                format!("{:.3}", c.quantile_ms(0.99)),
            );
            details.insert("copy_max_ms".to_owned(), format!("{:.3}", c.max_ms()));
            details.insert("copy_retries".to_owned(), c.retries.to_string());
            details.insert("copy_slowdowns".to_owned(), c.slowdowns.to_string());
            details.insert(
                "copy_concurrency_min".to_owned(),
                c.concurrency_min.to_string(),
            );
            details.insert(
                "copy_concurrency_max".to_owned(),
                c.concurrency_max.to_string(),
            );
            details.insert("multipart_copies".to_owned(), c.multipart.to_string());
            details.insert(
                "pipeline_peak_versions".to_owned(),
                live.flow.peak().to_string(),
            );
            details.insert(
                "pipeline_bound_versions".to_owned(),
                pipeline::bound(self.concurrency.max(1) as usize).to_string(),
            );
        }
        Ok((
            Target {
                kind: "s3_prefix".into(),
                name: format!("s3://{}/{}", w.bucket, w.prefix),
                address: None,
                details,
            },
            Waited::default(),
        ))
    }

    pub async fn teardown(&mut self) -> Result<(), Vec<String>> {
        let Some(live) = self.live.as_mut() else {
            return Ok(());
        };
        // A listing still running (the restore phase timed out, the run was interrupted)
        // stops here, before what it fed is deleted.
        live.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        live.copies = None;
        live.stream = Streamed::Taken;
        if live.kept {
            return Ok(());
        }
        let Some(w) = live.target.clone() else {
            return Ok(());
        };
        let mut left = Vec::new();
        let last = marker::key_of(&w.prefix);
        match delete_prefix_retried(&w.client, &w.bucket, &w.prefix, Some(&last)).await {
            Ok(0) => {}
            Ok(n) => left.push(format!(
                "s3://{}/{} ({n} object versions)",
                w.bucket, w.prefix
            )),
            Err(e) => left.push(format!("s3://{}/{} ({e})", w.bucket, w.prefix)),
        }
        if left.is_empty()
            && w.created_bucket
            && let Err(e) = w.client.delete_bucket().bucket(&w.bucket).send().await
        {
            left.push(format!("bucket s3://{} ({})", w.bucket, error_chain(&e)));
        }
        if left.is_empty() {
            live.target = None;
            Ok(())
        } else {
            Err(left)
        }
    }

    pub fn notes(&self) -> Vec<String> {
        self.notes.clone()
    }

    /// `--keep`: leave the restored objects; returns how to find and remove them.
    pub fn keep(&mut self) -> Option<String> {
        let live = self.live.as_mut()?;
        let w = live.target.as_ref()?;
        live.kept = true;
        Some(format!(
            "restored objects under s3://{}/{} — remove them (every version) when done{}, or let `restore-drill sweep` take them once they expire (`--run-id` takes them now)",
            w.bucket,
            w.prefix,
            if w.created_bucket {
                format!(", then the bucket {}, which this run created", w.bucket)
            } else {
                String::new()
            }
        ))
    }

    /// What checks see of the restore, once objects have been copied.
    pub fn objects(&self) -> Option<RestoredObjects> {
        let live = self.live.as_ref()?;
        let w = live.target.as_ref()?;
        live.copied.as_ref()?;
        Some(RestoredObjects::new(objects::Parts {
            session: live.session.clone(),
            source: live.source.clone(),
            target: w.client.clone(),
            bucket: w.bucket.clone(),
            prefix: w.prefix.clone(),
            source_bucket: self.bucket.clone(),
            source_prefix: self.prefix.clone(),
            restored_to: live.t,
            expected: live.spill.clone(),
            concurrency: self.concurrency.max(1) as usize,
        }))
    }
}

/// `CopyObject` sent as the copier sends it (`wire.rs`), for `examples/s3_copy_loop.rs`:
/// the bench's measure of the server's limit makes the same lean request, so the copier is
/// compared with a loop that spends no more CPU per copy than it does. Not part of the CLI.
#[doc(hidden)]
#[derive(Clone, Debug)]
pub struct DirectCopy(wire::Wire);

impl DirectCopy {
    /// Path-style at `endpoint`; signed with `keys` (access key id, secret), else with
    /// credentials from the SDK's default chain.
    pub async fn new(
        endpoint: &str,
        region: &str,
        bucket: &str,
        keys: Option<(&str, &str)>,
    ) -> Result<DirectCopy, String> {
        let creds = match keys {
            Some((id, secret)) => aws_sdk_s3::config::SharedCredentialsProvider::new(
                aws_sdk_s3::config::Credentials::new(id, secret, None, None, "direct-copy"),
            ),
            None => aws_config::defaults(aws_config::BehaviorVersion::latest())
                .region(aws_config::Region::new(region.to_owned()))
                .http_client(
                    aws_smithy_http_client::Builder::new()
                        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
                        ))
                        .build_https(),
                )
                .load()
                .await
                .credentials_provider()
                .ok_or("no AWS credential provider is configured")?,
        };
        let addressing = crate::provider::aws::config::S3Addressing {
            region: region.to_owned(),
            endpoint_url: Some(endpoint.to_owned()),
            force_path_style: true,
            use_fips: false,
            use_dual_stack: false,
        };
        wire::Wire::new(
            &addressing,
            bucket,
            creds,
            std::time::Duration::from_secs(10),
            std::time::Duration::from_secs(600),
        )
        .await
        .map(DirectCopy)
        .ok_or_else(|| format!("{endpoint} is not an address the direct client sends to"))
    }

    /// Signs as a machine whose clock is `behind_ms` behind S3's would (ahead, when
    /// negative), until an answer's `Date` shows the real difference.
    pub fn assume_clock_behind(&self, behind_ms: i64) {
        self.0.assume_skew(behind_ms);
    }

    /// Copies `copy_source` (`bucket/key?versionId=id`, encoded) to `key`.
    pub async fn copy(&self, key: &str, copy_source: &str) -> Result<(), String> {
        self.0
            .copy_object(&wire::CopyRequest {
                key,
                copy_source,
                tagging: None,
                checksum_sha256: false,
                sse: None,
                kms_key_id: None,
                attempt: 1,
            })
            .await
            .map_err(|e| e.to_string())
    }
}

/// Whether an S3 error code says the backup itself is not there (or not readable as it
/// is): the restore's fault, not the harness's.
pub(crate) fn source_missing(code: Option<&str>) -> bool {
    matches!(
        code,
        Some("NoSuchBucket" | "NoSuchKey" | "NoSuchVersion" | "InvalidObjectState")
    )
}

/// A failed SDK call as a provider error: a missing bucket, key or version is the restore's
/// fault (the backup is not there); anything else (credentials, network, permissions) the
/// harness's.
fn sdk_error<E, R>(what: &str, e: &SdkError<E, R>) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let message = format!("{what}: {}", error_chain(e));
    if source_missing(e.code()) {
        ProviderError::restore(message)
    } else {
        ProviderError::harness(message)
    }
}

fn last_modified(
    t: Option<&aws_sdk_s3::primitives::DateTime>,
) -> Result<DateTime<Utc>, ProviderError> {
    t.and_then(super::to_chrono)
        .ok_or_else(|| ProviderError::harness("the listing returned an entry without LastModified"))
}

/// Every version current under `prefix` at `t`, collected: for callers that need them all
/// at once (`attach`, `manifest --s3`). The restore and the replication-lag check stream
/// them instead (`list_into`).
pub(crate) async fn list_as_of(
    client: &Client,
    bucket: &str,
    prefix: &str,
    t: DateTime<Utc>,
) -> Result<(Vec<SourceObject>, ListStats), ProviderError> {
    let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
    let flow = pipeline::Flow::default();
    let collect = async {
        let mut out = Vec::new();
        while let Some(o) = rx.recv().await {
            out.push(o);
        }
        out
    };
    let (listed, chosen) = tokio::join!(
        async {
            let r = list_into(client, bucket, prefix, t, &tx, &flow).await;
            drop(tx);
            r
        },
        collect
    );
    Ok((chosen, listed?))
}

/// Entries per `ListObjectVersions` page: 1,000 (S3's most);
/// `RESTORE_DRILL_S3_LIST_PAGE_SIZE` (1-1000) asks for fewer, so tests can put many page
/// boundaries in a small history.
pub(crate) fn list_page_size() -> i32 {
    std::env::var("RESTORE_DRILL_S3_LIST_PAGE_SIZE")
        .ok()
        .and_then(|v| v.parse::<i32>().ok())
        .filter(|v| (1..=1000).contains(v))
        .unwrap_or(1000)
}

/// Lists every version and delete marker under `prefix` and decides each key at `t` as the
/// pages come in, sending each version to restore into `out` as soon as its key is decided:
/// the listing gives a key's entries together, newest first, so a key is final once the
/// listing has moved past it (its entries may span pages: the last key of a page waits for
/// the next one). Nothing but the current page and one key's state (`KeyState`) is held
/// here; a full `out` holds the listing back. Keys come out in listing order. Stops early,
/// with `complete` false, when `out` is closed.
pub(crate) async fn list_into(
    client: &Client,
    bucket: &str,
    prefix: &str,
    t: DateTime<Utc>,
    out: &tokio::sync::mpsc::Sender<SourceObject>,
    flow: &pipeline::Flow,
) -> Result<ListStats, ProviderError> {
    let mut stats = ListStats {
        unversioned: true,
        ..ListStats::default()
    };
    let page_size = list_page_size();
    let mut pending: Option<KeyState> = None;
    let mut last_key: Option<String> = None;
    let mut lister = Lister {
        client,
        bucket,
        t,
        out,
        flow,
    };
    // The next page is asked for as soon as this one names it, and comes in while this one's
    // keys are decided and sent on (which waits on the copies): the copies do not run dry at
    // every page boundary waiting for a listing call. One page ahead at most; a listing that
    // ends early drops (aborts) the call in flight.
    let ask = |key_marker: Option<String>, version_marker: Option<String>| {
        let call = client
            .list_object_versions()
            .bucket(bucket)
            .prefix(prefix)
            .max_keys(page_size)
            .encoding_type(aws_sdk_s3::types::EncodingType::Url)
            .set_key_marker(key_marker)
            .set_version_id_marker(version_marker)
            .send();
        Ahead(tokio::spawn(call))
    };
    let mut ahead: Option<Ahead> = Some(ask(None, None));
    loop {
        let Some(mut call) = ahead.take() else {
            return Err(ProviderError::harness(
                "the version listing lost its next page",
            ));
        };
        let page = (&mut call.0)
            .await
            .map_err(|e| ProviderError::harness(format!("a listing call failed: {e}")))?
            .map_err(|e| {
                sdk_error(
                    &format!("cannot list the versions under s3://{bucket}/{prefix}"),
                    &e,
                )
            })?;
        stats.pages += 1;
        let encoded = matches!(
            page.encoding_type(),
            Some(aws_sdk_s3::types::EncodingType::Url)
        );
        let key_of = |k: Option<&str>| keys::listed_key(k, encoded).map_err(ProviderError::harness);
        let mut vs = Vec::with_capacity(page.versions().len());
        for o in page.versions() {
            vs.push(Entry {
                key: key_of(o.key())?,
                version_id: o.version_id().unwrap_or("null").to_owned(),
                last_modified: last_modified(o.last_modified())?,
                is_latest: o.is_latest().unwrap_or(false),
                object: Some(ObjectMeta {
                    size: o.size().unwrap_or(0).max(0) as u64,
                    etag: o.e_tag().unwrap_or_default().to_owned(),
                    storage_class: o.storage_class().map(|s| s.as_str().to_owned()),
                    sha256: o
                        .checksum_algorithm()
                        .contains(&aws_sdk_s3::types::ChecksumAlgorithm::Sha256),
                }),
            });
        }
        let mut ds = Vec::with_capacity(page.delete_markers().len());
        for m in page.delete_markers() {
            ds.push(Entry {
                key: key_of(m.key())?,
                version_id: m.version_id().unwrap_or("null").to_owned(),
                last_modified: last_modified(m.last_modified())?,
                is_latest: m.is_latest().unwrap_or(false),
                object: None,
            });
        }
        stats.versions += vs.len() as u64;
        stats.markers += ds.len() as u64;
        if !ds.is_empty() || vs.iter().any(|v| v.version_id != "null") {
            stats.unversioned = false;
        }
        let truncated = page.is_truncated() == Some(true);
        if truncated {
            let key_marker = key_of(page.next_key_marker())?;
            if key_marker.is_empty() {
                return Err(ProviderError::harness(format!(
                    "the version listing of s3://{bucket}/{prefix} is truncated but names no next key"
                )));
            }
            let version_marker = page.next_version_id_marker().map(str::to_owned);
            ahead = Some(ask(Some(key_marker), version_marker));
        }
        drop(page);
        for group in versions::group_page(vs, ds) {
            match pending.as_mut() {
                Some(p) if p.key == group.key => p.push(group, t),
                _ => {
                    let mut next = KeyState::new(group.key.clone());
                    next.push(group, t);
                    if let Some(done) = pending.replace(next)
                        && !lister.finish_key(done, &mut last_key, &mut stats).await?
                    {
                        return Ok(stats);
                    }
                }
            }
        }
        if !truncated {
            break;
        }
    }
    if let Some(done) = pending.take()
        && !lister.finish_key(done, &mut last_key, &mut stats).await?
    {
        return Ok(stats);
    }
    stats.complete = true;
    Ok(stats)
}

/// A listing call running ahead of the page being decided; aborted when dropped.
struct Ahead(
    tokio::task::JoinHandle<
        Result<
            aws_sdk_s3::operation::list_object_versions::ListObjectVersionsOutput,
            SdkError<
                aws_sdk_s3::operation::list_object_versions::ListObjectVersionsError,
                aws_sdk_s3::config::http::HttpResponse,
            >,
        >,
    >,
);

impl Drop for Ahead {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Where decided keys go.
struct Lister<'a> {
    client: &'a Client,
    bucket: &'a str,
    t: DateTime<Utc>,
    out: &'a tokio::sync::mpsc::Sender<SourceObject>,
    flow: &'a pipeline::Flow,
}

impl Lister<'_> {
    /// Decides one key whose entries are all listed, and sends its version on if it is to be
    /// restored. `Ok(false)`: nobody takes versions any more (the restore stopped).
    async fn finish_key(
        &mut self,
        k: KeyState,
        last_key: &mut Option<String>,
        stats: &mut ListStats,
    ) -> Result<bool, ProviderError> {
        let bucket = self.bucket;
        if let Some(prev) = last_key.as_deref()
            && prev.as_bytes() >= k.key.as_bytes()
        {
            return Err(ProviderError::harness(format!(
                "the version listing of s3://{bucket} is out of order (\"{}\" after \"{prev}\")",
                k.key
            )));
        }
        let (decision, tie) = k.decide(self.t);
        if tie == Tie::ByLatest {
            stats.ties_by_latest += 1;
        }
        let restore = match decision {
            Decision::Restore(_) => true,
            Decision::Deleted => false,
            Decision::NotYet => {
                stats.not_yet += 1;
                *last_key = Some(k.key);
                return Ok(true);
            }
            Decision::Ask { .. } => {
                stats.ties_asked += 1;
                match (k.version(), k.marker()) {
                    (Some(v), Some(m)) => {
                        marker_listed_after(
                            self.client,
                            bucket,
                            &k.key,
                            &v.version_id,
                            &m.version_id,
                        )
                        .await?
                    }
                    _ => false,
                }
            }
        };
        let chosen = if restore { k.version() } else { None };
        let Some(v) = chosen else {
            stats.deleted += 1;
            *last_key = Some(k.key);
            return Ok(true);
        };
        let meta = v.object.clone().unwrap_or(ObjectMeta {
            size: 0,
            etag: String::new(),
            storage_class: None,
            sha256: false,
        });
        stats.keys += 1;
        stats.bytes += meta.size;
        stats.newest = stats.newest.max(Some(v.last_modified));
        let o = SourceObject {
            key: v.key.clone(),
            version_id: v.version_id.clone(),
            size: meta.size,
            etag: meta.etag,
            last_modified: v.last_modified,
            storage_class: meta.storage_class,
            sha256: meta.sha256,
            encryption: None,
            kms_key_id: None,
        };
        *last_key = Some(k.key);
        self.flow.decided();
        if self.out.send(o).await.is_err() {
            self.flow.dropped();
            return Ok(false);
        }
        Ok(true)
    }
}

/// Whether the listing puts delete marker `marker_id` of `key` after version `version_id`
/// (so the version is the newer): lists from just after the version.
async fn marker_listed_after(
    client: &Client,
    bucket: &str,
    key: &str,
    version_id: &str,
    marker_id: &str,
) -> Result<bool, ProviderError> {
    let (mut key_marker, mut version_marker) = (key.to_owned(), version_id.to_owned());
    loop {
        let page = client
            .list_object_versions()
            .bucket(bucket)
            .prefix(key)
            .key_marker(&key_marker)
            .version_id_marker(&version_marker)
            .max_keys(1000)
            .send()
            .await
            .map_err(|e| {
                sdk_error(
                    &format!("cannot list the versions of s3://{bucket}/{key}"),
                    &e,
                )
            })?;
        if page
            .delete_markers()
            .iter()
            .any(|m| m.key() == Some(key) && m.version_id() == Some(marker_id))
        {
            return Ok(true);
        }
        let past_key = page.versions().iter().any(|v| v.key() != Some(key))
            || page.delete_markers().iter().any(|m| m.key() != Some(key));
        if past_key || page.is_truncated() != Some(true) {
            return Ok(false);
        }
        match (page.next_key_marker(), page.next_version_id_marker()) {
            (Some(k), Some(v)) => {
                key_marker = k.to_owned();
                version_marker = v.to_owned();
            }
            _ => return Ok(false),
        }
    }
}

/// Makes sure the target bucket exists; creates (and tags) it if not. Returns whether it did.
async fn ensure_bucket(
    client: &Client,
    bucket: &str,
    region: &str,
    tags: &[(String, String)],
) -> Result<bool, ProviderError> {
    // A HEAD's refusal has no body, so the SDK cannot tell one for the signing time from
    // one for permissions and does not retry it; it did take S3's clock from its `Date`, so
    // a second HEAD is signed in S3's time (a runner whose clock is off). A second refusal
    // is a real one.
    let mut refused_once = false;
    loop {
        match client.head_bucket().bucket(bucket).send().await {
            Ok(_) => return Ok(false),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => break,
            Err(e)
                if !refused_once && e.raw_response().map(|r| r.status().as_u16()) == Some(403) =>
            {
                refused_once = true;
            }
            Err(e) => {
                return Err(sdk_error(
                    &format!("cannot reach the target bucket {bucket}"),
                    &e,
                ));
            }
        }
    }
    let mut create = client.create_bucket().bucket(bucket);
    if region != "us-east-1" && !region.is_empty() {
        create = create.create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region))
                .build(),
        );
    }
    create
        .send()
        .await
        .map_err(|e| sdk_error(&format!("cannot create the target bucket {bucket}"), &e))?;
    let tag_set: Result<Vec<_>, _> = tags
        .iter()
        .map(|(k, v)| aws_sdk_s3::types::Tag::builder().key(k).value(v).build())
        .collect();
    let tagging = tag_set
        .and_then(|t| {
            aws_sdk_s3::types::Tagging::builder()
                .set_tag_set(Some(t))
                .build()
        })
        .map_err(|e| ProviderError::harness(format!("cannot build the bucket tags: {e}")))?;
    if let Err(e) = client
        .put_bucket_tagging()
        .bucket(bucket)
        .tagging(tagging)
        .send()
        .await
    {
        // The bucket exists now and is ours: teardown removes it even untagged.
        tracing::warn!("cannot tag bucket {bucket}: {}", error_chain(&e));
    }
    Ok(true)
}

/// `x-amz-tagging`: `k=v&k=v`, URL-encoded.
fn tag_header(tags: &[(String, String)]) -> String {
    tags.iter()
        .map(|(k, v)| format!("{}={}", keys::query_encode(k), keys::query_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Deletes every object version, delete marker and unfinished multipart upload under
/// `prefix`, the versions of key `last` (the run marker) only once nothing else is left, so
/// a teardown or sweep cut off midway still leaves the marker that finds the rest; returns
/// how many versions are still there afterwards.
pub(crate) async fn delete_prefix(
    client: &Client,
    bucket: &str,
    prefix: &str,
    last: Option<&str>,
) -> Result<usize, String> {
    delete_prefix_once(client, bucket, prefix, last)
        .await
        .map_err(|e| e.message)
}

/// Why a prefix could not be emptied, and whether the server was out of reach (worth
/// another try a little later: a restart, a dropped connection) rather than refusing.
#[derive(Debug)]
pub(crate) struct PrefixError {
    pub message: String,
    pub unreachable: bool,
}

impl From<String> for PrefixError {
    fn from(message: String) -> Self {
        PrefixError {
            message,
            unreachable: false,
        }
    }
}

fn prefix_error<E>(e: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> PrefixError
where
    E: std::error::Error + 'static,
{
    let server_error = e.raw_response().is_some_and(|r| r.status().as_u16() >= 500);
    PrefixError {
        message: error_chain(e),
        unreachable: server_error
            || matches!(
                e,
                SdkError::TimeoutError(_)
                    | SdkError::DispatchFailure(_)
                    | SdkError::ResponseError(_)
            ),
    }
}

/// Teardown's waits between attempts when the target's server cannot be reached: it
/// outlives a restart of the server (about 23 s in all) before reporting what is left.
const TEARDOWN_RETRY_DELAYS: [std::time::Duration; 5] = [
    std::time::Duration::from_secs(1),
    std::time::Duration::from_secs(2),
    std::time::Duration::from_secs(4),
    std::time::Duration::from_secs(8),
    std::time::Duration::from_secs(8),
];

/// `delete_prefix`, tried again while the server is out of reach.
async fn delete_prefix_retried(
    client: &Client,
    bucket: &str,
    prefix: &str,
    last: Option<&str>,
) -> Result<usize, String> {
    let mut delays = TEARDOWN_RETRY_DELAYS.iter();
    loop {
        match delete_prefix_once(client, bucket, prefix, last).await {
            Err(e) if e.unreachable => match delays.next() {
                Some(d) => {
                    tracing::warn!(
                        "cannot reach s3://{bucket}/{prefix} to delete it, trying again in {} s: {}",
                        d.as_secs(),
                        e.message
                    );
                    tokio::time::sleep(*d).await;
                }
                None => return Err(e.message),
            },
            other => return other.map_err(|e| e.message),
        }
    }
}

async fn delete_prefix_once(
    client: &Client,
    bucket: &str,
    prefix: &str,
    last: Option<&str>,
) -> Result<usize, PrefixError> {
    if prefix.is_empty() {
        return Err("refusing to delete an empty prefix".to_owned().into());
    }
    let mut uploads = client
        .list_multipart_uploads()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await
        .map_err(|e| prefix_error(&e))?;
    loop {
        for u in uploads.uploads() {
            if let (Some(k), Some(id)) = (u.key(), u.upload_id()) {
                let _ = client
                    .abort_multipart_upload()
                    .bucket(bucket)
                    .key(k)
                    .upload_id(id)
                    .send()
                    .await;
            }
        }
        if uploads.is_truncated() != Some(true) {
            break;
        }
        uploads = client
            .list_multipart_uploads()
            .bucket(bucket)
            .prefix(prefix)
            .set_key_marker(uploads.next_key_marker().map(str::to_owned))
            .set_upload_id_marker(uploads.next_upload_id_marker().map(str::to_owned))
            .send()
            .await
            .map_err(|e| prefix_error(&e))?;
    }
    for round in 0..4 {
        let ids = all_versions(client, bucket, prefix).await?;
        if ids.is_empty() {
            return Ok(0);
        }
        if round == 3 {
            return Ok(ids.len());
        }
        let batch = next_batch(ids, last);
        for chunk in batch.chunks(1000) {
            let objects: Result<Vec<_>, _> = chunk
                .iter()
                .map(|(k, v)| {
                    aws_sdk_s3::types::ObjectIdentifier::builder()
                        .key(k)
                        .version_id(v)
                        .build()
                })
                .collect();
            let delete = objects
                .and_then(|o| {
                    aws_sdk_s3::types::Delete::builder()
                        .set_objects(Some(o))
                        .quiet(true)
                        .build()
                })
                .map_err(|e| e.to_string())?;
            client
                .delete_objects()
                .bucket(bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|e| prefix_error(&e))?;
        }
    }
    Ok(0)
}

/// What to delete next of what is left under a prefix: everything but the versions of key
/// `last`, and those only once nothing else is left.
fn next_batch(left: Vec<(String, String)>, last: Option<&str>) -> Vec<(String, String)> {
    let (marker, rest): (Vec<_>, Vec<_>) = left
        .into_iter()
        .partition(|(k, _)| Some(k.as_str()) == last);
    if rest.is_empty() { marker } else { rest }
}

/// Every (key, version id) under `prefix`, versions and delete markers alike.
async fn all_versions(
    client: &Client,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<(String, String)>, PrefixError> {
    let mut out = Vec::new();
    let (mut key_marker, mut version_marker): (Option<String>, Option<String>) = (None, None);
    loop {
        let page = client
            .list_object_versions()
            .bucket(bucket)
            .prefix(prefix)
            .encoding_type(aws_sdk_s3::types::EncodingType::Url)
            .set_key_marker(key_marker.take())
            .set_version_id_marker(version_marker.take())
            .send()
            .await
            .map_err(|e| prefix_error(&e))?;
        let encoded = matches!(
            page.encoding_type(),
            Some(aws_sdk_s3::types::EncodingType::Url)
        );
        let key_of = |k: Option<&str>| keys::listed_key(k, encoded);
        for v in page.versions() {
            out.push((
                key_of(v.key())?,
                v.version_id().unwrap_or("null").to_owned(),
            ));
        }
        for m in page.delete_markers() {
            out.push((
                key_of(m.key())?,
                m.version_id().unwrap_or("null").to_owned(),
            ));
        }
        if page.is_truncated() != Some(true) {
            return Ok(out);
        }
        key_marker = Some(key_of(page.next_key_marker())?).filter(|k| !k.is_empty());
        version_marker = page.next_version_id_marker().map(str::to_owned);
        // Without a marker the next request would start over: never loop forever.
        if key_marker.is_none() {
            return Err(format!(
                "the version listing of s3://{bucket}/{prefix} is truncated but names no next key"
            )
            .into());
        }
    }
}

/// `1.5 GiB`-style sizes for notes.
pub(crate) fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::next_batch;

    fn ids(keys: &[&str]) -> Vec<(String, String)> {
        keys.iter()
            .map(|k| ((*k).to_owned(), "v1".to_owned()))
            .collect()
    }

    #[test]
    fn the_run_marker_is_deleted_only_once_nothing_else_is_left() {
        let marker = "drill/r/.restore-drill-run.json";
        let left = ids(&["drill/r/a", marker, "drill/r/b"]);
        assert_eq!(
            next_batch(left.clone(), Some(marker)),
            ids(&["drill/r/a", "drill/r/b"])
        );
        assert_eq!(next_batch(ids(&[marker]), Some(marker)), ids(&[marker]));
        assert_eq!(next_batch(left.clone(), None), left);
    }
}
