//! Running PostgreSQL programs: finding the server binaries, running them as an unprivileged
//! user when we are root (the server refuses to run as root), picking free loopback ports, and
//! starting and stopping a server on a data directory.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

/// Why PostgreSQL could not be run.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error(
        "PostgreSQL server binaries not found (looked in {looked}); install them (Debian: apt-get install postgresql), or set PG_BIN or the drill's provider.pg_bin_dir"
    )]
    NotFound { looked: String },
    #[error(
        "running as root, and no unprivileged user to run PostgreSQL as (looked for \"postgres\" and \"nobody\" in /etc/passwd)"
    )]
    NoUser,
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{what} failed ({status}): {output}")]
    Command {
        what: String,
        status: String,
        output: String,
    },
}

pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> PgError {
    let what = what.into();
    move |source| PgError::Io { what, source }
}

/// Where the PostgreSQL programs are, and which user runs them.
#[derive(Debug, Clone)]
pub struct PgEnv {
    pub bin_dir: PathBuf,
    /// uid and gid to run servers and tools as, when we are root.
    pub run_as: Option<(u32, u32)>,
}

impl PgEnv {
    /// Finds the binaries: `configured` (the drill's `pg_bin_dir`), then `$PG_BIN`, then
    /// `pg_config --bindir`, then `/usr/lib/postgresql/<newest>/bin`, then `PATH`.
    pub fn find(configured: Option<&Path>) -> Result<Self, PgError> {
        let usable = |dir: &Path| dir.join("postgres").is_file() && dir.join("pg_ctl").is_file();
        // A place the user named is the only place looked: silently using another
        // PostgreSQL version than the one asked for would restore with the wrong server.
        let named = configured
            .map(|c| (c.to_path_buf(), "the drill's provider.pg_bin_dir"))
            .or_else(|| std::env::var_os("PG_BIN").map(|p| (PathBuf::from(p), "PG_BIN")));
        if let Some((dir, what)) = named {
            if usable(&dir) {
                return Ok(PgEnv {
                    bin_dir: dir,
                    run_as: run_as_user()?,
                });
            }
            return Err(PgError::NotFound {
                looked: format!("{} ({what})", dir.display()),
            });
        }
        let mut candidates: Vec<PathBuf> = Vec::new();
        if let Ok(out) = std::process::Command::new("pg_config")
            .arg("--bindir")
            .output()
            && out.status.success()
        {
            candidates.push(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
        }
        if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
            let mut versions: Vec<(u32, PathBuf)> = entries
                .filter_map(Result::ok)
                .filter_map(|e| {
                    let v = e.file_name().to_str()?.parse().ok()?;
                    Some((v, e.path().join("bin")))
                })
                .collect();
            versions.sort();
            candidates.extend(versions.into_iter().rev().map(|(_, p)| p));
        }
        if let Some(path) = std::env::var_os("PATH") {
            candidates.extend(std::env::split_paths(&path));
        }
        match candidates.iter().find(|d| usable(d)) {
            Some(dir) => Ok(PgEnv {
                bin_dir: dir.clone(),
                run_as: run_as_user()?,
            }),
            None => Err(PgError::NotFound {
                looked: "pg_config --bindir, /usr/lib/postgresql/*/bin, PATH".into(),
            }),
        }
    }

    /// A command for one of the PostgreSQL programs, run as the unprivileged user when we are
    /// root, with a clean locale.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.bin_dir.join(program));
        if let Some((uid, gid)) = self.run_as {
            cmd.uid(uid).gid(gid);
        }
        cmd.env("LC_ALL", "C")
            .env_remove("PGPASSWORD")
            .stdin(Stdio::null());
        cmd
    }

    /// Runs a program to completion; a non-zero exit is an error carrying its output.
    pub async fn run(&self, program: &str, args: &[&str]) -> Result<String, PgError> {
        let out = self
            .command(program)
            .args(args)
            .output()
            .await
            .map_err(io(format!("cannot run {program}")))?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if out.status.success() {
            Ok(text)
        } else {
            Err(PgError::Command {
                what: program.to_owned(),
                status: out.status.to_string(),
                output: text.trim().to_owned(),
            })
        }
    }

    /// Makes `path` (a directory we created) owned by the user the server runs as.
    pub fn give(&self, path: &Path) -> Result<(), PgError> {
        if let Some((uid, gid)) = self.run_as {
            chown_tree(path, uid, gid).map_err(io(format!("cannot chown {}", path.display())))?;
        }
        Ok(())
    }
}

fn chown_tree(path: &Path, uid: u32, gid: u32) -> std::io::Result<()> {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid))?;
    let meta = std::fs::symlink_metadata(path)?;
    if meta.is_dir() {
        for entry in std::fs::read_dir(path)? {
            chown_tree(&entry?.path(), uid, gid)?;
        }
    }
    Ok(())
}

/// `None` when we are not root; else the uid/gid of `postgres`, or of `nobody`.
fn run_as_user() -> Result<Option<(u32, u32)>, PgError> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    for wanted in ["postgres", "nobody"] {
        for line in passwd.lines() {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() > 3
                && f[0] == wanted
                && let (Ok(uid), Ok(gid)) = (f[2].parse(), f[3].parse())
            {
                return Ok(Some((uid, gid)));
            }
        }
    }
    Err(PgError::NoUser)
}

