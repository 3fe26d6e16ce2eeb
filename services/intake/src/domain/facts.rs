//! Incident facts: parsed from the request message into plain, valid types, with
//! one field violation per bad field.

use chrono::{Datelike, NaiveDate};
use scir_kit::FieldViolation;
use scir_kit::validate::Check;
pub use scir_kit::validate::{from_date, to_date};
use scir_proto::common::v1::Answer;
use scir_proto::intake::v1 as pb;

use super::jurisdictions::Directory;

/// Longest free-text name accepted.
pub const MAX_NAME: usize = 200;
/// Longest case number accepted.
pub const MAX_CASE_NUMBER: usize = 64;
/// Most prior contacts accepted.
pub const MAX_CONTACTS: usize = 200;
/// Most caregiver names or case numbers accepted.
pub const MAX_IDENTIFIERS: usize = 20;
/// Oldest child age accepted, in months (25 years).
pub const MAX_AGE_MONTHS: i32 = 300;

/// A prior contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contact {
    /// Kind.
    pub kind: pb::ContactKind,
    /// When it began.
    pub date: NaiveDate,
    /// Outcome.
    pub outcome: pb::ContactOutcome,
}

/// The facts eligibility is decided on, all valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// Owning jurisdiction id (configured).
    pub jurisdiction: String,
    /// Incident type.
    pub incident_type: pb::IncidentType,
    /// Cause category.
    pub cause: pb::CauseCategory,
    /// Date of the incident.
    pub incident_date: NaiveDate,
    /// Date the agency learned of it.
    pub learned_date: NaiveDate,
    /// Date it was reported to the state.
    pub reported_to_state_date: Option<NaiveDate>,
    /// Age in months at the incident.
    pub child_age_months: i32,
    /// Placement setting.
    pub placement: pb::PlacementSetting,
    /// Whether an out-of-home placement was court-ordered.
    pub court_ordered: Answer,
    /// Whether maltreatment is suspected.
    pub maltreatment_suspected: Answer,
    /// Whether the family had prior contact (`YES` whenever contacts are listed).
    pub had_prior_contact: Answer,
    /// Prior contacts.
    pub prior_contacts: Vec<Contact>,
    /// Whether the child was in custody.
    pub in_custody: Answer,
    /// Whether maltreatment was substantiated.
    pub substantiated: Answer,
    /// Whether leadership designated the incident.
    pub leadership_designated: bool,
}

/// Whole months from `birth` to `on`.
pub fn age_in_months(birth: NaiveDate, on: NaiveDate) -> i32 {
    let mut months = (on.year() - birth.year()) * 12 + on.month() as i32 - birth.month() as i32;
    if on.day() < birth.day() {
        months -= 1;
    }
    months
}

