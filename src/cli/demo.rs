//! `restore-drill demo`: the whole product on one machine with nothing but PostgreSQL. A
//! throw-away "production" cluster archives its WAL; an orders workload runs; a base backup is
//! taken; writes go on; then an operator drops the orders table (the incident). The demo drill
//! restores to just before that moment, checks the orders are back, measures RTO and RPO, and
//! tears everything down.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::Utc;

use crate::drill::{Severity, load_drill};
use crate::engine::{Cancel, EventSink, Progress, RunOptions, exit_code, run_drill};
use crate::exit;
use crate::provider::local::{PgEnv, SourceCluster};
use crate::report::render_markdown;

/// The demo drill, as shipped in `drills/demo-local.toml`.
pub const DEMO_DRILL: &str = include_str!("../../drills/demo-local.toml");

/// How long the workload keeps writing after the base backup.
const WRITE_FOR: Duration = Duration::from_secs(2);

pub(super) fn say(err: &mut dyn Write, text: &str) {
    let _ = writeln!(err, "demo: {text}");
}

/// Runs the demo; returns the exit code of the drill run.
async fn demo_run(reports: &Path, cancel: &Cancel, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let pg = match PgEnv::find(None) {
        Ok(pg) => pg,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return exit::ERROR;
        }
    };
    let tmp = match tempfile::Builder::new()
        .prefix("restore-drill-demo-")
        .tempdir()
    {
        Ok(t) => t,
        Err(e) => {
            let _ = writeln!(err, "error: cannot create a temp dir: {e}");
            return exit::ERROR;
        }
    };
    let root = tmp.path().to_path_buf();
    say(err, &format!("working in {}", root.display()));
    say(
        err,
        &format!(
            "starting a \"production\" PostgreSQL with WAL archiving ({})",
            pg.bin_dir.display()
        ),
    );
    let mut source = match SourceCluster::start(&pg, &root.join("demo-backups")).await {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(err, "error: cannot start the source cluster: {e}");
            return exit::ERROR;
        }
    };
    let incident = workload(&source, err).await;
    // Production is down: the drill must not need it.
    let _ = source.stop().await;
    let incident = match incident {
        Ok(t) => t,
        Err(e) => {
            let _ = writeln!(err, "error: the demo workload failed: {e}");
            return exit::ERROR;
        }
    };

    let drill_file = root.join("demo-local.toml");
    if let Err(e) = std::fs::write(&drill_file, DEMO_DRILL) {
        let _ = writeln!(err, "error: cannot write {}: {e}", drill_file.display());
        return exit::ERROR;
    }
    let checked = load_drill(&drill_file);
    for d in checked
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
    {
        let _ = writeln!(err, "{d}");
    }
    let Some(plan) = checked.plan else {
        return exit::INVALID;
    };
    say(
        err,
        &format!(
            "running the drill {} (restore to {})",
            plan.name,
            incident.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        ),
    );
    let opts = RunOptions {
        incident_at: Some(incident),
        ..RunOptions::default()
    };
    let progress = Progress::stderr();
    let output = run_drill(&plan, &opts, cancel, &progress as &dyn EventSink).await;
    let report = output.report;
    let _ = write!(out, "{}", render_markdown(&report));
    let recorded = super::run::record_run(reports, &report, err);
    if recorded != exit::OK {
        return recorded;
    }
    say(
        err,
        "removing the source cluster, its backups and WAL archive",
    );
    drop(tmp);
    exit_code(&report)
}

/// Loads orders, takes a base backup, keeps writing, then drops the table. Returns the
/// incident time: the moment just before the DROP.
async fn workload(
    source: &SourceCluster,
    err: &mut dyn Write,
) -> Result<chrono::DateTime<Utc>, String> {
    let e = |what: &str| {
        let what = what.to_owned();
        move |x: tokio_postgres::Error| format!("{what}: {x}")
    };
    let admin = source.client("postgres").await.map_err(e("connect"))?;
    admin
        .batch_execute("create database shop")
        .await
        .map_err(e("create database"))?;
    let shop = source.client("shop").await.map_err(e("connect to shop"))?;
    shop.batch_execute(
        "create table orders (
            id bigserial primary key,
            customer_id int not null,
            amount_cents int not null,
            created_at timestamptz not null default clock_timestamp()
        );
        insert into orders (customer_id, amount_cents)
            select (random() * 500)::int, (random() * 10000)::int from generate_series(1, 1200);
        -- Canaries: one row per write, at a known time, to prove where the restore stopped.
        create table drill_canary (written_at timestamptz not null default clock_timestamp());
        insert into drill_canary default values;",
    )
    .await
    .map_err(e("load orders"))?;
    say(
        err,
        "loaded 1200 orders; taking a base backup with pg_basebackup",
    );
    source
        .base_backup("base-1", false)
        .await
        .map_err(|x| x.to_string())?;
    say(
        err,
        &format!(
            "base backup taken; writing more orders for {}s",
            WRITE_FOR.as_secs()
        ),
    );
    let until = Instant::now() + WRITE_FOR;
    let mut n = 0;
    while Instant::now() < until {
        shop.execute(
            "insert into orders (customer_id, amount_cents) values ((random() * 500)::int, (random() * 10000)::int)",
            &[],
        )
        .await
        .map_err(e("insert"))?;
        shop.execute("insert into drill_canary default values", &[])
            .await
            .map_err(e("canary"))?;
        n += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let incident = Utc::now();
    shop.batch_execute("drop table orders")
        .await
        .map_err(e("drop table"))?;
    say(
        err,
        &format!(
            "wrote {n} more orders; INCIDENT at {}: an operator dropped the orders table",
            incident.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        ),
    );
    source.archive_now().await.map_err(|x| x.to_string())?;
    Ok(incident)
}

/// `restore-drill demo`.
pub fn demo(reports: &Path, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    super::runtime::with_signals(|cancel| async move { demo_run(reports, &cancel, out, err).await })
}
