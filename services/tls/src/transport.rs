//! How a process reaches other services: plaintext, or mutual TLS with its identity.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsConnector;
use tonic::transport::{Channel, Endpoint};

use crate::files::{TlsArgs, TlsError};
use crate::identity::Identity;
use crate::incoming::{Conn, ConnLimits, incoming};

/// Plaintext, or mutual TLS with an identity; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Transport {
    identity: Option<Arc<Identity>>,
}

impl Transport {
    /// Plaintext gRPC.
    pub fn plain() -> Self {
        Self::default()
    }

    /// Mutual TLS when `args` names certificate files, plaintext when it names none.
    pub fn from_args(args: &TlsArgs) -> Result<Self, TlsError> {
        Ok(Self {
            identity: Identity::load(args)?,
        })
    }

    /// The identity, when this is mutual TLS.
    pub fn identity(&self) -> Option<&Arc<Identity>> {
        self.identity.as_ref()
    }

    /// Whether connections are mutual TLS.
    pub fn is_mutual(&self) -> bool {
        self.identity.is_some()
    }

    /// A lazily connecting channel to `address` (`http://host:port` or
    /// `https://host:port`; the transport, not the scheme, decides TLS). Over TLS
    /// the server's certificate must name the address's host.
    pub fn channel(&self, address: &str) -> Result<Channel, tonic::transport::Error> {
        let endpoint = Endpoint::from_shared(address.to_owned())?
            .connect_timeout(Duration::from_secs(5))
            .tcp_nodelay(true);
        Ok(match &self.identity {
            None => endpoint.connect_lazy(),
            Some(identity) => {
                let identity = identity.clone();
                endpoint.connect_with_connector_lazy(tower::service_fn(move |uri: http::Uri| {
                    connect(identity.clone(), uri)
                }))
            }
        })
    }

    /// Serves connections from `listener` within `limits`: accepted as they
    /// come when plaintext, after a mutual TLS handshake otherwise.
    pub fn accept(&self, listener: TcpListener, limits: ConnLimits) -> Incoming {
        incoming(listener, self.identity.clone(), limits)
    }
}

/// Inbound connections, plaintext or TLS.
pub type Incoming = tokio_stream::wrappers::ReceiverStream<io::Result<Conn>>;

async fn connect(
    identity: Arc<Identity>,
    uri: http::Uri,
) -> io::Result<TokioIo<tokio_rustls::client::TlsStream<TcpStream>>> {
    let invalid =
        |what: &str| io::Error::new(io::ErrorKind::InvalidInput, format!("{uri}: {what}"));
    let host = uri.host().ok_or_else(|| invalid("no host"))?;
    let port = uri.port_u16().ok_or_else(|| invalid("no port"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let name = ServerName::try_from(host.to_owned()).map_err(|_| invalid("not a host name"))?;
    let tcp = TcpStream::connect((host, port)).await?;
    tcp.set_nodelay(true)?;
    let tls = TlsConnector::from(identity.client())
        .connect(name, tcp)
        .await?;
    Ok(TokioIo::new(tls))
}
