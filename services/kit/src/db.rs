//! Storage: one URL selects PostgreSQL (`postgres://`) or SQLite (`sqlite://`).
//!
//! Services write one set of queries with `$N` placeholders and portable types
//! (`BIGINT` integers, `TEXT`, bytes) over [`sqlx::Any`], and keep one migration
//! set per backend, because the DDL differs. Migrations run at start-up under
//! sqlx's migration lock (a PostgreSQL advisory lock), so several replicas may
//! start at once.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{Migration, Migrator};
use sqlx::{AnyPool, Executor};

/// How long a call waits for a pooled connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a write waits for SQLite's one writer, in this process (the
/// writer connection) and in another (`busy_timeout`), before it is refused
/// as unavailable.
const SQLITE_WRITE_WAIT: Duration = Duration::from_secs(5);

/// How often SQLite's write-ahead log is copied back into the database file.
const SQLITE_CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// Which database engine a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL, for deployments.
    Postgres,
    /// SQLite, the embedded default.
    Sqlite,
}

impl Backend {
    /// The backend a database URL selects.
    pub fn from_url(url: &str) -> Result<Self, DbError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else {
            Err(DbError::Other(anyhow::anyhow!(
                "unsupported database URL scheme: expected postgres:// or sqlite://"
            )))
        }
    }
}

/// The cause behind a database error, from whichever driver.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A database error, classified by what the caller can do about it.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The database cannot be reached; retrying later may help.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] BoxError),
    /// A uniqueness or serialization conflict with a concurrent change.
    #[error("conflicting concurrent change: {0}")]
    Conflict(#[source] BoxError),
    /// A guarded statement ([`crate::statement::Statement::guarded`]) changed
    /// no row, so its unit of work rolled back; the guard says which.
    #[error("a guarded write changed nothing: {0}")]
    Guarded(&'static str),
    /// Other writers held SQLite's one writer for longer than a write waits.
    #[error("no turn to write within {0:?}: other writers hold the database")]
    WriterBusy(Duration),
    /// Anything else.
    #[error(transparent)]
    Other(anyhow::Error),
}

impl DbError {
    /// Whether the error is a unique-constraint violation.
    pub fn is_unique_violation(error: &sqlx::Error) -> bool {
        matches!(error, sqlx::Error::Database(e) if e.is_unique_violation())
    }
}

impl From<sqlx::Error> for DbError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Tls(_) => Self::Unavailable(error.into()),
            sqlx::Error::Database(e) => {
                // Classified by SQLSTATE (PostgreSQL) or result code (SQLite), not text.
                let code = e.code().unwrap_or_default();
                if e.is_unique_violation() || code == "40001" || code == "40P01" {
                    Self::Conflict(error.into())
                } else if code.starts_with("08") || code == "57P01" || code == "57P03" {
                    Self::Unavailable(error.into())
                } else if code == "5" || code == "6" || code == "517" {
                    // SQLITE_BUSY, SQLITE_LOCKED, SQLITE_BUSY_SNAPSHOT
                    Self::Unavailable(error.into())
                } else {
                    Self::Other(error.into())
                }
            }
            _ => Self::Other(error.into()),
        }
    }
}

/// A service's migrations for both backends, each read by `sqlx::migrate!`
/// from the crate's `migrations/postgres/` and `migrations/sqlite/`
/// directories (`<version>_<description>.sql`; kit migrations use versions
/// 1-99, services 100 and up).
#[derive(Debug)]
pub struct Migrations {
    /// For PostgreSQL.
    pub postgres: Migrator,
    /// For SQLite.
    pub sqlite: Migrator,
}

/// A crate's [`Migrations`]: `sqlx::migrate!` over its `migrations/postgres/`
/// and `migrations/sqlite/` directories. The crate needs `sqlx` (with the
/// `macros` and `migrate` features) as a dependency of its own.
///
/// ```ignore
/// pub static MIGRATIONS: Migrations = scir_kit::migrations!();
/// ```
#[macro_export]
macro_rules! migrations {
    () => {
        $crate::db::Migrations {
            postgres: ::sqlx::migrate!("migrations/postgres"),
            sqlite: ::sqlx::migrate!("migrations/sqlite"),
        }
    };
}

/// The kit's own tables (audit log, event outbox, consumer cursors, webhook
/// endpoints), which every service's database carries.
pub static KIT_MIGRATIONS: Migrations = crate::migrations!();

/// Options for opening a database.
#[derive(Debug, Clone)]
pub struct DbOptions {
    /// Maximum pooled connections.
    pub max_connections: u32,
    /// How long start-up keeps retrying to reach the database.
    pub connect_timeout: Duration,
}

impl Default for DbOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            connect_timeout: Duration::from_secs(30),
        }
    }
}

