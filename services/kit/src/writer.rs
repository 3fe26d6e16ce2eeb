//! SQLite's write path: one thread owns the writer connection and runs each
//! unit of work's whole transaction (its statements, audit records and
//! events) in one hand-off, committing the units queued behind each other
//! together.
//!
//! Through sqlx every statement is a round trip to the connection's own
//! thread (two thread wake-ups), and SQLite's one writer is held across all
//! of them; here the async side sends the finished unit once and waits for
//! one answer, so the writer's turn is SQLite's own work. Units that arrive
//! while one is running wait in the queue and are committed as a group: one
//! `BEGIN IMMEDIATE ... COMMIT`, each unit inside its own savepoint, so a unit
//! that fails rolls back alone. Nobody is answered before the commit
//! returns, so every acknowledged write is as durable as `synchronous`
//! makes a commit.
//!
//! Writers that need a connection in the middle of their work (reads inside
//! the transaction, sqlx-only statements) ask for a [`Turn`]: the thread
//! stops between groups until the turn ends, and the caller writes through
//! sqlx's writer connection meanwhile, so the two never contend for the lock.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags};
use tokio::sync::oneshot;

use crate::audit::{self, AuditRecord};
use crate::db::DbError;
use crate::statement::{Statement, Value};

/// Most units committed as one group.
const MAX_GROUP: usize = 64;

/// Prepared statements the writer keeps.
const STATEMENT_CACHE: usize = 128;

/// The handle to the writer thread; clones share it.
#[derive(Debug, Clone)]
pub(crate) struct Writer {
    jobs: mpsc::Sender<Job>,
    wait: Duration,
    running: Arc<AtomicBool>,
}

