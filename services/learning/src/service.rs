//! Learning's use cases: convening and running aggregate mappings, their
//! sessions and considerations; each authorised by jurisdiction and audited,
//! each write one unit of work with its audit record and event.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use chrono::NaiveDate;
use prost::Message;
use scir_kit::ApiError;
use scir_kit::audit::{AuditRecord, Guard};
use scir_kit::auth::{Caller, ExposeSecret as _, Role};
use scir_kit::db::{Database, Proto, now_micros, timestamp_from_micros};
use scir_kit::directory::Directory;
use scir_kit::error::PreconditionViolation;
use scir_kit::events::EventStream;
use scir_kit::events::{EventLog, NewEvent};
use scir_kit::names::{AggregateMappingName, JurisdictionName, MappingPartName, jurisdiction_of};
use scir_kit::pagination;
use scir_kit::sealing::Sealer;
use scir_kit::validate::{Check, check_etag, to_date, update_mask};
use scir_proto::Labelled as _;
use scir_proto::common::v1::WatchEventsRequest;
use scir_proto::learning::v1::{self as pb, Stage};
use scir_proto::review::v1 as review;

use crate::domain::{checks, stages};
use crate::review_link::{ReviewLink, Source};
use crate::store::{self, Kind, PartColumns, StoredMapping, StoredPart};

mod notices;

/// Fields `UpdateAggregateMapping` may replace.
const MAPPING_FIELDS: &[&str] = &["title", "scope", "team", "map", "process_notes"];
/// Fields `UpdateConsideration` may replace.
const CONSIDERATION_FIELDS: &[&str] = &[
    "category",
    "description",
    "owner",
    "due_date",
    "strength",
    "nodes",
    "status",
    "status_reason",
    "done_date",
    "check_date",
    "effectiveness",
    "evidence",
];
/// Most overdue considerations listed.
const MAX_OVERDUE: i64 = 500;
/// Most sessions of one mapping.
const MAX_SESSIONS: i64 = 100;
/// Most considerations of one mapping.
const MAX_CONSIDERATIONS: i64 = 200;

/// Learning's logic.
#[derive(Debug, Clone)]
pub struct Learning {
    db: Database,
    guard: Guard,
    events: EventLog,
    review: ReviewLink,
    directory: Arc<Directory>,
    sealer: Arc<Sealer>,
}

fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

fn stage_of(stored: &StoredMapping) -> Stage {
    Stage::try_from(stored.stage).unwrap_or(Stage::Unspecified)
}

fn precondition(subject: &str, kind: &str, description: impl Into<String>) -> ApiError {
    ApiError::FailedPrecondition(vec![PreconditionViolation {
        kind: kind.to_owned(),
        subject: subject.to_owned(),
        description: description.into(),
    }])
}

impl Learning {
    /// Learning over its database, event log, review, directory and sealer.
    pub fn new(
        db: Database,
        events: EventLog,
        review: ReviewLink,
        directory: Arc<Directory>,
        sealer: Arc<Sealer>,
    ) -> Self {
        Self {
            guard: Guard::new(db.clone(), directory.clone()),
            db,
            events,
            review,
            directory,
            sealer,
        }
    }

    /// The mapping `name`, readable by the caller.
    async fn load(
        &self,
        caller: &Caller,
        method: &str,
        name: &AggregateMappingName,
    ) -> Result<StoredMapping, ApiError> {
        let resource = name.to_string();
        self.guard
            .authorize(caller, method, &resource, &name.jurisdiction)
            .await?;
        let mut conn = self.db.acquire().await?;
        match store::mapping(&mut conn, &name.id).await? {
            Some(m) if m.jurisdiction == name.jurisdiction => Ok(m),
            _ => Err(ApiError::NotFound { resource }),
        }
    }

    async fn parts_of(
        &self,
        stored: &StoredMapping,
        kind: Kind,
    ) -> Result<Vec<StoredPart>, ApiError> {
        let mut conn = self.db.acquire().await?;
        Ok(store::parts(&mut conn, &stored.id, kind).await?)
    }

