//! Admission: what a call must show before it takes any of a server's
//! capacity, so that one caller, authenticated or not, cannot deny service to
//! another.
//!
//! The layer runs after authentication (an unauthenticated call never gets
//! here) and, for each call of a verified caller:
//! 1. counts it against the caller's share: at most
//!    [`AdmissionLimits::per_caller`] calls of one caller (subject and
//!    jurisdiction) in flight, those still sending their request included;
//! 2. reads the request message in full, within
//!    [`AdmissionLimits::body_timeout`], each byte counted against the
//!    caller's and the server's budget of buffered request bytes; a message
//!    over the size limit is refused as soon as its header says so, and a
//!    second message in a call (every SCIR RPC takes one) is refused;
//! 3. only then takes one of the server's [`AdmissionLimits::concurrency`]
//!    permits, at once or not at all.
//!
//! A refusal is RESOURCE_EXHAUSTED with a reason and, where waiting helps, a
//! retry delay; it is immediate, so under overload the calls accepted keep
//! their speed and nothing queues without bound. Health checks are never
//! refused. Calls without a verified caller (reflection) take a permit only.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use http_body_util::BodyExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::Status;

use crate::ApiError;
use crate::auth::Caller;

/// What a refused call is told to wait before retrying.
pub const RETRY_AFTER: Duration = Duration::from_millis(100);

const HEALTH: &str = "/grpc.health.v1.Health/";

/// Length of a gRPC message's prefix: a compression flag and a 4-byte length.
const PREFIX: usize = 5;

type BoxFuture<T> = std::pin::Pin<Box<dyn Future<Output = T> + Send>>;

/// The limits one server applies to the calls it admits.
#[derive(Debug, Clone, Copy)]
pub struct AdmissionLimits {
    /// Calls served at once across all callers.
    pub concurrency: usize,
    /// Calls of one caller in flight at once, still sending or served.
    pub per_caller: usize,
    /// Largest request message, in bytes.
    pub max_message_bytes: usize,
    /// Request bytes of one caller buffered at once.
    pub caller_buffer_bytes: usize,
    /// Request bytes buffered at once across all callers.
    pub total_buffer_bytes: usize,
    /// How long a request message may take to arrive once its call started.
    pub body_timeout: Duration,
}

impl AdmissionLimits {
    /// Limits derived from a concurrency limit and a message size: half the
    /// permits and two messages' bytes per caller, sixteen messages' bytes in
    /// all, ten seconds for a message to arrive.
    pub fn new(concurrency: usize, max_message_bytes: usize) -> Self {
        let concurrency = concurrency.max(1);
        Self {
            concurrency,
            per_caller: concurrency.div_ceil(2),
            max_message_bytes,
            caller_buffer_bytes: 2 * (max_message_bytes + PREFIX),
            total_buffer_bytes: 16 * (max_message_bytes + PREFIX),
            body_timeout: Duration::from_secs(10),
        }
    }
}

/// Admits calls within [`AdmissionLimits`].
#[derive(Debug, Clone)]
pub struct AdmissionLayer {
    state: Arc<State>,
}

#[derive(Debug)]
struct State {
    limits: AdmissionLimits,
    permits: Arc<Semaphore>,
    ledger: Mutex<Ledger>,
}

/// What every caller, and all of them together, hold now.
#[derive(Debug, Default)]
struct Ledger {
    callers: HashMap<CallerKey, Usage>,
    buffered: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct CallerKey {
    subject: String,
    jurisdiction: String,
}

#[derive(Debug, Default)]
struct Usage {
    calls: usize,
    buffered: usize,
}

impl AdmissionLayer {
    /// A layer admitting calls within `limits`.
    pub fn new(limits: AdmissionLimits) -> Self {
        Self {
            state: Arc::new(State {
                limits,
                permits: Arc::new(Semaphore::new(limits.concurrency.max(1))),
                ledger: Mutex::new(Ledger::default()),
            }),
        }
    }
}

impl State {
    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        // The ledger is a few counters; a panic elsewhere cannot leave it torn.
        self.ledger.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One admitted call's place in the ledger; given back when dropped.
#[derive(Debug)]
struct Ticket {
    state: Arc<State>,
    key: CallerKey,
    buffered: usize,
}

impl Ticket {
    /// Counts a call of `key`, unless the caller is at its share.
    fn enter(state: &Arc<State>, key: CallerKey) -> Result<Self, ApiError> {
        let mut ledger = state.ledger();
        let usage = ledger.callers.entry(key.clone()).or_default();
        if usage.calls >= state.limits.per_caller {
            return Err(ApiError::LimitExceeded {
                reason: "CALLER_SHARE",
                message: format!(
                    "this caller has {} calls in flight, its share of the server; retry shortly",
                    usage.calls
                ),
                retry_after: Some(RETRY_AFTER),
            });
        }
        usage.calls += 1;
        Ok(Self {
            state: state.clone(),
            key,
            buffered: 0,
        })
    }

