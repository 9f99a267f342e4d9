//! `restore-drill wal-fetch`: the `restore_command` of a `pg_pitr` restore. It copies one file
//! from the WAL archive to where PostgreSQL asks, decompressing it in-process (.gz, .lz4, .zst,
//! .bz2), checks a segment against its own header, and logs every request, so that the run can
//! tell "not in the archive" (the normal end of recovery) from "in the archive but unreadable"
//! (a failed restore, never a quiet one).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::compress::Compression;
use super::wal::check_segment_bytes;

/// Exit code for "no such file": PostgreSQL treats it as the end of the archive.
pub const FETCH_MISSING: u8 = 1;
/// Exit code for a file that is there but cannot be delivered. Above 125, so PostgreSQL
/// aborts recovery instead of taking it for the end of the archive.
pub const FETCH_FAILED: u8 = 200;

/// The name of the request log in a run's dir.
pub const FETCH_LOG: &str = "wal-fetch.log";

/// Serves one `restore_command` request; returns the exit code.
pub fn wal_fetch(archive: &Path, name: &str, dest: &Path, log: Option<&Path>) -> u8 {
    let (code, what, detail) = match fetch(archive, name, dest) {
        Ok(Some(from)) => (0, "ok", from),
        Ok(None) => (FETCH_MISSING, "missing", String::new()),
        Err(e) => (FETCH_FAILED, "error", e),
    };
    if code == FETCH_FAILED {
        eprintln!("restore-drill wal-fetch: cannot restore {name} from the archive: {detail}");
    }
    if let Some(log) = log {
        let line = format!(
            "{} {what} {name} {}\n",
            chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            detail.replace('\n', " ")
        );
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .and_then(|mut f| f.write_all(line.as_bytes()));
        if let Err(e) = written {
            eprintln!(
                "restore-drill wal-fetch: cannot log to {}: {e}",
                log.display()
            );
            return FETCH_FAILED;
        }
    }
    code
}

/// `Ok(Some(file))`: delivered from that file; `Ok(None)`: the archive does not hold it.
fn fetch(archive: &Path, name: &str, dest: &Path) -> Result<Option<String>, String> {
    if name.is_empty() || name.contains('/') || name.starts_with('.') {
        return Err(format!("\"{name}\" is not a WAL file name"));
    }
    let candidates = [
        Compression::None,
        Compression::Gzip,
        Compression::Lz4,
        Compression::Zstd,
        Compression::Bzip2,
    ];
    let found = candidates.iter().find_map(|c| {
        let p = archive.join(format!("{name}{}", c.suffix()));
        p.exists().then_some((p, *c))
    });
    let Some((path, kind)) = found else {
        // There, but in a form we cannot read: not the end of the archive.
        if let Some(other) = unknown_variant(archive, name) {
            return Err(format!(
                "the archive holds it only as {}, compressed in a way restore-drill cannot read",
                other.display()
            ));
        }
        return Ok(None);
    };
    let tmp = dest.with_file_name(format!(
        ".{}.restore-drill-tmp",
        dest.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    ));
    let written = if kind == Compression::None {
        // A plain file: a kernel-side copy, then its header and length checked.
        std::fs::copy(&path, &tmp)
            .map_err(|e| format!("{}: {e}", path.display()))
            .and_then(|_| check_plain(name, &tmp).map_err(|e| format!("{}: {e}", path.display())))
    } else {
        let mut data = Vec::with_capacity(16 << 20);
        kind.open(&path)
            .and_then(|mut r| r.read_to_end(&mut data))
            .map_err(|e| format!("{} ({}): {e}", path.display(), kind.name()))
            .and_then(|_| {
                check_segment_bytes(name, &data).map_err(|e| format!("{}: {e}", path.display()))
            })
            .and_then(|()| {
                std::fs::write(&tmp, &data)
                    .map_err(|e| format!("cannot write {}: {e}", tmp.display()))
            })
    };
    if let Err(e) = written.and_then(|()| {
        std::fs::rename(&tmp, dest).map_err(|e| format!("cannot write {}: {e}", dest.display()))
    }) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(Some(path.display().to_string()))
}

/// Checks a plain copy of a segment: its header (the first 40 bytes) and its length.
fn check_plain(name: &str, file: &Path) -> Result<(), String> {
    if super::wal::Segment::parse(name).is_none() {
        return Ok(());
    }
    let mut head = [0u8; 40];
    let mut f = std::fs::File::open(file).map_err(|e| e.to_string())?;
    let got = super::compress::read_full(&mut f, &mut head).map_err(|e| e.to_string())?;
    let len = f.metadata().map_err(|e| e.to_string())?.len();
    super::wal::check_segment_header(name, &head[..got], len)
}

fn unknown_variant(archive: &Path, name: &str) -> Option<PathBuf> {
    let prefix = format!("{name}.");
    std::fs::read_dir(archive)
        .ok()?
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
}

/// The requests in a fetch log that failed: `(file name, reason)`.
pub fn failures(log: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let mut f = l.splitn(4, ' ');
            let (_, what, name, detail) = (f.next()?, f.next()?, f.next()?, f.next()?);
            (what == "error").then(|| (name.to_owned(), detail.to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn found_missing_and_failed_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("wal");
        std::fs::create_dir(&archive).unwrap();
        let log = dir.path().join(FETCH_LOG);
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(b"1\t0/3000000\tno recovery target specified\n")
            .unwrap();
        std::fs::write(archive.join("00000002.history.gz"), e.finish().unwrap()).unwrap();
        let dest = dir.path().join("RECOVERYHISTORY");
        assert_eq!(
            wal_fetch(&archive, "00000002.history", &dest, Some(&log)),
            0
        );
        assert!(
            std::fs::read_to_string(&dest)
                .unwrap()
                .starts_with("1\t0/3000000")
        );

        let seg = "000000010000000000000002";
        assert_eq!(wal_fetch(&archive, seg, &dest, Some(&log)), FETCH_MISSING);
        // Damaged: a gzip stream cut short.
        std::fs::write(archive.join(format!("{seg}.gz")), &b"\x1f\x8b\x08\x00"[..]).unwrap();
        assert_eq!(wal_fetch(&archive, seg, &dest, Some(&log)), FETCH_FAILED);
        std::fs::remove_file(archive.join(format!("{seg}.gz"))).unwrap();
        std::fs::write(archive.join(format!("{seg}.xz")), b"x").unwrap();
        assert_eq!(wal_fetch(&archive, seg, &dest, Some(&log)), FETCH_FAILED);
        assert_eq!(
            wal_fetch(&archive, "../etc", &dest, Some(&log)),
            FETCH_FAILED
        );

        let failed = failures(&log);
        assert_eq!(failed.len(), 3, "{failed:?}");
        assert_eq!(failed[0].0, seg);
        assert!(failed[1].1.contains("cannot read"), "{failed:?}");
    }
}
