//! Builds the intake service: loads rules, opens the database, binds the
//! listener; then serves until shutdown.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use scir_kit::db::{Database, Migrations};
use scir_kit::events::EventLog;
use scir_kit::server;
use scir_kit::shutdown::Shutdown;
use scir_kit::tls::Transport;
use scir_proto::intake::v1::intake_service_server::IntakeServiceServer;
use tonic::service::Routes;

use crate::config::IntakeConfig;
use crate::domain::jurisdictions::Directory;
use crate::grpc::IntakeGrpc;
use crate::policy;
use crate::service::Intake;

/// Intake's own migrations.
pub static MIGRATIONS: Migrations = scir_kit::migrations!();

/// The gRPC service name, as health reports it.
pub const SERVICE_NAME: &str = "scir.intake.v1.IntakeService";

/// The events intake publishes (webhooks may ask for any of them).
pub fn published_events() -> Vec<String> {
    use scir_kit::events::type_of;
    use scir_proto::intake::v1 as pb;
    vec![
        type_of::<pb::IncidentReported>(),
        type_of::<pb::IncidentAmended>(),
    ]
}

/// A built intake service, bound and ready to serve.
#[derive(Debug)]
pub struct Application {
    address: SocketAddr,
    db: Database,
    serving: server::Serving,
}

/// Loads the rule sets and jurisdictions named by the configuration.
pub fn load_directory(config: &IntakeConfig) -> anyhow::Result<Directory> {
    let members = config.common.directory.load()?;
    Ok(Directory::load(config.rules_dir.as_deref(), members)?)
}

impl Application {
    /// Loads configuration files, connects and migrates the database, and binds
    /// the listener (port 0 picks a free port; see [`Application::address`]).
    pub async fn build(config: &IntakeConfig, shutdown: &Shutdown) -> anyhow::Result<Self> {
        let directory = Arc::new(load_directory(config).context("loading eligibility rules")?);
        let transport = Transport::from_args(&config.common.tls)?;
        let base =
            server::Foundation::open(&config.common, &MIGRATIONS, "intake", transport).await?;
        let (address, db) = (base.address, base.db.clone());
        let events = EventLog::new(db.clone(), shutdown.signal());
        let sealer = scir_kit::sealing::Sealer::from_config(&config.sealing)?;
        let webhook_sealer = sealer.clone();
        let intake = Intake::new(db.clone(), sealer, events.clone(), directory);
        let max = config.common.server.max_message_bytes;
        let service = IntakeServiceServer::new(IntakeGrpc::new(intake))
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
            db,
            serving,
        })
    }

    /// The bound address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The database.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Serves until shutdown fires, then drains and closes the database.
    pub async fn run(self) -> anyhow::Result<()> {
        self.serving.run().await
    }
}
