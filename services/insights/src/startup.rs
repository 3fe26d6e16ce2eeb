//! Builds the insights service: opens the database, loads the index, starts the
//! consumers of review's, scoring's, learning's and culture's events; then
//! serves until shutdown.

use std::net::SocketAddr;
use std::sync::Arc;

use scir_kit::audit::AuditLog;
use scir_kit::auth::ExposeSecret as _;
use scir_kit::consumer::{self, ConsumerHandle, Source};
use scir_kit::db::{Database, Migrations};
use scir_kit::server;
use scir_kit::shutdown::Shutdown;
use scir_kit::tls::Transport;
use scir_proto::insights::v1::insights_service_server::InsightsServiceServer;
use tokio::sync::Notify;
use tonic::service::Routes;

use anyhow::Context;

use crate::config::InsightsConfig;
use crate::domain::protection::Perturbation;
use crate::grpc::InsightsGrpc;
use crate::index::Index;
use crate::policy;
use crate::projection::{Keys, Projection};
use crate::service::{Insights, Sharing};

/// Insights' own migrations.
pub static MIGRATIONS: Migrations = scir_kit::migrations!();

/// The gRPC service name, as health reports it.
pub const SERVICE_NAME: &str = "scir.insights.v1.InsightsService";

/// A built insights service.
#[derive(Debug)]
pub struct Application {
    address: SocketAddr,
    db: Database,
    consumers: Vec<ConsumerHandle>,
    index: Index,
    insights: Insights,
    serving: server::Serving,
}

impl Application {
    /// Connects and migrates, loads the index, binds, and starts consuming.
    pub async fn build(config: &InsightsConfig, shutdown: &Shutdown) -> anyhow::Result<Self> {
        let transport = Transport::from_args(&config.common.tls)?;
        let base =
            server::Foundation::open(&config.common, &MIGRATIONS, "insights", transport.clone())
                .await?;
        let (address, db) = (base.address, base.db.clone());
        let index = Index::load(&db).await?;
        let changed = Arc::new(Notify::new());
        index.spawn_refresh(db.clone(), changed.clone(), shutdown.signal());
        let projection = Arc::new(Projection::new(
            Keys::new(config.key_salt.expose_secret()),
            db.backend(),
            changed,
        ));
        let token = config
            .service_token
            .resolve(&config.common.auth, "scir-insights")?;
        let mut sources = vec![
            Source {
                name: "review".to_owned(),
                address: config.review_addr.clone(),
                method: "/scir.review.v1.ReviewService/WatchEvents",
                types: Projection::review_types(),
                transport: transport.clone(),
            },
            Source {
                name: "scoring".to_owned(),
                address: config.scoring_addr.clone(),
                method: "/scir.scoring.v1.ScoringService/WatchEvents",
                types: Projection::scoring_types(),
                transport: transport.clone(),
            },
        ];
        if let Some(address) = &config.learning_addr {
            sources.push(Source {
                name: "learning".to_owned(),
                address: address.clone(),
                method: "/scir.learning.v1.LearningService/WatchEvents",
                types: Projection::learning_types(),
                transport: transport.clone(),
            });
        }
        if let Some(address) = &config.culture_addr {
            sources.push(Source {
                name: "culture".to_owned(),
                address: address.clone(),
                method: "/scir.culture.v1.CultureService/WatchEvents",
                types: Projection::culture_types(),
                transport,
            });
        }
        let consumers = sources
            .into_iter()
            .map(|source| {
                consumer::spawn(
                    db.clone(),
                    source,
                    token.clone(),
                    projection.clone(),
                    shutdown.signal(),
                )
            })
            .collect();
        let protection = Perturbation::new(config.k, config.noise_max, config.noise_sd)
            .context("SCIR_INSIGHTS_K, SCIR_INSIGHTS_NOISE_MAX, SCIR_INSIGHTS_NOISE_SD")?;
        let sharing = Sharing {
            protection: Arc::new(protection),
            directory: base.directory.clone(),
            min_members: usize::try_from(config.min_members).unwrap_or(usize::MAX),
        };
        let insights = Insights::new(index.clone(), AuditLog::new(db.clone()), sharing);
        let max = config.common.server.max_message_bytes;
        let service = InsightsServiceServer::new(InsightsGrpc::new(insights.clone()))
            .max_decoding_message_size(max)
            .max_encoding_message_size(max);
        let serving = base.serving(
            Routes::new(service),
            policy::RULES,
            SERVICE_NAME,
            shutdown.signal(),
        );
        Ok(Self {
            address,
            db,
            consumers,
            index,
            insights,
            serving,
        })
    }

    /// The bound address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The consumers of review's, scoring's and (when configured) learning's
    /// and culture's events, in that order.
    pub fn consumers(&self) -> Vec<ConsumerHandle> {
        self.consumers.clone()
    }

    /// The in-memory index.
    pub fn index(&self) -> Index {
        self.index.clone()
    }

    /// The use cases, for measuring them in-process.
    pub fn insights(&self) -> Insights {
        self.insights.clone()
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
