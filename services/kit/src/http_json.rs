//! HTTP/JSON for every RPC, on the gRPC port itself.
//!
//! Each method's `google.api.http` annotation is a route. A request that is
//! not gRPC (its content type is not `application/grpc*`) is matched to a
//! route and becomes the gRPC call it names, so it passes through the very
//! same layers (trace, authentication and authorisation, audit, admission
//! with its limits on callers, bytes and time) and handler as a gRPC call:
//!
//! 1. [`HttpJsonLayer`], outermost, rewrites the request to the method's gRPC
//!    path and marks it with the route and the path's variables; the JSON body
//!    is left as it came, so no byte of it is read before the caller is
//!    authenticated and admitted. On the way back it turns the gRPC answer into
//!    the canonical protobuf JSON mapping, errors into `google.rpc.Status`
//!    JSON with their details and the HTTP status Google's mapping gives, and
//!    server streams into newline-delimited JSON.
//! 2. Admission reads the body (bounded like a gRPC message).
//! 3. [`JsonRequestLayer`], innermost, turns the path variables, query
//!    parameters and body into the request message.

pub mod openapi;
pub(crate) mod template;
mod transcode;

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::{HeaderValue, Method, StatusCode, header};
use http_body_util::BodyExt;
use prost_reflect::{
    DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, MethodDescriptor, SerializeOptions,
};
use serde_json::{Map, Value};
use tonic::Status;
use tonic_types::StatusExt as _;

