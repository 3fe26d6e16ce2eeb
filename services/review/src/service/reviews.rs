//! Reviews themselves: opening, reading, listing, the period, stage changes,
//! withdrawal, history and the language check.

use chrono::{Months, NaiveDate};
use prost::Message;
use scir_kit::auth::Caller;
use scir_kit::auth::ExposeSecret as _;
use scir_kit::db::{DbError, Proto, now_micros};
use scir_kit::names::{IncidentName, ReviewName};
use scir_kit::statement::Statement;
use scir_kit::validate::{Check, from_date, to_date};
use scir_kit::{ApiError, pagination};
use scir_proto::Labelled;
use scir_proto::intake::v1 as intake;
use scir_proto::review::v1 as pb;

use super::{
    Access, ReviewRef, Reviews, check_etag, etag, findings, parse_review_name, timestamp,
    update_mask,
};
use crate::domain::deadlines::{self, Deadline};
use crate::domain::stages::{self, ReviewParts};
use crate::items::{learning_opportunity_gaps, recommendation_gaps};
use crate::store::{self, ReviewFilter, StoredReview};

/// Longest reason accepted.
const MAX_REASON: usize = 2000;

fn to_domain(d: &[pb::ReviewDeadline]) -> Vec<Deadline> {
    d.iter()
        .filter_map(|x| {
            Some(Deadline {
                label: x.label.clone(),
                due: x.due_date.as_ref().and_then(to_date)?,
                met: x.met,
                source: if x.source == "stage target" {
                    "stage target"
                } else {
                    "intake decision"
                },
            })
        })
        .collect()
}

fn to_proto(d: &[Deadline]) -> Vec<pb::ReviewDeadline> {
    d.iter()
        .map(|x| pb::ReviewDeadline {
            label: x.label.clone(),
            due_date: Some(from_date(x.due)),
            met: x.met,
            source: x.source.to_owned(),
        })
        .collect()
}

/// The earliest unmet deadline of a review body, as `YYYY-MM-DD`.
pub(super) fn next_due(body: &pb::Review) -> Option<NaiveDate> {
    let stage = pb::Stage::try_from(body.stage).unwrap_or_default();
    deadlines::next_due(&to_domain(&body.deadlines), stage)
}

/// The month of a review's earliest unmet deadline, `YYYY-MM` (empty for none).
pub(super) fn due_month(body: &pb::Review) -> String {
    next_due(body)
        .map(|d| d.format("%Y-%m").to_string())
        .unwrap_or_default()
}

/// The event saying a review's earliest deadline moved.
pub(super) fn deadlines_changed(body: &pb::Review) -> pb::ReviewDeadlinesChanged {
    pb::ReviewDeadlinesChanged {
        review: body.name.clone(),
        jurisdiction: body.jurisdiction.clone(),
        next_due_month: due_month(body),
    }
}

/// Whole days from `since` to `now` (microseconds); 0 when unknown.
fn days_since(since: Option<&prost_types::Timestamp>, now: i64) -> i32 {
    since.map_or(0, |t| {
        ((now / 1_000_000 - t.seconds) / 86_400).max(0) as i32
    })
}

/// Codes-only facts of an incident.
pub(super) fn review_facts(f: &intake::IncidentFacts) -> pb::ReviewFacts {
    let placement = f.placement.unwrap_or_default();
    pb::ReviewFacts {
        incident_type: f.incident_type,
        cause_category: f.cause_category,
        incident_date: f.incident_date,
        child_age_months: f.child_age_months.unwrap_or_default(),
        sex: f.sex,
        race_ethnicity: f.race_ethnicity.clone(),
        tribal_status: f.tribal_status,
        placement_setting: placement.setting,
        out_of_home_type: placement.out_of_home_type,
    }
}

/// Deadlines a review takes from intake's decision: the summaries.
pub(super) fn intake_deadlines(incident: &intake::Incident) -> Vec<Deadline> {
    let decision = incident.decision.clone().unwrap_or_default();
    decision
        .deadlines
        .iter()
        .filter(|d| {
            matches!(
                intake::DeadlineKind::try_from(d.kind),
                Ok(intake::DeadlineKind::Summary90Day | intake::DeadlineKind::Summary6Month)
            )
        })
        .filter_map(|d| {
            Some(Deadline {
                label: intake::DeadlineKind::try_from(d.kind)
                    .ok()?
                    .label()
                    .to_owned(),
                due: d.due_date.as_ref().and_then(to_date)?,
                met: false,
                source: "intake decision",
            })
        })
        .collect()
}

