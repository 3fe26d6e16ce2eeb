//! Telemetry: `tracing` for logs and spans, OpenTelemetry for traces.
//!
//! Spans always carry an OpenTelemetry trace id (so audit records and events can
//! name the trace), but spans are exported only when `OTEL_EXPORTER_OTLP_ENDPOINT`
//! is set. The W3C `traceparent` header is extracted on every incoming call by
//! [`TraceLayer`] and injected on every outgoing call by
//! [`crate::client::ClientInterceptor`], and stored with every event, so one
//! incident's journey is one trace across services and event streams.
//! Metrics ([`crate::metrics`]) are exported to the same endpoint.

use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::Duration;

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines, for terminals.
    Text,
    /// One JSON object per line, for containers.
    Json,
}

/// Telemetry settings.
#[derive(Debug, Clone, clap::Args)]
pub struct TelemetryConfig {
    /// Log format.
    #[arg(
        long = "log-format",
        env = "SCIR_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    pub log_format: LogFormat,
    /// Log filter in `tracing` syntax (RUST_LOG is read too).
    #[arg(long = "log-filter", env = "SCIR_LOG", default_value = "info")]
    pub log_filter: String,
    /// OTLP/gRPC endpoint that receives traces; tracing is not exported when unset.
    #[arg(long = "otlp-endpoint", env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
    /// Fraction of new traces to sample, 0.0 to 1.0 (calls with a sampled parent
    /// are always sampled).
    #[arg(
        long = "trace-sample-ratio",
        env = "SCIR_TRACE_SAMPLE_RATIO",
        default_value_t = 1.0
    )]
    pub sample_ratio: f64,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            log_format: LogFormat::Text,
            log_filter: "info".to_owned(),
            otlp_endpoint: None,
            sample_ratio: 1.0,
        }
    }
}

/// Flushes and shuts down trace and metric export when dropped.
#[derive(Debug)]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
    meters: Option<SdkMeterProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            let _ = provider.force_flush();
            let _ = provider.shutdown_with_timeout(Duration::from_secs(5));
        }
        if let Some(meters) = self.meters.take() {
            let _ = meters.force_flush();
            let _ = meters.shutdown_with_timeout(Duration::from_secs(5));
        }
    }
}

static INSTALLED: OnceLock<()> = OnceLock::new();

/// Installs the global subscriber once per process; later calls do nothing but
/// return an empty guard. Must run inside the tokio runtime (the OTLP exporter
/// needs it).
pub fn init(service_name: &str, config: &TelemetryConfig) -> anyhow::Result<TelemetryGuard> {
    if INSTALLED.set(()).is_err() {
        return Ok(TelemetryGuard {
            provider: None,
            meters: None,
        });
    }
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(service_name.to_owned())
        .build();
    let mut builder = SdkTracerProvider::builder()
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            config.sample_ratio.clamp(0.0, 1.0),
        ))))
        .with_resource(resource.clone());
    let exporting = config
        .otlp_endpoint
        .as_deref()
        .is_some_and(|e| !e.is_empty());
    if let Some(endpoint) = config.otlp_endpoint.as_deref().filter(|e| !e.is_empty()) {
        use opentelemetry_otlp::WithExportConfig;
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .with_timeout(Duration::from_secs(3))
            .build()?;
        builder = builder.with_batch_exporter(exporter);
    }
    let meters = match config.otlp_endpoint.as_deref().filter(|e| !e.is_empty()) {
        Some(endpoint) => {
            use opentelemetry_otlp::WithExportConfig;
            let exporter = opentelemetry_otlp::MetricExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint)
                .with_timeout(Duration::from_secs(3))
                .build()?;
            let meters = SdkMeterProvider::builder()
                .with_resource(resource)
                .with_periodic_exporter(exporter)
                .build();
            opentelemetry::global::set_meter_provider(meters.clone());
            Some(meters)
        }
        None => None,
    };
    let provider = builder.build();
    let tracer = provider.tracer("scir");

    let filter = EnvFilter::try_from_env("RUST_LOG")
        .or_else(|_| EnvFilter::try_new(&config.log_filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    // The exporter's own transport must not be traced, or it traces itself.
    let otel_filter = tracing_subscriber::filter::Targets::new()
        .with_default(tracing::Level::TRACE)
        .with_target("tonic", tracing::Level::ERROR)
        .with_target("h2", tracing::Level::ERROR)
        .with_target("hyper", tracing::Level::ERROR)
        .with_target("hyper_util", tracing::Level::ERROR)
        .with_target("tower", tracing::Level::ERROR)
        .with_target("opentelemetry", tracing::Level::ERROR)
        .with_target("opentelemetry_sdk", tracing::Level::ERROR)
        .with_target("opentelemetry_otlp", tracing::Level::ERROR)
        .with_target("sqlx", tracing::Level::ERROR);
    let otel = tracing_opentelemetry::layer().with_tracer(tracer);
    use tracing_subscriber::Layer as _;
    let registry = tracing_subscriber::registry().with(otel.with_filter(otel_filter));
    match config.log_format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_filter(filter),
            )
            .try_init()?,
        LogFormat::Text => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_target(false)
                    .with_filter(filter),
            )
            .try_init()?,
    }
    tracing::debug!(exporting, "telemetry initialised");
    Ok(TelemetryGuard {
        provider: Some(provider),
        meters,
    })
}

