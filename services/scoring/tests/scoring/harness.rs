//! Starts intake, review and scoring for a test, wired by their addresses, and
//! walks a review to SSIT scoring.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use scir_kit::auth::Role;
use scir_kit::client::ClientInterceptor;
use scir_kit::consumer::ConsumerHandle;
use scir_kit::credentials::ServiceTokenConfig;
use scir_kit::shutdown::Shutdown;
use scir_proto::intake::v1 as intake;
use scir_proto::intake::v1::intake_service_client::IntakeServiceClient;
use scir_proto::review::v1::review_service_client::ReviewServiceClient;
use scir_proto::scoring::v1 as pb;
use scir_proto::scoring::v1::scoring_service_client::ScoringServiceClient;
use scir_testkit::journey;
use scir_testkit::{Backend, TestDatabase};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

type Intercepted = InterceptedService<Channel, ClientInterceptor>;
/// A scoring client.
pub(crate) type Client = ScoringServiceClient<Intercepted>;
/// A review client.
pub(crate) type ReviewClient = ReviewServiceClient<Intercepted>;

/// The SCR lead's subject.
pub(crate) const LEAD: &str = "lead-1";

/// Three services, running.
pub(crate) struct System {
    /// Intake's address.
    pub intake: SocketAddr,
    /// Review's address.
    pub review: SocketAddr,
    /// Scoring's address.
    pub scoring: SocketAddr,
    /// Scoring's consumer of review's events.
    pub consumer: ConsumerHandle,
    scoring_db: TestDatabase,
    _dbs: Vec<TestDatabase>,
    shutdowns: Vec<Shutdown>,
    scoring_shutdown: Shutdown,
    tasks: Vec<tokio::task::JoinHandle<anyhow::Result<()>>>,
    scoring_task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

async fn start_scoring(
    review: SocketAddr,
    common: scir_kit::config::CommonConfig,
    instruments: Option<(PathBuf, String)>,
    shutdown: &Shutdown,
) -> (ConsumerHandle, tokio::task::JoinHandle<anyhow::Result<()>>) {
    let scoring = common.listen_addr;
    let config = scir_scoring::ScoringConfig {
        webhooks: Default::default(),
        sealing: scir_testkit::sealing_config(),
        common,
        review_addr: format!("http://{review}"),
        instruments_dir: instruments.as_ref().map(|(d, _)| d.clone()),
        active_instrument: instruments.map(|(_, a)| a),
        service_token: ServiceTokenConfig { token_file: None },
    };
    let app = scir_scoring::Application::build(&config, shutdown)
        .await
        .expect("scoring builds");
    let consumer = app.consumer();
    let task = tokio::spawn(app.run());
    scir_testkit::wait_serving(scoring, scir_scoring::startup::SERVICE_NAME).await;
    (consumer, task)
}

impl System {
    /// Starts the three services on fresh databases of `backend`.
    pub(crate) async fn start(backend: Backend, instruments: Option<(PathBuf, String)>) -> Self {
        let (intake_db, review_db, scoring_db) = (
            TestDatabase::new(backend).await,
            TestDatabase::new(backend).await,
            TestDatabase::new(backend).await,
        );
        let (intake_shutdown, review_shutdown, scoring_shutdown) =
            (Shutdown::new(), Shutdown::new(), Shutdown::new());
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

        // Both bound before either is built: each needs the other's address.
        let (common, review) = scir_testkit::common_config_bound(&review_db.url);
        let (scoring_common, scoring) = scir_testkit::common_config_bound(&scoring_db.url);
        let config = scir_review::ReviewConfig {
            webhooks: Default::default(),
            common,
            intake_addr: format!("http://{intake}"),
            scoring_addr: Some(format!("http://{scoring}")),
            language_file: None,
            service_token: ServiceTokenConfig { token_file: None },
            sealing: scir_testkit::sealing_config(),
        };
        let app = scir_review::Application::build(&config, &review_shutdown)
            .await
            .expect("review builds");
        let review_task = tokio::spawn(app.run());
        scir_testkit::wait_serving(review, scir_review::startup::SERVICE_NAME).await;
        let (consumer, scoring_task) =
            start_scoring(review, scoring_common, instruments, &scoring_shutdown).await;
        Self {
            intake,
            review,
            scoring,
            consumer,
            scoring_db,
            _dbs: vec![intake_db, review_db],
            shutdowns: vec![review_shutdown, intake_shutdown],
            scoring_shutdown,
            tasks: vec![review_task, intake_task],
            scoring_task: Some(scoring_task),
        }
    }

