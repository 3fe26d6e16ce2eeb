//! Culture's storage: waves and their units, code hashes, and responses that
//! share no key with the codes.

use scir_kit::db::DbError;
use sqlx::AnyConnection;

/// A stored wave.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredWave {
    /// Id (the last segment of its name).
    pub id: String,
    /// Owning jurisdiction.
    pub jurisdiction: String,
    /// Title.
    pub title: String,
    /// Instrument version name.
    pub instrument: String,
    /// First day, `YYYY-MM-DD`.
    pub open_date: String,
    /// Last day, `YYYY-MM-DD`.
    pub close_date: String,
    /// State value.
    pub state: i32,
    /// Creation time, microseconds.
    pub create_time: i64,
}

/// A stored unit of a wave.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredUnit {
    /// Its place in the wave (parents first).
    pub position: i32,
    /// Id within the wave.
    pub unit_id: String,
    /// Title.
    pub title: String,
    /// Parent's id or empty.
    pub parent: String,
    /// Codes issued.
    pub invited: i32,
    /// Responses so far.
    pub respondents: i32,
}

/// Inserts a wave and its units.
pub async fn insert_wave(
    conn: &mut AnyConnection,
    w: &StoredWave,
    units: &[StoredUnit],
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO culture_waves (id, jurisdiction, title, instrument, open_date, close_date, state, create_time) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&w.id)
    .bind(&w.jurisdiction)
    .bind(&w.title)
    .bind(&w.instrument)
    .bind(&w.open_date)
    .bind(&w.close_date)
    .bind(w.state)
    .bind(w.create_time)
    .execute(&mut *conn)
    .await?;
    for u in units {
        sqlx::query(
            "INSERT INTO culture_units (wave_id, position, unit_id, title, parent, invited) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&w.id)
        .bind(u.position)
        .bind(&u.unit_id)
        .bind(&u.title)
        .bind(&u.parent)
        .bind(u.invited)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

const WAVE_COLUMNS: &str =
    "id, jurisdiction, title, instrument, open_date, close_date, state, create_time";

/// One wave.
pub async fn wave(conn: &mut AnyConnection, id: &str) -> Result<Option<StoredWave>, DbError> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {WAVE_COLUMNS} FROM culture_waves WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?)
}

/// The waves of `jurisdiction`, newest first, at most `limit`.
pub async fn waves(
    conn: &mut AnyConnection,
    jurisdiction: &str,
    limit: i64,
) -> Result<Vec<StoredWave>, DbError> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {WAVE_COLUMNS} FROM culture_waves WHERE jurisdiction = $1 \
         ORDER BY create_time DESC, id DESC LIMIT $2"
    )))
    .bind(jurisdiction)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?)
}

/// A wave's units, parents first.
pub async fn units(conn: &mut AnyConnection, wave_id: &str) -> Result<Vec<StoredUnit>, DbError> {
    Ok(sqlx::query_as(
        "SELECT position, unit_id, title, parent, invited, respondents FROM culture_units \
         WHERE wave_id = $1 ORDER BY position",
    )
    .bind(wave_id)
    .fetch_all(&mut *conn)
    .await?)
}

/// Sets a wave's state.
pub async fn set_state(conn: &mut AnyConnection, wave_id: &str, state: i32) -> Result<(), DbError> {
    sqlx::query("UPDATE culture_waves SET state = $1 WHERE id = $2")
        .bind(state)
        .bind(wave_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Deletes a wave's unused codes: they stop working.
pub async fn drop_codes(conn: &mut AnyConnection, wave_id: &str) -> Result<(), DbError> {
    sqlx::query("DELETE FROM culture_codes WHERE wave_id = $1")
        .bind(wave_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Stores the hashes of codes issued for a unit and counts them as invited.
pub async fn insert_codes(
    conn: &mut AnyConnection,
    wave_id: &str,
    unit_id: &str,
    hashes: &[String],
) -> Result<(), DbError> {
    for hash in hashes {
        sqlx::query("INSERT INTO culture_codes (code_hash, wave_id, unit_id) VALUES ($1, $2, $3)")
            .bind(hash)
            .bind(wave_id)
            .bind(unit_id)
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query(
        "UPDATE culture_units SET invited = invited + $1 WHERE wave_id = $2 AND unit_id = $3",
    )
    .bind(i32::try_from(hashes.len()).unwrap_or(i32::MAX))
    .bind(wave_id)
    .bind(unit_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The wave and unit of an unused code.
pub async fn code(
    conn: &mut AnyConnection,
    hash: &str,
) -> Result<Option<(String, String)>, DbError> {
    Ok(
        sqlx::query_as("SELECT wave_id, unit_id FROM culture_codes WHERE code_hash = $1")
            .bind(hash)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// Spends a code: deletes it, so nothing records when or that it was used
/// beyond its absence. False when it was already gone.
pub async fn spend_code(conn: &mut AnyConnection, hash: &str) -> Result<bool, DbError> {
    let done = sqlx::query("DELETE FROM culture_codes WHERE code_hash = $1")
        .bind(hash)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Stores a response under a random id.
pub async fn insert_response(
    conn: &mut AnyConnection,
    wave_id: &str,
    unit_id: &str,
    answers: &str,
) -> Result<(), DbError> {
    let mut id = [0u8; 16];
    getrandom::fill(&mut id).expect("the operating system's random source");
    sqlx::query(
        "INSERT INTO culture_responses (response_id, wave_id, unit_id, answers) VALUES ($1, $2, $3, $4)",
    )
    .bind(hex::encode(id))
    .bind(wave_id)
    .bind(unit_id)
    .bind(answers)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Counts a response's answers into its unit's tallies: `leanings` holds,
/// per item, 0 positive, 1 neutral, 2 negative, or `None` for no answer.
pub async fn tally(
    conn: &mut AnyConnection,
    wave_id: &str,
    unit_id: &str,
    leanings: &[Option<usize>],
) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE culture_units SET respondents = respondents + 1 WHERE wave_id = $1 AND unit_id = $2",
    )
    .bind(wave_id)
    .bind(unit_id)
    .execute(&mut *conn)
    .await?;
    for (item, leaning) in leanings.iter().enumerate() {
        let Some(leaning) = leaning else { continue };
        let one = |k: usize| i32::from(*leaning == k);
        sqlx::query(
            "INSERT INTO culture_tallies (wave_id, unit_id, item, positive, neutral, negative) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (wave_id, unit_id, item) DO UPDATE SET \
             positive = culture_tallies.positive + excluded.positive, \
             neutral = culture_tallies.neutral + excluded.neutral, \
             negative = culture_tallies.negative + excluded.negative",
        )
        .bind(wave_id)
        .bind(unit_id)
        .bind(i32::try_from(item).unwrap_or(i32::MAX))
        .bind(one(0))
        .bind(one(1))
        .bind(one(2))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// A wave's tallies: (unit, item, positive, neutral, negative).
pub async fn tallies(
    conn: &mut AnyConnection,
    wave_id: &str,
) -> Result<Vec<(String, i32, i32, i32, i32)>, DbError> {
    Ok(sqlx::query_as(
        "SELECT unit_id, item, positive, neutral, negative FROM culture_tallies WHERE wave_id = $1",
    )
    .bind(wave_id)
    .fetch_all(&mut *conn)
    .await?)
}
