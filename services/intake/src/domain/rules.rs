//! Eligibility rule sets: versioned TOML files, one per jurisdiction's policy.
//!
//! A rule set lists rules (each a set of criteria that together lead to an
//! outcome) and deadlines (each counted from a date of the incident in calendar
//! days, working days or months). Parsing checks everything it can, and every
//! problem is reported with the file, line and column it comes from.

use std::collections::{BTreeSet, HashSet};
use std::fmt;

use chrono::NaiveDate;
use scir_proto::Labelled;
use scir_proto::common::v1::JurisdictionType;
use scir_proto::intake::v1::{
    CauseCategory, ContactKind, DeadlineKind, EligibilityOutcome, IncidentType,
};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::calendar::Unit;

pub use scir_kit::config::ConfigError;

/// A protobuf enum named by its value names in configuration files.
pub trait NamedEnum: Sized + Copy {
    /// What the enum is, for messages.
    const WHAT: &'static str;
    /// The value with this name; `None` for unknown names and for `_UNSPECIFIED`.
    fn from_name(name: &str) -> Option<Self>;
}

macro_rules! named_enum {
    ($ty:ty, $what:literal) => {
        impl NamedEnum for $ty {
            const WHAT: &'static str = $what;
            fn from_name(name: &str) -> Option<Self> {
                <$ty>::from_label(name).filter(|v| *v as i32 != 0)
            }
        }
    };
}

named_enum!(IncidentType, "incident type");
named_enum!(CauseCategory, "cause category");
named_enum!(ContactKind, "contact kind");
named_enum!(EligibilityOutcome, "eligibility outcome");
named_enum!(DeadlineKind, "deadline kind");
named_enum!(JurisdictionType, "jurisdiction type");

/// A [`NamedEnum`] value read from a file.
#[derive(Debug, Clone, Copy)]
pub struct Named<T>(pub T);

impl<'de, T: NamedEnum> Deserialize<'de> for Named<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        T::from_name(&name)
            .map(Named)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown {} `{name}`", T::WHAT)))
    }
}

fn unwrap_all<T: Copy>(v: &[Named<T>]) -> Vec<T> {
    v.iter().map(|n| n.0).collect()
}

/// A date of the incident a deadline counts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Anchor {
    /// The date of the incident.
    IncidentDate,
    /// The date the agency learned of it.
    LearnedDate,
    /// The date it was reported to the state.
    ReportedToStateDate,
}

impl Anchor {
    /// The field name.
    pub fn field(self) -> &'static str {
        match self {
            Anchor::IncidentDate => "incident_date",
            Anchor::LearnedDate => "learned_date",
            Anchor::ReportedToStateDate => "reported_to_state_date",
        }
    }
}

/// What one criterion of a rule requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// The incident is of one of these types.
    IncidentType(Vec<IncidentType>),
    /// The cause is in one of these categories.
    Cause(Vec<CauseCategory>),
    /// Maltreatment is suspected.
    MaltreatmentSuspected,
    /// The child was in the agency's custody.
    InCustody,
    /// Abuse or neglect was substantiated.
    Substantiated,
    /// Leadership designated the incident.
    LeadershipDesignated,
    /// The child was in out-of-home care (court-ordered, if required).
    OutOfHomeCare {
        /// Whether the placement must have been court-ordered.
        court_ordered: bool,
    },
    /// At least `min_count` prior contacts (of `kinds`, or any) in the `months`
    /// before the incident (the rule set's look-back when `None`).
    PriorContactWithin {
        /// Look-back in months.
        months: Option<u32>,
        /// Contacts needed.
        min_count: u32,
        /// Kinds that count; empty means every kind.
        kinds: Vec<ContactKind>,
    },
    /// Any prior contact at any time.
    PriorContactAny,
    /// The child was younger than this many months.
    ChildAgeUnderMonths(u32),
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum RawCondition {
    IncidentType {
        id: String,
        any_of: Vec<Named<IncidentType>>,
    },
    Cause {
        id: String,
        any_of: Vec<Named<CauseCategory>>,
    },
    MaltreatmentSuspected {
        id: String,
    },
    InCustody {
        id: String,
    },
    Substantiated {
        id: String,
    },
    LeadershipDesignated {
        id: String,
    },
    OutOfHomeCare {
        id: String,
        #[serde(default)]
        court_ordered: bool,
    },
    PriorContactWithin {
        id: String,
        months: Option<u32>,
        #[serde(default = "one")]
        min_count: u32,
        #[serde(default)]
        kinds: Vec<Named<ContactKind>>,
    },
    PriorContactAny {
        id: String,
    },
    ChildAgeUnderMonths {
        id: String,
        months: u32,
    },
}

