//! The shared harness of the integration tests: run the built binary from the repository root
//! and capture what it says.

#![allow(dead_code)]

pub mod moto;
pub mod pg;
pub mod proxy;
pub mod rds;
pub mod s3;
pub mod s3_proxy;
pub mod seaweed;
pub mod tls_proxy;

use std::path::{Path, PathBuf};
use std::process::Command;

/// What one run of `restore-drill` did.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// The repository root, where `drills/` and `tests/fixtures/` are.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `restore-drill ARGS` in the repository root.
pub fn restore_drill(args: &[&str]) -> Run {
    restore_drill_in(&root(), args)
}

pub fn restore_drill_in(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_restore-drill"))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .output()
        .expect("the restore-drill binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The example drill files shipped in `drills/`.
pub fn example_drills() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(root().join("drills"))
        .expect("drills/ exists")
        .map(|e| {
            e.expect("readable entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n.ends_with(".toml") && n != "tiers.toml")
        .map(|n| format!("drills/{n}"))
        .collect();
    files.sort();
    files
}
