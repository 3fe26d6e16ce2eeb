//! Builds the web console: checks that a development sign-in cannot meet a
//! real identity provider, opens the sessions' database, binds, and serves
//! the pages.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use scir_kit::auth::ExposeSecret as _;
use scir_kit::db::Migrations;
use scir_kit::pages::Pages;
use scir_kit::server;
use scir_kit::shutdown::Shutdown;
use scir_kit::tls::Transport;

use crate::config::WebConfig;
use crate::console::Console;
use crate::oidc::Provider;
use crate::peers::{Addresses, DevSigner, Peers};
use crate::session::Sessions;

/// The console's own migrations (sessions).
pub static MIGRATIONS: Migrations = scir_kit::migrations!();

/// The name health reports for the console.
pub const SERVICE_NAME: &str = "scir.web.Console";

/// A built web console.
#[derive(Debug)]
pub struct Application {
    address: SocketAddr,
    serving: server::Serving,
}

/// The development signer, when the development sign-in is asked for and
/// allowed: only with the development HS256 secret, never beside an
/// identity provider's keys, so a deployment cannot turn it on by accident.
fn dev_signer(config: &WebConfig) -> anyhow::Result<Option<DevSigner>> {
    if !config.dev_sign_in {
        return Ok(None);
    }
    let auth = &config.common.auth;
    if auth.jwks_file.is_some() {
        bail!(
            "SCIR_WEB_DEV_SIGN_IN is refused: tokens are verified with an identity provider's keys (SCIR_JWT_JWKS_FILE)"
        );
    }
    let Some(secret) = &auth.hs256_secret else {
        bail!("SCIR_WEB_DEV_SIGN_IN needs the development secret SCIR_JWT_HS256_SECRET");
    };
    Ok(Some(DevSigner {
        secret: secret.expose_secret().to_owned(),
        issuer: auth.issuer.clone(),
        audience: auth.audience.clone(),
    }))
}

impl Application {
    /// Checks the sign-in settings, connects and migrates, and binds.
    pub async fn build(config: &WebConfig, shutdown: &Shutdown) -> anyhow::Result<Self> {
        let signer = dev_signer(config)?;
        let dev = signer.is_some();
        if dev && config.oidc.issuer.is_some() {
            bail!(
                "SCIR_WEB_DEV_SIGN_IN is refused beside an identity provider (SCIR_WEB_OIDC_ISSUER)"
            );
        }
        let provider = Provider::discover(&config.oidc)
            .await
            .context("SCIR_WEB_OIDC_*")?;
        let to_services = Transport::from_args(&config.common.tls)?;
        let addresses = Addresses {
            review: &config.review_addr,
            scoring: &config.scoring_addr,
            insights: &config.insights_addr,
            culture: &config.culture_addr,
            learning: &config.learning_addr,
        };
        let peers = Peers::new(addresses, &to_services, signer)
            .context("SCIR_WEB_{REVIEW,SCORING,INSIGHTS,CULTURE,LEARNING}_ADDR")?;
        // Browsers present no client certificate: the console's own port is
        // plain HTTP behind whatever terminates TLS for them, while its calls
        // to the services use the deployment's transport.
        let base = server::Foundation::open(&config.common, &MIGRATIONS, "web", Transport::plain())
            .await?;
        let address = base.address;
        let sessions = Sessions::new(
            base.db.clone(),
            Duration::from_secs(u64::from(config.idle_minutes) * 60),
            Duration::from_secs(u64::from(config.absolute_hours) * 3600),
        );
        let secure = config.secure_cookies || to_services.is_mutual();
        let mut console = Console::new(sessions, peers, base.directory.clone(), dev, secure);
        if let Some(provider) = provider {
            console = console.with_provider(provider);
        }
        let pages = Pages::new("", Arc::new(console), config.page_requests_per_minute)
            .with_trusted_proxies(config.trusted_proxies.clone());
        let serving = base.serving_pages(pages, SERVICE_NAME, shutdown.signal());
        Ok(Self { address, serving })
    }

    /// The bound address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Serves until shutdown fires, then drains and closes the database.
    pub async fn run(self) -> anyhow::Result<()> {
        self.serving.run().await
    }
}
