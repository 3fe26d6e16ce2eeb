//! Server bootstrap shared by every service: health (following database
//! readiness), reflection, HTTP/JSON beside gRPC, tracing, auth and admission
//! layers, request timeout, per-connection and per-caller limits, and
//! graceful drain on shutdown.

use std::time::Duration;

use tokio::net::TcpListener;
use tonic::service::Routes;
use tonic::transport::Server;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::admission::{AdmissionLayer, AdmissionLimits};
use crate::auth::AuthLayer;
use crate::auth::ExposeSecret as _;
use crate::db::Database;
use crate::deadline::DeadlineLayer;
use crate::drain::InFlight;
use crate::http_json::{HttpApi, HttpJsonLayer, JsonRequestLayer};
use crate::pages::{Pages, PagesLayer};
use crate::shutdown::ShutdownSignal;
use crate::telemetry::TraceLayer;
use scir_tls::{ConnLimits, Transport};

/// Limits every server applies.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerSettings {
    /// Longest a unary call may run before it fails with DEADLINE_EXCEEDED.
    #[arg(long = "request-timeout", env = "SCIR_REQUEST_TIMEOUT", value_parser = parse_duration, default_value = defaults::REQUEST_TIMEOUT)]
    pub request_timeout: Duration,
    /// Calls served at once across all connections; further calls are refused
    /// at once with RESOURCE_EXHAUSTED and a retry delay (health checks excepted).
    #[arg(
        long = "concurrency-limit",
        env = "SCIR_CONCURRENCY_LIMIT",
        default_value_t = defaults::CONCURRENCY_LIMIT
    )]
    pub concurrency_limit: usize,
    /// Largest request or response message, in bytes.
    #[arg(long = "max-message-bytes", env = "SCIR_MAX_MESSAGE_BYTES", default_value_t = defaults::MAX_MESSAGE_BYTES)]
    pub max_message_bytes: usize,
    /// How long to wait for in-flight calls on shutdown.
    #[arg(long = "drain-timeout", env = "SCIR_DRAIN_TIMEOUT", value_parser = parse_duration, default_value = defaults::DRAIN_TIMEOUT)]
    pub drain_timeout: Duration,
    /// Calls of one caller (token subject and jurisdiction) in flight at once,
    /// including those still sending their request; default half the
    /// concurrency limit, so no one caller can take every permit.
    #[arg(
        long = "caller-concurrency-limit",
        env = "SCIR_CALLER_CONCURRENCY_LIMIT"
    )]
    pub caller_concurrency_limit: Option<usize>,
    /// How long a call's request message may take to arrive.
    #[arg(long = "request-read-timeout", env = "SCIR_REQUEST_READ_TIMEOUT", value_parser = parse_duration, default_value = defaults::REQUEST_READ_TIMEOUT)]
    pub request_read_timeout: Duration,
    /// HTTP/2 streams one connection may have open at once (advertised to peers).
    #[arg(
        long = "max-streams-per-connection",
        env = "SCIR_MAX_STREAMS_PER_CONNECTION",
        default_value_t = defaults::MAX_STREAMS_PER_CONNECTION
    )]
    pub max_streams_per_connection: u32,
    /// Connections open at once; more are closed when accepted.
    #[arg(
        long = "max-connections",
        env = "SCIR_MAX_CONNECTIONS",
        default_value_t = defaults::MAX_CONNECTIONS
    )]
    pub max_connections: usize,
    /// A connection is asked to close (HTTP/2 GOAWAY; calls in flight finish)
    /// once it is this old, so idle ones do not stay open forever; clients
    /// reconnect.
    #[arg(long = "max-connection-age", env = "SCIR_MAX_CONNECTION_AGE", value_parser = parse_duration, default_value = defaults::MAX_CONNECTION_AGE)]
    pub max_connection_age: Duration,
}

/// The limits' defaults, written once for the flags and for `Default`.
mod defaults {
    pub(super) const REQUEST_TIMEOUT: &str = "30s";
    pub(super) const CONCURRENCY_LIMIT: usize = 256;
    pub(super) const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;
    pub(super) const DRAIN_TIMEOUT: &str = "20s";
    pub(super) const REQUEST_READ_TIMEOUT: &str = "10s";
    pub(super) const MAX_STREAMS_PER_CONNECTION: u32 = 100;
    pub(super) const MAX_CONNECTIONS: usize = 4096;
    pub(super) const MAX_CONNECTION_AGE: &str = "30m";
}

