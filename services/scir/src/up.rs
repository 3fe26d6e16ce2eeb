//! `scir up`: every service in one process, each on its own port and SQLite
//! file under the data directory, with development auth.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use anyhow::Context;
use scir_kit::config::CommonConfig;
use scir_kit::server::{PreBound, ServerSettings};
use scir_kit::shutdown::Shutdown;
use scir_kit::telemetry::TelemetryConfig;

use crate::dev_auth;

/// Options of `scir up`.
#[derive(Debug, Clone, clap::Args)]
pub struct UpArgs {
    /// Where the SQLite files and the development secret live.
    #[arg(long, env = "SCIR_DATA_DIR", default_value = "scir-data")]
    pub data_dir: PathBuf,
    /// Address to listen on.
    #[arg(long, env = "SCIR_HOST", default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Port of the intake service (0 picks a free port).
    #[arg(long, env = "SCIR_INTAKE_PORT", default_value_t = 50051)]
    pub intake_port: u16,
    /// Port of the review service (0 picks a free port).
    #[arg(long, env = "SCIR_REVIEW_PORT", default_value_t = 50052)]
    pub review_port: u16,
    /// Port of the scoring service (0 picks a free port).
    #[arg(long, env = "SCIR_SCORING_PORT", default_value_t = 50053)]
    pub scoring_port: u16,
    /// Port of the insights service (0 picks a free port).
    #[arg(long, env = "SCIR_INSIGHTS_PORT", default_value_t = 50054)]
    pub insights_port: u16,
    /// Port of the learning service (0 picks a free port).
    #[arg(long, env = "SCIR_LEARNING_PORT", default_value_t = 50055)]
    pub learning_port: u16,
    /// Port of the culture service (0 picks a free port).
    #[arg(long, env = "SCIR_CULTURE_PORT", default_value_t = 50056)]
    pub culture_port: u16,
    /// Port of the web console (0 picks a free port).
    #[arg(long, env = "SCIR_WEB_PORT", default_value_t = 50057)]
    pub web_port: u16,
    /// Requests one address may make of the web console per minute (every
    /// browser on this machine shares the loopback address).
    #[arg(
        long,
        env = "SCIR_WEB_PAGE_REQUESTS_PER_MINUTE",
        default_value_t = 6_000
    )]
    pub web_page_requests_per_minute: u32,
    /// Directory of intake rule sets; the shipped ones when unset.
    #[arg(long, env = "SCIR_INTAKE_RULES_DIR")]
    pub rules_dir: Option<PathBuf>,
    /// The member jurisdictions, one file for every service.
    #[command(flatten)]
    pub directory: scir_kit::directory::DirectoryArgs,
    /// Logs and traces.
    #[command(flatten)]
    pub telemetry: TelemetryConfig,
    /// Webhook deliveries (intake, review and scoring).
    #[command(flatten)]
    pub webhooks: scir_kit::webhooks::WebhookConfig,
}

/// Addresses `scir up` serves on.
#[derive(Debug, Clone, Copy)]
pub struct Running {
    /// The intake service.
    pub intake: SocketAddr,
    /// The review service.
    pub review: SocketAddr,
    /// The scoring service.
    pub scoring: SocketAddr,
    /// The insights service.
    pub insights: SocketAddr,
    /// The learning service.
    pub learning: SocketAddr,
    /// The culture service.
    pub culture: SocketAddr,
    /// The web console.
    pub web: SocketAddr,
}

fn common(args: &UpArgs, secret: &str, listener: Listener, database: &str) -> CommonConfig {
    let path = args.data_dir.join(database);
    CommonConfig {
        listener: listener.0,
        listen_addr: listener.1,
        database_url: format!("sqlite://{}", path.display()).into(),
        db_max_connections: 4,
        auth: dev_auth::auth_config(secret),
        server: ServerSettings::default(),
        telemetry: args.telemetry.clone(),
        tls: Default::default(),
        directory: args.directory.clone(),
    }
}

