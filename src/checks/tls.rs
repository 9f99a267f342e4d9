//! TLS for check connections, as libpq's `sslmode` means it: `disable` (plain, for local
//! endpoints), `require` (encrypted, the server's certificate not verified) and `verify-full`
//! (encrypted, the certificate chain checked against a CA bundle, e.g. RDS's
//! global-bundle.pem, and the name checked against the target's endpoint).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres::config::SslMode;

use crate::drill::Tls;

/// Where and how a check connects.
pub struct Endpoint<'a> {
    /// The address to open a TCP connection to (a tunnel's, with `connect.via`).
    pub host: &'a str,
    pub port: u16,
    /// The name the certificate must carry, when it differs from `host` (a tunnel).
    pub server_name: Option<&'a str>,
    pub user: &'a str,
    pub database: &'a str,
    pub password: Option<&'a str>,
    pub tls: Tls,
    pub ca_bundle: Option<&'a Path>,
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The rustls client configuration for a mode; `None` for `disable`.
pub fn client_config(tls: Tls, ca_bundle: Option<&Path>) -> Result<Option<ClientConfig>, String> {
    if tls == Tls::Disable {
        return Ok(None);
    }
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?;
    match tls {
        Tls::Disable => Ok(None),
        Tls::Require => Ok(Some(
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(EncryptOnly(provider())))
                .with_no_client_auth(),
        )),
        Tls::VerifyFull => {
            let path = ca_bundle.ok_or("tls = \"verify-full\" needs connect.ca_bundle")?;
            let mut roots = RootCertStore::empty();
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("cannot read the CA bundle {}: {e}", path.display()))?;
            for cert in certs {
                let cert = cert.map_err(|e| {
                    format!("the CA bundle {} is not valid PEM: {e}", path.display())
                })?;
                roots.add(cert).map_err(|e| {
                    format!(
                        "the CA bundle {} holds an unusable certificate: {e}",
                        path.display()
                    )
                })?;
            }
            if roots.is_empty() {
                return Err(format!(
                    "the CA bundle {} holds no certificate",
                    path.display()
                ));
            }
            Ok(Some(
                builder.with_root_certificates(roots).with_no_client_auth(),
            ))
        }
    }
}

/// Opens a connection (its driver task runs in the background).
pub async fn connect(e: &Endpoint<'_>) -> Result<tokio_postgres::Client, String> {
    let mut config = tokio_postgres::Config::new();
    config
        .port(e.port)
        .user(e.user)
        .dbname(e.database)
        .connect_timeout(Duration::from_secs(5))
        .application_name("restore-drill");
    match e.server_name {
        // TLS checks the name; TCP goes to the tunnel's address.
        Some(name) if name != e.host => {
            config.host(name);
            match e.host.parse() {
                Ok(ip) => {
                    config.hostaddr(ip);
                }
                Err(_) => {
                    config.host(e.host);
                }
            }
        }
        _ => {
            config.host(e.host);
        }
    }
    if let Some(p) = e.password {
        config.password(p);
    }
    let err = |x: tokio_postgres::Error| crate::provider::aws::error_chain(&x);
    match client_config(e.tls, e.ca_bundle)? {
        None => {
            config.ssl_mode(SslMode::Disable);
            let (client, conn) = config.connect(tokio_postgres::NoTls).await.map_err(err)?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            Ok(client)
        }
        Some(tls) => {
            config.ssl_mode(SslMode::Require);
            let make = tokio_postgres_rustls::MakeRustlsConnect::new(tls);
            let (client, conn) = config.connect(make).await.map_err(err)?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            Ok(client)
        }
    }
}

/// `sslmode=require`: the channel is encrypted and the handshake's signatures are checked,
/// but any certificate is accepted, as libpq does.
#[derive(Debug)]
struct EncryptOnly(Arc<CryptoProvider>);

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
