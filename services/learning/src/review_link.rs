//! Calls to the review service, on the caller's behalf with the caller's own
//! token: which learning opportunities a review has, and whether it is final.
//! Nothing is copied from review but resource names.

use std::collections::HashSet;

use scir_kit::ApiError;
use scir_kit::client::{ClientInterceptor, Peer};
use scir_proto::review::v1 as review;
use scir_proto::review::v1::review_service_client::ReviewServiceClient;
use tonic::Code;
use tonic::transport::Channel;

const REVIEW: Peer = Peer { name: "review" };

/// A connection to review.
#[derive(Debug, Clone)]
pub struct ReviewLink {
    channel: Channel,
}

/// What review says of one review a scope draws on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The review is final; its learning opportunities' names.
    Finalised(HashSet<String>),
    /// The review is in another stage.
    NotFinal,
    /// There is no such review, or the caller may not read it.
    Unknown,
}

impl ReviewLink {
    /// A link to review at `address`; connects lazily.
    pub fn new(address: &str, transport: &scir_kit::tls::Transport) -> anyhow::Result<Self> {
        Ok(Self {
            channel: transport.channel(address)?,
        })
    }

    fn client(
        &self,
        bearer: &str,
    ) -> Result<
        ReviewServiceClient<
            tonic::service::interceptor::InterceptedService<Channel, ClientInterceptor>,
        >,
        ApiError,
    > {
        let interceptor = ClientInterceptor::new(Some(bearer)).map_err(ApiError::internal)?;
        Ok(ReviewServiceClient::with_interceptor(
            self.channel.clone(),
            interceptor,
        ))
    }

    /// The review `name` as the caller whose token is `bearer` may see it.
    pub async fn source(&self, bearer: &str, name: &str) -> Result<Source, ApiError> {
        let mut client = self.client(bearer)?;
        let found = client
            .get_review(REVIEW.request(review::GetReviewRequest {
                name: name.to_owned(),
            }))
            .await;
        let stage = match found {
            Ok(r) => r.into_inner().stage,
            Err(s) if unknown(&s) => return Ok(Source::Unknown),
            Err(s) => return Err(REVIEW.error(&s, "scope.learning_opportunities", name)),
        };
        if stage != review::Stage::Finalised as i32 {
            return Ok(Source::NotFinal);
        }
        let mut names = HashSet::new();
        let mut page_token = String::new();
        loop {
            let page = client
                .list_learning_opportunities(REVIEW.request(
                    review::ListLearningOpportunitiesRequest {
                        parent: name.to_owned(),
                        page_size: 500,
                        page_token,
                    },
                ))
                .await
                .map_err(|s| REVIEW.error(&s, "scope.learning_opportunities", name))?
                .into_inner();
            names.extend(page.learning_opportunities.into_iter().map(|lo| lo.name));
            if page.next_page_token.is_empty() {
                return Ok(Source::Finalised(names));
            }
            page_token = page.next_page_token;
        }
    }

    /// Review's language findings (identity, blame, hindsight) for `text`.
    pub async fn language(
        &self,
        bearer: &str,
        text: &str,
    ) -> Result<Vec<review::LanguageFinding>, ApiError> {
        let mut client = self.client(bearer)?;
        Ok(client
            .check_language(REVIEW.request(review::CheckLanguageRequest {
                text: text.to_owned(),
            }))
            .await
            .map_err(|s| REVIEW.error(&s, "text", "language check"))?
            .into_inner()
            .findings)
    }
}

/// Review's "not there, or not yours": the same to this caller.
fn unknown(status: &tonic::Status) -> bool {
    matches!(
        status.code(),
        Code::NotFound | Code::PermissionDenied | Code::InvalidArgument
    )
}