use crate::error::ApiError;
use template::PathTemplate;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Where a route takes its body from (`body` of the `google.api.http` rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BodyRule {
    /// No body: every field not in the path is a query parameter.
    None,
    /// `*`: the body is the request message, less the path's fields.
    Whole,
    /// One field of the request; the others are query parameters.
    Field(String),
}

/// One method's HTTP binding.
#[derive(Debug)]
pub struct Route {
    verb: Method,
    template: PathTemplate,
    method: MethodDescriptor,
    grpc_path: String,
    body: BodyRule,
}

impl Route {
    /// The HTTP method.
    pub fn verb(&self) -> &Method {
        &self.verb
    }

    /// The path as OpenAPI writes it, e.g.
    /// `/v1/jurisdictions/{jurisdictionsId}/incidents/{incidentsId}:amend`.
    pub fn path(&self) -> String {
        self.template.openapi_path()
    }

    /// The RPC.
    pub fn method(&self) -> &MethodDescriptor {
        &self.method
    }

    /// The RPC's gRPC path, e.g. `/scir.intake.v1.IntakeService/GetIncident`.
    pub fn grpc_path(&self) -> &str {
        &self.grpc_path
    }
}

/// The HTTP routes of the services one port serves.
#[derive(Debug, Clone)]
pub struct HttpApi {
    routes: Arc<[Arc<Route>]>,
    openapi: Bytes,
}

impl HttpApi {
    /// The routes of `services` (full names), from their annotations (every
    /// method must have one); `rules` give the roles the document lists.
    pub fn for_services(
        services: &[&str],
        rules: &[crate::auth::MethodRule],
    ) -> anyhow::Result<Self> {
        let pool = crate::contract::pool();
        let http = pool
            .get_extension_by_name("google.api.http")
            .ok_or_else(|| anyhow::anyhow!("google.api.http is not in the descriptor set"))?;
        let mut routes = Vec::new();
        for name in services {
            let service = pool
                .get_service_by_name(name)
                .ok_or_else(|| anyhow::anyhow!("no service {name} in the contract"))?;
            for method in service.methods() {
                routes.push(Arc::new(route(&method, &http)?));
            }
        }
        let document = openapi::document(&routes, services, rules);
        Ok(Self {
            routes: routes.into(),
            openapi: Bytes::from(serde_json::to_vec_pretty(&document)?),
        })
    }

    /// Every route, in the contract's order.
    pub fn routes(&self) -> &[Arc<Route>] {
        &self.routes
    }

    /// The OpenAPI 3.1 document of these routes.
    pub fn openapi(&self) -> &Bytes {
        &self.openapi
    }

    fn find(&self, verb: &Method, path: &str) -> Option<(Arc<Route>, Vec<String>)> {
        self.routes
            .iter()
            .filter(|r| r.verb == verb)
            .find_map(|r| r.template.matches(path).map(|values| (r.clone(), values)))
    }
}

fn route(
    method: &MethodDescriptor,
    http: &prost_reflect::ExtensionDescriptor,
) -> anyhow::Result<Route> {
    let path = format!("/{}/{}", method.parent_service().full_name(), method.name());
    let options = method.options();
    if !options.has_extension(http) {
        anyhow::bail!("{path} has no google.api.http annotation");
    }
    let rule = options.get_extension(http);
    let rule = rule
        .as_message()
        .ok_or_else(|| anyhow::anyhow!("{path}: google.api.http is not a message"))?;
    let (verb, template) = ["get", "put", "post", "delete", "patch"]
        .into_iter()
        .find_map(|verb| {
            rule.get_field_by_name(verb)
                .and_then(|v| v.as_str().filter(|s| !s.is_empty()).map(str::to_owned))
                .map(|t| (verb, t))
        })
        .ok_or_else(|| anyhow::anyhow!("{path}: the HTTP rule has no verb"))?;
    let template = PathTemplate::parse(&template).map_err(|e| anyhow::anyhow!("{path}: {e}"))?;
    let input = method.input();
    for variable in &template.variables {
        leaf(&input, &variable.field).map_err(|e| anyhow::anyhow!("{path}: {e}"))?;
    }
    let body = match rule
        .get_field_by_name("body")
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
        .as_str()
    {
        "" => BodyRule::None,
        "*" => BodyRule::Whole,
        field => {
            input
                .get_field_by_name(field)
                .ok_or_else(|| anyhow::anyhow!("{path}: no body field {field}"))?;
            BodyRule::Field(field.to_owned())
        }
    };
    Ok(Route {
        verb: verb.to_ascii_uppercase().parse()?,
        template,
        method: method.clone(),
        grpc_path: path,
        body,
    })
}

/// The field a dotted path names, through singular message fields.
fn leaf(message: &MessageDescriptor, path: &[String]) -> Result<FieldDescriptor, String> {
    let mut current = message.clone();
    let mut found = None;
    for (i, part) in path.iter().enumerate() {
        let field = current
            .get_field_by_name(part)
            .or_else(|| current.get_field_by_json_name(part))
            .ok_or_else(|| format!("{} has no field {part}", current.full_name()))?;
        if i + 1 < path.len() {
            match field.kind() {
                Kind::Message(m) if !field.is_list() && !field.is_map() => current = m,
                _ => return Err(format!("{part} is not a message field")),
            }
        }
        found = Some(field);
    }
    found.ok_or_else(|| "an empty field path".to_owned())
}

/// What [`HttpJsonLayer`] leaves on a request for admission and
/// [`JsonRequestLayer`]: the route and the values of its path's variables.
#[derive(Debug, Clone)]
pub(crate) struct JsonCall {
    route: Arc<Route>,
    values: Vec<String>,
    query: Option<String>,
}

/// Whether a request came as HTTP/JSON, so its body is JSON, not a gRPC frame.
pub(crate) fn is_json<B>(request: &http::Request<B>) -> bool {
    request.extensions().get::<JsonCall>().is_some()
}

fn is_grpc<B>(request: &http::Request<B>) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"))
}

/// Serves HTTP/JSON beside gRPC (see the module's documentation).
#[derive(Debug, Clone)]
pub struct HttpJsonLayer {
    api: HttpApi,
}

impl HttpJsonLayer {
    /// The layer for `api`'s routes.
    pub fn new(api: HttpApi) -> Self {
        Self { api }
    }
}

