//! Review deadlines: the summaries intake's decision set, and a target date for
//! leaving each stage, counted from the day the review opened.

use chrono::NaiveDate;
use scir_proto::Labelled;
use scir_proto::review::v1::Stage;

/// Days after opening by which each stage should be left.
pub const STAGE_TARGET_DAYS: &[(Stage, u64)] = &[
    (Stage::Opened, 7),
    (Stage::CaseRecordReview, 30),
    (Stage::Debriefing, 60),
    (Stage::SsitScoring, 75),
    (Stage::SystemsMapping, 90),
    (Stage::LearningOpportunities, 120),
    (Stage::Recommendations, 150),
];

/// A deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deadline {
    /// What is due.
    pub label: String,
    /// The last day.
    pub due: NaiveDate,
    /// Whether it is met.
    pub met: bool,
    /// `intake decision` or `stage target`.
    pub source: &'static str,
}

/// The label of a stage target.
pub fn stage_label(stage: Stage) -> String {
    format!("leave {}", stage.label())
}

/// Stage targets for a review opened on `opened`.
pub fn stage_targets(opened: NaiveDate) -> Vec<Deadline> {
    STAGE_TARGET_DAYS
        .iter()
        .filter_map(|(stage, days)| {
            Some(Deadline {
                label: stage_label(*stage),
                due: opened.checked_add_days(chrono::Days::new(*days))?,
                met: false,
                source: "stage target",
            })
        })
        .collect()
}

/// Marks the targets of every stage before `stage` met.
pub fn mark_stages_left(deadlines: &mut [Deadline], stage: Stage) {
    for (s, _) in STAGE_TARGET_DAYS {
        if (*s as i32) < (stage as i32)
            && let Some(d) = deadlines.iter_mut().find(|d| d.label == stage_label(*s))
        {
            d.met = true;
        }
    }
}

/// The earliest unmet deadline of a review in `stage`; none once it is final.
pub fn next_due(deadlines: &[Deadline], stage: Stage) -> Option<NaiveDate> {
    if super::stages::is_terminal(stage) {
        return None;
    }
    deadlines.iter().filter(|d| !d.met).map(|d| d.due).min()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaving_a_stage_meets_its_target_and_moves_the_next_due_date() {
        let opened: NaiveDate = "2025-01-01".parse().expect("date");
        let mut deadlines = stage_targets(opened);
        assert_eq!(
            next_due(&deadlines, Stage::Opened),
            Some("2025-01-08".parse().expect("date"))
        );
        mark_stages_left(&mut deadlines, Stage::Debriefing);
        assert_eq!(
            next_due(&deadlines, Stage::Debriefing),
            Some("2025-03-02".parse().expect("date"))
        );
        assert_eq!(next_due(&deadlines, Stage::Finalised), None);
    }
}