    /// The mapping as answered, with what its next stage still needs.
    async fn answer(&self, stored: &StoredMapping) -> Result<pb::AggregateMapping, ApiError> {
        let sessions: Vec<_> = self
            .parts_of(stored, Kind::Sessions)
            .await?
            .iter()
            .map(|p| session(p, None))
            .collect();
        let considerations: Vec<_> = self
            .parts_of(stored, Kind::Considerations)
            .await?
            .iter()
            .map(|p| consideration(p, today()))
            .collect();
        let mut mapping = present(stored);
        mapping.next_stage_needs = stages::needs(&mapping, &sessions, &considerations, today());
        Ok(mapping)
    }

    /// Checks that every learning opportunity of `scope` is in a finalised
    /// review of `jurisdiction` or its counties that the caller may read;
    /// asks review once per review.
    async fn check_sources(
        &self,
        caller: &Caller,
        jurisdiction: &str,
        scope: &pb::Scope,
        check: &mut Check<'_>,
    ) -> Result<(), ApiError> {
        let mut sources: BTreeMap<&str, Source> = BTreeMap::new();
        for (i, lo) in scope.learning_opportunities.iter().enumerate() {
            let field = format!("scope.learning_opportunities[{i}]");
            let Some(review) = stages::review_of(lo) else {
                continue;
            };
            let owner = jurisdiction_of(lo).unwrap_or_default();
            if !self.directory.acts_in(jurisdiction, owner) {
                check.bad(
                    &field,
                    "must be in a review of the mapping's jurisdiction or one of its counties",
                );
                continue;
            }
            if !sources.contains_key(review) {
                let source = self
                    .review
                    .source(caller.bearer.expose_secret(), review)
                    .await?;
                sources.insert(review, source);
            }
            match &sources[review] {
                Source::Finalised(names) if names.contains(lo) => {}
                Source::Finalised(_) | Source::Unknown => {
                    check.bad(&field, "no such learning opportunity the caller may read");
                }
                Source::NotFinal => check.bad(&field, "must be in a finalised review"),
            }
        }
        Ok(())
    }

    /// `CreateAggregateMapping`.
    pub async fn create(
        &self,
        caller: &Caller,
        method: &str,
        request: pb::CreateAggregateMappingRequest,
    ) -> Result<pb::AggregateMapping, ApiError> {
        let parent = JurisdictionName::parse(&request.parent, "parent")?;
        if parent.0 != caller.jurisdiction {
            self.guard
                .record(caller, method, &request.parent, "denied: jurisdiction")
                .await?;
            return Err(ApiError::PermissionDenied(
                "aggregate mappings are convened in the caller's own jurisdiction".to_owned(),
            ));
        }
        let mut mapping = request
            .aggregate_mapping
            .ok_or_else(|| ApiError::invalid("aggregate_mapping", "is required"))?;
        let mut check = Check::new("aggregate_mapping.");
        checks::title(&mut check, &mapping.title);
        let scope = mapping.scope.clone().unwrap_or_default();
        checks::scope(&mut check, &scope);
        checks::team(&mut check, &mapping.team);
        checks::process_notes(&mut check, &mapping.process_notes);
        if mapping
            .map
            .as_ref()
            .is_some_and(|m| !m.nodes.is_empty() || !m.edges.is_empty())
        {
            check.bad("map", "the map is drawn in the mapping stage");
        }
        if check.is_empty() {
            self.check_sources(caller, &parent.0, &scope, &mut check)
                .await?;
        }
        check.finish()?;

        let now = now_micros();
        let id = uuid::Uuid::now_v7().to_string();
        let name = AggregateMappingName::new(parent.0.clone(), id.clone()).to_string();
        mapping.convened_by = caller.subject.clone();
        let stored = StoredMapping {
            seq: 0,
            id,
            jurisdiction: parent.0.clone(),
            stage: Stage::Scoping as i32,
            version: 1,
            body: Proto(stored_body(mapping)),
            create_time: now,
            update_time: now,
        };
        let mut unit = self.events.begin().await?;
        store::insert_mapping(unit.connection().await?, &stored).await?;
        unit.audit(AuditRecord::by(caller, method, &name, &parent.0, "ok"));
        unit.publish(NewEvent::of(
            name.clone(),
            parent.0.clone(),
            &pb::AggregateMappingConvened {
                name: name.clone(),
                theme: scope.theme,
            },
        ));
        unit.commit().await?;
        self.answer(&stored).await
    }

