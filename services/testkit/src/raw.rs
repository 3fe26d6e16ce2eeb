//! Calling any RPC with request bytes made by the test (generated from
//! descriptors, or deliberately malformed), ignoring the answer's body.

use std::net::SocketAddr;
use std::time::Duration;

use http::uri::PathAndQuery;
use scir_kit::client::ClientInterceptor;

/// A message carried as its encoded bytes: sent as they are, read and dropped.
#[derive(Clone, PartialEq, Default)]
pub struct RawMessage(pub Vec<u8>);

impl std::fmt::Debug for RawMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} bytes", self.0.len())
    }
}

impl prost::Message for RawMessage {
    fn encode_raw(&self, buf: &mut impl bytes::BufMut) {
        buf.put_slice(&self.0);
    }
    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: prost::encoding::WireType,
        buf: &mut impl bytes::Buf,
        ctx: prost::encoding::DecodeContext,
    ) -> Result<(), prost::DecodeError> {
        prost::encoding::skip_field(wire_type, tag, buf, ctx)
    }
    fn encoded_len(&self) -> usize {
        self.0.len()
    }
    fn clear(&mut self) {
        self.0.clear();
    }
}

/// Calls `path` (e.g. `/scir.intake.v1.IntakeService/GetIncident`) at
/// `address` with `body` and `token`; the final status, OK on success. A
/// streaming call is judged by its first message (or silence for `wait`),
/// since a followed stream does not end by itself.
pub async fn call(
    address: SocketAddr,
    path: &str,
    body: Vec<u8>,
    streaming: bool,
    token: &str,
) -> tonic::Status {
    let interceptor = ClientInterceptor::new(Some(token)).expect("interceptor");
    let mut grpc = tonic::client::Grpc::new(tonic::service::interceptor::InterceptedService::new(
        crate::channel(address),
        interceptor,
    ))
    .max_encoding_message_size(64 * 1024 * 1024)
    .max_decoding_message_size(64 * 1024 * 1024);
    grpc.ready().await.expect("ready");
    let codec = tonic_prost::ProstCodec::<RawMessage, RawMessage>::default();
    let mut request = tonic::Request::new(RawMessage(body));
    request.set_timeout(if streaming {
        Duration::from_millis(300)
    } else {
        Duration::from_secs(20)
    });
    let path = PathAndQuery::try_from(path.to_owned()).expect("path");
    let ok = || tonic::Status::ok("");
    if streaming {
        match grpc.server_streaming(request, path, codec).await {
            Ok(response) => {
                let mut stream = response.into_inner();
                match tokio::time::timeout(Duration::from_millis(500), stream.message()).await {
                    Ok(Ok(_)) | Err(_) => ok(),
                    Ok(Err(status)) => status,
                }
            }
            Err(status) => status,
        }
    } else {
        grpc.unary(request, path, codec)
            .await
            .map_or_else(|status| status, |_| ok())
    }
}