/// A new review of `incident`.
pub(super) fn new_review(
    incident: &intake::Incident,
    source: pb::OpenSource,
    reason: &str,
    now: i64,
) -> StoredReview {
    let jurisdiction = scir_kit::names::jurisdiction_of(&incident.name)
        .unwrap_or_default()
        .to_owned();
    let id = uuid::Uuid::now_v7().to_string();
    let name = ReviewName::new(jurisdiction.as_str(), id.as_str()).to_string();
    let mut facts = incident.facts.clone().unwrap_or_default();
    facts.restricted = None;
    let incident_date = facts.incident_date.as_ref().and_then(to_date);
    let today = chrono::DateTime::from_timestamp_micros(now)
        .map(|t| t.date_naive())
        .unwrap_or_default();
    let mut all = intake_deadlines(incident);
    all.extend(deadlines::stage_targets(today));
    let body = pb::Review {
        name,
        incident: incident.name.clone(),
        jurisdiction: jurisdiction.clone(),
        stage: pb::Stage::Opened as i32,
        incident_facts: Some(facts),
        eligibility_outcome: incident
            .decision
            .as_ref()
            .map(|d| d.outcome)
            .unwrap_or_default(),
        period_start: incident_date
            .and_then(|d| d.checked_sub_months(Months::new(12)))
            .map(from_date),
        period_end: incident_date.map(from_date),
        open_source: source as i32,
        open_reason: reason.to_owned(),
        deadlines: to_proto(&all),
        stage_enter_time: timestamp(now),
        ..Default::default()
    };
    StoredReview {
        seq: 0,
        id,
        jurisdiction,
        incident: incident.name.clone(),
        version: 1,
        body: Proto(body),
        create_time: now,
        update_time: now,
    }
}

/// What opening `review` writes (its row, guarded by
/// [`store::REVIEW_EXISTS`], and its first history entry) and the event that
/// announces it.
pub(super) fn open_new(
    review: &StoredReview,
    actor: &str,
) -> ([Statement; 2], scir_kit::events::NewEvent) {
    let due = next_due(&review.body).map(|d| d.to_string());
    let source = pb::OpenSource::try_from(review.body.open_source).unwrap_or_default();
    let writes = [
        store::insert_review(review, due),
        store::append_history(
            &review.id,
            review.create_time,
            actor,
            &format!("opened ({})", source.label()),
            pb::Stage::Opened as i32,
            &review.body.open_reason,
        ),
    ];
    let event = pb::ReviewOpened {
        review: review.body.name.clone(),
        incident: review.incident.clone(),
        jurisdiction: review.jurisdiction.clone(),
        open_source: review.body.open_source,
        facts: review.body.incident_facts.as_ref().map(review_facts),
        next_due_month: due_month(&review.body),
    };
    (
        writes,
        scir_kit::events::NewEvent::of(
            review.body.name.clone(),
            review.jurisdiction.clone(),
            &event,
        ),
    )
}

impl Reviews {
    /// A review as the API returns it.
    pub(super) fn present_review(&self, stored: &StoredReview) -> pb::Review {
        let mut body = stored.body.0.clone();
        body.etag = etag(&stored.id, stored.version);
        body.create_time = timestamp(stored.create_time);
        body.update_time = timestamp(stored.update_time);
        let due = next_due(&body);
        body.next_due_date = due.map(from_date);
        body.overdue = due.is_some_and(|d| d < Self::today());
        body
    }

