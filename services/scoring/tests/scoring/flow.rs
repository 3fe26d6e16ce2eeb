//! The whole scoring flow with two and with three raters: blind ratings,
//! agreement, consensus, and the review leaving SSIT scoring only then.

use prost::Message;
use scir_kit::auth::Role;
use scir_proto::review::v1 as review;
use scir_proto::scoring::v1 as pb;
use scir_testkit::Backend;
use tonic::Code;

use super::harness::{LEAD, System, advance, ratings};

scir_testkit::on_both_backends!(
    two_raters,
    three_raters,
    teams_of_two_and_three_count_together
);

async fn two_raters(backend: Backend) {
    flow(
        backend,
        &["rater-a", "rater-b"],
        &[&[0, 1, 2, 3, 2, 1], &[0, 1, 2, 2, 2, 0]],
    )
    .await;
}

async fn three_raters(backend: Backend) {
    flow(
        backend,
        &["rater-a", "rater-b", "rater-c"],
        &[&[0, 1, 2, 3, 2], &[0, 1, 3, 3, 2], &[1, 1, 2, 3, 2]],
    )
    .await;
}

/// One item across the jurisdiction: a review rated by two raters and one by
/// three both count (two units, five ratings), not only the larger team's.
async fn teams_of_two_and_three_count_together(backend: Backend) {
    let system = System::start(backend, None).await;
    let teams: [&[&str]; 2] = [&["pair-a", "pair-b"], &["trio-a", "trio-b", "trio-c"]];
    for (i, team) in teams.iter().enumerate() {
        let (_, ko) = system.review_in_scoring(&format!("mixed-{i}"), team).await;
        for (r, rater) in team.iter().enumerate() {
            system
                .scoring_as(rater, &[Role::Reviewer])
                .submit_ratings(ratings(&ko, &[(r % 2) as i32 + 1]))
                .await
                .expect("submitted");
        }
    }
    let item = scir_scoring::domain::instruments::Catalogue::load(None, None)
        .expect("instrument")
        .active()
        .items[0]
        .clone();
    let got = system
        .scoring_as(LEAD, &[Role::ScrLead])
        .get_agreement(pb::GetAgreementRequest {
            scope: Some(pb::get_agreement_request::Scope::ItemCode(item)),
            jurisdiction: "jurisdictions/us-wi".into(),
        })
        .await
        .expect("agreement")
        .into_inner();
    assert_eq!((got.units, got.raters, got.ratings), (2, 3, 5), "{got:?}");
    // Pairs: the two disagree (1, 2); the three agree in one of three pairs
    // (1, 2, 1): 1 of 4 pairs.
    let percent = got.percent_agreement.and_then(|s| s.value);
    assert!(
        percent.is_some_and(|p| (p - 0.25).abs() < 1e-9),
        "{percent:?}"
    );
    assert!(got.cohen_kappa.and_then(|s| s.value).is_none());
    assert!(got.fleiss_kappa.and_then(|s| s.value).is_some());
}

