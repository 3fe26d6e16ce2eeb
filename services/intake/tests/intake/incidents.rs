//! Reporting, reading, amending and listing incidents.

use scir_kit::auth::Role;
use scir_proto::common::v1::Answer;
use scir_proto::intake::v1 as pb;
use scir_testkit::Backend;
use scir_testkit::fixtures::{self, date, wisconsin_death};
use tonic::Code;

use super::harness::{TestIntake, report};

scir_testkit::on_both_backends!(
    a_report_is_decided_stored_and_readable,
    reports_are_idempotent_by_request_id,
    amendments_keep_every_decision,
    lists_paginate_stably_and_filter,
    a_dry_run_stores_nothing,
);

async fn a_report_is_decided_stored_and_readable(backend: Backend) {
    let intake = TestIntake::start(backend).await;
    let mut facts = wisconsin_death();
    facts.restricted = Some(fixtures::restricted_identity());
    let reported = intake
        .reporter()
        .report_incident(report("r-1", facts))
        .await
        .expect("reported")
        .into_inner();

    assert!(
        reported.name.starts_with("jurisdictions/us-wi/incidents/"),
        "{}",
        reported.name
    );
    assert_eq!(reported.revision, 1);
    assert!(
        reported.facts.as_ref().expect("facts").restricted.is_none(),
        "reporters do not read identities"
    );
    let decision = reported.decision.expect("decision");
    assert_eq!(
        decision.outcome,
        pb::EligibilityOutcome::PracticeReview as i32
    );
    assert_eq!(decision.rule_set, "ruleSets/wisconsin");
    assert_eq!(decision.rule_set_version, "2025.1");
    assert!(
        decision
            .reasons
            .iter()
            .any(|r| r.contains("scr-recent-contact") && r.contains("48.981")),
        "{:?}",
        decision.reasons
    );
    // Learned on Tuesday 2025-03-11: two working days is Thursday the 13th.
    let due = |kind: pb::DeadlineKind| {
        decision
            .deadlines
            .iter()
            .find(|d| d.kind == kind as i32)
            .and_then(|d| d.due_date)
            .expect("deadline")
    };
    assert_eq!(due(pb::DeadlineKind::NoticeToState), date("2025-03-13"));
    assert_eq!(due(pb::DeadlineKind::Summary90Day), date("2025-06-09"));
    assert_eq!(due(pb::DeadlineKind::Summary6Month), date("2025-09-11"));

    let get = pb::GetIncidentRequest {
        name: reported.name.clone(),
    };
    let as_reviewer = intake
        .client(&[Role::Reviewer], "us-wi")
        .get_incident(get.clone())
        .await
        .expect("get")
        .into_inner();
    assert_eq!(
        as_reviewer.facts.expect("facts").restricted,
        Some(fixtures::restricted_identity())
    );
    let as_reporter = intake
        .reporter()
        .get_incident(get.clone())
        .await
        .expect("get")
        .into_inner();
    assert_eq!(as_reporter.facts.expect("facts").restricted, None);
    let elsewhere = intake
        .client(&[Role::Reviewer], "us-tn")
        .get_incident(get)
        .await
        .expect_err("other jurisdiction");
    assert_eq!(elsewhere.code(), Code::PermissionDenied);

    let missing = format!("jurisdictions/us-wi/incidents/{}", uuid_like());
    let status = intake
        .reporter()
        .get_incident(pb::GetIncidentRequest { name: missing })
        .await
        .expect_err("missing");
    assert_eq!(status.code(), Code::NotFound);
    intake.stop().await;
}

fn uuid_like() -> String {
    "0190a6c2-0000-7000-8000-000000000000".to_owned()
}