/// A free TCP port on 127.0.0.1 (free when asked; the server binds it right after).
pub fn free_port() -> Result<u16, PgError> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(io("cannot find a free loopback port"))?;
    Ok(l.local_addr()
        .map_err(io("cannot find a free loopback port"))?
        .port())
}

/// A running server on a data directory, started by us. Stopping it is explicit
/// (`stop`); if it is dropped still running, it is killed.
#[derive(Debug)]
pub struct Server {
    pub port: u16,
    pub data_dir: PathBuf,
    pub log_file: PathBuf,
    child: Option<Child>,
}

impl Server {
    /// Starts `postgres -D data_dir` listening on 127.0.0.1:port only (no Unix socket), its
    /// log in `log_file`. Returns once the process is started; see `wait_*` for readiness.
    pub async fn start(
        pg: &PgEnv,
        data_dir: &Path,
        port: u16,
        log_file: &Path,
        tied: bool,
    ) -> Result<Self, PgError> {
        Self::start_with_env(pg, data_dir, port, log_file, tied, &[]).await
    }

    /// `start`, with more environment for `postgres`.
    pub async fn start_with_env(
        pg: &PgEnv,
        data_dir: &Path,
        port: u16,
        log_file: &Path,
        tied: bool,
        env: &[(String, String)],
    ) -> Result<Self, PgError> {
        let log = std::fs::File::create(log_file)
            .map_err(io(format!("cannot create {}", log_file.display())))?;
        pg.give(log_file)?;
        let log2 = log.try_clone().map_err(io("cannot open the server log"))?;
        let mut cmd = pg.command("postgres");
        cmd.arg("-D")
            .arg(data_dir)
            .args(["-c", &format!("port={port}")])
            .args(["-c", "listen_addresses=127.0.0.1"])
            .args(["-c", "unix_socket_directories="])
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log2))
            // Its own process group: a Ctrl-C at the terminal reaches restore-drill, which
            // then stops the server in order, instead of reaching the server directly.
            .process_group(0)
            .kill_on_drop(tied);
        if tied {
            // If restore-drill itself dies (even by SIGKILL), take the server down with it
            // rather than leave it running. Set after the uid change, which would clear it.
            // SAFETY: prctl is async-signal-safe; nothing else runs in the forked child.
            unsafe {
                cmd.pre_exec(|| {
                    if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let child = cmd.spawn().map_err(io("cannot start postgres"))?;
        Ok(Server {
            port,
            data_dir: data_dir.to_path_buf(),
            log_file: log_file.to_path_buf(),
            child: Some(child),
        })
    }

    /// Lets the server outlive this value (for `--keep`): it is neither stopped nor killed.
    pub fn detach(mut self) {
        if let Some(child) = self.child.take() {
            drop(child);
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    /// The process's exit status, if it has exited.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// Waits until the server accepts connections as `postgres` (a superuser the clusters we
    /// create have), polling every 50 ms; `false` if it does not within `limit`.
    pub async fn wait_ready(&self, limit: Duration) -> bool {
        let port = self.port;
        let (ready, _) = poll_until(
            Duration::from_millis(50),
            Instant::now() + limit,
            || async {
                connect(port, "postgres", "postgres", None)
                    .await
                    .ok()
                    .map(|_| ())
            },
        )
        .await;
        ready.is_some()
    }

    /// The last lines of the server log, for error messages.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log_file).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Fast shutdown (SIGINT), then immediate (SIGQUIT), then SIGKILL, until it has exited.
    pub async fn stop(&mut self) -> Result<(), PgError> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        for (signal, wait) in [
            (libc::SIGINT, Duration::from_secs(20)),
            (libc::SIGQUIT, Duration::from_secs(5)),
            (libc::SIGKILL, Duration::from_secs(5)),
        ] {
            if child.try_wait().ok().flatten().is_some() {
                return Ok(());
            }
            if let Some(pid) = child.id() {
                // SAFETY: sending a signal to our own child process by its pid.
                unsafe { libc::kill(pid as i32, signal) };
            }
            if tokio::time::timeout(wait, child.wait()).await.is_ok() {
                return Ok(());
            }
        }
        Err(PgError::Io {
            what: "postgres did not exit".into(),
            source: std::io::Error::other("still running after SIGKILL"),
        })
    }
}

/// Connects to 127.0.0.1:port as `user` to `database` (no TLS: loopback only).
pub async fn connect(
    port: u16,
    user: &str,
    database: &str,
    password: Option<&str>,
) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    connect_to("127.0.0.1", port, user, database, password).await
}

/// Connects to host:port as `user` to `database`, without TLS.
pub async fn connect_to(
    host: &str,
    port: u16,
    user: &str,
    database: &str,
    password: Option<&str>,
) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let mut config = tokio_postgres::Config::new();
    config
        .host(host)
        .port(port)
        .user(user)
        .dbname(database)
        .connect_timeout(Duration::from_secs(5))
        .application_name("restore-drill");
    if let Some(p) = password {
        config.password(p);
    }
    let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// Polls `probe` every `every` until it returns `Some`, or `deadline` passes. Returns the value
/// and the number of polls.
pub async fn poll_until<T, F, Fut>(
    every: Duration,
    deadline: Instant,
    mut probe: F,
) -> (Option<T>, u32)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let mut polls = 0;
    loop {
        polls += 1;
        if let Some(v) = probe().await {
            return (Some(v), polls);
        }
        if Instant::now() >= deadline {
            return (None, polls);
        }
        tokio::time::sleep(every).await;
    }
}
