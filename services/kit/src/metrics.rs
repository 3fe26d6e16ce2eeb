//! Metrics through OpenTelemetry: per-call count, latency and errors of every
//! gRPC server, and the lag of every event consumer.
//!
//! Calls are recorded by [`crate::telemetry::TraceLayer`], which sees every
//! call with its status. Instruments are created from the global meter provider, which
//! [`crate::telemetry::init`] installs (exporting over OTLP when an endpoint is
//! configured, every `OTEL_METRIC_EXPORT_INTERVAL` milliseconds, 60 s by
//! default). Without it the instruments are no-ops.
//!
//! | Instrument | Kind | Unit | Attributes |
//! |---|---|---|---|
//! | `rpc.server.call.duration` | histogram | s | `rpc.service`, `rpc.method`, `rpc.grpc.status_code` |
//! | `rpc.server.calls` | counter | {call} | same |
//! | `rpc.server.errors` | counter | {call} | same; calls whose status is not OK |
//! | `scir.events.consumer.lag` | histogram | s | `source`; commit of an event to its application here |
//! | `scir.events.consumer.applied` | counter | {event} | `source` |
//! | `scir.pages.responses` | counter | {response} | `http.response.status_code` (no path, no client: a page may take a credential) |

use std::sync::OnceLock;
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram};

struct ServerInstruments {
    duration: Histogram<f64>,
    calls: Counter<u64>,
    errors: Counter<u64>,
}

struct ConsumerInstruments {
    lag: Histogram<f64>,
    applied: Counter<u64>,
}

fn server() -> &'static ServerInstruments {
    static INSTRUMENTS: OnceLock<ServerInstruments> = OnceLock::new();
    INSTRUMENTS.get_or_init(|| {
        let meter = opentelemetry::global::meter("scir");
        ServerInstruments {
            duration: meter
                .f64_histogram("rpc.server.call.duration")
                .with_unit("s")
                .with_description("Time from a call's arrival to its response headers.")
                .with_boundaries(vec![
                    0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    10.0,
                ])
                .build(),
            calls: meter
                .u64_counter("rpc.server.calls")
                .with_unit("{call}")
                .with_description("gRPC calls served.")
                .build(),
            errors: meter
                .u64_counter("rpc.server.errors")
                .with_unit("{call}")
                .with_description("gRPC calls answered with a status other than OK.")
                .build(),
        }
    })
}

fn consumer() -> &'static ConsumerInstruments {
    static INSTRUMENTS: OnceLock<ConsumerInstruments> = OnceLock::new();
    INSTRUMENTS.get_or_init(|| {
        let meter = opentelemetry::global::meter("scir");
        ConsumerInstruments {
            lag: meter
                .f64_histogram("scir.events.consumer.lag")
                .with_unit("s")
                .with_description(
                    "Time from an event's commit at its source to its application here.",
                )
                .with_boundaries(vec![
                    0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
                ])
                .build(),
            applied: meter
                .u64_counter("scir.events.consumer.applied")
                .with_unit("{event}")
                .with_description("Events applied from another service's stream.")
                .build(),
        }
    })
}

/// Records one page answered with `status`. Nothing else about the request
/// is kept: its path or client could tie a respondent to a time.
pub fn record_page(status: u16) {
    static RESPONSES: OnceLock<Counter<u64>> = OnceLock::new();
    RESPONSES
        .get_or_init(|| {
            opentelemetry::global::meter("scir")
                .u64_counter("scir.pages.responses")
                .with_unit("{response}")
                .with_description("HTML pages served, by status.")
                .build()
        })
        .add(
            1,
            &[KeyValue::new(
                "http.response.status_code",
                i64::from(status),
            )],
        );
}

/// Records one call.
pub fn record_call(service: &str, method: &str, code: i32, elapsed: Duration) {
    let instruments = server();
    let attributes = [
        KeyValue::new("rpc.service", service.to_owned()),
        KeyValue::new("rpc.method", method.to_owned()),
        KeyValue::new("rpc.grpc.status_code", i64::from(code)),
    ];
    instruments
        .duration
        .record(elapsed.as_secs_f64(), &attributes);
    instruments.calls.add(1, &attributes);
    if code != 0 {
        instruments.errors.add(1, &attributes);
    }
}

/// Records an event from `source` applied `lag` after its commit there.
pub fn record_applied(source: &str, lag: Duration) {
    let instruments = consumer();
    let attributes = [KeyValue::new("source", source.to_owned())];
    instruments.lag.record(lag.as_secs_f64(), &attributes);
    instruments.applied.add(1, &attributes);
}

/// The gRPC status code of a response: from its headers (unary errors are
/// trailers-only responses), 0 otherwise.
pub fn status_code<B>(response: &http::Response<B>) -> i32 {
    response
        .headers()
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
        .unwrap_or(0)
}
