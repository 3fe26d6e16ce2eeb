//! `scir mapping` and `scir notice`: aggregate mappings and safety notices
//! from the learning service.

use anyhow::Context;
use scir_proto::learning::v1 as pb;
use scir_proto::review::v1 as review;

use super::output::{self, Table, date, fields, short};
use super::{Connection, Format, InputError};

/// `scir mapping` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum MappingCommand {
    /// List a jurisdiction's aggregate mappings, newest first.
    List {
        /// Jurisdiction id, e.g. us-wi.
        #[arg(long)]
        jurisdiction: String,
        /// How to reach the services.
        #[command(flatten)]
        connection: Connection,
        /// Table or JSON.
        #[command(flatten)]
        format: Format,
    },
    /// Show a mapping: scope, team, map, what its next stage needs, and its
    /// considerations.
    Show {
        /// Resource name: jurisdictions/{jurisdiction}/aggregateMappings/{id}.
        name: String,
        /// How to reach the services.
        #[command(flatten)]
        connection: Connection,
        /// Table or JSON.
        #[command(flatten)]
        format: Format,
    },
}

/// `scir notice` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum NoticeCommand {
    /// List the safety notices a jurisdiction issued and received.
    List {
        /// Jurisdiction id, e.g. us-wi.
        #[arg(long)]
        jurisdiction: String,
        /// How to reach the services.
        #[command(flatten)]
        connection: Connection,
        /// Table or JSON.
        #[command(flatten)]
        format: Format,
    },
    /// What is overdue: members that have not answered the jurisdiction's
    /// notices in time, and notices it has not answered in time.
    Overdue {
        /// Jurisdiction id, e.g. us-wi.
        #[arg(long)]
        jurisdiction: String,
        /// How to reach the services.
        #[command(flatten)]
        connection: Connection,
        /// Table or JSON.
        #[command(flatten)]
        format: Format,
    },
    /// Answer a notice addressed to the caller's jurisdiction.
    Respond {
        /// Resource name: jurisdictions/{issuer}/safetyNotices/{id}.
        name: String,
        /// acknowledged, action-taken or not-applicable.
        #[arg(long, value_parser = parse_kind)]
        kind: pb::ResponseKind,
        /// What was done, or why it does not apply.
        #[arg(long, default_value = "")]
        detail: String,
        /// How to reach the services.
        #[command(flatten)]
        connection: Connection,
        /// Table or JSON.
        #[command(flatten)]
        format: Format,
    },
}

fn parse_kind(text: &str) -> Result<pb::ResponseKind, String> {
    match text {
        "acknowledged" => Ok(pb::ResponseKind::Acknowledged),
        "action-taken" => Ok(pb::ResponseKind::ActionTaken),
        "not-applicable" => Ok(pb::ResponseKind::NotApplicable),
        other => Err(format!(
            "`{other}` is not acknowledged, action-taken or not-applicable"
        )),
    }
}

fn reviews_of(scope: &pb::Scope) -> usize {
    scope
        .learning_opportunities
        .iter()
        .filter_map(|lo| lo.rsplit_once("/learningOpportunities/").map(|(r, _)| r))
        .collect::<std::collections::BTreeSet<_>>()
        .len()
}

fn parent(jurisdiction: &str) -> anyhow::Result<String> {
    if jurisdiction.is_empty() || jurisdiction.contains('/') {
        return Err(InputError(format!(
            "`{jurisdiction}` is not a jurisdiction id like us-wi"
        ))
        .into());
    }
    Ok(format!("jurisdictions/{jurisdiction}"))
}

