//! JSON straight to the protobuf wire format and back, following the
//! canonical JSON mapping, without building a dynamic message between.
//!
//! Going through `prost_reflect::DynamicMessage` costs about a millisecond of
//! CPU for a 3 KB incident (most of it computing nested lengths field by
//! field); a plan per message type, made once from the descriptors, turns the
//! same JSON into bytes in a small fraction of that (docs/benchmarks.md,
//! "HTTP/JSON"). Well-known types (timestamps, field masks, durations,
//! wrappers, structs, `Any`) are rare in requests and keep the dynamic path.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use base64::Engine as _;
use bytes::BufMut;
use prost::encoding::{WireType, encode_key, encode_varint};
use prost_reflect::{DynamicMessage, Kind, MessageDescriptor};
use serde_json::Value;

/// Why a JSON value is not the message it should be: where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TranscodeError {
    /// The field path, e.g. `incident.prior_contacts[3].date`.
    pub(crate) field: String,
    pub(crate) message: String,
}

type Result<T> = std::result::Result<T, TranscodeError>;

fn error(field: &str, message: impl Into<String>) -> TranscodeError {
    TranscodeError {
        field: field.to_owned(),
        message: message.into(),
    }
}

#[derive(Debug)]
enum Scalar {
    Double,
    Float,
    Int32,
    Int64,
    Uint32,
    Uint64,
    Sint32,
    Sint64,
    Fixed32,
    Fixed64,
    Sfixed32,
    Sfixed64,
    Bool,
    String,
    Bytes,
}

/// An enum's values both ways.
#[derive(Debug)]
struct EnumPlan {
    by_name: HashMap<String, i32>,
    by_number: HashMap<i32, String>,
}

#[derive(Debug)]
enum FieldKind {
    Scalar(Scalar),
    Enum(Arc<EnumPlan>),
    /// A message with a plan, by full name.
    Message(String),
    /// A well-known type, through the dynamic path.
    WellKnown(MessageDescriptor),
}

#[derive(Debug)]
struct FieldPlan {
    name: String,
    json_name: String,
    number: u32,
    kind: FieldKind,
    list: bool,
    /// Key and value kinds of a map field.
    map: Option<Box<(FieldKind, FieldKind)>>,
    oneof: Option<String>,
}

#[derive(Debug)]
struct MessagePlan {
    /// Field index by JSON name and by proto name.
    by_name: HashMap<String, usize>,
    /// Field index by number.
    by_number: HashMap<u32, usize>,
    fields: Vec<FieldPlan>,
}

/// Plans for every message of the contract, made on first use.
fn plans() -> &'static HashMap<String, MessagePlan> {
    static PLANS: OnceLock<HashMap<String, MessagePlan>> = OnceLock::new();
    PLANS.get_or_init(|| {
        crate::contract::pool()
            .all_messages()
            .filter(|m| !well_known(m) && !m.is_map_entry())
            .map(|m| (m.full_name().to_owned(), plan(&m)))
            .collect()
    })
}

fn well_known(message: &MessageDescriptor) -> bool {
    message.package_name() == "google.protobuf"
}

fn field_kind(kind: Kind) -> FieldKind {
    match kind {
        Kind::Double => FieldKind::Scalar(Scalar::Double),
        Kind::Float => FieldKind::Scalar(Scalar::Float),
        Kind::Int32 => FieldKind::Scalar(Scalar::Int32),
        Kind::Int64 => FieldKind::Scalar(Scalar::Int64),
        Kind::Uint32 => FieldKind::Scalar(Scalar::Uint32),
        Kind::Uint64 => FieldKind::Scalar(Scalar::Uint64),
        Kind::Sint32 => FieldKind::Scalar(Scalar::Sint32),
        Kind::Sint64 => FieldKind::Scalar(Scalar::Sint64),
        Kind::Fixed32 => FieldKind::Scalar(Scalar::Fixed32),
        Kind::Fixed64 => FieldKind::Scalar(Scalar::Fixed64),
        Kind::Sfixed32 => FieldKind::Scalar(Scalar::Sfixed32),
        Kind::Sfixed64 => FieldKind::Scalar(Scalar::Sfixed64),
        Kind::Bool => FieldKind::Scalar(Scalar::Bool),
        Kind::String => FieldKind::Scalar(Scalar::String),
        Kind::Bytes => FieldKind::Scalar(Scalar::Bytes),
        Kind::Enum(e) => FieldKind::Enum(Arc::new(EnumPlan {
            by_name: e
                .values()
                .map(|v| (v.name().to_owned(), v.number()))
                .chain(
                    crate::contract::enum_aliases(e.full_name())
                        .iter()
                        .map(|(name, number)| ((*name).to_owned(), *number)),
                )
                .collect(),
            by_number: e
                .values()
                .map(|v| (v.number(), v.name().to_owned()))
                .collect(),
        })),
        Kind::Message(m) if well_known(&m) => FieldKind::WellKnown(m),
        Kind::Message(m) => FieldKind::Message(m.full_name().to_owned()),
    }
}

fn plan(message: &MessageDescriptor) -> MessagePlan {
    let mut by_name = HashMap::new();
    let mut by_number = HashMap::new();
    let mut fields = Vec::new();
    for (i, field) in message.fields().enumerate() {
        by_name.insert(field.json_name().to_owned(), i);
        by_name.insert(field.name().to_owned(), i);
        by_number.insert(field.number(), i);
        let map = match field.kind() {
            Kind::Message(entry) if field.is_map() => Some(Box::new((
                field_kind(entry.map_entry_key_field().kind()),
                field_kind(entry.map_entry_value_field().kind()),
            ))),
            _ => None,
        };
        fields.push(FieldPlan {
            name: field.name().to_owned(),
            json_name: field.json_name().to_owned(),
            number: field.number(),
            kind: field_kind(field.kind()),
            list: field.is_list(),
            map,
            oneof: field
                .containing_oneof()
                .filter(|o| !o.is_synthetic())
                .map(|o| o.name().to_owned()),
        });
    }
    MessagePlan {
        by_name,
        by_number,
        fields,
    }
}