    /// Counts `bytes` more of buffered request, unless the caller's or the
    /// server's budget would be exceeded.
    fn reserve(&mut self, bytes: usize) -> Result<(), ApiError> {
        let limits = self.state.limits;
        let mut ledger = self.state.ledger();
        let total = ledger.buffered + bytes;
        let usage = ledger.callers.entry(self.key.clone()).or_default();
        if usage.buffered + bytes > limits.caller_buffer_bytes || total > limits.total_buffer_bytes
        {
            return Err(ApiError::LimitExceeded {
                reason: "REQUEST_BYTES",
                message: "too many request bytes are in flight; retry shortly".to_owned(),
                retry_after: Some(RETRY_AFTER),
            });
        }
        usage.buffered += bytes;
        ledger.buffered = total;
        self.buffered += bytes;
        Ok(())
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut ledger = self.state.ledger();
        ledger.buffered -= self.buffered;
        if let Some(usage) = ledger.callers.get_mut(&self.key) {
            usage.calls -= 1;
            usage.buffered -= self.buffered;
            if usage.calls == 0 {
                ledger.callers.remove(&self.key);
            }
        }
    }
}

impl<S> tower::Layer<S> for AdmissionLayer {
    type Service = Admission<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Admission {
            inner,
            state: self.state.clone(),
        }
    }
}

/// The admitting service.
#[derive(Debug, Clone)]
pub struct Admission<S> {
    inner: S,
    state: Arc<State>,
}

fn refusal(error: ApiError) -> http::Response<tonic::body::Body> {
    Status::from(error).into_http()
}

impl<S> tower::Service<http::Request<tonic::body::Body>> for Admission<S>
where
    S: tower::Service<
            http::Request<tonic::body::Body>,
            Response = http::Response<tonic::body::Body>,
        > + Clone
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

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        let mut inner = crate::take_ready(&mut self.inner);
        if request.uri().path().starts_with(HEALTH) {
            return Box::pin(inner.call(request));
        }
        let state = self.state.clone();
        let Some(caller) = request.extensions().get::<Caller>() else {
            return Box::pin(async move {
                let Ok(permit) = state.permits.clone().try_acquire_owned() else {
                    return Ok(refusal(overloaded()));
                };
                let response = inner.call(request).await;
                drop(permit);
                response
            });
        };
        let key = CallerKey {
            subject: caller.subject.clone(),
            jurisdiction: caller.jurisdiction.clone(),
        };
        let ticket = match Ticket::enter(&state, key) {
            Ok(ticket) => ticket,
            Err(error) => return Box::pin(std::future::ready(Ok(refusal(error)))),
        };
        let framing = if crate::http_json::is_json(&request) {
            Framing::Json
        } else {
            Framing::Grpc
        };
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let mut ticket = ticket;
            let limits = state.limits;
            let read = tokio::time::timeout(
                limits.body_timeout,
                read_message(body, limits.max_message_bytes, &mut ticket, framing),
            )
            .await;
            let message = match read {
                Ok(Ok(message)) => message,
                Ok(Err(error)) => return Ok(refusal(error)),
                Err(_) => {
                    return Ok(refusal(ApiError::TooSlow(format!(
                        "the request message did not arrive within {} s",
                        limits.body_timeout.as_secs()
                    ))));
                }
            };
            let permit: OwnedSemaphorePermit = match state.permits.clone().try_acquire_owned() {
                Ok(permit) => permit,
                Err(_) => return Ok(refusal(overloaded())),
            };
            let body = tonic::body::Body::new(http_body_util::Full::new(message));
            let response = inner.call(http::Request::from_parts(parts, body)).await;
            drop(permit);
            drop(ticket);
            response
        })
    }
}

fn overloaded() -> ApiError {
    ApiError::Overloaded {
        retry_after: RETRY_AFTER,
    }
}

/// How a request body carries its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// One length-prefixed gRPC message.
    Grpc,
    /// An HTTP/JSON body, read whole.
    Json,
}

