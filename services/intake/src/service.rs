//! Intake's use cases: each takes the verified caller and a request, applies
//! the domain rules, writes through the store with its audit record and event
//! in one transaction, and returns the response or an [`ApiError`].

use std::sync::Arc;

use chrono::NaiveDate;
use prost::Message;
use scir_kit::audit::{AuditLog, AuditRecord};
use scir_kit::auth::{Caller, Role};
use scir_kit::db::{Database, DbError, now_micros, timestamp_from_micros};
use scir_kit::events::{EventLog, NewEvent};
use scir_kit::names::IncidentName;
use scir_kit::sealing::Sealer;

use crate::domain::amendment;
use scir_kit::{ApiError, FieldViolation, pagination};
use scir_proto::Labelled;
use scir_proto::common::v1::{Event, WatchEventsRequest};
use scir_proto::intake::v1 as pb;
use sha2::{Digest, Sha256};
use tokio_stream::wrappers::ReceiverStream;

use crate::domain::eligibility::{self, Decision};
use crate::domain::facts::{self, from_date, to_date};
use crate::domain::idempotency::{self, RequestPrint};
use crate::domain::jurisdictions::{Directory, Jurisdiction};
use crate::domain::rules::RuleSet;
use crate::policy::{RESTRICTED_READERS, method};
use crate::store::{self, ListFilter, NewIncident, StoredIncident, StoredRevision};

pub use crate::domain::amendment::MAX_REASON;

/// A report's request as its fingerprints see it: the encoded public facts and
/// the encoded restricted identity (empty when none was given).
#[derive(Debug)]
struct Given {
    facts: Vec<u8>,
    identity: Vec<u8>,
}

/// The intake service's logic.
#[derive(Debug, Clone)]
pub struct Intake {
    db: Database,
    sealer: Sealer,
    audit: AuditLog,
    events: EventLog,
    directory: Arc<Directory>,
}

impl Intake {
    /// Intake over its database, the keys that seal identities (and
    /// fingerprint requests), its event log and configured jurisdictions.
    pub fn new(db: Database, sealer: Sealer, events: EventLog, directory: Arc<Directory>) -> Self {
        let audit = AuditLog::new(db.clone());
        Self {
            db,
            sealer,
            audit,
            events,
            directory,
        }
    }

    /// The opened restricted identity of a revision, if one was given.
    async fn identity(&self, id: &str, revision: i32) -> Result<Option<Vec<u8>>, ApiError> {
        store::sealed_identity(&mut *self.db.acquire().await?, id, revision)
            .await?
            .map(|sealed| store::open_identity(&self.sealer, id, &sealed))
            .transpose()
    }

    fn today() -> NaiveDate {
        chrono::Utc::now().date_naive()
    }

    fn jurisdiction(&self, id: &str) -> Result<&Jurisdiction, ApiError> {
        self.directory.jurisdiction(id).ok_or_else(|| {
            ApiError::internal(anyhow::anyhow!("jurisdiction vanished from the directory"))
        })
    }