/// Runs a `mapping` subcommand.
pub async fn run_mapping(command: MappingCommand) -> anyhow::Result<()> {
    match command {
        MappingCommand::List {
            jurisdiction,
            connection,
            format,
        } => {
            let caller = connection.caller()?;
            let mut all = Vec::new();
            let mut page_token = String::new();
            loop {
                let page = caller
                    .learning()
                    .list_aggregate_mappings(pb::ListAggregateMappingsRequest {
                        parent: parent(&jurisdiction)?,
                        page_size: 100,
                        page_token,
                        ..Default::default()
                    })
                    .await
                    .context("ListAggregateMappings")?
                    .into_inner();
                all.extend(page.aggregate_mappings);
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
            if format.json {
                return output::print_json(&output::list_json(
                    &all,
                    "scir.learning.v1.AggregateMapping",
                )?);
            }
            if all.is_empty() {
                println!("No aggregate mappings in {jurisdiction}.");
                return Ok(());
            }
            let mut table = Table::new(["mapping", "title", "stage", "theme", "reviews"]);
            for m in &all {
                let scope = m.scope.clone().unwrap_or_default();
                table.row([
                    m.name.clone(),
                    m.title.clone(),
                    short::<pb::Stage>(m.stage),
                    short::<review::Theme>(scope.theme),
                    reviews_of(&scope).to_string(),
                ]);
            }
            println!("{}", table.render());
            Ok(())
        }
        MappingCommand::Show {
            name,
            connection,
            format,
        } => {
            let caller = connection.caller()?;
            let mapping = caller
                .learning()
                .get_aggregate_mapping(pb::GetAggregateMappingRequest { name: name.clone() })
                .await
                .context("GetAggregateMapping")?
                .into_inner();
            let considerations = caller
                .learning()
                .list_considerations(pb::ListConsiderationsRequest { parent: name })
                .await
                .context("ListConsiderations")?
                .into_inner()
                .considerations;
            if format.json {
                let mut value = output::to_json(&mapping, "scir.learning.v1.AggregateMapping")?;
                value["considerations"] =
                    output::list_json(&considerations, "scir.learning.v1.Consideration")?;
                return output::print_json(&value);
            }
            let scope = mapping.scope.clone().unwrap_or_default();
            let map = mapping.map.clone().unwrap_or_default();
            let mut pairs = vec![
                ("mapping", mapping.name.clone()),
                ("title", mapping.title.clone()),
                ("stage", short::<pb::Stage>(mapping.stage)),
                ("theme", short::<review::Theme>(scope.theme)),
                ("question", short::<pb::Question>(scope.question)),
                (
                    "period",
                    format!(
                        "{} to {}",
                        date(scope.period_start.as_ref()),
                        date(scope.period_end.as_ref())
                    ),
                ),
                (
                    "draws on",
                    format!(
                        "{} learning opportunities from {} reviews",
                        scope.learning_opportunities.len(),
                        reviews_of(&scope)
                    ),
                ),
                (
                    "map",
                    format!("{} factors, {} links", map.nodes.len(), map.edges.len()),
                ),
            ];
            for seat in &mapping.team {
                pairs.push(("team", format!("{} ({})", seat.role, seat.sector)));
            }
            for need in &mapping.next_stage_needs {
                pairs.push((
                    "still needs",
                    format!("{}: {}", need.field, need.description),
                ));
            }
            println!("{}", fields(&pairs));
            if !considerations.is_empty() {
                let mut table =
                    Table::new(["category", "strength", "owner", "status", "due", "effect"]);
                for c in &considerations {
                    table.row([
                        short::<review::RecommendationCategory>(c.category),
                        short::<review::ActionStrength>(c.strength),
                        c.owner.clone(),
                        format!(
                            "{}{}",
                            short::<pb::ConsiderationStatus>(c.status),
                            if c.overdue { " (overdue)" } else { "" }
                        ),
                        date(c.due_date.as_ref()),
                        short::<pb::Effectiveness>(c.effectiveness),
                    ]);
                }
                println!("\n{}", table.render());
            }
            Ok(())
        }
    }
}

async fn notices(
    connection: &Connection,
    jurisdiction: &str,
) -> anyhow::Result<Vec<pb::SafetyNotice>> {
    Ok(connection
        .caller()?
        .learning()
        .list_safety_notices(pb::ListSafetyNoticesRequest {
            parent: parent(jurisdiction)?,
            ..Default::default()
        })
        .await
        .context("ListSafetyNotices")?
        .into_inner()
        .safety_notices)
}

/// Runs a `notice` subcommand.
pub async fn run_notice(command: NoticeCommand) -> anyhow::Result<()> {
    match command {
        NoticeCommand::List {
            jurisdiction,
            connection,
            format,
        } => {
            let all = notices(&connection, &jurisdiction).await?;
            if format.json {
                return output::print_json(&output::list_json(
                    &all,
                    "scir.learning.v1.SafetyNotice",
                )?);
            }
            if all.is_empty() {
                println!("No safety notices issued by or addressed to {jurisdiction}.");
                return Ok(());
            }
            let own = format!("jurisdictions/{jurisdiction}/");
            let mut table = Table::new(["notice", "title", "due", "answered"]);
            for n in &all {
                let answered = if n.name.starts_with(&own) {
                    let done = n.responses.iter().filter(|r| r.kind != 0).count();
                    format!("{done} of {} members", n.responses.len())
                } else {
                    n.responses
                        .first()
                        .filter(|r| r.kind != 0)
                        .map_or("not yet (received)".to_owned(), |r| {
                            format!("{} (received)", short::<pb::ResponseKind>(r.kind))
                        })
                };
                table.row([
                    n.name.clone(),
                    n.title.clone(),
                    date(n.response_due.as_ref()),
                    answered,
                ]);
            }
            println!("{}", table.render());
            Ok(())
        }
        NoticeCommand::Overdue {
            jurisdiction,
            connection,
            format,
        } => {
            let all = notices(&connection, &jurisdiction).await?;
            let overdue: Vec<(&pb::SafetyNotice, &pb::NoticeResponse)> = all
                .iter()
                .flat_map(|n| {
                    n.responses
                        .iter()
                        .filter(|r| r.overdue)
                        .map(move |r| (n, r))
                })
                .collect();
            if format.json {
                let list: Vec<serde_json::Value> = overdue
                    .iter()
                    .map(|(n, r)| {
                        serde_json::json!({
                            "notice": n.name,
                            "member": r.jurisdiction,
                            "responseDue": date(n.response_due.as_ref()),
                        })
                    })
                    .collect();
                return output::print_json(&list.into());
            }
            if overdue.is_empty() {
                println!("No overdue answers to notices issued by or addressed to {jurisdiction}.");
                return Ok(());
            }
            let mut table = Table::new(["notice", "member", "was due"]);
            for (n, r) in overdue {
                table.row([
                    n.name.clone(),
                    r.jurisdiction.clone(),
                    date(n.response_due.as_ref()),
                ]);
            }
            println!("{}", table.render());
            Ok(())
        }
        NoticeCommand::Respond {
            name,
            kind,
            detail,
            connection,
            format,
        } => {
            let answered = connection
                .caller()?
                .learning()
                .respond_to_safety_notice(pb::RespondToSafetyNoticeRequest {
                    name: name.clone(),
                    kind: kind as i32,
                    detail,
                })
                .await
                .context("RespondToSafetyNotice")?
                .into_inner();
            if format.json {
                return output::print_json(&output::to_json(
                    &answered,
                    "scir.learning.v1.NoticeResponse",
                )?);
            }
            println!(
                "{} answered {name}: {}",
                answered.jurisdiction,
                short::<pb::ResponseKind>(answered.kind)
            );
            Ok(())
        }
    }
}
