//! What every client of a SCIR service uses: a channel and an interceptor that
//! adds the bearer token and the current trace context to each call.

use tonic::metadata::MetadataValue;
use tonic::service::Interceptor;

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
