//! `pg_pitr`: a point-in-time restore of self-managed PostgreSQL from `pg_basebackup` output
//! (plain or tar) and a WAL archive, or from a pgBackRest repository (`pgbackrest.rs`) — what
//! RDS PITR does underneath, on this machine.
//!
//! resolve: the newest base backup that ended before the target time, and the archive's
//! continuity and newest segment (the local "latest restorable time").
//! restore: copy the backup into a fresh data dir, write `restore_command`,
//! `recovery_target_time` and `recovery_target_action = 'promote'`, start `postgres` on a free
//! loopback port, and wait until it has promoted.
//! prepare: connect as the drill's user. teardown: stop the server, remove the data dir.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::compress::Compression;
use super::fetch::{FETCH_LOG, failures};
use super::pg::{PgEnv, Server, connect, free_port};
use super::pgbackrest::{self, Repo};
use super::wal::{Archive, Lsn, Segment, TimelinePath, plan_path};
use super::waldump::{NewestTransaction, newest_transaction};
use crate::drill::{Connect, LocalTarget, PgSource, PointSpec};
use crate::provider::{ProviderError, RecoveryPoint, Target, Waited};

/// How often the restore phase looks at the server while it replays WAL.
const POLL: Duration = Duration::from_millis(100);

const TARGET_NOT_REACHED: &str = "recovery ended before configured recovery target was reached";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Format {
    Plain,
    /// `base.tar` (plain or compressed), as `pg_basebackup -Ft` writes it.
    Tar(PathBuf, Compression),
}

#[derive(Debug, Clone)]
struct BaseBackup {
    name: String,
    dir: PathBuf,
    format: Format,
    label: Label,
    /// When the backup finished: the STOP TIME of its backup history file in the archive
    /// (rounded up to the second it was written in), else its manifest's file time.
    end: DateTime<Utc>,
    /// Where `end` came from, for the report.
    end_from: &'static str,
}

/// What a backup's `backup_label` says.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Label {
    start: Lsn,
    timeline: u32,
}

/// What resolve chose to restore, and how far to recover.
#[derive(Debug, Clone)]
struct Resolved {
    from: Chosen,
    /// The recovery target time, or `None` to recover to the end of the archive (only when
    /// no transaction in the archive ended after the wanted time).
    target_time: Option<DateTime<Utc>>,
}

/// The backup resolve chose, by source.
#[derive(Debug, Clone)]
enum Chosen {
    /// A base backup and the path through the WAL archive from it.
    Files {
        backup: BaseBackup,
        path: TimelinePath,
    },
    /// A pgBackRest backup set, and the archive's newest segment and where it starts.
    PgBackRest {
        repo: Repo,
        label: String,
        newest: Option<(Segment, Lsn)>,
    },
}

impl Chosen {
    /// The archive's newest segment and where it starts: replay to the end of the archive
    /// must reach it.
    fn newest_segment(&self) -> Option<(String, Lsn)> {
        match self {
            Chosen::Files { path, .. } => path
                .newest()
                .map(|(s, _)| s.name())
                .zip(path.newest_start()),
            Chosen::PgBackRest { newest, .. } => newest.map(|(s, start)| (s.name(), start)),
        }
    }
}

/// One `pg_pitr` restore, from resolve to teardown.
#[derive(Debug)]
pub struct LocalPitr {
    restore_id: String,
    source: PgSource,
    to: PointSpec,
    target: LocalTarget,
    connect: Connect,
    password: Option<String>,
    pg_bin_dir: Option<PathBuf>,
    pg: Option<PgEnv>,
    resolved: Option<Resolved>,
    run_dir: Option<PathBuf>,
    /// A copy of the base backup still running (it runs on a blocking thread, and outlives a
    /// cancelled restore phase until teardown stops it).
    copying: Option<Copying>,
    server: Option<Server>,
    notes: Vec<String>,
}

#[derive(Debug)]
struct Copying {
    abort: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<Result<(), ProviderError>>,
}

