//! Scoring's use cases: submitting ratings, blinding, status, agreement and
//! consensus, each audited; and the handler of review's events.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use prost::Message;
use scir_kit::ApiError;
use scir_kit::audit::{AuditLog, AuditRecord};
use scir_kit::auth::ExposeSecret as _;
use scir_kit::auth::{Caller, Role};
use scir_kit::consumer::EventHandler;
use scir_kit::db::{Database, now_micros, timestamp_from_micros};
use scir_kit::directory::Directory;
use scir_kit::error::PreconditionViolation;
use scir_kit::events::EventStream;
use scir_kit::events::{self, EventLog, NewEvent};
use scir_kit::names::{self, PartName, ReviewName};
use scir_kit::validate::Check;
use scir_proto::common::v1::Event;
use scir_proto::review::v1 as review_pb;
use scir_proto::scoring::v1 as pb;
use sqlx::AnyConnection;

use crate::domain::agreement::{self, Figure};
use crate::domain::instruments::{Catalogue, Instrument, ItemLevel};
use crate::review_link::{ReviewLink, Team};
use crate::store::{self, StoredConsensus, StoredSet};

/// The instrument version and, per item, every rater's level.
type RatedUnits = (String, Vec<(String, Vec<i32>)>);

/// A review and, optionally, the one key observation to measure in it.
type ReviewScope = (String, Option<String>);

/// Longest rationale.
/// Most evidence references per item.
const MAX_EVIDENCE: usize = 20;

/// Scoring's logic.
#[derive(Debug, Clone)]
pub struct Scoring {
    db: Database,
    audit: AuditLog,
    events: EventLog,
    instruments: Arc<Catalogue>,
    review: ReviewLink,
    directory: Arc<Directory>,
}

fn review_of_ko(key_observation: &str) -> Result<String, ApiError> {
    let part = PartName::parse(key_observation, "keyObservations", "key_observation")?;
    Ok(part.review.to_string())
}

/// The jurisdiction of a resource name that was parsed on the way in.
fn jurisdiction_of(name: &str) -> &str {
    names::jurisdiction_of(name).unwrap_or_default()
}

fn figure(f: &Figure) -> Option<pb::Statistic> {
    Some(match f {
        Figure::Value(v) => pb::Statistic {
            value: Some(*v),
            undefined_reason: String::new(),
        },
        Figure::Undefined(why) => pb::Statistic {
            value: None,
            undefined_reason: (*why).to_owned(),
        },
    })
}

impl Scoring {
    /// Scoring over its database, event log, instruments and review.
    pub fn new(
        db: Database,
        events: EventLog,
        instruments: Arc<Catalogue>,
        review: ReviewLink,
        directory: Arc<Directory>,
    ) -> Self {
        Self {
            directory,
            audit: AuditLog::new(db.clone()),
            db,
            events,
            instruments,
            review,
        }
    }

    /// Whether the caller acts in `jurisdiction`: its own or one of its counties.
    fn acts_in(&self, caller: &Caller, jurisdiction: &str) -> bool {
        caller
            .authorize_jurisdiction(&self.directory, jurisdiction)
            .is_ok()
    }

    async fn record(
        &self,
        caller: &Caller,
        method: &str,
        resource: &str,
        outcome: &str,
    ) -> Result<(), ApiError> {
        self.audit
            .record(AuditRecord::of_resource(caller, method, resource, outcome))
            .await?;
        Ok(())
    }

    /// Checks the caller's jurisdiction and reads the team on their behalf.
    async fn team(&self, caller: &Caller, method: &str, review: &str) -> Result<Team, ApiError> {
        if !self.acts_in(caller, jurisdiction_of(review)) {
            self.record(caller, method, review, "denied: jurisdiction")
                .await?;
            return Err(ApiError::PermissionDenied(
                "the review belongs to another jurisdiction".to_owned(),
            ));
        }
        self.review
            .team(caller.bearer.expose_secret(), review)
            .await
    }

    fn is_lead(caller: &Caller, team: &Team) -> bool {
        caller.granted.contains(&Role::Admin)
            || team.leads.contains(&caller.subject)
            || (team.leads.is_empty() && caller.granted.contains(&Role::ScrLead))
    }

