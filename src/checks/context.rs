//! What a check needs to know about the run: where the restored database is, when it was
//! restored to, and where the other restores of the drill are.

use std::collections::HashMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};

/// A database a check connects to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckTarget {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
    /// Never printed.
    pub password: Option<String>,
}

impl CheckTarget {
    /// A read-only session in UTC: checks read, they never change what they check.
    pub async fn client(&self) -> Result<tokio_postgres::Client, String> {
        let client = crate::provider::local::connect_to(
            &self.host,
            self.port,
            &self.user,
            &self.database,
            self.password.as_deref(),
        )
        .await
        .map_err(|e| {
            format!(
                "cannot connect to {}:{} database \"{}\": {e}",
                self.host, self.port, self.database
            )
        })?;
        client
            .batch_execute("SET default_transaction_read_only = on; SET TimeZone = 'UTC'")
            .await
            .map_err(|e| format!("cannot set up the check session: {e}"))?;
        Ok(client)
    }
}

/// Everything a check may use.
#[derive(Debug, Clone)]
pub struct CheckContext {
    /// The restored database this check is about.
    pub target: CheckTarget,
    /// The point in time the restore went back to; `None` = the end of the available data.
    pub restored_to: Option<DateTime<Utc>>,
    /// Where the PostgreSQL programs are (for `pg_amcheck`), when the drill says.
    pub pg_bin_dir: Option<PathBuf>,
    /// The other restores of the drill, by id (for `reference = { restore = "ID" }`).
    pub others: HashMap<String, CheckTarget>,
}

/// A database error's own message, without the driver's prefix.
pub(crate) fn db_error(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_owned(),
        None => e.to_string(),
    }
}