impl LocalPitr {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        restore_id: &str,
        source: &PgSource,
        to: PointSpec,
        target: LocalTarget,
        connect: Connect,
        password: Option<String>,
        pg_bin_dir: Option<&Path>,
    ) -> Self {
        LocalPitr {
            restore_id: restore_id.to_owned(),
            source: source.clone(),
            to,
            target,
            connect,
            password,
            pg_bin_dir: pg_bin_dir.map(Path::to_path_buf),
            pg: None,
            resolved: None,
            run_dir: None,
            copying: None,
            server: None,
            notes: Vec::new(),
        }
    }

    pub async fn resolve(
        &mut self,
        incident: DateTime<Utc>,
    ) -> Result<RecoveryPoint, ProviderError> {
        let pg = PgEnv::find(self.pg_bin_dir.as_deref())
            .map_err(|e| ProviderError::harness(e.to_string()))?;
        self.pg = Some(pg.clone());
        let wanted = self.to.time(incident);
        let source = self.source.clone();
        // Reading labels, headers and WAL is file and process work: off the async threads.
        let resolved = tokio::task::spawn_blocking(move || match source {
            PgSource::Files {
                base_backups,
                wal_archive,
            } => resolve_blocking(&pg, &base_backups, &wal_archive, wanted),
            PgSource::PgBackRest { stanza, config } => {
                resolve_pgbackrest(&pg, &stanza, &config, wanted)
            }
        })
        .await
        .map_err(|e| ProviderError::harness(format!("resolving the backup: {e}")))??;
        let (resolved, point) = resolved;
        self.notes = point.notes.clone();
        self.resolved = Some(resolved);
        Ok(point)
    }

    /// Copies the backup into a fresh data dir, configures recovery, starts the server and
    /// waits until it has promoted. `tied`: the server dies with this process (unless the
    /// target is to be kept).
    pub async fn restore(&mut self, run_id: &str, tied: bool) -> Result<Waited, ProviderError> {
        let (Some(pg), Some(resolved)) = (self.pg.clone(), self.resolved.clone()) else {
            return Err(ProviderError::harness("restore called before resolve"));
        };
        let parent = self
            .target
            .work_dir
            .clone()
            .unwrap_or_else(std::env::temp_dir);
        let run_dir = parent.join(format!("restore-drill-{run_id}-{}", self.restore_id));
        if let Chosen::PgBackRest { repo, .. } = &resolved.from {
            // Before anything is created: not even the run's dir may land in the source.
            repo.refuse_source(&run_dir)?;
        }
        std::fs::create_dir_all(&parent).map_err(|e| {
            ProviderError::harness(format!("cannot create {}: {e}", parent.display()))
        })?;
        std::fs::create_dir(&run_dir).map_err(|e| {
            ProviderError::harness(format!("cannot create {}: {e}", run_dir.display()))
        })?;
        self.run_dir = Some(run_dir.clone());
        // So `sweep --local-work-dir` can tell a killed run's leftovers from a live run.
        let marker = super::Marker {
            run_id: run_id.to_owned(),
            restore: self.restore_id.clone(),
            pid: std::process::id(),
            created_at: chrono::Utc::now(),
        };
        std::fs::write(
            run_dir.join(super::MARKER),
            serde_json::to_string_pretty(&marker).unwrap_or_default(),
        )
        .map_err(|e| {
            ProviderError::harness(format!("cannot write into {}: {e}", run_dir.display()))
        })?;
        let data = run_dir.join("data");
        let fetch_log = run_dir.join(FETCH_LOG);
        match &resolved.from {
            Chosen::Files { backup, path } => {
                let abort = Arc::new(AtomicBool::new(false));
                let task = {
                    let (backup, data, abort) = (backup.clone(), data.clone(), abort.clone());
                    tokio::task::spawn_blocking(move || copy_backup(&backup, &data, &abort))
                };
                let copying = self.copying.insert(Copying { abort, task });
                let copied = (&mut copying.task).await;
                self.copying = None;
                copied.map_err(|e| {
                    ProviderError::harness(format!("copying the base backup: {e}"))
                })??;
                let recovery = self.recovery_settings(&data, path, &resolved, &fetch_log)?;
                self.configure(&data, &recovery)?;
            }
            Chosen::PgBackRest { repo, label, .. } => {
                // pgBackRest restores as the server's user into an empty dir of the run's.
                std::fs::create_dir(&data).map_err(|e| {
                    ProviderError::harness(format!("cannot create {}: {e}", data.display()))
                })?;
                set_mode(&data, 0o700)?;
                pg.give(&run_dir)
                    .map_err(|e| ProviderError::harness(e.to_string()))?;
                repo.restore(label, resolved.target_time, &data).await?;
                // pgBackRest wrote restore_command and the target; add what protects the source.
                self.configure(&data, "")?;
            }
        }
        pg.give(&run_dir)
            .map_err(|e| ProviderError::harness(e.to_string()))?;
        set_mode(&data, 0o700)?;
        let port = match self.target.port {
            Some(p) => p,
            None => free_port().map_err(|e| ProviderError::harness(e.to_string()))?,
        };
        let mut polls = 0;
        let server = Server::start(&pg, &data, port, &run_dir.join("postgres.log"), tied)
            .await
            .map_err(|e| ProviderError::harness(e.to_string()))?;
        self.server = Some(server);
        let promoted = self.wait_promoted(&mut polls).await;
        // Any file the archive holds but could not deliver fails the restore, whatever
        // PostgreSQL made of it.
        if let PgSource::Files { wal_archive, .. } = &self.source
            && let Some((name, reason)) = failures(&fetch_log).into_iter().next()
        {
            return Err(ProviderError::restore(format!(
                "PostgreSQL could not read {name} from the archive {}: {reason}",
                wal_archive.display()
            )));
        }
        if let Err(log) = promoted {
            let why = if log.contains(TARGET_NOT_REACHED) {
                "recovery ended before the target time although the archive holds a later transaction: \
                 WAL on the way could not be read"
            } else {
                "PostgreSQL stopped during recovery"
            };
            return Err(ProviderError::restore(format!(
                "{why}; the end of its log:\n{log}"
            )));
        }
        // Where replay ended proves how far the archive was read.
        let replayed = self.replayed().await?;
        let crossed = match &resolved.from {
            Chosen::Files { path, .. } => path.crossed(replayed),
            Chosen::PgBackRest { .. } => Vec::new(),
        };
        if crossed.is_empty() {
            self.notes.push(format!("replayed to {replayed}"));
        } else if crossed.len() > 1 {
            self.notes.push(format!(
                "replayed to {replayed}, crossing timelines {}",
                crossed
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(" → ")
            ));
        } else {
            self.notes.push(format!(
                "replayed to {replayed} on timeline {}",
                crossed.last().copied().unwrap_or(1)
            ));
        }
        if let Some(target) = resolved.target_time {
            if let Some(note) = std::fs::read_to_string(run_dir.join("postgres.log"))
                .ok()
                .and_then(|log| stop_note(&log))
            {
                self.notes.push(note);
            }
            if let Some(note) = self
                .late_commits(&pg, &data, &run_dir, replayed, target)
                .await
            {
                self.notes.push(note);
            }
        }
        if resolved.target_time.is_none()
            && let Some((newest, start)) = resolved.from.newest_segment()
            && replayed < start
        {
            return Err(ProviderError::restore(format!(
                "recovery to the end of the archive stopped at {replayed}, before the archive's newest segment {newest} \
                 (which starts at {start}): the archive was not read to its end; see {}",
                run_dir.join("postgres.log").display()
            )));
        }
        Ok(Waited {
            polls,
            resolution: POLL,
        })
    }

    /// A session on the restored server as the drill's user, in the drill's database.
    async fn session(&self) -> Result<tokio_postgres::Client, ProviderError> {
        let Some(server) = &self.server else {
            return Err(ProviderError::harness("no restored server"));
        };
        connect(
            server.port,
            &self.connect.user,
            &self.connect.database,
            self.password.as_deref(),
        )
        .await
        .map_err(|e| {
            ProviderError::restore(format!(
                "cannot connect to the restored database \"{}\" as \"{}\": {e}",
                self.connect.database, self.connect.user
            ))
        })
    }

    /// The position replay ended at, from the promoted server.
    async fn replayed(&self) -> Result<Lsn, ProviderError> {
        let client = self.session().await?;
        let row = client
            .query_one("select pg_last_wal_replay_lsn()::text", &[])
            .await
            .map_err(|e| ProviderError::restore(format!("cannot read the replay position: {e}")))?;
        let text: Option<String> = row.get(0);
        text.as_deref().and_then(Lsn::parse).ok_or_else(|| {
            ProviderError::restore(
                "the restored server reports no replay position: it did not recover from the archive",
            )
        })
    }

    /// Commits stamped at or before `target` that follow, in the WAL, the record recovery
    /// stopped before (at `replayed`), so they are not restored although their stamps are in
    /// time: they were written after a transaction stamped past the target (commits racing,
    /// or the source's clock stepped back). The stop's segment and the next are fetched as
    /// recovery fetched them, with the restored server's own `restore_command`, and read with
    /// `pg_waldump`. A note when there are any, or when they could not be looked for.
    async fn late_commits(
        &self,
        pg: &PgEnv,
        data: &Path,
        run_dir: &Path,
        replayed: Lsn,
        target: DateTime<Utc>,
    ) -> Option<String> {
        let looked = async {
            let client = self.session().await.map_err(|e| e.to_string())?;
            let size: i64 = client
                .query_one(
                    "select setting::bigint from pg_settings where name = 'wal_segment_size' and unit = 'B'",
                    &[],
                )
                .await
                .map_err(|e| format!("cannot read wal_segment_size: {e}"))?
                .get(0);
            let size = u64::try_from(size)
                .ok()
                .filter(|s| s.is_power_of_two())
                .ok_or("a WAL segment size that is no power of two")?;
            let timeline = replayed_timeline(&data.join("pg_wal"))?;
            let command = restore_command(data)?;
            let dir = run_dir.join("late-wal");
            std::fs::create_dir(&dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            pg.give(&dir).map_err(|e| e.to_string())?;
            let first = replayed.segment_number(size);
            let mut fetched = Vec::new();
            for number in [first, first + 1] {
                let name = Segment::at(timeline, number, size).name();
                if !fetch_with(pg, &command, data, &name, &dir.join(&name)).await? {
                    break;
                }
                fetched.push(name);
            }
            if fetched.is_empty() {
                return Err(format!(
                    "the restore command did not deliver {}",
                    Segment::at(timeline, first, size).name()
                ));
            }
            let end = Lsn((first + fetched.len() as u64) * size);
            let out = pg
                .command("pg_waldump")
                .arg("--rmgr=Transaction")
                .arg(format!("--timeline={timeline}"))
                .arg(format!("--start={replayed}"))
                .arg(format!("--end={end}"))
                .arg("-p")
                .arg(&dir)
                .env("TZ", "UTC")
                .output()
                .await
                .map_err(|e| format!("cannot run pg_waldump: {e}"))?;
            let ends =
                super::waldump::parse_transaction_ends(&String::from_utf8_lossy(&out.stdout));
            if !out.status.success() && ends.is_empty() {
                return Err(format!(
                    "pg_waldump cannot read {}: {}",
                    fetched.join(", "),
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
            let late: Vec<_> = ends
                .into_iter()
                .filter(|e| e.commit && e.at <= target)
                .collect();
            Ok::<_, String>((late, fetched))
        };
        let started = std::time::Instant::now();
        let looked = looked.await;
        tracing::debug!(
            "looked for late commits after {replayed} in {:.0} ms",
            started.elapsed().as_secs_f64() * 1000.0
        );
        let (late, read) = match looked {
            Ok(found) => found,
            Err(why) => {
                return Some(format!(
                    "could not look for commits stamped at or before the target after where recovery stopped: {why}"
                ));
            }
        };
        let (first, last) = (late.first()?, late.last()?);
        let micros = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let (oldest, newest) = (
            late.iter().map(|e| e.at).min().unwrap_or(first.at),
            late.iter().map(|e| e.at).max().unwrap_or(last.at),
        );
        Some(format!(
            "{} transaction(s) stamped at or before the target ({} to {}; xids {} to {}) follow, in the WAL, \
             the one recovery stopped before: they were written after a transaction stamped past the target \
             (commits racing, or the source's clock stepped back), had not committed when the target first \
             came, and are not restored (read in WAL segment {})",
            late.len(),
            micros(oldest),
            micros(newest),
            first.xid,
            last.xid,
            read.join(" and ")
        ))
    }

    /// Notes gathered while restoring (they go into the report's recovery point).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Waits until the server accepts connections and is out of recovery. `Err` carries the
    /// end of the server log when the server exits instead.
    async fn wait_promoted(&mut self, polls: &mut u32) -> Result<(), String> {
        loop {
            *polls += 1;
            // Told to the engine as it happens, so a phase cut off by its timeout keeps it.
            crate::provider::poll::look();
            let Some(server) = self.server.as_mut() else {
                return Err("no server".into());
            };
            if server.exited().is_some() {
                return Err(server.log_tail(15));
            }
            let port = server.port;
            if let Ok(client) = connect(
                port,
                &self.connect.user,
                &self.connect.database,
                self.password.as_deref(),
            )
            .await
                && let Ok(row) = client.query_one("select pg_is_in_recovery()", &[]).await
                && !row.get::<_, bool>(0)
            {
                return Ok(());
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The recovery settings of the file layout: the restore command is this binary's
    /// `wal-fetch`, which decompresses and logs every request.
    fn recovery_settings(
        &self,
        data: &Path,
        path: &TimelinePath,
        resolved: &Resolved,
        fetch_log: &Path,
    ) -> Result<String, ProviderError> {
        let PgSource::Files { wal_archive, .. } = &self.source else {
            return Err(ProviderError::harness(
                "wal-fetch needs a WAL archive folder",
            ));
        };
        let exe = self.fetch_exe(data)?;
        let command = format!(
            "{} wal-fetch --log {} {} %f %p",
            shell_quote(&exe.display().to_string()),
            shell_quote(&fetch_log.display().to_string()),
            shell_quote(&wal_archive.display().to_string()),
        );
        let quote = |s: &str| s.replace('\'', "''");
        let mut conf = format!(
            "restore_command = '{}'\nrecovery_target_timeline = '{}'\nrecovery_target_action = 'promote'\n",
            quote(&command),
            path.target_timeline()
        );
        if let Some(t) = resolved.target_time {
            conf.push_str(&format!(
                "recovery_target_time = '{}'\n",
                t.format("%Y-%m-%d %H:%M:%S%.6f+00")
            ));
        }
        Ok(conf)
    }

    /// Writes `recovery` and the settings that protect the source: they go last in
    /// `postgresql.auto.conf`, so they win over anything the source's configuration says
    /// (notably its `archive_command`, which must never write into the source's archive from
    /// a restore).
    fn configure(&self, data: &Path, recovery: &str) -> Result<(), ProviderError> {
        let conf = format!(
            "\n# restore-drill recovery settings\n{recovery}archive_mode = off\narchive_command = ''\nhot_standby = on\nlogging_collector = off\n"
        );
        let auto = data.join("postgresql.auto.conf");
        let base = match std::fs::read_to_string(&auto) {
            Ok(text) => match text.find("\n# restore-drill recovery settings\n") {
                Some(i) => text[..i].to_owned(),
                None => text,
            },
            Err(_) => String::new(),
        };
        let write = |path: &Path, text: &str| {
            std::fs::write(path, text).map_err(|e| {
                ProviderError::harness(format!("cannot write {}: {e}", path.display()))
            })
        };
        write(&auto, &format!("{base}{conf}"))?;
        write(&data.join("recovery.signal"), "")?;
        for stale in ["postmaster.pid", "postmaster.opts", "standby.signal"] {
            let _ = std::fs::remove_file(data.join(stale));
        }
        Ok(())
    }

    /// This binary, where the server's user can run it: itself when it can, else a link (or
    /// copy) in the run's dir, which that user owns.
    fn fetch_exe(&self, data: &Path) -> Result<PathBuf, ProviderError> {
        let exe = std::env::current_exe()
            .map_err(|e| ProviderError::harness(format!("cannot find this program's path: {e}")))?;
        let run_as = self.pg.as_ref().and_then(|p| p.run_as);
        let Some(ids) = run_as else {
            return Ok(exe);
        };
        if runnable_by(&exe, ids) {
            return Ok(exe);
        }
        let dir = data.parent().unwrap_or(data);
        let local = dir.join("restore-drill");
        // A copy, not a link: the run's dir is handed to the server's user, and a link would
        // hand over the installed binary itself.
        {
            std::fs::copy(&exe, &local).map_err(|e| {
                ProviderError::harness(format!(
                    "cannot copy {} to {} for the restore command: {e}",
                    exe.display(),
                    local.display()
                ))
            })?;
        }
        Ok(local)
    }

    /// Connects as the drill's user to the drill's database: the target is usable.
    pub async fn prepare(&mut self) -> Result<(Target, Waited), ProviderError> {
        let client = self.session().await?;
        let Some(server) = &self.server else {
            return Err(ProviderError::harness("prepare called before restore"));
        };
        client.simple_query("select 1").await.map_err(|e| {
            ProviderError::restore(format!("the restored database does not answer: {e}"))
        })?;
        let mut details = std::collections::BTreeMap::new();
        details.insert("database".into(), self.connect.database.clone());
        details.insert("user".into(), self.connect.user.clone());
        if let Some(pid) = server.pid() {
            details.insert("pid".into(), pid.to_string());
        }
        Ok((
            Target {
                kind: "postgresql".into(),
                name: server.data_dir.display().to_string(),
                address: Some(format!("127.0.0.1:{}", server.port)),
                details,
            },
            Waited {
                polls: 1,
                resolution: Duration::ZERO,
            },
        ))
    }

    /// Stops the server and removes the data dir. Idempotent. `Err` lists what remains.
    pub async fn teardown(&mut self) -> Result<(), Vec<String>> {
        let mut left = Vec::new();
        // A copy still running would recreate what we remove: stop it first.
        if let Some(c) = self.copying.take() {
            c.abort.store(true, Ordering::Relaxed);
            let _ = c.task.await;
        }
        if let Some(mut server) = self.server.take() {
            let pid = server.pid();
            if let Err(e) = server.stop().await {
                left.push(format!(
                    "postgres process {} ({e})",
                    pid.unwrap_or_default()
                ));
            }
        }
        if let Some(dir) = self.run_dir.take()
            && dir.exists()
            && let Err(e) = std::fs::remove_dir_all(&dir)
        {
            left.push(format!("{} ({e})", dir.display()));
        }
        if left.is_empty() { Ok(()) } else { Err(left) }
    }

    /// How to reach a kept target, for `--keep`.
    pub fn how_to_reach(&self) -> Option<String> {
        let server = self.server.as_ref()?;
        Some(format!(
            "psql \"host=127.0.0.1 port={} dbname={} user={}\"\n  data dir: {}\n  stop it:  kill -INT {}   (then remove {})",
            server.port,
            self.connect.database,
            self.connect.user,
            server.data_dir.display(),
            server.pid().unwrap_or_default(),
            self.run_dir
                .as_ref()
                .map(|d| d.display().to_string())
                .unwrap_or_default()
        ))
    }

    /// Detaches a kept server so that dropping this restore does not stop it.
    pub fn keep(&mut self) {
        if let Some(s) = self.server.take() {
            s.detach();
        }
        self.run_dir = None;
    }
}

/// Where recovery to a time stopped, as the server's log says it: PostgreSQL stops before the
/// first transaction end stamped after the target and names it ("recovery stopping before
/// commit of transaction 1234, time 2026-12-01 16:00:06.5425+00"). That transaction is the
/// nearest data after the target that the restore leaves out. `None` when the log does not
/// say it in English.
fn stop_note(log: &str) -> Option<String> {
    let line = log
        .lines()
        .rev()
        .find_map(|l| l.split_once("recovery stopping before ").map(|(_, r)| r))?;
    let (what, rest) = line.split_once(" of transaction ")?;
    if what != "commit" && what != "abort" {
        return None;
    }
    let (xid, time) = rest.split_once(", time ")?;
    let xid: u32 = xid.trim().parse().ok()?;
    let at = pg_timestamptz(time.trim())?;
    Some(format!(
        "recovery stopped before the {what} of transaction {xid}, stamped {}: the first transaction end in the WAL after the target (the server's log)",
        at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
    ))
}

/// The timeline recovery replayed on: the parent named by the newest `.history` file in a
/// promoted server's `pg_wal` (its last line: `parent<TAB>switchpoint<TAB>reason`).
fn replayed_timeline(pg_wal: &Path) -> Result<u32, String> {
    let newest = std::fs::read_dir(pg_wal)
        .map_err(|e| format!("cannot read {}: {e}", pg_wal.display()))?
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let tl = u32::from_str_radix(name.strip_suffix(".history")?, 16).ok()?;
            Some((tl, e.path()))
        })
        .max_by_key(|(tl, _)| *tl)
        .ok_or_else(|| format!("no timeline history in {}", pg_wal.display()))?;
    let text = std::fs::read_to_string(&newest.1)
        .map_err(|e| format!("cannot read {}: {e}", newest.1.display()))?;
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| format!("{} names no parent timeline", newest.1.display()))
}

/// The `restore_command` recovery ran with: the last one set in `postgresql.auto.conf`
/// (where restore-drill, or pgBackRest, wrote it).
fn restore_command(data: &Path) -> Result<String, String> {
    let path = data.join("postgresql.auto.conf");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    text.lines()
        .rev()
        .find_map(|l| {
            let (key, value) = l.split_once('=')?;
            (key.trim() == "restore_command").then_some(value.trim())
        })
        .and_then(|v| v.strip_prefix('\'')?.strip_suffix('\''))
        .map(|v| v.replace("''", "'"))
        .filter(|v| !v.is_empty())
        .ok_or_else(|| format!("no restore_command in {}", path.display()))
}

/// Runs `command` as PostgreSQL runs a `restore_command` (in the data dir, as the server's
/// user, `%f` the segment's name, `%p` where to put it); `Ok(false)` when it did not deliver.
async fn fetch_with(
    pg: &PgEnv,
    command: &str,
    data: &Path,
    name: &str,
    dest: &Path,
) -> Result<bool, String> {
    let line = expand_restore_command(command, name, dest);
    let mut cmd = tokio::process::Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(&line)
        .current_dir(data)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    if let Some((uid, gid)) = pg.run_as {
        cmd.uid(uid).gid(gid);
    }
    let status = cmd
        .status()
        .await
        .map_err(|e| format!("cannot run the restore command: {e}"))?;
    Ok(status.success() && dest.is_file())
}

/// `command` with PostgreSQL's placeholders filled in: `%f` (and `%r`, the oldest file to
/// keep, which only cleanup commands use) the segment's name, `%p` its destination, `%%` a
/// percent sign.
fn expand_restore_command(command: &str, name: &str, dest: &Path) -> String {
    let mut line = String::new();
    let mut chars = command.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            line.push(c);
            continue;
        }
        match chars.next() {
            Some('f' | 'r') => line.push_str(name),
            Some('p') => line.push_str(&dest.display().to_string()),
            Some('%') => line.push('%'),
            Some(other) => {
                line.push('%');
                line.push(other);
            }
            None => line.push('%'),
        }
    }
    line
}

/// A `timestamptz` as PostgreSQL writes it in ISO style with a numeric zone:
/// `2026-12-01 16:00:06.5425+00`, `2026-12-01 21:30:06+05:30`.
fn pg_timestamptz(text: &str) -> Option<DateTime<Utc>> {
    let split = text.rfind(['+', '-']).filter(|&i| i > 10)?;
    let (stamp, zone) = text.split_at(split);
    let local = chrono::NaiveDateTime::parse_from_str(stamp, "%Y-%m-%d %H:%M:%S%.f").ok()?;
    let mut parts = zone[1..].split(':').map(|p| p.parse::<i64>().ok());
    let hours = parts.next()??;
    let minutes = parts.next().unwrap_or(Some(0))?;
    let seconds = parts.next().unwrap_or(Some(0))?;
    if parts.next().is_some() || hours > 15 || minutes > 59 || seconds > 59 {
        return None;
    }
    let offset = hours * 3600 + minutes * 60 + seconds;
    let offset = if zone.starts_with('-') {
        -offset
    } else {
        offset
    };
    Some((local - chrono::TimeDelta::seconds(offset)).and_utc())
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn set_mode(path: &Path, mode: u32) -> Result<(), ProviderError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| ProviderError::harness(format!("cannot chmod {}: {e}", path.display())))
}

