//! Which version of each key was current at a moment, from a listing of object versions and
//! delete markers. Pure logic, no SDK: the listing is turned into `Entry`s first.
//!
//! S3 lists every key's history newest first, versions and delete markers interleaved, and
//! stamps them with a `LastModified` of one-second resolution. The SDK hands the two kinds back
//! as two separate lists, so the interleaving is lost: two entries of one key from the same
//! second cannot be ordered by time. `IsLatest` orders the newest entry; any other tie between
//! a version and a delete marker is settled by asking the listing itself where one entry
//! stands relative to the other (`Decision::Ask`).

use chrono::{DateTime, Utc};

/// One listed version or delete marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub key: String,
    pub version_id: String,
    pub last_modified: DateTime<Utc>,
    pub is_latest: bool,
    /// `None` for a delete marker.
    pub object: Option<ObjectMeta>,
}

/// What a listing says about an object version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ObjectMeta {
    pub size: u64,
    pub etag: String,
    pub storage_class: Option<String>,
    /// The version carries a SHA-256 checksum.
    pub sha256: bool,
}

/// The answer for one key at the moment T.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Restore this version (an index into the key's versions).
    Restore(usize),
    /// The newest entry at or before T is a delete marker.
    Deleted,
    /// The key had no entry at or before T (created later).
    NotYet,
    /// A version and a delete marker from the same second, neither the latest: restore the
    /// version if the listing puts the marker after it, else the key was deleted.
    Ask { version: usize, marker: usize },
}

/// How a decision was reached, for the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tie {
    None,
    /// A same-second tie settled by `IsLatest`.
    ByLatest,
}

/// Decides one key from its versions and delete markers, each list in listing order (newest
/// first), as S3 returns them.
pub(crate) fn decide(versions: &[Entry], markers: &[Entry], t: DateTime<Utc>) -> (Decision, Tie) {
    let v = versions.iter().position(|e| e.last_modified <= t);
    let d = markers.iter().position(|e| e.last_modified <= t);
    match (v, d) {
        (None, None) => (Decision::NotYet, Tie::None),
        (Some(v), None) => (Decision::Restore(v), Tie::None),
        (None, Some(_)) => (Decision::Deleted, Tie::None),
        (Some(v), Some(d)) => {
            let (vt, dt) = (versions[v].last_modified, markers[d].last_modified);
            if vt > dt {
                (Decision::Restore(v), Tie::None)
            } else if dt > vt {
                (Decision::Deleted, Tie::None)
            } else if versions[v].is_latest {
                (Decision::Restore(v), Tie::ByLatest)
            } else if markers[d].is_latest {
                (Decision::Deleted, Tie::ByLatest)
            } else {
                (
                    Decision::Ask {
                        version: v,
                        marker: d,
                    },
                    Tie::None,
                )
            }
        }
    }
}

/// One key's entries as the listing streams them in, reduced to what `decide` needs: the
/// newest version and the newest delete marker at or before T. The listing gives a key's
/// entries newest first, so once one of a kind is kept, every later entry of that kind is
/// older and cannot change the answer: a key costs the same memory whatever its history,
/// and however many pages it spans.
#[derive(Debug)]
pub(crate) struct KeyState {
    pub key: String,
    version: Option<Entry>,
    marker: Option<Entry>,
}

impl KeyState {
    pub fn new(key: String) -> Self {
        KeyState {
            key,
            version: None,
            marker: None,
        }
    }

    /// Takes the key's next entries (one page's), each list in listing order.
    pub fn push(&mut self, group: KeyEntries, t: DateTime<Utc>) {
        for (list, slot) in [
            (group.versions, &mut self.version),
            (group.markers, &mut self.marker),
        ] {
            if slot.is_none() {
                *slot = list.into_iter().find(|e| e.last_modified <= t);
            }
        }
    }

    /// `decide` over the entries kept; indices in the answer are 0 (the one kept).
    pub fn decide(&self, t: DateTime<Utc>) -> (Decision, Tie) {
        decide(self.version.as_slice(), self.marker.as_slice(), t)
    }

    pub fn version(&self) -> Option<&Entry> {
        self.version.as_ref()
    }

    pub fn marker(&self) -> Option<&Entry> {
        self.marker.as_ref()
    }
}

/// One key's entries of one page.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct KeyEntries {
    pub key: String,
    pub versions: Vec<Entry>,
    pub markers: Vec<Entry>,
}

