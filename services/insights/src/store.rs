//! Insights' storage: the de-identified facts, written by the projection and
//! read back into the in-memory index.

use std::collections::{BTreeMap, HashMap};

use scir_kit::db::DbError;
use sqlx::{AnyConnection, Row};

use crate::domain::facts::{
    Action, ConsiderationFact, CultureWaveFact, LearningFacts, NoticeRecipientFact, ReviewFact,
};

/// The change logged for any change to the learning loop's facts: the index
/// reloads them whole (a few thousand rows at most, against the reviews'
/// hundreds of thousands), so one key says it all. Review keys are hex and
/// never equal it.
pub const LEARNING_CHANGE: &str = "learning";

/// The change logged for any change to the culture facts, reloaded whole as
/// the learning loop's are (a few waves per member and year).
pub const CULTURE_CHANGE: &str = "culture";

/// The dimensions of a review as stored.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct ReviewRow {
    /// Key.
    pub review_key: String,
    /// Jurisdiction.
    pub jurisdiction: String,
    /// Incident type.
    pub incident_type: i32,
    /// Cause.
    pub cause: i32,
    /// Quarter.
    pub quarter: String,
    /// Age band.
    pub age_band: String,
    /// Sex.
    pub sex: i32,
    /// Races, comma-separated values.
    pub races: String,
    /// Tribal status.
    pub tribal: i32,
    /// Placement setting.
    pub placement: i32,
    /// Stage.
    pub stage: i32,
    /// Month opened.
    pub opened_month: String,
    /// Month of the earliest unmet deadline.
    pub next_due_month: String,
}

/// Records that a review's facts changed. Changes take the database's append
/// lock, so their sequence numbers become visible in commit order and a reader
/// that has seen change N never later finds a committed change below N.
pub async fn changed(
    conn: &mut AnyConnection,
    backend: scir_kit::db::Backend,
    review_key: &str,
) -> Result<(), DbError> {
    scir_kit::audit::lock_for_append(conn, backend).await?;
    sqlx::query("INSERT INTO facts_changes (review_key) VALUES ($1)")
        .bind(review_key)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Changes after `after`: (seq, review key).
pub async fn changes_after(
    conn: &mut AnyConnection,
    after: i64,
) -> Result<Vec<(i64, String)>, DbError> {
    Ok(sqlx::query_as(
        "SELECT seq, review_key FROM facts_changes WHERE seq > $1 ORDER BY seq LIMIT 10000",
    )
    .bind(after)
    .fetch_all(&mut *conn)
    .await?)
}

/// The last change.
pub async fn last_change(conn: &mut AnyConnection) -> Result<i64, DbError> {
    let seq: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM facts_changes")
        .fetch_one(&mut *conn)
        .await?;
    Ok(seq.unwrap_or(0))
}

/// A new record's cell key: random, from the operating system.
fn fresh_cell_key() -> i64 {
    i64::from(getrandom::u32().expect("the operating system's random source"))
}

/// Inserts or replaces a review's dimensions.
pub async fn put_review(conn: &mut AnyConnection, r: &ReviewRow) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO facts_reviews (review_key, jurisdiction, incident_type, cause, quarter, age_band, sex, races, tribal, \
         placement, stage, opened_month, next_due_month, cell_key) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
         ON CONFLICT (review_key) DO UPDATE SET jurisdiction = excluded.jurisdiction, incident_type = excluded.incident_type, \
         cause = excluded.cause, quarter = excluded.quarter, age_band = excluded.age_band, sex = excluded.sex, \
         races = excluded.races, tribal = excluded.tribal, placement = excluded.placement, stage = excluded.stage, \
         opened_month = excluded.opened_month, next_due_month = excluded.next_due_month",
    )
    .bind(&r.review_key)
    .bind(&r.jurisdiction)
    .bind(r.incident_type)
    .bind(r.cause)
    .bind(&r.quarter)
    .bind(&r.age_band)
    .bind(r.sex)
    .bind(&r.races)
    .bind(r.tribal)
    .bind(r.placement)
    .bind(r.stage)
    .bind(&r.opened_month)
    .bind(&r.next_due_month)
    // The key of a new review; an existing review keeps its own.
    .bind(fresh_cell_key())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A review's dimensions.