    /// `ListInstruments`.
    pub fn list_instruments(&self) -> pb::ListInstrumentsResponse {
        pb::ListInstrumentsResponse {
            instruments: self.instruments.list(),
        }
    }

    /// `GetInstrument`.
    pub fn get_instrument(&self, name: &str) -> Result<pb::Instrument, ApiError> {
        if !name.starts_with("instruments/") || !name.contains("/versions/") {
            return Err(ApiError::invalid(
                "name",
                "must be instruments/{instrument}/versions/{version}",
            ));
        }
        self.instruments
            .list()
            .into_iter()
            .find(|i| i.name == name)
            .ok_or_else(|| ApiError::NotFound {
                resource: name.to_owned(),
            })
    }

    /// The instrument a key observation is rated with: the version of its first
    /// rating set, or the active one.
    fn instrument_for(&self, sets: &[StoredSet]) -> Result<&Instrument, ApiError> {
        match sets.first() {
            Some(set) => self.instruments.get(&set.instrument).ok_or_else(|| {
                ApiError::internal(anyhow::anyhow!(
                    "ratings use an instrument version that is not loaded"
                ))
            }),
            None => Ok(self.instruments.active()),
        }
    }

    fn check_ratings(
        instrument: &Instrument,
        review: &str,
        ratings: &[pb::ItemRating],
    ) -> Result<(), ApiError> {
        let mut check = Check::new("rating_set.");
        instrument.check_levels(
            "ratings",
            ratings.iter().map(|r| ItemLevel {
                item_code: &r.item_code,
                level: r.level,
                rationale: &r.rationale,
            }),
            &mut check,
            |i, check| {
                let r = &ratings[i];
                let path = format!("ratings[{i}]");
                if r.evidence.len() > MAX_EVIDENCE {
                    check.bad(
                        &format!("{path}.evidence"),
                        format!("must have at most {MAX_EVIDENCE} entries"),
                    );
                }
                for (j, e) in r.evidence.iter().enumerate() {
                    let own = e
                        .strip_prefix(review)
                        .and_then(|rest| rest.strip_prefix('/'));
                    let valid = own.is_some_and(|rest| {
                        rest.starts_with("episodes/") || rest.starts_with("debriefings/")
                    });
                    if !valid {
                        check.bad(
                            &format!("{path}.evidence[{j}]"),
                            "must be an episode or debriefing of the same review",
                        );
                    }
                }
            },
        );
        check.finish()
    }

