//! Plain HTML pages served beside a service's gRPC and HTTP/JSON routes, for
//! people with nothing but a browser (culture's survey page). A page takes no
//! token: whatever credential it needs travels in the request, and its handler
//! checks it. Every page request is limited per client address, in body size
//! and in time, counted in flight for the drain, and answered with headers
//! that keep it out of caches, frames and referrers.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http::{HeaderValue, Method, StatusCode, header};
use http_body_util::BodyExt;
use tonic::body::Body;
use tonic::transport::server::TcpConnectInfo;

use crate::drain::InFlight;

/// Largest form body a page takes.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

/// What a page handler is given.
#[derive(Debug, Clone)]
pub struct PageRequest {
    /// `GET` or `POST`.
    pub method: Method,
    /// The path, e.g. `/survey`.
    pub path: String,
    /// The query's fields.
    pub query: Vec<(String, String)>,
    /// The form's fields (a `POST` of `application/x-www-form-urlencoded`).
    pub form: Vec<(String, String)>,
    /// The client's address, when known.
    pub peer: Option<IpAddr>,
    /// The request's cookies, by name.
    pub cookies: Vec<(String, String)>,
    /// The W3C `traceparent` the request came with, if any.
    pub traceparent: Option<String>,
}

impl PageRequest {
    /// The first value of a query or form field.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .chain(&self.query)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of a form field only (never the query's: a value in
    /// the address can be read from logs and history).
    pub fn form_value(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of a cookie.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A page to send.
#[derive(Debug, Clone)]
pub struct Page {
    /// Its status.
    pub status: StatusCode,
    /// Its content type, e.g. `text/html; charset=utf-8`.
    pub content_type: &'static str,
    /// Its body.
    pub body: String,
    /// Headers beside those every page carries (`Set-Cookie`, `Location`).
    pub headers: Vec<(header::HeaderName, HeaderValue)>,
}

impl Page {
    /// An HTML page.
    pub fn html(status: StatusCode, body: String) -> Self {
        Self {
            status,
            content_type: "text/html; charset=utf-8",
            body,
            headers: Vec::new(),
        }
    }

    /// A stylesheet.
    pub fn css(body: &str) -> Self {
        Self {
            content_type: "text/css; charset=utf-8",
            ..Self::html(StatusCode::OK, body.to_owned())
        }
    }

    /// A redirect to `location` after a form (303 See Other: the browser
    /// follows with a GET, so a reload does not post again).
    pub fn see_other(location: &str) -> Self {
        let mut page = Self::html(StatusCode::SEE_OTHER, String::new());
        if let Ok(value) = HeaderValue::from_str(location) {
            page.headers.push((header::LOCATION, value));
        }
        page
    }

    /// The page with a header added; a value that is not a valid header is
    /// left out.
    pub fn with_header(mut self, name: header::HeaderName, value: &str) -> Self {
        if let Ok(value) = HeaderValue::from_str(value) {
            self.headers.push((name, value));
        }
        self
    }
}

/// A future of a page.
pub type PageFuture = Pin<Box<dyn Future<Output = Page> + Send>>;

/// Answers the pages under a prefix.
pub trait PageHandler: Send + Sync + 'static {
    /// The page for `request`.
    fn handle(self: Arc<Self>, request: PageRequest) -> PageFuture;
    /// The page sent to an address over its limit.
    fn too_many(&self) -> Page;
}

/// Counts per key in fixed windows: how many times a key may act per window.
/// The table holds at most `max_keys` keys; when full, it is cleared, so a
/// flood of new keys costs memory up to that bound and never more.
#[derive(Debug)]
pub struct RateLimit {
    per_window: u32,
    window: Duration,
    max_keys: usize,
    counts: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimit {
    /// `per_window` actions per key per `window`.
    pub fn new(per_window: u32, window: Duration) -> Self {
        Self {
            per_window,
            window,
            max_keys: 100_000,
            counts: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one action of `key`; false when the key is over its limit.
    pub fn allow(&self, key: &str) -> bool {
        let now = Instant::now();
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if counts.len() >= self.max_keys && !counts.contains_key(key) {
            counts.retain(|_, (start, _)| now.duration_since(*start) < self.window);
            if counts.len() >= self.max_keys {
                counts.clear();
            }
        }
        let entry = counts.entry(key.to_owned()).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1 <= self.per_window
    }
}

/// An address block, e.g. `10.0.0.0/8` or one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl std::str::FromStr for Cidr {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (addr, prefix) = text.split_once('/').unwrap_or((text, ""));
        let addr: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| format!("`{text}` is not an address or address/prefix"))?;
        let most = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = if prefix.is_empty() {
            most
        } else {
            prefix
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= most)
                .ok_or_else(|| format!("`{text}`: the prefix must be 0 to {most}"))?
        };
        Ok(Self { addr, prefix })
    }
}

