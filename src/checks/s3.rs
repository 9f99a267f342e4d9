//! Checks of restored S3 objects: the restored set against the versions resolve chose (run on
//! every `s3_versions` restore), `s3_manifest` (keys, sizes and SHA-256 against a manifest),
//! freshness from the data (newest `LastModified` restored) and canary objects.
//!
//! The checks of a restore never hold its objects: the versions meant to be there come from
//! the restore's spill file and the target's listing a page at a time, both in key order,
//! and `Merge` walks the two side by side (a merge-join). Memory stays the same whatever the
//! bucket holds: a page of the listing, a batch of content comparisons, and the findings
//! listed (at most `MAX_FINDINGS`; the rest are counted).

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};

use super::manifest::Manifest;
use crate::provider::aws::s3::{RestoredObjects, SourceObject, StoredObject};
use crate::report::Finding;

/// Findings listed one by one per check; past this, one more says how many were left out.
const MAX_FINDINGS: usize = 1000;

/// Objects whose content is compared (`same_content`) at a time, as the merge goes.
const CONTENT_BATCH: usize = 1000;

/// A source key and the id of its version.
type KeyVersion = (String, String);

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn finding(kind: &str, object: &str, expected: String, found: String, message: &str) -> Finding {
    Finding {
        kind: kind.into(),
        object: object.into(),
        expected,
        found,
        message: message.into(),
    }
}

/// Caps a list of findings, saying how many were cut.
fn capped(f: Vec<Finding>) -> Vec<Finding> {
    let mut c = Capped::default();
    for f in f {
        c.push(f);
    }
    c.finish()
}

/// Findings in object order, the first `MAX_FINDINGS` kept and the rest only counted: what
/// sorting every finding and cutting the list gave, without holding them all.
#[derive(Debug, Default)]
struct Capped {
    kept: Vec<Finding>,
    more: usize,
}

impl Capped {
    fn push(&mut self, f: Finding) {
        if self.kept.len() == MAX_FINDINGS && self.kept.last().is_some_and(|l| l.object <= f.object)
        {
            self.more += 1;
            return;
        }
        // After those of the same object, as a stable sort puts them.
        let at = self.kept.partition_point(|k| k.object <= f.object);
        self.kept.insert(at, f);
        if self.kept.len() > MAX_FINDINGS {
            self.kept.pop();
            self.more += 1;
        }
    }

    fn finish(mut self) -> Vec<Finding> {
        if self.more > 0 {
            self.kept.push(finding(
                "truncated",
                "",
                String::new(),
                format!("{} more findings", self.more),
                "only the first findings are listed",
            ));
        }
        self.kept
    }
}

/// A key met in the merge of the versions meant to be there with the target's listing.
#[derive(Debug)]
pub(crate) enum Met {
    /// Meant to be there; the target has no object of its key.
    Expected(SourceObject),
    /// In the target; no version of its key was meant to be there.
    Stored(StoredObject),
    Both(SourceObject, StoredObject),
}

/// A merge-join of the versions meant to be there (in key order, as the restore's spill
/// file holds them) with the target's objects (in key order, as S3 lists them), one target
/// object at a time. Either side out of order is refused, naming both keys: the merge would
/// otherwise call present objects missing and extra.
pub(crate) struct Merge<I: Iterator> {
    expected: std::iter::Peekable<I>,
    last_expected: Option<String>,
    last_stored: Option<String>,
}

impl<I: Iterator<Item = Result<SourceObject, String>>> Merge<I> {
    pub fn new(expected: I) -> Self {
        Merge {
            expected: expected.peekable(),
            last_expected: None,
            last_stored: None,
        }
    }

    /// The next expected version if its key comes before `bound` (any, with no bound).
    fn next_before(&mut self, bound: Option<&str>) -> Result<Option<SourceObject>, String> {
        let before = |e: &Result<SourceObject, String>| match e {
            Ok(e) => bound.is_none_or(|b| e.key.as_bytes() < b.as_bytes()),
            Err(_) => true,
        };
        let Some(e) = self.expected.next_if(before) else {
            return Ok(None);
        };
        let e = e?;
        self.check_expected(&e.key)?;
        Ok(Some(e))
    }

