//! The review stage machine and the guards on each transition.
//!
//! opened -> case record review -> debriefing -> SSIT scoring -> systems mapping
//! (may be skipped with a reason) -> learning opportunities -> recommendations ->
//! finalised; withdrawn from any stage before finalised. A guard lists every
//! missing item, so a reviewer sees all that is left to do at once.

use scir_kit::error::PreconditionViolation;
use scir_proto::Labelled;
use scir_proto::review::v1::{Stage, TeamRole};

/// What the guards look at, gathered from the review's parts.
#[derive(Debug, Clone, Default)]
pub struct ReviewParts {
    /// Roles of the team members.
    pub team: Vec<TeamRole>,
    /// Number of key practice episodes.
    pub episodes: usize,
    /// Number of debriefings.
    pub debriefings: usize,
    /// Names of the key observations.
    pub key_observations: Vec<String>,
    /// Key observations the scoring service does not report as scored; `None`
    /// when the guard being checked does not need scores.
    pub unscored: Option<Vec<Unscored>>,
    /// For each systems map: its name and number of nodes.
    pub systems_maps: Vec<(String, usize)>,
    /// For each learning opportunity: its name and the fields it lacks.
    pub learning_opportunities: Vec<(String, Vec<&'static str>)>,
    /// For each recommendation: its name and the fields it lacks.
    pub recommendations: Vec<(String, Vec<&'static str>)>,
}

/// A key observation not scored yet, and what it still needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unscored {
    /// The key observation.
    pub key_observation: String,
    /// Assigned raters who have not submitted their ratings.
    pub awaiting: Vec<String>,
    /// Whether the consensus is still to be recorded.
    pub needs_consensus: bool,
}

impl Unscored {
    /// What is missing, in words.
    pub fn describe(&self) -> String {
        let ratings = (!self.awaiting.is_empty())
            .then(|| format!("ratings from {}", self.awaiting.join(", ")));
        let consensus = self.needs_consensus.then(|| "a consensus".to_owned());
        let missing: Vec<String> = ratings.into_iter().chain(consensus).collect();
        if missing.is_empty() {
            "the key observation is not scored yet".to_owned()
        } else {
            format!("the key observation still needs {}", missing.join(" and "))
        }
    }
}

/// Whether a stage is final (nothing changes but recommendation status).
pub fn is_terminal(stage: Stage) -> bool {
    matches!(stage, Stage::Finalised | Stage::Withdrawn)
}

/// A change to one part of a review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartChange<'a> {
    /// A new part.
    Create,
    /// A part's fields named by an update mask.
    Update(&'a [String]),
    /// Removing a part.
    Delete,
}

/// Whether `change` may happen to a part while the review is at `stage`.
/// Before the review is final anything may; a finalised review keeps every
/// part as it was finalised except the fields of its kind listed in
/// `after_final` (a recommendation's status and done date, so its follow-up
/// can be tracked); a withdrawn review changes no more. The answer is the
/// reason for a refusal.
pub fn part_change_allowed(
    stage: Stage,
    change: PartChange<'_>,
    after_final: &[&str],
) -> Result<(), String> {
    if !is_terminal(stage) {
        return Ok(());
    }
    let stage_name = stage.label();
    match (stage, change) {
        (Stage::Finalised, PartChange::Update(paths))
            if !after_final.is_empty()
                && paths.iter().all(|p| after_final.contains(&p.as_str())) =>
        {
            Ok(())
        }
        (Stage::Finalised, PartChange::Update(_)) if !after_final.is_empty() => Err(format!(
            "the review is {stage_name}: only {} may change",
            after_final.join(" and ")
        )),
        _ => Err(format!(
            "the review is {stage_name} and can no longer change"
        )),
    }
}

/// The stage after `stage`, skipping systems mapping when asked.
pub fn next(stage: Stage, skip_mapping: bool) -> Option<Stage> {
    Some(match stage {
        Stage::Opened => Stage::CaseRecordReview,
        Stage::CaseRecordReview => Stage::Debriefing,
        Stage::Debriefing => Stage::SsitScoring,
        Stage::SsitScoring if skip_mapping => Stage::LearningOpportunities,
        Stage::SsitScoring => Stage::SystemsMapping,
        Stage::SystemsMapping => Stage::LearningOpportunities,
        Stage::LearningOpportunities => Stage::Recommendations,
        Stage::Recommendations => Stage::Finalised,
        Stage::Unspecified | Stage::Finalised | Stage::Withdrawn => return None,
    })
}

/// Whether leaving `stage` needs the scoring service's view of the key
/// observations.
pub fn needs_scores(stage: Stage) -> bool {
    matches!(stage, Stage::SsitScoring | Stage::Recommendations)
}

fn missing(kind: &str, subject: &str, description: impl Into<String>) -> PreconditionViolation {
    PreconditionViolation {
        kind: kind.to_owned(),
        subject: subject.to_owned(),
        description: description.into(),
    }
}

/// Checks the guard of leaving `stage` for the next one; returns the next stage
/// or every missing item.
pub fn advance(
    review: &str,
    stage: Stage,
    parts: &ReviewParts,
    skip_mapping_reason: &str,
) -> Result<Stage, Vec<PreconditionViolation>> {
    let skip = !skip_mapping_reason.trim().is_empty();
    if skip && stage != Stage::SsitScoring {
        return Err(vec![missing(
            "STAGE",
            review,
            "systems mapping can only be skipped when leaving SSIT_SCORING",
        )]);
    }
    let Some(to) = next(stage, skip) else {
        return Err(vec![missing(
            "STAGE",
            review,
            format!("a review in {} cannot advance", stage.label()),
        )]);
    };
    let mut violations = Vec::new();
    let unscored = |violations: &mut Vec<PreconditionViolation>| {
        for ko in parts.unscored.iter().flatten() {
            violations.push(missing("SSIT_SCORES", &ko.key_observation, ko.describe()));
        }
    };
    match stage {
        Stage::Opened => {
            if !parts.team.contains(&TeamRole::ScrLead) {
                violations.push(missing("TEAM", review, "the team needs an SCR lead"));
            }
            if !parts.team.contains(&TeamRole::Reviewer) {
                violations.push(missing(
                    "TEAM",
                    review,
                    "the team needs at least one reviewer",
                ));
            }
        }
        Stage::CaseRecordReview => {
            if parts.episodes == 0 {
                violations.push(missing(
                    "EPISODES",
                    review,
                    "record at least one key practice episode",
                ));
            }
        }
        Stage::Debriefing => {
            if parts.debriefings == 0 {
                violations.push(missing(
                    "DEBRIEFINGS",
                    review,
                    "record at least one human-factors debriefing",
                ));
            }
            if parts.key_observations.is_empty() {
                violations.push(missing(
                    "KEY_OBSERVATIONS",
                    review,
                    "record at least one key observation to score",
                ));
            }
        }
        Stage::SsitScoring => {
            if parts.key_observations.is_empty() {
                violations.push(missing(
                    "KEY_OBSERVATIONS",
                    review,
                    "record at least one key observation to score",
                ));
            }
            unscored(&mut violations);
        }
        Stage::SystemsMapping => {
            if parts.systems_maps.is_empty() {
                violations.push(missing(
                    "SYSTEMS_MAPS",
                    review,
                    "record a systems map, or skip mapping with a reason when leaving SSIT scoring",
                ));
            }
            for (name, nodes) in &parts.systems_maps {
                if *nodes == 0 {
                    violations.push(missing("SYSTEMS_MAPS", name, "the map has no factors"));
                }
            }
        }
        Stage::LearningOpportunities => {
            if parts.learning_opportunities.is_empty() {
                violations.push(missing(
                    "LEARNING_OPPORTUNITIES",
                    review,
                    "record at least one learning opportunity",
                ));
            }
            for (name, lacks) in &parts.learning_opportunities {
                for field in lacks {
                    violations.push(missing(
                        "LEARNING_OPPORTUNITIES",
                        name,
                        format!("{field} is missing"),
                    ));
                }
            }
        }
        Stage::Recommendations => {
            if parts.recommendations.is_empty() {
                violations.push(missing(
                    "RECOMMENDATIONS",
                    review,
                    "record at least one recommendation",
                ));
            }
            for (name, lacks) in &parts.recommendations {
                for field in lacks {
                    violations.push(missing(
                        "RECOMMENDATIONS",
                        name,
                        format!("{field} is missing"),
                    ));
                }
            }
            // Key observations added after scoring must be scored before finalising.
            unscored(&mut violations);
        }
        Stage::Unspecified | Stage::Finalised | Stage::Withdrawn => {}
    }
    if violations.is_empty() {
        Ok(to)
    } else {
        Err(violations)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(r: Result<Stage, Vec<PreconditionViolation>>) -> Vec<String> {
        r.expect_err("refused")
            .into_iter()
            .map(|v| format!("{}:{}", v.kind, v.subject))
            .collect()
    }

    #[test]
    fn a_final_review_keeps_its_parts_but_tracks_recommendation_status() {
        let status = ["status".to_owned()];
        let text = ["description".to_owned(), "status".to_owned()];
        let follow_up = &["status", "done_date"][..];
        for change in [
            PartChange::Create,
            PartChange::Delete,
            PartChange::Update(&status),
        ] {
            assert!(part_change_allowed(Stage::Recommendations, change, &[]).is_ok());
        }
        assert!(
            part_change_allowed(Stage::Finalised, PartChange::Update(&status), follow_up).is_ok()
        );
        for refused in [
            PartChange::Create,
            PartChange::Delete,
            PartChange::Update(&text),
        ] {
            assert!(part_change_allowed(Stage::Finalised, refused, follow_up).is_err());
        }
        // Kinds without follow-up fields, and withdrawn reviews, change no more.
        assert!(part_change_allowed(Stage::Finalised, PartChange::Update(&status), &[]).is_err());
        assert!(
            part_change_allowed(Stage::Withdrawn, PartChange::Update(&status), follow_up).is_err()
        );
    }

    #[test]
    fn the_team_guard_names_each_missing_role() {
        let parts = ReviewParts::default();
        assert_eq!(
            kinds(advance("r", Stage::Opened, &parts, "")),
            ["TEAM:r", "TEAM:r"]
        );
        let parts = ReviewParts {
            team: vec![TeamRole::ScrLead, TeamRole::Reviewer],
            ..Default::default()
        };
        assert_eq!(
            advance("r", Stage::Opened, &parts, ""),
            Ok(Stage::CaseRecordReview)
        );
    }

    #[test]
    fn an_unscored_observation_says_what_it_still_needs() {
        let only_consensus = Unscored {
            key_observation: "k".into(),
            awaiting: vec![],
            needs_consensus: true,
        };
        assert_eq!(
            only_consensus.describe(),
            "the key observation still needs a consensus"
        );
        let both = Unscored {
            awaiting: vec!["rater-1".into(), "rater-2".into()],
            ..only_consensus
        };
        assert_eq!(
            both.describe(),
            "the key observation still needs ratings from rater-1, rater-2 and a consensus"
        );
    }

    #[test]
    fn scoring_guards_list_each_unscored_observation() {
        let parts = ReviewParts {
            key_observations: vec!["k1".into(), "k2".into()],
            unscored: Some(vec![Unscored {
                key_observation: "k2".into(),
                awaiting: vec![],
                needs_consensus: true,
            }]),
            ..Default::default()
        };
        assert_eq!(
            kinds(advance("r", Stage::SsitScoring, &parts, "")),
            ["SSIT_SCORES:k2"]
        );
        let scored = ReviewParts {
            unscored: Some(vec![]),
            ..parts
        };
        assert_eq!(
            advance("r", Stage::SsitScoring, &scored, ""),
            Ok(Stage::SystemsMapping)
        );
        assert_eq!(
            advance(
                "r",
                Stage::SsitScoring,
                &scored,
                "no mapping team available"
            ),
            Ok(Stage::LearningOpportunities)
        );
    }

    #[test]
    fn mapping_can_be_skipped_only_from_scoring() {
        let parts = ReviewParts {
            episodes: 1,
            ..Default::default()
        };
        assert_eq!(
            kinds(advance("r", Stage::CaseRecordReview, &parts, "reason")),
            ["STAGE:r"]
        );
    }

    #[test]
    fn incomplete_items_are_named_field_by_field() {
        let parts = ReviewParts {
            learning_opportunities: vec![("lo1".into(), vec!["family_need", "action_taken"])],
            ..Default::default()
        };
        assert_eq!(
            kinds(advance("r", Stage::LearningOpportunities, &parts, "")),
            ["LEARNING_OPPORTUNITIES:lo1", "LEARNING_OPPORTUNITIES:lo1"]
        );
        let parts = ReviewParts {
            recommendations: vec![("c1".into(), vec!["owner"])],
            unscored: Some(vec![]),
            ..Default::default()
        };
        assert_eq!(
            kinds(advance("r", Stage::Recommendations, &parts, "")),
            ["RECOMMENDATIONS:c1"]
        );
    }

    #[test]
    fn final_stages_do_not_advance() {
        assert!(advance("r", Stage::Finalised, &ReviewParts::default(), "").is_err());
        assert!(advance("r", Stage::Withdrawn, &ReviewParts::default(), "").is_err());
    }
}
