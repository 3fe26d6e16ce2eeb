//! `scir`: run every service in one process, load demo data, mint development
//! tokens, and operator commands over the public APIs.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use scir::{audit, dev_auth, up};
use scir_kit::auth::Role;
use scir_kit::server::parse_duration;
use scir_kit::shutdown::Shutdown;

#[derive(Debug, Parser)]
#[command(
    name = "scir",
    version,
    about = "Systems-focused critical incident reviews"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every service in one process on SQLite files, with development auth.
    Up(up::UpArgs),
    /// Fill a deployment with a synthetic partnership and print the insights.
    Demo(scir::demo::DemoArgs),
    /// Print a development token signed with the secret of `scir up`.
    Token {
        /// Role(s) to grant: reporter, reviewer, scr_lead, analyst, partner, admin, service.
        #[arg(long = "role", required = true, value_parser = parse_role)]
        roles: Vec<Role>,
        /// Jurisdiction the caller acts for, e.g. us-wi.
        #[arg(long)]
        jurisdiction: String,
        /// Subject (a user id; not a name).
        #[arg(long, default_value = "dev-user")]
        subject: String,
        /// Lifetime: seconds, or with a unit: 90s, 30m (default 8 hours).
        #[arg(long, value_parser = parse_duration, default_value = "480m")]
        ttl: Duration,
        /// Data directory of `scir up`, holding the development secret.
        #[arg(long, env = "SCIR_DATA_DIR", default_value = "scir-data")]
        data_dir: PathBuf,
        /// The HS256 secret of another deployment's development auth (instead of
        /// --data-dir), e.g. from deploy/compose/intake.env.
        #[arg(long, env = "SCIR_JWT_HS256_SECRET", hide_env_values = true)]
        secret: Option<String>,
    },
    /// Report and show incidents.
    Incident {
        #[command(subcommand)]
        command: scir::cli::incident::IncidentCommand,
    },
    /// Show reviews and list the overdue ones.
    Review {
        #[command(subcommand)]
        command: scir::cli::review::ReviewCommand,
    },
    /// Ask the insights service and print its tables.
    Insights {
        #[command(subcommand)]
        command: scir::cli::insights::InsightsCommand,
    },
    /// List and show aggregate mappings and their considerations.
    Mapping {
        #[command(subcommand)]
        command: scir::cli::learning::MappingCommand,
    },
    /// List safety notices, see who is overdue, answer one.
    Notice {
        #[command(subcommand)]
        command: scir::cli::learning::NoticeCommand,
    },
    /// Print the API reference and data dictionary (Markdown), generated from
    /// the contract's comments and the services' method tables.
    ApiReference,
    /// Print the OpenAPI 3.1 document of the HTTP/JSON API (every service).
    Openapi,
    /// Audit-log tools.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Benchmarks.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Load a synthetic partnership into insights and time every question.
    Insights(scir::bench::InsightsBenchArgs),
    /// Load a survey wave with many responses and time its results and the answer page.
    Culture(scir::culture_bench::CultureBenchArgs),
    /// Fill `scir up` with reviews and time the web console's pages for many signed-in users.
    Web(scir::web_bench::WebBenchArgs),
    /// Drive intake's RPCs in a closed or open loop and report latency and throughput.
    Load(scir::loadgen::LoadArgs),
    /// Serve an intake whose handlers do nothing: the gRPC ceiling to compare with.
    Ceiling(scir::loadgen::CeilingArgs),
    /// Report incidents at a fixed rate and time each one's way to review and to insights.
    Propagation(scir::propagation::PropagationArgs),
    /// Serve intake with and without security and telemetry and compare throughput.
    Overhead(scir::overhead::OverheadArgs),
    /// Update a skewed set of hot reviews with optimistic concurrency; count lost updates.
    ReviewUpdates(scir::hot_reviews::HotArgs),
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Verify a service's audit chain; exits 1 when a link is broken.
    Verify(audit::VerifyArgs),
}

fn parse_role(text: &str) -> Result<Role, String> {
    text.parse()
}

/// Leaves quietly when standard output is closed early (`scir ... | head`),
/// as other command-line tools do, instead of reporting a panic.
fn quiet_on_closed_output() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.contains("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(scir::cli::exit::OK);
        }
        default(info);
    }));
}

