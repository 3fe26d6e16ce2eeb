//! Starts a real intake server for a test and hands out clients.

use std::net::SocketAddr;

use scir_intake::{Application, IntakeConfig};
use scir_kit::auth::Role;
use scir_kit::client::ClientInterceptor;
use scir_kit::shutdown::Shutdown;
use scir_proto::intake::v1::intake_service_client::IntakeServiceClient;
use scir_testkit::{Backend, TestDatabase};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// A client of the intake service.
pub(crate) type Client = IntakeServiceClient<InterceptedService<Channel, ClientInterceptor>>;

/// A running intake server.
pub(crate) struct TestIntake {
    /// Where it listens.
    pub address: SocketAddr,
    /// Its database.
    pub database: TestDatabase,
    shutdown: Shutdown,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl TestIntake {
    /// Starts intake on a fresh database of `backend` with the shipped rules.
    pub(crate) async fn start(backend: Backend) -> Self {
        let database = TestDatabase::new(backend).await;
        Self::start_on(database).await
    }

    /// Starts intake on an existing database.
    pub(crate) async fn start_on(database: TestDatabase) -> Self {
        let config = IntakeConfig {
            webhooks: Default::default(),
            common: scir_testkit::common_config(&database.url),
            rules_dir: None,
            sealing: scir_testkit::sealing_config(),
        };
        let shutdown = Shutdown::new();
        let app = Application::build(&config, &shutdown)
            .await
            .expect("intake builds");
        let address = app.address();
        let task = tokio::spawn(app.run());
        scir_testkit::wait_serving(address, scir_intake::startup::SERVICE_NAME).await;
        Self {
            address,
            database,
            shutdown,
            task,
        }
    }

    /// A client sending `token` (or none).
    pub(crate) fn client_with(&self, token: Option<&str>) -> Client {
        let interceptor = ClientInterceptor::new(token).expect("interceptor");
        IntakeServiceClient::with_interceptor(scir_testkit::channel(self.address), interceptor)
    }

    /// A client holding `roles` in `jurisdiction`.
    pub(crate) fn client(&self, roles: &[Role], jurisdiction: &str) -> Client {
        self.client_with(Some(&scir_testkit::token(roles, jurisdiction)))
    }

    /// A reporter of Wisconsin.
    pub(crate) fn reporter(&self) -> Client {
        self.client(&[Role::Reporter], "us-wi")
    }

    /// Stops the server, waiting for it to drain; returns its database.
    pub(crate) async fn stop(self) -> TestDatabase {
        self.shutdown.fire();
        self.task
            .await
            .expect("server task")
            .expect("server ran cleanly");
        self.database
    }
}

/// A report request with `request_id` and the given facts.
pub(crate) fn report(
    request_id: &str,
    facts: scir_proto::intake::v1::IncidentFacts,
) -> scir_proto::intake::v1::ReportIncidentRequest {
    scir_proto::intake::v1::ReportIncidentRequest {
        request_id: request_id.to_owned(),
        incident: Some(facts),
    }
}

pub(crate) use scir_testkit::violated_fields;

/// Every event a finite `WatchEvents` request returns.
pub(crate) async fn collect_events(
    client: &mut Client,
    request: scir_proto::common::v1::WatchEventsRequest,
) -> Vec<scir_proto::common::v1::Event> {
    use tokio_stream::StreamExt;
    client
        .watch_events(request)
        .await
        .expect("watch")
        .into_inner()
        .collect::<Result<_, _>>()
        .await
        .expect("events")
}

/// Replays the whole event log.
pub(crate) fn replay_all() -> scir_proto::common::v1::WatchEventsRequest {
    scir_proto::common::v1::WatchEventsRequest {
        after_cursor: 0,
        types: vec![],
        stop_at_end: true,
    }
}

/// The first page of Wisconsin's incidents.
pub(crate) async fn wisconsin_incidents(
    client: &mut Client,
) -> Vec<scir_proto::intake::v1::Incident> {
    let request = scir_proto::intake::v1::ListIncidentsRequest {
        parent: "jurisdictions/us-wi".into(),
        ..Default::default()
    };
    client
        .list_incidents(request)
        .await
        .expect("list")
        .into_inner()
        .incidents
}
