//! `restore-drill sweep`: finds RDS instances, clusters and snapshots that restore-drill
//! created (they carry `restore-drill:run-id`), and the S3 prefixes `s3_versions` runs wrote
//! (their run marker) and buckets they created (tagged), that are stale, and deletes them. A
//! run killed by SIGKILL, or a host that died mid-drill, leaves such resources behind;
//! teardown never got to run.
//!
//! Only the run tags and markers decide: a resource without `restore-drill:run-id`, or an S3
//! prefix without a run marker, is never touched, so a source database or bucket can never
//! be swept.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::rds::{Created, TAG_DRILL, TAG_EXPIRES_AT, TAG_RUN_ID, delete, sdk_error};
use super::to_chrono;
use super::{AwsSettings, Session};
use crate::provider::ProviderError;

#[derive(Debug, Clone)]
pub struct SweepArgs {
    pub settings: AwsSettings,
    /// Regions to look in besides the configured one: those given, and every region the
    /// runs under the reports folder recorded (a DR region's snapshot copies).
    pub regions: Vec<String>,
    /// Stale = created longer ago than this, instead of "past its expires-at tag".
    pub older_than: Option<Duration>,
    /// Only this run's resources, whatever their age.
    pub run_id: Option<String>,
    pub dry_run: bool,
}

/// One resource found, and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub resource: String,
    pub run_id: String,
    pub drill: String,
    pub created: Option<DateTime<Utc>>,
    pub expires: Option<DateTime<Utc>>,
    pub stale: bool,
    /// `None` = deleted (or would be, on a dry run); `Some` = why it is still there.
    pub error: Option<String>,
}

struct Candidate {
    created_ref: Created,
    tags: Vec<(String, String)>,
    created: Option<DateTime<Utc>>,
}

fn tag<'a>(tags: &'a [(String, String)], key: &str) -> Option<&'a str> {
    tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn plain_tags(tags: &[aws_sdk_rds::types::Tag]) -> Vec<(String, String)> {
    tags.iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_owned(),
                t.value().unwrap_or_default().to_owned(),
            ))
        })
        .collect()
}

/// Lists what restore-drill left in `region`: instances first (a cluster cannot be deleted
/// while it has members), then clusters, then snapshots.
async fn candidates(session: &Session, region: &str) -> Result<Vec<Candidate>, ProviderError> {
    let client = session.rds(Some(region));
    let hint = session
        .settings
        .endpoint_url
        .clone()
        .unwrap_or_else(|| format!("the RDS endpoint of {region}"));
    let mut out = Vec::new();
    let mut pages = client.describe_db_instances().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| sdk_error("DescribeDBInstances", e, Some(&hint)))?;
        for d in page.db_instances() {
            out.push(Candidate {
                created_ref: Created::Instance {
                    region: region.to_owned(),
                    id: d.db_instance_identifier().unwrap_or_default().to_owned(),
                },
                tags: plain_tags(d.tag_list()),
                created: d.instance_create_time().and_then(to_chrono),
            });
        }
    }
    let mut pages = client.describe_db_clusters().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| sdk_error("DescribeDBClusters", e, Some(&hint)))?;
        for c in page.db_clusters() {
            out.push(Candidate {
                created_ref: Created::Cluster {
                    region: region.to_owned(),
                    id: c.db_cluster_identifier().unwrap_or_default().to_owned(),
                },
                tags: plain_tags(c.tag_list()),
                created: c.cluster_create_time().and_then(to_chrono),
            });
        }
    }
    let mut pages = client
        .describe_db_snapshots()
        .snapshot_type("manual")
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| sdk_error("DescribeDBSnapshots", e, Some(&hint)))?;
        for s in page.db_snapshots() {
            out.push(Candidate {
                created_ref: Created::Snapshot {
                    region: region.to_owned(),
                    id: s.db_snapshot_identifier().unwrap_or_default().to_owned(),
                },
                tags: plain_tags(s.tag_list()),
                created: s.snapshot_create_time().and_then(to_chrono),
            });
        }
    }
    let mut pages = client
        .describe_db_cluster_snapshots()
        .snapshot_type("manual")
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| sdk_error("DescribeDBClusterSnapshots", e, Some(&hint)))?;
        for s in page.db_cluster_snapshots() {
            out.push(Candidate {
                created_ref: Created::ClusterSnapshot {
                    region: region.to_owned(),
                    id: s
                        .db_cluster_snapshot_identifier()
                        .unwrap_or_default()
                        .to_owned(),
                },
                tags: plain_tags(s.tag_list()),
                created: s.snapshot_create_time().and_then(to_chrono),
            });
        }
    }
    out.retain(|c| tag(&c.tags, TAG_RUN_ID).is_some());
    Ok(out)
}

