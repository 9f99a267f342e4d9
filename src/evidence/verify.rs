//! Checking a bundle (its folder or its `.tar.gz`): the signature over the manifest, every
//! file against the manifest (naming each file changed, added or removed), the history
//! rows' hash chain, and each run's `report.json` against the hash its history row recorded.
//! Every problem is collected; none stops the others from being checked.

use std::collections::BTreeSet;
use std::path::Path;

use super::bundle::{BUNDLE_FILE, BundleInfo, FORMAT};
use super::chain::{HISTORY_FILE, check_segment};
use super::keys::{PublicKey, RUN_SIGNATURE, SignatureFile, run_message};
use super::manifest::{MANIFEST, SIGNATURE, parse_manifest, read_tree};

/// What `verify` found.
#[derive(Debug)]
pub struct Verification {
    /// `directory` or `tar.gz`.
    pub kind: &'static str,
    /// The key the signature file names.
    pub signer: Option<PublicKey>,
    /// Whether the signature was checked against a key the caller trusts.
    pub trusted: bool,
    /// Files the manifest lists.
    pub files: usize,
    pub history_rows: usize,
    pub reports_checked: usize,
    /// Runs whose `report.sig` verified against the trusted key (or the key it names).
    pub runs_signed: usize,
    /// Runs without a `report.sig` (recorded by a runner without a signing key).
    pub runs_unsigned: Vec<String>,
    /// Everything that does not hold, in a fixed order: signature, files, history, reports.
    pub problems: Vec<String>,
}

