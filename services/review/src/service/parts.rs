//! The parts of a review and its team: one generic lifecycle for every kind.

use std::collections::{HashMap, HashSet};

use prost::Message;
use scir_kit::auth::Caller;
use scir_kit::db::{DbError, now_micros};
use scir_kit::validate::Check;
use scir_kit::{ApiError, pagination};
use scir_proto::Labelled;
use scir_proto::review::v1 as pb;

use super::{
    Access, Loaded, Reviews, TEAM, check_etag, etag, findings, parse_part_name, parse_review_name,
    timestamp, update_mask,
};
use crate::domain::stages::{PartChange, part_change_allowed};
use crate::items::{Item, ItemContext};
use crate::store::{self, StoredItem};

/// A page of parts.
#[derive(Debug)]
pub struct Page<I> {
    /// The parts.
    pub items: Vec<I>,
    /// Token for the next page.
    pub next_page_token: String,
}

impl Reviews {
    /// A part of kind `I` may undergo `change` at the review's stage.
    fn writable<I: Item>(&self, loaded: &Loaded, change: PartChange<'_>) -> Result<(), ApiError> {
        Self::stage_allows(loaded, change, I::WRITABLE_WHEN_FINAL)
    }

    /// The review's stage allows `change` to a part whose kind may still change
    /// the fields `after_final` once finalised (none for the team).
    fn stage_allows(
        loaded: &Loaded,
        change: PartChange<'_>,
        after_final: &[&str],
    ) -> Result<(), ApiError> {
        let stage = pb::Stage::try_from(loaded.review.body.stage).unwrap_or_default();
        part_change_allowed(stage, change, after_final).map_err(|description| {
            ApiError::FailedPrecondition(vec![scir_kit::error::PreconditionViolation {
                kind: "STAGE".to_owned(),
                subject: loaded.review.body.name.clone(),
                description,
            }])
        })
    }

    async fn context_names(
        &self,
        review_id: &str,
        review_name: &str,
        collections: &[&'static str],
    ) -> Result<HashMap<&'static str, HashSet<String>>, ApiError> {
        let mut conn = self.db.pool().acquire().await.map_err(DbError::from)?;
        let mut out = HashMap::new();
        for collection in collections {
            let items = store::list_items(&mut conn, review_id, collection, 0, 10_000).await?;
            out.insert(
                *collection,
                items
                    .into_iter()
                    .map(|i| format!("{review_name}/{collection}/{}", i.id))
                    .collect(),
            );
        }
        Ok(out)
    }

    fn validate<I: Item>(
        &self,
        loaded: &Loaded,
        item: &I,
        existing: &HashMap<&'static str, HashSet<String>>,
    ) -> Result<(), ApiError> {
        let body = &loaded.review.body;
        let date =
            |d: Option<&scir_proto::common::v1::Date>| d.and_then(scir_kit::validate::to_date);
        let period = (
            date(body.period_start.as_ref()).unwrap_or(chrono::NaiveDate::MIN),
            date(body.period_end.as_ref()).unwrap_or(chrono::NaiveDate::MAX),
        );
        let ctx = ItemContext {
            review: &body.name,
            period,
            today: Self::today(),
            existing,
        };
        let prefix = format!("{}.", I::FIELD);
        let mut check = Check::new(&prefix);
        item.validate(&ctx, &mut check);
        check.finish()
    }

    fn present<I: Item>(&self, loaded: &Loaded, stored: &StoredItem) -> Result<I, ApiError> {
        let mut item = I::decode(stored.body.as_slice()).map_err(ApiError::internal)?;
        if loaded.may_read_restricted
            && let Some(bytes) = self.open_restricted(stored)?
        {
            item.put_restricted(&bytes);
        }
        let fields = item.narrative();
        let found = findings(&self.language, &fields);
        let m = item.meta();
        *m.name = format!(
            "{}/{}/{}",
            loaded.review.body.name,
            I::COLLECTION,
            stored.id
        );
        *m.etag = etag(&stored.id, stored.version);
        *m.create_time = timestamp(stored.create_time);
        *m.update_time = timestamp(stored.update_time);
        *m.findings = found;
        Ok(item)
    }

