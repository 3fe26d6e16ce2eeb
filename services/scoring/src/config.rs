//! The scoring service's configuration.

use std::path::PathBuf;

use scir_kit::config::CommonConfig;
use scir_kit::credentials::ServiceTokenConfig;

/// `scir-scoring` settings: flags, or the environment variables named in `--help`.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "scir-scoring", version, about = "SCIR SSIT scoring service")]
pub struct ScoringConfig {
    /// Settings every service shares.
    #[command(flatten)]
    pub common: CommonConfig,
    /// Address of the review service, e.g. `http://review:50052`.
    #[arg(long = "review-addr", env = "SCIR_SCORING_REVIEW_ADDR")]
    pub review_addr: String,
    /// Directory of instrument files (`*.toml`); the shipped default when unset.
    #[arg(long = "instruments-dir", env = "SCIR_SCORING_INSTRUMENTS_DIR")]
    pub instruments_dir: Option<PathBuf>,
    /// The instrument version new ratings use, `id@version`; the last loaded
    /// by name when unset.
    #[arg(long = "active-instrument", env = "SCIR_SCORING_ACTIVE_INSTRUMENT")]
    pub active_instrument: Option<String>,
    /// This service's token for reading review's event stream.
    #[command(flatten)]
    pub service_token: ServiceTokenConfig,
    /// Keys sealing restricted values (webhook signing secrets) at rest.
    #[command(flatten)]
    pub sealing: scir_kit::sealing::SealingConfig,
    /// Webhook deliveries of this service's events.
    #[command(flatten)]
    pub webhooks: scir_kit::webhooks::WebhookConfig,
}
