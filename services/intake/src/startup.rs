//! Builds the intake service: loads rules, opens the database, binds the
//! listener; then serves until shutdown.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use scir_kit::audit::AuditLog;
use scir_kit::auth::{AuthLayer, Verifier};
use scir_kit::db::{Database, DbOptions, MigrationFile, Migrations};
use scir_kit::events::EventLog;
use scir_kit::server::{self, ServerSettings};
use scir_kit::shutdown::{Shutdown, ShutdownSignal};
use scir_proto::intake::v1::intake_service_server::IntakeServiceServer;
use tokio::net::TcpListener;
use tonic::service::Routes;

use crate::config::IntakeConfig;
use crate::domain::jurisdictions::Directory;
use crate::grpc::IntakeGrpc;
use crate::policy;
use crate::service::Intake;
use crate::store::Store;

/// Intake's own migrations.
pub const MIGRATIONS: Migrations = Migrations {
    postgres: &[MigrationFile {
        version: 100,
        description: "incidents",
        sql: include_str!("../migrations/postgres/0100_incidents.sql"),
    }],
    sqlite: &[MigrationFile {
        version: 100,
        description: "incidents",
        sql: include_str!("../migrations/sqlite/0100_incidents.sql"),
    }],
};

/// The gRPC service name, as health reports it.
pub const SERVICE_NAME: &str = "scir.intake.v1.IntakeService";

/// A built intake service, bound and ready to serve.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    address: SocketAddr,
    db: Database,
    routes: Routes,
    auth: AuthLayer,
    settings: ServerSettings,
    shutdown: ShutdownSignal,
}

/// Loads the rule sets and jurisdictions named by the configuration.
pub fn load_directory(config: &IntakeConfig) -> anyhow::Result<Directory> {
    Ok(match &config.rules_dir {
        Some(dir) => Directory::load(dir)?,
        None => Directory::shipped()?,
    })
}

impl Application {
    /// Loads configuration files, connects and migrates the database, and binds
    /// the listener (port 0 picks a free port; see [`Application::address`]).
    pub async fn build(config: &IntakeConfig, shutdown: &Shutdown) -> anyhow::Result<Self> {
        let directory = Arc::new(load_directory(config).context("loading eligibility rules")?);
        let verifier = Verifier::from_config(&config.common.auth)?;
        let options = DbOptions {
            max_connections: config.common.db_max_connections,
            ..DbOptions::default()
        };
        let db = Database::connect(&config.common.database_url, &MIGRATIONS, &options)
            .await
            .context("opening the intake database")?;
        let listener = TcpListener::bind(config.common.listen_addr)
            .await
            .with_context(|| format!("binding {}", config.common.listen_addr))?;
        let address = listener.local_addr()?;

        let events = EventLog::new(db.clone(), shutdown.signal());
        let intake = Intake::new(Store::new(db.clone()), events, directory);
        let max = config.common.server.max_message_bytes;
        let service = IntakeServiceServer::new(IntakeGrpc::new(intake))
            .max_decoding_message_size(max)
            .max_encoding_message_size(max);
        let auth = AuthLayer::new(
            verifier,
            policy::RULES.to_vec(),
            Some(AuditLog::new(db.clone())),
        );
        Ok(Self {
            listener,
            address,
            db,
            routes: Routes::new(service),
            auth,
            settings: config.common.server.clone(),
            shutdown: shutdown.signal(),
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
        server::Serving {
            listener: self.listener,
            db: self.db,
            routes: self.routes,
            auth: self.auth,
            settings: self.settings,
            service_name: SERVICE_NAME,
            shutdown: self.shutdown,
        }
        .run()
        .await
    }
}
