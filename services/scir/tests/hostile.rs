//! A table of crafted requests against the real servers of `scir up`, each
//! with the precise status it must get: oversized strings, messages and
//! repeated fields, nesting deeper than the decoder allows, invalid UTF-8,
//! negative page sizes, forged page tokens, SQL metacharacters, unknown enum
//! values, path tricks in resource names, replayed request ids with another
//! body. None of them may change anything.
//!
//! Statuses follow the gRPC status-code guide: a request that is not valid
//! protobuf is INTERNAL ("error parsing request"), a message over the size
//! limit is RESOURCE_EXHAUSTED (refused from its header), everything that parses but is
//! wrong is INVALID_ARGUMENT with a field violation naming the field.

use std::net::SocketAddr;
use std::time::Duration;

use prost::Message;
use scir::{dev_auth, up};
use scir_kit::auth::Role;
use scir_kit::client::ClientInterceptor;
use scir_proto::insights::v1 as insights;
use scir_proto::intake::v1 as intake;
use scir_testkit::fixtures::wisconsin_death;
use tonic::Code;
use tonic_types::StatusExt;

async fn send(address: SocketAddr, path: &str, body: Vec<u8>, token: &str) -> tonic::Status {
    scir_testkit::raw::call(address, path, body, false, token).await
}

fn report(request_id: &str, facts: intake::IncidentFacts) -> Vec<u8> {
    intake::ReportIncidentRequest {
        request_id: request_id.to_owned(),
        incident: Some(facts),
    }
    .encode_to_vec()
}

/// Protobuf with a start-group tag of an unknown field nested `depth` times.
fn nested_groups(depth: usize) -> Vec<u8> {
    use prost::encoding::{WireType, encode_key};
    let mut bytes = Vec::new();
    for _ in 0..depth {
        encode_key(99, WireType::StartGroup, &mut bytes);
    }
    for _ in 0..depth {
        encode_key(99, WireType::EndGroup, &mut bytes);
    }
    bytes
}

struct Case {
    name: &'static str,
    path: &'static str,
    body: Vec<u8>,
    code: Code,
    /// The field a violation must name, for INVALID_ARGUMENT.
    field: Option<&'static str>,
}

