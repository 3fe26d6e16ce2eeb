//! Drives a review through the public review API, for tests that need a review
//! at a given stage: staffed, with an episode, a debriefing and a key
//! observation, and in SSIT scoring.

use std::net::SocketAddr;
use std::time::Duration;

use scir_kit::auth::Role;
use scir_kit::client::ClientInterceptor;
use scir_proto::review::v1 as review;
use scir_proto::review::v1::review_service_client::ReviewServiceClient;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::fixtures::date;

/// A review client.
pub type ReviewClient = ReviewServiceClient<InterceptedService<Channel, ClientInterceptor>>;

/// A review client for `subject` holding `roles` in `jurisdiction`.
pub fn review_client(
    address: SocketAddr,
    subject: &str,
    roles: &[Role],
    jurisdiction: &str,
) -> ReviewClient {
    let token = crate::token_as(subject, roles, jurisdiction);
    ReviewServiceClient::with_interceptor(
        crate::channel(address),
        ClientInterceptor::new(Some(&token)).expect("interceptor"),
    )
}

/// Waits until the review of `incident` exists (it opens from intake's
/// event) and returns its name.
pub async fn review_of(client: &mut ReviewClient, jurisdiction: &str, incident: &str) -> String {
    let list = review::ListReviewsRequest {
        parent: format!("jurisdictions/{jurisdiction}"),
        incident: incident.to_owned(),
        ..Default::default()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(r) = client
            .list_reviews(list.clone())
            .await
            .expect("list")
            .into_inner()
            .reviews
            .pop()
        {
            return r.name;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the review of {incident} never opened"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Advances a review from its current stage.
pub async fn advance(
    client: &mut ReviewClient,
    review: &str,
) -> Result<review::Review, tonic::Status> {
    let current = client
        .get_review(review::GetReviewRequest {
            name: review.to_owned(),
        })
        .await?
        .into_inner();
    let request = review::AdvanceReviewRequest {
        name: review.to_owned(),
        etag: current.etag,
        ..Default::default()
    };
    client.advance_review(request).await.map(|r| r.into_inner())
}

/// How to walk a review to SSIT scoring.
#[derive(Debug, Clone)]
pub struct Walk<'a> {
    /// Where review listens.
    pub address: SocketAddr,
    /// The review's jurisdiction.
    pub jurisdiction: &'a str,
    /// Subject of the SCR lead.
    pub lead: &'a str,
    /// Subjects of the raters (REVIEWER members).
    pub raters: &'a [&'a str],
    /// Text written into the episode, debriefing notes and key observation.
    pub text: &'a str,
    /// Themes of the key observation.
    pub themes: Vec<review::Theme>,
}

/// Staffs `review` with the lead and raters, records an episode, a debriefing
/// and a key observation, and advances it to SSIT scoring; returns the key
/// observation's name. The walk is `scir_client`'s, the one the demo and the
/// end-to-end tests use.
pub async fn to_ssit_scoring(walk: &Walk<'_>, review: &str) -> String {
    use scir_client::connect::{Channels, Endpoints, Signer};
    use scir_client::journey::{Case, Driver, ObservationPlan};

    let mut lead = review_client(walk.address, walk.lead, &[Role::ScrLead], walk.jurisdiction);
    let incident = lead
        .get_review(review::GetReviewRequest {
            name: review.to_owned(),
        })
        .await
        .expect("review")
        .into_inner()
        .incident;
    // Only review is called on the way to SSIT scoring.
    let address = format!("http://{}", walk.address);
    let endpoints = Endpoints {
        intake: address.clone(),
        review: address.clone(),
        scoring: address.clone(),
        insights: address.clone(),
        learning: address.clone(),
        culture: address,
        tls: Default::default(),
    };
    let driver = Driver::new(
        Channels::new(&endpoints).expect("channels"),
        Signer::new(crate::SECRET, crate::ISSUER, crate::AUDIENCE),
    );
    let case = Case {
        request_id: String::new(),
        facts: scir_proto::intake::v1::IncidentFacts {
            jurisdiction: walk.jurisdiction.to_owned(),
            ..Default::default()
        },
        reporter: String::new(),
        lead: walk.lead.to_owned(),
        raters: walk.raters.iter().map(|r| (*r).to_owned()).collect(),
        episodes: vec![review::Episode {
            start_date: Some(date("2024-12-01")),
            end_date: Some(date("2024-12-01")),
            title: walk.text.into(),
            what_happened: format!("{}: the report was screened out.", walk.text),
            assessment: review::Assessment::Mixed as i32,
            ..Default::default()
        }],
        debriefings: vec![review::Debriefing {
            date: Some(date("2025-04-01")),
            participant_roles: vec!["supervisor".into()],
            notes: walk.text.into(),
            ..Default::default()
        }],
        observations: vec![ObservationPlan {
            observation: review::KeyObservation {
                title: walk.text.into(),
                description: walk.text.into(),
                themes: walk.themes.iter().map(|t| *t as i32).collect(),
                ..Default::default()
            },
            ratings: vec![],
            consensus: vec![],
        }],
        maps: vec![],
        learning: vec![],
        recommendations: vec![],
        until: review::Stage::SsitScoring,
    };
    let walked = driver
        .walk(&case, &incident)
        .await
        .expect("walk to SSIT scoring");
    assert_eq!(walked.stage, review::Stage::SsitScoring as i32);
    lead.list_key_observations(review::ListKeyObservationsRequest {
        parent: review.to_owned(),
        ..Default::default()
    })
    .await
    .expect("key observations")
    .into_inner()
    .key_observations
    .pop()
    .expect("a key observation")
    .name
}
