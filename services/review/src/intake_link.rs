//! Calls to the intake service: the incident behind a review, read with the
//! caller's own token so intake applies its own access rules.

use std::time::Duration;

use scir_kit::ApiError;
use scir_kit::client::ClientInterceptor;
use scir_proto::intake::v1::intake_service_client::IntakeServiceClient;
use scir_proto::intake::v1::{GetIncidentRequest, Incident};
use tonic::Code;
use tonic::transport::Channel;

/// Deadline of a call to intake.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// A connection to intake.
#[derive(Debug, Clone)]
pub struct IntakeLink {
    channel: Channel,
}

impl IntakeLink {
    /// A link to intake at `address` (`http://host:port`); connects lazily.
    pub fn new(address: &str, transport: &scir_kit::tls::Transport) -> anyhow::Result<Self> {
        Ok(Self {
            channel: transport.channel(address)?,
        })
    }

    /// Reads an incident on behalf of the caller whose token is `bearer`.
    pub async fn get_incident(&self, bearer: &str, name: &str) -> Result<Incident, ApiError> {
        let interceptor = ClientInterceptor::new(Some(bearer)).map_err(ApiError::internal)?;
        let mut client = IntakeServiceClient::with_interceptor(self.channel.clone(), interceptor);
        let mut request = tonic::Request::new(GetIncidentRequest {
            name: name.to_owned(),
        });
        request.set_timeout(CALL_TIMEOUT);
        match client.get_incident(request).await {
            Ok(response) => Ok(response.into_inner()),
            Err(status) => Err(match status.code() {
                Code::NotFound => ApiError::NotFound {
                    resource: name.to_owned(),
                },
                Code::PermissionDenied | Code::Unauthenticated => ApiError::PermissionDenied(
                    "intake refused to show the incident to this caller".to_owned(),
                ),
                Code::InvalidArgument => {
                    ApiError::invalid("incident", "is not an incident name intake accepts")
                }
                _ => {
                    tracing::warn!(code = ?status.code(), "intake call failed");
                    ApiError::Unavailable {
                        message: "the intake service is unavailable".to_owned(),
                        retry_after: Duration::from_secs(2),
                    }
                }
            }),
        }
    }
}
