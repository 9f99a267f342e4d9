//! Check connections over TLS against a real PostgreSQL with `ssl = on`, with certificates
//! made for the test: `require` encrypts, `verify-full` checks the chain and the name (also
//! through a tunnel address), `disable` stays plain.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use restore_drill::checks::CheckTarget;
use restore_drill::drill::Tls;

/// A CA and a server certificate for `localhost` signed by it; returns the CA's PEM path.
fn certs(dir: &Path, pg: &restore_drill::provider::local::PgEnv) -> (PathBuf, PathBuf, PathBuf) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let tls = dir.join("tls");
    std::fs::create_dir_all(&tls).unwrap();
    let (ca, crt, k) = (
        tls.join("ca.pem"),
        tls.join("server.crt"),
        tls.join("server.key"),
    );
    std::fs::write(&ca, ca_cert.pem()).unwrap();
    std::fs::write(&crt, cert.pem()).unwrap();
    std::fs::write(&k, key.serialize_pem()).unwrap();
    std::fs::set_permissions(&k, std::fs::Permissions::from_mode(0o600)).unwrap();
    pg.give(&tls).unwrap();
    (ca, crt, k)
}

fn target(port: u16, tls: Tls, ca: Option<&Path>, server_name: Option<&str>) -> CheckTarget {
    CheckTarget {
        host: "127.0.0.1".into(),
        port,
        database: "postgres".into(),
        user: "postgres".into(),
        password: None,
        tls,
        ca_bundle: ca.map(Path::to_path_buf),
        server_name: server_name.map(str::to_owned),
    }
}

async fn uses_ssl(t: &CheckTarget) -> Result<bool, String> {
    let c = t.client().await?;
    let row = c
        .query_one(
            "select ssl from pg_stat_ssl where pid = pg_backend_pid()",
            &[],
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok(row.get(0))
}

/// A source with `rows` events serving TLS with a certificate for localhost, once TLS is up;
/// and its CA's PEM.
async fn tls_source(
    pg: &restore_drill::provider::local::PgEnv,
    scratch: &common::pg::Scratch,
    rows: u32,
) -> (restore_drill::provider::local::SourceCluster, PathBuf) {
    let source = common::pg::source(pg, scratch.path(), rows).await;
    let (ca, crt, key) = certs(scratch.path(), pg);
    let admin = source.client("postgres").await.unwrap();
    for sql in [
        "alter system set ssl = on".to_owned(),
        format!("alter system set ssl_cert_file = '{}'", crt.display()),
        format!("alter system set ssl_key_file = '{}'", key.display()),
        "select pg_reload_conf()".to_owned(),
    ] {
        admin.simple_query(&sql).await.unwrap();
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while uses_ssl(&target(source.port(), Tls::Require, None, None))
        .await
        .is_err()
    {
        assert!(std::time::Instant::now() < deadline, "ssl never came on");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    (source, ca)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_encrypts_verify_full_checks_the_chain_and_the_name() {
    let pg = common::pg::pg();
    let scratch = common::pg::Scratch::new(&pg);
    let (source, ca) = tls_source(&pg, &scratch, 1).await;
    let port = source.port();

    assert!(
        !uses_ssl(&target(port, Tls::Disable, None, None))
            .await
            .unwrap()
    );
    assert!(
        uses_ssl(&target(port, Tls::Require, None, None))
            .await
            .unwrap()
    );
    // The certificate names localhost; the TCP connection goes to 127.0.0.1, as through a
    // tunnel to an RDS endpoint.
    assert!(
        uses_ssl(&target(port, Tls::VerifyFull, Some(&ca), Some("localhost")))
            .await
            .unwrap()
    );

    // Another CA: refused.
    let other = scratch.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    let (other_ca, _, _) = certs(&other, &pg);
    let e = uses_ssl(&target(
        port,
        Tls::VerifyFull,
        Some(&other_ca),
        Some("localhost"),
    ))
    .await
    .unwrap_err();
    assert!(
        e.starts_with(&format!(
            "cannot connect to 127.0.0.1:{port} database \"postgres\": "
        )) && e.contains("error performing TLS handshake: invalid peer certificate: "),
        "{e}"
    );
    // The right CA, the wrong name: refused.
    let e = uses_ssl(&target(
        port,
        Tls::VerifyFull,
        Some(&ca),
        Some("db.example.com"),
    ))
    .await
    .unwrap_err();
    assert!(
        e.contains("invalid peer certificate: certificate not valid for name"),
        "{e}"
    );
    // A bundle that is not PEM: a clear error naming it.
    let junk = scratch.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate\n").unwrap();
    let e = uses_ssl(&target(port, Tls::VerifyFull, Some(&junk), None))
        .await
        .unwrap_err();
    assert_eq!(
        e,
        format!(
            "cannot connect to 127.0.0.1:{port} database \"postgres\": the CA bundle {} holds no certificate",
            junk.display()
        )
    );
}

/// Issue 15 item 13: `restore-drill manifest` connects as a drill would: `--tls` and
/// `--ca-bundle` are honoured, verify-full refuses the wrong CA, and a remote host defaults to
/// TLS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_13_manifest_takes_tls_and_a_ca_bundle() {
    let pg = common::pg::pg();
    let scratch = common::pg::Scratch::new(&pg);
    let (source, ca) = tls_source(&pg, &scratch, 5).await;
    let port = source.port().to_string();
    let out = scratch.path().join("m.json");
    let manifest = |host: &str, extra: &[&str]| {
        let mut args = vec![
            "manifest",
            "--host",
            host,
            "--port",
            &port,
            "--database",
            "postgres",
            "--user",
            "postgres",
            "--table",
            "events:id",
            "--out",
        ];
        let out = out.to_str().unwrap().to_owned();
        let mut all: Vec<String> = args.drain(..).map(str::to_owned).collect();
        all.push(out);
        all.extend(extra.iter().map(|s| (*s).to_owned()));
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        common::restore_drill(&refs)
    };
    let ca = ca.to_str().unwrap().to_owned();
    let run = manifest("localhost", &["--tls", "verify-full", "--ca-bundle", &ca]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("events: 5 rows"), "{}", run.stdout);

    let other = scratch.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    let (other_ca, _, _) = certs(&other, &pg);
    let run = manifest(
        "localhost",
        &[
            "--tls",
            "verify-full",
            "--ca-bundle",
            other_ca.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 30, "{}", run.stderr);
    assert!(
        run.stderr.contains("invalid peer certificate"),
        "{}",
        run.stderr
    );

    let run = manifest("localhost", &["--tls", "verify-full"]);
    assert_eq!(run.code, 20, "{}", run.stderr);
    assert!(
        run.stderr.contains("--tls verify-full needs --ca-bundle"),
        "{}",
        run.stderr
    );

    // require: encrypted, any certificate; and the loopback default (plain) still works.
    let run = manifest("127.0.0.1", &["--tls", "require"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = manifest("127.0.0.1", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}
