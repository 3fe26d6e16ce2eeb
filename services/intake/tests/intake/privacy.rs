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

fn reporter_token(subject: &str) -> String {
    scir_kit::auth::mint_hs256(
        scir_testkit::SECRET,
        scir_testkit::ISSUER,
        scir_testkit::AUDIENCE,
        subject,
        "us-wi",
        &[Role::Reporter],
        std::time::Duration::from_secs(600),
    )
    .expect("token")
}

mod oracle {
    use super::*;
    scir_testkit::on_both_backends!(a_replayed_request_id_is_no_identity_oracle);

    /// Another reporter, who may not read identities, replays a request id with
    /// guessed identities: a wrong guess and the right one get the same answer.
    /// The reporter who sent it, and callers who may read identities, still get
    /// ALREADY_EXISTS for an identity that differs. The database keeps keyed
    /// fingerprints only, so no guess can be tested against it offline.
    async fn a_replayed_request_id_is_no_identity_oracle(backend: Backend) {
        let intake = TestIntake::start(backend).await;
        let mut facts = wisconsin_death();
        facts.restricted = Some(restricted_identity());
        let mut original = intake.client_with(Some(&reporter_token("reporter-a")));
        original
            .report_incident(report("oracle-1", facts.clone()))
            .await
            .expect("reported");

        let mut wrong = facts.clone();
        wrong.restricted = Some(pb::RestrictedIdentity {
            child_name: "Guessed Name".into(),
            ..restricted_identity()
        });
        let mut other = intake.client_with(Some(&reporter_token("reporter-b")));
        let code = |r: Result<tonic::Response<pb::Incident>, tonic::Status>| {
            r.map(|_| tonic::Code::Ok).unwrap_or_else(|s| s.code())
        };
        let right_guess = code(
            other
                .report_incident(report("oracle-1", facts.clone()))
                .await,
        );
        let wrong_guess = code(
            other
                .report_incident(report("oracle-1", wrong.clone()))
                .await,
        );
        let no_guess = {
            let mut none = facts.clone();
            none.restricted = None;
            code(other.report_incident(report("oracle-1", none)).await)
        };
        assert_eq!(
            right_guess, wrong_guess,
            "the answer must not depend on the identity"
        );
        assert_eq!(right_guess, no_guess);
        // Facts the other reporter may read still decide.
        let mut other_facts = facts.clone();
        other_facts.child_age_months = Some(5);
        assert_eq!(
            code(other.report_incident(report("oracle-1", other_facts)).await),
            tonic::Code::AlreadyExists
        );
        // Those entitled to the identity are told when it differs.
        assert_eq!(
            code(
                original
                    .report_incident(report("oracle-1", wrong.clone()))
                    .await
            ),
            tonic::Code::AlreadyExists
        );
        assert_eq!(
            code(
                original
                    .report_incident(report("oracle-1", facts.clone()))
                    .await
            ),
            tonic::Code::Ok
        );
        let mut admin = intake.client(&[Role::Admin], "us-wi");
        assert_eq!(
            code(admin.report_incident(report("oracle-1", wrong)).await),
            tonic::Code::AlreadyExists
        );

        let database = intake.stop().await;
        let db = scir_kit::db::Database::open(&database.url, &scir_kit::db::DbOptions::default())
            .await
            .expect("open");
        let stored: String = sqlx::query_scalar("SELECT request_hash FROM incidents")
            .fetch_one(db.pool())
            .await
            .expect("hash");
        let mut public = facts.clone();
        let identity = public.restricted.take().expect("identity");
        for plain in [
            facts.encode_to_vec(),
            public.encode_to_vec(),
            identity.encode_to_vec(),
        ] {
            use sha2::Digest;
            let unkeyed = hex::encode(sha2::Sha256::digest(&plain));
            assert!(!stored.contains(&unkeyed), "no unkeyed hash is stored");
        }
        assert!(RESTRICTED_MARKERS.iter().all(|m| !stored.contains(m)));
        db.close().await;
    }
}