fn one() -> u32 {
    1
}

/// A criterion: an id and its condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Criterion {
    /// Id, unique within its rule.
    pub id: String,
    /// What it requires.
    pub condition: Condition,
}

impl Criterion {
    fn from_raw(raw: RawCondition) -> Result<Self, String> {
        let (id, condition) = match raw {
            RawCondition::IncidentType { id, any_of } => {
                (id, Condition::IncidentType(unwrap_all(&any_of)))
            }
            RawCondition::Cause { id, any_of } => (id, Condition::Cause(unwrap_all(&any_of))),
            RawCondition::MaltreatmentSuspected { id } => (id, Condition::MaltreatmentSuspected),
            RawCondition::InCustody { id } => (id, Condition::InCustody),
            RawCondition::Substantiated { id } => (id, Condition::Substantiated),
            RawCondition::LeadershipDesignated { id } => (id, Condition::LeadershipDesignated),
            RawCondition::OutOfHomeCare { id, court_ordered } => {
                (id, Condition::OutOfHomeCare { court_ordered })
            }
            RawCondition::PriorContactWithin {
                id,
                months,
                min_count,
                kinds,
            } => {
                if months == Some(0) || min_count == 0 {
                    return Err(format!(
                        "criterion `{id}`: months and min_count must be at least 1"
                    ));
                }
                (
                    id,
                    Condition::PriorContactWithin {
                        months,
                        min_count,
                        kinds: unwrap_all(&kinds),
                    },
                )
            }
            RawCondition::PriorContactAny { id } => (id, Condition::PriorContactAny),
            RawCondition::ChildAgeUnderMonths { id, months } => {
                (id, Condition::ChildAgeUnderMonths(months))
            }
        };
        if let Condition::IncidentType(v) = &condition
            && v.is_empty()
        {
            return Err(format!("criterion `{id}`: any_of must not be empty"));
        }
        if let Condition::Cause(v) = &condition
            && v.is_empty()
        {
            return Err(format!("criterion `{id}`: any_of must not be empty"));
        }
        if id.trim().is_empty() {
            return Err("a criterion has an empty id".to_owned());
        }
        Ok(Self { id, condition })
    }

    /// The criterion in words, given the rule set's look-back.
    pub fn describe(&self, lookback_months: u32) -> String {
        let names = |v: Vec<&str>| v.join(", ");
        match &self.condition {
            Condition::IncidentType(types) => {
                format!(
                    "incident type is one of: {}",
                    names(types.iter().map(|t| t.label()).collect())
                )
            }
            Condition::Cause(causes) => {
                format!(
                    "cause category is one of: {}",
                    names(causes.iter().map(|c| c.label()).collect())
                )
            }
            Condition::MaltreatmentSuspected => "maltreatment is suspected".to_owned(),
            Condition::InCustody => "the child was in the agency's custody".to_owned(),
            Condition::Substantiated => "abuse or neglect was substantiated".to_owned(),
            Condition::LeadershipDesignated => {
                "leadership designated the incident for review".to_owned()
            }
            Condition::OutOfHomeCare {
                court_ordered: true,
            } => "the child was in court-ordered out-of-home care".to_owned(),
            Condition::OutOfHomeCare {
                court_ordered: false,
            } => "the child was in out-of-home care".to_owned(),
            Condition::PriorContactWithin {
                months,
                min_count,
                kinds,
            } => {
                let months = months.unwrap_or(lookback_months);
                let what = if kinds.is_empty() {
                    "prior contact".to_owned()
                } else {
                    format!(
                        "prior contact of kind {}",
                        names(kinds.iter().map(|k| k.label()).collect())
                    )
                };
                if *min_count == 1 {
                    format!("{what} in the {months} months before the incident")
                } else {
                    format!(
                        "at least {min_count} {what}s in the {months} months before the incident"
                    )
                }
            }
            Condition::PriorContactAny => "any prior child-welfare contact".to_owned(),
            Condition::ChildAgeUnderMonths(m) => format!("the child was younger than {m} months"),
        }
    }
}

