//! The one mapping from errors to `tonic::Status`, with `google.rpc` details.
//!
//! Handlers return [`ApiError`]; its `From` impl is the only place a gRPC status
//! is built, and the only place an error is logged. Internal details (database
//! messages, file paths) are logged here and never reach the client.

use std::time::Duration;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The `ErrorInfo.domain` of every SCIR error.
pub const ERROR_DOMAIN: &str = "scir.dev";

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// Path of the field in the request, e.g. `incident.incident_date`.
    pub field: String,
    /// What is wrong with it, without echoing personal data.
    pub description: String,
}

impl FieldViolation {
    /// A violation of `field`.
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }
}

/// One unmet precondition of an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreconditionViolation {
    /// Kind of precondition, e.g. `TEAM`.
    pub kind: String,
    /// What it is about, e.g. a resource name.
    pub subject: String,
    /// What is missing.
    pub description: String,
}

/// Errors a handler can return, named for what the caller can do about them.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Fix the request: one violation per bad field.
    #[error("invalid argument: {}", summarize(.0))]
    InvalidArgument(Vec<FieldViolation>),
    /// The resource does not exist (or the caller may not know it exists).
    #[error("{resource} not found")]
    NotFound {
        /// Resource name.
        resource: String,
    },
    /// The resource exists already, with other content.
    #[error("already exists: {message}")]
    AlreadyExists {
        /// Stable machine-readable reason, e.g. `REQUEST_ID_REUSED`.
        reason: &'static str,
        /// Human-readable explanation.
        message: String,
    },
    /// The caller did not present valid credentials.
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    /// The caller is known but may not do this.
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// The resource is not in a state that allows the operation.
    #[error("failed precondition: {}", .0.iter().take(MAX_LISTED_VIOLATIONS).map(|v| v.description.as_str()).collect::<Vec<_>>().join("; "))]
    FailedPrecondition(Vec<PreconditionViolation>),
    /// A concurrent change won; read again and retry.
    #[error("aborted: {0}")]
    Aborted(String),
    /// A dependency is down; retry after the given delay.
    #[error("unavailable: {message}")]
    Unavailable {
        /// What is unavailable (no internal detail).
        message: String,
        /// Suggested delay before retrying.
        retry_after: Duration,
    },
    /// The server is serving as many calls as it may; retry after the delay.
    #[error("the server is at its limit of calls in flight; retry shortly")]
    Overloaded {
        /// Suggested delay before retrying.
        retry_after: Duration,
    },
    /// The call asks more of the server than one call, or one caller, may
    /// have: too large a message, more calls or request bytes in flight than
    /// the caller's share. Retry after the delay when one is given.
    #[error("{message}")]
    LimitExceeded {
        /// Stable machine-readable reason, e.g. `CALLER_SHARE`.
        reason: &'static str,
        /// Human-readable explanation.
        message: String,
        /// Suggested delay before retrying; none when retrying cannot help.
        retry_after: Option<Duration>,
    },
    /// The request did not arrive in the time the server gives it.
    #[error("{0}")]
    TooSlow(String),
    /// A bug or an unexpected failure; details are logged, not returned.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

/// At most this many violations are listed in an answer (message and
/// details); a request can be wrong in more places than a header should carry.
pub const MAX_LISTED_VIOLATIONS: usize = 16;

/// Longest field path and description of a listed violation, in bytes: both
/// may quote the request, and the details travel in a header.
const MAX_VIOLATION_BYTES: (usize, usize) = (120, 240);