fn mtime(path: &Path) -> Option<DateTime<Utc>> {
    std::fs::metadata(path)
        .ok()?
        .modified()
        .ok()
        .map(DateTime::<Utc>::from)
}

/// Shell single quoting, for the restore command PostgreSQL runs with `sh -c`.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Whether the user `ids` can run `exe`: every folder above it searchable and the file
/// executable by that user (owner, group or other bits; no ACLs).
fn runnable_by(exe: &Path, ids: (u32, u32)) -> bool {
    use std::os::unix::fs::MetadataExt;
    let allowed = |p: &Path, owner: u32, group: u32, other: u32| {
        std::fs::metadata(p).is_ok_and(|m| {
            let bit = if m.uid() == ids.0 {
                owner
            } else if m.gid() == ids.1 {
                group
            } else {
                other
            };
            m.mode() & bit != 0
        })
    };
    allowed(exe, 0o100, 0o010, 0o001)
        && exe
            .ancestors()
            .skip(1)
            .all(|d| d.as_os_str().is_empty() || allowed(d, 0o100, 0o010, 0o001))
}

/// Resolve's file work: the backups, the archive's timeline path, and the newest
/// transaction in it; returns what restore needs and the recovery point for the report.
fn resolve_blocking(
    pg: &PgEnv,
    base_backups: &Path,
    wal_archive: &Path,
    wanted: Option<DateTime<Utc>>,
) -> Result<(Resolved, RecoveryPoint), ProviderError> {
    let archive = Archive::scan(wal_archive).map_err(ProviderError::restore)?;
    let mut backups = find_base_backups(base_backups, &archive)?;
    backups.sort_by_key(|b| b.end);
    let chosen = match wanted {
        None => backups.last().cloned(),
        Some(t) => backups.iter().rev().find(|b| b.end <= t).cloned(),
    };
    let Some(backup) = chosen else {
        let oldest = backups
            .first()
            .map(|b| format!(" (the oldest ended at {})", rfc3339(b.end)))
            .unwrap_or_default();
        return Err(ProviderError::restore(format!(
            "no base backup in {} ended before {}{oldest}: nothing to restore that point from",
            base_backups.display(),
            wanted.map(rfc3339).unwrap_or_default()
        )));
    };
    let path = plan_path(
        &archive,
        backup.label.timeline,
        backup.label.start,
        pg.run_as,
    )
    .map_err(ProviderError::restore)?;
    let newest = newest_transaction(&pg.bin_dir.join("pg_waldump"), &path)
        .map_err(ProviderError::restore)?;
    let mut notes = vec![format!(
        "base backup {} ({}, started at {} on timeline {}, ended {} by {})",
        backup.name,
        match &backup.format {
            Format::Plain => "plain".to_owned(),
            Format::Tar(_, c) => format!("tar, {}", c.name()),
        },
        backup.label.start,
        backup.label.timeline,
        rfc3339(backup.end),
        backup.end_from
    )];
    let kinds: std::collections::BTreeSet<&str> = path
        .segments
        .iter()
        .map(|(_, f)| f.compression.name())
        .collect();
    notes.push(format!(
        "{} archived WAL segments on the path{}{}",
        path.segments.len(),
        if kinds.is_empty() {
            String::new()
        } else {
            format!(" ({})", kinds.into_iter().collect::<Vec<_>>().join(", "))
        },
        path.newest()
            .map(|(s, _)| format!(", the newest {}", s.name()))
            .unwrap_or_default()
    ));
    notes.push(format!("timelines: {}", path.describe()));
    notes.extend(path.notes.iter().cloned());
    let (latest, target_time) = latest_and_target(wanted, newest.as_ref(), backup.end, &mut notes);
    let point = RecoveryPoint {
        kind: "pitr".into(),
        id: backup.dir.display().to_string(),
        time: target_time,
        latest_restorable: Some(latest),
        notes,
    };
    Ok((
        Resolved {
            from: Chosen::Files { backup, path },
            target_time,
        },
        point,
    ))
}

