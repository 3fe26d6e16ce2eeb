//! Intake's storage: incidents, revisions and restricted identities, over the
//! kit's portable SQL (PostgreSQL or SQLite). Restricted identities are stored
//! sealed (`scir_kit::sealing`), bound to their incident.

use scir_kit::db::DbError;
use scir_kit::error::ApiError;
use scir_kit::sealing::Sealer;
use scir_kit::statement::Statement;
use sqlx::{AnyConnection, AssertSqlSafe};

/// An incident row with its revisions.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredIncident {
    /// Ordering key.
    pub seq: i64,
    /// Id (UUID).
    pub id: String,
    /// Owning jurisdiction.
    pub jurisdiction: String,
    /// Idempotency key of the report.
    pub request_id: String,
    /// Hash of the reported facts.
    pub request_hash: String,
    /// Current revision.
    pub revision: i32,
    /// Subject who reported it.
    pub reported_by: String,
    /// Report time, microseconds.
    pub create_time: i64,
    /// Last change time, microseconds.
    pub update_time: i64,
    /// Revisions, oldest first (read by a second query).
    #[sqlx(skip)]
    pub revisions: Vec<StoredRevision>,
}

/// One revision of an incident.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredRevision {
    /// Revision number, from 1.
    pub revision: i32,
    /// Encoded `IncidentFacts` without restricted fields.
    pub facts: Vec<u8>,
    /// Encoded `EligibilityDecision`.
    pub decision: Vec<u8>,
    /// Encoded `Amendment`, for revisions after the first.
    pub amendment: Option<Vec<u8>>,
}

/// A new incident to insert.
#[derive(Debug, Clone)]
pub struct NewIncident<'a> {
    /// Id.
    pub id: &'a str,
    /// Jurisdiction.
    pub jurisdiction: &'a str,
    /// Idempotency key.
    pub request_id: &'a str,
    /// Hash of the request's facts.
    pub request_hash: &'a str,
    /// Incident type value.
    pub incident_type: i32,
    /// Incident date, `YYYY-MM-DD`.
    pub incident_date: &'a str,
    /// Outcome value.
    pub outcome: i32,
    /// Reporter subject.
    pub reported_by: &'a str,
    /// Time, microseconds.
    pub time: i64,
}

/// Filters of a list query.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Jurisdiction.
    pub jurisdiction: String,
    /// Incident type values; empty for all.
    pub incident_types: Vec<i32>,
    /// Outcome values; empty for all.
    pub outcomes: Vec<i32>,
    /// Earliest incident date, `YYYY-MM-DD`.
    pub date_from: Option<String>,
    /// Latest incident date, `YYYY-MM-DD`.
    pub date_to: Option<String>,
}

const INCIDENT_COLUMNS: &str = "seq, id, jurisdiction, request_id, request_hash, revision, reported_by, create_time, update_time";

/// What a sealed identity is bound to.
fn identity_context(incident_id: &str) -> String {
    format!("scir.intake.identity:{incident_id}")
}

/// An encoded identity of `incident_id`, sealed for storage.
pub fn seal_identity(sealer: &Sealer, incident_id: &str, identity: &[u8]) -> Vec<u8> {
    sealer.seal(identity, &identity_context(incident_id))
}

/// A sealed identity of `incident_id`, opened.
pub fn open_identity(
    sealer: &Sealer,
    incident_id: &str,
    sealed: &[u8],
) -> Result<Vec<u8>, ApiError> {
    Ok(sealer.open(sealed, &identity_context(incident_id))?)
}

/// Finds an incident by jurisdiction and request id.
pub async fn find_by_request(
    conn: &mut AnyConnection,
    jurisdiction: &str,
    request_id: &str,
) -> Result<Option<StoredIncident>, DbError> {
    one(conn, Key::RequestId, jurisdiction, request_id).await
}

/// Gets an incident of a jurisdiction by id.
pub async fn get(
    conn: &mut AnyConnection,
    jurisdiction: &str,
    id: &str,
) -> Result<Option<StoredIncident>, DbError> {
    one(conn, Key::Id, jurisdiction, id).await
}

/// The column an incident is looked up by, within its jurisdiction.
enum Key {
    Id,
    RequestId,
}

/// The incident whose `key` column is `value`, with its revisions.
async fn one(
    conn: &mut AnyConnection,
    key: Key,
    jurisdiction: &str,
    value: &str,
) -> Result<Option<StoredIncident>, DbError> {
    let column = match key {
        Key::Id => "id",
        Key::RequestId => "request_id",
    };
    // Only the column name, from the two above, is formatted in; values are bound.
    let row = sqlx::query_as::<_, StoredIncident>(AssertSqlSafe(format!(
        "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE jurisdiction = $1 AND {column} = $2"
    )))
    .bind(jurisdiction)
    .bind(value)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(incident) => Ok(Some(with_revisions(conn, incident).await?)),
        None => Ok(None),
    }
}

