//! The gRPC adapter of the learning service: each method splits the caller
//! from the message and hands both to [`Learning`].

use std::pin::Pin;

use scir_kit::auth::split;
use scir_proto::common::v1::{Event, WatchEventsRequest};
use scir_proto::learning::v1 as pb;
use scir_proto::learning::v1::learning_service_server::LearningService;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use crate::service::Learning;

/// `scir.learning.v1.LearningService` over [`Learning`].
#[derive(Debug, Clone)]
pub struct LearningGrpc {
    learning: Learning,
}

impl LearningGrpc {
    /// The adapter.
    pub fn new(learning: Learning) -> Self {
        Self { learning }
    }
}

type Result<T> = std::result::Result<Response<T>, Status>;

#[tonic::async_trait]
impl LearningService for LearningGrpc {
    #[tracing::instrument(skip_all)]
    async fn create_aggregate_mapping(
        &self,
        request: Request<pb::CreateAggregateMappingRequest>,
    ) -> Result<pb::AggregateMapping> {
        let (caller, r) = split(request)?;
        Ok(Response::new(
            self.learning.create(&caller, caller.method, r).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn get_aggregate_mapping(
        &self,
        request: Request<pb::GetAggregateMappingRequest>,
    ) -> Result<pb::AggregateMapping> {
        let (caller, r) = split(request)?;
        Ok(Response::new(
            self.learning.get(&caller, caller.method, r).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_aggregate_mappings(
        &self,
        request: Request<pb::ListAggregateMappingsRequest>,
    ) -> Result<pb::ListAggregateMappingsResponse> {
        let (caller, r) = split(request)?;
        Ok(Response::new(
            self.learning.list(&caller, caller.method, r).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn update_aggregate_mapping(
        &self,
        request: Request<pb::UpdateAggregateMappingRequest>,
    ) -> Result<pb::AggregateMapping> {
        let (caller, r) = split(request)?;
        Ok(Response::new(
            self.learning.update(&caller, caller.method, r).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn advance_aggregate_mapping(
        &self,
        request: Request<pb::AdvanceAggregateMappingRequest>,
    ) -> Result<pb::AggregateMapping> {
        let (caller, r) = split(request)?;
        Ok(Response::new(
            self.learning.advance(&caller, caller.method, r).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn create_mapping_session(
        &self,
        request: Request<pb::CreateMappingSessionRequest>,
    ) -> Result<pb::MappingSession> {
        let (caller, r) = split(request)?;
        Ok(Response::new(
            self.learning
                .create_session(&caller, caller.method, r)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_mapping_sessions(
        &self,
        request: Request<pb::ListMappingSessionsRequest>,
    ) -> Result<pb::ListMappingSessionsResponse> {
        let (caller, r) = split(request)?;
        Ok(Response::new(
            self.learning
                .list_sessions(&caller, caller.method, r)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn create_consideration(
        &self,
        request: Request<pb::CreateConsiderationRequest>,
    ) -> Result<pb::Consideration> {
        let (caller, r) = split(request)?;
        Ok(Response::new(
            self.learning
                .create_consideration(&caller, caller.method, r)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn update_consideration(
        &self,
        request: Request<pb::UpdateConsiderationRequest>,
    ) -> Result<pb::Consideration> {
        let (caller, r) = split(request)?;
        Ok(Response::new(
            self.learning
                .update_consideration(&caller, caller.method, r)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_considerations(
        &self,
        request: Request<pb::ListConsiderationsRequest>,
    ) -> Result<pb::ListConsiderationsResponse> {
        let (caller, r) = split(request)?;
        Ok(Response::new(
            self.learning
                .list_considerations(&caller, caller.method, r)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_overdue_considerations(
        &self,
        request: Request<pb::ListOverdueConsiderationsRequest>,
    ) -> Result<pb::ListOverdueConsiderationsResponse> {
        let (caller, r) = split(request)?;
        Ok(Response::new(
            self.learning
                .list_overdue(&caller, caller.method, r)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn issue_safety_notice(
        &self,
        request: Request<pb::IssueSafetyNoticeRequest>,
    ) -> Result<pb::SafetyNotice> {
        let (caller, r) = split(request)?;
        Ok(Response::new(
            self.learning
                .issue_notice(&caller, caller.method, r)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn get_safety_notice(
        &self,
        request: Request<pb::GetSafetyNoticeRequest>,
    ) -> Result<pb::SafetyNotice> {
        let (caller, r) = split(request)?;
        Ok(Response::new(
            self.learning.get_notice(&caller, caller.method, r).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_safety_notices(
        &self,
        request: Request<pb::ListSafetyNoticesRequest>,
    ) -> Result<pb::ListSafetyNoticesResponse> {
        let (caller, r) = split(request)?;
        Ok(Response::new(
            self.learning
                .list_notices(&caller, caller.method, r)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn respond_to_safety_notice(
        &self,
        request: Request<pb::RespondToSafetyNoticeRequest>,
    ) -> Result<pb::NoticeResponse> {
        let (caller, r) = split(request)?;
        Ok(Response::new(
            self.learning.respond(&caller, caller.method, r).await?,
        ))
    }

    type WatchEventsStream = Pin<Box<dyn Stream<Item = std::result::Result<Event, Status>> + Send>>;

    #[tracing::instrument(skip_all, fields(after_cursor = request.get_ref().after_cursor))]
    async fn watch_events(
        &self,
        request: Request<WatchEventsRequest>,
    ) -> Result<Self::WatchEventsStream> {
        let (caller, r) = split(request)?;
        let stream = self.learning.watch(&caller, caller.method, r).await?;
        Ok(Response::new(Box::pin(stream)))
    }
}
