//! The certificate this process presents and the authorities it trusts, as
//! rustls configurations that are rebuilt when the files change.

use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, ServerConfig};

use crate::files::{Contents, Parsed, Paths, TlsArgs, TlsError};

/// A process's TLS identity: server and client configurations built from the
/// same certificate, key and authorities.
#[derive(Debug)]
pub struct Identity {
    paths: Paths,
    current: RwLock<Current>,
}

#[derive(Debug)]
struct Current {
    contents: Contents,
    server: Arc<ServerConfig>,
    client: Arc<ClientConfig>,
}

impl Identity {
    /// Loads the files `args` names; `None` when it names none. Inside a Tokio
    /// runtime, a task checks the files every `reload_secs` for as long as the
    /// identity is in use.
    pub fn load(args: &TlsArgs) -> Result<Option<Arc<Self>>, TlsError> {
        let Some(paths) = args.paths()? else {
            return Ok(None);
        };
        let contents = Contents::read(&paths)?;
        let current = build(&paths, contents)?;
        let identity = Arc::new(Self {
            paths,
            current: RwLock::new(current),
        });
        if tokio::runtime::Handle::try_current().is_ok() {
            let interval = Duration::from_secs(args.reload_secs.max(1));
            tokio::spawn(watch(Arc::downgrade(&identity), interval));
        }
        Ok(Some(identity))
    }

    /// The configuration new inbound connections are accepted with.
    pub fn server(&self) -> Arc<ServerConfig> {
        self.read().server.clone()
    }

    /// The configuration new outbound connections are made with.
    pub fn client(&self) -> Arc<ClientConfig> {
        self.read().client.clone()
    }

    /// Reads the files again and, when they changed and make a valid
    /// configuration, uses them for new connections; returns whether it did.
    /// A renewal caught half-written fails here and is retried at the next check.
    pub fn reload(&self) -> Result<bool, TlsError> {
        let contents = Contents::read(&self.paths)?;
        if contents == self.read().contents {
            return Ok(false);
        }
        let next = build(&self.paths, contents)?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = next;
        Ok(true)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Current> {
        self.current.read().unwrap_or_else(|e| e.into_inner())
    }
}

async fn watch(identity: Weak<Identity>, interval: Duration) {
    loop {
        tokio::time::sleep(interval).await;
        let Some(identity) = identity.upgrade() else {
            return;
        };
        match identity.reload() {
            Ok(true) => tracing::info!(
                cert = %identity.paths.cert.display(),
                "TLS certificate reloaded; new connections use it"
            ),
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(error = %e, "TLS files not reloaded; keeping the current ones")
            }
        }
    }
}

pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn build(paths: &Paths, contents: Contents) -> Result<Current, TlsError> {
    let parsed = Parsed::from(paths, &contents)?;
    let config = |e: rustls::Error| TlsError::Config(e.to_string());
    let verifier = WebPkiClientVerifier::builder_with_provider(parsed.roots.clone(), provider())
        .build()
        .map_err(|e| TlsError::Config(e.to_string()))?;
    let mut server = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(config)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(parsed.chain.clone(), parsed.key.clone_key())
        .map_err(config)?;
    // HTTP/1.1 as well, for HTTP/JSON callers.
    server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let mut client = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(config)?
        .with_root_certificates(parsed.roots.clone())
        .with_client_auth_cert(parsed.chain, parsed.key)
        .map_err(config)?;
    client.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Current {
        contents,
        server: Arc::new(server),
        client: Arc::new(client),
    })
}
