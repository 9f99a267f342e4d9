//! The versions a restore meant to bring back, on disk rather than in memory: the checks
//! compare the target with every one of them, and at a million keys holding them all cost
//! hundreds of megabytes. The screen (`pipeline.rs`) appends each version it sends to be
//! copied, in listing order, to a file in a private temporary folder; the checks read it back
//! in that order (`ExpectedReader`) and merge it with the target's listing, so neither side
//! is ever held in full.
//!
//! The merge is only right if both sides come in the same order, S3's: keys increasing by
//! their UTF-8 bytes. The writer and the reader both refuse a key that does not come after
//! the one before it, naming both, rather than let a comparison go quietly wrong.
//!
//! One record per line: a JSON array of the version's fields. JSON escapes what a key may
//! hold (tabs, newlines, quotes, backslashes, any control character) and keeps any other
//! UTF-8 as it is, so a line break in the file always ends a record.
//!
//! The file is made in a folder of its own under the system temp dir (0700; the file 0600)
//! and, on Unix, both are removed as soon as the file is open: the writer and the readers
//! use the open file, so no way a run ends, a `kill -9` included, leaves it behind, and the
//! disk space comes back when the last holder of the `Spill` (the restore's state, the
//! `RestoredObjects` given to the checks, a reader) lets go of it. Elsewhere the folder is
//! removed then.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::SourceObject;

/// The file's name inside its private folder.
const FILE_NAME: &str = "expected.jsonl";

/// One version as written: its fields, in `SourceObject`'s order.
#[derive(Serialize)]
struct RecordOut<'a>(
    &'a str,
    &'a str,
    u64,
    &'a str,
    DateTime<Utc>,
    Option<&'a str>,
    bool,
    Option<&'a str>,
    Option<&'a str>,
);

impl<'a> RecordOut<'a> {
    fn of(o: &'a SourceObject) -> Self {
        RecordOut(
            &o.key,
            &o.version_id,
            o.size,
            &o.etag,
            o.last_modified,
            o.storage_class.as_deref(),
            o.sha256,
            o.encryption.as_deref(),
            o.kms_key_id.as_deref(),
        )
    }
}

/// One version as read back.
#[derive(Deserialize)]
struct RecordIn(
    String,
    String,
    u64,
    String,
    DateTime<Utc>,
    Option<String>,
    bool,
    Option<String>,
    Option<String>,
);

/// A spill file, open for reading; on Unix no longer in any folder.
#[derive(Debug)]
pub(crate) struct Spill {
    file: File,
    /// Where it was made, for messages.
    path: PathBuf,
    /// The folder, held for its drop, where a file cannot be removed while open.
    #[cfg(not(unix))]
    _dir: tempfile::TempDir,
}

impl Spill {
    /// A new, empty spill file in a folder only this user can enter, and the writer that
    /// fills it.
    pub fn create() -> Result<(Arc<Spill>, SpillWriter), String> {
        let mut dir = tempfile::Builder::new();
        dir.prefix("restore-drill-expected-");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            dir.permissions(std::fs::Permissions::from_mode(0o700));
        }
        let dir = dir.tempdir().map_err(|e| {
            format!(
                "cannot create a folder for the restored set in {}: {e}",
                std::env::temp_dir().display()
            )
        })?;
        let path = dir.path().join(FILE_NAME);
        let mut open = std::fs::OpenOptions::new();
        open.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            open.mode(0o600);
        }
        let write = open
            .open(&path)
            .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        let read = File::open(&path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        #[cfg(unix)]
        dir.close().map_err(|e| {
            format!(
                "cannot remove {} once open (it would outlive the run): {e}",
                path.display()
            )
        })?;
        let writer = SpillWriter {
            out: BufWriter::new(write),
            path: path.clone(),
            last: None,
            written: 0,
        };
        let spill = Spill {
            file: read,
            path,
            #[cfg(not(unix))]
            _dir: dir,
        };
        Ok((Arc::new(spill), writer))
    }

    /// Where the file was made (on Unix, it is already gone from there).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the file from its start, independently of any other reader. Holds the spill,
    /// so the file outlives the reader.
    pub fn reader(self: &Arc<Self>) -> Result<ExpectedReader, String> {
        Ok(ExpectedReader {
            lines: BufReader::with_capacity(
                64 << 10,
                At {
                    spill: self.clone(),
                    offset: 0,
                },
            ),
            line: String::new(),
            number: 0,
            last: None,
        })
    }
}

