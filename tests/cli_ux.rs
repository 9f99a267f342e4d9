//! Issue 19, the details a daily user notices: completions and a man page from the command
//! definitions, one time parser for every command, the demo's own reports folder, logs
//! without colours in files, the credentials error printed whole, and Markdown links that
//! resolve.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{restore_drill, root};

#[test]
fn completions_for_bash_zsh_and_fish_name_every_command() {
    for shell in ["bash", "zsh", "fish"] {
        let run = restore_drill(&["completions", shell]);
        assert_eq!(run.code, 0, "{shell}: {}", run.stderr);
        for word in [
            "restore-drill",
            "validate",
            "evidence",
            "completions",
            "since",
        ] {
            assert!(run.stdout.contains(word), "{shell} completion lacks {word}");
        }
    }
    let bad = restore_drill(&["completions", "tcsh"]);
    assert_eq!(bad.code, 2, "an unknown shell is a usage error");
}

#[test]
fn the_man_page_is_roff_with_every_command() {
    let run = restore_drill(&["man"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.starts_with(".ie") || run.stdout.contains(".TH restore-drill"));
    for word in ["validate", "report", "demo", "Exit codes"] {
        assert!(run.stdout.contains(word), "the man page lacks {word}");
    }
}

#[test]
fn report_takes_a_date_like_evidence_does() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().to_str().unwrap();
    let run = restore_drill(&["report", "--reports", reports, "--since", "2026-01-01"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("since 2026-01-01T00:00:00Z"),
        "{}",
        run.stdout
    );
    let bad = restore_drill(&["report", "--reports", reports, "--since", "2026-13-01"]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("expected a date (2026-01-01"),
        "{}",
        bad.stderr
    );
}

#[test]
fn the_demo_writes_to_its_own_folder_by_default() {
    let run = restore_drill(&["demo", "--help"]);
    assert_eq!(run.code, 0);
    assert!(
        run.stdout.contains("[default: reports-demo]"),
        "{}",
        run.stdout
    );
}

/// With no credentials anywhere, the error names every provider of the chain, on stderr as
/// in the report; and a trace log written to a pipe carries no ANSI colours.
#[test]
fn the_credentials_error_is_whole_and_a_trace_log_is_plain() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_restore-drill"))
        .args([
            "run",
            "drills/invoices-s3.toml",
            "--format",
            "none",
            "--reports",
        ])
        .arg(dir.path())
        .current_dir(root())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("RUST_LOG", "trace")
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(30), "{stderr}");
    assert!(stderr.contains("TRACE"), "a trace log: {stderr}");
    assert!(!stderr.contains('\x1b'), "no colours in a file or pipe");
    for provider in [
        "Attempted:",
        "Environment:",
        "Profile:",
        "Ec2InstanceMetadata:",
    ] {
        assert!(
            stderr.contains(provider),
            "{provider} missing from: {stderr}"
        );
    }
}

/// Every relative link in every Markdown file of the repository resolves, and every
/// repository path the README names in backticks exists.
#[test]
fn every_relative_link_in_the_markdown_resolves() {
    let mut files = Vec::new();
    markdown_files(&root(), &mut files);
    assert!(files.len() >= 4, "{files:?}");
    let link = regex::Regex::new(r"\]\(([^)\s]+)\)").unwrap();
    let mut broken = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let dir = file.parent().unwrap();
        for m in link.captures_iter(&text) {
            let target = &m[1];
            if target.contains("://") || target.starts_with('#') || target.starts_with("mailto:") {
                continue;
            }
            let path = target.split('#').next().unwrap_or_default();
            if !dir.join(path).exists() {
                broken.push(format!("{}: {target}", file.display()));
            }
        }
    }
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let named =
        regex::Regex::new(r"`((?:src|tests|ci|docs|drills|examples)/[A-Za-z0-9_./-]+)`").unwrap();
    for m in named.captures_iter(&readme) {
        if !root().join(&m[1]).exists() {
            broken.push(format!("README.md names `{}`", &m[1]));
        }
    }
    assert!(broken.is_empty(), "broken: {broken:#?}");
    assert!(readme.contains("](docs/ARCHITECTURE.md)"));
}

fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with('.') || ["target", "reports", "reports-demo"].contains(&name.as_str()) {
            continue;
        }
        if path.is_dir() {
            markdown_files(&path, out);
        } else if name.ends_with(".md") {
            out.push(path);
        }
    }
}
