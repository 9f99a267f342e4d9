//! pgBackRest repositories as the source of a `pg_pitr` restore: the calls to the
//! `pgbackrest` program (`info`, `archive-get`, `restore`) and what resolve learns from them —
//! the backup set to restore, the archive's range, and the newest commit in the archived WAL.
//! Starting the restored server, checks and teardown are shared with the file layout in
//! `pitr.rs`.
//!
//! Every call runs as the server's user (as pgBackRest expects: it refuses some commands as
//! root, and its lock and log paths belong to that user), with the drill's `--config` and
//! `--stanza`, and never writes to the source: a restore always overrides `--pg1-path` with the
//! run's own fresh data dir, and refuses one that is (or lies inside) the configured one.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;

use super::compress::Compression;
use super::pg::PgEnv;
use super::wal::{Lsn, Segment};
use super::waldump::{NewestTransaction, newest_transaction_in_dir};
use crate::provider::ProviderError;

/// How to get the program, for the error when it is missing.
const INSTALL: &str = "apt-get install pgbackrest";

/// One stanza of a repository, as the drill names it.
#[derive(Debug, Clone)]
pub(crate) struct Repo {
    stanza: String,
    config: PathBuf,
    exe: PathBuf,
    run_as: Option<(u32, u32)>,
}

/// The backup set resolve chose, and what it read from the archive.
#[derive(Debug, Clone)]
pub(crate) struct Chosen {
    pub(crate) label: String,
    /// When the set ended: pgBackRest's `timestamp.stop` (whole seconds), rounded up.
    pub(crate) end: DateTime<Utc>,
    /// The newest commit and transaction end in the archived WAL, if any after the set.
    pub(crate) newest: Option<NewestTransaction>,
    /// The archive's newest segment and the position it starts at: replay to the end of the
    /// archive must reach it.
    pub(crate) newest_segment: Option<(Segment, Lsn)>,
    pub(crate) notes: Vec<String>,
}

/// `pgbackrest info --output=json`: one entry per stanza.
#[derive(Debug, Deserialize)]
struct StanzaInfo {
    name: String,
    status: Status,
    #[serde(default)]
    backup: Vec<BackupSet>,
    #[serde(default)]
    archive: Vec<ArchiveRange>,
    #[serde(default)]
    repo: Vec<RepoStatus>,
}

#[derive(Debug, Deserialize)]
struct Status {
    code: i64,
    message: String,
}

#[derive(Debug, Deserialize)]
struct RepoStatus {
    key: u32,
    status: Status,
}

#[derive(Debug, Clone, Deserialize)]
struct BackupSet {
    label: String,
    #[serde(rename = "type")]
    kind: String,
    timestamp: Stamps,
    database: DatabaseRef,
    archive: SetArchive,
    #[serde(default)]
    error: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
struct Stamps {
    start: i64,
    stop: i64,
}

#[derive(Debug, Clone, Deserialize)]
struct DatabaseRef {
    id: u64,
}

#[derive(Debug, Clone, Deserialize)]
struct SetArchive {
    start: Option<String>,
    stop: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ArchiveRange {
    id: String,
    database: DatabaseRef,
    min: Option<String>,
    max: Option<String>,
}

impl Repo {
    /// The stanza of the repository `config` names; a harness error when `pgbackrest` is not
    /// installed.
    pub(crate) fn new(stanza: &str, config: &Path, pg: &PgEnv) -> Result<Self, ProviderError> {
        let exe = find_program("pgbackrest").ok_or_else(|| {
            ProviderError::harness(format!(
                "pgbackrest is not installed (not found on PATH): install it ({INSTALL}) to restore from a pgBackRest repository"
            ))
        })?;
        Ok(Repo {
            stanza: stanza.to_owned(),
            config: config.to_path_buf(),
            exe,
            run_as: pg.run_as,
        })
    }

    pub(crate) fn stanza(&self) -> &str {
        &self.stanza
    }