    /// `GetAggregateMapping`.
    pub async fn get(
        &self,
        caller: &Caller,
        method: &str,
        request: pb::GetAggregateMappingRequest,
    ) -> Result<pb::AggregateMapping, ApiError> {
        let name = AggregateMappingName::parse(&request.name, "name")?;
        let stored = self.load(caller, method, &name).await?;
        self.guard
            .record(caller, method, &request.name, "ok")
            .await?;
        self.answer(&stored).await
    }

    /// `ListAggregateMappings`; `next_stage_needs` is left out of lists.
    pub async fn list(
        &self,
        caller: &Caller,
        method: &str,
        request: pb::ListAggregateMappingsRequest,
    ) -> Result<pb::ListAggregateMappingsResponse, ApiError> {
        let parent = JurisdictionName::parse(&request.parent, "parent")?;
        let limit = pagination::page_size(request.page_size)?;
        let mut check = Check::new("");
        let stages: Vec<Stage> = check.enum_list("stages", &request.stages);
        check.finish()?;
        let mut numbers: Vec<i32> = stages.iter().map(|s| *s as i32).collect();
        numbers.sort_unstable();
        let filter = numbers
            .iter()
            .map(i32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let fingerprint = pagination::filter_fingerprint(&[&request.parent, &filter]);
        let before = pagination::decode_token(&request.page_token, &fingerprint)?;
        self.guard
            .authorize(caller, method, &request.parent, &parent.0)
            .await?;
        let mut conn = self.db.acquire().await?;
        let rows = store::mappings(&mut conn, &parent.0, &numbers, before, limit + 1).await?;
        drop(conn);
        let more = rows.len() as i64 > limit;
        let page: Vec<_> = rows.into_iter().take(limit as usize).collect();
        let next_page_token = match (more, page.last()) {
            (true, Some(last)) => pagination::encode_token(last.seq, &fingerprint),
            _ => String::new(),
        };
        self.guard
            .record(caller, method, &request.parent, "ok")
            .await?;
        Ok(pb::ListAggregateMappingsResponse {
            aggregate_mappings: page.iter().map(present).collect(),
            next_page_token,
        })
    }

    /// `UpdateAggregateMapping`.
    pub async fn update(
        &self,
        caller: &Caller,
        method: &str,
        request: pb::UpdateAggregateMappingRequest,
    ) -> Result<pb::AggregateMapping, ApiError> {
        let changes = request
            .aggregate_mapping
            .ok_or_else(|| ApiError::invalid("aggregate_mapping", "is required"))?;
        let name = AggregateMappingName::parse(&changes.name, "aggregate_mapping.name")?;
        let paths = update_mask(request.update_mask.as_ref(), MAPPING_FIELDS)?;
        let stored = self.load(caller, method, &name).await?;
        let stage = stage_of(&stored);
        for path in &paths {
            stages::field_writable(stage, path)
                .map_err(|why| precondition(&changes.name, "STAGE", why))?;
        }
        check_etag(&request.etag, &stored.version.to_string(), true)?;
        let mut merged = stored.body.0.clone();
        let mut check = Check::new("aggregate_mapping.");
        for path in &paths {
            match path.as_str() {
                "title" => {
                    checks::title(&mut check, &changes.title);
                    merged.title = changes.title.clone();
                }
                "scope" => {
                    let scope = changes.scope.clone().unwrap_or_default();
                    checks::scope(&mut check, &scope);
                    merged.scope = Some(scope);
                }
                "team" => {
                    checks::team(&mut check, &changes.team);
                    merged.team = changes.team.clone();
                }
                "map" => merged.map = changes.map.clone(),
                "process_notes" => {
                    checks::process_notes(&mut check, &changes.process_notes);
                    merged.process_notes = changes.process_notes.clone();
                }
                _ => unreachable!("update_mask allows only MAPPING_FIELDS"),
            }
        }
        let scope = merged.scope.clone().unwrap_or_default();
        if paths.iter().any(|p| p == "map") {
            checks::map(
                &mut check,
                &merged.map.clone().unwrap_or_default(),
                &scope.learning_opportunities,
            );
        }
        if check.is_empty() && paths.iter().any(|p| p == "scope") {
            self.check_sources(caller, &stored.jurisdiction, &scope, &mut check)
                .await?;
        }
        check.finish()?;
        let next = StoredMapping {
            version: stored.version + 1,
            body: Proto(merged),
            update_time: now_micros(),
            ..stored.clone()
        };
        let resource = name.to_string();
        let mut unit = self.events.begin().await?;
        if !store::update_mapping(unit.connection().await?, &next, stored.version).await? {
            return Err(ApiError::Aborted(
                "the mapping changed since it was read; read it again".to_owned(),
            ));
        }
        unit.audit(AuditRecord::by(
            caller,
            method,
            &resource,
            &stored.jurisdiction,
            &format!("ok: {}", paths.join(",")),
        ));
        unit.commit().await?;
        self.answer(&next).await
    }

    /// `AdvanceAggregateMapping`.
    pub async fn advance(
        &self,
        caller: &Caller,
        method: &str,
        request: pb::AdvanceAggregateMappingRequest,
    ) -> Result<pb::AggregateMapping, ApiError> {
        let name = AggregateMappingName::parse(&request.name, "name")?;
        let stored = self.load(caller, method, &name).await?;
        check_etag(&request.etag, &stored.version.to_string(), true)?;
        let from = stage_of(&stored);
        let Some(to) = stages::next(from) else {
            return Err(precondition(
                &request.name,
                "STAGE",
                "a published mapping has no further stage",
            ));
        };
        let current = self.answer(&stored).await?;
        let mut violations: Vec<PreconditionViolation> = current
            .next_stage_needs
            .iter()
            .map(|m| PreconditionViolation {
                kind: "STAGE".to_owned(),
                subject: format!("{}: {}", request.name, m.field),
                description: format!("{}: needs {}", m.field, m.description),
            })
            .collect();
        if violations.is_empty() && to == Stage::Published {
            violations = self.language(caller, &stored, &request.name).await?;
        }
        if !violations.is_empty() {
            return Err(ApiError::FailedPrecondition(violations));
        }
        let next = StoredMapping {
            stage: to as i32,
            version: stored.version + 1,
            update_time: now_micros(),
            ..stored.clone()
        };
        let mut unit = self.events.begin().await?;
        if !store::update_mapping(unit.connection().await?, &next, stored.version).await? {
            return Err(ApiError::Aborted(
                "the mapping changed since it was read; read it again".to_owned(),
            ));
        }
        unit.audit(AuditRecord::by(
            caller,
            method,
            &request.name,
            &stored.jurisdiction,
            &format!("ok: {} -> {}", from.label(), to.label()),
        ));
        unit.publish(NewEvent::of(
            request.name.clone(),
            stored.jurisdiction.clone(),
            &pb::AggregateMappingAdvanced {
                name: request.name.clone(),
                from: from as i32,
                to: to as i32,
            },
        ));
        unit.commit().await?;
        self.answer(&next).await
    }

    /// What a published mapping shows the partnership must pass review's
    /// language check: the process notes and every consideration.
    async fn language(
        &self,
        caller: &Caller,
        stored: &StoredMapping,
        name: &str,
    ) -> Result<Vec<PreconditionViolation>, ApiError> {
        let mut texts = vec![(
            "process_notes".to_owned(),
            stored.body.process_notes.clone(),
        )];
        for (i, part) in self
            .parts_of(stored, Kind::Considerations)
            .await?
            .iter()
            .enumerate()
        {
            let c = consideration(part, today());
            texts.push((format!("considerations[{i}].description"), c.description));
            texts.push((format!("considerations[{i}].owner"), c.owner));
        }
        let mut out = Vec::new();
        for (field, text) in texts {
            for finding in self
                .review
                .language(caller.bearer.expose_secret(), &text)
                .await?
            {
                let category = review::FindingCategory::try_from(finding.category)
                    .map(|c| c.label())
                    .unwrap_or("FINDING");
                out.push(PreconditionViolation {
                    kind: "LANGUAGE".to_owned(),
                    subject: format!("{name}: {field}"),
                    description: format!(
                        "{field}: {category} \"{}\"; {}",
                        finding.text, finding.suggestion
                    ),
                });
            }
        }
        Ok(out)
    }

    /// Refuses a new part of `kind` when the mapping has `max` already: what
    /// one mapping may hold is bounded, so no caller grows it without end.
    async fn room_for(
        &self,
        stored: &StoredMapping,
        kind: Kind,
        max: i64,
        name: &str,
    ) -> Result<(), ApiError> {
        let mut conn = self.db.acquire().await?;
        if store::count_parts(&mut conn, &stored.id, kind).await? >= max {
            return Err(precondition(
                name,
                "LIMIT",
                format!("a mapping holds at most {max} {}", kind.collection()),
            ));
        }
        Ok(())
    }

    /// A mapping the caller may change: not published.
    async fn writable(
        &self,
        caller: &Caller,
        method: &str,
        name: &AggregateMappingName,
    ) -> Result<StoredMapping, ApiError> {
        let stored = self.load(caller, method, name).await?;
        if stage_of(&stored) == Stage::Published {
            return Err(precondition(
                &name.to_string(),
                "STAGE",
                "a published mapping is read-only except its considerations' progress",
            ));
        }
        Ok(stored)
    }

    /// `CreateMappingSession`.
    pub async fn create_session(
        &self,
        caller: &Caller,
        method: &str,
        request: pb::CreateMappingSessionRequest,
    ) -> Result<pb::MappingSession, ApiError> {
        let parent = AggregateMappingName::parse(&request.parent, "parent")?;
        let given = request
            .session
            .ok_or_else(|| ApiError::invalid("session", "is required"))?;
        let mut check = Check::new("session.");
        checks::session(&mut check, &given);
        check.finish()?;
        let stored = self.writable(caller, method, &parent).await?;
        self.room_for(&stored, Kind::Sessions, MAX_SESSIONS, &request.parent)
            .await?;
        let now = now_micros();
        let id = uuid::Uuid::now_v7().to_string();
        let name = MappingPartName {
            mapping: parent.clone(),
            collection: Kind::Sessions.collection().to_owned(),
            id: id.clone(),
        }
        .to_string();
        let restricted =
            (!given.notes.is_empty()).then(|| self.sealer.seal(given.notes.as_bytes(), &name));
        let body = pb::MappingSession {
            date: given.date,
            agenda: given.agenda.clone(),
            ..Default::default()
        };
        let part = StoredPart {
            id,
            mapping_id: stored.id.clone(),
            jurisdiction: stored.jurisdiction.clone(),
            version: 1,
            body: body.encode_to_vec(),
            restricted: restricted.clone(),
            create_time: now,
            update_time: now,
        };
        let columns = PartColumns {
            restricted,
            ..Default::default()
        };
        let mut unit = self.events.begin().await?;
        store::insert_part(unit.connection().await?, Kind::Sessions, &part, &columns).await?;
        unit.audit(AuditRecord::by(
            caller,
            method,
            &name,
            &stored.jurisdiction,
            "ok",
        ));
        unit.commit().await?;
        Ok(session(&part, Some(given.notes)))
    }

    /// `ListMappingSessions`: notes only for `scr_lead` and `admin`.
    pub async fn list_sessions(
        &self,
        caller: &Caller,
        method: &str,
        request: pb::ListMappingSessionsRequest,
    ) -> Result<pb::ListMappingSessionsResponse, ApiError> {
        let parent = AggregateMappingName::parse(&request.parent, "parent")?;
        let stored = self.load(caller, method, &parent).await?;
        let reads_notes = caller.granted_any(&[Role::ScrLead, Role::Admin]);
        let mut sessions = Vec::new();
        for part in self.parts_of(&stored, Kind::Sessions).await? {
            let notes = match (&part.restricted, reads_notes) {
                (Some(sealed), true) => {
                    let name = part_name(&part, Kind::Sessions);
                    let plain = self.sealer.open(sealed, &name)?;
                    Some(String::from_utf8_lossy(&plain).into_owned())
                }
                _ => None,
            };
            sessions.push(session(&part, notes));
        }
        sessions.sort_by_key(|s| s.date.as_ref().and_then(to_date));
        self.guard
            .record(
                caller,
                method,
                &request.parent,
                if reads_notes { "ok: with notes" } else { "ok" },
            )
            .await?;
        Ok(pb::ListMappingSessionsResponse { sessions })
    }

    /// `CreateConsideration`.
    pub async fn create_consideration(
        &self,
        caller: &Caller,
        method: &str,
        request: pb::CreateConsiderationRequest,
    ) -> Result<pb::Consideration, ApiError> {
        let parent = AggregateMappingName::parse(&request.parent, "parent")?;
        let mut given = request
            .consideration
            .ok_or_else(|| ApiError::invalid("consideration", "is required"))?;
        if given.status == 0 {
            given.status = pb::ConsiderationStatus::Proposed as i32;
        }
        let stored = self.load(caller, method, &parent).await?;
        stages::consideration_writable(stage_of(&stored), "description")
            .map_err(|why| precondition(&request.parent, "STAGE", why))?;
        let map = stored.body.map.clone().unwrap_or_default();
        let nodes: HashSet<&str> = map.nodes.iter().map(|n| n.id.as_str()).collect();
        let mut check = Check::new("consideration.");
        checks::consideration(&mut check, &given, &nodes, today());
        check.finish()?;
        self.room_for(
            &stored,
            Kind::Considerations,
            MAX_CONSIDERATIONS,
            &request.parent,
        )
        .await?;
        let now = now_micros();
        let part = StoredPart {
            id: uuid::Uuid::now_v7().to_string(),
            mapping_id: stored.id.clone(),
            jurisdiction: stored.jurisdiction.clone(),
            version: 1,
            body: consideration_body(&given).encode_to_vec(),
            restricted: None,
            create_time: now,
            update_time: now,
        };
        let name = part_name(&part, Kind::Considerations);
        let mut unit = self.events.begin().await?;
        store::insert_part(
            unit.connection().await?,
            Kind::Considerations,
            &part,
            &columns_of(&given),
        )
        .await?;
        unit.audit(AuditRecord::by(
            caller,
            method,
            &name,
            &stored.jurisdiction,
            "ok",
        ));
        unit.publish(changed(&name, &stored.jurisdiction, &given));
        unit.commit().await?;
        Ok(consideration(&part, today()))
    }

    /// `UpdateConsideration`.
    pub async fn update_consideration(
        &self,
        caller: &Caller,
        method: &str,
        request: pb::UpdateConsiderationRequest,
    ) -> Result<pb::Consideration, ApiError> {
        let changes = request
            .consideration
            .ok_or_else(|| ApiError::invalid("consideration", "is required"))?;
        let name = MappingPartName::parse(
            &changes.name,
            Kind::Considerations.collection(),
            "consideration.name",
        )?;
        let paths = update_mask(request.update_mask.as_ref(), CONSIDERATION_FIELDS)?;
        let stored = self.load(caller, method, &name.mapping).await?;
        for path in &paths {
            stages::consideration_writable(stage_of(&stored), path)
                .map_err(|why| precondition(&changes.name, "STAGE", why))?;
        }
        let mut conn = self.db.acquire().await?;
        let part = match store::part(&mut conn, Kind::Considerations, &name.id).await? {
            Some(p) if p.mapping_id == stored.id => p,
            _ => {
                return Err(ApiError::NotFound {
                    resource: changes.name,
                });
            }
        };
        drop(conn);
        check_etag(&request.etag, &part.version.to_string(), true)?;
        let mut merged =
            pb::Consideration::decode(part.body.as_slice()).map_err(ApiError::internal)?;
        for path in &paths {
            match path.as_str() {
                "category" => merged.category = changes.category,
                "description" => merged.description = changes.description.clone(),
                "owner" => merged.owner = changes.owner.clone(),
                "due_date" => merged.due_date = changes.due_date,
                "strength" => merged.strength = changes.strength,
                "nodes" => merged.nodes = changes.nodes.clone(),
                "status" => merged.status = changes.status,
                "status_reason" => merged.status_reason = changes.status_reason.clone(),
                "done_date" => merged.done_date = changes.done_date,
                "check_date" => merged.check_date = changes.check_date,
                "effectiveness" => merged.effectiveness = changes.effectiveness,
                "evidence" => merged.evidence = changes.evidence.clone(),
                _ => unreachable!("update_mask allows only CONSIDERATION_FIELDS"),
            }
        }
        if merged.status == 0 {
            merged.status = pb::ConsiderationStatus::Proposed as i32;
        }
        let map = stored.body.map.clone().unwrap_or_default();
        let nodes: HashSet<&str> = map.nodes.iter().map(|n| n.id.as_str()).collect();
        let mut check = Check::new("consideration.");
        checks::consideration(&mut check, &merged, &nodes, today());
        check.finish()?;
        let next = StoredPart {
            version: part.version + 1,
            body: consideration_body(&merged).encode_to_vec(),
            update_time: now_micros(),
            ..part.clone()
        };
        let resource = name.to_string();
        let mut unit = self.events.begin().await?;
        if !store::update_part(
            unit.connection().await?,
            &next,
            &columns_of(&merged),
            part.version,
        )
        .await?
        {
            return Err(ApiError::Aborted(
                "the consideration changed since it was read; read it again".to_owned(),
            ));
        }
        unit.audit(AuditRecord::by(
            caller,
            method,
            &resource,
            &stored.jurisdiction,
            &format!("ok: {}", paths.join(",")),
        ));
        unit.publish(changed(&resource, &stored.jurisdiction, &merged));
        unit.commit().await?;
        Ok(consideration(&next, today()))
    }

    /// `ListConsiderations`.
    pub async fn list_considerations(
        &self,
        caller: &Caller,
        method: &str,
        request: pb::ListConsiderationsRequest,
    ) -> Result<pb::ListConsiderationsResponse, ApiError> {
        let parent = AggregateMappingName::parse(&request.parent, "parent")?;
        let stored = self.load(caller, method, &parent).await?;
        let today = today();
        let considerations = self
            .parts_of(&stored, Kind::Considerations)
            .await?
            .iter()
            .map(|p| consideration(p, today))
            .collect();
        self.guard
            .record(caller, method, &request.parent, "ok")
            .await?;
        Ok(pb::ListConsiderationsResponse { considerations })
    }

    /// `ListOverdueConsiderations`: the jurisdiction's and its counties'.
    pub async fn list_overdue(
        &self,
        caller: &Caller,
        method: &str,
        request: pb::ListOverdueConsiderationsRequest,
    ) -> Result<pb::ListOverdueConsiderationsResponse, ApiError> {
        let parent = JurisdictionName::parse(&request.parent, "parent")?;
        self.guard
            .authorize(caller, method, &request.parent, &parent.0)
            .await?;
        let mut jurisdictions = vec![parent.0.clone()];
        jurisdictions.extend(
            self.directory
                .iter()
                .filter(|j| self.directory.parent_of(&j.id) == Some(parent.0.as_str()))
                .map(|j| j.id.clone()),
        );
        let today = today();
        let mut conn = self.db.acquire().await?;
        let rows = store::overdue(
            &mut conn,
            &jurisdictions,
            &today.format("%Y-%m-%d").to_string(),
            MAX_OVERDUE,
        )
        .await?;
        drop(conn);
        self.guard
            .record(caller, method, &request.parent, "ok")
            .await?;
        Ok(pb::ListOverdueConsiderationsResponse {
            considerations: rows.iter().map(|p| consideration(p, today)).collect(),
        })
    }

    /// `WatchEvents`.
    pub async fn watch(
        &self,
        caller: &Caller,
        method: &str,
        request: WatchEventsRequest,
    ) -> Result<EventStream, ApiError> {
        self.events
            .watch_for(self.guard.log(), caller, method, request)
            .await
    }
}

/// A mapping as stored: no output fields.
fn stored_body(mut mapping: pb::AggregateMapping) -> pb::AggregateMapping {
    mapping.name.clear();
    mapping.stage = 0;
    mapping.next_stage_needs.clear();
    mapping.etag.clear();
    mapping.create_time = None;
    mapping.update_time = None;
    mapping
}

/// A stored mapping as answered (without `next_stage_needs`).
fn present(stored: &StoredMapping) -> pb::AggregateMapping {
    pb::AggregateMapping {
        name: AggregateMappingName::new(stored.jurisdiction.clone(), stored.id.clone()).to_string(),
        stage: stored.stage,
        etag: stored.version.to_string(),
        create_time: Some(timestamp_from_micros(stored.create_time)),
        update_time: Some(timestamp_from_micros(stored.update_time)),
        ..stored.body.0.clone()
    }
}

fn part_name(part: &StoredPart, kind: Kind) -> String {
    MappingPartName {
        mapping: AggregateMappingName::new(part.jurisdiction.clone(), part.mapping_id.clone()),
        collection: kind.collection().to_owned(),
        id: part.id.clone(),
    }
    .to_string()
}

/// A session as answered; `notes` when the caller may read them.
fn session(part: &StoredPart, notes: Option<String>) -> pb::MappingSession {
    let body = pb::MappingSession::decode(part.body.as_slice()).unwrap_or_default();
    pb::MappingSession {
        name: part_name(part, Kind::Sessions),
        notes: notes.unwrap_or_default(),
        has_notes: part.restricted.is_some(),
        create_time: Some(timestamp_from_micros(part.create_time)),
        ..body
    }
}

/// A consideration as stored: no output fields.
fn consideration_body(c: &pb::Consideration) -> pb::Consideration {
    pb::Consideration {
        name: String::new(),
        overdue: false,
        etag: String::new(),
        create_time: None,
        update_time: None,
        ..c.clone()
    }
}

/// A consideration as answered.
fn consideration(part: &StoredPart, today: NaiveDate) -> pb::Consideration {
    let body = pb::Consideration::decode(part.body.as_slice()).unwrap_or_default();
    pb::Consideration {
        name: part_name(part, Kind::Considerations),
        overdue: stages::overdue(&body, today),
        etag: part.version.to_string(),
        create_time: Some(timestamp_from_micros(part.create_time)),
        update_time: Some(timestamp_from_micros(part.update_time)),
        ..body
    }
}

/// The overdue list's columns of a consideration.
fn columns_of(c: &pb::Consideration) -> PartColumns {
    PartColumns {
        restricted: None,
        due_date: c
            .due_date
            .as_ref()
            .and_then(to_date)
            .map(|d| d.format("%Y-%m-%d").to_string()),
        open: stages::is_open(c.status),
    }
}

/// The event of a consideration recorded or changed: codes only.
fn changed(name: &str, jurisdiction: &str, c: &pb::Consideration) -> NewEvent {
    NewEvent::of(
        name.to_owned(),
        jurisdiction.to_owned(),
        &pb::ConsiderationChanged {
            name: name.to_owned(),
            category: c.category,
            strength: c.strength,
            status: c.status,
            effectiveness: c.effectiveness,
            due_date: c.due_date,
        },
    )
}
