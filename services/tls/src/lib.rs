//! Mutual TLS between SCIR services. Every service holds a certificate signed
//! by the deployment's certificate authority; it serves only callers presenting
//! one too, and presents its own when it calls another service. Certificates
//! come from PEM files and are read again while the process runs, so a renewed
//! certificate takes effect without a restart.

mod files;
mod identity;
mod incoming;
pub mod transport;
mod web;

pub use files::{TlsArgs, TlsError};
pub use identity::Identity;
pub use incoming::{Conn, ConnLimits, HANDSHAKE_TIMEOUT};
pub use transport::Transport;
pub use web::web_client_config;
