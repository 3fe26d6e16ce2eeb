//! The audit log: an append-only, hash-chained record of every read or write of
//! case-level data, and of every denied call, in the service's own database.
//!
//! Each record's hash covers its fields and the previous record's hash, so
//! changing, removing or reordering a record breaks the chain from that point;
//! [`AuditLog::verify`] finds the first broken link.

use sha2::{Digest, Sha256};
use sqlx::AnyConnection;

use crate::db::{Backend, Database, DbError, now_micros};
use crate::statement::Statement;

/// The hash before the first record.
pub(crate) const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Serialises appends to the chain (and to the outbox) on PostgreSQL.
pub(crate) const WRITE_LOCK_KEY: i64 = 0x5c1a_0001;

/// What happened, by whom, to which record.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditRecord {
    /// Token subject of the caller (empty when unauthenticated).
    pub subject: String,
    /// The caller's roles, comma-separated.
    pub roles: String,
    /// The gRPC method.
    pub method: String,
    /// Resource name read or written (empty for denied calls and lists).
    pub resource: String,
    /// Jurisdiction of the resource.
    pub jurisdiction: String,
    /// `ok`, `denied: ...`, or `error: <code>`.
    pub outcome: String,
}

impl AuditRecord {
    /// A record of `caller` calling `method` on `resource`.
    pub fn by(
        caller: &crate::auth::Caller,
        method: &str,
        resource: &str,
        jurisdiction: &str,
        outcome: &str,
    ) -> Self {
        Self {
            subject: caller.subject.clone(),
            roles: caller.roles_string(),
            method: method.to_owned(),
            resource: resource.to_owned(),
            jurisdiction: jurisdiction.to_owned(),
            outcome: outcome.to_owned(),
        }
    }
}

impl AuditRecord {
    /// A record of `caller` calling `method` on the resource named `resource`,
    /// under the jurisdiction its name says (none for a name without one).
    pub fn of_resource(
        caller: &crate::auth::Caller,
        method: &str,
        resource: &str,
        outcome: &str,
    ) -> Self {
        let jurisdiction = crate::names::jurisdiction_of(resource).unwrap_or_default();
        Self::by(caller, method, resource, jurisdiction, outcome)
    }
}

/// A stored audit record.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredAuditRecord {
    /// Position in the chain.
    pub seq: i64,
    /// When, in microseconds since the epoch.
    pub record_time: i64,
    /// Trace id of the call.
    pub trace_id: String,
    /// The record.
    #[sqlx(flatten)]
    pub record: AuditRecord,
    /// Hash of the previous record.
    pub prev_hash: String,
    /// This record's hash.
    pub hash: String,
}

/// The first broken link found by [`AuditLog::verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenLink {
    /// Sequence number of the first record whose hash does not match.
    pub seq: i64,
    /// Why.
    pub reason: String,
}

/// The audit log beside the member directory, for use cases on named
/// resources: records what a caller did to one, and lets a caller act in a
/// jurisdiction (its own, or a state in its counties') or records the denial.
#[derive(Debug, Clone)]
pub struct Guard {
    log: AuditLog,
    directory: std::sync::Arc<crate::directory::Directory>,
}

impl Guard {
    /// A guard writing to `db`'s audit log, deciding by `directory`.
    pub fn new(db: Database, directory: std::sync::Arc<crate::directory::Directory>) -> Self {
        Self {
            log: AuditLog::new(db),
            directory,
        }
    }

    /// The audit log itself, for records about no named resource.
    pub fn log(&self) -> &AuditLog {
        &self.log
    }

    /// Records `outcome` of `caller`'s `method` on `resource`.
    pub async fn record(
        &self,
        caller: &crate::auth::Caller,
        method: &str,
        resource: &str,
        outcome: &str,
    ) -> Result<(), crate::ApiError> {
        self.log
            .record(AuditRecord::of_resource(caller, method, resource, outcome))
            .await?;
        Ok(())
    }

    /// Lets `caller` act in `jurisdiction`, or records the denial and refuses.
    pub async fn authorize(
        &self,
        caller: &crate::auth::Caller,
        method: &str,
        resource: &str,
        jurisdiction: &str,
    ) -> Result<(), crate::ApiError> {
        if let Err(denied) = caller.authorize_jurisdiction(&self.directory, jurisdiction) {
            self.record(caller, method, resource, "denied: jurisdiction")
                .await?;
            return Err(denied);
        }
        Ok(())
    }
}

/// The audit log of one service database.
#[derive(Debug, Clone)]
pub struct AuditLog {
    db: Database,
}

impl AuditLog {
    /// The audit log in `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// Appends a record in its own transaction.
    pub async fn record(&self, record: AuditRecord) -> Result<(), DbError> {
        let mut unit = crate::unit::UnitOfWork::begin(&self.db).await?;
        unit.audit(record);
        unit.commit().await
    }

