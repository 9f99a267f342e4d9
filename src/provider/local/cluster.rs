//! A throw-away "production" PostgreSQL cluster with WAL archiving: the source that the demo,
//! the tests and the benchmark back up and then restore. It is a real server, started with
//! `initdb` on a free loopback port in a directory of the caller's.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::pg::{PgEnv, PgError, Server, connect, free_port, io, poll_until};

/// A running source cluster, its WAL archive, and where base backups go.
#[derive(Debug)]
pub struct SourceCluster {
    pub pg: PgEnv,
    pub root: PathBuf,
    pub data_dir: PathBuf,
    /// What `archive_command` writes: the `wal_archive` of a `pg_pitr` restore.
    pub wal_archive: PathBuf,
    /// Where `base_backup` puts backups: the `base_backups` of a `pg_pitr` restore.
    pub base_backups: PathBuf,
    pub server: Server,
    /// Whether `archive_command` was the caller's (then `wal_archive` stays empty).
    custom_archive: bool,
}

/// How to start a source cluster; the default archives into `root/wal`.
#[derive(Debug, Clone, Default)]
pub struct SourceOptions {
    /// An `archive_command` instead of the copy into `root/wal` (e.g. pgBackRest's
    /// `archive-push %p`).
    pub archive_command: Option<String>,
    /// More environment for the source's `postgres` (the tests give it a fake clock with
    /// `LD_PRELOAD=libfaketime.so.1`).
    pub env: Vec<(String, String)>,
}

impl SourceCluster {
    /// `initdb`s a cluster under `root` (created if missing) with `wal_level = replica`,
    /// archiving into `root/wal`, `track_commit_timestamp = on`, trust auth on loopback, and
    /// starts it.
    pub async fn start(pg: &PgEnv, root: &Path) -> Result<Self, PgError> {
        Self::start_with(pg, root, &SourceOptions::default()).await
    }

    /// `start`, with `options`.
    pub async fn start_with(
        pg: &PgEnv,
        root: &Path,
        options: &SourceOptions,
    ) -> Result<Self, PgError> {
        let data_dir = root.join("source");
        let wal_archive = root.join("wal");
        let base_backups = root.join("base");
        for d in [root, &wal_archive, &base_backups] {
            std::fs::create_dir_all(d).map_err(io(format!("cannot create {}", d.display())))?;
        }
        pg.give(root)?;
        let data = data_dir.to_string_lossy().into_owned();
        pg.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--locale=C",
            ],
        )
        .await?;
        let archive = wal_archive.to_string_lossy().into_owned();
        let command = match &options.archive_command {
            Some(c) => c.replace('\'', "''"),
            None => format!("test ! -f \"{archive}/%f\" && cp \"%p\" \"{archive}/%f\""),
        };
        let conf = format!(
            "\n# restore-drill source cluster\nwal_level = replica\narchive_mode = on\narchive_command = '{command}'\ntrack_commit_timestamp = on\nfsync = off\nmax_wal_senders = 4\nshared_buffers = 64MB\n"
        );
        let conf_path = data_dir.join("postgresql.conf");
        let mut text =
            std::fs::read_to_string(&conf_path).map_err(io("cannot read postgresql.conf"))?;
        text.push_str(&conf);
        std::fs::write(&conf_path, text).map_err(io("cannot write postgresql.conf"))?;
        let port = free_port()?;
        let mut server = Server::start_with_env(
            pg,
            &data_dir,
            port,
            &root.join("source.log"),
            true,
            &options.env,
        )
        .await?;
        if !server.wait_ready(Duration::from_secs(60)).await {
            let tail = server.log_tail(20);
            let _ = server.stop().await;
            return Err(PgError::Command {
                what: "starting the source cluster".into(),
                status: "not ready after 60s".into(),
                output: tail,
            });
        }
        Ok(SourceCluster {
            pg: pg.clone(),
            root: root.to_path_buf(),
            data_dir,
            wal_archive,
            base_backups,
            server,
            custom_archive: options.archive_command.is_some(),
        })
    }

    pub fn port(&self) -> u16 {
        self.server.port
    }

    /// A connection as the superuser to `database`.
    pub async fn client(
        &self,
        database: &str,
    ) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
        connect(self.port(), "postgres", database, None).await
    }

    /// Takes a base backup with `pg_basebackup` into `base_backups/<name>`, plain or tar.
    pub async fn base_backup(&self, name: &str, tar: bool) -> Result<PathBuf, PgError> {
        let dest = self.base_backups.join(name);
        let port = self.port().to_string();
        let dest_s = dest.to_string_lossy().into_owned();
        self.pg
            .run(
                "pg_basebackup",
                &[
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &port,
                    "-U",
                    "postgres",
                    "-D",
                    &dest_s,
                    "-F",
                    if tar { "t" } else { "p" },
                    "-X",
                    "fetch",
                    "-c",
                    "fast",
                    "--no-sync",
                ],
            )
            .await?;
        Ok(dest)
    }

    /// Ends the current WAL segment and waits until the archiver has copied it, so that
    /// everything committed so far can be restored.
    pub async fn archive_now(&self) -> Result<(), PgError> {
        let client = self
            .client("postgres")
            .await
            .map_err(|e| PgError::Command {
                what: "connecting to the source".into(),
                status: "error".into(),
                output: e.to_string(),
            })?;
        let row = client
            .query_one("select pg_walfile_name(pg_switch_wal())", &[])
            .await
            .map_err(|e| PgError::Command {
                what: "pg_switch_wal".into(),
                status: "error".into(),
                output: e.to_string(),
            })?;
        let segment: String = row.get(0);
        let path = self.wal_archive.join(&segment);
        let (done, _) = poll_until(
            Duration::from_millis(20),
            Instant::now() + Duration::from_secs(60),
            || {
                let exists = path.exists();
                let client = &client;
                let segment = &segment;
                let custom = self.custom_archive;
                async move {
                    if !custom {
                        return exists.then_some(());
                    }
                    // The caller's command archives elsewhere: ask the archiver.
                    let row = client
                        .query_one(
                            "select coalesce(last_archived_wal, '') from pg_stat_archiver",
                            &[],
                        )
                        .await
                        .ok()?;
                    let last: String = row.get(0);
                    (last.len() == segment.len() && last >= *segment).then_some(())
                }
            },
        )
        .await;
        done.ok_or_else(|| PgError::Command {
            what: "archiving WAL".into(),
            status: "timeout".into(),
            output: format!(
                "segment {segment} not archived after 60s; see {}",
                self.root.join("source.log").display()
            ),
        })
    }

    /// Stops the server (the directory stays; it belongs to the caller).
    pub async fn stop(&mut self) -> Result<(), PgError> {
        self.server.stop().await
    }
}
