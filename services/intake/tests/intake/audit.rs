//! The audit chain records reads, writes and denials, and detects tampering.

use scir_kit::audit::AuditLog;
use scir_kit::auth::Role;
use scir_kit::db::{Database, DbOptions};
use scir_proto::intake::v1 as pb;
use scir_testkit::Backend;
use scir_testkit::fixtures::wisconsin_death;

use super::harness::{TestIntake, report};

scir_testkit::on_both_backends!(
    a_tampered_audit_row_is_found,
    edits_deletions_and_reordering_are_found_where_they_happen,
    two_writers_and_a_rollback_keep_one_unbroken_chain
);

fn reading(i: usize) -> scir_kit::audit::AuditRecord {
    scir_kit::audit::AuditRecord {
        subject: format!("user-{i}"),
        roles: "reviewer".into(),
        method: "GetIncident".into(),
        resource: format!("jurisdictions/us-wi/incidents/{i}"),
        jurisdiction: "us-wi".into(),
        outcome: "ok".into(),
    }
}

/// Each handle remembers the chain head it wrote last; a head moved by another
/// handle (a replica) or by a rolled-back append must not fork the chain.
async fn two_writers_and_a_rollback_keep_one_unbroken_chain(backend: Backend) {
    let test_db = scir_testkit::TestDatabase::new(backend).await;
    let options = DbOptions::default();
    let open = || Database::connect(&test_db.url, &scir_intake::startup::MIGRATIONS, &options);
    let (a, b) = (open().await.expect("a"), open().await.expect("b"));
    let (log_a, log_b) = (AuditLog::new(a.clone()), AuditLog::new(b.clone()));
    log_a.record(reading(1)).await.expect("a 1");
    log_b.record(reading(2)).await.expect("b 2");
    log_a
        .record(reading(3))
        .await
        .expect("a 3, after b moved the head");
    {
        let mut tx = a.begin_write().await.expect("begin");
        scir_kit::audit::append(&mut tx, &a, &reading(99))
            .await
            .expect("append, then roll back");
    }
    log_a
        .record(reading(4))
        .await
        .expect("a 4, after a rollback");
    log_a
        .record(reading(5))
        .await
        .expect("a 5, head remembered");
    log_b.record(reading(6)).await.expect("b 6");

    let records = log_a.recent(100).await.expect("records");
    let subjects: Vec<_> = records
        .iter()
        .rev()
        .map(|r| r.record.subject.as_str())
        .collect();
    assert_eq!(
        subjects,
        ["user-1", "user-2", "user-3", "user-4", "user-5", "user-6"]
    );
    assert_eq!(log_b.verify().await.expect("verify"), None);
    a.close().await;
    b.close().await;
}