/// Marks the writer stopped when its thread ends, by return or by panic.
struct Running(Arc<AtomicBool>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// A unit's whole transaction, as the writer runs it.
#[derive(Debug, Default)]
pub(crate) struct Script {
    /// The service's statements, in order.
    pub(crate) statements: Vec<Statement>,
    /// Audit records, appended to the chain after the statements.
    pub(crate) audits: Vec<AuditRow>,
    /// The outbox rows, after the audit records.
    pub(crate) events: Vec<Statement>,
}

/// An audit record with the time and trace it was made under (taken on the
/// caller's task, where the trace is).
#[derive(Debug)]
pub(crate) struct AuditRow {
    pub(crate) record: AuditRecord,
    pub(crate) time: i64,
    pub(crate) trace_id: String,
}

/// A write turn on sqlx's writer connection; the writer thread waits until
/// it is dropped.
#[derive(Debug)]
pub(crate) struct Turn {
    _done: mpsc::Sender<()>,
}

#[derive(Debug)]
enum Job {
    Run {
        script: Script,
        ticket: Ticket,
        reply: oneshot::Sender<Result<(), DbError>>,
    },
    Turn {
        ticket: Ticket,
        granted: oneshot::Sender<Turn>,
    },
    Close(oneshot::Sender<()>),
}

/// Who a queued job belongs to now: still queued, taken by the writer, or
/// given up by a caller that waited too long. Exactly one side wins, so a
/// caller told "no turn" knows nothing was written.
#[derive(Debug, Clone, Default)]
struct Ticket(Arc<AtomicU8>);

const QUEUED: u8 = 0;
const TAKEN: u8 = 1;
const ABANDONED: u8 = 2;

impl Ticket {
    fn take(&self) -> bool {
        self.0
            .compare_exchange(QUEUED, TAKEN, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    fn abandon(&self) -> bool {
        self.0
            .compare_exchange(QUEUED, ABANDONED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }
}

impl Writer {
    /// Opens the writer connection to `file` on a thread of its own. A job
    /// waits at most `wait` in the queue before it is refused as busy.
    pub(crate) async fn open(
        file: &Path,
        wait: Duration,
        head: Arc<Mutex<Option<String>>>,
    ) -> Result<Self, DbError> {
        let (jobs, queue) = mpsc::channel();
        let (opened, is_open) = oneshot::channel();
        let file = file.to_owned();
        let running = Arc::new(AtomicBool::new(true));
        let marker = Running(Arc::clone(&running));
        std::thread::Builder::new()
            .name("sqlite-writer".to_owned())
            .spawn(move || {
                let running = marker;
                match connect(&file, wait) {
                    Ok(conn) => {
                        let _ = opened.send(Ok(()));
                        let closing = serve(&conn, &queue, &head);
                        // The connection closes, and the writer says it has
                        // stopped, before whoever asked hears so.
                        drop(conn);
                        drop(running);
                        drop(closing);
                    }
                    Err(e) => {
                        let _ = opened.send(Err(e));
                    }
                }
            })
            .map_err(|e| DbError::Other(anyhow::Error::new(e).context("starting the writer")))?;
        match is_open.await {
            Ok(Ok(())) => Ok(Self {
                jobs,
                wait,
                running,
            }),
            Ok(Err(e)) => Err(sqlite_error(e)),
            Err(_) => Err(DbError::Other(anyhow::anyhow!("the writer thread ended"))),
        }
    }

    /// Runs `script` as one transaction (or a savepoint in a group).
    pub(crate) async fn run(&self, script: Script) -> Result<(), DbError> {
        let ticket = Ticket::default();
        let (reply, answer) = oneshot::channel();
        self.send(Job::Run {
            script,
            ticket: ticket.clone(),
            reply,
        })?;
        let answer = self.await_taken(&ticket, answer).await?;
        answer.map_err(|_| gone())?
    }

    /// Waits for the writer to stop between groups, for a write through
    /// sqlx's connection.
    pub(crate) async fn turn(&self) -> Result<Turn, DbError> {
        let ticket = Ticket::default();
        let (granted, grant) = oneshot::channel();
        self.send(Job::Turn {
            ticket: ticket.clone(),
            granted,
        })?;
        self.await_taken(&ticket, grant).await?.map_err(|_| gone())
    }

    /// Whether the thread still takes jobs.
    pub(crate) fn is_running(&self) -> bool {
        self.running.load(Ordering::Acquire)
    }

    /// Stops the thread once the jobs queued before are done, and waits for
    /// the connection to close.
    pub(crate) async fn close(&self) {
        let (done, closed) = oneshot::channel();
        if self.jobs.send(Job::Close(done)).is_ok() {
            let _ = closed.await;
        }
    }

    fn send(&self, job: Job) -> Result<(), DbError> {
        self.jobs.send(job).map_err(|_| gone())
    }

    /// The answer, once the writer took the job; refused as busy when the
    /// job waited in the queue longer than a write waits (and then it will
    /// never run).
    async fn await_taken<T>(
        &self,
        ticket: &Ticket,
        mut answer: oneshot::Receiver<T>,
    ) -> Result<Result<T, oneshot::error::RecvError>, DbError> {
        match tokio::time::timeout(self.wait, &mut answer).await {
            Ok(answer) => Ok(answer),
            Err(_) if ticket.abandon() => Err(DbError::WriterBusy(self.wait)),
            // Taken just now: it runs, so its answer is the answer.
            Err(_) => Ok(answer.await),
        }
    }
}

fn gone() -> DbError {
    DbError::Unavailable(anyhow::anyhow!("the database writer has stopped").into())
}

fn connect(file: &Path, wait: Duration) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        file,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(wait)?;
    // The same settings as every sqlx connection (`Database::open`).
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// The writer thread: jobs in arrival order; runs queued behind each other
/// committed together. Returns at a close (with whom to tell) or when every
/// handle is gone.
fn serve(
    conn: &Connection,
    queue: &mpsc::Receiver<Job>,
    head: &Mutex<Option<String>>,
) -> Option<oneshot::Sender<()>> {
    let mut next: Option<Job> = None;
    loop {
        let job = match next.take() {
            Some(job) => job,
            None => match queue.recv() {
                Ok(job) => job,
                Err(_) => return None,
            },
        };
        match job {
            Job::Close(done) => return Some(done),
            Job::Turn { ticket, granted } => {
                // A caller that went away (its request cancelled) is skipped.
                if !granted.is_closed() && ticket.take() {
                    let (done, ended) = mpsc::channel();
                    if granted.send(Turn { _done: done }).is_ok() {
                        // Returns when the turn is dropped.
                        let _ = ended.recv();
                    }
                }
            }
            Job::Run {
                script,
                ticket,
                reply,
            } => {
                let mut group = Vec::new();
                if !reply.is_closed() && ticket.take() {
                    group.push((script, reply));
                }
                while group.len() < MAX_GROUP {
                    match queue.try_recv() {
                        Ok(Job::Run {
                            script,
                            ticket,
                            reply,
                        }) => {
                            if !reply.is_closed() && ticket.take() {
                                group.push((script, reply));
                            }
                        }
                        Ok(other) => {
                            next = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                if !group.is_empty() {
                    commit_group(conn, group, head);
                }
            }
        }
    }
}

type Pending = (Script, oneshot::Sender<Result<(), DbError>>);

/// One transaction for the group; each script in a savepoint of its own
/// when there are several. Answers go out after the commit.
fn commit_group(conn: &Connection, mut group: Vec<Pending>, head: &Mutex<Option<String>>) {
    let mut chain = head
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    if let Err(e) = exec(conn, "BEGIN IMMEDIATE") {
        answer_all(group, &e);
        return;
    }
    if group.len() == 1
        && let Some((script, reply)) = group.pop()
    {
        // Nothing else in this transaction: no savepoint, rolled back whole.
        let outcome = run_script(conn, &script, &mut chain)
            .and_then(|()| exec(conn, "COMMIT").map_err(sqlite_error));
        match outcome {
            Ok(()) => remember(head, chain),
            Err(_) => {
                let _ = exec(conn, "ROLLBACK");
            }
        }
        let _ = reply.send(outcome);
        return;
    }
    let mut outcomes = Vec::with_capacity(group.len());
    for (script, _) in &group {
        let before = chain.clone();
        if let Err(e) = exec(conn, "SAVEPOINT unit") {
            abandon(conn, group, &e);
            return;
        }
        let outcome = run_script(conn, script, &mut chain);
        let closed = match outcome {
            Ok(()) => exec(conn, "RELEASE unit"),
            Err(_) => {
                chain = before;
                exec(conn, "ROLLBACK TO unit").and_then(|()| exec(conn, "RELEASE unit"))
            }
        };
        if let Err(e) = closed {
            abandon(conn, group, &e);
            return;
        }
        outcomes.push(outcome);
    }
    if let Err(e) = exec(conn, "COMMIT") {
        abandon(conn, group, &e);
        return;
    }
    remember(head, chain);
    for ((_, reply), outcome) in group.into_iter().zip(outcomes) {
        let _ = reply.send(outcome);
    }
}

fn remember(head: &Mutex<Option<String>>, chain: Option<String>) {
    *head
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = chain;
}

/// Rolls the group back and tells every unit why.
fn abandon(conn: &Connection, group: Vec<Pending>, error: &rusqlite::Error) {
    let _ = exec(conn, "ROLLBACK");
    answer_all(group, error);
}

fn answer_all(group: Vec<Pending>, error: &rusqlite::Error) {
    for (_, reply) in group {
        let _ = reply.send(Err(sqlite_error(clone_error(error))));
    }
}

fn clone_error(error: &rusqlite::Error) -> rusqlite::Error {
    match error {
        rusqlite::Error::SqliteFailure(e, message) => {
            rusqlite::Error::SqliteFailure(*e, message.clone())
        }
        other => rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
            Some(other.to_string()),
        ),
    }
}

fn run_script(
    conn: &Connection,
    script: &Script,
    chain: &mut Option<String>,
) -> Result<(), DbError> {
    for statement in &script.statements {
        let changed = execute(conn, statement).map_err(sqlite_error)?;
        if let Some(guard) = statement.guard
            && changed == 0
        {
            return Err(DbError::Guarded(guard));
        }
    }
    for row in &script.audits {
        append_audit(conn, row, chain).map_err(sqlite_error)?;
    }
    for event in &script.events {
        execute(conn, event).map_err(sqlite_error)?;
    }
    Ok(())
}

/// `audit::append` on this connection: tried against the head this process
/// wrote last, guarded in the statement; read from the table when another
/// writer moved it.
fn append_audit(
    conn: &Connection,
    row: &AuditRow,
    chain: &mut Option<String>,
) -> rusqlite::Result<()> {
    if let Some(prev) = chain.as_deref() {
        let hash = audit::chain_hash(prev, row.time, &row.trace_id, &row.record);
        let statement =
            audit::insert_statement(row.time, &row.trace_id, &row.record, prev, &hash, true);
        if execute(conn, &statement)? == 1 {
            *chain = Some(hash);
            return Ok(());
        }
    }
    let prev: Option<String> = conn
        .prepare_cached(audit::LAST_HASH)?
        .query_row([], |r| r.get(0))
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })?;
    let prev = prev.unwrap_or_else(|| audit::GENESIS.to_owned());
    let hash = audit::chain_hash(&prev, row.time, &row.trace_id, &row.record);
    let statement =
        audit::insert_statement(row.time, &row.trace_id, &row.record, &prev, &hash, false);
    execute(conn, &statement)?;
    *chain = Some(hash);
    Ok(())
}

fn exec(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.raw_execute().map(|_| ())
}

/// Runs a statement with its values bound to `$1`, `$2`, ... by name (SQLite
/// numbers named parameters in order of first appearance, not by their digits).
fn execute(conn: &Connection, statement: &Statement) -> rusqlite::Result<usize> {
    let mut prepared = conn.prepare_cached(statement.sql)?;
    for (n, value) in statement.values.iter().enumerate() {
        let Some(index) = prepared.parameter_index(&format!("${}", n + 1))? else {
            continue;
        };
        match value {
            Value::I32(v) => prepared.raw_bind_parameter(index, v)?,
            Value::I64(v) => prepared.raw_bind_parameter(index, v)?,
            Value::F64(v) => prepared.raw_bind_parameter(index, v)?,
            Value::Bool(v) => prepared.raw_bind_parameter(index, v)?,
            Value::Text(v) => prepared.raw_bind_parameter(index, v)?,
            Value::Bytes(v) => prepared.raw_bind_parameter(index, v)?,
        }
    }
    prepared.raw_execute()
}

/// Classified as sqlx's SQLite errors are (`DbError::from`): by result code.
fn sqlite_error(error: rusqlite::Error) -> DbError {
    let code = match &error {
        rusqlite::Error::SqliteFailure(e, _) => Some((e.code, e.extended_code)),
        _ => None,
    };
    match code {
        // SQLITE_CONSTRAINT_UNIQUE, SQLITE_CONSTRAINT_PRIMARYKEY
        Some((ErrorCode::ConstraintViolation, 2067 | 1555)) => DbError::Conflict(error.into()),
        Some((ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked, _)) => {
            DbError::Unavailable(error.into())
        }
        _ => DbError::Other(anyhow::Error::new(error).context("SQLite write")),
    }
}

/// The file a SQLite URL names, unless it is an in-memory database (which
/// another connection could not open).
pub(crate) fn file_of(url: &str) -> Option<PathBuf> {
    if url.contains("mode=memory") {
        return None;
    }
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let file = path.split('?').next().unwrap_or_default();
    (!file.is_empty() && file != ":memory:").then(|| PathBuf::from(file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_file_gets_a_writer_thread() {
        assert_eq!(
            file_of("sqlite:///var/lib/scir/intake.db?mode=rwc"),
            Some(PathBuf::from("/var/lib/scir/intake.db"))
        );
        assert_eq!(
            file_of("sqlite://data/review.db"),
            Some(PathBuf::from("data/review.db"))
        );
        assert_eq!(file_of("sqlite::memory:"), None);
        assert_eq!(file_of("sqlite://shared?mode=memory&cache=shared"), None);
    }

    #[tokio::test]
    async fn a_stopped_writer_says_so_and_refuses_work() {
        let dir = tempfile::tempdir().expect("dir");
        let writer = Writer::open(
            &dir.path().join("w.db"),
            Duration::from_secs(1),
            Arc::default(),
        )
        .await
        .expect("open");
        assert!(writer.is_running());
        writer
            .run(Script {
                statements: vec![Statement::new("CREATE TABLE t (x INTEGER)")],
                ..Script::default()
            })
            .await
            .expect("a write");
        writer.close().await;
        assert!(!writer.is_running(), "stopped once closed");
        let refused = writer.run(Script::default()).await;
        assert!(
            matches!(refused, Err(DbError::Unavailable(_))),
            "{refused:?}"
        );
    }

    #[test]
    fn a_ticket_goes_to_the_writer_or_the_caller_never_both() {
        let ticket = Ticket::default();
        assert!(ticket.abandon());
        assert!(!ticket.take(), "an abandoned job never runs");
        let ticket = Ticket::default();
        assert!(ticket.take());
        assert!(!ticket.abandon(), "a taken job is answered, not refused");
    }
}
