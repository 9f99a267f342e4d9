//! Real PostgreSQL for the tests: a source cluster with WAL archiving, a write load, and the
//! ground truth of what committed when.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
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

/// `libfaketime.so.1`, which makes a process see a clock of the test's choosing; or a failure
/// that says how to get it. `FAKETIME_LIB` names it elsewhere.
pub fn faketime_lib() -> PathBuf {
    if let Some(p) = std::env::var_os("FAKETIME_LIB") {
        return PathBuf::from(p);
    }
    let mut places = vec![PathBuf::from("/usr/lib/faketime/libfaketime.so.1")];
    if let Ok(entries) = std::fs::read_dir("/usr/lib") {
        places.extend(
            entries
                .flatten()
                .map(|e| e.path().join("faketime/libfaketime.so.1")),
        );
    }
    places.into_iter().find(|p| p.is_file()).unwrap_or_else(|| {
        panic!(
            "libfaketime.so.1 not found.\nThis test steps a source cluster's clock with libfaketime: \
             run ci/test (it installs it with apt), or apt-get install libfaketime, or set FAKETIME_LIB."
        )
    })
}

/// A clock for a source's `postgres` alone (through `SourceOptions::env`): real time plus an
/// offset the test changes while the server runs. Timers stay on the real monotonic clock.
pub struct FakeClock {
    lib: PathBuf,
    file: PathBuf,
}

impl FakeClock {
    pub fn new(pg: &PgEnv, dir: &Path) -> Self {
        let clock = FakeClock {
            lib: faketime_lib(),
            file: dir.join("faketime-offset"),
        };
        clock.set_offset(0);
        pg.give(&clock.file).unwrap();
        clock
    }

    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("LD_PRELOAD".into(), self.lib.display().to_string()),
            (
                "FAKETIME_TIMESTAMP_FILE".into(),
                self.file.display().to_string(),
            ),
            // Read the file at every call, so a change takes effect at once.
            ("FAKETIME_NO_CACHE".into(), "1".into()),
            ("FAKETIME_DONT_FAKE_MONOTONIC".into(), "1".into()),
        ]
    }

    /// From now on the server's clock reads real time plus `seconds` (a step, not a slew).
    pub fn set_offset(&self, seconds: i64) {
        let tmp = self.file.with_extension("new");
        std::fs::write(&tmp, format!("{seconds:+}\n")).unwrap();
        std::fs::rename(&tmp, &self.file).unwrap();
    }
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

/// What committed at or before `t`, as a restore to `t` must bring it back.
pub struct Truth {
    /// md5 of the ids, comma-separated in order.
    pub ids_md5: String,
    pub count: i64,
    pub newest_commit: DateTime<Utc>,
    /// Rows created at or before `t` whose transaction committed after it.
    pub created_before_committed_after: i64,
    /// Transactions stamped at or before `t` whose commit record follows, in the WAL, one
    /// stamped after it (they are not part of the truth: see `truth`).
    pub late_in_wal: Vec<u32>,
    /// The first transaction end in the WAL stamped after `t`, where recovery to `t` stops;
    /// `None` when none is.
    pub first_past: Option<WalEnd>,
}

pub fn sql_time(t: DateTime<Utc>) -> String {
    format!("'{}'::timestamptz", t.format("%Y-%m-%d %H:%M:%S%.6f+00"))
}

/// What committed at or before `t`: the rows whose transaction's commit timestamp (the
/// source's own, `track_commit_timestamp`) is at or before `t`, less any transaction whose
/// commit record was written to the WAL after a record stamped after `t`.
///
/// A commit is stamped before its record is written, so two commits microseconds apart may
/// reach the WAL in the other order. A transaction stamped at or before `t` whose record
/// follows one stamped after `t` was written after `t`: it had not committed at `t` (no
/// reader could see it), and recovery, which replays the WAL in order and stops before the
/// first record stamped after `t`, rightly does not bring it back. The order is read from
/// the source's own `pg_wal` with PostgreSQL's `pg_waldump`, not with restore-drill's code;
/// call this while the source still runs, before a checkpoint recycles the WAL around `t`.
pub async fn truth(source: &SourceCluster, t: DateTime<Utc>) -> Truth {
    let (first_past, late) = read_wal(source, t).await;
    if !late.is_empty() {
        eprintln!(
            "truth: {} transaction(s) stamped at or before {t} reached the WAL after one stamped after it; a restore to {t} rightly leaves them out",
            late.len()
        );
    }
    let c = source.client("postgres").await.unwrap();
    c.batch_execute("set timezone = 'UTC'").await.unwrap();
    let late_text: Vec<String> = late.iter().map(u32::to_string).collect();
    let t = sql_time(t);
    let row = c
        .query_one(
            &format!(
                "select md5(string_agg(id::text, ',' order by id)), count(*),
                        to_char(max(pg_xact_commit_timestamp(xmin)), 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')
                 from events where pg_xact_commit_timestamp(xmin) <= {t} and not (xmin::text = any($1))"
            ),
            &[&late_text],
        )
        .await
        .unwrap();
    let newest: String = row.get(2);
    let late_rows = c
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
        created_before_committed_after: late_rows.get(0),
        late_in_wal: late,
        first_past,
    }
}

