//! Calls to the services, each with the signed-in person's own token: the
//! console sees exactly what that person may see, and nothing else.

use std::time::Duration;

use scir_kit::auth::{ExposeSecret as _, Role};
use scir_kit::client::ClientInterceptor;
use scir_kit::tls::Transport;
use scir_proto::culture::v1::culture_service_client::CultureServiceClient;
use scir_proto::insights::v1::insights_service_client::InsightsServiceClient;
use scir_proto::learning::v1::learning_service_client::LearningServiceClient;
use scir_proto::review::v1::review_service_client::ReviewServiceClient;
use scir_proto::scoring::v1::scoring_service_client::ScoringServiceClient;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::session::Session;

/// How long a token minted for one page lives.
const TOKEN_LIFETIME: Duration = Duration::from_secs(300);

/// Mints the development token of a session (development sign-in only).
#[derive(Clone)]
pub struct DevSigner {
    /// The development HS256 secret the services verify with.
    pub secret: String,
    /// `iss`.
    pub issuer: String,
    /// `aud`.
    pub audience: String,
}

impl std::fmt::Debug for DevSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevSigner").finish_non_exhaustive()
    }
}

/// Review's client with the person's token.
pub type Review = ReviewServiceClient<InterceptedService<Channel, ClientInterceptor>>;

/// Insights' client with the person's token.
pub type Insights = InsightsServiceClient<InterceptedService<Channel, ClientInterceptor>>;

/// Culture's client with the person's token.
pub type Culture = CultureServiceClient<InterceptedService<Channel, ClientInterceptor>>;

/// Learning's client with the person's token.
pub type Learning = LearningServiceClient<InterceptedService<Channel, ClientInterceptor>>;

/// Scoring's client with the person's token.
pub type Scoring = ScoringServiceClient<InterceptedService<Channel, ClientInterceptor>>;

/// The services the console calls.
#[derive(Debug, Clone)]
pub struct Peers {
    review: Channel,
    scoring: Channel,
    insights: Channel,
    culture: Channel,
    learning: Channel,
    signer: Option<DevSigner>,
}

/// Where the services are.
#[derive(Debug, Clone, Copy)]
pub struct Addresses<'a> {
    /// Review.
    pub review: &'a str,
    /// Scoring.
    pub scoring: &'a str,
    /// Insights.
    pub insights: &'a str,
    /// Culture.
    pub culture: &'a str,
    /// Learning.
    pub learning: &'a str,
}

impl Peers {
    /// Channels to the services (connected lazily); `signer` mints the
    /// tokens of development sessions.
    pub fn new(
        addresses: Addresses<'_>,
        transport: &Transport,
        signer: Option<DevSigner>,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            review: transport.channel(addresses.review)?,
            scoring: transport.channel(addresses.scoring)?,
            insights: transport.channel(addresses.insights)?,
            culture: transport.channel(addresses.culture)?,
            learning: transport.channel(addresses.learning)?,
            signer,
        })
    }

    /// The bearer token of a session.
    fn bearer(&self, session: &Session) -> anyhow::Result<String> {
        if let Some(bearer) = &session.bearer {
            return Ok(bearer.0.expose_secret().to_owned());
        }
        let signer = self
            .signer
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("no sign-in is configured"))?;
        let roles: Vec<Role> = session.roles.clone();
        Ok(scir_kit::auth::mint_hs256(
            &signer.secret,
            &signer.issuer,
            &signer.audience,
            &session.subject,
            &session.jurisdiction,
            &roles,
            TOKEN_LIFETIME,
        )?)
    }

    fn interceptor(&self, session: &Session) -> anyhow::Result<ClientInterceptor> {
        ClientInterceptor::new(Some(&self.bearer(session)?))
    }

    /// Review, as the session's person.
    pub fn review(&self, session: &Session) -> anyhow::Result<Review> {
        Ok(ReviewServiceClient::with_interceptor(
            self.review.clone(),
            self.interceptor(session)?,
        ))
    }

    /// Scoring, as the session's person.
    pub fn scoring(&self, session: &Session) -> anyhow::Result<Scoring> {
        Ok(ScoringServiceClient::with_interceptor(
            self.scoring.clone(),
            self.interceptor(session)?,
        ))
    }

    /// Culture, as the session's person.
    pub fn culture(&self, session: &Session) -> anyhow::Result<Culture> {
        Ok(CultureServiceClient::with_interceptor(
            self.culture.clone(),
            self.interceptor(session)?,
        ))
    }

    /// Learning, as the session's person.
    pub fn learning(&self, session: &Session) -> anyhow::Result<Learning> {
        Ok(LearningServiceClient::with_interceptor(
            self.learning.clone(),
            self.interceptor(session)?,
        ))
    }

    /// Insights, as the session's person.
    pub fn insights(&self, session: &Session) -> anyhow::Result<Insights> {
        Ok(InsightsServiceClient::with_interceptor(
            self.insights.clone(),
            self.interceptor(session)?,
        ))
    }
}