impl<S> tower::Layer<S> for HttpJsonLayer {
    type Service = HttpJson<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpJson {
            inner,
            api: self.api.clone(),
        }
    }
}

/// The service [`HttpJsonLayer`] makes.
#[derive(Debug, Clone)]
pub struct HttpJson<S> {
    inner: S,
    api: HttpApi,
}

/// Headers of an HTTP/JSON request that are not passed on to the gRPC call:
/// they describe the HTTP body, which the call does not carry.
const NOT_FORWARDED: [header::HeaderName; 5] = [
    header::CONTENT_TYPE,
    header::CONTENT_LENGTH,
    header::TRANSFER_ENCODING,
    header::ACCEPT_ENCODING,
    header::CONNECTION,
];

impl<S> tower::Service<http::Request<tonic::body::Body>> for HttpJson<S>
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
        if is_grpc(&request) {
            return Box::pin(inner.call(request));
        }
        let (mut parts, body) = request.into_parts();
        if parts.method == Method::GET && parts.uri.path() == "/openapi.json" {
            let document = self.api.openapi.clone();
            return Box::pin(async move { Ok(json_response(StatusCode::OK, document)) });
        }
        let Some((route, values)) = self.api.find(&parts.method, parts.uri.path()) else {
            let message = format!(
                "no HTTP route {} {}; the routes are in /openapi.json, and gRPC calls need \
                 content-type application/grpc",
                parts.method,
                parts.uri.path()
            );
            return Box::pin(async move { Ok(error_response(&Status::not_found(message))) });
        };
        if let Some(kind) = parts.headers.get(header::CONTENT_TYPE)
            && !kind
                .to_str()
                .is_ok_and(|k| k.starts_with("application/json"))
        {
            let status = Status::from(ApiError::invalid(
                "content-type",
                "the body must be application/json",
            ));
            return Box::pin(async move { Ok(error_response(&status)) });
        }
        let call = JsonCall {
            route: route.clone(),
            values,
            query: parts.uri.query().map(str::to_owned),
        };
        for name in NOT_FORWARDED {
            parts.headers.remove(name);
        }
        parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/grpc"),
        );
        parts
            .headers
            .insert(header::TE, HeaderValue::from_static("trailers"));
        parts.method = Method::POST;
        parts.uri = match route.grpc_path.parse() {
            Ok(uri) => uri,
            Err(_) => {
                let status = Status::internal("a route's gRPC path is not a URI");
                return Box::pin(async move { Ok(error_response(&status)) });
            }
        };
        parts.extensions.insert(call);
        let request = http::Request::from_parts(parts, body);
        Box::pin(async move {
            let response = inner.call(request).await?;
            Ok(answer(&route, response).await)
        })
    }
}

/// Turns the gRPC answer into the HTTP/JSON one.
async fn answer(
    route: &Route,
    response: http::Response<tonic::body::Body>,
) -> http::Response<tonic::body::Body> {
    // A call refused before any message (by a layer, or a handler's error)
    // carries its status in the headers.
    if let Some(status) = Status::from_header_map(response.headers())
        && status.code() != tonic::Code::Ok
    {
        return error_response(&status);
    }
    let output = route.method.output();
    if route.method.is_server_streaming() {
        return stream_response(output, response.into_body());
    }
    let collected = match response.into_body().collect().await {
        Ok(collected) => collected,
        Err(status) => return error_response(&status),
    };
    let trailers = collected.trailers().cloned().unwrap_or_default();
    let mut data = BytesMut::from(collected.to_bytes());
    if let Some(status) = Status::from_header_map(&trailers)
        && status.code() != tonic::Code::Ok
    {
        return error_response(&status);
    }
    match next_message(&mut data) {
        Ok(Some(message)) => match to_json(&output, message) {
            Ok(json) => json_response(StatusCode::OK, json),
            Err(status) => error_response(&status),
        },
        Ok(None) => error_response(&Status::internal("the call answered no message")),
        Err(status) => error_response(&status),
    }
}