/// Checks that the restored events are exactly `truth`'s rows: their ids and their count.
pub fn rows_checks(truth: &Truth) -> String {
    format!(
        r#"
[[check]]
restore = "events"
kind = "sql"
name = "exactly the committed rows"
query = "select md5(string_agg(id::text, ',' order by id)) from events"
expect = "matches ^{}$"

[[check]]
restore = "events"
kind = "sql"
name = "row count"
query = "select count(*) from events"
expect = "= {}"
"#,
        truth.ids_md5, truth.count
    )
}

/// `rows_checks`, and the freshness of the newest restored commit.
pub fn exact_rows_checks(truth: &Truth) -> String {
    rows_checks(truth)
        + r#"
[[check]]
restore = "events"
kind = "freshness"
name = "newest commit"
query = "select max(pg_xact_commit_timestamp(xmin)) from events"
"#
}

/// Each check's name, outcome and what it found, short enough to lead a failure message.
pub fn checks_found(r: &restore_drill::report::RunReport) -> String {
    let found: Vec<_> = r
        .checks
        .iter()
        .map(|c| format!("{} {:?} found {:?}", c.name, c.outcome, c.found))
        .collect();
    found.join("; ")
}

/// The restore's notes name where recovery stopped as the source's WAL, read by `truth`, says
/// it must (before the first transaction end stamped after the target), and the commits
/// stamped in time that follow it there.
pub fn assert_stop_named(notes: &[String], truth: &Truth) {
    let said: Vec<_> = notes
        .iter()
        .filter(|n| n.starts_with("recovery stopped before"))
        .collect();
    match &truth.first_past {
        Some(e) => {
            let want = format!(
                "recovery stopped before the {} of transaction {}, stamped {}:",
                if e.commit { "commit" } else { "abort" },
                e.xids[0],
                e.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
            );
            assert!(
                said.len() == 1 && said[0].starts_with(&want),
                "want a note starting {want:?}; notes: {notes:?}"
            );
        }
        None => assert!(said.is_empty(), "{said:?}"),
    }
    // The commits stamped in time but written after the stop: named with their number and
    // the first and last in WAL order, or nothing when there are none; the lookup worked.
    assert!(
        !notes.iter().any(|n| n.starts_with("could not look for")),
        "{notes:?}"
    );
    let late: Vec<_> = notes
        .iter()
        .filter(|n| n.contains("follow, in the WAL, the one recovery stopped before"))
        .collect();
    match (truth.late_in_wal.first(), truth.late_in_wal.last()) {
        (Some(first), Some(last)) => {
            let count = format!(
                "{} transaction(s) stamped at or before the target (",
                truth.late_in_wal.len()
            );
            let xids = format!("; xids {first} to {last})");
            assert!(
                late.len() == 1 && late[0].starts_with(&count) && late[0].contains(&xids),
                "want a note starting {count:?} with {xids:?}; notes: {notes:?}"
            );
        }
        _ => assert!(late.is_empty(), "{late:?}"),
    }
}

/// One transaction end in `pg_waldump` output: its xids (top and subtransactions), its stamp,
/// and whether it committed.
#[derive(Debug, Clone, PartialEq)]
pub struct WalEnd {
    pub xids: Vec<u32>,
    pub at: DateTime<Utc>,
    pub commit: bool,
}

