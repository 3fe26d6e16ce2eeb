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

/// `jurisdictions/{jurisdiction}/reviews/{review}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewName {
    /// Jurisdiction id.
    pub jurisdiction: String,
    /// Review id (a UUID).
    pub id: String,
}

impl ReviewName {
    /// Parses a review name sent in `field`.
    pub fn parse(text: &str, field: &str) -> Result<Self, ApiError> {
        let parts: Vec<&str> = text.split('/').collect();
        match parts.as_slice() {
            ["jurisdictions", j, "reviews", id]
                if !j.is_empty() && uuid::Uuid::parse_str(id).is_ok() =>
            {
                Ok(Self {
                    jurisdiction: (*j).to_owned(),
                    id: (*id).to_owned(),
                })
            }
            _ => Err(ApiError::invalid(
                field,
                "must be jurisdictions/{jurisdiction}/reviews/{review}",
            )),
        }
    }
}

impl fmt::Display for ReviewName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "jurisdictions/{}/reviews/{}", self.jurisdiction, self.id)
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