impl Cidr {
    /// Whether `ip` is in the block.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let bits = |ip: IpAddr| -> Option<(u128, u32)> {
            match ip {
                IpAddr::V4(v4) => Some((u128::from(u32::from(v4)), 32)),
                IpAddr::V6(v6) => Some((u128::from(v6), 128)),
            }
        };
        match (bits(self.addr), bits(ip)) {
            (Some((a, width)), Some((b, other))) if width == other => {
                let shift = width - u32::from(self.prefix);
                shift >= width || (a >> shift) == (b >> shift)
            }
            _ => false,
        }
    }
}

/// The client a request comes from: the connection's peer, or, when the peer
/// is a trusted proxy, the right-most address of `X-Forwarded-For` that is
/// not a trusted proxy (addresses further left were written by the client
/// and prove nothing).
pub fn client_address(
    peer: Option<IpAddr>,
    forwarded: Option<&str>,
    trusted: &[Cidr],
) -> Option<IpAddr> {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    let peer = peer?;
    if !is_trusted(peer) {
        return Some(peer);
    }
    let Some(forwarded) = forwarded else {
        return Some(peer);
    };
    for hop in forwarded.rsplit(',') {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) if is_trusted(ip) => continue,
            Ok(ip) => return Some(ip),
            // A hop that is not an address ends what can be believed.
            Err(_) => return Some(peer),
        }
    }
    Some(peer)
}

/// The pages of a service: every request whose path is `prefix` or under it
/// (and is not gRPC) goes to `handler`.
#[derive(Clone)]
pub struct Pages {
    prefix: &'static str,
    handler: Arc<dyn PageHandler>,
    per_address: Arc<RateLimit>,
    trusted_proxies: Arc<Vec<Cidr>>,
}

impl std::fmt::Debug for Pages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pages")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl Pages {
    /// Pages under `prefix`, each address allowed `per_minute` requests a minute.
    pub fn new(prefix: &'static str, handler: Arc<dyn PageHandler>, per_minute: u32) -> Self {
        Self {
            prefix,
            handler,
            per_address: Arc::new(RateLimit::new(per_minute, Duration::from_secs(60))),
            trusted_proxies: Arc::new(Vec::new()),
        }
    }

    /// Believes `X-Forwarded-For` from these proxies (an ingress, a load
    /// balancer), so that each client behind them has its own limit rather
    /// than all sharing the proxy's.
    pub fn with_trusted_proxies(mut self, proxies: Vec<Cidr>) -> Self {
        self.trusted_proxies = Arc::new(proxies);
        self
    }

    fn owns(&self, path: &str) -> bool {
        path == self.prefix
            || path
                .strip_prefix(self.prefix)
                .is_some_and(|rest| rest.starts_with('/'))
    }
}

/// Routes page requests to their handler; everything else goes on.
#[derive(Debug, Clone)]
pub struct PagesLayer {
    pages: Option<Pages>,
    in_flight: InFlight,
    timeout: Duration,
}

impl PagesLayer {
    /// `pages` (if any), counted in `in_flight`, each bounded by `timeout`.
    pub fn new(pages: Option<Pages>, in_flight: InFlight, timeout: Duration) -> Self {
        Self {
            pages,
            in_flight,
            timeout,
        }
    }
}

impl<S> tower::Layer<S> for PagesLayer {
    type Service = PagesService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        PagesService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service of [`PagesLayer`].
#[derive(Debug, Clone)]
pub struct PagesService<S> {
    inner: S,
    layer: PagesLayer,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S> tower::Service<http::Request<Body>> for PagesService<S>
where
    S: tower::Service<http::Request<Body>, Response = http::Response<Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let grpc = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/grpc"));
        let pages = match &self.layer.pages {
            Some(pages) if !grpc && pages.owns(request.uri().path()) => pages.clone(),
            _ => {
                let mut inner = crate::take_ready(&mut self.inner);
                return Box::pin(inner.call(request));
            }
        };
        let guard = self.layer.in_flight.enter();
        let timeout = self.layer.timeout;
        Box::pin(async move {
            let page = match tokio::time::timeout(timeout, serve(&pages, request)).await {
                Ok(page) => page,
                Err(_) => Page::html(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "<!doctype html><title>Try again</title><p>The page took too long. Please try again.</p>"
                        .to_owned(),
                ),
            };
            drop(guard);
            crate::metrics::record_page(page.status.as_u16());
            Ok(response(page))
        })
    }
}

