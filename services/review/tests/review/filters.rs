//! Listing reviews by stage and by deadline, page by page.

use chrono::Days;
use scir_proto::review::v1 as pb;
use scir_testkit::Backend;
use scir_testkit::fixtures::{contact, wisconsin_death};

use super::harness::{System, staff};

scir_testkit::on_both_backends!(reviews_filter_by_stage_and_deadline);

fn date(d: chrono::NaiveDate) -> scir_proto::common::v1::Date {
    scir_kit::validate::from_date(d)
}

async fn reviews_filter_by_stage_and_deadline(backend: Backend) {
    let system = System::start(backend).await;
    // An old incident: its 90-day summary is long overdue.
    let old = system.report("old", wisconsin_death()).await;
    // A recent one: the earliest deadline is staffing the review, a week out.
    let today = chrono::Utc::now().date_naive();
    let mut recent = wisconsin_death();
    let day = |n: u64| today.checked_sub_days(Days::new(n)).expect("date");
    recent.incident_date = Some(date(day(2)));
    recent.learned_date = Some(date(day(1)));
    recent.prior_contacts = vec![contact(
        scir_proto::intake::v1::ContactKind::Report,
        &day(30).to_string(),
        scir_proto::intake::v1::ContactOutcome::ScreenedOut,
    )];
    let recent = system.report("recent", recent).await;
    let old_review = system.review_of(&old.name).await.expect("old review");
    let recent_review = system.review_of(&recent.name).await.expect("recent review");
    assert!(old_review.overdue);
    assert!(!recent_review.overdue);
    assert_eq!(
        recent_review.next_due_date,
        Some(date(today.checked_add_days(Days::new(7)).expect("date")))
    );

    let mut lead = system.lead();
    let list = |f: fn(&mut pb::ListReviewsRequest)| {
        let mut r = pb::ListReviewsRequest {
            parent: "jurisdictions/us-wi".into(),
            ..Default::default()
        };
        f(&mut r);
        r
    };
    let names =
        |r: pb::ListReviewsResponse| r.reviews.into_iter().map(|r| r.name).collect::<Vec<_>>();
    let overdue = names(
        lead.list_reviews(list(|r| r.overdue_only = true))
            .await
            .expect("overdue")
            .into_inner(),
    );
    assert_eq!(overdue, vec![old_review.name.clone()]);
    let soon = names(
        lead.list_reviews(list(|r| r.due_within_days = 10))
            .await
            .expect("soon")
            .into_inner(),
    );
    assert_eq!(
        soon,
        [recent_review.name.clone(), old_review.name.clone()],
        "due within 10 days includes what is overdue"
    );
    let bad = lead
        .list_reviews(list(|r| r.due_within_days = -1))
        .await
        .expect_err("negative");
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);

    staff(&system, &old_review.name).await;
    super::harness::advance(&mut lead, &old_review.name, "")
        .await
        .expect("advanced");
    let in_crr = names(
        lead.list_reviews(list(|r| {
            r.stages = vec![pb::Stage::CaseRecordReview as i32]
        }))
        .await
        .expect("stage")
        .into_inner(),
    );
    assert_eq!(in_crr, vec![old_review.name.clone()]);

    let first = lead
        .list_reviews(list(|r| r.page_size = 1))
        .await
        .expect("page")
        .into_inner();
    assert_eq!(first.reviews.len(), 1);
    let second = lead
        .list_reviews(pb::ListReviewsRequest {
            page_token: first.next_page_token.clone(),
            ..list(|r| r.page_size = 1)
        })
        .await
        .expect("page")
        .into_inner();
    assert_eq!(second.reviews.len(), 1);
    assert_ne!(first.reviews[0].name, second.reviews[0].name);
    assert!(second.next_page_token.is_empty());

    // "My reviews": only those whose team names the person, in any role.
    let mine = |subject: &'static str| pb::ListReviewsRequest {
        team_member: subject.into(),
        ..list(|_| {})
    };
    for subject in [super::harness::LEAD, super::harness::REVIEWER] {
        let found = names(
            lead.list_reviews(mine(subject))
                .await
                .expect("mine")
                .into_inner(),
        );
        assert_eq!(found, vec![old_review.name.clone()], "{subject}");
    }
    let nobody = names(
        lead.list_reviews(mine("nobody"))
            .await
            .expect("mine")
            .into_inner(),
    );
    assert!(nobody.is_empty());
    let long = lead
        .list_reviews(pb::ListReviewsRequest {
            team_member: "x".repeat(129),
            ..list(|_| {})
        })
        .await
        .expect_err("too long");
    assert_eq!(scir_testkit::violated_fields(&long), ["team_member"]);
    // Team rows written before they named their member are named at start-up.
    let mut system = system;
    system.stop_review().await;
    let db = scir_kit::db::Database::connect(
        &system.review_db.url,
        &scir_review::startup::MIGRATIONS,
        &scir_kit::db::DbOptions::default(),
    )
    .await
    .expect("database");
    let mut conn = db.acquire().await.expect("connection");
    sqlx::query("UPDATE review_items SET member = NULL")
        .execute(&mut *conn)
        .await
        .expect("forget");
    drop(conn);
    db.close().await;
    system.restart_review().await;
    let mut lead = system.lead();
    let found = names(
        lead.list_reviews(mine(super::harness::REVIEWER))
            .await
            .expect("mine")
            .into_inner(),
    );
    assert_eq!(found, vec![old_review.name.clone()], "named again");
    system.stop().await;
}
