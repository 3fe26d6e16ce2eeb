//! The gRPC adapter of the culture service: each method splits the caller from
//! the message and hands both to [`Culture`].

use std::pin::Pin;

use scir_kit::auth::split;
use scir_proto::common::v1::{Event, WatchEventsRequest};
use scir_proto::culture::v1 as pb;
use scir_proto::culture::v1::culture_service_server::CultureService;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use crate::service::Culture;

/// `scir.culture.v1.CultureService` over [`Culture`].
#[derive(Debug, Clone)]
pub struct CultureGrpc {
    culture: Culture,
}

impl CultureGrpc {
    /// The adapter.
    pub fn new(culture: Culture) -> Self {
        Self { culture }
    }
}

type Result<T> = std::result::Result<Response<T>, Status>;

#[tonic::async_trait]
impl CultureService for CultureGrpc {
    #[tracing::instrument(skip_all)]
    async fn list_survey_instruments(
        &self,
        request: Request<pb::ListSurveyInstrumentsRequest>,
    ) -> Result<pb::ListSurveyInstrumentsResponse> {
        let (caller, _) = split(request)?;
        Ok(Response::new(
            self.culture.instruments(&caller, caller.method).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn create_survey_wave(
        &self,
        request: Request<pb::CreateSurveyWaveRequest>,
    ) -> Result<pb::SurveyWave> {
        let (caller, r) = split(request)?;
        Ok(Response::new(
            self.culture.create_wave(&caller, caller.method, r).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn get_survey_wave(
        &self,
        request: Request<pb::GetSurveyWaveRequest>,
    ) -> Result<pb::SurveyWave> {
        let (caller, r) = split(request)?;
        Ok(Response::new(
            self.culture.get_wave(&caller, caller.method, r).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_survey_waves(
        &self,
        request: Request<pb::ListSurveyWavesRequest>,
    ) -> Result<pb::ListSurveyWavesResponse> {
        let (caller, r) = split(request)?;
        Ok(Response::new(
            self.culture.list_waves(&caller, caller.method, r).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn issue_invitations(
        &self,
        request: Request<pb::IssueInvitationsRequest>,
    ) -> Result<pb::IssueInvitationsResponse> {
        let (caller, r) = split(request)?;
        Ok(Response::new(
            self.culture.issue(&caller, caller.method, r).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn close_survey_wave(
        &self,
        request: Request<pb::CloseSurveyWaveRequest>,
    ) -> Result<pb::SurveyWave> {
        let (caller, r) = split(request)?;
        Ok(Response::new(
            self.culture.close_wave(&caller, caller.method, r).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn get_survey_results(
        &self,
        request: Request<pb::GetSurveyResultsRequest>,
    ) -> Result<pb::SurveyResults> {
        let (caller, r) = split(request)?;
        Ok(Response::new(
            self.culture.results(&caller, caller.method, r).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn get_survey_trend(
        &self,
        request: Request<pb::GetSurveyTrendRequest>,
    ) -> Result<pb::SurveyTrend> {
        let (caller, r) = split(request)?;
        Ok(Response::new(
            self.culture.trend(&caller, caller.method, r).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn export_survey_results(
        &self,
        request: Request<pb::GetSurveyResultsRequest>,
    ) -> Result<pb::SurveyResultsCsv> {
        let (caller, r) = split(request)?;
        Ok(Response::new(
            self.culture.export(&caller, caller.method, r).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn render_survey_chart(
        &self,
        request: Request<pb::GetSurveyResultsRequest>,
    ) -> Result<pb::SurveyChart> {
        let (caller, r) = split(request)?;
        Ok(Response::new(
            self.culture.chart(&caller, caller.method, r).await?,
        ))
    }

    type WatchEventsStream = Pin<Box<dyn Stream<Item = std::result::Result<Event, Status>> + Send>>;

    #[tracing::instrument(skip_all, fields(after_cursor = request.get_ref().after_cursor))]
    async fn watch_events(
        &self,
        request: Request<WatchEventsRequest>,
    ) -> Result<Self::WatchEventsStream> {
        let (caller, r) = split(request)?;
        let stream = self.culture.watch(&caller, caller.method, r).await?;
        Ok(Response::new(Box::pin(stream)))
    }
}
