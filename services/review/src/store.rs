//! Review's storage: reviews, their parts and their history. Functions take a
//! connection so that reads and writes can share the caller's transaction.

use crate::service::TEAM;
use prost::Message;
use scir_kit::db::{DbError, Proto};
use scir_kit::statement::Statement;
use scir_proto::review::v1::Review;
use sqlx::{AnyConnection, AssertSqlSafe};

/// A stored review.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredReview {
    /// Ordering key.
    pub seq: i64,
    /// Id.
    pub id: String,
    /// Owning jurisdiction.
    pub jurisdiction: String,
    /// Incident resource name.
    pub incident: String,
    /// Version, for optimistic concurrency.
    pub version: i32,
    /// The review as stored (computed fields filled on read).
    pub body: Proto<Review>,
    /// Creation time, microseconds.
    pub create_time: i64,
    /// Last change, microseconds.
    pub update_time: i64,
}

/// A stored part of a review.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredItem {
    /// Ordering key.
    pub seq: i64,
    /// Id.
    pub id: String,
    /// Version.
    pub version: i32,
    /// Encoded message without restricted content.
    pub body: Vec<u8>,
    /// Encoded restricted content, if any.
    pub restricted: Option<Vec<u8>>,
    /// Creation time, microseconds.
    pub create_time: i64,
    /// Last change, microseconds.
    pub update_time: i64,
}

/// A history entry as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredHistory {
    /// Ordering key.
    pub seq: i64,
    /// Time, microseconds.
    pub time: i64,
    /// Actor.
    pub actor: String,
    /// Action.
    pub action: String,
    /// Stage value.
    pub stage: i32,
    /// Reason.
    pub reason: String,
}

/// Filters of a review list.
#[derive(Debug, Clone, Default)]
pub struct ReviewFilter {
    /// Jurisdiction.
    pub jurisdiction: String,
    /// Stage values; empty for all.
    pub stages: Vec<i32>,
    /// Only reviews due on or before this date (`YYYY-MM-DD`).
    pub due_by: Option<String>,
    /// Only reviews due before this date (overdue).
    pub due_before: Option<String>,
    /// Only the review of this incident.
    pub incident: Option<String>,
    /// Only reviews whose team includes this subject.
    pub member: Option<String>,
}

const REVIEW_COLUMNS: &str =
    "seq, id, jurisdiction, incident, version, body, create_time, update_time";

/// A review by jurisdiction and id.
pub async fn get_review(
    conn: &mut AnyConnection,
    jurisdiction: &str,
    id: &str,
) -> Result<Option<StoredReview>, DbError> {
    let row = sqlx::query_as::<_, StoredReview>(AssertSqlSafe(format!(
        "SELECT {REVIEW_COLUMNS} FROM reviews WHERE jurisdiction = $1 AND id = $2"
    )))
    .bind(jurisdiction)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row)
}

/// The review of an incident.
pub async fn review_of_incident(
    conn: &mut AnyConnection,
    incident: &str,
) -> Result<Option<StoredReview>, DbError> {
    let row = sqlx::query_as::<_, StoredReview>(AssertSqlSafe(format!(
        "SELECT {REVIEW_COLUMNS} FROM reviews WHERE incident = $1"
    )))
    .bind(incident)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row)
}

