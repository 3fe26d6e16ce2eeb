//! The demo's learning loop: two aggregate mappings over Wisconsin's
//! finalised reviews (safe sleep across the counties, and workload), with
//! considerations at several statuses, and a safety notice that some members
//! have answered. Idempotent: a mapping or notice the demo made before is
//! found by its title and left as it is.

use anyhow::Context;
use chrono::{Days, NaiveDate};
use scir_kit::auth::Role;
use scir_kit::validate::from_date;
use scir_proto::insights::v1 as insights;
use scir_proto::learning::v1 as pb;
use scir_proto::review::v1 as review;

use crate::cli::output::{Table, date, short};
use crate::connect::Caller;
use crate::journey::Driver;

/// The state whose counties' reviews the demo maps together.
const STATE: &str = "us-wi";

/// One mapping the demo convenes.
struct Plan {
    title: &'static str,
    theme: review::Theme,
    description: &'static str,
    /// Take it all the way to published, or leave it writing considerations.
    publish: bool,
    considerations: Vec<pb::Consideration>,
}

fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

fn consideration(
    category: review::RecommendationCategory,
    description: &str,
    owner: &str,
    due_in_days: i64,
    strength: review::ActionStrength,
    status: pb::ConsiderationStatus,
) -> pb::Consideration {
    let day = |offset: i64| {
        from_date(if offset >= 0 {
            today() + Days::new(offset.unsigned_abs())
        } else {
            today() - Days::new(offset.unsigned_abs())
        })
    };
    let mut c = pb::Consideration {
        category: category as i32,
        description: description.to_owned(),
        owner: owner.to_owned(),
        due_date: Some(day(due_in_days)),
        strength: strength as i32,
        status: status as i32,
        nodes: vec!["factor-1".to_owned()],
        ..Default::default()
    };
    match status {
        pb::ConsiderationStatus::Implemented => {
            c.done_date = Some(day(-60));
            c.check_date = Some(day(-5));
            c.effectiveness = pb::Effectiveness::Partly as i32;
            c.evidence =
                "Two of three county teams use the new checklist at every home visit".into();
        }
        pb::ConsiderationStatus::NotPursued => {
            c.status_reason = "Covered by the statewide workforce plan".into();
        }
        _ => {}
    }
    c
}

fn plans() -> Vec<Plan> {
    use pb::ConsiderationStatus as S;
    use review::ActionStrength as A;
    use review::RecommendationCategory as C;
    vec![
        Plan {
            title: "Safe sleep across Wisconsin's counties",
            theme: review::Theme::SafeSleep,
            description: "Infant deaths in unsafe sleep environments across county cases",
            publish: true,
            considerations: vec![
                consideration(
                    C::PartnershipWithOtherSystems,
                    "Share safe sleep guidance with public health home visiting programmes",
                    "State child welfare programme office",
                    120,
                    A::Intermediate,
                    S::InProgress,
                ),
                consideration(
                    C::UpdateGuidanceOrTraining,
                    "Add a sleep environment check to the initial assessment tool",
                    "State practice guidance unit",
                    90,
                    A::Stronger,
                    S::Implemented,
                ),
                consideration(
                    C::SharedLearning,
                    "Quarterly cross-county case conference on infant safety",
                    "Regional training partnership",
                    -10,
                    A::Weaker,
                    S::Accepted,
                ),
            ],
        },
        Plan {
            title: "Workload and time with families",
            theme: review::Theme::WorkloadAndStaffing,
            description: "Caseloads above the standard and less time for family contact",
            publish: false,
            considerations: vec![
                consideration(
                    C::WorkforceSupport,
                    "Cap initial assessment caseloads during onboarding",
                    "County human services directors",
                    200,
                    A::Stronger,
                    S::Proposed,
                ),
                consideration(
                    C::StatutoryChangesOrFunding,
                    "Seek funding for relief staff in rural counties",
                    "State legislative liaison",
                    -20,
                    A::Intermediate,
                    S::NotPursued,
                ),
            ],
        },
    ]
}