/// A rule: when all its criteria are met, the incident has its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Id, unique in the rule set.
    pub id: String,
    /// `PRACTICE_REVIEW` or `SUMMARY_ONLY`.
    pub outcome: EligibilityOutcome,
    /// What the rule says.
    pub description: String,
    /// Statute or policy reference.
    pub statute: String,
    /// Its criteria.
    pub criteria: Vec<Criterion>,
}

/// A deadline the rule set sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlineRule {
    /// What is due.
    pub kind: DeadlineKind,
    /// Dates to count from, the first one known being used.
    pub from: Vec<Anchor>,
    /// How many units.
    pub amount: u32,
    /// Which units.
    pub unit: Unit,
    /// Outcomes for which it applies.
    pub applies_to: Vec<EligibilityOutcome>,
    /// Statute or policy reference.
    pub statute: String,
    /// Criteria that must also be met (e.g. prior CPS history).
    pub criteria: Vec<Criterion>,
}

impl DeadlineRule {
    /// How it is computed, in words.
    pub fn basis(&self) -> String {
        let from = self
            .from
            .iter()
            .map(|a| a.field())
            .collect::<Vec<_>>()
            .join(" or else ");
        format!("{} {} after {from}", self.amount, self.unit.words())
    }
}

/// A loaded rule set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSet {
    /// Name, e.g. `wisconsin`.
    pub name: String,
    /// Version, e.g. `2025.1`.
    pub version: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Default look-back for prior contact, in months.
    pub lookback_months: u32,
    /// Holidays skipped by working-day deadlines.
    pub holidays: BTreeSet<NaiveDate>,
    /// Rules, in file order.
    pub rules: Vec<Rule>,
    /// Deadlines.
    pub deadlines: Vec<DeadlineRule>,
    /// SHA-256 of the file, hex.
    pub digest: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRuleSet {
    name: String,
    version: String,
    title: String,
    #[serde(default)]
    description: String,
    lookback_months: u32,
    #[serde(default)]
    holidays: Vec<NaiveDate>,
    #[serde(default)]
    rules: Vec<toml::Spanned<RawRule>>,
    #[serde(default)]
    deadlines: Vec<toml::Spanned<RawDeadline>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    outcome: Named<EligibilityOutcome>,
    description: String,
    statute: String,
    criteria: Vec<RawCondition>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDeadline {
    kind: Named<DeadlineKind>,
    from: Vec<Anchor>,
    amount: u32,
    unit: Unit,
    applies_to: Vec<Named<EligibilityOutcome>>,
    statute: String,
    #[serde(default)]
    criteria: Vec<RawCondition>,
}

impl RuleSet {
    /// Parses a rule-set file; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Self, ConfigError> {
        let raw: RawRuleSet =
            toml::from_str(text).map_err(|e| ConfigError::from_toml(file, text, &e))?;
        let err = |offset: usize, message: String| ConfigError::at(file, text, offset, message);
        if raw.name.is_empty()
            || !raw
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(err(
                0,
                "name must be lowercase letters, digits and dashes".to_owned(),
            ));
        }
        if raw.version.trim().is_empty() {
            return Err(err(0, "version must not be empty".to_owned()));
        }
        if raw.lookback_months == 0 {
            return Err(err(0, "lookback_months must be at least 1".to_owned()));
        }
        let mut ids = HashSet::new();
        let mut rules = Vec::new();
        for spanned in raw.rules {
            let offset = spanned.span().start;
            let raw_rule = spanned.into_inner();
            if !ids.insert(raw_rule.id.clone()) {
                return Err(err(offset, format!("duplicate rule id `{}`", raw_rule.id)));
            }
            let outcome = raw_rule.outcome.0;
            if !matches!(
                outcome,
                EligibilityOutcome::PracticeReview | EligibilityOutcome::SummaryOnly
            ) {
                return Err(err(
                    offset,
                    format!(
                        "rule `{}`: outcome must be PRACTICE_REVIEW or SUMMARY_ONLY",
                        raw_rule.id
                    ),
                ));
            }
            if raw_rule.criteria.is_empty() {
                return Err(err(
                    offset,
                    format!("rule `{}` has no criteria", raw_rule.id),
                ));
            }
            let criteria = criteria(raw_rule.criteria)
                .map_err(|m| err(offset, format!("rule `{}`: {m}", raw_rule.id)))?;
            rules.push(Rule {
                id: raw_rule.id,
                outcome,
                description: raw_rule.description,
                statute: raw_rule.statute,
                criteria,
            });
        }
        if rules.is_empty() {
            return Err(err(0, "a rule set needs at least one rule".to_owned()));
        }
        let mut deadlines = Vec::new();
        for spanned in raw.deadlines {
            let offset = spanned.span().start;
            let d = spanned.into_inner();
            if d.from.is_empty() {
                return Err(err(
                    offset,
                    "deadline `from` must name at least one date".to_owned(),
                ));
            }
            if d.applies_to.is_empty() {
                return Err(err(
                    offset,
                    "deadline `applies_to` must name at least one outcome".to_owned(),
                ));
            }
            deadlines.push(DeadlineRule {
                kind: d.kind.0,
                from: d.from,
                amount: d.amount,
                unit: d.unit,
                applies_to: unwrap_all(&d.applies_to),
                statute: d.statute,
                criteria: criteria(d.criteria).map_err(|m| err(offset, m))?,
            });
        }
        Ok(Self {
            name: raw.name,
            version: raw.version,
            title: raw.title,
            description: raw.description.trim().to_owned(),
            lookback_months: raw.lookback_months,
            holidays: raw.holidays.into_iter().collect(),
            rules,
            deadlines,
            digest: hex::encode(Sha256::digest(text.as_bytes())),
        })
    }

    /// The resource name, `ruleSets/{name}`.
    pub fn resource_name(&self) -> String {
        format!("ruleSets/{}", self.name)
    }
}

