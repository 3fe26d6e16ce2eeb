//! Calls to the intake service: the incident behind a review, read with the
//! caller's own token so intake applies its own access rules.

use scir_kit::ApiError;
use scir_kit::client::{ClientInterceptor, Peer};
use scir_proto::intake::v1::intake_service_client::IntakeServiceClient;
use scir_proto::intake::v1::{GetIncidentRequest, Incident};
use tonic::transport::Channel;

const INTAKE: Peer = Peer { name: "intake" };

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
        let request = INTAKE.request(GetIncidentRequest {
            name: name.to_owned(),
        });
        client
            .get_incident(request)
            .await
            .map(tonic::Response::into_inner)
            .map_err(|status| INTAKE.error(&status, "incident", name))
    }
}
