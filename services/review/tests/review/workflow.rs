//! A whole review, from intake's event to finalised, and every guard on the way.

use scir_kit::auth::Role;
use scir_proto::intake::v1 as intake;
use scir_proto::review::v1 as pb;
use scir_testkit::Backend;
use scir_testkit::fixtures::{self, date, wisconsin_death};
use tonic::Code;

use super::harness::{System, advance, episode, fields, preconditions, staff};

scir_testkit::on_both_backends!(
    a_review_walks_from_the_intake_event_to_finalised,
    replayed_and_missed_events_open_each_review_once,
    amendments_update_the_review_and_designations_open_one
);

async fn a_review_walks_from_the_intake_event_to_finalised(backend: Backend) {
    let system = System::start(backend).await;
    let mut facts = wisconsin_death();
    facts.restricted = Some(fixtures::restricted_identity());
    let incident = system.report("w-1", facts).await;
    let review = system
        .review_of(&incident.name)
        .await
        .expect("the qualifying incident opened a review");
    assert_eq!(review.stage, pb::Stage::Opened as i32);
    assert_eq!(review.open_source, pb::OpenSource::IntakeDecision as i32);
    assert_eq!(review.period_start, Some(date("2024-03-10")));
    assert_eq!(review.period_end, Some(date("2025-03-10")));
    assert!(
        review
            .incident_facts
            .as_ref()
            .expect("facts")
            .restricted
            .is_none()
    );
    let labels: Vec<_> = review.deadlines.iter().map(|d| d.label.as_str()).collect();
    assert!(
        labels.contains(&"SUMMARY_90_DAY")
            && labels.contains(&"SUMMARY_6_MONTH")
            && labels.contains(&"leave OPENED"),
        "{labels:?}"
    );
    assert_eq!(
        review.next_due_date,
        Some(date("2025-06-09")),
        "the 90-day summary is the earliest deadline"
    );
    assert!(review.overdue);
    let name = review.name.clone();
    let mut lead = system.lead();
    let mut reviewer = system.reviewer();

    // Opened -> case record review needs an SCR lead and a reviewer.
    let refused = advance(&mut lead, &name, "").await.expect_err("no team");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    let missing: Vec<_> = preconditions(&refused)
        .into_iter()
        .map(|(kind, _, d)| format!("{kind}: {d}"))
        .collect();
    assert_eq!(
        missing,
        [
            "TEAM: the team needs an SCR lead",
            "TEAM: the team needs at least one reviewer"
        ]
    );
    let no_etag = lead
        .advance_review(pb::AdvanceReviewRequest {
            name: name.clone(),
            ..Default::default()
        })
        .await
        .expect_err("etag");
    assert_eq!(no_etag.code(), Code::InvalidArgument);
    // Checking the guard lists the same gaps and needs no etag; once it
    // passes, the check still changes nothing.
    let check = pb::AdvanceReviewRequest {
        name: name.clone(),
        validate_only: true,
        ..Default::default()
    };
    let checked = lead
        .advance_review(check.clone())
        .await
        .expect_err("no team");
    assert_eq!(checked.code(), Code::FailedPrecondition);
    assert_eq!(preconditions(&checked).len(), 2);
    staff(&system, &name).await;
    let before = system.review_of(&incident.name).await.expect("review");
    let passes = lead
        .advance_review(check)
        .await
        .expect("the guard passes")
        .into_inner();
    assert_eq!(passes.stage, pb::Stage::Opened as i32);
    assert_eq!(passes.etag, before.etag, "a check changes nothing");
    assert_eq!(
        advance(&mut lead, &name, "").await.expect("advanced").stage,
        pb::Stage::CaseRecordReview as i32
    );

    // Case record review -> debriefing needs an episode.
    assert_eq!(
        preconditions(&advance(&mut lead, &name, "").await.expect_err("no episode"))[0].0,
        "EPISODES"
    );
    let ep = reviewer
        .create_episode(pb::CreateEpisodeRequest {
            parent: name.clone(),
            episode: Some(episode(
                "Screened-out report",
                "The intake worker screened out the report after a call with the physician.",
            )),
        })
        .await
        .expect("episode")
        .into_inner();
    assert_eq!(
        advance(&mut lead, &name, "").await.expect("advanced").stage,
        pb::Stage::Debriefing as i32
    );

    // Debriefing -> SSIT scoring needs a debriefing and a key observation.
    let refused = advance(&mut lead, &name, "")
        .await
        .expect_err("no debriefing");
    let kinds: Vec<_> = preconditions(&refused)
        .into_iter()
        .map(|(k, _, _)| k)
        .collect();
    assert_eq!(kinds, ["DEBRIEFINGS", "KEY_OBSERVATIONS"]);
    let debriefing = pb::Debriefing {
        date: Some(date("2025-04-02")),
        participant_roles: vec!["intake worker".into(), "supervisor".into()],
        decision_context: "Screening decisions were made with a queue of forty reports.".into(),
        notes: "Restricted: the worker described the pressure of the queue.".into(),
        ..Default::default()
    };
    let db = reviewer
        .create_debriefing(pb::CreateDebriefingRequest {
            parent: name.clone(),
            debriefing: Some(debriefing),
        })
        .await
        .expect("debriefing")
        .into_inner();
    let ko = pb::KeyObservation {
        title: "Screening under volume".into(),
        description: "Screening relied on one call while the queue was long.".into(),
        episodes: vec![ep.name.clone()],
        debriefings: vec![db.name.clone()],
        contributory_factors: vec![pb::ContributoryFactor::ConditionsOfWork as i32],
        themes: vec![
            pb::Theme::WorkloadAndStaffing as i32,
            pb::Theme::TeamworkAndCoordination as i32,
        ],
        ..Default::default()
    };
    let ko = reviewer
        .create_key_observation(pb::CreateKeyObservationRequest {
            parent: name.clone(),
            key_observation: Some(ko),
        })
        .await
        .expect("ko")
        .into_inner();
    assert_eq!(
        advance(&mut lead, &name, "").await.expect("advanced").stage,
        pb::Stage::SsitScoring as i32
    );

    // SSIT scoring -> mapping waits for every key observation to be scored.
    let refused = advance(&mut lead, &name, "").await.expect_err("unscored");
    assert_eq!(
        preconditions(&refused),
        [(
            "SSIT_SCORES".to_owned(),
            ko.name.clone(),
            "the key observation is not scored yet".to_owned()
        )]
    );
    system.scores.record(&ko.name);
    assert_eq!(
        advance(&mut lead, &name, "").await.expect("advanced").stage,
        pb::Stage::SystemsMapping as i32
    );

    // Systems mapping -> learning opportunities needs a map.
    assert_eq!(
        preconditions(&advance(&mut lead, &name, "").await.expect_err("no map"))[0].0,
        "SYSTEMS_MAPS"
    );
    let map = pb::SystemsMap {
        key_observation: ko.name.clone(),
        nodes: vec![
            pb::MapNode {
                id: "volume".into(),
                label: "Report volume at intake".into(),
                factor: pb::ContributoryFactor::ConditionsOfWork as i32,
            },
            pb::MapNode {
                id: "screening".into(),
                label: "Screening relies on one call".into(),
                factor: pb::ContributoryFactor::Organisation as i32,
            },
        ],
        edges: vec![pb::MapEdge {
            from: "volume".into(),
            to: "screening".into(),
            label: "shortens".into(),
        }],
        considerations: vec!["Consider a second reader for infant reports.".into()],
        ..Default::default()
    };
    lead.create_systems_map(pb::CreateSystemsMapRequest {
        parent: name.clone(),
        systems_map: Some(map),
    })
    .await
    .expect("map");
    assert_eq!(
        advance(&mut lead, &name, "").await.expect("advanced").stage,
        pb::Stage::LearningOpportunities as i32
    );

    // Learning opportunities need both columns.
    let lo = pb::LearningOpportunity {
        family_need: "The family needed tangible resources for the infant.".into(),
        status: pb::NeedStatus::PartlyMet as i32,
        practice_function: pb::PracticeFunction::Assessment as i32,
        themes: vec![pb::Theme::EconomicSupport as i32],
        key_observations: vec![ko.name.clone()],
        ..Default::default()
    };
    let lo = reviewer
        .create_learning_opportunity(pb::CreateLearningOpportunityRequest {
            parent: name.clone(),
            learning_opportunity: Some(lo),
        })
        .await
        .expect("lo")
        .into_inner();
    let refused = advance(&mut lead, &name, "")
        .await
        .expect_err("half a learning opportunity");
    assert_eq!(
        preconditions(&refused),
        [(
            "LEARNING_OPPORTUNITIES".to_owned(),
            lo.name.clone(),
            "action_taken is missing".to_owned()
        )]
    );
    let mut completed = lo.clone();
    completed.action_taken = "The county provided formula and a pack and play.".into();
    let mask = |p: &[&str]| {
        Some(prost_types::FieldMask {
            paths: p.iter().map(|s| s.to_string()).collect(),
        })
    };
    reviewer
        .update_learning_opportunity(pb::UpdateLearningOpportunityRequest {
            learning_opportunity: Some(completed),
            update_mask: mask(&["action_taken"]),
            etag: lo.etag.clone(),
        })
        .await
        .expect("updated");
    assert_eq!(
        advance(&mut lead, &name, "").await.expect("advanced").stage,
        pb::Stage::Recommendations as i32
    );

    // Recommendations need category, owner, due date and strength.
    let rec = pb::Recommendation {
        description: "Pilot a second reader for reports about infants.".into(),
        category: pb::RecommendationCategory::AlternativeWaysOfWorking as i32,
        key_observations: vec![ko.name.clone()],
        learning_opportunities: vec![lo.name.clone()],
        ..Default::default()
    };
    let rec = reviewer
        .create_recommendation(pb::CreateRecommendationRequest {
            parent: name.clone(),
            recommendation: Some(rec),
        })
        .await
        .expect("rec")
        .into_inner();
    let refused = advance(&mut lead, &name, "")
        .await
        .expect_err("incomplete recommendation");
    let lacking: Vec<_> = preconditions(&refused)
        .into_iter()
        .map(|(_, s, d)| (s == rec.name, d))
        .collect();
    assert_eq!(
        lacking,
        [
            (true, "owner is missing".into()),
            (true, "due_date is missing".into()),
            (true, "strength is missing".into())
        ]
    );
    let mut done = rec.clone();
    done.owner = "Bureau of Safety".into();
    done.due_date = Some(date("2026-06-30"));
    done.strength = pb::ActionStrength::Stronger as i32;
    done.status = pb::RecommendationStatus::Accepted as i32;
    let rec = reviewer
        .update_recommendation(pb::UpdateRecommendationRequest {
            recommendation: Some(done),
            update_mask: mask(&["owner", "due_date", "strength", "status"]),
            etag: rec.etag.clone(),
        })
        .await
        .expect("completed")
        .into_inner();
    let finalised = advance(&mut lead, &name, "").await.expect("finalised");
    assert_eq!(finalised.stage, pb::Stage::Finalised as i32);
    assert_eq!(finalised.next_due_date, None);

    // Final: parts are read-only, but a recommendation's status moves on.
    let late = reviewer
        .create_episode(pb::CreateEpisodeRequest {
            parent: name.clone(),
            episode: Some(episode("Late", "Late.")),
        })
        .await
        .expect_err("final");
    assert_eq!(late.code(), Code::FailedPrecondition);
    let mut implemented = rec.clone();
    implemented.status = pb::RecommendationStatus::Implemented as i32;
    implemented.done_date = Some(date("2025-10-01"));
    let done = reviewer
        .update_recommendation(pb::UpdateRecommendationRequest {
            recommendation: Some(implemented),
            update_mask: mask(&["status", "done_date"]),
            etag: rec.etag.clone(),
        })
        .await
        .expect("implemented")
        .into_inner();
    // Did it work? Checked after the review is final: a result needs the
    // check date and evidence, the check comes after the done date.
    let mut checked = done.clone();
    checked.check_date = Some(date("2025-09-01"));
    checked.effectiveness = pb::Effectiveness::Effective as i32;
    let bad = reviewer
        .update_recommendation(pb::UpdateRecommendationRequest {
            recommendation: Some(checked.clone()),
            update_mask: mask(&["check_date", "effectiveness", "evidence"]),
            etag: done.etag.clone(),
        })
        .await
        .expect_err("checked before it was done, without evidence");
    assert_eq!(
        fields(&bad),
        ["recommendation.check_date", "recommendation.evidence"]
    );
    checked.check_date = Some(date("2025-12-01"));
    checked.evidence = "Screen-outs reviewed within a day in 9 of 10 counties".into();
    let checked = reviewer
        .update_recommendation(pb::UpdateRecommendationRequest {
            recommendation: Some(checked),
            update_mask: mask(&["check_date", "effectiveness", "evidence"]),
            etag: done.etag.clone(),
        })
        .await
        .expect("checked for effect")
        .into_inner();
    assert_eq!(checked.effectiveness, pb::Effectiveness::Effective as i32);
    // Nothing else of it changes, not even for an admin, and none is added or removed.
    let mut admin = system.client_as("admin-1", &[Role::Admin], "us-wi");
    let mut rewritten = rec.clone();
    rewritten.description = "Rewritten after the fact.".into();
    rewritten.strength = pb::ActionStrength::Weaker as i32;
    let refusals = [
        admin
            .update_recommendation(pb::UpdateRecommendationRequest {
                recommendation: Some(rewritten),
                update_mask: mask(&["description", "strength"]),
                etag: String::new(),
            })
            .await
            .map(|_| ()),
        admin
            .update_recommendation(pb::UpdateRecommendationRequest {
                recommendation: Some(rec.clone()),
                update_mask: mask(&["*"]),
                etag: String::new(),
            })
            .await
            .map(|_| ()),
        admin
            .create_recommendation(pb::CreateRecommendationRequest {
                parent: name.clone(),
                recommendation: Some(pb::Recommendation {
                    description: "Added after the fact.".into(),
                    ..Default::default()
                }),
            })
            .await
            .map(|_| ()),
        admin
            .delete_recommendation(pb::DeleteRecommendationRequest {
                name: rec.name.clone(),
                etag: String::new(),
            })
            .await
            .map(|_| ()),
    ];
    for refused in refusals {
        assert_eq!(refused.expect_err("final").code(), Code::FailedPrecondition);
    }
    let kept = admin
        .get_recommendation(pb::GetRecommendationRequest {
            name: rec.name.clone(),
        })
        .await
        .expect("read")
        .into_inner();
    assert_eq!(kept.description, rec.description);
    assert_eq!(kept.strength, pb::ActionStrength::Stronger as i32);
    assert_eq!(kept.status, pb::RecommendationStatus::Implemented as i32);
    let withdraw = lead
        .withdraw_review(pb::WithdrawReviewRequest {
            name: name.clone(),
            reason: "x".into(),
            etag: finalised.etag,
        })
        .await
        .expect_err("final");
    assert!(matches!(
        withdraw.code(),
        Code::FailedPrecondition | Code::Aborted
    ));

    let history = lead
        .list_review_history(pb::ListReviewHistoryRequest {
            name: name.clone(),
            ..Default::default()
        })
        .await
        .expect("history")
        .into_inner();
    let stages: Vec<_> = history
        .entries
        .iter()
        .filter(|e| e.action.starts_with("stage "))
        .map(|e| e.action.clone())
        .collect();
    assert_eq!(
        stages,
        [
            "stage OPENED -> CASE_RECORD_REVIEW",
            "stage CASE_RECORD_REVIEW -> DEBRIEFING",
            "stage DEBRIEFING -> SSIT_SCORING",
            "stage SSIT_SCORING -> SYSTEMS_MAPPING",
            "stage SYSTEMS_MAPPING -> LEARNING_OPPORTUNITIES",
            "stage LEARNING_OPPORTUNITIES -> RECOMMENDATIONS",
            "stage RECOMMENDATIONS -> FINALISED",
        ]
    );
    assert_eq!(history.entries[0].actor, "intake-event");
    assert!(history.entries.iter().all(|e| !e.actor.is_empty()));
    system.stop().await;
}