async fn reports_are_idempotent_by_request_id(backend: Backend) {
    let intake = TestIntake::start(backend).await;
    let mut client = intake.reporter();
    let first = client
        .report_incident(report("same", wisconsin_death()))
        .await
        .expect("first")
        .into_inner();
    let again = client
        .report_incident(report("same", wisconsin_death()))
        .await
        .expect("replay")
        .into_inner();
    assert_eq!(first.name, again.name);
    assert_eq!(first.decision, again.decision);

    let mut other = wisconsin_death();
    other.cause_category = pb::CauseCategory::Drowning as i32;
    let status = client
        .report_incident(report("same", other))
        .await
        .expect_err("reused id");
    assert_eq!(status.code(), Code::AlreadyExists);

    // Racing retries of one request create one incident.
    let calls = (0..6).map(|_| {
        let mut c = intake.reporter();
        async move {
            c.report_incident(report("raced", wisconsin_death()))
                .await
                .map(|r| r.into_inner().name)
        }
    });
    let names: Vec<_> = futures_join(calls)
        .await
        .into_iter()
        .map(|r| r.expect("raced report"))
        .collect();
    assert!(names.windows(2).all(|w| w[0] == w[1]), "{names:?}");

    let listed = super::harness::wisconsin_incidents(&mut client).await;
    assert_eq!(listed.len(), 2);
    intake.stop().await;
}

async fn futures_join<F: std::future::Future + Send + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}

async fn amendments_keep_every_decision(backend: Backend) {
    let intake = TestIntake::start(backend).await;
    let mut client = intake.reporter();
    let mut facts = wisconsin_death();
    facts.had_prior_contact = Answer::No as i32;
    facts.prior_contacts.clear();
    let reported = client
        .report_incident(report("a-1", facts))
        .await
        .expect("reported")
        .into_inner();
    assert_eq!(
        reported.decision.as_ref().expect("decision").outcome,
        pb::EligibilityOutcome::SummaryOnly as i32
    );

    let mask = |paths: &[&str]| {
        Some(prost_types::FieldMask {
            paths: paths.iter().map(|p| p.to_string()).collect(),
        })
    };
    let amend = pb::AmendIncidentRequest {
        name: reported.name.clone(),
        incident: Some(wisconsin_death()),
        update_mask: mask(&["had_prior_contact", "prior_contacts"]),
        reason: "CPS records search found a screened-out report".into(),
        etag: reported.etag.clone(),
    };
    let amended = client
        .amend_incident(amend.clone())
        .await
        .expect("amended")
        .into_inner();
    assert_eq!(amended.revision, 2);
    assert_eq!(
        amended.decision.as_ref().expect("decision").outcome,
        pb::EligibilityOutcome::PracticeReview as i32
    );
    assert_eq!(
        amended.decision.as_ref().expect("decision").facts_revision,
        2
    );
    assert_eq!(amended.previous_decisions.len(), 1);
    assert_eq!(
        amended.previous_decisions[0].outcome,
        pb::EligibilityOutcome::SummaryOnly as i32
    );
    assert_eq!(amended.amendments.len(), 1);
    assert_eq!(
        amended.amendments[0].changed_fields,
        ["had_prior_contact", "prior_contacts"]
    );
    assert_ne!(amended.etag, reported.etag);

    let stale = client
        .amend_incident(amend.clone())
        .await
        .expect_err("stale etag");
    assert_eq!(stale.code(), Code::Aborted);

    let mut moved = amend.clone();
    moved.etag.clear();
    moved.incident.as_mut().expect("facts").jurisdiction = "us-tn".into();
    moved.update_mask = mask(&["jurisdiction"]);
    let status = client
        .amend_incident(moved)
        .await
        .expect_err("jurisdiction change");
    assert_eq!(status.code(), Code::InvalidArgument);

    let mut no_reason = amend.clone();
    no_reason.etag.clear();
    no_reason.reason.clear();
    no_reason.update_mask = mask(&["nonsense"]);
    let status = client
        .amend_incident(no_reason)
        .await
        .expect_err("bad amendment");
    assert_eq!(
        super::harness::violated_fields(&status),
        ["update_mask.paths[0]", "reason"]
    );

    let unchanged = pb::AmendIncidentRequest {
        etag: String::new(),
        ..amend
    };
    let status = client
        .amend_incident(unchanged)
        .await
        .expect_err("no change");
    assert_eq!(status.code(), Code::InvalidArgument);

    let got = client
        .get_incident(pb::GetIncidentRequest {
            name: reported.name,
        })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(got.revision, 2);
    intake.stop().await;
}

