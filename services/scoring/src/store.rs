//! Scoring's storage: its view of reviews and key observations, rating sets,
//! and consensus.

use scir_kit::db::DbError;
use scir_kit::statement::Statement;
use sqlx::AnyConnection;

/// A review as scoring knows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KnownReview {
    /// Resource name.
    pub review: String,
    /// Owning jurisdiction.
    pub jurisdiction: String,
    /// Stage value.
    pub stage: i32,
}

/// A stored rating set.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredSet {
    /// Id.
    pub id: String,
    /// Key observation.
    pub key_observation: String,
    /// Rater subject.
    pub rater: String,
    /// Instrument version name.
    pub instrument: String,
    /// Submit time, microseconds.
    pub submit_time: i64,
    /// Encoded item ratings (`RatingSet` without output fields).
    pub body: Vec<u8>,
}

/// A stored consensus.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredConsensus {
    /// Key observation.
    pub key_observation: String,
    /// Instrument version name.
    pub instrument: String,
    /// Who recorded it.
    pub recorded_by: String,
    /// When, microseconds.
    pub record_time: i64,
    /// Encoded `Consensus`.
    pub body: Vec<u8>,
}

/// Records a review (or its new stage).
pub async fn upsert_review(
    conn: &mut AnyConnection,
    review: &str,
    jurisdiction: &str,
    stage: i32,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO scored_reviews (review, jurisdiction, stage) VALUES ($1, $2, $3) \
         ON CONFLICT (review) DO UPDATE SET stage = excluded.stage",
    )
    .bind(review)
    .bind(jurisdiction)
    .bind(stage)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A review scoring knows.
pub async fn review(
    conn: &mut AnyConnection,
    review: &str,
) -> Result<Option<KnownReview>, DbError> {
    Ok(sqlx::query_as::<_, KnownReview>(
        "SELECT review, jurisdiction, stage FROM scored_reviews WHERE review = $1",
    )
    .bind(review)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Reviews of a jurisdiction.
pub async fn reviews_of(
    conn: &mut AnyConnection,
    jurisdiction: &str,
) -> Result<Vec<String>, DbError> {
    Ok(sqlx::query_scalar(
        "SELECT review FROM scored_reviews WHERE jurisdiction = $1 ORDER BY review",
    )
    .bind(jurisdiction)
    .fetch_all(&mut *conn)
    .await?)
}

/// Records a key observation (or its deletion).
pub async fn upsert_key_observation(
    conn: &mut AnyConnection,
    name: &str,
    review: &str,
    deleted: bool,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO key_observations (name, review, deleted) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO UPDATE SET deleted = excluded.deleted",
    )
    .bind(name)
    .bind(review)
    .bind(i32::from(deleted))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The live key observations of a review, by name.
pub async fn key_observations(
    conn: &mut AnyConnection,
    review: &str,
) -> Result<Vec<String>, DbError> {
    Ok(sqlx::query_scalar(
        "SELECT name FROM key_observations WHERE review = $1 AND deleted = 0 ORDER BY name",
    )
    .bind(review)
    .fetch_all(&mut *conn)
    .await?)
}

/// Whether a key observation is live, and its review.
pub async fn key_observation(
    conn: &mut AnyConnection,
    name: &str,
) -> Result<Option<String>, DbError> {
    Ok(
        sqlx::query_scalar("SELECT review FROM key_observations WHERE name = $1 AND deleted = 0")
            .bind(name)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// The rating sets of a key observation, by rater.
pub async fn sets_of(
    conn: &mut AnyConnection,
    key_observation: &str,
) -> Result<Vec<StoredSet>, DbError> {
    Ok(sqlx::query_as(
        "SELECT id, key_observation, rater, instrument, submit_time, body FROM rating_sets \
         WHERE key_observation = $1 ORDER BY rater",
    )
    .bind(key_observation)
    .fetch_all(&mut *conn)
    .await?)
}

/// The guard of [`insert_set`]: the rater has submitted already.
pub const SET_EXISTS: &str = "the rater's set exists";

/// Inserts a rating set; guarded by [`SET_EXISTS`].
pub fn insert_set(review: &str, set: &StoredSet) -> Statement {
    Statement::new(
        "INSERT INTO rating_sets (id, key_observation, review, rater, instrument, submit_time, body) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT DO NOTHING",
    )
    .bind(&set.id)
    .bind(&set.key_observation)
    .bind(review)
    .bind(&set.rater)
    .bind(&set.instrument)
    .bind(set.submit_time)
    .bind(&set.body)
    .guarded(SET_EXISTS)
}

/// Records (or replaces) a consensus.
pub fn put_consensus(review: &str, c: &StoredConsensus) -> Statement {
    Statement::new(
        "INSERT INTO consensus (key_observation, review, instrument, recorded_by, record_time, body) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (key_observation) DO UPDATE SET \
         instrument = excluded.instrument, recorded_by = excluded.recorded_by, \
         record_time = excluded.record_time, body = excluded.body",
    )
    .bind(&c.key_observation)
    .bind(review)
    .bind(&c.instrument)
    .bind(&c.recorded_by)
    .bind(c.record_time)
    .bind(&c.body)
}

/// The consensus of a key observation.
pub async fn consensus_of(
    conn: &mut AnyConnection,
    key_observation: &str,
) -> Result<Option<StoredConsensus>, DbError> {
    Ok(sqlx::query_as::<_, StoredConsensus>("SELECT key_observation, instrument, recorded_by, record_time, body FROM consensus WHERE key_observation = $1")
        .bind(key_observation)
        .fetch_optional(&mut *conn)
        .await?)
}