/// Convenes the demo's mappings and notice (once), then prints the loop.
pub async fn run(driver: &Driver, finalised: &[String]) -> anyhow::Result<()> {
    let lead = driver.caller("demo-state-lead", &[Role::ScrLead], STATE)?;
    let admin = driver.caller("demo-state-admin", &[Role::Admin], STATE)?;
    let mut opportunities = Vec::new();
    for name in finalised {
        let page = lead
            .review()
            .list_learning_opportunities(review::ListLearningOpportunitiesRequest {
                parent: name.clone(),
                page_size: 50,
                ..Default::default()
            })
            .await
            .context("ListLearningOpportunities")?
            .into_inner();
        opportunities.extend(page.learning_opportunities.into_iter().map(|lo| lo.name));
    }
    let reviews: std::collections::BTreeSet<&str> = opportunities
        .iter()
        .filter_map(|lo| lo.rsplit_once("/learningOpportunities/").map(|(r, _)| r))
        .collect();
    println!("\n== The learning loop (aggregate mappings across {STATE}'s reviews) ==\n");
    if reviews.len() < 2 {
        println!(
            "Fewer than two finalised reviews in {STATE} and its counties: no aggregate mapping \
             (try more incidents)."
        );
        return Ok(());
    }
    let existing = lead
        .learning()
        .list_aggregate_mappings(pb::ListAggregateMappingsRequest {
            parent: format!("jurisdictions/{STATE}"),
            page_size: 500,
            ..Default::default()
        })
        .await
        .context("ListAggregateMappings")?
        .into_inner()
        .aggregate_mappings;
    let mut mappings = Vec::new();
    for (i, plan) in plans().into_iter().enumerate() {
        let found = existing.iter().find(|m| m.title == plan.title).cloned();
        let mapping = match found {
            Some(m) => m,
            None => {
                // Each mapping draws on its own half of the opportunities.
                let share: Vec<String> = opportunities
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| j % 2 == i % 2 || opportunities.len() < 4)
                    .map(|(_, lo)| lo.clone())
                    .take(20)
                    .collect();
                convene(&lead, &plan, share).await?
            }
        };
        mappings.push(mapping);
    }
    let notice = notice(driver, &admin, &mappings[0].name).await?;
    print(&lead, &admin, &mappings, &notice).await
}

async fn convene(
    lead: &Caller,
    plan: &Plan,
    opportunities: Vec<String>,
) -> anyhow::Result<pb::AggregateMapping> {
    let mut learning = lead.learning();
    let mapping = learning
        .create_aggregate_mapping(pb::CreateAggregateMappingRequest {
            parent: format!("jurisdictions/{STATE}"),
            aggregate_mapping: Some(pb::AggregateMapping {
                title: plan.title.to_owned(),
                scope: Some(pb::Scope {
                    theme: plan.theme as i32,
                    question: pb::Question::Both as i32,
                    description: plan.description.to_owned(),
                    period_start: Some(from_date(today() - Days::new(3 * 365))),
                    period_end: Some(from_date(today())),
                    learning_opportunities: opportunities.clone(),
                }),
                team: vec![
                    seat("county CPS supervisor", "child welfare"),
                    seat("public health nurse", "health"),
                    seat("tribal ICWA director", "tribal"),
                    seat("state practice consultant", "child welfare"),
                ],
                ..Default::default()
            }),
        })
        .await
        .context("CreateAggregateMapping")?
        .into_inner();
    let name = mapping.name.clone();
    learning
        .create_mapping_session(pb::CreateMappingSessionRequest {
            parent: name.clone(),
            session: Some(pb::MappingSession {
                date: Some(from_date(today() - Days::new(14))),
                agenda: "The cases side by side; the factors they share".into(),
                notes: "Restricted: the team's working notes".into(),
                ..Default::default()
            }),
        })
        .await
        .context("CreateMappingSession")?;
    let mapping = advance(lead, mapping).await?;
    let mapping = advance(lead, mapping).await?;
    let map = pb::AggregateMap {
        nodes: vec![
            pb::MapNode {
                id: "factor-1".into(),
                label: "Caseloads above the standard".into(),
                factor: review::ContributoryFactor::ConditionsOfWork as i32,
                ssit_items: vec![],
                explains: opportunities.iter().step_by(2).cloned().collect(),
            },
            pb::MapNode {
                id: "factor-2".into(),
                label: "Guidance not shared with partner agencies".into(),
                factor: review::ContributoryFactor::InterAgency as i32,
                ssit_items: vec![],
                explains: opportunities.iter().skip(1).step_by(2).cloned().collect(),
            },
        ],
        edges: vec![pb::MapEdge {
            from: "factor-1".into(),
            to: "factor-2".into(),
            label: "less time for partner contact".into(),
        }],
    };
    let mapping = learning
        .update_aggregate_mapping(pb::UpdateAggregateMappingRequest {
            aggregate_mapping: Some(pb::AggregateMapping {
                name: name.clone(),
                map: Some(map),
                process_notes: "Bringing health and tribal partners in from the first session \
                                changed which factors the team saw."
                    .into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["map".into(), "process_notes".into()],
            }),
            etag: mapping.etag,
        })
        .await
        .context("UpdateAggregateMapping")?
        .into_inner();
    let mapping = advance(lead, mapping).await?;
    for c in &plan.considerations {
        learning
            .create_consideration(pb::CreateConsiderationRequest {
                parent: name.clone(),
                consideration: Some(c.clone()),
            })
            .await
            .context("CreateConsideration")?;
    }
    if plan.publish {
        let current = learning
            .get_aggregate_mapping(pb::GetAggregateMappingRequest { name })
            .await
            .context("GetAggregateMapping")?
            .into_inner();
        return advance(lead, current).await;
    }
    Ok(mapping)
}