impl Verification {
    pub fn holds(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Verifies the bundle at `path`. `trusted` is the public key the signature must be by;
/// without it the key the bundle names is used, which shows integrity but not who signed.
/// `Err` only when the bundle cannot be read at all.
pub fn verify_bundle(path: &Path, trusted: Option<&PublicKey>) -> Result<Verification, String> {
    let run_sig = format!("*/{RUN_SIGNATURE}");
    let tree = read_tree(
        path,
        &[
            MANIFEST,
            SIGNATURE,
            BUNDLE_FILE,
            HISTORY_FILE,
            run_sig.as_str(),
        ],
    )
    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut v = Verification {
        kind: tree.kind,
        signer: None,
        trusted: false,
        files: 0,
        history_rows: 0,
        reports_checked: 0,
        runs_signed: 0,
        runs_unsigned: Vec::new(),
        problems: Vec::new(),
    };
    let text = |name: &str| {
        tree.contents
            .get(name)
            .map(|b| String::from_utf8_lossy(b).into_owned())
    };

    // The signature.
    let manifest = text(MANIFEST);
    match (&manifest, text(SIGNATURE)) {
        (None, _) => v.problems.push(format!(
            "removed: {MANIFEST} (without it no file can be checked)"
        )),
        (Some(_), None) => v
            .problems
            .push(format!("removed: {SIGNATURE} (the bundle is not signed)")),
        (Some(m), Some(sig)) => match SignatureFile::parse(&sig) {
            Err(e) => v.problems.push(format!("{SIGNATURE}: {e}")),
            Ok(sig) => {
                match trusted {
                    Some(key) if *key != sig.signer => v.problems.push(format!(
                        "signature: made by {}, not by the trusted key {key}",
                        sig.signer
                    )),
                    _ => {
                        let key = trusted.unwrap_or(&sig.signer);
                        // Over the manifest's own bytes, not a lossily decoded copy.
                        let raw = tree
                            .contents
                            .get(MANIFEST)
                            .map_or(m.as_bytes(), Vec::as_slice);
                        if sig.verifies(key, raw) {
                            v.trusted = trusted.is_some();
                        } else {
                            v.problems.push(format!(
                                "signature: does not match {MANIFEST} (the manifest was \
                                 changed after it was signed)"
                            ));
                        }
                    }
                }
                v.signer = Some(sig.signer);
            }
        },
    }

    // Every file against the manifest.
    if let Some(m) = &manifest {
        let (listed, bad_lines) = parse_manifest(m);
        v.problems.extend(bad_lines);
        v.files = listed.len();
        // A bundle always lists its description and its history: without them nothing
        // below could be checked, and an empty manifest would "verify".
        for required in [BUNDLE_FILE, HISTORY_FILE] {
            if !listed.contains_key(required) {
                v.problems.push(format!(
                    "{MANIFEST} does not list {required}: not a complete evidence bundle"
                ));
            }
        }
        let mut paths: BTreeSet<&str> = listed.keys().map(String::as_str).collect();
        paths.extend(tree.hashes.keys().map(String::as_str));
        for p in paths {
            if p == MANIFEST || p == SIGNATURE {
                continue;
            }
            match (listed.get(p), tree.hashes.get(p)) {
                (Some(want), Some(got)) if want != got => v.problems.push(format!("changed: {p}")),
                (Some(_), None) => v.problems.push(format!("removed: {p}")),
                (None, Some(_)) => v.problems.push(format!("added: {p}")),
                _ => {}
            }
        }
    }
    v.problems.extend(tree.problems.iter().cloned());

    // The history chain, and each report against its row.
    // A missing description or history is named above: as removed, or as not listed.
    let info = match text(BUNDLE_FILE) {
        None => None,
        Some(t) => match serde_json::from_str::<BundleInfo>(&t) {
            Ok(i) if i.format == FORMAT => Some(i),
            Ok(i) => {
                v.problems.push(format!(
                    "{BUNDLE_FILE}: format \"{}\" is not {FORMAT}",
                    i.format
                ));
                None
            }
            Err(e) => {
                v.problems
                    .push(format!("{BUNDLE_FILE}: not a bundle description: {e}"));
                None
            }
        },
    };
    if let (Some(info), Some(history)) = (&info, text(HISTORY_FILE)) {
        let (problems, rows) = check_segment(&history, &info.history.anchor);
        v.problems.extend(problems);
        v.history_rows = rows.len();
        for run in &info.runs {
            let (Some(dir), Some(row_hash)) = (&run.dir, &run.row_hash) else {
                continue;
            };
            let file = format!("{dir}/report.json");
            let Some(got) = tree.hashes.get(&file) else {
                continue; // reported as removed (or never there: said at export)
            };
            match rows.iter().find(|r| &r.row_hash == row_hash) {
                None => v.problems.push(format!(
                    "{file}: its history row (row hash {}…) is not in {HISTORY_FILE}",
                    &row_hash[..row_hash.len().min(16)]
                )),
                Some(row) if row.report_sha256 != *got => v.problems.push(format!(
                    "{file}: SHA-256 differs from the one its history row recorded \
                     ({HISTORY_FILE} line {})",
                    row.line
                )),
                Some(_) => v.reports_checked += 1,
            }
            // The run's own signature, made when it ended: an edit of the report (even with
            // its row and the whole chain recomputed) no longer matches it.
            let sig_file = format!("{dir}/{RUN_SIGNATURE}");
            match tree.contents.get(&sig_file) {
                None => v
                    .runs_unsigned
                    .push(format!("{}/{}", run.drill, run.run_id)),
                Some(bytes) => match SignatureFile::parse(&String::from_utf8_lossy(bytes)) {
                    Err(e) => v.problems.push(format!("{sig_file}: {e}")),
                    Ok(sig) => {
                        let key = trusted.unwrap_or(&sig.signer);
                        if trusted.is_some_and(|t| *t != sig.signer) {
                            v.problems.push(format!(
                                "run {}/{}: signed by {}, not by the trusted key {key}",
                                run.drill, run.run_id, sig.signer
                            ));
                        } else if sig.verifies(key, &run_message(&run.drill, &run.run_id, got)) {
                            v.runs_signed += 1;
                        } else {
                            v.problems.push(format!(
                                "run {}/{}: report.json does not match the signature made when \
                                 the run ended ({sig_file}): changed after the run",
                                run.drill, run.run_id
                            ));
                        }
                    }
                },
            }
        }
    }
    Ok(v)
}