fn criteria(raw: Vec<RawCondition>) -> Result<Vec<Criterion>, String> {
    let mut ids = HashSet::new();
    raw.into_iter()
        .map(|r| {
            let c = Criterion::from_raw(r)?;
            if !ids.insert(c.id.clone()) {
                return Err(format!("duplicate criterion id `{}`", c.id));
            }
            Ok(c)
        })
        .collect()
}

impl fmt::Display for RuleSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.name, self.version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
name = "t"
version = "1"
title = "T"
lookback_months = 12

[[rules]]
id = "r"
outcome = "PRACTICE_REVIEW"
description = "d"
statute = "s"
criteria = [{ id = "c", kind = "leadership_designated" }]
"#;

    #[test]
    fn a_minimal_rule_set_parses() {
        let set = RuleSet::parse("t.toml", MINIMAL).expect("parses");
        assert_eq!(set.rules.len(), 1);
        assert_eq!(
            set.rules[0].criteria[0].condition,
            Condition::LeadershipDesignated
        );
    }

    #[test]
    fn errors_name_the_file_line_and_problem() {
        let bad = MINIMAL.replace("\"PRACTICE_REVIEW\"", "\"PRACTICE_REVEIW\"");
        let e = RuleSet::parse("t.toml", &bad).expect_err("bad outcome");
        assert_eq!((e.file.as_str(), e.line), ("t.toml", 9), "{e}");
        assert!(
            e.message
                .contains("unknown eligibility outcome `PRACTICE_REVEIW`"),
            "{e}"
        );

        let bad = MINIMAL.replace("leadership_designated", "leadership_desig");
        let e = RuleSet::parse("t.toml", &bad).expect_err("bad kind");
        assert_eq!(e.line, 12, "{e}");

        let dup = format!(
            "{MINIMAL}\n{}",
            &MINIMAL[MINIMAL.find("[[rules]]").expect("rules")..]
        );
        let e = RuleSet::parse("t.toml", &dup).expect_err("duplicate");
        assert!(e.message.contains("duplicate rule id `r`"), "{e}");
        assert_eq!(e.line, 14, "{e}");

        let e = RuleSet::parse("t.toml", "name = \"t\"\nversion = 1\n").expect_err("type");
        assert_eq!(e.line, 2, "{e}");
    }

    #[test]
    fn shipped_rule_sets_parse() {
        for (file, text) in crate::domain::jurisdictions::SHIPPED_RULE_SETS {
            RuleSet::parse(file, text).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}
