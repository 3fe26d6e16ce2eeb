//! Counting calls in flight, so that a draining server can stop as soon as its
//! last call has answered instead of waiting for clients to close idle
//! connections (the services hold connections to each other, so each would
//! otherwise wait for the others until the drain timeout).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use tokio::sync::Notify;

#[derive(Debug, Default)]
struct Counter {
    calls: AtomicUsize,
    idle: Notify,
}

/// Calls in flight on one server.
#[derive(Debug, Clone, Default)]
pub struct InFlight(Arc<Counter>);

/// Held while a call is in flight.
#[derive(Debug)]
pub struct CallGuard(Arc<Counter>);

impl Drop for CallGuard {
    fn drop(&mut self) {
        if self.0.calls.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl InFlight {
    /// Counts one call until the guard drops.
    pub fn enter(&self) -> CallGuard {
        self.0.calls.fetch_add(1, Ordering::AcqRel);
        CallGuard(self.0.clone())
    }

    /// Calls in flight now.
    pub fn current(&self) -> usize {
        self.0.calls.load(Ordering::Acquire)
    }

    /// Resolves once no call is in flight.
    pub async fn idle(&self) {
        loop {
            let notified = self.0.idle.notified();
            if self.current() == 0 {
                return;
            }
            notified.await;
        }
    }
}

impl<S> tower::Layer<S> for InFlight {
    type Service = InFlightService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        InFlightService {
            inner,
            in_flight: self.clone(),
        }
    }
}

/// The service of the [`InFlight`] layer: a call counts until its response
/// headers are ready (a stream's body is not waited for; streams end on
/// shutdown by themselves).
#[derive(Debug, Clone)]
pub struct InFlightService<S> {
    inner: S,
    in_flight: InFlight,
}

impl<S, R> tower::Service<R> for InFlightService<S>
where
    S: tower::Service<R>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        let guard = self.in_flight.enter();
        let future = self.inner.call(request);
        Box::pin(async move {
            let result = future.await;
            drop(guard);
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn idle_waits_for_the_last_call() {
        let in_flight = InFlight::default();
        in_flight.idle().await;
        let first = in_flight.enter();
        let second = in_flight.enter();
        let waiter = tokio::spawn({
            let in_flight = in_flight.clone();
            async move { in_flight.idle().await }
        });
        drop(first);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished(), "one call is still in flight");
        drop(second);
        tokio::time::timeout(Duration::from_secs(1), waiter)
            .await
            .expect("idle after the last call")
            .expect("task");
        assert_eq!(in_flight.current(), 0);
    }
}
