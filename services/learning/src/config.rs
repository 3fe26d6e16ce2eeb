//! The learning service's configuration.

use scir_kit::config::CommonConfig;

/// `scir-learning` settings: flags, or the environment variables named in `--help`.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "scir-learning", version, about = "SCIR learning service")]
pub struct LearningConfig {
    /// Settings every service shares.
    #[command(flatten)]
    pub common: CommonConfig,
    /// Address of the review service, e.g. `http://review:50052`.
    #[arg(long = "review-addr", env = "SCIR_LEARNING_REVIEW_ADDR")]
    pub review_addr: String,
    /// Keys sealing restricted values (session notes, webhook secrets) at rest.
    #[command(flatten)]
    pub sealing: scir_kit::sealing::SealingConfig,
    /// Webhook deliveries of this service's events.
    #[command(flatten)]
    pub webhooks: scir_kit::webhooks::WebhookConfig,
}
