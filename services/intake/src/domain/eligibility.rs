//! The eligibility decision: a rule set applied to incident facts.
//!
//! Outcomes are considered in order of precedence: practice review, then summary
//! only. An outcome is decided when one of its rules has every criterion met.
//! When none is, but some rule of that outcome has criteria that are unknown and
//! none unmet, the decision is `NEEDS_INFORMATION`, naming the missing facts:
//! knowing them could change the outcome. Otherwise the next outcome is
//! considered, and an incident no rule qualifies is `NOT_ELIGIBLE`.

use std::collections::BTreeSet;

use chrono::{Months, NaiveDate};
use scir_proto::common::v1::Answer;
use scir_proto::intake::v1::{CriterionStatus, DeadlineKind, EligibilityOutcome, PlacementSetting};

use super::calendar;
use super::facts::Facts;
use super::rules::{Anchor, Condition, Criterion, RuleSet};

/// One criterion, evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CriterionResult {
    /// Rule id (or `deadline:<KIND>` for a deadline's criteria).
    pub rule_id: String,
    /// Criterion id.
    pub criterion_id: String,
    /// The criterion in words.
    pub description: String,
    /// Met, not met or unknown.
    pub status: CriterionStatus,
    /// Why, citing facts (never identities).
    pub explanation: String,
    /// Statute or policy reference.
    pub statute: String,
    /// Facts needed but unknown.
    pub missing_facts: Vec<String>,
}

/// A computed deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deadline {
    /// What is due.
    pub kind: DeadlineKind,
    /// The last day.
    pub due: NaiveDate,
    /// How it was computed.
    pub basis: String,
    /// Statute or policy reference.
    pub statute: String,
}

/// The decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The outcome.
    pub outcome: EligibilityOutcome,
    /// Every criterion of every rule, evaluated.
    pub criteria: Vec<CriterionResult>,
    /// Reasons, each citing a rule and its statute.
    pub reasons: Vec<String>,
    /// Facts to supply, when the outcome is `NEEDS_INFORMATION`.
    pub missing_facts: Vec<String>,
    /// Deadlines that follow.
    pub deadlines: Vec<Deadline>,
    /// Rule set name.
    pub rule_set: String,
    /// Rule set version.
    pub rule_set_version: String,
}

struct Evaluation {
    status: CriterionStatus,
    explanation: String,
    missing: Vec<String>,
}

fn met(explanation: String) -> Evaluation {
    Evaluation {
        status: CriterionStatus::Met,
        explanation,
        missing: Vec::new(),
    }
}

fn not_met(explanation: String) -> Evaluation {
    Evaluation {
        status: CriterionStatus::NotMet,
        explanation,
        missing: Vec::new(),
    }
}

fn unknown(fact: &str) -> Evaluation {
    Evaluation {
        status: CriterionStatus::CriterionUnknown,
        explanation: format!("{fact} is not known"),
        missing: vec![fact.to_owned()],
    }
}

fn answer(value: Answer, fact: &str, what: &str) -> Evaluation {
    match value {
        Answer::Yes => met(format!("{fact} is YES: {what}")),
        Answer::No => not_met(format!("{fact} is NO")),
        Answer::Unknown | Answer::Unspecified => unknown(fact),
    }
}

fn evaluate_criterion(criterion: &Criterion, facts: &Facts, lookback_months: u32) -> Evaluation {
    match &criterion.condition {
        Condition::IncidentType(types) => {
            let name = facts.incident_type.as_str_name();
            if types.contains(&facts.incident_type) {
                met(format!("incident_type is {name}"))
            } else {
                not_met(format!("incident_type is {name}"))
            }
        }
        Condition::Cause(causes) => {
            let name = facts.cause.as_str_name();
            if causes.contains(&facts.cause) {
                met(format!("cause_category is {name}"))
            } else {
                not_met(format!("cause_category is {name}"))
            }
        }
        Condition::MaltreatmentSuspected => answer(
            facts.maltreatment_suspected,
            "maltreatment_suspected",
            "maltreatment is suspected",
        ),
        Condition::InCustody => answer(facts.in_custody, "in_custody", "the child was in custody"),
        Condition::Substantiated => answer(
            facts.substantiated,
            "substantiated",
            "maltreatment was substantiated",
        ),
        Condition::LeadershipDesignated => {
            if facts.leadership_designated {
                met("leadership_designated is true".to_owned())
            } else {
                not_met("leadership_designated is false".to_owned())
            }
        }
        Condition::OutOfHomeCare { court_ordered } => {
            if facts.placement != PlacementSetting::OutOfHome {
                not_met("the child was at home".to_owned())
            } else if *court_ordered {
                answer(
                    facts.court_ordered,
                    "placement.court_ordered",
                    "the placement was court-ordered",
                )
            } else {
                met("the child was in out-of-home care".to_owned())
            }
        }
        Condition::PriorContactWithin {
            months,
            min_count,
            kinds,
        } => {
            let months = months.unwrap_or(lookback_months);
            let since = facts
                .incident_date
                .checked_sub_months(Months::new(months))
                .unwrap_or(NaiveDate::MIN);
            let count = facts
                .prior_contacts
                .iter()
                .filter(|c| c.date >= since && c.date <= facts.incident_date)
                .filter(|c| kinds.is_empty() || kinds.contains(&c.kind))
                .count();
            let found = format!("{count} qualifying contact(s) on or after {since}");
            if count >= *min_count as usize {
                met(found)
            } else if matches!(facts.had_prior_contact, Answer::Yes | Answer::No) {
                not_met(found)
            } else {
                unknown("had_prior_contact")
            }
        }
        Condition::PriorContactAny => match facts.had_prior_contact {
            Answer::Yes => met(format!(
                "{} prior contact(s) listed",
                facts.prior_contacts.len()
            )),
            Answer::No => not_met("had_prior_contact is NO".to_owned()),
            _ => unknown("had_prior_contact"),
        },
        Condition::ChildAgeUnderMonths(limit) => {
            let age = facts.child_age_months;
            if age < *limit as i32 {
                met(format!("the child was {age} months old"))
            } else {
                not_met(format!("the child was {age} months old"))
            }
        }
    }
}