    /// `pgbackrest --config=… --stanza=… ARGS`, as the server's user.
    fn command(&self, args: &[String]) -> Command {
        use std::os::unix::process::CommandExt;
        let mut cmd = Command::new(&self.exe);
        cmd.arg(format!("--config={}", self.config.display()))
            .arg(format!("--stanza={}", self.stanza))
            .args(args)
            .current_dir("/")
            .env("LC_ALL", "C")
            .stdin(Stdio::null());
        if let Some((uid, gid)) = self.run_as {
            cmd.uid(uid).gid(gid);
        }
        cmd
    }

    /// A failed command is a failed restore, with what pgBackRest said.
    fn checked(&self, what: &str, out: std::io::Result<Output>) -> Result<Output, ProviderError> {
        let out = out.map_err(|e| {
            ProviderError::harness(format!("cannot run {}: {e}", self.exe.display()))
        })?;
        if out.status.success() {
            return Ok(out);
        }
        Err(ProviderError::restore(format!(
            "pgbackrest {what} (stanza \"{}\", config {}) failed ({}): {}",
            self.stanza,
            self.config.display(),
            out.status,
            said(&out)
        )))
    }

    /// The stanza's entry of `pgbackrest info`; an error naming the stanza when pgBackRest
    /// reports it unusable (unknown, no backups, repository errors).
    fn info(&self) -> Result<StanzaInfo, ProviderError> {
        let args = ["info".to_owned(), "--output=json".to_owned()];
        let out = self.checked("info", self.command(&args).output())?;
        let all: Vec<StanzaInfo> = serde_json::from_slice(&out.stdout).map_err(|e| {
            ProviderError::restore(format!(
                "cannot read the output of pgbackrest info --output=json: {e}"
            ))
        })?;
        let info = all
            .into_iter()
            .find(|s| s.name == self.stanza)
            .ok_or_else(|| {
                ProviderError::restore(format!(
                    "pgbackrest info knows no stanza \"{}\" (config {})",
                    self.stanza,
                    self.config.display()
                ))
            })?;
        if info.status.code != 0 {
            let repos: Vec<String> = info
                .repo
                .iter()
                .filter(|r| r.status.code != 0)
                .map(|r| format!("repo{}: {}", r.key, r.status.message))
                .collect();
            return Err(ProviderError::restore(format!(
                "pgBackRest stanza \"{}\" cannot be restored from: {}{} (config {})",
                self.stanza,
                info.status.message,
                if repos.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", repos.join("; "))
                },
                self.config.display()
            )));
        }
        Ok(info)
    }

    /// Fetches one archived segment into `dest` with `archive-get`; `Ok(false)` when the
    /// archive does not hold it. `pg1_path`: a data dir holding the cluster's
    /// `global/pg_control`, by which archive-get finds the matching archive.
    fn archive_get(
        &self,
        segment: &str,
        dest: &Path,
        pg1_path: Option<&Path>,
    ) -> Result<bool, ProviderError> {
        let mut args: Vec<String> = pg1_path
            .map(|p| format!("--pg1-path={}", p.display()))
            .into_iter()
            .collect();
        args.extend([
            "archive-get".to_owned(),
            segment.to_owned(),
            dest.display().to_string(),
        ]);
        let out = self.command(&args).output();
        let out = out.map_err(|e| {
            ProviderError::harness(format!("cannot run {}: {e}", self.exe.display()))
        })?;
        match out.status.code() {
            Some(0) => Ok(dest.is_file()),
            // archive-get's "not found in the archive".
            Some(1) => Ok(false),
            _ => Err(ProviderError::restore(format!(
                "pgbackrest archive-get {segment} (stanza \"{}\", config {}) failed ({}): {}",
                self.stanza,
                self.config.display(),
                out.status,
                said(&out)
            ))),
        }
    }

