//! WAL segment names and the continuity of a WAL archive. A gap or a truncated segment makes
//! recovery stop early and silently lose data; it is caught here, before anything restores.

use std::path::Path;
use std::time::SystemTime;

use chrono::{DateTime, Utc};

/// A WAL segment: timeline, log id and segment number, as in `000000010000000000000002`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Segment {
    pub timeline: u32,
    pub log: u32,
    pub seg: u32,
}

impl Segment {
    pub fn parse(name: &str) -> Option<Self> {
        if name.len() != 24 || !name.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        let part = |r: std::ops::Range<usize>| u32::from_str_radix(&name[r], 16).ok();
        Some(Segment {
            timeline: part(0..8)?,
            log: part(8..16)?,
            seg: part(16..24)?,
        })
    }

    pub fn name(&self) -> String {
        format!("{:08X}{:08X}{:08X}", self.timeline, self.log, self.seg)
    }

    /// A linear position, for segments of `size` bytes.
    fn position(&self, size: u64) -> u64 {
        let per_log = (1u64 << 32) / size.max(1);
        u64::from(self.log) * per_log + u64::from(self.seg)
    }

    fn at(timeline: u32, position: u64, size: u64) -> Self {
        let per_log = (1u64 << 32) / size.max(1);
        Segment {
            timeline,
            log: (position / per_log) as u32,
            seg: (position % per_log) as u32,
        }
    }
}

/// What the archive holds after a base backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveInfo {
    pub newest: Option<Segment>,
    /// When the newest segment was archived: nothing committed later can be restored.
    pub latest_restorable: Option<DateTime<Utc>>,
    pub segments: usize,
}

/// Checks that the archive holds an unbroken run of full-size segments from the first one at
/// or after `from` to the newest, on `from`'s timeline.
pub fn check_archive(dir: &Path, from: Segment) -> Result<ArchiveInfo, String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read the WAL archive {}: {e}", dir.display()))?;
    let mut found: Vec<(Segment, u64, SystemTime)> = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(seg) = name.to_str().and_then(Segment::parse) else {
            continue;
        };
        if seg.timeline != from.timeline || seg < from {
            continue;
        }
        let meta = entry
            .metadata()
            .map_err(|e| format!("cannot read {}: {e}", entry.path().display()))?;
        found.push((
            seg,
            meta.len(),
            meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
        ));
    }
    found.sort_by_key(|(s, _, _)| *s);
    let Some(&(first, size, _)) = found.first() else {
        return Ok(ArchiveInfo {
            newest: None,
            latest_restorable: None,
            segments: 0,
        });
    };
    if size == 0 || !size.is_power_of_two() {
        return Err(format!(
            "WAL archive {}: segment {} has {size} bytes, not a WAL segment size; the archive is damaged",
            dir.display(),
            first.name()
        ));
    }
    for (expected, (seg, len, _)) in (first.position(size)..).zip(found.iter()) {
        let pos = seg.position(size);
        if pos != expected {
            return Err(format!(
                "WAL archive {} is missing segment {} (it jumps to {}): recovery would stop at the gap and lose everything after it",
                dir.display(),
                Segment::at(first.timeline, expected, size).name(),
                seg.name()
            ));
        }
        if *len != size {
            return Err(format!(
                "WAL archive {}: segment {} has {len} bytes, the others {size}: it is truncated or damaged, and recovery would stop there",
                dir.display(),
                seg.name()
            ));
        }
    }
    let newest_time = found
        .iter()
        .map(|(_, _, t)| *t)
        .max()
        .map(DateTime::<Utc>::from);
    Ok(ArchiveInfo {
        newest: found.last().map(|(s, _, _)| *s),
        latest_restorable: newest_time,
        segments: found.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let s = Segment::parse("000000010000000A000000FF").unwrap();
        assert_eq!((s.timeline, s.log, s.seg), (1, 10, 255));
        assert_eq!(s.name(), "000000010000000A000000FF");
        assert!(Segment::parse("00000001000000000000000").is_none());
        assert!(Segment::parse("00000002.history").is_none());
    }

    #[test]
    fn positions_cross_log_ids() {
        let size = 16 * 1024 * 1024;
        let last = Segment::parse("0000000100000000000000FF").unwrap();
        let next = Segment::at(1, last.position(size) + 1, size);
        assert_eq!(next.name(), "000000010000000100000000");
    }

    #[test]
    fn gaps_and_truncation_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let size = 16 * 1024 * 1024;
        for n in [2, 3, 5] {
            let f =
                std::fs::File::create(dir.path().join(format!("0000000100000000000000{n:02X}")))
                    .unwrap();
            f.set_len(size).unwrap();
        }
        let from = Segment::parse("000000010000000000000002").unwrap();
        let err = check_archive(dir.path(), from).unwrap_err();
        assert!(
            err.contains(
                "is missing segment 000000010000000000000004 (it jumps to 000000010000000000000005)"
            ),
            "{err}"
        );

        std::fs::File::create(dir.path().join("000000010000000000000004"))
            .unwrap()
            .set_len(1000)
            .unwrap();
        let err = check_archive(dir.path(), from).unwrap_err();
        assert!(
            err.contains("segment 000000010000000000000004 has 1000 bytes"),
            "{err}"
        );

        std::fs::File::create(dir.path().join("000000010000000000000004"))
            .unwrap()
            .set_len(size)
            .unwrap();
        let ok = check_archive(dir.path(), from).unwrap();
        assert_eq!(ok.segments, 4);
        assert_eq!(ok.newest.unwrap().name(), "000000010000000000000005");
    }
}
