//! `scir-probe [ADDRESS] [SERVICE]`: asks a server's `grpc.health.v1.Health`
//! whether SERVICE (default: the whole server) is SERVING, for container
//! healthchecks. Exits 0 when it is, 1 when it is not or does not answer within
//! 3 seconds, 2 on bad usage. ADDRESS defaults to 127.0.0.1:$SCIR_PORT, or
//! 127.0.0.1:50051.

use std::process::ExitCode;
use std::time::Duration;

use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let address = args.next().unwrap_or_else(|| {
        let port = std::env::var("SCIR_PORT").unwrap_or_else(|_| "50051".to_owned());
        format!("127.0.0.1:{port}")
    });
    if address == "--help" || address == "-h" {
        eprintln!("usage: scir-probe [HOST:PORT] [SERVICE]");
        return ExitCode::from(2);
    }
    let service = args.next().unwrap_or_default();
    let url = if address.contains("://") {
        address
    } else {
        format!("http://{address}")
    };
    let endpoint = match tonic::transport::Endpoint::from_shared(url.clone()) {
        Ok(endpoint) => endpoint
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(3)),
        Err(e) => {
            eprintln!("scir-probe: `{url}` is not an address: {e}");
            return ExitCode::from(2);
        }
    };
    let check = async {
        let channel = endpoint.connect().await.map_err(|e| e.to_string())?;
        HealthClient::new(channel)
            .check(HealthCheckRequest { service })
            .await
            .map(|r| r.into_inner().status)
            .map_err(|s| s.to_string())
    };
    match tokio::time::timeout(Duration::from_secs(3), check).await {
        Ok(Ok(status)) if status == ServingStatus::Serving as i32 => ExitCode::SUCCESS,
        Ok(Ok(status)) => {
            let name = ServingStatus::try_from(status).map_or("UNKNOWN", |s| s.as_str_name());
            eprintln!("scir-probe: {url} is {name}");
            ExitCode::FAILURE
        }
        Ok(Err(e)) => {
            eprintln!("scir-probe: {url}: {e}");
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!("scir-probe: {url} did not answer within 3 s");
            ExitCode::FAILURE
        }
    }
}
