//! The web console's configuration.

use scir_kit::config::CommonConfig;

/// `scir-web` settings: flags, or the environment variables named in `--help`.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "scir-web", version, about = "SCIR web console")]
pub struct WebConfig {
    /// Settings every service shares (its database holds sessions only).
    #[command(flatten)]
    pub common: CommonConfig,
    /// Address of the review service, e.g. `http://review:50052`.
    #[arg(long = "review-addr", env = "SCIR_WEB_REVIEW_ADDR")]
    pub review_addr: String,
    /// Address of the scoring service, e.g. `http://scoring:50053`.
    #[arg(long = "scoring-addr", env = "SCIR_WEB_SCORING_ADDR")]
    pub scoring_addr: String,
    /// Address of the insights service, e.g. `http://insights:50054`.
    #[arg(long = "insights-addr", env = "SCIR_WEB_INSIGHTS_ADDR")]
    pub insights_addr: String,
    /// Address of the culture service, e.g. `http://culture:50056`.
    #[arg(long = "culture-addr", env = "SCIR_WEB_CULTURE_ADDR")]
    pub culture_addr: String,
    /// Address of the learning service, e.g. `http://learning:50055`.
    #[arg(long = "learning-addr", env = "SCIR_WEB_LEARNING_ADDR")]
    pub learning_addr: String,
    /// The development sign-in page: pick any role and jurisdiction. Refused
    /// unless tokens are verified with the development HS256 secret (never
    /// with an identity provider's keys), and every page says it is on.
    #[arg(long = "dev-sign-in", env = "SCIR_WEB_DEV_SIGN_IN")]
    pub dev_sign_in: bool,
    /// Sign-in with the agency's identity provider (OpenID Connect).
    #[command(flatten)]
    pub oidc: OidcConfig,
    /// Marks the session cookie `Secure` (set it behind TLS, including a
    /// proxy that terminates TLS); on by itself when the service serves TLS.
    #[arg(long = "secure-cookies", env = "SCIR_WEB_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// Minutes without a request after which a session ends.
    #[arg(
        long = "idle-minutes",
        env = "SCIR_WEB_IDLE_MINUTES",
        default_value_t = 30,
        value_parser = clap::value_parser!(u32).range(1..=1440)
    )]
    pub idle_minutes: u32,
    /// Hours after sign-in at which a session ends, however active.
    #[arg(
        long = "absolute-hours",
        env = "SCIR_WEB_ABSOLUTE_HOURS",
        default_value_t = 12,
        value_parser = clap::value_parser!(u32).range(1..=168)
    )]
    pub absolute_hours: u32,
    /// Requests one address may make per minute.
    #[arg(
        long = "page-requests-per-minute",
        env = "SCIR_WEB_PAGE_REQUESTS_PER_MINUTE",
        default_value_t = 600,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub page_requests_per_minute: u32,
    /// Proxies (an ingress, a load balancer; addresses or address/prefix,
    /// comma-separated) whose `X-Forwarded-For` names the client, so each
    /// person behind them has their own limit. Unset: the header is ignored.
    #[arg(
        long = "trusted-proxies",
        env = "SCIR_WEB_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<scir_kit::pages::Cidr>,
}

/// OpenID Connect sign-in: the authorisation code flow with PKCE against the
/// agency's identity provider. On when the issuer is set.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct OidcConfig {
    /// The provider's issuer URL; its discovery document is read from
    /// `{issuer}/.well-known/openid-configuration` at start-up.
    #[arg(long = "oidc-issuer", env = "SCIR_WEB_OIDC_ISSUER")]
    pub issuer: Option<String>,
    /// The console's client id at the provider (the ID token's audience).
    #[arg(long = "oidc-client-id", env = "SCIR_WEB_OIDC_CLIENT_ID")]
    pub client_id: Option<String>,
    /// A file holding the console's client secret (a confidential client).
    #[arg(
        long = "oidc-client-secret-file",
        env = "SCIR_WEB_OIDC_CLIENT_SECRET_FILE"
    )]
    pub client_secret_file: Option<std::path::PathBuf>,
    /// Where the provider sends the browser back: this console's
    /// `/sign-in/callback`, e.g. `https://console.example.org/sign-in/callback`.
    #[arg(long = "oidc-redirect-url", env = "SCIR_WEB_OIDC_REDIRECT_URL")]
    pub redirect_url: Option<String>,
    /// Scopes asked for, space-separated (`openid` is always asked).
    #[arg(
        long = "oidc-scopes",
        env = "SCIR_WEB_OIDC_SCOPES",
        default_value = "openid profile"
    )]
    pub scopes: String,
    /// Extra CA certificate (PEM) the provider's TLS certificate chains to.
    #[arg(long = "oidc-ca-file", env = "SCIR_WEB_OIDC_CA_FILE")]
    pub ca_file: Option<std::path::PathBuf>,
    /// Allow a provider on a loopback address (development and tests).
    #[arg(long = "oidc-allow-loopback", env = "SCIR_WEB_OIDC_ALLOW_LOOPBACK")]
    pub allow_loopback: bool,
}
