//! `scir-probe [ADDRESS] [SERVICE]`: asks a server's `grpc.health.v1.Health`
//! whether SERVICE (default: the whole server) is SERVING, for container
//! healthchecks. Exits 0 when it is, 1 when it is not or does not answer within
//! 3 seconds, 2 on bad usage. ADDRESS defaults to 127.0.0.1:$SCIR_PORT, or
//! 127.0.0.1:50051. With the service's `SCIR_TLS_*` settings in its
//! environment, it connects with the same mutual TLS the service requires
//! (unless `SCIR_PROBE_PLAIN`: the web console's port is plain).

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use scir_tls::{TlsArgs, Transport};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

#[derive(Debug, Parser)]
#[command(
    name = "scir-probe",
    about = "Exits 0 when a SCIR service reports SERVING."
)]
struct Args {
    /// `host:port` of the server.
    #[arg(env = "SCIR_PROBE_ADDR")]
    address: Option<String>,
    /// Health service name to ask about (`liveness`, `scir.intake.v1.IntakeService`);
    /// empty for the whole server.
    #[arg(default_value = "")]
    service: String,
    /// Client certificate when the server requires mutual TLS.
    #[command(flatten)]
    tls: TlsArgs,
    /// Ask over plain HTTP/2 whatever the TLS settings say: for the web
    /// console, whose own port is plain (browsers present no certificate)
    /// while its calls to the services use the container's certificate.
    #[arg(
        long,
        env = "SCIR_PROBE_PLAIN",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    plain: bool,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) if e.use_stderr() => {
            let _ = e.print();
            return ExitCode::from(2);
        }
        Err(e) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
    };
    let address = args.address.unwrap_or_else(|| {
        let port = std::env::var("SCIR_PORT").unwrap_or_else(|_| "50051".to_owned());
        format!("127.0.0.1:{port}")
    });
    let url = if address.contains("://") {
        address
    } else {
        format!("http://{address}")
    };
    let transport = match if args.plain {
        Ok(Transport::plain())
    } else {
        Transport::from_args(&args.tls)
    } {
        Ok(transport) => transport,
        Err(e) => {
            eprintln!("scir-probe: {e}");
            return ExitCode::from(2);
        }
    };
    let channel = match transport.channel(&url) {
        Ok(channel) => channel,
        Err(e) => {
            eprintln!("scir-probe: `{url}` is not an address: {e}");
            return ExitCode::from(2);
        }
    };
    let check = async {
        HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: args.service,
            })
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