    /// `OpenReview`: opens a review of a leadership-designated incident.
    pub async fn open(
        &self,
        caller: &Caller,
        method: &str,
        request: pb::OpenReviewRequest,
    ) -> Result<pb::Review, ApiError> {
        let mut check = Check::new("");
        check.text("reason", &request.reason, MAX_REASON, true);
        let incident_name = IncidentName::parse(&request.incident, "incident");
        if let Err(ApiError::InvalidArgument(violations)) = &incident_name {
            for v in violations {
                check.bad(&v.field, v.description.clone());
            }
        }
        check.finish()?;
        let incident_name = incident_name?;
        let jurisdiction = incident_name.jurisdiction.as_str();
        if caller
            .authorize_jurisdiction(&self.directory, jurisdiction)
            .is_err()
        {
            self.record(
                caller,
                method,
                &request.incident,
                jurisdiction,
                "denied: jurisdiction",
            )
            .await?;
            return Err(ApiError::PermissionDenied(
                "the incident belongs to another jurisdiction".to_owned(),
            ));
        }
        let incident = self
            .intake
            .get_incident(caller.bearer.expose_secret(), &request.incident)
            .await?;
        let designated = incident
            .facts
            .as_ref()
            .is_some_and(|f| f.leadership_designated);
        if !designated {
            return Err(ApiError::FailedPrecondition(vec![scir_kit::error::PreconditionViolation {
                kind: "DESIGNATION".to_owned(),
                subject: request.incident.clone(),
                description: "leadership has not designated the incident for review; amend it in intake first".to_owned(),
            }]));
        }
        let review = new_review(
            &incident,
            pb::OpenSource::LeadershipDesignation,
            &request.reason,
            now_micros(),
        );
        let mut tx = self.events.begin().await?;
        let (writes, opened) = open_new(&review, &caller.subject);
        for write in writes {
            tx.write(write);
        }
        tx.audit(scir_kit::audit::AuditRecord::by(
            caller,
            method,
            &review.body.name,
            jurisdiction,
            "ok",
        ));
        tx.publish(opened);
        tx.commit_or(store::REVIEW_EXISTS, || ApiError::AlreadyExists {
            reason: "REVIEW_EXISTS",
            message: "the incident already has a review".to_owned(),
        })
        .await?;
        Ok(self.present_review(&review))
    }

    /// `GetReview`.
    pub async fn get(
        &self,
        caller: &Caller,
        method: &str,
        name: &str,
    ) -> Result<pb::Review, ApiError> {
        let review = parse_review_name(name, "name")?;
        let loaded = self.load(caller, method, &review, Access::Read).await?;
        self.record(caller, method, name, &review.jurisdiction, "ok")
            .await?;
        Ok(self.present_review(&loaded.review))
    }