/// A service's database: a pool and the backend it speaks to.
#[derive(Debug, Clone)]
pub struct Database {
    pool: AnyPool,
    /// Where write transactions run. On SQLite, which admits one writer at a
    /// time, a pool of one connection: writers queue for it in arrival order,
    /// instead of in SQLite's busy handler (which polls with sleeps of 1 to
    /// 100 ms and leaves the lock idle between polls), and the writer's page
    /// cache and prepared statements stay warm. On PostgreSQL, the pool.
    writer: AnyPool,
    /// On SQLite (a file), the thread that runs units of work in one
    /// hand-off each; writes through `writer` take turns with it.
    sqlite_writer: Option<crate::writer::Writer>,
    backend: Backend,
    /// The audit chain's last hash as this process last wrote it (see
    /// `audit::append`, which checks it before relying on it).
    audit_head: Arc<Mutex<Option<String>>>,
    /// Held by every clone; background work for this database stops when the
    /// last clone is dropped.
    _alive: Arc<()>,
}

impl Database {
    /// Connects (retrying until `options.connect_timeout`), then runs the kit's
    /// and the service's migrations under the migration lock.
    pub async fn connect(
        url: &str,
        migrations: &'static Migrations,
        options: &DbOptions,
    ) -> Result<Self, DbError> {
        let db = Self::open(url, options).await?;
        db.migrate(migrations).await?;
        Ok(db)
    }

