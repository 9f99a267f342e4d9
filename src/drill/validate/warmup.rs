//! `[restore.warmup]`: the query, the p95 bound and the longest the warmup may take, for the
//! restores that bring back a database. Every problem is reported at its key's line.

use std::time::Duration;

use crate::drill::plan::Warmup;
use crate::drill::raw::RawWarmup;
use crate::drill::time::{human, parse_latency};

use super::validator::{RawRestore, Validator};

/// The largest p95 bound that still means "warm": beyond it a query is a batch job.
const MAX_UNTIL_P95: Duration = Duration::from_secs(3_600);

impl Validator<'_> {
    /// Checks the restore's `[restore.warmup]`, if it has one; `None` when it has none or it
    /// is invalid (then an error says why).
    pub(super) fn warmup_of(&mut self, raw: &RawRestore, ctx: &str) -> Option<Warmup> {
        let (w, no_database) = match raw {
            RawRestore::PgPitr(r) => (r.warmup.as_ref(), None),
            RawRestore::RdsPitr(r) => (r.warmup.as_ref(), None),
            RawRestore::RdsSnapshot(r) => (r.warmup.as_ref(), None),
            RawRestore::RdsClusterPitr(r) => (r.warmup.as_ref(), None),
            RawRestore::RdsClusterSnapshot(r) => (r.warmup.as_ref(), None),
            RawRestore::BackupRecoveryPoint(r) => (
                r.warmup.as_ref(),
                r.connect.is_none().then_some(
                    "this backup_recovery_point restore has no [restore.connect], so no database to warm up; add [restore.connect] or remove [restore.warmup]",
                ),
            ),
            RawRestore::S3Versions(r) => (
                r.warmup.as_ref(),
                Some("an s3_versions restore brings back objects, not a database: there is nothing to warm up; remove [restore.warmup]"),
            ),
        };
        let w = w?;
        if let Some(why) = no_database {
            self.diags
                .error(w.query.span(), ctx, format!("key \"warmup\": {why}"));
            return None;
        }
        self.warmup(w, ctx)
    }

    fn warmup(&mut self, w: &RawWarmup, ctx: &str) -> Option<Warmup> {
        let errors_before = self.diags.items.len();
        self.nonempty(&w.query, ctx, "warmup.query");
        let until_p95 = match parse_latency(w.until_p95.get_ref()) {
            Ok(d) if d.is_zero() => {
                self.diags.error(
                    w.until_p95.span(),
                    ctx,
                    "key \"warmup.until_p95\": must be more than zero (no query answers in no time)",
                );
                None
            }
            Ok(d) if d > MAX_UNTIL_P95 => {
                self.diags.error(
                    w.until_p95.span(),
                    ctx,
                    format!(
                        "key \"warmup.until_p95\": {} is not a latency a warm database answers in; use at most {}",
                        human(d),
                        human(MAX_UNTIL_P95)
                    ),
                );
                None
            }
            Ok(d) => Some(d),
            Err(e) => {
                self.diags.error(
                    w.until_p95.span(),
                    ctx,
                    format!("key \"warmup.until_p95\": {e}"),
                );
                None
            }
        };
        let max = self.duration(&w.max, ctx, "warmup.max", true);
        if let (Some(p95), Some(max)) = (until_p95, max)
            && p95 >= max
        {
            self.diags.error(
                w.until_p95.span(),
                ctx,
                format!(
                    "key \"warmup.until_p95\" ({}) must be shorter than \"warmup.max\" ({}): one run alone would use up the warmup",
                    latency(p95),
                    human(max)
                ),
            );
        }
        if let (Some(max), Some(verify)) = (max, self.verify_timeout)
            && max >= verify
        {
            self.diags.error(
                w.max.span(),
                ctx,
                format!(
                    "key \"warmup.max\" ({}) must be shorter than the verify timeout ({}, [timeouts] verify): the warmup runs inside the verify phase, after the checks",
                    human(max),
                    human(verify)
                ),
            );
        }
        if self.diags.items.len() != errors_before {
            return None;
        }
        Some(Warmup {
            query: w.query.get_ref().clone(),
            until_p95: until_p95?,
            max: max?,
        })
    }
}

/// A latency bound as written: `50ms`, or whole units.
fn latency(d: Duration) -> String {
    if d.subsec_millis() != 0 || d.is_zero() {
        if d.as_secs() == 0 {
            return format!("{}ms", d.as_millis());
        }
        return format!(
            "{} {}ms",
            human(Duration::from_secs(d.as_secs())),
            d.subsec_millis()
        );
    }
    human(d)
}
