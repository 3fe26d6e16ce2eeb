//! `scir bench overhead`: what security and telemetry cost a call. The same
//! intake (handlers, rule sets, a SQLite database) is served twice in this
//! process: once as every service is served (`scir_intake::Application`: a JWT
//! verified on every call against the authorisation table, denials audited,
//! tracing at `--sample-ratio` with metrics, load shedding), and once bare (the
//! caller verified once at start and handed to every call; no tracing, metrics
//! or shedding). `EvaluateEligibility` is driven closed-loop against each, in
//! turn, at each concurrency.

use std::sync::Arc;
use std::time::Duration;

use scir_intake::domain::jurisdictions::Directory;
use scir_intake::grpc::IntakeGrpc;
use scir_intake::service::Intake;
use scir_kit::auth::{Role, Verifier, authorize};
use scir_kit::config::CommonConfig;
use scir_kit::db::{Database, DbOptions};
use scir_kit::events::EventLog;
use scir_kit::server::parse_duration;
use scir_kit::shutdown::Shutdown;
use scir_kit::telemetry::TelemetryConfig;
use scir_proto::intake::v1::intake_service_server::IntakeServiceServer;

use crate::connect::{Endpoints, Signer};
use crate::drive::RunArgs;
use crate::loadgen::{LoadArgs, Outcome, Target};

/// Options of `scir bench overhead`.
#[derive(Debug, Clone, clap::Args)]
pub struct OverheadArgs {
    /// Callers at once, one run each (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "1,8,32", value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub concurrency: Vec<u32>,
    /// Time before measuring, per run.
    #[arg(long, value_parser = parse_duration, default_value = "2s")]
    pub warmup: Duration,
    /// Time measured, per run.
    #[arg(long, value_parser = parse_duration, default_value = "6s")]
    pub duration: Duration,
    /// Share of traces sampled on the served side.
    #[arg(long, default_value_t = 0.1)]
    pub sample_ratio: f64,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// One concurrency's pair of runs.
#[derive(Debug, Clone)]
pub struct Pair {
    /// Callers at once.
    pub concurrency: u32,
    /// With security and telemetry.
    pub on: Outcome,
    /// Without.
    pub off: Outcome,
}

impl Pair {
    /// Throughput with them on over throughput with them off.
    pub fn ratio(&self) -> f64 {
        if self.off.throughput > 0.0 {
            self.on.throughput / self.off.throughput
        } else {
            0.0
        }
    }
}

/// Serves intake both ways and measures each concurrency.
pub async fn measure(args: &OverheadArgs) -> anyhow::Result<Vec<Pair>> {
    let dir = tempfile::tempdir()?;
    let secret = hex::encode(rand_bytes()?);
    let signer = Signer::new(
        &secret,
        crate::dev_auth::DEV_ISSUER,
        crate::dev_auth::DEV_AUDIENCE,
    );
    let sealing = scir_kit::sealing::SealingConfig {
        keys: Some(format!("bench:{}", base64_key()?)),
        active: None,
    };
    let shutdown = Shutdown::new();
    let config = scir_intake::IntakeConfig {
        webhooks: Default::default(),
        common: CommonConfig {
            listener: Default::default(),
            listen_addr: "127.0.0.1:0".parse()?,
            database_url: format!("sqlite://{}", dir.path().join("on.db").display()).into(),
            db_max_connections: 4,
            auth: crate::dev_auth::auth_config(&secret),
            server: Default::default(),
            telemetry: TelemetryConfig {
                sample_ratio: args.sample_ratio,
                ..Default::default()
            },
            tls: Default::default(),
            directory: Default::default(),
        },
        rules_dir: None,
        sealing: sealing.clone(),
    };
    let served = scir_intake::Application::build(&config, &shutdown).await?;
    let on = served.address();
    tokio::spawn(served.run());

    let db = Database::connect(
        &format!("sqlite://{}", dir.path().join("off.db").display()),
        &scir_intake::startup::MIGRATIONS,
        &DbOptions {
            max_connections: 4,
            ..Default::default()
        },
    )
    .await?;
    let intake = Intake::new(
        db.clone(),
        scir_kit::sealing::Sealer::from_config(&sealing)?,
        EventLog::new(db.clone(), shutdown.signal()),
        Arc::new(Directory::shipped()?),
    );
    let token = signer.token("bench-user", &[Role::Reporter], "us-wi")?;
    let caller = authorize(
        &Verifier::from_config(&config.common.auth)?,
        scir_intake::policy::RULES,
        "/scir.intake.v1.IntakeService/EvaluateEligibility",
        Some(&format!("Bearer {token}")),
    )?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let off = listener.local_addr()?;
    let mut stop = shutdown.signal();
    tokio::spawn(
        tonic::transport::Server::builder()
            .layer(tower::util::MapRequestLayer::new(
                move |mut request: http::Request<tonic::body::Body>| {
                    request.extensions_mut().insert(caller.clone());
                    request
                },
            ))
            .add_service(IntakeServiceServer::new(IntakeGrpc::new(intake)))
            .serve_with_incoming_shutdown(
                tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
                async move { stop.fired().await },
            ),
    );

    let load = |address: std::net::SocketAddr, concurrency: u32| LoadArgs {
        target: Target::Evaluate,
        concurrency,
        rate: None,
        server_pid: None,
        http: false,
        run: RunArgs {
            warmup: args.warmup,
            duration: args.duration,
            data_dir: dir.path().to_owned(),
            json: false,
            // Only intake is called; the others need only be addresses.
            endpoints: Endpoints {
                intake: format!("http://{address}"),
                review: format!("http://{address}"),
                scoring: format!("http://{address}"),
                insights: format!("http://{address}"),
                learning: format!("http://{address}"),
                culture: format!("http://{address}"),
                tls: Default::default(),
            },
        },
    };
    let mut pairs = Vec::new();
    for &concurrency in &args.concurrency {
        let off = crate::loadgen::measure(&load(off, concurrency), &signer).await?;
        let on = crate::loadgen::measure(&load(on, concurrency), &signer).await?;
        pairs.push(Pair {
            concurrency,
            on,
            off,
        });
    }
    shutdown.fire();
    Ok(pairs)
}

fn rand_bytes() -> anyhow::Result<[u8; 32]> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("random bytes: {e}"))?;
    Ok(bytes)
}

