//! A complete sample case: a Wisconsin infant death with a screened-out report
//! before it, reviewed by a lead and two raters to a final review.

use scir::journey::{Case, ObservationPlan, date};
use scir_proto::review::v1::{self as review, Stage};
use scir_proto::scoring::v1 as scoring;

/// The sample case, rated on `instrument`'s items, with idempotency key `request_id`.
pub fn wisconsin_case(request_id: &str, instrument: &scoring::Instrument) -> Case {
    let codes: Vec<String> = instrument
        .domains
        .iter()
        .flat_map(|d| d.items.iter().map(|i| i.code.clone()))
        .collect();
    let levels = |shift: i32| -> Vec<(String, i32)> {
        codes
            .iter()
            .enumerate()
            .map(|(i, code)| (code.clone(), (i as i32 + shift) % 4))
            .collect()
    };
    Case {
        request_id: request_id.to_owned(),
        facts: scir_testkit::fixtures::wisconsin_death(),
        reporter: "reporter-e2e".into(),
        lead: "lead-e2e".into(),
        raters: vec!["rater-e2e-1".into(), "rater-e2e-2".into()],
        episodes: vec![review::Episode {
            start_date: Some(date(2024, 12, 1)),
            end_date: Some(date(2024, 12, 1)),
            title: "Report screened out".into(),
            what_happened: "A report about sleep conditions was screened out.".into(),
            assessment: review::Assessment::Mixed as i32,
            ..Default::default()
        }],
        debriefings: vec![review::Debriefing {
            date: Some(date(2025, 4, 1)),
            participant_roles: vec!["intake screener".into(), "supervisor".into()],
            notes: "Screening relied on the information the call gave.".into(),
            ..Default::default()
        }],
        observations: vec![ObservationPlan {
            observation: review::KeyObservation {
                title: "Screening had no view of the health partner's concerns".into(),
                description: "The screener could not see the clinic's earlier concern.".into(),
                themes: vec![
                    review::Theme::SafeSleep as i32,
                    review::Theme::InformationSharing as i32,
                ],
                contributory_factors: vec![review::ContributoryFactor::InterAgency as i32],
                ..Default::default()
            },
            ratings: vec![levels(0), levels(1)],
            consensus: levels(0),
        }],
        maps: vec![review::SystemsMap {
            nodes: vec![
                review::MapNode {
                    id: "screening".into(),
                    label: "Screening without partner information".into(),
                    factor: review::ContributoryFactor::InterAgency as i32,
                },
                review::MapNode {
                    id: "tools".into(),
                    label: "No shared record with health partners".into(),
                    factor: review::ContributoryFactor::Organisation as i32,
                },
            ],
            edges: vec![review::MapEdge {
                from: "tools".into(),
                to: "screening".into(),
                label: "limits".into(),
            }],
            considerations: vec!["Shared records with health partners".into()],
            ..Default::default()
        }],
        learning: vec![review::LearningOpportunity {
            family_need: "Safe sleep guidance and a crib".into(),
            action_taken: "The report was screened out without a referral".into(),
            status: review::NeedStatus::Unmet as i32,
            practice_function: review::PracticeFunction::Assessment as i32,
            themes: vec![review::Theme::SafeSleep as i32],
            ..Default::default()
        }],
        recommendations: vec![review::Recommendation {
            description: "Give screeners read access to partner health alerts".into(),
            category: review::RecommendationCategory::PartnershipWithOtherSystems as i32,
            owner: "Intake programme manager".into(),
            due_date: Some(date(2026, 6, 30)),
            status: review::RecommendationStatus::Accepted as i32,
            strength: review::ActionStrength::Stronger as i32,
            ..Default::default()
        }],
        until: Stage::Finalised,
    }
}
