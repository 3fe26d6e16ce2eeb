//! Review's own event log carries codes for insights, never narrative.

use prost::Message;
use scir_proto::review::v1 as pb;
use scir_testkit::Backend;
use scir_testkit::fixtures::{self, wisconsin_death};

use super::harness::{System, advance, episode, review_events, staff};

scir_testkit::on_both_backends!(events_carry_codes_not_narrative);

async fn events_carry_codes_not_narrative(backend: Backend) {
    let system = System::start(backend).await;
    let mut facts = wisconsin_death();
    facts.restricted = Some(fixtures::restricted_identity());
    let incident = system.report("e-1", facts).await;
    let review = system.review_of(&incident.name).await.expect("review").name;
    staff(&system, &review).await;
    let mut lead = system.lead();
    advance(&mut lead, &review, "").await.expect("advanced");
    let secret_text = "Narrative that must stay inside the review";
    let mut reviewer = system.reviewer();
    let ep = reviewer
        .create_episode(pb::CreateEpisodeRequest {
            parent: review.clone(),
            episode: Some(episode("E", secret_text)),
        })
        .await
        .expect("episode")
        .into_inner();
    let ko = pb::KeyObservation {
        title: secret_text.into(),
        description: secret_text.into(),
        episodes: vec![ep.name],
        themes: vec![pb::Theme::SafeSleep as i32],
        ..Default::default()
    };
    reviewer
        .create_key_observation(pb::CreateKeyObservationRequest {
            parent: review.clone(),
            key_observation: Some(ko),
        })
        .await
        .expect("ko");

    let events = review_events(&system).await;
    let types: Vec<_> = events.iter().map(|e| e.r#type.as_str()).collect();
    assert_eq!(
        types,
        [
            "scir.review.v1.ReviewOpened",
            "scir.review.v1.ReviewStageChanged",
            "scir.review.v1.KeyObservationChanged"
        ]
    );
    let opened = pb::ReviewOpened::decode(
        events[0]
            .payload
            .as_ref()
            .expect("payload")
            .value
            .as_slice(),
    )
    .expect("decodes");
    assert_eq!(opened.review, review);
    let facts = opened.facts.expect("facts");
    assert_eq!(facts.child_age_months, 4);
    assert_eq!(
        facts.incident_type,
        scir_proto::intake::v1::IncidentType::Death as i32
    );
    let changed = pb::ReviewStageChanged::decode(
        events[1]
            .payload
            .as_ref()
            .expect("payload")
            .value
            .as_slice(),
    )
    .expect("decodes");
    assert_eq!(
        (changed.from, changed.to),
        (pb::Stage::Opened as i32, pb::Stage::CaseRecordReview as i32)
    );
    let ko = pb::KeyObservationChanged::decode(
        events[2]
            .payload
            .as_ref()
            .expect("payload")
            .value
            .as_slice(),
    )
    .expect("decodes");
    assert_eq!(ko.themes, [pb::Theme::SafeSleep as i32]);
    for event in &events {
        let bytes = event.encode_to_vec();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("Narrative"), "narrative in {}", event.r#type);
        for marker in fixtures::RESTRICTED_MARKERS {
            assert!(!text.contains(marker), "identity in {}", event.r#type);
        }
        assert!(
            !text.contains(super::harness::REVIEWER),
            "worker identity in {}",
            event.r#type
        );
    }
    system.stop().await;
}
