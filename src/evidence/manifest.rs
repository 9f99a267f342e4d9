//! `MANIFEST.sha256`: the SHA-256 of every file in a bundle, in the format `sha256sum`
//! writes (`<64 hex>  <path>`, one per line, sorted by path), so `sha256sum -c` can check a
//! bundle without this tool. It covers every file except itself and its signature.
//!
//! Reading a bundle, from a directory or a `.tar.gz`, hashes every regular file as it
//! streams by and keeps the content of only the few files verification reads.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::hex;

pub const MANIFEST: &str = "MANIFEST.sha256";
pub const SIGNATURE: &str = "MANIFEST.sha256.sig";

/// The most of one file's content kept in memory (the manifest, history, bundle.json).
const MAX_KEPT: u64 = 256 << 20;

/// The manifest's text for `files` (path → SHA-256), sorted by path.
pub fn render_manifest(files: &BTreeMap<String, String>) -> String {
    let mut s = String::with_capacity(files.len() * 120);
    for (path, sha) in files {
        s.push_str(sha);
        s.push_str("  ");
        s.push_str(path);
        s.push('\n');
    }
    s
}

/// Reads a manifest; returns its entries and what is wrong with its lines.
pub fn parse_manifest(text: &str) -> (BTreeMap<String, String>, Vec<String>) {
    let mut files = BTreeMap::new();
    let mut problems = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let entry = line
            .get(..64)
            .filter(|h| hex::is_sha256(h))
            .zip(line.get(64..66).filter(|sep| *sep == "  " || *sep == " *"))
            .and_then(|(h, _)| line.get(66..).map(|p| (h, p)))
            .filter(|(_, p)| is_bundle_path(p));
        match entry {
            Some((hash, path)) => {
                if files.insert(path.to_owned(), hash.to_owned()).is_some() {
                    problems.push(format!("{MANIFEST} line {n}: {path} is listed twice"));
                }
            }
            None => problems.push(format!(
                "{MANIFEST} line {n}: not \"<sha256>  <relative path>\""
            )),
        }
    }
    (files, problems)
}

/// A relative path of `/`-separated safe names.
pub(crate) fn is_bundle_path(p: &str) -> bool {
    !p.is_empty() && p.split('/').all(is_safe_name)
}

/// A name that is safe as one path component in a bundle and in a manifest line: not empty,
/// not `.` or `..`, no slash, backslash or control character.
pub(crate) fn is_safe_name(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && !s.chars().any(|c| c == '/' || c == '\\' || c.is_control())
}

/// A bundle as read from disk.
#[derive(Debug, Default)]
pub struct Tree {
    /// `directory` or `tar.gz`.
    pub kind: &'static str,
    /// Every regular file: bundle path → SHA-256.
    pub hashes: BTreeMap<String, String>,
    /// The content of the files asked for, when present.
    pub contents: BTreeMap<String, Vec<u8>>,
    /// Entries that cannot be part of a bundle (links, devices, duplicates, odd names).
    pub problems: Vec<String>,
}

/// Reads a bundle directory or `.tar.gz`, keeping the content of the files in `keep` (an
/// entry `*/NAME` keeps every file called NAME in any folder).
pub fn read_tree(path: &Path, keep: &[&str]) -> io::Result<Tree> {
    let meta = std::fs::metadata(path)?;
    let mut tree = Tree::default();
    if meta.is_dir() {
        tree.kind = "directory";
        walk(path, "", keep, &mut tree)?;
    } else {
        tree.kind = "tar.gz";
        read_tar(path, keep, &mut tree)?;
    }
    Ok(tree)
}

fn walk(dir: &Path, rel: &str, keep: &[&str], tree: &mut Tree) -> io::Result<()> {
    let mut entries = std::fs::read_dir(dir)?.collect::<Result<Vec<_>, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name();
        let name = name.to_string_lossy();
        let path = if rel.is_empty() {
            name.to_string()
        } else {
            format!("{rel}/{name}")
        };
        // `file_type` does not follow symbolic links.
        let ft = e.file_type()?;
        if !is_safe_name(&name) {
            tree.problems.push(format!(
                "added: {} (a name no bundle holds)",
                path.escape_debug()
            ));
        } else if ft.is_dir() {
            walk(&e.path(), &path, keep, tree)?;
        } else if ft.is_file() {
            let file = std::fs::File::open(e.path())?;
            add_file(tree, path, file, keep)?;
        } else {
            let what = if ft.is_symlink() {
                "a symbolic link"
            } else {
                "not a regular file"
            };
            tree.problems.push(format!("added: {path} ({what})"));
        }
    }
    Ok(())
}