/// `json`, a JSON object, as the wire bytes of `message`.
pub(crate) fn to_wire(message: &MessageDescriptor, json: &Value) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(256);
    write_message(message.full_name(), json, At::Root, &mut out)?;
    Ok(out)
}

/// Where in the JSON a value is, rendered only when something is wrong there.
#[derive(Debug, Clone, Copy)]
enum At<'a> {
    Root,
    Field(&'a At<'a>, &'a str),
    Index(&'a At<'a>, usize),
    Key(&'a At<'a>, &'a str),
}

impl At<'_> {
    fn render(&self) -> String {
        match self {
            At::Root => String::new(),
            At::Field(parent, name) => match parent.render() {
                p if p.is_empty() => (*name).to_owned(),
                p => format!("{p}.{name}"),
            },
            At::Index(parent, i) => format!("{}[{i}]", parent.render()),
            At::Key(parent, key) => format!("{}[{key}]", parent.render()),
        }
    }

    fn error(&self, message: impl Into<String>) -> TranscodeError {
        match self.render() {
            root if root.is_empty() => error("body", message),
            field => error(&field, message),
        }
    }
}

/// Appends a length-delimited field: its key, then `write`'s bytes with their
/// length before them (written in place, then moved up by the length's size).
fn length_delimited(
    number: u32,
    out: &mut Vec<u8>,
    write: impl FnOnce(&mut Vec<u8>) -> Result<()>,
) -> Result<()> {
    encode_key(number, WireType::LengthDelimited, out);
    let start = out.len();
    write(out)?;
    let mut prefix = [0u8; 10];
    let mut slice = &mut prefix[..];
    encode_varint((out.len() - start) as u64, &mut slice);
    let used = 10 - slice.len();
    out.splice(start..start, prefix[..used].iter().copied());
    Ok(())
}

fn write_message(full_name: &str, json: &Value, at: At<'_>, out: &mut Vec<u8>) -> Result<()> {
    let plan = plans()
        .get(full_name)
        .ok_or_else(|| at.error(format!("no plan for {full_name}")))?;
    let Value::Object(object) = json else {
        return Err(at.error(format!("must be a JSON object ({full_name})")));
    };
    let mut oneofs: Vec<(&str, &str)> = Vec::new();
    for (key, value) in object {
        let Some(&index) = plan.by_name.get(key.as_str()) else {
            return Err(At::Field(&at, key).error(format!("{full_name} has no field `{key}`")));
        };
        let field = &plan.fields[index];
        if value.is_null() {
            continue;
        }
        let here = At::Field(&at, &field.name);
        if let Some(oneof) = field.oneof.as_deref() {
            if let Some((_, other)) = oneofs.iter().find(|(o, _)| *o == oneof) {
                return Err(here.error(format!(
                    "only one of `{other}` and `{}` may be set",
                    field.name
                )));
            }
            oneofs.push((oneof, &field.name));
        }
        write_field(field, value, here, out)?;
    }
    Ok(())
}

fn write_field(field: &FieldPlan, value: &Value, at: At<'_>, out: &mut Vec<u8>) -> Result<()> {
    if let Some(entry) = &field.map {
        let Value::Object(entries) = value else {
            return Err(at.error("must be a JSON object (a map)"));
        };
        for (key, item) in entries {
            let here = At::Key(&at, key);
            length_delimited(field.number, out, |out| {
                write_value(1, &entry.0, &Value::String(key.clone()), here, out, true)?;
                if !item.is_null() {
                    write_value(2, &entry.1, item, here, out, false)?;
                }
                Ok(())
            })?;
        }
        return Ok(());
    }
    if field.list {
        let Value::Array(items) = value else {
            return Err(at.error("must be a JSON array"));
        };
        for (i, item) in items.iter().enumerate() {
            let here = At::Index(&at, i);
            if item.is_null() {
                return Err(here.error("must not be null"));
            }
            write_value(field.number, &field.kind, item, here, out, false)?;
        }
        return Ok(());
    }
    write_value(field.number, &field.kind, value, at, out, false)
}

/// Writes one value with its key. `key_text`: a map key, whose numbers and
/// booleans come as strings.
fn write_value(
    number: u32,
    kind: &FieldKind,
    value: &Value,
    at: At<'_>,
    out: &mut Vec<u8>,
    key_text: bool,
) -> Result<()> {
    match kind {
        FieldKind::Scalar(scalar) => write_scalar(number, scalar, value, at, out, key_text),
        FieldKind::Enum(values) => {
            let n = match value {
                Value::String(name) => *values
                    .by_name
                    .get(name)
                    .ok_or_else(|| at.error(format!("`{name}` is not one of its values")))?,
                Value::Number(n) => n
                    .as_i64()
                    .and_then(|n| i32::try_from(n).ok())
                    .ok_or_else(|| at.error("must be an enum value name or number"))?,
                _ => return Err(at.error("must be an enum value name")),
            };
            encode_key(number, WireType::Varint, out);
            encode_varint(i64::from(n) as u64, out);
            Ok(())
        }
        FieldKind::Message(name) => {
            length_delimited(number, out, |out| write_message(name, value, at, out))
        }
        FieldKind::WellKnown(descriptor) => {
            let message = DynamicMessage::deserialize(descriptor.clone(), value)
                .map_err(|e| at.error(e.to_string()))?;
            length_delimited(number, out, |out| {
                prost::Message::encode_raw(&message, out);
                Ok(())
            })
        }
    }
}

fn integer(value: &Value, at: At<'_>) -> Result<i128> {
    let parsed = match value {
        Value::Number(n) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 1e19)
                    .map(|f| f as i128)
            }),
        Value::String(s) => s.parse::<i128>().ok(),
        _ => None,
    };
    parsed.ok_or_else(|| at.error("must be an integer"))
}

