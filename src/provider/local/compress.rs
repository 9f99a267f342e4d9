//! Compressed files in WAL archives and base backups: what a file's name says it holds, and a
//! reader that decompresses it in-process (gzip, lz4 frames, zstd, bzip2), so that a restore
//! never depends on a decompression tool being installed.

use std::io::{BufReader, Read};
use std::path::Path;

/// How a file in an archive is compressed, from its name's ending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Compression {
    None,
    Gzip,
    Lz4,
    Zstd,
    Bzip2,
}

/// Endings that mark a compressed file, with what they mean.
const SUFFIXES: [(&str, Compression); 4] = [
    (".gz", Compression::Gzip),
    (".lz4", Compression::Lz4),
    (".zst", Compression::Zstd),
    (".bz2", Compression::Bzip2),
];

impl Compression {
    /// The name's stem and compression; `Err(suffix)` for an ending this tool cannot read
    /// (e.g. `.xz`) on a name whose stem `is_stem` accepts. `None` when the name is not one
    /// of ours at all.
    pub fn split(
        name: &str,
        is_stem: impl Fn(&str) -> bool,
    ) -> Option<Result<(&str, Compression), &str>> {
        if is_stem(name) {
            return Some(Ok((name, Compression::None)));
        }
        for (suffix, kind) in SUFFIXES {
            if let Some(stem) = name.strip_suffix(suffix)
                && is_stem(stem)
            {
                return Some(Ok((stem, kind)));
            }
        }
        // An unknown ending on a stem we know: `<stem>.<ext>`.
        let (stem, ext) = name.rsplit_once('.')?;
        if is_stem(stem) && !ext.is_empty() && ext.len() <= 8 {
            return Some(Err(&name[stem.len()..]));
        }
        None
    }

    pub fn suffix(self) -> &'static str {
        SUFFIXES
            .iter()
            .find(|(_, k)| *k == self)
            .map_or("", |(s, _)| s)
    }

    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "uncompressed",
            Compression::Gzip => "gzip",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
            Compression::Bzip2 => "bzip2",
        }
    }

    /// A reader of `inner`'s decompressed bytes.
    pub fn reader<'a>(self, inner: impl Read + 'a) -> std::io::Result<Box<dyn Read + 'a>> {
        let buffered = BufReader::with_capacity(256 * 1024, inner);
        Ok(match self {
            Compression::None => Box::new(buffered),
            // Multi-member gzip, as `cat a.gz b.gz` and some archivers write.
            Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
            Compression::Lz4 => Box::new(lz4_flex::frame::FrameDecoder::new(buffered)),
            Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(buffered)?),
            Compression::Bzip2 => Box::new(bzip2::bufread::MultiBzDecoder::new(buffered)),
        })
    }

    /// Opens `path` and decompresses it as this kind.
    pub fn open(self, path: &Path) -> std::io::Result<Box<dyn Read>> {
        self.reader(std::fs::File::open(path)?)
    }
}

/// Reads up to `buf.len()` bytes, fewer only at the end of the stream.
pub fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn seg(s: &str) -> bool {
        s.len() == 24 && s.bytes().all(|b| b.is_ascii_hexdigit())
    }

    #[test]
    fn names_split_into_stem_and_kind() {
        let name = "000000010000000000000002";
        assert_eq!(
            Compression::split(name, seg),
            Some(Ok((name, Compression::None)))
        );
        assert_eq!(
            Compression::split("000000010000000000000002.zst", seg),
            Some(Ok((name, Compression::Zstd)))
        );
        assert_eq!(
            Compression::split("000000010000000000000002.xz", seg),
            Some(Err(".xz"))
        );
        assert_eq!(Compression::split("README.gz", seg), None);
        assert_eq!(Compression::split("0000000100000000000000.gz", seg), None);
    }

    #[test]
    fn every_kind_round_trips() {
        let data: Vec<u8> = (0..200_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let packed: Vec<(Compression, Vec<u8>)> = vec![
            (Compression::None, data.clone()),
            (Compression::Gzip, {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(&data).unwrap();
                e.finish().unwrap()
            }),
            (Compression::Lz4, {
                let mut e = lz4_flex::frame::FrameEncoder::new(Vec::new());
                e.write_all(&data).unwrap();
                e.finish().unwrap()
            }),
            (
                Compression::Zstd,
                zstd::stream::encode_all(&data[..], 1).unwrap(),
            ),
            (Compression::Bzip2, {
                let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
                e.write_all(&data).unwrap();
                e.finish().unwrap()
            }),
        ];
        for (kind, bytes) in packed {
            let mut out = Vec::new();
            kind.reader(&bytes[..])
                .unwrap()
                .read_to_end(&mut out)
                .unwrap();
            assert_eq!(out, data, "{kind:?}");
            // Damage in the middle is an error, never a quietly short stream.
            if kind != Compression::None {
                let mut bad = bytes.clone();
                let mid = bad.len() / 2;
                bad.truncate(mid);
                let mut out = Vec::new();
                let r = kind
                    .reader(&bad[..])
                    .and_then(|mut r| r.read_to_end(&mut out));
                assert!(
                    r.is_err(),
                    "{kind:?} truncated read {} bytes without error",
                    out.len()
                );
            }
        }
    }
}
