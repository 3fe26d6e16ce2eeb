//! Authentication and authorisation over gRPC: who may call what, where.

use std::time::Duration;

use scir_kit::auth::Role;
use scir_proto::common::v1::WatchEventsRequest;
use scir_proto::intake::v1 as pb;
use scir_testkit::fixtures::wisconsin_death;
use scir_testkit::{AUDIENCE, Backend, SECRET};
use tonic::Code;

use super::harness::{TestIntake, report};

#[tokio::test]
async fn every_denial_is_precise() {
    let intake = TestIntake::start(Backend::Sqlite).await;
    let wi_report = || report("acc-1", wisconsin_death());
    let code = |r: Result<tonic::Response<pb::Incident>, tonic::Status>| {
        r.map(|_| Code::Ok).unwrap_or_else(|s| s.code())
    };

    let reporter = [Role::Reporter];
    let cases: Vec<(&str, Option<String>, Code)> = vec![
        ("no token", None, Code::Unauthenticated),
        (
            "garbage token",
            Some("not-a-jwt".into()),
            Code::Unauthenticated,
        ),
        (
            "expired token",
            Some(scir_testkit::expired_token(&reporter, "us-wi")),
            Code::Unauthenticated,
        ),
        (
            "bad signature",
            Some(scir_testkit::token_with(
                &reporter,
                "us-wi",
                "another-secret-that-is-long-enough!!",
                AUDIENCE,
                Duration::from_secs(60),
            )),
            Code::Unauthenticated,
        ),
        (
            "wrong audience",
            Some(scir_testkit::token_with(
                &reporter,
                "us-wi",
                SECRET,
                "someone-else",
                Duration::from_secs(60),
            )),
            Code::Unauthenticated,
        ),
        (
            "wrong role",
            Some(scir_testkit::token(&[Role::Analyst], "us-wi")),
            Code::PermissionDenied,
        ),
        (
            "partner",
            Some(scir_testkit::token(&[Role::Partner], "us-wi")),
            Code::PermissionDenied,
        ),
        (
            "other jurisdiction",
            Some(scir_testkit::token(&reporter, "us-tn")),
            Code::PermissionDenied,
        ),
        (
            "child county reporting for its state",
            Some(scir_testkit::token(&reporter, "us-wi-dane")),
            Code::PermissionDenied,
        ),
        (
            "own jurisdiction",
            Some(scir_testkit::token(&reporter, "us-wi")),
            Code::Ok,
        ),
    ];
    for (name, token, expected) in cases {
        let got = code(
            intake
                .client_with(token.as_deref())
                .report_incident(wi_report())
                .await,
        );
        assert_eq!(got, expected, "{name}");
    }

    // A state reporter may report for its county.
    let mut dane = wisconsin_death();
    dane.jurisdiction = "us-wi-dane".into();
    let state = intake
        .client(&reporter, "us-wi")
        .report_incident(report("acc-2", dane))
        .await;
    assert_eq!(code(state), Code::Ok);

    // Event streams are for services only.
    let watch = WatchEventsRequest {
        after_cursor: 0,
        types: vec![],
        stop_at_end: true,
    };
    let denied = intake
        .client(&[Role::Admin], "us-wi")
        .watch_events(watch.clone())
        .await
        .expect_err("admin");
    assert_eq!(denied.code(), Code::PermissionDenied);
    intake
        .client(&[Role::Service], "scir")
        .watch_events(watch)
        .await
        .expect("service may watch");

    // Reference data is open to every role, partners included.
    let mut partner = intake.client(&[Role::Partner], "us-tn");
    let sets = partner
        .list_rule_sets(pb::ListRuleSetsRequest::default())
        .await
        .expect("rule sets")
        .into_inner();
    assert_eq!(sets.rule_sets.len(), 5);
    let jurisdictions = partner
        .list_jurisdictions(pb::ListJurisdictionsRequest {})
        .await
        .expect("jurisdictions")
        .into_inner();
    assert!(
        jurisdictions
            .jurisdictions
            .iter()
            .all(|j| j.share_name || j.id == "us-tn"),
        "withheld names stay hidden"
    );
    assert!(
        !jurisdictions
            .jurisdictions
            .iter()
            .any(|j| j.id == "us-wi-milwaukee")
    );

    // Health needs no token.
    scir_testkit::wait_serving(intake.address, "").await;
    intake.stop().await;
}