    /// Fetches `segment` from the archive `archive_id` with `repo-ls` and `repo-get` (which
    /// decrypts) and decompresses it into `dest`; `Ok(false)` when the archive does not hold
    /// it.
    fn repo_segment(
        &self,
        archive_id: &str,
        segment: &str,
        dest: &Path,
    ) -> Result<bool, ProviderError> {
        let dir = format!(
            "archive/{}/{archive_id}/{}",
            self.stanza,
            segment.get(..16).unwrap_or(segment)
        );
        // `<segment>-<sha1>` plus the compression's ending.
        let is_stem = |s: &str| {
            s.strip_prefix(segment)
                .and_then(|r| r.strip_prefix('-'))
                .is_some_and(|h| h.len() == 40 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        };
        let Some((name, data)) = self.repo_file(&dir, is_stem)? else {
            return Ok(false);
        };
        super::wal::check_segment_bytes(segment, &data)
            .map_err(|e| ProviderError::restore(format!("{dir}/{name}: {e}")))?;
        std::fs::write(dest, &data)
            .map_err(|e| ProviderError::harness(format!("cannot write {}: {e}", dest.display())))?;
        Ok(true)
    }

    /// The first file in the repository folder `dir` whose name, less a compression ending,
    /// `is_stem` accepts: its name and decompressed bytes. `None` when there is none.
    fn repo_file(
        &self,
        dir: &str,
        is_stem: impl Fn(&str) -> bool,
    ) -> Result<Option<(String, Vec<u8>)>, ProviderError> {
        let out = self.checked(
            "repo-ls",
            self.command(&["repo-ls".to_owned(), dir.to_owned()])
                .output(),
        )?;
        let listing = String::from_utf8_lossy(&out.stdout);
        let Some((name, kind)) =
            listing
                .lines()
                .find_map(|l| match Compression::split(l.trim(), &is_stem) {
                    Some(Ok((_, kind))) => Some((l.trim().to_owned(), kind)),
                    _ => None,
                })
        else {
            return Ok(None);
        };
        let out = self.checked(
            "repo-get",
            self.command(&["repo-get".to_owned(), format!("{dir}/{name}")])
                .output(),
        )?;
        let mut data = Vec::new();
        kind.reader(&out.stdout[..])
            .and_then(|mut r| r.read_to_end(&mut data))
            .map_err(|e| {
                ProviderError::restore(format!(
                    "cannot decompress {dir}/{name} ({}) from the repository: {e}",
                    kind.name()
                ))
            })?;
        Ok(Some((name, data)))
    }

    /// Writes the backup set's own `global/pg_control` (from the repository, decompressed)
    /// into `data`, a stand-in data dir for `archive-get`, which reads the cluster's system id
    /// and version there: the source's data dir need not be on this machine, and is never
    /// read. `Ok(false)` when the set holds no plain `pg_control` file (e.g. a bundled set).
    fn control_file(&self, label: &str, data: &Path) -> Result<bool, ProviderError> {
        let dir = format!("backup/{}/{label}/pg_data/global", self.stanza);
        let Some((_, control)) = self.repo_file(&dir, |s| s == "pg_control")? else {
            return Ok(false);
        };
        let global = data.join("global");
        std::fs::create_dir_all(&global)
            .and_then(|()| std::fs::write(global.join("pg_control"), &control))
            .map_err(|e| {
                ProviderError::harness(format!("cannot write into {}: {e}", global.display()))
            })?;
        Ok(true)
    }

    /// `pg1-path` as pgBackRest would see it for this stanza (a restore must never write
    /// there): `PGBACKREST_PG1_PATH`, else the configuration file. Only the file itself is
    /// read, not `config-include-path`; the restore overrides `--pg1-path` in any case.
    fn configured_pg1_path(&self) -> Result<Option<PathBuf>, ProviderError> {
        if let Some(p) = std::env::var_os("PGBACKREST_PG1_PATH").filter(|p| !p.is_empty()) {
            return Ok(Some(PathBuf::from(p)));
        }
        let text = std::fs::read_to_string(&self.config).map_err(|e| {
            ProviderError::restore(format!("cannot read {}: {e}", self.config.display()))
        })?;
        Ok(ini_value(&text, &self.stanza, "restore", "pg1-path").map(PathBuf::from))
    }

    /// Refuses `dir` (which may not exist yet) when it is, or lies inside, the source's data
    /// dir: the configured `pg1-path`. Symbolic links are followed as far as paths exist.
    pub(crate) fn refuse_source(&self, dir: &Path) -> Result<(), ProviderError> {
        let Some(source) = self.configured_pg1_path()? else {
            return Ok(());
        };
        let (source_real, dir_real) = (real_path(&source), real_path(dir));
        if dir_real.starts_with(&source_real) || dir.starts_with(&source) {
            return Err(ProviderError::restore(format!(
                "refusing to restore into {}: it is (or lies inside) the source's pg1-path {} in {}",
                dir.display(),
                source.display(),
                self.config.display()
            )));
        }
        Ok(())
    }

    /// Restores `label` into `data` (an empty dir of the run's, never the configured
    /// `pg1-path`), with recovery to `target` or, with `None`, to the end of the archive.
    /// pgBackRest writes the recovery settings (its own `archive-get` as `restore_command`).
    pub(crate) async fn restore(
        &self,
        label: &str,
        target: Option<DateTime<Utc>>,
        data: &Path,
    ) -> Result<(), ProviderError> {
        self.refuse_source(data)?;
        let mut args = vec!["restore".to_owned(), format!("--set={label}")];
        match target {
            Some(t) => args.extend([
                "--type=time".to_owned(),
                format!("--target={}", t.format("%Y-%m-%d %H:%M:%S%.6f+00")),
                "--target-action=promote".to_owned(),
            ]),
            None => args.push("--type=default".to_owned()),
        }
        args.extend([
            "--target-timeline=latest".to_owned(),
            "--archive-mode=off".to_owned(),
            format!("--pg1-path={}", data.display()),
        ]);
        let mut cmd = tokio::process::Command::from(self.command(&args));
        // A cancelled restore phase stops the copy.
        cmd.kill_on_drop(true);
        let out = cmd.output().await;
        self.checked("restore", out).map(|_| ())
    }
}

/// `path` with its longest existing ancestor resolved (symbolic links, `..`), the rest
/// appended as written.
fn real_path(path: &Path) -> PathBuf {
    let mut rest = Vec::new();
    let mut at = path;
    loop {
        if let Ok(real) = std::fs::canonicalize(at) {
            return rest.iter().rev().fold(real, |p, c| p.join(c));
        }
        match (at.parent(), at.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                at = parent;
            }
            _ => return path.to_path_buf(),
        }
    }
}

/// What a failed command said: its stderr, else its stdout.
fn said(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr);
    let text = if err.trim().is_empty() {
        String::from_utf8_lossy(&out.stdout)
    } else {
        err
    };
    text.trim().to_owned()
}