impl Default for ServerSettings {
    fn default() -> Self {
        let duration = |text| parse_duration(text).expect("the default durations parse");
        Self {
            request_timeout: duration(defaults::REQUEST_TIMEOUT),
            concurrency_limit: defaults::CONCURRENCY_LIMIT,
            max_message_bytes: defaults::MAX_MESSAGE_BYTES,
            drain_timeout: duration(defaults::DRAIN_TIMEOUT),
            caller_concurrency_limit: None,
            request_read_timeout: duration(defaults::REQUEST_READ_TIMEOUT),
            max_streams_per_connection: defaults::MAX_STREAMS_PER_CONNECTION,
            max_connections: defaults::MAX_CONNECTIONS,
            max_connection_age: duration(defaults::MAX_CONNECTION_AGE),
        }
    }
}

impl ServerSettings {
    /// The limits the admission layer applies.
    pub fn admission(&self) -> AdmissionLimits {
        let mut limits = AdmissionLimits::new(self.concurrency_limit, self.max_message_bytes);
        if let Some(per_caller) = self.caller_concurrency_limit {
            limits.per_caller = per_caller.max(1);
        }
        limits.body_timeout = self.request_read_timeout;
        limits
    }

    /// The limits on connections.
    pub fn connections(&self) -> ConnLimits {
        ConnLimits {
            max_connections: self.max_connections,
            ..ConnLimits::default()
        }
    }
}

/// Parses a duration as humantime writes them (`250ms`, `30s`, `5m`,
/// `1h 30m`) or a plain number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(Duration::from_secs(seconds));
    }
    humantime::parse_duration(text).map_err(|e| format!("`{text}` is not a duration like 30s: {e}"))
}

/// Creates the health service and its reporter; every service starts NOT_SERVING.
pub fn health() -> (
    HealthReporter,
    tonic_health::pb::health_server::HealthServer<impl tonic_health::pb::health_server::Health>,
) {
    tonic_health::server::health_reporter()
}

/// The health service name that is SERVING for as long as the process serves,
/// whatever its database does: for liveness probes, which must not restart a
/// process because its database is away.
pub const LIVENESS_SERVICE: &str = "liveness";

/// Keeps the health status of `services` (and of the server as a whole, `""`)
/// in step with the database: SERVING while it answers, NOT_SERVING otherwise,
/// and NOT_SERVING from the moment shutdown fires. [`LIVENESS_SERVICE`] is
/// SERVING throughout.
pub fn spawn_readiness(
    db: Database,
    reporter: HealthReporter,
    services: Vec<String>,
    mut shutdown: ShutdownSignal,
) {
    tokio::spawn(async move {
        reporter
            .set_service_status(LIVENESS_SERVICE, ServingStatus::Serving)
            .await;
        let mut last = None;
        loop {
            let status = if db.is_ready().await {
                ServingStatus::Serving
            } else {
                ServingStatus::NotServing
            };
            if last != Some(status) {
                if status == ServingStatus::NotServing {
                    tracing::warn!("database not ready; reporting NOT_SERVING");
                }
                for name in services.iter().map(String::as_str).chain([""]) {
                    reporter.set_service_status(name, status).await;
                }
                last = Some(status);
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                _ = shutdown.fired() => {
                    for name in services.iter().map(String::as_str).chain([""]) {
                        reporter.set_service_status(name, ServingStatus::NotServing).await;
                    }
                    return;
                }
            }
        }
    });
}

