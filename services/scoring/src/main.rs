//! `scir-scoring`: parse configuration, start telemetry, build, serve.

use clap::Parser;
use scir_kit::shutdown::Shutdown;
use scir_scoring::{Application, ScoringConfig};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = ScoringConfig::parse();
    let _telemetry = scir_kit::telemetry::init("scir-scoring", &config.common.telemetry)?;
    let shutdown = Shutdown::new();
    shutdown.fire_on_os_signal();
    let app = Application::build(&config, &shutdown).await?;
    app.run().await
}
