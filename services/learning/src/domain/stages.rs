//! The stages of an aggregate mapping: what each needs before the next, and
//! what may change in each. Plain functions over the mapping and its parts.

use std::collections::HashSet;

use chrono::NaiveDate;
use scir_kit::validate::to_date;
use scir_proto::learning::v1::{self as pb, Stage};

/// Fewest distinct reviews an aggregate mapping draws on.
pub const MIN_REVIEWS: usize = 2;
/// Fewest seats on a mapping team.
pub const MIN_SEATS: usize = 2;
/// Fewest distinct sectors on a mapping team.
pub const MIN_SECTORS: usize = 2;

/// The stage after `stage`, if any.
pub fn next(stage: Stage) -> Option<Stage> {
    match stage {
        Stage::Scoping => Some(Stage::Preparation),
        Stage::Preparation => Some(Stage::Mapping),
        Stage::Mapping => Some(Stage::Considerations),
        Stage::Considerations => Some(Stage::Published),
        Stage::Published | Stage::Unspecified => None,
    }
}

/// The review a learning opportunity's resource name is in
/// (`jurisdictions/{j}/reviews/{r}/learningOpportunities/{id}` ->
/// `jurisdictions/{j}/reviews/{r}`).
pub fn review_of(learning_opportunity: &str) -> Option<&str> {
    learning_opportunity
        .rsplit_once("/learningOpportunities/")
        .map(|(review, _)| review)
}

fn missing(field: &str, description: impl Into<String>) -> pb::Missing {
    pb::Missing {
        field: field.to_owned(),
        description: description.into(),
    }
}

/// Everything the mapping still needs to leave its stage, in the order a
/// checklist would show it; empty when it may advance (and for a published
/// mapping, which has nowhere to go).
pub fn needs(
    mapping: &pb::AggregateMapping,
    sessions: &[pb::MappingSession],
    considerations: &[pb::Consideration],
    today: NaiveDate,
) -> Vec<pb::Missing> {
    let mut out = Vec::new();
    let stage = Stage::try_from(mapping.stage).unwrap_or(Stage::Unspecified);
    match stage {
        Stage::Scoping => scoping(mapping, &mut out),
        Stage::Preparation => {
            let sectors: HashSet<&str> = mapping.team.iter().map(|s| s.sector.as_str()).collect();
            if mapping.team.len() < MIN_SEATS || sectors.len() < MIN_SECTORS {
                out.push(missing(
                    "team",
                    format!(
                        "a mapping team of at least {MIN_SEATS} seats from at least {MIN_SECTORS} sectors (has {} from {})",
                        mapping.team.len(),
                        sectors.len()
                    ),
                ));
            }
            if sessions.is_empty() {
                out.push(missing("sessions", "at least one planned mapping session"));
            }
        }
        Stage::Mapping => {
            let map = mapping.map.clone().unwrap_or_default();
            if map.nodes.is_empty() {
                out.push(missing(
                    "map.nodes",
                    "at least one systemic factor on the map",
                ));
            }
            let explained: HashSet<&str> = map
                .nodes
                .iter()
                .flat_map(|n| n.explains.iter().map(String::as_str))
                .collect();
            let scope = mapping.scope.clone().unwrap_or_default();
            for (i, lo) in scope.learning_opportunities.iter().enumerate() {
                if !explained.contains(lo.as_str()) {
                    out.push(missing(
                        &format!("scope.learning_opportunities[{i}]"),
                        format!("a factor on the map that helps explain {lo}"),
                    ));
                }
            }
            let held = sessions.iter().any(|s| {
                s.date
                    .as_ref()
                    .and_then(to_date)
                    .is_some_and(|d| d <= today)
            });
            if !held {
                out.push(missing(
                    "sessions",
                    "a mapping session held (dated today or earlier)",
                ));
            }
        }
        Stage::Considerations => {
            if considerations.is_empty() {
                out.push(missing(
                    "considerations",
                    "at least one consideration for future work",
                ));
            }
            if mapping.process_notes.trim().is_empty() {
                out.push(missing(
                    "process_notes",
                    "the team's notes on the process: what we know now that we've done it",
                ));
            }
        }
        Stage::Published | Stage::Unspecified => {}
    }
    out
}

