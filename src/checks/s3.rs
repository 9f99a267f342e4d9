//! Checks of restored S3 objects: the restored set against the versions resolve chose (run on
//! every `s3_versions` restore), `s3_manifest` (keys, sizes and SHA-256 against a manifest),
//! freshness from the data (newest `LastModified` restored) and canary objects.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};

use super::manifest::Manifest;
use crate::provider::aws::s3::{RestoredObjects, SourceObject, StoredObject};
use crate::report::Finding;

/// Findings listed one by one per check; past this, one more says how many were left out.
const MAX_FINDINGS: usize = 1000;

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
fn capped(mut f: Vec<Finding>) -> Vec<Finding> {
    if f.len() > MAX_FINDINGS {
        let more = f.len() - MAX_FINDINGS;
        f.truncate(MAX_FINDINGS);
        f.push(finding(
            "truncated",
            "",
            String::new(),
            format!("{more} more findings"),
            "only the first findings are listed",
        ));
    }
    f
}

/// Whether an ETag is a single-part one (not a multipart `…-N` one).
fn simple_etag(etag: &str) -> bool {
    !etag.contains('-')
}

/// The restored prefix must hold exactly the chosen versions: same keys, same sizes, and the
/// same content. Content is compared by ETag where both are content MD5s and equal; where
/// the source's ETag is no MD5 (SSE-KMS), or the two disagree (the target's may be no MD5
/// either, under a bucket's default SSE-KMS), by checksum or SHA-256 of both.
pub(crate) async fn restored_set(objects: &RestoredObjects) -> Result<Vec<Finding>, String> {
    let stored = objects.list("").await?;
    let (mut out, verify) = compare_set(objects.expected(), &stored);
    let results = objects.same_content(&verify).await;
    for (key, r) in verify.iter().zip(results) {
        if let Some((expected, found)) = r? {
            out.push(finding(
                "changed",
                key,
                expected,
                found,
                "the restored object's content differs from the version's",
            ));
        }
    }
    out.sort_by(|a, b| a.object.cmp(&b.object));
    Ok(capped(out))
}

/// The findings the listings alone show, and the keys whose content must be compared.
pub(crate) fn compare_set(
    expected: &[SourceObject],
    stored: &[StoredObject],
) -> (Vec<Finding>, Vec<String>) {
    let mut found: BTreeMap<&str, &StoredObject> =
        stored.iter().map(|s| (s.key.as_str(), s)).collect();
    let mut out = Vec::new();
    let mut verify = Vec::new();
    for e in expected {
        match found.remove(e.key.as_str()) {
            None => out.push(finding(
                "missing",
                &e.key,
                format!("version {} ({} bytes)", e.version_id, e.size),
                "no object".into(),
                "a version current at the restore point was not restored",
            )),
            Some(s) if s.size != e.size => out.push(finding(
                "changed",
                &e.key,
                format!("{} bytes", e.size),
                format!("{} bytes", s.size),
                "the restored object's size differs from the version's",
            )),
            Some(s) if e.etag_is_md5() && s.etag == e.etag => {}
            // A multipart source's ETag depends on its parts: as before, not compared.
            Some(_) if !simple_etag(&e.etag) => {}
            Some(s) if simple_etag(&s.etag) => verify.push(e.key.clone()),
            Some(_) => {}
        }
    }
    for (key, s) in found {
        out.push(finding(
            "extra",
            key,
            "no object".into(),
            format!("{} bytes", s.size),
            "the target holds an object that was not current at the restore point",
        ));
    }
    (out, verify)
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
    let stored = objects.list("").await?;
    let present: std::collections::HashSet<&str> = stored.iter().map(|s| s.key.as_str()).collect();
    objects
        .expected()
        .iter()
        .filter(|o| present.contains(o.key.as_str()))
        .map(|o| o.last_modified)
        .max()
        .ok_or_else(|| format!("{} holds no restored object to date", objects.location()))
}

/// Canary objects under `prefix` (a source key prefix), each written at its `LastModified`:
/// none written after the restore point may be back, and some written before it must be.
pub(crate) async fn canary(
    objects: &RestoredObjects,
    prefix: &str,
) -> Result<Vec<Finding>, String> {
    let point = objects.restored_to();
    let stored = objects.list(prefix).await?;
    let written: BTreeMap<&str, DateTime<Utc>> = objects
        .expected()
        .iter()
        .map(|o| (o.key.as_str(), o.last_modified))
        .collect();
    let object = format!("canary {prefix}");
    let mut out = Vec::new();
    let mut newest_before: Option<DateTime<Utc>> = None;
    for s in &stored {
        match written.get(s.key.as_str()) {
            Some(&t) if t <= point => newest_before = newest_before.max(Some(t)),
            Some(&t) => out.push(finding(
                "extra",
                &s.key,
                format!("no canary after {}", rfc3339(point)),
                format!("one written at {}", rfc3339(t)),
                "the restore holds a canary written after its restore point",
            )),
            None => out.push(finding(
                "extra",
                &s.key,
                "no object".into(),
                format!("{} bytes", s.size),
                "a canary object that no version current at the restore point accounts for",
            )),
        }
    }
    if newest_before.is_none() {
        out.push(finding(
            "missing",
            &object,
            format!("canaries written before {}", rfc3339(point)),
            format!("{} canary objects", stored.len()),
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
    let complete = behind.first().map_or(point, |o| o.last_modified.min(point));
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
                behind.len(),
                behind.first().map(|o| o.key.as_str()).unwrap_or_default(),
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

    #[test]
    fn set_differences_are_each_one_finding() {
        let expected = [
            src("a", 1, "\"x\""),
            src("b", 2, "\"y\""),
            src("c", 3, "\"z-2\""),
            src("d", 4, "\"w\""),
        ];
        let stored = [
            got("a", 1, "\"x\""),
            got("c", 3, "\"other\""),
            got("d", 4, "\"v\""),
            got("e", 5, "\"u\""),
        ];
        let (f, verify) = compare_set(&expected, &stored);
        let kinds: Vec<(&str, &str)> = f
            .iter()
            .map(|f| (f.kind.as_str(), f.object.as_str()))
            .collect();
        // c: a multipart ETag cannot be compared with a copy's; d: the ETags differ, so the
        // contents are compared.
        assert_eq!(kinds, [("missing", "b"), ("extra", "e")]);
        assert_eq!(verify, ["d"]);
        let (f, verify) = compare_set(&expected[..1], &stored[..1]);
        assert!(f.is_empty() && verify.is_empty());
    }

    #[test]
    fn sse_kms_etags_are_never_compared_as_md5s() {
        let mut kms = src("k", 1, "\"x\"");
        kms.encryption = Some("aws:kms".into());
        // The same ETag proves nothing either: the content decides.
        let (f, verify) = compare_set(&[kms], &[got("k", 1, "\"x\"")]);
        assert!(f.is_empty());
        assert_eq!(verify, ["k"]);
    }
}