    /// `SubmitRatings`.
    pub async fn submit(
        &self,
        caller: &Caller,
        method: &str,
        request: pb::SubmitRatingsRequest,
    ) -> Result<pb::RatingSet, ApiError> {
        let set = request
            .rating_set
            .ok_or_else(|| ApiError::invalid("rating_set", "is required"))?;
        let review = review_of_ko(&set.key_observation).map_err(|_| {
            ApiError::invalid(
                "rating_set.key_observation",
                "must be a key observation's resource name",
            )
        })?;
        let team = self.team(caller, method, &review).await?;
        if !team.raters.contains(&caller.subject) {
            self.record(caller, method, &set.key_observation, "denied: not a rater")
                .await?;
            return Err(ApiError::PermissionDenied(
                "only the review's raters (REVIEWER members of its team) submit ratings".to_owned(),
            ));
        }
        let mut conn = self.db.acquire().await?;
        let known = store::review(&mut conn, &review).await?;
        let ko_known = store::key_observation(&mut conn, &set.key_observation)
            .await?
            .is_some();
        let sets = store::sets_of(&mut conn, &set.key_observation).await?;
        drop(conn);
        if !ko_known {
            return Err(ApiError::NotFound {
                resource: set.key_observation,
            });
        }
        let stage = known.map(|r| r.stage).unwrap_or_default();
        let scoring_open = stage >= review_pb::Stage::SsitScoring as i32
            && stage < review_pb::Stage::Finalised as i32;
        if !scoring_open {
            return Err(ApiError::FailedPrecondition(vec![PreconditionViolation {
                kind: "STAGE".to_owned(),
                subject: review.clone(),
                description:
                    "ratings open when the review reaches SSIT_SCORING and close when it is final"
                        .to_owned(),
            }]));
        }
        let instrument = self.instrument_for(&sets)?;
        Self::check_ratings(instrument, &review, &set.ratings)?;
        if sets.iter().any(|s| s.rater == caller.subject) {
            return Err(ApiError::AlreadyExists {
                reason: "RATINGS_SUBMITTED",
                message: "this rater has already submitted ratings for the key observation"
                    .to_owned(),
            });
        }

        let now = now_micros();
        let id = uuid::Uuid::now_v7().to_string();
        let body = pb::RatingSet {
            ratings: set.ratings.clone(),
            ..Default::default()
        };
        let stored = StoredSet {
            id: id.clone(),
            key_observation: set.key_observation.clone(),
            rater: caller.subject.clone(),
            instrument: instrument.name().to_owned(),
            submit_time: now,
            body: body.encode_to_vec(),
        };
        let submitted: HashSet<_> = sets
            .iter()
            .map(|s| s.rater.as_str())
            .chain([caller.subject.as_str()])
            .collect();
        let complete = team.raters.iter().all(|r| submitted.contains(r.as_str()));
        let mut tx = self.events.begin().await?;
        tx.write(store::insert_set(&review, &stored));
        tx.audit(AuditRecord::by(
            caller,
            method,
            &set.key_observation,
            jurisdiction_of(&review),
            "ok",
        ));
        if complete {
            let event = pb::RatingsComplete {
                review: review.clone(),
                key_observation: set.key_observation.clone(),
                instrument: instrument.name().to_owned(),
                raters: team.raters.len() as i32,
            };
            tx.publish(NewEvent::of(
                set.key_observation.clone(),
                jurisdiction_of(&review).to_owned(),
                &event,
            ));
        }
        tx.commit_or(store::SET_EXISTS, || ApiError::AlreadyExists {
            reason: "RATINGS_SUBMITTED",
            message: "this rater has already submitted ratings for the key observation".to_owned(),
        })
        .await?;
        Ok(present(&stored))
    }

    /// `ListRatings`, with blinding: until every rater has submitted, a rater sees
    /// only their own set and the SCR lead sees none.
    pub async fn list_ratings(
        &self,
        caller: &Caller,
        method: &str,
        request: pb::ListRatingsRequest,
    ) -> Result<pb::ListRatingsResponse, ApiError> {
        let review = review_of_ko(&request.key_observation)?;
        let team = self.team(caller, method, &review).await?;
        let mut conn = self.db.acquire().await?;
        let sets = store::sets_of(&mut conn, &request.key_observation).await?;
        drop(conn);
        let submitted: HashSet<_> = sets.iter().map(|s| s.rater.as_str()).collect();
        let complete =
            !team.raters.is_empty() && team.raters.iter().all(|r| submitted.contains(r.as_str()));
        let may_see_all = complete
            && (team.members.contains(&caller.subject) || caller.granted.contains(&Role::Admin));
        let visible = sets
            .iter()
            .filter(|s| may_see_all || s.rater == caller.subject)
            .map(present)
            .collect();
        self.record(
            caller,
            method,
            &request.key_observation,
            if may_see_all { "ok" } else { "ok: blinded" },
        )
        .await?;
        Ok(pb::ListRatingsResponse {
            rating_sets: visible,
            complete,
        })
    }

    async fn status_of(&self, review: &str, team: &Team) -> Result<pb::ScoringStatus, ApiError> {
        let mut conn = self.db.acquire().await?;
        let mut out = pb::ScoringStatus {
            review: review.to_owned(),
            key_observations: Vec::new(),
        };
        for ko in store::key_observations(&mut conn, review).await? {
            let sets = store::sets_of(&mut conn, &ko).await?;
            let submitted: Vec<String> = sets.iter().map(|s| s.rater.clone()).collect();
            let ratings_complete =
                !team.raters.is_empty() && team.raters.iter().all(|r| submitted.contains(r));
            let consensus_recorded = store::consensus_of(&mut conn, &ko).await?.is_some();
            out.key_observations.push(pb::KeyObservationStatus {
                key_observation: ko,
                raters: team.raters.clone(),
                submitted,
                ratings_complete,
                consensus_recorded,
                scored: ratings_complete && consensus_recorded,
            });
        }
        Ok(out)
    }

