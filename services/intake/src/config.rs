//! The intake service's configuration.

use std::path::PathBuf;

use scir_kit::config::CommonConfig;
use scir_kit::sealing::SealingConfig;

/// `scir-intake` settings: flags, or the environment variables named in `--help`.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "scir-intake",
    version,
    about = "SCIR intake and eligibility service"
)]
pub struct IntakeConfig {
    /// Settings every service shares.
    #[command(flatten)]
    pub common: CommonConfig,
    /// Directory of rule-set files; the shipped rule sets when unset (the
    /// jurisdictions they govern are `SCIR_JURISDICTIONS_FILE`).
    #[arg(long = "rules-dir", env = "SCIR_INTAKE_RULES_DIR")]
    pub rules_dir: Option<PathBuf>,
    /// Keys sealing restricted identities at rest.
    #[command(flatten)]
    pub sealing: SealingConfig,
    /// Webhook deliveries of this service's events.
    #[command(flatten)]
    pub webhooks: scir_kit::webhooks::WebhookConfig,
}
