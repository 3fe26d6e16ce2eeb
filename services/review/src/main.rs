//! `scir-review`: parse configuration, start telemetry, build, serve.

use clap::Parser;
use scir_kit::shutdown::Shutdown;
use scir_review::{Application, ReviewConfig};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = ReviewConfig::parse();
    let _telemetry = scir_kit::telemetry::init("scir-review", &config.common.telemetry)?;
    let shutdown = Shutdown::new();
    shutdown.fire_on_os_signal();
    let app = Application::build(&config, &shutdown).await?;
    app.run().await
}