fn scoping(mapping: &pb::AggregateMapping, out: &mut Vec<pb::Missing>) {
    let scope = mapping.scope.clone().unwrap_or_default();
    if scope.theme == 0 {
        out.push(missing("scope.theme", "the theme the cases share"));
    }
    if scope.question == 0 {
        out.push(missing(
            "scope.question",
            "the question asked across the cases",
        ));
    }
    if scope.description.trim().is_empty() {
        out.push(missing("scope.description", "the common thread, in words"));
    }
    if scope.period_start.is_none() {
        out.push(missing("scope.period_start", "the first day of the period"));
    }
    if scope.period_end.is_none() {
        out.push(missing("scope.period_end", "the last day of the period"));
    }
    let reviews: HashSet<&str> = scope
        .learning_opportunities
        .iter()
        .filter_map(|lo| review_of(lo))
        .collect();
    if reviews.len() < MIN_REVIEWS {
        out.push(missing(
            "scope.learning_opportunities",
            format!(
                "learning opportunities from at least {MIN_REVIEWS} finalised reviews (has {})",
                reviews.len()
            ),
        ));
    }
}

/// Which mapping fields an update may replace in `stage`; the others are
/// `FAILED_PRECONDITION` with the reason.
pub fn field_writable(stage: Stage, field: &str) -> Result<(), &'static str> {
    match (stage, field) {
        (Stage::Published, _) => Err("a published mapping is read-only"),
        (Stage::Scoping | Stage::Preparation, "scope") => Ok(()),
        (_, "scope") => Err("the scope is fixed once mapping starts"),
        (Stage::Mapping | Stage::Considerations, "map") => Ok(()),
        (_, "map") => Err("the map is drawn in the mapping and considerations stages"),
        _ => Ok(()),
    }
}

/// Whether a consideration's `field` may change in `stage`.
pub fn consideration_writable(stage: Stage, field: &str) -> Result<(), &'static str> {
    const PROGRESS: &[&str] = &[
        "status",
        "status_reason",
        "done_date",
        "check_date",
        "effectiveness",
        "evidence",
    ];
    match stage {
        Stage::Published if PROGRESS.contains(&field) => Ok(()),
        Stage::Published => Err(
            "once published only status, status_reason, done_date, check_date, effectiveness and evidence change",
        ),
        Stage::Considerations => Ok(()),
        _ => Err("considerations are written in the considerations stage"),
    }
}

/// Whether a consideration with `status` still counts towards overdue:
/// neither implemented nor set aside.
pub fn is_open(status: i32) -> bool {
    !matches!(
        pb::ConsiderationStatus::try_from(status),
        Ok(pb::ConsiderationStatus::Implemented | pb::ConsiderationStatus::NotPursued)
    )
}

/// Whether a consideration is past due and still open.
pub fn overdue(consideration: &pb::Consideration, today: NaiveDate) -> bool {
    is_open(consideration.status)
        && consideration
            .due_date
            .as_ref()
            .and_then(to_date)
            .is_some_and(|due| due < today)
}

