//! Builds the learning service: opens the database, binds the listener and
//! links to review; then serves until shutdown.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use scir_kit::db::Migrations;
use scir_kit::events::EventLog;
use scir_kit::server;
use scir_kit::shutdown::Shutdown;
use scir_kit::tls::Transport;
use scir_proto::learning::v1::learning_service_server::LearningServiceServer;
use tonic::service::Routes;

use crate::config::LearningConfig;
use crate::grpc::LearningGrpc;
use crate::policy;
use crate::review_link::ReviewLink;
use crate::service::Learning;

/// Learning's own migrations.
pub static MIGRATIONS: Migrations = scir_kit::migrations!();

/// The gRPC service name, as health reports it.
pub const SERVICE_NAME: &str = "scir.learning.v1.LearningService";

/// The events learning publishes (webhooks may ask for any of them).
pub fn published_events() -> Vec<String> {
    use scir_kit::events::type_of;
    use scir_proto::learning::v1 as pb;
    vec![
        type_of::<pb::AggregateMappingConvened>(),
        type_of::<pb::AggregateMappingAdvanced>(),
        type_of::<pb::ConsiderationChanged>(),
        type_of::<pb::SafetyNoticeIssued>(),
        type_of::<pb::SafetyNoticeAnswered>(),
    ]
}

/// A built learning service.
#[derive(Debug)]
pub struct Application {
    address: SocketAddr,
    serving: server::Serving,
}

impl Application {
    /// Connects and migrates, binds, and links to review.
    pub async fn build(config: &LearningConfig, shutdown: &Shutdown) -> anyhow::Result<Self> {
        let transport = Transport::from_args(&config.common.tls)?;
        let review = ReviewLink::new(&config.review_addr, &transport)
            .context("SCIR_LEARNING_REVIEW_ADDR")?;
        let sealer = Arc::new(scir_kit::sealing::Sealer::from_config(&config.sealing)?);
        let base =
            server::Foundation::open(&config.common, &MIGRATIONS, "learning", transport).await?;
        let (address, db) = (base.address, base.db.clone());
        let events = EventLog::new(db.clone(), shutdown.signal());
        let learning = Learning::new(
            db,
            events.clone(),
            review,
            base.directory.clone(),
            sealer.clone(),
        );
        let max = config.common.server.max_message_bytes;
        let service = LearningServiceServer::new(LearningGrpc::new(learning))
            .max_decoding_message_size(max)
            .max_encoding_message_size(max);
        let webhook_sealer = scir_kit::sealing::Sealer::from_config(&config.sealing)?;
        let serving = base
            .serving(
                Routes::new(service),
                policy::RULES,
                SERVICE_NAME,
                shutdown.signal(),
            )
            .with_webhooks(&config.webhooks, webhook_sealer, published_events(), events)?;
        Ok(Self { address, serving })
    }

    /// The bound address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Serves until shutdown fires, then drains and closes the database.
    pub async fn run(self) -> anyhow::Result<()> {
        self.serving.run().await
    }
}