pub async fn get_review(conn: &mut AnyConnection, key: &str) -> Result<Option<ReviewRow>, DbError> {
    Ok(sqlx::query_as(
        "SELECT review_key, jurisdiction, incident_type, cause, quarter, age_band, sex, races, tribal, placement, stage, \
         opened_month, next_due_month FROM facts_reviews WHERE review_key = $1",
    )
    .bind(key)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Sets one column of a review (stage or next due month).
pub async fn set_stage(conn: &mut AnyConnection, key: &str, stage: i32) -> Result<(), DbError> {
    sqlx::query("UPDATE facts_reviews SET stage = $1 WHERE review_key = $2")
        .bind(stage)
        .bind(key)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Sets the month of a review's earliest unmet deadline.
pub async fn set_next_due(conn: &mut AnyConnection, key: &str, month: &str) -> Result<(), DbError> {
    sqlx::query("UPDATE facts_reviews SET next_due_month = $1 WHERE review_key = $2")
        .bind(month)
        .bind(key)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Records the days a review spent in a stage.
pub async fn put_stage_days(
    conn: &mut AnyConnection,
    key: &str,
    stage: i32,
    days: i32,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO facts_stage_days (review_key, stage, days) VALUES ($1, $2, $3) \
         ON CONFLICT (review_key, stage) DO UPDATE SET days = excluded.days",
    )
    .bind(key)
    .bind(stage)
    .bind(days)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Replaces the consensus levels of one key observation.
pub async fn put_levels(
    conn: &mut AnyConnection,
    review_key: &str,
    ko_key: &str,
    instrument: &str,
    levels: &[(String, String, i32)],
) -> Result<(), DbError> {
    sqlx::query("DELETE FROM facts_levels WHERE review_key = $1 AND ko_key = $2")
        .bind(review_key)
        .bind(ko_key)
        .execute(&mut *conn)
        .await?;
    for (item, domain, level) in levels {
        sqlx::query("INSERT INTO facts_levels (review_key, ko_key, item_code, domain_code, level, instrument) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(review_key)
            .bind(ko_key)
            .bind(item)
            .bind(domain)
            .bind(*level)
            .bind(instrument)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Removes what came from a key observation (levels and themes).
pub async fn drop_source(
    conn: &mut AnyConnection,
    review_key: &str,
    source_key: &str,
) -> Result<(), DbError> {
    sqlx::query("DELETE FROM facts_levels WHERE review_key = $1 AND ko_key = $2")
        .bind(review_key)
        .bind(source_key)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM facts_themes WHERE review_key = $1 AND source_key = $2")
        .bind(review_key)
        .bind(source_key)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Replaces the themes one source (key observation or learning opportunity) gives a review.
pub async fn put_themes(
    conn: &mut AnyConnection,
    review_key: &str,
    source_key: &str,
    themes: &[i32],
) -> Result<(), DbError> {
    sqlx::query("DELETE FROM facts_themes WHERE review_key = $1 AND source_key = $2")
        .bind(review_key)
        .bind(source_key)
        .execute(&mut *conn)
        .await?;
    let mut unique = themes.to_vec();
    unique.sort_unstable();
    unique.dedup();
    for theme in unique {
        sqlx::query("INSERT INTO facts_themes (review_key, source_key, theme) VALUES ($1, $2, $3)")
            .bind(review_key)
            .bind(source_key)
            .bind(theme)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Inserts, replaces or (with `None`) removes a learning opportunity.
pub async fn put_learning(
    conn: &mut AnyConnection,
    lo_key: &str,
    review_key: &str,
    fact: Option<(i32, i32)>,
) -> Result<(), DbError> {
    sqlx::query("DELETE FROM facts_learning WHERE lo_key = $1")
        .bind(lo_key)
        .execute(&mut *conn)
        .await?;
    if let Some((status, function)) = fact {
        sqlx::query("INSERT INTO facts_learning (lo_key, review_key, status, function) VALUES ($1, $2, $3, $4)")
            .bind(lo_key)
            .bind(review_key)
            .bind(status)
            .bind(function)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Inserts, replaces or (with `None`) removes a recommendation.
pub async fn put_recommendation(
    conn: &mut AnyConnection,
    rec_key: &str,
    review_key: &str,
    fact: Option<(&Action, &str)>,
) -> Result<(), DbError> {
    let Some((r, done)) = fact else {
        sqlx::query("DELETE FROM facts_recommendations WHERE rec_key = $1")
            .bind(rec_key)
            .execute(&mut *conn)
            .await?;
        return Ok(());
    };
    {
        // An update keeps the recommendation's cell key.
        sqlx::query(
            "INSERT INTO facts_recommendations (rec_key, review_key, category, strength, status, due_month, done_month, cell_key, effectiveness) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (rec_key) DO UPDATE SET review_key = excluded.review_key, category = excluded.category, \
             strength = excluded.strength, status = excluded.status, due_month = excluded.due_month, \
             done_month = excluded.done_month, effectiveness = excluded.effectiveness",
        )
        .bind(rec_key)
        .bind(review_key)
        .bind(r.category)
        .bind(r.strength)
        .bind(r.status)
        .bind(&r.due_month)
        .bind(done)
        .bind(fresh_cell_key())
        .bind(r.effectiveness)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Inserts or replaces a consideration; a replaced one keeps its first
/// quarter and its cell key.
pub async fn put_consideration(
    conn: &mut AnyConnection,
    key: &str,
    c: &ConsiderationFact,
) -> Result<(), DbError> {
    let a = &c.action;
    sqlx::query(
        "INSERT INTO facts_considerations (consideration_key, jurisdiction, quarter, category, strength, status, \
         due_month, effectiveness, cell_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (consideration_key) DO UPDATE SET category = excluded.category, strength = excluded.strength, \
         status = excluded.status, due_month = excluded.due_month, effectiveness = excluded.effectiveness",
    )
    .bind(key)
    .bind(&c.jurisdiction)
    .bind(&c.quarter)
    .bind(a.category)
    .bind(a.strength)
    .bind(a.status)
    .bind(&a.due_month)
    .bind(a.effectiveness)
    .bind(fresh_cell_key())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records a notice at a recipient: its quarter and due month when issued
/// (`response` 0), or the recipient's answer. An existing row keeps its cell
/// key, and an answer keeps the quarter and due month the issue recorded.
pub async fn put_notice_recipient(
    conn: &mut AnyConnection,
    notice_key: &str,
    r: &NoticeRecipientFact,
) -> Result<(), DbError> {
    let sql = if r.response == 0 {
        "INSERT INTO facts_notice_recipients (notice_key, jurisdiction, quarter, due_month, response, days, cell_key) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (notice_key, jurisdiction) DO UPDATE SET quarter = excluded.quarter, due_month = excluded.due_month"
    } else {
        "INSERT INTO facts_notice_recipients (notice_key, jurisdiction, quarter, due_month, response, days, cell_key) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (notice_key, jurisdiction) DO UPDATE SET response = excluded.response, days = excluded.days"
    };
    sqlx::query(sql)
        .bind(notice_key)
        .bind(&r.jurisdiction)
        .bind(&r.quarter)
        .bind(&r.due_month)
        .bind(r.response)
        .bind(r.days)
        .bind(fresh_cell_key())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Stores a closed wave's counts. A wave closes once; a repeated event
/// changes nothing, so the wave keeps its first cell key.
pub async fn put_culture_wave(
    conn: &mut AnyConnection,
    key: &str,
    w: &CultureWaveFact,
) -> Result<(), DbError> {
    let inserted = sqlx::query(
        "INSERT INTO facts_culture_waves (wave_key, jurisdiction, quarter, respondents, invited, cell_key) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (wave_key) DO NOTHING",
    )
    .bind(key)
    .bind(&w.jurisdiction)
    .bind(&w.quarter)
    .bind(w.respondents)
    .bind(w.invited)
    .bind(fresh_cell_key())
    .execute(&mut *conn)
    .await?;
    if inserted.rows_affected() == 0 {
        return Ok(());
    }
    for (composite, [positive, neutral, negative]) in &w.composites {
        sqlx::query(
            "INSERT INTO facts_culture_composites (wave_key, composite, positive, neutral, negative) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(key)
        .bind(composite)
        .bind(positive)
        .bind(neutral)
        .bind(negative)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// A closed wave as stored.
#[derive(sqlx::FromRow)]
struct CultureWaveRow {
    wave_key: String,
    jurisdiction: String,
    quarter: String,
    respondents: i32,
    invited: i32,
    cell_key: i64,
}

/// Every closed wave's counts, in a stable order.
pub async fn load_culture(conn: &mut AnyConnection) -> Result<Vec<CultureWaveFact>, DbError> {
    let waves: Vec<CultureWaveRow> = sqlx::query_as(
        "SELECT wave_key, jurisdiction, quarter, respondents, invited, cell_key \
         FROM facts_culture_waves ORDER BY wave_key",
    )
    .fetch_all(&mut *conn)
    .await?;
    let composites: Vec<(String, String, i32, i32, i32)> = sqlx::query_as(
        "SELECT wave_key, composite, positive, neutral, negative FROM facts_culture_composites",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut by_wave: HashMap<String, BTreeMap<String, [i32; 3]>> = HashMap::new();
    for (wave, composite, p, n, m) in composites {
        by_wave
            .entry(wave)
            .or_default()
            .insert(composite, [p, n, m]);
    }
    Ok(waves
        .into_iter()
        .map(|w| CultureWaveFact {
            composites: by_wave.remove(&w.wave_key).unwrap_or_default(),
            jurisdiction: w.jurisdiction,
            quarter: w.quarter,
            respondents: w.respondents,
            invited: w.invited,
            // Drawn as 32-bit values, stored in a 64-bit column.
            cell_key: w.cell_key as u32,
        })
        .collect())
}

/// A consideration as stored.
#[derive(sqlx::FromRow)]
struct ConsiderationRow {
    jurisdiction: String,
    quarter: String,
    category: i32,
    strength: i32,
    status: i32,
    due_month: String,
    effectiveness: i32,
    cell_key: i64,
}

/// A notice at a recipient as stored.
#[derive(sqlx::FromRow)]
struct RecipientRow {
    jurisdiction: String,
    quarter: String,
    due_month: String,
    response: i32,
    days: i32,
    cell_key: i64,
}

/// Every fact of the learning loop, in a stable order.
pub async fn load_learning(conn: &mut AnyConnection) -> Result<LearningFacts, DbError> {
    let considerations: Vec<ConsiderationRow> = sqlx::query_as(
        "SELECT jurisdiction, quarter, category, strength, status, due_month, effectiveness, cell_key \
         FROM facts_considerations ORDER BY consideration_key",
    )
    .fetch_all(&mut *conn)
    .await?;
    let recipients: Vec<RecipientRow> = sqlx::query_as(
        "SELECT jurisdiction, quarter, due_month, response, days, cell_key \
         FROM facts_notice_recipients ORDER BY notice_key, jurisdiction",
    )
    .fetch_all(&mut *conn)
    .await?;
    // Cell keys are drawn as 32-bit values and stored in a 64-bit column.
    Ok(LearningFacts {
        considerations: considerations
            .into_iter()
            .map(|c| ConsiderationFact {
                jurisdiction: c.jurisdiction,
                quarter: c.quarter,
                action: Action {
                    category: c.category,
                    strength: c.strength,
                    status: c.status,
                    due_month: c.due_month,
                    effectiveness: c.effectiveness,
                    cell_key: c.cell_key as u32,
                },
            })
            .collect(),
        recipients: recipients
            .into_iter()
            .map(|r| NoticeRecipientFact {
                jurisdiction: r.jurisdiction,
                quarter: r.quarter,
                due_month: r.due_month,
                response: r.response,
                days: r.days,
                cell_key: r.cell_key as u32,
            })
            .collect(),
    })
}

/// A review's row with its cell key.
#[derive(sqlx::FromRow)]
struct KeyedReview {
    #[sqlx(flatten)]
    review: ReviewRow,
    cell_key: i64,
}

/// An item's level in a review.
#[derive(sqlx::FromRow)]
struct LevelRow {
    review_key: String,
    item_code: String,
    domain_code: String,
    level: i32,
}

/// A theme of a review.
#[derive(sqlx::FromRow)]
struct ThemeRow {
    review_key: String,
    theme: i32,
}

/// A recommendation of a review.
#[derive(sqlx::FromRow)]
struct RecommendationRow {
    review_key: String,
    category: i32,
    strength: i32,
    status: i32,
    due_month: String,
    cell_key: i64,
    effectiveness: i32,
}

/// Days a review spent in a stage.
#[derive(sqlx::FromRow)]
struct StageDaysRow {
    review_key: String,
    stage: i32,
    days: i32,
}

fn fact_of(row: ReviewRow) -> ReviewFact {
    ReviewFact {
        jurisdiction: row.jurisdiction,
        incident_type: row.incident_type,
        cause: row.cause,
        quarter: row.quarter,
        age_band: row.age_band,
        sex: row.sex,
        races: row
            .races
            .split(',')
            .filter_map(|r| r.parse().ok())
            .collect(),
        tribal: row.tribal,
        stage: row.stage,
        next_due_month: row.next_due_month,
        ..Default::default()
    }
}

/// Loads the facts of the given reviews (every review when `keys` is `None`).
pub async fn load(
    conn: &mut AnyConnection,
    keys: Option<&[String]>,
) -> Result<HashMap<String, ReviewFact>, DbError> {
    let mut facts = HashMap::new();
    let filter = |table: &str, columns: &str| -> String {
        match keys {
            None => format!("SELECT {columns} FROM {table}"),
            Some(keys) => {
                let placeholders = (1..=keys.len())
                    .map(|i| format!("${i}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                format!("SELECT {columns} FROM {table} WHERE review_key IN ({placeholders})")
            }
        }
    };
    if keys.is_some_and(<[String]>::is_empty) {
        return Ok(facts);
    }
    macro_rules! fetch {
        ($row:ty, $table:expr, $columns:expr) => {{
            let mut q = sqlx::query_as::<_, $row>(sqlx::AssertSqlSafe(filter($table, $columns)));
            for k in keys.into_iter().flatten() {
                q = q.bind(k.clone());
            }
            q.fetch_all(&mut *conn).await?
        }};
    }
    for row in fetch!(
        KeyedReview,
        "facts_reviews",
        "review_key, jurisdiction, incident_type, cause, quarter, age_band, sex, races, tribal, placement, stage, opened_month, next_due_month, cell_key"
    ) {
        let mut fact = fact_of(row.review.clone());
        // Cell keys are drawn as 32-bit values and stored in a 64-bit column.
        fact.cell_key = row.cell_key as u32;
        facts.insert(row.review.review_key, fact);
    }
    for row in fetch!(
        LevelRow,
        "facts_levels",
        "review_key, item_code, domain_code, level"
    ) {
        if let Some(f) = facts.get_mut(&row.review_key) {
            let e = f.item_levels.entry(row.item_code).or_insert(row.level);
            *e = (*e).max(row.level);
            let d = f.domain_levels.entry(row.domain_code).or_insert(row.level);
            *d = (*d).max(row.level);
        }
    }
    for row in fetch!(ThemeRow, "facts_themes", "review_key, theme") {
        if let Some(f) = facts.get_mut(&row.review_key)
            && !f.themes.contains(&row.theme)
        {
            f.themes.push(row.theme);
        }
    }
    for row in fetch!(
        RecommendationRow,
        "facts_recommendations",
        "review_key, category, strength, status, due_month, cell_key, effectiveness"
    ) {
        if let Some(f) = facts.get_mut(&row.review_key) {
            f.recommendations.push(Action {
                category: row.category,
                strength: row.strength,
                status: row.status,
                due_month: row.due_month,
                effectiveness: row.effectiveness,
                cell_key: row.cell_key as u32,
            });
        }
    }
    for row in fetch!(StageDaysRow, "facts_stage_days", "review_key, stage, days") {
        if let Some(f) = facts.get_mut(&row.review_key) {
            f.stage_days.insert(row.stage, row.days);
        }
    }
    for f in facts.values_mut() {
        f.themes.sort_unstable();
        f.recommendations.sort_by(|a, b| {
            (a.category, a.strength, a.status, &a.due_month, a.cell_key).cmp(&(
                b.category,
                b.strength,
                b.status,
                &b.due_month,
                b.cell_key,
            ))
        });
    }
    Ok(facts)
}

/// Every fact table as sorted text rows, to compare two databases.
pub async fn dump(
    conn: &mut AnyConnection,
) -> Result<BTreeMap<&'static str, Vec<String>>, DbError> {
    let mut out = BTreeMap::new();
    for (table, columns) in [
        (
            "facts_reviews",
            "review_key, jurisdiction, incident_type, cause, quarter, age_band, sex, races, tribal, placement, stage, opened_month, next_due_month",
        ),
        (
            "facts_levels",
            "review_key, ko_key, item_code, domain_code, level, instrument",
        ),
        ("facts_themes", "review_key, source_key, theme"),
        ("facts_learning", "lo_key, review_key, status, function"),
        (
            "facts_recommendations",
            "rec_key, review_key, category, strength, status, due_month, done_month",
        ),
        ("facts_stage_days", "review_key, stage, days"),
        (
            "facts_considerations",
            "consideration_key, jurisdiction, quarter, category, strength, status, due_month, effectiveness",
        ),
        (
            "facts_notice_recipients",
            "notice_key, jurisdiction, quarter, due_month, response, days",
        ),
        (
            "facts_culture_waves",
            "wave_key, jurisdiction, quarter, respondents, invited",
        ),
        (
            "facts_culture_composites",
            "wave_key, composite, positive, neutral, negative",
        ),
    ] {
        let sql = format!("SELECT {columns} FROM {table}");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&mut *conn)
            .await?;
        let mut lines: Vec<String> = rows
            .iter()
            .map(|r| {
                (0..r.len())
                    .map(|i| {
                        r.try_get::<String, _>(i)
                            .or_else(|_| r.try_get::<i32, _>(i).map(|v| v.to_string()))
                            .unwrap_or_default()
                    })
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect();
        lines.sort();
        out.insert(table, lines);
    }
    Ok(out)
}