#[cfg(test)]
mod tests {
    use scir_kit::validate::from_date;

    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("date")
    }

    fn lo(review: &str, id: &str) -> String {
        format!("jurisdictions/us-wi/reviews/{review}/learningOpportunities/{id}")
    }

    fn fields(needs: &[pb::Missing]) -> Vec<&str> {
        needs.iter().map(|m| m.field.as_str()).collect()
    }

    #[test]
    fn scoping_lists_every_missing_item_and_counts_distinct_reviews() {
        let mut mapping = pb::AggregateMapping {
            stage: Stage::Scoping as i32,
            ..Default::default()
        };
        let today = day(2026, 12, 1);
        assert_eq!(
            fields(&needs(&mapping, &[], &[], today)),
            [
                "scope.theme",
                "scope.question",
                "scope.description",
                "scope.period_start",
                "scope.period_end",
                "scope.learning_opportunities"
            ]
        );
        mapping.scope = Some(pb::Scope {
            theme: 1,
            question: 1,
            description: "unsafe sleep".into(),
            period_start: Some(from_date(day(2025, 1, 1))),
            period_end: Some(from_date(day(2025, 12, 31))),
            // Two opportunities of one review are one review.
            learning_opportunities: vec![lo("a", "1"), lo("a", "2")],
        });
        let left = needs(&mapping, &[], &[], today);
        assert_eq!(fields(&left), ["scope.learning_opportunities"]);
        assert!(left[0].description.contains("(has 1)"));
        mapping
            .scope
            .as_mut()
            .expect("scope")
            .learning_opportunities
            .push(lo("b", "3"));
        assert!(needs(&mapping, &[], &[], today).is_empty());
    }

    #[test]
    fn preparation_needs_a_team_across_sectors_and_a_session() {
        let seat = |sector: &str| pb::TeamSeat {
            role: "supervisor".into(),
            sector: sector.into(),
        };
        let mut mapping = pb::AggregateMapping {
            stage: Stage::Preparation as i32,
            team: vec![seat("child welfare"), seat("child welfare")],
            ..Default::default()
        };
        let today = day(2026, 12, 1);
        assert_eq!(
            fields(&needs(&mapping, &[], &[], today)),
            ["team", "sessions"]
        );
        mapping.team.push(seat("health"));
        let session = pb::MappingSession {
            date: Some(from_date(day(2027, 1, 5))),
            ..Default::default()
        };
        assert!(needs(&mapping, &[session], &[], today).is_empty());
    }

    #[test]
    fn mapping_needs_every_opportunity_explained_and_a_session_held() {
        let mapping = pb::AggregateMapping {
            stage: Stage::Mapping as i32,
            scope: Some(pb::Scope {
                learning_opportunities: vec![lo("a", "1"), lo("b", "2")],
                ..Default::default()
            }),
            map: Some(pb::AggregateMap {
                nodes: vec![pb::MapNode {
                    id: "n1".into(),
                    label: "caseload".into(),
                    explains: vec![lo("a", "1")],
                    ..Default::default()
                }],
                edges: vec![],
            }),
            ..Default::default()
        };
        let planned = pb::MappingSession {
            date: Some(from_date(day(2027, 1, 5))),
            ..Default::default()
        };
        let left = needs(
            &mapping,
            std::slice::from_ref(&planned),
            &[],
            day(2026, 12, 1),
        );
        assert_eq!(
            fields(&left),
            ["scope.learning_opportunities[1]", "sessions"]
        );
        // The session's day has come.
        let left = needs(&mapping, &[planned], &[], day(2027, 1, 5));
        assert_eq!(fields(&left), ["scope.learning_opportunities[1]"]);
    }

    #[test]
    fn considerations_then_notes_before_publishing() {
        let mut mapping = pb::AggregateMapping {
            stage: Stage::Considerations as i32,
            ..Default::default()
        };
        let today = day(2026, 12, 1);
        assert_eq!(
            fields(&needs(&mapping, &[], &[], today)),
            ["considerations", "process_notes"]
        );
        mapping.process_notes = "bring tribal partners in earlier".into();
        let one = pb::Consideration::default();
        assert!(needs(&mapping, &[], &[one], today).is_empty());
        mapping.stage = Stage::Published as i32;
        assert!(needs(&mapping, &[], &[], today).is_empty());
        assert_eq!(next(Stage::Published), None);
    }

    #[test]
    fn what_may_change_in_each_stage() {
        assert!(field_writable(Stage::Scoping, "scope").is_ok());
        assert!(field_writable(Stage::Mapping, "scope").is_err());
        assert!(field_writable(Stage::Scoping, "map").is_err());
        assert!(field_writable(Stage::Considerations, "map").is_ok());
        assert!(field_writable(Stage::Published, "title").is_err());
        assert!(consideration_writable(Stage::Published, "status").is_ok());
        assert!(consideration_writable(Stage::Published, "owner").is_err());
        assert!(consideration_writable(Stage::Mapping, "owner").is_err());
    }

    #[test]
    fn overdue_means_past_due_and_still_open() {
        let mut c = pb::Consideration {
            due_date: Some(from_date(day(2026, 11, 30))),
            status: pb::ConsiderationStatus::InProgress as i32,
            ..Default::default()
        };
        assert!(overdue(&c, day(2026, 12, 1)));
        assert!(!overdue(&c, day(2026, 11, 30)), "due today is not overdue");
        c.status = pb::ConsiderationStatus::NotPursued as i32;
        assert!(!overdue(&c, day(2026, 12, 1)));
    }
}
