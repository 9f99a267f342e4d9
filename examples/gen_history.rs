//! Writes a valid, hash-chained history of made-up runs, or times `restore-drill report`'s
//! work on one. Used by `ci/bench-history`; not part of the CLI.
//!
//! cargo run --release --example gen_history -- RUNS PATH
//!     RUNS runs of 20 drills (gold, silver and bronze; mostly met, a few missed or failed,
//!     two drills with RTOs creeping up lately) into PATH, which must not exist yet. One
//!     fsync at the end, not one per row: it is test data.
//!
//! cargo run --release --example gen_history -- --report PATH [--drill NAME] [--since TIME]
//!     read_history + summarize (built-in tier targets) + render_summary_text on PATH: the
//!     text on stdout, the time of each step on stderr, and last `total_seconds=S`.

use std::fs::OpenOptions;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use restore_drill::drill::TierCatalog;
use restore_drill::report::{HistoryRow, Summary, read_history, render_summary_text, summarize};
use sha2::Digest;

const DRILLS: [&str; 20] = [
    "orders-db",
    "invoices-s3",
    "ledger-db",
    "payments-db",
    "customers-db",
    "catalog-db",
    "search-index-s3",
    "audit-log-s3",
    "sessions-db",
    "inventory-db",
    "shipping-db",
    "reports-s3",
    "billing-db",
    "media-s3",
    "analytics-db",
    "crm-db",
    "tickets-db",
    "backups-vault",
    "config-s3",
    "identity-db",
];

/// xorshift64*: reproducible noise without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn generate(runs: usize, path: &Path) -> Result<(), String> {
    let t0 = Instant::now();
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    let mut out = BufWriter::with_capacity(1 << 20, &file);
    let io = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
    writeln!(out, "{}", HistoryRow::HEADER).map_err(io)?;
    let start = DateTime::<Utc>::from_timestamp(1_577_836_800, 0).ok_or("bad start time")?;
    let tiers = [("gold", 900.0), ("silver", 14_400.0), ("bronze", 86_400.0)];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut prev = HistoryRow::CHAIN_START.to_owned();
    for k in 0..runs {
        let d = k % DRILLS.len();
        let (tier, target) = tiers[d % 3];
        // A typical RTO at 55% of the target, +-15%; two drills creep up over their last
        // 40 runs.
        let mut rto = target * (0.55 + 0.3 * (rng.unit() - 0.5));
        let left = (runs - k).div_ceil(DRILLS.len());
        if d < 2 && left <= 40 {
            rto *= 1.0 + 0.01 * (40 - left) as f64;
        }
        let roll = rng.unit();
        let (verdict, rto) = if roll < 0.03 {
            ("failed", None)
        } else if roll < 0.035 {
            ("error", None)
        } else if rto > target {
            ("missed", Some(rto))
        } else {
            ("met", Some(rto))
        };
        let started_at = start
            + Duration::minutes(10 * k as i64)
            + Duration::milliseconds((rng.unit() * 60_000.0) as i64);
        let run_id = format!(
            "{}-{:04x}",
            started_at.format("%Y%m%dT%H%M%SZ"),
            rng.next() & 0xffff
        );
        let restore = rto.map_or(target * 0.3, |r| r * 0.7);
        let mut phases = vec![
            ("resolve".to_owned(), 0.2 + rng.unit()),
            ("restore".to_owned(), restore),
            ("prepare".to_owned(), 2.0 + 5.0 * rng.unit()),
            ("verify".to_owned(), 5.0 + 30.0 * rng.unit()),
            ("teardown".to_owned(), 3.0 + 10.0 * rng.unit()),
        ];
        if d % 4 == 1 {
            phases.insert(1, ("copy".to_owned(), 60.0 + 120.0 * rng.unit()));
        }
        let report_sha256: String = sha2::Sha256::digest(run_id.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let row = HistoryRow {
            drill: DRILLS[d].to_owned(),
            run_id,
            started_at,
            tier: tier.to_owned(),
            verdict: verdict.to_owned(),
            rto_seconds: rto,
            rpo_seconds: Some(target / 3.0 * rng.unit()),
            phases,
            report_sha256,
            prev_hash: String::new(),
            row_hash: String::new(),
        }
        .chained(&prev);
        out.write_all(row.to_line().as_bytes()).map_err(io)?;
        prev = row.row_hash;
    }
    out.flush().map_err(io)?;
    drop(out);
    file.sync_all().map_err(io)?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    eprintln!(
        "wrote {runs} runs of {} drills to {} ({:.1} MB) in {:.3} s",
        DRILLS.len().min(runs),
        path.display(),
        size as f64 / 1e6,
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

fn report(path: &Path, drill: Option<&str>, since: Option<&str>) -> Result<(), String> {
    let since = since
        .map(|s| {
            DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| format!("--since {s}: {e}"))
        })
        .transpose()?;
    let targets = Summary::targets(&TierCatalog::default());
    let t0 = Instant::now();
    let history = read_history(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let t1 = Instant::now();
    let summary = summarize(&history.rows, drill, since, &targets);
    let t2 = Instant::now();
    let text = render_summary_text(&summary);
    let t3 = Instant::now();
    print!("{text}");
    for p in &history.problems {
        eprintln!("history problem: {p}");
    }
    let secs = |a: Instant, b: Instant| (b - a).as_secs_f64();
    eprintln!(
        "read_history: {} rows, {} problems, {:.3} s; summarize: {} drills, {:.3} s; \
         render_summary_text: {} bytes, {:.3} s",
        history.rows.len(),
        history.problems.len(),
        secs(t0, t1),
        summary.drills.len(),
        secs(t1, t2),
        text.len(),
        secs(t2, t3)
    );
    eprintln!("total_seconds={:.3}", secs(t0, t3));
    Ok(())
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opt = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .map(String::as_str)
    };
    match args.first().map(String::as_str) {
        Some("--report") => report(
            Path::new(opt("--report").ok_or("--report needs a history file")?),
            opt("--drill"),
            opt("--since"),
        ),
        Some(n) => {
            let runs: usize = n
                .parse()
                .map_err(|_| format!("RUNS must be a number, not \"{n}\""))?;
            let path = args.get(1).ok_or("usage: gen_history RUNS PATH")?;
            generate(runs, Path::new(path))
        }
        None => Err("usage: gen_history RUNS PATH | gen_history --report PATH".to_owned()),
    }
}