async fn replayed_and_missed_events_open_each_review_once(backend: Backend) {
    let mut system = System::start(backend).await;
    let first = system.report("r-1", wisconsin_death()).await;
    // Deliver intake's events again, as after a reconnect: nothing changes.
    let db = scir_kit::db::Database::open(&system.review_db.url, &Default::default())
        .await
        .expect("open");
    let events = super::harness::collect_intake_events(&system).await;
    let handler = scir_review::service::IntakeEvents::new(
        db.backend(),
        scir_kit::events::EventLog::new(db.clone(), scir_kit::shutdown::Shutdown::new().signal()),
    );
    for event in &events {
        assert!(
            !scir_kit::consumer::apply_once(&db, "intake", &handler, event)
                .await
                .expect("apply"),
            "a duplicate is skipped"
        );
    }
    db.close().await;

    // Incidents reported while review is down are applied when it returns.
    system.stop_review().await;
    let mut names = vec![first.name.clone()];
    for i in 0..3 {
        let incident = system
            .intake_as(&[Role::Reporter])
            .report_incident(intake::ReportIncidentRequest {
                request_id: format!("down-{i}"),
                incident: Some(wisconsin_death()),
            })
            .await
            .expect("reported")
            .into_inner();
        names.push(incident.name);
    }
    system.restart_review().await;
    system.settle().await;
    for name in &names {
        assert!(
            system.review_of(name).await.is_some(),
            "{name} has its review"
        );
    }
    let all = system
        .lead()
        .list_reviews(pb::ListReviewsRequest {
            parent: "jurisdictions/us-wi".into(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(all.reviews.len(), 4);
    system.stop().await;
}

async fn amendments_update_the_review_and_designations_open_one(backend: Backend) {
    let system = System::start(backend).await;
    let mut facts = wisconsin_death();
    facts.maltreatment_suspected = scir_proto::common::v1::Answer::No as i32;
    facts.maltreatment_types.clear();
    let incident = system.report("d-1", facts.clone()).await;
    assert!(
        system.review_of(&incident.name).await.is_none(),
        "not eligible: no review"
    );

    let mut lead = system.lead();
    let open = pb::OpenReviewRequest {
        incident: incident.name.clone(),
        reason: "Leadership asked for a review".into(),
    };
    let refused = lead
        .open_review(open.clone())
        .await
        .expect_err("not designated");
    assert_eq!(preconditions(&refused)[0].0, "DESIGNATION");

    facts.leadership_designated = true;
    system
        .amend(
            &incident.name,
            facts,
            "leadership_designated",
            "Leadership designated the incident",
        )
        .await;
    let review = system
        .review_of(&incident.name)
        .await
        .expect("the amendment opened a review");
    assert_eq!(
        review.eligibility_outcome,
        intake::EligibilityOutcome::PracticeReview as i32
    );
    let again = lead.open_review(open).await.expect_err("exists");
    assert_eq!(again.code(), Code::AlreadyExists);

    // A later amendment updates the open review's facts.
    let mut changed = wisconsin_death();
    changed.cause_category = intake::CauseCategory::Neglect as i32;
    system
        .amend(
            &incident.name,
            changed,
            "cause_category",
            "Medical examiner's finding",
        )
        .await;
    let review = system.review_of(&incident.name).await.expect("review");
    assert_eq!(
        review.incident_facts.expect("facts").cause_category,
        intake::CauseCategory::Neglect as i32
    );
    system.stop().await;
}
