//! Webhooks: a service's events delivered to the HTTPS endpoints its
//! jurisdictions' admins register, as Standard Webhooks (see
//! `proto/scir/webhooks/v1/webhooks.proto` for the contract).
//!
//! A service that publishes events mounts [`Webhooks`]: the
//! `scir.webhooks.v1.WebhookService` RPCs beside its own, and a delivery task
//! that follows its event log. Each endpoint has a cursor in that log; an
//! event is delivered when the endpoint answers 2xx and only then does the
//! cursor move, so delivery is at least once and in order. A failed attempt is
//! recorded, retried after a backoff that doubles up to
//! [`WebhookConfig::retry_max`], and after [`WebhookConfig::max_failures`] in a
//! row the endpoint is disabled. Signing secrets are sealed at rest.

mod delivery;
mod store;

use std::sync::Arc;
use std::time::Duration;

use scir_proto::webhooks::v1 as pb;
use scir_proto::webhooks::v1::webhook_service_server::{WebhookService, WebhookServiceServer};
use tonic::{Request, Response, Status};

use crate::audit::AuditRecord;
use crate::auth::{Caller, Role};
use crate::db::Database;
use crate::directory::Directory;
use crate::error::ApiError;
use crate::events::EventLog;
use crate::names::{JurisdictionName, WebhookName};
use crate::sealing::Sealer;
use crate::shutdown::ShutdownSignal;
use crate::unit::UnitOfWork;
use crate::validate::Check;

pub use delivery::signature;
pub use store::Endpoint;

/// The gRPC service name.
pub const SERVICE_NAME: &str = "scir.webhooks.v1.WebhookService";

/// Endpoints one jurisdiction may register with one service.
pub const MAX_ENDPOINTS: usize = 20;

const ADMIN: &[Role] = &[Role::Admin];

// Who may call what: admins only.
crate::method_rules!("scir.webhooks.v1.WebhookService", {
    "CreateWebhook" => ADMIN,
    "GetWebhook" => ADMIN,
    "ListWebhooks" => ADMIN,
    "DeleteWebhook" => ADMIN,
    "EnableWebhook" => ADMIN,
    "ReplayWebhook" => ADMIN,
    "ListFailedDeliveries" => ADMIN,
});

/// How deliveries are made.
#[derive(Debug, Clone, clap::Args)]
pub struct WebhookConfig {
    /// Accept `http://` endpoints as well as `https://` (development and tests
    /// only: deliveries would cross the network unencrypted).
    #[arg(long = "webhooks-allow-http", env = "SCIR_WEBHOOKS_ALLOW_HTTP")]
    pub allow_http: bool,
    /// Deliver to this machine's own addresses (development and tests only;
    /// otherwise loopback, like link-local and metadata addresses, is refused).
    #[arg(long = "webhooks-allow-loopback", env = "SCIR_WEBHOOKS_ALLOW_LOOPBACK")]
    pub allow_loopback: bool,
    /// PEM certificates of authorities trusted for endpoints besides the
    /// public web ones (an agency's own CA).
    #[arg(long = "webhooks-ca-file", env = "SCIR_WEBHOOKS_CA_FILE")]
    pub ca_file: Option<std::path::PathBuf>,
    /// Failed attempts in a row after which an endpoint is disabled.
    #[arg(
        long = "webhooks-max-failures",
        env = "SCIR_WEBHOOKS_MAX_FAILURES",
        default_value_t = 10
    )]
    pub max_failures: u32,
    /// Wait after the first failed attempt; it doubles with each failure.
    #[arg(long = "webhooks-retry-base", env = "SCIR_WEBHOOKS_RETRY_BASE", value_parser = crate::server::parse_duration, default_value = "1s")]
    pub retry_base: Duration,
    /// Longest wait between attempts.
    #[arg(long = "webhooks-retry-max", env = "SCIR_WEBHOOKS_RETRY_MAX", value_parser = crate::server::parse_duration, default_value = "10m")]
    pub retry_max: Duration,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            allow_http: false,
            allow_loopback: false,
            ca_file: None,
            max_failures: 10,
            retry_base: Duration::from_secs(1),
            retry_max: Duration::from_secs(600),
        }
    }
}

impl WebhookConfig {
    /// The wait before the attempt after `failures` failures in a row.
    fn backoff(&self, failures: u32) -> Duration {
        let doubled = self
            .retry_base
            .saturating_mul(1 << failures.saturating_sub(1).min(20));
        doubled.min(self.retry_max)
    }
}