/// Serves a service's routes (plus health and reflection) on its listener,
/// until shutdown fires, then drains in-flight calls for at most the drain
/// timeout.
async fn serve(
    serving: Serving,
    health: tonic_health::pb::health_server::HealthServer<
        impl tonic_health::pb::health_server::Health,
    >,
) -> anyhow::Result<()> {
    let Serving {
        listener,
        transport,
        settings,
        verifier,
        routes,
        service_name,
        also_serves,
        shutdown,
        rules,
        db,
        directory: _,
        pages,
        in_contract,
    } = serving;
    let auth = AuthLayer::new(
        verifier,
        rules.clone(),
        Some(crate::audit::AuditLog::new(db)),
    );
    // A server of pages only (the web console) has no service in the
    // contract: no HTTP/JSON routes, and reflection lists nothing of its own.
    let served: Vec<&str> = std::iter::once(service_name)
        .chain(also_serves.iter().copied())
        .filter(|_| in_contract)
        .collect();
    let settings = &settings;
    // Both reflection versions (older clients ask v1alpha), each listing only
    // what this port serves (and itself).
    let reflection = |itself: &str| {
        served
            .iter()
            .copied()
            .chain(["grpc.health.v1.Health", itself])
            .fold(
                tonic_reflection::server::Builder::configure()
                    .register_encoded_file_descriptor_set(scir_proto::FILE_DESCRIPTOR_SET)
                    .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET),
                |builder, name| builder.with_service_name(name),
            )
    };
    let reflection_v1 = reflection("grpc.reflection.v1.ServerReflection").build_v1()?;
    let reflection_v1alpha =
        reflection("grpc.reflection.v1alpha.ServerReflection").build_v1alpha()?;
    let in_flight = InFlight::default();
    let audit_counts = auth.clone();
    // Authentication comes before admission: a call without a valid token is
    // refused before it can take a caller's share, a permit or a buffer.
    // HTTP/JSON calls become gRPC calls first, so they pass every layer after.
    let http = HttpJsonLayer::new(HttpApi::for_services(&served, &rules)?);
    // Pages take no token (their credential is in the request), so they are
    // routed before anything that would ask for one.
    let pages = PagesLayer::new(pages, in_flight.clone(), settings.request_timeout);
    let layers = tower::ServiceBuilder::new()
        .layer(pages)
        .layer(http)
        .layer(DeadlineLayer::new(settings.request_timeout))
        .layer(in_flight.clone())
        .layer(TraceLayer)
        .layer(auth)
        .layer(AdmissionLayer::new(settings.admission()))
        .layer(JsonRequestLayer)
        .into_inner();
    let routes = routes
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha);

    // The request timeout is the DeadlineLayer's (a client's shorter
    // `grpc-timeout` is still tonic's).
    let router = Server::builder()
        .accept_http1(true)
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .http2_keepalive_timeout(Some(Duration::from_secs(10)))
        .max_concurrent_streams(settings.max_streams_per_connection)
        .max_connection_age(settings.max_connection_age)
        .layer(layers)
        .add_routes(routes);
    let mut drain_signal = shutdown.clone();
    let stopped = async move { drain_signal.fired().await };
    let incoming = transport.accept(listener, settings.connections());
    let server = router.serve_with_incoming_shutdown(incoming, stopped);
    let result = drain(server, settings, &in_flight, shutdown).await;
    audit_counts.flush().await;
    result
}

/// Runs `server` until shutdown fires, then until the calls in flight have
/// answered or the drain timeout passes.
async fn drain(
    server: impl Future<Output = Result<(), tonic::transport::Error>>,
    settings: &ServerSettings,
    in_flight: &InFlight,
    mut shutdown: ShutdownSignal,
) -> anyhow::Result<()> {
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => return result.map_err(Into::into),
        _ = shutdown.fired() => {}
    }
    // The server stops accepting calls; once those in flight have answered,
    // dropping it closes the connections that are left, which are idle.
    let drained = async {
        in_flight.idle().await;
        tracing::debug!("calls in flight answered; closing connections");
    };
    let result = tokio::time::timeout(settings.drain_timeout, async {
        tokio::select! {
            result = &mut server => result.map_err(anyhow::Error::from),
            () = drained => Ok(()),
        }
    })
    .await;
    match result {
        Ok(result) => result,
        Err(_) => {
            tracing::warn!(
                in_flight = in_flight.current(),
                "drain timeout reached; closing remaining calls"
            );
            Ok(())
        }
    }
}

/// A listener bound ahead of the service that will serve it
/// ([`crate::config::CommonConfig::listener`]); taken once.
#[derive(Debug, Clone, Default)]
pub struct PreBound(Option<std::sync::Arc<std::sync::Mutex<Option<std::net::TcpListener>>>>);

impl PreBound {
    /// Binds `address` (port 0 picks a free port) and keeps it bound until a
    /// service takes it; returns the bound address too.
    pub fn bind(address: std::net::SocketAddr) -> std::io::Result<(Self, std::net::SocketAddr)> {
        let listener = std::net::TcpListener::bind(address)?;
        let bound = listener.local_addr()?;
        let shared = std::sync::Arc::new(std::sync::Mutex::new(Some(listener)));
        Ok((Self(Some(shared)), bound))
    }

    /// The listener handed to this process under `name` (see [`inherited`]),
    /// or else `address` bound now; returns the bound address too.
    pub fn inherited_or_bind(
        name: &str,
        address: std::net::SocketAddr,
    ) -> std::io::Result<(Self, std::net::SocketAddr)> {
        match inherited(name)? {
            Some(listener) => {
                let bound = listener.local_addr()?;
                let shared = std::sync::Arc::new(std::sync::Mutex::new(Some(listener)));
                Ok((Self(Some(shared)), bound))
            }
            None => Self::bind(address),
        }
    }