/// Reads a call's request body, which must be one gRPC message (or an
/// HTTP/JSON body) of at most `max_message` bytes, counting what it buffers
/// on `ticket`. A body that is empty or cut short is passed on as it is, for
/// the decoder to refuse.
async fn read_message(
    mut body: tonic::body::Body,
    max_message: usize,
    ticket: &mut Ticket,
    framing: Framing,
) -> Result<Bytes, ApiError> {
    let mut buffer = BytesMut::new();
    let mut expected: Option<usize> = None;
    while let Some(frame) = body.frame().await {
        // A body that fails mid-way (the peer reset the stream) has no
        // caller left to answer; what the decoder makes of it is moot.
        let Ok(frame) = frame else { break };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if data.is_empty() {
            continue;
        }
        ticket.reserve(data.len())?;
        buffer.extend_from_slice(&data);
        if framing == Framing::Json {
            if buffer.len() > max_message {
                return Err(too_large(buffer.len(), max_message));
            }
            continue;
        }
        if expected.is_none() && buffer.len() >= PREFIX {
            let declared = (&buffer[1..PREFIX]).get_u32() as usize;
            if declared > max_message {
                return Err(too_large(declared, max_message));
            }
            expected = Some(PREFIX + declared);
        }
        if let Some(expected) = expected
            && buffer.len() > expected
        {
            return Err(ApiError::invalid(
                "",
                "the call carries more than one request message; every SCIR RPC takes one",
            ));
        }
    }
    Ok(buffer.freeze())
}