fn results_of(
    rule_id: &str,
    statute: &str,
    criteria: &[Criterion],
    facts: &Facts,
    lookback_months: u32,
) -> Vec<CriterionResult> {
    criteria
        .iter()
        .map(|c| {
            let e = evaluate_criterion(c, facts, lookback_months);
            CriterionResult {
                rule_id: rule_id.to_owned(),
                criterion_id: c.id.clone(),
                description: c.describe(lookback_months),
                status: e.status,
                explanation: e.explanation,
                statute: statute.to_owned(),
                missing_facts: e.missing,
            }
        })
        .collect()
}

fn all_met(results: &[CriterionResult]) -> bool {
    results.iter().all(|r| r.status == CriterionStatus::Met)
}

fn undetermined(results: &[CriterionResult]) -> bool {
    !results.iter().any(|r| r.status == CriterionStatus::NotMet)
        && results
            .iter()
            .any(|r| r.status == CriterionStatus::CriterionUnknown)
}

/// Applies `rules` to `facts`.
pub fn decide(rules: &RuleSet, facts: &Facts) -> Decision {
    let lookback = rules.lookback_months;
    let evaluated: Vec<_> = rules
        .rules
        .iter()
        .map(|rule| {
            (
                rule,
                results_of(&rule.id, &rule.statute, &rule.criteria, facts, lookback),
            )
        })
        .collect();

    let mut outcome = EligibilityOutcome::NotEligible;
    let mut reasons = Vec::new();
    let mut missing = BTreeSet::new();
    for tier in [
        EligibilityOutcome::PracticeReview,
        EligibilityOutcome::SummaryOnly,
    ] {
        let in_tier: Vec<_> = evaluated
            .iter()
            .filter(|(rule, _)| rule.outcome == tier)
            .collect();
        let satisfied: Vec<_> = in_tier
            .iter()
            .filter(|(_, results)| all_met(results))
            .collect();
        if !satisfied.is_empty() {
            outcome = tier;
            reasons = satisfied
                .iter()
                .map(|(rule, _)| {
                    format!(
                        "{} (rule `{}`; {})",
                        rule.description, rule.id, rule.statute
                    )
                })
                .collect();
            break;
        }
        let open: Vec<_> = in_tier
            .iter()
            .filter(|(_, results)| undetermined(results))
            .collect();
        if !open.is_empty() {
            outcome = EligibilityOutcome::NeedsInformation;
            for (rule, results) in &open {
                let facts: BTreeSet<_> = results
                    .iter()
                    .flat_map(|r| r.missing_facts.iter().cloned())
                    .collect();
                reasons.push(format!(
                    "{} could apply once {} is known (rule `{}`; {})",
                    tier.as_str_name(),
                    facts.iter().cloned().collect::<Vec<_>>().join(" and "),
                    rule.id,
                    rule.statute
                ));
                missing.extend(facts);
            }
            break;
        }
    }
    if outcome == EligibilityOutcome::NotEligible {
        reasons.push(format!(
            "no rule of rule set {} applies: each has a criterion that is not met",
            rules
        ));
    }

    let mut criteria: Vec<CriterionResult> = evaluated.into_iter().flat_map(|(_, r)| r).collect();
    let mut deadlines = Vec::new();
    for d in rules
        .deadlines
        .iter()
        .filter(|d| d.applies_to.contains(&outcome))
    {
        let rule_id = format!("deadline:{}", d.kind.as_str_name());
        let results = results_of(&rule_id, &d.statute, &d.criteria, facts, lookback);
        let applies = all_met(&results);
        criteria.extend(results);
        if !applies {
            continue;
        }
        let anchor = d
            .from
            .iter()
            .find_map(|a| anchor_date(*a, facts).map(|date| (*a, date)));
        if let Some((anchor, start)) = anchor
            && let Some(due) = calendar::add(start, d.amount, d.unit, &rules.holidays)
        {
            deadlines.push(Deadline {
                kind: d.kind,
                due,
                basis: format!(
                    "{} {} after {} ({start})",
                    d.amount,
                    d.unit.words(),
                    anchor.field()
                ),
                statute: d.statute.clone(),
            });
        }
    }

    Decision {
        outcome,
        criteria,
        reasons,
        missing_facts: missing.into_iter().collect(),
        deadlines,
        rule_set: rules.resource_name(),
        rule_set_version: rules.version.clone(),
    }
}

fn anchor_date(anchor: Anchor, facts: &Facts) -> Option<NaiveDate> {
    match anchor {
        Anchor::IncidentDate => Some(facts.incident_date),
        Anchor::LearnedDate => Some(facts.learned_date),
        Anchor::ReportedToStateDate => facts.reported_to_state_date,
    }
}
