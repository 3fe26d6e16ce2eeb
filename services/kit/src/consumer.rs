//! Consumes another service's event log with an exactly-once effect.
//!
//! The consumer streams `WatchEvents` from the cursor it stored last, applies
//! each event with the service's [`EventHandler`] inside a write transaction,
//! and stores the event's cursor in the same transaction. A duplicate delivery
//! (an event at or below the stored cursor) is skipped; a crash between apply
//! and commit rolls both back; a restart resumes from the stored cursor. When
//! the stream breaks, the consumer reconnects with backoff; a failing event is
//! retried, never skipped.

use std::sync::Arc;
use std::time::Duration;

use http::uri::PathAndQuery;
use scir_proto::common::v1::{Event, WatchEventsRequest};
use sqlx::AnyConnection;
use tokio::sync::watch;
use tokio_stream::StreamExt;
use tracing::Instrument;

use crate::client::ClientInterceptor;
use crate::credentials::ServiceToken;
use crate::db::{Database, DbError, now_micros};
use crate::error::ApiError;
use crate::shutdown::ShutdownSignal;

/// Applies one event of a stream, inside the consumer's transaction.
#[tonic::async_trait]
pub trait EventHandler: Send + Sync + 'static {
    /// Applies `event`. Writes go through `conn`, so they commit with the cursor.
    async fn apply(&self, conn: &mut AnyConnection, event: &Event) -> Result<(), ApiError>;

    /// Runs after the transaction that applied an event has committed.
    fn committed(&self) {}
}

/// Where a consumer reads from.
#[derive(Debug, Clone)]
pub struct Source {
    /// Name under which the cursor is stored, e.g. `intake`.
    pub name: String,
    /// Address of the service, `http://host:port`.
    pub address: String,
    /// Full gRPC path of its `WatchEvents`, e.g. `/scir.intake.v1.IntakeService/WatchEvents`.
    pub method: &'static str,
    /// Event types to receive; empty for all.
    pub types: Vec<String>,
    /// How to reach it.
    pub transport: scir_tls::Transport,
}

/// A running consumer.
#[derive(Debug, Clone)]
pub struct ConsumerHandle {
    applied: watch::Receiver<i64>,
}

impl ConsumerHandle {
    /// The cursor of the last event applied (or skipped) and committed.
    pub fn applied(&self) -> i64 {
        *self.applied.borrow()
    }

    /// Waits until the consumer has committed `cursor`, at most `timeout`.
    pub async fn wait_for(&self, cursor: i64, timeout: Duration) -> bool {
        let mut rx = self.applied.clone();
        tokio::time::timeout(timeout, rx.wait_for(|c| *c >= cursor))
            .await
            .is_ok_and(|r| r.is_ok())
    }
}

/// The stored cursor of `source` (0 before the first event).
pub async fn stored_cursor(conn: &mut AnyConnection, source: &str) -> Result<i64, DbError> {
    let cursor: Option<i64> =
        sqlx::query_scalar("SELECT position FROM consumer_cursors WHERE source = $1")
            .bind(source)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(cursor.unwrap_or(0))
}

async fn store_cursor(conn: &mut AnyConnection, source: &str, cursor: i64) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO consumer_cursors (source, position, update_time) VALUES ($1, $2, $3) \
         ON CONFLICT (source) DO UPDATE SET position = excluded.position, update_time = excluded.update_time",
    )
    .bind(source)
    .bind(cursor)
    .bind(now_micros())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Applies one delivered event exactly once in effect; returns whether it was new.
pub async fn apply_once(
    db: &Database,
    source: &str,
    handler: &dyn EventHandler,
    event: &Event,
) -> Result<bool, ApiError> {
    let mut tx = db.begin_write().await?;
    if event.cursor <= stored_cursor(&mut tx, source).await? {
        return Ok(false);
    }
    handler.apply(&mut tx, event).await?;
    store_cursor(&mut tx, source, event.cursor).await?;
    tx.commit().await?;
    handler.committed();
    Ok(true)
}

/// Starts consuming `source` in the background until `shutdown` fires.
pub fn spawn(
    db: Database,
    source: Source,
    token: ServiceToken,
    handler: Arc<dyn EventHandler>,
    mut shutdown: ShutdownSignal,
) -> ConsumerHandle {
    let (applied_tx, applied) = watch::channel(0);
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(100);
        loop {
            let run = consume(&db, &source, &token, handler.as_ref(), &applied_tx);
            let result = tokio::select! {
                result = run => result,
                _ = shutdown.fired() => return,
            };
            match result {
                Ok(()) => backoff = Duration::from_millis(100),
                Err(e) => {
                    tracing::warn!(source = %source.name, error = %e, "event stream interrupted; reconnecting");
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = shutdown.fired() => return,
            }
        }
    });
    ConsumerHandle { applied }
}

async fn consume(
    db: &Database,
    source: &Source,
    token: &ServiceToken,
    handler: &dyn EventHandler,
    applied: &watch::Sender<i64>,
) -> anyhow::Result<()> {
    let after = {
        let mut conn = db.pool().acquire().await?;
        stored_cursor(&mut conn, &source.name).await?
    };
    applied.send_replace(after);
    let channel = source.transport.channel(&source.address)?;
    let interceptor = ClientInterceptor::new(Some(&token.current()?))?;
    let mut client = tonic::client::Grpc::new(
        tonic::service::interceptor::InterceptedService::new(channel, interceptor),
    );
    client.ready().await?;
    let request = WatchEventsRequest {
        after_cursor: after,
        types: source.types.clone(),
        stop_at_end: false,
    };
    let codec = tonic_prost::ProstCodec::<WatchEventsRequest, Event>::default();
    let mut stream = client
        .server_streaming(
            tonic::Request::new(request),
            PathAndQuery::from_static(source.method),
            codec,
        )
        .await?
        .into_inner();
    tracing::info!(source = %source.name, after, "consuming events");
    while let Some(event) = stream.next().await {
        let event = event?;
        let span = tracing::info_span!("event.apply", otel.kind = "consumer", source = %source.name, event.cursor = event.cursor, event.type = %event.r#type);
        crate::telemetry::set_parent_from_traceparent(&span, &event.traceparent);
        let mut attempt = 0u32;
        loop {
            match apply_once(db, &source.name, handler, &event)
                .instrument(span.clone())
                .await
            {
                Ok(applied) => {
                    if applied {
                        crate::metrics::record_applied(&source.name, lag(&event));
                    }
                    break;
                }
                Err(e) => {
                    attempt += 1;
                    tracing::error!(source = %source.name, cursor = event.cursor, attempt, error = %e, "applying an event failed; retrying");
                    tokio::time::sleep(Duration::from_millis(200) * attempt.min(50)).await;
                }
            }
        }
        applied.send_replace(event.cursor);
    }
    anyhow::bail!("the event stream ended")
}

/// Time since `event` committed at its source (zero when it has no commit
/// time or the clocks disagree).
fn lag(event: &Event) -> Duration {
    let Some(committed) = event.create_time.as_ref() else {
        return Duration::ZERO;
    };
    let committed = committed.seconds * 1_000_000 + i64::from(committed.nanos) / 1_000;
    Duration::from_micros(u64::try_from(now_micros() - committed).unwrap_or(0))
}
