//! The restore as a pipeline, so memory is bounded by the pipeline's depth and the
//! concurrency, not by the bucket: the lister (`list_into`) decides each key as the listing
//! pages stream in and sends its version down a bounded channel; the screen looks at each
//! one with `HeadObject` (`inspect.rs`), a bounded number at a time, and sends the copyable
//! ones down a second bounded channel; the copiers (`copy.rs`) take them from there. A full
//! channel holds the stage before it back, so a version is held from the moment its key is
//! decided until its copy is done, and never more than `bound(concurrency)` at once
//! (`Flow` counts them). What the copies are sent is also appended, in listing order, to a
//! spill file on disk (`spill.rs`): the checks read what should be there from it.
//!
//! The stages start at resolve. Resolve waits until the second channel is full (the copies
//! can start with a full pipeline) or the listing has ended; a bucket small enough to be
//! listed by then is resolved exactly as before, refusals and all, before anything is
//! written. Otherwise the rest of the listing runs during the restore phase, alongside the
//! copies, and what only its end can tell (a refusal found later, a source without
//! versioning) fails the restore phase instead, after which teardown removes what was
//! copied.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use aws_sdk_s3::Client;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::inspect::{self, Inspected};
use super::spill::{Spill, SpillWriter};
use super::{ListStats, SourceObject, list_into, marker};
use crate::provider::ProviderError;

/// Versions each channel holds: four per copy worker, at least 64, at most 4,096.
pub(crate) fn depth(concurrency: usize) -> usize {
    (4 * concurrency).clamp(64, 4096)
}

/// The most versions the pipeline can hold at once between decision and copy: one being
/// sent by the lister, a full first channel, `concurrency` under `HeadObject` and one being
/// sent on by the screen, a full second channel, and one per copy worker.
pub(crate) fn bound(concurrency: usize) -> usize {
    2 * depth(concurrency) + 2 * concurrency + 2
}

/// How many decided versions are held (decided, not yet copied or dropped), and the most
/// at once.
#[derive(Debug, Default)]
pub(crate) struct Flow {
    held: AtomicUsize,
    peak: AtomicUsize,
}

impl Flow {
    /// A key was decided: its version is held from now.
    pub fn decided(&self) {
        let now = self.held.fetch_add(1, Ordering::Relaxed) + 1;
        self.peak.fetch_max(now, Ordering::Relaxed);
    }

    /// A version is no longer held: copied, refused or dropped.
    pub fn dropped(&self) {
        let _ = self
            .held
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
    }

    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }
}

/// Where the listing and screen stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    Listing,
    /// The second channel is full: copies can start while the listing goes on.
    Buffered,
    /// The listing and the screen have ended (or failed).
    Done,
}

/// What the screen found.
#[derive(Debug, Default)]
pub(crate) struct Screened {
    pub seen: Inspected,
    /// The source holds a key named as the run marker.
    pub marker_clash: bool,
    /// Versions sent on to the copies.
    pub forwarded: usize,
    /// Versions written to the spill file: the ones sent on, once the screen has ended.
    pub spilled: u64,
}

/// The running lister and screen.
#[derive(Debug)]
pub(crate) struct Tasks {
    lister: Option<JoinHandle<Result<ListStats, ProviderError>>>,
    screen: Option<JoinHandle<Result<Screened, ProviderError>>>,
    stage: watch::Receiver<Stage>,
}

/// A started pipeline: its tasks, the copies' end of it, and what they share.
#[derive(Debug)]
pub(crate) struct Started {
    pub tasks: Tasks,
    pub copies: mpsc::Receiver<SourceObject>,
    pub flow: Arc<Flow>,
    /// Set to stop the copies taking more (a failure or a refusal anywhere).
    pub stop: Arc<AtomicBool>,
    /// Where the screen writes each version it sends on, for the checks (`spill.rs`).
    pub spill: Arc<Spill>,
}

/// Starts listing `s3://bucket/prefix` as of `t` and screening what it decides. Fails only
/// when the spill file cannot be created.
pub(crate) fn start(
    client: &Client,
    bucket: &str,
    prefix: &str,
    t: DateTime<Utc>,
    concurrency: usize,
    look_at_each: bool,
    wire: Option<super::wire::Wire>,
) -> Result<Started, ProviderError> {
    let (spill, mut writer) = Spill::create().map_err(ProviderError::harness)?;
    let depth = depth(concurrency);
    let (decided_tx, decided_rx) = mpsc::channel(depth);
    let (copy_tx, copy_rx) = mpsc::channel(depth);
    let (stage_tx, stage) = watch::channel(Stage::Listing);
    let flow = Arc::new(Flow::default());
    let stop = Arc::new(AtomicBool::new(false));
    let lister = {
        let (client, bucket, prefix, flow, stop) = (
            client.clone(),
            bucket.to_owned(),
            prefix.to_owned(),
            flow.clone(),
            stop.clone(),
        );
        tokio::spawn(async move {
            let r = list_into(&client, &bucket, &prefix, t, &decided_tx, &flow).await;
            if r.is_err() {
                stop.store(true, Ordering::Relaxed);
            }
            r
        })
    };
    let screen = {
        let (client, bucket, flow, stop) = (
            client.clone(),
            bucket.to_owned(),
            flow.clone(),
            stop.clone(),
        );
        tokio::spawn(async move {
            let r = screen(
                &client,
                wire.as_ref(),
                &bucket,
                concurrency,
                look_at_each,
                decided_rx,
                copy_tx,
                &flow,
                &stop,
                &stage_tx,
                &mut writer,
            )
            .await;
            // Whatever the screen wrote is on disk before anyone reads it.
            let r = r.and_then(|mut s| {
                s.spilled = writer.finish().map_err(ProviderError::harness)?;
                Ok(s)
            });
            if r.is_err() {
                stop.store(true, Ordering::Relaxed);
            }
            let _ = stage_tx.send(Stage::Done);
            r
        })
    };
    Ok(Started {
        tasks: Tasks {
            lister: Some(lister),
            screen: Some(screen),
            stage,
        },
        copies: copy_rx,
        flow,
        stop,
        spill,
    })
}