/// A server stream as newline-delimited JSON: one message per line, and a
/// last line `{"error": <google.rpc.Status>}` if the stream ends in an error.
fn stream_response(
    output: MessageDescriptor,
    mut body: tonic::body::Body,
) -> http::Response<tonic::body::Body> {
    let (lines, receiver) =
        tokio::sync::mpsc::channel::<Result<http_body::Frame<Bytes>, Infallible>>(16);
    tokio::spawn(async move {
        let mut buffer = BytesMut::new();
        let send = |line: Bytes| {
            let lines = lines.clone();
            async move { lines.send(Ok(http_body::Frame::data(line))).await.is_ok() }
        };
        while let Some(frame) = body.frame().await {
            let frame = match frame {
                Ok(frame) => frame,
                Err(status) => {
                    send(error_line(&status)).await;
                    return;
                }
            };
            let frame = match frame.into_data() {
                Ok(data) => {
                    buffer.extend_from_slice(&data);
                    loop {
                        let line = match next_message(&mut buffer) {
                            Ok(Some(message)) => to_json(&output, message),
                            Ok(None) => break,
                            Err(status) => Err(status),
                        };
                        let line = match line {
                            Ok(json) => line_of(json),
                            Err(status) => {
                                send(error_line(&status)).await;
                                return;
                            }
                        };
                        // The client went away: dropping the body ends the call.
                        if !send(line).await {
                            return;
                        }
                    }
                    continue;
                }
                Err(frame) => frame,
            };
            if let Ok(trailers) = frame.into_trailers()
                && let Some(status) = Status::from_header_map(&trailers)
                && status.code() != tonic::Code::Ok
            {
                send(error_line(&status)).await;
            }
        }
    });
    let body =
        http_body_util::StreamBody::new(tokio_stream::wrappers::ReceiverStream::new(receiver));
    let mut response = http::Response::new(tonic::body::Body::new(body));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    response
}

fn line_of(json: Bytes) -> Bytes {
    let mut line = BytesMut::with_capacity(json.len() + 1);
    line.extend_from_slice(&json);
    line.put_u8(b'\n');
    line.freeze()
}

fn error_line(status: &Status) -> Bytes {
    let mut line = b"{\"error\":".to_vec();
    line.extend_from_slice(&status_json(status));
    line.extend_from_slice(b"}\n");
    Bytes::from(line)
}

/// Takes one gRPC message off the front of `buffer`, if it is all there.
fn next_message(buffer: &mut BytesMut) -> Result<Option<Bytes>, Status> {
    if buffer.len() < 5 {
        return Ok(None);
    }
    if buffer[0] != 0 {
        return Err(Status::internal(
            "a compressed message on an HTTP/JSON call",
        ));
    }
    let length = u32::from_be_bytes([buffer[1], buffer[2], buffer[3], buffer[4]]) as usize;
    if buffer.len() < 5 + length {
        return Ok(None);
    }
    buffer.advance(5);
    Ok(Some(buffer.split_to(length).freeze()))
}

fn to_json(output: &MessageDescriptor, message: Bytes) -> Result<Bytes, Status> {
    transcode::to_json(output, &message)
        .map(Bytes::from)
        .map_err(|e| Status::internal(format!("the answer does not print as JSON: {}", e.message)))
}

/// `google.rpc.Status` as JSON: the details the call carried, or its code
/// and message.
fn status_json(status: &Status) -> Vec<u8> {
    let pool = crate::contract::pool();
    if !status.details().is_empty()
        && let Some(descriptor) = pool.get_message_by_name("google.rpc.Status")
        && let Ok(message) = DynamicMessage::decode(descriptor, status.details())
    {
        let mut json = Vec::new();
        let mut serializer = serde_json::Serializer::new(&mut json);
        if message
            .serialize_with_options(&mut serializer, &SerializeOptions::new())
            .is_ok()
        {
            return json;
        }
    }
    serde_json::to_vec(&serde_json::json!({
        "code": status.code() as i32,
        "message": status.message(),
    }))
    .unwrap_or_default()
}