fn summarize(violations: &[FieldViolation]) -> String {
    let mut text = violations
        .iter()
        .take(MAX_LISTED_VIOLATIONS)
        .map(|v| {
            format!(
                "{}: {}",
                cut(&v.field, MAX_VIOLATION_BYTES.0),
                cut(&v.description, MAX_VIOLATION_BYTES.1)
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    if violations.len() > MAX_LISTED_VIOLATIONS {
        text.push_str(&format!(
            "; and {} more",
            violations.len() - MAX_LISTED_VIOLATIONS
        ));
    }
    text
}

impl ApiError {
    /// A single-field `InvalidArgument`.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::InvalidArgument(vec![FieldViolation::new(field, description)])
    }

    /// An internal error from anything displayable.
    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        Self::Internal(error.into())
    }

    /// The gRPC code this error maps to.
    pub fn code(&self) -> Code {
        match self {
            Self::InvalidArgument(_) => Code::InvalidArgument,
            Self::NotFound { .. } => Code::NotFound,
            Self::AlreadyExists { .. } => Code::AlreadyExists,
            Self::Unauthenticated(_) => Code::Unauthenticated,
            Self::PermissionDenied(_) => Code::PermissionDenied,
            Self::FailedPrecondition(_) => Code::FailedPrecondition,
            Self::Aborted(_) => Code::Aborted,
            Self::Unavailable { .. } => Code::Unavailable,
            Self::Overloaded { .. } => Code::ResourceExhausted,
            Self::LimitExceeded { .. } => Code::ResourceExhausted,
            Self::TooSlow(_) => Code::DeadlineExceeded,
            Self::Internal(_) => Code::Internal,
        }
    }
}

impl From<ApiError> for Status {
    fn from(error: ApiError) -> Self {
        let code = error.code();
        let mut details = ErrorDetails::new();
        let message = match &error {
            ApiError::InvalidArgument(violations) => {
                tracing::info!(error = %error, "rejected invalid request");
                for v in violations.iter().take(MAX_LISTED_VIOLATIONS) {
                    details.add_bad_request_violation(
                        cut(&v.field, MAX_VIOLATION_BYTES.0),
                        cut(&v.description, MAX_VIOLATION_BYTES.1),
                    );
                }
                details.set_error_info("INVALID_ARGUMENT", ERROR_DOMAIN, []);
                error.to_string()
            }
            ApiError::NotFound { .. } => {
                tracing::info!(error = %error, "not found");
                details.set_error_info("NOT_FOUND", ERROR_DOMAIN, []);
                error.to_string()
            }
            ApiError::AlreadyExists { reason, .. } => {
                tracing::info!(error = %error, "already exists");
                details.set_error_info(*reason, ERROR_DOMAIN, []);
                error.to_string()
            }
            ApiError::Unauthenticated(_) => {
                tracing::info!(error = %error, "unauthenticated call");
                details.set_error_info("UNAUTHENTICATED", ERROR_DOMAIN, []);
                error.to_string()
            }
            ApiError::PermissionDenied(_) => {
                tracing::info!(error = %error, "permission denied");
                details.set_error_info("PERMISSION_DENIED", ERROR_DOMAIN, []);
                error.to_string()
            }
            ApiError::FailedPrecondition(violations) => {
                tracing::info!(error = %error, "failed precondition");
                for v in violations.iter().take(MAX_LISTED_VIOLATIONS) {
                    details.add_precondition_failure_violation(
                        cut(&v.kind, MAX_VIOLATION_BYTES.0),
                        cut(&v.subject, MAX_VIOLATION_BYTES.1),
                        cut(&v.description, MAX_VIOLATION_BYTES.1),
                    );
                }
                details.set_error_info("FAILED_PRECONDITION", ERROR_DOMAIN, []);
                error.to_string()
            }
            ApiError::Aborted(_) => {
                tracing::info!(error = %error, "aborted by a concurrent change");
                details.set_error_info("CONCURRENT_CHANGE", ERROR_DOMAIN, []);
                details.set_retry_info(Some(conflict_retry_delay()));
                error.to_string()
            }
            ApiError::Unavailable { retry_after, .. } => {
                tracing::warn!(error = %error, "dependency unavailable");
                details.set_retry_info(Some(*retry_after));
                details.set_error_info("UNAVAILABLE", ERROR_DOMAIN, []);
                error.to_string()
            }
            ApiError::Overloaded { retry_after } => {
                // Not logged per call: under overload that would be a second
                // flood; the metrics count RESOURCE_EXHAUSTED answers.
                details.set_retry_info(Some(*retry_after));
                details.set_error_info("OVERLOADED", ERROR_DOMAIN, []);
                error.to_string()
            }
            ApiError::LimitExceeded {
                reason,
                retry_after,
                ..
            } => {
                // Not logged per call, for the same reason as overload.
                details.set_retry_info(*retry_after);
                details.set_error_info(*reason, ERROR_DOMAIN, []);
                error.to_string()
            }
            ApiError::TooSlow(_) => {
                details.set_error_info("REQUEST_TOO_SLOW", ERROR_DOMAIN, []);
                error.to_string()
            }
            ApiError::Internal(source) => {
                tracing::error!(error = format!("{source:#}"), "internal error");
                details.set_error_info("INTERNAL", ERROR_DOMAIN, []);
                "internal error".to_owned()
            }
        };
        Status::with_error_details(code, bounded(message), details)
    }
}

/// The longest status message sent, in bytes. Messages quote parts of the
/// request (a resource name, a field's value); a peer's header limits are
/// usually 8 to 16 KB, and an answer must never break them.
pub const MAX_MESSAGE_BYTES: usize = 1024;

/// The range a conflict's suggested retry delay is drawn from. Callers that
/// lost the same race are told different delays, so they do not all arrive
/// together at the next one; a caller that loses again should double its wait.
pub const CONFLICT_RETRY: std::ops::Range<Duration> =
    Duration::from_millis(5)..Duration::from_millis(25);

fn conflict_retry_delay() -> Duration {
    let spread = (CONFLICT_RETRY.end - CONFLICT_RETRY.start).as_micros() as u64;
    let jitter = getrandom::u64().map_or(0, |r| r % spread.max(1));
    CONFLICT_RETRY.start + Duration::from_micros(jitter)
}

fn bounded(message: String) -> String {
    if message.len() > MAX_MESSAGE_BYTES {
        cut(&message, MAX_MESSAGE_BYTES)
    } else {
        message
    }
}

/// `text`, cut to at most `max` bytes on a character boundary, marked `...`.
fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max.saturating_sub(3);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

impl From<crate::db::DbError> for ApiError {
    fn from(error: crate::db::DbError) -> Self {
        use crate::db::DbError;
        match error {
            DbError::Unavailable(_) | DbError::WriterBusy(_) => ApiError::Unavailable {
                message: "the database is unavailable".to_owned(),
                retry_after: Duration::from_secs(1),
            },
            DbError::Conflict(_) => ApiError::Aborted("a concurrent change won; retry".to_owned()),
            DbError::Guarded(guard) => {
                ApiError::Aborted(format!("a concurrent change won ({guard}); retry"))
            }
            DbError::Other(source) => ApiError::Internal(source),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        crate::db::DbError::from(error).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_argument_carries_one_violation_per_field() {
        let status = Status::from(ApiError::InvalidArgument(vec![
            FieldViolation::new("a", "is required"),
            FieldViolation::new("b.c", "is in the future"),
        ]));
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        let fields: Vec<_> = details
            .bad_request()
            .expect("bad request detail")
            .field_violations
            .iter()
            .map(|v| v.field.as_str())
            .collect();
        assert_eq!(fields, ["a", "b.c"]);
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let status = Status::from(ApiError::internal(anyhow::anyhow!("secret path /etc/x")));
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("/etc/x"));
    }

    #[test]
    fn unavailable_suggests_a_retry_delay() {
        let status = Status::from(ApiError::Unavailable {
            message: "db".into(),
            retry_after: Duration::from_secs(2),
        });
        let retry = status
            .get_error_details()
            .retry_info()
            .cloned()
            .expect("retry info");
        assert_eq!(retry.retry_delay, Some(Duration::from_secs(2)));
    }

    #[test]
    fn a_conflict_suggests_a_short_jittered_retry_delay() {
        let delays: std::collections::BTreeSet<Duration> = (0..32)
            .map(|_| {
                let status = Status::from(ApiError::Aborted("a concurrent change won".into()));
                assert_eq!(status.code(), Code::Aborted);
                status
                    .get_error_details()
                    .retry_info()
                    .and_then(|r| r.retry_delay)
                    .expect("retry delay")
            })
            .collect();
        assert!(
            delays.iter().all(|d| CONFLICT_RETRY.contains(d)),
            "{delays:?}"
        );
        assert!(delays.len() > 1, "the delay is jittered: {delays:?}");
    }

    #[test]
    fn long_lists_of_violations_are_cut_short() {
        let violations = (0..10_000)
            .map(|i| FieldViolation::new(format!("items[{i}]"), "is repeated"))
            .collect();
        let status = Status::from(ApiError::InvalidArgument(violations));
        let listed = status
            .get_details_bad_request()
            .expect("bad request")
            .field_violations;
        assert_eq!(listed.len(), MAX_LISTED_VIOLATIONS);
        let more = format!("and {} more", 10_000 - MAX_LISTED_VIOLATIONS);
        assert!(status.message().ends_with(&more), "{}", status.message());
        assert!(status.message().len() < 4096);
    }

    #[test]
    fn violations_quoting_huge_input_stay_small() {
        let violations = (0..100)
            .map(|i| {
                FieldViolation::new(
                    format!("paths[{i}] {}", "x".repeat(70_000)),
                    "y".repeat(70_000),
                )
            })
            .collect();
        let status = Status::from(ApiError::InvalidArgument(violations));
        assert!(
            status.details().len() < 8 * 1024,
            "{} bytes of details",
            status.details().len()
        );
        assert!(status.message().len() <= MAX_MESSAGE_BYTES);
    }

    #[test]
    fn messages_quoting_huge_input_stay_small() {
        let status = Status::from(ApiError::NotFound {
            resource: format!("jurisdictions/{}", "é".repeat(50_000)),
        });
        assert!(
            status.message().len() <= MAX_MESSAGE_BYTES,
            "{}",
            status.message().len()
        );
        assert!(status.message().ends_with("..."));
    }
}
