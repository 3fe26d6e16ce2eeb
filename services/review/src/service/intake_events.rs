//! Applies intake's events: a qualifying incident opens its review (once), and
//! an amendment updates the review's facts and deadlines.

use scir_kit::ApiError;
use scir_kit::consumer::EventHandler;
use scir_kit::db::{Backend, DbError, now_micros};
use scir_kit::events::{self, EventLog, NewEvent};
use scir_kit::statement::Statement;
use scir_proto::common::v1::Event;
use scir_proto::intake::v1 as intake;
use scir_proto::review::v1 as pb;
use sqlx::AnyConnection;

use super::reviews::{
    deadlines_changed, due_month, intake_deadlines, new_review, next_due, open_new, review_facts,
};
use crate::store;

/// Who history entries name for changes that come from intake's events.
pub(super) const ACTOR: &str = "intake-event";

/// The handler of intake's event stream.
#[derive(Debug, Clone)]
pub struct IntakeEvents {
    backend: Backend,
    events: EventLog,
}

/// Runs `writes` in order on `conn`, stopping at a guard that fails.
async fn run_all(conn: &mut AnyConnection, writes: &[Statement]) -> Result<(), DbError> {
    for write in writes {
        write.execute(conn).await?;
    }
    Ok(())
}

impl IntakeEvents {
    /// A handler writing through `backend` and waking `events` watchers.
    pub fn new(backend: Backend, events: EventLog) -> Self {
        Self { backend, events }
    }

    async fn incident_changed(
        &self,
        conn: &mut AnyConnection,
        incident: intake::Incident,
        amended: bool,
    ) -> Result<(), ApiError> {
        let qualifies = incident
            .decision
            .as_ref()
            .is_some_and(|d| d.outcome == intake::EligibilityOutcome::PracticeReview as i32);
        let Some(mut existing) = store::review_of_incident(conn, &incident.name).await? else {
            if qualifies {
                let review =
                    new_review(&incident, pb::OpenSource::IntakeDecision, "", now_micros());
                let (writes, opened) = open_new(&review, ACTOR);
                match run_all(conn, &writes).await {
                    Ok(()) => events::append(conn, self.backend, &opened).await?,
                    // Opened already, by a designation that raced this event.
                    Err(DbError::Guarded(store::REVIEW_EXISTS)) => {}
                    Err(e) => return Err(e.into()),
                }
                tracing::info!(review = %review.body.name, "review opened for a qualifying incident");
            }
            return Ok(());
        };
        if !amended {
            return Ok(()); // the same report delivered again
        }
        let mut body = existing.body.clone();
        let mut facts = incident.facts.clone().unwrap_or_default();
        facts.restricted = None;
        body.incident_facts = Some(facts);
        body.eligibility_outcome = incident
            .decision
            .as_ref()
            .map(|d| d.outcome)
            .unwrap_or_default();
        // Intake's summary deadlines follow the amended decision; met ones stay met.
        let met: Vec<String> = body
            .deadlines
            .iter()
            .filter(|d| d.met)
            .map(|d| d.label.clone())
            .collect();
        body.deadlines.retain(|d| d.source != "intake decision");
        body.deadlines
            .extend(
                intake_deadlines(&incident)
                    .into_iter()
                    .map(|d| pb::ReviewDeadline {
                        met: met.contains(&d.label),
                        label: d.label,
                        due_date: Some(scir_kit::validate::from_date(d.due)),
                        source: d.source.to_owned(),
                    }),
            );
        let now = now_micros();
        let due = next_due(&body).map(|d| d.to_string());
        match store::update_review(&existing.id, existing.version, &body, due, now)
            .execute(conn)
            .await
        {
            Err(DbError::Guarded(store::VERSION_MOVED)) => {
                return Err(ApiError::Aborted(
                    "the review changed while an amendment was applied".to_owned(),
                ));
            }
            other => other?,
        }
        let revision = incident.revision;
        store::append_history(
            &existing.id,
            now,
            ACTOR,
            &format!("incident facts amended (revision {revision})"),
            body.stage,
            "",
        )
        .execute(conn)
        .await?;
        let event = pb::ReviewFactsChanged {
            review: body.name.clone(),
            facts: body.incident_facts.as_ref().map(review_facts),
        };
        let new = NewEvent::of(body.name.clone(), existing.jurisdiction.clone(), &event);
        events::append(conn, self.backend, &new).await?;
        if due_month(&body) != due_month(&existing.body) {
            let moved = deadlines_changed(&body);
            let new = NewEvent::of(body.name.clone(), existing.jurisdiction.clone(), &moved);
            events::append(conn, self.backend, &new).await?;
        }
        existing.body = body;
        Ok(())
    }
}

impl IntakeEvents {
    /// The event types [`IntakeEvents`] handles: its subscription.
    pub fn types() -> Vec<String> {
        vec![
            events::type_of::<intake::IncidentReported>(),
            events::type_of::<intake::IncidentAmended>(),
        ]
    }
}

#[tonic::async_trait]
impl EventHandler for IntakeEvents {
    async fn apply(&self, conn: &mut AnyConnection, event: &Event) -> Result<(), ApiError> {
        if let Some(body) = events::decode::<intake::IncidentReported>(event) {
            let incident = body?.incident.unwrap_or_default();
            self.incident_changed(conn, incident, false).await
        } else if let Some(body) = events::decode::<intake::IncidentAmended>(event) {
            let incident = body?.incident.unwrap_or_default();
            self.incident_changed(conn, incident, true).await
        } else {
            Err(events::unhandled(event))
        }
    }

    fn committed(&self) {
        self.events.notify();
    }
}