    fn rule_set(&self, jurisdiction: &str) -> Result<&RuleSet, ApiError> {
        self.directory
            .rule_set_for(jurisdiction)
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("jurisdiction without a rule set")))
    }

    /// Checks the caller may act in `jurisdiction`, auditing a denial.
    async fn authorize(
        &self,
        caller: &Caller,
        method: &str,
        resource: &str,
        jurisdiction: &str,
    ) -> Result<(), ApiError> {
        if let Err(e) = caller.authorize_jurisdiction(self.directory.members(), jurisdiction) {
            self.record(
                caller,
                method,
                resource,
                jurisdiction,
                "denied: jurisdiction",
            )
            .await?;
            return Err(e);
        }
        Ok(())
    }

    async fn record(
        &self,
        caller: &Caller,
        method: &str,
        resource: &str,
        jurisdiction: &str,
        outcome: &str,
    ) -> Result<(), ApiError> {
        self.audit
            .record(AuditRecord::by(
                caller,
                method,
                resource,
                jurisdiction,
                outcome,
            ))
            .await?;
        Ok(())
    }

    /// `ReportIncident`.
    pub async fn report(
        &self,
        caller: &Caller,
        request: pb::ReportIncidentRequest,
    ) -> Result<pb::Incident, ApiError> {
        let mut violations = Vec::new();
        check_request_id(&request.request_id, &mut violations);
        let Some(message) = request.incident else {
            violations.push(FieldViolation::new("incident", "is required"));
            return Err(ApiError::InvalidArgument(violations));
        };
        let parsed = facts::parse(&message, "incident.", &self.directory, Self::today());
        let facts = match parsed {
            Ok(facts) if violations.is_empty() => facts,
            Ok(_) => return Err(ApiError::InvalidArgument(violations)),
            Err(more) => {
                violations.extend(more);
                return Err(ApiError::InvalidArgument(violations));
            }
        };
        let jurisdiction = facts.jurisdiction.clone();
        let collection = format!("jurisdictions/{jurisdiction}/incidents");
        self.authorize(caller, method::REPORT_INCIDENT, &collection, &jurisdiction)
            .await?;

        let mut public = message.clone();
        let restricted = public
            .restricted
            .take()
            .filter(|r| *r != pb::RestrictedIdentity::default());
        let given = Given {
            facts: public.encode_to_vec(),
            identity: restricted
                .as_ref()
                .map(Message::encode_to_vec)
                .unwrap_or_default(),
        };
        let request_print = RequestPrint::of(&self.sealer, &given.facts, &given.identity);
        // A repeated request id is found by the insert's guard, not by a
        // look-up first: the look-up would cost every report a read for the
        // rare retry.
        let decision = eligibility::decide(self.rule_set(&jurisdiction)?, &facts);
        let now = now_micros();
        let id = uuid::Uuid::now_v7().to_string();
        let name = IncidentName::new(jurisdiction.as_str(), id.as_str()).to_string();
        let revision = StoredRevision {
            revision: 1,
            facts: public.encode_to_vec(),
            decision: decision_to_proto(&decision, now, 1).encode_to_vec(),
            amendment: None,
        };
        let stored = StoredIncident {
            seq: 0,
            id: id.clone(),
            jurisdiction: jurisdiction.clone(),
            request_id: request.request_id.clone(),
            request_hash: request_print.as_str().to_owned(),
            revision: 1,
            reported_by: caller.subject.clone(),
            create_time: now,
            update_time: now,
            revisions: vec![revision.clone()],
        };
        let event_incident = to_incident(&stored, None, false)?;

        let mut tx = self.events.begin().await?;
        let new = NewIncident {
            id: &id,
            jurisdiction: &jurisdiction,
            request_id: &request.request_id,
            request_hash: request_print.as_str(),
            incident_type: facts.incident_type as i32,
            incident_date: &facts.incident_date.to_string(),
            outcome: decision.outcome as i32,
            reported_by: &caller.subject,
            time: now,
        };
        tx.write(store::insert_incident(&new));
        let restricted_bytes = restricted
            .as_ref()
            .map(|r| store::seal_identity(&self.sealer, &id, &r.encode_to_vec()));
        for statement in store::insert_revision(&id, &revision, restricted_bytes.as_deref(), now) {
            tx.write(statement);
        }
        tx.audit(AuditRecord::by(
            caller,
            method::REPORT_INCIDENT,
            &name,
            &jurisdiction,
            "ok",
        ));
        let event = pb::IncidentReported {
            incident: Some(event_incident),
        };
        tx.publish(NewEvent::of(name.clone(), jurisdiction.clone(), &event));
        match tx.commit().await {
            Err(DbError::Guarded(store::REQUEST_ID_TAKEN)) => {
                // Taken: by this request before (a retry), or by a concurrent
                // call with the same request id that won the race.
                let existing = store::find_by_request(
                    &mut *self.db.acquire().await?,
                    &jurisdiction,
                    &request.request_id,
                )
                .await?
                .ok_or_else(|| {
                    ApiError::internal(anyhow::anyhow!("request id conflict without a row"))
                })?;
                return self.replay(caller, existing, &given).await;
            }
            other => other?,
        }
        tracing::info!(incident = %name, outcome = decision.outcome.label(), "incident reported");

        let visible = restricted.filter(|_| may_read_restricted(caller, &jurisdiction));
        to_incident(&stored, visible, true)
    }

    /// A report whose `request_id` is taken: the stored incident when the
    /// request is the same, ALREADY_EXISTS otherwise. The identity is compared
    /// only for callers entitled to it (see [`idempotency`]).
    async fn replay(
        &self,
        caller: &Caller,
        existing: StoredIncident,
        given: &Given,
    ) -> Result<pb::Incident, ApiError> {
        let name = resource_name(&existing);
        let compare_identity = may_read_restricted(caller, &existing.jurisdiction)
            || caller.subject == existing.reported_by;
        let same = idempotency::same_request(
            &self.sealer,
            &existing.request_hash,
            &given.facts,
            &given.identity,
            compare_identity,
        );
        if !same {
            self.record(
                caller,
                method::REPORT_INCIDENT,
                &name,
                &existing.jurisdiction,
                "error: ALREADY_EXISTS",
            )
            .await?;
            return Err(ApiError::AlreadyExists {
                reason: "REQUEST_ID_REUSED",
                message: "request_id was used for a different incident".to_owned(),
            });
        }
        self.record(
            caller,
            method::REPORT_INCIDENT,
            &name,
            &existing.jurisdiction,
            "ok: replayed",
        )
        .await?;
        let restricted = self.visible_restricted(caller, &existing).await?;
        to_incident(&existing, restricted, true)
    }

    async fn visible_restricted(
        &self,
        caller: &Caller,
        incident: &StoredIncident,
    ) -> Result<Option<pb::RestrictedIdentity>, ApiError> {
        if !may_read_restricted(caller, &incident.jurisdiction) {
            return Ok(None);
        }
        match self.identity(&incident.id, incident.revision).await? {
            Some(bytes) => Ok(Some(
                pb::RestrictedIdentity::decode(bytes.as_slice()).map_err(ApiError::internal)?,
            )),
            None => Ok(None),
        }
    }

    /// Loads an incident the caller may act on, auditing a denial or a miss.
    async fn fetch(
        &self,
        caller: &Caller,
        method: &str,
        name: &str,
        jurisdiction: &str,
        id: &str,
    ) -> Result<StoredIncident, ApiError> {
        self.authorize(caller, method, name, jurisdiction).await?;
        match store::get(&mut *self.db.acquire().await?, jurisdiction, id).await? {
            Some(stored) => Ok(stored),
            None => {
                self.record(caller, method, name, jurisdiction, "error: NOT_FOUND")
                    .await?;
                Err(ApiError::NotFound {
                    resource: name.to_owned(),
                })
            }
        }
    }

    /// `GetIncident`.
    pub async fn get(
        &self,
        caller: &Caller,
        request: pb::GetIncidentRequest,
    ) -> Result<pb::Incident, ApiError> {
        let (jurisdiction, id) = self.parse_incident_name(&request.name)?;
        let stored = self
            .fetch(
                caller,
                method::GET_INCIDENT,
                &request.name,
                &jurisdiction,
                &id,
            )
            .await?;
        self.record(
            caller,
            method::GET_INCIDENT,
            &request.name,
            &jurisdiction,
            "ok",
        )
        .await?;
        let restricted = self.visible_restricted(caller, &stored).await?;
        to_incident(&stored, restricted, true)
    }

    fn parse_incident_name(&self, name: &str) -> Result<(String, String), ApiError> {
        let parsed = IncidentName::parse(name, "name")?;
        if self.directory.jurisdiction(&parsed.jurisdiction).is_none() {
            return Err(ApiError::NotFound {
                resource: name.to_owned(),
            });
        }
        Ok((parsed.jurisdiction, parsed.id))
    }

    /// `ListIncidents`.
    pub async fn list(
        &self,
        caller: &Caller,
        request: pb::ListIncidentsRequest,
    ) -> Result<pb::ListIncidentsResponse, ApiError> {
        let mut violations = Vec::new();
        let jurisdiction = match request.parent.strip_prefix("jurisdictions/") {
            Some(j) if self.directory.jurisdiction(j).is_some() => Some(j.to_owned()),
            Some(_) => {
                violations.push(FieldViolation::new(
                    "parent",
                    "is not a configured jurisdiction",
                ));
                None
            }
            None => {
                violations.push(FieldViolation::new(
                    "parent",
                    "must be jurisdictions/{jurisdiction}",
                ));
                None
            }
        };
        let page_size = pagination::page_size(request.page_size)
            .map_err(|e| violations.extend(violations_of(e)))
            .ok();
        let mut enum_values = |field: &str, values: &[i32], known: fn(i32) -> bool| {
            for (i, v) in values.iter().enumerate() {
                if *v == 0 || !known(*v) {
                    violations.push(FieldViolation::new(
                        format!("{field}[{i}]"),
                        format!("unknown enum value {v}"),
                    ));
                }
            }
        };
        enum_values("incident_types", &request.incident_types, |v| {
            pb::IncidentType::try_from(v).is_ok()
        });
        enum_values("outcomes", &request.outcomes, |v| {
            pb::EligibilityOutcome::try_from(v).is_ok()
        });
        let mut date = |field: &str, d: Option<&scir_proto::common::v1::Date>| match d {
            None => None,
            Some(d) => match to_date(d) {
                Some(d) => Some(d.to_string()),
                None => {
                    violations.push(FieldViolation::new(field, "is not a valid calendar date"));
                    None
                }
            },
        };
        let date_from = date("incident_date_from", request.incident_date_from.as_ref());
        let date_to = date("incident_date_to", request.incident_date_to.as_ref());
        let (Some(jurisdiction), Some(page_size), true) =
            (jurisdiction, page_size, violations.is_empty())
        else {
            return Err(ApiError::InvalidArgument(violations));
        };
        self.authorize(
            caller,
            method::LIST_INCIDENTS,
            &request.parent,
            &jurisdiction,
        )
        .await?;

        let join = |v: &[i32]| v.iter().map(i32::to_string).collect::<Vec<_>>().join(",");
        let fingerprint = pagination::filter_fingerprint(&[
            &jurisdiction,
            &join(&request.incident_types),
            &join(&request.outcomes),
            date_from.as_deref().unwrap_or(""),
            date_to.as_deref().unwrap_or(""),
        ]);
        let before = pagination::decode_token(&request.page_token, &fingerprint)?;
        let filter = ListFilter {
            jurisdiction: jurisdiction.clone(),
            incident_types: request.incident_types.clone(),
            outcomes: request.outcomes.clone(),
            date_from,
            date_to,
        };
        let mut rows = store::list(
            &mut *self.db.acquire().await?,
            &filter,
            before,
            page_size + 1,
        )
        .await?;
        let next_page_token = pagination::next_page(&mut rows, page_size, |r| r.seq, &fingerprint);
        self.record(
            caller,
            method::LIST_INCIDENTS,
            &request.parent,
            &jurisdiction,
            &format!("ok: {} listed", rows.len()),
        )
        .await?;
        let incidents = rows
            .iter()
            .map(|r| to_incident(r, None, true))
            .collect::<Result<_, _>>()?;
        Ok(pb::ListIncidentsResponse {
            incidents,
            next_page_token,
        })
    }

    /// `AmendIncident`.
    pub async fn amend(
        &self,
        caller: &Caller,
        request: pb::AmendIncidentRequest,
    ) -> Result<pb::Incident, ApiError> {
        let (jurisdiction, id) = self.parse_incident_name(&request.name)?;
        let paths = amendment::check(&request)?;
        let stored = self
            .fetch(
                caller,
                method::AMEND_INCIDENT,
                &request.name,
                &jurisdiction,
                &id,
            )
            .await?;
        if !request.etag.is_empty() && request.etag != etag(&stored) {
            return Err(ApiError::Aborted(
                "the incident changed since it was read; read it again".to_owned(),
            ));
        }

        let latest = stored
            .revisions
            .last()
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("incident without revisions")))?;
        let mut merged =
            pb::IncidentFacts::decode(latest.facts.as_slice()).map_err(ApiError::internal)?;
        merged.restricted = match self.identity(&id, stored.revision).await? {
            Some(bytes) => {
                Some(pb::RestrictedIdentity::decode(bytes.as_slice()).map_err(ApiError::internal)?)
            }
            None => None,
        };
        let source = request.incident.unwrap_or_default();
        let changed = amendment::merge(&mut merged, &source, &paths);
        if merged.jurisdiction != jurisdiction {
            return Err(ApiError::invalid(
                "incident.jurisdiction",
                "cannot change; report a new incident instead",
            ));
        }
        let facts = facts::parse(&merged, "incident.", &self.directory, Self::today())
            .map_err(ApiError::InvalidArgument)?;
        if changed.is_empty() {
            return Err(ApiError::invalid(
                "update_mask",
                "the amendment changes no field",
            ));
        }

        let decision = eligibility::decide(self.rule_set(&jurisdiction)?, &facts);
        let now = now_micros();
        let next = stored.revision + 1;
        let amendment = pb::Amendment {
            revision: next,
            reason: request.reason.clone(),
            amended_by: caller.subject.clone(),
            amend_time: Some(timestamp_from_micros(now)),
            changed_fields: changed.clone(),
        };
        let mut public = merged.clone();
        let restricted = public.restricted.take();
        let revision = StoredRevision {
            revision: next,
            facts: public.encode_to_vec(),
            decision: decision_to_proto(&decision, now, next).encode_to_vec(),
            amendment: Some(amendment.encode_to_vec()),
        };
        let mut updated = stored.clone();
        updated.revision = next;
        updated.update_time = now;
        updated.revisions.push(revision.clone());
        let event_incident = to_incident(&updated, None, false)?;

        let mut tx = self.events.begin().await?;
        tx.write(store::advance_revision(
            &id,
            stored.revision,
            facts.incident_type as i32,
            &facts.incident_date.to_string(),
            decision.outcome as i32,
            now,
        ));
        let restricted_bytes = changed.iter().any(|c| c == "restricted").then(|| {
            let identity = restricted.clone().unwrap_or_default().encode_to_vec();
            store::seal_identity(&self.sealer, &id, &identity)
        });
        for statement in store::insert_revision(&id, &revision, restricted_bytes.as_deref(), now) {
            tx.write(statement);
        }
        tx.audit(AuditRecord::by(
            caller,
            method::AMEND_INCIDENT,
            &request.name,
            &jurisdiction,
            "ok",
        ));
        let event_amendment = pb::Amendment {
            amended_by: String::new(),
            ..amendment
        };
        let event = pb::IncidentAmended {
            incident: Some(event_incident),
            amendment: Some(event_amendment),
        };
        tx.publish(NewEvent::of(
            request.name.clone(),
            jurisdiction.clone(),
            &event,
        ));
        tx.commit_or(store::REVISION_MOVED, || {
            ApiError::Aborted("a concurrent amendment won; read the incident again".to_owned())
        })
        .await?;
        tracing::info!(incident = %request.name, revision = next, outcome = decision.outcome.label(), "incident amended");

        let visible = restricted.filter(|_| may_read_restricted(caller, &jurisdiction));
        to_incident(&updated, visible, true)
    }

    /// `EvaluateEligibility`: decides without storing anything.
    pub async fn evaluate(
        &self,
        caller: &Caller,
        request: pb::EvaluateEligibilityRequest,
    ) -> Result<pb::EligibilityDecision, ApiError> {
        let message = request
            .incident
            .ok_or_else(|| ApiError::invalid("incident", "is required"))?;
        let facts = facts::parse(&message, "incident.", &self.directory, Self::today())
            .map_err(ApiError::InvalidArgument)?;
        self.jurisdiction(&facts.jurisdiction)?;
        caller.authorize_jurisdiction(self.directory.members(), &facts.jurisdiction)?;
        let decision = eligibility::decide(self.rule_set(&facts.jurisdiction)?, &facts);
        Ok(decision_to_proto(&decision, now_micros(), 0))
    }

    /// `ListRuleSets`.
    pub fn list_rule_sets(
        &self,
        request: &pb::ListRuleSetsRequest,
    ) -> Result<pb::ListRuleSetsResponse, ApiError> {
        let all: Vec<_> = self.directory.rule_sets().collect();
        let size = if request.page_size == 0 {
            all.len().max(1) as i64
        } else {
            pagination::page_size(request.page_size)?
        };
        let fingerprint = pagination::filter_fingerprint(&["rule_sets"]);
        let start = pagination::decode_token(&request.page_token, &fingerprint)?.unwrap_or(0);
        let start =
            usize::try_from(start).map_err(|_| ApiError::invalid("page_token", "is not valid"))?;
        let end = (start + size as usize).min(all.len());
        let rule_sets = all
            .get(start..end)
            .unwrap_or_default()
            .iter()
            .map(|r| rule_set_to_proto(r))
            .collect();
        let next_page_token = if end < all.len() {
            pagination::encode_token(end as i64, &fingerprint)
        } else {
            String::new()
        };
        Ok(pb::ListRuleSetsResponse {
            rule_sets,
            next_page_token,
        })
    }

    /// `GetRuleSet`.
    pub fn get_rule_set(&self, request: &pb::GetRuleSetRequest) -> Result<pb::RuleSet, ApiError> {
        let name = request
            .name
            .strip_prefix("ruleSets/")
            .filter(|n| !n.is_empty() && !n.contains('/'))
            .ok_or_else(|| ApiError::invalid("name", "must be ruleSets/{rule_set}"))?;
        self.directory
            .rule_set(name)
            .map(rule_set_to_proto)
            .ok_or_else(|| ApiError::NotFound {
                resource: request.name.clone(),
            })
    }

    /// `ListJurisdictions`. Partner callers see only jurisdictions that share
    /// their name with the partnership (and their own).
    pub fn list_jurisdictions(&self, caller: &Caller) -> pb::ListJurisdictionsResponse {
        let partner_only = caller.granted.iter().all(|r| *r == Role::Partner);
        let jurisdictions = self
            .directory
            .jurisdictions()
            .filter(|j| !partner_only || j.share_name || j.id == caller.jurisdiction)
            .map(|j| pb::Jurisdiction {
                name: format!("jurisdictions/{}", j.id),
                id: j.id.clone(),
                display_name: j.name.clone(),
                r#type: j.kind as i32,
                parent: j.parent.clone().unwrap_or_default(),
                rule_set: format!("ruleSets/{}", j.rule_set.as_deref().unwrap_or_default()),
                share_name: j.share_name,
            })
            .collect();
        pb::ListJurisdictionsResponse { jurisdictions }
    }

    /// `WatchEvents`.
    pub async fn watch(
        &self,
        caller: &Caller,
        request: WatchEventsRequest,
    ) -> Result<ReceiverStream<Result<Event, tonic::Status>>, ApiError> {
        let stream = self.events.watch(request)?;
        self.record(caller, method::WATCH_EVENTS, "events", "", "ok")
            .await?;
        Ok(stream)
    }
}