    fn check_expected(&mut self, key: &str) -> Result<(), String> {
        if let Some(last) = &self.last_expected
            && key.as_bytes() <= last.as_bytes()
        {
            return Err(crate::provider::aws::s3::out_of_order(
                "the restored set",
                last,
                key,
            ));
        }
        self.last_expected = Some(key.to_owned());
        Ok(())
    }

    /// Takes the next target object: `met` is given every key up to and including it.
    pub fn stored(&mut self, s: StoredObject, met: &mut impl FnMut(Met)) -> Result<(), String> {
        if let Some(last) = &self.last_stored
            && s.key.as_bytes() <= last.as_bytes()
        {
            return Err(crate::provider::aws::s3::out_of_order(
                "the target's listing",
                last,
                &s.key,
            ));
        }
        self.last_stored = Some(s.key.clone());
        while let Some(e) = self.next_before(Some(&s.key))? {
            met(Met::Expected(e));
        }
        match self
            .expected
            .next_if(|e| e.as_ref().map_or(true, |e| e.key == s.key))
        {
            Some(e) => {
                let e = e?;
                self.check_expected(&e.key)?;
                met(Met::Both(e, s));
            }
            None => met(Met::Stored(s)),
        }
        Ok(())
    }

    /// The target's listing has ended: `met` is given the expected versions left.
    pub fn finish(mut self, met: &mut impl FnMut(Met)) -> Result<(), String> {
        while let Some(e) = self.next_before(None)? {
            met(Met::Expected(e));
        }
        Ok(())
    }
}

/// Whether an ETag is a single-part one (not a multipart `…-N` one).
fn simple_etag(etag: &str) -> bool {
    !etag.contains('-')
}

/// The restored prefix must hold exactly the chosen versions: same keys, same sizes, and the
/// same content. Content is compared by ETag where both are content MD5s and equal; where
/// the source's ETag is no MD5 (SSE-KMS), or the two disagree (the target's may be no MD5
/// either, under a bucket's default SSE-KMS), by checksum or SHA-256 of both, a batch at a
/// time as the merge goes.
pub(crate) async fn restored_set(objects: &RestoredObjects) -> Result<Vec<Finding>, String> {
    let mut merge = Merge::new(objects.expected()?);
    let mut listing = objects.listing("");
    let mut out = Capped::default();
    let mut verify = Vec::new();
    while let Some(page) = listing.next_page().await? {
        for s in page {
            merge.stored(s, &mut |m| judge(m, &mut out, &mut verify))?;
        }
        if verify.len() >= CONTENT_BATCH {
            compare_content(objects, &mut verify, &mut out).await?;
        }
    }
    merge.finish(&mut |m| judge(m, &mut out, &mut verify))?;
    compare_content(objects, &mut verify, &mut out).await?;
    Ok(out.finish())
}

/// Compares the content of the (key, version id) pairs in `verify`, and empties it.
async fn compare_content(
    objects: &RestoredObjects,
    verify: &mut Vec<KeyVersion>,
    out: &mut Capped,
) -> Result<(), String> {
    let results = objects.same_content(verify).await;
    for ((key, _), r) in verify.drain(..).zip(results) {
        if let Some((expected, found)) = r? {
            out.push(finding(
                "changed",
                &key,
                expected,
                found,
                "the restored object's content differs from the version's",
            ));
        }
    }
    Ok(())
}

/// What one key of the merge shows: a finding the listings alone tell, or a (key, version
/// id) whose content must be compared.
fn judge(m: Met, out: &mut Capped, verify: &mut Vec<KeyVersion>) {
    match m {
        Met::Expected(e) => out.push(finding(
            "missing",
            &e.key,
            format!("version {} ({} bytes)", e.version_id, e.size),
            "no object".into(),
            "a version current at the restore point was not restored",
        )),
        Met::Stored(s) => out.push(finding(
            "extra",
            &s.key,
            "no object".into(),
            format!("{} bytes", s.size),
            "the target holds an object that was not current at the restore point",
        )),
        Met::Both(e, s) if s.size != e.size => out.push(finding(
            "changed",
            &e.key,
            format!("{} bytes", e.size),
            format!("{} bytes", s.size),
            "the restored object's size differs from the version's",
        )),
        Met::Both(e, s) if e.etag_is_md5() && s.etag == e.etag => {}
        // A multipart source's ETag depends on its parts: as before, not compared.
        Met::Both(e, _) if !simple_etag(&e.etag) => {}
        Met::Both(e, s) if simple_etag(&s.etag) => verify.push((e.key, e.version_id)),
        Met::Both(..) => {}
    }
}

