//! Starts intake and review for a test, wired by their addresses.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use scir_kit::auth::Role;
use scir_kit::client::ClientInterceptor;
use scir_kit::consumer::ConsumerHandle;
use scir_kit::credentials::ServiceTokenConfig;
use scir_kit::shutdown::Shutdown;
use scir_proto::intake::v1 as intake;
use scir_proto::intake::v1::intake_service_client::IntakeServiceClient;
use scir_proto::review::v1 as pb;
use scir_proto::review::v1::review_service_client::ReviewServiceClient;
use scir_review::scoring::RecordedScores;
use scir_review::{Application, ReviewConfig};
use scir_testkit::{Backend, TestDatabase};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// A client of the review service.
pub(crate) type Client = ReviewServiceClient<InterceptedService<Channel, ClientInterceptor>>;
/// A client of the intake service.
pub(crate) type IntakeClient = IntakeServiceClient<InterceptedService<Channel, ClientInterceptor>>;

/// The subject of the SCR lead in tests.
pub(crate) const LEAD: &str = "lead-1";
/// The subject of a reviewer on the team.
pub(crate) const REVIEWER: &str = "reviewer-1";

/// Intake and review, running.
pub(crate) struct System {
    /// Intake's address.
    pub intake: SocketAddr,
    /// Review's address.
    pub review: SocketAddr,
    /// Scores the in-process scoring status reports.
    pub scores: Arc<RecordedScores>,
    /// Review's consumer of intake's events.
    pub consumer: ConsumerHandle,
    /// Review's database.
    pub review_db: TestDatabase,
    intake_db: TestDatabase,
    intake_shutdown: Shutdown,
    review_shutdown: Shutdown,
    intake_task: tokio::task::JoinHandle<anyhow::Result<()>>,
    review_task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

async fn start_review(
    intake: SocketAddr,
    db: &TestDatabase,
    scores: Arc<RecordedScores>,
    shutdown: &Shutdown,
) -> (
    SocketAddr,
    ConsumerHandle,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    let config = ReviewConfig {
        webhooks: Default::default(),
        common: scir_testkit::common_config(&db.url),
        intake_addr: format!("http://{intake}"),
        scoring_addr: None,
        language_file: None,
        service_token: ServiceTokenConfig { token_file: None },
        sealing: scir_testkit::sealing_config(),
    };
    let app = Application::build_with(&config, shutdown, scores)
        .await
        .expect("review builds");
    let address = app.address();
    let consumer = app.consumer();
    let task = tokio::spawn(app.run());
    scir_testkit::wait_serving(address, scir_review::startup::SERVICE_NAME).await;
    (address, consumer, task)
}

impl System {
    /// Starts both services on fresh databases of `backend`.
    pub(crate) async fn start(backend: Backend) -> Self {
        let intake_db = TestDatabase::new(backend).await;
        let review_db = TestDatabase::new(backend).await;
        let intake_shutdown = Shutdown::new();
        let config = scir_intake::IntakeConfig {
            webhooks: Default::default(),
            common: scir_testkit::common_config(&intake_db.url),
            rules_dir: None,
            sealing: scir_testkit::sealing_config(),
        };
        let app = scir_intake::Application::build(&config, &intake_shutdown)
            .await
            .expect("intake builds");
        let intake = app.address();
        let intake_task = tokio::spawn(app.run());
        scir_testkit::wait_serving(intake, scir_intake::startup::SERVICE_NAME).await;

        let scores = Arc::new(RecordedScores::default());
        let review_shutdown = Shutdown::new();
        let (review, consumer, review_task) =
            start_review(intake, &review_db, scores.clone(), &review_shutdown).await;
        Self {
            intake,
            review,
            scores,
            consumer,
            review_db,
            intake_db,
            intake_shutdown,
            review_shutdown,
            intake_task,
            review_task: Some(review_task),
        }
    }

    /// Stops review (if it runs) and starts it again on the same database.
    pub(crate) async fn restart_review(&mut self) {
        self.stop_review().await;
        self.review_shutdown = Shutdown::new();
        let (review, consumer, task) = start_review(
            self.intake,
            &self.review_db,
            self.scores.clone(),
            &self.review_shutdown,
        )
        .await;
        self.review = review;
        self.consumer = consumer;
        self.review_task = Some(task);
    }

    /// Stops review only (intake keeps running).
    pub(crate) async fn stop_review(&mut self) {
        self.review_shutdown.fire();
        if let Some(task) = self.review_task.take() {
            task.await
                .expect("review task")
                .expect("review ran cleanly");
        }
    }

    /// A review client for `subject` holding `roles` in `jurisdiction`.
    pub(crate) fn client_as(&self, subject: &str, roles: &[Role], jurisdiction: &str) -> Client {
        let token = scir_testkit::token_as(subject, roles, jurisdiction);
        ReviewServiceClient::with_interceptor(
            scir_testkit::channel(self.review),
            ClientInterceptor::new(Some(&token)).expect("interceptor"),
        )
    }

    /// The SCR lead of Wisconsin.
    pub(crate) fn lead(&self) -> Client {
        self.client_as(LEAD, &[Role::ScrLead], "us-wi")
    }

    /// A Wisconsin reviewer.
    pub(crate) fn reviewer(&self) -> Client {
        self.client_as(REVIEWER, &[Role::Reviewer], "us-wi")
    }

    /// An intake client for `roles` in Wisconsin.
    pub(crate) fn intake_as(&self, roles: &[Role]) -> IntakeClient {
        let token = scir_testkit::token(roles, "us-wi");
        IntakeServiceClient::with_interceptor(
            scir_testkit::channel(self.intake),
            ClientInterceptor::new(Some(&token)).expect("interceptor"),
        )
    }

