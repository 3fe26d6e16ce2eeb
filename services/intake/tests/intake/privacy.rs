//! Restricted identities never reach events, logs or unprivileged callers.

use std::io::Write;
use std::sync::{Arc, Mutex};

use prost::Message;
use scir_kit::auth::Role;
use scir_proto::intake::v1 as pb;
use scir_testkit::Backend;
use scir_testkit::fixtures::{RESTRICTED_MARKERS, restricted_identity, wisconsin_death};

use super::harness::{TestIntake, collect_events, replay_all, report};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every log line at every level, on the test's thread (the server runs there too).
#[tokio::test(flavor = "current_thread")]
async fn identities_stay_out_of_events_and_logs() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let intake = TestIntake::start(Backend::Sqlite).await;
    let mut facts = wisconsin_death();
    facts.restricted = Some(restricted_identity());
    let reported = intake
        .reporter()
        .report_incident(report("p-1", facts.clone()))
        .await
        .expect("report")
        .into_inner();
    let amend = pb::AmendIncidentRequest {
        name: reported.name.clone(),
        incident: Some(facts),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["cause_category".into()],
        }),
        reason: "cause confirmed".into(),
        etag: String::new(),
    };
    let mut changed = amend.clone();
    changed.incident.as_mut().expect("facts").cause_category = pb::CauseCategory::Neglect as i32;
    intake
        .reporter()
        .amend_incident(changed)
        .await
        .expect("amend");
    let mut bad = wisconsin_death();
    bad.restricted = Some(pb::RestrictedIdentity {
        child_name: format!("{}\u{7}", restricted_identity().child_name),
        ..Default::default()
    });
    intake
        .reporter()
        .report_incident(report("p-2", bad))
        .await
        .expect_err("control character");

    let events: Vec<_> =
        collect_events(&mut intake.client(&[Role::Service], "scir"), replay_all()).await;
    assert_eq!(events.len(), 2);
    for event in &events {
        let bytes = event.encode_to_vec();
        for marker in RESTRICTED_MARKERS {
            assert!(!contains(&bytes, marker.as_bytes()), "{marker} in an event");
        }
    }
    let database = intake.stop().await;

    // The raw event table holds no identity either.
    let db = scir_kit::db::Database::open(&database.url, &Default::default())
        .await
        .expect("open");
    let payloads: Vec<Vec<u8>> = sqlx::query_scalar("SELECT payload FROM events")
        .fetch_all(db.pool())
        .await
        .expect("payloads");
    assert!(payloads.iter().all(|p| {
        RESTRICTED_MARKERS
            .iter()
            .all(|m| !contains(p, m.as_bytes()))
    }));
    db.close().await;

    let logs = String::from_utf8_lossy(&captured.0.lock().expect("logs")).into_owned();
    assert!(logs.contains("incident reported"), "logging was captured");
    for marker in RESTRICTED_MARKERS {
        assert!(!logs.contains(marker), "{marker} in the logs");
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
