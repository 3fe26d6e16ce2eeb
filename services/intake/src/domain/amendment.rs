//! Amending an incident's facts: which fields an amendment may replace, what
//! makes a request valid, and the merge that says what changed.

use scir_kit::{ApiError, FieldViolation};
use scir_proto::intake::v1 as pb;

/// Longest reason for an amendment, in characters.
pub const MAX_REASON: usize = 2000;

macro_rules! amendable {
    ($($field:ident),* $(,)?) => {
        /// Top-level fields of `IncidentFacts` an amendment may replace.
        pub const AMENDABLE_FIELDS: &[&str] = &[$(stringify!($field)),*];

        /// Copies `path` from `source` into `target`; whether the value changed.
        pub fn apply_field(path: &str, target: &mut pb::IncidentFacts, source: &pb::IncidentFacts) -> bool {
            match path {
                $(stringify!($field) => {
                    let changed = target.$field != source.$field;
                    target.$field = source.$field.clone();
                    changed
                })*
                _ => false,
            }
        }
    };
}

amendable!(
    jurisdiction,
    reporting_agency,
    incident_type,
    cause_category,
    incident_date,
    learned_date,
    reported_to_state_date,
    child_age_months,
    sex,
    race_ethnicity,
    tribal_status,
    tribal_affiliation,
    placement,
    maltreatment_suspected,
    maltreatment_types,
    had_prior_contact,
    prior_contacts,
    in_custody,
    substantiated,
    leadership_designated,
    law_enforcement_agency,
    restricted,
);

/// The field paths of a valid amendment request (`*` for all), or every
/// fault of an invalid one.
pub fn check(request: &pb::AmendIncidentRequest) -> Result<Vec<String>, ApiError> {
    let mut violations = Vec::new();
    let paths = request
        .update_mask
        .as_ref()
        .map(|m| m.paths.clone())
        .unwrap_or_default();
    if paths.is_empty() {
        violations.push(FieldViolation::new("update_mask", "is required"));
    }
    for (i, p) in paths.iter().enumerate() {
        if p != "*" && !AMENDABLE_FIELDS.contains(&p.as_str()) {
            violations.push(FieldViolation::new(
                format!("update_mask.paths[{i}]"),
                format!("`{p}` is not a field of IncidentFacts"),
            ));
        }
    }
    if request.reason.trim().is_empty() {
        violations.push(FieldViolation::new("reason", "is required"));
    } else if request.reason.chars().count() > MAX_REASON {
        violations.push(FieldViolation::new(
            "reason",
            format!("must be at most {MAX_REASON} characters"),
        ));
    }
    if request.incident.is_none() {
        violations.push(FieldViolation::new("incident", "is required"));
    }
    if violations.is_empty() {
        Ok(paths)
    } else {
        Err(ApiError::InvalidArgument(violations))
    }
}

/// Replaces the `paths` of `current` with `source`'s; the fields that changed.
/// An identity sent again unchanged (absent and empty alike) is no change.
pub fn merge(
    current: &mut pb::IncidentFacts,
    source: &pb::IncidentFacts,
    paths: &[String],
) -> Vec<String> {
    let selected: Vec<&str> = if paths.iter().any(|p| p == "*") {
        AMENDABLE_FIELDS.to_vec()
    } else {
        paths.iter().map(String::as_str).collect()
    };
    let mut changed = Vec::new();
    for path in selected {
        if path == "restricted"
            && source.restricted.clone().unwrap_or_default()
                == current.restricted.clone().unwrap_or_default()
        {
            continue;
        }
        if apply_field(path, current, source) {
            changed.push(path.to_owned());
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(paths: &[&str], reason: &str) -> pb::AmendIncidentRequest {
        pb::AmendIncidentRequest {
            name: "n".into(),
            incident: Some(pb::IncidentFacts::default()),
            update_mask: Some(prost_types::FieldMask {
                paths: paths.iter().map(|p| (*p).to_owned()).collect(),
            }),
            reason: reason.into(),
            etag: String::new(),
        }
    }

    #[test]
    fn a_request_names_amendable_fields_and_a_reason() {
        assert_eq!(
            check(&request(&["sex", "*"], "typo")).expect("valid"),
            ["sex", "*"]
        );
        let ApiError::InvalidArgument(v) =
            check(&request(&["sex", "name"], " ")).expect_err("invalid")
        else {
            panic!("not INVALID_ARGUMENT");
        };
        let fields: Vec<&str> = v.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["update_mask.paths[1]", "reason"]);
    }

    #[test]
    fn only_what_differs_changes() {
        let mut current = pb::IncidentFacts {
            sex: 1,
            child_age_months: Some(4),
            ..Default::default()
        };
        let source = pb::IncidentFacts {
            sex: 2,
            child_age_months: Some(4),
            restricted: Some(pb::RestrictedIdentity::default()),
            ..Default::default()
        };
        let changed = merge(&mut current, &source, &["*".to_owned()]);
        assert_eq!(changed, ["sex"], "an empty identity replaces none");
        assert_eq!(current.sex, 2);
        assert!(merge(&mut current, &source, &["sex".to_owned()]).is_empty());
    }
}
