//! Builds the review service: opens the database, binds the listener, starts
//! the consumer of intake's events; then serves until shutdown.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use scir_kit::consumer::{self, ConsumerHandle, Source};
use scir_kit::db::Migrations;
use scir_kit::events::EventLog;
use scir_kit::server;
use scir_kit::shutdown::Shutdown;
use scir_kit::tls::Transport;
use scir_proto::review::v1::review_service_server::ReviewServiceServer;
use tonic::service::Routes;

use crate::config::ReviewConfig;
use crate::domain::language::LanguageChecker;
use crate::grpc::ReviewGrpc;
use crate::intake_link::IntakeLink;
use crate::policy;
use crate::scoring::{NoScoringService, ScoringClient, ScoringStatus};
use crate::service::{IntakeEvents, Reviews};

/// Review's own migrations.
pub static MIGRATIONS: Migrations = scir_kit::migrations!();

/// The gRPC service name, as health reports it.
pub const SERVICE_NAME: &str = "scir.review.v1.ReviewService";

/// The path of intake's `WatchEvents`.
pub const INTAKE_EVENTS: &str = "/scir.intake.v1.IntakeService/WatchEvents";

/// The events review publishes (webhooks may ask for any of them).
pub fn published_events() -> Vec<String> {
    use scir_kit::events::type_of;
    use scir_proto::review::v1 as pb;
    vec![
        type_of::<pb::ReviewOpened>(),
        type_of::<pb::ReviewFactsChanged>(),
        type_of::<pb::ReviewStageChanged>(),
        type_of::<pb::ReviewDeadlinesChanged>(),
        type_of::<pb::KeyObservationChanged>(),
        type_of::<pb::LearningOpportunityRecorded>(),
        type_of::<pb::RecommendationChanged>(),
        type_of::<pb::ReviewFinalised>(),
    ]
}

/// A built review service, bound and consuming intake's events.
#[derive(Debug)]
pub struct Application {
    address: SocketAddr,
    consumer: ConsumerHandle,
    serving: server::Serving,
}

impl Application {
    /// Builds with the scoring service the configuration names (without one, the
    /// SSIT guard refuses, saying no scoring service is configured).
    pub async fn build(config: &ReviewConfig, shutdown: &Shutdown) -> anyhow::Result<Self> {
        let transport = Transport::from_args(&config.common.tls)?;
        let scoring: Arc<dyn ScoringStatus> = match &config.scoring_addr {
            Some(addr) => {
                Arc::new(ScoringClient::new(addr, &transport).context("SCIR_REVIEW_SCORING_ADDR")?)
            }
            None => Arc::new(NoScoringService),
        };
        Self::assemble(config, shutdown, scoring, transport).await
    }

    /// Builds with a given scoring status (tests use an in-process one).
    pub async fn build_with(
        config: &ReviewConfig,
        shutdown: &Shutdown,
        scoring: Arc<dyn ScoringStatus>,
    ) -> anyhow::Result<Self> {
        let transport = Transport::from_args(&config.common.tls)?;
        Self::assemble(config, shutdown, scoring, transport).await
    }

    async fn assemble(
        config: &ReviewConfig,
        shutdown: &Shutdown,
        scoring: Arc<dyn ScoringStatus>,
        transport: Transport,
    ) -> anyhow::Result<Self> {
        let language = match &config.language_file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                LanguageChecker::parse(&path.display().to_string(), &text)?
            }
            None => LanguageChecker::shipped()?,
        };
        let token = config
            .service_token
            .resolve(&config.common.auth, "scir-review")?;
        let intake =
            IntakeLink::new(&config.intake_addr, &transport).context("SCIR_REVIEW_INTAKE_ADDR")?;
        let base =
            server::Foundation::open(&config.common, &MIGRATIONS, "review", transport.clone())
                .await?;
        let (address, db) = (base.address, base.db.clone());
        // Team rows from before they named their member (migration 0102).
        let mut conn = db.acquire().await?;
        let filled = crate::store::fill_members(&mut conn, |body| {
            <scir_proto::review::v1::TeamMember as prost::Message>::decode(body)
                .ok()
                .map(|m| m.subject)
        })
        .await?;
        drop(conn);
        if filled > 0 {
            tracing::info!(filled, "team rows now name their members");
        }

        let events = EventLog::new(db.clone(), shutdown.signal());
        let handler = Arc::new(IntakeEvents::new(db.backend(), events.clone()));
        let source = Source {
            name: "intake".to_owned(),
            address: config.intake_addr.clone(),
            method: INTAKE_EVENTS,
            types: IntakeEvents::types(),
            transport,
        };
        let consumer = consumer::spawn(db.clone(), source, token, handler, shutdown.signal());
        let sealer = scir_kit::sealing::Sealer::from_config(&config.sealing)?;
        let webhook_sealer = sealer.clone();
        let reviews = Reviews::new(
            db.clone(),
            events.clone(),
            Arc::new(language),
            scoring,
            intake,
            sealer,
            base.directory.clone(),
        );
        let max = config.common.server.max_message_bytes;
        let service = ReviewServiceServer::new(ReviewGrpc::new(reviews))
            .max_decoding_message_size(max)
            .max_encoding_message_size(max);
        let serving = base
            .serving(
                Routes::new(service),
                policy::RULES,
                SERVICE_NAME,
                shutdown.signal(),
            )
            .with_webhooks(&config.webhooks, webhook_sealer, published_events(), events)?;
        Ok(Self {
            address,
            consumer,
            serving,
        })
    }

    /// The bound address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The consumer of intake's events.
    pub fn consumer(&self) -> ConsumerHandle {
        self.consumer.clone()
    }

    /// Serves until shutdown fires, then drains and closes the database.
    pub async fn run(self) -> anyhow::Result<()> {
        self.serving.run().await
    }
}