/// The findings the two listings alone show (in order, capped), and the (key, version id)
/// pairs whose content must be compared: the merge of `restored_set`, on lists in memory.
#[cfg(test)]
pub(crate) fn compare_set(
    expected: Vec<SourceObject>,
    stored: Vec<StoredObject>,
) -> Result<(Vec<Finding>, Vec<KeyVersion>), String> {
    let mut merge = Merge::new(expected.into_iter().map(Ok));
    let mut out = Capped::default();
    let mut verify = Vec::new();
    for s in stored {
        merge.stored(s, &mut |m| judge(m, &mut out, &mut verify))?;
    }
    merge.finish(&mut |m| judge(m, &mut out, &mut verify))?;
    Ok((out.finish(), verify))
}

/// `s3_manifest`: the restored objects against a manifest from `restore-drill manifest --s3`:
/// every key present, none extra, sizes and SHA-256 equal. Only the part of the manifest that
/// lies under the restore's source prefix is compared.
pub(crate) async fn manifest(
    objects: &RestoredObjects,
    path: &Path,
    source_prefix: &str,
) -> Result<Vec<Finding>, String> {
    let m = Manifest::load(path)?;
    if m.kind != "s3" {
        return Err(format!(
            "{} is a {} manifest; an s3_manifest check needs one from `restore-drill manifest --s3`",
            path.display(),
            m.kind
        ));
    }
    let mprefix = m.prefix.clone().unwrap_or_default();
    let scope = if mprefix.starts_with(source_prefix) {
        mprefix
    } else if source_prefix.starts_with(&mprefix) {
        source_prefix.to_owned()
    } else {
        return Err(format!(
            "the manifest covers \"{mprefix}\" and the restore \"{source_prefix}\": they do not overlap"
        ));
    };
    let stored = objects.list(&scope).await?;
    let mut found: BTreeMap<&str, &StoredObject> =
        stored.iter().map(|s| (s.key.as_str(), s)).collect();
    let mut out = Vec::new();
    let mut to_hash = Vec::new();
    for o in m.objects.iter().filter(|o| o.key.starts_with(&scope)) {
        match found.remove(o.key.as_str()) {
            None => out.push(finding(
                "missing",
                &o.key,
                format!("{} bytes, sha256 {}", o.size, o.sha256),
                "no object".into(),
                "an object in the manifest was not restored",
            )),
            Some(s) if s.size != o.size => out.push(finding(
                "changed",
                &o.key,
                format!("{} bytes", o.size),
                format!("{} bytes", s.size),
                "the restored object's size differs from the manifest's",
            )),
            Some(_) => to_hash.push(o),
        }
    }
    for (key, s) in found {
        out.push(finding(
            "extra",
            key,
            "no object".into(),
            format!("{} bytes", s.size),
            "the restore holds an object the manifest does not",
        ));
    }
    let keys: Vec<String> = to_hash.iter().map(|o| o.key.clone()).collect();
    let hashes = objects.sha256(&keys).await;
    for (o, h) in to_hash.iter().zip(hashes) {
        match h {
            Ok(h) if h == o.sha256 => {}
            Ok(h) => out.push(finding(
                "changed",
                &o.key,
                format!("sha256 {}", o.sha256),
                format!("sha256 {h}"),
                "the restored object's content differs from the manifest's",
            )),
            Err(e) => return Err(e),
        }
    }
    out.sort_by(|a, b| a.object.cmp(&b.object));
    Ok(capped(out))
}

/// Freshness from the data: the newest `LastModified` among the restored versions that are
/// present in the target.
pub(crate) async fn freshness(objects: &RestoredObjects) -> Result<DateTime<Utc>, String> {
    let mut merge = Merge::new(objects.expected()?);
    let mut listing = objects.listing("");
    let mut newest: Option<DateTime<Utc>> = None;
    let mut met = |m| {
        if let Met::Both(e, _) = m {
            newest = newest.max(Some(e.last_modified));
        }
    };
    while let Some(page) = listing.next_page().await? {
        for s in page {
            merge.stored(s, &mut met)?;
        }
    }
    merge.finish(&mut met)?;
    newest.ok_or_else(|| format!("{} holds no restored object to date", objects.location()))
}