/// `program` on PATH.
fn find_program(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// A key of a pgBackRest configuration file, by its precedence: `[stanza:command]`,
/// `[stanza]`, `[global:command]`, `[global]`.
fn ini_value(text: &str, stanza: &str, command: &str, key: &str) -> Option<String> {
    let order = [
        format!("{stanza}:{command}"),
        stanza.to_owned(),
        format!("global:{command}"),
        "global".to_owned(),
    ];
    let mut found: Vec<(usize, String)> = Vec::new();
    let mut section = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_owned();
        } else if let Some((k, v)) = line.split_once('=')
            && k.trim() == key
            && let Some(rank) = order.iter().position(|s| *s == section)
        {
            found.push((rank, v.trim().to_owned()));
        }
    }
    found
        .into_iter()
        .min_by_key(|(rank, _)| *rank)
        .map(|(_, v)| v)
}

fn at(epoch: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(epoch, 0)
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Resolve's pgBackRest work: the newest backup set that ended before `wanted` (the newest
/// for `None`), the archive's range, and the newest transaction in it, read from the WAL
/// fetched with `archive-get`.
pub(crate) fn resolve(
    pg: &PgEnv,
    repo: &Repo,
    wanted: Option<DateTime<Utc>>,
) -> Result<Chosen, ProviderError> {
    let info = repo.info()?;
    let mut sets: Vec<(DateTime<Utc>, BackupSet)> = info
        .backup
        .iter()
        .filter(|b| b.error != Some(true))
        .filter_map(|b| Some((at(b.timestamp.stop)? + TimeDelta::seconds(1), b.clone())))
        .collect();
    sets.sort_by_key(|(end, _)| *end);
    let chosen = match wanted {
        None => sets.last(),
        Some(t) => sets.iter().rev().find(|(end, _)| *end <= t),
    };
    let Some((end, set)) = chosen.cloned() else {
        let oldest = sets
            .first()
            .map(|(end, s)| format!(" (the oldest, {}, ended by {})", s.label, rfc3339(*end)))
            .unwrap_or_else(|| " (it holds none)".to_owned());
        return Err(ProviderError::restore(format!(
            "no backup set of pgBackRest stanza \"{}\" ended before {}{oldest}: nothing to restore that point from",
            repo.stanza,
            wanted.map(rfc3339).unwrap_or_default()
        )));
    };
    let range = info
        .archive
        .iter()
        .find(|a| a.database.id == set.database.id)
        .and_then(|a| Some((a.id.as_str(), a.min.as_deref()?, a.max.as_deref()?)));
    let mut notes = vec![format!(
        "pgBackRest backup set {} ({}, stanza \"{}\", started {}, ended by {} — timestamp.stop rounded up to the second; WAL {} to {})",
        set.label,
        set.kind,
        repo.stanza,
        at(set.timestamp.start).map(rfc3339).unwrap_or_default(),
        rfc3339(end),
        set.archive.start.as_deref().unwrap_or("?"),
        set.archive.stop.as_deref().unwrap_or("?"),
    )];
    let Some((archive_id, min, max)) = range else {
        notes.push(format!(
            "the archive of stanza \"{}\" holds no WAL for the set's database: the latest restorable state is the set's end",
            repo.stanza
        ));
        return Ok(Chosen {
            label: set.label,
            end,
            newest: None,
            newest_segment: None,
            notes,
        });
    };
    notes.push(format!("archive {archive_id}: WAL {min} to {max}"));
    let max_seg = Segment::parse(max).ok_or_else(|| {
        ProviderError::restore(format!(
            "pgbackrest info names \"{max}\" as the archive's newest WAL: not a segment name"
        ))
    })?;
    let floor = set.archive.start.as_deref().and_then(Segment::parse);
    let (newest, size, how) = newest_in_archive(pg, repo, &set.label, archive_id, max_seg, floor)?;
    notes.push(format!("newest archived WAL read {how}"));
    Ok(Chosen {
        label: set.label,
        end,
        newest,
        newest_segment: Some((max_seg, Lsn(max_seg.number(size) * size))),
        notes,
    })
}

/// How resolve fetches archived segments.
#[derive(Debug, Clone, Copy)]
enum Fetch<'a> {
    /// `archive-get`, with a stand-in data dir holding the set's pg_control.
    ArchiveGet(&'a Path),
    /// `repo-ls` and `repo-get` in the archive `id` (e.g. `15-1`), decompressed here.
    Repo(&'a str),
}

/// Fetches the archive's segments from `max` back (not before `floor`, the set's first
/// segment) until one holds a transaction end. Returns it and the segment size.
fn newest_in_archive(
    pg: &PgEnv,
    repo: &Repo,
    label: &str,
    archive_id: &str,
    max: Segment,
    floor: Option<Segment>,
) -> Result<(Option<NewestTransaction>, u64, &'static str), ProviderError> {
    let tmp = tempfile::Builder::new()
        .prefix("restore-drill-pgbackrest-")
        .tempdir()
        .map_err(|e| ProviderError::harness(format!("cannot create a temp dir: {e}")))?;
    let (control, wal) = (tmp.path().join("pg_data"), tmp.path().join("wal"));
    std::fs::create_dir(&wal)
        .map_err(|e| ProviderError::harness(format!("cannot create {}: {e}", wal.display())))?;
    // archive-get picks the archive by the cluster's pg_control; a bundled set holds it in a
    // bundle, and then the segments are read straight from the archive's folder instead.
    let fetch = if repo.control_file(label, &control)? {
        Fetch::ArchiveGet(control.as_path())
    } else {
        Fetch::Repo(archive_id)
    };
    let how = match fetch {
        Fetch::ArchiveGet(_) => "with archive-get (beside the set's pg_control)",
        Fetch::Repo(_) => "with repo-get (the set is bundled: its pg_control is in a bundle)",
    };
    pg.give(tmp.path())
        .map_err(|e| ProviderError::harness(e.to_string()))?;
    let scratch = wal.as_path();
    let waldump = pg.bin_dir.join("pg_waldump");
    let mut size = 0u64;
    let mut seg = max;
    loop {
        let name = seg.name();
        let dest = scratch.join(&name);
        let fetched = match fetch {
            Fetch::ArchiveGet(pg_data) => repo.archive_get(&name, &dest, Some(pg_data))?,
            Fetch::Repo(id) => repo.repo_segment(id, &name, &dest)?,
        };
        if !fetched {
            if seg == max {
                return Err(ProviderError::restore(format!(
                    "pgBackRest cannot deliver {name}, the archive's newest segment (stanza \"{}\")",
                    repo.stanza
                )));
            }
            // A gap or a timeline switch below: what is above was read.
            return Ok((None, size, how));
        }
        if size == 0 {
            size = std::fs::metadata(&dest).map(|m| m.len()).map_err(|e| {
                ProviderError::restore(format!("cannot read {}: {e}", dest.display()))
            })?;
            if !size.is_power_of_two() {
                return Err(ProviderError::restore(format!(
                    "segment {name} from archive-get is {size} bytes: not a WAL segment"
                )));
            }
        }
        let found = newest_transaction_in_dir(&waldump, scratch).map_err(ProviderError::restore)?;
        if found.is_some() {
            return Ok((found, size, how));
        }
        let _ = std::fs::remove_file(&dest);
        let number = seg.number(size);
        let below_floor =
            floor.is_some_and(|f| f.timeline == seg.timeline && f.number(size) >= number);
        if number == 0 || below_floor {
            return Ok((None, size, how));
        }
        seg = Segment::at(seg.timeline, number - 1, size);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pg1_path_follows_pgbackrest_precedence() {
        let conf = "[global]\npg1-path=/g\n[global:restore]\npg1-path=/gr\n[main]\n# pg1-path=/no\npg1-path = /m\n[other]\npg1-path=/o\n";
        assert_eq!(
            ini_value(conf, "main", "restore", "pg1-path").as_deref(),
            Some("/m")
        );
        assert_eq!(
            ini_value(conf, "x", "restore", "pg1-path").as_deref(),
            Some("/gr")
        );
        assert_eq!(
            ini_value(conf, "x", "backup", "pg1-path").as_deref(),
            Some("/g")
        );
        assert_eq!(ini_value("[main]\n", "main", "restore", "pg1-path"), None);
    }

    #[test]
    fn a_dir_not_made_yet_is_resolved_through_links_above_it() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("real");
        std::fs::create_dir(&real).unwrap();
        std::os::unix::fs::symlink(&real, tmp.path().join("link")).unwrap();
        assert_eq!(
            real_path(&tmp.path().join("link/run/data")),
            std::fs::canonicalize(&real).unwrap().join("run/data")
        );
    }

    #[test]
    fn info_json_is_read() {
        let text = r#"[{"archive":[{"database":{"id":1,"repo-key":1},"id":"15-1","max":"000000010000000000000003","min":"000000010000000000000001"}],"backup":[{"archive":{"start":"000000010000000000000002","stop":"000000010000000000000002"},"backrest":{"format":5,"version":"2.45"},"database":{"id":1,"repo-key":1},"error":false,"info":{"delta":23000763,"repository":{"delta":3043604,"size":3043604},"size":23000763},"label":"20261130-150658F","lsn":{"start":"0/2000028","stop":"0/2000100"},"prior":null,"reference":null,"timestamp":{"start":1796051218,"stop":1796051221},"type":"full"}],"cipher":"none","db":[{"id":1,"repo-key":1,"system-id":7713981234726530889,"version":"15"}],"name":"main","repo":[{"cipher":"none","key":1,"status":{"code":0,"message":"ok"}}],"status":{"code":0,"lock":{"backup":{"held":false}},"message":"ok"}}]"#;
        let all: Vec<StanzaInfo> = serde_json::from_str(text).unwrap();
        assert_eq!(all[0].backup[0].label, "20261130-150658F");
        assert_eq!(all[0].backup[0].timestamp.stop, 1796051221);
        assert_eq!(
            all[0].archive[0].max.as_deref(),
            Some("000000010000000000000003")
        );
        assert_eq!(all[0].status.code, 0);
    }
}