/// Builds every service, reports where each listens through `ready`, and serves
/// until `shutdown` fires.
pub async fn run(
    args: UpArgs,
    shutdown: Shutdown,
    ready: impl FnOnce(Running),
) -> anyhow::Result<()> {
    let secret = dev_auth::ensure_secret(&args.data_dir)?;
    let sealing = scir_kit::sealing::SealingConfig {
        keys: Some(dev_auth::ensure_data_key(&args.data_dir)?),
        active: None,
    };
    // Every port is bound before any service is built (or taken as handed
    // over by whoever started this process), so review and scoring, which
    // call each other, know both addresses and no port is ever released.
    let [intake, review, scoring, insights, learning, culture, web] = [
        ("intake", args.intake_port),
        ("review", args.review_port),
        ("scoring", args.scoring_port),
        ("insights", args.insights_port),
        ("learning", args.learning_port),
        ("culture", args.culture_port),
        ("web", args.web_port),
    ]
    .map(|(name, port)| {
        PreBound::inherited_or_bind(name, SocketAddr::new(args.host, port))
            .with_context(|| format!("binding {name}'s port {port}"))
    });
    let [intake, review, scoring, insights, learning, culture, web] = [
        intake?, review?, scoring?, insights?, learning?, culture?, web?,
    ];
    let dial = |listener: &Listener| format!("http://{}", loopback(listener.1));
    let (intake_addr, review_addr, scoring_addr) = (dial(&intake), dial(&review), dial(&scoring));
    let review_addr_for_learning = review_addr.clone();
    let review_addr_for_web = review_addr.clone();
    let scoring_addr_for_web = scoring_addr.clone();
    let learning_addr = dial(&learning);
    let culture_addr = dial(&culture);
    let insights_addr_for_web = dial(&insights);
    let culture_addr_for_web = culture_addr.clone();
    let learning_addr_for_web = learning_addr.clone();
    let intake_config = scir_intake::IntakeConfig {
        common: common(&args, &secret, intake, "intake.db"),
        rules_dir: args.rules_dir.clone(),
        sealing: sealing.clone(),
        webhooks: args.webhooks.clone(),
    };
    let intake = scir_intake::Application::build(&intake_config, &shutdown).await?;
    let review_config = scir_review::ReviewConfig {
        common: common(&args, &secret, review, "review.db"),
        intake_addr,
        scoring_addr: Some(scoring_addr.clone()),
        language_file: None,
        service_token: scir_kit::credentials::ServiceTokenConfig { token_file: None },
        sealing: sealing.clone(),
        webhooks: args.webhooks.clone(),
    };
    let review = scir_review::Application::build(&review_config, &shutdown).await?;
    let scoring_config = scir_scoring::ScoringConfig {
        webhooks: args.webhooks.clone(),
        sealing: sealing.clone(),
        common: common(&args, &secret, scoring, "scoring.db"),
        review_addr: review_addr.clone(),
        instruments_dir: None,
        active_instrument: None,
        service_token: scir_kit::credentials::ServiceTokenConfig { token_file: None },
    };
    let scoring = scir_scoring::Application::build(&scoring_config, &shutdown).await?;
    let insights_config = scir_insights::InsightsConfig {
        common: common(&args, &secret, insights, "insights.db"),
        review_addr,
        scoring_addr,
        learning_addr: Some(learning_addr),
        culture_addr: Some(culture_addr),
        min_members: 5,
        k: 10,
        noise_max: scir_insights::config::DEFAULT_NOISE_MAX,
        noise_sd: scir_insights::config::DEFAULT_NOISE_SD,
        key_salt: secret.clone().into(),
        service_token: scir_kit::credentials::ServiceTokenConfig { token_file: None },
    };
    let insights = scir_insights::Application::build(&insights_config, &shutdown).await?;
    let learning_config = scir_learning::LearningConfig {
        common: common(&args, &secret, learning, "learning.db"),
        review_addr: review_addr_for_learning,
        sealing: sealing.clone(),
        webhooks: args.webhooks.clone(),
    };
    let learning = scir_learning::Application::build(&learning_config, &shutdown).await?;
    let culture_config = scir_culture::CultureConfig {
        common: common(&args, &secret, culture, "culture.db"),
        instruments_dir: None,
        min_respondents: 5,
        // One machine's browsers and `scir demo` share the loopback address.
        page_requests_per_minute: 6_000,
        trusted_proxies: Vec::new(),
    };
    let culture = scir_culture::Application::build(&culture_config, &shutdown).await?;
    let web_config = scir_web::WebConfig {
        common: common(&args, &secret, web, "web.db"),
        review_addr: review_addr_for_web,
        scoring_addr: scoring_addr_for_web,
        insights_addr: insights_addr_for_web,
        culture_addr: culture_addr_for_web,
        learning_addr: learning_addr_for_web,
        // `scir up` is development: its tokens are signed with its own
        // development secret, which the console then mints with.
        dev_sign_in: true,
        oidc: Default::default(),
        secure_cookies: false,
        idle_minutes: 30,
        absolute_hours: 12,
        page_requests_per_minute: args.web_page_requests_per_minute,
        trusted_proxies: Vec::new(),
    };
    let web = scir_web::Application::build(&web_config, &shutdown).await?;
    ready(Running {
        intake: intake.address(),
        review: review.address(),
        scoring: scoring.address(),
        insights: insights.address(),
        learning: learning.address(),
        culture: culture.address(),
        web: web.address(),
    });
    let (intake, review, scoring, insights, learning, culture, web) = tokio::join!(
        tokio::spawn(intake.run()),
        tokio::spawn(review.run()),
        tokio::spawn(scoring.run()),
        tokio::spawn(insights.run()),
        tokio::spawn(learning.run()),
        tokio::spawn(culture.run()),
        tokio::spawn(web.run())
    );
    intake??;
    review??;
    scoring??;
    insights??;
    learning??;
    culture??;
    web??;
    Ok(())
}

