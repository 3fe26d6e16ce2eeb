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
/// observation's name.
pub async fn to_ssit_scoring(walk: &Walk<'_>, review: &str) -> String {
    let mut lead = review_client(walk.address, walk.lead, &[Role::ScrLead], walk.jurisdiction);
    let members = std::iter::once((walk.lead, review::TeamRole::ScrLead))
        .chain(walk.raters.iter().map(|r| (*r, review::TeamRole::Reviewer)));
    for (subject, role) in members {
        let member = review::TeamMember {
            subject: subject.into(),
            role: role as i32,
            ..Default::default()
        };
        lead.add_team_member(review::AddTeamMemberRequest {
            parent: review.to_owned(),
            member: Some(member),
        })
        .await
        .expect("team member");
    }
    let mut rater = review_client(
        walk.address,
        walk.raters[0],
        &[Role::Reviewer],
        walk.jurisdiction,
    );
    advance(&mut lead, review)
        .await
        .expect("to case record review");
    let episode = review::Episode {
        start_date: Some(date("2024-12-01")),
        end_date: Some(date("2024-12-01")),
        title: walk.text.into(),
        what_happened: format!("{}: the report was screened out.", walk.text),
        assessment: review::Assessment::Mixed as i32,
        ..Default::default()
    };
    rater
        .create_episode(review::CreateEpisodeRequest {
            parent: review.to_owned(),
            episode: Some(episode),
        })
        .await
        .expect("episode");
    advance(&mut lead, review).await.expect("to debriefing");
    let debriefing = review::Debriefing {
        date: Some(date("2025-04-01")),
        participant_roles: vec!["supervisor".into()],
        notes: walk.text.into(),
        ..Default::default()
    };
    rater
        .create_debriefing(review::CreateDebriefingRequest {
            parent: review.to_owned(),
            debriefing: Some(debriefing),
        })
        .await
        .expect("debriefing");
    let ko = review::KeyObservation {
        title: walk.text.into(),
        description: walk.text.into(),
        themes: walk.themes.iter().map(|t| *t as i32).collect(),
        ..Default::default()
    };
    let ko = rater
        .create_key_observation(review::CreateKeyObservationRequest {
            parent: review.to_owned(),
            key_observation: Some(ko),
        })
        .await
        .expect("key observation")
        .into_inner();
    advance(&mut lead, review).await.expect("to SSIT scoring");
    ko.name
}