    /// `GetScoringStatus`: who has submitted, never what.
    pub async fn status(
        &self,
        caller: &Caller,
        method: &str,
        request: pb::GetScoringStatusRequest,
    ) -> Result<pb::ScoringStatus, ApiError> {
        let team = self.team(caller, method, &request.review).await?;
        let status = self.status_of(&request.review, &team).await?;
        self.record(caller, method, &request.review, "ok").await?;
        Ok(status)
    }

    /// Complete rating sets of a key observation as units x raters, with the
    /// instrument they used; `None` while raters are missing.
    fn units(&self, sets: &[StoredSet], raters: &[String]) -> Result<Option<RatedUnits>, ApiError> {
        let by_rater: BTreeMap<&str, &StoredSet> =
            sets.iter().map(|s| (s.rater.as_str(), s)).collect();
        if raters.is_empty() || raters.iter().any(|r| !by_rater.contains_key(r.as_str())) {
            return Ok(None);
        }
        let instrument = self.instrument_for(sets)?;
        let decoded: Vec<pb::RatingSet> = raters
            .iter()
            .map(|r| {
                pb::RatingSet::decode(by_rater[r.as_str()].body.as_slice())
                    .map_err(ApiError::internal)
            })
            .collect::<Result<_, _>>()?;
        let units = instrument
            .items
            .iter()
            .map(|code| {
                let levels = decoded
                    .iter()
                    .map(|set| {
                        set.ratings
                            .iter()
                            .find(|r| &r.item_code == code)
                            .map_or(0, |r| r.level)
                    })
                    .collect();
                (code.clone(), levels)
            })
            .collect();
        Ok(Some((instrument.name().to_owned(), units)))
    }

    /// `GetAgreement`.
    pub async fn agreement(
        &self,
        caller: &Caller,
        method: &str,
        request: pb::GetAgreementRequest,
    ) -> Result<pb::Agreement, ApiError> {
        use pb::get_agreement_request::Scope;
        let scope = request.scope.ok_or_else(|| {
            ApiError::invalid("scope", "name a key_observation, a review or an item_code")
        })?;
        let (resource, reviews, item): (String, Vec<ReviewScope>, Option<String>) = match scope {
            Scope::KeyObservation(ko) => {
                let review = review_of_ko(&ko)?;
                (ko.clone(), vec![(review, Some(ko))], None)
            }
            Scope::Review(review) => {
                crate::service::check_review_name(&review)?;
                (review.clone(), vec![(review, None)], None)
            }
            Scope::ItemCode(code) => {
                let jurisdiction = request
                    .jurisdiction
                    .strip_prefix("jurisdictions/")
                    .filter(|j| !j.is_empty() && !j.contains('/'))
                    .ok_or_else(|| {
                        ApiError::invalid("jurisdiction", "must be jurisdictions/{jurisdiction}")
                    })?;
                if !self.instruments.active().items.contains(&code) {
                    return Err(ApiError::invalid(
                        "item_code",
                        "is not an item of the active instrument",
                    ));
                }
                if !self.acts_in(caller, jurisdiction) {
                    return Err(ApiError::PermissionDenied(
                        "the reviews belong to another jurisdiction".to_owned(),
                    ));
                }
                let mut conn = self.db.acquire().await?;
                let reviews = store::reviews_of(&mut conn, jurisdiction).await?;
                (
                    request.jurisdiction.clone(),
                    reviews.into_iter().map(|r| (r, None)).collect(),
                    Some(code),
                )
            }
        };
        let mut matrix: Vec<Vec<i32>> = Vec::new();
        let mut instrument_used = String::new();
        for (review, only) in &reviews {
            let team = self.team(caller, method, review).await?;
            let mut conn = self.db.acquire().await?;
            let kos = match only {
                Some(ko) => vec![ko.clone()],
                None => store::key_observations(&mut conn, review).await?,
            };
            for ko in kos {
                let sets = store::sets_of(&mut conn, &ko).await?;
                let Some((instrument, units)) = self.units(&sets, &team.raters)? else {
                    continue;
                };
                if item.is_some() && instrument != self.instruments.active().name() {
                    continue;
                }
                instrument_used = instrument;
                for (code, levels) in units {
                    if item.as_ref().is_none_or(|i| *i == code) {
                        matrix.push(levels);
                    }
                }
            }
        }
        // Every complete unit counts, whatever its number of raters (see
        // domain::agreement for how teams of two and of three combine); a
        // single rater's units compare nothing, unless there is nothing else.
        if matrix.iter().any(|u| u.len() >= 2) {
            matrix.retain(|u| u.len() >= 2);
        }
        let levels = self
            .instruments
            .get(&instrument_used)
            .map_or(self.instruments.active().levels, |i| i.levels);
        let a = agreement::agreement(&matrix, levels);
        self.record(caller, method, &resource, "ok").await?;
        Ok(pb::Agreement {
            raters: a.raters as i32,
            units: a.units as i32,
            ratings: a.ratings as i32,
            percent_agreement: figure(&a.percent_agreement),
            cohen_kappa: figure(&a.cohen_kappa),
            fleiss_kappa: figure(&a.fleiss_kappa),
            quadratic_weighted_kappa: figure(&a.quadratic_weighted_kappa),
            instrument: instrument_used,
        })
    }