fn too_large(declared: usize, max_message: usize) -> ApiError {
    ApiError::LimitExceeded {
        reason: "MESSAGE_TOO_LARGE",
        message: format!("the request message is {declared} bytes; the limit is {max_message}"),
        retry_after: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Role, Secret};
    use tower::{Layer, Service, ServiceExt};

    fn caller(subject: &str) -> Caller {
        Caller {
            subject: subject.into(),
            jurisdiction: "us-wi".into(),
            roles: vec![Role::Partner],
            granted: vec![Role::Partner],
            bearer: Secret::default(),
            method: "",
        }
    }

    fn framed(messages: &[&[u8]]) -> Bytes {
        let mut out = BytesMut::new();
        for m in messages {
            out.extend_from_slice(&[0]);
            out.extend_from_slice(&(m.len() as u32).to_be_bytes());
            out.extend_from_slice(m);
        }
        out.freeze()
    }

    fn request(
        path: &str,
        who: Option<&str>,
        body: tonic::body::Body,
    ) -> http::Request<tonic::body::Body> {
        let mut request = http::Request::builder()
            .uri(path)
            .body(body)
            .expect("request");
        if let Some(who) = who {
            request.extensions_mut().insert(caller(who));
        }
        request
    }

    fn full(bytes: Bytes) -> tonic::body::Body {
        tonic::body::Body::new(http_body_util::Full::new(bytes))
    }

    /// A body that never sends anything.
    fn silent() -> tonic::body::Body {
        tonic::body::Body::new(http_body_util::StreamBody::new(futures_pending()))
    }

    fn futures_pending()
    -> impl tokio_stream::Stream<Item = Result<http_body::Frame<Bytes>, Status>> + Send {
        tokio_stream::pending()
    }

    /// Sends `request` through `service` and waits for its answer.
    async fn answered<S>(
        service: &mut S,
        request: http::Request<tonic::body::Body>,
    ) -> http::Response<tonic::body::Body>
    where
        S: tower::Service<
                http::Request<tonic::body::Body>,
                Response = http::Response<tonic::body::Body>,
            >,
        S::Error: std::fmt::Debug,
    {
        service
            .ready()
            .await
            .expect("ready")
            .call(request)
            .await
            .expect("response")
    }

    fn code(response: &http::Response<tonic::body::Body>) -> tonic::Code {
        Status::from_header_map(response.headers()).map_or(tonic::Code::Ok, |s| s.code())
    }

    fn limits(concurrency: usize) -> AdmissionLimits {
        AdmissionLimits {
            body_timeout: Duration::from_millis(200),
            ..AdmissionLimits::new(concurrency, 1024)
        }
    }

    /// An inner service that answers once `release` says so, echoing nothing.
    fn held() -> (
        tokio::sync::watch::Sender<bool>,
        impl tower::Service<
            http::Request<tonic::body::Body>,
            Response = http::Response<tonic::body::Body>,
            Error = std::convert::Infallible,
            Future = impl Send,
        > + Clone
        + Send
        + 'static,
    ) {
        let (release, wait) = tokio::sync::watch::channel(false);
        let inner = tower::service_fn(move |_: http::Request<tonic::body::Body>| {
            let mut wait = wait.clone();
            async move {
                let _ = wait.wait_for(|go| *go).await;
                Ok::<_, std::convert::Infallible>(http::Response::new(tonic::body::Body::empty()))
            }
        });
        (release, inner)
    }

    #[tokio::test]
    async fn calls_without_their_message_take_no_permit_and_one_caller_keeps_to_its_share() {
        let (release, inner) = held();
        let mut service = AdmissionLayer::new(limits(4)).layer(inner);
        // The attacker opens its whole share with bodies that never come.
        let mut stalled = Vec::new();
        for _ in 0..2 {
            let call = service.ready().await.expect("ready").call(request(
                "/a/B",
                Some("attacker"),
                silent(),
            ));
            stalled.push(tokio::spawn(call));
        }
        tokio::task::yield_now().await;
        let over_share = answered(
            &mut service,
            request("/a/B", Some("attacker"), full(framed(&[b"x"]))),
        )
        .await;
        assert_eq!(code(&over_share), tonic::Code::ResourceExhausted);
        // Every permit is still free for someone else.
        let mut others = Vec::new();
        for _ in 0..2 {
            let call = service.ready().await.expect("ready").call(request(
                "/a/B",
                Some("other"),
                full(framed(&[b"x"])),
            ));
            others.push(tokio::spawn(call));
        }
        release.send(true).expect("release");
        for call in others {
            assert_eq!(
                code(&call.await.expect("task").expect("response")),
                tonic::Code::Ok
            );
        }
        // The stalled calls end at the body timeout, and give their share back.
        for call in stalled {
            let response = call.await.expect("task").expect("response");
            assert_eq!(code(&response), tonic::Code::DeadlineExceeded);
        }
        let after = answered(
            &mut service,
            request("/a/B", Some("attacker"), full(framed(&[b"x"]))),
        )
        .await;
        assert_eq!(code(&after), tonic::Code::Ok);
    }

    #[tokio::test]
    async fn oversized_and_repeated_messages_are_refused_before_the_handler() {
        let inner = tower::service_fn(|_: http::Request<tonic::body::Body>| async {
            panic!("the handler must not run");
            #[allow(unreachable_code)]
            Ok::<_, std::convert::Infallible>(http::Response::new(tonic::body::Body::empty()))
        });
        let mut service = AdmissionLayer::new(limits(4)).layer(inner);
        let big = vec![0u8; 2048];
        for (body, expected) in [
            (framed(&[&big]), tonic::Code::ResourceExhausted),
            (framed(&[b"one", b"two"]), tonic::Code::InvalidArgument),
        ] {
            let response = answered(&mut service, request("/a/B", Some("u"), full(body))).await;
            assert_eq!(code(&response), expected);
        }
    }

    #[tokio::test]
    async fn a_callers_buffered_bytes_are_bounded() {
        let (_release, inner) = held();
        let mut service = AdmissionLayer::new(AdmissionLimits {
            caller_buffer_bytes: 100,
            ..limits(8)
        })
        .layer(inner);
        // 60 bytes of a message that never ends, twice: the second overflows.
        let partial = || {
            let mut prefix = vec![0u8];
            prefix.extend_from_slice(&500u32.to_be_bytes());
            prefix.extend_from_slice(&[7u8; 55]);
            let chunk: Result<http_body::Frame<Bytes>, Status> =
                Ok(http_body::Frame::data(Bytes::from(prefix)));
            tonic::body::Body::new(http_body_util::StreamBody::new(
                tokio_stream::StreamExt::chain(
                    tokio_stream::iter([chunk]),
                    tokio_stream::pending(),
                ),
            ))
        };
        let first = tokio::spawn(service.ready().await.expect("ready").call(request(
            "/a/B",
            Some("u"),
            partial(),
        )));
        tokio::time::sleep(Duration::from_millis(20)).await;
        let second = answered(&mut service, request("/a/B", Some("u"), partial())).await;
        assert_eq!(code(&second), tonic::Code::ResourceExhausted);
        let first = first.await.expect("task").expect("response");
        assert_eq!(code(&first), tonic::Code::DeadlineExceeded);
        assert_eq!(service.state.ledger().buffered, 0, "all bytes given back");
        assert!(service.state.ledger().callers.is_empty());
    }

    #[tokio::test]
    async fn calls_beyond_the_limit_are_refused_at_once_and_health_is_never_refused() {
        let (release, inner) = held();
        let mut service = AdmissionLayer::new(limits(2)).layer(inner);
        let mut held_calls = Vec::new();
        for who in ["a", "b"] {
            let call = service.ready().await.expect("ready").call(request(
                "/a/B",
                Some(who),
                full(framed(&[b"x"])),
            ));
            held_calls.push(tokio::spawn(call));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        let refused = answered(
            &mut service,
            request("/a/B", Some("c"), full(framed(&[b"x"]))),
        )
        .await;
        let status = Status::from_header_map(refused.headers()).expect("a status");
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        let details = tonic_types::StatusExt::get_error_details(&status);
        assert_eq!(
            details.retry_info().and_then(|r| r.retry_delay),
            Some(RETRY_AFTER)
        );
        let health = tokio::spawn(service.ready().await.expect("ready").call(request(
            "/grpc.health.v1.Health/Check",
            None,
            tonic::body::Body::empty(),
        )));
        release.send(true).expect("release");
        for call in held_calls.into_iter().chain([health]) {
            let response = call.await.expect("task").expect("response");
            assert_eq!(code(&response), tonic::Code::Ok);
        }
    }
}