    /// Restarts scoring on its database with other instruments.
    pub(crate) async fn restart_scoring(&mut self, instruments: Option<(PathBuf, String)>) {
        self.scoring_shutdown.fire();
        if let Some(task) = self.scoring_task.take() {
            task.await
                .expect("scoring task")
                .expect("scoring ran cleanly");
        }
        self.scoring_shutdown = Shutdown::new();
        // Scoring's own port again (the old server has closed it): review and
        // the clients hold this address.
        let mut common = scir_testkit::common_config(&self.scoring_db.url);
        common.listen_addr = self.scoring;
        let (consumer, task) =
            start_scoring(self.review, common, instruments, &self.scoring_shutdown).await;
        self.consumer = consumer;
        self.scoring_task = Some(task);
    }

    /// A scoring client for `subject` with `roles` in Wisconsin.
    pub(crate) fn scoring_as(&self, subject: &str, roles: &[Role]) -> Client {
        let token = scir_testkit::token_as(subject, roles, "us-wi");
        ScoringServiceClient::with_interceptor(
            scir_testkit::channel(self.scoring),
            ClientInterceptor::new(Some(&token)).expect("interceptor"),
        )
    }

    /// A review client for `subject` with `roles` in Wisconsin.
    pub(crate) fn review_as(&self, subject: &str, roles: &[Role]) -> ReviewClient {
        let token = scir_testkit::token_as(subject, roles, "us-wi");
        ReviewServiceClient::with_interceptor(
            scir_testkit::channel(self.review),
            ClientInterceptor::new(Some(&token)).expect("interceptor"),
        )
    }

    /// Waits until scoring has applied every event review has published.
    pub(crate) async fn settle(&self) {
        use tokio_stream::StreamExt;
        let request = scir_proto::common::v1::WatchEventsRequest {
            after_cursor: 0,
            types: vec![],
            stop_at_end: true,
        };
        let events: Vec<_> = self
            .review_as("scir-scoring", &[Role::Service])
            .watch_events(request)
            .await
            .expect("watch")
            .into_inner()
            .collect::<Result<Vec<_>, _>>()
            .await
            .expect("events");
        let last = events.last().map(|e| e.cursor).unwrap_or(0);
        assert!(
            self.consumer.wait_for(last, Duration::from_secs(20)).await,
            "scoring applied review's events up to {last}"
        );
    }

    /// Reports an incident, staffs its review with the lead and `raters`, and
    /// walks it to SSIT scoring with one key observation; returns the review and
    /// the key observation.
    pub(crate) async fn review_in_scoring(
        &self,
        request_id: &str,
        raters: &[&str],
    ) -> (String, String) {
        let token = scir_testkit::token(&[Role::Reporter], "us-wi");
        let mut intake_client = IntakeServiceClient::with_interceptor(
            scir_testkit::channel(self.intake),
            ClientInterceptor::new(Some(&token)).expect("interceptor"),
        );
        let incident = intake_client
            .report_incident(intake::ReportIncidentRequest {
                request_id: request_id.into(),
                incident: Some(scir_testkit::fixtures::wisconsin_death()),
            })
            .await
            .expect("reported")
            .into_inner();
        let mut lead = self.review_as(LEAD, &[Role::ScrLead]);
        let name = journey::review_of(&mut lead, "us-wi", &incident.name).await;
        let walk = journey::Walk {
            address: self.review,
            jurisdiction: "us-wi",
            lead: LEAD,
            raters,
            text: "Screening under volume",
            themes: vec![],
        };
        let ko = journey::to_ssit_scoring(&walk, &name).await;
        self.settle().await;
        (name, ko)
    }

    /// Stops every service.
    pub(crate) async fn stop(mut self) {
        self.scoring_shutdown.fire();
        if let Some(task) = self.scoring_task.take() {
            task.await
                .expect("scoring task")
                .expect("scoring ran cleanly");
        }
        for (shutdown, task) in self.shutdowns.drain(..).zip(self.tasks.drain(..)) {
            shutdown.fire();
            task.await.expect("task").expect("ran cleanly");
        }
    }
}

pub(crate) use scir_testkit::journey::advance;

/// A full rating set: `levels[i]` for the i-th item of the shipped instrument.
pub(crate) fn ratings(key_observation: &str, levels: &[i32]) -> pb::SubmitRatingsRequest {
    let catalogue =
        scir_scoring::domain::instruments::Catalogue::load(None, None).expect("instrument");
    let items = &catalogue.active().items;
    let ratings = items
        .iter()
        .zip(levels.iter().cycle())
        .map(|(code, level)| pb::ItemRating {
            item_code: code.clone(),
            level: *level,
            rationale: format!("Rated {level} after reading the record."),
            evidence: vec![],
        })
        .collect();
    pb::SubmitRatingsRequest {
        rating_set: Some(pb::RatingSet {
            key_observation: key_observation.into(),
            ratings,
            ..Default::default()
        }),
    }
}

pub(crate) use scir_testkit::violated_fields as fields;