/// A service's webhooks: the RPCs and the delivery task.
#[derive(Debug, Clone)]
pub struct Webhooks {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    db: Database,
    sealer: Sealer,
    directory: Arc<Directory>,
    /// The event types this service publishes.
    publishes: Vec<String>,
    config: WebhookConfig,
    client: crate::http_client::HttpClient,
}

impl Webhooks {
    /// Webhooks for the events (`publishes`) of the service whose database is `db`.
    pub fn new(
        db: Database,
        sealer: Sealer,
        directory: Arc<Directory>,
        publishes: Vec<String>,
        config: &WebhookConfig,
    ) -> anyhow::Result<Self> {
        let client = crate::http_client::HttpClient::new(
            config.ca_file.as_deref(),
            config.allow_loopback,
            delivery::ATTEMPT_TIMEOUT,
        )?;
        Ok(Self {
            inner: Arc::new(Inner {
                db,
                sealer,
                directory,
                publishes,
                config: config.clone(),
                client,
            }),
        })
    }

    /// The gRPC service, for the service's routes.
    pub fn server(&self, max_message_bytes: usize) -> WebhookServiceServer<Self> {
        WebhookServiceServer::new(self.clone())
            .max_decoding_message_size(max_message_bytes)
            .max_encoding_message_size(max_message_bytes)
    }

    /// Starts delivering `log`'s events until `shutdown` fires.
    pub fn spawn_delivery(&self, log: EventLog, shutdown: ShutdownSignal) {
        tokio::spawn(delivery::run(self.clone(), log, shutdown));
    }

    fn caller<T>(request: &Request<T>) -> Result<Caller, Status> {
        Caller::of(request).map_err(Status::from)
    }

    /// The endpoint `name` names, if the caller acts in its jurisdiction.
    async fn endpoint(
        &self,
        caller: &Caller,
        name: &str,
        field: &str,
    ) -> Result<Endpoint, ApiError> {
        let WebhookName { jurisdiction, id } = WebhookName::parse(name, field)?;
        caller.authorize_jurisdiction(&self.inner.directory, &jurisdiction)?;
        store::get(&self.inner.db, &id)
            .await?
            .filter(|e| e.jurisdiction == jurisdiction)
            .ok_or_else(|| ApiError::NotFound {
                resource: name.to_owned(),
            })
    }

    /// Ends a change: its audit record in the same unit, then commit.
    async fn commit_audited(
        &self,
        mut unit: UnitOfWork,
        caller: &Caller,
        method: &str,
        resource: &str,
        jurisdiction: &str,
    ) -> Result<(), ApiError> {
        unit.audit(AuditRecord::by(
            caller,
            &format!("/{SERVICE_NAME}/{method}"),
            resource,
            jurisdiction,
            "ok",
        ));
        unit.commit().await?;
        Ok(())
    }

    async fn begin(&self) -> Result<UnitOfWork, ApiError> {
        Ok(UnitOfWork::begin(&self.inner.db).await?)
    }

    fn validate(&self, webhook: &pb::Webhook) -> Result<(), ApiError> {
        let mut check = Check::new("webhook.");
        check.text("url", &webhook.url, 2048, true);
        match webhook.url.parse::<http::Uri>() {
            Ok(uri) => {
                let scheme = uri.scheme_str().unwrap_or_default();
                if scheme != "https" && !(scheme == "http" && self.inner.config.allow_http) {
                    check.bad("url", "must be an https:// URL");
                }
                match uri.host() {
                    None | Some("") => check.bad("url", "must name a host"),
                    Some(host) => {
                        // A literal address is checked now; names, when delivered.
                        let literal = host.trim_matches(['[', ']']).parse::<std::net::IpAddr>();
                        if let Ok(ip) = literal
                            && let Some(why) =
                                crate::http_client::forbidden(ip, self.inner.config.allow_loopback)
                        {
                            check.bad("url", format!("must not be {why}"));
                        }
                    }
                }
            }
            Err(_) if webhook.url.is_empty() => {}
            Err(e) => check.bad("url", format!("is not a URL: {e}")),
        }
        for (i, kind) in webhook.event_types.iter().enumerate() {
            if !self.inner.publishes.contains(kind) {
                check.bad(
                    &format!("event_types[{i}]"),
                    format!(
                        "`{kind}` is not an event of this service; it publishes {}",
                        self.inner.publishes.join(", ")
                    ),
                );
            }
        }
        check.finish()
    }
}

