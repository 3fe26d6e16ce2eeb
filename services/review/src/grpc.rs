//! The gRPC adapter: requests in, the caller from the auth layer, the use case
//! called, errors mapped to `Status` by the kit.

use std::pin::Pin;

use scir_kit::auth::split;
use scir_proto::common::v1::{Event, WatchEventsRequest};
use scir_proto::review::v1 as pb;
use scir_proto::review::v1::review_service_server::ReviewService;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use crate::service::Reviews;

/// `scir.review.v1.ReviewService` over [`Reviews`].
#[derive(Debug, Clone)]
pub struct ReviewGrpc {
    reviews: Reviews,
}

impl ReviewGrpc {
    /// The adapter.
    pub fn new(reviews: Reviews) -> Self {
        Self { reviews }
    }
}

type Result<T> = std::result::Result<Response<T>, Status>;

/// A boxed future, as `tonic::async_trait` expects from trait methods.
type Boxed<'a, T> = Pin<Box<dyn std::future::Future<Output = Result<T>> + Send + 'a>>;

/// The five standard methods of one kind of review part, written out in the
/// boxed form `async_trait` gives the trait (it does not see inside macros).
macro_rules! part_methods {
    ($ty:ty, $field:ident, $list_field:ident,
     $create:ident($create_req:ty),
     $get:ident($get_req:ty),
     $list:ident($list_req:ty => $list_resp:ident),
     $update:ident($update_req:ty),
     $delete:ident($delete_req:ty => $delete_resp:ty)) => {
        fn $create<'s, 'a>(&'s self, request: Request<$create_req>) -> Boxed<'a, $ty>
        where
            's: 'a,
            Self: 'a,
        {
            Box::pin(async move {
                let (caller, r) = split(request)?;
                Ok(Response::new(
                    self.reviews
                        .create_part(&caller, caller.method, &r.parent, r.$field)
                        .await?,
                ))
            })
        }
        fn $get<'s, 'a>(&'s self, request: Request<$get_req>) -> Boxed<'a, $ty>
        where
            's: 'a,
            Self: 'a,
        {
            Box::pin(async move {
                let (caller, r) = split(request)?;
                Ok(Response::new(
                    self.reviews
                        .get_part(&caller, caller.method, &r.name)
                        .await?,
                ))
            })
        }
        fn $list<'s, 'a>(&'s self, request: Request<$list_req>) -> Boxed<'a, pb::$list_resp>
        where
            's: 'a,
            Self: 'a,
        {
            Box::pin(async move {
                let (caller, r) = split(request)?;
                let page = self
                    .reviews
                    .list_parts::<$ty>(
                        &caller,
                        caller.method,
                        &r.parent,
                        r.page_size,
                        &r.page_token,
                    )
                    .await?;
                Ok(Response::new(pb::$list_resp {
                    $list_field: page.items,
                    next_page_token: page.next_page_token,
                }))
            })
        }
        fn $update<'s, 'a>(&'s self, request: Request<$update_req>) -> Boxed<'a, $ty>
        where
            's: 'a,
            Self: 'a,
        {
            Box::pin(async move {
                let (caller, r) = split(request)?;
                Ok(Response::new(
                    self.reviews
                        .update_part(
                            &caller,
                            caller.method,
                            r.$field,
                            r.update_mask.as_ref(),
                            &r.etag,
                        )
                        .await?,
                ))
            })
        }
        fn $delete<'s, 'a>(&'s self, request: Request<$delete_req>) -> Boxed<'a, $delete_resp>
        where
            's: 'a,
            Self: 'a,
        {
            Box::pin(async move {
                let (caller, r) = split(request)?;
                self.reviews
                    .delete_part::<$ty>(&caller, caller.method, &r.name, &r.etag)
                    .await?;
                Ok(Response::new(<$delete_resp>::default()))
            })
        }
    };
}

#[tonic::async_trait]
impl ReviewService for ReviewGrpc {
    #[tracing::instrument(skip_all, fields(incident = %request.get_ref().incident))]
    async fn open_review(&self, request: Request<pb::OpenReviewRequest>) -> Result<pb::Review> {
        let (caller, r) = split(request)?;
        Ok(Response::new(
            self.reviews.open(&caller, caller.method, r).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
    async fn get_review(&self, request: Request<pb::GetReviewRequest>) -> Result<pb::Review> {
        let (caller, r) = split(request)?;
        Ok(Response::new(
            self.reviews.get(&caller, caller.method, &r.name).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(parent = %request.get_ref().parent))]
    async fn list_reviews(
        &self,
        request: Request<pb::ListReviewsRequest>,
    ) -> Result<pb::ListReviewsResponse> {
        let (caller, r) = split(request)?;
        Ok(Response::new(
            self.reviews.list(&caller, caller.method, r).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn update_review(&self, request: Request<pb::UpdateReviewRequest>) -> Result<pb::Review> {
        let (caller, r) = split(request)?;
        Ok(Response::new(
            self.reviews.update(&caller, caller.method, r).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
    async fn advance_review(
        &self,
        request: Request<pb::AdvanceReviewRequest>,
    ) -> Result<pb::Review> {
        let (caller, r) = split(request)?;
        Ok(Response::new(
            self.reviews.advance(&caller, caller.method, r).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
    async fn withdraw_review(
        &self,
        request: Request<pb::WithdrawReviewRequest>,
    ) -> Result<pb::Review> {
        let (caller, r) = split(request)?;
        Ok(Response::new(
            self.reviews.withdraw(&caller, caller.method, r).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
    async fn list_review_history(
        &self,
        request: Request<pb::ListReviewHistoryRequest>,
    ) -> Result<pb::ListReviewHistoryResponse> {
        let (caller, r) = split(request)?;
        Ok(Response::new(
            self.reviews.history(&caller, caller.method, r).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
    async fn generate_summary(
        &self,
        request: Request<pb::GenerateSummaryRequest>,
    ) -> Result<pb::Summary> {
        let (caller, r) = split(request)?;
        Ok(Response::new(
            self.reviews
                .generate_summary(&caller, caller.method, r)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn check_language(
        &self,
        request: Request<pb::CheckLanguageRequest>,
    ) -> Result<pb::CheckLanguageResponse> {
        let (_, r) = split(request)?;
        Ok(Response::new(self.reviews.check_language(&r)?))
    }

    #[tracing::instrument(skip_all, fields(parent = %request.get_ref().parent))]
    async fn add_team_member(
        &self,
        request: Request<pb::AddTeamMemberRequest>,
    ) -> Result<pb::TeamMember> {
        let (caller, r) = split(request)?;
        Ok(Response::new(
            self.reviews
                .add_member(&caller, caller.method, &r.parent, r.member)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(parent = %request.get_ref().parent))]
    async fn list_team_members(
        &self,
        request: Request<pb::ListTeamMembersRequest>,
    ) -> Result<pb::ListTeamMembersResponse> {
        let (caller, r) = split(request)?;
        let members = self
            .reviews
            .list_members(&caller, caller.method, &r.parent)
            .await?;
        Ok(Response::new(pb::ListTeamMembersResponse { members }))
    }

    #[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
    async fn remove_team_member(
        &self,
        request: Request<pb::RemoveTeamMemberRequest>,
    ) -> Result<pb::RemoveTeamMemberResponse> {
        let (caller, r) = split(request)?;
        self.reviews
            .remove_member(&caller, caller.method, &r.name)
            .await?;
        Ok(Response::new(pb::RemoveTeamMemberResponse {}))
    }

    part_methods!(pb::Episode, episode, episodes,
        create_episode(pb::CreateEpisodeRequest),
        get_episode(pb::GetEpisodeRequest),
        list_episodes(pb::ListEpisodesRequest => ListEpisodesResponse),
        update_episode(pb::UpdateEpisodeRequest),
        delete_episode(pb::DeleteEpisodeRequest => pb::DeleteEpisodeResponse));

    part_methods!(pb::Debriefing, debriefing, debriefings,
        create_debriefing(pb::CreateDebriefingRequest),
        get_debriefing(pb::GetDebriefingRequest),
        list_debriefings(pb::ListDebriefingsRequest => ListDebriefingsResponse),
        update_debriefing(pb::UpdateDebriefingRequest),
        delete_debriefing(pb::DeleteDebriefingRequest => pb::DeleteDebriefingResponse));

    part_methods!(pb::KeyObservation, key_observation, key_observations,
        create_key_observation(pb::CreateKeyObservationRequest),
        get_key_observation(pb::GetKeyObservationRequest),
        list_key_observations(pb::ListKeyObservationsRequest => ListKeyObservationsResponse),
        update_key_observation(pb::UpdateKeyObservationRequest),
        delete_key_observation(pb::DeleteKeyObservationRequest => pb::DeleteKeyObservationResponse));

    part_methods!(pb::SystemsMap, systems_map, systems_maps,
        create_systems_map(pb::CreateSystemsMapRequest),
        get_systems_map(pb::GetSystemsMapRequest),
        list_systems_maps(pb::ListSystemsMapsRequest => ListSystemsMapsResponse),
        update_systems_map(pb::UpdateSystemsMapRequest),
        delete_systems_map(pb::DeleteSystemsMapRequest => pb::DeleteSystemsMapResponse));

    part_methods!(pb::LearningOpportunity, learning_opportunity, learning_opportunities,
        create_learning_opportunity(pb::CreateLearningOpportunityRequest),
        get_learning_opportunity(pb::GetLearningOpportunityRequest),
        list_learning_opportunities(pb::ListLearningOpportunitiesRequest => ListLearningOpportunitiesResponse),
        update_learning_opportunity(pb::UpdateLearningOpportunityRequest),
        delete_learning_opportunity(pb::DeleteLearningOpportunityRequest => pb::DeleteLearningOpportunityResponse));

    part_methods!(pb::Recommendation, recommendation, recommendations,
        create_recommendation(pb::CreateRecommendationRequest),
        get_recommendation(pb::GetRecommendationRequest),
        list_recommendations(pb::ListRecommendationsRequest => ListRecommendationsResponse),
        update_recommendation(pb::UpdateRecommendationRequest),
        delete_recommendation(pb::DeleteRecommendationRequest => pb::DeleteRecommendationResponse));

    type WatchEventsStream = Pin<Box<dyn Stream<Item = std::result::Result<Event, Status>> + Send>>;

    #[tracing::instrument(skip_all, fields(after_cursor = request.get_ref().after_cursor))]
    async fn watch_events(
        &self,
        request: Request<WatchEventsRequest>,
    ) -> Result<Self::WatchEventsStream> {
        let (caller, r) = split(request)?;
        let stream = self.reviews.watch(&caller, caller.method, r).await?;
        Ok(Response::new(Box::pin(stream)))
    }
}
