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
    /// A listener bound before the service was built, served instead of
    /// binding `listen_addr`: harnesses bind every port first, so a port is
    /// never released between being chosen and being served.
    #[arg(skip)]
    pub listener: crate::server::PreBound,
    /// Database URL: `postgres://user:pass@host/db` or `sqlite://path/to/file.db`.
    #[arg(
        long = "database-url",
        env = "SCIR_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: crate::auth::Secret,
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
    /// The member jurisdictions.
    #[command(flatten)]
    pub directory: crate::directory::DirectoryArgs,
}

/// A problem in a configuration file, located.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct ConfigError {
    /// The file.
    pub file: String,
    /// 1-based line (0 when the file could not be read).
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    /// An error at byte `offset` of `text`.
    pub fn at(file: &str, text: &str, offset: usize, message: impl Into<String>) -> Self {
        let before = &text[..offset.min(text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Self {
            file: file.to_owned(),
            line,
            column,
            message: message.into(),
        }
    }

    /// A TOML error, located by its span.
    pub fn from_toml(file: &str, text: &str, error: &toml::de::Error) -> Self {
        let offset = error.span().map_or(0, |s| s.start);
        Self::at(file, text, offset, error.message().trim().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::CommonConfig;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        common: CommonConfig,
    }

    #[test]
    fn the_database_password_is_never_printed() {
        use crate::auth::ExposeSecret as _;
        let url = "postgres://scir:hunter2@db.example.gov/scir";
        let cli = Cli::try_parse_from(["scir-x", "--database-url", url]).expect("parses");
        assert_eq!(cli.common.database_url.expose_secret(), url);
        assert!(!format!("{cli:?}").contains("hunter2"), "{cli:?}");
    }
}
