//! The write path under units of work: units committed together fail alone,
//! a write that never got its turn never runs, and the audit chain and the
//! outbox hold exactly what was acknowledged.

use std::time::Duration;

use scir_intake::store::{self, NewIncident};
use scir_kit::audit::{AuditLog, AuditRecord};
use scir_kit::db::{Database, DbError, DbOptions};
use scir_kit::events::NewEvent;
use scir_kit::statement::Statement;
use scir_kit::unit::UnitOfWork;
use scir_testkit::Backend;

scir_testkit::on_both_backends!(units_queued_together_fail_alone);

#[tokio::test]
async fn a_write_that_waited_too_long_is_refused_and_never_runs() {
    let test_db = scir_testkit::TestDatabase::new(Backend::Sqlite).await;
    let db = open(&test_db).await;
    // A writer that reads inside its transaction holds SQLite's turn.
    let held = db.begin_write().await.expect("turn");
    let started = std::time::Instant::now();
    let refused = commit_one(&db, 1, Fault::None).await;
    assert!(
        matches!(refused, Err(DbError::WriterBusy(_))),
        "{refused:?}"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "waited its turn"
    );
    held.commit().await.expect("release");
    // Once the writer is free again, the refused write has not happened
    // behind the caller's back, and the next one runs.
    commit_one(&db, 2, Fault::None).await.expect("next write");
    assert_eq!(incidents(&db).await, ["req-2"]);
    assert_eq!(audited(&db).await, ["writer-2"]);
    db.close().await;
}

#[tokio::test]
async fn a_write_whose_caller_went_away_while_queued_never_runs() {
    let test_db = scir_testkit::TestDatabase::new(Backend::Sqlite).await;
    let db = open(&test_db).await;
    let held = db.begin_write().await.expect("turn");
    let gone = tokio::spawn({
        let db = db.clone();
        async move { commit_one(&db, 1, Fault::None).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The request is cancelled (its client left, its deadline passed) while
    // its unit waits for the writer.
    gone.abort();
    assert!(gone.await.is_err_and(|e| e.is_cancelled()));
    held.commit().await.expect("release");
    commit_one(&db, 2, Fault::None).await.expect("next write");
    assert_eq!(incidents(&db).await, ["req-2"]);
    assert_eq!(audited(&db).await, ["writer-2"]);
    db.close().await;
}

/// Units that queue behind a busy writer are committed as one group on
/// SQLite; each runs in its own savepoint, so a unit whose guard fails or
/// whose statement errs rolls back alone, and its audit record and event go
/// with it.
async fn units_queued_together_fail_alone(backend: Backend) {
    let test_db = scir_testkit::TestDatabase::new(backend).await;
    let db = open(&test_db).await;
    commit_one(&db, 0, Fault::None).await.expect("first");
    // Hold the writer so that the units below queue up behind it.
    let held = db.begin_write().await.expect("turn");
    let mut units = tokio::task::JoinSet::new();
    for i in 1..=40 {
        let db = db.clone();
        let fault = match i % 5 {
            0 => Fault::TakenRequestId,
            3 => Fault::BrokenStatement,
            _ => Fault::None,
        };
        units.spawn(async move { (i, fault, commit_one(&db, i, fault).await) });
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    held.commit().await.expect("release");
    let mut kept = vec!["req-0".to_owned()];
    let mut writers = vec!["writer-0".to_owned()];
    while let Some(joined) = units.join_next().await {
        let (i, fault, outcome) = joined.expect("unit");
        match fault {
            Fault::None => {
                outcome.unwrap_or_else(|e| panic!("unit {i}: {e}"));
                kept.push(format!("req-{i}"));
                writers.push(format!("writer-{i}"));
            }
            Fault::TakenRequestId => assert!(
                matches!(outcome, Err(DbError::Guarded(store::REQUEST_ID_TAKEN))),
                "unit {i}: {outcome:?}"
            ),
            Fault::BrokenStatement => assert!(outcome.is_err(), "unit {i}"),
        }
    }
    kept.sort();
    writers.sort();
    assert_eq!(incidents(&db).await, kept);
    assert_eq!(audited(&db).await, writers);
    assert_eq!(events(&db).await, kept.len());
    let log = AuditLog::new(db.clone());
    assert_eq!(
        log.verify().await.expect("verify"),
        None,
        "one unbroken chain"
    );
    db.close().await;
}

#[derive(Debug, Clone, Copy)]
enum Fault {
    None,
    /// Its incident reuses the first unit's request id.
    TakenRequestId,
    /// Its last statement names a table that does not exist.
    BrokenStatement,
}

async fn open(test_db: &scir_testkit::TestDatabase) -> Database {
    Database::connect(
        &test_db.url,
        &scir_intake::startup::MIGRATIONS,
        &DbOptions::default(),
    )
    .await
    .expect("connect")
}

/// One unit like a report: an incident, an audit record and an event.
async fn commit_one(db: &Database, i: usize, fault: Fault) -> Result<(), DbError> {
    let id = format!("incident-{i}");
    let request_id = match fault {
        Fault::TakenRequestId => "req-0".to_owned(),
        _ => format!("req-{i}"),
    };
    let mut unit = UnitOfWork::begin(db).await?;
    unit.write(store::insert_incident(&NewIncident {
        id: &id,
        jurisdiction: "us-wi",
        request_id: &request_id,
        request_hash: "hash",
        incident_type: 1,
        incident_date: "2026-11-01",
        outcome: 1,
        reported_by: "reporter",
        time: 1,
    }));
    if let Fault::BrokenStatement = fault {
        unit.write(Statement::new("INSERT INTO no_such_table (x) VALUES ($1)").bind(1_i64));
    }
    unit.audit(AuditRecord {
        subject: format!("writer-{i}"),
        roles: "reporter".into(),
        method: "ReportIncident".into(),
        resource: id.clone(),
        jurisdiction: "us-wi".into(),
        outcome: "ok".into(),
    });
    unit.publish(NewEvent::with_payload(
        id,
        "us-wi".into(),
        prost_types::Any::default(),
    ));
    unit.commit().await
}

async fn incidents(db: &Database) -> Vec<String> {
    strings(db, "SELECT request_id FROM incidents").await
}

async fn audited(db: &Database) -> Vec<String> {
    strings(db, "SELECT subject FROM audit_log").await
}

/// One text column, sorted here (a database's collation may differ).
async fn strings(db: &Database, sql: &'static str) -> Vec<String> {
    let mut rows: Vec<String> = sqlx::query_scalar(sql)
        .fetch_all(db.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.sort();
    rows
}

async fn events(db: &Database) -> usize {
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events")
        .fetch_one(db.pool())
        .await
        .expect("events");
    usize::try_from(count).expect("count")
}
