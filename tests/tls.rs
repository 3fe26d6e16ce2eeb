//! Mutual TLS on the real binaries: a service serves only callers presenting a
//! certificate from the deployment's authority, takes renewed certificates
//! without a restart, and the container probe speaks it.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use scir_e2e::processes::{Process, address_of, binary, listener, make_certs, tls_env, tls_files};
use scir_kit::tls::{TlsArgs, Transport};
use scir_testkit::{Backend, TestDatabase};
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};

const INTAKE: &str = "scir.intake.v1.IntakeService";

/// Intake on a fresh SQLite database, with the certificate files `tls` names.
async fn intake(dir: &Path, tls: &TlsArgs) -> (Process, std::net::SocketAddr, TestDatabase) {
    let database = TestDatabase::new(Backend::Sqlite).await;
    let socket = listener();
    let address = address_of(&socket);
    let mut env = vec![
        ("SCIR_DATABASE_URL", database.url.clone()),
        ("SCIR_JWT_ISSUER", scir_testkit::ISSUER.to_owned()),
        ("SCIR_JWT_AUDIENCE", scir_testkit::AUDIENCE.to_owned()),
        ("SCIR_JWT_HS256_SECRET", scir_testkit::SECRET.to_owned()),
        ("SCIR_DATA_KEYS", scir_testkit::DATA_KEYS.to_owned()),
        ("SCIR_DRAIN_TIMEOUT", "1s".to_owned()),
    ];
    env.extend(tls_env(tls));
    let process = Process::start_serving(
        "scir-intake",
        &binary("scir-intake"),
        &[],
        &env,
        dir,
        vec![("intake", socket)],
    );
    (process, address, database)
}

/// Asks intake's health over `transport`: `Ok(true)` when SERVING, `Err` with
/// the status when the call failed.
async fn health(
    transport: &Transport,
    address: std::net::SocketAddr,
) -> Result<bool, tonic::Status> {
    let channel = transport
        .channel(&format!("http://{address}"))
        .expect("channel");
    let mut request = tonic::Request::new(HealthCheckRequest {
        service: INTAKE.to_owned(),
    });
    request.set_timeout(Duration::from_secs(3));
    HealthClient::new(channel)
        .check(request)
        .await
        .map(|r| r.into_inner().status == ServingStatus::Serving as i32)
}

async fn wait_until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A TLS client that trusts `ca` and presents no certificate; returns what
/// the server did once the handshake was offered.
async fn without_client_certificate(
    ca: &Path,
    address: std::net::SocketAddr,
) -> std::io::Result<usize> {
    use rustls::pki_types::pem::PemObject;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_file_iter(ca).expect("ca") {
        roots.add(cert.expect("certificate")).expect("root");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let tcp = tokio::net::TcpStream::connect(address).await?;
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await?;
    // TLS 1.3 refuses a missing client certificate after the client's
    // finished message, so the refusal arrives on the first read.
    tls.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").await?;
    let mut buffer = [0u8; 64];
    tls.read(&mut buffer).await
}

#[tokio::test]
async fn callers_without_a_certificate_from_the_authority_are_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let ours = dir.path().join("ours");
    let theirs = dir.path().join("theirs");
    make_certs(&ours, &["intake", "client"]);
    make_certs(&theirs, &["client"]);
    let (intake, address, _db) = intake(dir.path(), &tls_files(&ours, "intake")).await;

    let valid = Transport::from_args(&tls_files(&ours, "client")).expect("client");
    wait_until(
        "intake serves a caller with a valid certificate",
        async || matches!(health(&valid, address).await, Ok(true)),
    )
    .await;

    // Plaintext gRPC gets no answer from a TLS server.
    let plain = health(&Transport::plain(), address).await;
    assert!(plain.is_err(), "plaintext caller was answered: {plain:?}");

    // A certificate from another authority, even one trusting ours.
    let mut foreign = tls_files(&theirs, "client");
    foreign.ca = Some(ours.join("client").join("ca.pem"));
    let refused = health(&Transport::from_args(&foreign).expect("client"), address).await;
    // TLS 1.3 refuses a client certificate after the client considers the
    // handshake done, so the call fails as a broken connection (UNAVAILABLE,
    // CANCELLED or UNKNOWN, depending on when the client notices).
    assert!(
        refused.is_err(),
        "a foreign certificate was accepted: {refused:?}"
    );

    // No certificate at all.
    let outcome = without_client_certificate(&ours.join("ca.pem"), address).await;
    assert!(
        matches!(outcome, Err(_) | Ok(0)),
        "a caller without a certificate read an answer: {outcome:?}"
    );

    // The valid caller still gets through, and the server said why it refused.
    assert!(matches!(health(&valid, address).await, Ok(true)));
    let log = intake.tail(100);
    assert!(log.contains("invalid peer certificate"), "{log}");
    assert!(log.contains("peer sent no certificates"), "{log}");
}

#[tokio::test]
async fn a_renewed_certificate_is_used_without_a_restart() {
    let dir = tempfile::tempdir().expect("dir");
    let (old, new, live) = (
        dir.path().join("old"),
        dir.path().join("new"),
        dir.path().join("live"),
    );
    make_certs(&old, &["intake", "client"]);
    // The renewal moves to a new authority, so old and new clients differ.
    make_certs(&new, &["intake", "client"]);
    std::fs::create_dir_all(live.join("intake")).expect("live");
    // As a renewal lands: each file renamed into place.
    let install = |from: &Path| {
        for file in ["cert.pem", "key.pem", "ca.pem"] {
            let staged = live.join("intake").join(format!(".{file}.staged"));
            std::fs::copy(from.join("intake").join(file), &staged).expect("copy");
            std::fs::rename(&staged, live.join("intake").join(file)).expect("rename");
        }
    };
    install(&old);
    let (intake, address, _db) = intake(dir.path(), &tls_files(&live, "intake")).await;
    let old_client = Transport::from_args(&tls_files(&old, "client")).expect("client");
    let new_client = Transport::from_args(&tls_files(&new, "client")).expect("client");
    wait_until("intake serves the old authority's client", async || {
        matches!(health(&old_client, address).await, Ok(true))
    })
    .await;
    assert!(health(&new_client, address).await.is_err());

    install(&new);
    wait_until("intake serves the new authority's client", async || {
        matches!(health(&new_client, address).await, Ok(true))
    })
    .await;
    assert!(
        health(&old_client, address).await.is_err(),
        "the old authority's client is still accepted after the renewal"
    );
    assert!(
        intake.tail(200).contains("TLS certificate reloaded"),
        "{}",
        intake.tail(40)
    );
}

#[tokio::test]
async fn the_container_probe_speaks_mutual_tls() {
    let dir = tempfile::tempdir().expect("dir");
    let certs = dir.path().join("certs");
    make_certs(&certs, &["intake"]);
    let tls = tls_files(&certs, "intake");
    let (_intake, address, _db) = intake(dir.path(), &tls).await;
    let probe = |tls: Option<&TlsArgs>| {
        let mut command = Command::new(binary("scir-probe"));
        command.arg(address.to_string()).arg(INTAKE);
        for key in ["SCIR_TLS_CERT", "SCIR_TLS_KEY", "SCIR_TLS_CA"] {
            command.env_remove(key);
        }
        if let Some(tls) = tls {
            command.envs(tls_env(tls));
        }
        command.output().expect("scir-probe")
    };
    // The service's own certificate, from its environment, as in its container.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !probe(Some(&tls)).status.success() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "probe never succeeded"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let plain = probe(None);
    assert_eq!(plain.status.code(), Some(1), "{plain:?}");
}
