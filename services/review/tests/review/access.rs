//! Who may read and write reviews.

use scir_kit::auth::Role;
use scir_proto::review::v1 as pb;
use scir_testkit::Backend;
use scir_testkit::fixtures::wisconsin_death;
use tonic::Code;

use super::harness::{REVIEWER, System, episode, staff};

scir_testkit::on_both_backends!(
    notes_stay_with_the_team_and_jurisdictions_stay_apart,
    leads_racing_for_a_review_leave_one
);

/// Ten SCR leads add themselves to the same lead-less review at once: the
/// database lets exactly one in, whatever the interleaving.
async fn leads_racing_for_a_review_leave_one(backend: Backend) {
    let system = System::start(backend).await;
    let incident = system.report("lead-race", wisconsin_death()).await;
    let review = system.review_of(&incident.name).await.expect("review").name;
    let attempts: Vec<_> = (0..10)
        .map(|i| {
            let subject = format!("racing-lead-{i}");
            let mut client = system.client_as(&subject, &[Role::ScrLead], "us-wi");
            let review = review.clone();
            tokio::spawn(async move {
                client
                    .add_team_member(pb::AddTeamMemberRequest {
                        parent: review,
                        member: Some(pb::TeamMember {
                            subject,
                            role: pb::TeamRole::ScrLead as i32,
                            ..Default::default()
                        }),
                    })
                    .await
                    .map(|_| ())
                    .map_err(|s| s.code())
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for attempt in attempts {
        outcomes.push(attempt.await.expect("task"));
    }
    assert_eq!(
        outcomes.iter().filter(|o| o.is_ok()).count(),
        1,
        "{outcomes:?}"
    );
    assert!(
        outcomes.iter().all(|o| matches!(
            o,
            Ok(()) | Err(Code::FailedPrecondition | Code::PermissionDenied)
        )),
        "{outcomes:?}"
    );
    let team = system
        .lead()
        .list_team_members(pb::ListTeamMembersRequest {
            parent: review.clone(),
        })
        .await
        .expect("team")
        .into_inner();
    let leads = team
        .members
        .iter()
        .filter(|m| m.role == pb::TeamRole::ScrLead as i32)
        .count();
    assert_eq!(leads, 1);
    system.stop().await;
}

async fn notes_stay_with_the_team_and_jurisdictions_stay_apart(backend: Backend) {
    let system = System::start(backend).await;
    let incident = system.report("a-1", wisconsin_death()).await;
    let review = system.review_of(&incident.name).await.expect("review").name;
    staff(&system, &review).await;
    let notes = "Restricted: what the supervisor said about the queue.";
    let debriefing = pb::Debriefing {
        date: Some(scir_testkit::fixtures::date("2025-04-02")),
        participant_roles: vec!["supervisor".into()],
        decision_context: "The queue was long.".into(),
        notes: notes.into(),
        ..Default::default()
    };
    let created = system
        .reviewer()
        .create_debriefing(pb::CreateDebriefingRequest {
            parent: review.clone(),
            debriefing: Some(debriefing),
        })
        .await
        .expect("created")
        .into_inner();
    assert_eq!(created.notes, notes, "the team sees its notes");
    let get = pb::GetDebriefingRequest {
        name: created.name.clone(),
    };

    let as_analyst = system
        .client_as("analyst-1", &[Role::Analyst], "us-wi")
        .get_debriefing(get.clone())
        .await
        .expect("analyst reads")
        .into_inner();
    assert!(
        as_analyst.notes.is_empty(),
        "analysts never see debriefing notes"
    );
    assert_eq!(as_analyst.decision_context, "The queue was long.");
    let listed = system
        .client_as("analyst-1", &[Role::Analyst], "us-wi")
        .list_debriefings(pb::ListDebriefingsRequest {
            parent: review.clone(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert!(listed.debriefings.iter().all(|d| d.notes.is_empty()));
    // A team member's subject in an analyst's token is still an analyst.
    let same_subject = system
        .client_as(REVIEWER, &[Role::Analyst], "us-wi")
        .get_debriefing(get.clone())
        .await
        .expect("analyst reads")
        .into_inner();
    assert!(
        same_subject.notes.is_empty(),
        "membership counts only through a team role"
    );
    let outsider = system
        .client_as("reviewer-9", &[Role::Reviewer], "us-wi")
        .get_debriefing(get.clone())
        .await
        .expect("reads")
        .into_inner();
    assert!(
        outsider.notes.is_empty(),
        "reviewers off the team do not see notes"
    );
    let admin = system
        .client_as("admin-1", &[Role::Admin], "us-wi")
        .get_debriefing(get.clone())
        .await
        .expect("admin")
        .into_inner();
    assert_eq!(admin.notes, notes);

    let code = |r: Result<tonic::Response<pb::Episode>, tonic::Status>| {
        r.map(|_| Code::Ok).unwrap_or_else(|s| s.code())
    };
    let create = || pb::CreateEpisodeRequest {
        parent: review.clone(),
        episode: Some(episode("E", "What happened.")),
    };
    assert_eq!(
        code(
            system
                .client_as("analyst-1", &[Role::Analyst], "us-wi")
                .create_episode(create())
                .await
        ),
        Code::PermissionDenied
    );
    assert_eq!(
        code(
            system
                .client_as("reviewer-9", &[Role::Reviewer], "us-wi")
                .create_episode(create())
                .await
        ),
        Code::PermissionDenied
    );
    assert_eq!(
        code(
            system
                .client_as(REVIEWER, &[Role::Reviewer], "us-wi")
                .create_episode(create())
                .await
        ),
        Code::Ok
    );

    // Nobody from another jurisdiction reads anything, whatever the role.
    for roles in [
        &[Role::Reviewer][..],
        &[Role::Admin],
        &[Role::Analyst],
        &[Role::ScrLead],
    ] {
        let mut other = system.client_as(REVIEWER, roles, "us-tn");
        let status = other
            .get_review(pb::GetReviewRequest {
                name: review.clone(),
            })
            .await
            .expect_err("other jurisdiction");
        assert_eq!(status.code(), Code::PermissionDenied, "{roles:?}");
        let status = other
            .get_debriefing(get.clone())
            .await
            .expect_err("other jurisdiction");
        assert_eq!(status.code(), Code::PermissionDenied);
        let status = other
            .list_reviews(pb::ListReviewsRequest {
                parent: "jurisdictions/us-wi".into(),
                ..Default::default()
            })
            .await
            .expect_err("list");
        assert_eq!(status.code(), Code::PermissionDenied);
    }
    // Stage changes belong to the SCR lead.
    let current = system
        .reviewer()
        .get_review(pb::GetReviewRequest {
            name: review.clone(),
        })
        .await
        .expect("get")
        .into_inner();
    let status = system
        .client_as(REVIEWER, &[Role::Reviewer, Role::ScrLead], "us-wi")
        .advance_review(pb::AdvanceReviewRequest {
            name: review.clone(),
            etag: current.etag,
            ..Default::default()
        })
        .await
        .expect_err("not the review's lead");
    assert_eq!(status.code(), Code::PermissionDenied);
    // Event streams are for services.
    let status = system
        .lead()
        .watch_events(scir_proto::common::v1::WatchEventsRequest::default())
        .await
        .expect_err("not a service");
    assert_eq!(status.code(), Code::PermissionDenied);
    system.stop().await;
}