/// Resolve from a pgBackRest repository: the backup set and the archive's newest
/// transaction (`pgbackrest.rs`), then the same rules as the file layout.
fn resolve_pgbackrest(
    pg: &PgEnv,
    stanza: &str,
    config: &Path,
    wanted: Option<DateTime<Utc>>,
) -> Result<(Resolved, RecoveryPoint), ProviderError> {
    let repo = Repo::new(stanza, config, pg)?;
    let chosen = pgbackrest::resolve(pg, &repo, wanted)?;
    let mut notes = chosen.notes;
    let (latest, target_time) =
        latest_and_target(wanted, chosen.newest.as_ref(), chosen.end, &mut notes);
    let point = RecoveryPoint {
        kind: "pitr".into(),
        id: format!("pgbackrest:{}/{}", repo.stanza(), chosen.label),
        time: target_time,
        latest_restorable: Some(latest),
        notes,
    };
    Ok((
        Resolved {
            from: Chosen::PgBackRest {
                repo,
                label: chosen.label,
                newest: chosen.newest_segment,
            },
            target_time,
        },
        point,
    ))
}

/// The latest restorable commit (the archive's newest, not before the backup's end) and the
/// recovery target time, with notes saying which. Recovery stops at the first transaction
/// end after the target time; without one in the archive it would fail, and the state at the
/// target is the end of the archive — proven here from the WAL, and checked again after
/// replay (restore).
fn latest_and_target(
    wanted: Option<DateTime<Utc>>,
    newest: Option<&NewestTransaction>,
    backup_end: DateTime<Utc>,
    notes: &mut Vec<String>,
) -> (DateTime<Utc>, Option<DateTime<Utc>>) {
    let latest = match newest {
        Some(n) => {
            let commit = n.commit.unwrap_or(backup_end).max(backup_end);
            notes.push(format!(
                "latest restorable commit {} (read from WAL segment {})",
                rfc3339(commit),
                n.segment.name()
            ));
            commit
        }
        None => {
            notes.push(format!(
                "no transaction ended in the archived WAL after the base backup: the latest restorable state is the backup's end, {}",
                rfc3339(backup_end)
            ));
            backup_end
        }
    };
    let target_time = match (wanted, newest) {
        (Some(t), Some(n)) if n.end > t => Some(t),
        (Some(t), _) => {
            notes.push(format!(
                "no transaction in the archive ended after the target time {}: recovering to the end of the archive",
                rfc3339(t)
            ));
            None
        }
        (None, _) => None,
    };
    (latest, target_time)
}