    /// `ListReviews`.
    pub async fn list(
        &self,
        caller: &Caller,
        method: &str,
        request: pb::ListReviewsRequest,
    ) -> Result<pb::ListReviewsResponse, ApiError> {
        let mut check = Check::new("");
        let jurisdiction = request
            .parent
            .strip_prefix("jurisdictions/")
            .filter(|j| !j.is_empty() && !j.contains('/'));
        if jurisdiction.is_none() {
            check.bad("parent", "must be jurisdictions/{jurisdiction}");
        }
        let stages = check.enum_list::<pb::Stage>("stages", &request.stages);
        check.text("team_member", &request.team_member, 128, false);
        if !(0..=3650).contains(&request.due_within_days) {
            check.bad("due_within_days", "must be between 0 and 3650");
        }
        let size = match pagination::page_size(request.page_size) {
            Ok(size) => size,
            Err(_) => {
                check.bad("page_size", "must be between 0 and 500");
                0
            }
        };
        check.finish()?;
        let jurisdiction = jurisdiction.unwrap_or_default().to_owned();
        if caller
            .authorize_jurisdiction(&self.directory, &jurisdiction)
            .is_err()
        {
            self.record(
                caller,
                method,
                &request.parent,
                &jurisdiction,
                "denied: jurisdiction",
            )
            .await?;
            return Err(ApiError::PermissionDenied(
                "the reviews belong to another jurisdiction".to_owned(),
            ));
        }
        let today = Self::today();
        let filter = ReviewFilter {
            jurisdiction: jurisdiction.clone(),
            stages: stages.iter().map(|s| *s as i32).collect(),
            due_by: (request.due_within_days > 0)
                .then(|| {
                    today
                        .checked_add_days(chrono::Days::new(request.due_within_days as u64))
                        .map(|d| d.to_string())
                })
                .flatten(),
            due_before: request.overdue_only.then(|| today.to_string()),
            incident: Some(request.incident.clone()).filter(|i| !i.is_empty()),
            member: Some(request.team_member.clone()).filter(|m| !m.is_empty()),
        };
        let stage_list = filter
            .stages
            .iter()
            .map(i32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let fingerprint = pagination::filter_fingerprint(&[
            &jurisdiction,
            &stage_list,
            &request.due_within_days.to_string(),
            &request.overdue_only.to_string(),
            &request.incident,
            &request.team_member,
        ]);
        let before = pagination::decode_token(&request.page_token, &fingerprint)?;
        let mut conn = self.db.pool().acquire().await.map_err(DbError::from)?;
        let mut rows = store::list_reviews(&mut conn, &filter, before, size + 1).await?;
        drop(conn);
        let next_page_token = pagination::next_page(&mut rows, size, |r| r.seq, &fingerprint);
        self.record(
            caller,
            method,
            &request.parent,
            &jurisdiction,
            &format!("ok: {} listed", rows.len()),
        )
        .await?;
        Ok(pb::ListReviewsResponse {
            reviews: rows.iter().map(|r| self.present_review(r)).collect(),
            next_page_token,
        })
    }

    /// `UpdateReview`: the period under review.
    pub async fn update(
        &self,
        caller: &Caller,
        method: &str,
        request: pb::UpdateReviewRequest,
    ) -> Result<pb::Review, ApiError> {
        let source = request
            .review
            .ok_or_else(|| ApiError::invalid("review", "is required"))?;
        let review = parse_review_name(&source.name, "review.name")?;
        let paths = update_mask(
            request.update_mask.as_ref(),
            &["period_start", "period_end"],
        )?;
        let loaded = self.load(caller, method, &review, Access::Lead).await?;
        let mut stored = loaded.review;
        check_etag(&request.etag, &etag(&stored.id, stored.version), false)?;
        let mut body = stored.body.0.clone();
        for path in &paths {
            match path.as_str() {
                "period_start" => body.period_start = source.period_start,
                _ => body.period_end = source.period_end,
            }
        }
        let mut check = Check::new("review.");
        let start = check.date("period_start", body.period_start.as_ref(), true);
        let end = check.date("period_end", body.period_end.as_ref(), true);
        if let (Some(s), Some(e)) = (start, end)
            && e < s
        {
            check.bad("period_end", "must not be before period_start");
        }
        check.finish()?;
        let action = format!(
            "period set to {} .. {}",
            start.unwrap_or_default(),
            end.unwrap_or_default()
        );
        self.save(caller, method, &mut stored, body, &action, "", None)
            .await?;
        Ok(self.present_review(&stored))
    }

    /// Writes a changed review body with its history, audit and event.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn save(
        &self,
        caller: &Caller,
        method: &str,
        stored: &mut StoredReview,
        body: pb::Review,
        action: &str,
        reason: &str,
        events: Option<Vec<prost_types::Any>>,
    ) -> Result<(), ApiError> {
        let now = now_micros();
        let due = next_due(&body).map(|d| d.to_string());
        let mut events = events.unwrap_or_default();
        if due_month(&body) != due_month(&stored.body) {
            events.push(scir_kit::events::payload(&deadlines_changed(&body)));
        }
        let mut tx = self.events.begin().await?;
        tx.write(store::update_review(
            &stored.id,
            stored.version,
            &body,
            due,
            now,
        ));
        let previous_stage = stored.body.stage;
        stored.body = Proto(body);
        let mut events = events.into_iter();
        let first = events.next();
        let mut history_view = stored.clone();
        history_view.body.stage = previous_stage;
        self.log_change(
            &mut tx,
            caller,
            method,
            &history_view,
            &stored.body.name.clone(),
            action,
            reason,
            first,
        )
        .await?;
        for payload in events {
            tx.publish(scir_kit::events::NewEvent::with_payload(
                stored.body.name.clone(),
                stored.jurisdiction.clone(),
                payload,
            ));
        }
        tx.commit_or(store::VERSION_MOVED, || {
            ApiError::Aborted("a concurrent change won; read the review again".to_owned())
        })
        .await?;
        stored.version += 1;
        stored.update_time = now;
        Ok(())
    }

