//! The gRPC adapter: requests in, the caller from the auth layer, the use case
//! called, errors mapped to `Status` by the kit.

use std::pin::Pin;

use scir_kit::auth::split;
use scir_proto::common::v1::{Event, WatchEventsRequest};
use scir_proto::intake::v1 as pb;
use scir_proto::intake::v1::intake_service_server::IntakeService;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use crate::service::Intake;

/// `scir.intake.v1.IntakeService` over [`Intake`].
#[derive(Debug, Clone)]
pub struct IntakeGrpc {
    intake: Intake,
}

impl IntakeGrpc {
    /// The adapter.
    pub fn new(intake: Intake) -> Self {
        Self { intake }
    }
}

type Result<T> = std::result::Result<Response<T>, Status>;

#[tonic::async_trait]
impl IntakeService for IntakeGrpc {
    #[tracing::instrument(skip_all, fields(request_id = %request.get_ref().request_id))]
    async fn report_incident(
        &self,
        request: Request<pb::ReportIncidentRequest>,
    ) -> Result<pb::Incident> {
        let (caller, request) = split(request)?;
        Ok(Response::new(self.intake.report(&caller, request).await?))
    }

    #[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
    async fn get_incident(&self, request: Request<pb::GetIncidentRequest>) -> Result<pb::Incident> {
        let (caller, request) = split(request)?;
        Ok(Response::new(self.intake.get(&caller, request).await?))
    }

    #[tracing::instrument(skip_all, fields(parent = %request.get_ref().parent))]
    async fn list_incidents(
        &self,
        request: Request<pb::ListIncidentsRequest>,
    ) -> Result<pb::ListIncidentsResponse> {
        let (caller, request) = split(request)?;
        Ok(Response::new(self.intake.list(&caller, request).await?))
    }

    #[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
    async fn amend_incident(
        &self,
        request: Request<pb::AmendIncidentRequest>,
    ) -> Result<pb::Incident> {
        let (caller, request) = split(request)?;
        Ok(Response::new(self.intake.amend(&caller, request).await?))
    }

    #[tracing::instrument(skip_all)]
    async fn evaluate_eligibility(
        &self,
        request: Request<pb::EvaluateEligibilityRequest>,
    ) -> Result<pb::EligibilityDecision> {
        let (caller, request) = split(request)?;
        Ok(Response::new(self.intake.evaluate(&caller, request).await?))
    }

    #[tracing::instrument(skip_all)]
    async fn list_rule_sets(
        &self,
        request: Request<pb::ListRuleSetsRequest>,
    ) -> Result<pb::ListRuleSetsResponse> {
        let (_, request) = split(request)?;
        Ok(Response::new(self.intake.list_rule_sets(&request)?))
    }

    #[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
    async fn get_rule_set(&self, request: Request<pb::GetRuleSetRequest>) -> Result<pb::RuleSet> {
        let (_, request) = split(request)?;
        Ok(Response::new(self.intake.get_rule_set(&request)?))
    }

    #[tracing::instrument(skip_all)]
    async fn list_jurisdictions(
        &self,
        request: Request<pb::ListJurisdictionsRequest>,
    ) -> Result<pb::ListJurisdictionsResponse> {
        let (caller, _) = split(request)?;
        Ok(Response::new(self.intake.list_jurisdictions(&caller)))
    }

    type WatchEventsStream = Pin<Box<dyn Stream<Item = std::result::Result<Event, Status>> + Send>>;

    #[tracing::instrument(skip_all, fields(after_cursor = request.get_ref().after_cursor))]
    async fn watch_events(
        &self,
        request: Request<WatchEventsRequest>,
    ) -> Result<Self::WatchEventsStream> {
        let (caller, request) = split(request)?;
        let stream = self.intake.watch(&caller, request).await?;
        Ok(Response::new(Box::pin(stream)))
    }
}
