//! The OpenAPI 3.1 document of the HTTP/JSON routes, generated from the
//! contract: paths from the `google.api.http` annotations, schemas from the
//! messages in their canonical JSON form, descriptions from the comments.

use std::collections::BTreeMap;
use std::sync::Arc;

use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{Map, Value, json};

use super::{BodyRule, Route, leaf};
use crate::auth::MethodRule;
use crate::contract::comment;

/// The document for `routes`, titled after `services`, with the roles
/// `rules` allow for each.
pub fn document(routes: &[Arc<Route>], services: &[&str], rules: &[MethodRule]) -> Value {
    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    let mut schemas = Schemas::default();
    schemas.message(
        &crate::contract::pool()
            .get_message_by_name("google.rpc.Status")
            .expect("google.rpc.Status is in the descriptor set"),
    );
    for route in routes {
        let mut operation = operation(route, &mut schemas);
        if let Some(rule) = rules.iter().find(|r| r.method == route.grpc_path) {
            let roles: Vec<&str> = rule.roles.iter().map(|r| r.as_str()).collect();
            operation["x-scir-roles"] = json!(roles);
        }
        paths
            .entry(route.path())
            .or_default()
            .insert(route.verb.as_str().to_ascii_lowercase(), operation);
    }
    let tags: Vec<Value> = services
        .iter()
        .filter_map(|name| crate::contract::pool().get_service_by_name(name))
        .map(|s| json!({"name": s.name(), "description": comment(&s.parent_file(), s.path())}))
        .collect();
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "SCIR HTTP/JSON API",
            "version": "v1",
            "description": "Every RPC of SCIR's gRPC contract over HTTP/JSON, on the same port, \
                with the same authentication, authorisation, audit and limits. Messages use \
                the canonical protobuf JSON mapping (lowerCamelCase names, 64-bit integers \
                as strings, enums by name); errors are google.rpc.Status; server streams \
                are newline-delimited JSON (application/x-ndjson), ending with \
                {\"error\": Status} if the stream fails. Generated from proto/; do not edit.",
        },
        "tags": tags,
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
            "schemas": schemas.done,
        },
    })
}

fn operation(route: &Route, schemas: &mut Schemas) -> Value {
    let method = &route.method;
    let input = method.input();
    let mut parameters = Vec::new();
    let mut bound: Vec<String> = Vec::new();
    for (name, variable) in route.template.openapi_parameters() {
        parameters.push(json!({
            "name": name,
            "in": "path",
            "required": true,
            "description": format!(
                "A segment of `{}` (`{}`).",
                variable.field.join("."),
                route.template.pattern(variable)
            ),
            "schema": {"type": "string"},
        }));
    }
    for variable in &route.template.variables {
        bound.push(variable.field[0].clone());
    }
    let body = match &route.body {
        BodyRule::None => None,
        BodyRule::Whole => Some(schemas.reference(&input)),
        BodyRule::Field(field) => {
            bound.push(field.clone());
            leaf(&input, std::slice::from_ref(field))
                .ok()
                .map(|f| schemas.field(&f))
        }
    };
    if route.body != BodyRule::Whole {
        query_parameters(&input, "", &bound, 0, schemas, &mut parameters);
    }
    let output = schemas.reference(&method.output());
    let content = if method.is_server_streaming() {
        json!({"application/x-ndjson": {"schema": output}})
    } else {
        json!({"application/json": {"schema": output}})
    };
    let mut operation = json!({
        "operationId": format!("{}.{}", method.parent_service().name(), method.name()),
        "tags": [method.parent_service().name()],
        "summary": method.name(),
        "description": format!(
            "{}\n\ngRPC: `{}`",
            comment(&method.parent_file(), method.path()),
            route.grpc_path
        ),
        "parameters": parameters,
        "responses": {
            "200": {"description": "OK", "content": content},
            "default": {
                "description": "An error: google.rpc.Status with its details.",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/google.rpc.Status"}}},
            },
        },
    });
    if let Some(schema) = body {
        operation["requestBody"] = json!({
            "required": true,
            "content": {"application/json": {"schema": schema}},
        });
    }
    operation
}

