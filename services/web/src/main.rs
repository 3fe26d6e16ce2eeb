//! `scir-web`: parse configuration, start telemetry, build, serve.

use clap::Parser;
use scir_kit::shutdown::Shutdown;
use scir_web::{Application, WebConfig};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = WebConfig::parse();
    let _telemetry = scir_kit::telemetry::init("scir-web", &config.common.telemetry)?;
    let shutdown = Shutdown::new();
    shutdown.fire_on_os_signal();
    let app = Application::build(&config, &shutdown).await?;
    app.run().await
}
