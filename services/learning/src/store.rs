//! Learning's storage: aggregate mappings and their parts (sessions and
//! considerations), each an encoded message with the columns queries need.

use scir_kit::db::{DbError, Placeholders, Proto};
use scir_proto::learning::v1 as pb;
use sqlx::AnyConnection;

/// A stored aggregate mapping.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredMapping {
    /// Order of creation.
    pub seq: i64,
    /// Id (the last segment of its name).
    pub id: String,
    /// Owning jurisdiction.
    pub jurisdiction: String,
    /// Stage value.
    pub stage: i32,
    /// Version, for etags.
    pub version: i32,
    /// The mapping without output fields.
    pub body: Proto<pb::AggregateMapping>,
    /// Creation time, microseconds.
    pub create_time: i64,
    /// Last update, microseconds.
    pub update_time: i64,
}

/// The collections under a mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `sessions`.
    Sessions,
    /// `considerations`.
    Considerations,
}

impl Kind {
    /// The collection id, as in resource names and the `kind` column.
    pub fn collection(self) -> &'static str {
        match self {
            Self::Sessions => "sessions",
            Self::Considerations => "considerations",
        }
    }
}

/// A stored part of a mapping; `body` is the part's encoded message.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredPart {
    /// Id.
    pub id: String,
    /// The mapping's id.
    pub mapping_id: String,
    /// Owning jurisdiction.
    pub jurisdiction: String,
    /// Version, for etags.
    pub version: i32,
    /// The encoded message without output fields or restricted content.
    pub body: Vec<u8>,
    /// Sealed restricted content (session notes).
    pub restricted: Option<Vec<u8>>,
    /// Creation time, microseconds.
    pub create_time: i64,
    /// Last update, microseconds.
    pub update_time: i64,
}

/// Inserts a new mapping.
pub async fn insert_mapping(conn: &mut AnyConnection, m: &StoredMapping) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO mappings (id, jurisdiction, stage, version, body, create_time, update_time) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&m.id)
    .bind(&m.jurisdiction)
    .bind(m.stage)
    .bind(m.version)
    .bind(prost::Message::encode_to_vec(&*m.body))
    .bind(m.create_time)
    .bind(m.update_time)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Replaces a mapping if its version is still `expected`; whether it did.