/// Canary objects under `prefix` (a source key prefix), each written at its `LastModified`:
/// none written after the restore point may be back, and some written before it must be.
pub(crate) async fn canary(
    objects: &RestoredObjects,
    prefix: &str,
) -> Result<Vec<Finding>, String> {
    let point = objects.restored_to();
    let under = objects
        .expected()?
        .filter(|e| e.as_ref().map_or(true, |e| e.key.starts_with(prefix)));
    let mut merge = Merge::new(under);
    let mut listing = objects.listing(prefix);
    let object = format!("canary {prefix}");
    let mut out = Vec::new();
    let mut newest_before: Option<DateTime<Utc>> = None;
    let mut stored = 0usize;
    let mut met = |m| match m {
        Met::Both(e, _) if e.last_modified <= point => {
            newest_before = newest_before.max(Some(e.last_modified));
        }
        Met::Both(e, s) => out.push(finding(
            "extra",
            &s.key,
            format!("no canary after {}", rfc3339(point)),
            format!("one written at {}", rfc3339(e.last_modified)),
            "the restore holds a canary written after its restore point",
        )),
        Met::Stored(s) => out.push(finding(
            "extra",
            &s.key,
            "no object".into(),
            format!("{} bytes", s.size),
            "a canary object that no version current at the restore point accounts for",
        )),
        Met::Expected(_) => {}
    };
    while let Some(page) = listing.next_page().await? {
        stored += page.len();
        for s in page {
            merge.stored(s, &mut met)?;
        }
    }
    merge.finish(&mut met)?;
    if newest_before.is_none() {
        out.push(finding(
            "missing",
            &object,
            format!("canaries written before {}", rfc3339(point)),
            format!("{stored} canary objects"),
            "no canary from before the restore point came back",
        ));
    }
    Ok(out)
}