    /// Loads a part of a loaded review, auditing a miss.
    async fn fetch_part<I: Item>(
        &self,
        caller: &Caller,
        method: &str,
        loaded: &Loaded,
        review: &super::ReviewRef,
        id: &str,
        name: &str,
    ) -> Result<StoredItem, ApiError> {
        let mut conn = self.db.pool().acquire().await.map_err(DbError::from)?;
        let stored = store::get_item(&mut conn, &loaded.review.id, I::COLLECTION, id).await?;
        drop(conn);
        match stored {
            Some(stored) => Ok(stored),
            None => {
                self.record(
                    caller,
                    method,
                    name,
                    &review.jurisdiction,
                    "error: NOT_FOUND",
                )
                .await?;
                Err(ApiError::NotFound {
                    resource: name.to_owned(),
                })
            }
        }
    }

    /// Creates a part.
    pub async fn create_part<I: Item>(
        &self,
        caller: &Caller,
        method: &str,
        parent: &str,
        item: Option<I>,
    ) -> Result<I, ApiError> {
        let review = parse_review_name(parent, "parent")?;
        let mut item = item.ok_or_else(|| ApiError::invalid(I::FIELD, "is required"))?;
        item.clear_output();
        let loaded = self.load(caller, method, &review, Access::Write).await?;
        self.writable::<I>(&loaded, PartChange::Create)?;
        let existing = self
            .context_names(&loaded.review.id, &review.name, I::LINKED)
            .await?;
        self.validate(&loaded, &item, &existing)?;

        let now = now_micros();
        let id = uuid::Uuid::now_v7().to_string();
        let name = format!("{}/{}/{id}", review.name, I::COLLECTION);
        let event = item.event(&review.name, &name, false);
        let restricted = self.seal_restricted(&id, item.take_restricted());
        let stored = StoredItem {
            seq: 0,
            id,
            version: 1,
            body: item.encode_to_vec(),
            restricted,
            create_time: now,
            update_time: now,
        };
        let mut tx = self.events.begin().await?;
        tx.write(store::insert_item(
            &loaded.review.id,
            I::COLLECTION,
            &stored,
            None,
        ));
        let event = event.clone();
        self.log_change(
            &mut tx,
            caller,
            method,
            &loaded.review,
            &name,
            &format!("created {name}"),
            "",
            event,
        )
        .await?;
        tx.commit().await?;
        self.present(&loaded, &stored)
    }

    /// Gets a part.
    pub async fn get_part<I: Item>(
        &self,
        caller: &Caller,
        method: &str,
        name: &str,
    ) -> Result<I, ApiError> {
        let (review, id) = parse_part_name(name, I::COLLECTION, "name")?;
        let loaded = self.load(caller, method, &review, Access::Read).await?;
        let stored = self
            .fetch_part::<I>(caller, method, &loaded, &review, &id, name)
            .await?;
        self.record(caller, method, name, &review.jurisdiction, "ok")
            .await?;
        self.present(&loaded, &stored)
    }

    /// Lists parts in creation order.
    pub async fn list_parts<I: Item>(
        &self,
        caller: &Caller,
        method: &str,
        parent: &str,
        page_size: i32,
        page_token: &str,
    ) -> Result<Page<I>, ApiError> {
        let review = parse_review_name(parent, "parent")?;
        let size = pagination::page_size(page_size)?;
        let fingerprint = pagination::filter_fingerprint(&[parent, I::COLLECTION]);
        let after = pagination::decode_token(page_token, &fingerprint)?.unwrap_or(0);
        let loaded = self.load(caller, method, &review, Access::Read).await?;
        let mut conn = self.db.pool().acquire().await.map_err(DbError::from)?;
        let mut rows =
            store::list_items(&mut conn, &loaded.review.id, I::COLLECTION, after, size + 1).await?;
        drop(conn);
        let next_page_token = pagination::next_page(&mut rows, size, |r| r.seq, &fingerprint);
        self.record(
            caller,
            method,
            parent,
            &review.jurisdiction,
            &format!("ok: {} listed", rows.len()),
        )
        .await?;
        let items = rows
            .iter()
            .map(|r| self.present(&loaded, r))
            .collect::<Result<_, _>>()?;
        Ok(Page {
            items,
            next_page_token,
        })
    }

