//! The shared runtime of SCIR services: configuration, telemetry, server
//! bootstrap, authentication and authorisation, audit, errors, storage and
//! event streams. Services build on it so that all four behave alike.

pub mod admission;
pub mod audit;
pub mod auth;
pub mod client;
pub mod config;
pub mod consumer;
pub mod contract;
pub mod credentials;
pub mod datafiles;
pub mod db;
pub mod deadline;
pub mod directory;
pub mod drain;
pub mod error;
pub mod events;
pub mod http_client;
pub mod http_json;
pub mod metrics;
pub mod names;
pub mod pages;
pub mod pagination;
pub mod sealing;
pub mod server;
pub mod shutdown;
pub mod statement;
pub mod telemetry;
pub mod unit;
pub mod validate;
pub mod webhooks;
mod writer;

pub use error::{ApiError, FieldViolation};

/// The service a layer drove to readiness, leaving a fresh clone in its place:
/// a clone is not ready, so the one `poll_ready` answered for is the one to call.
pub(crate) fn take_ready<S: Clone>(slot: &mut S) -> S {
    let clone = slot.clone();
    std::mem::replace(slot, clone)
}
pub use scir_tls as tls;