async fn lists_paginate_stably_and_filter(backend: Backend) {
    let intake = TestIntake::start(backend).await;
    let mut client = intake.reporter();
    let mut reported = Vec::new();
    for i in 0..5 {
        let mut facts = wisconsin_death();
        if i % 2 == 1 {
            facts.incident_type = pb::IncidentType::Other as i32;
            facts.incident_date = Some(date("2025-01-05"));
            facts.learned_date = Some(date("2025-01-06"));
        }
        let r = client
            .report_incident(report(&format!("l-{i}"), facts))
            .await
            .expect("report")
            .into_inner();
        reported.push(r.name);
    }
    let base = pb::ListIncidentsRequest {
        parent: "jurisdictions/us-wi".into(),
        page_size: 2,
        ..Default::default()
    };
    let mut seen = Vec::new();
    let mut request = base.clone();
    let mut pages = 0;
    loop {
        let page = client
            .list_incidents(request.clone())
            .await
            .expect("page")
            .into_inner();
        pages += 1;
        seen.extend(page.incidents.into_iter().map(|i| i.name));
        if page.next_page_token.is_empty() {
            break;
        }
        request.page_token = page.next_page_token;
    }
    assert_eq!(pages, 3);
    reported.reverse();
    assert_eq!(seen, reported, "newest first, each once");

    let not_eligible = pb::ListIncidentsRequest {
        outcomes: vec![pb::EligibilityOutcome::NotEligible as i32],
        page_size: 0,
        ..base.clone()
    };
    let page = client
        .list_incidents(not_eligible)
        .await
        .expect("filtered")
        .into_inner();
    assert_eq!(page.incidents.len(), 2);

    let since = pb::ListIncidentsRequest {
        incident_date_from: Some(date("2025-03-01")),
        page_size: 0,
        ..base.clone()
    };
    assert_eq!(
        client
            .list_incidents(since)
            .await
            .expect("since")
            .into_inner()
            .incidents
            .len(),
        3
    );

    let first = client
        .list_incidents(base.clone())
        .await
        .expect("page")
        .into_inner();
    let other_filter = pb::ListIncidentsRequest {
        page_token: first.next_page_token,
        incident_types: vec![pb::IncidentType::Death as i32],
        ..base.clone()
    };
    let status = client
        .list_incidents(other_filter)
        .await
        .expect_err("token of another query");
    assert_eq!(super::harness::violated_fields(&status), ["page_token"]);
    let forged = pb::ListIncidentsRequest {
        page_token: "djE6OTk5OTk6ZmFrZQ".into(),
        ..base.clone()
    };
    assert_eq!(
        client
            .list_incidents(forged)
            .await
            .expect_err("forged")
            .code(),
        Code::InvalidArgument
    );
    let negative = pb::ListIncidentsRequest {
        page_size: -1,
        ..base
    };
    assert_eq!(
        super::harness::violated_fields(
            &client.list_incidents(negative).await.expect_err("negative")
        ),
        ["page_size"]
    );
    intake.stop().await;
}

async fn a_dry_run_stores_nothing(backend: Backend) {
    let intake = TestIntake::start(backend).await;
    let mut client = intake.reporter();
    let decision = client
        .evaluate_eligibility(pb::EvaluateEligibilityRequest {
            incident: Some(wisconsin_death()),
        })
        .await
        .expect("evaluated")
        .into_inner();
    assert_eq!(
        decision.outcome,
        pb::EligibilityOutcome::PracticeReview as i32
    );
    assert_eq!(decision.facts_revision, 0);
    let listed = super::harness::wisconsin_incidents(&mut client).await;
    assert!(listed.is_empty());
    intake.stop().await;
}