fn float(value: &Value, at: At<'_>) -> Result<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            other => other.parse().ok(),
        },
        _ => None,
    }
    .ok_or_else(|| at.error("must be a number"))
}

fn ranged<T: TryFrom<i128>>(value: &Value, at: At<'_>) -> Result<T> {
    T::try_from(integer(value, at)?).map_err(|_| at.error("is out of range"))
}

fn write_scalar(
    number: u32,
    scalar: &Scalar,
    value: &Value,
    at: At<'_>,
    out: &mut Vec<u8>,
    key_text: bool,
) -> Result<()> {
    let varint = |out: &mut Vec<u8>, v: u64| {
        encode_key(number, WireType::Varint, out);
        encode_varint(v, out);
    };
    match scalar {
        Scalar::Int32 => varint(out, i64::from(ranged::<i32>(value, at)?) as u64),
        Scalar::Int64 => varint(out, ranged::<i64>(value, at)? as u64),
        Scalar::Uint32 => varint(out, u64::from(ranged::<u32>(value, at)?)),
        Scalar::Uint64 => varint(out, ranged::<u64>(value, at)?),
        Scalar::Sint32 => {
            let v = ranged::<i32>(value, at)?;
            varint(out, u64::from(((v << 1) ^ (v >> 31)) as u32));
        }
        Scalar::Sint64 => {
            let v = ranged::<i64>(value, at)?;
            varint(out, ((v << 1) ^ (v >> 63)) as u64);
        }
        Scalar::Bool => {
            let b = match value {
                Value::Bool(b) => *b,
                Value::String(s) if key_text && (s == "true" || s == "false") => s == "true",
                _ => return Err(at.error("must be true or false")),
            };
            varint(out, u64::from(b));
        }
        Scalar::Fixed32 => {
            encode_key(number, WireType::ThirtyTwoBit, out);
            out.put_u32_le(ranged::<u32>(value, at)?);
        }
        Scalar::Sfixed32 => {
            encode_key(number, WireType::ThirtyTwoBit, out);
            out.put_i32_le(ranged::<i32>(value, at)?);
        }
        Scalar::Float => {
            encode_key(number, WireType::ThirtyTwoBit, out);
            out.put_f32_le(float(value, at)? as f32);
        }
        Scalar::Fixed64 => {
            encode_key(number, WireType::SixtyFourBit, out);
            out.put_u64_le(ranged::<u64>(value, at)?);
        }
        Scalar::Sfixed64 => {
            encode_key(number, WireType::SixtyFourBit, out);
            out.put_i64_le(ranged::<i64>(value, at)?);
        }
        Scalar::Double => {
            encode_key(number, WireType::SixtyFourBit, out);
            out.put_f64_le(float(value, at)?);
        }
        Scalar::String => {
            let Value::String(s) = value else {
                return Err(at.error("must be a string"));
            };
            encode_key(number, WireType::LengthDelimited, out);
            encode_varint(s.len() as u64, out);
            out.extend_from_slice(s.as_bytes());
        }
        Scalar::Bytes => {
            let Value::String(s) = value else {
                return Err(at.error("must be a base64 string"));
            };
            let trimmed = s.trim_end_matches('=');
            let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(trimmed)
                .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(trimmed))
                .map_err(|_| at.error("must be base64"))?;
            encode_key(number, WireType::LengthDelimited, out);
            encode_varint(bytes.len() as u64, out);
            out.extend_from_slice(&bytes);
        }
    }
    Ok(())
}

/// A request body, straight from its JSON text to the wire bytes of
/// `message`, without a `serde_json::Value` between (the common case: a body
/// that is the whole request, no path variables, no query).
pub(crate) fn body_to_wire(message: &MessageDescriptor, body: &[u8]) -> Result<Vec<u8>> {
    use serde::de::DeserializeSeed as _;
    let failure = std::cell::RefCell::new(None);
    let mut out = Vec::with_capacity(body.len());
    let mut json = serde_json::Deserializer::from_slice(body);
    let seed = stream::MessageSeed {
        name: message.full_name(),
        out: &mut out,
        at: At::Root,
        failure: &failure,
        number: None,
    };
    match seed.deserialize(&mut json).and_then(|_| json.end()) {
        Ok(()) => Ok(out),
        Err(e) => Err(failure
            .into_inner()
            .unwrap_or_else(|| error("body", format!("not JSON: {e}")))),
    }
}

/// The serde side of [`body_to_wire`]: seeds that write as they read.
mod stream {
    use std::cell::RefCell;
    use std::fmt;

    use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
    use serde_json::Value;

    use super::{At, FieldKind, FieldPlan, Scalar, TranscodeError, plans};
    use prost::encoding::{WireType, encode_key, encode_varint};

    type Failure<'a> = &'a RefCell<Option<TranscodeError>>;

    /// Keeps the first (innermost) failure and stops serde with it.
    fn fail<E: de::Error>(failure: Failure<'_>, error: TranscodeError) -> E {
        let mut slot = failure.borrow_mut();
        if slot.is_none() {
            *slot = Some(error);
        }
        E::custom("invalid")
    }

    fn begin(out: &mut Vec<u8>, number: u32) -> usize {
        encode_key(number, WireType::LengthDelimited, out);
        out.len()
    }

    fn end(out: &mut Vec<u8>, start: usize) {
        let mut prefix = [0u8; 10];
        let mut slice = &mut prefix[..];
        encode_varint((out.len() - start) as u64, &mut slice);
        let used = 10 - slice.len();
        out.splice(start..start, prefix[..used].iter().copied());
    }

    /// A message: the whole body (`number` none) or a field of one.
    pub(super) struct MessageSeed<'a, 'o> {
        pub(super) name: &'a str,
        pub(super) out: &'o mut Vec<u8>,
        pub(super) at: At<'a>,
        pub(super) failure: Failure<'a>,
        pub(super) number: Option<u32>,
    }

