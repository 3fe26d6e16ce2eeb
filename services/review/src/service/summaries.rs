//! `GenerateSummary`: the 90-day and 6-month summaries, refused rather than
//! leaked when any identity the system holds appears in them.

use prost::Message;
use scir_kit::ApiError;
use scir_kit::auth::Caller;
use scir_kit::db::{DbError, now_micros};
use scir_kit::error::PreconditionViolation;
use scir_kit::validate::to_date;
use scir_proto::intake::v1 as intake;
use scir_proto::review::v1 as pb;

use super::{Access, Loaded, Reviews, parse_review_name, timestamp};
use crate::domain::summary::{self, Field, Identities, Section, SummaryInput};
use crate::store;

fn words(name: &str) -> String {
    name.to_lowercase().replace('_', " ")
}

fn enum_words<T: TryFrom<i32>>(value: i32, name: fn(&T) -> &'static str) -> String {
    T::try_from(value)
        .map(|v| words(name(&v)))
        .unwrap_or_else(|_| "not recorded".to_owned())
}

fn age_words(months: i32) -> String {
    match months {
        m if m < 12 => "under 1 year".to_owned(),
        m => format!("{} years", m / 12),
    }
}

fn field(source: String, text: String) -> Field {
    Field { source, text }
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
                enum_words::<intake::IncidentType>(facts.incident_type, |v| v.as_str_name()),
            ),
            (
                "Suspected cause".into(),
                enum_words::<intake::CauseCategory>(facts.cause_category, |v| v.as_str_name()),
            ),
            ("Month of the incident".into(), month),
            (
                "Age of the child".into(),
                age_words(facts.child_age_months.unwrap_or_default()),
            ),
            (
                "Placement".into(),
                enum_words::<intake::PlacementSetting>(placement.setting, |v| v.as_str_name()),
            ),
            (
                "Prior child-welfare contacts".into(),
                facts.prior_contacts.len().to_string(),
            ),
            (
                "Review stage".into(),
                enum_words::<pb::Stage>(review.body.stage, |v| v.as_str_name()),
            ),
        ];

        let mut conn = self.db.pool().acquire().await.map_err(DbError::from)?;
        let team = loaded.team.iter().fold(
            std::collections::BTreeMap::<String, usize>::new(),
            |mut acc, (_, m)| {
                *acc.entry(enum_words::<pb::TeamRole>(m.role, |v| v.as_str_name()))
                    .or_default() += 1;
                acc
            },
        );
        let team_text = team
            .iter()
            .map(|(role, n)| format!("{n} {role}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut actions = Section {
            heading: "Actions taken".into(),
            entries: Vec::new(),
        };
        actions.entries.push((
            field(format!("{name}#team"), format!("Review team: {team_text}")),
            vec![],
        ));
        for item in store::list_items(&mut conn, &review.id, "debriefings", 0, 10_000).await? {
            let d = pb::Debriefing::decode(item.body.as_slice()).map_err(ApiError::internal)?;
            let source = format!("{name}/debriefings/{}", item.id);
            let when = d
                .date
                .as_ref()
                .and_then(to_date)
                .map(|d| d.format("%B %Y").to_string())
                .unwrap_or_default();
            let title = field(
                format!("{source}#participant_roles"),
                format!(
                    "Debriefing ({when}) with: {}",
                    d.participant_roles.join(", ")
                ),
            );
            actions.entries.push((
                title,
                vec![field(
                    format!("{source}#decision_context"),
                    d.decision_context,
                )],
            ));
        }
        input.sections.push(actions);

        let mut episodes = Section {
            heading: "Key practice episodes".into(),
            entries: Vec::new(),
        };
        for item in store::list_items(&mut conn, &review.id, "episodes", 0, 10_000).await? {
            let e = pb::Episode::decode(item.body.as_slice()).map_err(ApiError::internal)?;
            let source = format!("{name}/episodes/{}", item.id);
            let assessment = enum_words::<pb::Assessment>(e.assessment, |v| v.as_str_name());
            episodes.entries.push((
                field(
                    format!("{source}#title"),
                    format!("{} ({assessment} practice)", e.title),
                ),
                vec![field(format!("{source}#what_happened"), e.what_happened)],
            ));
        }
        input.sections.push(episodes);

        let mut findings = Section {
            heading: "Findings".into(),
            entries: Vec::new(),
        };
        for item in store::list_items(&mut conn, &review.id, "keyObservations", 0, 10_000).await? {
            let k = pb::KeyObservation::decode(item.body.as_slice()).map_err(ApiError::internal)?;
            let source = format!("{name}/keyObservations/{}", item.id);
            findings.entries.push((
                field(format!("{source}#title"), k.title),
                vec![field(format!("{source}#description"), k.description)],
            ));
        }
        input.sections.push(findings);

        let mut learning = Section {
            heading: "Learning opportunities".into(),
            entries: Vec::new(),
        };
        for item in
            store::list_items(&mut conn, &review.id, "learningOpportunities", 0, 10_000).await?
        {
            let l = pb::LearningOpportunity::decode(item.body.as_slice())
                .map_err(ApiError::internal)?;
            let source = format!("{name}/learningOpportunities/{}", item.id);
            let status = enum_words::<pb::NeedStatus>(l.status, |v| v.as_str_name());
            learning.entries.push((
                field(
                    format!("{source}#family_need"),
                    format!("What the family needed: {}", l.family_need),
                ),
                vec![
                    field(
                        format!("{source}#action_taken"),
                        format!("What action did or did not take place: {}", l.action_taken),
                    ),
                    field(format!("{source}#status"), format!("Status: {status}")),
                ],
            ));
        }
        input.sections.push(learning);

        if kind == pb::SummaryKind::SixMonth {
            let mut recommendations = Section {
                heading: "Recommendations".into(),
                entries: Vec::new(),
            };
            for item in
                store::list_items(&mut conn, &review.id, "recommendations", 0, 10_000).await?
            {
                let r =
                    pb::Recommendation::decode(item.body.as_slice()).map_err(ApiError::internal)?;
                let source = format!("{name}/recommendations/{}", item.id);
                let due = r
                    .due_date
                    .as_ref()
                    .and_then(to_date)
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "not set".into());
                let detail = format!(
                    "Category: {}. Strength: {}. Status: {}. Due: {due}.",
                    enum_words::<pb::RecommendationCategory>(r.category, |v| v.as_str_name()),
                    enum_words::<pb::ActionStrength>(r.strength, |v| v.as_str_name()),
                    enum_words::<pb::RecommendationStatus>(r.status, |v| v.as_str_name()),
                );
                recommendations.entries.push((
                    field(format!("{source}#description"), r.description),
                    vec![
                        field(format!("{source}#owner"), format!("Owner: {}", r.owner)),
                        field(format!("{source}#status"), detail),
                    ],
                ));
            }
            input.sections.push(recommendations);
        }
        Ok(input)
    }

    /// Every identity the system holds for the review and its incident.
    async fn identities(&self, caller: &Caller, loaded: &Loaded) -> Result<Identities, ApiError> {
        let incident = self
            .intake
            .get_incident(caller.bearer.expose(), &loaded.review.incident)
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
        .as_str_name();
        let mut stored = loaded.review;
        let mut body = stored.body.clone();
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
