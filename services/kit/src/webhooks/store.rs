//! Webhook endpoints and failed deliveries in the service's own database.

use scir_proto::webhooks::v1 as pb;
use sqlx::AnyConnection;

use crate::db::{Database, DbError, now_micros, timestamp_from_micros};

/// A registered endpoint, as stored.
#[derive(Clone)]
pub struct Endpoint {
    /// Its id (a UUID).
    pub id: String,
    /// The jurisdiction that registered it.
    pub jurisdiction: String,
    /// Where deliveries go.
    pub url: String,
    /// The event types it wants; empty: all.
    pub event_types: Vec<String>,
    /// The signing key, sealed.
    pub secret: Vec<u8>,
    /// Active or disabled.
    pub state: pb::WebhookState,
    /// Why it was disabled.
    pub disabled_reason: String,
    /// The last event delivered or passed over.
    pub delivered_cursor: i64,
    /// Failed attempts since the last success.
    pub consecutive_failures: i32,
    /// Not before this (microseconds since the epoch).
    pub next_attempt_time: i64,
    /// When it was registered.
    pub create_time: i64,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("id", &self.id)
            .field("jurisdiction", &self.jurisdiction)
            .field("state", &self.state)
            .field("delivered_cursor", &self.delivered_cursor)
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    /// Its resource name.
    pub fn name(&self) -> String {
        crate::names::WebhookName::new(self.jurisdiction.as_str(), self.id.as_str()).to_string()
    }

    /// Whether it wants events of `kind`.
    pub fn wants(&self, kind: &str) -> bool {
        self.event_types.is_empty() || self.event_types.iter().any(|t| t == kind)
    }

    /// As the contract shows it (never with its secret).
    pub fn to_proto(&self) -> pb::Webhook {
        pb::Webhook {
            name: self.name(),
            url: self.url.clone(),
            event_types: self.event_types.clone(),
            state: self.state as i32,
            disabled_reason: self.disabled_reason.clone(),
            delivered_cursor: self.delivered_cursor,
            consecutive_failures: self.consecutive_failures,
            create_time: Some(timestamp_from_micros(self.create_time)),
        }
    }
}

/// An endpoint as stored: event types comma-separated, the state's number.
#[derive(sqlx::FromRow)]
struct EndpointRow {
    id: String,
    jurisdiction: String,
    url: String,
    event_types: String,
    secret: Vec<u8>,
    state: i32,
    disabled_reason: String,
    delivered_cursor: i64,
    consecutive_failures: i32,
    next_attempt_time: i64,
    create_time: i64,
}

impl From<EndpointRow> for Endpoint {
    fn from(row: EndpointRow) -> Self {
        Self {
            id: row.id,
            jurisdiction: row.jurisdiction,
            url: row.url,
            event_types: row
                .event_types
                .split(',')
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect(),
            secret: row.secret,
            state: pb::WebhookState::try_from(row.state).unwrap_or(pb::WebhookState::Disabled),
            disabled_reason: row.disabled_reason,
            delivered_cursor: row.delivered_cursor,
            consecutive_failures: row.consecutive_failures,
            next_attempt_time: row.next_attempt_time,
            create_time: row.create_time,
        }
    }
}

/// The columns of `webhooks`, in [`EndpointRow`]'s order.
macro_rules! columns {
    () => {
        "id, jurisdiction, url, event_types, secret, state, disabled_reason, \
         delivered_cursor, consecutive_failures, next_attempt_time, create_time"
    };
}

/// Stores a new endpoint.
pub(super) async fn insert(conn: &mut AnyConnection, e: &Endpoint) -> Result<(), DbError> {
    sqlx::query(concat!(
        "INSERT INTO webhooks (",
        columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    ))
    .bind(&e.id)
    .bind(&e.jurisdiction)
    .bind(&e.url)
    .bind(e.event_types.join(","))
    .bind(&e.secret)
    .bind(e.state as i32)
    .bind(&e.disabled_reason)
    .bind(e.delivered_cursor)
    .bind(e.consecutive_failures)
    .bind(e.next_attempt_time)
    .bind(e.create_time)
    .execute(conn)
    .await?;
    Ok(())
}

/// One endpoint by id.
pub(super) async fn get(db: &Database, id: &str) -> Result<Option<Endpoint>, DbError> {
    let row = sqlx::query_as::<_, EndpointRow>(concat!(
        "SELECT ",
        columns!(),
        " FROM webhooks WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(Endpoint::from))
}

/// A jurisdiction's endpoints, oldest first.
pub(super) async fn list(db: &Database, jurisdiction: &str) -> Result<Vec<Endpoint>, DbError> {
    let rows = sqlx::query_as::<_, EndpointRow>(concat!(
        "SELECT ",
        columns!(),
        " FROM webhooks WHERE jurisdiction = $1 ORDER BY create_time, id"
    ))
    .bind(jurisdiction)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(Endpoint::from).collect())
}

/// How many endpoints a jurisdiction has.
pub(super) async fn count(db: &Database, jurisdiction: &str) -> Result<usize, DbError> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM webhooks WHERE jurisdiction = $1")
        .bind(jurisdiction)
        .fetch_one(db.pool())
        .await?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// Active endpoints whose next attempt is due.
pub(super) async fn due(db: &Database, now: i64) -> Result<Vec<Endpoint>, DbError> {
    let rows = sqlx::query_as::<_, EndpointRow>(concat!(
        "SELECT ",
        columns!(),
        " FROM webhooks WHERE state = $1 AND next_attempt_time <= $2 ORDER BY id"
    ))
    .bind(pb::WebhookState::Active as i32)
    .bind(now)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(Endpoint::from).collect())
}

