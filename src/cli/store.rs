//! `--store`: where a command records runs or reads them from, a reports folder or a shared
//! store in S3 (see `crate::store`).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::exit;
use crate::store::{STORE_ENV, Store, StoreUrl};

/// The store a command was given: `--store`, else `RESTORE_DRILL_STORE` unless `--reports`
/// names a folder of its own; `None` is the reports folder. The error says what is wrong.
pub fn chosen(store: Option<&str>, reports: &Path) -> Result<Option<StoreUrl>, String> {
    if let Some(s) = store {
        return StoreUrl::parse(s).map(Some);
    }
    match std::env::var(STORE_ENV) {
        Ok(v) if !v.trim().is_empty() && reports == Path::new("reports") => {
            StoreUrl::parse(v.trim())
                .map(Some)
                .map_err(|e| format!("{STORE_ENV}: {e}"))
        }
        _ => Ok(None),
    }
}

/// Opens the store (on the current runtime).
pub(super) async fn open(
    url: Option<&StoreUrl>,
    reports: &Path,
    retention: Option<crate::store::Retention>,
) -> Result<Store, String> {
    match url {
        Some(url) => Store::open_s3(url, retention).await,
        None if retention.is_some() => Err(
            "--store-retain-days needs a store in S3 (--store s3://BUCKET/PREFIX, or \
             RESTORE_DRILL_STORE): a local folder has no Object Lock"
                .to_owned(),
        ),
        None => Ok(Store::Local(reports.to_path_buf())),
    }
}

/// Runs `work` on the reports folder, or for a store in S3 on a copy of it laid out as a
/// reports folder in a temporary folder (removed afterwards).
pub fn with_reports<F>(store: Option<&str>, reports: &Path, err: &mut dyn Write, work: F) -> u8
where
    F: FnOnce(&Path, &mut dyn Write) -> u8,
{
    let url = match chosen(store, reports) {
        Ok(u) => u,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return exit::ERROR;
        }
    };
    let Some(url) = url else {
        return work(reports, err);
    };
    let dir = scratch_dir("read");
    let laid_out = super::runtime::with_result(|| async {
        let store = Store::open_s3(&url, None).await?;
        store.materialize(&dir).await
    });
    let code = match laid_out {
        Ok(Ok(())) => work(&dir, err),
        Ok(Err(e)) => {
            let _ = writeln!(err, "error: {e}");
            exit::ERROR
        }
        Err(e) => {
            let _ = writeln!(err, "error: cannot start the async runtime: {e}");
            exit::ERROR
        }
    };
    let _ = std::fs::remove_dir_all(&dir);
    code
}

/// A fresh, private folder under the temp dir for this process.
pub(super) fn scratch_dir(what: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    std::env::temp_dir().join(format!(
        "restore-drill-store-{what}-{}-{nanos}",
        std::process::id()
    ))
}