/// The base backups under `root`: each folder holding a plain backup (`backup_label`) or a
/// tar one (`base.tar`, compressed or not); `root` itself may be one.
fn find_base_backups(root: &Path, archive: &Archive) -> Result<Vec<BaseBackup>, ProviderError> {
    let describe = |dir: &Path| -> Option<Result<BaseBackup, ProviderError>> {
        let format = if dir.join("backup_label").is_file() {
            Format::Plain
        } else {
            let (tar, kind) = std::fs::read_dir(dir).ok()?.flatten().find_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                match Compression::split(&name, |s| s == "base.tar") {
                    Some(Ok((_, kind))) => Some((e.path(), kind)),
                    _ => None,
                }
            })?;
            Format::Tar(tar, kind)
        };
        Some(describe_backup(dir, format, archive))
    };
    if let Some(one) = describe(root) {
        return Ok(vec![one?]);
    }
    let entries = std::fs::read_dir(root).map_err(|e| {
        ProviderError::restore(format!(
            "cannot read the base backups folder {}: {e}",
            root.display()
        ))
    })?;
    let mut dirs: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    dirs.sort();
    let backups = dirs
        .iter()
        .filter_map(|d| describe(d))
        .collect::<Result<Vec<_>, _>>()?;
    if backups.is_empty() {
        return Err(ProviderError::restore(format!(
            "no base backup in {} (looked for folders with backup_label or base.tar from pg_basebackup)",
            root.display()
        )));
    }
    Ok(backups)
}