/// The HTTP status for a gRPC code, as `google/rpc/code.proto` maps them.
pub fn http_status(code: tonic::Code) -> StatusCode {
    use tonic::Code;
    match code {
        Code::Ok => StatusCode::OK,
        Code::Cancelled => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => {
            StatusCode::BAD_REQUEST
        }
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn json_response(status: StatusCode, json: Bytes) -> http::Response<tonic::body::Body> {
    let mut response = http::Response::new(tonic::body::Body::new(http_body_util::Full::new(json)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    // Answers are case data or about it: never kept by a cache on the way.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn error_response(status: &Status) -> http::Response<tonic::body::Body> {
    let mut response = json_response(http_status(status.code()), status_json(status).into());
    // HTTP clients read a refusal's retry delay from Retry-After.
    if let Some(delay) = status
        .get_details_retry_info()
        .and_then(|info| info.retry_delay)
    {
        let seconds = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    }
    response
}

/// Turns an admitted HTTP/JSON request's body, path and query into the gRPC
/// request message (see the module's documentation).
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonRequestLayer;

impl<S> tower::Layer<S> for JsonRequestLayer {
    type Service = JsonRequest<S>;

    fn layer(&self, inner: S) -> Self::Service {
        JsonRequest { inner }
    }
}

/// The service [`JsonRequestLayer`] makes.
#[derive(Debug, Clone)]
pub struct JsonRequest<S> {
    inner: S,
}

impl<S> tower::Service<http::Request<tonic::body::Body>> for JsonRequest<S>
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
        let Some(call) = request.extensions().get::<JsonCall>().cloned() else {
            return Box::pin(inner.call(request));
        };
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            // Admission has read and bounded the body already.
            let body = match body.collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(status) => return Ok(status.into_http()),
            };
            let encoded = match request_message(&call, &body) {
                Ok(encoded) => encoded,
                Err(error) => return Ok(Status::from(error).into_http()),
            };
            let mut framed = BytesMut::with_capacity(5 + encoded.len());
            framed.put_u8(0);
            framed.put_u32(u32::try_from(encoded.len()).unwrap_or(u32::MAX));
            framed.extend_from_slice(&encoded);
            let body = tonic::body::Body::new(http_body_util::Full::new(framed.freeze()));
            inner.call(http::Request::from_parts(parts, body)).await
        })
    }
}