#[tokio::main]
async fn main() {
    quiet_on_closed_output();
    let code = match run(Cli::parse().command).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {}", scir::cli::explain(&error));
            scir::cli::exit_code(&error)
        }
    };
    std::process::exit(code);
}

/// Runs a command; returns the exit code of a command that finished.
async fn run(command: Command) -> anyhow::Result<i32> {
    use scir::cli::exit;
    match command {
        Command::Up(args) => {
            let _telemetry = scir_kit::telemetry::init("scir", &args.telemetry)?;
            let shutdown = Shutdown::new();
            shutdown.fire_on_os_signal();
            let data_dir = args.data_dir.clone();
            up::run(args, shutdown, |running| {
                println!("{}", up::banner(&running, &data_dir))
            })
            .await?;
            Ok(exit::OK)
        }
        Command::Token {
            roles,
            jurisdiction,
            subject,
            ttl,
            data_dir,
            secret,
        } => {
            let secret = match secret {
                Some(secret) => secret,
                None => dev_auth::read_secret(&data_dir)?,
            };
            println!(
                "{}",
                dev_auth::mint(&secret, &subject, &jurisdiction, &roles, ttl).context("minting")?
            );
            Ok(exit::OK)
        }
        Command::Bench {
            command: BenchCommand::Insights(args),
        } => scir::bench::run(args).await.map(|()| exit::OK),
        Command::Bench {
            command: BenchCommand::Culture(args),
        } => scir::culture_bench::run(args).await.map(|()| exit::OK),
        Command::Bench {
            command: BenchCommand::Web(args),
        } => scir::web_bench::run(args).await.map(|()| exit::OK),
        Command::Bench {
            command: BenchCommand::Load(args),
        } => scir::loadgen::run(args).await.map(|()| exit::OK),
        Command::Bench {
            command: BenchCommand::Propagation(args),
        } => scir::propagation::run(args).await.map(|()| exit::OK),
        Command::Bench {
            command: BenchCommand::Overhead(args),
        } => scir::overhead::run(args).await.map(|()| exit::OK),
        Command::Bench {
            command: BenchCommand::ReviewUpdates(args),
        } => scir::hot_reviews::run(args).await.map(|()| exit::OK),
        Command::Bench {
            command: BenchCommand::Ceiling(args),
        } => {
            let listener = match scir_kit::server::inherited("ceiling")? {
                Some(listener) => {
                    listener.set_nonblocking(true)?;
                    tokio::net::TcpListener::from_std(listener)?
                }
                None => tokio::net::TcpListener::bind(args.listen).await?,
            };
            println!(
                "empty intake (the gRPC ceiling) on {}",
                listener.local_addr()?
            );
            let shutdown = Shutdown::new();
            shutdown.fire_on_os_signal();
            scir::loadgen::ceiling(listener, &args.server, shutdown.signal()).await?;
            Ok(exit::OK)
        }
        Command::Demo(args) => {
            let report = scir::demo::run(args).await?;
            Ok(if report.failed == 0 {
                exit::OK
            } else {
                exit::FAILED
            })
        }
        Command::Incident { command } => scir::cli::incident::run(command).await.map(|()| exit::OK),
        Command::Review { command } => scir::cli::review::run(command).await.map(|()| exit::OK),
        Command::Insights { command } => scir::cli::insights::run(command).await.map(|()| exit::OK),
        Command::Mapping { command } => scir::cli::learning::run_mapping(command)
            .await
            .map(|()| exit::OK),
        Command::Notice { command } => scir::cli::learning::run_notice(command)
            .await
            .map(|()| exit::OK),
        Command::ApiReference => {
            print!("{}", scir::api_reference::render()?);
            Ok(exit::OK)
        }
        Command::Openapi => {
            print!("{}", scir::api_reference::openapi()?);
            Ok(exit::OK)
        }
        Command::Audit {
            command: AuditCommand::Verify(args),
        } => {
            let intact = audit::run(&args).await?;
            Ok(if intact { exit::OK } else { exit::FAILED })
        }
    }
}