fn seat(role: &str, sector: &str) -> pb::TeamSeat {
    pb::TeamSeat {
        role: role.to_owned(),
        sector: sector.to_owned(),
    }
}

async fn advance(
    lead: &Caller,
    mapping: pb::AggregateMapping,
) -> anyhow::Result<pb::AggregateMapping> {
    Ok(lead
        .learning()
        .advance_aggregate_mapping(pb::AdvanceAggregateMappingRequest {
            name: mapping.name,
            etag: mapping.etag,
        })
        .await
        .context("AdvanceAggregateMapping")?
        .into_inner())
}

/// A notice from the state to every member, answered by two of them.
async fn notice(driver: &Driver, admin: &Caller, source: &str) -> anyhow::Result<pb::SafetyNotice> {
    const TITLE: &str = "Safe sleep: share guidance with public health";
    let issued = admin
        .learning()
        .list_safety_notices(pb::ListSafetyNoticesRequest {
            parent: format!("jurisdictions/{STATE}"),
            r#box: pb::NoticeBox::Issued as i32,
            unanswered_only: false,
        })
        .await
        .context("ListSafetyNotices")?
        .into_inner()
        .safety_notices;
    if let Some(found) = issued.into_iter().find(|n| n.title == TITLE) {
        return Ok(found);
    }
    let notice = admin
        .learning()
        .issue_safety_notice(pb::IssueSafetyNoticeRequest {
            parent: format!("jurisdictions/{STATE}"),
            safety_notice: Some(pb::SafetyNotice {
                title: TITLE.into(),
                body: "Across the county reviews, families had not heard the same safe sleep \
                       advice from child welfare and from public health. Where the two shared \
                       one leaflet and one checklist, the gaps closed. Members may want to check \
                       what their home visiting partners hand out."
                    .into(),
                theme: review::Theme::SafeSleep as i32,
                source: source.to_owned(),
                recipients: Vec::new(),
                response_due: Some(from_date(today() + Days::new(45))),
                ..Default::default()
            }),
        })
        .await
        .context("IssueSafetyNotice")?
        .into_inner();
    let answers = [
        (
            "us-tn",
            pb::ResponseKind::ActionTaken,
            "Guidance shared with every regional public health office",
        ),
        ("us-ks", pb::ResponseKind::Acknowledged, ""),
    ];
    for (jurisdiction, kind, detail) in answers {
        if !notice.recipients.iter().any(|r| r == jurisdiction) {
            continue;
        }
        driver
            .caller("demo-admin", &[Role::Admin], jurisdiction)?
            .learning()
            .respond_to_safety_notice(pb::RespondToSafetyNoticeRequest {
                name: notice.name.clone(),
                kind: kind as i32,
                detail: detail.to_owned(),
            })
            .await
            .context("RespondToSafetyNotice")?;
    }
    Ok(admin
        .learning()
        .get_safety_notice(pb::GetSafetyNoticeRequest { name: notice.name })
        .await
        .context("GetSafetyNotice")?
        .into_inner())
}

