//! Review's use cases. Each checks who may act on the review, applies the
//! domain rules, and writes the change, its history entry, its audit record and
//! its event in one transaction.

mod intake_events;
mod parts;
mod reviews;
mod summaries;

use std::sync::Arc;

use chrono::NaiveDate;
use prost::Message;
use scir_kit::ApiError;
use scir_kit::audit::{AuditLog, AuditRecord};
use scir_kit::auth::{Caller, Role};
use scir_kit::db::{Database, DbError, timestamp_from_micros};
use scir_kit::directory::Directory;
use scir_kit::events::{EventLog, NewEvent};
use scir_kit::names::{PartName, ReviewName};
use scir_kit::sealing::Sealer;
use scir_kit::unit::UnitOfWork;
use scir_proto::review::v1 as pb;
use sha2::{Digest, Sha256};
use sqlx::AnyConnection;

pub use intake_events::IntakeEvents;

use crate::domain::language::LanguageChecker;
use crate::intake_link::IntakeLink;
use crate::scoring::ScoringStatus;
use crate::store::{self, StoredItem, StoredReview};

/// Collection id of team members.
pub const TEAM: &str = "teamMembers";

/// What a part's sealed restricted content is bound to.
fn restricted_context(item_id: &str) -> String {
    format!("scir.review.item:{item_id}")
}

/// Review's logic.
#[derive(Debug, Clone)]
pub struct Reviews {
    db: Database,
    audit: AuditLog,
    events: EventLog,
    language: Arc<LanguageChecker>,
    scoring: Arc<dyn ScoringStatus>,
    intake: IntakeLink,
    sealer: Sealer,
    directory: Arc<Directory>,
}

/// A parsed review name.
#[derive(Debug, Clone)]
pub struct ReviewRef {
    /// Jurisdiction id.
    pub jurisdiction: String,
    /// Review id.
    pub id: String,
    /// The full name.
    pub name: String,
}

/// What a caller needs to be for an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Any reader of the jurisdiction.
    Read,
    /// A member of the review team, or an admin.
    Write,
    /// The review's SCR lead, or an admin.
    Lead,
}

/// A loaded review with its team.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The review.
    pub review: StoredReview,
    /// Its team: (member id, subject, role).
    pub team: Vec<(String, pb::TeamMember)>,
    /// Whether the caller may read restricted parts (team member or admin).
    pub may_read_restricted: bool,
}

impl Reviews {
    /// Restricted content of part `item_id`, sealed for storage.
    fn seal_restricted(&self, item_id: &str, plain: Option<Vec<u8>>) -> Option<Vec<u8>> {
        plain.map(|p| self.sealer.seal(&p, &restricted_context(item_id)))
    }

    /// The stored part's restricted content, opened.
    fn open_restricted(&self, stored: &StoredItem) -> Result<Option<Vec<u8>>, ApiError> {
        Ok(stored
            .restricted
            .as_deref()
            .map(|sealed| self.sealer.open(sealed, &restricted_context(&stored.id)))
            .transpose()?)
    }

    /// Review over its database, event log, language checker, scoring status and intake.
    pub fn new(
        db: Database,
        events: EventLog,
        language: Arc<LanguageChecker>,
        scoring: Arc<dyn ScoringStatus>,
        intake: IntakeLink,
        sealer: Sealer,
        directory: Arc<Directory>,
    ) -> Self {
        Self {
            directory,
            sealer,
            audit: AuditLog::new(db.clone()),
            db,
            events,
            language,
            scoring,
            intake,
        }
    }