    impl<'de> DeserializeSeed<'de> for MessageSeed<'_, '_> {
        type Value = bool;

        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for MessageSeed<'_, '_> {
        type Value = bool;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "a JSON object ({})", self.name)
        }

        fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
            match self.number {
                Some(_) => Ok(false),
                None => Err(fail(self.failure, self.at.error("must be a JSON object"))),
            }
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
            let Some(plan) = plans().get(self.name) else {
                return Err(fail(
                    self.failure,
                    self.at.error(format!("no plan for {}", self.name)),
                ));
            };
            let start = self.number.map(|n| begin(self.out, n));
            let mut oneofs: Vec<(&str, &str)> = Vec::new();
            while let Some(index) = map.next_key_seed(KeySeed {
                plan_fields: &plan.by_name,
                name: self.name,
                at: self.at,
                failure: self.failure,
            })? {
                let field = &plan.fields[index];
                let here = At::Field(&self.at, &field.name);
                let wrote = map.next_value_seed(FieldSeed {
                    field,
                    out: &mut *self.out,
                    at: here,
                    failure: self.failure,
                })?;
                if wrote && let Some(oneof) = field.oneof.as_deref() {
                    if let Some((_, other)) = oneofs.iter().find(|(o, _)| *o == oneof) {
                        return Err(fail(
                            self.failure,
                            here.error(format!(
                                "only one of `{other}` and `{}` may be set",
                                field.name
                            )),
                        ));
                    }
                    oneofs.push((oneof, &field.name));
                }
            }
            if let Some(start) = start {
                end(self.out, start);
            }
            Ok(true)
        }

        fn visit_bool<E: de::Error>(self, _: bool) -> Result<bool, E> {
            Err(fail(self.failure, self.at.error("must be a JSON object")))
        }

        fn visit_i64<E: de::Error>(self, _: i64) -> Result<bool, E> {
            Err(fail(self.failure, self.at.error("must be a JSON object")))
        }

        fn visit_u64<E: de::Error>(self, _: u64) -> Result<bool, E> {
            Err(fail(self.failure, self.at.error("must be a JSON object")))
        }

        fn visit_f64<E: de::Error>(self, _: f64) -> Result<bool, E> {
            Err(fail(self.failure, self.at.error("must be a JSON object")))
        }

        fn visit_str<E: de::Error>(self, _: &str) -> Result<bool, E> {
            Err(fail(self.failure, self.at.error("must be a JSON object")))
        }

        fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<bool, A::Error> {
            Err(fail(self.failure, self.at.error("must be a JSON object")))
        }
    }

    /// A key: the index of the field it names.
    struct KeySeed<'a> {
        plan_fields: &'a std::collections::HashMap<String, usize>,
        name: &'a str,
        at: At<'a>,
        failure: Failure<'a>,
    }

    impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
        type Value = usize;

        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
            d.deserialize_str(self)
        }
    }

    impl<'de> Visitor<'de> for KeySeed<'_> {
        type Value = usize;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a field name")
        }

        fn visit_str<E: de::Error>(self, key: &str) -> Result<usize, E> {
            self.plan_fields.get(key).copied().ok_or_else(|| {
                fail(
                    self.failure,
                    At::Field(&self.at, key).error(format!("{} has no field `{key}`", self.name)),
                )
            })
        }
    }

    /// A field's value: a map, a list, or one value.
    struct FieldSeed<'a, 'o> {
        field: &'a FieldPlan,
        out: &'o mut Vec<u8>,
        at: At<'a>,
        failure: Failure<'a>,
    }

    impl<'de> DeserializeSeed<'de> for FieldSeed<'_, '_> {
        type Value = bool;

        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
            if self.field.map.is_some() || self.field.list {
                return d.deserialize_any(self);
            }
            ValueSeed {
                kind: &self.field.kind,
                number: self.field.number,
                out: self.out,
                at: self.at,
                failure: self.failure,
            }
            .deserialize(d)
        }
    }

    impl<'de> Visitor<'de> for FieldSeed<'_, '_> {
        type Value = bool;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON array or object")
        }

        fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
            Ok(false)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
            if self.field.map.is_some() {
                return Err(fail(
                    self.failure,
                    self.at.error("must be a JSON object (a map)"),
                ));
            }
            let mut i = 0;
            loop {
                let here = At::Index(&self.at, i);
                let Some(wrote) = seq.next_element_seed(ValueSeed {
                    kind: &self.field.kind,
                    number: self.field.number,
                    out: &mut *self.out,
                    at: here,
                    failure: self.failure,
                })?
                else {
                    break;
                };
                if !wrote {
                    return Err(fail(self.failure, here.error("must not be null")));
                }
                i += 1;
            }
            Ok(true)
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
            let Some(entry) = &self.field.map else {
                return Err(fail(self.failure, self.at.error("must be a JSON array")));
            };
            while let Some(key) = map.next_key::<String>()? {
                let here = At::Key(&self.at, &key);
                let start = begin(self.out, self.field.number);
                super::write_value(
                    1,
                    &entry.0,
                    &Value::String(key.clone()),
                    here,
                    self.out,
                    true,
                )
                .map_err(|e| fail::<A::Error>(self.failure, e))?;
                map.next_value_seed(ValueSeed {
                    kind: &entry.1,
                    number: 2,
                    out: &mut *self.out,
                    at: here,
                    failure: self.failure,
                })?;
                end(self.out, start);
            }
            Ok(true)
        }

        fn visit_bool<E: de::Error>(self, _: bool) -> Result<bool, E> {
            Err(fail(self.failure, self.at.error("must be a JSON array")))
        }

        fn visit_i64<E: de::Error>(self, _: i64) -> Result<bool, E> {
            Err(fail(self.failure, self.at.error("must be a JSON array")))
        }

        fn visit_u64<E: de::Error>(self, _: u64) -> Result<bool, E> {
            Err(fail(self.failure, self.at.error("must be a JSON array")))
        }

        fn visit_f64<E: de::Error>(self, _: f64) -> Result<bool, E> {
            Err(fail(self.failure, self.at.error("must be a JSON array")))
        }

        fn visit_str<E: de::Error>(self, _: &str) -> Result<bool, E> {
            Err(fail(self.failure, self.at.error("must be a JSON array")))
        }
    }

    /// One value of a field; `false` when it was null (not written).
    struct ValueSeed<'a, 'o> {
        kind: &'a FieldKind,
        number: u32,
        out: &'o mut Vec<u8>,
        at: At<'a>,
        failure: Failure<'a>,
    }

    impl<'de> DeserializeSeed<'de> for ValueSeed<'_, '_> {
        type Value = bool;

        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
            match self.kind {
                FieldKind::Message(name) => MessageSeed {
                    name,
                    out: self.out,
                    at: self.at,
                    failure: self.failure,
                    number: Some(self.number),
                }
                .deserialize(d),
                FieldKind::WellKnown(_) => {
                    let value = <Value as serde::Deserialize>::deserialize(d)?;
                    if value.is_null() {
                        return Ok(false);
                    }
                    super::write_value(self.number, self.kind, &value, self.at, self.out, false)
                        .map_err(|e| fail::<D::Error>(self.failure, e))?;
                    Ok(true)
                }
                FieldKind::Scalar(_) | FieldKind::Enum(_) => d.deserialize_any(self),
            }
        }
    }

    impl ValueSeed<'_, '_> {
        fn write<E: de::Error>(self, value: &Value) -> Result<bool, E> {
            super::write_value(self.number, self.kind, value, self.at, self.out, false)
                .map_err(|e| fail::<E>(self.failure, e))?;
            Ok(true)
        }
    }

    impl<'de> Visitor<'de> for ValueSeed<'_, '_> {
        type Value = bool;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON value")
        }

        fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
            Ok(false)
        }

        fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
            self.write(&Value::Bool(v))
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<bool, E> {
            self.write(&Value::from(v))
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<bool, E> {
            self.write(&Value::from(v))
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<bool, E> {
            self.write(&Value::from(v))
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
            // Strings, the common case, go straight to the wire.
            if let FieldKind::Scalar(Scalar::String) = self.kind {
                encode_key(self.number, WireType::LengthDelimited, self.out);
                encode_varint(v.len() as u64, self.out);
                self.out.extend_from_slice(v.as_bytes());
                return Ok(true);
            }
            if let FieldKind::Enum(values) = self.kind
                && let Some(n) = values.by_name.get(v)
            {
                encode_key(self.number, WireType::Varint, self.out);
                encode_varint(i64::from(*n) as u64, self.out);
                return Ok(true);
            }
            self.write(&Value::String(v.to_owned()))
        }

        fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<bool, A::Error> {
            Err(fail(self.failure, self.at.error("must not be an array")))
        }

        fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<bool, A::Error> {
            Err(fail(self.failure, self.at.error("must not be an object")))
        }
    }
}

