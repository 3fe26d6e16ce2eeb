//! The gRPC adapter of the insights service.

use std::pin::Pin;

use scir_kit::ApiError;
use scir_kit::auth::split;
use scir_proto::insights::v1 as pb;
use scir_proto::insights::v1::insights_service_server::InsightsService;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use crate::domain::export;
use crate::service::Insights;

/// Rows per CSV chunk.
const CSV_ROWS_PER_CHUNK: usize = 200;

/// `scir.insights.v1.InsightsService` over [`Insights`].
#[derive(Debug, Clone)]
pub struct InsightsGrpc {
    insights: Insights,
}

impl InsightsGrpc {
    /// The adapter.
    pub fn new(insights: Insights) -> Self {
        Self { insights }
    }
}

type Result<T> = std::result::Result<Response<T>, Status>;

#[tonic::async_trait]
impl InsightsService for InsightsGrpc {
    #[tracing::instrument(skip_all, fields(question = request.get_ref().question))]
    async fn ask(&self, request: Request<pb::AskRequest>) -> Result<pb::Table> {
        let (caller, r) = split(request)?;
        Ok(Response::new(
            self.insights.ask(&caller, caller.method, &r).await?,
        ))
    }

    type ExportCsvStream =
        Pin<Box<dyn Stream<Item = std::result::Result<pb::CsvChunk, Status>> + Send>>;

    #[tracing::instrument(skip_all, fields(question = request.get_ref().question))]
    async fn export_csv(&self, request: Request<pb::AskRequest>) -> Result<Self::ExportCsvStream> {
        let (caller, r) = split(request)?;
        let table = self.insights.ask(&caller, caller.method, &r).await?;
        let mut chunks = vec![pb::CsvChunk {
            text: export::csv_header(&table),
        }];
        for rows in table.rows.chunks(CSV_ROWS_PER_CHUNK) {
            chunks.push(pb::CsvChunk {
                text: rows.iter().map(export::csv_row).collect(),
            });
        }
        Ok(Response::new(Box::pin(tokio_stream::iter(
            chunks.into_iter().map(Ok),
        ))))
    }

    #[tracing::instrument(skip_all, fields(question = request.get_ref().question))]
    async fn render_chart(&self, request: Request<pb::AskRequest>) -> Result<pb::Chart> {
        let (caller, r) = split(request)?;
        let table = self.insights.ask(&caller, caller.method, &r).await?;
        let svg = export::svg(&table).ok_or_else(|| {
            ApiError::invalid(
                "question",
                "charts are drawn for prevalence, trend and co-occurrence questions",
            )
        })?;
        Ok(Response::new(pb::Chart { svg }))
    }

    #[tracing::instrument(skip_all, fields(jurisdiction = %request.get_ref().jurisdiction))]
    async fn get_operational_view(
        &self,
        request: Request<pb::GetOperationalViewRequest>,
    ) -> Result<pb::OperationalView> {
        let (caller, r) = split(request)?;
        Ok(Response::new(
            self.insights
                .operational(&caller, caller.method, &r.jurisdiction)
                .await?,
        ))
    }
}
