//! One incident's whole journey across the real binaries: reported to intake,
//! its review opened from intake's event, rated and agreed in scoring, taken to
//! a final review, and counted by insights. Four processes on SQLite, four on
//! PostgreSQL, and `scir up` as one process.

use std::time::Duration;

use scir::journey::Driver;
use scir_e2e::cases::wisconsin_case;
use scir_e2e::processes::{Stack, Telemetry, Up};
use scir_kit::auth::Role;
use scir_proto::insights::v1 as insights;
use scir_proto::review::v1::{self as review, Stage};
use scir_testkit::Backend;

/// Runs the sample case and checks what every service says afterwards.
async fn journey(driver: &Driver) {
    let lead = driver
        .caller("lead-e2e", &[Role::ScrLead], "us-wi")
        .expect("caller");
    let instrument = driver.active_instrument(&lead).await.expect("instrument");
    let case = wisconsin_case("e2e-1", &instrument);
    let outcome = driver.run(&case).await.expect("journey");
    let review = outcome.review.expect("a practice review opened");
    assert_eq!(review.stage, Stage::Finalised as i32, "{review:?}");

    // A second report with the same request id is the same incident, and the
    // incident still has exactly one review.
    let again = driver.report(&case).await.expect("retry");
    assert_eq!(again.name, outcome.incident.name);
    let reviews = lead
        .review()
        .list_reviews(review::ListReviewsRequest {
            parent: "jurisdictions/us-wi".into(),
            incident: outcome.incident.name.clone(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .reviews;
    assert_eq!(reviews.len(), 1);

    // Insights counts the final review: each item agreed at "contributed" (2)
    // or above is a factor present in one review.
    let analyst = driver
        .caller("analyst-e2e", &[Role::Analyst], "us-wi")
        .expect("caller");
    let present = case.observations[0]
        .consensus
        .iter()
        .filter(|(_, level)| *level >= 2)
        .count();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let table = analyst
            .insights()
            .ask(insights::AskRequest {
                question: insights::Question::FactorPrevalence as i32,
                filters: Some(insights::Filters {
                    finalised_only: true,
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await
            .expect("ask")
            .into_inner();
        let counted = table
            .rows
            .iter()
            .filter(|r| r.count.as_ref().and_then(|c| c.value) == Some(1))
            .count();
        if counted == present {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "insights never counted the final review: {table:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let view = analyst
        .insights()
        .get_operational_view(insights::GetOperationalViewRequest {
            jurisdiction: "jurisdictions/us-wi".into(),
        })
        .await
        .expect("operational view")
        .into_inner();
    let finalised = view
        .stages
        .iter()
        .find(|s| s.stage == Stage::Finalised as i32)
        .map_or(0, |s| s.reviews);
    assert_eq!(finalised, 1, "{view:?}");
}

#[tokio::test]
async fn four_processes_on_sqlite() {
    let stack = Stack::start(Backend::Sqlite, &Telemetry::default()).await;
    journey(&stack.driver()).await;
    // Liveness probes ask for a health service that does not follow the database.
    for endpoint in [&stack.endpoints.intake, &stack.endpoints.insights] {
        let address = endpoint
            .trim_start_matches("http://")
            .parse()
            .expect("address");
        scir_testkit::wait_serving(address, scir_kit::server::LIVENESS_SERVICE).await;
    }
}

#[tokio::test]
async fn four_processes_on_postgres() {
    let stack = Stack::start(Backend::Postgres, &Telemetry::default()).await;
    journey(&stack.driver()).await;
}

#[tokio::test]
async fn scir_up_in_one_process() {
    let mut up = Up::start().await;
    journey(&up.driver()).await;
    assert!(up.process.terminate(), "scir up stops cleanly on SIGTERM");
    // The services hold connections to each other; stopping must not wait for
    // those idle connections until the drain timeout.
    let log = up.process.tail(20);
    assert!(!log.contains("drain timeout reached"), "{log}");
}

#[tokio::test]
async fn four_processes_over_mutual_tls() {
    // Every call between the services (event streams, review's calls to intake
    // and scoring, scoring's to review) and every client call is mutual TLS.
    let stack = Stack::start_over_tls(Backend::Sqlite).await;
    journey(&stack.driver()).await;
}
