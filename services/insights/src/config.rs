//! The insights service's configuration.

use scir_kit::auth::Secret;
use scir_kit::config::CommonConfig;
use scir_kit::credentials::ServiceTokenConfig;

/// The shipped largest adjustment: wide enough that no chain of differences
/// of shown counts bounds a small one (docs/insights.md, "Disclosure control").
pub const DEFAULT_NOISE_MAX: i64 = 20;
/// The shipped standard deviation of the adjustment.
pub const DEFAULT_NOISE_SD: f64 = 2.0;

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
    /// Address of the learning service, e.g. `http://learning:50055`. Without
    /// it, the learning loop's questions count nothing (a deployment without
    /// the learning service).
    #[arg(long = "learning-addr", env = "SCIR_INSIGHTS_LEARNING_ADDR")]
    pub learning_addr: Option<String>,
    /// Address of the culture service, e.g. `http://culture:50056`. Without
    /// it, the culture questions count no survey.
    #[arg(long = "culture-addr", env = "SCIR_INSIGHTS_CULTURE_ADDR")]
    pub culture_addr: Option<String>,
    /// Fewest members a pooled comparison of members (culture) takes: with
    /// fewer, it is hidden.
    #[arg(long = "min-members", env = "SCIR_INSIGHTS_MIN_MEMBERS", default_value_t = 5, value_parser = clap::value_parser!(i64).range(3..))]
    pub min_members: i64,
    /// Small-cell threshold: no pooled count from 1 to k-1 is shown.
    #[arg(long = "k", env = "SCIR_INSIGHTS_K", default_value_t = 10, value_parser = clap::value_parser!(i64).range(2..))]
    pub k: i64,
    /// The largest adjustment of a pooled count (cell key perturbation).
    #[arg(
        long = "noise-max",
        env = "SCIR_INSIGHTS_NOISE_MAX",
        default_value_t = DEFAULT_NOISE_MAX,
        value_parser = clap::value_parser!(i64).range(1..=100)
    )]
    pub noise_max: i64,
    /// The standard deviation of the central part of the adjustment.
    #[arg(long = "noise-sd", env = "SCIR_INSIGHTS_NOISE_SD", default_value_t = DEFAULT_NOISE_SD)]
    pub noise_sd: f64,
    /// Secret salt of the pseudonymous keys that replace resource names.
    #[arg(
        long = "key-salt",
        env = "SCIR_INSIGHTS_KEY_SALT",
        hide_env_values = true,
        default_value = "scir-development-salt"
    )]
    pub key_salt: Secret,
    /// This service's token for reading the other services' event streams.
    #[command(flatten)]
    pub service_token: ServiceTokenConfig,
}
