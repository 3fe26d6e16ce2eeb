//! The learning service on its own, on both backends, with review out of
//! reach: bad input is named field by field and changes nothing; what needs
//! review (a scope's learning opportunities, a notice's language check) is
//! UNAVAILABLE and stores nothing; the stage guard lists what is missing.
//! (The whole process with real reviews is `services/scir/tests/learning.rs`.)

use scir_kit::auth::Role;
use scir_kit::client::ClientInterceptor;
use scir_kit::shutdown::Shutdown;
use scir_proto::learning::v1 as pb;
use scir_proto::learning::v1::learning_service_client::LearningServiceClient;
use scir_testkit::{Backend, TestDatabase};
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic_types::StatusExt as _;

type Client = LearningServiceClient<InterceptedService<Channel, ClientInterceptor>>;

fn client(address: std::net::SocketAddr, roles: &[Role], jurisdiction: &str) -> Client {
    let token = scir_testkit::token_as("learning-test", roles, jurisdiction);
    let interceptor = ClientInterceptor::new(Some(&token)).expect("interceptor");
    LearningServiceClient::with_interceptor(scir_testkit::channel(address), interceptor)
}

fn fields(status: &tonic::Status) -> Vec<String> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

async fn alone(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let shutdown = Shutdown::new();
    let config = scir_learning::LearningConfig {
        common: scir_testkit::common_config(&db.url),
        // Nothing listens on the discard port: review is out of reach.
        review_addr: "http://127.0.0.1:9".into(),
        sealing: scir_testkit::sealing_config(),
        webhooks: Default::default(),
    };
    let app = scir_learning::Application::build(&config, &shutdown)
        .await
        .expect("learning builds");
    let address = app.address();
    let task = tokio::spawn(app.run());
    scir_testkit::wait_serving(address, scir_learning::startup::SERVICE_NAME).await;
    let mut lead = client(address, &[Role::ScrLead], "us-wi");
    let list = async |lead: &mut Client| {
        lead.list_aggregate_mappings(pb::ListAggregateMappingsRequest {
            parent: "jurisdictions/us-wi".into(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .aggregate_mappings
        .len()
    };

    let bad = lead
        .create_aggregate_mapping(pb::CreateAggregateMappingRequest {
            parent: "jurisdictions/us-wi".into(),
            aggregate_mapping: Some(pb::AggregateMapping {
                title: "x".repeat(201),
                scope: Some(pb::Scope {
                    theme: 9_999,
                    learning_opportunities: vec!["jurisdictions/us-wi/reviews/x".into()],
                    ..Default::default()
                }),
                map: Some(pb::AggregateMap {
                    nodes: vec![pb::MapNode::default()],
                    edges: vec![],
                }),
                ..Default::default()
            }),
        })
        .await
        .expect_err("bad");
    assert_eq!(
        fields(&bad),
        [
            "aggregate_mapping.title",
            "aggregate_mapping.scope.theme",
            "aggregate_mapping.scope.learning_opportunities[0]",
            "aggregate_mapping.map"
        ]
    );
    let bad = lead
        .create_aggregate_mapping(pb::CreateAggregateMappingRequest {
            parent: "us-wi".into(),
            aggregate_mapping: None,
        })
        .await
        .expect_err("bad parent");
    assert_eq!(fields(&bad), ["parent"]);
    assert_eq!(list(&mut lead).await, 0, "nothing stored");

    // A scope is checked with review: out of reach, nothing is stored.
    let lo = format!(
        "jurisdictions/us-wi/reviews/{}/learningOpportunities/{}",
        uuid::Uuid::now_v7(),
        uuid::Uuid::now_v7()
    );
    let down = lead
        .create_aggregate_mapping(pb::CreateAggregateMappingRequest {
            parent: "jurisdictions/us-wi".into(),
            aggregate_mapping: Some(pb::AggregateMapping {
                title: "Safe sleep".into(),
                scope: Some(pb::Scope {
                    learning_opportunities: vec![lo],
                    ..Default::default()
                }),
                ..Default::default()
            }),
        })
        .await
        .expect_err("review down");
    assert_eq!(down.code(), Code::Unavailable, "{down:?}");
    assert_eq!(list(&mut lead).await, 0, "nothing stored");

    // Without a scope it is convened; the guard lists the whole scope.
    let mapping = lead
        .create_aggregate_mapping(pb::CreateAggregateMappingRequest {
            parent: "jurisdictions/us-wi".into(),
            aggregate_mapping: Some(pb::AggregateMapping {
                title: "Safe sleep".into(),
                ..Default::default()
            }),
        })
        .await
        .expect("convened")
        .into_inner();
    assert_eq!(mapping.next_stage_needs.len(), 6, "{mapping:?}");
    let refused = lead
        .advance_aggregate_mapping(pb::AdvanceAggregateMappingRequest {
            name: mapping.name.clone(),
            etag: mapping.etag.clone(),
        })
        .await
        .expect_err("guarded");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    let bad_mask = lead
        .update_aggregate_mapping(pb::UpdateAggregateMappingRequest {
            aggregate_mapping: Some(pb::AggregateMapping {
                name: mapping.name.clone(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["stage".into()],
            }),
            etag: mapping.etag.clone(),
        })
        .await
        .expect_err("stage is not writable");
    assert_eq!(fields(&bad_mask), ["update_mask.paths[0]"]);

    // A mapping holds a bounded number of sessions.
    for i in 0..100 {
        lead.create_mapping_session(pb::CreateMappingSessionRequest {
            parent: mapping.name.clone(),
            session: Some(pb::MappingSession {
                date: Some(scir_proto::common::v1::Date {
                    year: 2026,
                    month: 1,
                    day: 1 + (i % 28),
                }),
                ..Default::default()
            }),
        })
        .await
        .expect("session");
    }
    let full = lead
        .create_mapping_session(pb::CreateMappingSessionRequest {
            parent: mapping.name.clone(),
            session: Some(pb::MappingSession {
                date: Some(scir_proto::common::v1::Date {
                    year: 2026,
                    month: 2,
                    day: 1,
                }),
                ..Default::default()
            }),
        })
        .await
        .expect_err("full");
    assert_eq!(full.code(), Code::FailedPrecondition);
    assert!(full.message().contains("at most 100 sessions"), "{full:?}");

    // A notice needs review's language check: out of reach, nothing issued.
    let mut admin = client(address, &[Role::Admin], "us-wi");
    let down = admin
        .issue_safety_notice(pb::IssueSafetyNoticeRequest {
            parent: "jurisdictions/us-wi".into(),
            safety_notice: Some(pb::SafetyNotice {
                title: "t".into(),
                body: "b".into(),
                response_due: Some(scir_proto::common::v1::Date {
                    year: 2099,
                    month: 1,
                    day: 1,
                }),
                ..Default::default()
            }),
        })
        .await
        .expect_err("review down");
    assert_eq!(down.code(), Code::Unavailable);
    let issued = admin
        .list_safety_notices(pb::ListSafetyNoticesRequest {
            parent: "jurisdictions/us-wi".into(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert!(issued.safety_notices.is_empty(), "nothing issued");

    shutdown.fire();
    task.await.expect("task").expect("learning stopped cleanly");
}

#[tokio::test]
async fn alone_on_sqlite() {
    alone(Backend::Sqlite).await;
}

#[tokio::test]
async fn alone_on_postgres() {
    alone(Backend::Postgres).await;
}
