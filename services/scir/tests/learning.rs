//! The learning service against real reviews: synthetic cases driven to
//! finalised reviews through `scir up`, then an aggregate mapping convened
//! over their learning opportunities and taken through every stage, with the
//! guards, the language check, bad input and other jurisdictions refused. The
//! same flow runs against a second learning service on PostgreSQL.

use std::time::Duration;

use scir::connect::{Caller, Channels, Endpoints, Signer};
use scir::journey::Driver;
use scir::{dev_auth, up};
use scir_kit::auth::Role;
use scir_proto::common::v1::Date;
use scir_proto::insights::v1::{self as insights, Question};
use scir_proto::learning::v1 as pb;
use scir_proto::review::v1 as review;
use scir_testkit::{Backend, TestDatabase};
use tonic::Code;

fn date_of(day: chrono::NaiveDate) -> Date {
    scir_kit::validate::from_date(day)
}

fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

/// The fields an INVALID_ARGUMENT names.
fn violations(status: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt as _;
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

/// Finalised reviews of Wisconsin and its counties, from synthetic cases.
async fn finalised_reviews(driver: &Driver, lead: &Caller, wanted: usize) -> Vec<String> {
    let items: Vec<String> = driver
        .active_instrument(lead)
        .await
        .expect("instrument")
        .domains
        .iter()
        .flat_map(|d| d.items.iter().map(|i| i.code.clone()))
        .collect();
    let mut out = Vec::new();
    for mut case in scir::demo::synth::partnership(11, 80, &items) {
        if !case.facts.jurisdiction.starts_with("us-wi") {
            continue;
        }
        case.until = review::Stage::Finalised;
        let outcome = driver.run(&case).await.expect("case");
        if let Some(r) = outcome.review
            && r.stage == review::Stage::Finalised as i32
        {
            out.push(r.name);
            if out.len() == wanted {
                break;
            }
        }
    }
    assert_eq!(out.len(), wanted, "finalised Wisconsin reviews");
    out
}

/// The learning opportunities of `review`.
async fn opportunities(lead: &Caller, review_name: &str) -> Vec<String> {
    lead.review()
        .list_learning_opportunities(review::ListLearningOpportunitiesRequest {
            parent: review_name.to_owned(),
            ..Default::default()
        })
        .await
        .expect("learning opportunities")
        .into_inner()
        .learning_opportunities
        .into_iter()
        .map(|lo| lo.name)
        .collect()
}

struct People {
    lead: Caller,
    analyst: Caller,
    other_state: Caller,
    county_lead: Caller,
    admin: Caller,
    tn_lead: Caller,
    ks_admin: Caller,
}

/// A safety notice from Wisconsin to Tennessee and Kansas, answered by one;
/// West Virginia, not addressed, sees nothing of it.
async fn a_notice(people: &People, source: &str, wv: &Caller) {
    let mut admin = people.admin.learning();
    let due = date_of(today() + chrono::Days::new(30));
    let notice = |body: &str, recipients: Vec<String>| pb::IssueSafetyNoticeRequest {
        parent: "jurisdictions/us-wi".into(),
        safety_notice: Some(pb::SafetyNotice {
            title: "Safe sleep and partner agencies".into(),
            body: body.into(),
            theme: review::Theme::SafeSleep as i32,
            source: source.to_owned(),
            recipients,
            response_due: Some(due),
            ..Default::default()
        }),
    };
    // Case data and bad recipients are refused, field by field.
    let bad = admin
        .issue_safety_notice(notice(
            "Mr. Smith spoke with Jordan Applewhite about case no. 2024-77.",
            vec!["us-tn".into(), "us-wi".into(), "nowhere".into()],
        ))
        .await
        .expect_err("case data");
    assert_eq!(
        violations(&bad),
        ["safety_notice.recipients[1]", "safety_notice.recipients[2]",]
    );
    let bad = admin
        .issue_safety_notice(notice(
            "Mr. Smith spoke with Jordan Applewhite about case no. 2024-77.",
            vec!["us-tn".into()],
        ))
        .await
        .expect_err("case data");
    let fields = violations(&bad);
    assert!(
        !fields.is_empty() && fields.iter().all(|f| f == "safety_notice.body"),
        "{fields:?}"
    );
    // Only an admin of the issuer issues.
    let refused = people
        .lead
        .learning()
        .issue_safety_notice(notice("x", vec![]))
        .await
        .expect_err("a lead does not issue");
    assert_eq!(refused.code(), Code::PermissionDenied);

    let issued = admin
        .issue_safety_notice(notice(
            "Counties that shared safe sleep guidance with public health saw fewer gaps.",
            vec!["us-tn".into(), "us-ks".into()],
        ))
        .await
        .expect("issued")
        .into_inner();
    assert_eq!(issued.recipients, ["us-tn", "us-ks"]);
    assert_eq!(issued.responses.len(), 2);
    let name = issued.name.clone();

    // A recipient reads it without the source, and answers.
    let mut tn = people.tn_lead.learning();
    let seen = tn
        .get_safety_notice(pb::GetSafetyNoticeRequest { name: name.clone() })
        .await
        .expect("recipient reads")
        .into_inner();
    assert!(seen.source.is_empty() && seen.issued_by.is_empty());
    assert_eq!(seen.recipients, ["us-tn"]);
    let inbox = tn
        .list_safety_notices(pb::ListSafetyNoticesRequest {
            parent: "jurisdictions/us-tn".into(),
            r#box: pb::NoticeBox::Received as i32,
            unanswered_only: true,
        })
        .await
        .expect("inbox")
        .into_inner();
    assert!(inbox.safety_notices.iter().any(|n| n.name == name));
    let bad = tn
        .respond_to_safety_notice(pb::RespondToSafetyNoticeRequest {
            name: name.clone(),
            kind: pb::ResponseKind::ActionTaken as i32,
            detail: String::new(),
        })
        .await
        .expect_err("what action");
    assert_eq!(violations(&bad), ["detail"]);
    let answered = tn
        .respond_to_safety_notice(pb::RespondToSafetyNoticeRequest {
            name: name.clone(),
            kind: pb::ResponseKind::ActionTaken as i32,
            detail: "Guidance shared with every regional public health office".into(),
        })
        .await
        .expect("answered")
        .into_inner();
    assert_eq!(answered.jurisdiction, "us-tn");
    // ... and sees nothing else of the issuer.
    for denied in [
        tn.list_safety_notices(pb::ListSafetyNoticesRequest {
            parent: "jurisdictions/us-wi".into(),
            ..Default::default()
        })
        .await
        .map(|_| ())
        .expect_err("issuer's list"),
        tn.list_aggregate_mappings(pb::ListAggregateMappingsRequest {
            parent: "jurisdictions/us-wi".into(),
            ..Default::default()
        })
        .await
        .map(|_| ())
        .expect_err("issuer's mappings"),
    ] {
        assert_eq!(denied.code(), Code::PermissionDenied);
    }
    if !source.is_empty() {
        let denied = tn
            .get_aggregate_mapping(pb::GetAggregateMappingRequest {
                name: source.to_owned(),
            })
            .await
            .expect_err("the source");
        assert_eq!(denied.code(), Code::PermissionDenied);
    }
    // Not addressed: nothing, not even whether it exists.
    let mut wv = wv.learning();
    let denied = wv
        .get_safety_notice(pb::GetSafetyNoticeRequest { name: name.clone() })
        .await
        .expect_err("not addressed");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let missing = wv
        .get_safety_notice(pb::GetSafetyNoticeRequest {
            name: format!("jurisdictions/us-wi/safetyNotices/{}", uuid::Uuid::now_v7()),
        })
        .await
        .expect_err("no such notice");
    assert_eq!(missing.code(), Code::PermissionDenied);
    let denied = wv
        .respond_to_safety_notice(pb::RespondToSafetyNoticeRequest {
            name: name.clone(),
            kind: pb::ResponseKind::Acknowledged as i32,
            detail: String::new(),
        })
        .await
        .expect_err("not addressed");
    assert_eq!(denied.code(), Code::PermissionDenied);

    // The issuer sees every response and the rate.
    let full = admin
        .get_safety_notice(pb::GetSafetyNoticeRequest { name: name.clone() })
        .await
        .expect("issuer reads")
        .into_inner();
    assert_eq!(full.source, source);
    assert_eq!(full.response_rate, 0.5);
    let tn_response = full
        .responses
        .iter()
        .find(|r| r.jurisdiction == "us-tn")
        .expect("tn");
    assert_eq!(tn_response.kind, pb::ResponseKind::ActionTaken as i32);
    let ks_response = full
        .responses
        .iter()
        .find(|r| r.jurisdiction == "us-ks")
        .expect("ks");
    assert_eq!(ks_response.kind, 0);
    assert!(!ks_response.overdue, "due in 30 days");
    people
        .ks_admin
        .learning()
        .respond_to_safety_notice(pb::RespondToSafetyNoticeRequest {
            name: name.clone(),
            kind: pb::ResponseKind::NotApplicable as i32,
            detail: "No unsafe sleep deaths in the period".into(),
        })
        .await
        .expect("ks answers");
    let issued_box = admin
        .list_safety_notices(pb::ListSafetyNoticesRequest {
            parent: "jurisdictions/us-wi".into(),
            r#box: pb::NoticeBox::Issued as i32,
            unanswered_only: false,
        })
        .await
        .expect("issued")
        .into_inner();
    let listed = issued_box
        .safety_notices
        .iter()
        .find(|n| n.name == name)
        .expect("listed");
    assert_eq!(listed.response_rate, 1.0);
}

/// One aggregate mapping from convening to published, against `learning`;
/// returns its name.
async fn whole_mapping(people: &People, los: &[String], unfinished: &str) -> String {
    let lead = &people.lead;
    let mut learning = lead.learning();
    let fake = format!(
        "jurisdictions/us-wi/reviews/{}/learningOpportunities/{}",
        uuid::Uuid::now_v7(),
        uuid::Uuid::now_v7()
    );
    let foreign = format!(
        "jurisdictions/us-tn/reviews/{}/learningOpportunities/{}",
        uuid::Uuid::now_v7(),
        uuid::Uuid::now_v7()
    );

    // Bad input: every bad field named, nothing created.
    let bad = learning
        .create_aggregate_mapping(pb::CreateAggregateMappingRequest {
            parent: "jurisdictions/us-wi".into(),
            aggregate_mapping: Some(pb::AggregateMapping {
                title: String::new(),
                scope: Some(pb::Scope {
                    learning_opportunities: vec!["nonsense".into()],
                    period_start: Some(date_of(today())),
                    period_end: Some(date_of(today() - chrono::Days::new(1))),
                    ..Default::default()
                }),
                team: vec![pb::TeamSeat::default()],
                ..Default::default()
            }),
        })
        .await
        .expect_err("bad mapping");
    assert_eq!(
        violations(&bad),
        [
            "aggregate_mapping.title",
            "aggregate_mapping.scope.period_end",
            "aggregate_mapping.scope.learning_opportunities[0]",
            "aggregate_mapping.team[0].role",
            "aggregate_mapping.team[0].sector",
        ]
    );
    // Opportunities review does not have, of another state, or of a review not
    // yet final: each named.
    let bad = learning
        .create_aggregate_mapping(pb::CreateAggregateMappingRequest {
            parent: "jurisdictions/us-wi".into(),
            aggregate_mapping: Some(pb::AggregateMapping {
                title: "Safe sleep".into(),
                scope: Some(pb::Scope {
                    learning_opportunities: vec![
                        los[0].clone(),
                        fake,
                        foreign,
                        unfinished.to_owned(),
                    ],
                    ..Default::default()
                }),
                ..Default::default()
            }),
        })
        .await
        .expect_err("bad opportunities");
    assert_eq!(
        violations(&bad),
        [
            "aggregate_mapping.scope.learning_opportunities[1]",
            "aggregate_mapping.scope.learning_opportunities[2]",
            "aggregate_mapping.scope.learning_opportunities[3]",
        ]
    );
    let listed = learning
        .list_aggregate_mappings(pb::ListAggregateMappingsRequest {
            parent: "jurisdictions/us-wi".into(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    let before = listed.aggregate_mappings.len();
    // A county lead convenes only in the county; another state not at all.
    let refused = people
        .county_lead
        .learning()
        .create_aggregate_mapping(pb::CreateAggregateMappingRequest {
            parent: "jurisdictions/us-wi".into(),
            aggregate_mapping: Some(pb::AggregateMapping {
                title: "x".into(),
                ..Default::default()
            }),
        })
        .await
        .expect_err("county in the state");
    assert_eq!(refused.code(), Code::PermissionDenied);

    // Convened with a scope over two reviews.
    let mapping = learning
        .create_aggregate_mapping(pb::CreateAggregateMappingRequest {
            parent: "jurisdictions/us-wi".into(),
            aggregate_mapping: Some(pb::AggregateMapping {
                title: "Safe sleep across Wisconsin's counties".into(),
                scope: Some(pb::Scope {
                    theme: review::Theme::SafeSleep as i32,
                    question: pb::Question::Both as i32,
                    description: "Infant deaths in unsafe sleep environments".into(),
                    period_start: Some(date_of(today() - chrono::Days::new(900))),
                    period_end: Some(date_of(today())),
                    learning_opportunities: los.to_vec(),
                }),
                ..Default::default()
            }),
        })
        .await
        .expect("convened")
        .into_inner();
    assert_eq!(mapping.stage, pb::Stage::Scoping as i32);
    assert!(mapping.next_stage_needs.is_empty(), "{mapping:?}");
    assert_eq!(mapping.convened_by, "state-lead");
    let name = mapping.name.clone();
    let after = learning
        .list_aggregate_mappings(pb::ListAggregateMappingsRequest {
            parent: "jurisdictions/us-wi".into(),
            stages: vec![pb::Stage::Scoping as i32],
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert!(after.aggregate_mappings.iter().any(|m| m.name == name));
    assert_eq!(before + 1, {
        learning
            .list_aggregate_mappings(pb::ListAggregateMappingsRequest {
                parent: "jurisdictions/us-wi".into(),
                ..Default::default()
            })
            .await
            .expect("list")
            .into_inner()
            .aggregate_mappings
            .len()
    });

    // Another state sees nothing of it; an analyst of the state reads it.
    let denied = people
        .other_state
        .learning()
        .get_aggregate_mapping(pb::GetAggregateMappingRequest { name: name.clone() })
        .await
        .expect_err("other state");
    assert_eq!(denied.code(), Code::PermissionDenied);
    people
        .analyst
        .learning()
        .get_aggregate_mapping(pb::GetAggregateMappingRequest { name: name.clone() })
        .await
        .expect("analyst reads");

    // To preparation; the guard lists what preparation still needs.
    let mapping = advance(lead, &mapping).await.expect("to preparation");
    assert_eq!(mapping.stage, pb::Stage::Preparation as i32);
    let needs: Vec<_> = mapping
        .next_stage_needs
        .iter()
        .map(|m| m.field.as_str())
        .collect();
    assert_eq!(needs, ["team", "sessions"]);
    let refused = advance(lead, &mapping).await.expect_err("guarded");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(refused.message().contains("team"), "{}", refused.message());
    // A stale etag is ABORTED.
    let stale = learning
        .advance_aggregate_mapping(pb::AdvanceAggregateMappingRequest {
            name: name.clone(),
            etag: "1".into(),
        })
        .await
        .expect_err("stale");
    assert_eq!(stale.code(), Code::Aborted);

    let seat = |role: &str, sector: &str| pb::TeamSeat {
        role: role.into(),
        sector: sector.into(),
    };
    update(
        lead,
        pb::AggregateMapping {
            name: name.clone(),
            team: vec![
                seat("county CPS supervisor", "child welfare"),
                seat("public health nurse", "health"),
                seat("tribal ICWA director", "tribal"),
            ],
            ..Default::default()
        },
        &["team"],
        &mapping.etag,
    )
    .await
    .expect("team");
    let notes = "Sleep environment discussed with three county teams.";
    learning
        .create_mapping_session(pb::CreateMappingSessionRequest {
            parent: name.clone(),
            session: Some(pb::MappingSession {
                date: Some(date_of(today())),
                agenda: "Walk through the cases".into(),
                notes: notes.into(),
                ..Default::default()
            }),
        })
        .await
        .expect("session");
    let sessions = people
        .analyst
        .learning()
        .list_mapping_sessions(pb::ListMappingSessionsRequest {
            parent: name.clone(),
        })
        .await
        .expect("sessions")
        .into_inner()
        .sessions;
    assert_eq!(sessions.len(), 1);
    assert!(
        sessions[0].has_notes && sessions[0].notes.is_empty(),
        "analysts see no notes"
    );
    let sessions = learning
        .list_mapping_sessions(pb::ListMappingSessionsRequest {
            parent: name.clone(),
        })
        .await
        .expect("sessions")
        .into_inner()
        .sessions;
    assert_eq!(sessions[0].notes, notes);
    let mapping = get(lead, &name).await;
    let mapping = advance(lead, &mapping).await.expect("to mapping");
    assert_eq!(mapping.stage, pb::Stage::Mapping as i32);

    // The scope is fixed now; the map must explain every opportunity.
    let refused = update(lead, mapping.clone(), &["scope"], &mapping.etag)
        .await
        .expect_err("scope fixed");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    let bad_map = pb::AggregateMap {
        nodes: vec![pb::MapNode {
            id: "caseload".into(),
            label: "Caseloads above the standard".into(),
            explains: vec!["elsewhere".into()],
            ..Default::default()
        }],
        edges: vec![pb::MapEdge {
            from: "caseload".into(),
            to: "ghost".into(),
            label: String::new(),
        }],
    };
    let bad = update(
        lead,
        pb::AggregateMapping {
            name: name.clone(),
            map: Some(bad_map),
            ..Default::default()
        },
        &["map"],
        &mapping.etag,
    )
    .await
    .expect_err("bad map");
    assert_eq!(
        violations(&bad),
        [
            "aggregate_mapping.map.nodes[0].explains[0]",
            "aggregate_mapping.map.edges[0].to"
        ]
    );
    let map = pb::AggregateMap {
        nodes: vec![
            pb::MapNode {
                id: "caseload".into(),
                label: "Caseloads above the standard".into(),
                factor: review::ContributoryFactor::ConditionsOfWork as i32,
                ssit_items: vec!["TW1".into()],
                explains: vec![los[0].clone()],
            },
            pb::MapNode {
                id: "guidance".into(),
                label: "Safe sleep guidance not shared with partners".into(),
                factor: review::ContributoryFactor::Organisation as i32,
                ssit_items: vec![],
                explains: los[1..].to_vec(),
            },
        ],
        edges: vec![pb::MapEdge {
            from: "caseload".into(),
            to: "guidance".into(),
            label: "less time for partner contact".into(),
        }],
    };
    let mapping = update(
        lead,
        pb::AggregateMapping {
            name: name.clone(),
            map: Some(map),
            ..Default::default()
        },
        &["map"],
        &mapping.etag,
    )
    .await
    .expect("map");
    assert!(mapping.next_stage_needs.is_empty(), "{mapping:?}");
    // Considerations wait for their stage.
    let early = learning
        .create_consideration(pb::CreateConsiderationRequest {
            parent: name.clone(),
            consideration: Some(consideration(today() + chrono::Days::new(30))),
        })
        .await
        .expect_err("too early");
    assert_eq!(early.code(), Code::FailedPrecondition);
    advance(lead, &mapping).await.expect("to considerations");

    let bad = learning
        .create_consideration(pb::CreateConsiderationRequest {
            parent: name.clone(),
            consideration: Some(pb::Consideration {
                nodes: vec!["ghost".into()],
                status: pb::ConsiderationStatus::NotPursued as i32,
                ..Default::default()
            }),
        })
        .await
        .expect_err("bad consideration");
    assert_eq!(
        violations(&bad),
        [
            "consideration.category",
            "consideration.description",
            "consideration.owner",
            "consideration.due_date",
            "consideration.strength",
            "consideration.status_reason",
            "consideration.nodes[0]",
        ]
    );
    let overdue = learning
        .create_consideration(pb::CreateConsiderationRequest {
            parent: name.clone(),
            consideration: Some(consideration(today() - chrono::Days::new(3))),
        })
        .await
        .expect("consideration")
        .into_inner();
    assert!(overdue.overdue);
    assert_eq!(overdue.status, pb::ConsiderationStatus::Proposed as i32);
    let mapping = get(lead, &name).await;
    let needs: Vec<_> = mapping
        .next_stage_needs
        .iter()
        .map(|m| m.field.as_str())
        .collect();
    assert_eq!(needs, ["process_notes"]);
    // Blaming words in what the partnership will read stop publishing.
    let mapping = update(
        lead,
        pb::AggregateMapping {
            name: name.clone(),
            process_notes: "The worker failed to check the crib.".into(),
            ..Default::default()
        },
        &["process_notes"],
        &mapping.etag,
    )
    .await
    .expect("notes");
    let refused = advance(lead, &mapping).await.expect_err("language");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(
        refused.message().contains("process_notes"),
        "{}",
        refused.message()
    );
    let mapping = update(
        lead,
        pb::AggregateMapping {
            name: name.clone(),
            process_notes: "Bringing health partners in from the first session helped.".into(),
            ..Default::default()
        },
        &["process_notes"],
        &mapping.etag,
    )
    .await
    .expect("notes");
    let published = advance(lead, &mapping).await.expect("published");
    assert_eq!(published.stage, pb::Stage::Published as i32);

    // Published: read-only but for the considerations' progress.
    let refused = update(
        lead,
        pb::AggregateMapping {
            name: name.clone(),
            title: "Renamed".into(),
            ..Default::default()
        },
        &["title"],
        &published.etag,
    )
    .await
    .expect_err("read-only");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    let refused = learning
        .update_consideration(pb::UpdateConsiderationRequest {
            consideration: Some(pb::Consideration {
                name: overdue.name.clone(),
                owner: "Someone else".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["owner".into()],
            }),
            etag: overdue.etag.clone(),
        })
        .await
        .expect_err("owner fixed");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    let listed = learning
        .list_overdue_considerations(pb::ListOverdueConsiderationsRequest {
            parent: "jurisdictions/us-wi".into(),
        })
        .await
        .expect("overdue")
        .into_inner();
    assert!(listed.considerations.iter().any(|c| c.name == overdue.name));
    let done = learning
        .update_consideration(pb::UpdateConsiderationRequest {
            consideration: Some(pb::Consideration {
                name: overdue.name.clone(),
                status: pb::ConsiderationStatus::Implemented as i32,
                done_date: Some(date_of(today() - chrono::Days::new(1))),
                check_date: Some(date_of(today())),
                effectiveness: pb::Effectiveness::Partly as i32,
                evidence: "Two of three counties use the new checklist".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec![
                    "status".into(),
                    "done_date".into(),
                    "check_date".into(),
                    "effectiveness".into(),
                    "evidence".into(),
                ],
            }),
            etag: overdue.etag.clone(),
        })
        .await
        .expect("implemented")
        .into_inner();
    assert!(!done.overdue);
    assert_eq!(done.effectiveness, pb::Effectiveness::Partly as i32);
    let listed = learning
        .list_overdue_considerations(pb::ListOverdueConsiderationsRequest {
            parent: "jurisdictions/us-wi".into(),
        })
        .await
        .expect("overdue")
        .into_inner();
    assert!(!listed.considerations.iter().any(|c| c.name == overdue.name));
    name
}

/// Asks insights `question` as `analyst` until `done` holds of the answer
/// (the projection follows learning's events), or a minute passes.
async fn ask_until(
    analyst: &Caller,
    question: Question,
    done: impl Fn(&insights::Table) -> bool,
) -> insights::Table {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let table = analyst
            .insights()
            .ask(insights::AskRequest {
                question: question as i32,
                ..Default::default()
            })
            .await
            .expect("ask")
            .into_inner();
        if done(&table) || tokio::time::Instant::now() > deadline {
            return table;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn insights_count_the_loop(driver: &Driver, mapping: &str) {
    let analyst = driver
        .caller("state-analyst", &[Role::Analyst], "us-wi")
        .expect("caller");
    let considerations = analyst
        .learning()
        .list_considerations(pb::ListConsiderationsRequest {
            parent: mapping.to_owned(),
        })
        .await
        .expect("considerations")
        .into_inner()
        .considerations;
    let implemented = considerations
        .iter()
        .filter(|c| c.status == pb::ConsiderationStatus::Implemented as i32)
        .count() as i64;
    assert!(implemented >= 1, "{mapping}: {considerations:?}");
    let value = |c: &Option<insights::Count>| c.as_ref().and_then(|c| c.value);
    let table = ask_until(&analyst, Question::Considerations, |t| {
        value(&t.population) == Some(considerations.len() as i64)
            && t.rows
                .iter()
                .filter_map(|r| value(&r.implemented))
                .sum::<i64>()
                == implemented
    })
    .await;
    assert_eq!(
        value(&table.population),
        Some(considerations.len() as i64),
        "{table:?}"
    );
    assert_eq!(
        table
            .rows
            .iter()
            .filter_map(|r| value(&r.implemented))
            .sum::<i64>(),
        implemented,
        "{table:?}"
    );

    let tennessee = driver
        .caller("tn-analyst", &[Role::Analyst], "us-tn")
        .expect("caller");
    let answered = |t: &insights::Table| {
        t.rows
            .iter()
            .find(|r| r.keys == ["ACTION_TAKEN", "all"])
            .and_then(|r| value(&r.count))
    };
    let table = ask_until(&tennessee, Question::SafetyNoticeResponses, |t| {
        answered(t) == Some(1)
    })
    .await;
    assert_eq!(answered(&table), Some(1), "{table:?}");
    assert_eq!(value(&table.population), Some(1), "{table:?}");
}

fn consideration(due: chrono::NaiveDate) -> pb::Consideration {
    pb::Consideration {
        category: review::RecommendationCategory::UpdateGuidanceOrTraining as i32,
        description: "Share the safe sleep guidance with public health partners".into(),
        owner: "State child welfare program office".into(),
        due_date: Some(date_of(due)),
        strength: review::ActionStrength::Intermediate as i32,
        nodes: vec!["guidance".into()],
        ..Default::default()
    }
}

async fn get(lead: &Caller, name: &str) -> pb::AggregateMapping {
    lead.learning()
        .get_aggregate_mapping(pb::GetAggregateMappingRequest {
            name: name.to_owned(),
        })
        .await
        .expect("get")
        .into_inner()
}

async fn advance(
    lead: &Caller,
    mapping: &pb::AggregateMapping,
) -> Result<pb::AggregateMapping, tonic::Status> {
    lead.learning()
        .advance_aggregate_mapping(pb::AdvanceAggregateMappingRequest {
            name: mapping.name.clone(),
            etag: mapping.etag.clone(),
        })
        .await
        .map(tonic::Response::into_inner)
}

async fn update(
    lead: &Caller,
    changes: pb::AggregateMapping,
    paths: &[&str],
    etag: &str,
) -> Result<pb::AggregateMapping, tonic::Status> {
    lead.learning()
        .update_aggregate_mapping(pb::UpdateAggregateMappingRequest {
            aggregate_mapping: Some(changes),
            update_mask: Some(prost_types::FieldMask {
                paths: paths.iter().map(|p| (*p).to_owned()).collect(),
            }),
            etag: etag.to_owned(),
        })
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test]
async fn an_aggregate_mapping_from_convening_to_published_on_both_backends() {
    let dir = tempfile::tempdir().expect("data dir");
    let (running, shutdown, task) = up::spawn(dir.path().to_owned()).await.expect("scir up");
    let secret = dev_auth::read_secret(dir.path()).expect("secret");
    let endpoints = |learning: std::net::SocketAddr| Endpoints {
        intake: format!("http://{}", running.intake),
        review: format!("http://{}", running.review),
        scoring: format!("http://{}", running.scoring),
        insights: format!("http://{}", running.insights),
        learning: format!("http://{learning}"),
        culture: format!("http://{}", running.culture),
        tls: Default::default(),
    };
    let signer = Signer::new(&secret, dev_auth::DEV_ISSUER, dev_auth::DEV_AUDIENCE);
    let driver = Driver::new(
        Channels::new(&endpoints(running.learning)).expect("channels"),
        signer.clone(),
    );
    let lead = driver
        .caller("state-lead", &[Role::ScrLead], "us-wi")
        .expect("caller");
    let reviews = finalised_reviews(&driver, &lead, 3).await;
    let mut los = Vec::new();
    for r in &reviews {
        los.extend(opportunities(&lead, r).await);
    }
    assert!(los.len() >= 3, "{los:?}");
    // A review that is not final yet, with an opportunity of its own.
    let unfinished = {
        let reporter = driver
            .caller("reporter", &[Role::Reporter], "us-wi")
            .expect("caller");
        let incident = reporter
            .intake()
            .report_incident(scir_proto::intake::v1::ReportIncidentRequest {
                request_id: "learning-unfinished".into(),
                incident: Some(scir_testkit::fixtures::wisconsin_death()),
            })
            .await
            .expect("report")
            .into_inner();
        let opened = driver
            .review_of(&lead, "us-wi", &incident.name)
            .await
            .expect("review opened");
        format!(
            "{}/learningOpportunities/{}",
            opened.name,
            uuid::Uuid::now_v7()
        )
    };

    // The same flow on scir up's learning (SQLite) and on one of its own on
    // PostgreSQL, both reading the same reviews.
    let pg = TestDatabase::new(Backend::Postgres).await;
    let pg_shutdown = scir_kit::shutdown::Shutdown::new();
    let mut common = scir_testkit::common_config(&pg.url);
    common.auth = dev_auth::auth_config(&secret);
    let config = scir_learning::LearningConfig {
        common,
        review_addr: format!("http://{}", running.review),
        sealing: scir_testkit::sealing_config(),
        webhooks: Default::default(),
    };
    let app = scir_learning::Application::build(&config, &pg_shutdown)
        .await
        .expect("learning on PostgreSQL");
    let pg_learning = app.address();
    let pg_task = tokio::spawn(app.run());
    scir_testkit::wait_serving(pg_learning, scir_learning::startup::SERVICE_NAME).await;

    let mut sources = Vec::new();
    for learning in [running.learning, pg_learning] {
        let driver = Driver::new(
            Channels::new(&endpoints(learning)).expect("channels"),
            signer.clone(),
        );
        let people = People {
            lead: driver
                .caller("state-lead", &[Role::ScrLead], "us-wi")
                .expect("caller"),
            analyst: driver
                .caller("state-analyst", &[Role::Analyst], "us-wi")
                .expect("caller"),
            other_state: driver
                .caller("tn-admin", &[Role::Admin], "us-tn")
                .expect("caller"),
            county_lead: driver
                .caller("dane-lead", &[Role::ScrLead], "us-wi-dane")
                .expect("caller"),
            admin: driver
                .caller("state-admin", &[Role::Admin], "us-wi")
                .expect("caller"),
            tn_lead: driver
                .caller("tn-lead", &[Role::ScrLead], "us-tn")
                .expect("caller"),
            ks_admin: driver
                .caller("ks-admin", &[Role::Admin], "us-ks")
                .expect("caller"),
        };
        let source = tokio::time::timeout(
            Duration::from_secs(120),
            whole_mapping(&people, &los, &unfinished),
        )
        .await
        .expect("the flow finishes");
        let wv = driver
            .caller("wv-admin", &[Role::Admin], "us-wv")
            .expect("caller");
        a_notice(&people, &source, &wv).await;
        sources.push(source);
    }

    // Insights counts what scir up's learning published, from its events:
    // the mapping's considerations for Wisconsin's analyst, the notice's
    // answer for Tennessee's.
    insights_count_the_loop(&driver, &sources[0]).await;

    // Session notes are sealed at rest: the SQLite file does not hold them.
    let raw = std::fs::read(dir.path().join("learning.db")).expect("learning.db");
    let needle = b"Sleep environment discussed";
    assert!(
        !raw.windows(needle.len()).any(|w| w == needle),
        "session notes stored in the clear"
    );
    pg_shutdown.fire();
    pg_task
        .await
        .expect("task")
        .expect("learning stopped cleanly");
    shutdown.fire();
    task.await.expect("task").expect("scir up stopped cleanly");
}
