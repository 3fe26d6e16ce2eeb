//! Webhooks end to end on `scir up`: an admin registers an HTTPS endpoint
//! (a receiver here, with its own certificate authority), deliveries arrive
//! signed as Standard Webhooks, in order, for its own jurisdiction only and
//! without identities; a failing receiver is retried, then disabled, and
//! nothing is lost when it is enabled again; a replay delivers again with the
//! same ids; nobody else can see or change the endpoint.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use scir_e2e::processes::{Up, make_certs};
use scir_kit::auth::Role;
use scir_kit::client::ClientInterceptor;
use scir_proto::webhooks::v1 as pb;
use scir_proto::webhooks::v1::webhook_service_client::WebhookServiceClient;
use tokio::sync::mpsc;
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

const REPORTED: &str = "scir.intake.v1.IncidentReported";

/// One delivery as the receiver saw it.
#[derive(Debug, Clone)]
struct Delivery {
    id: String,
    timestamp: String,
    signature: String,
    body: Bytes,
}

impl Delivery {
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// An HTTPS receiver answering with the status in `answer`.
async fn receiver(
    certs: &Path,
) -> (
    SocketAddr,
    mpsc::UnboundedReceiver<Delivery>,
    Arc<AtomicU16>,
) {
    let dir = certs.join("receiver");
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(dir.join("cert.pem"))
        .expect("cert")
        .collect::<Result<_, _>>()
        .expect("cert");
    let key = PrivateKeyDer::from_pem_file(dir.join("key.pem")).expect("key");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let (tx, rx) = mpsc::unbounded_channel();
    let answer = Arc::new(AtomicU16::new(200));
    let status = answer.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, tx, status) = (acceptor.clone(), tx.clone(), status.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper::service::service_fn(
                    move |request: http::Request<hyper::body::Incoming>| {
                        let (tx, status) = (tx.clone(), status.clone());
                        async move {
                            let header = |name: &str| {
                                request
                                    .headers()
                                    .get(name)
                                    .and_then(|v| v.to_str().ok())
                                    .unwrap_or_default()
                                    .to_owned()
                            };
                            let (id, timestamp, signature) = (
                                header("webhook-id"),
                                header("webhook-timestamp"),
                                header("webhook-signature"),
                            );
                            let body = request.into_body().collect().await?.to_bytes();
                            let code = status.load(Ordering::SeqCst);
                            if code == 200 {
                                let _ = tx.send(Delivery {
                                    id,
                                    timestamp,
                                    signature,
                                    body,
                                });
                            }
                            let mut response = http::Response::new(Full::new(Bytes::new()));
                            *response.status_mut() =
                                http::StatusCode::from_u16(code).expect("status");
                            Ok::<_, hyper::Error>(response)
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    (address, rx, answer)
}

type Client = WebhookServiceClient<InterceptedService<Channel, ClientInterceptor>>;

fn client(up: &Up, address: &str, roles: &[Role], jurisdiction: &str) -> Client {
    let token = up
        .signer
        .token("webhook-admin", roles, jurisdiction)
        .expect("token");
    let channel = Channel::from_shared(address.to_owned())
        .expect("endpoint")
        .connect_lazy();
    WebhookServiceClient::with_interceptor(
        channel,
        ClientInterceptor::new(Some(&token)).expect("interceptor"),
    )
}

async fn next(deliveries: &mut mpsc::UnboundedReceiver<Delivery>) -> Delivery {
    tokio::time::timeout(Duration::from_secs(20), deliveries.recv())
        .await
        .expect("a delivery in time")
        .expect("the receiver is up")
}

/// Checks the Standard Webhooks signature with the secret shown at creation.
fn verify(secret: &str, delivery: &Delivery) {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").expect("whsec_ prefix"))
        .expect("base64 secret");
    let timestamp: i64 = delivery.timestamp.parse().expect("a unix timestamp");
    let now = chrono::Utc::now().timestamp();
    assert!(
        (now - timestamp).abs() < 60,
        "timestamp {timestamp} vs now {now}"
    );
    let expected = scir_kit::webhooks::signature(&key, &delivery.id, timestamp, &delivery.body);
    assert_eq!(delivery.signature, expected, "the signature verifies");
    let forged =
        scir_kit::webhooks::signature(b"another key", &delivery.id, timestamp, &delivery.body);
    assert_ne!(delivery.signature, forged);
}

async fn report(up: &Up, jurisdiction: &str, request_id: &str) -> String {
    let caller = up
        .signer
        .caller(
            &scir::connect::Channels::new(&up.endpoints).expect("channels"),
            "reporter",
            &[Role::Reporter],
            jurisdiction,
        )
        .expect("caller");
    let mut facts = scir_testkit::fixtures::wisconsin_death();
    facts.jurisdiction = jurisdiction.to_owned();
    caller
        .intake()
        .report_incident(scir_proto::intake::v1::ReportIncidentRequest {
            request_id: request_id.to_owned(),
            incident: Some(facts),
        })
        .await
        .expect("report")
        .into_inner()
        .name
}

async fn webhook(admin: &mut Client, name: &str) -> pb::Webhook {
    admin
        .get_webhook(pb::GetWebhookRequest {
            name: name.to_owned(),
        })
        .await
        .expect("get")
        .into_inner()
}

#[tokio::test]
async fn deliveries_are_signed_ordered_retried_disabled_enabled_and_replayed() {
    let certs = tempfile::tempdir().expect("dir");
    make_certs(certs.path(), &["receiver"]);
    let (address, mut deliveries, answer) = receiver(certs.path()).await;
    let up = Up::start_with(&[
        (
            "SCIR_WEBHOOKS_CA_FILE",
            certs.path().join("receiver/ca.pem").display().to_string(),
        ),
        ("SCIR_WEBHOOKS_RETRY_BASE", "100ms".to_owned()),
        ("SCIR_WEBHOOKS_RETRY_MAX", "200ms".to_owned()),
        ("SCIR_WEBHOOKS_MAX_FAILURES", "4".to_owned()),
        // The receiver is on this machine; deployments refuse loopback.
        ("SCIR_WEBHOOKS_ALLOW_LOOPBACK", "true".to_owned()),
    ])
    .await;
    let intake = up.endpoints.intake.clone();
    let mut admin = client(&up, &intake, &[Role::Admin], "us-wi");
    let url = format!("https://localhost:{}/hooks/scir", address.port());
    let create = |url: &str, types: &[&str]| pb::CreateWebhookRequest {
        parent: "jurisdictions/us-wi".into(),
        webhook: Some(pb::Webhook {
            url: url.to_owned(),
            event_types: types.iter().map(|t| (*t).to_owned()).collect(),
            ..Default::default()
        }),
    };

    // Who may register, and what.
    let refused = |result: Result<tonic::Response<pb::CreateWebhookResponse>, tonic::Status>| {
        result.expect_err("refused").code()
    };
    let mut reporter = client(&up, &intake, &[Role::Reporter], "us-wi");
    assert_eq!(
        refused(reporter.create_webhook(create(&url, &[])).await),
        Code::PermissionDenied
    );
    let mut other = client(&up, &intake, &[Role::Admin], "us-tn");
    assert_eq!(
        refused(other.create_webhook(create(&url, &[])).await),
        Code::PermissionDenied
    );
    let plain = format!("http://localhost:{}/", address.port());
    assert_eq!(
        refused(admin.create_webhook(create(&plain, &[])).await),
        Code::InvalidArgument
    );
    // Cloud metadata and other link-local addresses are never a destination.
    for metadata in [
        "https://169.254.169.254/latest/meta-data/",
        "https://[fe80::1]/hook",
    ] {
        assert_eq!(
            refused(admin.create_webhook(create(metadata, &[])).await),
            Code::InvalidArgument,
            "{metadata}"
        );
    }
    let typo = admin
        .create_webhook(create(&url, &["scir.intake.v1.IncidentReportd"]))
        .await
        .expect_err("refused");
    assert_eq!(typo.code(), Code::InvalidArgument);
    assert!(
        typo.message().contains("event_types[0]") || format!("{typo:?}").contains("event_types[0]"),
        "{typo:?}"
    );

    let created = admin
        .create_webhook(create(&url, &[REPORTED]))
        .await
        .expect("create")
        .into_inner();
    let name = created.webhook.expect("webhook").name;
    let secret = created.secret;
    assert!(secret.starts_with("whsec_"));
    let listed = admin
        .list_webhooks(pb::ListWebhooksRequest {
            parent: "jurisdictions/us-wi".into(),
        })
        .await
        .expect("list")
        .into_inner();
    assert!(
        !format!("{listed:?}").contains(&secret[6..]),
        "the secret is shown once"
    );
    assert_eq!(
        other
            .get_webhook(pb::GetWebhookRequest { name: name.clone() })
            .await
            .expect_err("another state's admin")
            .code(),
        Code::PermissionDenied
    );

    // Three reports here and one in another state: three deliveries, in order, signed.
    let mut incidents = Vec::new();
    for n in 0..3 {
        incidents.push(report(&up, "us-wi", &format!("hook-{n}")).await);
        if n == 1 {
            report(&up, "us-tn", "hook-tn").await;
        }
    }
    let mut first = Vec::new();
    for expected in &incidents {
        let delivery = next(&mut deliveries).await;
        verify(&secret, &delivery);
        let json = delivery.json();
        assert_eq!(json["type"], REPORTED);
        assert_eq!(json["data"]["subject"], expected.as_str(), "in order");
        assert_eq!(json["data"]["eventId"], delivery.id.as_str());
        assert!(!String::from_utf8_lossy(&delivery.body).contains("reportedBy"));
        first.push(delivery);
    }

    // The receiver fails: retried with backoff, then disabled after four.
    answer.store(503, Ordering::SeqCst);
    let failing = report(&up, "us-wi", "hook-3").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let disabled = loop {
        let current = webhook(&mut admin, &name).await;
        if current.state == pb::WebhookState::Disabled as i32 {
            break current;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never disabled: {current:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        disabled.disabled_reason.contains("HTTP 503"),
        "{disabled:?}"
    );
    let failed = admin
        .list_failed_deliveries(pb::ListFailedDeliveriesRequest {
            parent: name.clone(),
        })
        .await
        .expect("failures")
        .into_inner()
        .deliveries;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!((failed[0].attempts, failed[0].delivered), (4, false));
    let pending = report(&up, "us-wi", "hook-4").await;

    // Enabled again: what waited arrives, in order; the failure is marked delivered.
    answer.store(200, Ordering::SeqCst);
    admin
        .enable_webhook(pb::EnableWebhookRequest { name: name.clone() })
        .await
        .expect("enable");
    for expected in [&failing, &pending] {
        let delivery = next(&mut deliveries).await;
        verify(&secret, &delivery);
        assert_eq!(delivery.json()["data"]["subject"], expected.as_str());
    }
    // The receiver has them; the record follows the round's end.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let failed = admin
            .list_failed_deliveries(pb::ListFailedDeliveriesRequest {
                parent: name.clone(),
            })
            .await
            .expect("failures")
            .into_inner()
            .deliveries;
        if failed[0].delivered {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{failed:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A replay from the start delivers every wanted event again, same ids.
    admin
        .replay_webhook(pb::ReplayWebhookRequest {
            name: name.clone(),
            after_cursor: 0,
        })
        .await
        .expect("replay");
    for original in &first {
        let again = next(&mut deliveries).await;
        verify(&secret, &again);
        assert_eq!(again.id, original.id, "a replay keeps the webhook-id");
    }
    for _ in 0..2 {
        next(&mut deliveries).await;
    }
    assert_eq!(
        admin
            .replay_webhook(pb::ReplayWebhookRequest {
                name: name.clone(),
                after_cursor: 1_000_000,
            })
            .await
            .expect_err("beyond the log")
            .code(),
        Code::InvalidArgument
    );

    // Deleted: no more deliveries.
    admin
        .delete_webhook(pb::DeleteWebhookRequest { name: name.clone() })
        .await
        .expect("delete");
    report(&up, "us-wi", "hook-5").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(deliveries.try_recv().is_err(), "nothing after deletion");
}
