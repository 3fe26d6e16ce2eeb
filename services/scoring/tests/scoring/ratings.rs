//! Bad ratings are refused field by field; instrument versions stay readable.

use scir_kit::auth::Role;
use scir_proto::scoring::v1 as pb;
use scir_testkit::Backend;
use tonic::Code;

use super::harness::{System, fields, ratings};

#[tokio::test]
async fn bad_ratings_are_rejected_field_by_field() {
    let system = System::start(Backend::Sqlite, None).await;
    let (review, ko) = system
        .review_in_scoring("b-1", &["rater-a", "rater-b"])
        .await;
    let mut rater = system.scoring_as("rater-a", &[Role::Reviewer]);

    let mut bad = ratings(&ko, &[1]);
    let set = bad.rating_set.as_mut().expect("set");
    set.ratings.truncate(19);
    set.ratings[0].level = 4;
    set.ratings[1].level = -1;
    set.ratings[2].item_code = "NOPE".into();
    set.ratings[3].rationale.clear();
    set.ratings[4].evidence = vec!["jurisdictions/us-tn/reviews/x/episodes/y".into()];
    set.ratings[5].item_code = set.ratings[6].item_code.clone();
    let status = rater.submit_ratings(bad).await.expect_err("bad ratings");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        fields(&status),
        [
            "rating_set.ratings[0].level",
            "rating_set.ratings[1].level",
            "rating_set.ratings[2].item_code",
            "rating_set.ratings[3].rationale",
            "rating_set.ratings[4].evidence[0]",
            "rating_set.ratings[6].item_code",
            "rating_set.ratings",
        ]
    );

    let status = system
        .scoring_as("rater-z", &[Role::Reviewer])
        .submit_ratings(ratings(&ko, &[1]))
        .await
        .expect_err("not on the team");
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = system
        .scoring_as("lead-1", &[Role::ScrLead])
        .submit_ratings(ratings(&ko, &[1]))
        .await
        .expect_err("leads do not rate");
    assert_eq!(status.code(), Code::PermissionDenied);
    let unknown = format!("{review}/keyObservations/0190a6c2-0000-7000-8000-000000000000");
    let status = rater
        .submit_ratings(ratings(&unknown, &[1]))
        .await
        .expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);

    rater
        .submit_ratings(ratings(&ko, &[1]))
        .await
        .expect("submitted");
    let again = rater
        .submit_ratings(ratings(&ko, &[2]))
        .await
        .expect_err("twice");
    assert_eq!(again.code(), Code::AlreadyExists);
    let elsewhere = system
        .scoring_as("rater-a", &[Role::Reviewer])
        .get_scoring_status(pb::GetScoringStatusRequest {
            review: review.replace("us-wi", "us-tn"),
        })
        .await
        .expect_err("other jurisdiction");
    assert_eq!(elsewhere.code(), Code::PermissionDenied);
    system.stop().await;
}

#[tokio::test]
async fn an_instrument_version_change_keeps_old_ratings_valid() {
    let dir = tempfile::tempdir().expect("dir");
    let v1 = scir_scoring::domain::instruments::SHIPPED.1;
    std::fs::write(dir.path().join("v1.toml"), v1).expect("v1");
    let v2 = v1
        .replace("version = \"1.0\"", "version = \"2.0\"")
        .replace("code = \"SYS5\"", "code = \"SYS6\"");
    std::fs::write(dir.path().join("v2.toml"), &v2).expect("v2");
    let v1_name = "instruments/scir-ssit-shape/versions/1.0";
    let mut system = System::start(
        Backend::Sqlite,
        Some((dir.path().to_owned(), "scir-ssit-shape@1.0".into())),
    )
    .await;
    let (_, ko) = system
        .review_in_scoring("v-1", &["rater-a", "rater-b"])
        .await;
    system
        .scoring_as("rater-a", &[Role::Reviewer])
        .submit_ratings(ratings(&ko, &[2]))
        .await
        .expect("v1 ratings");

    system
        .restart_scoring(Some((dir.path().to_owned(), "scir-ssit-shape@2.0".into())))
        .await;
    let mut b = system.scoring_as("rater-b", &[Role::Reviewer]);
    let listed = b
        .list_instruments(pb::ListInstrumentsRequest {})
        .await
        .expect("instruments")
        .into_inner();
    let active: Vec<_> = listed
        .instruments
        .iter()
        .map(|i| (i.version.as_str(), i.active))
        .collect();
    assert_eq!(active, [("1.0", false), ("2.0", true)]);
    // The key observation stays on the version its first ratings used.
    b.submit_ratings(ratings(&ko, &[2]))
        .await
        .expect("rated with v1 item codes");
    let sets = b
        .list_ratings(pb::ListRatingsRequest {
            key_observation: ko.clone(),
        })
        .await
        .expect("list")
        .into_inner();
    assert!(sets.complete);
    assert!(sets.rating_sets.iter().all(|s| s.instrument == v1_name));
    let old = b
        .get_instrument(pb::GetInstrumentRequest {
            name: v1_name.into(),
        })
        .await
        .expect("old version readable")
        .into_inner();
    assert!(!old.active);
    let agreement = b
        .get_agreement(pb::GetAgreementRequest {
            scope: Some(pb::get_agreement_request::Scope::KeyObservation(ko)),
            ..Default::default()
        })
        .await
        .expect("agreement")
        .into_inner();
    assert_eq!(
        (agreement.instrument.as_str(), agreement.units),
        (v1_name, 21)
    );
    system.stop().await;
}
