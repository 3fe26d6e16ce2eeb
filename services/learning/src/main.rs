//! `scir-learning`: parse configuration, start telemetry, build, serve.

use clap::Parser;
use scir_kit::shutdown::Shutdown;
use scir_learning::{Application, LearningConfig};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = LearningConfig::parse();
    let _telemetry = scir_kit::telemetry::init("scir-learning", &config.common.telemetry)?;
    let shutdown = Shutdown::new();
    shutdown.fire_on_os_signal();
    let app = Application::build(&config, &shutdown).await?;
    app.run().await
}