fn read_tar(path: &Path, keep: &[&str], tree: &mut Tree) -> io::Result<()> {
    let file = std::fs::File::open(path)?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(io::BufReader::new(file)));
    let mut root: Option<String> = None;
    for entry in archive.entries()? {
        let entry = entry?;
        let name = entry.path()?.to_string_lossy().into_owned();
        let name = name.trim_end_matches('/').to_owned();
        let mut parts = name.splitn(2, '/');
        let top = parts.next().unwrap_or_default().to_owned();
        let rest = parts.next().map(str::to_owned);
        let root = root.get_or_insert_with(|| top.clone());
        let kind = entry.header().entry_type();
        if *root != top || !is_safe_name(&top) {
            tree.problems.push(format!(
                "added: {} (outside the bundle folder {root}/)",
                name.escape_debug()
            ));
            continue;
        }
        let Some(rel) = rest else {
            // The bundle folder itself.
            if !kind.is_dir() {
                tree.problems.push(format!("added: {top} (not a folder)"));
            }
            continue;
        };
        if !is_bundle_path(&rel) {
            tree.problems.push(format!(
                "added: {} (a name no bundle holds)",
                rel.escape_debug()
            ));
        } else if kind.is_dir() {
            continue;
        } else if kind.is_file() {
            if tree.hashes.contains_key(&rel) {
                // An extractor would keep the last copy: the archive says two things.
                tree.problems
                    .push(format!("added: {rel} (a second copy in the archive)"));
                continue;
            }
            add_file(tree, rel, entry, keep)?;
        } else {
            let what = if kind.is_symlink() || kind.is_hard_link() {
                "a link"
            } else {
                "not a regular file"
            };
            tree.problems.push(format!("added: {rel} ({what})"));
        }
    }
    Ok(())
}

/// Hashes one file as it streams; keeps its content when asked.
fn add_file(tree: &mut Tree, path: String, mut r: impl Read, keep: &[&str]) -> io::Result<()> {
    let mut hasher = Sha256::new();
    let wanted = keep.iter().any(|k| match k.strip_prefix("*/") {
        Some(name) => path.ends_with(&format!("/{name}")),
        None => *k == path,
    });
    let mut kept = wanted.then(Vec::new);
    let mut buf = vec![0u8; 64 << 10];
    let mut total = 0u64;
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
        if let Some(k) = kept.as_mut() {
            if total > MAX_KEPT {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{path} is larger than {} MiB", MAX_KEPT >> 20),
                ));
            }
            k.extend_from_slice(&buf[..n]);
        }
    }
    tree.hashes
        .insert(path.clone(), hex::encode(&hasher.finalize()));
    if let Some(k) = kept {
        tree.contents.insert(path, k);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_round_trip_and_bad_lines() {
        let mut files = BTreeMap::new();
        files.insert(
            "runs/a/r1/report.json".to_owned(),
            crate::drill::sha256_hex(b"a"),
        );
        files.insert("index.md".to_owned(), crate::drill::sha256_hex(b"b"));
        let text = render_manifest(&files);
        assert!(text.starts_with(&format!("{}  index.md\n", crate::drill::sha256_hex(b"b"))));
        assert_eq!(parse_manifest(&text), (files, Vec::new()));
        let bad = format!(
            "{}  ../etc/passwd\nnonsense\n",
            crate::drill::sha256_hex(b"x")
        );
        let (files, problems) = parse_manifest(&bad);
        assert!(files.is_empty());
        assert_eq!(
            problems,
            [
                "MANIFEST.sha256 line 1: not \"<sha256>  <relative path>\"",
                "MANIFEST.sha256 line 2: not \"<sha256>  <relative path>\""
            ]
        );
    }
}