/// The wire bytes of `message` as canonical JSON (lowerCamelCase names,
/// enums by name, 64-bit integers as strings, bytes in base64).
pub(crate) fn to_json(message: &MessageDescriptor, wire: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(wire.len() * 2 + 16);
    print_message(message.full_name(), wire, &mut out)?;
    Ok(out)
}

/// One field value as it came off the wire.
#[derive(Debug, Clone, Copy)]
enum Raw<'a> {
    Varint(u64),
    Fixed32(u32),
    Fixed64(u64),
    Bytes(&'a [u8]),
}

fn take_varint(wire: &mut &[u8]) -> Result<u64> {
    prost::encoding::decode_varint(wire).map_err(|e| error("", e.to_string()))
}

fn take<'a>(wire: &mut &'a [u8], n: usize) -> Result<&'a [u8]> {
    if wire.len() < n {
        return Err(error("", "a message is cut short"));
    }
    let (head, rest) = wire.split_at(n);
    *wire = rest;
    Ok(head)
}

/// Splits a message's bytes into values per field index, in wire order.
fn fields_of<'a>(plan: &MessagePlan, mut wire: &'a [u8]) -> Result<Vec<Vec<Raw<'a>>>> {
    let mut values: Vec<Vec<Raw<'a>>> = vec![Vec::new(); plan.fields.len()];
    while !wire.is_empty() {
        let key = take_varint(&mut wire)?;
        let number = u32::try_from(key >> 3).map_err(|_| error("", "a bad field number"))?;
        let raw = match key & 7 {
            0 => Raw::Varint(take_varint(&mut wire)?),
            1 => Raw::Fixed64(u64::from_le_bytes(
                take(&mut wire, 8)?.try_into().unwrap_or_default(),
            )),
            2 => {
                let len = usize::try_from(take_varint(&mut wire)?)
                    .map_err(|_| error("", "a bad length"))?;
                Raw::Bytes(take(&mut wire, len)?)
            }
            5 => Raw::Fixed32(u32::from_le_bytes(
                take(&mut wire, 4)?.try_into().unwrap_or_default(),
            )),
            other => return Err(error("", format!("wire type {other} is not supported"))),
        };
        if let Some(&index) = plan.by_number.get(&number) {
            values[index].push(raw);
        }
    }
    Ok(values)
}