fn propagator() -> &'static TraceContextPropagator {
    static PROPAGATOR: OnceLock<TraceContextPropagator> = OnceLock::new();
    PROPAGATOR.get_or_init(TraceContextPropagator::new)
}

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

struct HeaderInjector<'a>(&'a mut http::HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(key.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

struct SingleExtractor<'a>(&'a str);

impl Extractor for SingleExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        (key == "traceparent").then_some(self.0)
    }
    fn keys(&self) -> Vec<&str> {
        vec!["traceparent"]
    }
}

/// Injects the current span's trace context into outgoing headers.
pub fn inject_current(headers: &mut http::HeaderMap) {
    let cx = tracing::Span::current().context();
    propagator().inject_context(&cx, &mut HeaderInjector(headers));
}

/// The current span's `traceparent` value, or empty when there is no valid trace.
pub fn current_traceparent() -> String {
    let mut headers = http::HeaderMap::new();
    inject_current(&mut headers);
    headers
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The current span's trace id in hex, or empty.
pub fn current_trace_id() -> String {
    let cx = tracing::Span::current().context();
    let span = cx.span();
    let sc = span.span_context();
    if sc.is_valid() {
        sc.trace_id().to_string()
    } else {
        String::new()
    }
}

/// Makes `span` a child of the trace a `traceparent` value names (as when an
/// event from another service is applied). Invalid values are ignored.
pub fn set_parent_from_traceparent(span: &tracing::Span, traceparent: &str) {
    if traceparent.is_empty() {
        return;
    }
    let cx = propagator().extract(&SingleExtractor(traceparent));
    if cx.span().span_context().is_valid() {
        let _ = span.set_parent(cx);
    }
}

/// A tower layer that opens a server span for every gRPC call, continuing the
/// caller's trace from its `traceparent` header, and records the call's
/// metrics ([`crate::metrics::record_call`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct TraceLayer;

impl<S> tower::Layer<S> for TraceLayer {
    type Service = TraceService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        TraceService { inner }
    }
}

/// The service of [`TraceLayer`].
#[derive(Debug, Clone)]
pub struct TraceService<S> {
    inner: S,
}

impl<S, B, R> tower::Service<http::Request<B>> for TraceService<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let started = std::time::Instant::now();
        let path = request.uri().path();
        let (service, method) = path
            .trim_start_matches('/')
            .split_once('/')
            .unwrap_or((path, ""));
        let names = (service.to_owned(), method.to_owned());
        let span = tracing::info_span!(
            "grpc.server",
            otel.name = %path.trim_start_matches('/'),
            otel.kind = "server",
            rpc.system = "grpc",
            rpc.service = %service,
            rpc.method = %method,
            rpc.grpc.status_code = tracing::field::Empty,
        );
        let parent = propagator().extract(&HeaderExtractor(request.headers()));
        if parent.span().span_context().is_valid() {
            let _ = span.set_parent(parent);
        }
        let future = {
            let _entered = span.enter();
            self.inner.call(request)
        };
        let record_span = span.clone();
        Box::pin(
            async move {
                let result = future.await;
                // Unary errors come back as trailers-only responses with the status in
                // the headers; successful and streaming calls report 0 here. A
                // transport-level failure has no gRPC status: UNKNOWN.
                let code = result.as_ref().map_or(2, crate::metrics::status_code);
                record_span.record("rpc.grpc.status_code", code);
                crate::metrics::record_call(&names.0, &names.1, code, started.elapsed());
                result
            }
            .instrument(span),
        )
    }
}