#[tokio::test]
async fn crafted_requests_get_precise_statuses_and_change_nothing() {
    let dir = tempfile::tempdir().expect("data dir");
    let (running, shutdown, task) = up::spawn(dir.path().to_owned()).await.expect("scir up");
    scir_testkit::wait_serving(running.intake, scir_intake::startup::SERVICE_NAME).await;
    scir_testkit::wait_serving(running.insights, scir_insights::startup::SERVICE_NAME).await;
    let secret = dev_auth::read_secret(dir.path()).expect("secret");
    let token = |roles: &[Role]| {
        dev_auth::mint(
            &secret,
            "hostile-user",
            "us-wi",
            roles,
            Duration::from_secs(600),
        )
        .expect("token")
    };
    let reporter = token(&[Role::Reporter, Role::Reviewer]);
    let analyst = token(&[Role::Analyst]);

    // One real incident, for the replay case.
    let accepted = send(
        running.intake,
        "/scir.intake.v1.IntakeService/ReportIncident",
        report("hostile-ok", wisconsin_death()),
        &reporter,
    )
    .await;
    assert_eq!(accepted.code(), Code::Ok, "{accepted:?}");

    let report_path = "/scir.intake.v1.IntakeService/ReportIncident";
    let list_path = "/scir.intake.v1.IntakeService/ListIncidents";
    let get_path = "/scir.intake.v1.IntakeService/GetIncident";
    let with = |change: &dyn Fn(&mut intake::IncidentFacts)| {
        let mut facts = wisconsin_death();
        change(&mut facts);
        facts
    };
    let mut invalid_utf8 = report("hostile-utf8", wisconsin_death());
    // Replace the request id's bytes with an invalid UTF-8 sequence of the same length.
    let at = invalid_utf8
        .windows(12)
        .position(|w| w == b"hostile-utf8")
        .expect("request id bytes");
    invalid_utf8[at..at + 2].copy_from_slice(&[0xC3, 0x28]);
    let mut truncated = report("hostile-cut", wisconsin_death());
    truncated.truncate(truncated.len() - 3);

    let cases = vec![
        Case {
            name: "a 1 MB string",
            path: report_path,
            body: report(
                "hostile-1",
                with(&|f| f.reporting_agency = "A".repeat(1 << 20)),
            ),
            code: Code::InvalidArgument,
            field: Some("incident.reporting_agency"),
        },
        Case {
            name: "a message over the 4 MB limit",
            path: report_path,
            body: report(
                "hostile-2",
                with(&|f| f.reporting_agency = "A".repeat(5 << 20)),
            ),
            code: Code::ResourceExhausted,
            field: None,
        },
        Case {
            name: "100,000 repeated prior contacts",
            path: report_path,
            body: report(
                "hostile-3",
                with(&|f| f.prior_contacts = vec![f.prior_contacts[0]; 100_000]),
            ),
            code: Code::InvalidArgument,
            field: Some("incident.prior_contacts"),
        },
        Case {
            name: "10,000 repeated race categories",
            path: report_path,
            body: report("hostile-4", with(&|f| f.race_ethnicity = vec![3; 10_000])),
            code: Code::InvalidArgument,
            field: Some("incident.race_ethnicity"),
        },
        Case {
            name: "nesting deeper than the decoder allows",
            path: report_path,
            body: nested_groups(200),
            code: Code::Internal,
            field: None,
        },
        Case {
            name: "invalid UTF-8 in a string",
            path: report_path,
            body: invalid_utf8,
            code: Code::Internal,
            field: None,
        },
        Case {
            name: "a truncated message",
            path: report_path,
            body: truncated,
            code: Code::Internal,
            field: None,
        },
        Case {
            name: "SQL metacharacters in the request id",
            path: report_path,
            body: report("x'; DROP TABLE incidents;--", wisconsin_death()),
            code: Code::InvalidArgument,
            field: Some("request_id"),
        },
        Case {
            name: "an unknown enum value",
            path: report_path,
            body: report("hostile-5", with(&|f| f.incident_type = 999)),
            code: Code::InvalidArgument,
            field: Some("incident.incident_type"),
        },
        Case {
            name: "a replayed request id with another body",
            path: report_path,
            body: report("hostile-ok", with(&|f| f.child_age_months = Some(30))),
            code: Code::AlreadyExists,
            field: None,
        },
        Case {
            name: "a negative page size",
            path: list_path,
            body: intake::ListIncidentsRequest {
                parent: "jurisdictions/us-wi".into(),
                page_size: -5,
                ..Default::default()
            }
            .encode_to_vec(),
            code: Code::InvalidArgument,
            field: Some("page_size"),
        },
        Case {
            name: "a forged page token",
            path: list_path,
            body: intake::ListIncidentsRequest {
                parent: "jurisdictions/us-wi".into(),
                page_token: "eyJhZnRlciI6IjAifQ".into(),
                ..Default::default()
            }
            .encode_to_vec(),
            code: Code::InvalidArgument,
            field: Some("page_token"),
        },
        Case {
            name: "SQL metacharacters in a parent",
            path: list_path,
            body: intake::ListIncidentsRequest {
                parent: "jurisdictions/us-wi' OR '1'='1".into(),
                ..Default::default()
            }
            .encode_to_vec(),
            code: Code::InvalidArgument,
            field: Some("parent"),
        },
        Case {
            name: "a path trick in a resource name",
            path: get_path,
            body: intake::GetIncidentRequest {
                name: "jurisdictions/us-wi/incidents/../../us-tn/incidents/x".into(),
            }
            .encode_to_vec(),
            code: Code::InvalidArgument,
            field: Some("name"),
        },
        Case {
            name: "an unknown question",
            path: "/scir.insights.v1.InsightsService/Ask",
            body: insights::AskRequest {
                question: 999,
                ..Default::default()
            }
            .encode_to_vec(),
            code: Code::InvalidArgument,
            field: Some("question"),
        },
    ];

    let mut failures = Vec::new();
    for case in &cases {
        let (address, token) = if case.path.starts_with("/scir.insights") {
            (running.insights, &analyst)
        } else {
            (running.intake, &reporter)
        };
        let status = send(address, case.path, case.body.clone(), token).await;
        if status.code() != case.code {
            failures.push(format!(
                "{}: {:?} {:?}, expected {:?}",
                case.name,
                status.code(),
                status.message(),
                case.code
            ));
            continue;
        }
        if let Some(field) = case.field {
            let fields: Vec<String> = status
                .get_details_bad_request()
                .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
                .unwrap_or_default();
            if !fields.iter().any(|f| f == field) {
                failures.push(format!(
                    "{}: violations {fields:?} do not name {field}",
                    case.name
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // Nothing changed: the one accepted incident is all there is, unchanged.
    let mut client =
        scir_proto::intake::v1::intake_service_client::IntakeServiceClient::with_interceptor(
            scir_testkit::channel(running.intake),
            ClientInterceptor::new(Some(&reporter)).expect("interceptor"),
        );
    let listed = client
        .list_incidents(intake::ListIncidentsRequest {
            parent: "jurisdictions/us-wi".into(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .incidents;
    assert_eq!(listed.len(), 1, "only the accepted incident exists");
    assert_eq!(listed[0].request_id, "hostile-ok");
    assert_eq!(listed[0].revision, 1);
    assert_eq!(
        listed[0].facts.as_ref().and_then(|f| f.child_age_months),
        Some(4)
    );

    // A text with SQL metacharacters is data, stored and returned as written.
    let text = "Robert'); DROP TABLE incidents;-- \"quoted\" \\ % _";
    let stored = client
        .report_incident(intake::ReportIncidentRequest {
            request_id: "hostile-text".into(),
            incident: Some(with(&|f| f.reporting_agency = text.to_owned())),
        })
        .await
        .expect("report")
        .into_inner();
    assert_eq!(stored.facts.expect("facts").reporting_agency, text);

    shutdown.fire();
    task.await.expect("task").expect("scir up");
}