fn describe_backup(
    dir: &Path,
    format: Format,
    archive: &Archive,
) -> Result<BaseBackup, ProviderError> {
    let text = match &format {
        Format::Plain => std::fs::read_to_string(dir.join("backup_label")).map_err(|e| {
            ProviderError::restore(format!("cannot read {}/backup_label: {e}", dir.display()))
        })?,
        Format::Tar(tar, kind) => read_tar_label(tar, *kind)?,
    };
    let label = parse_label(&text).ok_or_else(|| {
        ProviderError::restore(format!(
            "the backup_label of {} names no start WAL location",
            dir.display()
        ))
    })?;
    let manifest_time = mtime(&dir.join("backup_manifest"));
    let (end, end_from) = match backup_stop_time(archive, label.start) {
        // The manifest is written right after the backup ends: its time refines the
        // whole-second STOP TIME when it falls in that second (a later copy does not).
        Some(stop) => match manifest_time {
            Some(m) if m >= stop && m < stop + chrono::TimeDelta::seconds(1) => (
                m,
                "its backup history file in the archive, to the sub-second by its manifest",
            ),
            _ => (
                stop + chrono::TimeDelta::seconds(1),
                "its backup history file in the archive (whole seconds, rounded up)",
            ),
        },
        None => {
            let marker = match &format {
                Format::Plain => dir.join("backup_label"),
                Format::Tar(tar, _) => tar.clone(),
            };
            let t = manifest_time
                .or_else(|| mtime(&marker))
                .ok_or_else(|| {
                    ProviderError::restore(format!(
                        "cannot tell when the backup {} ended: no backup history file in the archive and no file time",
                        dir.display()
                    ))
                })?;
            (
                t,
                "its files' modification time (no backup history file in the archive)",
            )
        }
    };
    Ok(BaseBackup {
        name: dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        dir: dir.to_path_buf(),
        format,
        label,
        end,
        end_from,
    })
}