fn violations_of(error: ApiError) -> Vec<FieldViolation> {
    match error {
        ApiError::InvalidArgument(v) => v,
        other => vec![FieldViolation::new("", other.to_string())],
    }
}

fn check_request_id(id: &str, violations: &mut Vec<FieldViolation>) {
    if id.is_empty() {
        violations.push(FieldViolation::new("request_id", "is required"));
    } else if id.len() > 64
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'))
    {
        violations.push(FieldViolation::new(
            "request_id",
            "must be 1 to 64 characters of A-Z a-z 0-9 . _ : -",
        ));
    }
}

fn may_read_restricted(caller: &Caller, jurisdiction: &str) -> bool {
    caller.jurisdiction == jurisdiction && caller.granted_any(RESTRICTED_READERS)
}

fn resource_name(incident: &StoredIncident) -> String {
    format!(
        "jurisdictions/{}/incidents/{}",
        incident.jurisdiction, incident.id
    )
}

fn etag(incident: &StoredIncident) -> String {
    let digest = Sha256::digest(format!("{}:{}", incident.id, incident.revision));
    format!("\"{}\"", hex::encode(&digest[..8]))
}

/// The decision as its message.
pub fn decision_to_proto(d: &Decision, time: i64, facts_revision: i32) -> pb::EligibilityDecision {
    pb::EligibilityDecision {
        outcome: d.outcome as i32,
        criteria: d
            .criteria
            .iter()
            .map(|c| pb::CriterionResult {
                rule_id: c.rule_id.clone(),
                criterion_id: c.criterion_id.clone(),
                description: c.description.clone(),
                status: c.status as i32,
                explanation: c.explanation.clone(),
                statute_reference: c.statute.clone(),
                missing_facts: c.missing_facts.clone(),
            })
            .collect(),
        reasons: d.reasons.clone(),
        missing_facts: d.missing_facts.clone(),
        deadlines: d
            .deadlines
            .iter()
            .map(|x| pb::Deadline {
                kind: x.kind as i32,
                due_date: Some(from_date(x.due)),
                basis: x.basis.clone(),
                statute_reference: x.statute.clone(),
            })
            .collect(),
        rule_set: d.rule_set.clone(),
        rule_set_version: d.rule_set_version.clone(),
        decide_time: Some(timestamp_from_micros(time)),
        facts_revision,
    }
}

