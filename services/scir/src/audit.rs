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
    /// The learning service.
    Learning,
    /// The culture service.
    Culture,
}

/// Options of `scir audit verify`.
#[derive(Debug, Clone, clap::Args)]
pub struct VerifyArgs {
    /// Database URL of the service, e.g. postgres://... or sqlite://scir-data/intake.db.
    #[arg(long, env = "SCIR_DATABASE_URL", conflicts_with_all = ["service", "all"])]
    pub database_url: Option<String>,
    /// A service of `scir up` (its database in --data-dir).
    #[arg(long, value_enum, conflicts_with = "all")]
    pub service: Option<Service>,
    /// Every service of `scir up` (their databases in --data-dir).
    #[arg(long)]
    pub all: bool,
    /// Data directory of `scir up`.
    #[arg(long, env = "SCIR_DATA_DIR", default_value = "scir-data")]
    pub data_dir: PathBuf,
    /// Print JSON: {"intact": bool, "brokenAt": seq, "reason": text} (a list of
    /// them, each with its "service", for --all).
    #[arg(long)]
    pub json: bool,
}

impl Service {
    const ALL: [Service; 6] = [
        Self::Intake,
        Self::Review,
        Self::Scoring,
        Self::Insights,
        Self::Learning,
        Self::Culture,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::Intake => "intake",
            Self::Review => "review",
            Self::Scoring => "scoring",
            Self::Insights => "insights",
            Self::Learning => "learning",
            Self::Culture => "culture",
        }
    }
}

impl VerifyArgs {
    /// The chains to verify: a label and a database URL each.
    fn targets(&self) -> anyhow::Result<Vec<(String, String)>> {
        let of_up = |service: Service| -> anyhow::Result<(String, String)> {
            let path = self.data_dir.join(format!("{}.db", service.name()));
            if !path.exists() {
                return Err(InputError(format!("{} does not exist", path.display())).into());
            }
            Ok((
                service.name().to_owned(),
                format!("sqlite://{}", path.display()),
            ))
        };
        match (&self.database_url, self.service, self.all) {
            (Some(url), _, _) => Ok(vec![("database".to_owned(), url.clone())]),
            (None, Some(service), _) => Ok(vec![of_up(service)?]),
            (None, None, true) => Service::ALL.into_iter().map(of_up).collect(),
            (None, None, false) => {
                Err(InputError("give --database-url, --service or --all".to_owned()).into())
            }
        }
    }
}

/// Verifies and prints the result; returns whether every chain is intact.
pub async fn run(args: &VerifyArgs) -> anyhow::Result<bool> {
    let targets = args.targets()?;
    let mut intact = true;
    let mut verdicts = Vec::new();
    for (label, url) in &targets {
        let (report, broken) = verify(url).await?;
        intact &= broken.is_none();
        let mut value = match &broken {
            None => serde_json::json!({ "intact": true }),
            Some(link) => serde_json::json!({
                "intact": false,
                "brokenAt": link.seq,
                "reason": link.reason,
            }),
        };
        if targets.len() > 1 {
            value["service"] = label.clone().into();
            if !args.json {
                println!("{label:<9} {report}");
            }
        } else if !args.json {
            println!("{report}");
        }
        verdicts.push(value);
    }
    if args.json {
        match verdicts.as_slice() {
            [one] => println!("{one}"),
            all => println!("{}", serde_json::Value::from(all.to_vec())),
        }
    }
    Ok(intact)
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
