//! The projection: review's, scoring's, learning's and culture's events become
//! de-identified facts.
//!
//! Resource names are replaced by salted hashes, dates by quarters and months,
//! ages by bands; narrative, notes and identities are never read from the
//! events (the events carry none), and nothing else is kept.

use scir_kit::ApiError;
use scir_kit::consumer::EventHandler;
use scir_kit::events;
use scir_kit::names::{MappingPartName, SafetyNoticeName, SurveyWaveName};
use scir_proto::common::v1::Event;
use scir_proto::culture::v1 as culture;
use scir_proto::learning::v1 as learning;
use scir_proto::review::v1 as review;
use scir_proto::scoring::v1 as scoring;
use sha2::{Digest, Sha256};
use sqlx::AnyConnection;
use tokio::sync::Notify;

use crate::domain::facts::{
    Action, ConsiderationFact, CultureWaveFact, NoticeRecipientFact, age_band, quarter,
};
use crate::store::{self, ReviewRow};

/// Turns resource names into stable pseudonymous keys.
#[derive(Debug, Clone)]
pub struct Keys {
    salt: String,
}

impl Keys {
    /// Keys salted with `salt` (a secret of the deployment).
    pub fn new(salt: &str) -> Self {
        Self {
            salt: salt.to_owned(),
        }
    }

    /// The key of a resource name.
    pub fn of(&self, name: &str) -> String {
        let mut h = Sha256::new();
        h.update(self.salt.as_bytes());
        h.update([0]);
        h.update(name.as_bytes());
        hex::encode(&h.finalize()[..12])
    }
}

fn month_of(event: &Event) -> String {
    event
        .create_time
        .as_ref()
        .and_then(|t| chrono::DateTime::from_timestamp(t.seconds, 0))
        .map(|t| t.format("%Y-%m").to_string())
        .unwrap_or_default()
}

/// The quarter, `YYYY-Qn`, an event was published in.
fn quarter_of(event: &Event) -> String {
    let month = month_of(event);
    let (year, m) = month.split_once('-').unwrap_or_default();
    quarter(year.parse().unwrap_or(0), m.parse().unwrap_or(1))
}

fn month_of_date(d: Option<&scir_proto::common::v1::Date>) -> String {
    d.map(|d| format!("{:04}-{:02}", d.year, d.month))
        .unwrap_or_default()
}

/// The handler of review's, scoring's and learning's event streams.
#[derive(Debug)]
pub struct Projection {
    keys: Keys,
    backend: scir_kit::db::Backend,
    changed: std::sync::Arc<Notify>,
}