/// A new signing secret: 32 random bytes, and their `whsec_` form.
fn new_secret() -> Result<(Vec<u8>, String), ApiError> {
    use base64::Engine as _;
    let mut key = vec![0u8; 32];
    getrandom::fill(&mut key)
        .map_err(|e| ApiError::internal(anyhow::anyhow!("no randomness: {e}")))?;
    let shown = format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(&key)
    );
    Ok((key, shown))
}

fn sealing_context(id: &str) -> String {
    format!("webhook-secret:{id}")
}

#[tonic::async_trait]
impl WebhookService for Webhooks {
    async fn create_webhook(
        &self,
        request: Request<pb::CreateWebhookRequest>,
    ) -> Result<Response<pb::CreateWebhookResponse>, Status> {
        let caller = Self::caller(&request)?;
        let request = request.into_inner();
        let jurisdiction = JurisdictionName::parse(&request.parent, "parent")?.0;
        caller.authorize_jurisdiction(&self.inner.directory, &jurisdiction)?;
        let webhook = request
            .webhook
            .ok_or_else(|| ApiError::invalid("webhook", "is required"))?;
        self.validate(&webhook)?;
        if store::count(&self.inner.db, &jurisdiction)
            .await
            .map_err(ApiError::from)?
            >= MAX_ENDPOINTS
        {
            return Err(
                ApiError::FailedPrecondition(vec![crate::error::PreconditionViolation {
                    kind: "WEBHOOK_LIMIT".to_owned(),
                    subject: request.parent.clone(),
                    description: format!(
                        "a jurisdiction may register at most {MAX_ENDPOINTS} endpoints here"
                    ),
                }])
                .into(),
            );
        }
        let id = uuid::Uuid::now_v7().to_string();
        let (key, shown) = new_secret()?;
        let endpoint = Endpoint {
            id: id.clone(),
            jurisdiction: jurisdiction.clone(),
            url: webhook.url,
            event_types: webhook.event_types,
            secret: self.inner.sealer.seal(&key, &sealing_context(&id)),
            state: pb::WebhookState::Active,
            disabled_reason: String::new(),
            // New endpoints receive what happens from now on; ReplayWebhook
            // reaches back.
            delivered_cursor: store::last_cursor(&self.inner.db)
                .await
                .map_err(ApiError::from)?,
            consecutive_failures: 0,
            next_attempt_time: 0,
            create_time: crate::db::now_micros(),
        };
        let mut tx = self.begin().await?;
        store::insert(tx.connection().await.map_err(ApiError::from)?, &endpoint)
            .await
            .map_err(ApiError::from)?;
        self.commit_audited(
            tx,
            &caller,
            "CreateWebhook",
            &endpoint.name(),
            &jurisdiction,
        )
        .await?;
        Ok(Response::new(pb::CreateWebhookResponse {
            webhook: Some(endpoint.to_proto()),
            secret: shown,
        }))
    }

    async fn get_webhook(
        &self,
        request: Request<pb::GetWebhookRequest>,
    ) -> Result<Response<pb::Webhook>, Status> {
        let caller = Self::caller(&request)?;
        let endpoint = self
            .endpoint(&caller, &request.get_ref().name, "name")
            .await?;
        Ok(Response::new(endpoint.to_proto()))
    }

    async fn list_webhooks(
        &self,
        request: Request<pb::ListWebhooksRequest>,
    ) -> Result<Response<pb::ListWebhooksResponse>, Status> {
        let caller = Self::caller(&request)?;
        let jurisdiction = JurisdictionName::parse(&request.get_ref().parent, "parent")?.0;
        caller.authorize_jurisdiction(&self.inner.directory, &jurisdiction)?;
        let webhooks = store::list(&self.inner.db, &jurisdiction)
            .await
            .map_err(ApiError::from)?
            .iter()
            .map(Endpoint::to_proto)
            .collect();
        Ok(Response::new(pb::ListWebhooksResponse { webhooks }))
    }

    async fn delete_webhook(
        &self,
        request: Request<pb::DeleteWebhookRequest>,
    ) -> Result<Response<pb::DeleteWebhookResponse>, Status> {
        let caller = Self::caller(&request)?;
        let name = request.into_inner().name;
        let endpoint = self.endpoint(&caller, &name, "name").await?;
        let mut tx = self.begin().await?;
        store::delete(tx.connection().await.map_err(ApiError::from)?, &endpoint.id)
            .await
            .map_err(ApiError::from)?;
        self.commit_audited(tx, &caller, "DeleteWebhook", &name, &endpoint.jurisdiction)
            .await?;
        Ok(Response::new(pb::DeleteWebhookResponse {}))
    }

