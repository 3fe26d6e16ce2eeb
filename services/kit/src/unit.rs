//! One unit of work: a write transaction with the audit records and events it
//! owes, committed together, watchers woken after the commit.
//!
//! A handler begins a unit, runs its statements through it (it dereferences
//! to the connection), queues what it did for the audit log and what others
//! should hear, and commits: the audit records and events are appended in the
//! same transaction, at the end, so the audit chain's and the outbox's write
//! lock is held only for those last statements; then the event log's watchers
//! are woken. A unit dropped without commit rolls back and leaves no record.

use std::ops::{Deref, DerefMut};

use sqlx::AnyConnection;

use crate::audit::{self, AuditRecord};
use crate::db::{Database, DbError};
use crate::events::{self, EventLog, NewEvent};

/// A write in progress.
pub struct UnitOfWork {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    db: Database,
    log: Option<EventLog>,
    audits: Vec<AuditRecord>,
    events: Vec<NewEvent>,
}

impl std::fmt::Debug for UnitOfWork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnitOfWork")
            .field("audits", &self.audits.len())
            .field("events", &self.events.len())
            .finish_non_exhaustive()
    }
}

impl UnitOfWork {
    /// Begins a write on `db` that publishes no events.
    pub async fn begin(db: &Database) -> Result<Self, DbError> {
        Ok(Self {
            tx: db.begin_write().await?,
            db: db.clone(),
            log: None,
            audits: Vec::new(),
            events: Vec::new(),
        })
    }

    /// Begins a write whose events go to `log`, whose watchers are woken
    /// after the commit.
    pub async fn begin_with(log: &EventLog) -> Result<Self, DbError> {
        let mut unit = Self::begin(log.database()).await?;
        unit.log = Some(log.clone());
        Ok(unit)
    }

    /// Queues an audit record, appended at commit.
    pub fn audit(&mut self, record: AuditRecord) {
        self.audits.push(record);
    }

    /// Queues an event, appended at commit.
    pub fn publish(&mut self, event: NewEvent) {
        self.events.push(event);
    }

    /// Appends the audit records, then the events, commits, and wakes the
    /// event log's watchers.
    pub async fn commit(mut self) -> Result<(), DbError> {
        for record in &self.audits {
            audit::append(&mut self.tx, &self.db, record).await?;
        }
        for event in &self.events {
            events::append(&mut self.tx, self.db.backend(), event).await?;
        }
        self.tx.commit().await?;
        if !self.events.is_empty()
            && let Some(log) = &self.log
        {
            log.notify();
        }
        Ok(())
    }
}

impl Deref for UnitOfWork {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl DerefMut for UnitOfWork {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}