/// The request message of an HTTP/JSON call, encoded: the body (all of it,
/// or one field), then the path's variables, then the query parameters.
fn request_message(call: &JsonCall, body: &[u8]) -> Result<Vec<u8>, ApiError> {
    let input = call.route.method.input();
    // A body that is the whole request, with nothing from the path or the
    // query to merge: straight from the text (most POSTs).
    if call.route.body == BodyRule::Whole
        && call.values.is_empty()
        && call.query.as_deref().is_none_or(str::is_empty)
        && !body.iter().all(u8::is_ascii_whitespace)
    {
        return transcode::body_to_wire(&input, body)
            .map_err(|e| ApiError::invalid(e.field, e.message));
    }
    let parsed = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        Some(
            serde_json::from_slice::<Value>(body)
                .map_err(|e| ApiError::invalid("body", format!("not JSON: {e}")))?,
        )
    };
    let mut json = match (&call.route.body, parsed) {
        (BodyRule::None, Some(_)) => {
            return Err(ApiError::invalid(
                "body",
                format!("{} {} takes no body", call.route.verb, call.route.path()),
            ));
        }
        (_, None) => Map::new(),
        (BodyRule::Whole, Some(Value::Object(object))) => object,
        (BodyRule::Whole, Some(_)) => {
            return Err(ApiError::invalid("body", "must be a JSON object"));
        }
        (BodyRule::Field(field), Some(value)) => {
            let mut object = Map::new();
            set(
                &mut object,
                &input,
                std::slice::from_ref(field),
                value,
                false,
            )
            .map_err(|e| ApiError::invalid("body", e))?;
            object
        }
    };
    for (variable, value) in call.route.template.variables.iter().zip(&call.values) {
        let field = variable.field.join(".");
        // The path names the resource; a body naming another is a mistake
        // (or an attempt to act on one resource while seeming to on another).
        if let Some(given) = get(&json, &input, &variable.field)
            && given.as_str() != Some(value.as_str())
        {
            return Err(ApiError::invalid(
                field,
                format!("the body says {given} but the path says \"{value}\""),
            ));
        }
        set(
            &mut json,
            &input,
            &variable.field,
            Value::String(value.clone()),
            false,
        )
        .map_err(|e| ApiError::invalid(field, e))?;
    }
    if let Some(query) = &call.query {
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            let path: Vec<String> = key.split('.').map(str::to_owned).collect();
            let field = leaf(&input, &path).map_err(|e| ApiError::invalid(key.as_ref(), e))?;
            let same = |bound: &[String]| overlaps(&input, &path, bound);
            let by_path = call.route.template.variables.iter().any(|v| same(&v.field));
            let by_body = match &call.route.body {
                BodyRule::None => false,
                BodyRule::Whole => true,
                BodyRule::Field(f) => same(std::slice::from_ref(f)),
            };
            if by_path || by_body {
                return Err(ApiError::invalid(
                    key.as_ref(),
                    "is set by the path or the body, not the query",
                ));
            }
            let value = query_value(&field, &value);
            set(&mut json, &input, &path, value, field.is_list())
                .map_err(|e| ApiError::invalid(key.as_ref(), e))?;
        }
    }
    transcode::to_wire(&input, &Value::Object(json))
        .map_err(|e| ApiError::invalid(e.field, e.message))
}

/// A query parameter's text as the JSON value its field takes.
fn query_value(field: &FieldDescriptor, text: &str) -> Value {
    let number = || {
        text.parse::<i64>()
            .map(Value::from)
            .or_else(|_| text.parse::<f64>().map(Value::from))
            .unwrap_or_else(|_| Value::String(text.to_owned()))
    };
    match field.kind() {
        Kind::Bool => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(text.to_owned()),
        },
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 | Kind::Uint32 | Kind::Fixed32 => number(),
        Kind::Double | Kind::Float => number(),
        _ => Value::String(text.to_owned()),
    }
}

/// Whether two field paths name the same field or one lies within the other.
fn overlaps(message: &MessageDescriptor, a: &[String], b: &[String]) -> bool {
    let fields = |path: &[String]| -> Vec<FieldDescriptor> {
        (1..=path.len())
            .map_while(|n| leaf(message, &path[..n]).ok())
            .collect()
    };
    let (a, b) = (fields(a), fields(b));
    !a.is_empty() && !b.is_empty() && a.iter().zip(&b).all(|(x, y)| x == y)
}

/// The value at `path` in a JSON object of `message`, under either name.
fn get<'a>(
    object: &'a Map<String, Value>,
    message: &MessageDescriptor,
    path: &[String],
) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    let field = message
        .get_field_by_name(first)
        .or_else(|| message.get_field_by_json_name(first))?;
    let value = object
        .get(field.json_name())
        .or_else(|| object.get(field.name()))?;
    match (rest.is_empty(), field.kind(), value) {
        (true, _, value) => Some(value),
        (false, Kind::Message(inner), Value::Object(nested)) => get(nested, &inner, rest),
        _ => None,
    }
}

