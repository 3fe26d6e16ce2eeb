//! Bad input gets INVALID_ARGUMENT naming each bad field, and changes nothing.

use scir_proto::common::v1::Answer;
use scir_proto::intake::v1 as pb;
use scir_testkit::Backend;
use scir_testkit::fixtures::{date, wisconsin_death};
use tonic::Code;

use super::harness::{TestIntake, report, violated_fields};

scir_testkit::on_both_backends!(bad_reports_are_rejected_field_by_field);

fn case(
    name: &'static str,
    edit: fn(&mut pb::ReportIncidentRequest),
    fields: &'static [&'static str],
) -> (
    &'static str,
    fn(&mut pb::ReportIncidentRequest),
    &'static [&'static str],
) {
    (name, edit, fields)
}

fn facts(r: &mut pb::ReportIncidentRequest) -> &mut pb::IncidentFacts {
    r.incident.as_mut().expect("facts")
}

async fn bad_reports_are_rejected_field_by_field(backend: Backend) {
    let intake = TestIntake::start(backend).await;
    let mut client = intake.reporter();
    let cases = [
        case("no request id", |r| r.request_id.clear(), &["request_id"]),
        case(
            "request id with spaces",
            |r| r.request_id = "a b".into(),
            &["request_id"],
        ),
        case("no incident", |r| r.incident = None, &["incident"]),
        case(
            "unknown jurisdiction",
            |r| facts(r).jurisdiction = "us-zz".into(),
            &["incident.jurisdiction"],
        ),
        case(
            "missing type and cause",
            |r| {
                facts(r).incident_type = 0;
                facts(r).cause_category = 0;
            },
            &["incident.incident_type", "incident.cause_category"],
        ),
        case(
            "unknown enum value",
            |r| facts(r).incident_type = 42,
            &["incident.incident_type"],
        ),
        case(
            "future incident",
            |r| {
                facts(r).incident_date = Some(date("2999-01-01"));
                facts(r).learned_date = Some(date("2999-01-02"));
            },
            &["incident.incident_date", "incident.learned_date"],
        ),
        case(
            "learned before the incident",
            |r| facts(r).learned_date = Some(date("2025-03-01")),
            &["incident.learned_date"],
        ),
        case(
            "impossible date",
            |r| facts(r).incident_date = Some(date("2025-02-30")),
            &["incident.incident_date"],
        ),
        case(
            "reported before learned",
            |r| facts(r).reported_to_state_date = Some(date("2025-03-10")),
            &["incident.reported_to_state_date"],
        ),
        case(
            "oversized agency",
            |r| facts(r).reporting_agency = "x".repeat(10_000),
            &["incident.reporting_agency"],
        ),
        case(
            "no age",
            |r| facts(r).child_age_months = None,
            &["incident.child_age_months"],
        ),
        case(
            "age out of range",
            |r| facts(r).child_age_months = Some(301),
            &["incident.child_age_months"],
        ),
        case(
            "no race",
            |r| facts(r).race_ethnicity.clear(),
            &["incident.race_ethnicity"],
        ),
        case(
            "repeated race",
            |r| facts(r).race_ethnicity = vec![3, 3],
            &["incident.race_ethnicity[1]"],
        ),
        case(
            "no placement",
            |r| facts(r).placement = None,
            &["incident.placement"],
        ),
        case(
            "out of home without type",
            |r| {
                facts(r).placement = Some(pb::Placement {
                    setting: pb::PlacementSetting::OutOfHome as i32,
                    ..Default::default()
                });
            },
            &["incident.placement.out_of_home_type"],
        ),
        case(
            "contacts contradict the answer",
            |r| facts(r).had_prior_contact = Answer::No as i32,
            &["incident.prior_contacts"],
        ),
        case(
            "contact without kind",
            |r| facts(r).prior_contacts[0].kind = 0,
            &["incident.prior_contacts[0].kind"],
        ),
        case(
            "too many case numbers",
            |r| {
                facts(r).restricted = Some(pb::RestrictedIdentity {
                    case_numbers: vec!["c".into(); 21],
                    ..Default::default()
                });
            },
            &["incident.restricted.case_numbers"],
        ),
        case(
            "SQL in a name is just text, but too long",
            |r| {
                facts(r).law_enforcement_agency =
                    format!("x'); DROP TABLE incidents; --{}", "y".repeat(200))
            },
            &["incident.law_enforcement_agency"],
        ),
    ];
    for (name, edit, expected) in cases {
        let mut request = report("bad-1", wisconsin_death());
        edit(&mut request);
        let status = client.report_incident(request).await.expect_err(name);
        assert_eq!(status.code(), Code::InvalidArgument, "{name}: {status:?}");
        assert_eq!(violated_fields(&status), expected, "{name}");
    }
    let listed = super::harness::wisconsin_incidents(&mut client).await;
    assert!(listed.is_empty(), "bad input stored something");
    // A name that looks like SQL is stored as text and read back unchanged.
    let mut facts = wisconsin_death();
    facts.law_enforcement_agency = "x'); DROP TABLE incidents; --".into();
    let stored = client
        .report_incident(report("sql-1", facts.clone()))
        .await
        .expect("stored")
        .into_inner();
    assert_eq!(
        stored.facts.expect("facts").law_enforcement_agency,
        facts.law_enforcement_agency
    );
    intake.stop().await;
}