/// `s3_replication_lag`: how far the restore's source, a replica, was behind `primary` at the
/// restore point. Returns the findings (the lag past `max_lag`) and the moment up to which the
/// replica was complete: the restore point when nothing is missing, else the `LastModified` of
/// the oldest version it lacked. That moment bounds the data the restore can hold, so it counts
/// toward the measured RPO.
pub(crate) async fn replication_lag(
    objects: &RestoredObjects,
    primary: &str,
    region: Option<&str>,
    max_lag: Option<std::time::Duration>,
    prefix: &str,
) -> Result<(Vec<Finding>, DateTime<Utc>), String> {
    let point = objects.restored_to();
    let behind = objects.unreplicated(primary, region, prefix).await?;
    let complete = behind
        .oldest
        .as_ref()
        .map_or(point, |o| o.last_modified.min(point));
    let lag = (point - complete).to_std().unwrap_or_default();
    let mut out = Vec::new();
    if let Some(max) = max_lag
        && lag > max
    {
        out.push(finding(
            "lag",
            &format!("s3://{primary}/{prefix}"),
            format!("at most {}", crate::drill::human(max)),
            format!(
                "{} behind: {} versions not in the replica, the oldest \"{}\" written at {}",
                crate::drill::human(lag),
                behind.count,
                behind
                    .oldest
                    .as_ref()
                    .map(|o| o.key.as_str())
                    .unwrap_or_default(),
                rfc3339(complete)
            ),
            "the replica was further behind its primary than allowed",
        ));
    }
    Ok((out, complete))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(key: &str, size: u64, etag: &str) -> SourceObject {
        SourceObject {
            key: key.into(),
            version_id: "v".into(),
            size,
            etag: etag.into(),
            last_modified: DateTime::from_timestamp(0, 0).unwrap(),
            storage_class: None,
            sha256: false,
            encryption: None,
            kms_key_id: None,
        }
    }

    fn got(key: &str, size: u64, etag: &str) -> StoredObject {
        StoredObject {
            key: key.into(),
            size,
            etag: etag.into(),
        }
    }

    fn kinds(f: &[Finding]) -> Vec<(&str, &str)> {
        f.iter()
            .map(|f| (f.kind.as_str(), f.object.as_str()))
            .collect()
    }

    #[test]
    fn set_differences_are_each_one_finding() {
        let expected = vec![
            src("a", 1, "\"x\""),
            src("b", 2, "\"y\""),
            src("c", 3, "\"z-2\""),
            src("d", 4, "\"w\""),
        ];
        let stored = vec![
            got("a", 1, "\"x\""),
            got("c", 3, "\"other\""),
            got("d", 4, "\"v\""),
            got("e", 5, "\"u\""),
        ];
        let (f, verify) = compare_set(expected.clone(), stored.clone()).unwrap();
        // c: a multipart ETag cannot be compared with a copy's; d: the ETags differ, so the
        // contents are compared.
        assert_eq!(kinds(&f), [("missing", "b"), ("extra", "e")]);
        assert_eq!(verify, [("d".to_owned(), "v".to_owned())]);
        let (f, verify) = compare_set(expected[..1].to_vec(), stored[..1].to_vec()).unwrap();
        assert!(f.is_empty() && verify.is_empty());
    }

    #[test]
    fn sse_kms_etags_are_never_compared_as_md5s() {
        let mut kms = src("k", 1, "\"x\"");
        kms.encryption = Some("aws:kms".into());
        kms.version_id = "3HL4kqtJlcpXroDTDmJ".into();
        // The same ETag proves nothing either: the content decides, of that very version.
        let (f, verify) = compare_set(vec![kms], vec![got("k", 1, "\"x\"")]).unwrap();
        assert!(f.is_empty());
        assert_eq!(verify, [("k".to_owned(), "3HL4kqtJlcpXroDTDmJ".to_owned())]);
    }

    #[test]
    fn the_merge_finds_each_difference_where_it_is() {
        let mut sse_s3 = src("f-sse-s3", 6, "\"m\"");
        sse_s3.encryption = Some("AES256".into());
        let mut kms_multipart = src("g-kms-multipart", 7, "\"k-3\"");
        kms_multipart.encryption = Some("aws:kms".into());
        let expected = vec![
            // Missing at the start, between two present keys, and at the end.
            src("a-missing", 1, "\"a\""),
            src("b-same", 2, "\"b\""),
            src("c-missing", 3, "\"c\""),
            src("d-resized", 4, "\"d\""),
            src("e-md5-differs", 5, "\"e\""),
            sse_s3,
            kms_multipart,
            src("h-multipart", 8, "\"h-2\""),
            src("z-missing", 9, "\"z\""),
        ];
        let stored = vec![
            got("0-extra", 1, "\"x\""),
            got("b-same", 2, "\"b\""),
            got("c-missinG-extra", 3, "\"c\""),
            got("d-resized", 40, "\"d\""),
            got("e-md5-differs", 5, "\"e2\""),
            // The same MD5 under SSE-S3: equal, not compared further.
            got("f-sse-s3", 6, "\"m\""),
            // Multipart sources are never compared by content.
            got("g-kms-multipart", 7, "\"other\""),
            got("h-multipart", 8, "\"other\""),
            got("y-extra", 1, "\"y\""),
        ];
        let (f, verify) = compare_set(expected, stored).unwrap();
        assert_eq!(
            kinds(&f),
            [
                ("extra", "0-extra"),
                ("missing", "a-missing"),
                ("extra", "c-missinG-extra"),
                ("missing", "c-missing"),
                ("changed", "d-resized"),
                ("extra", "y-extra"),
                ("missing", "z-missing"),
            ]
        );
        assert_eq!(f[4].expected, "4 bytes");
        assert_eq!(f[4].found, "40 bytes");
        assert_eq!(f[6].expected, "version v (9 bytes)");
        assert_eq!(verify, [("e-md5-differs".to_owned(), "v".to_owned())]);
        // A target whose ETag is itself no MD5 (multipart) tells nothing: not compared.
        let (f, verify) =
            compare_set(vec![src("k", 1, "\"a\"")], vec![got("k", 1, "\"b-2\"")]).unwrap();
        assert!(f.is_empty() && verify.is_empty());
        // Either side empty.
        let (f, _) = compare_set(Vec::new(), vec![got("x", 1, "\"x\"")]).unwrap();
        assert_eq!(kinds(&f), [("extra", "x")]);
        let (f, _) = compare_set(vec![src("x", 1, "\"x\"")], Vec::new()).unwrap();
        assert_eq!(kinds(&f), [("missing", "x")]);
    }

    #[test]
    fn the_merge_compares_keys_by_their_bytes() {
        // "Z" < "a" < "é" < "日" by UTF-8 bytes; keys with tabs and newlines are keys too.
        let keys = ["Z", "a", "a\nb", "a\tb", "é", "日"];
        let mut sorted = keys.to_vec();
        sorted.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        let expected: Vec<SourceObject> = sorted.iter().map(|k| src(k, 1, "\"x\"")).collect();
        let stored: Vec<StoredObject> = sorted.iter().map(|k| got(k, 1, "\"x\"")).collect();
        let (f, verify) = compare_set(expected, stored).unwrap();
        assert!(f.is_empty() && verify.is_empty(), "{f:?}");
    }

    #[test]
    fn findings_past_the_cap_are_counted_not_kept() {
        let n = MAX_FINDINGS + 250;
        let key = |i: usize| format!("k{i:06}");
        let expected: Vec<SourceObject> = (0..n)
            .filter(|i| i % 2 == 0)
            .map(|i| src(&key(i), 1, "\"x\""))
            .collect();
        let stored: Vec<StoredObject> = (0..n)
            .filter(|i| i % 2 == 1)
            .map(|i| got(&key(i), 1, "\"x\""))
            .collect();
        let (f, _) = compare_set(expected, stored).unwrap();
        assert_eq!(f.len(), MAX_FINDINGS + 1);
        // The first ones in key order, alternating missing and extra.
        assert_eq!(
            kinds(&f[..2]),
            [("missing", "k000000"), ("extra", "k000001")]
        );
        assert_eq!(f[MAX_FINDINGS - 1].object, key(MAX_FINDINGS - 1));
        let last = &f[MAX_FINDINGS];
        assert_eq!(last.kind, "truncated");
        assert_eq!(last.found, "250 more findings");
    }

    #[test]
    fn the_cap_keeps_the_first_findings_in_key_order_whatever_order_they_come_in() {
        // Content findings arrive after the merge has passed their keys.
        let mut c = Capped::default();
        let f = |k: String| finding("changed", &k, String::new(), String::new(), "");
        for i in (0..MAX_FINDINGS + 5).rev() {
            c.push(f(format!("k{i:06}")));
        }
        let out = c.finish();
        assert_eq!(out.len(), MAX_FINDINGS + 1);
        assert_eq!(out[0].object, "k000000");
        assert_eq!(
            out[MAX_FINDINGS - 1].object,
            format!("k{:06}", MAX_FINDINGS - 1)
        );
        assert_eq!(out[MAX_FINDINGS].found, "5 more findings");
        // Under the cap: nothing cut, no truncation finding.
        let out = capped(vec![f("b".into()), f("a".into())]);
        assert_eq!(kinds(&out), [("changed", "a"), ("changed", "b")]);
    }

    #[test]
    fn either_side_out_of_order_is_refused_naming_both_keys() {
        let e = compare_set(
            vec![src("b", 1, "\"x\""), src("a", 1, "\"x\"")],
            vec![got("c", 1, "\"x\"")],
        )
        .unwrap_err();
        assert!(
            e.contains("the restored set is not in key order: \"a\" came after \"b\""),
            "{e}"
        );
        // Found at the end too, with nothing in the target.
        let e =
            compare_set(vec![src("b", 1, "\"x\""), src("b", 1, "\"x\"")], Vec::new()).unwrap_err();
        assert!(e.contains("\"b\" came after \"b\""), "{e}");
        let e = compare_set(
            vec![src("a", 1, "\"x\"")],
            vec![got("b\t", 1, "\"x\""), got("b", 1, "\"x\"")],
        )
        .unwrap_err();
        assert!(
            e.contains("the target's listing is not in key order: \"b\" came after \"b\\t\""),
            "{e}"
        );
        // A reading error of the restored set is passed on, not taken as the set's end.
        let mut merge = Merge::new(
            vec![Ok(src("a", 1, "\"x\"")), Err("the disk is gone".to_owned())].into_iter(),
        );
        let mut met = Vec::new();
        merge
            .stored(got("a", 1, "\"x\""), &mut |m| met.push(m))
            .unwrap();
        let e = merge.finish(&mut |m| met.push(m)).unwrap_err();
        assert_eq!(e, "the disk is gone");
    }
}
