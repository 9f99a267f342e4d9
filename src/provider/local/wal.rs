//! A WAL archive as PostgreSQL will read it: segment and history file names (plain or
//! compressed), timelines and their switch points, the path of timelines a restore from one
//! base backup follows, and the continuity of that path. A gap, a truncated segment or a
//! missing history file makes recovery stop early and silently lose data; each is caught
//! here, before anything restores, and named.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use super::compress::{Compression, read_full};

/// A WAL segment file name: timeline, log id and segment number, as in
/// `000000010000000000000002`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Segment {
    pub timeline: u32,
    pub log: u32,
    pub seg: u32,
}

impl Segment {
    pub fn parse(name: &str) -> Option<Self> {
        if name.len() != 24 || !name.bytes().all(|c| c.is_ascii_hexdigit()) {
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

    /// The segment number over all log ids, for segments of `size` bytes.
    pub fn number(&self, size: u64) -> u64 {
        let per_log = (1u64 << 32) / size.max(1);
        u64::from(self.log) * per_log + u64::from(self.seg)
    }

    /// The segment `number` of `timeline`.
    pub fn at(timeline: u32, number: u64, size: u64) -> Self {
        let per_log = (1u64 << 32) / size.max(1);
        Segment {
            timeline,
            log: (number / per_log) as u32,
            seg: (number % per_log) as u32,
        }
    }
}

/// A WAL position, printed as PostgreSQL prints it (`0/3000028`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Lsn(pub u64);

impl Lsn {
    pub fn parse(text: &str) -> Option<Self> {
        let (hi, lo) = text.trim().split_once('/')?;
        let hi = u64::from_str_radix(hi, 16).ok()?;
        let lo = u64::from_str_radix(lo, 16).ok()?;
        (hi <= u64::from(u32::MAX) && lo <= u64::from(u32::MAX)).then_some(Lsn((hi << 32) | lo))
    }

    /// The segment number holding this position.
    pub fn segment_number(self, size: u64) -> u64 {
        self.0 / size.max(1)
    }
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xffff_ffff)
    }
}

/// One file in the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveFile {
    pub path: PathBuf,
    pub compression: Compression,
}

impl ArchiveFile {
    pub fn name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

/// A timeline's history: the switch points of its ancestors, oldest first, as
/// `0000000N.history` lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct History {
    /// (ancestor timeline, the position at which it ended and its child began).
    pub ancestors: Vec<(u32, Lsn)>,
}

impl History {
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut ancestors = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut fields = line.split_whitespace();
            let tli = fields.next().and_then(|t| t.parse::<u32>().ok());
            let lsn = fields.next().and_then(Lsn::parse);
            match (tli, lsn) {
                (Some(t), Some(l)) => ancestors.push((t, l)),
                _ => {
                    return Err(format!(
                        "line {}: \"{line}\" is not \"TIMELINE\tX/Y\"",
                        n + 1
                    ));
                }
            }
        }
        Ok(History { ancestors })
    }
}

/// What a directory of archived WAL holds.
#[derive(Debug, Default)]
pub struct Archive {
    pub dir: PathBuf,
    /// Segment files by name; a segment may be there more than once (plain and compressed).
    pub segments: BTreeMap<Segment, Vec<ArchiveFile>>,
    /// Segment files compressed in a way this tool cannot read, with their ending.
    pub unknown: BTreeMap<Segment, (PathBuf, String)>,
    /// `.partial` segments (the end of a timeline a standby was promoted from).
    pub partial: BTreeSet<Segment>,
    /// `0000000N.history` files by timeline.
    pub histories: BTreeMap<u32, ArchiveFile>,
    /// Backup history files (`<segment>.<offset>.backup`) by name stem.
    pub backup_files: Vec<ArchiveFile>,
}

