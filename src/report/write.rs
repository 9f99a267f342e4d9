//! Writing reports so that a reader never sees half a file: write a temp file beside the
//! target, fsync it, rename it over the target, fsync the folder.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{RunReport, render_html, render_markdown, render_phases_csv};

/// `root/<drill>/<run_id>/`.
pub fn run_dir(root: &Path, report: &RunReport) -> PathBuf {
    root.join(&report.drill.name).join(&report.run_id)
}

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Writes `report.json`, `report.md`, `report.html` and `phases.csv` under
/// `root/<drill>/<run_id>/`; returns the folder and the SHA-256 of `report.json` (which the
/// history records, so an edited report is detected).
pub fn write_reports(root: &Path, report: &RunReport) -> std::io::Result<(PathBuf, String)> {
    let dir = run_dir(root, report);
    std::fs::create_dir_all(&dir)?;
    let json = serde_json::to_vec_pretty(report).map_err(std::io::Error::other)?;
    write_atomic(&dir.join("report.json"), &json)?;
    write_atomic(&dir.join("report.md"), render_markdown(report).as_bytes())?;
    write_atomic(&dir.join("report.html"), render_html(report).as_bytes())?;
    write_atomic(
        &dir.join("phases.csv"),
        render_phases_csv(report).as_bytes(),
    )?;
    Ok((dir, crate::drill::sha256_hex(&json)))
}
