//! One unit of work: a write transaction with the audit records and events it
//! owes, committed together, watchers woken after the commit.
//!
//! A handler begins a unit, queues its write statements ([`Statement`]), what
//! it did for the audit log and what others should hear, and commits. The
//! whole transaction runs at commit: on SQLite in one hand-off to the writer
//! thread (see `writer`), which may commit it together with others queued
//! behind it; on PostgreSQL through sqlx, statements first, then the audit
//! records and the events, so the audit chain's and the outbox's write lock
//! is held only for those last statements. Then the event log's watchers are
//! woken. A statement marked [`Statement::guarded`] that changes no row rolls
//! the unit back and the commit answers [`DbError::Guarded`].
//!
//! A handler that must read inside its transaction takes
//! [`UnitOfWork::connection`]: the transaction then opens at once (on SQLite
//! in a turn of the writer) and the rest of the unit runs on it.
//! A unit dropped without commit rolls back and leaves no record.

use sqlx::AnyConnection;

use crate::audit::{self, AuditRecord};
use crate::db::{Database, DbError, WriteTransaction, now_micros};
use crate::error::ApiError;
use crate::events::{self, EventLog, NewEvent};
use crate::statement::Statement;
use crate::writer::{AuditRow, Script};

/// A write in progress.
pub struct UnitOfWork {
    db: Database,
    log: Option<EventLog>,
    statements: Vec<Statement>,
    audits: Vec<AuditRecord>,
    events: Vec<NewEvent>,
    open: Option<WriteTransaction>,
}

impl std::fmt::Debug for UnitOfWork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnitOfWork")
            .field("statements", &self.statements.len())
            .field("audits", &self.audits.len())
            .field("events", &self.events.len())
            .field("open", &self.open.is_some())
            .finish_non_exhaustive()
    }
}

impl UnitOfWork {
    /// Begins a write on `db` that publishes no events. Nothing is asked of
    /// the database until the unit needs a connection or commits.
    pub async fn begin(db: &Database) -> Result<Self, DbError> {
        Ok(Self {
            db: db.clone(),
            log: None,
            statements: Vec::new(),
            audits: Vec::new(),
            events: Vec::new(),
            open: None,
        })
    }

    /// Begins a write whose events go to `log`, whose watchers are woken
    /// after the commit.
    pub async fn begin_with(log: &EventLog) -> Result<Self, DbError> {
        let mut unit = Self::begin(log.database()).await?;
        unit.log = Some(log.clone());
        Ok(unit)
    }

    /// Queues a write statement, run at commit in the order queued.
    pub fn write(&mut self, statement: Statement) {
        self.statements.push(statement);
    }

    /// Queues an audit record, appended at commit.
    pub fn audit(&mut self, record: AuditRecord) {
        self.audits.push(record);
    }

    /// Queues an event, appended at commit.
    pub fn publish(&mut self, event: NewEvent) {
        self.events.push(event);
    }

    /// The transaction's connection, for a handler that reads inside it:
    /// opens the transaction now and runs the statements queued so far.
    pub async fn connection(&mut self) -> Result<&mut AnyConnection, DbError> {
        let tx = match self.open.take() {
            Some(tx) => tx,
            None => self.db.begin_write().await?,
        };
        let tx = self.open.insert(tx);
        for statement in self.statements.drain(..) {
            statement.execute(tx).await?;
        }
        Ok(tx)
    }

    /// Commits; when the statement guarded by `guard` changed nothing, the
    /// unit rolled back and the answer is `refusal`'s.
    pub async fn commit_or(
        self,
        guard: &'static str,
        refusal: impl FnOnce() -> ApiError,
    ) -> Result<(), ApiError> {
        match self.commit().await {
            Err(DbError::Guarded(failed)) if failed == guard => Err(refusal()),
            other => Ok(other?),
        }
    }

    /// Runs the unit's statements, appends the audit records and then the
    /// events, commits, and wakes the event log's watchers.
    pub async fn commit(mut self) -> Result<(), DbError> {
        match (self.open.is_none(), self.db.sqlite_writer()) {
            (true, Some(_))
                if self.statements.is_empty()
                    && self.audits.is_empty()
                    && self.events.is_empty() => {}
            (true, Some(writer)) => {
                let backend = self.db.backend();
                let trace_id = crate::telemetry::current_trace_id();
                let time = now_micros();
                let script = Script {
                    statements: std::mem::take(&mut self.statements),
                    audits: self
                        .audits
                        .drain(..)
                        .map(|record| AuditRow {
                            record,
                            time,
                            trace_id: trace_id.clone(),
                        })
                        .collect(),
                    events: self
                        .events
                        .iter()
                        .map(|e| events::outbox_row(backend, e))
                        .collect(),
                };
                writer.run(script).await?;
            }
            _ => {
                self.connection().await?;
                let Some(mut tx) = self.open.take() else {
                    return Err(DbError::Other(anyhow::anyhow!("no transaction to commit")));
                };
                for record in &self.audits {
                    audit::append(&mut tx, &self.db, record).await?;
                }
                for event in &self.events {
                    events::append(&mut tx, self.db.backend(), event).await?;
                }
                tx.commit().await?;
            }
        }
        if !self.events.is_empty()
            && let Some(log) = &self.log
        {
            log.notify();
        }
        Ok(())
    }
}
