//! Resource names, parsed in one place: a malformed name is an
//! INVALID_ARGUMENT naming the field it came in, and a parsed name prints back
//! exactly as the contract spells it.

use std::fmt;

use crate::error::ApiError;

/// The jurisdiction a resource name is under (`jurisdictions/{jurisdiction}/...`).
pub fn jurisdiction_of(name: &str) -> Option<&str> {
    let mut segments = name.split('/');
    match (segments.next(), segments.next()) {
        (Some("jurisdictions"), Some(j)) if !j.is_empty() => Some(j),
        _ => None,
    }
}

/// `jurisdictions/{jurisdiction}/{collection}/{uuid}`: its jurisdiction and id.
fn scoped(text: &str, collection: &str, field: &str) -> Result<(String, String), ApiError> {
    match text.split('/').collect::<Vec<_>>().as_slice() {
        ["jurisdictions", j, c, id]
            if !j.is_empty() && *c == collection && uuid::Uuid::parse_str(id).is_ok() =>
        {
            Ok(((*j).to_owned(), (*id).to_owned()))
        }
        _ => Err(ApiError::invalid(
            field,
            format!("must be jurisdictions/{{jurisdiction}}/{collection}/{{id}}"),
        )),
    }
}

/// A resource directly under a jurisdiction, named
/// `jurisdictions/{jurisdiction}/{collection}/{id}` with a UUID id.
macro_rules! scoped_name {
    ($(#[$doc:meta])* $name:ident, $collection:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            /// Jurisdiction id.
            pub jurisdiction: String,
            /// Its id (a UUID).
            pub id: String,
        }

        impl $name {
            /// The name of `id` in `jurisdiction`.
            pub fn new(jurisdiction: impl Into<String>, id: impl Into<String>) -> Self {
                Self {
                    jurisdiction: jurisdiction.into(),
                    id: id.into(),
                }
            }

            /// Parses a name sent in `field`.
            pub fn parse(text: &str, field: &str) -> Result<Self, ApiError> {
                let (jurisdiction, id) = scoped(text, $collection, field)?;
                Ok(Self { jurisdiction, id })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(
                    f,
                    concat!("jurisdictions/{}/", $collection, "/{}"),
                    self.jurisdiction, self.id
                )
            }
        }
    };
}

scoped_name!(
    /// `jurisdictions/{jurisdiction}/incidents/{incident}`.
    IncidentName,
    "incidents"
);
scoped_name!(
    /// `jurisdictions/{jurisdiction}/reviews/{review}`.
    ReviewName,
    "reviews"
);
scoped_name!(
    /// `jurisdictions/{jurisdiction}/webhooks/{webhook}`.
    WebhookName,
    "webhooks"
);

scoped_name!(
    /// `jurisdictions/{jurisdiction}/safetyNotices/{notice}`.
    SafetyNoticeName,
    "safetyNotices"
);
scoped_name!(
    /// `jurisdictions/{jurisdiction}/surveyWaves/{wave}`.
    SurveyWaveName,
    "surveyWaves"
);
scoped_name!(
    /// `jurisdictions/{jurisdiction}/aggregateMappings/{mapping}`.
    AggregateMappingName,
    "aggregateMappings"
);

/// `jurisdictions/{jurisdiction}/aggregateMappings/{mapping}/{collection}/{id}`:
/// a session or consideration of an aggregate mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingPartName {
    /// The mapping it belongs to.
    pub mapping: AggregateMappingName,
    /// Its collection, e.g. `considerations`.
    pub collection: String,
    /// Its id (a UUID).
    pub id: String,
}

impl MappingPartName {
    /// Parses the name of a part of `collection` sent in `field`.
    pub fn parse(text: &str, collection: &str, field: &str) -> Result<Self, ApiError> {
        let bad = || {
            ApiError::invalid(
                field,
                format!(
                    "must be jurisdictions/{{jurisdiction}}/aggregateMappings/{{mapping}}/{collection}/{{id}}"
                ),
            )
        };
        let (mapping, id) = text
            .rsplit_once(&format!("/{collection}/"))
            .ok_or_else(bad)?;
        if uuid::Uuid::parse_str(id).is_err() {
            return Err(bad());
        }
        Ok(Self {
            mapping: AggregateMappingName::parse(mapping, field).map_err(|_| bad())?,
            collection: collection.to_owned(),
            id: id.to_owned(),
        })
    }
}

impl fmt::Display for MappingPartName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.mapping, self.collection, self.id)
    }
}

/// `jurisdictions/{jurisdiction}`: a collection's parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JurisdictionName(pub String);