    async fn parts(
        &self,
        bearer: &str,
        review: &StoredReview,
        with_scores: bool,
    ) -> Result<ReviewParts, ApiError> {
        let mut conn = self.db.pool().acquire().await.map_err(DbError::from)?;
        let name = &review.body.name;
        let mut parts = ReviewParts {
            team: super::team_of(&mut conn, &review.id)
                .await?
                .into_iter()
                .filter_map(|(_, m)| pb::TeamRole::try_from(m.role).ok())
                .collect(),
            ..Default::default()
        };
        parts.episodes = store::list_items(&mut conn, &review.id, "episodes", 0, 10_000)
            .await?
            .len();
        parts.debriefings = store::list_items(&mut conn, &review.id, "debriefings", 0, 10_000)
            .await?
            .len();
        parts.key_observations =
            store::list_items(&mut conn, &review.id, "keyObservations", 0, 10_000)
                .await?
                .into_iter()
                .map(|i| format!("{name}/keyObservations/{}", i.id))
                .collect();
        for item in store::list_items(&mut conn, &review.id, "systemsMaps", 0, 10_000).await? {
            let map = pb::SystemsMap::decode(item.body.as_slice()).map_err(ApiError::internal)?;
            parts
                .systems_maps
                .push((format!("{name}/systemsMaps/{}", item.id), map.nodes.len()));
        }
        for item in
            store::list_items(&mut conn, &review.id, "learningOpportunities", 0, 10_000).await?
        {
            let lo = pb::LearningOpportunity::decode(item.body.as_slice())
                .map_err(ApiError::internal)?;
            parts.learning_opportunities.push((
                format!("{name}/learningOpportunities/{}", item.id),
                learning_opportunity_gaps(&lo),
            ));
        }
        for item in store::list_items(&mut conn, &review.id, "recommendations", 0, 10_000).await? {
            let r = pb::Recommendation::decode(item.body.as_slice()).map_err(ApiError::internal)?;
            parts.recommendations.push((
                format!("{name}/recommendations/{}", item.id),
                recommendation_gaps(&r),
            ));
        }
        drop(conn);
        if with_scores && !parts.key_observations.is_empty() {
            parts.unscored = Some(
                self.scoring
                    .unscored(bearer, name, &parts.key_observations)
                    .await?,
            );
        } else if with_scores {
            parts.unscored = Some(Vec::new());
        }
        Ok(parts)
    }

    /// `AdvanceReview`.
    pub async fn advance(
        &self,
        caller: &Caller,
        method: &str,
        request: pb::AdvanceReviewRequest,
    ) -> Result<pb::Review, ApiError> {
        let review = parse_review_name(&request.name, "name")?;
        let mut check = Check::new("");
        check.text(
            "skip_systems_mapping_reason",
            &request.skip_systems_mapping_reason,
            MAX_REASON,
            false,
        );
        check.finish()?;
        let loaded = self.load(caller, method, &review, Access::Lead).await?;
        let mut stored = loaded.review;
        check_etag(
            &request.etag,
            &etag(&stored.id, stored.version),
            !request.validate_only,
        )?;
        let stage = pb::Stage::try_from(stored.body.stage).unwrap_or_default();
        let parts = self
            .parts(
                caller.bearer.expose_secret(),
                &stored,
                stages::needs_scores(stage),
            )
            .await?;
        let to = match stages::advance(
            &review.name,
            stage,
            &parts,
            &request.skip_systems_mapping_reason,
        ) {
            Ok(to) => to,
            Err(violations) => {
                let outcome = if request.validate_only {
                    "checked: guard refuses"
                } else {
                    "refused: guard"
                };
                self.record(caller, method, &review.name, &review.jurisdiction, outcome)
                    .await?;
                return Err(ApiError::FailedPrecondition(violations));
            }
        };
        if request.validate_only {
            self.record(
                caller,
                method,
                &review.name,
                &review.jurisdiction,
                "checked: guard passes",
            )
            .await?;
            return Ok(self.present_review(&stored));
        }
        let mut body = stored.body.0.clone();
        body.stage = to as i32;
        body.stage_enter_time = timestamp(now_micros());
        let skipped = to == pb::Stage::LearningOpportunities && stage == pb::Stage::SsitScoring;
        if skipped {
            body.mapping_skip_reason = request.skip_systems_mapping_reason.clone();
        }
        let mut list = to_domain(&body.deadlines);
        deadlines::mark_stages_left(&mut list, to);
        body.deadlines = to_proto(&list);
        let now = now_micros();
        let changed = pb::ReviewStageChanged {
            review: review.name.clone(),
            jurisdiction: review.jurisdiction.clone(),
            from: stage as i32,
            to: to as i32,
            change_time: timestamp(now),
            key_observations: parts.key_observations.clone(),
            mapping_skipped: skipped,
            days_in_stage: days_since(stored.body.stage_enter_time.as_ref(), now),
        };
        let mut events = vec![scir_kit::events::payload(&changed)];
        if to == pb::Stage::Finalised {
            let finalised = pb::ReviewFinalised {
                review: review.name.clone(),
                jurisdiction: review.jurisdiction.clone(),
                finalise_time: timestamp(now),
            };
            events.push(scir_kit::events::payload(&finalised));
        }
        let action = format!("stage {} -> {}", stage.label(), to.label());
        self.save(
            caller,
            method,
            &mut stored,
            body,
            &action,
            &request.skip_systems_mapping_reason,
            Some(events),
        )
        .await?;
        Ok(self.present_review(&stored))
    }

