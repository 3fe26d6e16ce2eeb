//! Synthetic incident facts for tests. No real person's data.

use scir_proto::common::v1::{Answer, Date};
use scir_proto::intake::v1 as pb;

/// A date message from `YYYY-MM-DD`.
pub fn date(text: &str) -> Date {
    let mut parts = text
        .split('-')
        .map(|p| p.parse::<i32>().expect("date part"));
    let (year, month, day) = (parts.next(), parts.next(), parts.next());
    Date {
        year: year.expect("year"),
        month: month.expect("month"),
        day: day.expect("day"),
    }
}

/// A prior contact.
pub fn contact(kind: pb::ContactKind, on: &str, outcome: pb::ContactOutcome) -> pb::PriorContact {
    pb::PriorContact {
        kind: kind as i32,
        date: Some(date(on)),
        outcome: outcome as i32,
    }
}

/// A Wisconsin infant death from suspected neglect, with a screened-out report
/// three months before: a practice review under the Wisconsin rule set.
pub fn wisconsin_death() -> pb::IncidentFacts {
    pb::IncidentFacts {
        jurisdiction: "us-wi".into(),
        reporting_agency: "Dane County Department of Human Services".into(),
        incident_type: pb::IncidentType::Death as i32,
        cause_category: pb::CauseCategory::Suid as i32,
        incident_date: Some(date("2025-03-10")),
        learned_date: Some(date("2025-03-11")),
        reported_to_state_date: None,
        child_age_months: Some(4),
        sex: pb::Sex::Female as i32,
        race_ethnicity: vec![pb::RaceEthnicity::Black as i32],
        tribal_status: pb::TribalStatus::NotTribal as i32,
        tribal_affiliation: String::new(),
        placement: Some(pb::Placement {
            setting: pb::PlacementSetting::InHome as i32,
            out_of_home_type: 0,
            court_ordered: 0,
        }),
        maltreatment_suspected: Answer::Yes as i32,
        maltreatment_types: vec![pb::MaltreatmentType::Neglect as i32],
        had_prior_contact: Answer::Yes as i32,
        prior_contacts: vec![contact(
            pb::ContactKind::Report,
            "2024-12-01",
            pb::ContactOutcome::ScreenedOut,
        )],
        in_custody: Answer::No as i32,
        substantiated: Answer::Unknown as i32,
        leadership_designated: false,
        law_enforcement_agency: "Example City Police Department".into(),
        restricted: None,
    }
}

/// Restricted identity with distinctive synthetic values, so tests can search
/// for them where they must never appear.
pub fn restricted_identity() -> pb::RestrictedIdentity {
    pb::RestrictedIdentity {
        child_name: "Zyxwa Quonset-Testchild".into(),
        birth_date: Some(date("2024-11-02")),
        caregiver_names: vec!["Vexmor Quonset-Testparent".into()],
        case_numbers: vec!["CASE-ZZ-998877".into()],
    }
}

/// The distinctive strings of [`restricted_identity`].
pub const RESTRICTED_MARKERS: &[&str] = &["Zyxwa", "Vexmor", "ZZ-998877", "2024-11-02"];
