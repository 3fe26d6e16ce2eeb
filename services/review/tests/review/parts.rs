//! Parts of a review: validation, optimistic concurrency, the language check.

use scir_proto::review::v1 as pb;
use scir_testkit::Backend;
use scir_testkit::fixtures::{date, wisconsin_death};
use tonic::Code;

use super::harness::{System, episode, fields, staff};

scir_testkit::on_both_backends!(
    stale_etags_are_aborted_and_bad_parts_named,
    the_language_check_advises_and_never_blocks
);

async fn stale_etags_are_aborted_and_bad_parts_named(backend: Backend) {
    let system = System::start(backend).await;
    let incident = system.report("p-1", wisconsin_death()).await;
    let review = system.review_of(&incident.name).await.expect("review").name;
    staff(&system, &review).await;
    let mut reviewer = system.reviewer();

    let mut bad = episode("", "x");
    bad.start_date = Some(date("2023-01-01"));
    bad.end_date = Some(date("2022-12-31"));
    bad.assessment = 0;
    bad.contributory_factors = vec![1, 1];
    let status = reviewer
        .create_episode(pb::CreateEpisodeRequest {
            parent: review.clone(),
            episode: Some(bad),
        })
        .await
        .expect_err("bad episode");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        fields(&status),
        [
            "episode.start_date",
            "episode.end_date",
            "episode.end_date",
            "episode.title",
            "episode.assessment",
            "episode.contributory_factors[1]"
        ]
    );
    let ko = pb::KeyObservation {
        title: "T".into(),
        description: "D".into(),
        episodes: vec![format!(
            "{review}/episodes/0190a6c2-0000-7000-8000-000000000000"
        )],
        ..Default::default()
    };
    let status = reviewer
        .create_key_observation(pb::CreateKeyObservationRequest {
            parent: review.clone(),
            key_observation: Some(ko),
        })
        .await
        .expect_err("dangling link");
    assert_eq!(fields(&status), ["key_observation.episodes[0]"]);

    let created = reviewer
        .create_episode(pb::CreateEpisodeRequest {
            parent: review.clone(),
            episode: Some(episode("First", "First read.")),
        })
        .await
        .expect("created")
        .into_inner();
    let mut edit = created.clone();
    edit.title = "Second".into();
    let mask = Some(prost_types::FieldMask {
        paths: vec!["title".into()],
    });
    let updated = reviewer
        .update_episode(pb::UpdateEpisodeRequest {
            episode: Some(edit.clone()),
            update_mask: mask.clone(),
            etag: created.etag.clone(),
        })
        .await
        .expect("updated")
        .into_inner();
    assert_eq!(updated.title, "Second");
    assert_ne!(updated.etag, created.etag);
    let stale = reviewer
        .update_episode(pb::UpdateEpisodeRequest {
            episode: Some(edit),
            update_mask: mask,
            etag: created.etag.clone(),
        })
        .await
        .expect_err("stale");
    assert_eq!(stale.code(), Code::Aborted);
    let stale = reviewer
        .delete_episode(pb::DeleteEpisodeRequest {
            name: created.name.clone(),
            etag: created.etag.clone(),
        })
        .await
        .expect_err("stale delete");
    assert_eq!(stale.code(), Code::Aborted);
    let review_now = reviewer
        .get_review(pb::GetReviewRequest {
            name: review.clone(),
        })
        .await
        .expect("get")
        .into_inner();
    let status = system
        .lead()
        .withdraw_review(pb::WithdrawReviewRequest {
            name: review.clone(),
            reason: "duplicate".into(),
            etag: "\"0000000000000000\"".into(),
        })
        .await
        .expect_err("stale review etag");
    assert_eq!(status.code(), Code::Aborted);
    reviewer
        .delete_episode(pb::DeleteEpisodeRequest {
            name: created.name.clone(),
            etag: updated.etag,
        })
        .await
        .expect("deleted");
    let gone = reviewer
        .get_episode(pb::GetEpisodeRequest { name: created.name })
        .await
        .expect_err("gone");
    assert_eq!(gone.code(), Code::NotFound);

    let withdrawn = system
        .lead()
        .withdraw_review(pb::WithdrawReviewRequest {
            name: review.clone(),
            reason: "Opened twice for one family".into(),
            etag: review_now.etag,
        })
        .await
        .expect("withdrawn")
        .into_inner();
    assert_eq!(withdrawn.stage, pb::Stage::Withdrawn as i32);
    assert_eq!(withdrawn.withdraw_reason, "Opened twice for one family");
    system.stop().await;
}

async fn the_language_check_advises_and_never_blocks(backend: Backend) {
    let system = System::start(backend).await;
    let incident = system.report("l-1", wisconsin_death()).await;
    let review = system.review_of(&incident.name).await.expect("review").name;
    staff(&system, &review).await;
    let mut reviewer = system.reviewer();
    let blaming = episode(
        "Visit",
        "The caseworker failed to see the infant; Jordan Applewhite should have called case no. 2024-77.",
    );
    let saved = reviewer
        .create_episode(pb::CreateEpisodeRequest {
            parent: review.clone(),
            episode: Some(blaming),
        })
        .await
        .expect("saved anyway")
        .into_inner();
    let found: Vec<_> = saved
        .language_findings
        .iter()
        .map(|f| (f.field.as_str(), f.text.as_str(), f.category))
        .collect();
    assert_eq!(
        found,
        [
            (
                "what_happened",
                "failed to",
                pb::FindingCategory::HindsightLanguage as i32
            ),
            (
                "what_happened",
                "Jordan Applewhite",
                pb::FindingCategory::PossibleName as i32
            ),
            (
                "what_happened",
                "should have",
                pb::FindingCategory::HindsightLanguage as i32
            ),
            (
                "what_happened",
                "case no. 2024-77",
                pb::FindingCategory::PossibleCaseNumber as i32
            ),
        ]
    );
    assert!(
        saved
            .language_findings
            .iter()
            .all(|f| !f.suggestion.is_empty() && f.end > f.start)
    );
    let neutral = episode(
        "Visit",
        "The caseworker visited on a Tuesday; the mother described the sleep arrangements.",
    );
    let saved = reviewer
        .create_episode(pb::CreateEpisodeRequest {
            parent: review.clone(),
            episode: Some(neutral),
        })
        .await
        .expect("saved")
        .into_inner();
    assert!(
        saved.language_findings.is_empty(),
        "{:?}",
        saved.language_findings
    );

    let check = reviewer
        .check_language(pb::CheckLanguageRequest {
            text: "It was a mistake.".into(),
        })
        .await
        .expect("check")
        .into_inner();
    assert_eq!(check.findings.len(), 1);
    assert_eq!(
        check.findings[0].category,
        pb::FindingCategory::BlamingLanguage as i32
    );
    system.stop().await;
}
