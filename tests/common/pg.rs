//! Real PostgreSQL for the tests: a source cluster with WAL archiving, a write load, and the
//! ground truth of what committed when.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use restore_drill::provider::local::{PgEnv, SourceCluster, SourceOptions};

/// The PostgreSQL binaries, or a failure that says how to get them.
pub fn pg() -> PgEnv {
    PgEnv::find(None).unwrap_or_else(|e| {
        panic!("{e}\nThese tests need a real PostgreSQL server: run ci/test (it installs it with apt), or apt-get install postgresql")
    })
}

/// A temp dir the server user may use; removed when dropped.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new(pg: &PgEnv) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("rd-test-")
            .tempdir()
            .unwrap();
        pg.give(dir.path()).unwrap();
        Scratch { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A sub-folder for restores to work in, to check that teardown emptied it.
    pub fn work(&self) -> PathBuf {
        let w = self.path().join("work");
        std::fs::create_dir_all(&w).unwrap();
        w
    }
}

/// Starts a source cluster under `root/src` with an `events` table holding `rows` rows.
pub async fn source(pg: &PgEnv, root: &Path, rows: u32) -> SourceCluster {
    source_with(pg, root, rows, &SourceOptions::default()).await
}

/// `source`, started with `options` (e.g. another `archive_command`).
pub async fn source_with(
    pg: &PgEnv,
    root: &Path,
    rows: u32,
    options: &SourceOptions,
) -> SourceCluster {
    let s = SourceCluster::start_with(pg, &root.join("src"), options)
        .await
        .unwrap();
    let c = s.client("postgres").await.unwrap();
    c.batch_execute(&format!(
        "create table events (
            id bigserial primary key,
            writer int not null,
            created_at timestamptz not null default clock_timestamp(),
            payload text
        );
        insert into events (writer, payload) select 0, md5(g::text) from generate_series(1, {rows}) g;"
    ))
    .await
    .unwrap();
    s
}

/// Concurrent writers: some commit each insert at once, some hold their transaction open
/// for a while after inserting, so rows are created before the commit that makes them real.
pub struct Load {
    stop: Arc<AtomicBool>,
    committed: Arc<AtomicU64>,
    tasks: Vec<tokio::task::JoinHandle<u64>>,
}

impl Load {
    pub async fn start(source: &SourceCluster, quick: u32, slow: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let committed = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for w in 0..(quick + slow) {
            let client = source.client("postgres").await.unwrap();
            let stop = stop.clone();
            let counter = committed.clone();
            let is_slow = w >= quick;
            tasks.push(tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let w = (w + 1) as i32;
                    if is_slow {
                        client
                            .batch_execute(&format!(
                                "begin; insert into events (writer, payload) values ({w}, 'slow'); select pg_sleep(0.04); commit;"
                            ))
                            .await
                            .unwrap();
                    } else {
                        client
                            .execute("insert into events (writer, payload) values ($1, 'quick')", &[&w])
                            .await
                            .unwrap();
                    }
                    n += 1;
                    counter.fetch_add(1, Ordering::Relaxed);
                }
                n
            }));
        }
        Load {
            stop,
            committed,
            tasks,
        }
    }

    /// Waits until the writers have committed `n` more transactions (at most a minute).
    pub async fn wait_for_more(&self, n: u64) {
        let target = self.committed.load(Ordering::Relaxed) + n;
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while self.committed.load(Ordering::Relaxed) < target {
            assert!(
                std::time::Instant::now() < deadline,
                "the write load stalled"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Stops the writers; returns how many transactions they committed.
    pub async fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        let mut total = 0;
        for t in self.tasks {
            total += t.await.unwrap();
        }
        total
    }
}

/// What the source says committed at or before `t`.
pub struct Truth {
    /// md5 of the ids, comma-separated in order.
    pub ids_md5: String,
    pub count: i64,
    pub newest_commit: DateTime<Utc>,
    /// Rows created at or before `t` whose transaction committed after it.
    pub created_before_committed_after: i64,
}

pub fn sql_time(t: DateTime<Utc>) -> String {
    format!("'{}'::timestamptz", t.format("%Y-%m-%d %H:%M:%S%.6f+00"))
}

pub async fn truth(source: &SourceCluster, t: DateTime<Utc>) -> Truth {
    let c = source.client("postgres").await.unwrap();
    c.batch_execute("set timezone = 'UTC'").await.unwrap();
    let t = sql_time(t);
    let row = c
        .query_one(
            &format!(
                "select md5(string_agg(id::text, ',' order by id)), count(*),
                        to_char(max(pg_xact_commit_timestamp(xmin)), 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')
                 from events where pg_xact_commit_timestamp(xmin) <= {t}"
            ),
            &[],
        )
        .await
        .unwrap();
    let newest: String = row.get(2);
    let late = c
        .query_one(
            &format!("select count(*) from events where created_at <= {t} and pg_xact_commit_timestamp(xmin) > {t}"),
            &[],
        )
        .await
        .unwrap();
    Truth {
        ids_md5: row.get(0),
        count: row.get(1),
        newest_commit: DateTime::parse_from_rfc3339(&newest)
            .unwrap()
            .with_timezone(&Utc),
        created_before_committed_after: late.get(0),
    }
}

/// PIDs of running processes whose command line mentions `path`.
pub fn processes_under(path: &Path) -> Vec<u32> {
    let needle = path.to_string_lossy().into_owned();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Ok(cmd) = std::fs::read(entry.path().join("cmdline"))
            && String::from_utf8_lossy(&cmd).contains(&needle)
        {
            found.push(pid);
        }
    }
    found
}
