//! `scir-otlp-sink [ADDRESS]`: receives OTLP/gRPC traces and metrics on
//! ADDRESS (default 0.0.0.0:4317) and logs a line per export: which service sent
//! how many spans or metrics. A stand-in for an OpenTelemetry collector on
//! machines that cannot pull one; any other arguments (a collector's
//! `--config`) are ignored.

use std::time::Duration;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let address = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-') && a.contains(':'))
        .unwrap_or_else(|| "0.0.0.0:4317".to_owned());
    let receiver = scir_otlp_sink::Receiver::start_on(&address, false).await?;
    println!(
        "scir-otlp-sink: receiving OTLP/gRPC on {}",
        receiver.endpoint
    );
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut interval = tokio::time::interval(Duration::from_secs(60));
    loop {
        tokio::select! {
            _ = interval.tick() => {
                let (spans, metrics) = receiver.counts();
                println!("scir-otlp-sink: {spans} spans and {metrics} metric series received so far");
            }
            _ = tokio::signal::ctrl_c() => return Ok(()),
            _ = terminate.recv() => return Ok(()),
        }
    }
}
