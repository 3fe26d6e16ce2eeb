//! Builds the scoring service: loads instruments, opens the database, binds the
//! listener, starts the consumer of review's events; then serves until shutdown.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use scir_kit::consumer::{self, ConsumerHandle, Source};
use scir_kit::db::Migrations;
use scir_kit::events::EventLog;
use scir_kit::server;
use scir_kit::shutdown::Shutdown;
use scir_kit::tls::Transport;
use scir_proto::scoring::v1::scoring_service_server::ScoringServiceServer;
use tonic::service::Routes;

use crate::config::ScoringConfig;
use crate::domain::instruments::Catalogue;
use crate::grpc::ScoringGrpc;
use crate::policy;
use crate::review_link::ReviewLink;
use crate::service::{ReviewEvents, Scoring};

/// Scoring's own migrations.
pub static MIGRATIONS: Migrations = scir_kit::migrations!();

/// The gRPC service name, as health reports it.
pub const SERVICE_NAME: &str = "scir.scoring.v1.ScoringService";

/// The path of review's `WatchEvents`.
pub const REVIEW_EVENTS: &str = "/scir.review.v1.ReviewService/WatchEvents";

/// The events scoring publishes (webhooks may ask for any of them).
pub fn published_events() -> Vec<String> {
    use scir_kit::events::type_of;
    use scir_proto::scoring::v1 as pb;
    vec![
        type_of::<pb::RatingsComplete>(),
        type_of::<pb::ConsensusRecorded>(),
    ]
}

/// A built scoring service.
#[derive(Debug)]
pub struct Application {
    address: SocketAddr,
    consumer: ConsumerHandle,
    serving: server::Serving,
}

impl Application {
    /// Loads instruments, connects and migrates, binds, and starts consuming.
    pub async fn build(config: &ScoringConfig, shutdown: &Shutdown) -> anyhow::Result<Self> {
        let catalogue = Catalogue::load(
            config.instruments_dir.as_deref(),
            config.active_instrument.as_deref(),
        )
        .context("loading instruments")?;
        let token = config
            .service_token
            .resolve(&config.common.auth, "scir-scoring")?;
        let transport = Transport::from_args(&config.common.tls)?;
        let review =
            ReviewLink::new(&config.review_addr, &transport).context("SCIR_SCORING_REVIEW_ADDR")?;
        let base =
            server::Foundation::open(&config.common, &MIGRATIONS, "scoring", transport.clone())
                .await?;
        let (address, db) = (base.address, base.db.clone());
        let events = EventLog::new(db.clone(), shutdown.signal());
        let source = Source {
            name: "review".to_owned(),
            address: config.review_addr.clone(),
            method: REVIEW_EVENTS,
            types: ReviewEvents::types(),
            transport,
        };
        let consumer = consumer::spawn(
            db.clone(),
            source,
            token,
            Arc::new(ReviewEvents),
            shutdown.signal(),
        );
        let webhook_sealer = scir_kit::sealing::Sealer::from_config(&config.sealing)?;
        let scoring = Scoring::new(
            db.clone(),
            events.clone(),
            Arc::new(catalogue),
            review,
            base.directory.clone(),
        );
        let max = config.common.server.max_message_bytes;
        let service = ScoringServiceServer::new(ScoringGrpc::new(scoring))
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

    /// The consumer of review's events.
    pub fn consumer(&self) -> ConsumerHandle {
        self.consumer.clone()
    }

    /// Serves until shutdown fires, then drains and closes the database.
    pub async fn run(self) -> anyhow::Result<()> {
        self.serving.run().await
    }
}