async fn flow(backend: Backend, raters: &[&str], levels: &[&[i32]]) {
    let system = System::start(backend, None).await;
    let (review_name, ko) = system.review_in_scoring("f-1", raters).await;
    let mut lead_review = system.review_as(LEAD, &[Role::ScrLead]);
    let mut lead = system.scoring_as(LEAD, &[Role::ScrLead]);

    let refused = advance(&mut lead_review, &review_name)
        .await
        .expect_err("nothing scored");
    assert_eq!(refused.code(), Code::FailedPrecondition);

    // The first rater submits and sees only their own ratings; nobody else sees any.
    let mut first = system.scoring_as(raters[0], &[Role::Reviewer]);
    let submitted = first
        .submit_ratings(ratings(&ko, levels[0]))
        .await
        .expect("submitted")
        .into_inner();
    assert_eq!(submitted.rater, raters[0]);
    assert_eq!(
        submitted.instrument,
        "instruments/scir-ssit-shape/versions/1.0"
    );
    let own = first
        .list_ratings(pb::ListRatingsRequest {
            key_observation: ko.clone(),
        })
        .await
        .expect("own")
        .into_inner();
    assert_eq!((own.rating_sets.len(), own.complete), (1, false));
    let other = system
        .scoring_as(raters[1], &[Role::Reviewer])
        .list_ratings(pb::ListRatingsRequest {
            key_observation: ko.clone(),
        })
        .await
        .expect("other")
        .into_inner();
    assert!(
        other.rating_sets.is_empty(),
        "blind until every rater has submitted"
    );
    let as_lead = lead
        .list_ratings(pb::ListRatingsRequest {
            key_observation: ko.clone(),
        })
        .await
        .expect("lead")
        .into_inner();
    assert!(
        as_lead.rating_sets.is_empty(),
        "the lead sees who, not what"
    );
    let status = lead
        .get_scoring_status(pb::GetScoringStatusRequest {
            review: review_name.clone(),
        })
        .await
        .expect("status")
        .into_inner();
    let ko_status = &status.key_observations[0];
    assert_eq!(ko_status.submitted, [raters[0]]);
    assert_eq!(ko_status.raters.len(), raters.len());
    assert!(!ko_status.ratings_complete && !ko_status.scored);
    let early = lead
        .get_agreement(pb::GetAgreementRequest {
            scope: Some(pb::get_agreement_request::Scope::KeyObservation(ko.clone())),
            ..Default::default()
        })
        .await
        .expect("agreement")
        .into_inner();
    assert_eq!(early.units, 0, "incomplete rating sets do not count");
    assert!(early.percent_agreement.expect("figure").value.is_none());

    for (rater, l) in raters.iter().zip(levels).skip(1) {
        system
            .scoring_as(rater, &[Role::Reviewer])
            .submit_ratings(ratings(&ko, l))
            .await
            .expect("submitted");
    }
    let all = first
        .list_ratings(pb::ListRatingsRequest {
            key_observation: ko.clone(),
        })
        .await
        .expect("all")
        .into_inner();
    assert_eq!((all.rating_sets.len(), all.complete), (raters.len(), true));
    assert_eq!(
        lead.list_ratings(pb::ListRatingsRequest {
            key_observation: ko.clone()
        })
        .await
        .expect("lead")
        .into_inner()
        .rating_sets
        .len(),
        raters.len()
    );

    // Agreement over the 21 items equals the domain computation on the same matrix.
    let items = 21;
    let matrix: Vec<Vec<i32>> = (0..items)
        .map(|i| levels.iter().map(|l| l[i % l.len()]).collect())
        .collect();
    let mut sorted: Vec<(&&str, &&[i32])> = raters.iter().zip(levels).collect();
    sorted.sort_by_key(|(r, _)| **r);
    let expected = scir_scoring::domain::agreement::agreement(&matrix, 4);
    let got = lead
        .get_agreement(pb::GetAgreementRequest {
            scope: Some(pb::get_agreement_request::Scope::KeyObservation(ko.clone())),
            ..Default::default()
        })
        .await
        .expect("agreement")
        .into_inner();
    assert_eq!(
        (
            got.raters as usize,
            got.units as usize,
            got.ratings as usize
        ),
        (raters.len(), items, raters.len() * items)
    );
    let value = |s: Option<pb::Statistic>| s.and_then(|s| s.value);
    assert_eq!(
        value(got.percent_agreement),
        expected.percent_agreement.value()
    );
    if raters.len() == 2 {
        assert_eq!(value(got.cohen_kappa.clone()), expected.cohen_kappa.value());
        assert!(value(got.cohen_kappa).is_some());
        assert_eq!(
            value(got.quadratic_weighted_kappa),
            expected.quadratic_weighted_kappa.value()
        );
        assert!(
            got.fleiss_kappa
                .expect("figure")
                .undefined_reason
                .contains("three")
        );
    } else {
        assert_eq!(
            value(got.fleiss_kappa.clone()),
            expected.fleiss_kappa.value()
        );
        assert!(value(got.fleiss_kappa).is_some());
        assert!(
            got.cohen_kappa
                .expect("figure")
                .undefined_reason
                .contains("two")
        );
    }

    // Ratings alone do not score a key observation: the consensus does.
    let refused = advance(&mut lead_review, &review_name)
        .await
        .expect_err("no consensus");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    let catalogue =
        scir_scoring::domain::instruments::Catalogue::load(None, None).expect("instrument");
    let items: Vec<pb::ConsensusItem> = catalogue
        .active()
        .items
        .iter()
        .map(|code| pb::ConsensusItem {
            item_code: code.clone(),
            level: 2,
            rationale: "Agreed in the calibration discussion.".into(),
        })
        .collect();
    let by_rater = system
        .scoring_as(raters[0], &[Role::Reviewer, Role::ScrLead])
        .record_consensus(pb::RecordConsensusRequest {
            consensus: Some(pb::Consensus {
                key_observation: ko.clone(),
                items: items.clone(),
                ..Default::default()
            }),
        })
        .await
        .expect_err("only the review's lead");
    assert_eq!(by_rater.code(), Code::PermissionDenied);
    let recorded = lead
        .record_consensus(pb::RecordConsensusRequest {
            consensus: Some(pb::Consensus {
                key_observation: ko.clone(),
                items,
                ..Default::default()
            }),
        })
        .await
        .expect("consensus")
        .into_inner();
    assert_eq!(recorded.recorded_by, LEAD);
    let moved = advance(&mut lead_review, &review_name)
        .await
        .expect("scored: the review leaves SSIT scoring");
    assert_eq!(moved.stage, review::Stage::SystemsMapping as i32);
    let profile = system
        .scoring_as("analyst-1", &[Role::Analyst])
        .get_consensus_profile(pb::GetConsensusProfileRequest {
            review: review_name.clone(),
        })
        .await
        .expect("profile")
        .into_inner();
    assert_eq!(profile.consensus.len(), 1);
    assert_eq!(profile.consensus[0].items.len(), 21);

    // Events carry codes and levels, never rationale text or raters.
    use tokio_stream::StreamExt;
    let request = scir_proto::common::v1::WatchEventsRequest {
        after_cursor: 0,
        types: vec![],
        stop_at_end: true,
    };
    let events: Vec<_> = system
        .scoring_as("scir-insights", &[Role::Service])
        .watch_events(request)
        .await
        .expect("watch")
        .into_inner()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("events");
    let types: Vec<_> = events.iter().map(|e| e.r#type.as_str()).collect();
    assert_eq!(
        types,
        [
            "scir.scoring.v1.RatingsComplete",
            "scir.scoring.v1.ConsensusRecorded"
        ]
    );
    let consensus = pb::ConsensusRecorded::decode(
        events[1]
            .payload
            .as_ref()
            .expect("payload")
            .value
            .as_slice(),
    )
    .expect("decodes");
    assert_eq!(consensus.levels.len(), 21);
    assert_eq!(consensus.review, review_name);
    for event in &events {
        let text = String::from_utf8_lossy(&event.encode_to_vec()).into_owned();
        assert!(
            !text.contains("calibration") && !text.contains("Rated "),
            "rationale in {}",
            event.r#type
        );
        assert!(
            raters.iter().all(|r| !text.contains(r)),
            "rater identity in {}",
            event.r#type
        );
    }
    system.stop().await;
}
