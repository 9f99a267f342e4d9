//! `restore-drill evidence export | verify | keygen`: argument parsing (clap) and the
//! commands behind it. Each command writes its result to `out`, its diagnostics to `err`, and
//! returns the exit code. The secret key is never written to either.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::evidence::verify_bundle;
use crate::evidence::{ExportRequest, Exported, export_bundle, out_paths};
use crate::evidence::{
    PUBLIC_KEY_ENV, PublicKey, SIGNING_KEY_ENV, SecretKey, parse_public_key, parse_secret_key,
    wipe_string, write_key_pair,
};
use crate::exit;

const EXPORT_HELP: &str = "\
Examples:
  restore-drill evidence keygen --out ~/.config/restore-drill/evidence.key
  restore-drill evidence export --since 2026-01-01 --until 2026-03-31 \\
      --signing-key ~/.config/restore-drill/evidence.key --out evidence-2026q1
  RESTORE_DRILL_SIGNING_KEY=\"$EVIDENCE_KEY\" restore-drill evidence export --drill orders-db \\
      --out s3://acme-audit-evidence/restore-drill --retain-days 2555 --lock-mode compliance

A DATE is YYYY-MM-DD (--since: from its start, --until: to its end) or an RFC 3339 time; a
time without a zone is UTC. --until defaults to now.

Exit codes: 0 bundle written; 50 written, but the history or a report was already altered or
missing when exported (the index says what); 30 error (no signing key, unreadable reports,
upload refused).";

const VERIFY_HELP: &str = "\
Examples:
  restore-drill evidence verify evidence-2026q1 --public-key evidence.key.pub
  restore-drill evidence verify evidence-2026q1.tar.gz --public-key evidence.key.pub

Without --public-key (or RESTORE_DRILL_PUBLIC_KEY) the signature is checked against the key
the bundle names: that shows the files are as signed, not who signed them.

Exit codes: 0 everything holds; 50 something does not (each problem is printed); 30 the
bundle or the key cannot be read.";

#[derive(Debug, clap::Subcommand)]
// Parsed once per process: the size of the export variant costs nothing.
#[allow(clippy::large_enum_variant)]
pub enum EvidenceCommand {
    /// Export a signed evidence bundle of the runs of a period, for auditors.
    ///
    /// Writes a folder and a .tar.gz of it: index.html and index.md (every run with verdict,
    /// measured and target RTO/RPO, recovery point, target and its isolation, checks, drill
    /// file and SHA-256, tool version, operator; a section per control framework: SOC 2
    /// A1.3, ISO 27001 A.8.13, PCI DSS 12.10.2, HIPAA 164.308(a)(7)(ii)(D), DORA Art. 12,
    /// with what answers it and what is missing), every run's report files, the history rows
    /// of the period with their hash chain, MANIFEST.sha256 over every file and its Ed25519
    /// signature. With --out s3://BUCKET/PREFIX the bundle is uploaded under S3 Object Lock.
    #[command(after_help = EXPORT_HELP)]
    Export {
        /// Runs started at or after this date or time.
        #[arg(long, value_name = "DATE", value_parser = parse_since)]
        since: Option<DateTime<Utc>>,
        /// Runs started at or before this date or time (default: now).
        #[arg(long, value_name = "DATE", value_parser = parse_until)]
        until: Option<DateTime<Utc>>,
        /// Only this drill.
        #[arg(long, value_name = "NAME")]
        drill: Option<String>,
        /// The reports folder holding history.csv and the run folders.
        #[arg(long, value_name = "DIR", default_value = "reports")]
        reports: PathBuf,
        /// Export from a store in S3 instead of --reports: s3://BUCKET/PREFIX (else the
        /// RESTORE_DRILL_STORE variable).
        #[arg(long, value_name = "S3_URL", conflicts_with = "reports")]
        store: Option<String>,
        /// The drills folder: current tiers and schedules, and tiers.toml.
        #[arg(long, value_name = "DIR", default_value = "drills")]
        drills: PathBuf,
        /// Where the bundle goes: PATH (folder) and PATH.tar.gz, or s3://BUCKET/PREFIX.
        #[arg(long, value_name = "PATH")]
        out: String,
        /// The Ed25519 secret key file (else the RESTORE_DRILL_SIGNING_KEY variable).
        #[arg(long, value_name = "FILE")]
        signing_key: Option<PathBuf>,
        /// S3: keep every object locked for this many days.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=36500))]
        retain_days: Option<u32>,
        /// S3: the Object Lock mode.
        #[arg(long, value_enum)]
        lock_mode: Option<LockModeArg>,
        /// S3: the AWS region (else AWS_REGION).
        #[arg(long)]
        region: Option<String>,
        /// S3: the AWS profile.
        #[arg(long)]
        profile: Option<String>,
        /// S3: an S3-compatible endpoint (path-style addressing), else AWS_ENDPOINT_URL.
        #[arg(long, value_name = "URL")]
        endpoint_url: Option<String>,
    },
    /// Verify a bundle: signature, every file, the history chain; name every difference.
    ///
    /// PATH is the bundle folder or its .tar.gz. Prints each file changed, added or removed
    /// since the bundle was signed, each broken link of the history chain, and each report
    /// whose SHA-256 differs from its history row. Exits 0 only when all of it holds.
    #[command(after_help = VERIFY_HELP)]
    Verify {
        /// The bundle folder or .tar.gz.
        path: PathBuf,
        /// The public key the bundle must be signed by (else RESTORE_DRILL_PUBLIC_KEY).
        #[arg(long, value_name = "FILE")]
        public_key: Option<PathBuf>,
    },
    /// Make an Ed25519 signing key: FILE (secret, mode 0600) and FILE.pub (give to auditors).
    #[command(
        after_help = "Example:\n  restore-drill evidence keygen --out ~/.config/restore-drill/evidence.key\n\nNeither file is ever overwritten. Store the secret key in your CI's secret store\n(its whole text, or the hex after ed25519-secret-key, as RESTORE_DRILL_SIGNING_KEY)."
    )]
    Keygen {
        /// The secret key file to write; the public key goes to FILE.pub.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LockModeArg {
    /// No one can delete or shorten the lock before it expires, not even the account root.
    Compliance,
    /// Users with s3:BypassGovernanceRetention can remove it.
    Governance,
}