    /// Walks the chain from the start and returns the first broken link, if any.
    pub async fn verify(&self) -> Result<Option<BrokenLink>, DbError> {
        let mut prev = GENESIS.to_owned();
        let mut after = 0i64;
        let mut expected_seq: Option<i64> = None;
        loop {
            let rows: Vec<StoredAuditRecord> = sqlx::query_as(
                "SELECT seq, record_time, subject, roles, method, resource, jurisdiction, outcome, \
                 trace_id, prev_hash, hash FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT 1000",
            )
            .bind(after)
            .fetch_all(self.db.pool())
            .await?;
            if rows.is_empty() {
                return Ok(None);
            }
            for stored in rows {
                if stored.prev_hash != prev {
                    // A gap in `seq` alone proves nothing (PostgreSQL spends a
                    // sequence value on an append that rolls back); a gap where
                    // the link breaks is a removed record.
                    return Ok(Some(match expected_seq {
                        Some(expected) if stored.seq != expected => BrokenLink {
                            seq: expected,
                            reason: "a record is missing".to_owned(),
                        },
                        _ => BrokenLink {
                            seq: stored.seq,
                            reason: "the previous-hash link does not match".to_owned(),
                        },
                    }));
                }
                let hash = chain_hash(&prev, stored.record_time, &stored.trace_id, &stored.record);
                if hash != stored.hash {
                    return Ok(Some(BrokenLink {
                        seq: stored.seq,
                        reason: "the record does not match its hash".to_owned(),
                    }));
                }
                prev = stored.hash;
                after = stored.seq;
                expected_seq = Some(stored.seq + 1);
            }
        }
    }

    /// The most recent records, newest first.
    pub async fn recent(&self, limit: i64) -> Result<Vec<StoredAuditRecord>, DbError> {
        Ok(sqlx::query_as(
            "SELECT seq, record_time, subject, roles, method, resource, jurisdiction, outcome, \
             trace_id, prev_hash, hash FROM audit_log ORDER BY seq DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?)
    }
}

/// Takes the per-database write lock on PostgreSQL until the transaction ends,
/// so chain appends and outbox cursors follow commit order. SQLite transactions
/// begun with [`Database::begin_write`] hold the write lock already.
pub async fn lock_for_append(conn: &mut AnyConnection, backend: Backend) -> Result<(), DbError> {
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(WRITE_LOCK_KEY)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Appends a record inside the caller's transaction, so the record commits with
/// the change it describes (or not at all).
///
/// The record links to the chain's last hash. The last hash this process wrote
/// is usually still the last one, so the insert is tried with it, guarded by a
/// check of the actual last hash in the same statement: one round trip under
/// the write lock instead of two. When another writer (a replica, or a rolled
/// back transaction) moved the chain, the guard inserts nothing and the append
/// reads the last hash and inserts again.
pub async fn append(
    conn: &mut AnyConnection,
    db: &Database,
    record: &AuditRecord,
) -> Result<(), DbError> {
    lock_for_append(conn, db.backend()).await?;
    let time = now_micros();
    let trace_id = crate::telemetry::current_trace_id();
    if let Some(remembered) = db.audit_head() {
        let hash = chain_hash(&remembered, time, &trace_id, record);
        let guarded = insert_statement(time, &trace_id, record, &remembered, &hash, true);
        if guarded.changed_rows(conn).await? == 1 {
            db.remember_audit_head(&hash);
            return Ok(());
        }
    }
    let prev: Option<String> = sqlx::query_scalar(LAST_HASH)
        .fetch_optional(&mut *conn)
        .await?;
    let prev = prev.unwrap_or_else(|| GENESIS.to_owned());
    let hash = chain_hash(&prev, time, &trace_id, record);
    insert_statement(time, &trace_id, record, &prev, &hash, false)
        .execute(conn)
        .await?;
    db.remember_audit_head(&hash);
    Ok(())
}

/// The chain's last hash.
pub(crate) const LAST_HASH: &str = "SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1";

/// The insert of one record linked to `prev` whose hash is `hash`; with
/// `guarded`, it inserts nothing unless `prev` is still the chain's last hash.
pub(crate) fn insert_statement(
    time: i64,
    trace_id: &str,
    record: &AuditRecord,
    prev: &str,
    hash: &str,
    guarded: bool,
) -> Statement {
    macro_rules! insert_sql {
        () => {
            "INSERT INTO audit_log (record_time, subject, roles, method, resource, jurisdiction, \
             outcome, trace_id, prev_hash, hash) SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10"
        };
    }
    const GUARDED: &str = concat!(
        insert_sql!(),
        " WHERE COALESCE((SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1), $11) = $9"
    );
    let statement = Statement::new(if guarded { GUARDED } else { insert_sql!() })
        .bind(time)
        .bind(&record.subject)
        .bind(&record.roles)
        .bind(&record.method)
        .bind(&record.resource)
        .bind(&record.jurisdiction)
        .bind(&record.outcome)
        .bind(trace_id)
        .bind(prev)
        .bind(hash);
    if guarded {
        statement.bind(GENESIS)
    } else {
        statement
    }
}

pub(crate) fn chain_hash(prev: &str, time: i64, trace_id: &str, r: &AuditRecord) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev.as_bytes());
    hasher.update(time.to_be_bytes());
    for field in [
        &r.subject,
        &r.roles,
        &r.method,
        &r.resource,
        &r.jurisdiction,
        &r.outcome,
        &trace_id.to_owned(),
    ] {
        // Length-prefixed so that moving bytes between fields changes the hash.
        hasher.update((field.len() as u64).to_be_bytes());
        hasher.update(field.as_bytes());
    }
    hex::encode(hasher.finalize())
}
