//! Calls to the review service: a review's team, read with the caller's own
//! token, so review applies its own access rules and rater identities stay out
//! of event streams.

use std::time::Duration;

use scir_kit::ApiError;
use scir_kit::client::ClientInterceptor;
use scir_proto::review::v1::review_service_client::ReviewServiceClient;
use scir_proto::review::v1::{ListTeamMembersRequest, TeamMember, TeamRole};
use tonic::Code;
use tonic::transport::Channel;

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
        let mut request = tonic::Request::new(ListTeamMembersRequest {
            parent: review.to_owned(),
        });
        request.set_timeout(Duration::from_secs(5));
        let members: Vec<TeamMember> = match client.list_team_members(request).await {
            Ok(r) => r.into_inner().members,
            Err(status) => {
                return Err(match status.code() {
                    Code::NotFound => ApiError::NotFound {
                        resource: review.to_owned(),
                    },
                    Code::PermissionDenied | Code::Unauthenticated => ApiError::PermissionDenied(
                        "review refused to show the team to this caller".to_owned(),
                    ),
                    _ => {
                        tracing::warn!(code = ?status.code(), "review call failed");
                        ApiError::Unavailable {
                            message: "the review service is unavailable".to_owned(),
                            retry_after: Duration::from_secs(2),
                        }
                    }
                });
            }
        };
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
