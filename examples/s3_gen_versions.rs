//! The version history `ci/bench-s3` restores, written fast enough for a million versions
//! (the Python generator took 34 minutes for that here). Not part of the CLI.
//!
//! cargo run --release --example s3_gen_versions -- --endpoint http://127.0.0.1:8333 \
//!     --bucket bench-src --keys 3334 --out DIR [--concurrency 64]
//!
//! Creates the bucket with versioning on, then for each of KEYS keys
//! (`invoices/NNNN/inv-NNNNNNN.pdf`) writes v1 and v2, puts a delete marker on every 10th key,
//! waits until a whole second T has passed, and writes v3. Each body is
//! `"{key} version {v} "` repeated 4 + v times. Into DIR it writes:
//! - `current.json`: `{key: version_number}` of every key current at T (v2, not deleted);
//!   the caller hashes the bodies itself, so the truth does not come from the server;
//! - `jobs.json`: `[{"key", "version_id"}]` of those v2 versions, for `s3_copy_loop`;
//! - `t`: T as RFC 3339, whole seconds.
//!
//! Credentials and region come from the environment.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn body(key: &str, v: u32) -> Vec<u8> {
    format!("{key} version {v} ")
        .repeat(4 + v as usize)
        .into_bytes()
}

/// Runs `op(i)` for i in 0..n, `concurrency` at a time; the first error stops it.
async fn each<F, Fut, T>(n: usize, concurrency: usize, op: F) -> Result<Vec<T>, String>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<T, String>> + Send,
    T: Send + 'static + Default + Clone,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicUsize::new(0));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (op, next) = (op.clone(), next.clone());
        set.spawn(async move {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return Ok::<_, String>(out);
                }
                out.push((i, op(i).await?));
            }
        });
    }
    let mut all = vec![T::default(); n];
    while let Some(r) = set.join_next().await {
        for (i, v) in r.map_err(|e| e.to_string())?? {
            all[i] = v;
        }
    }
    Ok(all)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), String> {
    let need = |n: &str| arg(n).ok_or(format!("{n} is required"));
    let (endpoint, bucket, out) = (need("--endpoint")?, need("--bucket")?, need("--out")?);
    let keys: usize = need("--keys")?
        .parse()
        .map_err(|_| "--keys must be a number".to_owned())?;
    let concurrency: usize = arg("--concurrency")
        .and_then(|c| c.parse().ok())
        .unwrap_or(64);
    let started = Instant::now();
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .load()
        .await;
    let client = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    client
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .map_err(|e| format!("CreateBucket: {e:?}"))?;
    client
        .put_bucket_versioning()
        .bucket(&bucket)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .map_err(|e| format!("PutBucketVersioning: {e:?}"))?;
    let names: Arc<Vec<String>> = Arc::new(
        (0..keys)
            .map(|i| format!("invoices/{:04}/inv-{i:07}.pdf", i / 100))
            .collect(),
    );
    let put = |v: u32| {
        let (client, bucket, names) = (client.clone(), bucket.clone(), names.clone());
        move |i: usize| {
            let (client, bucket, names) = (client.clone(), bucket.clone(), names.clone());
            async move {
                let key = &names[i];
                let r = client
                    .put_object()
                    .bucket(&bucket)
                    .key(key)
                    .body(ByteStream::from(body(key, v)))
                    .send()
                    .await
                    .map_err(|e| format!("PutObject {key}: {e:?}"))?;
                Ok(r.version_id().unwrap_or_default().to_owned())
            }
        }
    };
    each(keys, concurrency, put(1)).await?;
    let v2 = each(keys, concurrency, put(2)).await?;
    let deleted = keys.div_ceil(10);
    {
        let (client, bucket, names) = (client.clone(), bucket.clone(), names.clone());
        each(deleted, concurrency, move |i| {
            let (client, bucket, names) = (client.clone(), bucket.clone(), names.clone());
            async move {
                let key = &names[i * 10];
                client
                    .delete_object()
                    .bucket(&bucket)
                    .key(key)
                    .send()
                    .await
                    .map_err(|e| format!("DeleteObject {key}: {e:?}"))?;
                Ok(())
            }
        })
        .await?;
    }
    // T: the next whole second, and a whole second after it before v3 (the store may keep
    // LastModified to the second).
    let now = chrono::Utc::now();
    let t = chrono::SubsecRound::trunc_subsecs(now, 0) + chrono::Duration::seconds(1);
    let until = t + chrono::Duration::seconds(1);
    if let Ok(wait) = (until - chrono::Utc::now()).to_std() {
        tokio::time::sleep(wait).await;
    }
    each(keys, concurrency, put(3)).await?;
    let mut current = serde_json::Map::new();
    let mut jobs = Vec::new();
    for (i, key) in names.iter().enumerate() {
        if i % 10 != 0 {
            current.insert(key.clone(), serde_json::json!(2));
            jobs.push(serde_json::json!({"key": key, "version_id": v2[i]}));
        }
    }
    let write = |name: &str, text: String| {
        std::fs::write(format!("{out}/{name}"), text)
            .map_err(|e| format!("cannot write {name}: {e}"))
    };
    write(
        "current.json",
        serde_json::Value::Object(current).to_string(),
    )?;
    write("jobs.json", serde_json::Value::Array(jobs).to_string())?;
    write("t", t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))?;
    eprintln!(
        "  {keys} keys, {} versions, {deleted} delete markers; T = {}; {} keys current at T; generated in {:.1} s",
        3 * keys,
        t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        keys - deleted,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