pub async fn update_mapping(
    conn: &mut AnyConnection,
    m: &StoredMapping,
    expected: i32,
) -> Result<bool, DbError> {
    let done = sqlx::query(
        "UPDATE mappings SET stage = $1, version = $2, body = $3, update_time = $4 \
         WHERE id = $5 AND version = $6",
    )
    .bind(m.stage)
    .bind(m.version)
    .bind(prost::Message::encode_to_vec(&*m.body))
    .bind(m.update_time)
    .bind(&m.id)
    .bind(expected)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The columns of [`StoredMapping`], as a literal for `concat!`.
macro_rules! mapping_columns {
    () => {
        "seq, id, jurisdiction, stage, version, body, create_time, update_time"
    };
}

/// One mapping by id.
pub async fn mapping(conn: &mut AnyConnection, id: &str) -> Result<Option<StoredMapping>, DbError> {
    Ok(sqlx::query_as::<_, StoredMapping>(concat!(
        "SELECT ",
        mapping_columns!(),
        " FROM mappings WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?)
}

/// A page of a jurisdiction's mappings, newest first, before `before` (a
/// `seq`), in `stages` when any are given.
pub async fn mappings(
    conn: &mut AnyConnection,
    jurisdiction: &str,
    stages: &[i32],
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<StoredMapping>, DbError> {
    let mut p = Placeholders::after(2);
    let mut sql = concat!(
        "SELECT ",
        mapping_columns!(),
        " FROM mappings WHERE jurisdiction = $1"
    )
    .to_owned();
    if before.is_some() {
        sql.push_str(&format!(" AND seq < {}", p.take()));
    }
    if !stages.is_empty() {
        sql.push_str(&format!(" AND stage IN ({})", p.list(stages.len())));
    }
    sql.push_str(" ORDER BY seq DESC LIMIT $2");
    // Only placeholders are formatted in; every value is bound.
    let mut query = sqlx::query_as::<_, StoredMapping>(sqlx::AssertSqlSafe(sql))
        .bind(jurisdiction)
        .bind(limit);
    if let Some(before) = before {
        query = query.bind(before);
    }
    for stage in stages {
        query = query.bind(*stage);
    }
    Ok(query.fetch_all(&mut *conn).await?)
}

/// What a new or changed part carries besides its body.
#[derive(Debug, Clone, Default)]
pub struct PartColumns {
    /// Sealed restricted content.
    pub restricted: Option<Vec<u8>>,
    /// Due date, `YYYY-MM-DD` (considerations).
    pub due_date: Option<String>,
    /// Whether it still counts towards overdue (considerations).
    pub open: bool,
}

/// Inserts a part.
pub async fn insert_part(
    conn: &mut AnyConnection,
    kind: Kind,
    part: &StoredPart,
    columns: &PartColumns,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO mapping_parts (id, mapping_id, jurisdiction, kind, version, body, \
         restricted, due_date, is_open, create_time, update_time) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&part.id)
    .bind(&part.mapping_id)
    .bind(&part.jurisdiction)
    .bind(kind.collection())
    .bind(part.version)
    .bind(&part.body)
    .bind(columns.restricted.clone())
    .bind(columns.due_date.clone())
    .bind(i32::from(columns.open))
    .bind(part.create_time)
    .bind(part.update_time)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Replaces a part's body if its version is still `expected`; whether it did.
pub async fn update_part(
    conn: &mut AnyConnection,
    part: &StoredPart,
    columns: &PartColumns,
    expected: i32,
) -> Result<bool, DbError> {
    let done = sqlx::query(
        "UPDATE mapping_parts SET version = $1, body = $2, due_date = $3, is_open = $4, \
         update_time = $5 WHERE id = $6 AND version = $7",
    )
    .bind(part.version)
    .bind(&part.body)
    .bind(columns.due_date.clone())
    .bind(i32::from(columns.open))
    .bind(part.update_time)
    .bind(&part.id)
    .bind(expected)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The columns of [`StoredPart`], as a literal for `concat!`.
macro_rules! part_columns {
    () => {
        "id, mapping_id, jurisdiction, version, body, restricted, create_time, update_time"
    };
}

/// One part of `kind` by id.
pub async fn part(
    conn: &mut AnyConnection,
    kind: Kind,
    id: &str,
) -> Result<Option<StoredPart>, DbError> {
    Ok(sqlx::query_as::<_, StoredPart>(concat!(
        "SELECT ",
        part_columns!(),
        " FROM mapping_parts WHERE id = $1 AND kind = $2"
    ))
    .bind(id)
    .bind(kind.collection())
    .fetch_optional(&mut *conn)
    .await?)
}

/// Every part of `kind` of a mapping, in the order they were made.
pub async fn parts(
    conn: &mut AnyConnection,
    mapping_id: &str,
    kind: Kind,
) -> Result<Vec<StoredPart>, DbError> {
    Ok(sqlx::query_as::<_, StoredPart>(concat!(
        "SELECT ",
        part_columns!(),
        " FROM mapping_parts WHERE mapping_id = $1 AND kind = $2 ORDER BY seq"
    ))
    .bind(mapping_id)
    .bind(kind.collection())
    .fetch_all(&mut *conn)
    .await?)
}

/// How many parts of `kind` a mapping has.
pub async fn count_parts(
    conn: &mut AnyConnection,
    mapping_id: &str,
    kind: Kind,
) -> Result<i64, DbError> {
    Ok(
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM mapping_parts WHERE mapping_id = $1 AND kind = $2",
        )
        .bind(mapping_id)
        .bind(kind.collection())
        .fetch_one(&mut *conn)
        .await?,
    )
}

/// Open considerations of `jurisdictions` due before `today` (`YYYY-MM-DD`),
/// most overdue first, at most `limit`.
pub async fn overdue(
    conn: &mut AnyConnection,
    jurisdictions: &[String],
    today: &str,
    limit: i64,
) -> Result<Vec<StoredPart>, DbError> {
    let mut p = Placeholders::after(3);
    let sql = format!(
        concat!(
            "SELECT ",
            part_columns!(),
            " FROM mapping_parts WHERE kind = $1 AND is_open = 1 \
             AND due_date < $2 AND jurisdiction IN ({}) ORDER BY due_date, seq LIMIT $3"
        ),
        p.list(jurisdictions.len())
    );
    // Only placeholders are formatted in; every value is bound.
    let mut query = sqlx::query_as::<_, StoredPart>(sqlx::AssertSqlSafe(sql))
        .bind(Kind::Considerations.collection())
        .bind(today)
        .bind(limit);
    for j in jurisdictions {
        query = query.bind(j);
    }
    Ok(query.fetch_all(&mut *conn).await?)
}

/// A stored safety notice.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredNotice {
    /// Order of issue.
    pub seq: i64,
    /// Id.
    pub id: String,
    /// The issuer.
    pub jurisdiction: String,
    /// The notice without output fields (recipients resolved).
    pub body: Proto<pb::SafetyNotice>,
    /// Issue time, microseconds.
    pub create_time: i64,
}

/// A recipient's row of a notice.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredResponse {
    /// The notice's id.
    pub notice_id: String,
    /// The recipient.
    pub jurisdiction: String,
    /// `ResponseKind` value; 0 until answered.
    pub kind: i32,
    /// What was done, or why not.
    pub detail: String,
    /// When answered, microseconds.
    pub respond_time: Option<i64>,
}

/// Inserts a notice and one unanswered row per recipient.
pub async fn insert_notice(
    conn: &mut AnyConnection,
    notice: &StoredNotice,
    recipients: &[String],
) -> Result<(), DbError> {
    let seq: i64 = sqlx::query_scalar(
        "INSERT INTO notices (id, jurisdiction, body, create_time) VALUES ($1, $2, $3, $4) \
         RETURNING seq",
    )
    .bind(&notice.id)
    .bind(&notice.jurisdiction)
    .bind(prost::Message::encode_to_vec(&*notice.body))
    .bind(notice.create_time)
    .fetch_one(&mut *conn)
    .await?;
    for recipient in recipients {
        sqlx::query(
            "INSERT INTO notice_recipients (notice_id, notice_seq, jurisdiction, kind, detail) \
             VALUES ($1, $2, $3, 0, '')",
        )
        .bind(&notice.id)
        .bind(seq)
        .bind(recipient)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// One notice by id.
pub async fn notice(conn: &mut AnyConnection, id: &str) -> Result<Option<StoredNotice>, DbError> {
    Ok(sqlx::query_as::<_, StoredNotice>(
        "SELECT seq, id, jurisdiction, body, create_time FROM notices WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Every recipient's row of a notice.
pub async fn responses(
    conn: &mut AnyConnection,
    notice_id: &str,
) -> Result<Vec<StoredResponse>, DbError> {
    Ok(sqlx::query_as::<_, StoredResponse>(
        "SELECT notice_id, jurisdiction, kind, detail, respond_time FROM notice_recipients \
         WHERE notice_id = $1 ORDER BY jurisdiction",
    )
    .bind(notice_id)
    .fetch_all(&mut *conn)
    .await?)
}

/// Every recipient's row of each of `notice_ids`, in one query.
pub async fn responses_of(
    conn: &mut AnyConnection,
    notice_ids: &[&str],
) -> Result<Vec<StoredResponse>, DbError> {
    if notice_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut p = Placeholders::after(0);
    let sql = format!(
        "SELECT notice_id, jurisdiction, kind, detail, respond_time FROM notice_recipients \
         WHERE notice_id IN ({}) ORDER BY notice_id, jurisdiction",
        p.list(notice_ids.len())
    );
    // Only placeholders are formatted in; every value is bound.
    let mut query = sqlx::query_as::<_, StoredResponse>(sqlx::AssertSqlSafe(sql));
    for id in notice_ids {
        query = query.bind(*id);
    }
    Ok(query.fetch_all(&mut *conn).await?)
}

/// Notices `jurisdiction` issued, newest first.
pub async fn issued(
    conn: &mut AnyConnection,
    jurisdiction: &str,
    limit: i64,
) -> Result<Vec<StoredNotice>, DbError> {
    Ok(sqlx::query_as::<_, StoredNotice>(
        "SELECT seq, id, jurisdiction, body, create_time FROM notices WHERE jurisdiction = $1 \
         ORDER BY seq DESC LIMIT $2",
    )
    .bind(jurisdiction)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?)
}

/// Notices addressed to `jurisdiction`, newest first, only those it has not
/// answered when asked.
pub async fn received(
    conn: &mut AnyConnection,
    jurisdiction: &str,
    unanswered_only: bool,
    limit: i64,
) -> Result<Vec<StoredNotice>, DbError> {
    let sql = if unanswered_only {
        "SELECT n.seq, n.id, n.jurisdiction, n.body, n.create_time FROM notice_recipients r \
         JOIN notices n ON n.id = r.notice_id WHERE r.jurisdiction = $1 AND r.kind = 0 \
         ORDER BY r.notice_seq DESC LIMIT $2"
    } else {
        "SELECT n.seq, n.id, n.jurisdiction, n.body, n.create_time FROM notice_recipients r \
         JOIN notices n ON n.id = r.notice_id WHERE r.jurisdiction = $1 \
         ORDER BY r.notice_seq DESC LIMIT $2"
    };
    Ok(sqlx::query_as::<_, StoredNotice>(sql)
        .bind(jurisdiction)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?)
}

/// Records a recipient's response; whether the recipient is one.
pub async fn respond(conn: &mut AnyConnection, response: &StoredResponse) -> Result<bool, DbError> {
    let done = sqlx::query(
        "UPDATE notice_recipients SET kind = $1, detail = $2, respond_time = $3 \
         WHERE notice_id = $4 AND jurisdiction = $5",
    )
    .bind(response.kind)
    .bind(&response.detail)
    .bind(response.respond_time)
    .bind(&response.notice_id)
    .bind(&response.jurisdiction)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