/// Starts every service on free loopback ports with data in `data_dir`, in the
/// background; returns where they listen, the shutdown trigger and the task.
pub async fn spawn(
    data_dir: PathBuf,
) -> anyhow::Result<(
    Running,
    Shutdown,
    tokio::task::JoinHandle<anyhow::Result<()>>,
)> {
    spawn_with(data_dir, |_| {}).await
}

/// [`spawn`] with its settings changed by `adjust` first.
pub async fn spawn_with(
    data_dir: PathBuf,
    adjust: impl FnOnce(&mut UpArgs),
) -> anyhow::Result<(
    Running,
    Shutdown,
    tokio::task::JoinHandle<anyhow::Result<()>>,
)> {
    let mut args = UpArgs {
        data_dir,
        host: std::net::Ipv4Addr::LOCALHOST.into(),
        intake_port: 0,
        review_port: 0,
        scoring_port: 0,
        insights_port: 0,
        learning_port: 0,
        culture_port: 0,
        web_port: 0,
        web_page_requests_per_minute: 6_000,
        rules_dir: None,
        directory: Default::default(),
        telemetry: TelemetryConfig::default(),
        webhooks: Default::default(),
    };
    adjust(&mut args);
    let shutdown = Shutdown::new();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(run(args, shutdown.clone(), move |running| {
        let _ = tx.send(running);
    }));
    match rx.await {
        Ok(running) => Ok((running, shutdown, task)),
        Err(_) => Err(task
            .await?
            .err()
            .unwrap_or_else(|| anyhow::anyhow!("scir up stopped before listening"))),
    }
}

/// A listener bound ahead of its service, with its address.
type Listener = (PreBound, SocketAddr);

/// An address other services in this process can dial (an unspecified host
/// becomes loopback).
fn loopback(address: SocketAddr) -> SocketAddr {
    if address.ip().is_unspecified() {
        SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), address.port())
    } else {
        address
    }
}

/// What `scir up` prints once every service listens.
pub fn banner(running: &Running, data_dir: &std::path::Path) -> String {
    format!(
        "SCIR is up (development auth; data in {data}).\n\
         \n  intake   {intake}   scir.intake.v1.IntakeService\
         \n  review   {review}   scir.review.v1.ReviewService\
         \n  scoring  {scoring}   scir.scoring.v1.ScoringService\
         \n  insights {insights}   scir.insights.v1.InsightsService\
         \n  learning {learning}   scir.learning.v1.LearningService\
         \n  culture  {culture}   scir.culture.v1.CultureService (answer page: http://{culture}/survey)\
         \n  web      {web}   the web console: http://{web}/ (development sign-in)\n\
         \nGet a token, then call a service, for example:\n\
         \n  TOKEN=$(scir token --role reporter --jurisdiction us-wi)\n\
         \x20 grpcurl -plaintext -H \"authorization: Bearer $TOKEN\" {intake} scir.intake.v1.IntakeService/ListJurisdictions\n\
         \nPress Ctrl-C to stop.",
        data = data_dir.display(),
        intake = running.intake,
        review = running.review,
        scoring = running.scoring,
        insights = running.insights,
        learning = running.learning,
        culture = running.culture,
        web = running.web,
    )
}