/// The spill file read from an offset of its own: readers share one open file.
#[derive(Debug)]
struct At {
    spill: Arc<Spill>,
    offset: u64,
}

impl Read for At {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        #[cfg(unix)]
        let n = std::os::unix::fs::FileExt::read_at(&self.spill.file, buf, self.offset)?;
        #[cfg(windows)]
        let n = std::os::windows::fs::FileExt::seek_read(&self.spill.file, buf, self.offset)?;
        self.offset += n as u64;
        Ok(n)
    }
}

/// Appends versions to a spill file, in strictly increasing key order.
#[derive(Debug)]
pub(crate) struct SpillWriter {
    out: BufWriter<File>,
    path: PathBuf,
    last: Option<String>,
    written: u64,
}

/// The refusal of a key that does not come after the one before it.
pub(crate) fn out_of_order(what: &str, before: &str, after: &str) -> String {
    format!(
        "{what} is not in key order: {after:?} came after {before:?}; the checks merge it with the other side in S3's order (increasing UTF-8 bytes) and would compare the wrong objects"
    )
}

impl SpillWriter {
    /// Appends one version; refuses one whose key does not come after the last one's.
    pub fn push(&mut self, o: &SourceObject) -> Result<(), String> {
        if let Some(last) = &self.last
            && o.key.as_bytes() <= last.as_bytes()
        {
            return Err(out_of_order("the source listing", last, &o.key));
        }
        let written = serde_json::to_writer(&mut self.out, &RecordOut::of(o))
            .map_err(std::io::Error::from)
            .and_then(|()| self.out.write_all(b"\n"));
        written.map_err(|e| format!("cannot write to {}: {e}", self.path.display()))?;
        self.last = Some(o.key.clone());
        self.written += 1;
        Ok(())
    }

    /// Flushes what is buffered; returns how many versions the file holds.
    pub fn finish(mut self) -> Result<u64, String> {
        self.out
            .flush()
            .map_err(|e| format!("cannot write to {}: {e}", self.path.display()))?;
        Ok(self.written)
    }
}

/// The versions of a spill file, one at a time, in the order they were written (key order).
#[derive(Debug)]
pub struct ExpectedReader {
    lines: BufReader<At>,
    line: String,
    number: u64,
    last: Option<String>,
}

impl ExpectedReader {
    fn path(&self) -> String {
        self.lines.get_ref().spill.path.display().to_string()
    }

    fn read(&mut self) -> Result<Option<SourceObject>, String> {
        self.line.clear();
        let n = self
            .lines
            .read_line(&mut self.line)
            .map_err(|e| format!("cannot read the restored set at {}: {e}", self.path()))?;
        if n == 0 {
            return Ok(None);
        }
        self.number += 1;
        let r: RecordIn = serde_json::from_str(self.line.trim_end_matches('\n')).map_err(|e| {
            format!(
                "the restored set at {} is damaged at line {}: {e}",
                self.path(),
                self.number
            )
        })?;
        if let Some(last) = &self.last
            && r.0.as_bytes() <= last.as_bytes()
        {
            return Err(out_of_order("the restored set", last, &r.0));
        }
        self.last = Some(r.0.clone());
        Ok(Some(SourceObject {
            key: r.0,
            version_id: r.1,
            size: r.2,
            etag: r.3,
            last_modified: r.4,
            storage_class: r.5,
            sha256: r.6,
            encryption: r.7,
            kms_key_id: r.8,
        }))
    }
}

impl Iterator for ExpectedReader {
    type Item = Result<SourceObject, String>;

