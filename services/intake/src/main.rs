//! `scir-intake`: parse configuration, start telemetry, build, serve.

use clap::Parser;
use scir_intake::{Application, IntakeConfig};
use scir_kit::shutdown::Shutdown;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = IntakeConfig::parse();
    let _telemetry = scir_kit::telemetry::init("scir-intake", &config.common.telemetry)?;
    let shutdown = Shutdown::new();
    shutdown.fire_on_os_signal();
    let app = Application::build(&config, &shutdown).await?;
    app.run().await
}
