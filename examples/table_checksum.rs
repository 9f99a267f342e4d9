//! Runs one `table_checksum` check between two PostgreSQL databases and prints its outcome,
//! findings, wall time and this process's peak memory (VmHWM), as JSON. Used by `ci/bench`;
//! not part of the CLI.
//!
//! cargo run --release --example table_checksum -- \
//!     --target 127.0.0.1:5432/restored --reference 127.0.0.1:5432/reference \
//!     --user postgres --table pgbench_accounts --key aid

use std::time::Instant;

use restore_drill::checks::{CheckContext, CheckTarget, run_check};
use restore_drill::drill::{CheckKind, CheckPlan, Reference, RowSource};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn target(spec: &str, user: &str) -> Result<CheckTarget, String> {
    let (addr, database) = spec.split_once('/').ok_or("expected HOST:PORT/DATABASE")?;
    let (host, port) = addr.rsplit_once(':').ok_or("expected HOST:PORT/DATABASE")?;
    Ok(CheckTarget {
        host: host.to_owned(),
        port: port.parse().map_err(|_| format!("bad port in {spec}"))?,
        database: database.to_owned(),
        user: user.to_owned(),
        password: None,
        tls: restore_drill::drill::Tls::Disable,
        ca_bundle: None,
        server_name: None,
    })
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn main() -> Result<(), String> {
    let user = arg("--user").unwrap_or_else(|| "postgres".into());
    let restored = target(
        &arg("--target").ok_or("--target HOST:PORT/DB is required")?,
        &user,
    )?;
    let reference = target(
        &arg("--reference").ok_or("--reference HOST:PORT/DB is required")?,
        &user,
    )?;
    let table = arg("--table").ok_or("--table is required")?;
    let key: Vec<String> = arg("--key")
        .ok_or("--key is required")?
        .split(',')
        .map(str::to_owned)
        .collect();
    let cx = CheckContext {
        target: restored,
        restored_to: None,
        pg_bin_dir: None,
        others: [("reference".to_owned(), reference)].into_iter().collect(),
    };
    let plan = CheckPlan {
        restore: "bench".into(),
        name: "table_checksum".into(),
        kind: CheckKind::TableChecksum {
            source: RowSource::Table(table),
            key,
            reference: Reference::Restore("reference".into()),
        },
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let (report, _) = rt.block_on(run_check(&plan, &cx));
    let seconds = started.elapsed().as_secs_f64();
    let out = serde_json::json!({
        "seconds": seconds,
        "outcome": report.outcome,
        "findings": report.findings,
        "peak_rss_kib": peak_rss_kib(),
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?
    );
    Ok(())
}