/// `--since`: a date is its first moment (the one time parser every command uses).
fn parse_since(text: &str) -> Result<DateTime<Utc>, String> {
    crate::drill::parse_time_arg(text)
}

/// `--until`: a date is its last moment, so `--until 2026-03-31` includes that day.
fn parse_until(text: &str) -> Result<DateTime<Utc>, String> {
    crate::drill::parse_until_arg(text)
}

/// Runs one `evidence` command.
pub fn run(cmd: &EvidenceCommand, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    match cmd {
        EvidenceCommand::Keygen { out: path } => keygen(path, out, err),
        EvidenceCommand::Verify { path, public_key } => {
            verify(path, public_key.as_deref(), out, err)
        }
        EvidenceCommand::Export {
            since,
            until,
            drill,
            reports,
            store,
            drills,
            out: dest,
            signing_key,
            retain_days,
            lock_mode,
            region,
            profile,
            endpoint_url,
        } => {
            let s3 = S3Options {
                retain_days: *retain_days,
                lock_mode: *lock_mode,
                region: region.clone(),
                profile: profile.clone(),
                endpoint_url: endpoint_url.clone(),
            };
            super::store::with_reports(store.as_deref(), reports, err, |dir, err| {
                let req = ExportRequest {
                    reports: dir.to_path_buf(),
                    drills: drills.clone(),
                    since: *since,
                    until: *until,
                    drill: drill.clone(),
                    now: Utc::now(),
                };
                export(&req, dest, signing_key.as_deref(), &s3, out, err)
            })
        }
    }
}

fn keygen(path: &Path, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    match write_key_pair(path) {
        Ok((public_path, public)) => {
            let _ = writeln!(
                out,
                "secret key written to {} (mode 0600; keep it secret)\npublic key written to \
                 {}\npublic key: {public}",
                path.display(),
                public_path.display()
            );
            exit::OK
        }
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            exit::ERROR
        }
    }
}

/// The signing key from `--signing-key FILE` or the environment. Never echoes it.
fn signing_key(file: Option<&Path>, err: &mut dyn Write) -> Result<SecretKey, String> {
    match file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read the signing key {}: {e}", path.display()))?;
            if let Ok(meta) = std::fs::metadata(path)
                && meta.permissions().mode() & 0o077 != 0
            {
                let _ = writeln!(
                    err,
                    "warning: {} can be read by other users (mode {:o}); chmod 600 it",
                    path.display(),
                    meta.permissions().mode() & 0o777
                );
            }
            let key = parse_secret_key(&text, &path.display().to_string());
            wipe_string(text);
            key
        }
        None => match std::env::var(SIGNING_KEY_ENV) {
            Ok(text) if !text.trim().is_empty() => {
                let key = parse_secret_key(&text, SIGNING_KEY_ENV);
                wipe_string(text);
                key
            }
            _ => Err(format!(
                "no signing key: pass --signing-key FILE or set {SIGNING_KEY_ENV} (make a key \
                 with: restore-drill evidence keygen --out FILE)"
            )),
        },
    }
}

/// S3 destination settings.
#[derive(Debug, Clone, Default)]
pub struct S3Options {
    pub retain_days: Option<u32>,
    pub lock_mode: Option<LockModeArg>,
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
}

