//! `scir-culture`: parse configuration, start telemetry, build, serve.

use clap::Parser;
use scir_culture::{Application, CultureConfig};
use scir_kit::shutdown::Shutdown;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = CultureConfig::parse();
    let _telemetry = scir_kit::telemetry::init("scir-culture", &config.common.telemetry)?;
    let shutdown = Shutdown::new();
    shutdown.fire_on_os_signal();
    let app = Application::build(&config, &shutdown).await?;
    app.run().await
}
