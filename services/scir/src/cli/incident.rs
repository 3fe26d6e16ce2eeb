//! `scir incident`: report an incident from a JSON file, show one.

use std::path::PathBuf;

use anyhow::Context;
use scir_proto::Labelled;
use scir_proto::intake::v1 as intake;
use sha2::Digest;

use super::output::{self, date, fields};
use super::{Connection, Format, InputError};

/// `scir incident` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum IncidentCommand {
    /// Report an incident from a JSON file and print intake's decision.
    ///
    /// The file holds the incident's facts (scir.intake.v1.IncidentFacts) or a
    /// whole ReportIncidentRequest ({"requestId": ..., "incident": {...}}), in
    /// the canonical protobuf JSON mapping: lowerCamelCase field names, enums
    /// by name, dates as {"year": 2025, "month": 3, "day": 10}. Reporting the
    /// same file again returns the same incident: without a request id, the
    /// file's SHA-256 is used.
    Report {
        /// The JSON file, or - for standard input.
        file: PathBuf,
        /// Idempotency key (default: taken from the file, else its SHA-256).
        #[arg(long)]
        request_id: Option<String>,
        /// How to reach the services.
        #[command(flatten)]
        connection: Connection,
        /// Table or JSON.
        #[command(flatten)]
        format: Format,
    },
    /// Show an incident, its eligibility decision and deadlines.
    Show {
        /// Resource name: jurisdictions/{jurisdiction}/incidents/{incident}.
        name: String,
        /// How to reach the services.
        #[command(flatten)]
        connection: Connection,
        /// Table or JSON.
        #[command(flatten)]
        format: Format,
    },
}

/// Runs an `incident` subcommand.
pub async fn run(command: IncidentCommand) -> anyhow::Result<()> {
    match command {
        IncidentCommand::Report {
            file,
            request_id,
            connection,
            format,
        } => {
            let text = read(&file)?;
            let request = request(&text, request_id)?;
            let caller = connection.caller()?;
            let incident = caller
                .intake()
                .report_incident(request)
                .await
                .context("ReportIncident")?
                .into_inner();
            print(&incident, format)
        }
        IncidentCommand::Show {
            name,
            connection,
            format,
        } => {
            let incident = connection
                .caller()?
                .intake()
                .get_incident(intake::GetIncidentRequest { name })
                .await
                .context("GetIncident")?
                .into_inner();
            print(&incident, format)
        }
    }
}

fn read(file: &PathBuf) -> anyhow::Result<String> {
    if file.as_os_str() == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .context("reading standard input")?;
        return Ok(text);
    }
    std::fs::read_to_string(file)
        .map_err(|e| InputError(format!("cannot read {}: {e}", file.display())).into())
}

/// The request a file describes.
pub fn request(
    text: &str,
    request_id: Option<String>,
) -> anyhow::Result<intake::ReportIncidentRequest> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| InputError(format!("the file is not JSON: {e}")))?;
    let whole = value.get("incident").is_some();
    let mut request = if whole {
        output::from_json::<intake::ReportIncidentRequest>(
            text,
            "scir.intake.v1.ReportIncidentRequest",
        )
    } else {
        output::from_json::<intake::IncidentFacts>(text, "scir.intake.v1.IncidentFacts").map(
            |facts| intake::ReportIncidentRequest {
                request_id: String::new(),
                incident: Some(facts),
            },
        )
    }
    .map_err(|e| InputError(format!("the file is not a valid incident: {e:#}")))?;
    if let Some(id) = request_id {
        request.request_id = id;
    }
    if request.request_id.is_empty() {
        let digest = sha2::Sha256::digest(text.as_bytes());
        request.request_id = format!("sha256-{}", hex::encode(&digest[..16]));
    }
    Ok(request)
}

fn print(incident: &intake::Incident, format: Format) -> anyhow::Result<()> {
    if format.json {
        return output::print_json(&output::to_json(incident, "scir.intake.v1.Incident")?);
    }
    let facts = incident.facts.clone().unwrap_or_default();
    let decision = incident.decision.clone().unwrap_or_default();
    let outcome = intake::EligibilityOutcome::try_from(decision.outcome).map_or("-", |o| o.label());
    let mut pairs = vec![
        ("incident", incident.name.clone()),
        ("jurisdiction", facts.jurisdiction.clone()),
        (
            "type",
            intake::IncidentType::try_from(facts.incident_type)
                .map_or("-", |t| t.label())
                .to_owned(),
        ),
        (
            "cause",
            intake::CauseCategory::try_from(facts.cause_category)
                .map_or("-", |t| t.label())
                .to_owned(),
        ),
        ("incident date", date(facts.incident_date.as_ref())),
        ("revision", incident.revision.to_string()),
        ("decision", outcome.to_owned()),
        (
            "rule set",
            format!("{} {}", decision.rule_set, decision.rule_set_version),
        ),
    ];
    for reason in &decision.reasons {
        pairs.push(("reason", reason.clone()));
    }
    for deadline in &decision.deadlines {
        pairs.push((
            "deadline",
            format!(
                "{}  {}",
                date(deadline.due_date.as_ref()),
                intake::DeadlineKind::try_from(deadline.kind).map_or("-", |k| k.label())
            ),
        ));
    }
    for missing in &decision.missing_facts {
        pairs.push(("needs", missing.clone()));
    }
    println!("{}", fields(&pairs));
    Ok(())
}