    /// `RecordConsensus`.
    pub async fn consensus(
        &self,
        caller: &Caller,
        method: &str,
        request: pb::RecordConsensusRequest,
    ) -> Result<pb::Consensus, ApiError> {
        let consensus = request
            .consensus
            .ok_or_else(|| ApiError::invalid("consensus", "is required"))?;
        let review = review_of_ko(&consensus.key_observation).map_err(|_| {
            ApiError::invalid(
                "consensus.key_observation",
                "must be a key observation's resource name",
            )
        })?;
        let team = self.team(caller, method, &review).await?;
        if !Self::is_lead(caller, &team) {
            self.record(
                caller,
                method,
                &consensus.key_observation,
                "denied: not the lead",
            )
            .await?;
            return Err(ApiError::PermissionDenied(
                "only the review's SCR lead or an admin records the consensus".to_owned(),
            ));
        }
        let mut conn = self.db.acquire().await?;
        let sets = store::sets_of(&mut conn, &consensus.key_observation).await?;
        drop(conn);
        let Some((instrument_name, _)) = self.units(&sets, &team.raters)? else {
            let submitted: HashSet<_> = sets.iter().map(|s| s.rater.clone()).collect();
            let missing = team
                .raters
                .iter()
                .filter(|r| !submitted.contains(*r))
                .count();
            return Err(ApiError::FailedPrecondition(vec![PreconditionViolation {
                kind: "RATINGS".to_owned(),
                subject: consensus.key_observation.clone(),
                description: format!(
                    "{missing} rater(s) have not submitted; the consensus follows every rater's ratings"
                ),
            }]));
        };
        let instrument = self
            .instruments
            .get(&instrument_name)
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("instrument vanished")))?;
        let mut check = Check::new("consensus.");
        instrument.check_levels(
            "items",
            consensus.items.iter().map(|i| ItemLevel {
                item_code: &i.item_code,
                level: i.level,
                rationale: &i.rationale,
            }),
            &mut check,
            |_, _| {},
        );
        check.finish()?;

        let now = now_micros();
        let stored_body = pb::Consensus {
            key_observation: consensus.key_observation.clone(),
            instrument: instrument_name.clone(),
            items: consensus.items.clone(),
            ..Default::default()
        };
        let stored = StoredConsensus {
            key_observation: consensus.key_observation.clone(),
            instrument: instrument_name.clone(),
            recorded_by: caller.subject.clone(),
            record_time: now,
            body: stored_body.encode_to_vec(),
        };
        let mut tx = self.events.begin().await?;
        tx.write(store::put_consensus(&review, &stored));
        tx.audit(AuditRecord::by(
            caller,
            method,
            &consensus.key_observation,
            jurisdiction_of(&review),
            "ok",
        ));
        let event = pb::ConsensusRecorded {
            review: review.clone(),
            key_observation: consensus.key_observation.clone(),
            jurisdiction: jurisdiction_of(&review).to_owned(),
            instrument: instrument_name,
            levels: consensus
                .items
                .iter()
                .map(|i| pb::ItemLevel {
                    item_code: i.item_code.clone(),
                    level: i.level,
                    domain_code: instrument
                        .domain_of(&i.item_code)
                        .unwrap_or_default()
                        .to_owned(),
                })
                .collect(),
        };
        tx.publish(NewEvent::of(
            consensus.key_observation.clone(),
            jurisdiction_of(&review).to_owned(),
            &event,
        ));
        tx.commit().await?;
        present_consensus(&stored)
    }

    /// `GetConsensusProfile`.
    pub async fn profile(
        &self,
        caller: &Caller,
        method: &str,
        request: pb::GetConsensusProfileRequest,
    ) -> Result<pb::ConsensusProfile, ApiError> {
        check_review_name(&request.review)?;
        if !self.acts_in(caller, jurisdiction_of(&request.review)) {
            self.record(caller, method, &request.review, "denied: jurisdiction")
                .await?;
            return Err(ApiError::PermissionDenied(
                "the review belongs to another jurisdiction".to_owned(),
            ));
        }
        let mut conn = self.db.acquire().await?;
        let mut consensus = Vec::new();
        for ko in store::key_observations(&mut conn, &request.review).await? {
            if let Some(c) = store::consensus_of(&mut conn, &ko).await? {
                consensus.push(present_consensus(&c)?);
            }
        }
        drop(conn);
        self.record(caller, method, &request.review, "ok").await?;
        Ok(pb::ConsensusProfile {
            review: request.review,
            consensus,
        })
    }

    /// `WatchEvents`.
    pub async fn watch(
        &self,
        caller: &Caller,
        method: &str,
        request: scir_proto::common::v1::WatchEventsRequest,
    ) -> Result<EventStream, ApiError> {
        self.events
            .watch_for(&self.audit, caller, method, request)
            .await
    }
}