    fn next(&mut self) -> Option<Self::Item> {
        self.read().transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(key: &str) -> SourceObject {
        SourceObject {
            key: key.into(),
            version_id: format!("v-{}", key.len()),
            size: key.len() as u64,
            etag: "\"9b2cf535f27731c974343645a3985328\"".into(),
            last_modified: DateTime::from_timestamp(1_700_000_000, 123_456_789).unwrap(),
            storage_class: Some("STANDARD".into()),
            sha256: true,
            encryption: Some("aws:kms".into()),
            kms_key_id: Some("arn:aws:kms:eu-west-1:1:key/k".into()),
        }
    }

    #[test]
    fn hostile_keys_come_back_as_written() {
        // In increasing byte order, each one a way a line- or field-based format could break.
        let mut keys = vec![
            "",
            " ",
            "\"",
            "\"\"",
            "-",
            "a\tb",
            "a\nb",
            "a\r\nb",
            "a\\",
            "a\\n",
            "a\\t",
            "null",
            "x/\u{0}/y",
            "é",
            "日本/キー",
            "🦀\u{7f}",
        ];
        keys.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        let (spill, mut w) = Spill::create().unwrap();
        let mut written: Vec<SourceObject> = keys.iter().map(|k| version(k)).collect();
        // Every optional field as None too, and an empty-looking version.
        written[1].storage_class = None;
        written[1].encryption = None;
        written[1].kms_key_id = None;
        written[1].sha256 = false;
        written[2].version_id = String::new();
        written[2].etag = String::new();
        written[2].encryption = Some(String::new());
        for o in &written {
            w.push(o).unwrap();
        }
        assert_eq!(w.finish().unwrap(), written.len() as u64);
        let back: Vec<SourceObject> = spill.reader().unwrap().collect::<Result<_, _>>().unwrap();
        assert_eq!(back, written);
        // One line per record, whatever the keys hold.
        let mut text = String::new();
        At {
            spill: spill.clone(),
            offset: 0,
        }
        .read_to_string(&mut text)
        .unwrap();
        assert_eq!(text.lines().count(), written.len());
        // Two readers at once: each reads from the start, at its own pace.
        let mut one = spill.reader().unwrap();
        let two = spill.reader().unwrap();
        assert_eq!(one.next().unwrap().unwrap(), written[0]);
        assert_eq!(two.count(), written.len());
        assert_eq!(one.count(), written.len() - 1);
    }

    #[test]
    fn a_key_out_of_order_is_refused_naming_both() {
        let (_spill, mut w) = Spill::create().unwrap();
        w.push(&version("b")).unwrap();
        let e = w.push(&version("a\n")).unwrap_err();
        assert!(e.contains("\"a\\n\" came after \"b\""), "{e}");
        assert!(e.contains("the source listing is not in key order"), "{e}");
        // The same key twice is no increase either.
        let e = w.push(&version("b")).unwrap_err();
        assert!(e.contains("\"b\" came after \"b\""), "{e}");
        // Byte order, not char order or locale: "Z" < "a" < "é".
        w.push(&version("é")).unwrap();
        let e = w.push(&version("z")).unwrap_err();
        assert!(e.contains("\"z\" came after \"é\""), "{e}");
    }

    #[test]
    fn the_reader_refuses_a_file_out_of_order() {
        let (spill, mut w) = Spill::create().unwrap();
        // Written past the writer's own check.
        for k in ["a", "c", "b"] {
            serde_json::to_writer(&mut w.out, &RecordOut::of(&version(k))).unwrap();
            w.out.write_all(b"\n").unwrap();
        }
        w.finish().unwrap();
        let read: Vec<Result<SourceObject, String>> = spill.reader().unwrap().collect();
        assert!(read[0].is_ok() && read[1].is_ok());
        let e = read[2].as_ref().unwrap_err();
        assert!(
            e.contains("the restored set is not in key order: \"b\" came after \"c\""),
            "{e}"
        );
    }

    #[test]
    fn a_damaged_line_is_an_error_not_the_end() {
        let (spill, mut w) = Spill::create().unwrap();
        w.push(&version("a")).unwrap();
        w.out.write_all(b"[\"b\", 1]\n").unwrap();
        w.finish().unwrap();
        let read: Vec<Result<SourceObject, String>> = spill.reader().unwrap().collect();
        assert_eq!(read.len(), 2);
        let e = read[1].as_ref().unwrap_err();
        assert!(e.contains("is damaged at line 2"), "{e}");
    }

    #[test]
    fn nothing_is_left_on_disk_even_while_it_is_read() {
        let (spill, mut w) = Spill::create().unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = spill.file.metadata().unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            // Removed as soon as it is open: a killed run leaves nothing behind.
            assert!(!spill.path().exists());
            assert!(!spill.path().parent().unwrap().exists());
        }
        w.push(&version("k")).unwrap();
        w.finish().unwrap();
        let reader = spill.reader().unwrap();
        drop(spill);
        // A reader holds the spill: the file reads to its end.
        assert_eq!(reader.count(), 1);
    }
}