    /// The listener, the first time it is asked for.
    pub fn take(&self) -> Option<std::net::TcpListener> {
        self.0
            .as_ref()
            .and_then(|shared| shared.lock().unwrap_or_else(|e| e.into_inner()).take())
    }
}

/// The listening sockets this process was started with, by systemd's socket
/// activation protocol: `LISTEN_FDS` sockets from descriptor 3 on, named in
/// order by `LISTEN_FDNAMES` (colon-separated), for this process when
/// `LISTEN_PID` is its id (or unset). Whoever starts a service this way binds
/// its port first and never releases it: systemd, a supervisor, or the
/// end-to-end tests.
static INHERITED: std::sync::LazyLock<std::sync::Mutex<(listenfd::ListenFd, Vec<String>)>> =
    std::sync::LazyLock::new(|| {
        let names = std::env::var("LISTEN_FDNAMES")
            .map(|names| names.split(':').map(str::to_owned).collect())
            .unwrap_or_default();
        std::sync::Mutex::new((listenfd::ListenFd::from_env(), names))
    });

/// The inherited TCP listener named `name`, once (the only one when a single
/// socket came without names); `None` when there is none. A descriptor under
/// that name that is not a TCP listener is an error.
pub fn inherited(name: &str) -> std::io::Result<Option<std::net::TcpListener>> {
    let mut guard = INHERITED.lock().unwrap_or_else(|e| e.into_inner());
    let (fds, names) = &mut *guard;
    let index = match names.iter().position(|n| n == name) {
        Some(index) => index,
        None if names.is_empty() && fds.len() == 1 => 0,
        None => return Ok(None),
    };
    fds.take_tcp_listener(index)
}

/// What every service opens first: its token verifier, its migrated database
/// and its bound listener (port 0 picks a free port).
#[derive(Debug)]
pub struct Foundation {
    /// Verifies bearer tokens.
    pub verifier: crate::auth::Verifier,
    /// The service's database, migrated.
    pub db: Database,
    /// The bound listener.
    pub listener: TcpListener,
    /// Its address.
    pub address: std::net::SocketAddr,
    /// Plaintext or mutual TLS, for the server and for calls to other services.
    pub transport: Transport,
    /// The member jurisdictions (who acts in whose resources, whose name is shared).
    pub directory: std::sync::Arc<crate::directory::Directory>,
    settings: ServerSettings,
}

impl Foundation {
    /// Builds the verifier, connects and migrates the database, and takes the
    /// listener, which serves over `transport`: the one bound ahead in
    /// `common.listener`, else the socket handed to the process as `service`
    /// ([`inherited`]), else `common.listen_addr` bound now.
    pub async fn open(
        common: &crate::config::CommonConfig,
        migrations: &'static crate::db::Migrations,
        service: &str,
        transport: Transport,
    ) -> anyhow::Result<Self> {
        use anyhow::Context;
        let verifier = crate::auth::Verifier::from_config(&common.auth)?;
        let directory = std::sync::Arc::new(
            common
                .directory
                .load()
                .context("loading the member jurisdictions")?,
        );
        let options = crate::db::DbOptions {
            max_connections: common.db_max_connections,
            ..Default::default()
        };
        let db = Database::connect(common.database_url.expose_secret(), migrations, &options)
            .await
            .with_context(|| format!("opening the {service} database"))?;
        let bound = match common.listener.take() {
            Some(bound) => Some(bound),
            None => inherited(service)
                .with_context(|| format!("the listening socket handed over as {service}"))?,
        };
        let listener = match bound {
            Some(bound) => {
                bound.set_nonblocking(true)?;
                TcpListener::from_std(bound)?
            }
            None => TcpListener::bind(common.listen_addr)
                .await
                .with_context(|| format!("binding {}", common.listen_addr))?,
        };
        let address = listener.local_addr()?;
        Ok(Self {
            verifier,
            db,
            listener,
            address,
            transport,
            directory,
            settings: common.server.clone(),
        })
    }

