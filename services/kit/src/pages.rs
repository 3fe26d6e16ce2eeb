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
}

impl Page {
    /// An HTML page.
    pub fn html(status: StatusCode, body: String) -> Self {
        Self {
            status,
            content_type: "text/html; charset=utf-8",
            body,
        }
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

/// The pages of a service: every request whose path is `prefix` or under it
/// (and is not gRPC) goes to `handler`.
#[derive(Clone)]
pub struct Pages {
    prefix: &'static str,
    handler: Arc<dyn PageHandler>,
    per_address: Arc<RateLimit>,
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
        }
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
            Ok(response(page))
        })
    }
}

async fn serve(pages: &Pages, request: http::Request<Body>) -> Page {
    let peer = request
        .extensions()
        .get::<TcpConnectInfo>()
        .and_then(|i| i.remote_addr())
        .map(|a| a.ip());
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
        })
        .await
}

/// The page with the headers every page carries: not cached, not framed, no
/// referrer (a link may carry a credential), no script, styles only from the
/// service itself.
fn response(page: Page) -> http::Response<Body> {
    let mut response = http::Response::new(Body::new(
        http_body_util::Full::new(bytes::Bytes::from(page.body)).map_err(|never| match never {}),
    ));
    *response.status_mut() = page.status;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, page.content_type),
        (header::CACHE_CONTROL, "no-store"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
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