/// The newest event's cursor, 0 when there is none.
pub(super) async fn last_cursor(db: &Database) -> Result<i64, DbError> {
    let last: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM events")
        .fetch_one(db.pool())
        .await?;
    Ok(last.unwrap_or(0))
}

/// Removes an endpoint and its failures.
pub(super) async fn delete(conn: &mut AnyConnection, id: &str) -> Result<(), DbError> {
    sqlx::query("DELETE FROM webhook_failures WHERE webhook_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM webhooks WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Turns an endpoint on, due now; with `cursor`, delivery restarts after it.
pub(super) async fn enable(
    conn: &mut AnyConnection,
    id: &str,
    cursor: Option<i64>,
) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE webhooks SET state = $2, disabled_reason = '', consecutive_failures = 0, \
         next_attempt_time = 0 WHERE id = $1",
    )
    .bind(id)
    .bind(pb::WebhookState::Active as i32)
    .execute(&mut *conn)
    .await?;
    if let Some(cursor) = cursor {
        sqlx::query("UPDATE webhooks SET delivered_cursor = $2 WHERE id = $1")
            .bind(id)
            .bind(cursor)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Moves an endpoint's cursor from `from` to `to` after a delivery (or past
/// unwanted events), unless something (a replay) moved it meanwhile.
pub(super) async fn advance(db: &Database, id: &str, from: i64, to: i64) -> Result<bool, DbError> {
    let mut tx = db.begin_write().await?;
    let moved = sqlx::query(
        "UPDATE webhooks SET delivered_cursor = $3, consecutive_failures = 0 \
         WHERE id = $1 AND delivered_cursor = $2",
    )
    .bind(id)
    .bind(from)
    .bind(to)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if moved {
        sqlx::query(
            "UPDATE webhook_failures SET delivered = 1 \
             WHERE webhook_id = $1 AND cursor > $2 AND cursor <= $3",
        )
        .bind(id)
        .bind(from)
        .bind(to)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(moved)
}

/// What a failed attempt leaves: the failure, the next attempt's time, and
/// the endpoint disabled with `disable` as the reason if it is given.
#[derive(Debug)]
pub(super) struct Failure<'a> {
    pub(super) id: &'a str,
    pub(super) cursor: i64,
    pub(super) event_id: &'a str,
    pub(super) event_type: &'a str,
    pub(super) error: &'a str,
    pub(super) next_attempt_time: i64,
    pub(super) disable: Option<String>,
}

/// Records a failed attempt.
pub(super) async fn failed(db: &Database, f: &Failure<'_>) -> Result<(), DbError> {
    let now = now_micros();
    let mut tx = db.begin_write().await?;
    let updated = sqlx::query(
        "UPDATE webhook_failures SET attempts = attempts + 1, last_error = $3, \
         last_attempt_time = $4, delivered = 0 WHERE webhook_id = $1 AND cursor = $2",
    )
    .bind(f.id)
    .bind(f.cursor)
    .bind(f.error)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated == 0 {
        sqlx::query(
            "INSERT INTO webhook_failures (webhook_id, cursor, event_id, event_type, attempts, \
             last_error, last_attempt_time, delivered) VALUES ($1, $2, $3, $4, 1, $5, $6, 0)",
        )
        .bind(f.id)
        .bind(f.cursor)
        .bind(f.event_id)
        .bind(f.event_type)
        .bind(f.error)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    let (state, reason) = match &f.disable {
        Some(reason) => (pb::WebhookState::Disabled, reason.as_str()),
        None => (pb::WebhookState::Active, ""),
    };
    sqlx::query(
        "UPDATE webhooks SET consecutive_failures = consecutive_failures + 1, \
         next_attempt_time = $2, state = $3, disabled_reason = $4 WHERE id = $1",
    )
    .bind(f.id)
    .bind(f.next_attempt_time)
    .bind(state as i32)
    .bind(reason)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// An endpoint's failed deliveries, newest first.
pub(super) async fn failures(
    db: &Database,
    id: &str,
    limit: i64,
) -> Result<Vec<pb::FailedDelivery>, DbError> {
    let rows = sqlx::query_as::<_, FailureRow>(
        "SELECT cursor, event_id, event_type, attempts, last_error, last_attempt_time, delivered \
         FROM webhook_failures WHERE webhook_id = $1 ORDER BY cursor DESC LIMIT $2",
    )
    .bind(id)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| pb::FailedDelivery {
            cursor: row.cursor,
            event_id: row.event_id,
            event_type: row.event_type,
            attempts: row.attempts,
            last_error: row.last_error,
            last_attempt_time: Some(timestamp_from_micros(row.last_attempt_time)),
            delivered: row.delivered != 0,
        })
        .collect())
}

/// A failed delivery as stored.
#[derive(sqlx::FromRow)]
struct FailureRow {
    cursor: i64,
    event_id: String,
    event_type: String,
    attempts: i32,
    last_error: String,
    last_attempt_time: i64,
    delivered: i32,
}