/// Parses the facts of a request. `prefix` is the path of the message in the
/// request (e.g. `incident.`); `today` bounds dates.
pub fn parse(
    msg: &pb::IncidentFacts,
    prefix: &str,
    directory: &Directory,
    today: NaiveDate,
) -> Result<Facts, Vec<FieldViolation>> {
    let mut c = Check::new(prefix);

    if msg.jurisdiction.is_empty() {
        c.bad("jurisdiction", "is required");
    } else if directory.jurisdiction(&msg.jurisdiction).is_none() {
        c.bad("jurisdiction", "is not a configured jurisdiction");
    }
    c.text("reporting_agency", &msg.reporting_agency, MAX_NAME, true);
    let incident_type = c.required_enum::<pb::IncidentType>("incident_type", msg.incident_type);
    let cause = c.required_enum::<pb::CauseCategory>("cause_category", msg.cause_category);

    let incident_date = c.date("incident_date", msg.incident_date.as_ref(), true);
    let learned_date = c.date("learned_date", msg.learned_date.as_ref(), true);
    let reported = c.date(
        "reported_to_state_date",
        msg.reported_to_state_date.as_ref(),
        false,
    );
    c.not_future("incident_date", incident_date, today);
    c.not_future("learned_date", learned_date, today);
    c.not_future("reported_to_state_date", reported, today);
    if let (Some(i), Some(l)) = (incident_date, learned_date)
        && l < i
    {
        c.bad("learned_date", "must not be before incident_date");
    }
    if let (Some(l), Some(r)) = (learned_date, reported)
        && r < l
    {
        c.bad("reported_to_state_date", "must not be before learned_date");
    }

    let restricted = msg.restricted.clone().unwrap_or_default();
    c.text(
        "restricted.child_name",
        &restricted.child_name,
        MAX_NAME,
        false,
    );
    let birth = c.date(
        "restricted.birth_date",
        restricted.birth_date.as_ref(),
        false,
    );
    if let (Some(b), Some(i)) = (birth, incident_date)
        && b > i
    {
        c.bad("restricted.birth_date", "must not be after incident_date");
    }
    c.text_list(
        "restricted.caregiver_names",
        &restricted.caregiver_names,
        MAX_IDENTIFIERS,
        MAX_NAME,
    );
    c.text_list(
        "restricted.case_numbers",
        &restricted.case_numbers,
        MAX_IDENTIFIERS,
        MAX_CASE_NUMBER,
    );

    let child_age_months = match (msg.child_age_months, birth, incident_date) {
        (Some(age), _, _) if !(0..=MAX_AGE_MONTHS).contains(&age) => {
            c.bad(
                "child_age_months",
                format!("must be between 0 and {MAX_AGE_MONTHS}"),
            );
            None
        }
        (Some(age), _, _) => Some(age),
        (None, Some(b), Some(i)) => {
            let age = age_in_months(b, i);
            if age > MAX_AGE_MONTHS {
                c.bad("restricted.birth_date", "gives an age above 25 years");
            }
            Some(age)
        }
        (None, _, _) => {
            c.bad(
                "child_age_months",
                "is required unless restricted.birth_date is given",
            );
            None
        }
    };

    c.required_enum::<pb::Sex>("sex", msg.sex);
    if msg.race_ethnicity.is_empty() {
        c.bad("race_ethnicity", "needs at least one category");
    }
    c.enum_list::<pb::RaceEthnicity>("race_ethnicity", &msg.race_ethnicity);
    let tribal = c.required_enum::<pb::TribalStatus>("tribal_status", msg.tribal_status);
    c.text(
        "tribal_affiliation",
        &msg.tribal_affiliation,
        MAX_NAME,
        false,
    );
    if !msg.tribal_affiliation.is_empty()
        && tribal.is_some_and(|t| t != pb::TribalStatus::MemberOrEligible)
    {
        c.bad(
            "tribal_affiliation",
            "is only given when tribal_status is TRIBAL_MEMBER_OR_ELIGIBLE",
        );
    }

    let (placement, court_ordered) = match &msg.placement {
        None => {
            c.bad("placement", "is required");
            (None, Answer::Unspecified)
        }
        Some(p) => {
            let setting = c.required_enum::<pb::PlacementSetting>("placement.setting", p.setting);
            let kind =
                c.known_enum::<pb::OutOfHomeType>("placement.out_of_home_type", p.out_of_home_type);
            match (setting, kind) {
                (Some(pb::PlacementSetting::OutOfHome), Some(pb::OutOfHomeType::Unspecified)) => {
                    c.bad(
                        "placement.out_of_home_type",
                        "is required when the setting is OUT_OF_HOME",
                    );
                }
                (Some(pb::PlacementSetting::InHome), Some(k))
                    if k != pb::OutOfHomeType::Unspecified =>
                {
                    c.bad(
                        "placement.out_of_home_type",
                        "is only given when the setting is OUT_OF_HOME",
                    );
                }
                _ => {}
            }
            let court = c
                .known_enum::<Answer>("placement.court_ordered", p.court_ordered)
                .unwrap_or_default();
            (setting, court)
        }
    };

    let maltreatment = c
        .known_enum::<Answer>("maltreatment_suspected", msg.maltreatment_suspected)
        .unwrap_or_default();
    if !msg.maltreatment_types.is_empty() && maltreatment != Answer::Yes {
        c.bad(
            "maltreatment_types",
            "are only given when maltreatment_suspected is YES",
        );
    }
    c.enum_list::<pb::MaltreatmentType>("maltreatment_types", &msg.maltreatment_types);

    let mut had_prior = c
        .known_enum::<Answer>("had_prior_contact", msg.had_prior_contact)
        .unwrap_or_default();
    match had_prior {
        Answer::Yes if msg.prior_contacts.is_empty() => {
            c.bad(
                "prior_contacts",
                "must list the contacts when had_prior_contact is YES",
            );
        }
        Answer::No if !msg.prior_contacts.is_empty() => {
            c.bad(
                "prior_contacts",
                "must be empty when had_prior_contact is NO",
            );
        }
        Answer::Unspecified if !msg.prior_contacts.is_empty() => had_prior = Answer::Yes,
        _ => {}
    }
    let mut contacts = Vec::new();
    if msg.prior_contacts.len() > MAX_CONTACTS {
        c.bad(
            "prior_contacts",
            format!("must have at most {MAX_CONTACTS} entries"),
        );
    } else {
        for (i, pc) in msg.prior_contacts.iter().enumerate() {
            // A report may carry a long history: check each contact first and
            // name its fields only when one is wrong, so valid contacts cost
            // no allocation.
            let mut probe = Check::new("");
            let kind = probe.required_enum::<pb::ContactKind>("", pc.kind);
            let outcome = probe.required_enum::<pb::ContactOutcome>("", pc.outcome);
            let date = probe.date("", pc.date.as_ref(), true);
            let late = matches!((date, incident_date), (Some(d), Some(i)) if d > i);
            if !probe.is_empty() || late {
                let path = format!("prior_contacts[{i}]");
                c.required_enum::<pb::ContactKind>(&format!("{path}.kind"), pc.kind);
                c.required_enum::<pb::ContactOutcome>(&format!("{path}.outcome"), pc.outcome);
                c.date(&format!("{path}.date"), pc.date.as_ref(), true);
                if late {
                    c.bad(&format!("{path}.date"), "must not be after incident_date");
                }
            }
            if let (Some(kind), Some(date), Some(outcome)) = (kind, date, outcome) {
                contacts.push(Contact {
                    kind,
                    date,
                    outcome,
                });
            }
        }
    }
    let in_custody = c
        .known_enum::<Answer>("in_custody", msg.in_custody)
        .unwrap_or_default();
    let substantiated = c
        .known_enum::<Answer>("substantiated", msg.substantiated)
        .unwrap_or_default();
    c.text(
        "law_enforcement_agency",
        &msg.law_enforcement_agency,
        MAX_NAME,
        false,
    );

    match (
        incident_type,
        cause,
        incident_date,
        learned_date,
        child_age_months,
        placement,
    ) {
        (
            Some(incident_type),
            Some(cause),
            Some(incident_date),
            Some(learned_date),
            Some(age),
            Some(placement),
        ) if c.is_empty() => Ok(Facts {
            jurisdiction: msg.jurisdiction.clone(),
            incident_type,
            cause,
            incident_date,
            learned_date,
            reported_to_state_date: reported,
            child_age_months: age,
            placement,
            court_ordered,
            maltreatment_suspected: maltreatment,
            had_prior_contact: had_prior,
            prior_contacts: contacts,
            in_custody,
            substantiated,
            leadership_designated: msg.leadership_designated,
        }),
        _ => Err(c.into_violations()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use scir_testkit::fixtures::{date, wisconsin_death as valid};

    fn today() -> NaiveDate {
        "2025-06-01".parse().expect("date")
    }

    fn fields(result: Result<Facts, Vec<FieldViolation>>) -> Vec<String> {
        result
            .expect_err("invalid")
            .into_iter()
            .map(|v| v.field)
            .collect()
    }

    #[test]
    fn valid_facts_parse() {
        let dir = Directory::shipped().expect("dir");
        let facts = parse(&valid(), "incident.", &dir, today()).expect("valid");
        assert_eq!(facts.child_age_months, 4);
        assert_eq!(facts.prior_contacts.len(), 1);
    }

    #[test]
    fn each_bad_field_is_named() {
        let dir = Directory::shipped().expect("dir");
        let mut m = valid();
        m.jurisdiction = "us-xx".into();
        m.incident_date = Some(date("2025-07-01"));
        m.learned_date = Some(date("2025-03-01"));
        m.sex = 99;
        m.child_age_months = Some(-1);
        m.reporting_agency = "x".repeat(201);
        let got = fields(parse(&m, "incident.", &dir, today()));
        assert_eq!(
            got,
            [
                "incident.jurisdiction",
                "incident.reporting_agency",
                "incident.incident_date",
                "incident.learned_date",
                "incident.child_age_months",
                "incident.sex",
            ]
            .map(String::from)
        );
    }

    #[test]
    fn age_comes_from_the_birth_date_when_not_given() {
        let dir = Directory::shipped().expect("dir");
        let mut m = valid();
        m.child_age_months = None;
        m.restricted = Some(pb::RestrictedIdentity {
            birth_date: Some(date("2024-01-15")),
            ..Default::default()
        });
        assert_eq!(
            parse(&m, "", &dir, today())
                .expect("valid")
                .child_age_months,
            13
        );
        m.restricted = None;
        assert_eq!(fields(parse(&m, "", &dir, today())), ["child_age_months"]);
    }

    #[test]
    fn contradictory_contact_answers_are_rejected() {
        let dir = Directory::shipped().expect("dir");
        let mut m = valid();
        m.had_prior_contact = Answer::No as i32;
        assert_eq!(fields(parse(&m, "", &dir, today())), ["prior_contacts"]);
        m.prior_contacts.clear();
        m.had_prior_contact = Answer::Yes as i32;
        assert_eq!(fields(parse(&m, "", &dir, today())), ["prior_contacts"]);
    }
}