    /// Reports an incident and waits until review has applied its event.
    pub(crate) async fn report(
        &self,
        request_id: &str,
        facts: intake::IncidentFacts,
    ) -> intake::Incident {
        let incident = self
            .intake_as(&[Role::Reporter])
            .report_incident(intake::ReportIncidentRequest {
                request_id: request_id.to_owned(),
                incident: Some(facts),
            })
            .await
            .expect("reported")
            .into_inner();
        self.settle().await;
        incident
    }

    /// Amends one top-level field of an incident as a reporter, and waits until
    /// review has applied the amendment.
    pub(crate) async fn amend(
        &self,
        incident: &str,
        facts: intake::IncidentFacts,
        field: &str,
        reason: &str,
    ) {
        let amend = intake::AmendIncidentRequest {
            name: incident.to_owned(),
            incident: Some(facts),
            update_mask: Some(prost_types::FieldMask {
                paths: vec![field.to_owned()],
            }),
            reason: reason.to_owned(),
            etag: String::new(),
        };
        self.intake_as(&[Role::Reporter])
            .amend_incident(amend)
            .await
            .expect("amended");
        self.settle().await;
    }

    /// Waits until review has applied every event intake has published.
    pub(crate) async fn settle(&self) {
        let events = collect_intake_events(self).await;
        let last = events.last().map(|e| e.cursor).unwrap_or(0);
        assert!(
            self.consumer.wait_for(last, Duration::from_secs(20)).await,
            "review applied intake's events up to {last}"
        );
    }

    /// The review of an incident.
    pub(crate) async fn review_of(&self, incident: &str) -> Option<pb::Review> {
        let request = pb::ListReviewsRequest {
            parent: "jurisdictions/us-wi".into(),
            incident: incident.to_owned(),
            ..Default::default()
        };
        let mut reviews = self
            .lead()
            .list_reviews(request)
            .await
            .expect("list")
            .into_inner()
            .reviews;
        assert!(reviews.len() <= 1, "one review per incident");
        reviews.pop()
    }

    /// Stops both services.
    pub(crate) async fn stop(mut self) {
        self.stop_review().await;
        self.intake_shutdown.fire();
        self.intake_task
            .await
            .expect("intake task")
            .expect("intake ran cleanly");
        drop(self.intake_db);
    }
}

/// Every event of intake's log.
pub(crate) async fn collect_intake_events(system: &System) -> Vec<scir_proto::common::v1::Event> {
    use tokio_stream::StreamExt;
    let request = scir_proto::common::v1::WatchEventsRequest {
        after_cursor: 0,
        types: vec![],
        stop_at_end: true,
    };
    system
        .intake_as(&[Role::Service])
        .watch_events(request)
        .await
        .expect("watch")
        .into_inner()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("events")
}

/// Every event of review's log.
pub(crate) async fn review_events(system: &System) -> Vec<scir_proto::common::v1::Event> {
    use tokio_stream::StreamExt;
    let request = scir_proto::common::v1::WatchEventsRequest {
        after_cursor: 0,
        types: vec![],
        stop_at_end: true,
    };
    system
        .client_as("scir-insights", &[Role::Service], "*")
        .watch_events(request)
        .await
        .expect("watch")
        .into_inner()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("events")
}

/// Puts the SCR lead and a reviewer on a review's team.
pub(crate) async fn staff(system: &System, review: &str) {
    let mut lead = system.lead();
    for (subject, role) in [
        (LEAD, pb::TeamRole::ScrLead),
        (REVIEWER, pb::TeamRole::Reviewer),
    ] {
        let member = pb::TeamMember {
            subject: subject.into(),
            role: role as i32,
            ..Default::default()
        };
        lead.add_team_member(pb::AddTeamMemberRequest {
            parent: review.to_owned(),
            member: Some(member),
        })
        .await
        .expect("team member");
    }
}

/// Advances a review from its current stage.
pub(crate) async fn advance(
    client: &mut Client,
    review: &str,
    skip_reason: &str,
) -> Result<pb::Review, tonic::Status> {
    let current = client
        .get_review(pb::GetReviewRequest {
            name: review.to_owned(),
        })
        .await?
        .into_inner();
    client
        .advance_review(pb::AdvanceReviewRequest {
            name: review.to_owned(),
            etag: current.etag,
            skip_systems_mapping_reason: skip_reason.to_owned(),
            validate_only: false,
        })
        .await
        .map(|r| r.into_inner())
}

/// The precondition violations of a status, as `kind subject: description`.
pub(crate) fn preconditions(status: &tonic::Status) -> Vec<(String, String, String)> {
    use tonic_types::StatusExt;
    status
        .get_error_details()
        .precondition_failure()
        .map(|p| {
            p.violations
                .iter()
                .map(|v| (v.r#type.clone(), v.subject.clone(), v.description.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// An episode in the period of the standard incident.
pub(crate) fn episode(title: &str, what_happened: &str) -> pb::Episode {
    pb::Episode {
        start_date: Some(scir_testkit::fixtures::date("2024-12-01")),
        end_date: Some(scir_testkit::fixtures::date("2024-12-03")),
        title: title.into(),
        what_happened: what_happened.into(),
        assessment: pb::Assessment::Mixed as i32,
        source_documents: vec!["CPS report of December 2024".into()],
        contributory_factors: vec![pb::ContributoryFactor::ConditionsOfWork as i32],
        ..Default::default()
    }
}

pub(crate) use scir_testkit::violated_fields as fields;