/// Every field of the request not bound by the path or body, as query
/// parameters (`filters.quarterFrom`), through nested messages.
fn query_parameters(
    message: &MessageDescriptor,
    prefix: &str,
    bound: &[String],
    depth: usize,
    schemas: &mut Schemas,
    out: &mut Vec<Value>,
) {
    for field in message.fields() {
        if depth == 0 && bound.iter().any(|b| b == field.name()) {
            continue;
        }
        let name = format!("{prefix}{}", field.json_name());
        match field.kind() {
            Kind::Message(inner)
                if !field.is_list() && !field.is_map() && !well_known(&inner) && depth < 3 =>
            {
                query_parameters(&inner, &format!("{name}."), bound, depth + 1, schemas, out);
            }
            _ => out.push(json!({
                "name": name,
                "in": "query",
                "description": comment(&field.parent_file(), field.path()),
                "schema": schemas.field(&field),
                "explode": true,
            })),
        }
    }
}

fn well_known(message: &MessageDescriptor) -> bool {
    message.package_name() == "google.protobuf"
}

/// The schemas referred to so far.
#[derive(Default)]
struct Schemas {
    done: BTreeMap<String, Value>,
}

impl Schemas {
    fn reference(&mut self, message: &MessageDescriptor) -> Value {
        if let Some(schema) = well_known_schema(message) {
            return schema;
        }
        self.message(message);
        json!({"$ref": format!("#/components/schemas/{}", message.full_name())})
    }

    fn message(&mut self, message: &MessageDescriptor) {
        if self.done.contains_key(message.full_name()) {
            return;
        }
        // Placeholder first: messages may refer to themselves.
        self.done
            .insert(message.full_name().to_owned(), Value::Null);
        let mut properties = Map::new();
        for field in message.fields() {
            let mut schema = self.field(&field);
            let about = comment(&field.parent_file(), field.path());
            if !about.is_empty()
                && let Value::Object(object) = &mut schema
            {
                if object.contains_key("$ref") {
                    schema = json!({"allOf": [schema], "description": about});
                } else {
                    object.insert("description".into(), Value::String(about));
                }
            }
            properties.insert(field.json_name().to_owned(), schema);
        }
        let mut schema = json!({"type": "object", "properties": properties});
        let about = comment(&message.parent_file(), message.path());
        if !about.is_empty() {
            schema["description"] = Value::String(about);
        }
        if message.full_name() == "google.protobuf.Any" {
            schema = any_schema();
        }
        self.done.insert(message.full_name().to_owned(), schema);
    }

    fn field(&mut self, field: &FieldDescriptor) -> Value {
        if field.is_map()
            && let Kind::Message(entry) = field.kind()
        {
            let value = entry.map_entry_value_field();
            return json!({"type": "object", "additionalProperties": self.single(&value.kind())});
        }
        let single = self.single(&field.kind());
        if field.is_list() {
            json!({"type": "array", "items": single})
        } else {
            single
        }
    }

    fn single(&mut self, kind: &Kind) -> Value {
        match kind {
            Kind::Double | Kind::Float => json!({"type": "number"}),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
                json!({"type": "integer", "format": "int32"})
            }
            Kind::Uint32 | Kind::Fixed32 => json!({"type": "integer", "format": "uint32"}),
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
                json!({"type": "string", "format": "int64"})
            }
            Kind::Uint64 | Kind::Fixed64 => json!({"type": "string", "format": "uint64"}),
            Kind::Bool => json!({"type": "boolean"}),
            Kind::String => json!({"type": "string"}),
            Kind::Bytes => json!({"type": "string", "contentEncoding": "base64"}),
            Kind::Enum(e) => json!({
                "type": "string",
                "enum": e.values().map(|v| v.name().to_owned()).collect::<Vec<_>>(),
            }),
            Kind::Message(m) => self.reference(m),
        }
    }
}

fn well_known_schema(message: &MessageDescriptor) -> Option<Value> {
    Some(match message.full_name() {
        "google.protobuf.Timestamp" => json!({"type": "string", "format": "date-time"}),
        "google.protobuf.Duration" => {
            json!({"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?s$"})
        }
        "google.protobuf.FieldMask" => {
            json!({"type": "string", "description": "Comma-separated field paths."})
        }
        "google.protobuf.Empty" => json!({"type": "object"}),
        "google.protobuf.Struct" => json!({"type": "object"}),
        "google.protobuf.Value" => json!({}),
        _ => return None,
    })
}

fn any_schema() -> Value {
    json!({
        "type": "object",
        "description": "A message of the type `@type` names, with its fields beside it.",
        "properties": {"@type": {"type": "string"}},
        "required": ["@type"],
        "additionalProperties": true,
    })
}