/// The transaction ends in `pg_waldump --rmgr=Transaction` output (run with `TZ=UTC`), in
/// WAL order. Lines are like
/// `rmgr: Transaction len (rec/tot): 34/34, tx: 737, lsn: 0/01A3E0B8, prev 0/01A3E080, desc: COMMIT 2026-11-30 14:58:01.123456 UTC; subxacts: 740 741`.
pub fn wal_ends(out: &str) -> Vec<WalEnd> {
    let mut ends = Vec::new();
    for line in out.lines() {
        let Some((head, desc)) = line.split_once("desc: ") else {
            continue;
        };
        let (commit, rest) = match desc.split_once(' ') {
            Some(("COMMIT" | "COMMIT_PREPARED", r)) => (true, r),
            Some(("ABORT" | "ABORT_PREPARED", r)) => (false, r),
            _ => continue,
        };
        let mut xids = Vec::new();
        // The prepared kinds name their xid first ("741: 2026-…"); the others in `tx:`.
        let rest = match rest.split_once(": ") {
            Some((x, r)) if x.parse::<u32>().is_ok() => {
                xids.push(x.parse().unwrap());
                r
            }
            _ => {
                let tx = head
                    .split("tx:")
                    .nth(1)
                    .and_then(|r| r.split(',').next())
                    .map(str::trim)
                    .and_then(|x| x.parse::<u32>().ok())
                    .unwrap_or_else(|| panic!("no xid in pg_waldump line: {line}"));
                xids.push(tx);
                rest
            }
        };
        let stamp = rest
            .get(..26)
            .unwrap_or_else(|| panic!("no time in pg_waldump line: {line}"));
        assert!(
            rest[26..].starts_with(" UTC"),
            "pg_waldump did not write UTC: {line}"
        );
        let at = chrono::NaiveDateTime::parse_from_str(stamp, "%Y-%m-%d %H:%M:%S%.6f")
            .unwrap_or_else(|e| panic!("bad time in pg_waldump line ({e}): {line}"))
            .and_utc();
        if let Some(subs) = rest.split("subxacts: ").nth(1) {
            xids.extend(
                subs.split(';')
                    .next()
                    .unwrap_or_default()
                    .split_whitespace()
                    .filter_map(|x| x.parse::<u32>().ok()),
            );
        }
        ends.push(WalEnd { xids, at, commit });
    }
    ends
}

/// The commits stamped at or before `t` that follow, in WAL order, the first transaction end
/// stamped after `t`: what recovery to `t` does not replay although their stamps are in
/// time. `ends` must run to the end of the WAL; panics when they start after `t`.
pub fn late_after_first_past(ends: &[WalEnd], t: DateTime<Utc>) -> Vec<u32> {
    let t = t.trunc_subsecs(6);
    let Some(first_past) = ends.iter().position(|e| e.at > t) else {
        return Vec::new();
    };
    assert!(
        first_past > 0,
        "the WAL read starts after {t}: it cannot tell what committed before it"
    );
    ends[first_past..]
        .iter()
        .filter(|e| e.commit && e.at <= t)
        .flat_map(|e| e.xids.iter().copied())
        .collect()
}

/// Reads the running source's `pg_wal` (its newest timeline, from its oldest segment to the
/// flush position: every commit the writers saw) with `pg_waldump` and returns the transactions
/// `late_after_first_past` names, with the first end stamped after `t`.
async fn read_wal(source: &SourceCluster, t: DateTime<Utc>) -> (Option<WalEnd>, Vec<u32>) {
    let pg_wal = source.data_dir.join("pg_wal");
    let c = source.client("postgres").await.unwrap();
    let row = c
        .query_one(
            "select pg_walfile_name(pg_current_wal_flush_lsn()), pg_current_wal_flush_lsn()::text,
                    setting::bigint * (case unit when 'B' then 1 when 'kB' then 1024 when 'MB' then 1048576 end)
             from pg_settings where name = 'wal_segment_size'",
            &[],
        )
        .await
        .unwrap();
    let (current, end, segment_size): (String, String, i64) = (row.get(0), row.get(1), row.get(2));
    let timeline = &current[..8];
    let mut names: Vec<String> = std::fs::read_dir(&pg_wal)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.len() == 24 && n.starts_with(timeline) && n.as_str() <= current.as_str())
        .collect();
    names.sort();
    let first = names.first().expect("no WAL segment in pg_wal");
    let hex = |range: std::ops::Range<usize>| u64::from_str_radix(&first[range], 16).unwrap();
    let start = (hex(8..16) << 32) + hex(16..24) * segment_size as u64;
    let out = source
        .pg
        .command("pg_waldump")
        .args([
            "--rmgr=Transaction".to_owned(),
            format!("--timeline={}", hex(0..8)),
            format!("--start={:X}/{:X}", start >> 32, start & 0xFFFF_FFFF),
            format!("--end={end}"),
            "-p".to_owned(),
        ])
        .arg(&pg_wal)
        .env("TZ", "UTC")
        .output()
        .await
        .unwrap();
    // Success means it read every record up to the flush position: the whole WAL after `t`.
    assert!(
        out.status.success(),
        "pg_waldump could not read {} from {first} to {end}: {}",
        pg_wal.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let ends = wal_ends(&stdout);
    assert!(
        !ends.is_empty(),
        "pg_waldump found no transaction end in {}: {}",
        pg_wal.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let late = late_after_first_past(&ends, t);
    eprintln!(
        "truth: pg_waldump read {} transaction ends from {first} to {end}; late at {t}: {} (xids {:?} to {:?})",
        ends.len(),
        late.len(),
        late.first(),
        late.last()
    );
    let first_past = ends.into_iter().find(|e| e.at > t.trunc_subsecs(6));
    (first_past, late)
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
