//! Configuration every service shares: typed flags, each also read from a
//! `SCIR_*` environment variable, each documented in `--help`.

use std::net::SocketAddr;

use crate::auth::AuthConfig;
use crate::server::ServerSettings;
use crate::telemetry::TelemetryConfig;

/// Settings common to every SCIR service.
#[derive(Debug, Clone, clap::Args)]
pub struct CommonConfig {
    /// Address to listen on for gRPC; port 0 picks a free port.
    #[arg(
        long = "listen-addr",
        env = "SCIR_LISTEN_ADDR",
        default_value = "0.0.0.0:50051"
    )]
    pub listen_addr: SocketAddr,
    /// Database URL: `postgres://user:pass@host/db` or `sqlite://path/to/file.db`.
    #[arg(
        long = "database-url",
        env = "SCIR_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: String,
    /// Most pooled database connections (SQLite uses at most 4).
    #[arg(
        long = "db-max-connections",
        env = "SCIR_DB_MAX_CONNECTIONS",
        default_value_t = 16
    )]
    pub db_max_connections: u32,
    /// Token verification.
    #[command(flatten)]
    pub auth: AuthConfig,
    /// Server limits.
    #[command(flatten)]
    pub server: ServerSettings,
    /// Logs and traces.
    #[command(flatten)]
    pub telemetry: TelemetryConfig,
    /// Mutual TLS with callers and with the services this one calls.
    #[command(flatten)]
    pub tls: scir_tls::TlsArgs,
}
