//! `scir audit verify`: walks a service's audit chain and reports the first
//! broken link.

use std::path::PathBuf;

use scir_kit::audit::AuditLog;
use scir_kit::db::{Database, DbOptions};

use crate::cli::InputError;

/// A service of `scir up`, whose database lives in its data directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Service {
    /// The intake service.
    Intake,
    /// The review service.
    Review,
    /// The scoring service.
    Scoring,
    /// The insights service.
    Insights,
}

/// Options of `scir audit verify`.
#[derive(Debug, Clone, clap::Args)]
pub struct VerifyArgs {
    /// Database URL of the service, e.g. postgres://... or sqlite://scir-data/intake.db.
    #[arg(long, env = "SCIR_DATABASE_URL", conflicts_with = "service")]
    pub database_url: Option<String>,
    /// A service of `scir up` (its database in --data-dir).
    #[arg(long, value_enum)]
    pub service: Option<Service>,
    /// Data directory of `scir up`.
    #[arg(long, env = "SCIR_DATA_DIR", default_value = "scir-data")]
    pub data_dir: PathBuf,
    /// Print JSON: {"intact": bool, "brokenAt": seq, "reason": text}.
    #[arg(long)]
    pub json: bool,
}

impl VerifyArgs {
    fn url(&self) -> anyhow::Result<String> {
        match (&self.database_url, self.service) {
            (Some(url), _) => Ok(url.clone()),
            (None, Some(service)) => {
                let file = match service {
                    Service::Intake => "intake.db",
                    Service::Review => "review.db",
                    Service::Scoring => "scoring.db",
                    Service::Insights => "insights.db",
                };
                let path = self.data_dir.join(file);
                if !path.exists() {
                    return Err(InputError(format!("{} does not exist", path.display())).into());
                }
                Ok(format!("sqlite://{}", path.display()))
            }
            (None, None) => Err(InputError("give --database-url or --service".to_owned()).into()),
        }
    }
}

/// Verifies and prints the result; returns whether the chain is intact.
pub async fn run(args: &VerifyArgs) -> anyhow::Result<bool> {
    let url = args.url()?;
    let (report, broken) = verify(&url).await?;
    if args.json {
        let value = match &broken {
            None => serde_json::json!({ "intact": true }),
            Some(link) => serde_json::json!({
                "intact": false,
                "brokenAt": link.seq,
                "reason": link.reason,
            }),
        };
        println!("{value}");
    } else {
        println!("{report}");
    }
    Ok(broken.is_none())
}

/// Verifies the audit chain of the database at `url`: a report and the first
/// broken link, if any.
pub async fn verify(url: &str) -> anyhow::Result<(String, Option<scir_kit::audit::BrokenLink>)> {
    let db = Database::open(url, &DbOptions::default()).await;
    let db = match db {
        Ok(db) => db,
        Err(e) => anyhow::bail!("cannot open the database: {e}"),
    };
    let log = AuditLog::new(db.clone());
    let broken = log.verify().await?;
    db.close().await;
    let report = match &broken {
        None => "audit chain intact".to_owned(),
        Some(link) => format!("audit chain broken at record {}: {}", link.seq, link.reason),
    };
    Ok((report, broken))
}
