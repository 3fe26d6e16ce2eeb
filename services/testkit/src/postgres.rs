//! PostgreSQL for tests: `SCIR_TEST_DATABASE_URL`, or a throwaway cluster
//! started with the machine's `initdb`/`pg_ctl` and shared by every test
//! process of a run (a file lock guards its start).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use anyhow::{Context, bail};
use sqlx::{AssertSqlSafe, Connection};

/// The environment variable naming an admin URL of a server to test against.
pub const ENV_URL: &str = "SCIR_TEST_DATABASE_URL";

/// The admin URL of the test server, starting a cluster when needed.
pub fn admin_url() -> anyhow::Result<String> {
    static URL: OnceLock<Result<String, String>> = OnceLock::new();
    URL.get_or_init(|| match std::env::var(ENV_URL) {
        Ok(url) if !url.is_empty() => Ok(url),
        _ => shared_cluster().map_err(|e| format!("{e:#}")),
    })
    .clone()
    .map_err(anyhow::Error::msg)
}

/// Creates a database with a unique name and returns its URL.
pub async fn fresh_database() -> anyhow::Result<String> {
    let admin = admin_url()?;
    let name = format!("scir_test_{}", uuid::Uuid::now_v7().simple());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .with_context(|| "connecting to the test PostgreSQL")?;
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(replace_database(&admin, &name))
}

fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_end..].find('/') {
        Some(i) => &base[..authority_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

fn find_binary(name: &str) -> anyhow::Result<PathBuf> {
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    let mut versions: Vec<_> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path().join("bin").join(name))
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    versions.sort();
    versions.pop().with_context(|| {
        format!("`{name}` not found in PATH or /usr/lib/postgresql/*/bin: install PostgreSQL or set {ENV_URL}")
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.trim_ascii() == b"0")
        .unwrap_or(false)
}

/// Runs a PostgreSQL program, as the `postgres` user when we are root
/// (`initdb` refuses to run as root).
fn run_pg(program: &Path, args: &[&str]) -> anyhow::Result<std::process::Output> {
    let output = if is_root() {
        Command::new("runuser")
            .arg("-u")
            .arg("postgres")
            .arg("--")
            .arg(program)
            .args(args)
            .output()
    } else {
        Command::new(program).args(args).output()
    }
    .with_context(|| format!("running {}", program.display()))?;
    Ok(output)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn shared_cluster() -> anyhow::Result<String> {
    let base = std::env::temp_dir().join("scir-test-postgres");
    std::fs::create_dir_all(&base)?;
    let lock = std::fs::File::create(base.join("lock"))?;
    lock.lock().context("locking the test cluster directory")?;

    let data = base.join("data");
    let port_file = base.join("port");
    let pg_ctl = find_binary("pg_ctl")?;
    let url = |port: &str| format!("postgres://postgres@127.0.0.1:{port}/postgres");

    if data.join("PG_VERSION").exists() {
        let port = std::fs::read_to_string(&port_file)
            .unwrap_or_default()
            .trim()
            .to_owned();
        let status = run_pg(&pg_ctl, &["status", "-D", path_str(&data)?])?;
        if status.status.success() && !port.is_empty() {
            return Ok(url(&port));
        }
        // Stopped (or crashed): start it again on a fresh port.
        return start(&pg_ctl, &base, &data, &port_file).map(|p| url(&p.to_string()));
    }

    initdb(&base, &data)?;
    start(&pg_ctl, &base, &data, &port_file).map(|p| url(&p.to_string()))
}

/// Initialises a cluster in `data` below `base` (owned by `postgres` when we
/// are root, as `initdb` requires).
fn initdb(base: &Path, data: &Path) -> anyhow::Result<()> {
    let initdb = find_binary("initdb")?;
    if is_root() {
        let status = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(base)
            .status()?;
        if !status.success() {
            bail!("chown of {} to postgres failed", base.display());
        }
    }
    let out = run_pg(
        &initdb,
        &[
            "-D",
            path_str(data)?,
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        ],
    )?;
    if !out.status.success() {
        bail!("initdb failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

fn start(pg_ctl: &Path, base: &Path, data: &Path, port_file: &Path) -> anyhow::Result<u16> {
    let port = free_port()?;
    let socket_dir = base.join("socket");
    std::fs::create_dir_all(&socket_dir)?;
    if is_root() {
        Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(base)
            .status()?;
    }
    let options = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=300",
        path_str(&socket_dir)?
    );
    let log = base.join("postgres.log");
    let out = run_pg(
        pg_ctl,
        &[
            "start",
            "-w",
            "-t",
            "60",
            "-D",
            path_str(data)?,
            "-l",
            path_str(&log)?,
            "-o",
            &options,
        ],
    )?;
    if !out.status.success() {
        bail!(
            "pg_ctl start failed: {}{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }
    std::fs::write(port_file, port.to_string())?;
    Ok(port)
}

fn path_str(path: &Path) -> anyhow::Result<&str> {
    path.to_str().context("non-UTF-8 path")
}

/// A PostgreSQL cluster of one test's own, which the test may stop and start
/// (the shared cluster must stay up for every other test). Stopped and removed
/// when dropped.
#[derive(Debug)]
pub struct Cluster {
    dir: tempfile::TempDir,
    port: u16,
    pg_ctl: PathBuf,
}

impl Cluster {
    /// Initialises and starts a cluster in a temporary directory.
    pub fn start() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let pg_ctl = find_binary("pg_ctl")?;
        let data = dir.path().join("data");
        initdb(dir.path(), &data)?;
        let port = start(&pg_ctl, dir.path(), &data, &dir.path().join("port"))?;
        Ok(Self { dir, port, pg_ctl })
    }

    /// The URL of its `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server (fast shutdown: open connections are closed).
    pub fn stop(&self) -> anyhow::Result<()> {
        let data = self.dir.path().join("data");
        let out = run_pg(
            &self.pg_ctl,
            &["stop", "-w", "-m", "fast", "-D", path_str(&data)?],
        )?;
        if !out.status.success() {
            bail!(
                "pg_ctl stop failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    }

    /// Starts the server again on the same port.
    pub fn restart(&self) -> anyhow::Result<()> {
        let data = self.dir.path().join("data");
        let socket_dir = self.dir.path().join("socket");
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            path_str(&socket_dir)?
        );
        let log = self.dir.path().join("postgres.log");
        let out = run_pg(
            &self.pg_ctl,
            &[
                "start",
                "-w",
                "-t",
                "60",
                "-D",
                path_str(&data)?,
                "-l",
                path_str(&log)?,
                "-o",
                &options,
            ],
        )?;
        if !out.status.success() {
            bail!(
                "pg_ctl start failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}