    /// Connects (retrying until `options.connect_timeout`) without migrating,
    /// for tools that read a service's database.
    pub async fn open(url: &str, options: &DbOptions) -> Result<Self, DbError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let url = match backend {
            Backend::Sqlite => sqlite_url_with_create(url)?,
            Backend::Postgres => url.to_owned(),
        };
        let connect_options: AnyConnectOptions = url
            .parse()
            .map_err(|e: sqlx::Error| DbError::Other(e.into()))?;
        let pool_options = AnyPoolOptions::new()
            .max_connections(match backend {
                // Readers; SQLite's one writer has its own connection.
                Backend::Sqlite => options.max_connections.min(4),
                Backend::Postgres => options.max_connections,
            })
            .acquire_timeout(ACQUIRE_TIMEOUT)
            // A SQLite connection is a file handle in this process: nothing can
            // go stale, so a ping (one more thread hand-off) per use buys nothing.
            .test_before_acquire(backend == Backend::Postgres)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute(sqlx::AssertSqlSafe(format!(
                            "PRAGMA busy_timeout = {}",
                            SQLITE_WRITE_WAIT.as_millis()
                        )))
                        .await?;
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                        // Checkpoints run beside the writer (see `checkpoint_in_background`),
                        // not inside whichever commit fills the log.
                        conn.execute("PRAGMA wal_autocheckpoint = 0").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        // Statement and savepoint journals in memory: on disk
                        // each is a file created and deleted inside the
                        // writer's turn. The database's own log is unaffected.
                        conn.execute("PRAGMA temp_store = MEMORY").await?;
                    }
                    Ok(())
                })
            });

        let deadline = tokio::time::Instant::now() + options.connect_timeout;
        let pool = loop {
            match pool_options
                .clone()
                .connect_with(connect_options.clone())
                .await
            {
                Ok(pool) => break pool,
                Err(e) if tokio::time::Instant::now() < deadline => {
                    tracing::warn!(error = %e, "database not reachable yet; retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => return Err(DbError::Unavailable(e.into())),
            }
        };

        let writer = match backend {
            Backend::Sqlite => {
                pool_options
                    .max_connections(1)
                    .min_connections(1)
                    .acquire_timeout(SQLITE_WRITE_WAIT)
                    .connect_with(connect_options)
                    .await?
            }
            Backend::Postgres => pool.clone(),
        };
        let alive = Arc::new(());
        let audit_head = Arc::default();
        let mut sqlite_writer = None;
        if backend == Backend::Sqlite {
            checkpoint_in_background(pool.clone(), Arc::downgrade(&alive));
            if let Some(file) = crate::writer::file_of(&url) {
                sqlite_writer = Some(
                    crate::writer::Writer::open(&file, SQLITE_WRITE_WAIT, Arc::clone(&audit_head))
                        .await?,
                );
            }
        }
        Ok(Self {
            pool,
            writer,
            sqlite_writer,
            backend,
            audit_head,
            _alive: alive,
        })
    }

    async fn migrate(&self, migrations: &'static Migrations) -> Result<(), DbError> {
        let of = |m: &'static Migrations| match self.backend {
            Backend::Postgres => &m.postgres,
            Backend::Sqlite => &m.sqlite,
        };
        // The kit's tables and the service's, in one run and one history.
        let all: Vec<Migration> = of(&KIT_MIGRATIONS)
            .iter()
            .chain(of(migrations).iter())
            .cloned()
            .collect();
        let migrator = Migrator::with_migrations(all);
        migrator
            .run(&self.pool)
            .await
            .map_err(|e| DbError::Other(anyhow::Error::new(e).context("running migrations")))
    }

    /// The connection pool.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A pooled connection, for reads outside a unit of work.
    pub async fn acquire(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Any>, DbError> {
        Ok(self.pool.acquire().await?)
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Begins a transaction that will write. On SQLite it waits for the writer
    /// connection, then takes the write lock at once (`BEGIN IMMEDIATE`), so
    /// another process's writer queues instead of failing when one upgrades a
    /// read lock. A write transaction must not begin another: on SQLite the
    /// second would wait for the first's connection and fail as unavailable.
    pub async fn begin_write(&self) -> Result<WriteTransaction, DbError> {
        let turn = match &self.sqlite_writer {
            Some(writer) => Some(writer.turn().await?),
            None => None,
        };
        let tx = match self.backend {
            Backend::Sqlite => match self.writer.begin_with("BEGIN IMMEDIATE").await {
                Err(sqlx::Error::PoolTimedOut) => {
                    return Err(DbError::WriterBusy(SQLITE_WRITE_WAIT));
                }
                other => other?,
            },
            Backend::Postgres => self.writer.begin().await?,
        };
        Ok(WriteTransaction { tx, _turn: turn })
    }

    /// SQLite's writer thread, when the database is a file.
    pub(crate) fn sqlite_writer(&self) -> Option<&crate::writer::Writer> {
        self.sqlite_writer.as_ref()
    }

    /// The audit chain head this process wrote last, if it remembers one.
    pub(crate) fn audit_head(&self) -> Option<String> {
        self.audit_head
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Remembers the audit chain head this process just wrote.
    pub(crate) fn remember_audit_head(&self, hash: &str) {
        *self
            .audit_head
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(hash.to_owned());
    }

    /// Whether the database answers a trivial query.
    pub async fn is_ready(&self) -> bool {
        // Reads alone are not readiness: a service whose writer thread has
        // ended can answer nothing that writes (and every call is audited).
        self.sqlite_writer.as_ref().is_none_or(|w| w.is_running())
            && sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    /// Closes the pools, waiting for connections to be returned.
    pub async fn close(&self) {
        if let Some(writer) = &self.sqlite_writer {
            writer.close().await;
        }
        self.writer.close().await;
        self.pool.close().await;
    }
}

/// A transaction that writes through sqlx ([`Database::begin_write`]); it
/// dereferences to the connection. On SQLite it holds the writer thread's
/// turn until it ends. Dropped without commit, it rolls back.
pub struct WriteTransaction {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    // Dropped after `tx`: the writer thread resumes once the transaction ended.
    _turn: Option<crate::writer::Turn>,
}

impl std::fmt::Debug for WriteTransaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteTransaction").finish_non_exhaustive()
    }
}

impl WriteTransaction {
    /// Commits.
    pub async fn commit(self) -> Result<(), DbError> {
        Ok(self.tx.commit().await?)
    }
}

impl std::ops::Deref for WriteTransaction {
    type Target = sqlx::AnyConnection;

    fn deref(&self) -> &sqlx::AnyConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTransaction {
    fn deref_mut(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.tx
    }
}

/// Copies SQLite's write-ahead log back into the database file from a reader
/// connection, every [`SQLITE_CHECKPOINT_EVERY`], until the pool closes or the
/// database is dropped. Left to SQLite, the commit that fills the log does it,
/// with the writer's turn held through the copy and its fsyncs; a passive
/// checkpoint here waits for no one and no writer waits for it.
fn checkpoint_in_background(readers: AnyPool, alive: std::sync::Weak<()>) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(SQLITE_CHECKPOINT_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if alive.strong_count() == 0 || readers.is_closed() {
                return;
            }
            match sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&readers)
                .await
            {
                Ok(_) | Err(sqlx::Error::PoolClosed) => {}
                Err(e) => tracing::warn!(error = %e, "SQLite checkpoint failed; retrying"),
            }
        }
    });
}

