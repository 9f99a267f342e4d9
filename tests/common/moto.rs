//! moto in server mode: a real HTTP endpoint speaking the S3, RDS and Backup APIs, started
//! per test on a free loopback port and stopped (by its PID) when dropped.

#![allow(dead_code)]

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Dummy credentials moto accepts; the binary under test gets them through the environment.
pub const ACCESS_KEY: &str = "testing";
pub const SECRET_KEY: &str = "testing";
pub const REGION: &str = "us-east-1";

/// Where the moto server program is: `MOTO_SERVER`, else the venv `ci/test` installs.
pub fn moto_server_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("MOTO_SERVER") {
        return PathBuf::from(p);
    }
    super::root().join("target/moto-venv/bin/moto_server")
}

pub struct Moto {
    pub port: u16,
    child: Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Moto {
    /// Starts a fresh moto server, or fails saying how to install one.
    pub fn start() -> Moto {
        let bin = moto_server_bin();
        assert!(
            bin.exists(),
            "moto server not found at {}.\nThese tests need moto in server mode: run ci/test (it \
             installs moto[server] from PyPI into target/moto-venv), or\n  python3 -m venv \
             target/moto-venv && target/moto-venv/bin/pip install 'moto[server]'\nor set \
             MOTO_SERVER to a moto_server program.",
            bin.display()
        );
        let dir = tempfile::Builder::new()
            .prefix("rd-moto-")
            .tempdir()
            .unwrap();
        let log = dir.path().join("moto.log");
        for _attempt in 0..3 {
            let port = free_port();
            let mut child = Command::new(&bin)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .env("MOTO_ALLOW_NONEXISTENT_REGION", "true")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).unwrap())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break; // the port was taken: try another
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Moto {
                        port,
                        child,
                        log,
                        _dir: dir,
                    };
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!(
            "moto server did not start; its stderr is in {}",
            log.display()
        );
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The environment a `restore-drill` run against this server needs: dummy credentials,
    /// no shared config of the developer's, no instance metadata lookups.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.into()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.into()),
            ("AWS_REGION", REGION.into()),
            ("AWS_CONFIG_FILE", "/dev/null".into()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }

    /// An SDK config for the tests' own setup and inspection calls.
    pub async fn sdk(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(REGION))
            .endpoint_url(self.endpoint())
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                ACCESS_KEY, SECRET_KEY, None, None, "tests",
            ))
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            .load()
            .await
    }

    pub async fn s3(&self) -> aws_sdk_s3::Client {
        let conf = aws_sdk_s3::config::Builder::from(&self.sdk().await)
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }

    pub async fn rds(&self, region: &str) -> aws_sdk_rds::Client {
        let conf = aws_sdk_rds::config::Builder::from(&self.sdk().await)
            .region(aws_config::Region::new(region.to_owned()))
            .build();
        aws_sdk_rds::Client::from_conf(conf)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        // Only the process we started, by its PID.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
