//! Accepting connections, plaintext or TLS, with the limits that keep one peer
//! from holding what others need:
//!
//! - at most [`ConnLimits::max_connections`] open at once per listener; a
//!   connection beyond that is closed as soon as it is accepted;
//! - the TLS handshake runs off the accept loop, so a slow or hostile peer
//!   holds up only its own connection, and for at most [`HANDSHAKE_TIMEOUT`];
//! - a peer must send its HTTP/2 connection preface within
//!   [`ConnLimits::preface_timeout`] of being accepted, or it is closed: a
//!   connection that sends nothing costs a descriptor for seconds, not forever.
//!
//! Once the preface is in, HTTP/2 keepalive pings (unanswered: closed) and the
//! server's maximum connection age (idle: closed) take over.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::time::{Instant, Sleep};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::{Connected, TcpConnectInfo};

use crate::Identity;

/// Longest a peer may take to complete its TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Length of the HTTP/2 client connection preface (RFC 9113, 3.4).
const PREFACE_LEN: u64 = 24;

/// Limits on the connections one listener keeps.
#[derive(Debug, Clone, Copy)]
pub struct ConnLimits {
    /// Connections open at once; more are closed when accepted.
    pub max_connections: usize,
    /// How long after accepting (and the TLS handshake) a peer has to send
    /// the HTTP/2 preface.
    pub preface_timeout: Duration,
}

impl Default for ConnLimits {
    fn default() -> Self {
        Self {
            max_connections: 4096,
            preface_timeout: Duration::from_secs(10),
        }
    }
}

/// The byte stream of an accepted connection.
#[derive(Debug)]
enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// An accepted connection: plaintext, or TLS whose peer presented a
/// certificate the authority signed. Holds its place among the listener's
/// connections until dropped.
#[derive(Debug)]
pub struct Conn {
    stream: Stream,
    info: TcpConnectInfo,
    /// Bytes read so far, up to the preface length.
    read: u64,
    /// Set until the preface is in.
    preface_deadline: Option<Pin<Box<Sleep>>>,
    _slot: OwnedSemaphorePermit,
}

impl Conn {
    fn new(
        stream: Stream,
        info: TcpConnectInfo,
        slot: OwnedSemaphorePermit,
        limits: ConnLimits,
    ) -> Self {
        Self {
            stream,
            info,
            read: 0,
            preface_deadline: Some(Box::pin(tokio::time::sleep_until(
                Instant::now() + limits.preface_timeout,
            ))),
            _slot: slot,
        }
    }
}

impl Connected for Conn {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.info.clone()
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = match &mut self.stream {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        };
        let this = &mut *self;
        if let Some(deadline) = &mut this.preface_deadline {
            this.read += (buf.filled().len() - before) as u64;
            if this.read >= PREFACE_LEN {
                this.preface_deadline = None;
            } else if polled.is_pending() && deadline.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no HTTP/2 preface in time",
                )));
            }
        }
        polled
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.stream {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.stream {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.stream {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match &mut self.stream {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.stream {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }
}

/// The stream of connections on `listener`: plaintext ones as they come, or,
/// with `identity`, those that completed a mutual TLS handshake with its
/// current configuration (refused handshakes are logged and dropped), within
/// `limits`. Accepting stops when the stream is dropped.
pub(crate) fn incoming(
    listener: TcpListener,
    identity: Option<Arc<Identity>>,
    limits: ConnLimits,
) -> ReceiverStream<io::Result<Conn>> {
    let (tx, rx) = mpsc::channel(64);
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                () = tx.closed() => return,
            };
            let (tcp, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors and the like: wait rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                tracing::warn!(%peer, limit = limits.max_connections, "connection limit reached; closing a new connection");
                continue;
            };
            // Without TCP_NODELAY, replies of more than one segment wait for
            // the peer's delayed acknowledgement.
            let _ = tcp.set_nodelay(true);
            let info = tcp.connect_info();
            let Some(identity) = &identity else {
                if tx
                    .send(Ok(Conn::new(Stream::Plain(tcp), info, slot, limits)))
                    .await
                    .is_err()
                {
                    return;
                }
                continue;
            };
            let acceptor = TlsAcceptor::from(identity.server());
            let tx = tx.clone();
            tokio::spawn(async move {
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                    Ok(Ok(stream)) => {
                        let conn = Conn::new(Stream::Tls(Box::new(stream)), info, slot, limits);
                        let _ = tx.send(Ok(conn)).await;
                    }
                    Ok(Err(e)) => tracing::info!(%peer, error = %e, "TLS handshake refused"),
                    Err(_) => tracing::info!(%peer, "TLS handshake timed out"),
                }
            });
        }
    });
    ReceiverStream::new(rx)
}
