//! `restore-drill sweep --local-work-dir DIR`: removes the data dirs of local restores whose
//! run was killed outright. Each restore writes `restore-drill.json` (run id, restore, the
//! PID of the restore-drill process) into its run dir when it creates it; a run dir is stale
//! when that process is gone and no PostgreSQL server runs on its data dir. A dir without the
//! marker is never touched, nor is one whose server still runs (a `--keep` target).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub const MARKER: &str = "restore-drill.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marker {
    pub run_id: String,
    pub restore: String,
    /// The restore-drill process that made the dir.
    pub pid: u32,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// One run dir found, and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundDir {
    pub dir: PathBuf,
    pub marker: Marker,
    /// Why it stays, when it does.
    pub kept_because: Option<String>,
    /// Set when removing it failed.
    pub error: Option<String>,
}

fn alive(pid: u32) -> bool {
    // Signal 0 checks existence without touching the process.
    pid > 0 && unsafe { libc::kill(pid as i32, 0) } == 0
}

/// The postmaster's PID from `data/postmaster.pid`, if the file is there.
fn postmaster(run_dir: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(run_dir.join("data/postmaster.pid")).ok()?;
    text.lines().next()?.trim().parse().ok()
}

/// Finds marked run dirs under `dir` and removes the stale ones (all of `run_id`'s, when
/// given, once their processes are gone).
pub fn sweep_local(
    dir: &Path,
    run_id: Option<&str>,
    dry_run: bool,
) -> Result<Vec<FoundDir>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut found = Vec::new();
    for e in entries.flatten() {
        let path = e.path();
        let is_run = path.is_dir()
            && path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("restore-drill-"));
        if !is_run {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(path.join(MARKER)) else {
            continue;
        };
        let Ok(marker) = serde_json::from_str::<Marker>(&text) else {
            continue;
        };
        if run_id.is_some_and(|id| !id.eq_ignore_ascii_case(&marker.run_id)) {
            continue;
        }
        let kept_because = if alive(marker.pid) && marker.pid != std::process::id() {
            Some(format!(
                "its restore-drill process {} is still running",
                marker.pid
            ))
        } else {
            postmaster(&path)
                .filter(|p| alive(*p))
                .map(|pm| format!("a PostgreSQL server (PID {pm}) still runs on it: stop it first"))
        };
        let mut f = FoundDir {
            dir: path.clone(),
            marker,
            kept_because,
            error: None,
        };
        if f.kept_because.is_none() && !dry_run {
            f.error = std::fs::remove_dir_all(&path).err().map(|e| e.to_string());
        }
        found.push(f);
    }
    found.sort_by(|a, b| a.dir.cmp(&b.dir));
    Ok(found)
}
