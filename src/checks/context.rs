//! What a check needs to know about the run: where the restored database is, when it was
//! restored to, and where the other restores of the drill are.

use std::collections::HashMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};

use crate::drill::{Reference, Tls};

/// A database a check connects to.
#[derive(Clone, PartialEq, Eq)]
pub struct CheckTarget {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
    /// Never printed.
    pub password: Option<String>,
    pub tls: Tls,
    pub ca_bundle: Option<PathBuf>,
    /// The name the server's certificate must carry when `host` is a tunnel's address.
    pub server_name: Option<String>,
}

impl std::fmt::Debug for CheckTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckTarget")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database", &self.database)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("tls", &self.tls)
            .field("ca_bundle", &self.ca_bundle)
            .field("server_name", &self.server_name)
            .finish()
    }
}

tokio::task_local! {
    /// When the phase running the checks ends (set by the engine around `verify`).
    static DEADLINE: std::time::Instant;
}

/// Runs `work` (checks) with `deadline` as the end of their phase: every check session sets
/// `statement_timeout` to the time left, so the server stops a query at the phase's end even
/// if nothing is left on this side to cancel it.
pub async fn with_deadline<F: std::future::Future>(
    deadline: std::time::Instant,
    work: F,
) -> F::Output {
    DEADLINE.scope(deadline, work).await
}

/// A check's session. Dropping it before its query ends (a phase timeout, Ctrl-C) cancels the
/// query on the server: a scan of a production replica must not outlive the drill.
pub struct CheckClient {
    client: tokio_postgres::Client,
    cancel: Option<tokio_postgres::CancelToken>,
}

impl std::ops::Deref for CheckClient {
    type Target = tokio_postgres::Client;
    fn deref(&self) -> &tokio_postgres::Client {
        &self.client
    }
}

impl Drop for CheckClient {
    fn drop(&mut self) {
        // A cancel for an idle session is a no-op on the server; sent on every drop because
        // this side cannot tell whether the future holding it was cut off mid-query.
        if let (Some(token), Ok(rt)) = (self.cancel.take(), tokio::runtime::Handle::try_current()) {
            rt.spawn(async move {
                // The cancel request goes before authentication; the server accepts it plain.
                let _ = token.cancel_query(tokio_postgres::NoTls).await;
            });
        }
    }
}

impl CheckTarget {
    /// A read-only session in UTC: checks read, they never change what they check. Inside
    /// `with_deadline`, its statements time out on the server when the phase does.
    pub async fn client(&self) -> Result<CheckClient, String> {
        let client = super::tls::connect(&super::tls::Endpoint {
            host: &self.host,
            port: self.port,
            server_name: self.server_name.as_deref(),
            user: &self.user,
            database: &self.database,
            password: self.password.as_deref(),
            tls: self.tls,
            ca_bundle: self.ca_bundle.as_deref(),
        })
        .await
        .map_err(|e| {
            format!(
                "cannot connect to {}:{} database \"{}\": {e}",
                self.host, self.port, self.database
            )
        })?;
        let mut setup =
            String::from("SET default_transaction_read_only = on; SET TimeZone = 'UTC'");
        if let Ok(left) =
            DEADLINE.try_with(|d| d.saturating_duration_since(std::time::Instant::now()))
        {
            if left.is_zero() {
                return Err("the phase's time is up".into());
            }
            setup.push_str(&format!(
                "; SET statement_timeout = {}",
                left.as_millis().clamp(1, i32::MAX as u128)
            ));
        }
        client
            .batch_execute(&setup)
            .await
            .map_err(|e| format!("cannot set up the check session: {e}"))?;
        Ok(CheckClient {
            cancel: Some(client.cancel_token()),
            client,
        })
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

/// The database a `reference` names: another database (its password from the environment),
/// or another restore of the drill. A manifest is no database.
pub(crate) fn reference_target(
    reference: &Reference,
    cx: &CheckContext,
) -> Result<CheckTarget, String> {
    let c = match reference {
        Reference::Connect(c) => c,
        Reference::Restore(id) => {
            return cx.others.get(id).cloned().ok_or_else(|| {
                format!(
                    "restore \"{id}\" has no database to compare with (it is not in this drill, or it did not get as far as a running database)"
                )
            });
        }
        Reference::Manifest(path) => {
            return Err(format!("the manifest {} is not a database", path.display()));
        }
    };
    let password = match &c.password_env {
        // The variable's name only: its value is a password.
        Some(var) => Some(std::env::var(var).map_err(|e| {
            let what = match e {
                std::env::VarError::NotPresent => "is not set",
                std::env::VarError::NotUnicode(_) => "is not valid UTF-8",
            };
            format!("the environment variable {var} (reference.connect.password_env) {what}")
        })?),
        None => None,
    };
    Ok(CheckTarget {
        host: c.host.clone(),
        port: c.port,
        database: c.database.clone(),
        user: c.user.clone(),
        password,
        tls: c.tls,
        ca_bundle: c.ca_bundle.clone(),
        server_name: None,
    })
}

/// A quoted SQL identifier.
pub(crate) fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// A quoted, possibly schema-qualified table name as drills write it (`orders`, `sales.orders`).
pub(crate) fn quote_table(name: &str) -> String {
    name.split('.')
        .map(quote_ident)
        .collect::<Vec<_>>()
        .join(".")
}