fn print_message(full_name: &str, wire: &[u8], out: &mut Vec<u8>) -> Result<()> {
    let plan = plans()
        .get(full_name)
        .ok_or_else(|| error("", format!("no plan for {full_name}")))?;
    let values = fields_of(plan, wire)?;
    out.push(b'{');
    let mut first = true;
    for (field, raws) in plan.fields.iter().zip(&values) {
        if raws.is_empty() {
            continue;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        print_string(&field.json_name, out);
        out.push(b':');
        if let Some(entry) = &field.map {
            out.push(b'{');
            for (i, raw) in raws.iter().enumerate() {
                let Raw::Bytes(bytes) = raw else {
                    return Err(error(&field.name, "a map entry is not a message"));
                };
                if i > 0 {
                    out.push(b',');
                }
                let mut key = Vec::new();
                let mut value = Vec::new();
                let mut rest = *bytes;
                while !rest.is_empty() {
                    let tag = take_varint(&mut rest)?;
                    let raw = match tag & 7 {
                        0 => Raw::Varint(take_varint(&mut rest)?),
                        1 => Raw::Fixed64(u64::from_le_bytes(
                            take(&mut rest, 8)?.try_into().unwrap_or_default(),
                        )),
                        2 => {
                            let len = usize::try_from(take_varint(&mut rest)?)
                                .map_err(|_| error("", "a bad length"))?;
                            Raw::Bytes(take(&mut rest, len)?)
                        }
                        5 => Raw::Fixed32(u32::from_le_bytes(
                            take(&mut rest, 4)?.try_into().unwrap_or_default(),
                        )),
                        _ => return Err(error(&field.name, "a bad map entry")),
                    };
                    match tag >> 3 {
                        1 => {
                            key.clear();
                            print_value(&entry.0, raw, &mut key)?;
                        }
                        2 => {
                            value.clear();
                            print_value(&entry.1, raw, &mut value)?;
                        }
                        _ => {}
                    }
                }
                // Map keys are strings in JSON.
                if key.first() == Some(&b'"') {
                    out.extend_from_slice(&key);
                } else if key.is_empty() {
                    out.extend_from_slice(b"\"\"");
                } else {
                    out.push(b'"');
                    out.extend_from_slice(&key);
                    out.push(b'"');
                }
                out.push(b':');
                if value.is_empty() {
                    print_default(&entry.1, &mut value);
                }
                out.extend_from_slice(&value);
            }
            out.push(b'}');
            continue;
        }
        if field.list {
            out.push(b'[');
            let mut first_item = true;
            for raw in raws {
                for item in unpacked(&field.kind, *raw)? {
                    if !first_item {
                        out.push(b',');
                    }
                    first_item = false;
                    print_value(&field.kind, item, out)?;
                }
            }
            out.push(b']');
            continue;
        }
        // A singular field seen twice: the last wins (messages would merge;
        // SCIR's answers never repeat one).
        let last = raws
            .last()
            .copied()
            .ok_or_else(|| error(&field.name, "no value"))?;
        print_value(&field.kind, last, out)?;
    }
    out.push(b'}');
    Ok(())
}

/// The items of a repeated field's value: packed scalars come several to one
/// length-delimited value.
fn unpacked<'a>(kind: &FieldKind, raw: Raw<'a>) -> Result<Vec<Raw<'a>>> {
    let packable = match kind {
        FieldKind::Scalar(Scalar::String | Scalar::Bytes) => false,
        FieldKind::Scalar(_) | FieldKind::Enum(_) => true,
        FieldKind::Message(_) | FieldKind::WellKnown(_) => false,
    };
    let Raw::Bytes(mut bytes) = raw else {
        return Ok(vec![raw]);
    };
    if !packable {
        return Ok(vec![raw]);
    }
    let mut items = Vec::new();
    while !bytes.is_empty() {
        items.push(match kind {
            FieldKind::Scalar(Scalar::Fixed32 | Scalar::Sfixed32 | Scalar::Float) => Raw::Fixed32(
                u32::from_le_bytes(take(&mut bytes, 4)?.try_into().unwrap_or_default()),
            ),
            FieldKind::Scalar(Scalar::Fixed64 | Scalar::Sfixed64 | Scalar::Double) => Raw::Fixed64(
                u64::from_le_bytes(take(&mut bytes, 8)?.try_into().unwrap_or_default()),
            ),
            _ => Raw::Varint(take_varint(&mut bytes)?),
        });
    }
    Ok(items)
}

fn print_default(kind: &FieldKind, out: &mut Vec<u8>) {
    match kind {
        FieldKind::Scalar(Scalar::String | Scalar::Bytes) => out.extend_from_slice(b"\"\""),
        FieldKind::Scalar(Scalar::Bool) => out.extend_from_slice(b"false"),
        FieldKind::Scalar(
            Scalar::Int64 | Scalar::Uint64 | Scalar::Sint64 | Scalar::Fixed64 | Scalar::Sfixed64,
        ) => {
            out.extend_from_slice(b"\"0\"");
        }
        FieldKind::Scalar(_) => out.push(b'0'),
        FieldKind::Enum(values) => match values.by_number.get(&0) {
            Some(name) => print_string(name, out),
            None => out.push(b'0'),
        },
        FieldKind::Message(_) | FieldKind::WellKnown(_) => out.extend_from_slice(b"{}"),
    }
}

fn print_string(text: &str, out: &mut Vec<u8>) {
    // serde_json's escaping, without a Value in between.
    let _ = serde_json::to_writer(&mut *out, text);
}

fn print_float(value: f64, out: &mut Vec<u8>) {
    if value.is_nan() {
        out.extend_from_slice(b"\"NaN\"");
    } else if value.is_infinite() {
        out.extend_from_slice(if value > 0.0 {
            b"\"Infinity\""
        } else {
            b"\"-Infinity\""
        });
    } else {
        let _ = serde_json::to_writer(&mut *out, &value);
    }
}

