//! Summaries refer to people by role and never carry an identity.

use scir_proto::review::v1 as pb;
use scir_testkit::Backend;
use scir_testkit::fixtures::{self, wisconsin_death};
use tonic::Code;

use super::harness::{System, episode, preconditions, staff};

scir_testkit::on_both_backends!(a_summary_with_a_planted_name_is_refused);

async fn a_summary_with_a_planted_name_is_refused(backend: Backend) {
    let system = System::start(backend).await;
    let mut facts = wisconsin_death();
    facts.restricted = Some(fixtures::restricted_identity());
    let incident = system.report("s-1", facts).await;
    let review = system.review_of(&incident.name).await.expect("review").name;
    staff(&system, &review).await;
    let mut reviewer = system.reviewer();
    let clean = reviewer
        .create_episode(pb::CreateEpisodeRequest {
            parent: review.clone(),
            episode: Some(episode(
                "Home visit",
                "The caseworker visited the mother and the infant.",
            )),
        })
        .await
        .expect("episode")
        .into_inner();
    let mut lead = system.lead();
    let summary = lead
        .generate_summary(pb::GenerateSummaryRequest {
            name: review.clone(),
            kind: pb::SummaryKind::NinetyDay as i32,
        })
        .await
        .expect("summary")
        .into_inner();
    assert!(
        summary.markdown.starts_with("# 90-day summary"),
        "{}",
        summary.markdown
    );
    assert!(
        summary
            .markdown
            .contains("The caseworker visited the mother and the infant.")
    );
    assert!(summary.markdown.contains("- **Incident:** death"));
    for marker in fixtures::RESTRICTED_MARKERS {
        assert!(!summary.markdown.contains(marker));
    }
    let after = lead
        .get_review(pb::GetReviewRequest {
            name: review.clone(),
        })
        .await
        .expect("get")
        .into_inner();
    assert!(
        after
            .deadlines
            .iter()
            .any(|d| d.label == "SUMMARY_90_DAY" && d.met),
        "producing the summary meets its deadline"
    );

    // The child's first name, planted in an episode, stops the summary.
    let planted = reviewer
        .create_episode(pb::CreateEpisodeRequest {
            parent: review.clone(),
            episode: Some(episode("Call", "The nurse spoke about zyxwa's feeding.")),
        })
        .await
        .expect("saved")
        .into_inner();
    let refused = lead
        .generate_summary(pb::GenerateSummaryRequest {
            name: review.clone(),
            kind: pb::SummaryKind::SixMonth as i32,
        })
        .await
        .expect_err("identity in the summary");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(
        preconditions(&refused),
        [(
            "IDENTITY_IN_SUMMARY".to_owned(),
            format!("{}#what_happened", planted.name),
            "holds an identity recorded as child_name; refer to people by role".to_owned()
        )]
    );
    assert!(
        !refused.message().to_lowercase().contains("zyxwa"),
        "the refusal does not repeat the identity"
    );
    assert_ne!(clean.name, planted.name);
    let bad_kind = lead
        .generate_summary(pb::GenerateSummaryRequest {
            name: review,
            kind: 0,
        })
        .await
        .expect_err("kind");
    assert_eq!(bad_kind.code(), Code::InvalidArgument);
    system.stop().await;
}
