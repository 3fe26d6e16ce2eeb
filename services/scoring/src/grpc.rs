//! The gRPC adapter of the scoring service.

use std::pin::Pin;

use scir_kit::auth::split;
use scir_proto::common::v1::{Event, WatchEventsRequest};
use scir_proto::scoring::v1 as pb;
use scir_proto::scoring::v1::scoring_service_server::ScoringService;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use crate::service::Scoring;

/// `scir.scoring.v1.ScoringService` over [`Scoring`].
#[derive(Debug, Clone)]
pub struct ScoringGrpc {
    scoring: Scoring,
}

impl ScoringGrpc {
    /// The adapter.
    pub fn new(scoring: Scoring) -> Self {
        Self { scoring }
    }
}

type Result<T> = std::result::Result<Response<T>, Status>;

#[tonic::async_trait]
impl ScoringService for ScoringGrpc {
    #[tracing::instrument(skip_all)]
    async fn list_instruments(
        &self,
        request: Request<pb::ListInstrumentsRequest>,
    ) -> Result<pb::ListInstrumentsResponse> {
        split(request)?;
        Ok(Response::new(self.scoring.list_instruments()))
    }

    #[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
    async fn get_instrument(
        &self,
        request: Request<pb::GetInstrumentRequest>,
    ) -> Result<pb::Instrument> {
        let (_, r) = split(request)?;
        Ok(Response::new(self.scoring.get_instrument(&r.name)?))
    }

    #[tracing::instrument(skip_all)]
    async fn submit_ratings(
        &self,
        request: Request<pb::SubmitRatingsRequest>,
    ) -> Result<pb::RatingSet> {
        let (caller, r) = split(request)?;
        Ok(Response::new(
            self.scoring.submit(&caller, caller.method, r).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(key_observation = %request.get_ref().key_observation))]
    async fn list_ratings(
        &self,
        request: Request<pb::ListRatingsRequest>,
    ) -> Result<pb::ListRatingsResponse> {
        let (caller, r) = split(request)?;
        Ok(Response::new(
            self.scoring.list_ratings(&caller, caller.method, r).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(review = %request.get_ref().review))]
    async fn get_scoring_status(
        &self,
        request: Request<pb::GetScoringStatusRequest>,
    ) -> Result<pb::ScoringStatus> {
        let (caller, r) = split(request)?;
        crate::service::check_review_name(&r.review)?;
        Ok(Response::new(
            self.scoring.status(&caller, caller.method, r).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn get_agreement(
        &self,
        request: Request<pb::GetAgreementRequest>,
    ) -> Result<pb::Agreement> {
        let (caller, r) = split(request)?;
        Ok(Response::new(
            self.scoring.agreement(&caller, caller.method, r).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn record_consensus(
        &self,
        request: Request<pb::RecordConsensusRequest>,
    ) -> Result<pb::Consensus> {
        let (caller, r) = split(request)?;
        Ok(Response::new(
            self.scoring.consensus(&caller, caller.method, r).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(review = %request.get_ref().review))]
    async fn get_consensus_profile(
        &self,
        request: Request<pb::GetConsensusProfileRequest>,
    ) -> Result<pb::ConsensusProfile> {
        let (caller, r) = split(request)?;
        Ok(Response::new(
            self.scoring.profile(&caller, caller.method, r).await?,
        ))
    }

    type WatchEventsStream = Pin<Box<dyn Stream<Item = std::result::Result<Event, Status>> + Send>>;

    #[tracing::instrument(skip_all, fields(after_cursor = request.get_ref().after_cursor))]
    async fn watch_events(
        &self,
        request: Request<WatchEventsRequest>,
    ) -> Result<Self::WatchEventsStream> {
        let (caller, r) = split(request)?;
        let stream = self.scoring.watch(&caller, caller.method, r).await?;
        Ok(Response::new(Box::pin(stream)))
    }
}