/// Splits one page's two lists (each sorted by key, S3's byte order) into per-key groups, in
/// key order.
pub(crate) fn group_page(versions: Vec<Entry>, markers: Vec<Entry>) -> Vec<KeyEntries> {
    let mut out: Vec<KeyEntries> = Vec::new();
    let mut vs = versions.into_iter().peekable();
    let mut ds = markers.into_iter().peekable();
    loop {
        let take_version = match (vs.peek(), ds.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(v), Some(d)) => v.key.as_bytes() <= d.key.as_bytes(),
        };
        let e = if take_version { vs.next() } else { ds.next() };
        let Some(e) = e else { break };
        let group = match out.last_mut() {
            Some(g) if g.key == e.key => g,
            _ => {
                out.push(KeyEntries {
                    key: e.key.clone(),
                    ..KeyEntries::default()
                });
                let n = out.len() - 1;
                &mut out[n]
            }
        };
        if e.object.is_some() {
            group.versions.push(e);
        } else {
            group.markers.push(e);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    fn v(key: &str, id: &str, s: i64, latest: bool) -> Entry {
        Entry {
            key: key.into(),
            version_id: id.into(),
            last_modified: at(s),
            is_latest: latest,
            object: Some(ObjectMeta {
                size: 1,
                etag: "\"e\"".into(),
                storage_class: None,
                sha256: false,
            }),
        }
    }

    fn dm(key: &str, id: &str, s: i64, latest: bool) -> Entry {
        Entry {
            object: None,
            ..v(key, id, s, latest)
        }
    }

    #[test]
    fn the_newest_entry_at_or_before_t_wins() {
        let vs = [v("k", "v3", 30, true), v("k", "v1", 10, false)];
        let ds = [dm("k", "d2", 20, false)];
        assert_eq!(decide(&vs, &ds, at(5)).0, Decision::NotYet);
        assert_eq!(decide(&vs, &ds, at(10)).0, Decision::Restore(1));
        assert_eq!(decide(&vs, &ds, at(19)).0, Decision::Restore(1));
        assert_eq!(decide(&vs, &ds, at(20)).0, Decision::Deleted);
        assert_eq!(decide(&vs, &ds, at(30)).0, Decision::Restore(0));
    }

    #[test]
    fn same_second_ties_go_by_is_latest_then_ask_the_listing() {
        // put v1, delete, put v2 in one second: v2 is the latest.
        let vs = [v("k", "v2", 10, true), v("k", "v1", 10, false)];
        let ds = [dm("k", "d", 10, false)];
        assert_eq!(
            decide(&vs, &ds, at(10)),
            (Decision::Restore(0), Tie::ByLatest)
        );
        // put v1, put v2, delete in one second: the marker is the latest.
        let vs = [v("k", "v2", 10, false), v("k", "v1", 10, false)];
        let ds = [dm("k", "d", 10, true)];
        assert_eq!(decide(&vs, &ds, at(10)), (Decision::Deleted, Tie::ByLatest));
        // put v1 and delete in one second, then a later put: only the listing knows.
        let vs = [v("k", "v2", 20, true), v("k", "v1", 10, false)];
        let ds = [dm("k", "d", 10, false)];
        assert_eq!(
            decide(&vs, &ds, at(15)).0,
            Decision::Ask {
                version: 1,
                marker: 0
            }
        );
    }

    /// Histories of one key, newest first, cut into pages at every possible place: the
    /// streamed decision is the one over the whole history.
    #[test]
    fn a_key_streamed_page_by_page_is_decided_as_a_whole() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..500 {
            let n = 1 + (next() % 7) as usize;
            // Newest first: seconds never grow down the list; ties are common.
            let mut s = 40i64;
            let mut all = Vec::new();
            for i in 0..n {
                s -= (next() % 3) as i64;
                let id = format!("e{i}");
                all.push(if next() % 3 == 0 {
                    dm("k", &id, s, i == 0)
                } else {
                    v("k", &id, s, i == 0)
                });
            }
            let vs: Vec<Entry> = all.iter().filter(|e| e.object.is_some()).cloned().collect();
            let ds: Vec<Entry> = all.iter().filter(|e| e.object.is_none()).cloned().collect();
            for t in 30..=41 {
                let whole = decide(&vs, &ds, at(t));
                let cut = (next() % (n as u64 + 1)) as usize;
                let mut k = KeyState::new("k".into());
                for part in [&all[..cut], &all[cut..]] {
                    let (pv, pd): (Vec<Entry>, Vec<Entry>) =
                        part.iter().cloned().partition(|e| e.object.is_some());
                    k.push(
                        KeyEntries {
                            key: "k".into(),
                            versions: pv,
                            markers: pd,
                        },
                        at(t),
                    );
                }
                let streamed = k.decide(at(t));
                let id = |d: Decision| match d {
                    Decision::Restore(i) => format!("restore {}", vs[i].version_id),
                    Decision::Ask { version, marker } => {
                        format!("ask {} {}", vs[version].version_id, ds[marker].version_id)
                    }
                    other => format!("{other:?}"),
                };
                let sid = |d: Decision| match d {
                    Decision::Restore(_) => {
                        format!("restore {}", k.version().map_or("", |e| &e.version_id))
                    }
                    Decision::Ask { .. } => format!(
                        "ask {} {}",
                        k.version().map_or("", |e| &e.version_id),
                        k.marker().map_or("", |e| &e.version_id)
                    ),
                    other => format!("{other:?}"),
                };
                assert_eq!(
                    (id(whole.0), whole.1),
                    (sid(streamed.0), streamed.1),
                    "{all:?} at {t}, cut at {cut}"
                );
            }
        }
    }

    #[test]
    fn pages_group_by_key_in_byte_order() {
        let vs = vec![
            v("a", "1", 1, true),
            v("c", "2", 1, true),
            v("é", "3", 1, true),
        ];
        let ds = vec![
            dm("b", "4", 1, true),
            dm("c", "5", 0, false),
            dm("z", "6", 1, true),
        ];
        let g = group_page(vs, ds);
        let keys: Vec<&str> = g.iter().map(|g| g.key.as_str()).collect();
        assert_eq!(keys, ["a", "b", "c", "z", "é"]);
        assert_eq!(g[2].versions.len(), 1);
        assert_eq!(g[2].markers.len(), 1);
        assert!(group_page(Vec::new(), Vec::new()).is_empty());
    }
}