    async fn enable_webhook(
        &self,
        request: Request<pb::EnableWebhookRequest>,
    ) -> Result<Response<pb::Webhook>, Status> {
        let caller = Self::caller(&request)?;
        let name = request.into_inner().name;
        let endpoint = self.endpoint(&caller, &name, "name").await?;
        let mut tx = self.begin().await?;
        store::enable(
            tx.connection().await.map_err(ApiError::from)?,
            &endpoint.id,
            None,
        )
        .await
        .map_err(ApiError::from)?;
        self.commit_audited(tx, &caller, "EnableWebhook", &name, &endpoint.jurisdiction)
            .await?;
        let endpoint = self.endpoint(&caller, &name, "name").await?;
        Ok(Response::new(endpoint.to_proto()))
    }

    async fn replay_webhook(
        &self,
        request: Request<pb::ReplayWebhookRequest>,
    ) -> Result<Response<pb::Webhook>, Status> {
        let caller = Self::caller(&request)?;
        let request = request.into_inner();
        let endpoint = self.endpoint(&caller, &request.name, "name").await?;
        if request.after_cursor < 0 || request.after_cursor > endpoint.delivered_cursor {
            return Err(ApiError::invalid(
                "after_cursor",
                format!(
                    "must be between 0 and the delivered cursor, {}",
                    endpoint.delivered_cursor
                ),
            )
            .into());
        }
        let mut tx = self.begin().await?;
        store::enable(
            tx.connection().await.map_err(ApiError::from)?,
            &endpoint.id,
            Some(request.after_cursor),
        )
        .await
        .map_err(ApiError::from)?;
        self.commit_audited(
            tx,
            &caller,
            "ReplayWebhook",
            &request.name,
            &endpoint.jurisdiction,
        )
        .await?;
        let endpoint = self.endpoint(&caller, &request.name, "name").await?;
        Ok(Response::new(endpoint.to_proto()))
    }

    async fn list_failed_deliveries(
        &self,
        request: Request<pb::ListFailedDeliveriesRequest>,
    ) -> Result<Response<pb::ListFailedDeliveriesResponse>, Status> {
        let caller = Self::caller(&request)?;
        let endpoint = self
            .endpoint(&caller, &request.get_ref().parent, "parent")
            .await?;
        let deliveries = store::failures(&self.inner.db, &endpoint.id, 100)
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(pb::ListFailedDeliveriesResponse {
            deliveries,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_up_to_its_ceiling() {
        let config = WebhookConfig {
            retry_base: Duration::from_millis(100),
            retry_max: Duration::from_secs(1),
            ..WebhookConfig::default()
        };
        let waits: Vec<u128> = (1..=6).map(|n| config.backoff(n).as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(config.backoff(u32::MAX), Duration::from_secs(1));
    }

    #[test]
    fn deliveries_never_go_to_the_machine_itself_or_to_link_local_addresses() {
        use crate::http_client::forbidden;
        for (ip, allowed) in [
            ("127.0.0.1", false),
            ("::1", false),
            ("::ffff:127.0.0.1", false),
            ("169.254.169.254", false),
            ("fe80::1", false),
            ("0.0.0.0", false),
            ("224.0.0.1", false),
            ("255.255.255.255", false),
            ("10.1.2.3", true),
            ("203.0.113.9", true),
            ("2001:db8::1", true),
        ] {
            let ip: std::net::IpAddr = ip.parse().expect("ip");
            assert_eq!(forbidden(ip, false).is_none(), allowed, "{ip}");
        }
        assert!(forbidden("127.0.0.1".parse().expect("ip"), true).is_none());
        assert!(forbidden("169.254.169.254".parse().expect("ip"), true).is_some());
    }

    #[test]
    fn names_parse_strictly() {
        let id = uuid::Uuid::now_v7().to_string();
        let name = format!("jurisdictions/us-wi/webhooks/{id}");
        assert_eq!(
            WebhookName::parse(&name, "name").expect("name"),
            WebhookName::new("us-wi", id)
        );
        for bad in [
            "jurisdictions/us-wi/webhooks/x",
            "jurisdictions//webhooks/x",
            "webhooks/x",
        ] {
            assert!(WebhookName::parse(bad, "name").is_err(), "{bad}");
        }
        assert!(JurisdictionName::parse("jurisdictions/us-wi", "parent").is_ok());
        assert!(JurisdictionName::parse("jurisdictions/us-wi/x", "parent").is_err());
    }
}
