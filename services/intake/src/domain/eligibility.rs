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
use scir_proto::Labelled;
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
        status: CriterionStatus::Unknown,
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
            let name = facts.incident_type.label();
            if types.contains(&facts.incident_type) {
                met(format!("incident_type is {name}"))
            } else {
                not_met(format!("incident_type is {name}"))
            }
        }
        Condition::Cause(causes) => {
            let name = facts.cause.label();
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
        && results.iter().any(|r| r.status == CriterionStatus::Unknown)
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
                    tier.label(),
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
        let rule_id = format!("deadline:{}", d.kind.label());
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

#[cfg(test)]
mod tests {
    //! One table of cases per shipped rule set.

    use scir_proto::intake::v1::{CauseCategory, ContactKind, ContactOutcome, IncidentType};

    use super::*;
    use crate::domain::facts::Contact;
    use crate::domain::jurisdictions::Directory;

    fn d(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    fn report_on(date: &str) -> Contact {
        Contact {
            kind: ContactKind::Report,
            date: d(date),
            outcome: ContactOutcome::ScreenedOut,
        }
    }

    /// A death on Monday 2025-03-10, learned of on Tuesday, from suspected
    /// maltreatment, with one report three months before.
    fn base() -> Facts {
        Facts {
            jurisdiction: String::new(),
            incident_type: IncidentType::Death,
            cause: CauseCategory::Suid,
            incident_date: d("2025-03-10"),
            learned_date: d("2025-03-11"),
            reported_to_state_date: None,
            child_age_months: 4,
            placement: PlacementSetting::InHome,
            court_ordered: Answer::Unspecified,
            maltreatment_suspected: Answer::Yes,
            had_prior_contact: Answer::Yes,
            prior_contacts: vec![report_on("2024-12-01")],
            in_custody: Answer::No,
            substantiated: Answer::No,
            leadership_designated: false,
        }
    }

    fn no_contact(f: &mut Facts) {
        f.had_prior_contact = Answer::No;
        f.prior_contacts.clear();
    }

    struct Case {
        name: &'static str,
        edit: fn(&mut Facts),
        outcome: EligibilityOutcome,
        missing: &'static [&'static str],
        deadlines: &'static [(DeadlineKind, &'static str)],
    }

    use DeadlineKind as K;
    use EligibilityOutcome::{
        NeedsInformation as Needs, NotEligible as No, PracticeReview as Review,
        SummaryOnly as Summary,
    };

    fn check(rule_set: &str, cases: &[Case]) {
        let directory = Directory::shipped().expect("shipped rules");
        let rules = directory.rule_set(rule_set).expect("rule set");
        for case in cases {
            let mut facts = base();
            (case.edit)(&mut facts);
            let decision = decide(rules, &facts);
            assert_eq!(
                decision.outcome, case.outcome,
                "{rule_set}: {}: {:#?}",
                case.name, decision.reasons
            );
            assert_eq!(
                decision.missing_facts, case.missing,
                "{rule_set}: {}",
                case.name
            );
            assert!(
                !decision.reasons.is_empty(),
                "{rule_set}: {}: a decision always gives reasons",
                case.name
            );
            if !case.deadlines.is_empty() {
                let got: Vec<_> = decision.deadlines.iter().map(|x| (x.kind, x.due)).collect();
                let want: Vec<_> = case.deadlines.iter().map(|(k, s)| (*k, d(s))).collect();
                assert_eq!(got, want, "{rule_set}: {}", case.name);
            }
            assert_eq!(decision.rule_set, format!("ruleSets/{rule_set}"));
        }
    }

    #[test]
    fn wisconsin() {
        check(
            "wisconsin",
            &[
                Case {
                    name: "recent contact qualifies, with every deadline",
                    edit: |_| {},
                    outcome: Review,
                    missing: &[],
                    deadlines: &[
                        (K::NoticeToState, "2025-03-13"),
                        (K::PublicNotice, "2025-03-13"),
                        (K::Summary90Day, "2025-06-09"),
                        (K::Summary6Month, "2025-09-11"),
                    ],
                },
                Case {
                    name: "contact on the first day of the look-back",
                    edit: |f| f.prior_contacts = vec![report_on("2024-03-10")],
                    outcome: Review,
                    missing: &[],
                    deadlines: &[],
                },
                Case {
                    name: "contact one day before the look-back",
                    edit: |f| f.prior_contacts = vec![report_on("2024-03-09")],
                    outcome: Summary,
                    missing: &[],
                    deadlines: &[],
                },
                Case {
                    name: "extensive older contact",
                    edit: |f| {
                        f.prior_contacts = vec![
                            report_on("2021-01-01"),
                            report_on("2022-06-01"),
                            report_on("2023-09-01"),
                        ]
                    },
                    outcome: Review,
                    missing: &[],
                    deadlines: &[],
                },
                Case {
                    name: "no prior contact: summary only, no 6-month summary",
                    edit: no_contact,
                    outcome: Summary,
                    missing: &[],
                    deadlines: &[
                        (K::NoticeToState, "2025-03-13"),
                        (K::PublicNotice, "2025-03-13"),
                        (K::Summary90Day, "2025-06-09"),
                    ],
                },
                Case {
                    name: "no maltreatment suspected",
                    edit: |f| f.maltreatment_suspected = Answer::No,
                    outcome: No,
                    missing: &[],
                    deadlines: &[],
                },
                Case {
                    name: "maltreatment unknown",
                    edit: |f| f.maltreatment_suspected = Answer::Unknown,
                    outcome: Needs,
                    missing: &["maltreatment_suspected"],
                    deadlines: &[(K::NoticeToState, "2025-03-13")],
                },
                Case {
                    name: "contact history not yet searched",
                    edit: |f| {
                        f.had_prior_contact = Answer::Unknown;
                        f.prior_contacts.clear();
                    },
                    outcome: Needs,
                    missing: &["had_prior_contact"],
                    deadlines: &[],
                },
                Case {
                    name: "leadership designates any incident",
                    edit: |f| {
                        f.incident_type = IncidentType::Other;
                        f.maltreatment_suspected = Answer::No;
                        f.leadership_designated = true;
                    },
                    outcome: Review,
                    missing: &[],
                    deadlines: &[],
                },
                Case {
                    name: "working days skip Christmas and the weekend",
                    edit: |f| {
                        f.incident_date = d("2025-12-23");
                        f.learned_date = d("2025-12-24");
                        f.reported_to_state_date = Some(d("2025-12-26"));
                        f.prior_contacts = vec![report_on("2025-10-01")];
                    },
                    outcome: Review,
                    missing: &[],
                    deadlines: &[
                        (K::NoticeToState, "2025-12-29"),
                        (K::PublicNotice, "2025-12-30"),
                        (K::Summary90Day, "2026-03-26"),
                        (K::Summary6Month, "2026-06-26"),
                    ],
                },
            ],
        );
    }

    #[test]
    fn tennessee() {
        check(
            "tennessee",
            &[
                Case {
                    name: "confirmed near death",
                    edit: |f| {
                        f.incident_type = IncidentType::NearDeath;
                        no_contact(f);
                        f.substantiated = Answer::Yes;
                    },
                    outcome: Review,
                    missing: &[],
                    deadlines: &[(K::Summary90Day, "2025-06-09")],
                },
                Case {
                    name: "unconfirmed near death",
                    edit: |f| {
                        f.incident_type = IncidentType::NearDeath;
                        f.substantiated = Answer::No;
                    },
                    outcome: No,
                    missing: &[],
                    deadlines: &[],
                },
                Case {
                    name: "near death awaiting substantiation",
                    edit: |f| {
                        f.incident_type = IncidentType::NearDeath;
                        f.substantiated = Answer::Unknown;
                    },
                    outcome: Needs,
                    missing: &["substantiated"],
                    deadlines: &[],
                },
                Case {
                    name: "death in custody",
                    edit: |f| {
                        no_contact(f);
                        f.in_custody = Answer::Yes;
                    },
                    outcome: Review,
                    missing: &[],
                    deadlines: &[],
                },
                Case {
                    name: "contact on the first day of 3 years",
                    edit: |f| f.prior_contacts = vec![report_on("2022-03-10")],
                    outcome: Review,
                    missing: &[],
                    deadlines: &[],
                },
                Case {
                    name: "contact one day before 3 years",
                    edit: |f| f.prior_contacts = vec![report_on("2022-03-09")],
                    outcome: No,
                    missing: &[],
                    deadlines: &[],
                },
                Case {
                    name: "custody unknown, nothing else applies",
                    edit: |f| {
                        no_contact(f);
                        f.in_custody = Answer::Unknown;
                    },
                    outcome: Needs,
                    missing: &["in_custody"],
                    deadlines: &[],
                },
            ],
        );
    }

    #[test]
    fn west_virginia() {
        check(
            "west-virginia",
            &[
                Case {
                    name: "known to the system",
                    edit: |_| {},
                    outcome: Review,
                    missing: &[],
                    deadlines: &[(K::Summary90Day, "2025-06-09")],
                },
                Case {
                    name: "not known, maltreatment suspected",
                    edit: no_contact,
                    outcome: Summary,
                    missing: &[],
                    deadlines: &[],
                },
                Case {
                    name: "serious injury is out of scope",
                    edit: |f| f.incident_type = IncidentType::SeriousInjury,
                    outcome: No,
                    missing: &[],
                    deadlines: &[],
                },
                Case {
                    name: "contact one day before the year",
                    edit: |f| f.prior_contacts = vec![report_on("2024-03-09")],
                    outcome: Summary,
                    missing: &[],
                    deadlines: &[],
                },
                Case {
                    name: "history unknown",
                    edit: |f| {
                        f.incident_type = IncidentType::NearDeath;
                        f.had_prior_contact = Answer::Unspecified;
                        f.prior_contacts.clear();
                    },
                    outcome: Needs,
                    missing: &["had_prior_contact"],
                    deadlines: &[],
                },
            ],
        );
    }

    #[test]
    fn kansas() {
        check(
            "kansas",
            &[
                Case {
                    name: "recent contact; preliminary assessment over Thanksgiving",
                    edit: |f| {
                        f.incident_type = IncidentType::NearDeath;
                        f.incident_date = d("2025-11-25");
                        f.learned_date = d("2025-11-26");
                        f.prior_contacts = vec![report_on("2025-06-01")];
                    },
                    outcome: Review,
                    missing: &[],
                    deadlines: &[(K::PreliminaryAssessment, "2025-12-02")],
                },
                Case {
                    name: "in custody",
                    edit: |f| {
                        no_contact(f);
                        f.in_custody = Answer::Yes;
                    },
                    outcome: Review,
                    missing: &[],
                    deadlines: &[],
                },
                Case {
                    name: "maltreatment without contact",
                    edit: no_contact,
                    outcome: Summary,
                    missing: &[],
                    deadlines: &[(K::PreliminaryAssessment, "2025-03-14")],
                },
                Case {
                    name: "nothing applies",
                    edit: |f| {
                        no_contact(f);
                        f.maltreatment_suspected = Answer::No;
                    },
                    outcome: No,
                    missing: &[],
                    deadlines: &[],
                },
            ],
        );
    }

    #[test]
    fn default_rule_set() {
        check(
            "default",
            &[
                Case {
                    name: "suicide attempt in care with recent contact",
                    edit: |f| {
                        f.incident_type = IncidentType::SuicideOrAttemptInCare;
                        f.placement = PlacementSetting::OutOfHome;
                    },
                    outcome: Review,
                    missing: &[],
                    deadlines: &[
                        (K::NoticeToState, "2025-03-13"),
                        (K::Summary90Day, "2025-06-09"),
                    ],
                },
                Case {
                    name: "egregious abuse without contact",
                    edit: |f| {
                        f.incident_type = IncidentType::EgregiousAbuseOrNeglect;
                        no_contact(f);
                    },
                    outcome: Summary,
                    missing: &[],
                    deadlines: &[],
                },
                Case {
                    name: "other incident",
                    edit: |f| f.incident_type = IncidentType::Other,
                    outcome: No,
                    missing: &[],
                    deadlines: &[],
                },
            ],
        );
    }

    #[test]
    fn every_criterion_of_every_rule_is_reported() {
        let directory = Directory::shipped().expect("shipped rules");
        let rules = directory.rule_set("wisconsin").expect("wisconsin");
        let decision = decide(rules, &base());
        let rule_criteria: usize = rules.rules.iter().map(|r| r.criteria.len()).sum();
        let reported = decision
            .criteria
            .iter()
            .filter(|c| !c.rule_id.starts_with("deadline:"))
            .count();
        assert_eq!(reported, rule_criteria);
        assert!(decision.criteria.iter().all(|c| !c.statute.is_empty()));
    }
}