async fn serve(pages: &Pages, request: http::Request<Body>) -> Page {
    let peer = client_address(
        request
            .extensions()
            .get::<TcpConnectInfo>()
            .and_then(|i| i.remote_addr())
            .map(|a| a.ip()),
        request
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok()),
        &pages.trusted_proxies,
    );
    let key = peer.map_or_else(|| "unknown".to_owned(), |p| p.to_string());
    if !pages.per_address.allow(&key) {
        return pages.handler.too_many();
    }
    let (parts, body) = request.into_parts();
    if parts.method != Method::GET && parts.method != Method::POST {
        return Page::html(
            StatusCode::METHOD_NOT_ALLOWED,
            "<!doctype html><title>Not allowed</title><p>Only GET and POST.</p>".to_owned(),
        );
    }
    let form = if parts.method == Method::POST {
        let limited = http_body_util::Limited::new(body, MAX_FORM_BYTES);
        match limited.collect().await {
            Ok(collected) => form_urlencoded::parse(&collected.to_bytes())
                .into_owned()
                .collect(),
            Err(_) => {
                return Page::html(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "<!doctype html><title>Too large</title><p>The form was too large.</p>"
                        .to_owned(),
                );
            }
        }
    } else {
        Vec::new()
    };
    let cookies = parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let query = parts
        .uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    pages
        .handler
        .clone()
        .handle(PageRequest {
            method: parts.method,
            path: parts.uri.path().to_owned(),
            query,
            form,
            peer,
            cookies,
            traceparent: parts
                .headers
                .get("traceparent")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        })
        .await
}

/// The page with the headers every page carries: not cached, not framed, no
/// referrer (a link may carry a credential), no script, styles and images
/// only from the service itself.
fn response(page: Page) -> http::Response<Body> {
    let mut response = http::Response::new(Body::new(
        http_body_util::Full::new(bytes::Bytes::from(page.body)).map_err(|never| match never {}),
    ));
    *response.status_mut() = page.status;
    let headers = response.headers_mut();
    for (name, value) in page.headers {
        headers.append(name, value);
    }
    for (name, value) in [
        (header::CONTENT_TYPE, page.content_type),
        (header::CACHE_CONTROL, "no-store"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        let ip = |s: &str| s.parse::<IpAddr>().ok();
        let trusted: Vec<Cidr> = ["10.0.0.0/8", "fd00::/8"]
            .iter()
            .map(|c| c.parse().expect("cidr"))
            .collect();
        // Not from a proxy: the header is the client's own word, ignored.
        assert_eq!(
            client_address(ip("203.0.113.9"), Some("198.51.100.1"), &trusted),
            ip("203.0.113.9")
        );
        // From the ingress: the right-most hop it did not write itself.
        assert_eq!(
            client_address(
                ip("10.1.2.3"),
                Some("1.2.3.4, 198.51.100.7, 10.9.9.9"),
                &trusted
            ),
            ip("198.51.100.7")
        );
        assert_eq!(
            client_address(ip("10.1.2.3"), Some("nonsense"), &trusted),
            ip("10.1.2.3")
        );
        assert_eq!(
            client_address(ip("10.1.2.3"), None, &trusted),
            ip("10.1.2.3")
        );
        assert_eq!(
            client_address(ip("10.1.2.3"), Some("10.4.4.4"), &trusted),
            ip("10.1.2.3")
        );
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("banana".parse::<Cidr>().is_err());
        let v6: Cidr = "fd00::/8".parse().expect("v6");
        assert!(v6.contains("fd12::1".parse().expect("ip")));
        assert!(!v6.contains("10.0.0.1".parse().expect("ip")));
        let all: Cidr = "0.0.0.0/0".parse().expect("all");
        assert!(all.contains("8.8.8.8".parse().expect("ip")));
    }

    #[test]
    fn a_key_over_its_limit_waits_for_the_next_window_and_the_table_stays_bounded() {
        let limit = RateLimit::new(3, Duration::from_secs(60));
        assert!((0..3).all(|_| limit.allow("a")));
        assert!(!limit.allow("a"), "fourth in the window");
        assert!(limit.allow("b"), "another key has its own count");
        let small = RateLimit {
            max_keys: 10,
            ..RateLimit::new(1, Duration::from_secs(60))
        };
        for i in 0..1_000 {
            small.allow(&i.to_string());
        }
        assert!(small.counts.lock().expect("lock").len() <= 10);
    }
}
