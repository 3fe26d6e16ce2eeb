//! The audit chain records reads, writes and denials, and detects tampering.

use scir_kit::audit::AuditLog;
use scir_kit::auth::Role;
use scir_kit::db::{Database, DbOptions};
use scir_proto::intake::v1 as pb;
use scir_testkit::Backend;
use scir_testkit::fixtures::wisconsin_death;

use super::harness::{TestIntake, report};

scir_testkit::on_both_backends!(a_tampered_audit_row_is_found);

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
                "denied: unauthenticated".to_owned()
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