async fn a_tampered_audit_row_is_found(backend: Backend) {
    let intake = TestIntake::start(backend).await;
    let reported = intake
        .reporter()
        .report_incident(report("au-1", wisconsin_death()))
        .await
        .expect("report")
        .into_inner();
    let get = pb::GetIncidentRequest {
        name: reported.name.clone(),
    };
    intake
        .client(&[Role::Reviewer], "us-wi")
        .get_incident(get.clone())
        .await
        .expect("read");
    intake
        .client(&[Role::Reviewer], "us-tn")
        .get_incident(get.clone())
        .await
        .expect_err("denied");
    intake
        .client_with(None)
        .get_incident(get)
        .await
        .expect_err("unauthenticated");
    let database = intake.stop().await;

    let db = Database::open(&database.url, &DbOptions::default())
        .await
        .expect("open");
    let log = AuditLog::new(db.clone());
    let records = log.recent(100).await.expect("records");
    let outcomes: Vec<_> = records
        .iter()
        .rev()
        .map(|r| {
            (
                r.record
                    .method
                    .rsplit('/')
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
                r.record.outcome.clone(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("ReportIncident".to_owned(), "ok".to_owned()),
            ("GetIncident".to_owned(), "ok".to_owned()),
            ("GetIncident".to_owned(), "denied: jurisdiction".to_owned()),
            (
                "GetIncident".to_owned(),
                "denied: unauthenticated x1".to_owned()
            ),
        ]
    );
    assert_eq!(
        records.last().map(|r| r.record.resource.as_str()),
        Some(reported.name.as_str())
    );
    assert_eq!(log.verify().await.expect("verify"), None);

    // The table refuses updates while its trigger stands.
    let update = "UPDATE audit_log SET outcome = 'ok' WHERE seq = 3";
    assert!(
        sqlx::query(update).execute(db.pool()).await.is_err(),
        "audit_log must be append-only"
    );

    // Someone with the power to drop the guard edits a record: the chain shows where.
    let disable = match backend {
        Backend::Sqlite => "DROP TRIGGER audit_log_no_update",
        Backend::Postgres => "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update",
    };
    sqlx::query(disable)
        .execute(db.pool())
        .await
        .expect("disable guard");
    sqlx::query(update)
        .execute(db.pool())
        .await
        .expect("tamper");
    let broken = log
        .verify()
        .await
        .expect("verify")
        .expect("tampering detected");
    assert_eq!(broken.seq, 3);
    db.close().await;
}

/// A chain of ten records in a fresh database, with the append-only guards
/// dropped (as by someone with full control of the database).
async fn unguarded_chain(backend: Backend) -> (scir_testkit::TestDatabase, Database, AuditLog) {
    let test_db = scir_testkit::TestDatabase::new(backend).await;
    let db = Database::connect(
        &test_db.url,
        &scir_intake::startup::MIGRATIONS,
        &DbOptions::default(),
    )
    .await
    .expect("database");
    let log = AuditLog::new(db.clone());
    for i in 1..=10 {
        log.record(reading(i)).await.expect("record");
    }
    assert_eq!(log.verify().await.expect("verify"), None);
    let guards: &[&str] = match backend {
        Backend::Sqlite => &[
            "DROP TRIGGER audit_log_no_update",
            "DROP TRIGGER audit_log_no_delete",
        ],
        // One trigger guards both UPDATE and DELETE there.
        Backend::Postgres => &["ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update"],
    };
    for guard in guards {
        sqlx::query(*guard)
            .execute(db.pool())
            .await
            .expect("drop guard");
    }
    (test_db, db, log)
}

async fn edits_deletions_and_reordering_are_found_where_they_happen(backend: Backend) {
    // An edited record breaks at itself.
    let (_keep, db, log) = unguarded_chain(backend).await;
    sqlx::query("UPDATE audit_log SET subject = 'someone-else' WHERE seq = 6")
        .execute(db.pool())
        .await
        .expect("edit");
    let broken = log.verify().await.expect("verify").expect("edit found");
    assert_eq!(
        (broken.seq, broken.reason.as_str()),
        (6, "the record does not match its hash")
    );
    db.close().await;

    // A deleted record is missing at its place.
    let (_keep, db, log) = unguarded_chain(backend).await;
    sqlx::query("DELETE FROM audit_log WHERE seq = 4")
        .execute(db.pool())
        .await
        .expect("delete");
    let broken = log.verify().await.expect("verify").expect("deletion found");
    assert_eq!(
        (broken.seq, broken.reason.as_str()),
        (4, "a record is missing")
    );
    db.close().await;

    // Two records swapped (every column but the position) break at the first.
    let (_keep, db, log) = unguarded_chain(backend).await;
    let swap = "UPDATE audit_log SET record_time = o.record_time, subject = o.subject, \
                roles = o.roles, method = o.method, resource = o.resource, \
                jurisdiction = o.jurisdiction, outcome = o.outcome, trace_id = o.trace_id, \
                prev_hash = o.prev_hash, hash = o.hash \
                FROM (SELECT * FROM audit_log WHERE seq IN (7, 8)) AS o \
                WHERE audit_log.seq IN (7, 8) AND o.seq <> audit_log.seq";
    sqlx::query(swap).execute(db.pool()).await.expect("reorder");
    let subjects: Vec<String> =
        sqlx::query_scalar("SELECT subject FROM audit_log WHERE seq IN (7, 8) ORDER BY seq")
            .fetch_all(db.pool())
            .await
            .expect("read");
    assert_eq!(subjects, ["user-8", "user-7"], "the rows were swapped");
    let broken = log
        .verify()
        .await
        .expect("verify")
        .expect("reordering found");
    assert_eq!(
        (broken.seq, broken.reason.as_str()),
        (7, "the previous-hash link does not match")
    );
    db.close().await;
}
