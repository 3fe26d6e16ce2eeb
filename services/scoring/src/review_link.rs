//! Calls to the review service: a review's team, read with the caller's own
//! token, so review applies its own access rules and rater identities stay out
//! of event streams.

use scir_kit::ApiError;
use scir_kit::client::{ClientInterceptor, Peer};
use scir_proto::review::v1::review_service_client::ReviewServiceClient;
use scir_proto::review::v1::{ListTeamMembersRequest, TeamMember, TeamRole};
use tonic::transport::Channel;

const REVIEW: Peer = Peer { name: "review" };

/// A connection to review.
#[derive(Debug, Clone)]
pub struct ReviewLink {
    channel: Channel,
}

/// A review's team as scoring needs it.
#[derive(Debug, Clone, Default)]
pub struct Team {
    /// Subjects of the raters (`REVIEWER` members), sorted, without repeats.
    pub raters: Vec<String>,
    /// Subjects of the SCR leads.
    pub leads: Vec<String>,
    /// Every member's subject.
    pub members: Vec<String>,
}

impl ReviewLink {
    /// A link to review at `address`; connects lazily.
    pub fn new(address: &str, transport: &scir_kit::tls::Transport) -> anyhow::Result<Self> {
        Ok(Self {
            channel: transport.channel(address)?,
        })
    }

    /// The team of `review`, read on behalf of the caller whose token is `bearer`.
    pub async fn team(&self, bearer: &str, review: &str) -> Result<Team, ApiError> {
        let interceptor = ClientInterceptor::new(Some(bearer)).map_err(ApiError::internal)?;
        let mut client = ReviewServiceClient::with_interceptor(self.channel.clone(), interceptor);
        let request = REVIEW.request(ListTeamMembersRequest {
            parent: review.to_owned(),
        });
        let members: Vec<TeamMember> = client
            .list_team_members(request)
            .await
            .map_err(|status| REVIEW.error(&status, "review", review))?
            .into_inner()
            .members;
        let of = |role: TeamRole| {
            let mut v: Vec<String> = members
                .iter()
                .filter(|m| m.role == role as i32)
                .map(|m| m.subject.clone())
                .collect();
            v.sort();
            v.dedup();
            v
        };
        let mut all: Vec<String> = members.iter().map(|m| m.subject.clone()).collect();
        all.sort();
        all.dedup();
        Ok(Team {
            raters: of(TeamRole::Reviewer),
            leads: of(TeamRole::ScrLead),
            members: all,
        })
    }
}