fn sqlite_url_with_create(url: &str) -> Result<String, DbError> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let file = path.split('?').next().unwrap_or_default();
    if let Some(dir) = std::path::Path::new(file)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(|e| DbError::Other(e.into()))?;
    }
    if !file.is_empty() && file != ":memory:" && !url.contains("mode=memory") {
        create_private(std::path::Path::new(file)).map_err(|e| DbError::Other(e.into()))?;
    }
    Ok(if url.contains("mode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    })
}

/// Creates the database file readable by its owner only, when it does not
/// exist yet. SQLite gives its write-ahead log and shared-memory files the
/// permissions of the database file, so they are private too; an existing
/// file keeps the permissions its operator chose.
#[cfg(unix)]
fn create_private(file: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(file)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(not(unix))]
fn create_private(_file: &std::path::Path) -> std::io::Result<()> {
    Ok(())
}

/// Numbers `$N` placeholders for SQL built from optional filters; only
/// placeholders are ever formatted into SQL, values are always bound.
#[derive(Debug, Clone)]
pub struct Placeholders(usize);

impl Placeholders {
    /// Placeholders after the first `used` ones.
    pub fn after(used: usize) -> Self {
        Self(used)
    }

    /// The next placeholder.
    pub fn take(&mut self) -> String {
        self.0 += 1;
        format!("${}", self.0)
    }

    /// `count` placeholders, comma-separated.
    pub fn list(&mut self, count: usize) -> String {
        (0..count)
            .map(|_| self.take())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Microseconds since the Unix epoch, the portable timestamp of every table.
pub fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// A protobuf timestamp from microseconds since the Unix epoch.
pub fn timestamp_from_micros(micros: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: micros.div_euclid(1_000_000),
        nanos: (micros.rem_euclid(1_000_000) * 1000) as i32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static NO_MIGRATIONS: Migrations = Migrations {
        postgres: Migrator::DEFAULT,
        sqlite: Migrator::DEFAULT,
    };

    #[cfg(unix)]
    #[tokio::test]
    async fn sqlite_files_are_created_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("data").join("private.db");
        let url = format!("sqlite://{}", file.display());
        let db = Database::connect(&url, &NO_MIGRATIONS, &DbOptions::default())
            .await
            .expect("connect");
        let mut tx = db.begin_write().await.expect("begin");
        sqlx::query("CREATE TABLE t (x INTEGER)")
            .execute(&mut *tx)
            .await
            .expect("write");
        tx.commit().await.expect("commit");
        let mut checked = 0;
        for entry in std::fs::read_dir(file.parent().expect("dir")).expect("list") {
            let entry = entry.expect("entry");
            let mode = entry.metadata().expect("metadata").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", entry.path().display());
            checked += 1;
        }
        assert!(checked >= 2, "the database and its log");
        db.close().await;
    }

    /// Writes land in the database file within moments, from the background,
    /// so the log stays small without any commit paying for the copy.
    #[tokio::test]
    async fn sqlite_log_is_checkpointed_beside_the_writer() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let file = dir.path().join("wal.db");
        let url = format!("sqlite://{}", file.display());
        let db = Database::connect(&url, &NO_MIGRATIONS, &DbOptions::default())
            .await
            .expect("database");
        sqlx::query("CREATE TABLE t (b BLOB NOT NULL)")
            .execute(db.pool())
            .await
            .expect("table");
        let row = vec![7u8; 4096];
        let batches = 12;
        for _ in 0..batches {
            let mut tx = db.begin_write().await.expect("begin");
            for _ in 0..100 {
                sqlx::query("INSERT INTO t (b) VALUES ($1)")
                    .bind(&row)
                    .execute(&mut *tx)
                    .await
                    .expect("insert");
            }
            tx.commit().await.expect("commit");
            tokio::time::sleep(SQLITE_CHECKPOINT_EVERY + Duration::from_millis(50)).await;
        }
        let written = (batches * 100 * row.len()) as u64;
        let size = |suffix: &str| {
            std::fs::metadata(format!("{}{suffix}", file.display()))
                .map(|m| m.len())
                .unwrap_or(0)
        };
        // Left to the writer (every 1,000 pages, 4 MB) the log would have grown
        // to about 4 MB; with no checkpoint at all, to everything written.
        assert!(
            size("-wal") < 2 * 1024 * 1024,
            "log of {} bytes",
            size("-wal")
        );
        assert!(size("") > written, "database file of {} bytes", size(""));
        db.close().await;
    }
}

/// A protobuf message kept encoded in a `BYTEA`/`BLOB` column and decoded as
/// the row is read, so a `#[derive(sqlx::FromRow)]` row holds the message
/// itself; reads through to it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Proto<M>(pub M);

impl<M> std::ops::Deref for Proto<M> {
    type Target = M;
    fn deref(&self) -> &M {
        &self.0
    }
}

impl<M> std::ops::DerefMut for Proto<M> {
    fn deref_mut(&mut self) -> &mut M {
        &mut self.0
    }
}

impl<M> sqlx::Type<sqlx::Any> for Proto<M> {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <Vec<u8> as sqlx::Type<sqlx::Any>>::type_info()
    }

    fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
        <Vec<u8> as sqlx::Type<sqlx::Any>>::compatible(ty)
    }
}

impl<'r, M: prost::Message + Default> sqlx::Decode<'r, sqlx::Any> for Proto<M> {
    fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let bytes = <Vec<u8> as sqlx::Decode<'r, sqlx::Any>>::decode(value)?;
        Ok(Self(M::decode(bytes.as_slice())?))
    }
}
