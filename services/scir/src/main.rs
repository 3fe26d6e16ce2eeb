//! `scir`: run every service in one process, mint development tokens, verify
//! audit chains.

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
    },
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
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Verify a service database's audit chain; exits 1 at the first broken link.
    Verify {
        /// Database URL of the service, e.g. sqlite://scir-data/intake.db.
        #[arg(long, env = "SCIR_DATABASE_URL")]
        database_url: String,
    },
}

fn parse_role(text: &str) -> Result<Role, String> {
    text.parse()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Up(args) => {
            let _telemetry = scir_kit::telemetry::init("scir", &args.telemetry)?;
            let shutdown = Shutdown::new();
            shutdown.fire_on_os_signal();
            let data_dir = args.data_dir.clone();
            up::run(args, shutdown, |running| {
                println!("{}", up::banner(&running, &data_dir))
            })
            .await
        }
        Command::Token {
            roles,
            jurisdiction,
            subject,
            ttl,
            data_dir,
        } => {
            let secret = dev_auth::read_secret(&data_dir)?;
            println!(
                "{}",
                dev_auth::mint(&secret, &subject, &jurisdiction, &roles, ttl).context("minting")?
            );
            Ok(())
        }
        Command::Bench {
            command: BenchCommand::Insights(args),
        } => scir::bench::run(args).await,
        Command::Audit {
            command: AuditCommand::Verify { database_url },
        } => {
            let (report, intact) = audit::verify(&database_url).await?;
            println!("{report}");
            if !intact {
                std::process::exit(1);
            }
            Ok(())
        }
    }
}
