//! Finding drill files and reading one with the tiers that apply to it.

use std::path::{Path, PathBuf};

use super::diag::{Diagnostic, Severity};
use super::tier::{TIERS_FILE, TierCatalog};
use super::validate::{Checked, check_drill};

/// Why a path given on the command line yields no drill files.
#[derive(Debug, thiserror::Error)]
pub enum FindError {
    #[error("{0}: no such file or directory")]
    Missing(PathBuf),
    #[error("{0}: no drill files (*.toml) in this directory")]
    Empty(PathBuf),
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The drill files named by `paths`: files as given, directories searched recursively for
/// `*.toml` (except `tiers.toml` and hidden entries), sorted, each once.
pub fn find_drill_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, FindError> {
    let mut out = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => FindError::Missing(path.clone()),
            _ => FindError::Io {
                path: path.clone(),
                source: e,
            },
        })?;
        if meta.is_dir() {
            let before = out.len();
            walk(path, &mut out)?;
            if out.len() == before {
                return Err(FindError::Empty(path.clone()));
            }
        } else {
            out.push(path.clone());
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|p| seen.insert(p.clone()));
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), FindError> {
    let io = |source| FindError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort();
    for path in entries {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            walk(&path, out)?;
        } else if name.ends_with(".toml") && name != TIERS_FILE {
            out.push(path);
        }
    }
    Ok(())
}

/// Reads and checks one drill file, with the tiers of `tiers.toml` in its folder when there
/// is one.
pub fn load_drill(path: &Path) -> Checked {
    let failed = |message: String| Checked {
        plan: None,
        diagnostics: vec![Diagnostic {
            severity: Severity::Error,
            file: path.display().to_string(),
            line: 1,
            column: 1,
            context: String::new(),
            message,
        }],
    };
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => return failed(format!("cannot read the drill file: {e}")),
    };
    let Ok(text) = String::from_utf8(bytes) else {
        return failed("not valid TOML: the file is not UTF-8 text".to_owned());
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tiers = match TierCatalog::for_dir(dir) {
        Ok(t) => t,
        Err(diagnostics) => {
            return Checked {
                plan: None,
                diagnostics,
            };
        }
    };
    check_drill(path, &text, &tiers)
}

/// Reads and checks several drill files, and refuses drills that share a name: one name is
/// one history, so a failing copy could hide behind a passing one in `due` and the reports.
/// Each file of a clash gets an error naming the other.
pub fn load_drills(files: &[PathBuf]) -> Vec<(PathBuf, Checked)> {
    let mut loaded: Vec<(PathBuf, Checked)> =
        files.iter().map(|f| (f.clone(), load_drill(f))).collect();
    let mut by_name: std::collections::BTreeMap<String, Vec<usize>> = Default::default();
    for (i, (_, c)) in loaded.iter().enumerate() {
        if let Some(p) = &c.plan {
            by_name.entry(p.name.clone()).or_default().push(i);
        }
    }
    for (name, at) in by_name.into_iter().filter(|(_, at)| at.len() > 1) {
        for &i in &at {
            let others: Vec<String> = at
                .iter()
                .filter(|&&j| j != i)
                .map(|&j| loaded[j].0.display().to_string())
                .collect();
            let (file, checked) = &mut loaded[i];
            let line = std::fs::read_to_string(&*file)
                .ok()
                .and_then(|t| {
                    t.lines().position(|l| {
                        l.trim_start()
                            .strip_prefix("name")
                            .is_some_and(|r| r.trim_start().starts_with('='))
                    })
                })
                .map_or(1, |n| n + 1);
            checked.plan = None;
            checked.diagnostics.push(Diagnostic {
                severity: Severity::Error,
                file: file.display().to_string(),
                line,
                column: 1,
                context: String::new(),
                message: format!(
                    "key \"name\": drill name \"{name}\" is also the name of {}: drills that share a name share one history, so one could hide the other's failures; give each drill its own name",
                    others.join(", ")
                ),
            });
        }
    }
    loaded
}
