//! How a service proves its own identity when it calls another service.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::auth::ExposeSecret as _;
use crate::auth::{Role, Secret};

/// A bearer token for service-to-service calls.
#[derive(Clone)]
pub enum ServiceToken {
    /// A fixed token.
    Static(Secret),
    /// A token read from a file at each connection, so it can be rotated.
    File(PathBuf),
    /// A token minted on demand with the HS256 development secret.
    Minted {
        /// The secret.
        secret: Secret,
        /// Issuer.
        issuer: String,
        /// Audience.
        audience: String,
        /// Subject, e.g. `scir-review`.
        subject: String,
    },
}

impl fmt::Debug for ServiceToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Static(_) => f.write_str("ServiceToken::Static(***)"),
            Self::File(path) => write!(f, "ServiceToken::File({})", path.display()),
            Self::Minted { subject, .. } => write!(f, "ServiceToken::Minted({subject})"),
        }
    }
}

impl ServiceToken {
    /// The token to send now.
    pub fn current(&self) -> anyhow::Result<String> {
        match self {
            Self::Static(token) => Ok(token.expose_secret().to_owned()),
            Self::File(path) => Ok(std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("reading service token {}: {e}", path.display()))?
                .trim()
                .to_owned()),
            Self::Minted {
                secret,
                issuer,
                audience,
                subject,
            } => Ok(crate::auth::mint_hs256(
                secret.expose_secret(),
                issuer,
                audience,
                subject,
                "*",
                &[Role::Service],
                Duration::from_secs(3600),
            )?),
        }
    }
}

/// How a service obtains its token, from flags or environment.
#[derive(Debug, Clone, clap::Args)]
pub struct ServiceTokenConfig {
    /// File holding this service's bearer token for calls to other services
    /// (re-read at each connection).
    #[arg(long = "service-token-file", env = "SCIR_SERVICE_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
}

impl ServiceTokenConfig {
    /// The token source: the file when given, else tokens minted with the HS256
    /// secret of `auth` (development and compose), else an error.
    pub fn resolve(
        &self,
        auth: &crate::auth::AuthConfig,
        subject: &str,
    ) -> anyhow::Result<ServiceToken> {
        if let Some(path) = &self.token_file {
            return Ok(ServiceToken::File(path.clone()));
        }
        match &auth.hs256_secret {
            Some(secret) => Ok(ServiceToken::Minted {
                secret: secret.clone(),
                issuer: auth.issuer.clone(),
                audience: auth.audience.clone(),
                subject: subject.to_owned(),
            }),
            None => anyhow::bail!(
                "set SCIR_SERVICE_TOKEN_FILE: this service calls others and needs a service token"
            ),
        }
    }
}