    /// `WithdrawReview`.
    pub async fn withdraw(
        &self,
        caller: &Caller,
        method: &str,
        request: pb::WithdrawReviewRequest,
    ) -> Result<pb::Review, ApiError> {
        let review = parse_review_name(&request.name, "name")?;
        let mut check = Check::new("");
        check.text("reason", &request.reason, MAX_REASON, true);
        check.finish()?;
        let loaded = self.load(caller, method, &review, Access::Lead).await?;
        let mut stored = loaded.review;
        check_etag(&request.etag, &etag(&stored.id, stored.version), true)?;
        let stage = pb::Stage::try_from(stored.body.stage).unwrap_or_default();
        if stages::is_terminal(stage) {
            return Err(ApiError::FailedPrecondition(vec![
                scir_kit::error::PreconditionViolation {
                    kind: "STAGE".to_owned(),
                    subject: review.name.clone(),
                    description: format!("a review in {} cannot be withdrawn", stage.label()),
                },
            ]));
        }
        let mut body = stored.body.0.clone();
        body.stage = pb::Stage::Withdrawn as i32;
        body.stage_enter_time = timestamp(now_micros());
        body.withdraw_reason = request.reason.clone();
        let changed = pb::ReviewStageChanged {
            review: review.name.clone(),
            jurisdiction: review.jurisdiction.clone(),
            from: stage as i32,
            to: pb::Stage::Withdrawn as i32,
            change_time: timestamp(now_micros()),
            key_observations: Vec::new(),
            mapping_skipped: false,
            days_in_stage: days_since(stored.body.stage_enter_time.as_ref(), now_micros()),
        };
        let action = format!("stage {} -> WITHDRAWN", stage.label());
        self.save(
            caller,
            method,
            &mut stored,
            body,
            &action,
            &request.reason,
            Some(vec![scir_kit::events::payload(&changed)]),
        )
        .await?;
        Ok(self.present_review(&stored))
    }

    /// `ListReviewHistory`.
    pub async fn history(
        &self,
        caller: &Caller,
        method: &str,
        request: pb::ListReviewHistoryRequest,
    ) -> Result<pb::ListReviewHistoryResponse, ApiError> {
        let review: ReviewRef = parse_review_name(&request.name, "name")?;
        let size = pagination::page_size(request.page_size)?;
        let fingerprint = pagination::filter_fingerprint(&[&request.name, "history"]);
        let after = pagination::decode_token(&request.page_token, &fingerprint)?.unwrap_or(0);
        let loaded = self.load(caller, method, &review, Access::Read).await?;
        let mut conn = self.db.pool().acquire().await.map_err(DbError::from)?;
        let mut rows = store::list_history(&mut conn, &loaded.review.id, after, size + 1).await?;
        drop(conn);
        let next_page_token = pagination::next_page(&mut rows, size, |r| r.seq, &fingerprint);
        self.record(caller, method, &request.name, &review.jurisdiction, "ok")
            .await?;
        let entries = rows
            .into_iter()
            .map(|h| pb::HistoryEntry {
                sequence: h.seq,
                time: timestamp(h.time),
                actor: h.actor,
                action: h.action,
                stage: h.stage,
                reason: h.reason,
            })
            .collect();
        Ok(pb::ListReviewHistoryResponse {
            entries,
            next_page_token,
        })
    }

    /// `CheckLanguage`.
    pub fn check_language(
        &self,
        request: &pb::CheckLanguageRequest,
    ) -> Result<pb::CheckLanguageResponse, ApiError> {
        let mut check = Check::new("");
        if request.text.chars().count() > 20_000 {
            check.bad("text", "must be at most 20000 characters");
        }
        check.finish()?;
        Ok(pb::CheckLanguageResponse {
            findings: findings(&self.language, &[("text", request.text.clone())]),
        })
    }
}