fn print_value(kind: &FieldKind, raw: Raw<'_>, out: &mut Vec<u8>) -> Result<()> {
    use std::io::Write as _;
    let quoted = |out: &mut Vec<u8>, v: &dyn std::fmt::Display| {
        let _ = write!(out, "\"{v}\"");
    };
    let plain = |out: &mut Vec<u8>, v: &dyn std::fmt::Display| {
        let _ = write!(out, "{v}");
    };
    match (kind, raw) {
        (FieldKind::Scalar(scalar), Raw::Varint(v)) => match scalar {
            Scalar::Int32 => plain(out, &(v as i32)),
            Scalar::Int64 => quoted(out, &(v as i64)),
            Scalar::Uint32 => plain(out, &(v as u32)),
            Scalar::Uint64 => quoted(out, &v),
            Scalar::Sint32 => plain(out, &(((v >> 1) as i32) ^ -((v & 1) as i32))),
            Scalar::Sint64 => quoted(out, &(((v >> 1) as i64) ^ -((v & 1) as i64))),
            Scalar::Bool => out.extend_from_slice(if v != 0 { b"true" } else { b"false" }),
            _ => return Err(error("", "a varint for a fixed-width field")),
        },
        (FieldKind::Scalar(scalar), Raw::Fixed32(v)) => match scalar {
            Scalar::Fixed32 => plain(out, &v),
            Scalar::Sfixed32 => plain(out, &(v as i32)),
            Scalar::Float => print_float(f64::from(f32::from_bits(v)), out),
            _ => return Err(error("", "a 32-bit value for another kind")),
        },
        (FieldKind::Scalar(scalar), Raw::Fixed64(v)) => match scalar {
            Scalar::Fixed64 => quoted(out, &v),
            Scalar::Sfixed64 => quoted(out, &(v as i64)),
            Scalar::Double => print_float(f64::from_bits(v), out),
            _ => return Err(error("", "a 64-bit value for another kind")),
        },
        (FieldKind::Scalar(Scalar::String), Raw::Bytes(bytes)) => {
            let text =
                std::str::from_utf8(bytes).map_err(|_| error("", "a string is not UTF-8"))?;
            print_string(text, out);
        }
        (FieldKind::Scalar(Scalar::Bytes), Raw::Bytes(bytes)) => {
            print_string(
                &base64::engine::general_purpose::STANDARD.encode(bytes),
                out,
            );
        }
        (FieldKind::Enum(values), Raw::Varint(v)) => match values.by_number.get(&(v as i32)) {
            Some(name) => print_string(name, out),
            None => plain(out, &(v as i32)),
        },
        (FieldKind::Message(name), Raw::Bytes(bytes)) => print_message(name, bytes, out)?,
        (FieldKind::WellKnown(descriptor), Raw::Bytes(bytes)) => {
            let message = DynamicMessage::decode(descriptor.clone(), bytes)
                .map_err(|e| error("", e.to_string()))?;
            let mut serializer = serde_json::Serializer::new(&mut *out);
            message
                .serialize_with_options(&mut serializer, &prost_reflect::SerializeOptions::new())
                .map_err(|e| error("", e.to_string()))?;
        }
        _ => return Err(error("", "a value of the wrong wire type")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message as _;
    use scir_proto::intake::v1 as intake;

    fn descriptor(name: &str) -> MessageDescriptor {
        crate::contract::pool()
            .get_message_by_name(name)
            .expect("in the contract")
    }

    /// The transcoder agrees with prost-reflect's canonical JSON on what a
    /// message means, for a message with nested, repeated, enum, optional and
    /// 64-bit fields, written both as prost-reflect prints it and by hand.
    #[test]
    fn json_becomes_the_same_message_as_the_dynamic_path_makes() {
        let facts = intake::IncidentFacts {
            jurisdiction: "us-wi".into(),
            incident_type: intake::IncidentType::Death as i32,
            child_age_months: Some(0),
            race_ethnicity: vec![1, 3],
            prior_contacts: vec![
                intake::PriorContact {
                    kind: intake::ContactKind::Report as i32,
                    date: Some(scir_proto::common::v1::Date {
                        year: 2024,
                        month: 12,
                        day: 1,
                    }),
                    outcome: 1,
                };
                3
            ],
            ..Default::default()
        };
        let request = intake::ReportIncidentRequest {
            request_id: "r-1".into(),
            incident: Some(facts),
        };
        let desc = descriptor("scir.intake.v1.ReportIncidentRequest");
        let dynamic = DynamicMessage::decode(desc.clone(), request.encode_to_vec().as_slice())
            .expect("decode");
        let printed = serde_json::to_value(&dynamic).expect("json");
        let wire = to_wire(&desc, &printed).expect("transcode");
        assert_eq!(
            intake::ReportIncidentRequest::decode(wire.as_slice()).expect("decodes"),
            request
        );

        // Written by hand: proto names, enum numbers, 64-bit and 32-bit
        // integers as strings.
        let contact = serde_json::json!({"kind": "CONTACT_REPORT", "date": {"year": "2024", "month": 12, "day": 1}, "outcome": 1});
        let by_hand = serde_json::json!({
            "request_id": "r-1",
            "incident": {"jurisdiction": "us-wi", "incident_type": "DEATH", "childAgeMonths": "0",
                "raceEthnicity": ["AMERICAN_INDIAN_ALASKA_NATIVE", 3],
                "priorContacts": [contact.clone(), contact.clone(), contact]}
        });
        let wire = to_wire(&desc, &by_hand).expect("transcode");
        assert_eq!(
            intake::ReportIncidentRequest::decode(wire.as_slice()).expect("decodes"),
            request
        );
    }

    #[test]
    fn wrong_json_names_the_field() {
        let desc = descriptor("scir.intake.v1.ReportIncidentRequest");
        let cases = [
            (
                serde_json::json!({"incident": {"incidentType": "NOPE"}}),
                "incident.incident_type",
            ),
            (
                serde_json::json!({"incident": {"childAgeMonths": 1e12}}),
                "incident.child_age_months",
            ),
            (
                serde_json::json!({"incident": {"priorContacts": [{"date": {"year": "x"}}]}}),
                "incident.prior_contacts[0].date.year",
            ),
            (
                serde_json::json!({"incident": {"bogus": 1}}),
                "incident.bogus",
            ),
            (serde_json::json!({"incident": []}), "incident"),
            (serde_json::json!({"requestId": 5}), "request_id"),
        ];
        for (json, field) in cases {
            let error = to_wire(&desc, &json).expect_err("refused");
            assert_eq!(error.field, field, "{json}: {error:?}");
        }
    }

    #[test]
    fn well_known_types_and_oneofs_take_their_json_forms() {
        let desc = descriptor("scir.review.v1.UpdateEpisodeRequest");
        let wire = to_wire(
            &desc,
            &serde_json::json!({"episode": {"name": "n", "title": "t"}, "updateMask": "title,startDate"}),
        )
        .expect("transcode");
        let decoded =
            scir_proto::review::v1::UpdateEpisodeRequest::decode(wire.as_slice()).expect("decodes");
        assert_eq!(
            decoded.update_mask.expect("mask").paths,
            ["title", "start_date"]
        );
        let agreement = descriptor("scir.scoring.v1.GetAgreementRequest");
        let error = to_wire(
            &agreement,
            &serde_json::json!({"review": "a", "itemCode": "SYS2"}),
        )
        .expect_err("two of a oneof");
        assert!(
            ["item_code", "review"].contains(&error.field.as_str()),
            "{error:?}"
        );
    }

    /// Answers print exactly as prost-reflect prints them.
    #[test]
    fn wire_becomes_the_json_the_dynamic_path_prints() {
        use scir_proto::common::v1 as common;
        let decision = intake::EligibilityDecision {
            outcome: intake::EligibilityOutcome::PracticeReview as i32,
            criteria: vec![
                intake::CriterionResult {
                    criterion_id: "death".into(),
                    ..Default::default()
                };
                2
            ],
            reasons: vec!["a \"quoted\" reason\n".into()],
            decide_time: Some(prost_types::Timestamp {
                seconds: 1_700_000_000,
                nanos: 5,
            }),
            facts_revision: 3,
            ..Default::default()
        };
        let event = common::Event {
            cursor: 12,
            event_id: "e".into(),
            r#type: "scir.intake.v1.IncidentReported".into(),
            payload: Some(crate::events::payload(&intake::IncidentReported {
                incident: Some(intake::Incident {
                    name: "n".into(),
                    ..Default::default()
                }),
            })),
            ..Default::default()
        };
        let cases: Vec<(&str, Vec<u8>)> = vec![
            (
                "scir.intake.v1.EligibilityDecision",
                decision.encode_to_vec(),
            ),
            ("scir.common.v1.Event", event.encode_to_vec()),
            (
                "scir.intake.v1.ReportIncidentRequest",
                intake::ReportIncidentRequest {
                    request_id: "r".into(),
                    incident: Some(intake::IncidentFacts {
                        child_age_months: Some(0),
                        race_ethnicity: vec![1, 3, 99],
                        ..Default::default()
                    }),
                }
                .encode_to_vec(),
            ),
        ];
        for (name, wire) in cases {
            let desc = descriptor(name);
            let expected = serde_json::to_value(
                DynamicMessage::decode(desc.clone(), wire.as_slice()).expect("decode"),
            )
            .expect("json");
            let printed: Value =
                serde_json::from_slice(&to_json(&desc, &wire).expect("print")).expect("valid JSON");
            assert_eq!(printed, expected, "{name}");
        }
    }

    /// The streaming path and the `Value` path agree, on messages and on
    /// where they find fault.
    #[test]
    fn streaming_and_value_paths_agree() {
        let desc = descriptor("scir.intake.v1.ReportIncidentRequest");
        let contact = serde_json::json!({"kind": "CONTACT_REPORT", "date": {"year": "2024", "month": 12, "day": 1}, "outcome": 1});
        let good = [
            serde_json::json!({}),
            serde_json::json!({"requestId": "r", "incident": null}),
            serde_json::json!({
                "request_id": "r-1",
                "incident": {"jurisdiction": "us-wi", "incident_type": "DEATH", "childAgeMonths": "0",
                    "raceEthnicity": ["AMERICAN_INDIAN_ALASKA_NATIVE", 3], "placement": null,
                    "priorContacts": [contact.clone(), contact]}
            }),
        ];
        for json in good {
            let text = serde_json::to_vec(&json).expect("text");
            assert_eq!(
                body_to_wire(&desc, &text).expect("streamed"),
                to_wire(&desc, &json).expect("via Value"),
                "{json}"
            );
        }
        let bad = [
            serde_json::json!({"incident": {"incidentType": "NOPE"}}),
            serde_json::json!({"incident": {"childAgeMonths": 1e12}}),
            serde_json::json!({"incident": {"priorContacts": [{"date": {"year": "x"}}]}}),
            serde_json::json!({"incident": {"priorContacts": [null]}}),
            serde_json::json!({"incident": {"bogus": 1}}),
            serde_json::json!({"incident": []}),
            serde_json::json!({"requestId": 5}),
            serde_json::json!([1]),
        ];
        for json in bad {
            let text = serde_json::to_vec(&json).expect("text");
            let streamed = body_to_wire(&desc, &text).expect_err("refused");
            let valued = to_wire(&desc, &json).expect_err("refused");
            assert_eq!(
                streamed.field, valued.field,
                "{json}: {streamed:?} vs {valued:?}"
            );
        }
        // Escapes in keys and strings.
        let escaped = body_to_wire(&desc, br#"{"request\u005fid": "r\u002d1"}"#).expect("escaped");
        assert_eq!(
            intake::ReportIncidentRequest::decode(escaped.as_slice())
                .expect("decodes")
                .request_id,
            "r-1"
        );
        let broken = body_to_wire(&desc, b"{\"requestId\": ").expect_err("not JSON");
        assert_eq!(broken.field, "body");
        assert!(broken.message.starts_with("not JSON"), "{broken:?}");
        let trailing = body_to_wire(&desc, b"{} x").expect_err("trailing");
        assert_eq!(trailing.field, "body");
    }
}