/// Checks `jurisdictions/{j}/reviews/{r}`.
pub fn check_review_name(review: &str) -> Result<(), ApiError> {
    ReviewName::parse(review, "review").map(|_| ())
}

fn present(set: &StoredSet) -> pb::RatingSet {
    let body = pb::RatingSet::decode(set.body.as_slice()).unwrap_or_default();
    pb::RatingSet {
        name: format!("{}/ratingSets/{}", set.key_observation, set.id),
        key_observation: set.key_observation.clone(),
        rater: set.rater.clone(),
        instrument: set.instrument.clone(),
        ratings: body.ratings,
        submit_time: Some(timestamp_from_micros(set.submit_time)),
    }
}

fn present_consensus(c: &StoredConsensus) -> Result<pb::Consensus, ApiError> {
    let body = pb::Consensus::decode(c.body.as_slice()).map_err(ApiError::internal)?;
    Ok(pb::Consensus {
        recorded_by: c.recorded_by.clone(),
        record_time: Some(timestamp_from_micros(c.record_time)),
        ..body
    })
}

/// The handler of review's event stream: which reviews and key observations
/// exist, and each review's stage.
#[derive(Debug, Clone)]
pub struct ReviewEvents;

impl ReviewEvents {
    /// The event types [`ReviewEvents`] handles: its subscription.
    pub fn types() -> Vec<String> {
        vec![
            events::type_of::<review_pb::ReviewOpened>(),
            events::type_of::<review_pb::ReviewStageChanged>(),
            events::type_of::<review_pb::KeyObservationChanged>(),
        ]
    }
}

#[tonic::async_trait]
impl EventHandler for ReviewEvents {
    async fn apply(&self, conn: &mut AnyConnection, event: &Event) -> Result<(), ApiError> {
        if let Some(e) = events::decode::<review_pb::ReviewOpened>(event) {
            let e = e?;
            let opened = review_pb::Stage::Opened as i32;
            store::upsert_review(conn, &e.review, &e.jurisdiction, opened).await?;
        } else if let Some(e) = events::decode::<review_pb::ReviewStageChanged>(event) {
            let e = e?;
            store::upsert_review(conn, &e.review, &e.jurisdiction, e.to).await?;
            for ko in &e.key_observations {
                store::upsert_key_observation(conn, ko, &e.review, false).await?;
            }
        } else if let Some(e) = events::decode::<review_pb::KeyObservationChanged>(event) {
            let e = e?;
            store::upsert_key_observation(conn, &e.key_observation, &e.review, e.deleted).await?;
        } else {
            return Err(events::unhandled(event));
        }
        Ok(())
    }
}