    fn today() -> NaiveDate {
        chrono::Utc::now().date_naive()
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

    /// Loads a review the caller may act on with `access`, auditing denials and misses.
    async fn load(
        &self,
        caller: &Caller,
        method: &str,
        review: &ReviewRef,
        access: Access,
    ) -> Result<Loaded, ApiError> {
        if caller
            .authorize_jurisdiction(&self.directory, &review.jurisdiction)
            .is_err()
        {
            self.record(
                caller,
                method,
                &review.name,
                &review.jurisdiction,
                "denied: jurisdiction",
            )
            .await?;
            return Err(ApiError::PermissionDenied(
                "the review belongs to another jurisdiction".to_owned(),
            ));
        }
        let mut conn = self.db.pool().acquire().await.map_err(DbError::from)?;
        let Some(stored) = store::get_review(&mut conn, &review.jurisdiction, &review.id).await?
        else {
            drop(conn);
            self.record(
                caller,
                method,
                &review.name,
                &review.jurisdiction,
                "error: NOT_FOUND",
            )
            .await?;
            return Err(ApiError::NotFound {
                resource: review.name.clone(),
            });
        };
        let team = team_of(&mut conn, &stored.id).await?;
        drop(conn);
        let admin = caller.granted.contains(&Role::Admin);
        // Team membership counts only through a team role that let the caller
        // into this call: an analyst whose subject matches a member's is still
        // an analyst here.
        let as_team = caller.granted_any(&[Role::Reviewer, Role::ScrLead]);
        let member = as_team && team.iter().any(|(_, m)| m.subject == caller.subject);
        let lead = caller.granted.contains(&Role::ScrLead)
            && team.iter().any(|(_, m)| {
                m.subject == caller.subject && m.role == pb::TeamRole::ScrLead as i32
            });
        let allowed = match access {
            Access::Read => true,
            Access::Write => admin || member,
            Access::Lead => {
                admin
                    || lead
                    || (team
                        .iter()
                        .all(|(_, m)| m.role != pb::TeamRole::ScrLead as i32)
                        && caller.granted.contains(&Role::ScrLead))
            }
        };
        if !allowed {
            self.record(
                caller,
                method,
                &review.name,
                &review.jurisdiction,
                "denied: not on the team",
            )
            .await?;
            let who = if access == Access::Lead {
                "the review's SCR lead"
            } else {
                "a member of the review team"
            };
            return Err(ApiError::PermissionDenied(format!(
                "only {who} or an admin may do this"
            )));
        }
        Ok(Loaded {
            review: stored,
            team,
            may_read_restricted: admin || member,
        })
    }

    /// Records a change in `unit`: its history entry, and its audit record
    /// and event for the commit.
    #[allow(clippy::too_many_arguments)]
    async fn log_change(
        &self,
        unit: &mut UnitOfWork,
        caller: &Caller,
        method: &str,
        review: &StoredReview,
        resource: &str,
        action: &str,
        reason: &str,
        event: Option<prost_types::Any>,
    ) -> Result<(), ApiError> {
        let now = scir_kit::db::now_micros();
        unit.write(store::append_history(
            &review.id,
            now,
            &caller.subject,
            action,
            review.body.stage,
            reason,
        ));
        unit.audit(AuditRecord::by(
            caller,
            method,
            resource,
            &review.jurisdiction,
            "ok",
        ));
        if let Some(payload) = event {
            unit.publish(NewEvent::with_payload(
                resource.to_owned(),
                review.jurisdiction.clone(),
                payload,
            ));
        }
        Ok(())
    }
}

/// The team of a review, in the order members were added.
async fn team_of(
    conn: &mut AnyConnection,
    review_id: &str,
) -> Result<Vec<(String, pb::TeamMember)>, ApiError> {
    let items = store::list_items(conn, review_id, TEAM, 0, 1000).await?;
    items
        .into_iter()
        .map(|i| {
            Ok((
                i.id.clone(),
                pb::TeamMember::decode(i.body.as_slice()).map_err(ApiError::internal)?,
            ))
        })
        .collect()
}

/// Parses `jurisdictions/{j}/reviews/{id}`.
pub fn parse_review_name(name: &str, field: &str) -> Result<ReviewRef, ApiError> {
    let parsed = ReviewName::parse(name, field)?;
    Ok(ReviewRef {
        jurisdiction: parsed.jurisdiction,
        id: parsed.id,
        name: name.to_owned(),
    })
}

/// Parses `jurisdictions/{j}/reviews/{r}/{collection}/{id}`.
pub fn parse_part_name(
    name: &str,
    collection: &str,
    field: &str,
) -> Result<(ReviewRef, String), ApiError> {
    let part = PartName::parse(name, collection, field)?;
    let review = ReviewRef {
        name: part.review.to_string(),
        jurisdiction: part.review.jurisdiction,
        id: part.review.id,
    };
    Ok((review, part.id))
}

/// An etag of a resource at a version.
pub fn etag(id: &str, version: i32) -> String {
    let digest = Sha256::digest(format!("{id}:{version}"));
    format!("\"{}\"", hex::encode(&digest[..8]))
}

fn findings(
    checker: &LanguageChecker,
    fields: &[(&'static str, String)],
) -> Vec<pb::LanguageFinding> {
    fields
        .iter()
        .flat_map(|(field, text)| {
            checker
                .check(text)
                .into_iter()
                .map(move |f| pb::LanguageFinding {
                    field: (*field).to_owned(),
                    start: f.start as i32,
                    end: f.end as i32,
                    text: f.text,
                    category: f.category as i32,
                    suggestion: f.suggestion,
                })
        })
        .collect()
}

fn timestamp(micros: i64) -> Option<prost_types::Timestamp> {
    Some(timestamp_from_micros(micros))
}

impl Reviews {
    /// `WatchEvents`.
    pub async fn watch(
        &self,
        caller: &Caller,
        method: &str,
        request: scir_proto::common::v1::WatchEventsRequest,
    ) -> Result<
        tokio_stream::wrappers::ReceiverStream<
            Result<scir_proto::common::v1::Event, tonic::Status>,
        >,
        ApiError,
    > {
        let stream = self.events.watch(request)?;
        self.record(caller, method, "events", "", "ok").await?;
        Ok(stream)
    }
}

pub(crate) use scir_kit::validate::{check_etag, update_mask};
