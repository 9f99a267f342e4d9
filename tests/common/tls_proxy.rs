//! A loopback TLS terminator in front of a plain HTTP server (moto), for clients that only
//! speak HTTPS (pgBackRest's S3 repositories). moto's own `--ssl` closes connections without
//! a TLS close_notify, which OpenSSL 3 clients report as "unexpected eof while reading"; this
//! proxy always ends a connection cleanly. Self-signed certificate for 127.0.0.1; clients
//! must not verify it. Stopped when dropped.

#![allow(dead_code)]

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

pub struct TlsProxy {
    pub port: u16,
    /// The self-signed certificate, PEM: for clients told to trust it (`SSL_CERT_FILE`).
    pub cert_pem: String,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TlsProxy {
    /// Listens on a free loopback port and forwards each connection to 127.0.0.1:`upstream`.
    pub fn start(upstream: u16) -> TlsProxy {
        let key = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
        let cert: CertificateDer<'static> = key.cert.der().clone();
        let cert_pem = key.cert.pem();
        let private =
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.signing_key.serialize_der()));
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], private)
        .unwrap();
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((client, _)) => {
                            let (config, stop) = (config.clone(), stop.clone());
                            std::thread::spawn(move || {
                                let _ = serve(client, upstream, config, &stop);
                            });
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(5));
                        }
                        Err(_) => return,
                    }
                }
            })
        };
        TlsProxy {
            port,
            cert_pem,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Pumps one connection both ways until the upstream or the client ends it; the client always
/// gets a close_notify.
fn serve(
    mut client: TcpStream,
    upstream: u16,
    config: Arc<rustls::ServerConfig>,
    stop: &AtomicBool,
) -> std::io::Result<()> {
    let mut tls = rustls::ServerConnection::new(config).map_err(std::io::Error::other)?;
    let mut up = TcpStream::connect(("127.0.0.1", upstream))?;
    client.set_nonblocking(true)?;
    up.set_nonblocking(true)?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut client_done = false;
    loop {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let mut busy = false;
        if !client_done && tls.wants_read() {
            match tls.read_tls(&mut client) {
                Ok(0) => {
                    client_done = true;
                    let _ = up.shutdown(Shutdown::Write);
                }
                Ok(_) => {
                    busy = true;
                    tls.process_new_packets().map_err(std::io::Error::other)?;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        loop {
            match tls.reader().read(&mut buf) {
                Ok(0) => {
                    client_done = true;
                    let _ = up.shutdown(Shutdown::Write);
                    break;
                }
                Ok(n) => {
                    busy = true;
                    write_all(&mut up, &buf[..n])?;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        let upstream_done = match up.read(&mut buf) {
            Ok(0) => true,
            Ok(n) => {
                busy = true;
                tls.writer().write_all(&buf[..n])?;
                false
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => false,
            Err(_) => true,
        };
        if upstream_done {
            tls.send_close_notify();
        }
        while tls.wants_write() {
            match tls.write_tls(&mut client) {
                Ok(_) => busy = true,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(e) => return Err(e),
            }
        }
        if upstream_done {
            break;
        }
        if !busy {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let _ = client.shutdown(Shutdown::Both);
    Ok(())
}

/// `write_all` on a non-blocking socket.
fn write_all(to: &mut TcpStream, mut data: &[u8]) -> std::io::Result<()> {
    while !data.is_empty() {
        match to.write(data) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