/// A rule set as its message.
pub fn rule_set_to_proto(r: &RuleSet) -> pb::RuleSet {
    pb::RuleSet {
        name: r.resource_name(),
        version: r.version.clone(),
        title: r.title.clone(),
        description: r.description.clone(),
        rules: r
            .rules
            .iter()
            .map(|rule| pb::Rule {
                id: rule.id.clone(),
                description: rule.description.clone(),
                outcome: rule.outcome as i32,
                statute_reference: rule.statute.clone(),
                criteria: rule
                    .criteria
                    .iter()
                    .map(|c| c.describe(r.lookback_months))
                    .collect(),
            })
            .collect(),
        deadlines: r
            .deadlines
            .iter()
            .map(|d| pb::DeadlineRule {
                kind: d.kind as i32,
                basis: d.basis(),
                applies_to: d.applies_to.iter().map(|o| *o as i32).collect(),
                statute_reference: d.statute.clone(),
            })
            .collect(),
        lookback_months: r.lookback_months as i32,
        holidays: r.holidays.iter().map(|d| from_date(*d)).collect(),
        digest: r.digest.clone(),
    }
}

/// An incident as its message. `restricted` is included as given; the
/// reporter's subject only when `with_reporter` (events leave it out).
fn to_incident(
    s: &StoredIncident,
    restricted: Option<pb::RestrictedIdentity>,
    with_reporter: bool,
) -> Result<pb::Incident, ApiError> {
    let decode_err = |e: prost::DecodeError| ApiError::internal(e);
    let latest = s
        .revisions
        .last()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("incident without revisions")))?;
    let mut facts = pb::IncidentFacts::decode(latest.facts.as_slice()).map_err(decode_err)?;
    facts.restricted = restricted;
    let mut decisions = s
        .revisions
        .iter()
        .map(|r| pb::EligibilityDecision::decode(r.decision.as_slice()).map_err(decode_err))
        .collect::<Result<Vec<_>, _>>()?;
    let decision = decisions.pop();
    let amendments = s
        .revisions
        .iter()
        .filter_map(|r| r.amendment.as_ref())
        .map(|a| pb::Amendment::decode(a.as_slice()).map_err(decode_err))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .map(|mut a| {
            if !with_reporter {
                a.amended_by.clear();
            }
            a
        })
        .collect();
    Ok(pb::Incident {
        name: resource_name(s),
        request_id: s.request_id.clone(),
        facts: Some(facts),
        revision: s.revision,
        decision,
        previous_decisions: decisions,
        amendments,
        reported_by: if with_reporter {
            s.reported_by.clone()
        } else {
            String::new()
        },
        create_time: Some(timestamp_from_micros(s.create_time)),
        update_time: Some(timestamp_from_micros(s.update_time)),
        etag: etag(s),
    })
}
