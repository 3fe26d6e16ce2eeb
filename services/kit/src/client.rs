//! What every client of a SCIR service uses: a channel and an interceptor that
//! adds the bearer token and the current trace context to each call.

use std::time::Duration;

use tonic::Code;
use tonic::metadata::MetadataValue;
use tonic::service::Interceptor;

use crate::error::{ApiError, PreconditionViolation};

/// How long a service waits for another SCIR service it calls.
pub const PEER_DEADLINE: Duration = Duration::from_secs(5);

/// Another SCIR service this one calls on a caller's behalf: every such call
/// gets the same deadline, and the peer's answer becomes this service's answer
/// the same way, whichever service calls whichever.
#[derive(Debug, Clone, Copy)]
pub struct Peer {
    /// The peer's name in messages, e.g. `intake`.
    pub name: &'static str,
}

impl Peer {
    /// A request to the peer, with the deadline.
    pub fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        request.set_timeout(PEER_DEADLINE);
        request
    }

    /// The answer to give when the peer refused or failed a call about
    /// `resource`, which the caller named in `field`: what the caller can fix
    /// or may not see passes through; only a peer that cannot answer now is
    /// UNAVAILABLE (with a retry hint).
    pub fn error(&self, status: &tonic::Status, field: &str, resource: &str) -> ApiError {
        let peer = self.name;
        match status.code() {
            Code::NotFound => ApiError::NotFound {
                resource: resource.to_owned(),
            },
            Code::PermissionDenied | Code::Unauthenticated => ApiError::PermissionDenied(format!(
                "the {peer} service refused to show {resource} to this caller"
            )),
            Code::InvalidArgument | Code::OutOfRange => {
                ApiError::invalid(field, format!("is not a name the {peer} service accepts"))
            }
            Code::FailedPrecondition => ApiError::FailedPrecondition(vec![PreconditionViolation {
                kind: "PEER".to_owned(),
                subject: resource.to_owned(),
                description: format!("the {peer} service: {}", status.message()),
            }]),
            Code::Unavailable
            | Code::DeadlineExceeded
            | Code::ResourceExhausted
            | Code::Aborted
            | Code::Cancelled
            | Code::Unknown => {
                tracing::warn!(peer, code = ?status.code(), "peer call failed");
                ApiError::Unavailable {
                    message: format!("the {peer} service is unavailable"),
                    retry_after: Duration::from_secs(2),
                }
            }
            code => ApiError::internal(anyhow::anyhow!(
                "the {peer} service answered {code:?}: {}",
                status.message()
            )),
        }
    }
}

/// Adds `authorization: Bearer <token>` and the W3C `traceparent` to every call.
#[derive(Clone)]
pub struct ClientInterceptor {
    authorization: Option<MetadataValue<tonic::metadata::Ascii>>,
    traceparent: Option<MetadataValue<tonic::metadata::Ascii>>,
}

impl std::fmt::Debug for ClientInterceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientInterceptor").finish_non_exhaustive()
    }
}

impl ClientInterceptor {
    /// An interceptor sending `token` (or no token).
    pub fn new(token: Option<&str>) -> Result<Self, anyhow::Error> {
        let authorization = token
            .map(|t| format!("Bearer {t}").parse())
            .transpose()
            .map_err(|_| anyhow::anyhow!("the token is not a valid header value"))?;
        Ok(Self {
            authorization,
            traceparent: None,
        })
    }

    /// Sends `traceparent` on every call instead of the current span's context,
    /// so that a client without a tracer can still make its calls one trace.
    pub fn with_traceparent(mut self, traceparent: &str) -> Result<Self, anyhow::Error> {
        self.traceparent = Some(
            traceparent
                .parse()
                .map_err(|_| anyhow::anyhow!("the traceparent is not a valid header value"))?,
        );
        Ok(self)
    }
}

impl Interceptor for ClientInterceptor {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.authorization {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        if let Some(value) = &self.traceparent {
            request.metadata_mut().insert("traceparent", value.clone());
            return Ok(request);
        }
        let mut headers = http::HeaderMap::new();
        crate::telemetry::inject_current(&mut headers);
        if let Some(value) = headers.get("traceparent").and_then(|v| v.to_str().ok())
            && let Ok(value) = value.parse()
        {
            request.metadata_mut().insert("traceparent", value);
        }
        Ok(request)
    }
}

#[cfg(test)]
mod peer_tests {
    use super::*;

    #[test]
    fn a_peers_answer_maps_the_same_for_every_caller() {
        let peer = Peer { name: "scoring" };
        let code = |c: Code| {
            peer.error(
                &tonic::Status::new(c, "x"),
                "review",
                "jurisdictions/us-wi/reviews/1",
            )
            .code()
        };
        assert_eq!(code(Code::NotFound), Code::NotFound, "not UNAVAILABLE");
        assert_eq!(code(Code::PermissionDenied), Code::PermissionDenied);
        assert_eq!(code(Code::Unauthenticated), Code::PermissionDenied);
        assert_eq!(code(Code::InvalidArgument), Code::InvalidArgument);
        assert_eq!(code(Code::FailedPrecondition), Code::FailedPrecondition);
        for transient in [
            Code::Unavailable,
            Code::DeadlineExceeded,
            Code::ResourceExhausted,
        ] {
            assert_eq!(code(transient), Code::Unavailable);
        }
        assert_eq!(code(Code::Internal), Code::Internal);
        assert_eq!(
            peer.request(())
                .metadata()
                .get("grpc-timeout")
                .map(|v| v.to_str().unwrap_or("")),
            Some("5000000u")
        );
    }
}