/// `START WAL LOCATION: 0/2000028 (file …)` and `START TIMELINE: 1` of a backup label.
fn parse_label(text: &str) -> Option<Label> {
    let mut start = None;
    let mut timeline = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("START WAL LOCATION:") {
            start = rest.split_whitespace().next().and_then(Lsn::parse);
            // The file name carries the timeline too (labels before START TIMELINE existed).
            if timeline.is_none() {
                timeline = rest
                    .split("(file ")
                    .nth(1)
                    .and_then(|f| super::wal::Segment::parse(f.trim_end_matches(')').trim()))
                    .map(|s| s.timeline);
            }
        } else if let Some(rest) = line.strip_prefix("START TIMELINE:") {
            timeline = rest.trim().parse().ok();
        }
    }
    Some(Label {
        start: start?,
        timeline: timeline?,
    })
}

/// The STOP TIME of the archive's backup history file for the backup that started at
/// `start` (whole seconds: the backup ended within the second after). `None` when the
/// archive holds none or its time is not in UTC.
fn backup_stop_time(archive: &Archive, start: Lsn) -> Option<DateTime<Utc>> {
    archive.backup_files.iter().find_map(|f| {
        let text = Archive::read_text(f).ok()?;
        let started = text.lines().find_map(|l| {
            l.strip_prefix("START WAL LOCATION:")?
                .split_whitespace()
                .next()
                .and_then(Lsn::parse)
        })?;
        if started != start {
            return None;
        }
        let stop = text
            .lines()
            .find_map(|l| l.strip_prefix("STOP TIME:"))?
            .trim();
        let stamp = stop
            .strip_suffix(" UTC")
            .or_else(|| stop.strip_suffix(" GMT"))?;
        let t = chrono::NaiveDateTime::parse_from_str(stamp, "%Y-%m-%d %H:%M:%S").ok()?;
        Some(t.and_utc())
    })
}

/// The `backup_label` inside a tar base backup (the first entry `pg_basebackup` writes).
fn read_tar_label(tar: &Path, kind: Compression) -> Result<String, ProviderError> {
    let fail = |e: std::io::Error| {
        ProviderError::restore(format!(
            "cannot read {} ({}): {e}",
            tar.display(),
            kind.name()
        ))
    };
    let mut archive = tar::Archive::new(kind.open(tar).map_err(fail)?);
    for entry in archive.entries().map_err(fail)? {
        let mut entry = entry.map_err(fail)?;
        if entry.path().map_err(fail)?.as_os_str() == "backup_label" {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut entry, &mut text).map_err(fail)?;
            return Ok(text);
        }
    }
    Err(ProviderError::restore(format!(
        "{} holds no backup_label",
        tar.display()
    )))
}