/// Finds and (unless a dry run) deletes stale resources in every region asked for.
pub async fn sweep(args: &SweepArgs, now: DateTime<Utc>) -> Result<Vec<Found>, ProviderError> {
    let session = Session::load(&args.settings).await?;
    let mut regions = vec![session.region()];
    for r in &args.regions {
        if !regions.contains(r) {
            regions.push(r.clone());
        }
    }
    let is_stale = |run_id: &str,
                    created: Option<DateTime<Utc>>,
                    expires: Option<DateTime<Utc>>| {
        match (&args.run_id, args.older_than) {
            (Some(id), _) => id.eq_ignore_ascii_case(run_id),
            (None, Some(age)) => created.is_some_and(|t| {
                now.signed_duration_since(t)
                    .to_std()
                    .is_ok_and(|a| a >= age)
            }),
            (None, None) => expires.is_some_and(|e| e <= now),
        }
    };
    let mut found = Vec::new();
    for region in &regions {
        // As with S3 below: an RDS search that cannot run (no RDS permission, or an
        // S3-only endpoint) is a leftover not ruled out, and S3 is still searched.
        let rds = match candidates(&session, region).await {
            Ok(c) => c,
            Err(e) => {
                found.push(Found {
                    resource: format!("RDS ({region})"),
                    run_id: "-".into(),
                    drill: String::new(),
                    created: None,
                    expires: None,
                    stale: true,
                    error: Some(format!("not searched: {e}")),
                });
                Vec::new()
            }
        };
        for c in rds {
            let run_id = tag(&c.tags, TAG_RUN_ID).unwrap_or_default().to_owned();
            let expires = tag(&c.tags, TAG_EXPIRES_AT)
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc));
            let stale = is_stale(&run_id, c.created, expires);
            let mut f = Found {
                resource: c.created_ref.to_string(),
                drill: tag(&c.tags, TAG_DRILL).unwrap_or_default().to_owned(),
                run_id: run_id.clone(),
                created: c.created,
                expires,
                stale,
                error: None,
            };
            if stale && !args.dry_run {
                f.error = delete(&session, &c.created_ref, &run_id).await.err();
            }
            found.push(f);
        }
        // S3 is searched with other permissions than RDS (the drill role may lack
        // s3:ListAllMyBuckets): a search that cannot run is a leftover not ruled out, and
        // leaves what was found on RDS swept.
        let s3_found =
            match super::s3::sweep::sweep(&session, region, &is_stale, args.dry_run).await {
                Ok(f) => f,
                Err(e) => {
                    found.push(Found {
                        resource: format!("S3 buckets ({region})"),
                        run_id: "-".into(),
                        drill: String::new(),
                        created: None,
                        expires: None,
                        stale: true,
                        error: Some(format!("not searched: {e}")),
                    });
                    continue;
                }
            };
        for f in s3_found {
            found.push(Found {
                resource: f.resource,
                run_id: f.run_id,
                drill: f.drill,
                created: f.created,
                expires: f.expires,
                stale: f.stale,
                error: f.error,
            });
        }
    }
    Ok(found)
}