fn export(
    req: &ExportRequest,
    dest: &str,
    key_file: Option<&Path>,
    s3: &S3Options,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let s3_dest = dest.strip_prefix("s3://");
    if s3_dest.is_none()
        && (s3.retain_days.is_some()
            || s3.lock_mode.is_some()
            || s3.region.is_some()
            || s3.profile.is_some()
            || s3.endpoint_url.is_some())
    {
        let _ = writeln!(
            err,
            "error: --retain-days, --lock-mode, --region, --profile and --endpoint-url apply \
             only to --out s3://BUCKET/PREFIX"
        );
        return exit::ERROR;
    }
    let key = match signing_key(key_file, err) {
        Ok(k) => k,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return exit::ERROR;
        }
    };
    match s3_dest {
        None => {
            let (dir, tarball) = out_paths(Path::new(dest));
            match export_bundle(req, &key, &dir, &tarball) {
                Ok(done) => report_export(&done, out, err),
                Err(e) => {
                    let _ = writeln!(err, "error: {e}");
                    exit::ERROR
                }
            }
        }
        Some(rest) => export_s3(req, &key, rest, s3, out, err),
    }
}

/// Prints what was exported; the exit code says whether the evidence was already damaged.
fn report_export(done: &Exported, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let info = &done.info;
    for w in &done.warnings {
        let _ = writeln!(err, "warning: {w}");
    }
    let _ = writeln!(
        out,
        "bundle written to {} ({} files, MANIFEST.sha256 and its signature) and {}",
        done.dir.display(),
        done.files.len(),
        done.tarball.display()
    );
    let _ = writeln!(
        out,
        "{}; history rows {}; signed by {}",
        runs_of_drills(info),
        match (
            info.history.source_first_line,
            info.history.source_last_line
        ) {
            (Some(a), Some(z)) => format!("{a}-{z}"),
            _ => "none".to_owned(),
        },
        info.signing_key
    );
    for c in &info.controls {
        let runs = c.answered_by.len();
        let _ = writeln!(
            out,
            "{} {}: {} ({runs} run{} answer{} it, {} missing)",
            c.framework,
            c.control,
            c.status,
            if runs == 1 { "" } else { "s" },
            if runs == 1 { "s" } else { "" },
            c.missing.len()
        );
    }
    let gaps: Vec<&str> = info
        .drills
        .iter()
        .flat_map(|d| d.gaps.iter().map(|g| g.message.as_str()))
        .collect();
    for g in &gaps {
        let _ = writeln!(out, "gap: {g}");
    }
    if info.problems.is_empty() {
        exit::OK
    } else {
        for p in &info.problems {
            let _ = writeln!(err, "problem: {p}");
        }
        let _ = writeln!(
            err,
            "error: the evidence was already damaged or incomplete when exported ({} \
             problem{}; the bundle records them)",
            info.problems.len(),
            if info.problems.len() == 1 { "" } else { "s" }
        );
        exit::UNVERIFIED
    }
}

/// `3 runs of 1 drill`.
fn runs_of_drills(info: &crate::evidence::BundleInfo) -> String {
    let s = |n: usize| if n == 1 { "" } else { "s" };
    let (r, d) = (info.runs.len(), info.drills.len());
    format!("{r} run{} of {d} drill{}", s(r), s(d))
}

