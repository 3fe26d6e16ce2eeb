//! Every RPC, every role, from another jurisdiction: a whole review's
//! resources exist in us-wi (incident, review, team, every kind of part,
//! ratings and consensus); callers of us-tn, in each role, call every RPC on
//! them. None succeeds; every read is PERMISSION_DENIED or NOT_FOUND; nothing
//! changes. The same reads by an admin of us-wi succeed, so the requests are
//! the right ones. An analyst of us-tn asking insights never counts us-wi.

use std::collections::BTreeMap;

use prost_reflect::{DynamicMessage, MessageDescriptor, Value};
use scir::connect::Caller;
use scir_e2e::cases::wisconsin_case;
use scir_e2e::processes::Up;
use scir_kit::auth::Role;
use scir_proto::insights::v1 as insights;
use scir_proto::intake::v1 as intake;
use scir_proto::review::v1 as review;
use tonic::Code;

/// RPCs about no jurisdiction's case data: anyone may call them.
const JURISDICTION_FREE: &[&str] = &[
    "ListRuleSets",
    "GetRuleSet",
    "ListJurisdictions",
    "ListInstruments",
    "GetInstrument",
    "ListSurveyInstruments",
    "CheckLanguage",
    // Answers about the caller's own jurisdiction (or the suppressed pool).
    "Ask",
    "ExportCsv",
    "RenderChart",
];

