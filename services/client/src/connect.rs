//! Reaching a SCIR deployment: the services' addresses, tokens for the
//! people a command acts as, and authenticated clients.

use std::time::Duration;

use anyhow::Context;
use scir_kit::auth::Role;
use scir_kit::client::ClientInterceptor;
use scir_kit::tls::{TlsArgs, Transport};
use scir_proto::culture::v1::culture_service_client::CultureServiceClient;
use scir_proto::insights::v1::insights_service_client::InsightsServiceClient;
use scir_proto::intake::v1::intake_service_client::IntakeServiceClient;
use scir_proto::learning::v1::learning_service_client::LearningServiceClient;
use scir_proto::review::v1::review_service_client::ReviewServiceClient;
use scir_proto::scoring::v1::scoring_service_client::ScoringServiceClient;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

type Authed = InterceptedService<Channel, ClientInterceptor>;
/// An intake client.
pub type IntakeClient = IntakeServiceClient<Authed>;
/// A review client.
pub type ReviewClient = ReviewServiceClient<Authed>;
/// A scoring client.
pub type ScoringClient = ScoringServiceClient<Authed>;
/// An insights client.
pub type InsightsClient = InsightsServiceClient<Authed>;
/// A learning client.
pub type LearningClient = LearningServiceClient<Authed>;
/// A culture client.
pub type CultureClient = CultureServiceClient<Authed>;

/// Where the services listen, as `http://host:port`.
#[derive(Debug, Clone, clap::Args)]
pub struct Endpoints {
    /// Address of the intake service.
    #[arg(long = "intake-addr", env = "SCIR_INTAKE_ADDR", default_value = "http://127.0.0.1:50051", value_parser = parse_address)]
    pub intake: String,
    /// Address of the review service.
    #[arg(long = "review-addr", env = "SCIR_REVIEW_ADDR", default_value = "http://127.0.0.1:50052", value_parser = parse_address)]
    pub review: String,
    /// Address of the scoring service.
    #[arg(long = "scoring-addr", env = "SCIR_SCORING_ADDR", default_value = "http://127.0.0.1:50053", value_parser = parse_address)]
    pub scoring: String,
    /// Address of the insights service.
    #[arg(long = "insights-addr", env = "SCIR_INSIGHTS_ADDR", default_value = "http://127.0.0.1:50054", value_parser = parse_address)]
    pub insights: String,
    /// Address of the learning service.
    #[arg(long = "learning-addr", env = "SCIR_LEARNING_ADDR", default_value = "http://127.0.0.1:50055", value_parser = parse_address)]
    pub learning: String,
    /// Address of the culture service.
    #[arg(long = "culture-addr", env = "SCIR_CULTURE_ADDR", default_value = "http://127.0.0.1:50056", value_parser = parse_address)]
    pub culture: String,
    /// Client certificate for deployments that require mutual TLS.
    #[command(flatten)]
    pub tls: TlsArgs,
}

/// Accepts `host:port` or `http(s)://host:port`.
pub fn parse_address(text: &str) -> Result<String, String> {
    let text = text.trim();
    let url = if text.contains("://") {
        text.to_owned()
    } else {
        format!("http://{text}")
    };
    url.parse::<http::Uri>()
        .map_err(|e| format!("`{text}` is not an address like 127.0.0.1:50051: {e}"))?;
    Ok(url)
}

/// Lazily connecting channels to the services, shared by every caller.
#[derive(Debug, Clone)]
pub struct Channels {
    intake: Channel,
    review: Channel,
    scoring: Channel,
    insights: Channel,
    learning: Channel,
    culture: Channel,
}

impl Channels {
    /// Channels to `endpoints` (nothing connects until the first call), over
    /// mutual TLS when `endpoints.tls` names certificate files.
    pub fn new(endpoints: &Endpoints) -> anyhow::Result<Self> {
        let transport = Transport::from_args(&endpoints.tls)?;
        let open = |address: &str| {
            transport
                .channel(address)
                .with_context(|| format!("address {address}"))
        };
        Ok(Self {
            intake: open(&endpoints.intake)?,
            review: open(&endpoints.review)?,
            scoring: open(&endpoints.scoring)?,
            insights: open(&endpoints.insights)?,
            learning: open(&endpoints.learning)?,
            culture: open(&endpoints.culture)?,
        })
    }
}

/// Signs development tokens for the people a command acts as.
#[derive(Clone)]
pub struct Signer {
    secret: String,
    issuer: String,
    audience: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// A signer with an HS256 secret, issuer and audience.
    pub fn new(secret: &str, issuer: &str, audience: &str) -> Self {
        Self {
            secret: secret.to_owned(),
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        }
    }

    /// A token for `subject` holding `roles` in `jurisdiction`, valid for 8 hours.
    pub fn token(
        &self,
        subject: &str,
        roles: &[Role],
        jurisdiction: &str,
    ) -> anyhow::Result<String> {
        Ok(scir_kit::auth::mint_hs256(
            &self.secret,
            &self.issuer,
            &self.audience,
            subject,
            jurisdiction,
            roles,
            Duration::from_secs(8 * 3600),
        )?)
    }

    /// A caller on `channels` presenting a token for `subject` holding `roles`
    /// in `jurisdiction`.
    pub fn caller(
        &self,
        channels: &Channels,
        subject: &str,
        roles: &[Role],
        jurisdiction: &str,
    ) -> anyhow::Result<Caller> {
        Caller::new(channels, &self.token(subject, roles, jurisdiction)?)
    }
}

/// Someone calling the services with one token (and, optionally, one fixed
/// trace context for every call).
#[derive(Debug, Clone)]
pub struct Caller {
    channels: Channels,
    interceptor: ClientInterceptor,
}

impl Caller {
    /// A caller presenting `token`.
    pub fn new(channels: &Channels, token: &str) -> anyhow::Result<Self> {
        Ok(Self {
            channels: channels.clone(),
            interceptor: ClientInterceptor::new(Some(token))?,
        })
    }

    /// The same caller, sending `traceparent` with every call.
    pub fn in_trace(mut self, traceparent: Option<&str>) -> anyhow::Result<Self> {
        if let Some(traceparent) = traceparent {
            self.interceptor = self.interceptor.with_traceparent(traceparent)?;
        }
        Ok(self)
    }

    /// An intake client.
    pub fn intake(&self) -> IntakeClient {
        IntakeServiceClient::with_interceptor(
            self.channels.intake.clone(),
            self.interceptor.clone(),
        )
    }

    /// A review client.
    pub fn review(&self) -> ReviewClient {
        ReviewServiceClient::with_interceptor(
            self.channels.review.clone(),
            self.interceptor.clone(),
        )
    }

    /// A scoring client.
    pub fn scoring(&self) -> ScoringClient {
        ScoringServiceClient::with_interceptor(
            self.channels.scoring.clone(),
            self.interceptor.clone(),
        )
    }

    /// An insights client.
    pub fn insights(&self) -> InsightsClient {
        InsightsServiceClient::with_interceptor(
            self.channels.insights.clone(),
            self.interceptor.clone(),
        )
    }

    /// A learning client.
    pub fn learning(&self) -> LearningClient {
        LearningServiceClient::with_interceptor(
            self.channels.learning.clone(),
            self.interceptor.clone(),
        )
    }

    /// A culture client.
    pub fn culture(&self) -> CultureClient {
        CultureServiceClient::with_interceptor(
            self.channels.culture.clone(),
            self.interceptor.clone(),
        )
    }
}
