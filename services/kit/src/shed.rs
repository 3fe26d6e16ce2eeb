//! Load shedding. A server serves at most its concurrency limit of calls at
//! once; a call beyond that is refused at once with RESOURCE_EXHAUSTED and a
//! retry delay instead of waiting in a queue. Under overload the calls accepted
//! keep their speed, the excess learns within microseconds to back off, and
//! nothing queues without bound. Health checks are never shed, so probes do not
//! restart or unready a process for being busy.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::Semaphore;
use tonic::Status;

use crate::ApiError;

/// What a refused call is told to wait before retrying.
pub const RETRY_AFTER: Duration = Duration::from_millis(100);

const HEALTH: &str = "/grpc.health.v1.Health/";

type BoxFuture<T> = std::pin::Pin<Box<dyn Future<Output = T> + Send>>;

/// Sheds calls beyond `limit` in flight.
#[derive(Debug, Clone)]
pub struct ShedLayer {
    permits: Arc<Semaphore>,
}

impl ShedLayer {
    /// At most `limit` calls at once (at least one).
    pub fn new(limit: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(limit.max(1))),
        }
    }
}

impl<S> tower::Layer<S> for ShedLayer {
    type Service = Shed<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Shed {
            inner,
            permits: self.permits.clone(),
        }
    }
}

/// The shedding service.
#[derive(Debug, Clone)]
pub struct Shed<S> {
    inner: S,
    permits: Arc<Semaphore>,
}

impl<S, B> tower::Service<http::Request<B>> for Shed<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>
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

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if request.uri().path().starts_with(HEALTH) {
            return Box::pin(self.inner.call(request));
        }
        match self.permits.clone().try_acquire_owned() {
            Ok(permit) => {
                let call = self.inner.call(request);
                Box::pin(async move {
                    let response = call.await;
                    drop(permit);
                    response
                })
            }
            Err(_) => {
                let status = Status::from(ApiError::Overloaded {
                    retry_after: RETRY_AFTER,
                });
                Box::pin(std::future::ready(Ok(status.into_http())))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::{Layer, Service, ServiceExt};

    fn request(path: &str) -> http::Request<()> {
        http::Request::builder()
            .uri(path)
            .body(())
            .expect("request")
    }

    #[tokio::test]
    async fn calls_beyond_the_limit_are_refused_at_once_and_health_is_never_shed() {
        let (release, wait) = tokio::sync::watch::channel(false);
        let inner = tower::service_fn(move |_: http::Request<()>| {
            let mut wait = wait.clone();
            async move {
                let _ = wait.wait_for(|go| *go).await;
                Ok::<_, std::convert::Infallible>(http::Response::new(tonic::body::Body::empty()))
            }
        });
        let mut service = ShedLayer::new(2).layer(inner);
        let first = service.ready().await.expect("ready").call(request("/a/B"));
        let second = service.ready().await.expect("ready").call(request("/a/B"));
        let (first, second) = (tokio::spawn(first), tokio::spawn(second));

        let refused = service
            .ready()
            .await
            .expect("ready")
            .call(request("/a/B"))
            .await
            .expect("response");
        let status = Status::from_header_map(refused.headers()).expect("a status");
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        let details = tonic_types::StatusExt::get_error_details(&status);
        assert_eq!(
            details.retry_info().and_then(|r| r.retry_delay),
            Some(RETRY_AFTER)
        );

        let health = tokio::spawn(
            service
                .ready()
                .await
                .expect("ready")
                .call(request("/grpc.health.v1.Health/Check")),
        );
        release.send(true).expect("release");
        for call in [first, second, health] {
            let response = call.await.expect("task").expect("response");
            assert!(Status::from_header_map(response.headers()).is_none());
        }
        // Permits come back when calls answer.
        let after = service
            .ready()
            .await
            .expect("ready")
            .call(request("/a/B"))
            .await
            .expect("response");
        assert!(Status::from_header_map(after.headers()).is_none());
    }
}