fn is_history(stem: &str) -> bool {
    stem.len() == 16
        && stem.ends_with(".history")
        && stem[..8].bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_backup_file(stem: &str) -> bool {
    let b = stem.as_bytes();
    stem.len() == 40
        && stem.ends_with(".backup")
        && b[24] == b'.'
        && b[..24].iter().chain(&b[25..33]).all(u8::is_ascii_hexdigit)
}

fn is_partial(stem: &str) -> bool {
    stem.strip_suffix(".partial")
        .is_some_and(|s| Segment::parse(s).is_some())
}

impl Archive {
    /// Lists `dir`: every name PostgreSQL's archiving, `pg_receivewal` or an archive script
    /// writes, with its compression; other files are ignored.
    pub fn scan(dir: &Path) -> Result<Self, String> {
        let entries = std::fs::read_dir(dir)
            .map_err(|e| format!("cannot read the WAL archive {}: {e}", dir.display()))?;
        let mut a = Archive {
            dir: dir.to_path_buf(),
            ..Archive::default()
        };
        for entry in entries {
            let entry =
                entry.map_err(|e| format!("cannot read the WAL archive {}: {e}", dir.display()))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                continue;
            };
            let path = entry.path();
            let known = |stem: &str| {
                Segment::parse(stem).is_some()
                    || is_history(stem)
                    || is_backup_file(stem)
                    || is_partial(stem)
            };
            match Compression::split(name, known) {
                None => {}
                Some(Err(ending)) => {
                    let stem = &name[..name.len() - ending.len()];
                    if let Some(seg) = Segment::parse(stem) {
                        a.unknown.insert(seg, (path, ending.to_owned()));
                    }
                }
                Some(Ok((stem, compression))) => {
                    let file = ArchiveFile { path, compression };
                    if let Some(seg) = Segment::parse(stem) {
                        a.segments.entry(seg).or_default().push(file);
                    } else if is_history(stem) {
                        if let Ok(tli) = u32::from_str_radix(&stem[..8], 16) {
                            a.histories.insert(tli, file);
                        }
                    } else if is_backup_file(stem) {
                        a.backup_files.push(file);
                    } else if let Some(seg) = stem.strip_suffix(".partial").and_then(Segment::parse)
                    {
                        a.partial.insert(seg);
                    }
                }
            }
        }
        // Plain first: it needs no decompression.
        for files in a.segments.values_mut() {
            files.sort_by_key(|f| f.compression);
        }
        Ok(a)
    }

    /// Reads a whole (small) file, decompressing it.
    pub fn read_text(file: &ArchiveFile) -> Result<String, String> {
        let mut text = String::new();
        file.compression
            .open(&file.path)
            .and_then(|mut r| std::io::Read::read_to_string(&mut r, &mut text))
            .map_err(|e| format!("cannot read {}: {e}", file.path.display()))?;
        Ok(text)
    }

    /// The history of `timeline`: empty for timeline 1, else from its history file.
    pub fn history(&self, timeline: u32) -> Result<Option<History>, String> {
        if timeline == 1 {
            return Ok(Some(History {
                ancestors: Vec::new(),
            }));
        }
        let Some(file) = self.histories.get(&timeline) else {
            return Ok(None);
        };
        let text = Self::read_text(file)?;
        History::parse(&text)
            .map(Some)
            .map_err(|e| format!("{} is damaged: {e}", file.path.display()))
    }
}

/// One timeline on the path a restore follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leg {
    pub timeline: u32,
    /// Where it begins (the backup's start on the first leg, else the switch point).
    pub begin: Lsn,
    /// Where it ended and the next leg began (`None` on the last).
    pub end: Option<Lsn>,
}

/// The timelines a restore from a base backup follows, and the archived segments along them.
#[derive(Debug, Clone)]
pub struct TimelinePath {
    pub legs: Vec<Leg>,
    pub segment_size: u64,
    /// The segments recovery will ask for, in order, with the file that holds each.
    pub segments: Vec<(Segment, ArchiveFile)>,
    /// Notes for the report.
    pub notes: Vec<String>,
}

