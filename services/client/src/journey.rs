//! One incident's journey through the public APIs: reported to intake, its
//! review opened from intake's event, staffed, documented, rated by the team,
//! given a consensus, mapped, and taken to the stage the case plans.
//!
//! Used by `scir demo` for every synthetic case and by the end-to-end tests.

use std::time::Duration;

use anyhow::{Context, bail};
use scir_kit::auth::Role;
use scir_proto::common::v1::Date;
use scir_proto::intake::v1 as intake;
use scir_proto::review::v1::{self as review, Stage};
use scir_proto::scoring::v1 as scoring;

use crate::connect::{Caller, Channels, Signer};

/// How long to wait for another service to learn of a change through events.
const PROPAGATION: Duration = Duration::from_secs(30);

/// A key observation and how the team rates it.
#[derive(Debug, Clone)]
pub struct ObservationPlan {
    /// The observation.
    pub observation: review::KeyObservation,
    /// Each rater's levels, by item code (raters in the order of [`Case::raters`]).
    pub ratings: Vec<Vec<(String, i32)>>,
    /// The agreed levels, by item code.
    pub consensus: Vec<(String, i32)>,
}

/// Everything one synthetic case does.
#[derive(Debug, Clone)]
pub struct Case {
    /// Idempotency key of the report.
    pub request_id: String,
    /// What is reported.
    pub facts: intake::IncidentFacts,
    /// Subject of the reporter.
    pub reporter: String,
    /// Subject of the SCR lead.
    pub lead: String,
    /// Subjects of the raters (REVIEWER members).
    pub raters: Vec<String>,
    /// The case record review's episodes.
    pub episodes: Vec<review::Episode>,
    /// Debriefings with the professionals involved.
    pub debriefings: Vec<review::Debriefing>,
    /// Key observations with their ratings.
    pub observations: Vec<ObservationPlan>,
    /// A systems map per key observation (by index), or none to skip mapping.
    pub maps: Vec<review::SystemsMap>,
    /// Learning opportunities (key observations linked by index in `themes` order).
    pub learning: Vec<review::LearningOpportunity>,
    /// Recommendations.
    pub recommendations: Vec<review::Recommendation>,
    /// The stage the review is left in (a review stops early when the plan says so).
    pub until: Stage,
}

/// What a journey produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The incident as intake decided it.
    pub incident: intake::Incident,
    /// The review, when the incident opened one.
    pub review: Option<review::Review>,
}

/// Drives cases through a deployment.
#[derive(Debug, Clone)]
pub struct Driver {
    channels: Channels,
    signer: Signer,
    traceparent: Option<String>,
}

impl Driver {
    /// A driver calling `channels` with tokens from `signer`.
    pub fn new(channels: Channels, signer: Signer) -> Self {
        Self {
            channels,
            signer,
            traceparent: None,
        }
    }

    /// Makes every call of this driver part of the trace `traceparent` names.
    pub fn in_trace(mut self, traceparent: &str) -> Self {
        self.traceparent = Some(traceparent.to_owned());
        self
    }

    /// A caller acting as `subject` with `roles` in `jurisdiction`.
    pub fn caller(
        &self,
        subject: &str,
        roles: &[Role],
        jurisdiction: &str,
    ) -> anyhow::Result<Caller> {
        self.signer
            .caller(&self.channels, subject, roles, jurisdiction)?
            .in_trace(self.traceparent.as_deref())
    }

    /// The instrument new ratings use, as scoring serves it.
    pub async fn active_instrument(&self, caller: &Caller) -> anyhow::Result<scoring::Instrument> {
        caller
            .scoring()
            .list_instruments(scoring::ListInstrumentsRequest {})
            .await
            .context("ListInstruments")?
            .into_inner()
            .instruments
            .into_iter()
            .find(|i| i.active)
            .context("scoring has no active instrument")
    }

    /// Reports the case's incident (idempotent by its request id).
    pub async fn report(&self, case: &Case) -> anyhow::Result<intake::Incident> {
        let reporter = self.caller(&case.reporter, &[Role::Reporter], &case.facts.jurisdiction)?;
        let request = intake::ReportIncidentRequest {
            request_id: case.request_id.clone(),
            incident: Some(case.facts.clone()),
        };
        Ok(reporter
            .intake()
            .report_incident(request)
            .await
            .context("ReportIncident")?
            .into_inner())
    }