fn export_s3(
    req: &ExportRequest,
    key: &SecretKey,
    dest: &str,
    s3: &S3Options,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    use crate::provider::aws::evidence_upload::{LockMode, UploadObject, upload_locked};
    let (bucket, prefix) = dest.split_once('/').unwrap_or((dest, ""));
    let prefix = prefix.trim_matches('/');
    if bucket.is_empty() {
        let _ = writeln!(err, "error: --out s3://BUCKET/PREFIX: no bucket");
        return exit::ERROR;
    }
    let (Some(days), Some(mode)) = (s3.retain_days, s3.lock_mode) else {
        let _ = writeln!(
            err,
            "error: --out s3://… needs --retain-days N and --lock-mode compliance|governance \
             (evidence is uploaded only under Object Lock)"
        );
        return exit::ERROR;
    };
    let mode = match mode {
        LockModeArg::Compliance => LockMode::Compliance,
        LockModeArg::Governance => LockMode::Governance,
    };
    let name = format!("evidence-{}", req.now.format("%Y%m%dT%H%M%SZ"));
    let tmp = match tempfile::Builder::new()
        .prefix("restore-drill-evidence-")
        .tempdir()
    {
        Ok(t) => t,
        Err(e) => {
            let _ = writeln!(err, "error: cannot make a temporary folder: {e}");
            return exit::ERROR;
        }
    };
    let dir = tmp.path().join(&name);
    let tarball = tmp.path().join(format!("{name}.tar.gz"));
    let done = match export_bundle(req, key, &dir, &tarball) {
        Ok(d) => d,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return exit::ERROR;
        }
    };
    let key_of = |rel: &str| {
        if prefix.is_empty() {
            rel.to_owned()
        } else {
            format!("{prefix}/{rel}")
        }
    };
    let mut objects = vec![UploadObject {
        key: key_of(&format!("{name}.tar.gz")),
        path: tarball.clone(),
    }];
    // Every file the bundle holds, as export listed them: no second read and hash.
    let signed = [crate::evidence::MANIFEST, crate::evidence::SIGNATURE].map(str::to_owned);
    objects.extend(done.files.iter().chain(&signed).map(|rel| UploadObject {
        key: key_of(&format!("{name}/{rel}")),
        path: dir.join(rel),
    }));
    let settings = match crate::provider::aws::AwsSettings::of(&crate::drill::ProviderSpec::Aws {
        region: s3.region.clone(),
        profile: s3.profile.clone(),
        endpoint_url: s3.endpoint_url.clone(),
        role: None,
    }) {
        Some(s) => s,
        None => {
            let _ = writeln!(err, "error: cannot build the AWS settings");
            return exit::ERROR;
        }
    };
    let retain_until = req.now + chrono::Duration::days(i64::from(days));
    let uploaded = match super::runtime::with_result(|| {
        upload_locked(&settings, bucket, &objects, mode, retain_until)
    }) {
        Ok(uploaded) => uploaded,
        Err(e) => {
            let _ = writeln!(err, "error: cannot start the async runtime: {e}");
            return exit::ERROR;
        }
    };
    let code = report_export(&done, &mut std::io::sink(), err);
    match uploaded {
        Ok(objs) => {
            let _ = writeln!(
                out,
                "uploaded {} objects to s3://{bucket}/{}, locked ({}) until {}",
                objs.len(),
                key_of(&name),
                mode.as_str(),
                crate::evidence::day(retain_until)
            );
            for o in &objs {
                let _ = writeln!(
                    out,
                    "s3://{bucket}/{} version {}",
                    o.key,
                    o.version_id.as_deref().unwrap_or("-")
                );
            }
            let info = &done.info;
            let _ = writeln!(
                out,
                "{}; signed by {}",
                runs_of_drills(info),
                info.signing_key
            );
            code
        }
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            exit::ERROR
        }
    }
}

/// The trusted public key from `--public-key FILE` or the environment, if any.
fn trusted_key(file: Option<&Path>) -> Result<Option<PublicKey>, String> {
    match file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read the public key {}: {e}", path.display()))?;
            parse_public_key(&text, &path.display().to_string()).map(Some)
        }
        None => match std::env::var(PUBLIC_KEY_ENV) {
            Ok(text) if !text.trim().is_empty() => {
                parse_public_key(&text, PUBLIC_KEY_ENV).map(Some)
            }
            _ => Ok(None),
        },
    }
}

fn verify(path: &Path, key_file: Option<&Path>, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let trusted = match trusted_key(key_file) {
        Ok(k) => k,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return exit::ERROR;
        }
    };
    let v = match verify_bundle(path, trusted.as_ref()) {
        Ok(v) => v,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return exit::ERROR;
        }
    };
    for p in &v.problems {
        let _ = writeln!(out, "{p}");
    }
    if v.holds() {
        let by = v
            .signer
            .as_ref()
            .map_or_else(|| "?".to_owned(), ToString::to_string);
        let _ = writeln!(
            out,
            "verified: {} ({}): signature by {by}, {} files match MANIFEST.sha256, {} history \
             rows chained, {} reports match their history rows, {} runs signed when they \
             ended",
            path.display(),
            v.kind,
            v.files,
            v.history_rows,
            v.reports_checked,
            v.runs_signed
        );
        if !v.runs_unsigned.is_empty() {
            let n = v.runs_unsigned.len();
            let _ = writeln!(
                err,
                "note: {n} run{} not signed when {} ended (no {SIGNING_KEY_ENV} on the runner), \
                 so {} report{} rest only on the history chain and the bundle's signature: {}",
                if n == 1 { " was" } else { "s were" },
                if n == 1 { "it" } else { "they" },
                if n == 1 { "its" } else { "their" },
                if n == 1 { "" } else { "s" },
                v.runs_unsigned.join(", ")
            );
        }
        if !v.trusted {
            let _ = writeln!(
                err,
                "warning: no --public-key (or {PUBLIC_KEY_ENV}) was given, so the signature \
                 was checked against the key the bundle names ({by}): the files are as signed, \
                 but who signed them is not established"
            );
        }
        exit::OK
    } else {
        let n = v.problems.len();
        let _ = writeln!(
            out,
            "NOT VERIFIED: {} ({}): {n} problem{}",
            path.display(),
            v.kind,
            if n == 1 { "" } else { "s" }
        );
        exit::UNVERIFIED
    }
}
