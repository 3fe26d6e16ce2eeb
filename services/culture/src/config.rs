//! The culture service's configuration.

use std::path::PathBuf;

use scir_kit::config::CommonConfig;

/// `scir-culture` settings: flags, or the environment variables named in `--help`.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "scir-culture",
    version,
    about = "SCIR safety culture survey service"
)]
pub struct CultureConfig {
    /// Settings every service shares.
    #[command(flatten)]
    pub common: CommonConfig,
    /// Directory of survey instrument files (`*.toml`); the shipped default
    /// instrument when unset.
    #[arg(long = "instruments-dir", env = "SCIR_CULTURE_INSTRUMENTS_DIR")]
    pub instruments_dir: Option<PathBuf>,
    /// Respondents a unit needs before its results are shown.
    #[arg(
        long = "min-respondents",
        env = "SCIR_CULTURE_MIN_RESPONDENTS",
        default_value_t = 5,
        value_parser = clap::value_parser!(i32).range(3..=1000)
    )]
    pub min_respondents: i32,
    /// Requests to the answer page one address may make per minute.
    #[arg(
        long = "page-requests-per-minute",
        env = "SCIR_CULTURE_PAGE_REQUESTS_PER_MINUTE",
        default_value_t = 120,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub page_requests_per_minute: u32,
    /// Proxies (an ingress, a load balancer; addresses or address/prefix,
    /// comma-separated) whose `X-Forwarded-For` names the client, so each
    /// respondent behind them has their own limit. Unset: the header is ignored.
    #[arg(
        long = "trusted-proxies",
        env = "SCIR_CULTURE_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<scir_kit::pages::Cidr>,
}
