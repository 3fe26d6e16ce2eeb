//! Builds the culture service: loads the instruments, opens the database,
//! binds, and serves the RPCs and the answer page on one port.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use scir_kit::db::Migrations;
use scir_kit::events::EventLog;
use scir_kit::pages::Pages;
use scir_kit::server;
use scir_kit::shutdown::Shutdown;
use scir_kit::tls::Transport;
use scir_proto::culture::v1::culture_service_server::CultureServiceServer;
use tonic::service::Routes;

use crate::config::CultureConfig;
use crate::domain::instruments::Catalogue;
use crate::grpc::CultureGrpc;
use crate::page::SurveyPages;
use crate::policy;
use crate::service::{Culture, SURVEY_PATH};

/// Culture's own migrations.
pub static MIGRATIONS: Migrations = scir_kit::migrations!();

/// The gRPC service name, as health reports it.
pub const SERVICE_NAME: &str = "scir.culture.v1.CultureService";

/// A built culture service.
#[derive(Debug)]
pub struct Application {
    address: SocketAddr,
    serving: server::Serving,
}

impl Application {
    /// Loads the instruments (refusing to start on a bad file), connects and
    /// migrates, and binds.
    pub async fn build(config: &CultureConfig, shutdown: &Shutdown) -> anyhow::Result<Self> {
        let instruments = Catalogue::load(config.instruments_dir.as_deref())
            .context("SCIR_CULTURE_INSTRUMENTS_DIR")?;
        let transport = Transport::from_args(&config.common.tls)?;
        let base =
            server::Foundation::open(&config.common, &MIGRATIONS, "culture", transport).await?;
        let address = base.address;
        let events = EventLog::new(base.db.clone(), shutdown.signal());
        let culture = Culture::new(
            base.db.clone(),
            events,
            base.directory.clone(),
            Arc::new(instruments),
            config.min_respondents,
        );
        let max = config.common.server.max_message_bytes;
        let service = CultureServiceServer::new(CultureGrpc::new(culture.clone()))
            .max_decoding_message_size(max)
            .max_encoding_message_size(max);
        let pages = Pages::new(
            SURVEY_PATH,
            SurveyPages::new(culture),
            config.page_requests_per_minute,
        )
        .with_trusted_proxies(config.trusted_proxies.clone());
        let serving = base
            .serving(
                Routes::new(service),
                policy::RULES,
                SERVICE_NAME,
                shutdown.signal(),
            )
            .with_pages(pages);
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