/// Reviews newest first, after `before_seq` when given.
pub async fn list_reviews(
    conn: &mut AnyConnection,
    filter: &ReviewFilter,
    before_seq: Option<i64>,
    limit: i64,
) -> Result<Vec<StoredReview>, DbError> {
    // Only placeholders are formatted into the SQL; every value is bound.
    let mut sql = format!("SELECT {REVIEW_COLUMNS} FROM reviews WHERE jurisdiction = $1");
    let mut p = scir_kit::db::Placeholders::after(1);
    if before_seq.is_some() {
        sql += &format!(" AND seq < {}", p.take());
    }
    if !filter.stages.is_empty() {
        sql += &format!(" AND stage IN ({})", p.list(filter.stages.len()));
    }
    if filter.due_by.is_some() {
        sql += &format!(
            " AND next_due_date IS NOT NULL AND next_due_date <= {}",
            p.take()
        );
    }
    if filter.due_before.is_some() {
        sql += &format!(
            " AND next_due_date IS NOT NULL AND next_due_date < {}",
            p.take()
        );
    }
    if filter.incident.is_some() {
        sql += &format!(" AND incident = {}", p.take());
    }
    if filter.member.is_some() {
        sql += &format!(
            " AND id IN (SELECT review_id FROM review_items WHERE kind = '{TEAM}' AND member = {})",
            p.take()
        );
    }
    sql += &format!(" ORDER BY seq DESC LIMIT {}", p.take());
    let mut query =
        sqlx::query_as::<_, StoredReview>(AssertSqlSafe(sql)).bind(filter.jurisdiction.clone());
    if let Some(seq) = before_seq {
        query = query.bind(seq);
    }
    for stage in &filter.stages {
        query = query.bind(*stage);
    }
    for value in [
        &filter.due_by,
        &filter.due_before,
        &filter.incident,
        &filter.member,
    ]
    .into_iter()
    .flatten()
    {
        query = query.bind(value.clone());
    }
    let rows = query.bind(limit).fetch_all(&mut *conn).await?;
    Ok(rows)
}

/// The guard of [`insert_review`]: the incident already has a review.
pub const REVIEW_EXISTS: &str = "the incident has a review";

/// The guard of updates and deletes at a version: the row moved on.
pub const VERSION_MOVED: &str = "version moved";

/// The guard of inserting a part with a unique key: the key is taken.
pub const KEY_TAKEN: &str = "unique key taken";

/// Inserts a review at version 1; guarded by [`REVIEW_EXISTS`].
pub fn insert_review(review: &StoredReview, next_due: Option<String>) -> Statement {
    // Already there (the review of that incident): no row.
    Statement::new(
        "INSERT INTO reviews (id, jurisdiction, incident, stage, version, next_due_date, body, create_time, update_time) \
         VALUES ($1, $2, $3, $4, 1, $5, $6, $7, $7) \
         ON CONFLICT DO NOTHING",
    )
    .bind(&review.id)
    .bind(&review.jurisdiction)
    .bind(&review.incident)
    .bind(review.body.stage)
    .bind(next_due)
    .bind(review.body.encode_to_vec())
    .bind(review.create_time)
    .guarded(REVIEW_EXISTS)
}

/// Replaces a review's body if it is still at `version`; guarded by [`VERSION_MOVED`].
pub fn update_review(
    id: &str,
    version: i32,
    body: &Review,
    next_due: Option<String>,
    time: i64,
) -> Statement {
    Statement::new(
        "UPDATE reviews SET version = version + 1, stage = $1, next_due_date = $2, body = $3, update_time = $4 \
         WHERE id = $5 AND version = $6",
    )
    .bind(body.stage)
    .bind(next_due)
    .bind(body.encode_to_vec())
    .bind(time)
    .bind(id)
    .bind(version)
    .guarded(VERSION_MOVED)
}

const ITEM_COLUMNS: &str = "seq, id, version, body, restricted, create_time, update_time";

/// The parts of one kind of a review, in creation order, after `after_seq`.
pub async fn list_items(
    conn: &mut AnyConnection,
    review_id: &str,
    kind: &str,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<StoredItem>, DbError> {
    let rows = sqlx::query_as::<_, StoredItem>(AssertSqlSafe(format!(
        "SELECT {ITEM_COLUMNS} FROM review_items WHERE review_id = $1 AND kind = $2 AND seq > $3 ORDER BY seq LIMIT $4"
    )))
    .bind(review_id)
    .bind(kind)
    .bind(after_seq)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows)
}

/// One part of a review.
pub async fn get_item(
    conn: &mut AnyConnection,
    review_id: &str,
    kind: &str,
    id: &str,
) -> Result<Option<StoredItem>, DbError> {
    let row = sqlx::query_as::<_, StoredItem>(AssertSqlSafe(format!(
        "SELECT {ITEM_COLUMNS} FROM review_items WHERE review_id = $1 AND kind = $2 AND id = $3"
    )))
    .bind(review_id)
    .bind(kind)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row)
}

