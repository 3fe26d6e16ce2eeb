//! A stand-in for other services' event logs: serves a fixed list of events as
//! `WatchEvents` of review, scoring, learning and culture, so a consumer can be tested against
//! exactly the events a test chooses.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use prost::Message;
use scir_proto::common::v1::{Event, WatchEventsRequest};
use tokio_stream::Stream;
use tonic::body::Body;
use tonic::server::{NamedService, ServerStreamingService};
use tonic::{Request, Response, Status};

/// Builds an event with cursor `cursor`, type from `type_name` and `message`.
pub fn event<M: Message>(
    cursor: i64,
    type_name: &str,
    subject: &str,
    jurisdiction: &str,
    month: (i32, u32),
    message: &M,
) -> Event {
    let seconds = chrono_like_seconds(month.0, month.1);
    Event {
        cursor,
        event_id: format!("test-{type_name}-{cursor}"),
        r#type: type_name.to_owned(),
        subject: subject.to_owned(),
        jurisdiction: jurisdiction.to_owned(),
        create_time: Some(prost_types::Timestamp { seconds, nanos: 0 }),
        traceparent: String::new(),
        payload: Some(prost_types::Any {
            type_url: format!("type.googleapis.com/{type_name}"),
            value: message.encode_to_vec(),
        }),
    }
}

/// Seconds since the epoch of the 15th of a month (days-from-civil).
fn chrono_like_seconds(year: i32, month: u32) -> i64 {
    let (y, m) = if month <= 2 {
        (i64::from(year) - 1, i64::from(month) + 9)
    } else {
        (i64::from(year), i64::from(month) - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + 14;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe - 719_468) * 86_400
}

#[derive(Clone)]
struct Log {
    events: Arc<Vec<Event>>,
}

type EventStream = Pin<Box<dyn Stream<Item = Result<Event, Status>> + Send>>;

impl ServerStreamingService<WatchEventsRequest> for Log {
    type Response = Event;
    type ResponseStream = EventStream;
    type Future = std::future::Ready<Result<Response<EventStream>, Status>>;

    fn call(&mut self, request: Request<WatchEventsRequest>) -> Self::Future {
        let r = request.into_inner();
        let items: Vec<Result<Event, Status>> = self
            .events
            .iter()
            .filter(|e| {
                e.cursor > r.after_cursor && (r.types.is_empty() || r.types.contains(&e.r#type))
            })
            .cloned()
            .map(Ok)
            .collect();
        let replay = tokio_stream::iter(items);
        let stream: EventStream = if r.stop_at_end {
            Box::pin(replay)
        } else {
            Box::pin(tokio_stream::StreamExt::chain(
                replay,
                tokio_stream::pending(),
            ))
        };
        std::future::ready(Ok(Response::new(stream)))
    }
}

macro_rules! source {
    ($ty:ident, $name:literal) => {
        #[derive(Clone)]
        struct $ty(Log);

        impl NamedService for $ty {
            const NAME: &'static str = $name;
        }

        impl tower::Service<http::Request<Body>> for $ty {
            type Response = http::Response<Body>;
            type Error = Infallible;
            type Future = Pin<
                Box<dyn std::future::Future<Output = Result<Self::Response, Infallible>> + Send>,
            >;

            fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
                Poll::Ready(Ok(()))
            }

            fn call(&mut self, request: http::Request<Body>) -> Self::Future {
                let log = self.0.clone();
                Box::pin(async move {
                    let mut grpc = tonic::server::Grpc::new(tonic_prost::ProstCodec::<
                        Event,
                        WatchEventsRequest,
                    >::default());
                    Ok(grpc.server_streaming(log, request).await)
                })
            }
        }
    };
}

source!(ReviewLog, "scir.review.v1.ReviewService");
source!(ScoringLog, "scir.scoring.v1.ScoringService");
source!(LearningLog, "scir.learning.v1.LearningService");
source!(CultureLog, "scir.culture.v1.CultureService");

/// Serves `review`, `scoring`, `learning` and `culture` events on a free
/// loopback port until the returned task is aborted.
pub async fn serve(
    review: Vec<Event>,
    scoring: Vec<Event>,
    learning: Vec<Event>,
    culture: Vec<Event>,
) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let server = tonic::transport::Server::builder()
        .add_service(ReviewLog(Log {
            events: Arc::new(review),
        }))
        .add_service(ScoringLog(Log {
            events: Arc::new(scoring),
        }))
        .add_service(LearningLog(Log {
            events: Arc::new(learning),
        }))
        .add_service(CultureLog(Log {
            events: Arc::new(culture),
        }))
        .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener));
    let task = tokio::spawn(async move {
        let _ = server.await;
    });
    (address, task)
}
