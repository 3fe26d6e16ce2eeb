//! The review service's configuration.

use std::path::PathBuf;

use scir_kit::config::CommonConfig;
use scir_kit::credentials::ServiceTokenConfig;

/// `scir-review` settings: flags, or the environment variables named in `--help`.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "scir-review", version, about = "SCIR review workflow service")]
pub struct ReviewConfig {
    /// Settings every service shares.
    #[command(flatten)]
    pub common: CommonConfig,
    /// Address of the intake service, e.g. `http://intake:50051`.
    #[arg(long = "intake-addr", env = "SCIR_REVIEW_INTAKE_ADDR")]
    pub intake_addr: String,
    /// Address of the scoring service; without it, reviews cannot leave SSIT
    /// scoring (the guard cannot confirm scores).
    #[arg(long = "scoring-addr", env = "SCIR_REVIEW_SCORING_ADDR")]
    pub scoring_addr: Option<String>,
    /// TOML list of blaming and hindsight terms; the shipped list when unset.
    #[arg(long = "language-file", env = "SCIR_REVIEW_LANGUAGE_FILE")]
    pub language_file: Option<PathBuf>,
    /// This service's token for calls to intake.
    #[command(flatten)]
    pub service_token: ServiceTokenConfig,
    /// Keys sealing restricted content (debriefing notes) at rest.
    #[command(flatten)]
    pub sealing: scir_kit::sealing::SealingConfig,
    /// Webhook deliveries of this service's events.
    #[command(flatten)]
    pub webhooks: scir_kit::webhooks::WebhookConfig,
}
