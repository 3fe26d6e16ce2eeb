//! The transactional outbox and the `WatchEvents` stream that serves it.
//!
//! A service appends an event with [`append`] in the same transaction as the
//! change it describes, then calls [`EventLog::notify`] after commit to wake
//! local watchers (other replicas notice by polling). On PostgreSQL appends take
//! the per-database write lock, so sequence numbers become visible in order and
//! a reader that has seen cursor N never later finds a committed event below N.

use std::time::Duration;

use prost::{Message, Name};
use scir_proto::common::v1::{Event, WatchEventsRequest};
use sqlx::AnyConnection;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use crate::db::{Backend, Database, DbError, Proto, now_micros, timestamp_from_micros};
use crate::error::ApiError;
use crate::shutdown::ShutdownSignal;
use crate::statement::Statement;

/// Events read per query while replaying.
const BATCH: i64 = 256;
/// How often a live watcher looks for events committed by other replicas.
const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// A stream of events, as `WatchEvents` answers.
pub type EventStream = ReceiverStream<Result<Event, Status>>;

/// An event to append.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// Resource name of the subject.
    pub subject: String,
    /// Owning jurisdiction.
    pub jurisdiction: String,
    /// The protobuf message; its full name becomes the event type.
    pub payload: prost_types::Any,
}

impl NewEvent {
    /// An event whose payload is `message`; its type is the message's own
    /// full protobuf name, so the two cannot disagree.
    pub fn of<M: Message + Name>(subject: String, jurisdiction: String, message: &M) -> Self {
        Self::with_payload(subject, jurisdiction, payload(message))
    }

    /// An event with a payload made by [`payload`].
    pub fn with_payload(subject: String, jurisdiction: String, payload: prost_types::Any) -> Self {
        Self {
            subject,
            jurisdiction,
            payload,
        }
    }

    fn event_type(&self) -> &str {
        self.payload.type_url.rsplit('/').next().unwrap_or_default()
    }
}

/// A message as an event payload, typed by its own full protobuf name.
pub fn payload<M: Message + Name>(message: &M) -> prost_types::Any {
    prost_types::Any {
        type_url: format!("type.googleapis.com/{}", M::full_name()),
        value: message.encode_to_vec(),
    }
}

/// The event type of messages `M` (their full protobuf name), for subscriptions.
pub fn type_of<M: Name>() -> String {
    M::full_name()
}

/// The payload of `event` as an `M`, when the event is of `M`'s type (`None`
/// otherwise); a payload that does not decode is an error, never skipped.
pub fn decode<M: Message + Name + Default>(event: &Event) -> Option<Result<M, ApiError>> {
    (event.r#type == M::full_name()).then(|| {
        let bytes = event
            .payload
            .as_ref()
            .map(|p| p.value.as_slice())
            .unwrap_or_default();
        M::decode(bytes).map_err(|e| {
            ApiError::internal(anyhow::anyhow!(
                "event {} does not decode: {e}",
                event.r#type
            ))
        })
    })
}

/// The error for an event a consumer subscribed to but has no handler for.
pub fn unhandled(event: &Event) -> ApiError {
    ApiError::internal(anyhow::anyhow!(
        "event type {} is subscribed to but has no handler",
        event.r#type
    ))
}

/// Appends an event inside the caller's transaction.
pub async fn append(
    conn: &mut AnyConnection,
    backend: Backend,
    event: &NewEvent,
) -> Result<(), DbError> {
    outbox_row(backend, event).execute(conn).await
}