/// Copies (plain) or unpacks (tar) a base backup into a new data dir. Stops early, with an
/// error, once `abort` is set.
fn copy_backup(b: &BaseBackup, data: &Path, abort: &AtomicBool) -> Result<(), ProviderError> {
    match &b.format {
        Format::Plain => copy_tree(&b.dir, data, abort)
            .map_err(|e| ProviderError::restore(format!("copying {}: {e}", b.dir.display())))?,
        Format::Tar(base, kind) => {
            untar(base, *kind, data, abort)?;
            // `-X stream` puts the WAL written during the backup beside it.
            if let Ok(entries) = std::fs::read_dir(&b.dir) {
                for e in entries.flatten() {
                    let name = e.file_name().to_string_lossy().into_owned();
                    if let Some(Ok((_, k))) = Compression::split(&name, |s| s == "pg_wal.tar") {
                        untar(&e.path(), k, &data.join("pg_wal"), abort)?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// Unpacks a (compressed) tar file in-process, refusing entries that would land outside
/// `into`; stops between entries once `abort` is set.
fn untar(
    file: &Path,
    kind: Compression,
    into: &Path,
    abort: &AtomicBool,
) -> Result<(), ProviderError> {
    let fail = |e: std::io::Error| {
        ProviderError::restore(format!(
            "unpacking {} ({}): {e}",
            file.display(),
            kind.name()
        ))
    };
    std::fs::create_dir_all(into)
        .map_err(|e| ProviderError::restore(format!("creating {}: {e}", into.display())))?;
    let mut archive = tar::Archive::new(kind.open(file).map_err(fail)?);
    archive.set_preserve_permissions(true);
    for entry in archive.entries().map_err(fail)? {
        if abort.load(Ordering::Relaxed) {
            return Err(ProviderError::restore("the copy was stopped"));
        }
        let mut entry = entry.map_err(fail)?;
        if !entry.unpack_in(into).map_err(fail)? {
            return Err(ProviderError::restore(format!(
                "{} holds an entry outside the data dir ({}): refused",
                file.display(),
                entry
                    .path()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            )));
        }
    }
    Ok(())
}

fn copy_tree(from: &Path, to: &Path, abort: &AtomicBool) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        if abort.load(Ordering::Relaxed) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::Interrupted,
                "the copy was stopped",
            ));
        }
        let entry = entry?;
        let kind = entry.file_type()?;
        let dest = to.join(entry.file_name());
        if kind.is_dir() {
            copy_tree(&entry.path(), &dest, abort)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path())?, &dest)?;
        } else {
            std::fs::copy(entry.path(), &dest)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn where_recovery_stopped_is_read_from_the_server_log() {
        let log = "\
2026-12-01 16:00:20.100 UTC [123] LOG:  starting point-in-time recovery to 2026-12-01 16:00:06.54248+00
2026-12-01 16:00:21.200 UTC [123] LOG:  restored log file \"000000010000000000000003\" from archive
2026-12-01 16:00:21.300 UTC [123] LOG:  recovery stopping before commit of transaction 1734, time 2026-12-01 16:00:06.5425+00
2026-12-01 16:00:21.300 UTC [123] LOG:  redo done at 0/3017C58
";
        assert_eq!(
            stop_note(log).unwrap(),
            "recovery stopped before the commit of transaction 1734, stamped 2026-12-01T16:00:06.542500Z: \
             the first transaction end in the WAL after the target (the server's log)"
        );
        let abort =
            "LOG:  recovery stopping before abort of transaction 9, time 2026-12-01 21:30:06+05:30";
        assert!(
            stop_note(abort)
                .unwrap()
                .contains("before the abort of transaction 9, stamped 2026-12-01T16:00:06.000000Z")
        );
        // Nothing said, said in another language, or garbled: no note.
        for log in [
            "LOG:  redo done at 0/3017C58",
            "LOG:  Wiederherstellung stoppt vor Commit von Transaktion 1734, Zeit 2026-12-01 16:00:06+00",
            "LOG:  recovery stopping before commit of transaction x, time 2026-12-01 16:00:06+00",
            "LOG:  recovery stopping before commit of transaction 5, time yesterday",
            "LOG:  recovery stopping before WAL location (LSN) \"0/3000000\"",
        ] {
            assert_eq!(stop_note(log), None, "{log}");
        }
    }

    #[test]
    fn the_restore_command_is_read_and_filled_in_as_postgres_does() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("postgresql.auto.conf");
        // None set: said, not guessed.
        std::fs::write(&conf, "archive_mode = 'off'\n").unwrap();
        assert!(
            restore_command(dir.path())
                .unwrap_err()
                .contains("no restore_command")
        );
        // The last one wins, and quotes are PostgreSQL's.
        std::fs::write(
            &conf,
            "restore_command = 'cp /old/%f %p'\narchive_mode = 'off'\nrestore_command = 'pgbackrest --stanza=main archive-get %f \"%p\" --x=''y'''\n",
        )
        .unwrap();
        let command = restore_command(dir.path()).unwrap();
        assert_eq!(
            command,
            "pgbackrest --stanza=main archive-get %f \"%p\" --x='y'"
        );
        assert_eq!(
            expand_restore_command(&command, "000000010000000000000003", Path::new("/w/x")),
            "pgbackrest --stanza=main archive-get 000000010000000000000003 \"/w/x\" --x='y'"
        );
        assert_eq!(
            expand_restore_command("a %% b %r %q %", "S", Path::new("/p")),
            "a % b S %q %"
        );
    }

    #[test]
    fn the_replayed_timeline_is_the_newest_historys_parent() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            replayed_timeline(dir.path())
                .unwrap_err()
                .contains("no timeline history")
        );
        std::fs::write(
            dir.path().join("00000002.history"),
            "1\t0/3000000\tbefore 2026-12-01 16:00:00+00\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("0000000A.history"),
            "1\t0/3000000\tno recovery target specified\n\n2\t0/5000000\tbefore 2026-12-01 17:00:00+00\n",
        )
        .unwrap();
        assert_eq!(replayed_timeline(dir.path()), Ok(2));
        std::fs::write(dir.path().join("0000000B.history"), "# nothing\n").unwrap();
        assert!(
            replayed_timeline(dir.path())
                .unwrap_err()
                .contains("names no parent")
        );
    }

    #[test]
    fn postgres_timestamps_with_any_numeric_zone_are_read() {
        for (text, want) in [
            ("2026-12-01 16:00:06.5425+00", "2026-12-01T16:00:06.5425Z"),
            ("2026-12-01 16:00:06+00", "2026-12-01T16:00:06Z"),
            (
                "2026-12-01 17:00:06.000001+01",
                "2026-12-01T16:00:06.000001Z",
            ),
            ("2026-12-01 10:30:06-05:30", "2026-12-01T16:00:06Z"),
            ("2026-12-01 16:00:16+00:00:10", "2026-12-01T16:00:06Z"),
        ] {
            assert_eq!(pg_timestamptz(text), Some(utc(want)), "{text}");
        }
        for bad in [
            "2026-12-01 16:00:06",
            "2026-12-01 16:00:06+99",
            "16:00:06+00",
            "",
        ] {
            assert_eq!(pg_timestamptz(bad), None, "{bad}");
        }
    }
}