    /// Updates the fields of a part that `mask` names.
    pub async fn update_part<I: Item>(
        &self,
        caller: &Caller,
        method: &str,
        item: Option<I>,
        mask: Option<&prost_types::FieldMask>,
        given_etag: &str,
    ) -> Result<I, ApiError> {
        let mut source = item.ok_or_else(|| ApiError::invalid(I::FIELD, "is required"))?;
        let name = source.meta().name.clone();
        let (review, id) = parse_part_name(&name, I::COLLECTION, &format!("{}.name", I::FIELD))?;
        let paths = update_mask(mask, I::FIELDS)?;
        let loaded = self.load(caller, method, &review, Access::Write).await?;
        self.writable::<I>(&loaded, PartChange::Update(&paths))?;
        let mut stored = self
            .fetch_part::<I>(caller, method, &loaded, &review, &id, &name)
            .await?;
        check_etag(given_etag, &etag(&stored.id, stored.version), false)?;
        let mut current = I::decode(stored.body.as_slice()).map_err(ApiError::internal)?;
        if let Some(bytes) = self.open_restricted(&stored)? {
            current.put_restricted(&bytes);
        }
        source.clear_output();
        let changed: Vec<_> = paths
            .iter()
            .filter(|p| current.apply_field(p, &source))
            .cloned()
            .collect();
        let existing = self
            .context_names(&loaded.review.id, &review.name, I::LINKED)
            .await?;
        self.validate(&loaded, &current, &existing)?;
        if changed.is_empty() {
            return self.present(&loaded, &stored);
        }

        let now = now_micros();
        let event = current.event(&review.name, &name, false);
        stored.restricted = self.seal_restricted(&stored.id, current.take_restricted());
        stored.body = current.encode_to_vec();
        let mut tx = self.events.begin().await?;
        tx.write(store::update_item(&stored, now));
        let action = format!("updated {name}: {}", changed.join(", "));
        self.log_change(
            &mut tx,
            caller,
            method,
            &loaded.review,
            &name,
            &action,
            "",
            event,
        )
        .await?;
        tx.commit_or(store::VERSION_MOVED, || {
            ApiError::Aborted("a concurrent change won; read it again".to_owned())
        })
        .await?;
        stored.version += 1;
        stored.update_time = now;
        self.present(&loaded, &stored)
    }

    /// Deletes a part.
    pub async fn delete_part<I: Item>(
        &self,
        caller: &Caller,
        method: &str,
        name: &str,
        given_etag: &str,
    ) -> Result<(), ApiError> {
        let (review, id) = parse_part_name(name, I::COLLECTION, "name")?;
        let loaded = self.load(caller, method, &review, Access::Write).await?;
        self.writable::<I>(&loaded, PartChange::Delete)?;
        let stored = self
            .fetch_part::<I>(caller, method, &loaded, &review, &id, name)
            .await?;
        check_etag(given_etag, &etag(&stored.id, stored.version), false)?;
        let current = I::decode(stored.body.as_slice()).map_err(ApiError::internal)?;
        let event = current.event(&review.name, name, true);
        let mut tx = self.events.begin().await?;
        tx.write(store::delete_item(&stored.id, stored.version));
        self.log_change(
            &mut tx,
            caller,
            method,
            &loaded.review,
            name,
            &format!("deleted {name}"),
            "",
            event,
        )
        .await?;
        tx.commit_or(store::VERSION_MOVED, || {
            ApiError::Aborted("a concurrent change won; read it again".to_owned())
        })
        .await?;
        Ok(())
    }

