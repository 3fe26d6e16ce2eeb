//! The insights service's configuration.

use scir_kit::auth::Secret;
use scir_kit::config::CommonConfig;
use scir_kit::credentials::ServiceTokenConfig;

/// `scir-insights` settings: flags, or the environment variables named in `--help`.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "scir-insights",
    version,
    about = "SCIR aggregate insights service"
)]
pub struct InsightsConfig {
    /// Settings every service shares.
    #[command(flatten)]
    pub common: CommonConfig,
    /// Address of the review service, e.g. `http://review:50052`.
    #[arg(long = "review-addr", env = "SCIR_INSIGHTS_REVIEW_ADDR")]
    pub review_addr: String,
    /// Address of the scoring service, e.g. `http://scoring:50053`.
    #[arg(long = "scoring-addr", env = "SCIR_INSIGHTS_SCORING_ADDR")]
    pub scoring_addr: String,
    /// Small-cell threshold: pooled counts from 1 to k-1 are hidden.
    #[arg(long = "k", env = "SCIR_INSIGHTS_K", default_value_t = 10, value_parser = clap::value_parser!(i64).range(2..))]
    pub k: i64,
    /// Secret salt of the pseudonymous keys that replace resource names.
    #[arg(
        long = "key-salt",
        env = "SCIR_INSIGHTS_KEY_SALT",
        hide_env_values = true,
        default_value = "scir-development-salt"
    )]
    pub key_salt: Secret,
    /// This service's token for reading review's and scoring's event streams.
    #[command(flatten)]
    pub service_token: ServiceTokenConfig,
}
