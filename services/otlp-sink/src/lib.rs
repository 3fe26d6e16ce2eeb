//! A small OTLP/gRPC receiver: it accepts trace and metric exports and keeps
//! what it received (so a test can ask which services took part in a trace), or
//! only counts and logs it (as a stand-in collector).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;

/// One received span.
#[derive(Debug, Clone)]
pub struct Span {
    /// `service.name` of the exporting process.
    pub service: String,
    /// Span name.
    pub name: String,
    /// Trace id in hex.
    pub trace_id: String,
    /// String attributes.
    pub attributes: Vec<(String, String)>,
}

/// One received metric data point series.
#[derive(Debug, Clone)]
pub struct Metric {
    /// `service.name` of the exporting process.
    pub service: String,
    /// Instrument name.
    pub name: String,
}

#[derive(Debug, Default)]
struct Received {
    keep: bool,
    spans: Vec<Span>,
    metrics: Vec<Metric>,
    span_count: usize,
    metric_count: usize,
}

/// The receiver; keeps running until dropped.
#[derive(Debug)]
pub struct Receiver {
    /// Its endpoint, `http://127.0.0.1:port`.
    pub endpoint: String,
    received: Arc<Mutex<Received>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Clone)]
struct Sink(Arc<Mutex<Received>>);

fn text(value: Option<&AnyValue>) -> String {
    match value.and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        _ => String::new(),
    }
}

fn attributes(list: &[KeyValue]) -> Vec<(String, String)> {
    list.iter()
        .map(|kv| (kv.key.clone(), text(kv.value.as_ref())))
        .collect()
}

fn service_name(resource: Option<&Resource>) -> String {
    resource
        .map(|r| attributes(&r.attributes))
        .unwrap_or_default()
        .into_iter()
        .find(|(k, _)| k == "service.name")
        .map(|(_, v)| v)
        .unwrap_or_default()
}

#[tonic::async_trait]
impl TraceService for Sink {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut received = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for resource_spans in request.into_inner().resource_spans {
            let service = service_name(resource_spans.resource.as_ref());
            let mut count = 0;
            for scope in resource_spans.scope_spans {
                count += scope.spans.len();
                if !received.keep {
                    continue;
                }
                for span in scope.spans {
                    received.spans.push(Span {
                        service: service.clone(),
                        name: span.name,
                        trace_id: hex::encode(&span.trace_id),
                        attributes: attributes(&span.attributes),
                    });
                }
            }
            received.span_count += count;
            if !received.keep {
                println!("traces: {count} spans from {service}");
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Sink {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        let mut received = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for resource_metrics in request.into_inner().resource_metrics {
            let service = service_name(resource_metrics.resource.as_ref());
            let mut count = 0;
            for scope in resource_metrics.scope_metrics {
                count += scope.metrics.len();
                if !received.keep {
                    continue;
                }
                for metric in scope.metrics {
                    received.metrics.push(Metric {
                        service: service.clone(),
                        name: metric.name,
                    });
                }
            }
            received.metric_count += count;
            if !received.keep {
                println!("metrics: {count} series from {service}");
            }
        }
        Ok(tonic::Response::new(ExportMetricsServiceResponse::default()))
    }
}

impl Receiver {
    /// Starts a receiver on a free loopback port that keeps everything it receives.
    pub async fn start() -> Self {
        Self::start_on("127.0.0.1:0", true)
            .await
            .unwrap_or_else(|e| panic!("OTLP receiver: {e}"))
    }

    /// Starts a receiver on `address`; with `keep` false it only counts and logs.
    pub async fn start_on(address: &str, keep: bool) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(address).await?;
        let address: SocketAddr = listener.local_addr()?;
        let received = Arc::new(Mutex::new(Received {
            keep,
            ..Received::default()
        }));
        let sink = Sink(received.clone());
        let task = tokio::spawn(async move {
            let _ = tonic::transport::Server::builder()
                .add_service(TraceServiceServer::new(sink.clone()))
                .add_service(MetricsServiceServer::new(sink))
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
                .await;
        });
        Ok(Self {
            endpoint: format!("http://{address}"),
            received,
            task,
        })
    }

    /// Spans and metric series received so far (also when not kept).
    pub fn counts(&self) -> (usize, usize) {
        let received = self.received.lock().unwrap_or_else(|e| e.into_inner());
        (received.span_count, received.metric_count)
    }

    /// Spans received so far.
    pub fn spans(&self) -> Vec<Span> {
        self.received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .spans
            .clone()
    }

    /// Metrics received so far.
    pub fn metrics(&self) -> Vec<Metric> {
        self.received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .metrics
            .clone()
    }
}