impl JurisdictionName {
    /// Parses a parent sent in `field`.
    pub fn parse(text: &str, field: &str) -> Result<Self, ApiError> {
        match text.split('/').collect::<Vec<_>>().as_slice() {
            ["jurisdictions", j] if !j.is_empty() => Ok(Self((*j).to_owned())),
            _ => Err(ApiError::invalid(
                field,
                "must be jurisdictions/{jurisdiction}",
            )),
        }
    }
}

impl fmt::Display for JurisdictionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "jurisdictions/{}", self.0)
    }
}

/// `jurisdictions/{jurisdiction}/reviews/{review}/{collection}/{id}`: a part
/// of a review (a key observation, an episode...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartName {
    /// The review it belongs to.
    pub review: ReviewName,
    /// Its collection, e.g. `keyObservations`.
    pub collection: String,
    /// Its id (a UUID).
    pub id: String,
}

impl PartName {
    /// Parses the name of a part of `collection` sent in `field`.
    pub fn parse(text: &str, collection: &str, field: &str) -> Result<Self, ApiError> {
        let bad = || {
            ApiError::invalid(
                field,
                format!(
                    "must be jurisdictions/{{jurisdiction}}/reviews/{{review}}/{collection}/{{id}}"
                ),
            )
        };
        let (review, id) = text
            .rsplit_once(&format!("/{collection}/"))
            .ok_or_else(bad)?;
        if uuid::Uuid::parse_str(id).is_err() {
            return Err(bad());
        }
        Ok(Self {
            review: ReviewName::parse(review, field).map_err(|_| bad())?,
            collection: collection.to_owned(),
            id: id.to_owned(),
        })
    }
}

impl fmt::Display for PartName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.review, self.collection, self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REVIEW: &str = "jurisdictions/us-wi/reviews/0192e0a4-7c1b-7a3e-9f00-000000000001";

    #[test]
    fn names_parse_and_print_back() {
        let review = ReviewName::parse(REVIEW, "review").expect("review");
        assert_eq!(review.jurisdiction, "us-wi");
        assert_eq!(review.to_string(), REVIEW);
        let ko = format!("{REVIEW}/keyObservations/0192e0a4-7c1b-7a3e-9f00-000000000002");
        let part = PartName::parse(&ko, "keyObservations", "key_observation").expect("part");
        assert_eq!(part.review, review);
        assert_eq!(part.to_string(), ko);
        assert_eq!(jurisdiction_of(&ko), Some("us-wi"));
        assert_eq!(jurisdiction_of("ruleSets/wisconsin"), None);
        let mapping = "jurisdictions/us-wi/aggregateMappings/0192e0a4-7c1b-7a3e-9f00-000000000004";
        let c = format!("{mapping}/considerations/0192e0a4-7c1b-7a3e-9f00-000000000005");
        let part = MappingPartName::parse(&c, "considerations", "name").expect("part");
        assert_eq!(part.mapping.to_string(), mapping);
        assert_eq!(part.to_string(), c);
        assert!(MappingPartName::parse(&c, "sessions", "name").is_err());
        assert!(MappingPartName::parse(mapping, "considerations", "name").is_err());
        let incident = "jurisdictions/us-wi/incidents/0192e0a4-7c1b-7a3e-9f00-000000000003";
        let parsed = IncidentName::parse(incident, "incident").expect("incident");
        assert_eq!(
            parsed,
            IncidentName::new("us-wi", "0192e0a4-7c1b-7a3e-9f00-000000000003")
        );
        assert_eq!(parsed.to_string(), incident);
        let parent = JurisdictionName::parse("jurisdictions/us-wi", "parent").expect("parent");
        assert_eq!(
            (parent.0.as_str(), parent.to_string()),
            ("us-wi", "jurisdictions/us-wi".to_owned())
        );
        assert!(JurisdictionName::parse("jurisdictions/us-wi/x", "parent").is_err());
        assert!(
            WebhookName::parse(incident, "name").is_err(),
            "another collection"
        );
    }

    #[test]
    fn a_bad_name_names_its_field() {
        for bad in [
            "",
            "jurisdictions//reviews/0192e0a4-7c1b-7a3e-9f00-000000000001",
            "jurisdictions/us-wi/reviews/not-a-uuid",
            "jurisdictions/us-wi/incidents/0192e0a4-7c1b-7a3e-9f00-000000000001",
        ] {
            let e = ReviewName::parse(bad, "parent").expect_err(bad);
            assert!(e.to_string().contains("parent"), "{e}");
        }
        let e = PartName::parse(&format!("{REVIEW}/episodes/x"), "episodes", "name")
            .expect_err("bad id");
        assert!(e.to_string().contains("episodes"), "{e}");
    }
}