    /// The server for `routes`, authorised by `rules` (denials audited in the
    /// service's database).
    pub fn serving(
        self,
        routes: Routes,
        rules: &[crate::auth::MethodRule],
        service_name: &'static str,
        shutdown: ShutdownSignal,
    ) -> Serving {
        Serving {
            listener: self.listener,
            transport: self.transport,
            verifier: self.verifier,
            rules: rules.to_vec(),
            also_serves: Vec::new(),
            directory: self.directory,
            db: self.db,
            routes,
            settings: self.settings,
            service_name,
            shutdown,
            pages: None,
            in_contract: true,
        }
    }

    /// A server of `pages` only, with no RPC of its own: health reports it
    /// as `name`, and no token is asked of a page (its handler decides).
    pub fn serving_pages(
        self,
        pages: Pages,
        name: &'static str,
        shutdown: ShutdownSignal,
    ) -> Serving {
        let mut serving = self.serving(Routes::default(), &[], name, shutdown);
        serving.pages = Some(pages);
        serving.in_contract = false;
        serving
    }
}

/// What a service needs to serve: its bound listener, database, routes and auth.
#[derive(Debug)]
pub struct Serving {
    /// The bound listener.
    pub listener: TcpListener,
    /// Plaintext or mutual TLS.
    pub transport: Transport,
    /// The service's database; health follows it, and it is closed after the drain.
    pub db: Database,
    /// The service's routes.
    pub routes: Routes,
    /// Verifies bearer tokens.
    pub verifier: crate::auth::Verifier,
    /// Who may call what.
    pub rules: Vec<crate::auth::MethodRule>,
    /// Services served beside the main one (webhooks).
    pub also_serves: Vec<&'static str>,
    /// The member jurisdictions.
    pub directory: std::sync::Arc<crate::directory::Directory>,
    /// Limits.
    pub settings: ServerSettings,
    /// The gRPC service name health reports.
    pub service_name: &'static str,
    /// When to stop.
    pub shutdown: ShutdownSignal,
    /// HTML pages served beside the routes, if any.
    pub pages: Option<Pages>,
    /// Whether `service_name` is a service of the contract (false for a
    /// server of pages only).
    in_contract: bool,
}

impl Serving {
    /// Serves `pages` beside the routes: requests under their prefix that are
    /// not gRPC go to their handler, without a token.
    pub fn with_pages(mut self, pages: Pages) -> Self {
        self.pages = Some(pages);
        self
    }

    /// Serves webhooks for the events the service `publishes` beside it
    /// (their RPCs, open to their own roles; secrets sealed by `sealer`) and
    /// starts delivering `log`'s events to the endpoints.
    pub fn with_webhooks(
        mut self,
        config: &crate::webhooks::WebhookConfig,
        sealer: crate::sealing::Sealer,
        publishes: Vec<String>,
        log: crate::events::EventLog,
    ) -> anyhow::Result<Self> {
        let webhooks = crate::webhooks::Webhooks::new(
            self.db.clone(),
            sealer,
            self.directory.clone(),
            publishes,
            config,
        )?;
        self.routes = self
            .routes
            .add_service(webhooks.server(self.settings.max_message_bytes));
        self.rules.extend_from_slice(crate::webhooks::RULES);
        self.also_serves.push(crate::webhooks::SERVICE_NAME);
        webhooks.spawn_delivery(log, self.shutdown.clone());
        Ok(self)
    }

    /// Serves with health following the database until shutdown, then drains
    /// and closes the database.
    pub async fn run(self) -> anyhow::Result<()> {
        let (reporter, health) = health();
        spawn_readiness(
            self.db.clone(),
            reporter,
            std::iter::once(self.service_name)
                .chain(self.also_serves.iter().copied())
                .map(str::to_owned)
                .collect(),
            self.shutdown.clone(),
        );
        let address = self.listener.local_addr()?;
        tracing::info!(service = self.service_name, %address, "listening");
        let db = self.db.clone();
        let result = serve(self, health).await;
        db.close().await;
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_limits_are_the_flags_defaults() {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            server: ServerSettings,
        }
        let parsed = <Cli as clap::Parser>::try_parse_from(["scir"]).expect("parses");
        assert_eq!(
            format!("{:?}", parsed.server),
            format!("{:?}", ServerSettings::default())
        );
    }

    #[test]
    fn durations_read_as_people_write_them() {
        for (text, expected) in [
            ("30", Duration::from_secs(30)),
            ("250ms", Duration::from_millis(250)),
            ("30s", Duration::from_secs(30)),
            ("5m", Duration::from_secs(300)),
            ("1h 30m", Duration::from_secs(5400)),
        ] {
            assert_eq!(parse_duration(text), Ok(expected), "{text}");
        }
        for bad in ["", "soon", "-1s", "5 parsecs"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
