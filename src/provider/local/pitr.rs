//! `pg_pitr`: a point-in-time restore of self-managed PostgreSQL from `pg_basebackup` output
//! (plain or tar) and a WAL archive — what RDS PITR does underneath, on this machine.
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

use super::pg::{PgEnv, Server, connect, free_port};
use super::wal::{Segment, check_archive};
use crate::drill::{Connect, LocalTarget, PointSpec};
use crate::provider::{ProviderError, RecoveryPoint, Target, Waited};

/// How often the restore phase looks at the server while it replays WAL.
const POLL: Duration = Duration::from_millis(100);

const TARGET_NOT_REACHED: &str = "recovery ended before configured recovery target was reached";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Plain,
    Tar,
}

#[derive(Debug, Clone)]
struct BaseBackup {
    name: String,
    dir: PathBuf,
    format: Format,
    /// When the backup finished (its manifest, or label, was written).
    end: DateTime<Utc>,
}

/// One `pg_pitr` restore, from resolve to teardown.
#[derive(Debug)]
pub struct LocalPitr {
    restore_id: String,
    base_backups: PathBuf,
    wal_archive: PathBuf,
    to: PointSpec,
    target: LocalTarget,
    connect: Connect,
    password: Option<String>,
    pg_bin_dir: Option<PathBuf>,
    pg: Option<PgEnv>,
    chosen: Option<BaseBackup>,
    target_time: Option<DateTime<Utc>>,
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
        base_backups: &Path,
        wal_archive: &Path,
        to: PointSpec,
        target: LocalTarget,
        connect: Connect,
        password: Option<String>,
        pg_bin_dir: Option<&Path>,
    ) -> Self {
        LocalPitr {
            restore_id: restore_id.to_owned(),
            base_backups: base_backups.to_path_buf(),
            wal_archive: wal_archive.to_path_buf(),
            to,
            target,
            connect,
            password,
            pg_bin_dir: pg_bin_dir.map(Path::to_path_buf),
            pg: None,
            chosen: None,
            target_time: None,
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
        self.pg = Some(pg);
        let wanted = self.to.time(incident);
        let mut backups = find_base_backups(&self.base_backups)?;
        backups.sort_by_key(|b| b.end);
        let chosen = match wanted {
            None => backups.last().cloned(),
            Some(t) => backups.iter().rev().find(|b| b.end <= t).cloned(),
        };
        let Some(chosen) = chosen else {
            let oldest = backups
                .first()
                .map(|b| format!(" (the oldest ended at {})", rfc3339(b.end)))
                .unwrap_or_default();
            return Err(ProviderError::restore(format!(
                "no base backup in {} ended before {}{oldest}: nothing to restore that point from",
                self.base_backups.display(),
                wanted.map(rfc3339).unwrap_or_default()
            )));
        };
        let start = start_segment(&chosen)?;
        let archive = check_archive(&self.wal_archive, start).map_err(ProviderError::restore)?;
        let latest = archive
            .latest_restorable
            .map_or(chosen.end, |t| t.max(chosen.end));
        let mut notes = Vec::new();
        self.target_time = match wanted {
            Some(t) if t > latest => {
                notes.push(format!(
                    "the target time {} is after the newest archived WAL ({}): recovering everything archived",
                    rfc3339(t),
                    rfc3339(latest)
                ));
                None
            }
            other => other,
        };
        notes.push(format!(
            "base backup {} ({} format), {} archived WAL segments after it",
            chosen.name,
            if chosen.format == Format::Plain {
                "plain"
            } else {
                "tar"
            },
            archive.segments
        ));
        self.notes = notes.clone();
        self.chosen = Some(chosen.clone());
        Ok(RecoveryPoint {
            kind: "pitr".into(),
            id: chosen.dir.display().to_string(),
            time: self.target_time,
            latest_restorable: Some(latest),
            notes,
        })
    }

    /// Copies the backup into a fresh data dir, configures recovery, starts the server and
    /// waits until it has promoted. `tied`: the server dies with this process (unless the
    /// target is to be kept).
    pub async fn restore(&mut self, run_id: &str, tied: bool) -> Result<Waited, ProviderError> {
        let (Some(pg), Some(backup)) = (self.pg.clone(), self.chosen.clone()) else {
            return Err(ProviderError::harness("restore called before resolve"));
        };
        let parent = self
            .target
            .work_dir
            .clone()
            .unwrap_or_else(std::env::temp_dir);
        let run_dir = parent.join(format!("restore-drill-{run_id}-{}", self.restore_id));
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
        let abort = Arc::new(AtomicBool::new(false));
        let task = {
            let (backup, data, abort) = (backup.clone(), data.clone(), abort.clone());
            tokio::task::spawn_blocking(move || copy_backup(&backup, &data, &abort))
        };
        let copying = self.copying.insert(Copying { abort, task });
        let copied = (&mut copying.task).await;
        self.copying = None;
        copied.map_err(|e| ProviderError::harness(format!("copying the base backup: {e}")))??;
        self.configure(&data, self.target_time)?;
        pg.give(&run_dir)
            .map_err(|e| ProviderError::harness(e.to_string()))?;
        set_mode(&data, 0o700)?;
        let port = match self.target.port {
            Some(p) => p,
            None => free_port().map_err(|e| ProviderError::harness(e.to_string()))?,
        };
        let mut polls = 0;
        let mut retried = false;
        loop {
            let server = Server::start(&pg, &data, port, &run_dir.join("postgres.log"), tied)
                .await
                .map_err(|e| ProviderError::harness(e.to_string()))?;
            self.server = Some(server);
            match self.wait_promoted(&mut polls).await {
                Ok(()) => {
                    return Ok(Waited {
                        polls,
                        resolution: POLL,
                    });
                }
                Err(log)
                    if log.contains(TARGET_NOT_REACHED)
                        && !retried
                        && self.target_time.is_some() =>
                {
                    // The archive is continuous (checked in resolve) and ends before the target
                    // time without a commit after it: the state at the target time is the end
                    // of the archive. Recover to the end.
                    retried = true;
                    self.notes.push(
                        "the archive holds no commit after the target time: recovered to the end of the archive".into(),
                    );
                    if let Some(mut s) = self.server.take() {
                        let _ = s.stop().await;
                    }
                    self.configure(&data, None)?;
                }
                Err(log) => {
                    return Err(ProviderError::restore(format!(
                        "PostgreSQL stopped during recovery; the end of its log:\n{log}"
                    )));
                }
            }
        }
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

    /// Writes the recovery settings: they go last in `postgresql.auto.conf`, so they win over
    /// anything the source's configuration says (notably its `archive_command`, which must
    /// never write into the source's archive from a restore).
    fn configure(
        &self,
        data: &Path,
        target_time: Option<DateTime<Utc>>,
    ) -> Result<(), ProviderError> {
        let quote = |s: &str| s.replace('\'', "''");
        let archive = quote(&self.wal_archive.display().to_string());
        let mut conf = format!(
            "\n# restore-drill recovery settings\nrestore_command = 'cp \"{archive}/%f\" \"%p\"'\nrecovery_target_action = 'promote'\narchive_mode = off\narchive_command = ''\nhot_standby = on\nlogging_collector = off\n"
        );
        if let Some(t) = target_time {
            conf.push_str(&format!(
                "recovery_target_time = '{}'\n",
                t.format("%Y-%m-%d %H:%M:%S%.6f+00")
            ));
        }
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
        if let Some(pg) = &self.pg {
            pg.give(&auto)
                .map_err(|e| ProviderError::harness(e.to_string()))?;
            pg.give(&data.join("recovery.signal"))
                .map_err(|e| ProviderError::harness(e.to_string()))?;
        }
        for stale in ["postmaster.pid", "postmaster.opts", "standby.signal"] {
            let _ = std::fs::remove_file(data.join(stale));
        }
        Ok(())
    }

    /// Connects as the drill's user to the drill's database: the target is usable.
    pub async fn prepare(&mut self) -> Result<(Target, Waited), ProviderError> {
        let Some(server) = &self.server else {
            return Err(ProviderError::harness("prepare called before restore"));
        };
        let client = connect(
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
        })?;
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

const TAR_NAMES: [&str; 4] = ["base.tar", "base.tar.gz", "base.tar.lz4", "base.tar.zst"];

/// The base backups under `root`: each folder holding a plain backup (`backup_label`) or a
/// tar one (`base.tar*`); `root` itself may be one.
fn find_base_backups(root: &Path) -> Result<Vec<BaseBackup>, ProviderError> {
    let describe = |dir: &Path| -> Option<BaseBackup> {
        let (format, marker) = if dir.join("backup_label").is_file() {
            (Format::Plain, dir.join("backup_label"))
        } else {
            let tar = TAR_NAMES
                .iter()
                .map(|n| dir.join(n))
                .find(|p| p.is_file())?;
            (Format::Tar, tar)
        };
        let end = mtime(&dir.join("backup_manifest")).or_else(|| mtime(&marker))?;
        Some(BaseBackup {
            name: dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            dir: dir.to_path_buf(),
            format,
            end,
        })
    };
    if let Some(one) = describe(root) {
        return Ok(vec![one]);
    }
    let entries = std::fs::read_dir(root).map_err(|e| {
        ProviderError::restore(format!(
            "cannot read the base backups folder {}: {e}",
            root.display()
        ))
    })?;
    let backups: Vec<BaseBackup> = entries
        .flatten()
        .filter_map(|e| describe(&e.path()))
        .collect();
    if backups.is_empty() {
        return Err(ProviderError::restore(format!(
            "no base backup in {} (looked for folders with backup_label or base.tar from pg_basebackup)",
            root.display()
        )));
    }
    Ok(backups)
}

/// The WAL segment the backup starts in, from its `backup_label`.
fn start_segment(b: &BaseBackup) -> Result<Segment, ProviderError> {
    let label = match b.format {
        Format::Plain => std::fs::read_to_string(b.dir.join("backup_label")).map_err(|e| {
            ProviderError::restore(format!("cannot read {}/backup_label: {e}", b.dir.display()))
        })?,
        Format::Tar => {
            let tar = TAR_NAMES
                .iter()
                .map(|n| b.dir.join(n))
                .find(|p| p.is_file())
                .unwrap_or_default();
            let out = std::process::Command::new("tar")
                .arg("-xOf")
                .arg(&tar)
                .arg("backup_label")
                .output()
                .map_err(|e| ProviderError::harness(format!("cannot run tar: {e}")))?;
            if !out.status.success() {
                return Err(ProviderError::restore(format!(
                    "{} holds no backup_label: {}",
                    tar.display(),
                    String::from_utf8_lossy(&out.stderr).trim()
                )));
            }
            String::from_utf8_lossy(&out.stdout).into_owned()
        }
    };
    label
        .lines()
        .find_map(|l| {
            let rest = l.strip_prefix("START WAL LOCATION:")?;
            let file = rest.split("(file ").nth(1)?.trim_end_matches(')').trim();
            Segment::parse(file)
        })
        .ok_or_else(|| {
            ProviderError::restore(format!(
                "the backup_label of {} names no start WAL file",
                b.dir.display()
            ))
        })
}

/// Copies (plain) or unpacks (tar) a base backup into a new data dir. Stops early, with an
/// error, once `abort` is set.
fn copy_backup(b: &BaseBackup, data: &Path, abort: &AtomicBool) -> Result<(), ProviderError> {
    let fail = |what: String| ProviderError::restore(what);
    match b.format {
        Format::Plain => copy_tree(&b.dir, data, abort)
            .map_err(|e| fail(format!("copying {}: {e}", b.dir.display())))?,
        Format::Tar => {
            std::fs::create_dir_all(data)
                .map_err(|e| fail(format!("creating {}: {e}", data.display())))?;
            let base = TAR_NAMES
                .iter()
                .map(|n| b.dir.join(n))
                .find(|p| p.is_file())
                .unwrap_or_default();
            untar(&base, data, abort)?;
            for wal in [
                "pg_wal.tar",
                "pg_wal.tar.gz",
                "pg_wal.tar.lz4",
                "pg_wal.tar.zst",
            ] {
                let p = b.dir.join(wal);
                if p.is_file() {
                    untar(&p, &data.join("pg_wal"), abort)?;
                }
            }
        }
    }
    Ok(())
}

/// Unpacks a tar file with `tar` (which recognises compressed ones), killing it on abort.
fn untar(archive: &Path, into: &Path, abort: &AtomicBool) -> Result<(), ProviderError> {
    std::fs::create_dir_all(into)
        .map_err(|e| ProviderError::restore(format!("creating {}: {e}", into.display())))?;
    let mut child = std::process::Command::new("tar")
        .arg("-xf")
        .arg(archive)
        .arg("-C")
        .arg(into)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| ProviderError::harness(format!("cannot run tar: {e}")))?;
    loop {
        if let Some(status) = child
            .try_wait()
            .map_err(|e| ProviderError::harness(format!("waiting for tar: {e}")))?
        {
            if status.success() {
                return Ok(());
            }
            let mut msg = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut msg);
            }
            return Err(ProviderError::restore(format!(
                "unpacking {}: {}",
                archive.display(),
                msg.trim()
            )));
        }
        if abort.load(Ordering::Relaxed) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(ProviderError::restore("the copy was stopped"));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
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