/// Looks at each decided version with `HeadObject` (unless `look_at_each` is off: then only
/// those in an archive class), in listing order, and sends the
/// copyable ones on. A refusal (SSE-C, an archive tier, a key named as the run marker)
/// stops the copies, but the screen goes on to the end of the listing so the refusal counts
/// them all, as it did when resolve looked at every version first. Each version sent on is
/// first appended to `spill`, which refuses one out of key order: the checks' merge with
/// the target relies on it.
#[allow(clippy::too_many_arguments)]
async fn screen(
    client: &Client,
    wire: Option<&super::wire::Wire>,
    bucket: &str,
    concurrency: usize,
    look_at_each: bool,
    mut decided: mpsc::Receiver<SourceObject>,
    copies: mpsc::Sender<SourceObject>,
    flow: &Flow,
    stop: &AtomicBool,
    stage: &watch::Sender<Stage>,
    spill: &mut SpillWriter,
) -> Result<Screened, ProviderError> {
    let depth = depth(concurrency);
    let mut out = Screened::default();
    let heads = futures_util::stream::poll_fn(|cx| decided.poll_recv(cx))
        .map(|o| async move {
            // Without `look_at_each` (copy_encryption = "target_default") only versions the
            // listing shows in an archive class are looked at.
            let h = if look_at_each || inspect::may_be_archived(&o) {
                inspect::head(client, wire, bucket, &o).await
            } else {
                Ok(inspect::unseen())
            };
            (o, h)
        })
        .buffered(concurrency.clamp(1, 256));
    let mut heads = std::pin::pin!(heads);
    let mut copies = Some(copies);
    while let Some((mut o, h)) = heads.next().await {
        let h = match h {
            Ok(h) => h,
            Err(e) => {
                flow.dropped();
                return Err(e);
            }
        };
        let copyable = out.seen.record(&mut o, h);
        if o.key == marker::MARKER_NAME {
            out.marker_clash = true;
        }
        if out.seen.refuses() || out.marker_clash {
            stop.store(true, Ordering::Relaxed);
            // The copies see the end of their channel once it is drained.
            copies = None;
        }
        match copies.as_ref().filter(|_| copyable) {
            Some(tx) => {
                // Written before it is sent: a failed send ends the restore in a failure
                // (the copies stopped), so the file never holds more than was copied on a
                // restore that succeeds. Small writes into a buffer; a flush now and then.
                if let Err(e) = spill.push(&o) {
                    flow.dropped();
                    return Err(ProviderError::harness(e));
                }
                if tx.send(o).await.is_err() {
                    // The copies stopped: nothing more to screen.
                    flow.dropped();
                    return Ok(out);
                }
                out.forwarded += 1;
                if out.forwarded == depth {
                    let _ = stage.send(Stage::Buffered);
                }
            }
            None => flow.dropped(),
        }
    }
    Ok(out)
}

impl Tasks {
    /// Waits until the copies can start with a full pipeline, or the listing has ended.
    pub async fn ready(&mut self) -> Stage {
        match self.stage.wait_for(|s| *s != Stage::Listing).await {
            Ok(s) => *s,
            Err(_) => Stage::Done,
        }
    }

    /// Waits for both tasks to end: what the listing held, and what the screen found.
    pub async fn finish(
        mut self,
    ) -> (
        Result<ListStats, ProviderError>,
        Result<Screened, ProviderError>,
    ) {
        let joined = |e: tokio::task::JoinError| {
            ProviderError::harness(format!("the version listing stopped: {e}"))
        };
        let screen = match self.screen.take() {
            Some(h) => h.await.map_err(joined).and_then(|r| r),
            None => Err(ProviderError::harness("the listing was already finished")),
        };
        let lister = match self.lister.take() {
            Some(h) => h.await.map_err(joined).and_then(|r| r),
            None => Err(ProviderError::harness("the listing was already finished")),
        };
        (lister, screen)
    }
}

impl Drop for Tasks {
    /// A run that ends before the pipeline does (a timeout, an interruption) stops it.
    fn drop(&mut self) {
        for h in [
            self.lister.take().map(|h| h.abort_handle()),
            self.screen.take().map(|h| h.abort_handle()),
        ]
        .into_iter()
        .flatten()
        {
            h.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flow_counts_what_is_held_and_its_peak() {
        let f = Flow::default();
        f.decided();
        f.decided();
        f.dropped();
        f.decided();
        f.dropped();
        f.dropped();
        f.dropped(); // never below zero
        assert_eq!(f.peak(), 2);
        f.decided();
        assert_eq!(f.peak(), 2);
    }

    #[test]
    fn the_bound_grows_with_the_concurrency_not_the_bucket() {
        assert_eq!(depth(1), 64);
        assert_eq!(depth(32), 128);
        assert_eq!(depth(100_000), 4096);
        assert_eq!(bound(4), 2 * 64 + 8 + 2);
    }
}
