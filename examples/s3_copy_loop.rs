//! The server's limit for `ci/bench-s3`: a plain loop of concurrent `CopyObject`s of a
//! given list of versions (no listing, no deciding, no checks), timed, printed as JSON. Not
//! part of the CLI.
//!
//! cargo run --release --example s3_copy_loop -- --endpoint http://127.0.0.1:5000 \
//!     --source src --target dst --prefix raw/ --jobs jobs.json --concurrency 32
//!
//! jobs.json: `[{"key": "...", "version_id": "..."}, ...]`. Credentials and region come from
//! the environment. `--client direct` (the default) sends each copy as restore-drill's copier
//! does (its `wire.rs`, without the SDK's orchestrator), so the loop spends no more client CPU
//! per copy than the copier it is compared with; `--client sdk` sends it through the SDK.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[derive(serde::Deserialize)]
struct Job {
    key: String,
    version_id: String,
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), String> {
    let need = |n: &str| arg(n).ok_or(format!("{n} is required"));
    let (endpoint, source, target) = (need("--endpoint")?, need("--source")?, need("--target")?);
    let prefix = arg("--prefix").unwrap_or_default();
    let concurrency: usize = arg("--concurrency")
        .and_then(|c| c.parse().ok())
        .unwrap_or(32);
    let jobs: Vec<Job> = serde_json::from_slice(
        &std::fs::read(need("--jobs")?).map_err(|e| format!("cannot read the jobs: {e}"))?,
    )
    .map_err(|e| format!("bad jobs file: {e}"))?;
    let direct = match arg("--client").as_deref().unwrap_or("direct") {
        "direct" => Some(
            restore_drill::provider::aws::s3::DirectCopy::new(
                &endpoint,
                &std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into()),
                &target,
                None,
            )
            .await?,
        ),
        "sdk" => None,
        other => return Err(format!("--client is direct or sdk (got {other})")),
    };
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
    let jobs = Arc::new(jobs);
    let next = Arc::new(AtomicUsize::new(0));
    let t0 = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (direct, client, jobs, next, source, target, prefix) = (
            direct.clone(),
            client.clone(),
            jobs.clone(),
            next.clone(),
            source.clone(),
            target.clone(),
            prefix.clone(),
        );
        set.spawn(async move {
            let mut failed = 0usize;
            while let Some(j) = jobs.get(next.fetch_add(1, Ordering::Relaxed)) {
                let copy_source = format!(
                    "{source}/{}?versionId={}",
                    encode(&j.key),
                    encode(&j.version_id)
                );
                if let Some(d) = &direct {
                    let r = d.copy(&format!("{prefix}{}", j.key), &copy_source).await;
                    failed += usize::from(r.is_err());
                    continue;
                }
                let r = client
                    .copy_object()
                    .bucket(&target)
                    .key(format!("{prefix}{}", j.key))
                    .copy_source(copy_source)
                    .send()
                    .await;
                failed += usize::from(r.is_err());
            }
            failed
        });
    }
    let mut failed = 0;
    while let Some(r) = set.join_next().await {
        failed += r.map_err(|e| e.to_string())?;
    }
    let seconds = t0.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({
            "client": if direct.is_some() { "direct" } else { "sdk" },
            "objects": jobs.len(),
            "failed": failed,
            "seconds": seconds,
            "objects_per_second": jobs.len() as f64 / seconds,
        })
    );
    Ok(())
}