fn base64_key() -> anyhow::Result<String> {
    use base64::Engine;
    Ok(base64::engine::general_purpose::STANDARD.encode(rand_bytes()?))
}

/// Runs `scir bench overhead` and prints a table. Installs the process's
/// telemetry as a service does (logs, the tracer sampling at
/// `--sample-ratio`, the meter; OTLP export when `OTEL_EXPORTER_OTLP_ENDPOINT`
/// is set), so that the served side pays for it.
pub async fn run(args: OverheadArgs) -> anyhow::Result<()> {
    let _telemetry = scir_kit::telemetry::init(
        "scir-bench",
        &TelemetryConfig {
            sample_ratio: args.sample_ratio,
            otlp_endpoint: std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").ok(),
            log_filter: "warn".to_owned(),
            ..Default::default()
        },
    )?;
    let pairs = measure(&args).await?;
    if args.json {
        let rows: Vec<_> = pairs
            .iter()
            .map(|p| {
                serde_json::json!({
                    "concurrency": p.concurrency,
                    "ratio": p.ratio(),
                    "on": p.on.to_json(),
                    "off": p.off.to_json(),
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(rows));
        return Ok(());
    }
    println!(
        "EvaluateEligibility, {} s per run, tracing sampled at {}",
        args.duration.as_secs(),
        args.sample_ratio
    );
    println!("callers  off req/s  on req/s  ratio  off p99 ms  on p99 ms");
    for pair in &pairs {
        println!(
            "{:>7}  {:>9.0}  {:>8.0}  {:>5.2}  {:>10.2}  {:>9.2}",
            pair.concurrency,
            pair.off.throughput,
            pair.on.throughput,
            pair.ratio(),
            pair.off.percentiles[2],
            pair.on.percentiles[2],
        );
    }
    Ok(())
}