    /// Waits until review has opened the review of `incident` from intake's event.
    pub async fn review_of(
        &self,
        lead: &Caller,
        jurisdiction: &str,
        incident: &str,
    ) -> anyhow::Result<review::Review> {
        let request = review::ListReviewsRequest {
            parent: format!("jurisdictions/{jurisdiction}"),
            incident: incident.to_owned(),
            ..Default::default()
        };
        let deadline = tokio::time::Instant::now() + PROPAGATION;
        loop {
            let found = lead
                .review()
                .list_reviews(request.clone())
                .await
                .context("ListReviews")?
                .into_inner()
                .reviews
                .pop();
            if let Some(found) = found {
                return Ok(found);
            }
            if tokio::time::Instant::now() > deadline {
                bail!("no review of {incident} opened within {PROPAGATION:?}");
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Reports the case and, when intake decides on a practice review, walks
    /// the review to the case's final stage.
    pub async fn run(&self, case: &Case) -> anyhow::Result<Outcome> {
        let incident = self.report(case).await?;
        let outcome = incident.decision.as_ref().map_or(0, |d| d.outcome);
        if outcome != intake::EligibilityOutcome::PracticeReview as i32
            && !case.facts.leadership_designated
        {
            return Ok(Outcome {
                incident,
                review: None,
            });
        }
        let review = self.walk(case, &incident.name).await?;
        Ok(Outcome {
            incident,
            review: Some(review),
        })
    }

    /// Walks the review of `incident` to the case's final stage.
    pub async fn walk(&self, case: &Case, incident: &str) -> anyhow::Result<review::Review> {
        let jurisdiction = case.facts.jurisdiction.as_str();
        let lead = self.caller(&case.lead, &[Role::ScrLead], jurisdiction)?;
        let raters = case
            .raters
            .iter()
            .map(|r| self.caller(r, &[Role::Reviewer], jurisdiction))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let Some(writer) = raters.first() else {
            bail!("a case needs at least one rater");
        };
        let mut current = self.review_of(&lead, jurisdiction, incident).await?;
        let name = current.name.clone();
        if current.stage == Stage::Opened as i32 {
            self.staff(&lead, case, &name).await?;
        }
        // A walk resumed past debriefing reads the observations it made before.
        let mut observations = if current.stage > Stage::Debriefing as i32 {
            self.observations(&lead, &name).await?
        } else {
            Vec::new()
        };
        while current.stage < case.until as i32 && current.stage < Stage::Finalised as i32 {
            let stage = Stage::try_from(current.stage).unwrap_or(Stage::Unspecified);
            let mut skip = String::new();
            match stage {
                Stage::CaseRecordReview => {
                    for episode in &case.episodes {
                        let request = review::CreateEpisodeRequest {
                            parent: name.clone(),
                            episode: Some(episode.clone()),
                        };
                        writer
                            .review()
                            .create_episode(request)
                            .await
                            .context("CreateEpisode")?;
                    }
                }
                Stage::Debriefing => {
                    for debriefing in &case.debriefings {
                        let request = review::CreateDebriefingRequest {
                            parent: name.clone(),
                            debriefing: Some(debriefing.clone()),
                        };
                        writer
                            .review()
                            .create_debriefing(request)
                            .await
                            .context("CreateDebriefing")?;
                    }
                    for plan in &case.observations {
                        let request = review::CreateKeyObservationRequest {
                            parent: name.clone(),
                            key_observation: Some(plan.observation.clone()),
                        };
                        let created = writer
                            .review()
                            .create_key_observation(request)
                            .await
                            .context("CreateKeyObservation")?
                            .into_inner();
                        observations.push(created.name);
                    }
                }
                Stage::SsitScoring => {
                    for (plan, observation) in case.observations.iter().zip(&observations) {
                        self.score(&lead, &raters, plan, observation).await?;
                    }
                    if case.maps.is_empty() {
                        skip = "no systems map for this review".to_owned();
                    }
                }
                Stage::SystemsMapping => {
                    for (map, observation) in case.maps.iter().zip(observations.iter().cycle()) {
                        let map = review::SystemsMap {
                            key_observation: observation.clone(),
                            ..map.clone()
                        };
                        let request = review::CreateSystemsMapRequest {
                            parent: name.clone(),
                            systems_map: Some(map),
                        };
                        lead.review()
                            .create_systems_map(request)
                            .await
                            .context("CreateSystemsMap")?;
                    }
                }
                Stage::LearningOpportunities => {
                    for opportunity in &case.learning {
                        let opportunity = review::LearningOpportunity {
                            key_observations: observations.iter().take(1).cloned().collect(),
                            ..opportunity.clone()
                        };
                        let request = review::CreateLearningOpportunityRequest {
                            parent: name.clone(),
                            learning_opportunity: Some(opportunity),
                        };
                        lead.review()
                            .create_learning_opportunity(request)
                            .await
                            .context("CreateLearningOpportunity")?;
                    }
                }
                Stage::Recommendations => {
                    for recommendation in &case.recommendations {
                        let recommendation = review::Recommendation {
                            key_observations: observations.iter().take(1).cloned().collect(),
                            ..recommendation.clone()
                        };
                        let request = review::CreateRecommendationRequest {
                            parent: name.clone(),
                            recommendation: Some(recommendation),
                        };
                        lead.review()
                            .create_recommendation(request)
                            .await
                            .context("CreateRecommendation")?;
                    }
                }
                _ => {}
            }
            current = self.advance(&lead, &name, &skip).await?;
        }
        Ok(current)
    }

    async fn observations(&self, lead: &Caller, review: &str) -> anyhow::Result<Vec<String>> {
        let mut names = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = lead
                .review()
                .list_key_observations(review::ListKeyObservationsRequest {
                    parent: review.to_owned(),
                    page_size: 100,
                    page_token,
                })
                .await
                .context("ListKeyObservations")?
                .into_inner();
            names.extend(page.key_observations.into_iter().map(|k| k.name));
            if page.next_page_token.is_empty() {
                return Ok(names);
            }
            page_token = page.next_page_token;
        }
    }

    async fn staff(&self, lead: &Caller, case: &Case, review: &str) -> anyhow::Result<()> {
        let members = std::iter::once((&case.lead, review::TeamRole::ScrLead))
            .chain(case.raters.iter().map(|r| (r, review::TeamRole::Reviewer)));
        for (subject, role) in members {
            let request = review::AddTeamMemberRequest {
                parent: review.to_owned(),
                member: Some(review::TeamMember {
                    subject: subject.clone(),
                    role: role as i32,
                    ..Default::default()
                }),
            };
            match lead.review().add_team_member(request).await {
                // Staffed by an earlier, interrupted walk.
                Err(s) if s.code() == tonic::Code::AlreadyExists => {}
                result => {
                    result.context("AddTeamMember")?;
                }
            }
        }
        Ok(())
    }

    /// Every rater's ratings (waiting for scoring to learn of the observation
    /// from review's events), then the lead's consensus.
    async fn score(
        &self,
        lead: &Caller,
        raters: &[Caller],
        plan: &ObservationPlan,
        observation: &str,
    ) -> anyhow::Result<()> {
        for (rater, levels) in raters.iter().zip(&plan.ratings) {
            let set = scoring::RatingSet {
                key_observation: observation.to_owned(),
                ratings: levels
                    .iter()
                    .map(|(code, level)| scoring::ItemRating {
                        item_code: code.clone(),
                        level: *level,
                        rationale: rationale(*level).to_owned(),
                        evidence: vec![],
                    })
                    .collect(),
                ..Default::default()
            };
            let deadline = tokio::time::Instant::now() + PROPAGATION;
            loop {
                let request = scoring::SubmitRatingsRequest {
                    rating_set: Some(set.clone()),
                };
                match rater.scoring().submit_ratings(request).await {
                    Ok(_) => break,
                    Err(s)
                        if matches!(
                            s.code(),
                            tonic::Code::NotFound | tonic::Code::FailedPrecondition
                        ) && tokio::time::Instant::now() < deadline =>
                    {
                        tokio::time::sleep(Duration::from_millis(25)).await;
                    }
                    Err(s) => return Err(s).context("SubmitRatings"),
                }
            }
        }
        let consensus = scoring::Consensus {
            key_observation: observation.to_owned(),
            items: plan
                .consensus
                .iter()
                .map(|(code, level)| scoring::ConsensusItem {
                    item_code: code.clone(),
                    level: *level,
                    rationale: rationale(*level).to_owned(),
                })
                .collect(),
            ..Default::default()
        };
        lead.scoring()
            .record_consensus(scoring::RecordConsensusRequest {
                consensus: Some(consensus),
            })
            .await
            .context("RecordConsensus")?;
        Ok(())
    }

    async fn advance(
        &self,
        lead: &Caller,
        name: &str,
        skip: &str,
    ) -> anyhow::Result<review::Review> {
        let current = lead
            .review()
            .get_review(review::GetReviewRequest {
                name: name.to_owned(),
            })
            .await
            .context("GetReview")?
            .into_inner();
        let request = review::AdvanceReviewRequest {
            name: name.to_owned(),
            etag: current.etag,
            skip_systems_mapping_reason: skip.to_owned(),
            validate_only: false,
        };
        lead.review()
            .advance_review(request)
            .await
            .with_context(|| {
                format!(
                    "AdvanceReview from {:?}",
                    Stage::try_from(current.stage).unwrap_or(Stage::Unspecified)
                )
            })
            .map(|r| r.into_inner())
    }
}

fn rationale(level: i32) -> &'static str {
    match level {
        0 => "No evidence in the record or the debriefings.",
        1 => "Mentioned in a debriefing; not clear from the record.",
        2 => "Seen in the record and described in the debriefings.",
        _ => "Described by several professionals as shaping the decisions.",
    }
}

/// A date message.
pub fn date(year: i32, month: i32, day: i32) -> Date {
    Date { year, month, day }
}
