//! `scir up`: every service in one process, wired together, with development auth.

use std::time::Duration;

use scir::{dev_auth, up};
use scir_kit::auth::Role;
use scir_kit::client::ClientInterceptor;
use scir_proto::intake::v1::ReportIncidentRequest;
use scir_proto::intake::v1::intake_service_client::IntakeServiceClient;
use scir_proto::review::v1::ListReviewsRequest;
use scir_proto::review::v1::review_service_client::ReviewServiceClient;

#[tokio::test]
async fn a_report_to_intake_opens_a_review_in_one_process() {
    let dir = tempfile::tempdir().expect("data dir");
    let (running, shutdown, task) = up::spawn(dir.path().to_owned()).await.expect("scir up");
    assert!(up::banner(&running, dir.path()).contains(&running.review.to_string()));

    let secret = dev_auth::read_secret(dir.path()).expect("development secret");
    let token = |roles: &[Role]| {
        dev_auth::mint(
            &secret,
            "dev-user",
            "us-wi",
            roles,
            Duration::from_secs(600),
        )
        .expect("token")
    };
    let interceptor = ClientInterceptor::new(Some(&token(&[Role::Reporter]))).expect("interceptor");
    let mut intake =
        IntakeServiceClient::with_interceptor(scir_testkit::channel(running.intake), interceptor);
    let request = ReportIncidentRequest {
        request_id: "up-1".into(),
        incident: Some(scir_testkit::fixtures::wisconsin_death()),
    };
    let incident = intake
        .report_incident(request)
        .await
        .expect("reported")
        .into_inner();

    let interceptor = ClientInterceptor::new(Some(&token(&[Role::ScrLead]))).expect("interceptor");
    let mut review =
        ReviewServiceClient::with_interceptor(scir_testkit::channel(running.review), interceptor);
    let list = ListReviewsRequest {
        parent: "jurisdictions/us-wi".into(),
        incident: incident.name.clone(),
        ..Default::default()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let reviews = review
            .list_reviews(list.clone())
            .await
            .expect("list")
            .into_inner()
            .reviews;
        if reviews.len() == 1 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the review never opened"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    shutdown.fire();
    task.await.expect("task").expect("scir up stopped cleanly");
    for db in ["intake.db", "review.db", "scoring.db", "insights.db"] {
        assert!(dir.path().join(db).exists(), "{db}");
    }
}