    /// Adds a member to the team.
    pub async fn add_member(
        &self,
        caller: &Caller,
        method: &str,
        parent: &str,
        member: Option<pb::TeamMember>,
    ) -> Result<pb::TeamMember, ApiError> {
        let review = parse_review_name(parent, "parent")?;
        let member = member.ok_or_else(|| ApiError::invalid("member", "is required"))?;
        let mut check = Check::new("member.");
        check.text("subject", &member.subject, 128, true);
        check.required_enum::<pb::TeamRole>("role", member.role);
        check.finish()?;
        let loaded = self.load(caller, method, &review, Access::Lead).await?;
        Self::stage_allows(&loaded, PartChange::Create, &[])?;
        let exists = || ApiError::AlreadyExists {
            reason: "TEAM_MEMBER_EXISTS",
            message: "the member already has this role on the team".to_owned(),
        };
        let lead_taken = || {
            ApiError::FailedPrecondition(vec![scir_kit::error::PreconditionViolation {
                kind: "TEAM".to_owned(),
                subject: review.name.clone(),
                description: "the review already has an SCR lead; remove them first".to_owned(),
            }])
        };
        let is_lead = member.role == pb::TeamRole::ScrLead as i32;
        if loaded
            .team
            .iter()
            .any(|(_, m)| m.subject == member.subject && m.role == member.role)
        {
            return Err(exists());
        }
        if is_lead
            && loaded
                .team
                .iter()
                .any(|(_, m)| m.role == pb::TeamRole::ScrLead as i32)
        {
            return Err(lead_taken());
        }
        let now = now_micros();
        let id = uuid::Uuid::now_v7().to_string();
        let name = format!("{}/{TEAM}/{id}", review.name);
        let stored_member = pb::TeamMember {
            name: String::new(),
            subject: member.subject.clone(),
            role: member.role,
            create_time: None,
        };
        let stored = StoredItem {
            seq: 0,
            id,
            version: 1,
            body: stored_member.encode_to_vec(),
            restricted: None,
            create_time: now,
            update_time: now,
        };
        let mut tx = self.events.begin().await?;
        // The checks above answer the common case precisely; the key makes the
        // database refuse a second lead (or a repeated member) that raced in
        // between the read and this write.
        tx.write(store::insert_member(
            &loaded.review.id,
            &stored,
            &team_key(&member),
            &member.subject,
        ));
        let role = pb::TeamRole::try_from(member.role)
            .unwrap_or_default()
            .label();
        self.log_change(
            &mut tx,
            caller,
            method,
            &loaded.review,
            &name,
            &format!("added a team member as {role}"),
            "",
            None,
        )
        .await?;
        tx.commit_or(store::KEY_TAKEN, || {
            if is_lead { lead_taken() } else { exists() }
        })
        .await?;
        Ok(pb::TeamMember {
            name,
            create_time: timestamp(now),
            ..stored_member
        })
    }

    /// Lists the team.
    pub async fn list_members(
        &self,
        caller: &Caller,
        method: &str,
        parent: &str,
    ) -> Result<Vec<pb::TeamMember>, ApiError> {
        let review = parse_review_name(parent, "parent")?;
        let loaded = self.load(caller, method, &review, Access::Read).await?;
        self.record(caller, method, parent, &review.jurisdiction, "ok")
            .await?;
        let mut conn = self.db.pool().acquire().await.map_err(DbError::from)?;
        let items = store::list_items(&mut conn, &loaded.review.id, TEAM, 0, 1000).await?;
        items
            .iter()
            .map(|i| {
                let member =
                    pb::TeamMember::decode(i.body.as_slice()).map_err(ApiError::internal)?;
                Ok(pb::TeamMember {
                    name: format!("{parent}/{TEAM}/{}", i.id),
                    create_time: timestamp(i.create_time),
                    ..member
                })
            })
            .collect()
    }

    /// Removes a member from the team.
    pub async fn remove_member(
        &self,
        caller: &Caller,
        method: &str,
        name: &str,
    ) -> Result<(), ApiError> {
        let (review, id) = parse_part_name(name, TEAM, "name")?;
        let loaded = self.load(caller, method, &review, Access::Lead).await?;
        Self::stage_allows(&loaded, PartChange::Delete, &[])?;
        let Some((_, member)) = loaded.team.iter().find(|(i, _)| *i == id) else {
            return Err(ApiError::NotFound {
                resource: name.to_owned(),
            });
        };
        let role = pb::TeamRole::try_from(member.role)
            .unwrap_or_default()
            .label();
        let mut tx = self.events.begin().await?;
        tx.write(store::delete_item(&id, 1));
        self.log_change(
            &mut tx,
            caller,
            method,
            &loaded.review,
            name,
            &format!("removed a team member ({role})"),
            "",
            None,
        )
        .await?;
        tx.commit_or(store::VERSION_MOVED, || {
            ApiError::Aborted("the member was removed concurrently; read the team again".to_owned())
        })
        .await?;
        Ok(())
    }
}

/// The key that keeps a team "at most one": one SCR lead per review, and each
/// person at most once in each other role.
fn team_key(member: &pb::TeamMember) -> String {
    if member.role == pb::TeamRole::ScrLead as i32 {
        "SCR_LEAD".to_owned()
    } else {
        format!("{}:{}", member.role, member.subject)
    }
}
