//! `GenerateSummary`: the 90-day and 6-month summaries, refused rather than
//! leaked when any identity the system holds appears in them.

use scir_kit::ApiError;
use scir_kit::auth::Caller;
use scir_kit::auth::ExposeSecret as _;
use scir_kit::db::{DbError, now_micros};
use scir_kit::error::PreconditionViolation;
use scir_kit::validate::to_date;
use scir_proto::Labelled;
use scir_proto::intake::v1 as intake;
use scir_proto::review::v1 as pb;

use super::{Access, Loaded, Reviews, parse_review_name, timestamp};
use crate::domain::summary::{
    self, Identities, Section, SummaryEntry, SummaryInput, enum_words, field,
};
use crate::items::Item;
use crate::store;

fn age_words(months: i32) -> String {
    match months {
        m if m < 12 => "under 1 year".to_owned(),
        m => format!("{} years", m / 12),
    }
}

/// Most parts of one kind a summary reads (far beyond any real review).
const MAX_PARTS: i64 = 10_000;

/// A section of every part of kind `I`, in creation order.
async fn section<I: Item + SummaryEntry>(
    conn: &mut sqlx::AnyConnection,
    review: &crate::store::StoredReview,
    heading: &str,
) -> Result<Section, ApiError> {
    let items = store::list_items(conn, &review.id, I::COLLECTION, 0, MAX_PARTS).await?;
    let entries = items
        .into_iter()
        .map(|item| {
            let part = I::decode(item.body.as_slice()).map_err(ApiError::internal)?;
            let source = format!("{}/{}/{}", review.body.name, I::COLLECTION, item.id);
            Ok(part.entry(&source))
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(Section {
        heading: heading.to_owned(),
        entries,
    })
}

impl Reviews {
    async fn summary_input(
        &self,
        loaded: &Loaded,
        kind: pb::SummaryKind,
    ) -> Result<SummaryInput, ApiError> {
        let review = &loaded.review;
        let name = &review.body.name;
        let facts = review.body.incident_facts.clone().unwrap_or_default();
        let mut input = SummaryInput {
            title: match kind {
                pb::SummaryKind::SixMonth => {
                    "6-month summary of a critical incident review".to_owned()
                }
                _ => "90-day summary of a critical incident review".to_owned(),
            },
            ..Default::default()
        };
        let month = facts
            .incident_date
            .as_ref()
            .and_then(to_date)
            .map(|d| d.format("%B %Y").to_string())
            .unwrap_or_default();
        let placement = facts.placement.unwrap_or_default();
        input.facts = vec![
            ("Jurisdiction".into(), review.jurisdiction.clone()),
            (
                "Incident".into(),
                enum_words::<intake::IncidentType>(facts.incident_type, |v| v.label()),
            ),
            (
                "Suspected cause".into(),
                enum_words::<intake::CauseCategory>(facts.cause_category, |v| v.label()),
            ),
            ("Month of the incident".into(), month),
            (
                "Age of the child".into(),
                age_words(facts.child_age_months.unwrap_or_default()),
            ),
            (
                "Placement".into(),
                enum_words::<intake::PlacementSetting>(placement.setting, |v| v.label()),
            ),
            (
                "Prior child-welfare contacts".into(),
                facts.prior_contacts.len().to_string(),
            ),
            (
                "Review stage".into(),
                enum_words::<pb::Stage>(review.body.stage, |v| v.label()),
            ),
        ];

        let mut conn = self.db.pool().acquire().await.map_err(DbError::from)?;
        let team = loaded.team.iter().fold(
            std::collections::BTreeMap::<String, usize>::new(),
            |mut acc, (_, m)| {
                *acc.entry(enum_words::<pb::TeamRole>(m.role, |v| v.label()))
                    .or_default() += 1;
                acc
            },
        );
        let team_text = team
            .iter()
            .map(|(role, n)| format!("{n} {role}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut actions = section::<pb::Debriefing>(&mut conn, review, "Actions taken").await?;
        actions.entries.insert(
            0,
            (
                field(format!("{name}#team"), format!("Review team: {team_text}")),
                vec![],
            ),
        );
        input.sections.push(actions);
        input
            .sections
            .push(section::<pb::Episode>(&mut conn, review, "Key practice episodes").await?);
        input
            .sections
            .push(section::<pb::KeyObservation>(&mut conn, review, "Findings").await?);
        input.sections.push(
            section::<pb::LearningOpportunity>(&mut conn, review, "Learning opportunities").await?,
        );
        if kind == pb::SummaryKind::SixMonth {
            input
                .sections
                .push(section::<pb::Recommendation>(&mut conn, review, "Recommendations").await?);
        }
        Ok(input)
    }

    /// Every identity the system holds for the review and its incident.
    async fn identities(&self, caller: &Caller, loaded: &Loaded) -> Result<Identities, ApiError> {
        let incident = self
            .intake
            .get_incident(caller.bearer.expose_secret(), &loaded.review.incident)
            .await?;
        let mut ids = Identities::default();
        if let Some(r) = incident.facts.and_then(|f| f.restricted) {
            if !r.child_name.trim().is_empty() {
                ids.names.push(("child_name", r.child_name));
            }
            ids.names.extend(
                r.caregiver_names
                    .into_iter()
                    .map(|n| ("caregiver_names", n)),
            );
            ids.case_numbers
                .extend(r.case_numbers.into_iter().map(|n| ("case_numbers", n)));
            if let Some(b) = r.birth_date.as_ref().and_then(to_date) {
                ids.birth_dates.push(("birth_date", b));
            }
        }
        ids.names.extend(
            loaded
                .team
                .iter()
                .map(|(_, m)| ("team_member_subject", m.subject.clone())),
        );
        if !incident.reported_by.is_empty() {
            ids.names.push(("reported_by", incident.reported_by));
        }
        Ok(ids)
    }

    /// `GenerateSummary`.
    pub async fn generate_summary(
        &self,
        caller: &Caller,
        method: &str,
        request: pb::GenerateSummaryRequest,
    ) -> Result<pb::Summary, ApiError> {
        let review = parse_review_name(&request.name, "name")?;
        let kind = match pb::SummaryKind::try_from(request.kind) {
            Ok(pb::SummaryKind::Unspecified) | Err(_) => {
                return Err(ApiError::invalid("kind", "must be NINETY_DAY or SIX_MONTH"));
            }
            Ok(kind) => kind,
        };
        let loaded = self.load(caller, method, &review, Access::Lead).await?;
        let input = self.summary_input(&loaded, kind).await?;
        let identities = self.identities(caller, &loaded).await?;
        let mut violations = Vec::new();
        for f in summary::fields(&input) {
            for hit in summary::identities_in(&f.text, &identities) {
                violations.push(PreconditionViolation {
                    kind: "IDENTITY_IN_SUMMARY".to_owned(),
                    subject: f.source.clone(),
                    description: format!(
                        "holds an identity recorded as {hit}; refer to people by role"
                    ),
                });
            }
        }
        let markdown = summary::render(&input);
        if violations.is_empty() {
            for hit in summary::identities_in(&markdown, &identities) {
                violations.push(PreconditionViolation {
                    kind: "IDENTITY_IN_SUMMARY".to_owned(),
                    subject: review.name.clone(),
                    description: format!("the summary holds an identity recorded as {hit}"),
                });
            }
        }
        if !violations.is_empty() {
            self.record(
                caller,
                method,
                &review.name,
                &review.jurisdiction,
                "refused: identity in summary",
            )
            .await?;
            return Err(ApiError::FailedPrecondition(violations));
        }

        let label = match kind {
            pb::SummaryKind::SixMonth => intake::DeadlineKind::Summary6Month,
            _ => intake::DeadlineKind::Summary90Day,
        }
        .label();
        let mut stored = loaded.review;
        let mut body = stored.body.0.clone();
        for d in body.deadlines.iter_mut().filter(|d| d.label == label) {
            d.met = true;
        }
        let action = format!(
            "generated the {} summary",
            if kind == pb::SummaryKind::SixMonth {
                "6-month"
            } else {
                "90-day"
            }
        );
        self.save(caller, method, &mut stored, body, &action, "", None)
            .await?;
        Ok(pb::Summary {
            kind: kind as i32,
            markdown,
            generate_time: timestamp(now_micros()),
        })
    }
}