/// Inserts a part at version 1.
///
/// A part with a `unique_key` is inserted only when no part of the same review
/// and kind holds that key; guarded by [`KEY_TAKEN`].
pub fn insert_item(
    review_id: &str,
    kind: &str,
    item: &StoredItem,
    unique_key: Option<&str>,
) -> Statement {
    insert_row(review_id, kind, item, unique_key, None)
}

/// Inserts a team member's row, naming its subject for "my reviews";
/// guarded by [`KEY_TAKEN`].
pub fn insert_member(
    review_id: &str,
    item: &StoredItem,
    unique_key: &str,
    subject: &str,
) -> Statement {
    insert_row(review_id, TEAM, item, Some(unique_key), Some(subject))
}

fn insert_row(
    review_id: &str,
    kind: &str,
    item: &StoredItem,
    unique_key: Option<&str>,
    member: Option<&str>,
) -> Statement {
    Statement::new(
        "INSERT INTO review_items (id, review_id, kind, version, body, restricted, create_time, update_time, unique_key, member) \
         VALUES ($1, $2, $3, 1, $4, $5, $6, $6, $7, $8) ON CONFLICT DO NOTHING",
    )
    .bind(&item.id)
    .bind(review_id)
    .bind(kind)
    .bind(&item.body)
    .bind(item.restricted.clone())
    .bind(item.create_time)
    .bind(unique_key)
    .bind(member)
    .guarded(KEY_TAKEN)
}

/// Names the subject of team rows written before rows named it; the number
/// filled in. `subject` reads a row's encoded body.
pub async fn fill_members(
    conn: &mut AnyConnection,
    subject: impl Fn(&[u8]) -> Option<String>,
) -> Result<u64, DbError> {
    let rows: Vec<(String, Vec<u8>)> =
        sqlx::query_as("SELECT id, body FROM review_items WHERE kind = $1 AND member IS NULL")
            .bind(TEAM)
            .fetch_all(&mut *conn)
            .await?;
    let mut filled = 0;
    for (id, body) in rows {
        if let Some(who) = subject(&body) {
            sqlx::query("UPDATE review_items SET member = $1 WHERE id = $2")
                .bind(who)
                .bind(&id)
                .execute(&mut *conn)
                .await?;
            filled += 1;
        }
    }
    Ok(filled)
}

/// Replaces a part if it is still at `version`; guarded by [`VERSION_MOVED`].
pub fn update_item(item: &StoredItem, time: i64) -> Statement {
    Statement::new(
        "UPDATE review_items SET version = version + 1, body = $1, restricted = $2, update_time = $3 \
         WHERE id = $4 AND version = $5",
    )
    .bind(&item.body)
    .bind(item.restricted.clone())
    .bind(time)
    .bind(&item.id)
    .bind(item.version)
    .guarded(VERSION_MOVED)
}

/// Deletes a part if it is still at `version`; guarded by [`VERSION_MOVED`].
pub fn delete_item(id: &str, version: i32) -> Statement {
    Statement::new("DELETE FROM review_items WHERE id = $1 AND version = $2")
        .bind(id)
        .bind(version)
        .guarded(VERSION_MOVED)
}

/// Appends to a review's history.
pub fn append_history(
    review_id: &str,
    time: i64,
    actor: &str,
    action: &str,
    stage: i32,
    reason: &str,
) -> Statement {
    Statement::new("INSERT INTO review_history (review_id, time, actor, action, stage, reason) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(review_id)
        .bind(time)
        .bind(actor)
        .bind(action)
        .bind(stage)
        .bind(reason)
}

/// A review's history after `after_seq`, oldest first.
pub async fn list_history(
    conn: &mut AnyConnection,
    review_id: &str,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<StoredHistory>, DbError> {
    Ok(sqlx::query_as(
        "SELECT seq, time, actor, action, stage, reason FROM review_history \
         WHERE review_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
    )
    .bind(review_id)
    .bind(after_seq)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?)
}
