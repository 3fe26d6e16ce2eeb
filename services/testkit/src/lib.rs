//! Test support for SCIR services: a fresh database per test on either backend,
//! development tokens, configuration for a server on a free port, and waiting
//! for health instead of sleeping.
//!
//! PostgreSQL comes from `SCIR_TEST_DATABASE_URL` (an admin URL; each test
//! creates its own database there) or, when unset, from a throwaway cluster this
//! crate starts with the machine's `initdb` and `pg_ctl`, shared by every test
//! process of the run. A missing PostgreSQL fails the test; it never skips.

pub mod event_source;
pub mod fixtures;
pub mod journey;
pub mod postgres;
pub mod raw;

use std::net::SocketAddr;
use std::time::Duration;

use scir_kit::auth::{AuthConfig, Role};
use scir_kit::config::CommonConfig;
use scir_kit::server::ServerSettings;
use scir_kit::telemetry::TelemetryConfig;
use tonic::transport::Channel;

/// The field paths of an `INVALID_ARGUMENT` status's violations (none for
/// any other status).
pub fn violated_fields(status: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt;
    status
        .get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default()
}

/// The HS256 secret test servers verify with.
pub const SECRET: &str = "scir-test-secret-0123456789abcdef0123456789";
/// Issuer of test tokens.
pub const ISSUER: &str = "scir-test";
/// Audience of test tokens.
pub const AUDIENCE: &str = "scir";

/// Runs each named `async fn(Backend)` as two tests, on SQLite and on PostgreSQL,
/// in modules `sqlite` and `postgres` of the calling module.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $name() { super::$name($crate::Backend::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test] async fn $name() { super::$name($crate::Backend::Postgres).await })*
        }
    };
}

/// The database backends every store test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite in a temporary directory.
    Sqlite,
    /// A fresh database in the test PostgreSQL cluster.
    Postgres,
}

/// A database that exists for one test.
#[derive(Debug)]
pub struct TestDatabase {
    /// Its URL.
    pub url: String,
    /// Which backend.
    pub backend: Backend,
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    /// A new, empty database on `backend`.
    pub async fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                Self {
                    url,
                    backend,
                    _dir: Some(dir),
                }
            }
            Backend::Postgres => {
                let url = postgres::fresh_database()
                    .await
                    .unwrap_or_else(|e| panic!("PostgreSQL for tests: {e:#}"));
                Self {
                    url,
                    backend,
                    _dir: None,
                }
            }
        }
    }
}

/// The data key test servers seal restricted content with (id `test`).
pub const DATA_KEYS: &str = "test:dGVzdC1kYXRhLWtleS0wMTIzNDU2Nzg5YWJjZGVmMDE=";

/// Sealing configuration with [`DATA_KEYS`].
pub fn sealing_config() -> scir_kit::sealing::SealingConfig {
    scir_kit::sealing::SealingConfig {
        keys: Some(DATA_KEYS.to_owned()),
        active: None,
    }
}

/// Auth configuration that verifies test tokens.
pub fn auth_config() -> AuthConfig {
    AuthConfig {
        issuer: ISSUER.to_owned(),
        audience: AUDIENCE.to_owned(),
        hs256_secret: Some(SECRET.into()),
        jwks_file: None,
    }
}

/// A valid test token.
pub fn token(roles: &[Role], jurisdiction: &str) -> String {
    token_with(
        roles,
        jurisdiction,
        SECRET,
        AUDIENCE,
        Duration::from_secs(600),
    )
}

/// A valid test token for a given subject.
pub fn token_as(subject: &str, roles: &[Role], jurisdiction: &str) -> String {
    scir_kit::auth::mint_hs256(
        SECRET,
        ISSUER,
        AUDIENCE,
        subject,
        jurisdiction,
        roles,
        Duration::from_secs(600),
    )
    .expect("token")
}

/// A test token with any secret, audience and lifetime.
pub fn token_with(
    roles: &[Role],
    jurisdiction: &str,
    secret: &str,
    audience: &str,
    ttl: Duration,
) -> String {
    scir_kit::auth::mint_hs256(
        secret,
        ISSUER,
        audience,
        "test-user",
        jurisdiction,
        roles,
        ttl,
    )
    .expect("token")
}

/// An already expired test token (beyond the verifier's leeway).
pub fn expired_token(roles: &[Role], jurisdiction: &str) -> String {
    use scir_kit::auth::Claims;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let claims = Claims {
        sub: "test-user".into(),
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        iat: now - 7200,
        nbf: None,
        exp: now - 3600,
        jurisdiction: jurisdiction.into(),
        roles: roles.iter().map(|r| r.as_str().to_owned()).collect(),
    };
    jsonwebtoken_encode(&claims)
}

fn jsonwebtoken_encode(claims: &scir_kit::auth::Claims) -> String {
    scir_kit::auth::encode_hs256(SECRET, claims).expect("token")
}

/// Common configuration of a test server on a free loopback port.
pub fn common_config(database_url: &str) -> CommonConfig {
    CommonConfig {
        listener: Default::default(),
        listen_addr: "127.0.0.1:0".parse().expect("address"),
        database_url: database_url.to_owned().into(),
        db_max_connections: 8,
        auth: auth_config(),
        server: ServerSettings {
            drain_timeout: Duration::from_secs(2),
            ..ServerSettings::default()
        },
        telemetry: TelemetryConfig::default(),
        tls: Default::default(),
        directory: Default::default(),
    }
}

/// Common configuration of a test server on a loopback port bound now, for
/// services whose address others must know before it is built; the port
/// stays bound until the service serves it.
pub fn common_config_bound(database_url: &str) -> (CommonConfig, SocketAddr) {
    let (listener, address) =
        scir_kit::server::PreBound::bind(([127, 0, 0, 1], 0).into()).expect("bind a loopback port");
    let mut common = common_config(database_url);
    common.listener = listener;
    common.listen_addr = address;
    (common, address)
}

/// A channel to a server.
pub fn channel(address: SocketAddr) -> Channel {
    scir_kit::tls::Transport::plain()
        .channel(&format!("http://{address}"))
        .expect("channel")
}

/// Waits until `service` reports SERVING, for at most 20 seconds.
pub async fn wait_serving(address: SocketAddr, service: &str) {
    wait_serving_on(channel(address), address, service).await;
}

/// Waits until `service` at `address` reports SERVING through `channel`, for
/// at most 20 seconds.
pub async fn wait_serving_on(channel: Channel, address: SocketAddr, service: &str) {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    let mut client = HealthClient::new(channel);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let status = client
            .check(HealthCheckRequest {
                service: service.to_owned(),
            })
            .await
            .map(|r| r.into_inner().status);
        if matches!(status, Ok(s) if s == ServingStatus::Serving as i32) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{service} at {address} never became SERVING: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