/// The us-wi resources the requests name.
#[derive(Debug, Default)]
struct Resources(BTreeMap<&'static str, String>);

impl Resources {
    fn get(&self, kind: &str) -> String {
        self.0.get(kind).cloned().unwrap_or_default()
    }

    /// The resource a method is about.
    fn of_method(&self, method: &str) -> String {
        let kinds = [
            ("SafetyNotice", "safety_notice"),
            ("SurveyWave", "survey_wave"),
            ("SurveyResults", "survey_wave"),
            ("SurveyChart", "survey_wave"),
            ("Invitations", "survey_wave"),
            ("Consideration", "consideration"),
            ("AggregateMapping", "aggregate_mapping"),
            ("MappingSession", "aggregate_mapping"),
            ("KeyObservation", "key_observation"),
            ("Episode", "episode"),
            ("Debriefing", "debriefing"),
            ("SystemsMap", "systems_map"),
            ("LearningOpportunit", "learning_opportunity"),
            ("Recommendation", "recommendation"),
            ("TeamMember", "team_member"),
            ("RuleSet", "rule_set"),
            ("Instrument", "instrument"),
            ("Incident", "incident"),
            ("Eligibility", "incident"),
        ];
        kinds
            .iter()
            .find(|(k, _)| method.contains(k))
            .map_or_else(|| self.get("review"), |(_, kind)| self.get(kind))
    }
}

fn request(descriptor: &MessageDescriptor, method: &str, res: &Resources) -> DynamicMessage {
    let mut message = DynamicMessage::new(descriptor.clone());
    for field in descriptor.fields() {
        let value = match (field.name(), field.kind().as_message()) {
            ("name", None) => Value::String(res.of_method(method)),
            ("parent", None)
                if [
                    "ListIncidents",
                    "ListReviews",
                    "CreateAggregateMapping",
                    "ListAggregateMappings",
                    "ListOverdueConsiderations",
                    "IssueSafetyNotice",
                    "ListSafetyNotices",
                    "CreateSurveyWave",
                    "ListSurveyWaves",
                    "GetSurveyTrend",
                ]
                .contains(&method) =>
            {
                Value::String(format!("jurisdictions/{}", res.get("jurisdiction")))
            }
            ("parent", None)
                if method.contains("MappingSession") || method.contains("Consideration") =>
            {
                Value::String(res.get("aggregate_mapping"))
            }
            ("parent", None) => Value::String(res.get("review")),
            ("incident" | "review" | "key_observation", None) => {
                Value::String(res.get(field.name()))
            }
            ("wave", None) => Value::String(res.get("survey_wave")),
            ("jurisdiction", None) => {
                Value::String(format!("jurisdictions/{}", res.get("jurisdiction")))
            }
            // Filters (dates, masks) stay unset.
            (_, Some(nested))
                if nested.full_name().starts_with("google.protobuf.")
                    || nested.full_name() == "scir.common.v1.Date" =>
            {
                continue;
            }
            (_, Some(nested)) => {
                let mut inner = DynamicMessage::new(nested.clone());
                for (key, value) in [
                    ("name", res.of_method(method)),
                    ("key_observation", res.get("key_observation")),
                    ("jurisdiction", res.get("jurisdiction")),
                    ("subject", "intruder".to_owned()),
                ] {
                    if let Some(f) = nested.get_field_by_name(key)
                        && f.kind().as_message().is_none()
                        && !f.is_list()
                    {
                        inner.set_field(&f, Value::String(value));
                    }
                }
                Value::Message(inner)
            }
            _ => continue,
        };
        if !field.is_list() {
            message.set_field(&field, value);
        }
    }
    message
}

async fn first<T>(what: &str, items: Vec<T>, name: impl Fn(&T) -> String) -> String {
    items
        .first()
        .map(name)
        .unwrap_or_else(|| panic!("no {what}"))
}

/// A review in `jurisdiction` taken to its last stage, with one resource of
/// every kind; the resources and the review's name.
async fn a_whole_review(up: &Up, jurisdiction: &str) -> (Resources, String) {
    let driver = up.driver();
    let lead = driver
        .caller("lead-e2e", &[Role::ScrLead], jurisdiction)
        .expect("caller");
    let instrument = driver.active_instrument(&lead).await.expect("instrument");
    let mut case = wisconsin_case(&format!("matrix-{jurisdiction}"), &instrument);
    case.facts.jurisdiction = jurisdiction.to_owned();
    // Stop before the end, so every write would still be allowed to the team.
    case.until = review::Stage::Recommendations;
    let outcome = driver.run(&case).await.expect("journey");
    let review_name = outcome.review.expect("review").name;

    let mut res = Resources::default();
    res.0.insert("jurisdiction", jurisdiction.to_owned());
    res.0.insert("incident", outcome.incident.name.clone());
    res.0.insert("review", review_name.clone());
    res.0.insert("instrument", instrument.name.clone());
    res.0.insert("rule_set", "ruleSets/wisconsin".into());
    let mut r = lead.review();
    let parent = || review_name.clone();
    macro_rules! list {
        ($call:ident, $req:ident, $field:ident) => {
            r.$call(review::$req {
                parent: parent(),
                ..Default::default()
            })
            .await
            .expect(stringify!($call))
            .into_inner()
            .$field
        };
    }
    res.0.insert(
        "episode",
        first(
            "episode",
            list!(list_episodes, ListEpisodesRequest, episodes),
            |x| x.name.clone(),
        )
        .await,
    );
    res.0.insert(
        "debriefing",
        first(
            "debriefing",
            list!(list_debriefings, ListDebriefingsRequest, debriefings),
            |x| x.name.clone(),
        )
        .await,
    );
    res.0.insert(
        "key_observation",
        first(
            "key observation",
            list!(
                list_key_observations,
                ListKeyObservationsRequest,
                key_observations
            ),
            |x| x.name.clone(),
        )
        .await,
    );
    res.0.insert(
        "systems_map",
        first(
            "map",
            list!(list_systems_maps, ListSystemsMapsRequest, systems_maps),
            |x| x.name.clone(),
        )
        .await,
    );
    res.0.insert(
        "learning_opportunity",
        first(
            "learning opportunity",
            list!(
                list_learning_opportunities,
                ListLearningOpportunitiesRequest,
                learning_opportunities
            ),
            |x| x.name.clone(),
        )
        .await,
    );
    res.0.insert(
        "team_member",
        first(
            "member",
            r.list_team_members(review::ListTeamMembersRequest { parent: parent() })
                .await
                .expect("team")
                .into_inner()
                .members,
            |x| x.name.clone(),
        )
        .await,
    );
    // Recommendations are made at the last stage; make one now.
    let recommendation = r
        .create_recommendation(review::CreateRecommendationRequest {
            parent: parent(),
            recommendation: Some(case.recommendations[0].clone()),
        })
        .await
        .expect("recommendation")
        .into_inner();
    res.0.insert("recommendation", recommendation.name);

    // An aggregate mapping of the jurisdiction, with a session; its
    // considerations are named (they are written at a later stage).
    let mut learning = lead.learning();
    let mapping = learning
        .create_aggregate_mapping(scir_proto::learning::v1::CreateAggregateMappingRequest {
            parent: format!("jurisdictions/{jurisdiction}"),
            aggregate_mapping: Some(scir_proto::learning::v1::AggregateMapping {
                title: "Matrix".into(),
                ..Default::default()
            }),
        })
        .await
        .expect("aggregate mapping")
        .into_inner();
    learning
        .create_mapping_session(scir_proto::learning::v1::CreateMappingSessionRequest {
            parent: mapping.name.clone(),
            session: Some(scir_proto::learning::v1::MappingSession {
                date: Some(scir_proto::common::v1::Date {
                    year: 2026,
                    month: 1,
                    day: 5,
                }),
                notes: "restricted".into(),
                ..Default::default()
            }),
        })
        .await
        .expect("session");
    res.0.insert(
        "consideration",
        format!(
            "{}/considerations/00000000-0000-7000-8000-000000000009",
            mapping.name
        ),
    );
    res.0.insert("aggregate_mapping", mapping.name);
    // A safety notice to a member that is not the intruder.
    let admin = driver
        .caller("admin-e2e", &[Role::Admin], jurisdiction)
        .expect("caller");
    let notice = admin
        .learning()
        .issue_safety_notice(scir_proto::learning::v1::IssueSafetyNoticeRequest {
            parent: format!("jurisdictions/{jurisdiction}"),
            safety_notice: Some(scir_proto::learning::v1::SafetyNotice {
                title: "Matrix".into(),
                body: "What was learned.".into(),
                recipients: vec!["us-ks".into()],
                response_due: Some(scir_proto::common::v1::Date {
                    year: 2099,
                    month: 1,
                    day: 1,
                }),
                ..Default::default()
            }),
        })
        .await
        .expect("safety notice")
        .into_inner();
    res.0.insert("safety_notice", notice.name);
    // A survey wave with codes issued for its one unit.
    let today = chrono::Utc::now().date_naive();
    let wave = admin
        .culture()
        .create_survey_wave(scir_proto::culture::v1::CreateSurveyWaveRequest {
            parent: format!("jurisdictions/{jurisdiction}"),
            survey_wave: Some(scir_proto::culture::v1::SurveyWave {
                title: "Matrix".into(),
                instrument: "surveyInstruments/scir-culture-shape/versions/1.0".into(),
                units: vec![scir_proto::culture::v1::OrganisationalUnit {
                    id: "office".into(),
                    title: "Office".into(),
                    ..Default::default()
                }],
                open_date: Some(scir_kit::validate::from_date(today)),
                close_date: Some(scir_kit::validate::from_date(today + chrono::Days::new(30))),
                ..Default::default()
            }),
        })
        .await
        .expect("survey wave")
        .into_inner();
    res.0.insert("survey_wave", wave.name);

    (res, review_name)
}

#[tokio::test]
async fn another_jurisdiction_reaches_nothing_by_any_rpc_in_any_role() {
    let up = Up::start().await;
    let driver = up.driver();
    let (res, review_name) = a_whole_review(&up, "us-wi").await;
    let outcome_incident = res.get("incident");
    let pool = scir_kit::contract::pool().clone();
    let services = up.services();
    let admin_wi = up
        .signer
        .token("admin-wi", &[Role::Admin], "us-wi")
        .expect("token");
    let mut failures = Vec::new();
    let mut calls = 0;
    for (service, address) in services {
        for method in pool
            .get_service_by_name(service)
            .expect("service")
            .methods()
        {
            let name = method.name().to_owned();
            if name == "WatchEvents" || JURISDICTION_FREE.contains(&name.as_str()) {
                continue;
            }
            let path = format!("/{service}/{name}");
            let body = prost::Message::encode_to_vec(&request(&method.input(), &name, &res));
            let read = name.starts_with("Get") || name.starts_with("List");
            let streaming = method.is_server_streaming();
            if read {
                let code =
                    scir_testkit::raw::call(address, &path, body.clone(), streaming, &admin_wi)
                        .await
                        .code();
                if code != Code::Ok {
                    failures.push(format!(
                        "{name} by an admin of us-wi: {code:?} (the request is wrong)"
                    ));
                }
            }
            for role in Role::ALL {
                if role == Role::Service {
                    continue;
                }
                let token = up
                    .signer
                    .token(&format!("intruder-{}", role.as_str()), &[role], "us-tn")
                    .expect("token");
                let code = scir_testkit::raw::call(address, &path, body.clone(), streaming, &token)
                    .await
                    .code();
                calls += 1;
                let refused = if read {
                    matches!(code, Code::PermissionDenied | Code::NotFound)
                } else {
                    code != Code::Ok
                };
                if !refused {
                    failures.push(format!("{name} by a {} of us-tn: {code:?}", role.as_str()));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {calls} calls:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // Nothing changed.
    let admin: Caller = driver
        .caller("admin-wi", &[Role::Admin], "us-wi")
        .expect("caller");
    let incident = admin
        .intake()
        .get_incident(intake::GetIncidentRequest {
            name: outcome_incident.clone(),
        })
        .await
        .expect("incident")
        .into_inner();
    assert_eq!(incident.revision, 1);
    let after = admin
        .review()
        .get_review(review::GetReviewRequest {
            name: review_name.clone(),
        })
        .await
        .expect("review")
        .into_inner();
    assert_eq!(after.stage, review::Stage::Recommendations as i32);
    let team = admin
        .review()
        .list_team_members(review::ListTeamMembersRequest {
            parent: review_name,
        })
        .await
        .expect("team")
        .into_inner()
        .members;
    assert_eq!(team.len(), 3, "no intruder joined the team");

    // Insights answers an analyst of us-tn about us-tn only.
    let analyst = driver
        .caller("analyst-tn", &[Role::Analyst], "us-tn")
        .expect("caller");
    let table = analyst
        .insights()
        .ask(insights::AskRequest {
            question: insights::Question::ThemePrevalence as i32,
            ..Default::default()
        })
        .await
        .expect("ask")
        .into_inner();
    assert_eq!(table.population.and_then(|p| p.value), Some(0), "{table:?}");
}

/// Every read of a county's review, in every service, by a caller of its state
/// succeeds; by a caller of a sibling county, none does. The directory all four
/// services read says who acts where.
#[tokio::test]
async fn a_state_reads_its_counties_in_every_service_and_a_sibling_does_not() {
    let up = Up::start().await;
    let (res, _) = a_whole_review(&up, "us-wi-dane").await;
    let pool = scir_kit::contract::pool().clone();
    let token = |subject: &str, roles: &[Role], jurisdiction: &str| {
        up.signer
            .token(subject, roles, jurisdiction)
            .expect("token")
    };
    let state = token("admin-wi", &[Role::Admin], "us-wi");
    let sibling = token("admin-milwaukee", &[Role::Admin], "us-wi-milwaukee");
    let mut failures = Vec::new();
    let mut reads = 0;
    for (service, address) in up.services() {
        for method in pool
            .get_service_by_name(service)
            .expect("service")
            .methods()
        {
            let name = method.name().to_owned();
            let read = name.starts_with("Get") || name.starts_with("List");
            if !read || JURISDICTION_FREE.contains(&name.as_str()) {
                continue;
            }
            let path = format!("/{service}/{name}");
            let body = prost::Message::encode_to_vec(&request(&method.input(), &name, &res));
            let streaming = method.is_server_streaming();
            reads += 1;
            let by_state = scir_testkit::raw::call(address, &path, body.clone(), streaming, &state)
                .await
                .code();
            if by_state != Code::Ok {
                failures.push(format!("{name} by the state: {by_state:?}"));
            }
            let by_sibling =
                scir_testkit::raw::call(address, &path, body.clone(), streaming, &sibling)
                    .await
                    .code();
            if !matches!(by_sibling, Code::PermissionDenied | Code::NotFound) {
                failures.push(format!("{name} by a sibling county: {by_sibling:?}"));
            }
        }
    }
    assert!(reads >= 20, "only {reads} reads");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