/// Sets the field at `path` in a JSON object of `message`, under the key the
/// object already uses for it (proto or JSON name) or its JSON name; with
/// `append`, adds to a repeated field.
fn set(
    object: &mut Map<String, Value>,
    message: &MessageDescriptor,
    path: &[String],
    value: Value,
    append: bool,
) -> Result<(), String> {
    let (first, rest) = path.split_first().ok_or("an empty field path")?;
    let field = message
        .get_field_by_name(first)
        .or_else(|| message.get_field_by_json_name(first))
        .ok_or_else(|| format!("{} has no field {first}", message.full_name()))?;
    let key = if object.contains_key(field.name()) {
        field.name().to_owned()
    } else {
        field.json_name().to_owned()
    };
    if rest.is_empty() {
        if append {
            match object
                .entry(key)
                .or_insert_with(|| Value::Array(Vec::new()))
            {
                Value::Array(items) => items.push(value),
                _ => return Err(format!("{first} is set twice")),
            }
        } else {
            object.insert(key, value);
        }
        return Ok(());
    }
    let Kind::Message(inner) = field.kind() else {
        return Err(format!("{first} is not a message field"));
    };
    match object
        .entry(key)
        .or_insert_with(|| Value::Object(Map::new()))
    {
        Value::Object(nested) => set(nested, &inner, rest, value, append),
        _ => Err(format!("{first} must be an object")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api() -> HttpApi {
        HttpApi::for_services(
            &[
                "scir.intake.v1.IntakeService",
                "scir.review.v1.ReviewService",
                "scir.scoring.v1.ScoringService",
                "scir.insights.v1.InsightsService",
            ],
            &[],
        )
        .expect("test input")
    }

    fn call(api: &HttpApi, verb: Method, uri: &str) -> JsonCall {
        let uri: http::Uri = uri.parse().expect("test input");
        let (route, values) = api.find(&verb, uri.path()).expect("test input");
        JsonCall {
            route,
            values,
            query: uri.query().map(str::to_owned),
        }
    }

    #[test]
    fn every_method_of_every_service_has_a_route_and_no_two_collide() {
        let api = api();
        let methods: usize = ["Intake", "Review", "Scoring", "Insights"]
            .iter()
            .map(|s| {
                let name = format!("scir.{}.v1.{s}Service", s.to_lowercase());
                crate::contract::pool()
                    .get_service_by_name(&name)
                    .expect("test input")
                    .methods()
                    .len()
            })
            .sum();
        assert_eq!(api.routes().len(), methods);
        let mut seen = std::collections::BTreeSet::new();
        for route in api.routes() {
            assert!(
                seen.insert((route.verb.to_string(), route.path())),
                "{} {} twice",
                route.verb,
                route.path()
            );
        }
    }

    #[test]
    fn path_query_and_body_make_one_message() {
        let api = api();
        let list = call(
            &api,
            Method::GET,
            "/v1/jurisdictions/us-wi/reviews?pageSize=5&stages=OPENED&stages=SSIT_SCORING&overdue_only=true",
        );
        let json = json_of(&list, b"");
        assert_eq!(
            json,
            serde_json::json!({
                "parent": "jurisdictions/us-wi",
                "pageSize": 5,
                "stages": ["STAGE_OPENED", "STAGE_SSIT_SCORING"],
                "overdueOnly": true,
            })
        );

        let update = call(
            &api,
            Method::PATCH,
            "/v1/jurisdictions/us-wi/reviews/r1/episodes/e1?updateMask=title&etag=7",
        );
        let json = json_of(&update, br#"{"title": "t"}"#);
        assert_eq!(
            json,
            serde_json::json!({
                "episode": {"name": "jurisdictions/us-wi/reviews/r1/episodes/e1", "title": "t"},
                "updateMask": "title",
                "etag": "7",
            })
        );
    }

    /// The message `request_message` made, as canonical JSON.
    fn json_of(call: &JsonCall, body: &[u8]) -> Value {
        let encoded = request_message(call, body).expect("a message");
        let message =
            DynamicMessage::decode(call.route.method.input(), encoded.as_slice()).expect("decodes");
        serde_json::to_value(&message).expect("json")
    }

    fn patch_without_query(api: &HttpApi) -> JsonCall {
        call(api, Method::PATCH, "/v1/jurisdictions/us-wi/reviews/r1")
    }

    #[test]
    fn bad_input_names_where_it_is() {
        let api = api();
        let get = call(
            &api,
            Method::GET,
            "/v1/jurisdictions/us-wi/incidents/x?bogus=1",
        );
        let error = request_message(&get, b"").expect_err("refused");
        assert!(
            matches!(&error, ApiError::InvalidArgument(v) if v[0].field == "bogus"),
            "{error:?}"
        );

        // Neither the query nor the body may name another resource than the path.
        let other = call(
            &api,
            Method::GET,
            "/v1/jurisdictions/us-wi/incidents/x?name=jurisdictions/us-tn/incidents/y",
        );
        let error = request_message(&other, b"").expect_err("refused");
        assert!(
            matches!(&error, ApiError::InvalidArgument(v) if v[0].field == "name"),
            "{error:?}"
        );
        let patch = call(
            &api,
            Method::PATCH,
            "/v1/jurisdictions/us-wi/reviews/r1?review.name=jurisdictions/us-tn/reviews/r2",
        );
        let error = request_message(&patch, b"").expect_err("refused");
        assert!(
            matches!(&error, ApiError::InvalidArgument(v) if v[0].field == "review.name"),
            "{error:?}"
        );
        let error = request_message(
            &patch_without_query(&api),
            br#"{"name": "jurisdictions/us-tn/reviews/r2"}"#,
        )
        .expect_err("refused");
        assert!(
            matches!(&error, ApiError::InvalidArgument(v) if v[0].field == "review.name"),
            "{error:?}"
        );
        let same = request_message(
            &patch_without_query(&api),
            br#"{"name": "jurisdictions/us-wi/reviews/r1"}"#,
        );
        assert!(same.is_ok(), "{same:?}");
        let ask = call(
            &api,
            Method::POST,
            "/v1/insights:ask?question=THEME_PREVALENCE",
        );
        let error = request_message(&ask, b"{}").expect_err("refused");
        assert!(
            matches!(&error, ApiError::InvalidArgument(v) if v[0].field == "question"),
            "{error:?}"
        );

        let get = call(&api, Method::GET, "/v1/jurisdictions/us-wi/incidents/x");
        let error = request_message(&get, b"{}").expect_err("refused");
        assert!(format!("{error:?}").contains("takes no body"), "{error:?}");

        let ask = call(&api, Method::POST, "/v1/insights:ask");
        for (body, field) in [
            (&b"{"[..], "body"),
            (b"[1]", "body"),
            (br#"{"question": "NO_SUCH_QUESTION"}"#, "question"),
            (br#"{"unknown": 1}"#, "unknown"),
            (br#"{"filters": {"quarterTo": 2024}}"#, "filters.quarter_to"),
        ] {
            let error = request_message(&ask, body).expect_err("refused");
            assert!(
                matches!(&error, ApiError::InvalidArgument(v) if v[0].field == field),
                "{error:?}"
            );
        }
    }

    #[test]
    fn statuses_map_as_google_maps_them_and_keep_their_details() {
        assert_eq!(http_status(tonic::Code::NotFound), StatusCode::NOT_FOUND);
        assert_eq!(
            http_status(tonic::Code::FailedPrecondition),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            http_status(tonic::Code::ResourceExhausted),
            StatusCode::TOO_MANY_REQUESTS
        );
        let status = Status::from(ApiError::invalid("filters.quarter_to", "must be YYYY-Qn"));
        let json: Value = serde_json::from_slice(&status_json(&status)).expect("test input");
        assert_eq!(json["code"], 3);
        let violations = json["details"]
            .as_array()
            .expect("test input")
            .iter()
            .find(|d| d["@type"] == "type.googleapis.com/google.rpc.BadRequest")
            .expect("test input");
        assert_eq!(
            violations["fieldViolations"][0]["field"],
            "filters.quarter_to"
        );
    }
}