impl TimelinePath {
    pub fn target_timeline(&self) -> u32 {
        self.legs.last().map_or(1, |l| l.timeline)
    }

    /// The newest segment on the path, if the archive holds any.
    pub fn newest(&self) -> Option<&(Segment, ArchiveFile)> {
        self.segments.last()
    }

    /// Where the newest segment starts: a recovery that replayed less has not read the
    /// whole archive.
    pub fn newest_start(&self) -> Option<Lsn> {
        self.newest()
            .map(|(s, _)| Lsn(s.number(self.segment_size) * self.segment_size))
    }

    /// "1 → 2 (at 0/5000A0)" for the report.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        for (i, leg) in self.legs.iter().enumerate() {
            if i > 0 {
                out.push_str(&format!(" → {} (switch at {})", leg.timeline, leg.begin));
            } else {
                out.push_str(&leg.timeline.to_string());
            }
        }
        out
    }

    /// The timelines whose WAL a recovery that replayed up to `replayed` crossed into.
    pub fn crossed(&self, replayed: Lsn) -> Vec<u32> {
        self.legs
            .iter()
            .filter(|l| l.begin <= replayed)
            .map(|l| l.timeline)
            .collect()
    }
}

/// The fields of a WAL segment's first page header that identify it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LongHeader {
    page_addr: u64,
    system_id: u64,
    segment_size: u32,
}

/// Reads the long page header at the start of a segment (decompressing only that much).
fn read_header(file: &ArchiveFile) -> Result<LongHeader, String> {
    let mut buf = [0u8; 40];
    let got = file
        .compression
        .open(&file.path)
        .and_then(|mut r| read_full(&mut r, &mut buf))
        .map_err(|e| {
            format!(
                "cannot read {} ({}): {e}",
                file.path.display(),
                file.compression.name()
            )
        })?;
    parse_header(&buf[..got]).ok_or_else(|| {
        format!(
            "{} does not start with a WAL segment header: it is damaged or not a WAL segment",
            file.path.display()
        )
    })
}

/// XLogLongPageHeaderData: magic u16, info u16, tli u32, pageaddr u64, rem_len u32 (+pad),
/// sysid u64 at 24, seg_size u32 at 32, xlog_blcksz u32 at 36; little-endian here.
fn parse_header(b: &[u8]) -> Option<LongHeader> {
    const XLP_LONG_HEADER: u16 = 0x0002;
    if b.len() < 40 {
        return None;
    }
    let u16_at = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
    let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    let u64_at = |i: usize| u64::from(u32_at(i)) | (u64::from(u32_at(i + 4)) << 32);
    let info = u16_at(2);
    let size = u32_at(32);
    let block = u32_at(36);
    // Magic numbers differ by PostgreSQL version (0xD110 is 15); their high byte is 0xD1.
    let ok = u16_at(0) >> 8 == 0xD1
        && info & XLP_LONG_HEADER != 0
        && size.is_power_of_two()
        && (1 << 20..=1 << 30).contains(&size)
        && block.is_power_of_two()
        && (1024..=65536).contains(&block);
    ok.then(|| LongHeader {
        page_addr: u64_at(8),
        system_id: u64_at(24),
        segment_size: size,
    })
}

/// Checks that `data` is a whole segment named `name`: its header and length (the check
/// `wal-fetch` makes on every segment it hands to PostgreSQL).
pub fn check_segment_bytes(name: &str, data: &[u8]) -> Result<(), String> {
    check_segment_header(name, data, data.len() as u64)
}

/// Checks a segment named `name` from its first bytes `head` and its whole length `len`.
pub fn check_segment_header(name: &str, head: &[u8], len: u64) -> Result<(), String> {
    let Some(seg) = Segment::parse(name) else {
        return Ok(());
    };
    let h = parse_header(head)
        .ok_or_else(|| format!("{name} does not start with a WAL segment header"))?;
    let size = u64::from(h.segment_size);
    if len != size {
        return Err(format!(
            "{name} holds {len} bytes where its header says {size}: it is truncated or damaged"
        ));
    }
    if h.page_addr != seg.number(size) * size {
        return Err(format!(
            "{name} holds the WAL of position {}, not its own: it is misnamed or damaged",
            Lsn(h.page_addr)
        ));
    }
    Ok(())
}

