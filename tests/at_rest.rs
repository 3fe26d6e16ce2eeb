//! Restricted data at rest: a child's identity at intake and debriefing notes
//! at review are sealed in their databases. The raw tables (every table, every
//! column, read past the services) hold no plaintext of either, while the
//! services still return them to those who may read them.

use scir_e2e::cases::wisconsin_case;
use scir_e2e::processes::{Stack, Telemetry};
use scir_kit::auth::Role;
use scir_kit::db::{Database, DbOptions};
use scir_proto::intake::v1 as intake;
use scir_proto::review::v1 as review;
use scir_testkit::Backend;
use scir_testkit::fixtures::{RESTRICTED_MARKERS, restricted_identity};
use sqlx::Row;

const NOTES_MARKER: &str = "Qwertzu-note-marker-7731";

/// Everything a database holds, as text: the SQLite file and its WAL byte by
/// byte, or every PostgreSQL table row as JSON (bytea as hex).
async fn raw(url: &str) -> String {
    if let Some(path) = url.strip_prefix("sqlite://") {
        let mut bytes = std::fs::read(path).expect("database file");
        if let Ok(wal) = std::fs::read(format!("{path}-wal")) {
            bytes.extend(wal);
        }
        return String::from_utf8_lossy(&bytes).into_owned();
    }
    let db = Database::open(url, &DbOptions::default())
        .await
        .expect("open");
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
    )
    .fetch_all(db.pool())
    .await
    .expect("tables");
    let mut text = String::new();
    for table in tables {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT row_to_json(t)::text AS row FROM \"{table}\" t"
        )))
        .fetch_all(db.pool())
        .await
        .expect("rows");
        for row in rows {
            text.push_str(&row.get::<String, _>("row"));
            text.push('\n');
        }
    }
    db.close().await;
    text
}

fn hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

async fn sealed_at_rest(backend: Backend) {
    let mut stack = Stack::start(backend, &Telemetry::default()).await;
    let driver = stack.driver();
    let lead = driver
        .caller("lead-rest", &[Role::ScrLead], "us-wi")
        .expect("caller");
    let instrument = driver.active_instrument(&lead).await.expect("instrument");
    let mut case = wisconsin_case("rest-1", &instrument);
    case.facts.restricted = Some(restricted_identity());
    case.debriefings[0].notes = format!("{NOTES_MARKER}: what the supervisor said.");
    let outcome = driver.run(&case).await.expect("journey");

    // The services still give them to those who may read them.
    let reviewer = driver
        .caller("rater-e2e-1", &[Role::Reviewer], "us-wi")
        .expect("caller");
    let incident = reviewer
        .intake()
        .get_incident(intake::GetIncidentRequest {
            name: outcome.incident.name.clone(),
        })
        .await
        .expect("incident")
        .into_inner();
    assert_eq!(
        incident.facts.and_then(|f| f.restricted),
        Some(restricted_identity())
    );
    let review_name = outcome.review.expect("review").name;
    let debriefings = reviewer
        .review()
        .list_debriefings(review::ListDebriefingsRequest {
            parent: review_name,
            ..Default::default()
        })
        .await
        .expect("debriefings")
        .into_inner()
        .debriefings;
    assert!(debriefings[0].notes.starts_with(NOTES_MARKER));

    // Read the raw tables with the services stopped, so everything is on disk.
    for service in [
        scir_e2e::processes::Service::Intake,
        scir_e2e::processes::Service::Review,
    ] {
        assert!(stack.terminate(service));
    }
    let intake_raw = raw(&stack.databases[0].url).await;
    let review_raw = raw(&stack.databases[1].url).await;
    for marker in RESTRICTED_MARKERS.iter().chain([&NOTES_MARKER]) {
        for (name, text) in [("intake", &intake_raw), ("review", &review_raw)] {
            assert!(
                !text.contains(marker),
                "`{marker}` in plaintext in {name}'s tables"
            );
            assert!(
                !text.contains(&hex(marker)),
                "`{marker}` as bytes in {name}'s tables"
            );
        }
    }
    // The sealed values name their key, so keys can rotate.
    let db = Database::open(&stack.databases[0].url, &DbOptions::default())
        .await
        .expect("open");
    let sealed: Vec<Vec<u8>> = sqlx::query_scalar("SELECT identity FROM incident_restricted")
        .fetch_all(db.pool())
        .await
        .expect("identities");
    assert!(!sealed.is_empty());
    for value in &sealed {
        assert_eq!(scir_kit::sealing::key_id(value), Ok("test"));
    }
    db.close().await;
}

#[tokio::test]
async fn identities_and_notes_are_sealed_on_sqlite() {
    sealed_at_rest(Backend::Sqlite).await;
}

#[tokio::test]
async fn identities_and_notes_are_sealed_on_postgres() {
    sealed_at_rest(Backend::Postgres).await;
}
