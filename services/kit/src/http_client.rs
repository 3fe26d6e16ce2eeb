//! A small HTTP/1.1 client over the kit's TLS settings, for the few calls a
//! service makes outside gRPC: webhook deliveries, and an identity provider's
//! discovery document, keys and token endpoint. Each address is checked
//! before connecting (the address connected to is the one checked), every
//! answer is bounded in size, and every request in time.

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// The largest answer read; a longer one is an error.
pub const MAX_ANSWER_BYTES: usize = 1 << 20;

/// Sends requests over HTTP/1.1, TLS where the URL says `https`.
#[derive(Clone)]
pub struct HttpClient {
    tls: tokio_rustls::TlsConnector,
    allow_loopback: bool,
    timeout: Duration,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient").finish_non_exhaustive()
    }
}

impl HttpClient {
    /// A client trusting the web's roots and `extra_ca`; loopback addresses
    /// only when `allow_loopback`; each request bounded by `timeout`.
    pub fn new(
        extra_ca: Option<&Path>,
        allow_loopback: bool,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let config = scir_tls::web_client_config(extra_ca)?;
        Ok(Self {
            tls: tokio_rustls::TlsConnector::from(config),
            allow_loopback,
            timeout,
        })
    }

    /// Sends `method` to `url` with `headers` and `body`; the answer, or what
    /// went wrong in words.
    pub async fn send(
        &self,
        method: http::Method,
        url: &str,
        headers: &[(http::header::HeaderName, String)],
        body: Bytes,
    ) -> Result<http::Response<Bytes>, String> {
        tokio::time::timeout(self.timeout, self.send_now(method, url, headers, body))
            .await
            .map_err(|_| format!("no answer within {:?}", self.timeout))?
    }

    async fn send_now(
        &self,
        method: http::Method,
        url: &str,
        headers: &[(http::header::HeaderName, String)],
        body: Bytes,
    ) -> Result<http::Response<Bytes>, String> {
        let uri: http::Uri = url.parse().map_err(|e| format!("bad URL: {e}"))?;
        let host = uri.host().ok_or("no host")?.to_owned();
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err("the URL must be http or https".to_owned()),
        };
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        // Resolved here and checked before connecting: the address connected
        // to is the one checked, whatever the name resolves to next time.
        let addresses: Vec<std::net::SocketAddr> =
            tokio::net::lookup_host((host.trim_matches(['[', ']']), port))
                .await
                .map_err(|e| format!("resolving {host}: {e}"))?
                .collect();
        let allowed: Vec<std::net::SocketAddr> = addresses
            .iter()
            .copied()
            .filter(|a| forbidden(a.ip(), self.allow_loopback).is_none())
            .collect();
        if allowed.is_empty() {
            let why = addresses
                .first()
                .and_then(|a| forbidden(a.ip(), self.allow_loopback))
                .unwrap_or("no address");
            return Err(format!("{host} is refused: {why}"));
        }
        // Each address in turn (a name may resolve to IPv6 and IPv4 alike).
        let mut tcp = Err("no address".to_owned());
        for address in &allowed {
            match TcpStream::connect(address).await {
                Ok(stream) => {
                    tcp = Ok(stream);
                    break;
                }
                Err(e) => tcp = Err(format!("connecting to {address}: {e}")),
            }
        }
        let tcp = tcp?;
        let _ = tcp.set_nodelay(true);
        let authority = uri
            .authority()
            .map_or_else(|| host.clone(), |a| a.to_string());
        let path = uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |p| p.to_string());
        let mut request = http::Request::builder()
            .method(method)
            .uri(path)
            .header(http::header::HOST, authority)
            .header(http::header::USER_AGENT, "scir/1");
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let request = request
            .body(Full::new(body))
            .map_err(|e| format!("building the request: {e}"))?;
        if https {
            let name =
                rustls::pki_types::ServerName::try_from(host.trim_matches(['[', ']']).to_owned())
                    .map_err(|e| format!("bad host name: {e}"))?;
            let stream = self
                .tls
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS: {e}"))?;
            exchange(TokioIo::new(stream), request).await
        } else {
            exchange(TokioIo::new(tcp), request).await
        }
    }
}

/// Why requests may not go to `ip`, if they may not: the machine itself
/// (unless allowed, for development), link-local addresses (where cloud
/// metadata services answer), and addresses that are no single host.
pub fn forbidden(ip: std::net::IpAddr, allow_loopback: bool) -> Option<&'static str> {
    use std::net::IpAddr;
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    match ip {
        _ if ip.is_loopback() && !allow_loopback => Some("a loopback address"),
        _ if ip.is_unspecified() || ip.is_multicast() => Some("not a single host"),
        IpAddr::V4(v4) if v4.is_link_local() || v4.is_broadcast() => Some("a link-local address"),
        IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80 => Some("a link-local address"),
        _ => None,
    }
}

async fn exchange<T>(
    io: T,
    request: http::Request<Full<Bytes>>,
) -> Result<http::Response<Bytes>, String>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| format!("HTTP: {e}"))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("HTTP: {e}"))?;
    let (parts, body) = response.into_parts();
    let body = Limited::new(body, MAX_ANSWER_BYTES)
        .collect()
        .await
        .map_err(|e| format!("reading the answer: {e}"))?
        .to_bytes();
    Ok(http::Response::from_parts(parts, body))
}