/// The path a restore from a base backup that started at `start` on `timeline` follows
/// through `archive`: the newest timeline the backup can reach, every segment from the
/// backup's start to the newest archived one, each checked for presence, readability by
/// `reader` and its header. Every way the path is broken is an error naming the file.
pub fn plan_path(
    archive: &Archive,
    timeline: u32,
    start: Lsn,
    reader: Option<(u32, u32)>,
) -> Result<TimelinePath, String> {
    let dir = archive.dir.display();
    let mut notes = Vec::new();
    // Every timeline newer than the backup's that has segments must be explainable by a
    // history file; otherwise a failover happened and recovery cannot follow it.
    let newer: BTreeSet<u32> = archive
        .segments
        .keys()
        .chain(archive.unknown.keys())
        .map(|s| s.timeline)
        .chain(archive.partial.iter().map(|s| s.timeline))
        .filter(|t| *t > timeline)
        .collect();
    for t in &newer {
        if !archive.histories.contains_key(t) {
            return Err(format!(
                "WAL archive {dir} holds segments of timeline {t} but not its history file {:08X}.history: \
                 recovery cannot follow the failover to timeline {t}, and restoring timeline {timeline} \
                 past it would silently miss what was written after the failover",
                t
            ));
        }
    }
    // The newest timeline that descends from the backup's after the backup started.
    let mut target = timeline;
    let mut target_history = History {
        ancestors: Vec::new(),
    };
    let mut unreachable = Vec::new();
    for (&t, _) in archive.histories.range(timeline + 1..) {
        let Some(h) = archive.history(t)? else {
            continue;
        };
        let reaches = t == timeline
            || h.ancestors
                .iter()
                .any(|(a, switch)| *a == timeline && *switch > start);
        if reaches {
            target = t;
            target_history = h;
        } else {
            unreachable.push(t);
        }
    }
    if !unreachable.is_empty() {
        notes.push(format!(
            "timelines {} in the archive branched off before this base backup: not on its path",
            unreachable
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    // The legs: from the backup's timeline through the ancestors to the target.
    let mut legs = vec![Leg {
        timeline,
        begin: start,
        end: None,
    }];
    let mut reached = false;
    for (i, (a, switch)) in target_history.ancestors.iter().enumerate() {
        if *a == timeline {
            reached = true;
        }
        if !reached {
            continue;
        }
        if let Some(last) = legs.last_mut() {
            last.end = Some(*switch);
        }
        let next = target_history
            .ancestors
            .get(i + 1)
            .map_or(target, |(t, _)| *t);
        legs.push(Leg {
            timeline: next,
            begin: *switch,
            end: None,
        });
    }
    // Segment size: from the header of the first segment on one of the path's timelines.
    let on_path = |t: u32| legs.iter().any(|l| l.timeline == t);
    let unreadable_kind = |seg: &Segment, path: &Path, ending: &str| {
        format!(
            "WAL archive {dir} holds segment {} only as {}, compressed in a way restore-drill cannot read \
             (\"{ending}\"; it reads .gz, .lz4, .zst, .bz2 and plain segments)",
            seg.name(),
            path.display()
        )
    };
    let size = match archive
        .segments
        .iter()
        .find(|(s, _)| on_path(s.timeline))
        .and_then(|(_, files)| files.first())
    {
        Some(f) => u64::from(read_header(f)?.segment_size),
        None => {
            if let Some((seg, (path, ending))) =
                archive.unknown.iter().find(|(s, _)| on_path(s.timeline))
            {
                return Err(unreadable_kind(seg, path, ending));
            }
            return Ok(TimelinePath {
                legs,
                segment_size: 16 << 20,
                segments: Vec::new(),
                notes,
            });
        }
    };
    // Which timeline recovery asks for each segment: the newest leg begun by then.
    let timeline_of = |number: u64| -> u32 {
        legs.iter()
            .rev()
            .find(|l| l.begin.segment_number(size) <= number)
            .map_or(timeline, |l| l.timeline)
    };
    let first = start.segment_number(size);
    let newest = archive
        .segments
        .keys()
        .filter(|s| s.timeline == timeline_of(s.number(size)))
        .map(|s| s.number(size))
        .filter(|n| *n >= first)
        .max();
    let mut segments = Vec::new();
    let mut system_id = None;
    if let Some(newest) = newest {
        let mut started = false;
        for number in first..=newest {
            let tli = timeline_of(number);
            let seg = Segment::at(tli, number, size);
            match archive.segments.get(&seg).and_then(|f| f.first()) {
                Some(file) => {
                    started = true;
                    check_readable(&file.path, reader)?;
                    let h = read_header(file)?;
                    if u64::from(h.segment_size) != size || h.page_addr != number * size {
                        return Err(format!(
                            "WAL archive {dir}: {} is not the segment its name says (its header says position {}, segment size {}): \
                             it is damaged or misnamed",
                            file.name(),
                            Lsn(h.page_addr),
                            h.segment_size
                        ));
                    }
                    if *system_id.get_or_insert(h.system_id) != h.system_id {
                        return Err(format!(
                            "WAL archive {dir}: {} belongs to another database system (system identifier {}): \
                             archives of two clusters are mixed",
                            file.name(),
                            h.system_id
                        ));
                    }
                    if file.compression == Compression::None {
                        let len = std::fs::metadata(&file.path)
                            .map_err(|e| format!("cannot read {}: {e}", file.path.display()))?
                            .len();
                        if len != size {
                            return Err(format!(
                                "WAL archive {dir}: segment {} has {len} bytes, not {size}: it is truncated or damaged, \
                                 and recovery would stop there",
                                seg.name()
                            ));
                        }
                    }
                    segments.push((seg, file.clone()));
                }
                // The backup's own pg_wal holds the WAL from its start until archiving
                // caught up; a gap after the first archived segment is real.
                None if !started => {}
                None => {
                    if let Some((path, ending)) = archive.unknown.get(&seg) {
                        return Err(unreadable_kind(&seg, path, ending));
                    }
                    let next = segments_after(archive, number, size, &timeline_of);
                    return Err(format!(
                        "WAL archive {dir} is missing segment {}{}: recovery would stop at the gap and lose everything after it",
                        seg.name(),
                        next.map(|n| format!(" (the path goes on with {})", n.name()))
                            .unwrap_or_default()
                    ));
                }
            }
        }
    }
    for t in legs.iter().skip(1) {
        if let Some(file) = archive.histories.get(&t.timeline) {
            check_readable(&file.path, reader)?;
        }
    }
    // A segment past the end that cannot be read means the path really goes further.
    let end = newest.map_or(first, |n| n + 1);
    if let Some((seg, (path, ending))) = archive
        .unknown
        .iter()
        .find(|(s, _)| s.number(size) >= end && s.timeline == timeline_of(s.number(size)))
    {
        return Err(unreadable_kind(seg, path, ending));
    }
    if legs.len() > 1 {
        notes.push(format!(
            "timeline path {} (from {:08X}.history)",
            legs.iter()
                .map(|l| l.timeline.to_string())
                .collect::<Vec<_>>()
                .join(" → "),
            target
        ));
    }
    Ok(TimelinePath {
        legs,
        segment_size: size,
        segments,
        notes,
    })
}

/// The next segment on the path after `number` that the archive holds (for messages).
fn segments_after(
    archive: &Archive,
    number: u64,
    size: u64,
    timeline_of: &dyn Fn(u64) -> u32,
) -> Option<Segment> {
    archive
        .segments
        .keys()
        .filter(|s| s.number(size) > number && s.timeline == timeline_of(s.number(size)))
        .min_by_key(|s| s.number(size))
        .copied()
}

/// Whether the server's user can read `path`: an archive file the server cannot read stops
/// recovery there.
pub fn check_readable(path: &Path, reader: Option<(u32, u32)>) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let meta =
        std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let who = match reader {
        None => {
            // As ourselves: try it.
            return std::fs::File::open(path)
                .map(|_| ())
                .map_err(|e| format!("cannot read {}: {e}", path.display()));
        }
        Some(ids) => ids,
    };
    let mode = meta.mode();
    let bit = if meta.uid() == who.0 {
        0o400
    } else if meta.gid() == who.1 {
        0o040
    } else {
        0o004
    };
    if mode & bit == 0 {
        return Err(format!(
            "{} is not readable by uid {} (mode {:o}): PostgreSQL, which runs as that user, could not restore it",
            path.display(),
            who.0,
            mode & 0o7777
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIZE: u64 = 16 * 1024 * 1024;

    /// A plain segment file whose header matches its name.
    fn segment(dir: &Path, name: &str) {
        let seg = Segment::parse(name).unwrap();
        let mut data = vec![0u8; SIZE as usize];
        data[0..2].copy_from_slice(&0xD110u16.to_le_bytes());
        data[2..4].copy_from_slice(&2u16.to_le_bytes());
        data[4..8].copy_from_slice(&seg.timeline.to_le_bytes());
        data[8..16].copy_from_slice(&(seg.number(SIZE) * SIZE).to_le_bytes());
        data[24..32].copy_from_slice(&42u64.to_le_bytes());
        data[32..36].copy_from_slice(&(SIZE as u32).to_le_bytes());
        data[36..40].copy_from_slice(&8192u32.to_le_bytes());
        std::fs::write(dir.join(name), data).unwrap();
    }

    #[test]
    fn names_round_trip() {
        let s = Segment::parse("000000010000000A000000FF").unwrap();
        assert_eq!((s.timeline, s.log, s.seg), (1, 10, 255));
        assert_eq!(s.name(), "000000010000000A000000FF");
        assert!(Segment::parse("00000001000000000000000").is_none());
        assert!(Segment::parse("00000002.history").is_none());
        assert_eq!(Lsn::parse("0/3000028"), Some(Lsn(0x3000028)));
        assert_eq!(Lsn(0x1_0300_0028).to_string(), "1/3000028");
    }

    #[test]
    fn positions_cross_log_ids() {
        let last = Segment::parse("0000000100000000000000FF").unwrap();
        let next = Segment::at(1, last.number(SIZE) + 1, SIZE);
        assert_eq!(next.name(), "000000010000000100000000");
    }

    #[test]
    fn gaps_and_truncation_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        for n in [2, 3, 5] {
            segment(dir.path(), &format!("0000000100000000000000{n:02X}"));
        }
        let start = Lsn(2 * SIZE + 0x28);
        let a = Archive::scan(dir.path()).unwrap();
        let err = plan_path(&a, 1, start, None).unwrap_err();
        assert!(
            err.contains(
                "is missing segment 000000010000000000000004 (the path goes on with 000000010000000000000005)"
            ),
            "{err}"
        );

        segment(dir.path(), "000000010000000000000004");
        std::fs::OpenOptions::new()
            .write(true)
            .open(dir.path().join("000000010000000000000004"))
            .unwrap()
            .set_len(1000)
            .unwrap();
        let a = Archive::scan(dir.path()).unwrap();
        let err = plan_path(&a, 1, start, None).unwrap_err();
        assert!(
            err.contains("segment 000000010000000000000004 has 1000 bytes"),
            "{err}"
        );

        segment(dir.path(), "000000010000000000000004");
        let a = Archive::scan(dir.path()).unwrap();
        let ok = plan_path(&a, 1, start, None).unwrap();
        assert_eq!(ok.segments.len(), 4);
        assert_eq!(ok.newest().unwrap().0.name(), "000000010000000000000005");
    }

    #[test]
    fn a_failover_is_followed_to_the_newest_timeline() {
        let dir = tempfile::tempdir().unwrap();
        for n in [2, 3, 4] {
            segment(dir.path(), &format!("0000000100000000000000{n:02X}"));
        }
        // Timeline 2 began inside segment 4; the old primary's segment 4 is the partial.
        for n in [4, 5, 6] {
            segment(dir.path(), &format!("0000000200000000000000{n:02X}"));
        }
        std::fs::write(
            dir.path().join("00000002.history"),
            "1\t0/4000100\tno recovery target specified\n",
        )
        .unwrap();
        // Timeline 1 went on after the failover (a split brain): not on the path.
        segment(dir.path(), "000000010000000000000005");
        let a = Archive::scan(dir.path()).unwrap();
        let p = plan_path(&a, 1, Lsn(2 * SIZE + 0x28), None).unwrap();
        assert_eq!(p.target_timeline(), 2);
        let names: Vec<String> = p.segments.iter().map(|(s, _)| s.name()).collect();
        assert_eq!(
            names,
            [
                "000000010000000000000002",
                "000000010000000000000003",
                "000000020000000000000004",
                "000000020000000000000005",
                "000000020000000000000006"
            ]
        );
        assert_eq!(p.crossed(Lsn(0x3000000)), [1]);
        assert_eq!(p.crossed(Lsn(0x4000200)), [1, 2]);
        assert_eq!(p.describe(), "1 → 2 (switch at 0/4000100)");

        // Without the history file, refused: restoring timeline 1 would miss timeline 2.
        std::fs::remove_file(dir.path().join("00000002.history")).unwrap();
        let a = Archive::scan(dir.path()).unwrap();
        let err = plan_path(&a, 1, Lsn(2 * SIZE + 0x28), None).unwrap_err();
        assert!(
            err.contains("holds segments of timeline 2 but not its history file 00000002.history"),
            "{err}"
        );
    }

    #[test]
    fn a_timeline_branched_before_the_backup_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        for n in [5, 6] {
            segment(dir.path(), &format!("0000000100000000000000{n:02X}"));
        }
        segment(dir.path(), "000000020000000000000003");
        std::fs::write(dir.path().join("00000002.history"), "1\t0/3000000\tx\n").unwrap();
        let a = Archive::scan(dir.path()).unwrap();
        let p = plan_path(&a, 1, Lsn(5 * SIZE + 0x28), None).unwrap();
        assert_eq!(p.target_timeline(), 1);
        assert_eq!(p.segments.len(), 2);
        assert!(p.notes[0].contains("timelines 2 in the archive branched off before"));
    }

    #[test]
    fn unknown_compression_is_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("000000010000000000000002.xz"), b"x").unwrap();
        let a = Archive::scan(dir.path()).unwrap();
        let err = plan_path(&a, 1, Lsn(2 * SIZE + 0x28), None).unwrap_err();
        assert!(
            err.contains("segment 000000010000000000000002 only as")
                && err.contains("(\".xz\"; it reads"),
            "{err}"
        );
    }

    #[test]
    fn segment_bytes_are_checked_against_the_header() {
        let dir = tempfile::tempdir().unwrap();
        segment(dir.path(), "000000010000000000000003");
        let data = std::fs::read(dir.path().join("000000010000000000000003")).unwrap();
        assert_eq!(
            check_segment_bytes("000000010000000000000003", &data),
            Ok(())
        );
        let err = check_segment_bytes("000000010000000000000004", &data).unwrap_err();
        assert!(err.contains("not its own"), "{err}");
        let err = check_segment_bytes("000000010000000000000003", &data[..4096]).unwrap_err();
        assert!(err.contains("truncated"), "{err}");
    }
}