impl Projection {
    /// A projection keyed by `keys`, writing through `backend`; `changed` wakes
    /// the index after each commit.
    pub fn new(
        keys: Keys,
        backend: scir_kit::db::Backend,
        changed: std::sync::Arc<Notify>,
    ) -> Self {
        Self {
            keys,
            backend,
            changed,
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn put_facts(
        &self,
        conn: &mut AnyConnection,
        review: &str,
        jurisdiction: Option<&str>,
        facts: &review::ReviewFacts,
        stage: Option<i32>,
        opened_month: Option<String>,
        next_due: Option<&str>,
    ) -> Result<String, ApiError> {
        let key = self.keys.of(review);
        let existing = store::get_review(conn, &key).await?;
        let date = facts.incident_date.unwrap_or_default();
        let mut races = facts.race_ethnicity.clone();
        races.sort_unstable();
        races.dedup();
        let row = ReviewRow {
            review_key: key.clone(),
            jurisdiction: jurisdiction
                .map(str::to_owned)
                .or_else(|| existing.as_ref().map(|e| e.jurisdiction.clone()))
                .unwrap_or_default(),
            incident_type: facts.incident_type,
            cause: facts.cause_category,
            quarter: quarter(date.year, date.month),
            age_band: age_band(facts.child_age_months).to_owned(),
            sex: facts.sex,
            races: races
                .iter()
                .map(i32::to_string)
                .collect::<Vec<_>>()
                .join(","),
            tribal: facts.tribal_status,
            placement: facts.placement_setting,
            stage: stage
                .or(existing.as_ref().map(|e| e.stage))
                .unwrap_or(review::Stage::Opened as i32),
            opened_month: opened_month
                .or_else(|| existing.as_ref().map(|e| e.opened_month.clone()))
                .unwrap_or_default(),
            next_due_month: next_due
                .map(str::to_owned)
                .or_else(|| existing.as_ref().map(|e| e.next_due_month.clone()))
                .unwrap_or_default(),
        };
        store::put_review(conn, &row).await?;
        Ok(key)
    }

    async fn apply_review(
        &self,
        conn: &mut AnyConnection,
        event: &Event,
    ) -> Result<Option<String>, ApiError> {
        let key = if let Some(e) = events::decode::<review::ReviewOpened>(event) {
            let e = e?;
            let facts = e.facts.unwrap_or_default();
            self.put_facts(
                conn,
                &e.review,
                Some(&e.jurisdiction),
                &facts,
                None,
                Some(month_of(event)),
                Some(&e.next_due_month),
            )
            .await?
        } else if let Some(e) = events::decode::<review::ReviewFactsChanged>(event) {
            let e = e?;
            self.put_facts(
                conn,
                &e.review,
                None,
                &e.facts.unwrap_or_default(),
                None,
                None,
                None,
            )
            .await?
        } else if let Some(e) = events::decode::<review::ReviewStageChanged>(event) {
            let e = e?;
            let key = self.keys.of(&e.review);
            store::set_stage(conn, &key, e.to).await?;
            store::put_stage_days(conn, &key, e.from, e.days_in_stage).await?;
            key
        } else if let Some(e) = events::decode::<review::ReviewDeadlinesChanged>(event) {
            let e = e?;
            let key = self.keys.of(&e.review);
            store::set_next_due(conn, &key, &e.next_due_month).await?;
            key
        } else if let Some(e) = events::decode::<review::KeyObservationChanged>(event) {
            let e = e?;
            let key = self.keys.of(&e.review);
            let source = self.keys.of(&e.key_observation);
            if e.deleted {
                store::drop_source(conn, &key, &source).await?;
            } else {
                store::put_themes(conn, &key, &source, &e.themes).await?;
            }
            key
        } else if let Some(e) = events::decode::<review::LearningOpportunityRecorded>(event) {
            let e = e?;
            let key = self.keys.of(&e.review);
            let source = self.keys.of(&e.learning_opportunity);
            if e.deleted {
                store::drop_source(conn, &key, &source).await?;
                store::put_learning(conn, &source, &key, None).await?;
            } else {
                store::put_themes(conn, &key, &source, &e.themes).await?;
                store::put_learning(conn, &source, &key, Some((e.status, e.practice_function)))
                    .await?;
            }
            key
        } else if let Some(e) = events::decode::<review::RecommendationChanged>(event) {
            let e = e?;
            let key = self.keys.of(&e.review);
            let rec_key = self.keys.of(&e.recommendation);
            let fact = Action {
                category: e.category,
                strength: e.strength,
                status: e.status,
                due_month: month_of_date(e.due_date.as_ref()),
                effectiveness: e.effectiveness,
                // The store keeps the key it gave the recommendation first.
                cell_key: 0,
            };
            let done = month_of_date(e.done_date.as_ref());
            store::put_recommendation(
                conn,
                &rec_key,
                &key,
                (!e.deleted).then_some((&fact, done.as_str())),
            )
            .await?;
            key
        } else {
            return Err(events::unhandled(event));
        };
        Ok(Some(key))
    }

    async fn apply_scoring(
        &self,
        conn: &mut AnyConnection,
        event: &Event,
    ) -> Result<Option<String>, ApiError> {
        let Some(e) = events::decode::<scoring::ConsensusRecorded>(event) else {
            return Err(events::unhandled(event));
        };
        let e = e?;
        let key = self.keys.of(&e.review);
        let ko = self.keys.of(&e.key_observation);
        let levels: Vec<(String, String, i32)> = e
            .levels
            .into_iter()
            .map(|l| (l.item_code, l.domain_code, l.level))
            .collect();
        store::put_levels(conn, &key, &ko, &e.instrument, &levels).await?;
        Ok(Some(key))
    }
}

impl Projection {
    /// Applies a learning event. Its units are logged as one change,
    /// [`store::LEARNING_CHANGE`].
    async fn apply_learning(
        &self,
        conn: &mut AnyConnection,
        event: &Event,
    ) -> Result<Option<String>, ApiError> {
        if let Some(e) = events::decode::<learning::ConsiderationChanged>(event) {
            let e = e?;
            let part = MappingPartName::parse(&e.name, "considerations", "name")?;
            let fact = ConsiderationFact {
                jurisdiction: part.mapping.jurisdiction.clone(),
                quarter: quarter_of(event),
                action: Action {
                    category: e.category,
                    strength: e.strength,
                    status: e.status,
                    due_month: month_of_date(e.due_date.as_ref()),
                    effectiveness: e.effectiveness,
                    // The store keeps the key it gave the consideration first.
                    cell_key: 0,
                },
            };
            store::put_consideration(conn, &self.keys.of(&e.name), &fact).await?;
        } else if let Some(e) = events::decode::<learning::SafetyNoticeIssued>(event) {
            let e = e?;
            SafetyNoticeName::parse(&e.name, "name")?;
            let notice = self.keys.of(&e.name);
            for jurisdiction in &e.recipient_jurisdictions {
                let fact = NoticeRecipientFact {
                    jurisdiction: jurisdiction.clone(),
                    quarter: quarter_of(event),
                    due_month: month_of_date(e.response_due.as_ref()),
                    response: 0,
                    days: 0,
                    cell_key: 0,
                };
                store::put_notice_recipient(conn, &notice, &fact).await?;
            }
        } else if let Some(e) = events::decode::<learning::SafetyNoticeAnswered>(event) {
            let e = e?;
            SafetyNoticeName::parse(&e.name, "name")?;
            let fact = NoticeRecipientFact {
                jurisdiction: e.jurisdiction,
                quarter: quarter_of(event),
                due_month: String::new(),
                // An answer is never 0, whatever the event says.
                response: e.kind.max(1),
                days: e.days_to_respond.max(0),
                cell_key: 0,
            };
            store::put_notice_recipient(conn, &self.keys.of(&e.name), &fact).await?;
        } else {
            return Err(events::unhandled(event));
        }
        Ok(Some(store::LEARNING_CHANGE.to_owned()))
    }

    /// Applies a culture event: a closed wave's whole-wave counts, summed per
    /// composite. A wave whose counts culture withheld is not counted at all.
    async fn apply_culture(
        &self,
        conn: &mut AnyConnection,
        event: &Event,
    ) -> Result<Option<String>, ApiError> {
        let Some(e) = events::decode::<culture::SurveyWaveClosed>(event) else {
            return Err(events::unhandled(event));
        };
        let e = e?;
        let name = SurveyWaveName::parse(&e.name, "name")?;
        if e.withheld != culture::Withheld::Unspecified as i32 || e.respondents <= 0 {
            return Ok(None);
        }
        let items: std::collections::HashMap<&str, &culture::ItemTally> =
            e.items.iter().map(|i| (i.code.as_str(), i)).collect();
        let composites = e
            .composites
            .iter()
            .map(|c| {
                let mut sum = [0i32; 3];
                for t in c.items.iter().filter_map(|code| items.get(code.as_str())) {
                    for (slot, n) in sum.iter_mut().zip([t.positive, t.neutral, t.negative]) {
                        *slot = slot.saturating_add(n.max(0));
                    }
                }
                (c.code.clone(), sum)
            })
            .collect();
        let fact = CultureWaveFact {
            jurisdiction: name.jurisdiction.clone(),
            quarter: quarter_of(event),
            respondents: e.respondents,
            invited: e.invited.max(0),
            composites,
            cell_key: 0,
        };
        store::put_culture_wave(conn, &self.keys.of(&e.name), &fact).await?;
        Ok(Some(store::CULTURE_CHANGE.to_owned()))
    }

    /// The culture events the projection handles: its subscription to culture.
    pub fn culture_types() -> Vec<String> {
        vec![events::type_of::<culture::SurveyWaveClosed>()]
    }

    /// The learning events the projection handles: its subscription to learning.
    pub fn learning_types() -> Vec<String> {
        vec![
            events::type_of::<learning::ConsiderationChanged>(),
            events::type_of::<learning::SafetyNoticeIssued>(),
            events::type_of::<learning::SafetyNoticeAnswered>(),
        ]
    }

    /// The review events the projection handles: its subscription to review.
    pub fn review_types() -> Vec<String> {
        vec![
            events::type_of::<review::ReviewOpened>(),
            events::type_of::<review::ReviewFactsChanged>(),
            events::type_of::<review::ReviewStageChanged>(),
            events::type_of::<review::ReviewDeadlinesChanged>(),
            events::type_of::<review::KeyObservationChanged>(),
            events::type_of::<review::LearningOpportunityRecorded>(),
            events::type_of::<review::RecommendationChanged>(),
        ]
    }

    /// The scoring events the projection handles: its subscription to scoring.
    pub fn scoring_types() -> Vec<String> {
        vec![events::type_of::<scoring::ConsensusRecorded>()]
    }
}

#[tonic::async_trait]
impl EventHandler for Projection {
    async fn apply(&self, conn: &mut AnyConnection, event: &Event) -> Result<(), ApiError> {
        let key = if event.r#type.starts_with("scir.scoring.") {
            self.apply_scoring(conn, event).await?
        } else if event.r#type.starts_with("scir.learning.") {
            self.apply_learning(conn, event).await?
        } else if event.r#type.starts_with("scir.culture.") {
            self.apply_culture(conn, event).await?
        } else {
            self.apply_review(conn, event).await?
        };
        if let Some(key) = key {
            store::changed(conn, self.backend, &key).await?;
        }
        Ok(())
    }

    fn committed(&self) {
        self.changed.notify_one();
    }
}
