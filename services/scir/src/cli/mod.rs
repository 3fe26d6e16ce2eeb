//! Operator and agency-IT commands over the public gRPC APIs: report and show
//! incidents, show reviews and list the overdue ones, print insights, show
//! aggregate mappings and answer safety notices.
//! Every command prints a table for people or JSON with `--json`, and exits
//! with a code scripts can rely on ([`exit_code`]).

pub mod incident;
pub mod insights;
pub mod learning;
pub mod output;
pub mod review;

use crate::connect::{Caller, Channels, Endpoints};

/// Exit codes of `scir` commands.
pub mod exit {
    /// The command did what was asked.
    pub const OK: i32 = 0;
    /// A check found a problem (an audit chain is broken), or an unexpected error.
    pub const FAILED: i32 = 1;
    /// Bad usage or invalid input (also `INVALID_ARGUMENT` from a service).
    pub const USAGE: i32 = 2;
    /// `NOT_FOUND`.
    pub const NOT_FOUND: i32 = 3;
    /// `UNAUTHENTICATED` or `PERMISSION_DENIED`.
    pub const DENIED: i32 = 4;
    /// `UNAVAILABLE`, `DEADLINE_EXCEEDED` or `RESOURCE_EXHAUSTED`: try again later.
    pub const UNAVAILABLE: i32 = 5;
    /// `ALREADY_EXISTS`, `FAILED_PRECONDITION` or `ABORTED`: the state does not allow it.
    pub const CONFLICT: i32 = 6;
}

/// An error from invalid input given to a command (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

/// The exit code for an error: by the gRPC status it carries, if any.
pub fn exit_code(error: &anyhow::Error) -> i32 {
    if error.chain().any(|e| e.is::<InputError>()) {
        return exit::USAGE;
    }
    let Some(status) = error
        .chain()
        .find_map(|e| e.downcast_ref::<tonic::Status>())
    else {
        return exit::FAILED;
    };
    use tonic::Code;
    match status.code() {
        Code::InvalidArgument | Code::OutOfRange => exit::USAGE,
        Code::NotFound => exit::NOT_FOUND,
        Code::Unauthenticated | Code::PermissionDenied => exit::DENIED,
        Code::Unavailable | Code::DeadlineExceeded | Code::ResourceExhausted => exit::UNAVAILABLE,
        Code::AlreadyExists | Code::FailedPrecondition | Code::Aborted => exit::CONFLICT,
        _ => exit::FAILED,
    }
}

/// A one-line explanation of an error for people, with the field violations
/// of an `INVALID_ARGUMENT` and the missing items of a `FAILED_PRECONDITION`.
pub fn explain(error: &anyhow::Error) -> String {
    let Some(status) = error
        .chain()
        .find_map(|e| e.downcast_ref::<tonic::Status>())
    else {
        return format!("{error:#}");
    };
    use tonic_types::StatusExt;
    let details = status.get_error_details();
    let mut listed = String::new();
    if let Some(bad) = details.bad_request() {
        for v in &bad.field_violations {
            listed.push_str(&format!("\n  {}: {}", v.field, v.description));
        }
    }
    if let Some(failure) = details.precondition_failure() {
        for v in &failure.violations {
            listed.push_str(&format!(
                "\n  {} {}: {}",
                v.r#type, v.subject, v.description
            ));
        }
    }
    // The violations say more than the message that summarises them.
    let mut text = if listed.is_empty() {
        format!("{}: {:?}: {}", error, status.code(), status.message())
    } else {
        format!("{}: {:?}{listed}", error, status.code())
    };
    if status.code() == tonic::Code::Unavailable {
        text.push_str(
            "\n  is the service running at the address given? (see --help for the address options)",
        );
    }
    text
}

/// Where to call and with which token.
#[derive(Debug, Clone, clap::Args)]
pub struct Connection {
    /// The service addresses.
    #[command(flatten)]
    pub endpoints: Endpoints,
    /// Bearer token (for `scir up`: export SCIR_TOKEN=$(scir token --role ... --jurisdiction ...)).
    #[arg(long, env = "SCIR_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

impl Connection {
    /// The caller this connection describes.
    pub fn caller(&self) -> anyhow::Result<Caller> {
        let Some(token) = self.token.as_deref().filter(|t| !t.trim().is_empty()) else {
            return Err(InputError(
                "no token: pass --token or set SCIR_TOKEN \
                 (with scir up: export SCIR_TOKEN=$(scir token --role analyst --jurisdiction us-wi))"
                    .to_owned(),
            )
            .into());
        };
        Caller::new(&Channels::new(&self.endpoints)?, token.trim())
    }
}

/// Output format.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct Format {
    /// Print JSON (the canonical protobuf JSON mapping) instead of a table.
    #[arg(long)]
    pub json: bool,
}