/// The outbox row for `event`, with its id, time and the current trace.
pub(crate) fn outbox_row(backend: Backend, event: &NewEvent) -> Statement {
    let sql = match backend {
        // The write lock in the same statement, one round trip fewer while it
        // is held: the FROM item (volatile, so never pulled up) takes the lock
        // before the row, and with it the `seq` default, is made. No snapshot
        // concern here, unlike the audit append: nothing is read.
        Backend::Postgres => {
            "INSERT INTO events (event_id, event_type, subject, jurisdiction, create_time, \
             traceparent, payload) SELECT $1, $2, $3, $4, $5, $6, $7 \
             FROM (SELECT pg_advisory_xact_lock($8)) AS write_lock"
        }
        // SQLite: the transaction holds the write lock from BEGIN IMMEDIATE.
        Backend::Sqlite => {
            "INSERT INTO events (event_id, event_type, subject, jurisdiction, create_time, \
             traceparent, payload) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        }
    };
    let row = Statement::new(sql)
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(event.event_type())
        .bind(&event.subject)
        .bind(&event.jurisdiction)
        .bind(now_micros())
        .bind(crate::telemetry::current_traceparent())
        .bind(event.payload.encode_to_vec());
    match backend {
        Backend::Postgres => row.bind(crate::audit::WRITE_LOCK_KEY),
        Backend::Sqlite => row,
    }
}

/// A service's event log, served to other services.
#[derive(Debug, Clone)]
pub struct EventLog {
    db: Database,
    committed: watch::Sender<u64>,
    shutdown: ShutdownSignal,
}

impl EventLog {
    /// The log in `db`; streams end when `shutdown` fires.
    pub fn new(db: Database, shutdown: ShutdownSignal) -> Self {
        Self {
            db,
            committed: watch::channel(0).0,
            shutdown,
        }
    }

    /// Wakes local watchers after a transaction with events has committed.
    pub fn notify(&self) {
        self.committed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// The database the log is in.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Begins a unit of work whose events go to this log.
    pub async fn begin(&self) -> Result<crate::unit::UnitOfWork, DbError> {
        crate::unit::UnitOfWork::begin_with(self).await
    }

    /// Changes each time a transaction with events commits here.
    pub fn committed(&self) -> watch::Receiver<u64> {
        self.committed.subscribe()
    }

    /// Reads up to `limit` events after `after`, oldest first.
    pub async fn read(&self, after: i64, limit: i64) -> Result<Vec<Event>, DbError> {
        let rows: Vec<EventRow> = sqlx::query_as(
            "SELECT seq, event_id, event_type, subject, jurisdiction, create_time, traceparent, payload \
             FROM events WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?;
        Ok(rows.into_iter().map(Event::from).collect())
    }

    /// [`Self::watch`] for `caller`, recorded in `audit` as `method` on the
    /// service's events.
    pub async fn watch_for(
        &self,
        audit: &crate::audit::AuditLog,
        caller: &crate::auth::Caller,
        method: &str,
        request: WatchEventsRequest,
    ) -> Result<EventStream, ApiError> {
        let stream = self.watch(request)?;
        audit
            .record(crate::audit::AuditRecord::by(
                caller, method, "events", "", "ok",
            ))
            .await?;
        Ok(stream)
    }

    /// Serves `WatchEvents`: replays after the cursor, then follows live unless
    /// `stop_at_end`. The stream ends with `UNAVAILABLE` when the server shuts
    /// down, so consumers reconnect elsewhere.
    pub fn watch(&self, request: WatchEventsRequest) -> Result<EventStream, ApiError> {
        if request.after_cursor < 0 {
            return Err(ApiError::invalid("after_cursor", "must not be negative"));
        }
        let (tx, rx) = mpsc::channel(BATCH as usize);
        let log = self.clone();
        let mut committed = self.committed.subscribe();
        let mut shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            let mut cursor = request.after_cursor;
            loop {
                let batch = match log.read(cursor, BATCH).await {
                    Ok(batch) => batch,
                    Err(e) => {
                        let _ = tx.send(Err(Status::from(ApiError::from(e)))).await;
                        return;
                    }
                };
                let caught_up = (batch.len() as i64) < BATCH;
                for event in batch {
                    cursor = event.cursor;
                    if !request.types.is_empty() && !request.types.contains(&event.r#type) {
                        continue;
                    }
                    if tx.send(Ok(event)).await.is_err() {
                        return; // the client went away
                    }
                }
                if !caught_up {
                    continue;
                }
                if request.stop_at_end {
                    return;
                }
                tokio::select! {
                    _ = committed.changed() => {}
                    _ = tokio::time::sleep(POLL_INTERVAL) => {}
                    _ = tx.closed() => return,
                    _ = shutdown.fired() => {
                        let _ = tx
                            .send(Err(Status::from(ApiError::Unavailable {
                                message: "the server is shutting down".to_owned(),
                                retry_after: Duration::from_secs(1),
                            })))
                            .await;
                        return;
                    }
                }
            }
        });
        Ok(ReceiverStream::new(rx))
    }
}

/// An event as stored.
#[derive(sqlx::FromRow)]
struct EventRow {
    seq: i64,
    event_id: String,
    event_type: String,
    subject: String,
    jurisdiction: String,
    create_time: i64,
    traceparent: String,
    payload: Proto<prost_types::Any>,
}

impl From<EventRow> for Event {
    fn from(row: EventRow) -> Self {
        Self {
            cursor: row.seq,
            event_id: row.event_id,
            r#type: row.event_type,
            subject: row.subject,
            jurisdiction: row.jurisdiction,
            create_time: Some(timestamp_from_micros(row.create_time)),
            traceparent: row.traceparent,
            payload: Some(row.payload.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use scir_proto::intake::v1::{IncidentAmended, IncidentReported};

    use super::*;

    #[test]
    fn an_events_type_is_its_payloads_own_name_and_decoding_never_skips() {
        let new = NewEvent::of(
            "jurisdictions/us-wi/incidents/1".into(),
            "us-wi".into(),
            &IncidentReported::default(),
        );
        assert_eq!(
            new.payload.type_url,
            "type.googleapis.com/scir.intake.v1.IncidentReported"
        );
        assert_eq!(new.event_type(), type_of::<IncidentReported>());
        let event = Event {
            r#type: new.event_type().to_owned(),
            payload: Some(new.payload.clone()),
            ..Default::default()
        };
        assert!(decode::<IncidentReported>(&event).is_some_and(|r| r.is_ok()));
        assert!(decode::<IncidentAmended>(&event).is_none());
        let garbled = Event {
            payload: Some(prost_types::Any {
                value: vec![0xff, 0xff, 0xff],
                ..new.payload
            }),
            ..event.clone()
        };
        assert!(
            decode::<IncidentReported>(&garbled).is_some_and(|r| r.is_err()),
            "a payload that does not decode is an error"
        );
        assert_eq!(unhandled(&event).code(), tonic::Code::Internal);
    }
}
