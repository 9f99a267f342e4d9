//! `restore-drill manifest`: records a reference manifest of a database or an S3 prefix.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::runtime::with_signals;
use crate::exit;

/// What `restore-drill manifest` records, and where from.
#[derive(Debug, Clone)]
pub struct ManifestArgs {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
    pub password_env: Option<String>,
    /// `disable`, `require` or `verify-full`; `None`: disable on loopback, else require.
    pub tls: Option<String>,
    pub ca_bundle: Option<PathBuf>,
    /// `table:key[,key...]`
    pub tables: Vec<String>,
    pub schemas: Vec<String>,
    pub ranges: u32,
    pub out: PathBuf,
    /// Record an S3 prefix instead of a database.
    pub s3: Option<S3ManifestArgs>,
}

/// `restore-drill manifest --s3`.
#[derive(Debug, Clone)]
pub struct S3ManifestArgs {
    /// `s3://bucket/prefix`
    pub url: String,
    pub at: Option<chrono::DateTime<chrono::Utc>>,
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
}

/// `restore-drill manifest`: records row counts, hashes per key range and the schema of a
/// database, as the reference for `table_checksum` and `schema` checks.
pub fn manifest(args: &ManifestArgs, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    if let Some(s3) = &args.s3 {
        return s3_manifest(s3, &args.out, out, err);
    }
    let mut tables = Vec::new();
    for spec in &args.tables {
        match spec.split_once(':') {
            Some((t, keys)) if !t.is_empty() && keys.split(',').all(|k| !k.trim().is_empty()) => {
                tables.push((
                    t.to_owned(),
                    keys.split(',')
                        .map(|k| k.trim().to_owned())
                        .collect::<Vec<_>>(),
                ))
            }
            _ => {
                let _ = writeln!(
                    err,
                    "error: --table {spec}: expected TABLE:KEY or TABLE:KEY1,KEY2 (e.g. orders:id)"
                );
                return exit::INVALID;
            }
        }
    }
    if tables.is_empty() && args.schemas.is_empty() {
        let _ = writeln!(
            err,
            "error: nothing to record: give --table and/or --schema"
        );
        return exit::INVALID;
    }
    let password = match &args.password_env {
        Some(var) => match std::env::var(var) {
            Ok(p) => Some(p),
            Err(_) => {
                let _ = writeln!(
                    err,
                    "error: the environment variable {var} (--password-env) is not set"
                );
                return exit::ERROR;
            }
        },
        None => None,
    };
    let tls = match args.tls.as_deref() {
        Some("verify-full") => crate::drill::Tls::VerifyFull,
        Some("require") => crate::drill::Tls::Require,
        Some(_) => crate::drill::Tls::Disable,
        // As a drill's connect.tls: plain only where nothing leaves the machine.
        None if is_loopback(&args.host) => crate::drill::Tls::Disable,
        None => crate::drill::Tls::Require,
    };
    if tls == crate::drill::Tls::VerifyFull && args.ca_bundle.is_none() {
        let _ = writeln!(
            err,
            "error: --tls verify-full needs --ca-bundle (for RDS, the region's CA bundle, e.g. global-bundle.pem)"
        );
        return exit::INVALID;
    }
    let target = crate::checks::CheckTarget {
        host: args.host.clone(),
        port: args.port,
        database: args.database.clone(),
        user: args.user.clone(),
        password,
        tls,
        ca_bundle: args.ca_bundle.clone(),
        server_name: None,
    };
    with_signals(|_| async move {
        let manifest = match crate::checks::record_manifest(
            &target,
            &tables,
            &args.schemas,
            args.ranges,
        )
        .await
        {
            Ok(m) => m,
            Err(e) => {
                let _ = writeln!(err, "error: cannot record the manifest: {e}");
                return exit::ERROR;
            }
        };
        if let Err(code) = save(&args.out, &manifest, err) {
            return code;
        }
        for t in &manifest.tables {
            let _ = writeln!(
                out,
                "{}: {} rows in {} ranges (key {})",
                t.table,
                t.rows,
                t.ranges.len(),
                t.key.join(", ")
            );
        }
        if let Some(s) = &manifest.schema {
            let _ = writeln!(out, "schema: {} tables", s.tables.len());
        }
        let _ = writeln!(out, "manifest written to {}", args.out.display());
        exit::OK
    })
}

/// Writes a manifest as JSON to `path` (atomically, its folder made if needed); `Err` is the
/// exit code, after saying why on `err`.
fn save(path: &Path, manifest: &crate::checks::Manifest, err: &mut dyn Write) -> Result<(), u8> {
    let json = serde_json::to_vec_pretty(manifest).map_err(|e| {
        let _ = writeln!(err, "error: cannot encode the manifest: {e}");
        exit::ERROR
    })?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = std::fs::create_dir_all(dir);
    }
    crate::report::write_atomic(path, &json).map_err(|e| {
        let _ = writeln!(err, "error: cannot write {}: {e}", path.display());
        exit::ERROR
    })
}

/// Whether `host` names this machine (no TLS needed by default).
fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `restore-drill manifest --s3`: key, size and SHA-256 of every object under a prefix (the
/// versions current at `--at`), for `s3_manifest` checks.
pub(super) fn s3_manifest(
    args: &S3ManifestArgs,
    path: &Path,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let Some((bucket, prefix)) = args
        .url
        .strip_prefix("s3://")
        .map(|r| r.split_once('/').unwrap_or((r, "")))
        .filter(|(b, _)| !b.is_empty())
    else {
        let _ = writeln!(err, "error: --s3 {}: expected s3://BUCKET/PREFIX", args.url);
        return exit::INVALID;
    };
    let Some(settings) = crate::provider::aws::AwsSettings::of(&crate::drill::ProviderSpec::Aws {
        region: args.region.clone(),
        profile: args.profile.clone(),
        endpoint_url: args.endpoint_url.clone(),
        role: None,
    }) else {
        return exit::ERROR;
    };
    with_signals(|_| async move {
        let manifest =
            match crate::checks::record_s3_manifest(&settings, bucket, prefix, args.at, 32).await {
                Ok(m) => m,
                Err(e) => {
                    let _ = writeln!(err, "error: cannot record the manifest: {e}");
                    return exit::ERROR;
                }
            };
        if let Err(code) = save(path, &manifest, err) {
            return code;
        }
        let bytes: u64 = manifest.objects.iter().map(|o| o.size).sum();
        let _ = writeln!(
            out,
            "s3://{bucket}/{prefix}: {} objects, {bytes} bytes, as of {}",
            manifest.objects.len(),
            manifest
                .as_of
                .unwrap_or(manifest.taken_at)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
        let _ = writeln!(out, "manifest written to {}", path.display());
        exit::OK
    })
}