/// The sealed restricted identity of a revision, if one was given.
pub async fn sealed_identity(
    conn: &mut AnyConnection,
    id: &str,
    revision: i32,
) -> Result<Option<Vec<u8>>, DbError> {
    Ok(sqlx::query_scalar(
        "SELECT identity FROM incident_restricted WHERE incident_id = $1 AND revision <= $2 \
         ORDER BY revision DESC LIMIT 1",
    )
    .bind(id)
    .bind(revision)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Lists incidents newest first, after `before_seq` when given.
pub async fn list(
    conn: &mut AnyConnection,
    filter: &ListFilter,
    before_seq: Option<i64>,
    limit: i64,
) -> Result<Vec<StoredIncident>, DbError> {
    // Only placeholders are formatted into the SQL; every value is bound.
    let mut sql = format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE jurisdiction = $1");
    let mut p = scir_kit::db::Placeholders::after(1);
    if before_seq.is_some() {
        sql += &format!(" AND seq < {}", p.take());
    }
    if !filter.incident_types.is_empty() {
        sql += &format!(
            " AND incident_type IN ({})",
            p.list(filter.incident_types.len())
        );
    }
    if !filter.outcomes.is_empty() {
        sql += &format!(" AND outcome IN ({})", p.list(filter.outcomes.len()));
    }
    if filter.date_from.is_some() {
        sql += &format!(" AND incident_date >= {}", p.take());
    }
    if filter.date_to.is_some() {
        sql += &format!(" AND incident_date <= {}", p.take());
    }
    sql += &format!(" ORDER BY seq DESC LIMIT {}", p.take());

    let mut query =
        sqlx::query_as::<_, StoredIncident>(AssertSqlSafe(sql)).bind(filter.jurisdiction.clone());
    if let Some(seq) = before_seq {
        query = query.bind(seq);
    }
    for v in filter.incident_types.iter().chain(&filter.outcomes) {
        query = query.bind(*v);
    }
    for d in [&filter.date_from, &filter.date_to].into_iter().flatten() {
        query = query.bind(d.clone());
    }
    let mut out = query.bind(limit).fetch_all(&mut *conn).await?;
    // One query for the revisions of the whole page.
    if !out.is_empty() {
        let mut p = scir_kit::db::Placeholders::after(0);
        let sql = format!(
            "SELECT incident_id, revision, facts, decision, amendment FROM incident_revisions \
             WHERE incident_id IN ({}) ORDER BY incident_id, revision",
            p.list(out.len())
        );
        let mut query = sqlx::query_as::<_, PageRevision>(AssertSqlSafe(sql));
        for incident in &out {
            query = query.bind(incident.id.clone());
        }
        let mut by_incident: std::collections::HashMap<String, Vec<StoredRevision>> =
            std::collections::HashMap::new();
        for r in query.fetch_all(&mut *conn).await? {
            by_incident
                .entry(r.incident_id)
                .or_default()
                .push(r.revision);
        }
        for incident in &mut out {
            incident.revisions = by_incident.remove(&incident.id).unwrap_or_default();
        }
    }
    Ok(out)
}

async fn with_revisions(
    conn: &mut AnyConnection,
    mut incident: StoredIncident,
) -> Result<StoredIncident, DbError> {
    incident.revisions = sqlx::query_as(
        "SELECT revision, facts, decision, amendment FROM incident_revisions \
         WHERE incident_id = $1 ORDER BY revision",
    )
    .bind(&incident.id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(incident)
}

/// A revision of one of a page's incidents.
#[derive(sqlx::FromRow)]
struct PageRevision {
    incident_id: String,
    #[sqlx(flatten)]
    revision: StoredRevision,
}

/// The guard of [`insert_incident`]: the request id is taken.
pub const REQUEST_ID_TAKEN: &str = "request id taken";

/// The guard of [`advance_revision`]: another amendment got there first.
pub const REVISION_MOVED: &str = "revision moved";

/// Inserts a new incident (revision 1 is inserted with [`insert_revision`]);
/// guarded by [`REQUEST_ID_TAKEN`] (by this request before, or a race).
pub fn insert_incident(new: &NewIncident<'_>) -> Statement {
    Statement::new(
        "INSERT INTO incidents (id, jurisdiction, request_id, request_hash, incident_type, incident_date, \
         outcome, revision, reported_by, create_time, update_time) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9, $9) ON CONFLICT DO NOTHING",
    )
    .bind(new.id)
    .bind(new.jurisdiction)
    .bind(new.request_id)
    .bind(new.request_hash)
    .bind(new.incident_type)
    .bind(new.incident_date)
    .bind(new.outcome)
    .bind(new.reported_by)
    .bind(new.time)
    .guarded(REQUEST_ID_TAKEN)
}

/// Inserts one revision and, when given, its restricted identity.
pub fn insert_revision(
    incident_id: &str,
    revision: &StoredRevision,
    restricted: Option<&[u8]>,
    time: i64,
) -> impl Iterator<Item = Statement> {
    let row = Statement::new(
        "INSERT INTO incident_revisions (incident_id, revision, facts, decision, amendment, create_time) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(incident_id)
    .bind(revision.revision)
    .bind(&revision.facts)
    .bind(&revision.decision)
    .bind(revision.amendment.clone())
    .bind(time);
    let identity = restricted.map(|identity| {
        Statement::new(
            "INSERT INTO incident_restricted (incident_id, revision, identity) VALUES ($1, $2, $3)",
        )
        .bind(incident_id)
        .bind(revision.revision)
        .bind(identity)
    });
    std::iter::once(row).chain(identity)
}

/// Moves an incident from `from_revision` to the next revision; guarded by
/// [`REVISION_MOVED`].
pub fn advance_revision(
    incident_id: &str,
    from_revision: i32,
    incident_type: i32,
    incident_date: &str,
    outcome: i32,
    time: i64,
) -> Statement {
    Statement::new(
        "UPDATE incidents SET revision = revision + 1, incident_type = $1, incident_date = $2, \
         outcome = $3, update_time = $4 WHERE id = $5 AND revision = $6",
    )
    .bind(incident_type)
    .bind(incident_date)
    .bind(outcome)
    .bind(time)
    .bind(incident_id)
    .bind(from_revision)
    .guarded(REVISION_MOVED)
}