async fn print(
    lead: &Caller,
    admin: &Caller,
    mappings: &[pb::AggregateMapping],
    notice: &pb::SafetyNotice,
) -> anyhow::Result<()> {
    let mut table = Table::new(["mapping", "stage", "reviews", "factors", "considerations"]);
    let mut total = 0;
    let mut considerations =
        Table::new(["mapping", "category", "strength", "status", "due", "effect"]);
    for m in mappings {
        let listed = lead
            .learning()
            .list_considerations(pb::ListConsiderationsRequest {
                parent: m.name.clone(),
            })
            .await
            .context("ListConsiderations")?
            .into_inner()
            .considerations;
        total += listed.len();
        let scope = m.scope.clone().unwrap_or_default();
        let reviews: std::collections::BTreeSet<&str> = scope
            .learning_opportunities
            .iter()
            .filter_map(|lo| lo.rsplit_once("/learningOpportunities/").map(|(r, _)| r))
            .collect();
        table.row([
            m.title.clone(),
            short::<pb::Stage>(m.stage),
            reviews.len().to_string(),
            m.map.as_ref().map_or(0, |map| map.nodes.len()).to_string(),
            listed.len().to_string(),
        ]);
        for c in &listed {
            considerations.row([
                m.title.clone(),
                short::<review::RecommendationCategory>(c.category),
                short::<review::ActionStrength>(c.strength),
                format!(
                    "{}{}",
                    short::<pb::ConsiderationStatus>(c.status),
                    if c.overdue { " (overdue)" } else { "" }
                ),
                date(c.due_date.as_ref()),
                short::<pb::Effectiveness>(c.effectiveness),
            ]);
        }
    }
    println!("{}", table.render());
    println!("\nConsiderations for future work:\n");
    println!("{}", considerations.render());
    let overdue = admin
        .learning()
        .list_overdue_considerations(pb::ListOverdueConsiderationsRequest {
            parent: format!("jurisdictions/{STATE}"),
        })
        .await
        .context("ListOverdueConsiderations")?
        .into_inner()
        .considerations;
    println!("\n{} consideration(s) overdue in {STATE}.", overdue.len());
    println!(
        "\nSafety notice \"{}\" (due {}), {:.0} % answered:\n",
        notice.title,
        date(notice.response_due.as_ref()),
        notice.response_rate * 100.0
    );
    let mut responses = Table::new(["member", "response", "days", "detail"]);
    for r in &notice.responses {
        responses.row([
            r.jurisdiction.clone(),
            if r.kind == 0 {
                "(none yet)".to_owned()
            } else {
                short::<pb::ResponseKind>(r.kind)
            },
            if r.kind == 0 {
                "-".to_owned()
            } else {
                r.days_to_respond.to_string()
            },
            r.detail.clone(),
        ]);
    }
    println!("{}", responses.render());
    print_counted(admin, total).await
}

/// What insights counts of the state's considerations, once its projection
/// has followed learning's events to all `total` of them (at most half a
/// minute).
async fn print_counted(admin: &Caller, total: usize) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    let table = loop {
        let table = admin
            .insights()
            .ask(insights::AskRequest {
                question: insights::Question::Considerations as i32,
                ..Default::default()
            })
            .await
            .context("Ask (considerations)")?
            .into_inner();
        let counted = table.population.and_then(|p| p.value).unwrap_or(0);
        if usize::try_from(counted).is_ok_and(|c| c >= total)
            || tokio::time::Instant::now() > deadline
        {
            break table;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    println!(
        "\n== Insights: {STATE}'s considerations by category and strength (exact, own jurisdiction) ==\n"
    );
    println!("{}", crate::cli::insights::render(&table));
    Ok(())
}
